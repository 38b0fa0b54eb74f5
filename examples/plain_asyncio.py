"""losant_async on plain asyncio: read, patch, stream MQTT messages, follow an export.

Against your own application (this renames it, publishes to
``examples/asyncio/...`` and enqueues an export):

    LOSANT_API_TOKEN=... LOSANT_APPLICATION_ID=... python examples/plain_asyncio.py

With no token it starts the local Losant on 127.0.0.1 (``pip install
'losant-async[testing]'``) and runs there.
"""

from __future__ import annotations

import asyncio
import json
import os

from losant_async import AsyncApplication, AsyncLosant, JobHandle

TOPIC = "examples/asyncio/temperature"
WANTED = 3


async def sensor(app: AsyncApplication) -> None:
    """Publish a reading every 200 ms until cancelled, like a device would."""
    for n in range(1, 50):
        await app.mqtt_publish_message(TOPIC, json.dumps({"n": n, "celsius": 20 + n}))
        await asyncio.sleep(0.2)


async def main(token: str, base_url: str | None, application_id: str) -> None:
    async with AsyncLosant(token=token, base_url=base_url) as client:
        app = client.application(application_id)

        application = await app.get()
        print(f"application: {application.name}")

        application = await app.patch(description="Touched by examples/plain_asyncio.py")
        print(f"description: {application.description}")

        # Subscribe first, then let the "sensor" publish until we have enough.
        async with app.mqtt_subscription_stream("examples/asyncio/#") as stream:
            publisher = asyncio.create_task(sensor(app))
            try:
                received = 0
                async with asyncio.timeout(15):
                    async for message in stream:
                        received += 1
                        print(f"message {received}: {message.topic} {message.message}")
                        if received == WANTED:
                            break
            finally:
                publisher.cancel()
                await asyncio.gather(publisher, return_exceptions=True)

        job = await app.export(force_job=True)
        assert isinstance(job, JobHandle)
        print(f"export enqueued: job {job.job_id}")
        async for progress in job.progress(poll_interval=0.2):
            print(f"export: {progress.status}")
        outcome = await job
        print(f"export finished: {outcome.status}")


if __name__ == "__main__":
    token = os.environ.get("LOSANT_API_TOKEN")
    if token:
        asyncio.run(
            main(token, os.environ.get("LOSANT_API_URL"), os.environ["LOSANT_APPLICATION_ID"])
        )
    else:
        from losant_async.testing import LocalLosant

        with LocalLosant(job_duration=0.5).run_in_thread() as server:
            app_id = server.create_application(name="Example application")
            asyncio.run(main(server.token, server.base_url, app_id))
