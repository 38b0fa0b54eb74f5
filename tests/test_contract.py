"""Black-box acceptance tests: one small test per statement of the public contract.

Every test cites the section of ``shared/API.md`` it pins. Only the public
surface is used: ``losant_async``, ``losant_async.testing``, httpx, respx,
pytest and anyio. Wire-level statements use respx; behaviour over real HTTP
uses the local Losant.
"""

from __future__ import annotations

import contextlib
import email
import email.message
import email.utils
import inspect
import io
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

import losant_async
from losant_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    Application,
    ApplicationCloneDryRunResult,
    ApplicationCreationByTemplateResult,
    ApplicationExportPost,
    ApplicationExportResult,
    ApplicationGlobal,
    ApplicationImportExecution,
    ApplicationPatch,
    ApplicationReadme,
    ApplicationSearchResultItem,
    AsyncApplication,
    AsyncLosant,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeviceCounts,
    InternalServerError,
    JobAmbiguousError,
    JobFailedError,
    JobHandle,
    JobOutcome,
    JobProgress,
    LosantError,
    MqttMessage,
    MqttStream,
    NotebookMinuteCounts,
    NotFoundError,
    PayloadCountsBreakdown,
    PayloadStats,
    PermissionDeniedError,
    RateLimitError,
    Success,
    TooLargeError,
    UnprocessableEntityError,
)
from losant_async.testing import LocalLosant
from tests.conftest import APP_ID, BASE_URL, TOKEN

APP_PATH = f"/applications/{APP_ID}"
DEFAULT_QUERY = "_actions=false&_links=true&_embedded=true"
JOB_ID = "65a1b2c3d4e5f60718293a4b"
ENQUEUED = {"jobQueued": True, "jobId": JOB_ID, "success": True}
APPLICATION = {
    "id": APP_ID,
    "applicationId": APP_ID,
    "name": "My Application",
    "ownerType": "user",
    "creationDate": "2016-06-13T04:00:00.000Z",
    "blobUrlTTL": 86400,
}
SSE = {"content-type": "text/event-stream"}

Call = Callable[[AsyncApplication], Awaitable[object]]


def _mqtt(topic: str, message: str, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    data = json.dumps({"topic": topic, "message": message})
    return f"{head}event: mqttMessage\ndata: {data}\n\n".encode()


def _app(**kwargs: Any) -> AsyncApplication:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("base_url", BASE_URL)
    return AsyncApplication(APP_ID, **kwargs)


def _multipart(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """Parts of a multipart body: name -> (filename, bytes)."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    message = email.message_from_bytes(raw)
    parts: dict[str, tuple[str | None, bytes]] = {}
    payload = message.get_payload()
    for part in payload if isinstance(payload, list) else []:
        assert isinstance(part, email.message.Message)
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        parts[name] = (part.get_filename(), data)
    return parts


def _open_rb(file: Path | int) -> io.BufferedReader:
    return open(file, "rb")


async def _drain(stream: MqttStream, into: list[MqttMessage]) -> None:
    async for message in stream:
        into.append(message)


async def _drain_progress(handle: JobHandle) -> None:
    async with contextlib.aclosing(handle.progress(poll_interval=0.01)) as updates:
        async for _ in updates:
            pass


# -- Details: Imports ---------------------------------------------------------------

PUBLIC_NAMES = [
    "AsyncLosant",
    "AsyncApplication",
    "MqttStream",
    "MqttMessage",
    "JobHandle",
    "JobOutcome",
    "JobProgress",
    "LosantError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "TooLargeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "APIConnectionError",
    "APITimeoutError",
    "JobFailedError",
    "JobAmbiguousError",
    "APIResponseValidationError",
    "Application",
    "ApplicationPatch",
    "ApplicationApplyTemplatePatch",
    "ApplicationClonePost",
    "ApplicationCloneDryRunResult",
    "ApplicationCreationByTemplateResult",
    "ApplicationExportPost",
    "ApplicationExportResult",
    "ApplicationGlobal",
    "ApplicationImportExecution",
    "ApplicationImportOptions",
    "ImportIntoApplicationOptions",
    "ApplicationJobLog",
    "ApplicationJobLogs",
    "ApplicationReadme",
    "ApplicationReadmePatch",
    "ApplicationSearchResultItem",
    "DeviceCounts",
    "Error",
    "JobEnqueuedResult",
    "NotebookMinuteCounts",
    "PayloadCountsBreakdown",
    "PayloadStats",
    "Success",
    "ValidationErrors",
]


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_importable(name: str) -> None:
    """Details/Imports: every public name is importable from losant_async and listed in __all__."""
    assert name in losant_async.__all__
    assert getattr(losant_async, name) is not None


def test_error_tree() -> None:
    """Errors: LosantError is the root; status errors subclass APIStatusError; timeout is a
    connection error."""
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        TooLargeError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)
    assert issubclass(APITimeoutError, APIConnectionError)
    for other in (
        APIStatusError,
        APIConnectionError,
        APIResponseValidationError,
        JobFailedError,
        JobAmbiguousError,
    ):
        assert issubclass(other, LosantError)


# -- Details: Construction ------------------------------------------------------------


def test_client_signature() -> None:
    """Details/Construction: AsyncLosant(token=None, *, base_url=None, timeout=Timeout(30,
    connect=5), max_retries=2, http_client=None)."""
    params = inspect.signature(AsyncLosant).parameters
    assert list(params)[:5] == ["token", "base_url", "timeout", "max_retries", "http_client"]
    assert params["token"].default is None
    assert params["token"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    for name in list(params)[1:]:
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["base_url"].default is None
    assert params["timeout"].default == httpx.Timeout(30.0, connect=5.0)
    assert params["max_retries"].default == 2
    assert params["http_client"].default is None
    # Client and façade: accept_version= and losant_domain= (issue 10).
    assert params["accept_version"].default == "^1.30.0"
    assert params["losant_domain"].default is None


def test_application_signature() -> None:
    """Details/Construction: AsyncApplication(application_id, **same keyword arguments)."""
    params = inspect.signature(AsyncApplication).parameters
    client = inspect.signature(AsyncLosant).parameters
    assert list(params) == ["application_id", *client]
    for name in client:
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default == client[name].default


BAD_ID_VALUES = [
    "575ec8687ae143cd83dc4a9",  # 23
    "575ec8687ae143cd83dc4a970",  # 25
    "575ec8687ae143cd83dc4a9g",  # not hex
    "575ec8687ae143cd83dc4a9\u0661",  # ARABIC-INDIC DIGIT ONE: a digit, not ASCII
    "575ec8687ae143cd83dc4a9\uff11",  # FULLWIDTH DIGIT ONE
    "575ec8687ae143cd83dc4a97\n",
    " 575ec8687ae143cd83dc4a97",
    "",
    "575ec868-7ae1-43cd-83dc-4a97",
]


@pytest.mark.parametrize("value", BAD_ID_VALUES)
def test_bad_id_str_is_value_error(value: str) -> None:
    """Details/Construction: a str that is not exactly 24 ASCII hex characters raises ValueError, at
    once."""
    with pytest.raises(ValueError, match="application_id"):
        AsyncApplication(value, token=TOKEN)
    client = AsyncLosant(TOKEN)
    with pytest.raises(ValueError, match="application_id"):
        client.application(value)


@pytest.mark.parametrize("value", [APP_ID.encode(), 575, None, ["575ec8687ae143cd83dc4a97"]])
def test_non_str_id_is_type_error(value: object) -> None:
    """Details/Construction: a non-str application id raises TypeError, at once."""
    with pytest.raises(TypeError):
        AsyncApplication(value, token=TOKEN)  # type: ignore[arg-type]
    client = AsyncLosant(TOKEN)
    with pytest.raises(TypeError):
        client.application(value)  # type: ignore[arg-type]


def test_uppercase_hex_id_accepted() -> None:
    """Details/Construction: 24 ASCII hex characters, in either case, are a valid id."""
    assert AsyncApplication(APP_ID.upper(), token=TOKEN).application_id == APP_ID.upper()


@pytest.mark.anyio
async def test_id_checked_before_any_request(respx_mock: respx.MockRouter) -> None:
    """Client: a bad id is rejected with ValueError before any request is made."""
    # No route: any request would fail the test as unmatched.
    async with AsyncLosant(TOKEN, base_url=BASE_URL) as client:
        with pytest.raises(ValueError, match="application_id"):
            client.application("nothex")
        with pytest.raises(ValueError, match="application_id"):
            await client.application("575ec8687ae143cd83dc4a9X").get()
    assert not respx_mock.calls


@pytest.mark.anyio
async def test_default_timeout_on_wire(respx_mock: respx.MockRouter) -> None:
    """Details/Construction: the default timeout is 30 s, 5 s to connect, for every request."""
    route = respx_mock.get(APP_PATH + "/readme").respond(200, json={})
    async with _app() as app:
        await app.readme()
    assert route.calls.last.request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 30.0,
        "write": 30.0,
        "pool": 30.0,
    }


@pytest.mark.anyio
async def test_float_timeout_every_phase(respx_mock: respx.MockRouter) -> None:
    """Details/Construction: a float timeout is seconds for every phase."""
    route = respx_mock.get(APP_PATH + "/readme").respond(200, json={})
    async with AsyncLosant(TOKEN, base_url=BASE_URL, timeout=7.5) as client:
        await client.application(APP_ID).readme()
    assert route.calls.last.request.extensions["timeout"] == dict.fromkeys(
        ("connect", "read", "write", "pool"), 7.5
    )


@pytest.mark.anyio
async def test_env_token_and_url(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client: token defaults to LOSANT_API_TOKEN, base_url to LOSANT_API_URL."""
    monkeypatch.setenv("LOSANT_API_TOKEN", "env_token_123")
    monkeypatch.setenv("LOSANT_API_URL", BASE_URL)
    route = respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    async with AsyncLosant() as client:
        await client.application(APP_ID).get()
    async with AsyncApplication(APP_ID) as app:
        await app.get()
    for call in route.calls:
        assert call.request.headers["authorization"] == "Bearer env_token_123"


@pytest.mark.anyio
async def test_default_base_url() -> None:
    """Client: without LOSANT_API_URL, base_url is https://api.losant.com."""
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"https://api.losant.com{APP_PATH}").respond(200, json=APPLICATION)
        async with AsyncLosant(TOKEN) as client:
            await client.application(APP_ID).get()
        assert route.called


@pytest.mark.anyio
async def test_explicit_token_beats_env(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client: an explicit token wins over LOSANT_API_TOKEN."""
    monkeypatch.setenv("LOSANT_API_TOKEN", "env_token_123")
    route = respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    async with _app() as app:
        await app.get()
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_caller_http_client_used_and_not_closed(respx_mock: respx.MockRouter) -> None:
    """Client: a caller-owned http_client carries the requests and is not closed by the library."""
    route = respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    async with httpx.AsyncClient() as http:
        async with AsyncLosant(TOKEN, base_url=BASE_URL, http_client=http) as client:
            await client.application(APP_ID).get()
        assert not http.is_closed
        async with AsyncApplication(
            APP_ID, token=TOKEN, base_url=BASE_URL, http_client=http
        ) as app:
            await app.get()
        assert not http.is_closed
        assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


# -- Client: headers and query on every request ------------------------------------------

# (name, method, path, status, response, call)
ACTIONS: list[tuple[str, str, str, int, object, Call]] = [
    (
        "apply_template",
        "PATCH",
        "/applyTemplate",
        202,
        ENQUEUED,
        lambda a: a.apply_template(template_id="5d6c3b0a1b2c3d4e5f607182"),
    ),
    ("archive_data", "GET", "/archiveData", 202, ENQUEUED, lambda a: a.archive_data(date=86400000)),
    (
        "backfill_archive_data",
        "GET",
        "/backfillArchiveData",
        202,
        ENQUEUED,
        lambda a: a.backfill_archive_data(),
    ),
    ("clone", "POST", "/clone", 202, ENQUEUED, lambda a: a.clone()),
    ("delete", "DELETE", "", 200, {"success": True}, lambda a: a.delete()),
    ("device_counts", "GET", "/deviceCounts", 200, {}, lambda a: a.device_counts()),
    ("export", "POST", "/export", 202, ENQUEUED, lambda a: a.export()),
    (
        "full_data_tables_archive",
        "GET",
        "/fullDataTablesArchive",
        202,
        ENQUEUED,
        lambda a: a.full_data_tables_archive(),
    ),
    (
        "full_events_archive",
        "GET",
        "/fullEventsArchive",
        202,
        ENQUEUED,
        lambda a: a.full_events_archive(),
    ),
    ("get", "GET", "", 200, APPLICATION, lambda a: a.get()),
    (
        "globals",
        "PATCH",
        "/globals",
        200,
        APPLICATION,
        lambda a: a.globals([ApplicationGlobal(key="k", json="1")]),
    ),
    ("import_", "POST", "/import", 202, ENQUEUED, lambda a: a.import_(b"PK")),
    ("import_logs", "GET", "/importLogs", 200, [], lambda a: a.import_logs()),
    (
        "mqtt_publish_message",
        "POST",
        "/mqttPublishMessage",
        200,
        {"success": True},
        lambda a: a.mqtt_publish_message("t", "m"),
    ),
    (
        "notebook_minute_counts",
        "GET",
        "/notebookMinuteCounts",
        200,
        {},
        lambda a: a.notebook_minute_counts(),
    ),
    ("patch", "PATCH", "", 200, APPLICATION, lambda a: a.patch(name="x")),
    ("payload_counts", "GET", "/payloadCounts", 200, {}, lambda a: a.payload_counts()),
    (
        "payload_counts_breakdown",
        "GET",
        "/payloadCountsBreakdown",
        200,
        {},
        lambda a: a.payload_counts_breakdown(),
    ),
    ("readme", "GET", "/readme", 200, {}, lambda a: a.readme()),
    ("readme_patch", "PATCH", "/readme", 200, {}, lambda a: a.readme_patch("hi")),
    ("search", "GET", "/search", 200, [], lambda a: a.search("x")),
]

RETURNS: dict[str, type | tuple[type, ...]] = {
    "apply_template": JobHandle,
    "archive_data": JobHandle,
    "backfill_archive_data": JobHandle,
    "clone": JobHandle,
    "delete": Success,
    "device_counts": DeviceCounts,
    "export": JobHandle,
    "full_data_tables_archive": JobHandle,
    "full_events_archive": JobHandle,
    "get": Application,
    "globals": Application,
    "import_": JobHandle,
    "import_logs": list,
    "mqtt_publish_message": Success,
    "notebook_minute_counts": NotebookMinuteCounts,
    "patch": Application,
    "payload_counts": PayloadStats,
    "payload_counts_breakdown": PayloadCountsBreakdown,
    "readme": ApplicationReadme,
    "readme_patch": ApplicationReadme,
    "search": list,
}


def test_one_method_per_action() -> None:
    """The 22 actions: one method each on AsyncApplication, named in snake_case."""
    names = {a[0] for a in ACTIONS} | {"mqtt_subscription_stream"}
    assert len(names) == 22
    for name in names:
        assert callable(getattr(AsyncApplication, name))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "method", "path", "status", "answer", "call"), ACTIONS, ids=[a[0] for a in ACTIONS]
)
async def test_every_action_headers_query_and_return(
    respx_mock: respx.MockRouter,
    name: str,
    method: str,
    path: str,
    status: int,
    answer: object,
    call: Call,
) -> None:
    """Client: every request sends Bearer auth, Accept, Accept-Version and the SDKs' default query
    first."""
    route = respx_mock.route(method=method, path=APP_PATH + path).respond(status, json=answer)
    async with _app() as app:
        result = await call(app)
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["accept-version"] == "^1.30.0"
    assert request.url.query.decode().startswith(DEFAULT_QUERY)
    assert route.call_count == 1
    assert isinstance(result, RETURNS[name])


@pytest.mark.anyio
async def test_stream_request_headers(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: the stream request is Losant's JavaScript client's: Accept:
    application/json, auth, Accept-Version, topic and whole-second keepAliveInterval, no flags."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(204)
    async with _app() as app, app.mqtt_subscription_stream("a/+/b", keep_alive_interval=3.0) as s:
        assert [m async for m in s] == []
    request = route.calls.last.request
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept-version"] == "^1.30.0"
    assert "last-event-id" not in request.headers
    assert dict(request.url.params) == {"topic": "a/+/b", "keepAliveInterval": "3"}


@pytest.mark.anyio
async def test_stream_read_timeout_follows_keep_alive(respx_mock: respx.MockRouter) -> None:
    """Retries and timeouts: a stream's read timeout is tied to the keep-alive interval (3x), not
    the request timeout."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(204)
    async with _app() as app:
        async with app.mqtt_subscription_stream("t", keep_alive_interval=4) as s:
            assert [m async for m in s] == []
        async with app.mqtt_subscription_stream("t", keep_alive_interval=1) as s:
            assert [m async for m in s] == []
    first, second = route.calls[0].request, route.calls[1].request
    assert first.extensions["timeout"]["read"] == 12.0
    assert second.extensions["timeout"]["read"] == 3.0
    assert first.extensions["timeout"]["connect"] == 5.0


# -- Query parameters ------------------------------------------------------------------


@pytest.mark.anyio
async def test_naive_datetime_is_utc(respx_mock: respx.MockRouter) -> None:
    """Details/Models: naive datetimes given as arguments are taken as UTC; ms pass through."""
    route = respx_mock.get(APP_PATH + "/deviceCounts").respond(200, json={})
    naive = datetime(2024, 1, 2, 3, 4, 5, 678000)
    aware = naive.replace(tzinfo=timezone(timedelta(hours=2)))
    async with _app() as app:
        await app.device_counts(start=naive, end=aware)
        await app.device_counts(start=1704164645678, end=0)
    first, second = route.calls[0].request.url.params, route.calls[1].request.url.params
    assert first["start"] == "1704164645678"
    assert first["end"] == str(1704164645678 - 2 * 3600 * 1000)
    assert second["start"] == "1704164645678"
    assert second["end"] == "0"


@pytest.mark.anyio
async def test_summary_include_comma_joined(respx_mock: respx.MockRouter) -> None:
    """Query parameters: summary_include/summary_exclude take a sequence, sent comma-separated in
    camelCase."""
    route = respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    async with _app() as app:
        await app.get(
            summary_include=["payloadCount", "deviceCount"], summary_exclude=("flowCount",)
        )
    params = route.calls.last.request.url.params
    assert params["summaryInclude"] == "payloadCount,deviceCount"
    assert params["summaryExclude"] == "flowCount"


@pytest.mark.anyio
async def test_snake_case_query_keywords(respx_mock: respx.MockRouter) -> None:
    """Query parameters: snake_case keywords go out as the API's camelCase names, booleans as
    true/false."""
    route = respx_mock.get(APP_PATH + "/payloadCountsBreakdown").respond(200, json={})
    async with _app() as app:
        await app.payload_counts_breakdown(
            start=0, end=1000, resolution=3600000, as_bytes=True, include_non_billable=False
        )
    params = dict(route.calls.last.request.url.params.multi_items())
    assert params["asBytes"] == "true"
    assert params["includeNonBillable"] == "false"
    assert params["resolution"] == "3600000"


@pytest.mark.anyio
async def test_import_logs_since_and_limit(respx_mock: respx.MockRouter) -> None:
    """Query parameters: import_logs(limit=, since=datetime) sends limit and since in ms."""
    route = respx_mock.get(APP_PATH + "/importLogs").respond(200, json=[{"id": "x"}])
    async with _app() as app:
        logs = await app.import_logs(limit=5, since=datetime(1970, 1, 1, 0, 0, 1))
    params = route.calls.last.request.url.params
    assert params["limit"] == "5"
    assert params["since"] == "1000"
    assert isinstance(logs[0], ApplicationImportExecution)


# -- Bodies --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_body_forms_give_same_wire_body(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: a body as its model, as snake_case kwargs or as a camelCase mapping sends the
    same JSON."""
    route = respx_mock.patch(APP_PATH).respond(200, json=APPLICATION)
    async with _app() as app:
        await app.patch(ApplicationPatch(name="x", endpoint_slug="my-app", blob_url_ttl=7200))
        await app.patch(name="x", endpoint_slug="my-app", blob_url_ttl=7200)
        await app.patch({"name": "x", "endpointSlug": "my-app", "blobUrlTTL": 7200})
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert bodies[0] == {"name": "x", "endpointSlug": "my-app", "blobUrlTTL": 7200}
    assert bodies[1] == bodies[0]
    assert bodies[2] == bodies[0]
    assert route.calls.last.request.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_export_body_forms(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: export takes ApplicationExportPost, kwargs or a mapping alike."""
    route = respx_mock.post(APP_PATH + "/export").respond(200, json={"url": "https://x/y.zip"})
    async with _app() as app:
        a = await app.export(ApplicationExportPost(email="a@b.co"))
        await app.export(email="a@b.co")
        await app.export({"email": "a@b.co"})
    assert isinstance(a, ApplicationExportResult)
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert bodies == [{"email": "a@b.co"}] * 3


@pytest.mark.anyio
async def test_naive_datetime_in_body_is_utc(respx_mock: respx.MockRouter) -> None:
    """Details/Models: a naive datetime in a body is taken as UTC on the wire."""
    route = respx_mock.patch(APP_PATH).respond(200, json=APPLICATION)
    async with _app() as app:
        await app.patch(exp_user_token_cutoff=datetime(2024, 5, 6, 7, 8, 9))
    body = json.loads(route.calls.last.request.content)
    sent = datetime.fromisoformat(body["expUserTokenCutoff"])
    assert sent == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.mark.anyio
async def test_clone_without_options_sends_empty_object(respx_mock: respx.MockRouter) -> None:
    """Details/Bodies: clone() without options sends {}."""
    route = respx_mock.post(APP_PATH + "/clone").respond(200, json={"success": True})
    async with _app() as app:
        result = await app.clone()
    assert route.calls.last.request.content == b"{}"
    assert route.calls.last.request.headers["content-type"] == "application/json"
    assert isinstance(result, ApplicationCloneDryRunResult)


@pytest.mark.anyio
async def test_clone_201_is_creation_result(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: clone answering 201 returns ApplicationCreationByTemplateResult."""
    respx_mock.post(APP_PATH + "/clone").respond(201, json={"application": APPLICATION})
    async with _app() as app:
        result = await app.clone()
    assert isinstance(result, ApplicationCreationByTemplateResult)
    assert isinstance(result.application, Application)


@pytest.mark.anyio
async def test_import_path_sends_file_name(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    """Details/Bodies: a str or os.PathLike bundle is a path, sent under the file's name."""
    bundle = tmp_path / "my export.zip"
    bundle.write_bytes(b"PK\x05\x06" + bytes(18))
    route = respx_mock.post(APP_PATH + "/import").respond(200, json=APPLICATION)
    async with _app() as app:
        await app.import_(bundle)
        await app.import_(str(bundle))
    for call in route.calls:
        parts = _multipart(call.request)
        assert parts["importBundle"] == ("my export.zip", b"PK\x05\x06" + bytes(18))


@pytest.mark.anyio
async def test_import_bytes_named_bundle_zip(respx_mock: respx.MockRouter) -> None:
    """Details/Bodies: bytes are sent as bundle.zip."""
    route = respx_mock.post(APP_PATH + "/import").respond(200, json=APPLICATION)
    async with _app() as app:
        result = await app.import_(b"PKzip", email="e@x.co")
    parts = _multipart(route.calls.last.request)
    assert parts["importBundle"] == ("bundle.zip", b"PKzip")
    assert parts["email"] == (None, b"e@x.co")
    assert isinstance(result, Application)


@pytest.mark.anyio
async def test_import_file_object_names(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    """Details/Bodies: a binary file object is sent as the base name of its name, else
    bundle.zip."""
    route = respx_mock.post(APP_PATH + "/import").respond(200, json=APPLICATION)
    path = tmp_path / "disk.zip"
    path.write_bytes(b"ondisk")
    named = io.BytesIO(b"named")
    named.name = "/a/b/c/named.zip"
    # Opened with a real name, and by descriptor (whose name is an int: no usable name).
    with _open_rb(path) as fh, _open_rb(os.open(path, os.O_RDONLY)) as by_fd:
        async with _app() as app:
            await app.import_(fh)
            await app.import_(named)
            await app.import_(io.BytesIO(b"anon"))
            await app.import_(by_fd)
    names = [_multipart(c.request)["importBundle"] for c in route.calls]
    assert names == [
        ("disk.zip", b"ondisk"),
        ("named.zip", b"named"),
        ("bundle.zip", b"anon"),
        ("bundle.zip", b"ondisk"),
    ]


@pytest.mark.anyio
async def test_import_without_bundle_is_multipart(respx_mock: respx.MockRouter) -> None:
    """Details/Bodies: without a bundle the import request is still multipart."""
    route = respx_mock.post(APP_PATH + "/import").respond(202, json=ENQUEUED)
    async with _app() as app:
        await app.import_(options={"importUrl": "https://example.com/b.zip"})
        await app.import_(email="e@x.co")
    first = _multipart(route.calls[0].request)
    assert set(first) == {"options"}
    assert json.loads(first["options"][1]) == {"importUrl": "https://example.com/b.zip"}
    assert _multipart(route.calls[1].request) == {"email": (None, b"e@x.co")}


@pytest.mark.anyio
async def test_publish_body(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: mqtt_publish_message(topic, message) POSTs the MqttMessage body."""
    route = respx_mock.post(APP_PATH + "/mqttPublishMessage").respond(200, json={"success": True})
    async with _app() as app:
        result = await app.mqtt_publish_message("a/b", "hello")
    assert json.loads(route.calls.last.request.content) == {"topic": "a/b", "message": "hello"}
    assert result == Success(success=True)


# -- Models ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_model_extra_read_only_wire_names(respx_mock: respx.MockRouter) -> None:
    """Details/Models: unknown keys land in model.extra, read-only, in wire names; _links/_embedded
    too."""
    body = {
        **APPLICATION,
        "brandNewField": {"x": 1},
        "_links": {"self": {"href": "/x"}},
        "_embedded": {"things": []},
        "summary": {"deviceCount": 2, "quantumCount": 3},
    }
    respx_mock.get(APP_PATH).respond(200, json=body)
    async with _app() as app:
        result = await app.get()
    assert result.extra["brandNewField"] == {"x": 1}
    assert result.extra["_links"] == {"self": {"href": "/x"}}
    assert result.extra["_embedded"] == {"things": []}
    assert "brand_new_field" not in result.extra
    assert result.summary is not None
    assert result.summary.extra == {"quantumCount": 3}
    with pytest.raises(TypeError):
        result.extra["x"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        result.name = "changed"  # type: ignore[misc]


@pytest.mark.anyio
async def test_model_names_and_datetimes(respx_mock: respx.MockRouter) -> None:
    """Details/Models: blobUrlTTL -> blob_url_ttl, snake_case fields, date-time -> aware
    datetime."""
    respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    async with _app() as app:
        result = await app.get()
    assert result.blob_url_ttl == 86400
    assert result.application_id == APP_ID
    assert result.creation_date == datetime(2016, 6, 13, 4, tzinfo=UTC)
    assert result.creation_date is not None
    assert result.creation_date.tzinfo is not None
    assert "blobUrlTTL" not in result.extra


@pytest.mark.anyio
async def test_type_field_renamed(respx_mock: respx.MockRouter) -> None:
    """Details/Models: _type becomes type; an unknown enum value still decodes, as str."""
    respx_mock.get(APP_PATH + "/search").respond(
        200,
        json=[
            {"id": "1", "name": "a", "_type": "device"},
            {"id": "2", "name": "b", "_type": "hologram"},
        ],
    )
    async with _app() as app:
        items = await app.search("a")
    assert all(isinstance(i, ApplicationSearchResultItem) for i in items)
    assert [i.type for i in items] == ["device", "hologram"]
    assert type(items[1].type) is str
    assert "_type" not in items[0].extra


@pytest.mark.anyio
async def test_unknown_enum_value_decodes(respx_mock: respx.MockRouter) -> None:
    """Details/Models: enum-valued fields are str at run time, so a new value decodes."""
    respx_mock.get(APP_PATH).respond(200, json={**APPLICATION, "ownerType": "galaxy"})
    async with _app() as app:
        result = await app.get()
    assert result.owner_type == "galaxy"


def test_models_frozen_slots() -> None:
    """Models: attrs classes, frozen and slotted."""
    model = ApplicationPatch(name="x")
    assert not hasattr(model, "__dict__")
    with pytest.raises(AttributeError):
        model.name = "y"  # type: ignore[misc]
    assert ApplicationPatch(blob_url_ttl=7200).blob_url_ttl == 7200
    assert MqttMessage(topic="t", message="m").topic == "t"


# -- Errors -------------------------------------------------------------------------------

STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (413, TooLargeError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (408, APIStatusError),
    (418, APIStatusError),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
async def test_status_error_classes(
    respx_mock: respx.MockRouter, status: int, cls: type[APIStatusError]
) -> None:
    """Errors: each status raises its class (exactly APIStatusError without one) with status_code,
    type, message, body, request_id."""
    body = {"type": "SomeType", "message": "went wrong"}
    respx_mock.get(APP_PATH).respond(status, json=body, headers={"X-Request-Id": "req-42"})
    async with _app(max_retries=0) as app:
        with pytest.raises(APIStatusError) as info:
            await app.get()
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert info.value.type == "SomeType"
    assert info.value.message == "went wrong"
    assert info.value.body == body
    assert info.value.request_id == "req-42"


@pytest.mark.anyio
async def test_request_id_absent_is_none(respx_mock: respx.MockRouter) -> None:
    """Details/Errors: request_id is None without an X-Request-Id header."""
    respx_mock.get(APP_PATH).respond(404, json={"type": "NotFound", "message": "no"})
    async with _app() as app:
        with pytest.raises(NotFoundError) as info:
            await app.get()
    assert info.value.request_id is None


@pytest.mark.anyio
async def test_validation_errors_on_422(respx_mock: respx.MockRouter) -> None:
    """Errors: UnprocessableEntityError has .validation_errors."""
    items = [{"type": "Flow", "name": "f", "id": "1", "message": "bad"}]
    respx_mock.post(APP_PATH + "/clone").respond(
        422, json={"type": "Validation", "message": "m", "validationErrors": items}
    )
    async with _app() as app:
        with pytest.raises(UnprocessableEntityError) as info:
            await app.clone()
    assert [dict(e) for e in info.value.validation_errors] == items


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "expected"), [("7", 7.0), ("1.5", 1.5), ("soon", None), (None, None)]
)
async def test_retry_after_seconds(
    respx_mock: respx.MockRouter, header: str | None, expected: float | None
) -> None:
    """Details/Errors: retry_after is a float in seconds, or None."""
    headers = {"Retry-After": header} if header is not None else {}
    respx_mock.get(APP_PATH).respond(
        429, json={"type": "RateLimit", "message": "slow"}, headers=headers
    )
    async with _app(max_retries=0) as app:
        with pytest.raises(RateLimitError) as info:
            await app.get()
    assert info.value.retry_after == expected
    if expected is not None:
        assert type(info.value.retry_after) is float


@pytest.mark.anyio
async def test_retry_after_http_date(respx_mock: respx.MockRouter) -> None:
    """Details/Errors: an HTTP-date Retry-After is converted to seconds from now."""
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    respx_mock.get(APP_PATH).respond(429, json={}, headers={"Retry-After": when})
    async with _app(max_retries=0) as app:
        with pytest.raises(RateLimitError) as info:
            await app.get()
    assert info.value.retry_after is not None
    assert 110 <= info.value.retry_after <= 121


@pytest.mark.anyio
async def test_502_html_is_internal_server_error(respx_mock: respx.MockRouter) -> None:
    """Details/Errors: an error status wins over an unparseable body; body holds a bounded
    snippet."""
    page = "<html><body>" + "Bad gateway " * 500 + "</body></html>"
    respx_mock.get(APP_PATH).respond(502, text=page, headers={"content-type": "text/html"})
    async with _app(max_retries=0) as app:
        with pytest.raises(InternalServerError) as info:
            await app.get()
    assert info.value.status_code == 502
    assert isinstance(info.value.body, str)
    assert info.value.body.startswith("<html>")
    assert len(info.value.body) <= 1024


@pytest.mark.anyio
async def test_not_json_200_is_validation_error(respx_mock: respx.MockRouter) -> None:
    """Details/Errors: a body that is not JSON raises APIResponseValidationError with status_code
    and a snippet <= 1024."""
    page = "<html>" + "x" * 5000
    respx_mock.get(APP_PATH).respond(200, text=page)
    async with _app() as app:
        with pytest.raises(APIResponseValidationError) as info:
            await app.get()
    assert info.value.status_code == 200
    assert info.value.body_snippet.startswith("<html>")
    assert len(info.value.body_snippet) <= 1024
    assert not isinstance(info.value, json.JSONDecodeError)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "575ec8687ae1',
        b"[]",
        b"null",
        b'{"name": 5}',
        b'{"creationDate": "yesterday"}',
        b'{"summary": []}',
        b'"text"',
        b"",
        b"[" * 100_000,
    ],
)
async def test_wrong_shape_is_validation_error(respx_mock: respx.MockRouter, body: bytes) -> None:
    """Errors: truncated JSON or the wrong shape raises APIResponseValidationError, not a cattrs or
    JSON error."""
    respx_mock.get(APP_PATH).respond(200, content=body)
    async with _app() as app:
        with pytest.raises(APIResponseValidationError) as info:
            await app.get()
    assert info.value.status_code == 200


@pytest.mark.anyio
async def test_not_json_202_is_validation_error(respx_mock: respx.MockRouter) -> None:
    """Errors: a 202 whose body is not JSON raises APIResponseValidationError with status 202."""
    respx_mock.post(APP_PATH + "/export").respond(202, text="<html>accepted</html>")
    async with _app() as app:
        with pytest.raises(APIResponseValidationError) as info:
            await app.export()
    assert info.value.status_code == 202


# -- Details: Retries ----------------------------------------------------------------------

ENQUEUE_ACTIONS = [a for a in ACTIONS if a[0] in {
    "apply_template", "archive_data", "backfill_archive_data", "clone", "export",
    "full_data_tables_archive", "full_events_archive", "import_", "mqtt_publish_message",
}]  # fmt: skip
SAFE_ACTIONS = [a for a in ACTIONS if a not in ENQUEUE_ACTIONS]
assert len(ENQUEUE_ACTIONS) == 9
assert len(SAFE_ACTIONS) == 12

FAILURES: dict[str, Callable[[], object]] = {
    "503": lambda: httpx.Response(503, json={"type": "Unavailable", "message": "x"}),
    "500": lambda: httpx.Response(500, json={}),
    "408": lambda: httpx.Response(408, json={}),
    "429": lambda: httpx.Response(429, json={}),
    "connect_error": lambda: httpx.ConnectError("refused"),
    "connect_timeout": lambda: httpx.ConnectTimeout("slow"),
    "read_error": lambda: httpx.ReadError("reset"),
    "read_timeout": lambda: httpx.ReadTimeout("slow"),
    "remote_protocol": lambda: httpx.RemoteProtocolError("closed"),
}
ENQUEUE_RETRIED = {"429", "connect_error", "connect_timeout"}


def _flaky(failure: str, status: int, answer: object) -> Callable[[httpx.Request], httpx.Response]:
    calls = {"n": 0}

    def respond(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            outcome = FAILURES[failure]()
            if isinstance(outcome, Exception):
                raise outcome
            assert isinstance(outcome, httpx.Response)
            return outcome
        return httpx.Response(status, json=answer)

    return respond


@pytest.mark.anyio
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize(
    ("name", "method", "path", "status", "answer", "call"),
    ENQUEUE_ACTIONS,
    ids=[a[0] for a in ENQUEUE_ACTIONS],
)
async def test_enqueue_actions_retry_matrix(
    respx_mock: respx.MockRouter,
    failure: str,
    name: str,
    method: str,
    path: str,
    status: int,
    answer: object,
    call: Call,
) -> None:
    """Details/Retries: enqueuing actions and publish retry only a connect error or a 429, never
    5xx, 408 or a read error."""
    route = respx_mock.route(method=method, path=APP_PATH + path).mock(
        side_effect=_flaky(failure, status, answer)
    )
    async with _app() as app:
        if failure in ENQUEUE_RETRIED:
            assert isinstance(await call(app), RETURNS[name])
            assert route.call_count == 2
        else:
            with pytest.raises((APIStatusError, APIConnectionError)):
                await call(app)
            assert route.call_count == 1


@pytest.mark.anyio
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize(
    ("name", "method", "path", "status", "answer", "call"),
    SAFE_ACTIONS,
    ids=[a[0] for a in SAFE_ACTIONS],
)
async def test_safe_actions_retry_matrix(
    respx_mock: respx.MockRouter,
    failure: str,
    name: str,
    method: str,
    path: str,
    status: int,
    answer: object,
    call: Call,
) -> None:
    """Retries and timeouts: safe actions retry connection errors, 408, 429 and 5xx."""
    route = respx_mock.route(method=method, path=APP_PATH + path).mock(
        side_effect=_flaky(failure, status, answer)
    )
    async with _app() as app:
        assert isinstance(await call(app), RETURNS[name])
    assert route.call_count == 2


@pytest.mark.anyio
async def test_default_two_retries_then_error(respx_mock: respx.MockRouter) -> None:
    """Retries and timeouts: retries default to 2 (three attempts), then the last error is
    raised."""
    route = respx_mock.get(APP_PATH).respond(503, json={"type": "Down", "message": "down"})
    async with _app() as app:
        with pytest.raises(InternalServerError):
            await app.get()
    assert route.call_count == 3


@pytest.mark.anyio
async def test_connect_error_exhausted_raises_connection_error(
    respx_mock: respx.MockRouter,
) -> None:
    """Errors: a transport failure after retries is APIConnectionError; a timeout
    APITimeoutError."""
    respx_mock.get(APP_PATH).mock(side_effect=httpx.ConnectError("refused"))
    respx_mock.get(APP_PATH + "/readme").mock(side_effect=httpx.ReadTimeout("slow"))
    async with _app() as app:
        with pytest.raises(APIConnectionError) as info:
            await app.get()
        assert not isinstance(info.value, APITimeoutError)
        with pytest.raises(APITimeoutError):
            await app.readme()


@pytest.mark.anyio
async def test_max_retries_zero(respx_mock: respx.MockRouter) -> None:
    """Retries and timeouts: max_retries=0 turns retries off."""
    route = respx_mock.get(APP_PATH).respond(503, json={})
    publish = respx_mock.post(APP_PATH + "/mqttPublishMessage").mock(
        side_effect=httpx.ConnectError("refused")
    )
    async with AsyncLosant(TOKEN, base_url=BASE_URL, max_retries=0) as client:
        app = client.application(APP_ID)
        with pytest.raises(InternalServerError):
            await app.get()
        with pytest.raises(APIConnectionError):
            await app.mqtt_publish_message("t", "m")
    assert route.call_count == 1
    assert publish.call_count == 1


@pytest.mark.anyio
async def test_import_retry_resends_whole_file(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """Details/Retries: an import retried after a 429 sends the whole bundle again."""
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(b"0123456789" * 1000)
    route = respx_mock.post(APP_PATH + "/import").mock(
        side_effect=[httpx.Response(429, json={}), httpx.Response(202, json=ENQUEUED)]
    )
    async with _app() as app:
        await app.import_(bundle)
    assert route.call_count == 2
    for call in route.calls:
        assert _multipart(call.request)["importBundle"] == ("b.zip", b"0123456789" * 1000)


# -- Token never leaks ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_token_never_in_repr_str_errors_or_logs(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """Errors: no error message, repr or log line ever contains the token."""
    caplog.set_level(logging.DEBUG)
    respx_mock.get(APP_PATH).respond(
        401, json={"type": "Unauthorized", "message": f"bad token Bearer {TOKEN} ({TOKEN})"}
    )
    respx_mock.get(APP_PATH + "/readme").mock(
        side_effect=httpx.ConnectError(f"failed with Authorization: Bearer {TOKEN}")
    )
    respx_mock.get(APP_PATH + "/search").respond(200, text=f"not json {TOKEN}")
    respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    seen: list[str] = []
    async with AsyncLosant(TOKEN, base_url=BASE_URL) as client:
        app = client.application(APP_ID)
        seen += [repr(client), str(client), repr(app), str(app)]
        for call in (app.get(), app.readme(), app.search("x")):
            with pytest.raises(LosantError) as info:
                await call
            seen += [str(info.value), repr(info.value), *map(str, info.value.args)]
        handle = await app.export()
        stream = app.mqtt_subscription_stream("t")
        seen += [repr(handle), str(handle), repr(stream), str(stream)]
    async with _app() as standalone:
        seen += [repr(standalone), str(standalone)]
    seen += [r.getMessage() for r in caplog.records]
    assert seen
    for text in seen:
        assert TOKEN not in text


# -- Streams --------------------------------------------------------------------------------


def test_stream_signature() -> None:
    """Details/Streams: mqtt_subscription_stream(topic, *, keep_alive_interval=2, reconnect=True,
    max_reconnects=None, backoff_initial=0.5, backoff_max=30.0)."""
    params = inspect.signature(AsyncApplication.mqtt_subscription_stream).parameters
    assert list(params) == [
        "self",
        "topic",
        "keep_alive_interval",
        "reconnect",
        "max_reconnects",
        "backoff_initial",
        "backoff_max",
    ]
    assert params["keep_alive_interval"].default == 2
    assert params["reconnect"].default is True
    assert params["max_reconnects"].default is None
    assert params["backoff_initial"].default == 0.5
    assert params["backoff_max"].default == 30.0
    for name in ("keep_alive_interval", "reconnect", "max_reconnects"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.anyio
async def test_stream_yields_only_mqtt_messages(respx_mock: respx.MockRouter) -> None:
    """Streams: only mqttMessage events reach the user; comments and other events are signs of
    life."""
    body = (
        b": keep-alive\n\n"
        + b"event: keepAlive\ndata: {}\n\n"
        + b'data: {"topic": "x", "message": "unnamed"}\n\n'
        + _mqtt("a/b", "one")
        + b"event: somethingNew\ndata: 1\n\n"
        + _mqtt("a/c", '{"t":1}')
    )
    respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[httpx.Response(200, headers=SSE, content=body), httpx.Response(204)]
    )
    async with _app() as app, app.mqtt_subscription_stream("a/#") as stream:
        assert isinstance(stream, MqttStream)
        messages = [m async for m in stream]
    assert messages == [
        MqttMessage(topic="a/b", message="one"),
        MqttMessage(topic="a/c", message='{"t":1}'),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
    ],
)
async def test_stream_4xx_first_connect_raises_from_aenter(
    respx_mock: respx.MockRouter, status: int, cls: type[APIStatusError]
) -> None:
    """Details/Streams: a 4xx on the first connect raises from __aenter__, and is not retried."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(
        status, json={"type": "X", "message": "no"}
    )
    entered = False
    async with _app() as app:
        with pytest.raises(cls):
            async with app.mqtt_subscription_stream("t"):
                entered = True
    assert not entered
    assert route.call_count == 1


@pytest.mark.anyio
async def test_stream_408_not_retried(respx_mock: respx.MockRouter) -> None:
    """Streams: a 4xx on connect (408 included: only 429 is retried) ends the stream, not
    retried."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(408, json={})
    async with _app() as app:
        with pytest.raises(APIStatusError) as info:
            async with app.mqtt_subscription_stream("t"):
                pass
    assert info.value.status_code == 408
    assert route.call_count == 1


@pytest.mark.anyio
async def test_stream_204_ends_cleanly(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: a server end with 204 ends iteration cleanly."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(204)
    async with _app() as app, app.mqtt_subscription_stream("t") as stream:
        assert [m async for m in stream] == []
        assert stream.reconnects == 0
    assert route.call_count == 1


@pytest.mark.anyio
async def test_stream_reconnect_off_raises_never_silent(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: with reconnection off, iteration raises the error that ended the
    connection."""
    respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(
        200, headers=SSE, content=_mqtt("t", "only")
    )
    received: list[MqttMessage] = []
    async with _app() as app, app.mqtt_subscription_stream("t", reconnect=False) as stream:
        with pytest.raises(APIConnectionError):
            await _drain(stream, received)
    assert received == [MqttMessage(topic="t", message="only")]


@pytest.mark.anyio
async def test_stream_reconnects_counted_and_last_event_id(respx_mock: respx.MockRouter) -> None:
    """Streams: a dropped connection is re-opened with Last-Event-ID; stream.reconnects counts re-
    opens."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[
            httpx.Response(200, headers=SSE, content=_mqtt("t", "1", "ev-1")),
            httpx.ReadError("reset"),
            httpx.Response(503, json={}),
            httpx.Response(429, json={}, headers={"Retry-After": "0"}),
            httpx.Response(200, headers=SSE, content=_mqtt("t", "2", "ev-2")),
            httpx.Response(204),
        ]
    )
    async with _app() as app, app.mqtt_subscription_stream("t") as stream:
        messages = [m.message async for m in stream]
        assert stream.reconnects == 1
    assert messages == ["1", "2"]
    assert "last-event-id" not in route.calls[0].request.headers
    for call in route.calls[1:5]:
        assert call.request.headers["last-event-id"] == "ev-1"
    assert route.calls[5].request.headers["last-event-id"] == "ev-2"


@pytest.mark.anyio
async def test_stream_max_reconnects_used_up_raises(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: with max_reconnects used up, iteration raises the last connection's
    error."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[
            httpx.Response(200, headers=SSE, content=_mqtt("t", "1")),
            httpx.Response(503, json={"type": "Down", "message": "down"}),
            httpx.Response(503, json={"type": "Down", "message": "down"}),
        ]
    )
    async with _app() as app, app.mqtt_subscription_stream("t", max_reconnects=2) as stream:
        got: list[MqttMessage] = []
        with pytest.raises(InternalServerError):
            await _drain(stream, got)
        assert stream.reconnects == 0
    assert [m.message for m in got] == ["1"]
    assert route.call_count == 3


@pytest.mark.anyio
async def test_stream_4xx_on_reconnect_raises_from_iteration(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: a 4xx on a reconnect raises from the iteration, not retried."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[
            httpx.Response(200, headers=SSE, content=_mqtt("t", "1")),
            httpx.Response(403, json={"type": "Forbidden", "message": "revoked"}),
        ]
    )
    got: list[MqttMessage] = []
    async with _app() as app, app.mqtt_subscription_stream("t") as stream:
        with pytest.raises(PermissionDeniedError):
            await _drain(stream, got)
    assert [m.message for m in got] == ["1"]
    assert route.call_count == 2


@pytest.mark.anyio
async def test_stream_5xx_first_connect_retried(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: 5xx and network errors on connect are retried."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[
            httpx.Response(502, text="<html>bad gateway</html>"),
            httpx.ConnectError("refused"),
            httpx.Response(200, headers=SSE, content=_mqtt("t", "ok")),
            httpx.Response(204),
        ]
    )
    async with _app() as app, app.mqtt_subscription_stream("t") as stream:
        assert [m.message async for m in stream] == ["ok"]
    assert route.call_count == 4


# -- Streams over real HTTP (local Losant) ----------------------------------------------------


@pytest.fixture
def local_app(local_server: LocalLosant, app_id: str) -> Callable[..., AsyncApplication]:
    """A factory of façades on the local Losant."""

    def make(**kwargs: Any) -> AsyncApplication:
        kwargs.setdefault("token", local_server.token)
        kwargs.setdefault("base_url", local_server.base_url)
        return AsyncApplication(app_id, **kwargs)

    return make


async def _wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll the server's state (it has no event to wait on), bounded in count and time."""
    with anyio.fail_after(seconds):
        for _ in range(int(seconds / 0.02) + 1):
            if predicate():
                return
            await anyio.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.mark.anyio
async def test_stream_end_to_end_and_closes_at_once(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication]
) -> None:
    """Streams: published messages reach a wildcard subscriber; leaving the block closes the
    connection."""
    before = local_server.open_streams
    async with local_app() as app:
        async with app.mqtt_subscription_stream("devices/+/state") as stream:
            await _wait_for(lambda: local_server.open_streams == before + 1)
            await app.mqtt_publish_message("devices/d1/state", "on")
            await app.mqtt_publish_message("other/topic", "ignored")
            await app.mqtt_publish_message("devices/d2/state", {"temp": 21})
            got = []
            with anyio.fail_after(5):
                async for message in stream:
                    got.append(message)
                    if len(got) == 2:
                        break
        assert stream.is_closed
        await _wait_for(lambda: local_server.open_streams == before)
    assert got == [
        MqttMessage(topic="devices/d1/state", message="on"),
        MqttMessage(topic="devices/d2/state", message='{"temp":21}'),
    ]


@pytest.mark.anyio
async def test_stream_drop_reconnects_real_http(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication], app_id: str
) -> None:
    """Streams: a dropped connection is re-opened and stream.reconnects counts it; no message is
    lost (Last-Event-ID)."""
    # Losant replays nothing; the local Losant's replay knob exercises the Last-Event-ID path.
    local_server.replay = True
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    async with local_app() as app, app.mqtt_subscription_stream("t/#") as stream:
        await _wait_for(lambda: local_server.open_streams >= 1)
        for i in range(3):
            await app.mqtt_publish_message(f"t/{i}", str(i))
        got = []
        with anyio.fail_after(10):
            async for message in stream:
                got.append(message.message)
                if len(got) == 3:
                    break
        assert stream.reconnects == 1
    assert got == ["0", "1", "2"]


@pytest.mark.anyio
async def test_stream_silence_is_dead_connection(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication], app_id: str
) -> None:
    """Details/Streams: silence longer than 3 keep-alive intervals ends a connection; with
    reconnect off it raises."""
    local_server.faults.stall_stream(times=1, application_id=app_id)
    async with local_app() as app:
        start = anyio.current_time()
        async with app.mqtt_subscription_stream("t", keep_alive_interval=1, reconnect=False) as s:
            with anyio.fail_after(15), pytest.raises(APIConnectionError):
                async for _ in s:
                    pass
        elapsed = anyio.current_time() - start
    assert 2.9 <= elapsed < 10


@pytest.mark.anyio
async def test_stream_403_scope_from_aenter_real_http(
    local_server: LocalLosant, app_id: str
) -> None:
    """Details/Streams: a token without the stream's scope is refused on first connect: raised from
    __aenter__."""
    token = local_server.create_token(scopes=["application.get"])
    async with AsyncApplication(app_id, token=token, base_url=local_server.base_url) as app:
        with pytest.raises(PermissionDeniedError):
            async with app.mqtt_subscription_stream("t"):
                pass  # pragma: no cover


# -- Jobs (respx) ----------------------------------------------------------------------------

JOB_ACTION_NAMES = {
    "apply_template": "applyTemplate",
    "archive_data": "archiveData",
    "backfill_archive_data": "backfillArchiveData",
    "clone": "clone",
    "export": "export",
    "full_data_tables_archive": "fullDataTablesArchive",
    "full_events_archive": "fullEventsArchive",
    "import_": "import",
}
JOB_ACTIONS = [a for a in ACTIONS if a[0] in JOB_ACTION_NAMES]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "method", "path", "status", "answer", "call"),
    JOB_ACTIONS,
    ids=[a[0] for a in JOB_ACTIONS],
)
async def test_202_becomes_job_handle(
    respx_mock: respx.MockRouter,
    name: str,
    method: str,
    path: str,
    status: int,
    answer: object,
    call: Call,
) -> None:
    """Jobs / Details: a 202 becomes a JobHandle (job_id, action = API action name, application_id,
    enqueued_at before sending)."""
    sent_at: list[datetime] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent_at.append(datetime.now(UTC))
        return httpx.Response(202, json=ENQUEUED)

    respx_mock.route(method=method, path=APP_PATH + path).mock(side_effect=respond)
    async with _app() as app:
        handle = await call(app)
    assert isinstance(handle, JobHandle)
    assert handle.job_id == JOB_ID
    assert handle.action == JOB_ACTION_NAMES[name]
    assert type(handle.action) is str
    assert handle.application_id == APP_ID
    assert handle.enqueued_at.tzinfo is not None
    assert handle.enqueued_at <= sent_at[0]


def _log(**fields: object) -> dict[str, object]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    base: dict[str, object] = {
        "id": "log0000000000000000000001",
        "name": "ApplicationExport",  # Losant's job name, not the action's (API.md "Job kinds")
        "applicationId": APP_ID,
        "resourceType": "application",
        "resourceId": APP_ID,
        "runQueuedAt": now,
        "status": "queued",
    }
    base.update(fields)
    return base


def _logs(*items: dict[str, object]) -> dict[str, object]:
    return {
        "items": list(items),
        "count": len(items),
        "totalCount": len(items),
        "perPage": 100,
        "page": 0,
    }


@pytest.mark.anyio
@pytest.mark.parametrize("id_field", ["jobId", "jobExecutionId", "id"])
async def test_job_exact_id_match(respx_mock: respx.MockRouter, id_field: str) -> None:
    """Details/Jobs: a log entry carrying the enqueued id (jobId, jobExecutionId or id) is matched
    exactly, rivals aside."""
    respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    mine = _log(status="completed", **{"id": "logmine", id_field: JOB_ID})
    rival = _log(id="logrival", status="inProgress")
    respx_mock.get(APP_PATH + "/jobLogs").respond(200, json=_logs(rival, mine))
    async with _app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        progress = await handle.status()
    assert progress == JobProgress(status="completed")
    assert isinstance(progress, JobProgress)


@pytest.mark.anyio
async def test_job_ambiguous_raises_everywhere(respx_mock: respx.MockRouter) -> None:
    """Details/Jobs: two candidates raise JobAmbiguousError from status(), progress() and wait(); no
    guess."""
    respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    respx_mock.get(APP_PATH + "/jobLogs").respond(
        200, json=_logs(_log(id="a" * 24), _log(id="b" * 24))
    )
    async with _app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        with pytest.raises(JobAmbiguousError):
            await handle.status()
        with pytest.raises(JobAmbiguousError):
            await _drain_progress(handle)
        with pytest.raises(JobAmbiguousError), anyio.fail_after(5):
            await handle.wait(poll_interval=0.01)


@pytest.mark.anyio
async def test_job_window_starts_before_enqueue() -> None:
    """Details/Jobs: without an id, a single entry of the same app and kind stamped slightly before
    sending (clock skew) is the job."""
    router = respx.mock(base_url=BASE_URL, assert_all_called=False)
    router.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    earlier = (datetime.now(UTC) - timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    entries = _logs(
        _log(id="c" * 24, runQueuedAt=earlier, status="completed", output={"downloadUrls": ["u"]}),
        _log(id="d" * 24, runQueuedAt=old, status="completed"),
        _log(id="e" * 24, name="ArchiveData", status="completed"),
    )
    router.get(APP_PATH + "/jobLogs").respond(200, json=entries)
    # Followed by id once matched, if the handle polls again.
    router.get(APP_PATH + "/jobLogs/" + "c" * 24).respond(200, json=entries["items"][0])  # type: ignore[index]
    with router:
        async with _app() as app:
            handle = await app.export()
            assert isinstance(handle, JobHandle)
            with anyio.fail_after(5):
                outcome = await handle
    assert isinstance(outcome, JobOutcome)
    assert outcome.status == "completed"
    assert dict(outcome.output) == {"downloadUrls": ["u"]}


@pytest.mark.anyio
async def test_import_jobs_tracked_through_import_logs(respx_mock: respx.MockRouter) -> None:
    """Jobs: import-like actions are tracked through importLogs."""
    respx_mock.post(APP_PATH + "/import").respond(202, json=ENQUEUED)
    logs = respx_mock.get(APP_PATH + "/importLogs").respond(
        200,
        json=[
            {
                "id": "f" * 24,
                "jobId": JOB_ID,
                "applicationId": APP_ID,
                "status": "completed",
                "runQueuedAt": datetime.now(UTC).isoformat(),
            }
        ],
    )
    async with _app() as app:
        handle = await app.import_(b"PK")
        assert isinstance(handle, JobHandle)
        assert (await handle.status()).status == "completed"
    assert logs.called


# -- Jobs (local Losant) ------------------------------------------------------------------------


@pytest.fixture
def job_app(local_server: LocalLosant) -> Iterator[Callable[..., AsyncApplication]]:
    """Façades, each on a fresh local application whose export always answers 202.

    One job per application: exports of one application enqueued within the
    clock-skew window of each other are rightly ambiguous (API.md "Jobs").
    """

    def make(**kwargs: Any) -> AsyncApplication:
        app_id = local_server.create_application(name="Big", requires_job=True)
        return AsyncApplication(
            app_id, token=local_server.token, base_url=local_server.base_url, **kwargs
        )

    yield make
    local_server.faults.clear()
    local_server.job_duration = 0.05


@pytest.mark.anyio
async def test_await_handle_same_as_wait(job_app: Callable[..., AsyncApplication]) -> None:
    """Jobs: `await handle` polls until terminal and returns a JobOutcome, as wait() does."""
    async with job_app() as app, job_app() as other:
        first = await app.export()
        second = await other.export()
        assert isinstance(first, JobHandle)
        assert isinstance(second, JobHandle)
        with anyio.fail_after(15):
            awaited = await first
            waited = await second.wait(poll_interval=0.02)
    for outcome in (awaited, waited):
        assert isinstance(outcome, JobOutcome)
        assert outcome.status == "completed"
        assert outcome.started_at is not None
        assert outcome.completed_at is not None
        assert outcome.error is None
        assert "downloadUrls" in outcome.output


@pytest.mark.anyio
async def test_failed_job_wait_raises_progress_does_not(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Details/Jobs: a failed job makes wait() raise JobFailedError(.outcome); progress() ends after
    the terminal state without raising."""
    local_server.faults.fail_job("export", times=2, message="disk full")
    async with job_app() as app, job_app() as other:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        updates: list[JobProgress] = []
        with anyio.fail_after(15):
            async for update in handle.progress(poll_interval=0.02):
                updates.append(update)
        assert updates[-1].status == "errored"
        assert all(isinstance(u, JobProgress) for u in updates)
        again = await other.export()
        assert isinstance(again, JobHandle)
        with anyio.fail_after(15), pytest.raises(JobFailedError) as info:
            await again.wait(poll_interval=0.02)
    outcome = info.value.outcome
    assert isinstance(outcome, JobOutcome)
    assert outcome.status == "errored"
    assert type(outcome.status) is str
    assert outcome.error is not None
    assert outcome.error.message == "disk full"


@pytest.mark.anyio
async def test_status_polls_once_returns_progress(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Details/Jobs: await handle.status() makes one poll and returns a JobProgress."""
    local_server.job_duration = 30
    async with job_app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        progress = await handle.status()
    assert isinstance(progress, JobProgress)
    assert progress.status in {"queued", "inProgress", "running"}
    assert type(progress.status) is str


@pytest.mark.anyio
async def test_wait_timeout_raises_timeout_error(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Jobs: a wait timeout raises TimeoutError."""
    local_server.job_duration = 30
    async with job_app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        start = anyio.current_time()
        with anyio.fail_after(10), pytest.raises(TimeoutError):
            await handle.wait(timeout=0.3, poll_interval=0.05)
    assert anyio.current_time() - start < 5


@pytest.mark.anyio
async def test_apply_template_and_import_actions_real_http(
    local_app: Callable[..., AsyncApplication],
) -> None:
    """Details/Jobs: applyTemplate and import handles carry their API action names and complete."""
    async with local_app() as app:
        handle = await app.apply_template(template_id="5d6c3b0a1b2c3d4e5f607182")
        assert isinstance(handle, JobHandle)
        assert handle.action == "applyTemplate"
        with anyio.fail_after(15):
            outcome = await handle.wait(poll_interval=0.02)
    assert outcome.status == "completed"


# -- Façade lifecycle ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_standalone_and_client_facades_real_http(
    local_server: LocalLosant, app_id: str
) -> None:
    """Client and façade: a standalone AsyncApplication owns its transport; client.application
    shares the client's."""
    async with AsyncLosant(local_server.token, base_url=local_server.base_url) as client:
        app = client.application(app_id)
        assert isinstance(app, AsyncApplication)
        got = await app.get()
        patched = await app.patch(name="Renamed")
    async with AsyncApplication(
        app_id, token=local_server.token, base_url=local_server.base_url
    ) as standalone:
        again = await standalone.get()
    assert got.id == app_id
    assert patched.name == "Renamed"
    assert again.name == "Renamed"
    assert "_links" in again.extra


# -- More edges ------------------------------------------------------------------------------


def test_bad_id_message_never_echoes_the_value() -> None:
    """Errors: a token passed by mistake as the application id does not reach the error message."""
    with pytest.raises(ValueError, match="application_id") as info:
        AsyncApplication(TOKEN, token=TOKEN)
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)


def test_job_handle_signatures() -> None:
    """Jobs / Details: wait(timeout=None, poll_interval=...), progress(poll_interval=None),
    status()."""
    wait = inspect.signature(JobHandle.wait).parameters
    assert wait["timeout"].default is None
    assert wait["timeout"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "poll_interval" in wait
    progress = inspect.signature(JobHandle.progress).parameters
    assert progress["poll_interval"].default is None
    assert list(inspect.signature(JobHandle.status).parameters) == ["self"]


def test_job_value_types_fields() -> None:
    """Jobs: JobProgress has status, completed, total; JobOutcome status, started_at, completed_at,
    output, error."""
    progress = JobProgress(status="inProgress", completed=1, total=4)
    assert (progress.status, progress.completed, progress.total) == ("inProgress", 1, 4)
    outcome = JobOutcome(status="completed")
    assert outcome.started_at is None
    assert outcome.completed_at is None
    assert outcome.error is None
    assert dict(outcome.output) == {}


@pytest.mark.anyio
async def test_archive_data_naive_datetime(respx_mock: respx.MockRouter) -> None:
    """Query parameters: archive_data(date=naive datetime) sends UTC ms."""
    route = respx_mock.get(APP_PATH + "/archiveData").respond(202, json=ENQUEUED)
    async with _app() as app:
        await app.archive_data(date=datetime(2020, 1, 1))
    assert route.calls.last.request.url.params["date"] == "1577836800000"


@pytest.mark.anyio
async def test_stream_default_keep_alive_on_wire(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: the default keepAliveInterval is 2, sent as such."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(204)
    async with _app() as app, app.mqtt_subscription_stream("t") as stream:
        assert [m async for m in stream] == []
    assert route.calls.last.request.url.params["keepAliveInterval"] == "2"
    assert route.calls.last.request.extensions["timeout"]["read"] == 6.0


@pytest.mark.anyio
@pytest.mark.parametrize("kwargs", [{"reconnect": False}, {"max_reconnects": 0}])
async def test_stream_5xx_first_connect_no_reconnect_raises(
    respx_mock: respx.MockRouter, kwargs: dict[str, object]
) -> None:
    """Details/Streams: with reconnection off (or max_reconnects=0), a failing first connect raises
    its error from __aenter__."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(
        503, json={"type": "Down", "message": "down"}
    )
    async with _app() as app:
        with pytest.raises(InternalServerError):
            async with app.mqtt_subscription_stream("t", **kwargs):  # type: ignore[arg-type]
                pass  # pragma: no cover
    assert route.call_count == 1


@pytest.mark.anyio
async def test_job_polls_send_common_headers(respx_mock: respx.MockRouter) -> None:
    """Client: job polls (jobLogs) send the same auth, Accept-Version and default query as every
    request."""
    respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    logs = respx_mock.get(APP_PATH + "/jobLogs").respond(
        200, json=_logs(_log(jobId=JOB_ID, status="completed"))
    )
    async with _app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        await handle.status()
    request = logs.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept-version"] == "^1.30.0"
    assert request.url.query.decode().startswith(DEFAULT_QUERY)


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["exception", "cancel"])
async def test_stream_leaving_block_closes_connection(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication], how: str
) -> None:
    """Streams: leaving the block by an exception or a cancellation closes the HTTP connection at
    once."""
    before = local_server.open_streams
    async with local_app() as app:
        with anyio.CancelScope() as scope:
            with contextlib.suppress(KeyError):
                async with app.mqtt_subscription_stream("t") as stream:
                    await _wait_for(lambda: local_server.open_streams == before + 1)
                    if how == "cancel":
                        scope.cancel()
                        async for _ in stream:
                            pass  # pragma: no cover
                    raise KeyError("boom")
        assert stream.is_closed
        await _wait_for(lambda: local_server.open_streams == before)


@pytest.mark.anyio
async def test_read_timeout_real_http(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication]
) -> None:
    """Retries and timeouts: a slow answer past the timeout raises APITimeoutError after the
    retries."""
    local_server.faults.latency("readme", seconds=1.0, times=None)
    async with local_app(timeout=0.2, max_retries=1) as app:
        with anyio.fail_after(10), pytest.raises(APITimeoutError):
            await app.readme()


@pytest.mark.anyio
async def test_enqueue_not_retried_after_read_timeout_real_http(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Details/Retries: an export whose answer timed out is not sent again (it may have enqueued a
    job)."""
    local_server.faults.latency("export", seconds=0.6, times=None)
    app = job_app(timeout=0.2)
    async with app:
        with anyio.fail_after(10), pytest.raises(APITimeoutError):
            await app.export()
        await anyio.sleep(1.0)
    assert len(local_server.job_logs(app.application_id)) <= 1


@pytest.mark.anyio
async def test_enqueue_retried_on_429_real_http(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Details/Retries: an export refused with 429 is retried and enqueues exactly one job."""
    app = job_app()
    local_server.faults.fail("export", status=429, times=1, application_id=app.application_id)
    async with app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        with anyio.fail_after(15):
            outcome = await handle
    assert outcome.status == "completed"
    assert len(local_server.job_logs(app.application_id)) == 1


@pytest.mark.anyio
async def test_body_accepted_as_keyword(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: as the table shows (`clone(body=None)`), a body may be given as body=."""
    clone = respx_mock.post(APP_PATH + "/clone").respond(200, json={"success": True})
    patch = respx_mock.patch(APP_PATH).respond(200, json=APPLICATION)
    export = respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    template = respx_mock.patch(APP_PATH + "/applyTemplate").respond(202, json=ENQUEUED)
    async with _app() as app:
        await app.clone(body={"dryRun": True})
        await app.patch(body=ApplicationPatch(name="x"), summary_include=["deviceCount"])
        await app.export(body=ApplicationExportPost(email="a@b.co"))
        await app.apply_template(body={"templateId": "5d6c3b0a1b2c3d4e5f607182"})
        with pytest.raises(TypeError):
            await app.clone({"dryRun": True}, body={"dryRun": True})
    assert json.loads(clone.calls.last.request.content) == {"dryRun": True}
    assert json.loads(patch.calls.last.request.content) == {"name": "x"}
    assert json.loads(export.calls.last.request.content) == {"email": "a@b.co"}
    assert json.loads(template.calls.last.request.content) == {
        "templateId": "5d6c3b0a1b2c3d4e5f607182"
    }


@pytest.mark.anyio
async def test_stream_silence_reconnects_real_http(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication], app_id: str
) -> None:
    """Streams: a silent (dead) connection is re-opened, and stream.reconnects counts it."""
    local_server.faults.stall_stream(times=1, application_id=app_id)
    async with local_app() as app, app.mqtt_subscription_stream("t", keep_alive_interval=1) as s:
        got: list[MqttMessage] = []

        async def publish() -> None:
            for _ in range(100):
                await app.mqtt_publish_message("t", "alive")
                await anyio.sleep(0.1)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(publish)
                async for message in s:
                    got.append(message)
                    break
                tg.cancel_scope.cancel()
        assert s.reconnects == 1
    assert got == [MqttMessage(topic="t", message="alive")]
