"""The local Losant's IoT behaviour over real sockets (raw httpx): devices, state, streams, jobs."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest

from losant_async.testing import LocalLosant

pytestmark = pytest.mark.anyio

T0 = 1_699_999_980_000  # a fixed past moment, in ms, on a minute boundary


def _client(server: LocalLosant, app_id: str, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{server.base_url}/applications/{app_id}",
        headers={"Authorization": f"Bearer {token or server.token}"},
        timeout=10,
    )


@pytest.fixture
async def api(local_server: LocalLosant, app_id: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(local_server, app_id) as client:
        yield client


async def _device(api: httpx.AsyncClient, name: str, **extra: Any) -> str:
    body = {
        "name": name,
        "attributes": [
            {"name": "temp", "dataType": "number"},
            {"name": "on", "dataType": "boolean"},
            {"name": "label", "dataType": "string"},
        ],
        **extra,
    }
    answer = await api.post("/devices", json=body)
    assert answer.status_code == 201, answer.text
    device_id: str = answer.json()["id"]
    return device_id


async def test_device_crud_and_list_paging_sorting_filters(api: httpx.AsyncClient) -> None:
    ids = {}
    for index, name in enumerate(["Pump 3", "pump 1", "Valve", "Pump 2"]):
        tags = [{"key": "floor", "value": str(index % 2)}]
        ids[name] = await _device(
            api, name, tags=tags, deviceClass="gateway" if index == 2 else "standalone"
        )
    page0 = (await api.get("/devices", params={"perPage": 2, "page": 0})).json()
    page1 = (await api.get("/devices", params={"perPage": 2, "page": 1})).json()
    assert page0["totalCount"] == 4
    assert page0["count"] == 2
    assert page0["perPage"] == 2
    names = [item["name"] for item in page0["items"] + page1["items"]]
    assert names == ["pump 1", "Pump 2", "Pump 3", "Valve"]  # case-insensitive name order
    desc = (await api.get("/devices", params={"sortDirection": "desc"})).json()
    assert [item["name"] for item in desc["items"]] == names[::-1]
    glob = (await api.get("/devices", params={"filterField": "name", "filter": "pump *"})).json()
    assert sorted(item["name"] for item in glob["items"]) == ["Pump 2", "Pump 3", "pump 1"]
    tagged = (
        await api.get("/devices", params={"tagFilter[0][key]": "floor", "tagFilter[0][value]": "1"})
    ).json()
    assert sorted(item["name"] for item in tagged["items"]) == ["Pump 2", "pump 1"]
    gateways = (await api.get("/devices", params={"deviceClass": "gateway"})).json()
    assert [item["name"] for item in gateways["items"]] == ["Valve"]
    query = {"$or": [{"name": {"$startsWith": "Valve"}}, {"id": ids["Pump 3"]}]}
    queried = (await api.get("/devices", params={"query": json.dumps(query)})).json()
    assert sorted(item["name"] for item in queried["items"]) == ["Pump 3", "Valve"]
    by_tag = {"tags": {"$tagKey": "floor", "$tagValue": "0"}}
    queried = (await api.get("/devices", params={"query": json.dumps(by_tag)})).json()
    assert sorted(item["name"] for item in queried["items"]) == ["Pump 3", "Valve"]

    device_id = ids["Valve"]
    patched = await api.patch(f"/devices/{device_id}", json={"description": "main valve"})
    assert patched.status_code == 200
    assert patched.json()["description"] == "main valve"
    assert (await api.get(f"/devices/{device_id}")).json()["description"] == "main valve"
    keys = (await api.get("/devices/tagKeys")).json()
    assert keys == {"tagKeys": ["floor"]}
    values = (await api.get("/devices/tagValues", params={"key": "floor"})).json()
    assert values["tagValues"] == ["0", "1"]
    attribute = await api.post(
        f"/devices/{device_id}/attributes", json={"name": "pressure", "dataType": "number"}
    )
    assert attribute.status_code == 201
    listed = (await api.get(f"/devices/{device_id}/attributes")).json()
    assert [item["name"] for item in listed["items"]] == ["label", "on", "pressure", "temp"]
    assert (await api.delete(f"/devices/{device_id}/attributes/pressure")).status_code == 200
    assert (await api.get(f"/devices/{device_id}/attributes/pressure")).status_code == 404
    assert (await api.delete(f"/devices/{device_id}")).json() == {"success": True}
    missing = await api.get(f"/devices/{device_id}")
    assert missing.status_code == 404
    assert missing.json()["type"] == "NotFound"
    deleted = (await api.get("/devices", params={"queryDeleted": "true"})).json()
    assert [item["name"] for item in deleted["items"]] == ["Valve"]


async def test_state_is_stored_and_queried(api: httpx.AsyncClient) -> None:
    device_id = await _device(api, "Sensor", tags=[{"key": "site", "value": "a"}])
    states = [
        {"time": T0 + i * 10_000, "data": {"temp": i, "on": i % 2 == 0, "undeclared": 1}}
        for i in range(12)
    ]
    states.append({"time": {"$date": "2023-11-14T22:15:00.000Z"}, "data": {"label": "iso"}})
    states.append({"time": "1700000005000", "data": {"temp": "100"}})  # text to number
    assert (await api.post(f"/devices/{device_id}/state", json=states)).json() == {"success": True}
    assert (
        await api.post(f"/devices/{device_id}/state", json={"data": {"temp": 7}})
    ).status_code == 200

    latest = (await api.get(f"/devices/{device_id}/state")).json()
    assert len(latest) == 1
    assert latest[0]["data"] == {"temp": 7}
    window = (
        await api.get(
            f"/devices/{device_id}/state",
            params={"start": T0, "end": T0 + 30_000, "limit": 10, "sortDirection": "asc"},
        )
    ).json()
    assert [state["data"].get("temp") for state in window] == [0, 1, 2, 100, 3]
    assert all("undeclared" not in state["data"] for state in window)
    assert window[0]["time"] == "2023-11-14T22:13:00.000Z"

    composite = (await api.get(f"/devices/{device_id}/compositeState")).json()
    assert composite["temp"]["value"] == 7
    assert composite["on"]["value"] is False
    assert composite["label"] == {"value": "iso", "time": "2023-11-14T22:15:00.000Z"}
    last = (
        await api.post("/data/last-value-query", json={"deviceIds": [device_id], "attribute": "on"})
    ).json()
    assert last[device_id]["data"] == {"on": False}

    query = {
        "deviceTags": [{"key": "site", "value": "a"}],
        "start": T0,
        "end": T0 + 119_999,
        "resolution": 60_000,
        "attributes": ["temp"],
    }
    expected = {
        "MEAN": [(0 + 100 + 1 + 2 + 3 + 4 + 5) / 7, 8.5],
        "MIN": [0, 6],
        "MAX": [100, 11],
        "SUM": [115, 51],
        "COUNT": [7, 6],
        "FIRST": [0, 6],
        "LAST": [5, 11],
    }
    for aggregation, values in expected.items():
        answer = await api.post(
            "/data/time-series-query", json={**query, "aggregation": aggregation}
        )
        assert answer.status_code == 200, answer.text
        points = answer.json()["devices"][device_id]["points"]
        got = [point["data"]["temp"] for point in points]
        assert got == pytest.approx(values), aggregation
        assert answer.json()["devices"][device_id]["tags"] == {"site": ["a"]}
    raw = (await api.post("/data/time-series-query", json={**query, "aggregation": "NONE"})).json()
    assert len(raw["devices"][device_id]["points"]) == 13
    assert raw["resolution"] is None
    too_many = await api.post("/data/time-series-query", json={**query, "resolution": 1})
    assert too_many.status_code == 400
    assert too_many.json()["type"] == "Validation"

    composite_all = (await api.get("/devices/compositeState")).json()
    assert composite_all["items"][0]["compositeState"]["temp"]["value"] == 7


async def _until(condition: Callable[[], bool]) -> None:
    """Poll `condition` for up to 5 s."""
    for _ in range(500):
        if condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError("condition not met within 5 s")


async def _events(client: httpx.AsyncClient, path: str, found: list[tuple[str, Any]]) -> None:
    """Read a stream to its end (the test arms `drop_stream` to end it) and parse its events."""
    async with client.stream("GET", path, params={"keepAliveInterval": 0.2}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        raw = b"".join([chunk async for chunk in stream.aiter_bytes()]).decode()
    for block in raw.split("\n\n"):
        if block == ":":
            found.append((":", None))
        elif block:
            name_line, data_line = block.split("\n")
            found.append((name_line.removeprefix("event: "), json.loads(data_line[6:])))


async def test_state_reaches_every_open_stream(
    local_server: LocalLosant, app_id: str, api: httpx.AsyncClient
) -> None:
    device_id = await _device(api, "Streamer")
    local_server.faults.drop_stream(
        after_events=2, times=2, application_id=app_id, action="device.stateStream"
    )
    baseline = local_server.open_streams
    first: list[tuple[str, Any]] = []
    second: list[tuple[str, Any]] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(_events, api, f"/devices/{device_id}/stateStream", first)
            group.start_soon(_events, api, f"/devices/{device_id}/stateStream", second)
            await _until(lambda: local_server.open_streams >= baseline + 2)
            await anyio.sleep(0.3)  # long enough for a keep-alive
            await api.post(f"/devices/{device_id}/state", json={"data": {"temp": 1}})
            await api.post(f"/devices/{device_id}/state", json={"data": {"temp": 2, "on": True}})
    for found in (first, second):
        events = [item for item in found if item[0] != ":"]
        assert [name for name, _ in events] == ["deviceState", "deviceState"]
        assert [data["data"] for _, data in events] == [{"temp": 1}, {"temp": 2, "on": True}]
        assert all("time" in data for _, data in events)
    assert (":", None) in first + second


async def test_command_reaches_the_command_stream(
    local_server: LocalLosant, app_id: str, api: httpx.AsyncClient
) -> None:
    device_id = await _device(api, "Actuator", tags=[{"key": "kind", "value": "valve"}])
    local_server.faults.drop_stream(
        after_events=2, application_id=app_id, action="device.commandStream"
    )
    baseline = local_server.open_streams
    found: list[tuple[str, Any]] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(_events, api, f"/devices/{device_id}/commandStream", found)
            await _until(lambda: local_server.open_streams >= baseline + 1)
            command = {"name": "open", "payload": {"percent": 50}}
            assert (
                await api.post(f"/devices/{device_id}/command", json=command)
            ).status_code == 200
            multi = {"name": "close", "deviceTags": [{"key": "kind", "value": "valve"}]}
            assert (await api.post("/devices/command", json=multi)).json() == {"success": True}
    events = [data for name, data in found if name == "deviceCommand"]
    assert [(e["name"], e.get("payload")) for e in events] == [
        ("open", {"percent": 50}),
        ("close", None),
    ]
    recent = (await api.get(f"/devices/{device_id}/command", params={"limit": 5})).json()
    assert [entry["name"] for entry in recent] == ["close", "open"]


async def test_data_tables_and_rows(api: httpx.AsyncClient) -> None:
    columns = [
        {"name": "sku", "dataType": "string", "constraint": "unique"},
        {"name": "qty", "dataType": "number", "constraint": "optional", "defaultValue": 0},
    ]
    table = await api.post("/data-tables", json={"name": "Stock", "columns": columns})
    assert table.status_code == 201
    table_id = table.json()["id"]
    rows = "/data-tables/" + table_id + "/rows"
    one = await api.post(rows, json={"sku": "a", "qty": 5})
    assert one.status_code == 201
    assert one.json()["qty"] == 5
    many = await api.post(rows, json=[{"sku": "b"}, {"sku": "c", "qty": 9}])
    assert many.json()["count"] == 2
    duplicate = await api.post(rows, json={"sku": "a"})
    assert duplicate.status_code == 400
    listed = (await api.get(rows, params={"sortColumn": "qty", "sortDirection": "desc"})).json()
    assert [row["sku"] for row in listed["items"]] == ["c", "a", "b"]
    found = (await api.post(rows + "/query", json={"qty": {"$gte": 5}})).json()
    assert sorted(row["sku"] for row in found["items"]) == ["a", "c"]
    row_id = one.json()["id"]
    patched = await api.patch(f"{rows}/{row_id}", json={"qty": 6})
    assert patched.json()["qty"] == 6
    assert (await api.get(f"{rows}/{row_id}")).json()["qty"] == 6
    added = await api.post(
        f"/data-tables/{table_id}/column",
        json={"name": "note", "dataType": "string", "constraint": "optional"},
    )
    assert [column["name"] for column in added.json()["columns"]] == ["sku", "qty", "note"]
    removed = await api.post(rows + "/delete", json={"sku": "b"})
    assert removed.json() == {"removed": 1}
    assert (await api.delete(f"{rows}/{row_id}")).status_code == 200
    assert (await api.post(rows + "/truncate")).json() == {"success": True}
    assert (await api.get(rows)).json()["totalCount"] == 0
    tables = (await api.get("/data-tables")).json()
    assert [item["name"] for item in tables["items"]] == ["Stock"]
    assert (await api.delete(f"/data-tables/{table_id}")).status_code == 200


async def test_events(api: httpx.AsyncClient) -> None:
    made = []
    for level, subject in [("info", "door open"), ("critical", "fire"), ("warning", "door ajar")]:
        answer = await api.post("/events", json={"level": level, "subject": subject})
        assert answer.status_code == 201
        made.append(answer.json()["id"])
    worst = (await api.get("/events/mostRecentBySeverity")).json()
    assert worst["newCount"] == 3
    assert worst["event"]["subject"] == "fire"
    doors = (await api.get("/events", params={"filterField": "subject", "filter": "door*"})).json()
    assert sorted(item["subject"] for item in doors["items"]) == ["door ajar", "door open"]
    acked = await api.patch(f"/events/{made[1]}", json={"state": "acknowledged", "comment": "ok"})
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["updates"][0]["stateChange"] == {"old": "new", "new": "acknowledged"}
    fresh = (await api.get("/events", params={"state": "new"})).json()
    assert fresh["totalCount"] == 2
    assert (
        await api.patch("/events", params={"state": "new"}, json={"state": "resolved"})
    ).status_code == 200
    assert (await api.get("/events", params={"state": "resolved"})).json()["totalCount"] == 2
    gone = await api.post("/events/delete", json={"level": "info"})
    assert gone.json() == {"removed": 1}
    assert (await api.delete(f"/events/{made[1]}")).status_code == 200
    assert (await api.get(f"/events/{made[1]}")).status_code == 404


async def test_api_token_made_through_the_api_works_with_its_scopes(
    local_server: LocalLosant, app_id: str, api: httpx.AsyncClient
) -> None:
    made = await api.post("/tokens", json={"name": "reader", "scope": ["devices.get"]})
    assert made.status_code == 201
    secret, token_id = made.json()["token"], made.json()["id"]
    await _device(api, "Seen")
    async with _client(local_server, app_id, secret) as reader:
        listed = await reader.get("/devices")
        assert listed.status_code == 200
        assert listed.json()["totalCount"] == 1
        refused = await reader.post("/devices", json={"name": "nope"})
        assert refused.status_code == 403
        assert refused.json()["type"] == "Forbidden"
        tokens = (await api.get("/tokens")).json()
        assert [item["name"] for item in tokens["items"]] == ["reader"]
        assert "token" not in tokens["items"][0]
        await api.patch(f"/tokens/{token_id}", json={"status": "inactive"})
        assert (await reader.get("/devices")).status_code == 401
        await api.patch(f"/tokens/{token_id}", json={"status": "active"})
        assert (await reader.get("/devices")).status_code == 200
        assert (await api.delete(f"/tokens/{token_id}")).status_code == 200
        assert (await reader.get("/devices")).status_code == 401


async def test_export_job_lands_in_job_logs_with_a_download(
    local_server: LocalLosant, app_id: str, api: httpx.AsyncClient
) -> None:
    device_id = await _device(api, "Exported")
    await api.post(f"/devices/{device_id}/state", json=[{"time": T0, "data": {"temp": 3}}])
    enqueued = await api.post("/data/export", json={"deviceIds": [device_id], "start": 1})
    assert enqueued.status_code == 202
    assert enqueued.json()["jobQueued"] is True
    deadline = time.monotonic() + 10
    entry: dict[str, Any] = {}
    while time.monotonic() < deadline:
        entries = (await api.get("/jobLogs")).json()["items"]
        entry = next(item for item in entries if item["name"] == "DataExport")
        if entry["status"] == "completed":
            break
        await anyio.sleep(0.02)
    assert entry["status"] == "completed"
    assert entry["progress"] == {"completed": 4, "total": 4, "status": "completed"}
    assert entry["resourceType"] == "application"
    assert entry["resourceId"] == app_id
    (url,) = entry["output"]["downloadUrls"]
    async with httpx.AsyncClient(timeout=10) as anonymous:  # no token needed
        download = await anonymous.get(url)
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        text = archive.read(f"{device_id}.csv").decode()
    assert text.splitlines()[1].startswith(f"{device_id},2023-11-14T22:13:00.000Z")


async def test_remove_data_job_removes_state(api: httpx.AsyncClient) -> None:
    device_id = await _device(api, "Wiped")
    await api.post(f"/devices/{device_id}/state", json=[{"time": T0, "data": {"temp": 3}}])
    answer = await api.delete(f"/devices/{device_id}/data", params={"start": 1, "end": 0})
    assert answer.status_code == 202
    for _ in range(500):
        if not (await api.get(f"/devices/{device_id}/state")).json():
            break
        await anyio.sleep(0.02)
    assert (await api.get(f"/devices/{device_id}/state")).json() == []
