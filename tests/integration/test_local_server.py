"""The local Losant itself, driven with raw httpx over real sockets on both anyio backends."""

from __future__ import annotations

import contextlib
import email.utils
import io
import json
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
SPEC_SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "spec" / "schemas"


def assert_schema(name: str, body: object) -> None:
    """Validate `body` against Losant's spec/schemas/<name>.json (not the server's own tables)."""
    if not SPEC_SCHEMAS.is_dir():
        pytest.skip("../shared/spec is not beside this checkout")
    schema = json.loads((SPEC_SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
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
    local_server.replay = False
    local_server.clock_offset = 0.0


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
    # Losant sends no X-Request-Id, and uvicorn's own Server and Date headers are off.
    assert "x-request-id" not in response.headers
    assert "server" not in response.headers
    assert len(response.headers.get_list("date")) == 1
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


async def test_missing_token_is_403_and_unknown_token_401(
    local_server: LocalLosant, app_id: str
) -> None:
    """No token answers 403 Forbidden and an unknown token 401 Unauthorized, as Losant does."""
    async with httpx.AsyncClient(base_url=local_server.base_url) as http:
        missing = await http.get(f"/applications/{app_id}")
        empty = await http.get(f"/applications/{app_id}", headers={"Authorization": "Bearer"})
        unknown = await http.get(
            f"/applications/{app_id}", headers={"Authorization": "Bearer nope"}
        )
    assert (missing.status_code, missing.json()["type"]) == (403, "Forbidden")
    assert (empty.status_code, empty.json()["type"]) == (403, "Forbidden")
    assert (unknown.status_code, unknown.json()["type"]) == (401, "Unauthorized")
    for response in (missing, unknown):
        assert set(response.json()) == {"type", "message"}
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
    assert log["name"] == "ApplicationExport"
    assert log["requestedByType"] == "apiToken"
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
    assert [i["name"] for i in first["items"]] == ["FullEventsArchive", "FullDataTablesArchive"]
    assert [i["name"] for i in second["items"]] == ["BackfillArchiveData"]
    assert (first["count"], first["totalCount"], second["count"]) == (2, 3, 1)
    queried = (
        await client.get(
            f"/applications/{app_id}/jobLogs",
            params={"query": json.dumps({"name": "FullEventsArchive"})},
        )
    ).json()
    assert [i["name"] for i in queried["items"]] == ["FullEventsArchive"]


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
    """mqttPublishMessage reaches every open stream whose filter matches, in order."""
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
    # Losant's events carry no id: line (replay is off by default).
    assert plus_events == [
        {"event": "mqttMessage", "data": '{"topic":"plant/a/temp","message":"PLANT/A/TEMP"}'},
        {"event": "mqttMessage", "data": '{"topic":"plant/c/temp","message":"PLANT/C/TEMP"}'},
    ]
    assert [json.loads(e["data"])["topic"] for e in hash_events] == [
        "plant/a/temp",
        "plant/b/humidity",
        "plant/c/temp",
    ]
    assert json.loads(hash_events[1]["data"]) == {
        "topic": "plant/b/humidity",
        "message": "PLANT/B/HUMIDITY",
    }
    assert other_blocks == [{"comment": ""}]


async def test_last_event_id_replays_missed_messages_with_replay_on(
    local_server: LocalLosant, app_id: str
) -> None:
    """With `replay = True`, events carry ids and Last-Event-ID replays what came after it."""
    local_server.replay = True
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
        assert await healthy.read_blocks(1) == [{"comment": ""}]


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


# -- fidelity to Losant (issue 10) ------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    ["all.Application.bounded", "all.Organization.bounded", "all.User.bounded"],
)
async def test_bounded_scopes_are_accepted(
    local_server: LocalLosant, app_id: str, scope: str
) -> None:
    """A token with only a `.bounded` scope may call the actions Losant's docs list it for."""
    token = local_server.create_token(scopes=[scope])
    async with httpx.AsyncClient(
        base_url=local_server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        assert (await http.get(f"/applications/{app_id}")).status_code == 200
        assert (await http.get(f"/applications/{app_id}/jobLogs")).status_code == 200
        published = await http.post(
            f"/applications/{app_id}/mqttPublishMessage", json={"topic": "a", "message": "b"}
        )
        assert published.status_code == 200
        url = f"/applications/{app_id}/mqttSubscriptionStream"
        async with http.stream("GET", url, params={"topic": "a"}) as stream:
            assert stream.status_code == 200


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 200),
        ("^1.30.0", 200),
        ("1.30.0", 200),
        ("~1.30", 200),
        ("1.x", 200),
        (">=1.0.0", 200),
        ("1.0.0 - 2.0.0", 200),
        ("^1.2.3 || ^2.0.0", 200),
        ("^2.0.0", 400),
        ("0.9.0", 400),
        ("~1.29.0", 400),
        ("<1.30.0", 400),
        ("garbage", 400),
    ],
)
async def test_accept_version_is_checked(
    client: httpx.AsyncClient, app_id: str, header: str | None, status: int
) -> None:
    """An Accept-Version range that API 1.30.0 does not satisfy answers 400 VersionNotAllowed."""
    headers = {} if header is None else {"Accept-Version": header}
    response = await client.get(f"/applications/{app_id}", headers=headers)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["type"] == "VersionNotAllowed"
        assert set(response.json()) == {"type", "message"}


async def test_error_bodies_are_type_and_message_only(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """Every error answer is exactly {"type", "message"} with Losant's type names."""
    answers = {
        "Validation": await client.patch(f"/applications/{app_id}", json={"name": ""}),
        "NotFound": await client.get(f"/applications/{MISSING_APP}"),
    }
    local_server.faults.fail("get", status=429, times=1)
    answers["TooManyRequests"] = await client.get(f"/applications/{app_id}")
    for kind, response in answers.items():
        assert set(response.json()) == {"type", "message"}, kind
        assert response.json()["type"] == kind
        assert isinstance(response.json()["message"], str)


async def test_revoked_token_is_401(local_server: LocalLosant, app_id: str) -> None:
    """After revoke_token, requests with that token answer 401 Unauthorized; others still work."""
    token = local_server.create_token(scopes=["all.Application"])
    url = f"{local_server.base_url}/applications/{app_id}"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        assert (await http.get(url)).status_code == 200
        local_server.revoke_token(token)
        refused = await http.get(url)
        stream = await http.get(f"{url}/mqttSubscriptionStream", params={"topic": "a"})
    assert (refused.status_code, refused.json()["type"]) == (401, "Unauthorized")
    assert stream.status_code == 401
    with pytest.raises(KeyError):
        local_server.revoke_token(token)


async def test_sse_wire_format_has_no_ids_and_empty_comment_keep_alives(
    local_server: LocalLosant, app_id: str
) -> None:
    """By default events are `event:`/`data:` only and keep-alives are the bytes `:\\n\\n`."""
    async with open_sse(local_server, app_id, {"topic": "w", "keepAliveInterval": "1"}) as stream:
        assert "x-request-id" not in stream.headers
        assert "x-accel-buffering" not in stream.headers
        local_server.publish(app_id, "w", "one")
        with anyio.fail_after(4):
            while b":\n\n" not in stream.buffer:
                assert await stream._fill()
    event = b'event: mqttMessage\ndata: {"topic":"w","message":"one"}\n\n'
    assert stream.buffer.startswith(event + b":\n\n")
    assert b"id:" not in stream.buffer


async def test_no_replay_by_default_after_reconnect(local_server: LocalLosant, app_id: str) -> None:
    """Without the replay knob, a reconnect with Last-Event-ID gets only new messages."""
    for index in range(3):
        local_server.publish(app_id, "r", str(index))
    async with open_sse(local_server, app_id, {"topic": "r"}, {"Last-Event-ID": "1"}) as stream:
        local_server.publish(app_id, "r", "live")
        events = await stream.read_blocks(1)
    assert [json.loads(e["data"])["message"] for e in events] == ["live"]
    assert "id" not in events[0]


async def test_date_header_follows_clock_offset(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """clock_offset shifts the one Date header and the times the server stamps."""
    local_server.clock_offset = 600.0
    response = await client.post(f"/applications/{app_id}/export", json={"forceJob": True})
    assert len(response.headers.get_list("date")) == 1
    sent = email.utils.parsedate_to_datetime(response.headers["date"])
    assert 590 < (sent - datetime.now(UTC)).total_seconds() < 610
    log = (await client.get(f"/applications/{app_id}/jobLogs")).json()["items"][0]
    queued = datetime.fromisoformat(log["runQueuedAt"])
    assert abs((queued - sent).total_seconds()) < 2
    async with open_sse(local_server, app_id, {"topic": "x"}) as stream:
        when = email.utils.parsedate_to_datetime(stream.headers["date"])
        assert 590 < (when - datetime.now(UTC)).total_seconds() < 610
    local_server.clock_offset = 0
    back = await client.get(f"/applications/{app_id}")
    now_sent = email.utils.parsedate_to_datetime(back.headers["date"])
    assert abs((now_sent - datetime.now(UTC)).total_seconds()) < 5
    with pytest.raises(TypeError):
        local_server.clock_offset = "10"  # type: ignore[assignment]


JOB_CASES = [
    ("POST", "/export", {"json": {"forceJob": True}}, "ApplicationExport"),
    ("GET", "/archiveData", {"params": {"date": 1518556791829}}, "ArchiveData"),
    ("POST", "/clone", {"json": {"forceJob": True}}, "ApplicationClone"),
    ("GET", "/backfillArchiveData", {}, "BackfillArchiveData"),
    ("GET", "/fullDataTablesArchive", {}, "FullDataTablesArchive"),
    ("GET", "/fullEventsArchive", {}, "FullEventsArchive"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "name"), JOB_CASES)
async def test_job_logs_are_named_after_the_job(
    client: httpx.AsyncClient,
    local_server: LocalLosant,
    app_id: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    name: str,
) -> None:
    """A job log entry carries Losant's job name and who requested it (the API token)."""
    other = local_server.create_token(scopes=["all.Application"])
    response = await client.request(
        method,
        f"/applications/{app_id}{path}",
        headers={"Authorization": f"Bearer {other}"},
        **kwargs,
    )
    assert response.status_code == 202
    mine = local_server.create_token(scopes=["all.Application"])
    again = await client.request(
        method,
        f"/applications/{app_id}{path}",
        headers={"Authorization": f"Bearer {mine}"},
        **kwargs,
    )
    assert again.status_code == 202
    items = (await client.get(f"/applications/{app_id}/jobLogs")).json()["items"]
    assert [item["name"] for item in items] == [name, name]
    assert {item["requestedByType"] for item in items} == {"apiToken"}
    requesters = [item["requestedById"] for item in items]
    assert len(set(requesters)) == 2
    assert all(len(requester) == 24 for requester in requesters)
    for item in items:
        assert_schema("applicationJobLog", item)


async def test_add_job_log_adds_a_system_entry(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """add_job_log records an entry no request enqueued, as Losant's nightly archiving does."""
    log_id = local_server.add_job_log(app_id, name="ArchiveData")
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    done_id = local_server.add_job_log(
        app_id,
        name="ApplicationExport",
        requested_by_type="user",
        status="completed",
        run_queued_at=stamp,
    )
    items = (await client.get(f"/applications/{app_id}/jobLogs")).json()["items"]
    by_id = {item["id"]: item for item in items}
    assert set(by_id) == {log_id, done_id}
    queued = by_id[log_id]
    assert (queued["name"], queued["status"], queued["requestedByType"]) == (
        "ArchiveData",
        "queued",
        "system",
    )
    assert len(queued["requestedById"]) == 24
    done = by_id[done_id]
    assert done["runQueuedAt"] == "2026-01-02T03:04:05.678Z"
    assert done["status"] == "completed"
    assert done["requestedByType"] == "user"
    assert "runCompletedAt" in done
    for item in items:
        assert_schema("applicationJobLog", item)
    found = await client.get(f"/applications/{app_id}/jobLogs/{log_id}")
    assert found.json()["id"] == log_id
    with pytest.raises(ValueError, match="requested_by_type"):
        local_server.add_job_log(app_id, name="X", requested_by_type="robot")
    with pytest.raises(ValueError, match="status"):
        local_server.add_job_log(app_id, name="X", status="done")
    with pytest.raises(KeyError):
        local_server.add_job_log(MISSING_APP, name="X")


async def test_job_logs_query_filters(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """The jobLogs query filters by fields, operators and dates, as the advanced query says."""
    base = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    ids = {
        "early": local_server.add_job_log(
            app_id, name="ArchiveData", status="completed", run_queued_at=base
        ),
        "mid": local_server.add_job_log(
            app_id,
            name="ApplicationExport",
            requested_by_type="apiToken",
            run_queued_at=base + timedelta(minutes=5),
        ),
        "late": local_server.add_job_log(
            app_id, name="ArchiveData", run_queued_at=base + timedelta(minutes=10)
        ),
    }
    name_of = {value: key for key, value in ids.items()}

    async def found(query: object) -> list[str]:
        response = await client.get(
            f"/applications/{app_id}/jobLogs", params={"query": json.dumps(query)}
        )
        assert response.status_code == 200, response.text
        assert response.json()["query"] == query
        return [name_of[item["id"]] for item in response.json()["items"]]

    start = base + timedelta(minutes=1)
    assert await found({"name": "ArchiveData"}) == ["early", "late"]
    assert await found({"name": {"$ne": "ArchiveData"}}) == ["mid"]
    assert await found({"name": {"$in": ["ApplicationExport", "Nope"]}}) == ["mid"]
    assert await found({"name": {"$nin": ["ApplicationExport"]}}) == ["early", "late"]
    assert await found({"status": {"$eq": "completed"}}) == ["early"]
    # Dates compare as dates: an ISO string with an offset, or milliseconds.
    assert await found({"runQueuedAt": {"$gte": start.isoformat()}}) == ["mid", "late"]
    millis = int((base + timedelta(minutes=5)).timestamp() * 1000)
    assert await found({"runQueuedAt": {"$lte": millis}}) == ["early", "mid"]
    assert await found({"runQueuedAt": {"$gt": millis, "$lt": millis + 600_000}}) == ["late"]
    assert await found({"runQueuedAt": "2026-03-01T12:00:00Z"}) == ["early"]
    assert await found(
        {"$and": [{"name": "ArchiveData"}, {"runQueuedAt": {"$gte": start.isoformat()}}]}
    ) == ["late"]
    assert await found({"$or": [{"status": "completed"}, {"name": "ApplicationExport"}]}) == [
        "early",
        "mid",
    ]
    assert await found({"$nor": [{"name": "ApplicationExport"}]}) == ["early", "late"]
    assert await found({"name": {"$startsWith": "archive", "$ci": True}}) == ["early", "late"]
    assert await found({"id": ids["mid"]}) == ["mid"]
    assert await found({}) == ["early", "mid", "late"]


@pytest.mark.parametrize(
    "query",
    [
        "{not json",
        "[]",
        '"name"',
        json.dumps({"name": {"$regex": "x"}}),
        json.dumps({"id": "not-an-id"}),
        json.dumps({"$or": {"name": "x"}}),
        json.dumps({"runQueuedAt": {"$gt": "yesterday"}}),
    ],
)
async def test_job_logs_bad_query_is_400_validation(
    client: httpx.AsyncClient, app_id: str, query: str
) -> None:
    """A jobLogs query that is not JSON or fails the advanced query schema is 400 Validation."""
    response = await client.get(f"/applications/{app_id}/jobLogs", params={"query": query})
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "Validation"


async def test_stream_faults_apply_to_stream_opens(
    client: httpx.AsyncClient, local_server: LocalLosant, app_id: str
) -> None:
    """faults.fail on mqttSubscriptionStream answers the next N opens, then streams open again."""
    local_server.faults.fail("mqttSubscriptionStream", status=401, times=2, retry_after=1)
    url = f"/applications/{app_id}/mqttSubscriptionStream"
    statuses = []
    for _ in range(3):
        async with client.stream("GET", url, params={"topic": "f"}) as stream:
            statuses.append(stream.status_code)
            if stream.status_code != 200:
                await stream.aread()
                assert stream.json()["type"] == "Unauthorized"
    assert statuses == [401, 401, 200]
    local_server.faults.drop_stream(after_events=0, times=1)
    async with client.stream("GET", url, params={"topic": "f"}) as stream:
        assert stream.status_code == 200
        with anyio.fail_after(3):
            assert b"".join([chunk async for chunk in stream.aiter_bytes()]) == b""


def test_accept_version_ranges() -> None:
    """node-semver ranges are judged against 1.30.0 as node-semver would."""
    from losant_async.testing._versions import accepts

    for ok in ("", "*", "1", "1.30", "=1.30.0", "v1.30.0", "^1", "~1", "~1.30.0", "> 1.29.9"):
        assert accepts(ok), ok
    for ok in ("<=1.30", ">1.29", "1.29.0 - 1.30", ">=1.30.0 <1.31.0", "^0.1 || 1.30.x"):
        assert accepts(ok), ok
    for bad in ("^1.31.0", "~1.31", "2", "<1.30", ">1.30", "1.30.1", "^0.30.0", "1.a", "^"):
        assert not accepts(bad), bad


async def test_publish_encodes_a_non_str_message_as_the_client_does(
    local_server: LocalLosant, app_id: str
) -> None:
    """LocalLosant.publish sends bytes as UTF-8 text and other values as compact JSON text."""
    async with open_sse(local_server, app_id, {"topic": "enc/#"}) as stream:
        local_server.publish(app_id, "enc/bytes", "héllo".encode())
        local_server.publish(app_id, "enc/dict", {"on": True, "level": 3})
        local_server.publish(app_id, "enc/number", 21.5)
        events = await stream.read_blocks(3)
    assert [json.loads(e["data"])["message"] for e in events] == [
        "héllo",
        '{"on":true,"level":3}',
        "21.5",
    ]
    with pytest.raises(ValueError, match="UTF-8"):
        local_server.publish(app_id, "enc/bad", b"\xff")
    with pytest.raises(TypeError, match="JSON"):
        local_server.publish(app_id, "enc/nan", float("nan"))
