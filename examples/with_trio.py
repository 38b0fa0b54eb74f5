"""losant_async on trio: a nursery streams MQTT messages while a task publishes,
then two jobs (an export and a data archive) are followed side by side.

    LOSANT_API_TOKEN=... LOSANT_APPLICATION_ID=... python examples/with_trio.py

With no token it starts the local Losant on 127.0.0.1 (``pip install
'losant-async[testing]'``) and runs there.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import trio

from losant_async import AsyncApplication, AsyncLosant, JobHandle

TOPIC = "examples/trio/+/state"
WANTED = 4


async def sensor(app: AsyncApplication, name: str) -> None:
    """Publish a state every 150 ms until cancelled."""
    for n in range(1, 60):
        await app.mqtt_publish_message(f"examples/trio/{name}/state", json.dumps({"n": n}))
        await trio.sleep(0.15)


async def follow(job: JobHandle, label: str) -> None:
    async for progress in job.progress(poll_interval=0.2):
        done = f" {progress.fraction:.0%}" if progress.fraction is not None else ""
        print(f"{label}: {progress.status}{done}")
    outcome = await job
    print(f"{label} finished: {outcome.status}")


async def main(token: str, base_url: str | None, application_id: str) -> None:
    async with AsyncLosant(token=token, base_url=base_url) as client:
        app = client.application(application_id)
        print(f"application: {(await app.get()).name} (on trio {trio.__version__})")

        async with app.mqtt_subscription_stream(TOPIC) as stream:
            with trio.fail_after(15):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(sensor, app, "pump")
                    nursery.start_soon(sensor, app, "valve")
                    seen = 0
                    async for message in stream:
                        seen += 1
                        print(f"{message.topic}: {message.message}")
                        if seen == WANTED:
                            nursery.cancel_scope.cancel()
                            break

        export = await app.export(force_job=True)
        day = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        archive = await app.archive_data(date=day)
        assert isinstance(export, JobHandle)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow, export, "export")
            nursery.start_soon(follow, archive, "archive")


if __name__ == "__main__":
    token = os.environ.get("LOSANT_API_TOKEN")
    if token:
        trio.run(main, token, os.environ.get("LOSANT_API_URL"), os.environ["LOSANT_APPLICATION_ID"])
    else:
        from losant_async.testing import LocalLosant

        with LocalLosant(job_duration=0.5).run_in_thread() as server:
            app_id = server.create_application(name="Example application")
            trio.run(main, server.token, server.base_url, app_id)
