"""``losant-async demo``: the library's story, told against a local or the real Losant."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from ._actions import yesterday
from ._config import Config, ExitCode
from ._demo_iot import local_story, read_only_story
from ._demo_story import Story
from ._output import cell, console, follow_jobs, jsonable, record_table, rows_table

if TYPE_CHECKING:
    from rich.table import Table

    from losant_async import AsyncApplication, MqttMessage
    from losant_async.testing import LocalLosant

# Seconds each local job runs: long enough to watch the bars move.
_JOB_DURATION = 1.5
_JOB_POLL = 0.2
_PUBLISH_EVERY = 0.12
# Bounds that keep the demo from ever hanging.
_STREAM_DEADLINE = 8.0
_JOBS_DEADLINE = 20.0
_SERVER_READY = 3.0
_READY_POLL = 0.02

_TOPIC_FILTER = "greenhouse/+/temperature"
_SENSORS = ("sensor-1", "sensor-2")
_APP_FIELDS = ("id", "name", "description", "owner_type", "creation_date", "last_updated")
_README = """# Greenhouse (demo)

Two temperature sensors publish to `greenhouse/<sensor>/temperature`.
Created by `losant-async demo`.
"""


async def run(cfg: Config, *, local: bool, messages: int) -> int:
    """Run the demo; the local story when *local*, else read-only on the real API."""
    from losant_async import AsyncLosant

    out = console()
    started = time.monotonic()
    if local:
        from losant_async.testing import LocalLosant

        out.print("[bold]losant-async demo[/]: starting the local Losant (in-process, 127.0.0.1)")
        with LocalLosant(job_duration=_JOB_DURATION).run_in_thread() as server:
            app_id = server.create_application(name="Greenhouse")
            out.print(f"local Losant at {server.base_url}, application {app_id}")
            story = Story(out, read_only=False)
            async with AsyncLosant(token=server.token, base_url=server.base_url) as client:
                app = client.application(app_id)
                await _read_story(story, app, search_for="Sensor", before_search=_write_story)
                await _stream_story(story, app, server, messages=messages)
                await _jobs_story(story, app)
                await local_story(story, app, server)
    else:
        assert cfg.application is not None
        out.print(f"[bold]losant-async demo[/]: read-only, application {cfg.application}")
        story = Story(out, read_only=True)
        async with AsyncLosant(
            token=cfg.token, base_url=cfg.base_url, **cfg.client_options()
        ) as client:
            app = client.application(cfg.application)
            await _read_story(story, app, search_for=None)
            await read_only_story(story, app)
    out.print()
    out.print(story.summary(time.monotonic() - started))
    return ExitCode.OK


def _app_view(application: object) -> dict[str, object]:
    data = jsonable(application)
    assert isinstance(data, dict)
    view = {key: data[key] for key in _APP_FIELDS if key in data}
    summary = data.get("summary")
    if isinstance(summary, dict):
        nonzero = {k.removesuffix("_count"): v for k, v in summary.items() if v}
        view["summary"] = ", ".join(f"{k} {v}" for k, v in nonzero.items()) or "empty"
    return view


async def _read_story(
    story: Story,
    app: AsyncApplication,
    *,
    search_for: str | None,
    before_search: Callable[[Story, AsyncApplication], Awaitable[None]] | None = None,
) -> None:
    out = story.out
    name = ""
    with story.step("get: the application", "get"):
        application = await app.get(summary_include=["deviceCount", "flowCount", "dashCount"])
        name = application.name or ""
        out.print(record_table(_app_view(application)))
        story.result = repr(name)
    if story.read_only:
        with story.step("readme"):
            readme = await app.readme()
            content = readme.content or ""
            out.print(content.strip() or "(empty readme)")
            story.result = f"{len(content)} characters"
    if before_search is not None:
        await before_search(story, app)
    with story.step("search"):
        term = search_for or (name.split() or ["a"])[0]
        found = jsonable(await app.search(term))
        assert isinstance(found, list)
        out.print(f"search {term!r}:")
        if found:
            out.print(rows_table(found, columns=("type", "name", "id")))
        else:
            out.print("no resources match")
        story.result = f"{len(found)} resources match {term!r}"
    if story.read_only:
        with story.step("counts and import logs"):
            end = dt.datetime.now(dt.UTC)
            devices = jsonable(await app.device_counts(start=end - dt.timedelta(days=7), end=end))
            rows = devices.get("counts") if isinstance(devices, dict) else None
            if isinstance(rows, list) and rows:
                out.print(rows_table(rows, columns=("date", "created", "deleted", "total")))
            logs = await app.import_logs(limit=5)
            out.print(f"{len(logs)} recent import executions")
            story.result = f"{len(rows or [])} days of device counts, {len(logs)} imports"


async def _write_story(story: Story, app: AsyncApplication) -> None:
    out = story.out
    with story.step("patch: rename and describe", "patch"):
        before = (await app.get()).name
        after = await app.patch(
            name="Greenhouse (demo)", description="Two sensors streaming over MQTT"
        )
        out.print(f"name: {before!r} -> {after.name!r}")
        out.print(f"description: {after.description!r}")
        story.result = f"renamed to {after.name!r}"
    with story.step("globals"):
        application = await app.globals(
            [
                {"key": "threshold", "json": "28.5", "description": "alert above (celsius)"},
                {"key": "unit", "json": json.dumps("celsius")},
            ]
        )
        rows = jsonable(application.globals or [])
        assert isinstance(rows, list)
        out.print(rows_table(rows, columns=("key", "json", "description")))
        story.result = f"{len(rows)} globals"
    with story.step("readme"):
        await app.readme_patch(_README)
        readme = await app.readme()
        out.print((readme.content or "").strip())
        story.result = f"{len(readme.content or '')} characters"


async def _stream_story(
    story: Story, app: AsyncApplication, server: LocalLosant, *, messages: int
) -> None:
    from rich.live import Live

    received: list[MqttMessage] = []
    latencies: list[float] = []
    sent_at: dict[str, float] = {}

    def view() -> Table:
        rows = [
            {"#": i + 1, "topic": m.topic, "message": m.message, "latency": f"{lat * 1000:.0f} ms"}
            for i, (m, lat) in enumerate(zip(received, latencies, strict=True))
        ]
        return rows_table(
            rows,
            columns=("#", "topic", "message", "latency"),
            title=f"{_TOPIC_FILTER}: {len(received)}/{messages} messages",
        )

    async def publish_all() -> None:
        for i in range(messages):
            sensor = _SENSORS[i % len(_SENSORS)]
            payload = json.dumps({"seq": i + 1, "celsius": round(21.0 + 0.7 * i, 1)})
            sent_at[payload] = time.monotonic()
            await app.mqtt_publish_message(f"greenhouse/{sensor}/temperature", payload)
            await anyio.sleep(_PUBLISH_EVERY)

    with story.step(
        f"MQTT: subscribe to {_TOPIC_FILTER} while publishing {messages} messages", "MQTT stream"
    ):
        async with app.mqtt_subscription_stream(_TOPIC_FILTER, keep_alive_interval=1) as stream:
            # Publish only once the server holds the subscription, or the first
            # messages would go to nobody.
            for _ in range(int(_SERVER_READY / _READY_POLL)):
                if server.open_streams:
                    break
                await anyio.sleep(_READY_POLL)
            with Live(view(), console=story.out, refresh_per_second=12) as live:
                with anyio.move_on_after(_STREAM_DEADLINE):
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(publish_all)
                        async for msg in stream:
                            received.append(msg)
                            latencies.append(time.monotonic() - sent_at.get(msg.message, 0.0))
                            live.update(view())
                            if len(received) >= messages:
                                break
            story.out.print()
        if not received:
            raise TimeoutError(f"no MQTT message arrived within {_STREAM_DEADLINE:g} s")
        story.result = f"{len(received)}/{messages} messages, {stream.reconnects} reconnects"


async def _jobs_story(story: Story, app: AsyncApplication) -> None:
    from losant_async import JobHandle

    out = story.out
    with story.step("jobs: an export and a data archive, followed to the end", "jobs"):
        export = await app.export(include_devices=True, force_job=True)
        archive = await app.archive_data(date=yesterday())
        if not isinstance(export, JobHandle):
            raise TypeError(f"export answered without a job: {export!r}")
        out.print(f"enqueued export {export.job_id} and archive {archive.job_id}")
        outcomes = await follow_jobs(
            [("export", export), ("archive data", archive)],
            out=out,
            poll_interval=_JOB_POLL,
            deadline=_JOBS_DEADLINE,
        )
        for label, outcome in zip(("export", "archive data"), outcomes, strict=True):
            output = dict(outcome.output)
            detail = ", ".join(f"{k}={cell(v)}" for k, v in output.items()) or "no output"
            out.print(f"{label}: {outcome.status} ({detail})")
        story.result = ", ".join(f"{o.status}" for o in outcomes)
