"""AsyncApplication: the exact wire of each of the 22 actions, and their decoding."""

from __future__ import annotations

import email
import email.message
import io
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import overload

import httpx
import pytest
import respx

from losant_async import (
    APIResponseValidationError,
    Application,
    ApplicationCloneDryRunResult,
    ApplicationClonePost,
    ApplicationCreationByTemplateResult,
    ApplicationExportPost,
    ApplicationExportResult,
    ApplicationGlobal,
    ApplicationImportExecution,
    ApplicationPatch,
    ApplicationReadme,
    ApplicationSearchResultItem,
    AsyncApplication,
    ClientClosedError,
    DeviceCounts,
    InternalServerError,
    JobHandle,
    MqttStream,
    NotebookMinuteCounts,
    PayloadCountsBreakdown,
    PayloadStats,
    RateLimitError,
    Success,
    UnprocessableEntityError,
)
from tests.conftest import APP_ID, BASE_URL, TOKEN

pytestmark = pytest.mark.anyio

APP_PATH = f"/applications/{APP_ID}"
DEFAULT_QUERY = [("_actions", "false"), ("_links", "true"), ("_embedded", "true")]
OTHER_ID = "575ed70c7ae143cd83dc4aa9"
JOB_ID = "clnHvJbyVkOWAZwYAwLP4"

APPLICATION = {
    "id": APP_ID,
    "applicationId": APP_ID,
    "creationDate": "2016-06-13T04:00:00.000Z",
    "lastUpdated": "2016-06-13T04:00:00.000Z",
    "ownerId": OTHER_ID,
    "ownerType": "user",
    "name": "My Application",
    "description": "The is the best application description",
    "summary": {"deviceCount": 2, "flowCount": 1, "webhookCount": 0, "eventCount": 0},
    "globals": [{"key": "keyHere", "json": '"my json data here"', "cloudOnly": True}],
    "blobUrlTTL": 86400,
    "_links": {"self": {"href": f"/applications/{APP_ID}"}},
}
JOB_ENQUEUED = {"jobQueued": True, "jobId": JOB_ID, "success": True}
SUCCESS = {"success": True}
README = {
    "applicationId": APP_ID,
    "lastUpdated": "2016-06-13T04:00:00.000Z",
    "lastUpdatedById": OTHER_ID,
    "lastUpdatedByType": "user",
    "content": "The readme content",
}
COUNTS_RANGE = {"start": "1999-05-20T05:00:00.000Z", "end": "1999-06-20T04:59:59.999Z"}
DEVICE_COUNTS = {
    **COUNTS_RANGE,
    "counts": [{"date": "1999-05-20T05:00:00.000Z", "created": 2, "deleted": 1, "total": 7}],
}
NOTEBOOK_COUNTS = {
    **COUNTS_RANGE,
    "counts": [
        {
            "date": "1999-05-20T05:00:00.000Z",
            "minutes": 3,
            "completed": 2,
            "canceled": 0,
            "errored": 1,
            "timeout": 0,
        }
    ],
}
BREAKDOWN = {**COUNTS_RANGE, "counts": [{"date": "1999-05-20T05:00:00.000Z", "value": 42}]}
PAYLOAD_STATS = {
    "deviceState": {"mqtt": 12, "rest": 3},
    "mqttIn": {"mqtt": 5},
    "webhook": {"webhook": 1},
}
IMPORT_LOGS = [
    {
        "id": "5d4b5f7e8f0a3c0001a1b2c3",
        "importSourceType": "importUrl",
        "applicationId": APP_ID,
        "runQueuedAt": "2016-06-13T04:00:00.000Z",
        "runStartedAt": "2016-06-13T04:00:01.000Z",
        "runCompletedAt": "2016-06-13T04:00:09.000Z",
        "status": "completed",
        "dryRun": False,
        "conflictBehavior": "create",
        "include": ["Flow", "Device"],
        "jobId": JOB_ID,
        "sourceId": OTHER_ID,
        "sourceType": "user",
        "importUrl": "https://storage.example.com/myZipFile.zip",
    }
]
SEARCH = [
    {"id": OTHER_ID, "name": "my device", "_type": "device", "deviceClass": "cloud"},
    {"id": APP_ID, "name": "my dashboard", "_type": "dashboard"},
]


@pytest.fixture
def app() -> AsyncApplication:
    """A standalone façade on the fake base URL."""
    return AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL)


@pytest.fixture
def idle_mock() -> Iterator[respx.MockRouter]:
    """A router whose catch-all route must stay unused (bad input never reaches HTTP)."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.route().respond(500)
        yield router
        assert not router.calls, "a request was sent"


def query_of(request: httpx.Request) -> list[tuple[str, str]]:
    return list(request.url.params.multi_items())


def json_of(request: httpx.Request) -> object:
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


def assert_common_headers(request: httpx.Request) -> None:
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["accept-version"] == "^1.30.0"


def multipart_of(request: httpx.Request) -> dict[str, tuple[str | None, str | None, bytes]]:
    """Parts of a multipart body: name -> (filename, content type, bytes)."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    message = email.message_from_bytes(raw)
    parts: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        ctype = part.get("content-type")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts[name] = (part.get_filename(), ctype, payload)
    return parts


def assert_handle(handle: object, action: str, sent_after: datetime) -> JobHandle:
    assert isinstance(handle, JobHandle)
    assert handle.job_id == JOB_ID
    assert handle.action == action
    assert handle.application_id == APP_ID
    assert handle.enqueued_at.tzinfo is not None
    assert sent_after <= handle.enqueued_at <= datetime.now(UTC)
    return handle


# -- the application itself ---------------------------------------------------------


async def test_get_sends_defaults_and_decodes_application(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """get() is GET /applications/{id} with only the default query, decoded to Application."""
    route = respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    async with app:
        result = await app.get()
    request = route.calls.last.request
    assert request.method == "GET"
    assert query_of(request) == DEFAULT_QUERY
    assert_common_headers(request)
    assert request.content == b""
    assert isinstance(result, Application)
    assert result.id == APP_ID
    assert result.name == "My Application"
    assert result.creation_date == datetime(2016, 6, 13, 4, tzinfo=UTC)
    assert result.blob_url_ttl == 86400
    assert result.globals is not None
    assert result.globals[0].cloud_only is True
    assert "_links" in result.extra


async def test_get_summary_lists_are_comma_separated(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """get() sends summaryExclude then summaryInclude after the defaults, lists joined by commas."""
    route = respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    await app.get(summary_include=["payloadCount", "deviceCount"], summary_exclude="flowCount")
    assert query_of(route.calls.last.request) == [
        *DEFAULT_QUERY,
        ("summaryExclude", "flowCount"),
        ("summaryInclude", "payloadCount,deviceCount"),
    ]
    await app.aclose()


async def test_patch_with_kwargs_sends_camel_case_body(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """patch(**fields) is PATCH /applications/{id} with a camelCase body, None fields omitted."""
    route = respx_mock.patch(APP_PATH).respond(200, json={**APPLICATION, "name": "Renamed"})
    result = await app.patch(
        name="Renamed", endpoint_slug="my-app", description=None, summary_include=["deviceCount"]
    )
    request = route.calls.last.request
    assert request.method == "PATCH"
    assert query_of(request) == [*DEFAULT_QUERY, ("summaryInclude", "deviceCount")]
    assert_common_headers(request)
    assert json_of(request) == {"name": "Renamed", "endpointSlug": "my-app"}
    assert isinstance(result, Application)
    assert result.name == "Renamed"
    await app.aclose()


@pytest.mark.parametrize(
    "body",
    [
        ApplicationPatch(name="Renamed", blob_url_ttl=3600),
        {"name": "Renamed", "blobUrlTTL": 3600},
    ],
    ids=["model", "mapping"],
)
async def test_patch_with_model_or_mapping(
    app: AsyncApplication, respx_mock: respx.MockRouter, body: object
) -> None:
    """patch() takes the body as a model or a camelCase mapping, with the same wire result."""
    route = respx_mock.patch(APP_PATH).respond(200, json=APPLICATION)
    await app.patch(body)  # type: ignore[arg-type]
    assert json_of(route.calls.last.request) == {"name": "Renamed", "blobUrlTTL": 3600}
    await app.aclose()


async def test_delete_decodes_success(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """delete() is DELETE /applications/{id} without a body, decoded to Success."""
    route = respx_mock.delete(APP_PATH).respond(200, json=SUCCESS)
    result = await app.delete()
    request = route.calls.last.request
    assert request.method == "DELETE"
    assert query_of(request) == DEFAULT_QUERY
    assert request.content == b""
    assert_common_headers(request)
    assert result == Success(success=True)
    await app.aclose()


async def test_globals_sends_a_json_array(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """globals(items) PATCHes /globals with a camelCase array from models and mappings."""
    route = respx_mock.patch(f"{APP_PATH}/globals").respond(200, json=APPLICATION)
    result = await app.globals(
        [
            ApplicationGlobal(key="keyHere", json='"my json data here"', cloud_only=True),
            {"key": "anotherKey", "json": '"more json"', "cloudOnly": False},
        ]
    )
    request = route.calls.last.request
    assert query_of(request) == DEFAULT_QUERY
    assert json_of(request) == [
        {"key": "keyHere", "json": '"my json data here"', "cloudOnly": True},
        {"key": "anotherKey", "json": '"more json"', "cloudOnly": False},
    ]
    assert isinstance(result, Application)
    await app.aclose()


async def test_readme_and_readme_patch(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """readme() GETs /readme; readme_patch(content) PATCHes it with {"content": ...}."""
    get_route = respx_mock.get(f"{APP_PATH}/readme").respond(200, json=README)
    patch_route = respx_mock.patch(f"{APP_PATH}/readme").respond(
        200, json={**README, "content": "new"}
    )
    readme = await app.readme()
    patched = await app.readme_patch("new")
    assert query_of(get_route.calls.last.request) == DEFAULT_QUERY
    assert get_route.calls.last.request.content == b""
    assert json_of(patch_route.calls.last.request) == {"content": "new"}
    assert isinstance(readme, ApplicationReadme)
    assert readme.content == "The readme content"
    assert readme.last_updated_by_type == "user"
    assert readme.last_updated == datetime(2016, 6, 13, 4, tzinfo=UTC)
    assert patched.content == "new"
    await app.aclose()


async def test_search_decodes_items_with_type(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """search(filter) sends filter= and decodes a list, `_type` read as `type`."""
    route = respx_mock.get(f"{APP_PATH}/search").respond(200, json=SEARCH)
    result = await app.search("my dev")
    assert query_of(route.calls.last.request) == [*DEFAULT_QUERY, ("filter", "my dev")]
    assert [type(item) for item in result] == [ApplicationSearchResultItem] * 2
    assert [item.type for item in result] == ["device", "dashboard"]
    assert result[0].name == "my device"
    await app.aclose()


# -- counts ---------------------------------------------------------------------------

START = datetime(2024, 1, 1, tzinfo=UTC)
START_MS = "1704067200000"


async def test_device_counts_times_as_ms(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """device_counts() sends start/end as ms since the epoch (datetime or number)."""
    route = respx_mock.get(f"{APP_PATH}/deviceCounts").respond(200, json=DEVICE_COUNTS)
    result = await app.device_counts(start=START, end=1465790400000)
    assert query_of(route.calls.last.request) == [
        *DEFAULT_QUERY,
        ("start", START_MS),
        ("end", "1465790400000"),
    ]
    assert isinstance(result, DeviceCounts)
    assert result.counts is not None
    assert result.counts[0].total == 7
    assert result.start == datetime(1999, 5, 20, 5, tzinfo=UTC)
    await app.aclose()


async def test_device_counts_without_range_sends_only_defaults(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """device_counts() without arguments adds nothing to the default query."""
    route = respx_mock.get(f"{APP_PATH}/deviceCounts").respond(200, json=DEVICE_COUNTS)
    await app.device_counts()
    assert query_of(route.calls.last.request) == DEFAULT_QUERY
    await app.aclose()


async def test_notebook_minute_counts(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """notebook_minute_counts() GETs /notebookMinuteCounts and decodes NotebookMinuteCounts."""
    route = respx_mock.get(f"{APP_PATH}/notebookMinuteCounts").respond(200, json=NOTEBOOK_COUNTS)
    naive = datetime(2024, 1, 1)  # naive means UTC
    result = await app.notebook_minute_counts(start=naive, end=START + timedelta(days=1))
    assert query_of(route.calls.last.request) == [
        *DEFAULT_QUERY,
        ("start", START_MS),
        ("end", "1704153600000"),
    ]
    assert isinstance(result, NotebookMinuteCounts)
    assert result.counts is not None
    assert result.counts[0].minutes == 3
    await app.aclose()


async def test_payload_counts(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """payload_counts() sends start, end, asBytes in order and decodes PayloadStats."""
    route = respx_mock.get(f"{APP_PATH}/payloadCounts").respond(200, json=PAYLOAD_STATS)
    result = await app.payload_counts(start=1465790400000, end=0, as_bytes=True)
    assert query_of(route.calls.last.request) == [
        *DEFAULT_QUERY,
        ("start", "1465790400000"),
        ("end", "0"),
        ("asBytes", "true"),
    ]
    assert isinstance(result, PayloadStats)
    assert result.device_state == {"mqtt": 12, "rest": 3}
    await app.aclose()


async def test_payload_counts_breakdown(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """payload_counts_breakdown() sends its five parameters in spec order."""
    route = respx_mock.get(f"{APP_PATH}/payloadCountsBreakdown").respond(200, json=BREAKDOWN)
    result = await app.payload_counts_breakdown(
        start=0, end=START, resolution=3600000, as_bytes=False, include_non_billable=True
    )
    assert query_of(route.calls.last.request) == [
        *DEFAULT_QUERY,
        ("start", "0"),
        ("end", START_MS),
        ("resolution", "3600000"),
        ("asBytes", "false"),
        ("includeNonBillable", "true"),
    ]
    assert isinstance(result, PayloadCountsBreakdown)
    assert result.counts is not None
    assert result.counts[0].value == 42
    await app.aclose()


async def test_import_logs(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """import_logs() sends limit and since, and decodes a list of executions."""
    route = respx_mock.get(f"{APP_PATH}/importLogs").respond(200, json=IMPORT_LOGS)
    result = await app.import_logs(limit=10, since=1465790400000)
    assert query_of(route.calls.last.request) == [
        *DEFAULT_QUERY,
        ("limit", "10"),
        ("since", "1465790400000"),
    ]
    assert len(result) == 1
    entry = result[0]
    assert isinstance(entry, ApplicationImportExecution)
    assert entry.job_id == JOB_ID
    assert entry.status == "completed"
    assert entry.run_completed_at == datetime(2016, 6, 13, 4, 0, 9, tzinfo=UTC)
    await app.aclose()


# -- jobs -------------------------------------------------------------------------------


async def test_apply_template_200_and_202(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """apply_template() PATCHes /applyTemplate; 200 gives Application, 202 a JobHandle."""
    route = respx_mock.patch(f"{APP_PATH}/applyTemplate")
    route.side_effect = [
        httpx.Response(200, json=APPLICATION),
        httpx.Response(202, json=JOB_ENQUEUED),
    ]
    result = await app.apply_template(template_id=OTHER_ID, email="email@example.com")
    assert isinstance(result, Application)
    before = datetime.now(UTC)
    handle = await app.apply_template({"templateId": OTHER_ID})
    assert_handle(handle, "applyTemplate", before)
    first, second = route.calls
    assert query_of(first.request) == DEFAULT_QUERY
    assert json_of(first.request) == {"templateId": OTHER_ID, "email": "email@example.com"}
    assert json_of(second.request) == {"templateId": OTHER_ID}
    await app.aclose()


async def test_enqueued_at_is_taken_before_sending(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """A JobHandle's enqueued_at is no later than the moment the request reached the server."""
    arrived: list[datetime] = []

    def answer(request: httpx.Request) -> httpx.Response:
        arrived.append(datetime.now(UTC))
        return httpx.Response(202, json=JOB_ENQUEUED)

    respx_mock.get(f"{APP_PATH}/fullEventsArchive").mock(side_effect=answer)
    handle = await app.full_events_archive()
    assert handle.enqueued_at <= arrived[0]
    await app.aclose()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"success": True, "requiresJob": False}, ApplicationCloneDryRunResult),
        (201, {"application": APPLICATION}, ApplicationCreationByTemplateResult),
    ],
)
async def test_clone_decodes_each_status(
    app: AsyncApplication,
    respx_mock: respx.MockRouter,
    status: int,
    body: object,
    expected: type,
) -> None:
    """clone() decodes 200 as the dry-run result and 201 as the creation result."""
    respx_mock.post(f"{APP_PATH}/clone").respond(status, json=body)
    result = await app.clone()
    assert type(result) is expected
    if isinstance(result, ApplicationCreationByTemplateResult):
        assert result.application is not None
        assert result.application.name == "My Application"
    await app.aclose()


async def test_clone_without_options_sends_empty_object(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """clone() without options POSTs `{}` and turns a 202 into a JobHandle."""
    route = respx_mock.post(f"{APP_PATH}/clone").respond(202, json=JOB_ENQUEUED)
    before = datetime.now(UTC)
    handle = await app.clone()
    request = route.calls.last.request
    assert query_of(request) == DEFAULT_QUERY
    assert json_of(request) == {}
    assert_handle(handle, "clone", before)
    await app.aclose()


async def test_clone_with_model(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """clone(model) sends the model's camelCase fields."""
    route = respx_mock.post(f"{APP_PATH}/clone").respond(202, json=JOB_ENQUEUED)
    await app.clone(
        ApplicationClonePost(
            include_files=True, include_devices=True, owner_type="organization", owner_id=OTHER_ID
        )
    )
    assert json_of(route.calls.last.request) == {
        "includeFiles": True,
        "includeDevices": True,
        "ownerType": "organization",
        "ownerId": OTHER_ID,
    }
    await app.aclose()


async def test_clone_422_raises_with_validation_errors(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """clone() answered 422 raises UnprocessableEntityError carrying validationErrors."""
    body = {
        "type": "Validation",
        "message": "Too many validation errors occurred.",
        "validationErrors": [{"type": "Flow", "name": "f", "id": OTHER_ID, "message": "bad"}],
    }
    route = respx_mock.post(f"{APP_PATH}/clone").respond(422, json=body)
    with pytest.raises(UnprocessableEntityError) as info:
        await app.clone()
    assert info.value.validation_errors[0]["name"] == "f"
    assert route.call_count == 1
    await app.aclose()


async def test_export_200_and_202(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """export() POSTs /export; 200 gives ApplicationExportResult, 202 a JobHandle."""
    route = respx_mock.post(f"{APP_PATH}/export")
    route.side_effect = [
        httpx.Response(200, json={"url": "https://example.com/applicationExport.zip"}),
        httpx.Response(202, json=JOB_ENQUEUED),
    ]
    result = await app.export(include_files=True, include_devices=True, email="test@example.com")
    assert result == ApplicationExportResult(url="https://example.com/applicationExport.zip")
    before = datetime.now(UTC)
    handle = await app.export(ApplicationExportPost(force_job=True))
    assert_handle(handle, "export", before)
    first, second = route.calls
    assert json_of(first.request) == {
        "includeFiles": True,
        "includeDevices": True,
        "email": "test@example.com",
    }
    assert json_of(second.request) == {"forceJob": True}
    await app.aclose()


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [
        ("backfill_archive_data", "/backfillArchiveData", "backfillArchiveData"),
        ("full_data_tables_archive", "/fullDataTablesArchive", "fullDataTablesArchive"),
        ("full_events_archive", "/fullEventsArchive", "fullEventsArchive"),
    ],
)
async def test_archive_jobs_without_arguments(
    app: AsyncApplication, respx_mock: respx.MockRouter, method: str, path: str, action: str
) -> None:
    """The argument-less archive actions GET their path and return a JobHandle."""
    route = respx_mock.get(APP_PATH + path).respond(202, json=JOB_ENQUEUED)
    before = datetime.now(UTC)
    handle = await getattr(app, method)()
    request = route.calls.last.request
    assert query_of(request) == DEFAULT_QUERY
    assert request.content == b""
    assert_common_headers(request)
    assert_handle(handle, action, before)
    await app.aclose()


async def test_archive_data_sends_date_ms(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """archive_data(date) GETs /archiveData?date=<ms> and returns a JobHandle."""
    route = respx_mock.get(f"{APP_PATH}/archiveData").respond(202, json=JOB_ENQUEUED)
    before = datetime.now(UTC)
    handle = await app.archive_data(START)
    assert query_of(route.calls.last.request) == [*DEFAULT_QUERY, ("date", START_MS)]
    assert_handle(handle, "archiveData", before)
    await app.aclose()


async def test_import_bytes_is_multipart(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """import_(bytes, email=, options=) POSTs a multipart body: bundle.zip, email, options JSON."""
    route = respx_mock.post(f"{APP_PATH}/import").respond(202, json=JOB_ENQUEUED)
    before = datetime.now(UTC)
    handle = await app.import_(
        b"PK\x03\x04zip",
        email="email@example.com",
        options={"conflictBehavior": "replace", "include": ["Flow", "Device"]},
    )
    request = route.calls.last.request
    assert query_of(request) == DEFAULT_QUERY
    assert_common_headers(request)
    parts = multipart_of(request)
    assert set(parts) == {"importBundle", "email", "options"}
    assert parts["importBundle"][0] == "bundle.zip"
    assert parts["importBundle"][2] == b"PK\x03\x04zip"
    assert parts["email"][2] == b"email@example.com"
    assert json.loads(parts["options"][2]) == {
        "conflictBehavior": "replace",
        "include": ["Flow", "Device"],
    }
    assert_handle(handle, "import", before)
    await app.aclose()


async def test_import_path_sends_file_name(
    app: AsyncApplication, respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """import_(path) sends the file under its own name and decodes a 200 as Application."""
    bundle = tmp_path / "my-export.zip"
    bundle.write_bytes(b"PK\x05\x06" + bytes(18))
    route = respx_mock.post(f"{APP_PATH}/import").respond(200, json=APPLICATION)
    result = await app.import_(bundle)
    parts = multipart_of(route.calls.last.request)
    assert parts["importBundle"][0] == "my-export.zip"
    assert parts["importBundle"][2] == b"PK\x05\x06" + bytes(18)
    assert isinstance(result, Application)
    await app.aclose()


async def test_import_file_object_and_no_bundle(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """import_(file) uses its base name; import_() without a bundle is still multipart."""
    route = respx_mock.post(f"{APP_PATH}/import").respond(200, json=APPLICATION)
    fileobj = io.BytesIO(b"zipdata")
    fileobj.name = "/somewhere/else/bundle-2.zip"
    await app.import_(fileobj)
    assert multipart_of(route.calls.last.request)["importBundle"][0] == "bundle-2.zip"
    await app.import_(options={"importUrl": "https://storage.example.com/myZipFile.zip"})
    parts = multipart_of(route.calls.last.request)
    assert set(parts) == {"options"}
    assert json.loads(parts["options"][2]) == {
        "importUrl": "https://storage.example.com/myZipFile.zip"
    }
    await app.aclose()


# -- MQTT -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        ("The MQTT message!", "The MQTT message!"),
        ({"temp": 21, "ok": True}, '{"temp":21,"ok":true}'),
        ([1, 2.5, None], "[1,2.5,null]"),
        (b"raw bytes", "raw bytes"),
    ],
    ids=["str", "dict", "list", "bytes"],
)
async def test_mqtt_publish_message_encodes_message(
    app: AsyncApplication, respx_mock: respx.MockRouter, message: object, wire: str
) -> None:
    """mqtt_publish_message sends a str as is and JSON-encodes other values."""
    route = respx_mock.post(f"{APP_PATH}/mqttPublishMessage").respond(200, json=SUCCESS)
    result = await app.mqtt_publish_message("an/mqtt/topic", message)
    request = route.calls.last.request
    assert query_of(request) == DEFAULT_QUERY
    assert_common_headers(request)
    assert json_of(request) == {"topic": "an/mqtt/topic", "message": wire}
    assert result == Success(success=True)
    await app.aclose()


async def test_mqtt_subscription_stream_is_not_awaited(
    app: AsyncApplication, idle_mock: respx.MockRouter
) -> None:
    """mqtt_subscription_stream() returns an unopened MqttStream without sending anything."""
    stream = app.mqtt_subscription_stream("devices/+/state", keep_alive_interval=1)
    assert isinstance(stream, MqttStream)
    assert TOKEN not in repr(stream)
    await app.aclose()


# -- retry policy per action ------------------------------------------------------------


async def test_safe_action_retries_5xx(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """get() is retried after a 503 (safe to repeat)."""
    route = respx_mock.get(APP_PATH)
    route.side_effect = [httpx.Response(503, json={}), httpx.Response(200, json=APPLICATION)]
    result = await app.get()
    assert route.call_count == 2
    assert result.id == APP_ID
    await app.aclose()


@pytest.mark.parametrize(
    ("method", "http", "path", "args"),
    [
        ("export", "POST", "/export", ()),
        ("clone", "POST", "/clone", ()),
        ("backfill_archive_data", "GET", "/backfillArchiveData", ()),
        ("mqtt_publish_message", "POST", "/mqttPublishMessage", ("t", "m")),
    ],
)
async def test_enqueue_actions_never_retry_5xx(
    app: AsyncApplication,
    respx_mock: respx.MockRouter,
    method: str,
    http: str,
    path: str,
    args: tuple[object, ...],
) -> None:
    """Job-enqueuing actions and publish are not repeated after a 5xx: the server may have acted."""
    route = respx_mock.route(method=http, path=APP_PATH + path).respond(503, json={})
    with pytest.raises(InternalServerError):
        await getattr(app, method)(*args)
    assert route.call_count == 1
    await app.aclose()


async def test_enqueue_actions_retry_429(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """A 429 on export is retried: the server refused and did nothing."""
    route = respx_mock.post(f"{APP_PATH}/export")
    route.side_effect = [
        httpx.Response(429, json={"type": "RateLimit", "message": "slow down"}),
        httpx.Response(202, json=JOB_ENQUEUED),
    ]
    handle = await app.export()
    assert isinstance(handle, JobHandle)
    assert route.call_count == 2
    await app.aclose()


async def test_max_retries_zero_surfaces_first_429(respx_mock: respx.MockRouter) -> None:
    """With max_retries=0 the first 429 is raised as RateLimitError."""
    route = respx_mock.get(APP_PATH).respond(429, json={}, headers={"Retry-After": "3"})
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL, max_retries=0) as app:
        with pytest.raises(RateLimitError) as info:
            await app.get()
    assert info.value.retry_after == 3.0
    assert route.call_count == 1


# -- bad input never reaches the wire ---------------------------------------------------


@pytest.mark.parametrize(
    "bad_id", ["", "575ec8687ae143cd83dc4a9", "575ec8687ae143cd83dc4a97a", "z" * 24]
)
def test_bad_application_id_is_value_error(bad_id: str) -> None:
    """A str id that is not exactly 24 hex characters raises ValueError at construction."""
    with pytest.raises(ValueError, match="application"):
        AsyncApplication(bad_id, token=TOKEN, base_url=BASE_URL)


@pytest.mark.parametrize("bad_id", [None, 575, b"575ec8687ae143cd83dc4a97"])
def test_non_str_application_id_is_type_error(bad_id: object) -> None:
    """A non-str id raises TypeError at construction."""
    with pytest.raises(TypeError):
        AsyncApplication(bad_id, token=TOKEN, base_url=BASE_URL)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda a: a.apply_template(), (TypeError, ValueError), "template_id|templateId"),
        (lambda a: a.apply_template(template_id="nothex"), ValueError, "template_id|templateId"),
        (lambda a: a.clone(owner_type="martian"), ValueError, "owner_type|ownerType"),
        (lambda a: a.export(export_type="tar"), ValueError, "export_type|exportType"),
        (lambda a: a.patch(name="x" * 256), ValueError, "name"),
        (lambda a: a.patch(colour="red"), TypeError, "colour"),
        (lambda a: a.patch({"name": "x"}, name="y"), TypeError, None),
        (lambda a: a.readme_patch("x" * 131073), ValueError, "content"),
        (lambda a: a.mqtt_publish_message("", "m"), ValueError, "topic"),
        (lambda a: a.mqtt_publish_message("t" * 231, "m"), ValueError, "topic"),
        (lambda a: a.mqtt_publish_message("t", "m" * 32768), ValueError, "message"),
        (lambda a: a.mqtt_publish_message("t", {1, 2}), TypeError, "message"),
        (lambda a: a.mqtt_publish_message(5, "m"), TypeError, "topic"),
        (lambda a: a.globals([{"json": '"v"'}]), (TypeError, ValueError), "key"),
        (lambda a: a.globals({"key": "k"}), TypeError, "items"),
        (lambda a: a.search(""), ValueError, "filter"),
        (lambda a: a.payload_counts_breakdown(resolution=60000), ValueError, "resolution"),
        (lambda a: a.payload_counts(as_bytes="yes"), TypeError, "as_bytes"),
        (lambda a: a.import_logs(limit=0), ValueError, "limit"),
        (lambda a: a.device_counts(start="yesterday"), TypeError, None),
        (lambda a: a.archive_data("2024-01-01"), TypeError, None),
        (lambda a: a.import_(options={"conflictBehavior": "merge"}), ValueError, "conflict"),
        (lambda a: a.import_("/nonexistent/bundle.zip"), FileNotFoundError, None),
    ],
)
async def test_bad_input_raises_before_any_request(
    app: AsyncApplication,
    idle_mock: respx.MockRouter,
    call: object,
    error: type[Exception] | tuple[type[Exception], ...],
    match: str | None,
) -> None:
    """Invalid arguments (required, enum, length, unknown kwarg, type) raise with no request."""
    with pytest.raises(error, match=match):
        await call(app)  # type: ignore[operator]
    await app.aclose()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"topic": ""}, ValueError),
        ({"topic": 7}, TypeError),
        ({"topic": "t", "keep_alive_interval": 0}, ValueError),
        ({"topic": "t", "keep_alive_interval": "2"}, ValueError),
        ({"topic": "t", "keep_alive_interval": 0.5}, ValueError),
        ({"topic": "t", "max_reconnects": -1}, ValueError),
        ({"topic": "t", "backoff_initial": -0.5}, ValueError),
    ],
)
async def test_bad_stream_arguments_raise_at_once(
    app: AsyncApplication, idle_mock: respx.MockRouter, kwargs: dict[str, object], error: type
) -> None:
    """mqtt_subscription_stream checks topic and timings when called, before connecting."""
    options = dict(kwargs)
    topic = options.pop("topic")
    with pytest.raises(error):
        app.mqtt_subscription_stream(topic, **options)  # type: ignore[arg-type]
    await app.aclose()


# -- lifecycle, handles, reprs --------------------------------------------------------


async def test_facade_is_entered_once_like_the_client(idle_mock: respx.MockRouter) -> None:
    """A second `async with` on an open façade raises RuntimeError, as on AsyncLosant."""
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        with pytest.raises(RuntimeError, match="already open"):
            async with app:
                pass
        assert not app.is_closed
    assert app.is_closed


async def test_closed_application_raises_without_request(idle_mock: respx.MockRouter) -> None:
    """A closed standalone façade raises ClientClosedError and sends nothing."""
    app = AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL)
    async with app:
        pass
    await app.aclose()
    assert app.is_closed
    with pytest.raises(ClientClosedError):
        await app.get()
    with pytest.raises(ClientClosedError):
        app.mqtt_subscription_stream("t")
    with pytest.raises(ClientClosedError):
        async with app:
            pass


async def test_caller_http_client_is_not_closed(respx_mock: respx.MockRouter) -> None:
    """A standalone façade uses a caller's http_client and leaves it open."""
    route = respx_mock.get(f"{APP_PATH}/readme").respond(200, json=README)
    async with httpx.AsyncClient() as http_client:
        async with AsyncApplication(
            APP_ID, token=TOKEN, base_url=BASE_URL, http_client=http_client
        ) as app:
            await app.readme()
        assert not http_client.is_closed
    assert route.call_count == 1


async def test_environment_supplies_token_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without arguments the token and base URL come from LOSANT_API_TOKEN / LOSANT_API_URL."""
    monkeypatch.setenv("LOSANT_API_TOKEN", "env_token_77")
    monkeypatch.setenv("LOSANT_API_URL", "https://env.losant.test/")
    with respx.mock(base_url="https://env.losant.test", assert_all_called=True) as router:
        route = router.get(APP_PATH).respond(200, json=APPLICATION)
        async with AsyncApplication(APP_ID, timeout=3.0) as app:
            await app.get()
    assert route.calls.last.request.headers["authorization"] == "Bearer env_token_77"


def test_job_recreates_a_handle(app: AsyncApplication) -> None:
    """job() rebuilds a JobHandle; a naive enqueued_at is taken as UTC, a bad action refused."""
    handle = app.job(JOB_ID, "export", enqueued_at=datetime(2024, 1, 1, 12))
    assert isinstance(handle, JobHandle)
    assert (handle.job_id, handle.action, handle.application_id) == (JOB_ID, "export", APP_ID)
    assert handle.enqueued_at == datetime(2024, 1, 1, 12, tzinfo=UTC)
    now = app.job(JOB_ID, "import").enqueued_at
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5
    with pytest.raises(ValueError, match="action"):
        app.job(JOB_ID, "explode")
    with pytest.raises(TypeError):
        app.job("", "export")


def test_repr_has_no_token(app: AsyncApplication) -> None:
    """The façade's repr shows the id and URL, never the token."""
    text = repr(app)
    assert APP_ID in text
    assert BASE_URL in text
    assert TOKEN not in text
    assert TOKEN not in repr(app.job(JOB_ID, "clone"))


# -- typed keywords and the overloads a flag decides (issue 13) -------------------


async def test_force_job_keyword_gives_a_handle(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """export/clone(force_job=True) send forceJob and return the JobHandle of the 202."""
    export = respx_mock.post(f"{APP_PATH}/export").respond(202, json=JOB_ENQUEUED)
    clone = respx_mock.post(f"{APP_PATH}/clone").respond(202, json=JOB_ENQUEUED)
    exported = await app.export(force_job=True, include_files=True)
    cloned = await app.clone(force_job=True)
    assert isinstance(exported, JobHandle)
    assert (exported.action, exported.job_id) == ("export", JOB_ID)
    assert isinstance(cloned, JobHandle)
    assert cloned.action == "clone"
    assert json.loads(export.calls.last.request.content) == {"forceJob": True, "includeFiles": True}
    assert json.loads(clone.calls.last.request.content) == {"forceJob": True}
    await app.aclose()


@pytest.mark.parametrize(
    ("action", "status", "body"),
    [
        ("export", 200, {"url": "https://files.example/export.zip"}),
        ("clone", 201, {"application": APPLICATION}),
    ],
)
async def test_forced_job_not_accepted_raises(
    app: AsyncApplication, respx_mock: respx.MockRouter, action: str, status: int, body: object
) -> None:
    """A force_job=True call answered without 202 raises, rather than break its JobHandle type."""
    respx_mock.post(f"{APP_PATH}/{action}").respond(status, json=body)
    call = app.export(force_job=True) if action == "export" else app.clone(force_job=True)
    with pytest.raises(APIResponseValidationError, match=f"answered {status}, not 202") as info:
        await call
    assert info.value.status_code == status
    await app.aclose()


async def test_dry_run_keyword_gives_the_dry_run_result(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """clone(dry_run=True) returns the dry-run result, even with force_job=True beside it."""
    route = respx_mock.post(f"{APP_PATH}/clone").respond(
        200, json={"success": True, "requiresJob": True}
    )
    result = await app.clone(dry_run=True, force_job=True)
    assert isinstance(result, ApplicationCloneDryRunResult)
    assert result.requires_job is True
    assert json.loads(route.calls.last.request.content) == {"dryRun": True, "forceJob": True}
    await app.aclose()


@pytest.mark.parametrize(("status", "body"), [(201, {"application": {}}), (202, JOB_ENQUEUED)])
async def test_dry_run_not_answered_200_raises(
    app: AsyncApplication, respx_mock: respx.MockRouter, status: int, body: object
) -> None:
    """A dry run answered 201 or 202 raises, rather than return what its type rules out."""
    respx_mock.post(f"{APP_PATH}/clone").respond(status, json=body)
    with pytest.raises(APIResponseValidationError, match=f"dry_run=True answered {status}"):
        await app.clone(dry_run=True)
    with pytest.raises(APIResponseValidationError, match=f"answered {status}"):
        await app.clone({"dryRun": True})
    await app.aclose()


async def test_unknown_keywords_raise_before_any_request(
    app: AsyncApplication, idle_mock: respx.MockRouter
) -> None:
    """A misspelt keyword of a body-taking action is a TypeError before anything is sent."""
    cases = [
        app.patch(nme="x"),  # type: ignore[call-arg]
        app.export(inclde_files=True),  # type: ignore[call-overload]
        app.export(force_job=True, inclde_files=True),  # type: ignore[call-overload]
        app.clone(dry_rum=True),  # type: ignore[call-overload]
        app.clone(dry_run=True, ownr_id=OTHER_ID),  # type: ignore[call-overload]
        app.apply_template(template_id=OTHER_ID, mail="a@b.co"),  # type: ignore[call-overload]
    ]
    for call in cases:
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            await call
    with pytest.raises(TypeError, match="not both"):
        await app.export(ApplicationExportPost(), force_job=True)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="template_id is required"):
        await app.apply_template(email="a@b.co")  # type: ignore[call-overload]
    await app.aclose()


class _Globals(Sequence[object]):
    """A sequence that is neither a list nor a tuple."""

    def __init__(self, *items: object) -> None:
        self._items = list(items)

    @overload
    def __getitem__(self, index: int) -> object: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[object]: ...
    def __getitem__(self, index: int | slice) -> object:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)


async def test_list_keyword_takes_any_sequence(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """A list field given as any sequence (the keyword's type) of models or mappings is sent."""
    route = respx_mock.patch(APP_PATH).respond(200, json=APPLICATION)
    await app.patch(
        globals=_Globals({"key": "a", "json": "1"}, ApplicationGlobal(key="b", json="2"))
    )
    assert json.loads(route.calls.last.request.content) == {
        "globals": [{"key": "a", "json": "1"}, {"key": "b", "json": "2"}]
    }
    await app.aclose()
