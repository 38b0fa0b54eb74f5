"""The library's generated methods against the local Losant's IoT behaviour, over real sockets.

One test per behaviour, each through ``AsyncLosant`` (never raw HTTP): device
CRUD and paging, state and its queries, both device streams, data table rows,
events, an API token made through the API, and a 202 export job downloaded.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from losant_async import (
    AsyncApplication,
    AsyncLosant,
    AuthenticationError,
    JobHandle,
    NotFoundError,
    PermissionDeniedError,
)
from losant_async.testing import LocalLosant

pytestmark = pytest.mark.anyio

T0 = 1_699_999_980_000  # a fixed past moment, in ms, on a minute boundary
_ATTRIBUTES = [{"name": "temp", "dataType": "number"}, {"name": "on", "dataType": "boolean"}]


@pytest.fixture
async def client(local_server: LocalLosant) -> AsyncIterator[AsyncLosant]:
    async with AsyncLosant(token=local_server.token, base_url=local_server.base_url) as client:
        yield client


@pytest.fixture
def app(client: AsyncLosant, app_id: str) -> AsyncApplication:
    return client.application(app_id)


async def _device(app: AsyncApplication, name: str, **fields: Any) -> str:
    device = await app.devices.post(name=name, attributes=_ATTRIBUTES, **fields)
    assert device.id
    return device.id


async def _until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` for up to 5 s."""
    for _ in range(500):
        if condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError("condition not met within 5 s")


async def test_device_crud_and_paging_with_filters(app: AsyncApplication) -> None:
    ids = {}
    for index, name in enumerate(["Pump 3", "pump 1", "Valve", "Pump 2", "Pump 4"]):
        ids[name] = await _device(
            app,
            name,
            tags=[{"key": "floor", "value": str(index % 2)}],
            device_class="gateway" if name == "Valve" else "standalone",
        )
    first = await app.devices.get(per_page=2)
    assert (first.total_count, first.count, first.per_page) == (5, 2, 2)
    names = [device.name async for device in app.devices.get(per_page=2)]
    assert names == ["pump 1", "Pump 2", "Pump 3", "Pump 4", "Valve"]  # three pages
    assert [d.name async for d in app.devices.get(per_page=2, limit=3)] == names[:3]
    descending = [d.name async for d in app.devices.get(sort_direction="desc")]
    assert descending == names[::-1]
    pumps = app.devices.get(filter_field="name", filter="pump *", per_page=1)
    assert sorted([d.name or "" async for d in pumps]) == ["Pump 2", "Pump 3", "Pump 4", "pump 1"]
    floor_1 = app.devices.get(tag_filter=[{"key": "floor", "value": "1"}])
    assert sorted([d.name or "" async for d in floor_1]) == ["Pump 2", "pump 1"]
    gateways = app.devices.get(device_class="gateway")
    assert [d.name async for d in gateways] == ["Valve"]
    query = {"$or": [{"name": {"$startsWith": "Valve"}}, {"id": ids["Pump 3"]}]}
    assert sorted([d.name or "" async for d in app.devices.get(query=query)]) == ["Pump 3", "Valve"]

    valve = app.device(ids["Valve"])
    patched = await valve.patch(description="main valve")
    assert patched.description == "main valve"
    got = await valve.get()
    assert (got.name, got.description, got.device_class) == ("Valve", "main valve", "gateway")
    assert [a.name for a in got.attributes or []] == ["temp", "on"]
    assert (await app.devices.tag_keys()).tag_keys == ["floor"]
    assert (await valve.delete()).success is True
    with pytest.raises(NotFoundError):
        await valve.get()
    deleted = app.devices.get(query_deleted=True)
    assert [d.name async for d in deleted] == ["Valve"]


async def test_state_is_stored_and_queried(app: AsyncApplication) -> None:
    device_id = await _device(app, "Sensor", tags=[{"key": "site", "value": "a"}])
    device = app.device(device_id)
    states = [{"time": T0 + i * 10_000, "data": {"temp": i, "on": i % 2 == 0}} for i in range(12)]
    assert (await device.send_state(states)).success is True
    assert (await device.send_state({"time": T0 + 200_000, "data": {"temp": 7}})).success

    (latest,) = await device.get_state()
    assert latest.data == {"temp": 7}
    window = await device.get_state(start=T0, end=T0 + 30_000, limit=10, sort_direction="asc")
    assert [state.data["temp"] for state in window if state.data] == [0, 1, 2, 3]
    composite = dict((await device.get_composite_state()).extra)
    assert composite["temp"] == {"value": 7, "time": "2023-11-14T22:16:20.000Z"}
    assert composite["on"] == {"value": False, "time": "2023-11-14T22:14:50.000Z"}
    last = await app.data.last_value_query(device_ids=[device_id], attribute="on")
    assert last.extra[device_id] == {"time": "2023-11-14T22:14:50.000Z", "data": {"on": False}}

    query = {
        "deviceTags": [{"key": "site", "value": "a"}],
        "start": T0,
        "end": T0 + 119_999,
        "resolution": 60_000,
        "attributes": ["temp"],
    }
    for aggregation, expected in {"MEAN": [2.5, 8.5], "MAX": [5, 11], "COUNT": [6, 6]}.items():
        answer = await app.data.time_series_query({**query, "aggregation": aggregation})
        assert answer.aggregation == aggregation
        entry = answer.devices[device_id]
        assert isinstance(entry, dict)
        assert [point["data"]["temp"] for point in entry["points"]] == pytest.approx(expected)
        assert entry["tags"] == {"site": ["a"]}
    keywords = await app.data.time_series_query(
        device_ids=[device_id], start=T0, end=T0 + 119_999, resolution=60_000, aggregation="SUM"
    )
    assert keywords.start == dt.datetime.fromtimestamp(T0 / 1000, dt.UTC)
    entry = keywords.devices[device_id]
    assert isinstance(entry, dict)
    assert [point["data"]["temp"] for point in entry["points"]] == [15, 51]


async def test_a_command_reaches_the_command_stream(
    local_server: LocalLosant, app: AsyncApplication
) -> None:
    device = app.device(await _device(app, "Actuator"))
    baseline = local_server.open_streams
    with anyio.fail_after(10):
        async with device.command_stream(keep_alive_interval=1) as stream:
            await _until(lambda: local_server.open_streams >= baseline + 1)
            assert (await device.send_command(name="open", payload={"percent": 50})).success
            command = await anext(aiter(stream))
    assert (command.name, command.payload) == ("open", {"percent": 50})
    assert isinstance(command.time, dt.datetime)
    (recent,) = await device.get_command(limit=1)
    assert recent.name == "open"


async def test_a_state_reaches_both_open_state_streams(
    local_server: LocalLosant, app: AsyncApplication
) -> None:
    device = app.device(await _device(app, "Streamer"))
    baseline = local_server.open_streams
    found: dict[str, list[object]] = {"first": [], "second": []}

    async def read(name: str, stream: Any) -> None:
        async for state in stream:
            found[name].append(state.data)
            if len(found[name]) == 2:
                return

    with anyio.fail_after(10):
        async with (
            device.state_stream(keep_alive_interval=1) as first,
            device.state_stream(keep_alive_interval=1) as second,
            anyio.create_task_group() as group,
        ):
            group.start_soon(read, "first", first)
            group.start_soon(read, "second", second)
            await _until(lambda: local_server.open_streams >= baseline + 2)
            await device.send_state({"data": {"temp": 1}})
            await device.send_state({"data": {"temp": 2, "on": True}})
    assert found["first"] == found["second"] == [{"temp": 1}, {"temp": 2, "on": True}]


async def test_data_table_rows_are_stored_and_queried(app: AsyncApplication) -> None:
    table = await app.data_tables.post(
        name="Stock",
        columns=[
            {"name": "sku", "dataType": "string", "constraint": "unique"},
            {"name": "qty", "dataType": "number", "constraint": "optional", "defaultValue": 0},
        ],
    )
    assert table.id
    rows = app.data_table(table.id).rows
    one = await rows.post({"sku": "a", "qty": 5})
    assert one.extra["qty"] == 5
    many = await rows.post([{"sku": "b"}, {"sku": "c", "qty": 9}])
    assert many.count == 2
    assert many.row_ids is not None
    assert len(many.row_ids) == 2
    listed = await rows.get(sort_column="qty", sort_direction="desc")
    assert [row.extra["sku"] for row in listed.items or []] == ["c", "a", "b"]
    found = await rows.query({"qty": {"$gte": 5}}, sort_column="sku")
    assert [row.extra["sku"] for row in found.items or []] == ["a", "c"]
    assert found.total_count == 2


async def test_events_are_created_listed_and_acknowledged(app: AsyncApplication) -> None:
    made = []
    for level, subject in [("info", "door open"), ("critical", "fire"), ("warning", "door ajar")]:
        event = await app.events.post(level=level, subject=subject)
        assert event.id
        made.append(event.id)
    fresh = [e.subject async for e in app.events.get(state="new", per_page=2)]
    assert sorted(s or "" for s in fresh) == ["door ajar", "door open", "fire"]
    acknowledged = await app.event(made[1]).patch(state="acknowledged", comment="on it")
    assert acknowledged.state == "acknowledged"
    got = await app.event(made[1]).get()
    assert got.state == "acknowledged"
    assert (await app.events.get(state="new")).total_count == 2
    doors = app.events.get(filter_field="subject", filter="door*")
    assert sorted([e.subject or "" async for e in doors]) == ["door ajar", "door open"]


async def test_an_api_token_made_through_the_api_is_a_client_token(
    local_server: LocalLosant, app_id: str, app: AsyncApplication
) -> None:
    made = await app.api_tokens.post(name="reader", scope=["devices.get"])
    assert made.token
    assert made.id
    await _device(app, "Seen")
    async with AsyncLosant(token=made.token, base_url=local_server.base_url) as reader_client:
        reader = reader_client.application(app_id)
        assert [d.name async for d in reader.devices.get()] == ["Seen"]
        with pytest.raises(PermissionDeniedError):
            await reader.devices.post(name="nope")
        listed = await app.api_tokens.get()
        assert [token.name for token in listed.items or []] == ["reader"]
        await app.api_token(made.id).delete()
        with pytest.raises(AuthenticationError):
            await reader.devices.get()


async def test_an_export_job_is_awaited_and_downloaded(
    app: AsyncApplication, tmp_path: Path
) -> None:
    device_id = await _device(app, "Exported")
    await app.device(device_id).send_state(
        [{"time": T0 + i, "data": {"temp": i}} for i in range(3)]
    )
    handle = await app.device(device_id).export(start=1, end=0)
    assert isinstance(handle, JobHandle)
    assert handle.action == "device.export"
    with anyio.fail_after(10):
        outcome = await handle
    assert outcome.status == "completed"
    (url,) = outcome.download_urls
    assert "/_local/downloads/" in url
    path = await outcome.download(tmp_path / "export.zip")
    with zipfile.ZipFile(path) as archive:
        lines = archive.read(f"{device_id}.csv").decode().splitlines()
    assert len(lines) == 4  # a header and three states
    assert lines[1].startswith(f"{device_id},2023-11-14T22:13:00.000Z")


def _readme_examples() -> list[str]:
    """The python blocks of the README's "Devices, state, streams and jobs"."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Devices, state, streams and jobs\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


def test_the_readme_has_one_example_each_for_devices_state_streams_and_jobs() -> None:
    names = [re.search(r"async def (test_\w+)", block) for block in _readme_examples()]
    assert [m.group(1) for m in names if m] == [
        "test_devices",
        "test_state",
        "test_command_stream",
        "test_export",
    ]


@pytest.mark.parametrize("index", range(4))
async def test_readme_example_passes(local_server: LocalLosant, tmp_path: Path, index: int) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_readme_examples()[index], f"README.md:local-{index}", "exec"), namespace)
    (test,) = [value for key, value in namespace.items() if key.startswith("test_")]
    arguments = {"local_losant": local_server, "tmp_path": tmp_path}
    wanted = inspect.signature(test).parameters
    with anyio.fail_after(10):
        await test(**{name: arguments[name] for name in wanted})
