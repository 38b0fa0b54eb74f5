"""The IoT part of ``losant-async demo``: devices, state, streams, time series, a command, a job.

Locally the story writes: it creates devices, backfills an hour of history,
has the devices report state every half second while their state streams are
shown live, draws a time-series query as sparklines, sends a command and
watches it arrive, and exports the data as a job it downloads. Against a real
account only ``read_only_story`` runs: it lists devices and draws the last
day of one of them. Every wait is bounded by a deadline.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from ._output import cell, follow_jobs, rows_table

if TYPE_CHECKING:
    from rich.table import Table

    from losant_async import AsyncApplication
    from losant_async.models import Device, TimeSeriesData
    from losant_async.testing import LocalLosant

    from ._demo_story import Story

__all__ = ["local_story", "read_only_story", "sparkline"]

# (name, zone, base temperature): the devices the local story creates.
_DEVICES = (
    ("Greenhouse sensor 1", "north", 21.0),
    ("Greenhouse sensor 2", "south", 24.0),
    ("Greenhouse sensor 3", "east", 18.5),
)
_ATTRIBUTES = (
    {"name": "temperature", "dataType": "number", "description": "celsius"},
    {"name": "humidity", "dataType": "number", "description": "percent"},
)
_MINUTE = 60_000
_HISTORY_MINUTES = 60
_SERIES_RESOLUTION = 2 * _MINUTE
_STATE_EVERY = 0.5
_STATE_ROUNDS = 6
_LIVE_REFRESH = 4  # Live repaints per second, at most
# Bounds that keep the story from ever hanging.
_LIVE_DEADLINE = 10.0
_COMMAND_DEADLINE = 5.0
_EXPORT_DEADLINE = 15.0
_STREAMS_READY = 3.0
_READY_POLL = 0.02
_JOB_POLL = 0.2
_KEEP_ALIVE = 2.0
# The read-only story: the last day, hourly, of up to three number attributes.
_DAY = 24 * 60 * _MINUTE
_HOUR = 60 * _MINUTE
_READ_ONLY_ATTRIBUTES = 3
_READ_ONLY_DEVICES = 5

_BLOCKS = "▁▂▃▄▅▆▇█"
_SPARK_WIDTH = 48


def sparkline(values: Sequence[float | None]) -> str:
    """One unicode block per value (lowest ``▁``, highest ``█``); a gap is a space."""
    numbers = [v for v in values if v is not None]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    top = len(_BLOCKS) - 1
    return "".join(" " if v is None else _BLOCKS[round((v - low) / span * top)] for v in values)


def _ms(value: object) -> int | None:
    """A point's time (ISO text or milliseconds) in ms since the epoch."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            return int(dt.datetime.fromisoformat(value).timestamp() * 1000)
        except ValueError:
            return None
    return None


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def series_values(points: object, attribute: str, resolution: int) -> list[float | None]:
    """The attribute's value per bucket, ``None`` for buckets the answer left out."""
    values: list[float | None] = []
    previous: int | None = None
    for point in points if isinstance(points, list) else []:
        if not isinstance(point, Mapping):
            continue
        at = _ms(point.get("time"))
        data = point.get("data")
        if previous is not None and at is not None:
            missing = round((at - previous) / resolution) - 1
            values.extend([None] * max(0, min(missing, _SPARK_WIDTH)))
        values.append(_number(data.get(attribute)) if isinstance(data, Mapping) else None)
        previous = at if at is not None else previous
    return values[-_SPARK_WIDTH:]


def series_table(
    answer: TimeSeriesData, names: Mapping[str, str], attributes: Sequence[str], resolution: int
) -> tuple[Table, int]:
    """One row per device and attribute with its sparkline; and how many rows have one."""
    rows: list[dict[str, object]] = []
    for device_id, entry in dict(answer.devices or {}).items():
        points = entry.get("points") if isinstance(entry, Mapping) else None
        for attribute in attributes:
            values = series_values(points, attribute, resolution)
            numbers = [v for v in values if v is not None]
            if not numbers:
                continue
            rows.append(
                {
                    "device": names.get(device_id, device_id),
                    "attribute": attribute,
                    "sparkline": sparkline(values),
                    "min": f"{min(numbers):.1f}",
                    "max": f"{max(numbers):.1f}",
                    "last": f"{numbers[-1]:.1f}",
                }
            )
    every = (
        f"{resolution // _HOUR} h" if resolution % _HOUR == 0 else f"{resolution // _MINUTE} min"
    )
    title = f"{answer.aggregation or 'MEAN'} per {every}"
    columns = ("device", "attribute", "sparkline", "min", "max", "last")
    return rows_table(rows, columns=columns, title=title), len(rows)


async def _streams_open(server: LocalLosant, count: int) -> None:
    """Wait (bounded) until the local Losant holds ``count`` streams: sends go to nobody before."""
    for _ in range(int(_STREAMS_READY / _READY_POLL)):
        if server.open_streams >= count:
            return
        await anyio.sleep(_READY_POLL)


def _reading(base: float, minute: float) -> dict[str, float]:
    """A plausible greenhouse reading: a daily-looking wave, compressed into the hour."""
    angle = 2 * math.pi * minute / 30
    return {
        "temperature": round(base + 2.5 * math.sin(angle), 2),
        "humidity": round(55 + 8 * math.cos(angle + base), 1),
    }


async def local_story(story: Story, app: AsyncApplication, server: LocalLosant) -> None:
    """Devices, history, live state streams, a time series, a command and an export."""
    devices = await _create_devices(story, app)
    ids = [device.id or "" for device in devices]
    names = {device.id or "": device.name or "" for device in devices}
    now = int(time.time() * 1000)
    start = now - _HISTORY_MINUTES * _MINUTE
    await _history(story, app, ids, start)
    await _live_state(story, app, server, ids, names)
    await _time_series(story, app, names, start)
    await _command(story, app, server, ids[0], names[ids[0]])
    await _export(story, app, ids, start)


async def _create_devices(story: Story, app: AsyncApplication) -> list[Device]:
    out = story.out
    with story.step("devices: create three sensors, then list them two per page", "devices"):
        for name, zone, _ in _DEVICES:
            await app.devices.post(
                name=name,
                device_class="standalone",
                tags=[{"key": "zone", "value": zone}, {"key": "site", "value": "greenhouse"}],
                attributes=list(_ATTRIBUTES),
            )
        # The pager fetches page after page; `limit` bounds it whatever the total.
        listed = [
            device
            async for device in app.devices.get(
                per_page=2, tag_filter=[{"key": "site", "value": "greenhouse"}], limit=10
            )
        ]
        out.print(
            rows_table(
                [
                    {
                        "name": d.name,
                        "id": d.id,
                        "attributes": ", ".join(a.name or "" for a in d.attributes or []),
                        "tags": ", ".join(f"{t.key}={t.value}" for t in d.tags or []),
                    }
                    for d in listed
                ],
                columns=("name", "id", "attributes", "tags"),
            )
        )
        story.result = f"{len(listed)} devices created"
    return listed


async def _history(story: Story, app: AsyncApplication, ids: Sequence[str], start: int) -> None:
    title = f"history: {_HISTORY_MINUTES} minutes of state per device, one batch each"
    with story.step(title, "history"):
        for index, device_id in enumerate(ids):
            base = _DEVICES[index % len(_DEVICES)][2]
            states = [
                {"time": start + minute * _MINUTE, "data": _reading(base, minute)}
                for minute in range(_HISTORY_MINUTES)
            ]
            await app.device(device_id).send_state(states)
        story.out.print(f"sent {_HISTORY_MINUTES} timestamped states to each of {len(ids)} devices")
        story.result = f"{_HISTORY_MINUTES * len(ids)} states"


async def _live_state(
    story: Story,
    app: AsyncApplication,
    server: LocalLosant,
    ids: Sequence[str],
    names: Mapping[str, str],
) -> None:
    from rich.live import Live

    expected = _STATE_ROUNDS * len(ids)
    rows: dict[str, dict[str, object]] = {
        device_id: {"device": names[device_id], "temperature": "", "humidity": "", "states": 0}
        for device_id in ids
    }
    counts = dict.fromkeys(ids, 0)
    received = 0

    def view() -> Table:
        return rows_table(
            list(rows.values()),
            columns=("device", "temperature", "humidity", "states", "reported at"),
            title=f"live state streams: {received}/{expected} states",
        )

    async def report() -> None:
        # The devices' side: every half second, each device sends its state.
        for round_ in range(_STATE_ROUNDS):
            for index, device_id in enumerate(ids):
                base = _DEVICES[index % len(_DEVICES)][2]
                await app.device(device_id).send_state(
                    {"data": _reading(base, _HISTORY_MINUTES + round_)}
                )
            if round_ < _STATE_ROUNDS - 1:
                await anyio.sleep(_STATE_EVERY)

    title = f"state: {len(ids)} devices report every {_STATE_EVERY:g} s, their streams shown live"
    with story.step(title, "state streams"):
        baseline = server.open_streams
        async with app.device_state_streams(ids, keep_alive_interval=_KEEP_ALIVE) as group:
            await _streams_open(server, baseline + len(ids))
            with Live(view(), console=story.out, refresh_per_second=_LIVE_REFRESH) as live:
                with anyio.move_on_after(_LIVE_DEADLINE):
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(report)
                        async for device_id, state in group:
                            received += 1
                            row = rows[device_id]
                            data = state.data or {}
                            row["temperature"] = cell(data.get("temperature"))
                            row["humidity"] = cell(data.get("humidity"))
                            counts[device_id] += 1
                            row["states"] = counts[device_id]
                            row["reported at"] = _clock(state.time)
                            live.update(view())
                            if received >= expected:
                                break
            story.out.print()
        if not received:
            raise TimeoutError(f"no state arrived within {_LIVE_DEADLINE:g} s")
        story.result = f"{received}/{expected} states on {len(ids)} streams"


def _clock(value: object) -> str:
    at = _ms(value.isoformat() if isinstance(value, dt.datetime) else value)
    if at is None:
        return ""
    return dt.datetime.fromtimestamp(at / 1000, dt.UTC).strftime("%H:%M:%S.%f")[:-3]


async def _time_series(
    story: Story, app: AsyncApplication, names: Mapping[str, str], start: int
) -> None:
    with story.step("time series: the last hour, mean per 2 minutes, drawn", "time series"):
        answer = await app.data.time_series_query(
            device_ids=list(names),
            start=start,
            end=int(time.time() * 1000),
            resolution=_SERIES_RESOLUTION,
            aggregation="MEAN",
            attributes=[str(a["name"]) for a in _ATTRIBUTES],
        )
        table, drawn = series_table(
            answer, names, [str(a["name"]) for a in _ATTRIBUTES], _SERIES_RESOLUTION
        )
        story.out.print(table)
        story.result = _plural(drawn, "sparkline")


async def _command(
    story: Story, app: AsyncApplication, server: LocalLosant, device_id: str, name: str
) -> None:
    out = story.out
    with story.step(f"command: send one to {name}, see it on its command stream", "command"):
        device = app.device(device_id)
        baseline = server.open_streams
        arrived = None
        async with device.command_stream(keep_alive_interval=_KEEP_ALIVE) as stream:
            await _streams_open(server, baseline + 1)
            sent = time.monotonic()
            await device.send_command(name="setVent", payload={"open": 40, "unit": "percent"})
            out.print(f"sent command 'setVent' to {name}")
            with anyio.move_on_after(_COMMAND_DEADLINE):
                async for command in stream:
                    arrived = command
                    break
        if arrived is None:
            raise TimeoutError(f"the command did not arrive within {_COMMAND_DEADLINE:g} s")
        latency = (time.monotonic() - sent) * 1000
        out.print(
            f"received on the command stream: {arrived.name!r} {cell(arrived.payload)} "
            f"after {latency:.0f} ms"
        )
        story.result = f"command {arrived.name!r} received"


async def _export(story: Story, app: AsyncApplication, ids: Sequence[str], start: int) -> None:
    out = story.out
    with story.step("export: the devices' data as a job, then downloaded", "export"):
        handle = await app.data.export(device_ids=list(ids), start=start, end=0)
        out.print(f"enqueued data export {handle.job_id}")
        (outcome,) = await follow_jobs(
            [("data export", handle)], out=out, poll_interval=_JOB_POLL, deadline=_EXPORT_DEADLINE
        )
        with tempfile.TemporaryDirectory(prefix="losant-demo-") as folder:
            path = await outcome.download(Path(folder) / "greenhouse-data.zip")
            size, detail = await anyio.to_thread.run_sync(_describe_download, path)
        out.print(f"downloaded {path.name}: {size:,} bytes ({detail})")
        story.result = f"{outcome.status}, downloaded {size:,} bytes"


def _describe_download(path: Path) -> tuple[int, str]:
    """The file's size, and its CSV files and rows when it is a zip (local exports are)."""
    size = path.stat().st_size
    if not zipfile.is_zipfile(path):
        return size, "not a zip"
    with zipfile.ZipFile(path) as archive:
        members = archive.namelist()
        lines = sum(archive.read(name).count(b"\n") for name in members)
    return size, f"{len(members)} CSV files, {lines} lines"


async def read_only_story(story: Story, app: AsyncApplication) -> None:
    """List the devices, and draw the last day of the first one that has number attributes."""
    out = story.out
    devices: list[Device] = []
    with story.step("devices: the most recently updated", "devices"):
        page = await app.devices.get(
            per_page=_READ_ONLY_DEVICES, sort_field="lastUpdated", sort_direction="desc"
        )
        devices = list(page.items or [])
        out.print(
            rows_table(
                [
                    {"name": d.name, "id": d.id, "class": d.device_class, "updated": _when(d)}
                    for d in devices
                ],
                columns=("name", "id", "class", "updated"),
            )
            if devices
            else "no devices"
        )
        story.result = f"{len(devices)} of {page.total_count or 0} devices"
    with story.step("time series: a device's last day, mean per hour", "time series"):
        chosen = next((d for d in devices if _number_attributes(d)), None)
        if chosen is None:
            out.print("no device with number attributes to draw")
            story.result = "skipped (no device with number attributes)"
            return
        attributes = _number_attributes(chosen)[:_READ_ONLY_ATTRIBUTES]
        end = int(time.time() * 1000)
        answer = await app.data.time_series_query(
            device_ids=[chosen.id or ""],
            start=end - _DAY,
            end=end,
            resolution=_HOUR,
            aggregation="MEAN",
            attributes=attributes,
        )
        table, drawn = series_table(answer, {chosen.id or "": chosen.name or ""}, attributes, _HOUR)
        out.print(table if drawn else f"{chosen.name}: no data in the last day")
        story.result = f"{_plural(drawn, 'sparkline')} for {chosen.name!r}"


def _when(device: Device) -> str:
    updated = device.last_updated
    return updated.strftime("%Y-%m-%d %H:%M:%S") if isinstance(updated, dt.datetime) else ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _number_attributes(device: Device) -> list[str]:
    return [a.name for a in device.attributes or [] if a.data_type == "number" and a.name]
