"""The local Losant itself, driven with raw httpx over real sockets on both anyio backends."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from typing import Any

import anyio
import anyio.abc
import httpx
import jsonschema
import pytest

from losant_async.testing import LocalLosant
from losant_async.testing._sse import topic_matches, valid_filter

pytestmark = pytest.mark.anyio

MISSING_APP = "0123456789abcdef01234567"


def assert_schema(name: str, body: object) -> None:
    """Validate `body` against spec/schemas/<name>.json (read independently of the server)."""
    node = (
        resources.files("losant_async")
        .joinpath("_spec")
        .joinpath("schemas")
        .joinpath(f"{name}.json")
    )
    schema = json.loads(node.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    ).validate(body)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _reset_server(local_server: LocalLosant) -> Iterator[None]:
    """Faults and job duration never leak from one test into the next."""
    yield
    local_server.faults.clear()
    local_server.job_duration = 0.05


@pytest.fixture
async def client(local_server: LocalLosant) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the local Losant, authenticated with the all-scopes token."""
    headers = {"Authorization": f"Bearer {local_server.token}", "Accept": "application/json"}
    async with httpx.AsyncClient(
        base_url=local_server.base_url, headers=headers, timeout=5.0
    ) as http:
        yield http


class RawSSE:
    """An SSE response read straight off a socket (HTTP/1.0, so no chunked framing).

    httpx's nested body generators cannot be left half-read under trio without
    ResourceWarnings, and a raw socket also shows the exact bytes on the wire.
    """

    def __init__(
        self, stream: anyio.abc.SocketStream, status: int, headers: dict[str, str], rest: bytes
    ) -> None:
        self.stream = stream
        self.status = status
        self.headers = headers
        self.buffer = rest

    async def _fill(self) -> bool:
        try:
            self.buffer += await self.stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return False
        return True

    async def read_blocks(self, count: int, *, within: float = 3.0) -> list[dict[str, str]]:
        """The next `count` SSE blocks (events or comments) as field dicts."""
        blocks: list[dict[str, str]] = []
        with anyio.fail_after(within):
            while len(blocks) < count:
                raw, sep, rest = self.buffer.partition(b"\n\n")
                if not sep:
                    if not await self._fill():
                        break
                    continue
                self.buffer = rest
                block: dict[str, str] = {}
                for line in raw.decode().split("\n"):
                    field, _, value = line.partition(":")
                    block[field or "comment"] = value.removeprefix(" ")
                blocks.append(block)
        return blocks


async def streams_closed(server: LocalLosant) -> None:
    """Return once the server counts no open stream; fail after one second."""
    for _ in range(100):
        if not server.open_streams:
            return
        await anyio.sleep(0.01)
    raise AssertionError(f"{server.open_streams} streams still open after 1 s")


@contextlib.asynccontextmanager
async def open_sse(
    server: LocalLosant, app: str, params: dict[str, str], headers: dict[str, str] | None = None
) -> AsyncIterator[RawSSE]:
    """Open an mqttSubscriptionStream over a raw TCP connection."""
    query = httpx.QueryParams(params)
    lines = [
        f"GET /applications/{app}/mqttSubscriptionStream?{query} HTTP/1.0",
        f"Host: 127.0.0.1:{httpx.URL(server.base_url).port}",
        f"Authorization: Bearer {server.token}",
        "Accept: text/event-stream",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    stream = await anyio.connect_tcp("127.0.0.1", httpx.URL(server.base_url).port or 0)
    async with stream:
        await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        with anyio.fail_after(3):
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode().split("\r\n")
        found = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            found[name.strip().lower()] = value.strip()
        yield RawSSE(stream, int(status_line.split()[1]), found, rest)


# -- every action answers as documented ---------------------------------------

CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("get", "GET", "", {"params": {"summaryInclude": "deviceCount"}}, 200, "application"),
    ("patch", "PATCH", "", {"json": {"name": "Renamed", "description": "d"}}, 200, "application"),
    ("globals", "PATCH", "/globals", {"json": [{"key": "k", "json": '"v"'}]}, 200, "application"),
    ("readme", "GET", "/readme", {}, 200, "applicationReadme"),
    ("readmePatch", "PATCH", "/readme", {"json": {"content": "# Hi"}}, 200, "applicationReadme"),
    ("search", "GET", "/search", {"params": {"filter": "sensor"}}, 200, "applicationSearchResult"),
    (
        "deviceCounts",
        "GET",
        "/deviceCounts",
        {"params": {"start": 0, "end": 86_400_000 * 3}},
        200,
        "deviceCounts",
    ),
    ("notebookMinuteCounts", "GET", "/notebookMinuteCounts", {}, 200, "notebookMinuteCounts"),
    (
        "payloadCounts",
        "GET",
        "/payloadCounts",
        {"params": {"asBytes": "true"}},
        200,
        "payloadStats",
    ),
    ("payloadCountsBreakdown", "GET", "/payloadCountsBreakdown", {}, 200, "payloadCountsBreakdown"),
    (
        "importLogs",
        "GET",
        "/importLogs",
        {"params": {"limit": 5}},
        200,
        "applicationImportExecutions",
    ),
    ("jobLogs", "GET", "/jobLogs", {}, 200, "applicationJobLogs"),
    (
        "mqttPublishMessage",
        "POST",
        "/mqttPublishMessage",
        {"json": {"topic": "a/b", "message": "m"}},
        200,
        "success",
    ),
    (
        "archiveData",
        "GET",
        "/archiveData",
        {"params": {"date": 1518556791829}},
        202,
        "jobEnqueuedResult",
    ),
    ("backfillArchiveData", "GET", "/backfillArchiveData", {}, 202, "jobEnqueuedResult"),
    ("fullDataTablesArchive", "GET", "/fullDataTablesArchive", {}, 202, "jobEnqueuedResult"),
    ("fullEventsArchive", "GET", "/fullEventsArchive", {}, 202, "jobEnqueuedResult"),
    (
        "clone-dry",
        "POST",
        "/clone",
        {"json": {"dryRun": True}},
        200,
        "applicationCloneDryRunResult",
    ),
    ("clone", "POST", "/clone", {"json": {}}, 201, "applicationCreationByTemplateResult"),
    ("clone-job", "POST", "/clone", {"json": {"forceJob": True}}, 202, "jobEnqueuedResult"),
    ("export", "POST", "/export", {"json": {}}, 200, "applicationExportResult"),
    ("export-job", "POST", "/export", {"json": {"forceJob": True}}, 202, "jobEnqueuedResult"),
    (
        "applyTemplate",
        "PATCH",
        "/applyTemplate",
        {"json": {"templateId": "575ec8687ae143cd83dc4a97"}},
        202,
        "jobEnqueuedResult",
    ),
    (
        "import",
        "POST",
        "/import",
        {"files": {"importBundle": ("b.zip", zip_bytes({"a.json": b"{}"}), "application/zip")}},
        202,
        "jobEnqueuedResult",
    ),
    (
        "import-empty",
        "POST",
        "/import",
        {"files": {"importBundle": ("b.zip", zip_bytes({}), "application/zip")}},
        200,
        "application",
    ),
    ("delete", "DELETE", "", {}, 200, "success"),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "kwargs", "status", "schema"), CASES, ids=[c[0] for c in CASES]
)
async def test_action_answers_with_documented_status_and_schema(
    client: httpx.AsyncClient,
    app_id: str,
    case: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    schema: str,
) -> None:
    """Each action answers its documented status with a body valid against its schema."""
    response = await client.request(method, f"/applications/{app_id}{path}", **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.headers["x-request-id"]) == 24
    assert_schema(schema, response.json())
    if status == 202:
        assert response.json()["jobQueued"] is True


async def test_job_log_by_id_answers_schema_and_404(client: httpx.AsyncClient, app_id: str) -> None:
    """GET /jobLogs/{jobId} finds a log by its id and answers 404 NotFound for another id."""
    await client.get(f"/applications/{app_id}/backfillArchiveData")
    log = (await client.get(f"/applications/{app_id}/jobLogs")).json()["items"][0]
    found = await client.get(f"/applications/{app_id}/jobLogs/{log['id']}")
    assert found.status_code == 200
    assert_schema("applicationJobLog", found.json())
    assert found.json()["id"] == log["id"]
    missing = await client.get(f"/applications/{app_id}/jobLogs/{MISSING_APP}")
    assert missing.status_code == 404
    assert missing.json()["type"] == "NotFound"


async def test_links_follow_the_query_flag(client: httpx.AsyncClient, app_id: str) -> None:
    """Application bodies carry _links only when _links=true."""
    with_links = (await client.get(f"/applications/{app_id}", params={"_links": "true"})).json()
    without = (await client.get(f"/applications/{app_id}", params={"_links": "false"})).json()
    assert with_links["_links"]["self"] == {"href": f"/applications/{app_id}"}
    assert with_links["_links"]["devices"] == {"href": f"/applications/{app_id}/devices"}
    assert "_links" not in without
    bad = await client.get(f"/applications/{app_id}", params={"_links": "maybe"})
    assert bad.status_code == 400


async def test_summary_include_and_exclude(client: httpx.AsyncClient, app_id: str) -> None:
    """summaryInclude keeps only the named summary fields; summaryExclude drops them."""
    only = (
        await client.get(
            f"/applications/{app_id}", params={"summaryInclude": "deviceCount,flowCount"}
        )
    ).json()
    assert only["summary"] == {"deviceCount": 3, "flowCount": 1}
    rest = (
        await client.get(f"/applications/{app_id}", params={"summaryExclude": "deviceCount"})
    ).json()
    assert "deviceCount" not in rest["summary"]
    assert rest["summary"]["flowCount"] == 1


async def test_globals_upsert_and_remove(client: httpx.AsyncClient, app_id: str) -> None:
    """PATCH /globals upserts by key and a null json removes the key."""
    url = f"/applications/{app_id}/globals"
    await client.patch(url, json=[{"key": "a", "json": "1"}, {"key": "b", "json": "2"}])
    body = (
        await client.patch(url, json=[{"key": "a", "json": None}, {"key": "b", "json": "3"}])
    ).json()
    assert body["globals"] == [{"key": "b", "json": "3", "cloudOnly": False}]


async def test_readme_patch_then_get(client: httpx.AsyncClient, app_id: str) -> None:
    """A patched readme is what GET /readme answers afterwards."""
    await client.patch(f"/applications/{app_id}/readme", json={"content": "hello"})
    readme = (await client.get(f"/applications/{app_id}/readme")).json()
    assert readme["content"] == "hello"
    assert readme["lastUpdatedByType"] == "apiToken"


async def test_search_matches_names_case_insensitively(
    client: httpx.AsyncClient, local_server: LocalLosant
) -> None:
    """Search answers resources whose name contains the filter, ignoring case."""
    app = local_server.create_application(
        resources=[("device", "Pump A"), ("flow", "pump alerts"), ("dashboard", "Other")]
    )
    found = (await client.get(f"/applications/{app}/search", params={"filter": "PUMP"})).json()
    assert [(item["_type"], item["name"]) for item in found] == [
        ("device", "Pump A"),
        ("flow", "pump alerts"),
    ]
    empty = await client.get(f"/applications/{app}/search")
    assert empty.status_code == 400


async def test_payload_counts_are_consistent_with_the_range(
    client: httpx.AsyncClient, app_id: str
) -> None:
    """The hourly breakdown sums to the billable payload counts of the same range."""
    params = {"start": 1_700_000_000_000, "end": 1_700_000_000_000 + 6 * 3_600_000}
    stats = (await client.get(f"/applications/{app_id}/payloadCounts", params=params)).json()
    hourly = (
        await client.get(
            f"/applications/{app_id}/payloadCountsBreakdown",
            params={**params, "resolution": "3600000"},
        )
    ).json()
    daily = (
        await client.get(f"/applications/{app_id}/payloadCountsBreakdown", params=params)
    ).json()
    billable = sum(
        sum(v.values()) for k, v in stats.items() if k not in ("deviceConnect", "deviceDisconnect")
    )
    assert len(hourly["counts"]) == 7
    assert sum(c["value"] for c in hourly["counts"]) == billable
    assert sum(c["value"] for c in daily["counts"]) == billable
    bad = await client.get(
        f"/applications/{app_id}/payloadCountsBreakdown", params={"resolution": "60000"}
    )
    assert bad.status_code == 400
    reversed_range = await client.get(
        f"/applications/{app_id}/deviceCounts", params={"start": 10, "end": 5}
    )
    assert reversed_range.status_code == 400


# -- auth, validation, not found ----------------------------------------------


async def test_missing_or_unknown_token_is_401(local_server: LocalLosant, app_id: str) -> None:
    """No token or an unknown token answers 401 in Losant's error shape."""
    async with httpx.AsyncClient(base_url=local_server.base_url) as http:
        missing = await http.get(f"/applications/{app_id}")
        unknown = await http.get(
            f"/applications/{app_id}", headers={"Authorization": "Bearer nope"}
        )
    for response in (missing, unknown):
        assert response.status_code == 401
        assert response.json()["type"] == "Unauthorized"
        assert_schema("error", response.json())


@pytest.mark.parametrize(
    ("scopes", "method", "path", "status"),
    [
        (["application.get"], "GET", "", 200),
        (["application.get"], "PATCH", "", 403),
        (["all.Application.read"], "GET", "/payloadCounts", 200),
        (["all.Application.read"], "POST", "/export", 403),
        (["all.User.cli"], "GET", "/readme", 200),
        (["application.*"], "GET", "/search?filter=a", 200),
        (["all.Organization"], "GET", "/backfillArchiveData", 202),
        (["application.export"], "GET", "/search?filter=a", 403),
        (["applicationJobLogs.get"], "GET", "/jobLogs", 200),
        (["applicationJobLogs.get"], "GET", "", 403),
    ],
)
async def test_scopes_decide_403(
    local_server: LocalLosant, app_id: str, scopes: list[str], method: str, path: str, status: int
) -> None:
    """A token without one of the action's scopes answers 403 Forbidden."""
    token = local_server.create_token(scopes=scopes)
    async with httpx.AsyncClient(
        base_url=local_server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        response = await http.request(
            method, f"/applications/{app_id}{path}", json={} if method != "GET" else None
        )
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["type"] == "Forbidden"


async def test_token_limited_to_one_application(local_server: LocalLosant, app_id: str) -> None:
    """A token created for one application is refused (403) on another."""
    other = local_server.create_application()
    token = local_server.create_token(scopes=["application.*"], application_id=app_id)
    async with httpx.AsyncClient(
        base_url=local_server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        assert (await http.get(f"/applications/{app_id}")).status_code == 200
        assert (await http.get(f"/applications/{other}")).status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("PATCH", "", {"json": {"name": ""}}),
        ("PATCH", "", {"json": {"unknownField": 1}}),
        ("PATCH", "", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("PATCH", "/globals", {"json": {"key": "not-an-array"}}),
        ("POST", "/mqttPublishMessage", {"json": {"topic": "a"}}),
        ("POST", "/mqttPublishMessage", {"json": {"topic": "a/+", "message": "x"}}),
        ("PATCH", "/applyTemplate", {"json": {"templateId": "xyz"}}),
        ("POST", "/export", {"json": {"exportType": "tarball"}}),
        ("GET", "/archiveData", {}),
        ("GET", "/importLogs", {"params": {"limit": "zero"}}),
        ("GET", "/jobLogs", {"params": {"sortField": "nope"}}),
        ("POST", "/import", {"data": {"options": "{bad"}, "files": {"x": ("x", b"1")}}),
        (
            "POST",
            "/import",
            {
                "data": {"options": json.dumps({"conflictBehavior": "explode"})},
                "files": {"x": ("x", b"1")},
            },
        ),
        (
            "POST",
            "/import",
            {"files": {"importBundle": ("b.zip", b"PK\x03\x04 corrupt", "application/zip")}},
        ),
        ("POST", "/import", {"json": {}}),
        ("GET", "/mqttSubscriptionStream", {"params": {"topic": "a/#/b"}}),
        ("GET", "/mqttSubscriptionStream", {"params": {"topic": "a", "keepAliveInterval": "-1"}}),
    ],
)
async def test_invalid_requests_are_400_validation(
    client: httpx.AsyncClient, app_id: str, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    """Invalid bodies, queries and bundles answer 400 {"type": "Validation", "message": ...}."""
    response = await client.request(method, f"/applications/{app_id}{path}", **kwargs)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "Validation"
    assert isinstance(body["message"], str)
    assert body["message"]


async def test_unknown_application_is_404(client: httpx.AsyncClient) -> None:
    """An unknown application answers 404 NotFound; a malformed id 400."""
    response = await client.get(f"/applications/{MISSING_APP}/readme")
    assert response.status_code == 404
    assert response.json() == {"type": "NotFound", "message": "Application was not found"}
    assert (await client.get("/applications/xyz")).status_code == 400
    assert (await client.get("/nowhere")).json()["type"] == "NotFound"


async def test_delete_removes_the_application(client: httpx.AsyncClient, app_id: str) -> None:
    """After DELETE the application answers 404."""
    assert (await client.delete(f"/applications/{app_id}")).json() == {"success": True}
    assert (await client.get(f"/applications/{app_id}")).status_code == 404


# -- jobs -----------------------------------------------------------------------


async def test_job_goes_queued_in_progress_completed(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """An export job is queued, then in progress with rising progress, then completed with a URL."""
    local_server.job_duration = 0.6
    enqueue = await client.post(f"/applications/{app_id}/export", json={"forceJob": True})
    assert enqueue.status_code == 202
    statuses: list[str] = []
    progress: list[float] = []
    with anyio.fail_after(5):
        while True:
            items = (await client.get(f"/applications/{app_id}/jobLogs")).json()["items"]
            assert len(items) == 1
            log = items[0]
            statuses.append(log["status"])
            if log["status"] == "inProgress":
                progress.append(log["progress"]["completed"])
            if log["status"] == "completed":
                break
            await anyio.sleep(0.02)
    assert statuses[0] == "queued"
    assert "inProgress" in statuses
    assert progress == sorted(progress)
    assert len(set(progress)) >= 2
    assert_schema("applicationJobLog", log)
    assert log["name"] == "export"
    assert log["resourceType"] == "application"
    assert log["resourceId"] == app_id
    assert log["jobId"] != enqueue.json()["jobId"]
    assert log["runQueuedAt"] <= log["runStartedAt"] <= log["runCompletedAt"]
    download = await client.get(log["output"]["downloadUrls"][0])
    assert download.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(download.content)).namelist() == ["application.json"]


async def test_fail_job_makes_the_next_job_errored(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """faults.fail_job ends the next job of the action errored, then jobs succeed again."""
    local_server.faults.fail_job("clone", times=1, message="boom")
    await client.post(f"/applications/{app_id}/clone", json={"forceJob": True})
    await client.post(f"/applications/{app_id}/clone", json={"forceJob": True})
    with anyio.fail_after(5):
        while True:
            items = (
                await client.get(
                    f"/applications/{app_id}/jobLogs", params={"sortField": "runQueuedAt"}
                )
            ).json()["items"]
            if all(item["status"] in ("completed", "errored") for item in items):
                break
            await anyio.sleep(0.02)
    assert [item["status"] for item in items] == ["errored", "completed"]
    assert items[0]["error"] == {"name": "JobError", "message": "boom"}
    assert "runCompletedAt" in items[0]
    assert (
        await client.get(f"/applications/{items[1]['output']['applicationId']}")
    ).status_code == 200


async def test_import_and_apply_template_land_in_import_logs(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """Import and applyTemplate are import logs, newest first, carrying the enqueue jobId."""
    bundle = zip_bytes({"flows/a.json": b"{}"})
    first = await client.post(
        f"/applications/{app_id}/import",
        data={"email": "me@example.com", "options": json.dumps({"conflictBehavior": "replace"})},
        files={"importBundle": ("bundle.zip", bundle, "application/zip")},
    )
    second = await client.patch(
        f"/applications/{app_id}/applyTemplate", json={"templateId": "575ec8687ae143cd83dc4a97"}
    )
    with anyio.fail_after(5):
        while True:
            logs = (
                await client.get(f"/applications/{app_id}/importLogs", params={"limit": 10})
            ).json()
            if all(log["status"] == "completed" for log in logs):
                break
            await anyio.sleep(0.02)
    assert_schema("applicationImportExecutions", logs)
    assert [log["jobId"] for log in logs] == [second.json()["jobId"], first.json()["jobId"]]
    assert logs[0]["importSourceType"] == "importUrl"
    assert logs[0]["importUrl"].endswith("575ec8687ae143cd83dc4a97")
    assert logs[1]["importSourceType"] == "importBundle"
    assert logs[1]["conflictBehavior"] == "replace"
    assert logs[1]["email"] == "me@example.com"
    assert (await client.get(f"/applications/{app_id}/importLogs")).json()[0][
        "jobId"
    ] == second.json()["jobId"]
    future = (
        await client.get(
            f"/applications/{app_id}/importLogs", params={"since": int(time.time() * 1000) + 60_000}
        )
    ).json()
    assert future == []
    app = (await client.get(f"/applications/{app_id}")).json()
    assert app["appliedTemplateIds"] == ["575ec8687ae143cd83dc4a97"]


async def test_job_logs_sort_and_page(client: httpx.AsyncClient, app_id: str) -> None:
    """jobLogs honours sortField, sortDirection, page and perPage."""
    for path in ("/fullEventsArchive", "/backfillArchiveData", "/fullDataTablesArchive"):
        await client.get(f"/applications/{app_id}{path}")
    params = {"sortField": "name", "sortDirection": "desc", "perPage": 2, "page": 0}
    first = (await client.get(f"/applications/{app_id}/jobLogs", params=params)).json()
    second = (
        await client.get(f"/applications/{app_id}/jobLogs", params={**params, "page": 1})
    ).json()
    assert [i["name"] for i in first["items"]] == ["fullEventsArchive", "fullDataTablesArchive"]
    assert [i["name"] for i in second["items"]] == ["backfillArchiveData"]
    assert (first["count"], first["totalCount"], second["count"]) == (2, 3, 1)
    queried = (
        await client.get(
            f"/applications/{app_id}/jobLogs",
            params={"query": json.dumps({"name": "fullEventsArchive"})},
        )
    ).json()
    assert [i["name"] for i in queried["items"]] == ["fullEventsArchive"]


async def test_requires_job_application_always_enqueues(
    client: httpx.AsyncClient, local_server: LocalLosant
) -> None:
    """A large application (requires_job) answers clone and export with 202, dryRun says so."""
    app = local_server.create_application(requires_job=True)
    dry = (await client.post(f"/applications/{app}/clone", json={"dryRun": True})).json()
    assert dry == {"success": True, "requiresJob": True}
    assert (await client.post(f"/applications/{app}/clone")).status_code == 202
    assert (await client.post(f"/applications/{app}/export", json={})).status_code == 202


# -- MQTT streams ----------------------------------------------------------------


def test_topic_matching_follows_mqtt() -> None:
    """MQTT '+' matches one level, '#' the rest, and wildcards skip '$' topics."""
    assert topic_matches("a/+/c", "a/b/c")
    assert not topic_matches("a/+/c", "a/b/d/c")
    assert topic_matches("a/#", "a")
    assert topic_matches("a/#", "a/b/c")
    assert topic_matches("#", "x/y")
    assert not topic_matches("#", "$SYS/x")
    assert not topic_matches("a/b", "a/b/c")
    assert topic_matches("+/+", "a/b")
    assert not valid_filter("a/#/b")
    assert not valid_filter("a/b+")
    assert valid_filter("+/x/#")


async def test_publish_fans_out_to_matching_subscribers(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """mqttPublishMessage reaches every open stream whose filter matches, with monotonic ids."""
    async with (
        open_sse(local_server, app_id, {"topic": "plant/+/temp"}) as plus,
        open_sse(local_server, app_id, {"topic": "plant/#"}) as hash_,
        open_sse(local_server, app_id, {"topic": "other/#", "keepAliveInterval": "0.2"}) as other,
    ):
        assert plus.status == 200
        assert plus.headers["content-type"].startswith("text/event-stream")
        assert "content-length" not in plus.headers
        assert local_server.open_streams >= 3
        for topic in ("plant/a/temp", "plant/b/humidity", "plant/c/temp"):
            sent = await client.post(
                f"/applications/{app_id}/mqttPublishMessage",
                json={"topic": topic, "message": topic.upper()},
            )
            assert sent.json() == {"success": True}
        plus_events = await plus.read_blocks(2)
        hash_events = await hash_.read_blocks(3)
        other_blocks = await other.read_blocks(1)
    assert plus_events == [
        {
            "id": "1",
            "event": "mqttMessage",
            "data": '{"topic":"plant/a/temp","message":"PLANT/A/TEMP"}',
        },
        {
            "id": "3",
            "event": "mqttMessage",
            "data": '{"topic":"plant/c/temp","message":"PLANT/C/TEMP"}',
        },
    ]
    assert [e["id"] for e in hash_events] == ["1", "2", "3"]
    assert json.loads(hash_events[1]["data"]) == {
        "topic": "plant/b/humidity",
        "message": "PLANT/B/HUMIDITY",
    }
    assert other_blocks == [{"comment": "keepalive"}]


async def test_last_event_id_replays_missed_messages(
    local_server: LocalLosant, app_id: str
) -> None:
    """Reconnecting with Last-Event-ID first replays the buffered messages after that id."""
    for index in range(4):
        local_server.publish(app_id, f"t/{index}", str(index))
    async with open_sse(local_server, app_id, {"topic": "t/#"}, {"Last-Event-ID": "2"}) as stream:
        local_server.publish(app_id, "t/live", "live")
        events = await stream.read_blocks(3)
    assert [(e["id"], json.loads(e["data"])["message"]) for e in events] == [
        ("3", "2"),
        ("4", "3"),
        ("5", "live"),
    ]


async def test_disconnect_is_detected_within_a_second(
    local_server: LocalLosant, app_id: str
) -> None:
    """Closing a stream client-side drops open_streams within one second."""
    await streams_closed(local_server)  # those of earlier tests
    async with open_sse(local_server, app_id, {"topic": "x"}):
        assert local_server.open_streams == 1
    await streams_closed(local_server)


# -- fault injection ----------------------------------------------------------------


async def test_fail_answers_status_with_retry_after_then_recovers(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """faults.fail answers the next N requests with the status and Retry-After, then normally."""
    local_server.faults.fail("get", status=429, times=2, retry_after=3)
    statuses = [(await client.get(f"/applications/{app_id}")) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["retry-after"] == "3"
    assert_schema("error", statuses[0].json())
    assert (await client.get(f"/applications/{app_id}/readme")).status_code == 200


async def test_fail_can_target_all_actions_and_be_cleared(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """A '*' fault hits any action until clear()."""
    local_server.faults.fail("*", status=503, times=None)
    assert (await client.get(f"/applications/{app_id}/readme")).status_code == 503
    assert (await client.get(f"/applications/{app_id}/search", params={"filter": "a"})).json()[
        "type"
    ] == "ServerError"
    local_server.faults.clear()
    assert (await client.get(f"/applications/{app_id}/readme")).status_code == 200
    with pytest.raises(ValueError, match="unknown action"):
        local_server.faults.fail("gett")


async def test_latency_delays_the_answer(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """faults.latency holds the answer back for the given time."""
    local_server.faults.latency("readme", seconds=0.3, times=1)
    started = time.monotonic()
    assert (await client.get(f"/applications/{app_id}/readme")).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await client.get(f"/applications/{app_id}/readme")
    assert time.monotonic() - started < 0.3


async def test_bad_body_not_json_and_truncated(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """faults.bad_body sends an HTML page or half the JSON, with the normal status."""
    local_server.faults.bad_body("get", kind="not_json")
    html = await client.get(f"/applications/{app_id}")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    local_server.faults.bad_body("get", kind="truncated")
    cut = await client.get(f"/applications/{app_id}")
    full = await client.get(f"/applications/{app_id}")
    assert cut.status_code == 200
    assert full.content.startswith(cut.content)
    assert 0 < len(cut.content) < len(full.content)
    with pytest.raises(json.JSONDecodeError):
        cut.json()


async def test_drop_stream_ends_after_k_events(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """faults.drop_stream ends the next stream cleanly after K messages."""
    local_server.faults.drop_stream(after_events=2)
    url = f"/applications/{app_id}/mqttSubscriptionStream"
    async with client.stream("GET", url, params={"topic": "d"}) as stream:
        for index in range(3):
            local_server.publish(app_id, "d", str(index))
        with anyio.fail_after(3):
            body = b"".join([chunk async for chunk in stream.aiter_bytes()])
    assert body.count(b"event: mqttMessage") == 2


async def test_stall_stream_sends_nothing(local_server: LocalLosant, app_id: str) -> None:
    """faults.stall_stream keeps the next stream open but silent: no keep-alives, no messages."""
    local_server.faults.stall_stream()
    async with open_sse(
        local_server, app_id, {"topic": "s", "keepAliveInterval": "0.05"}
    ) as stream:
        assert stream.status == 200
        local_server.publish(app_id, "s", "lost")
        assert local_server.open_streams >= 1
        with anyio.move_on_after(0.4):
            await stream.read_blocks(1)
        assert stream.buffer == b""
    async with open_sse(
        local_server, app_id, {"topic": "s", "keepAliveInterval": "0.05"}
    ) as healthy:
        assert await healthy.read_blocks(1) == [{"comment": "keepalive"}]


async def test_fault_on_stream_connect(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """faults.fail applies to mqttSubscriptionStream connects as to any action."""
    local_server.faults.fail("mqttSubscriptionStream", status=503, application_id=app_id)
    url = f"/applications/{app_id}/mqttSubscriptionStream"
    async with client.stream("GET", url, params={"topic": "s"}) as stream:
        assert stream.status_code == 503
        await stream.aread()
        assert stream.json()["type"] == "ServerError"


# -- lifecycle ----------------------------------------------------------------------


async def test_async_context_manager_shuts_down_quickly_with_open_stream() -> None:
    """Leaving `async with LocalLosant()` with an open stream is quick and leaks no thread."""
    threads_before = set(threading.enumerate())
    async with LocalLosant() as server:
        app = server.create_application()
        assert server.base_url.startswith("http://127.0.0.1:")
        async with (
            httpx.AsyncClient(
                base_url=server.base_url, headers={"Authorization": f"Bearer {server.token}"}
            ) as http,
            http.stream(
                "GET", f"/applications/{app}/mqttSubscriptionStream", params={"topic": "#"}
            ) as stream,
        ):
            assert stream.status_code == 200
            assert server.open_streams == 1
            started = time.monotonic()
            await server.__aexit__(None, None, None)
            assert time.monotonic() - started < 1.0
            with anyio.fail_after(2):
                assert [chunk async for chunk in stream.aiter_bytes()] == []
    # Only the backend's own pooled to_thread workers may stay behind.
    extra = {thread.name for thread in threading.enumerate()} - {
        thread.name for thread in threads_before
    }
    assert all(name == "AnyIO worker thread" or name.startswith("Trio thread") for name in extra), (
        extra
    )
    with pytest.raises(RuntimeError, match="not running"):
        server.publish(app, "a", "b")
    with pytest.raises(RuntimeError, match="runs only once"):
        server.start()


def test_run_in_thread_serves_sync_callers() -> None:
    """run_in_thread serves plain sync httpx and stops on exit."""
    with LocalLosant().run_in_thread() as server:
        app = server.create_application(name="Sync")
        response = httpx.get(
            f"{server.base_url}/applications/{app}",
            headers={"Authorization": f"Bearer {server.token}"},
        )
        assert response.json()["name"] == "Sync"
        url = server.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_plugin_fixture_resets_faults_after_each_test(local_losant: LocalLosant) -> None:
    """The pytest plugin's local_losant fixture serves, and its faults start cleared."""
    assert local_losant.faults.take_fail("get", None) is None
    local_losant.faults.fail("get", times=None)
    app = local_losant.create_application(name="Plugin")
    response = httpx.get(
        f"{local_losant.base_url}/applications/{app}/readme",
        headers={"Authorization": f"Bearer {local_losant.token}"},
    )
    assert response.json()["applicationId"] == app


def test_plugin_fixture_is_clean_in_the_next_test(local_losant: LocalLosant) -> None:
    """A fault armed in the previous test is gone in the next one."""
    assert local_losant.faults.take_fail("get", None) is None
