"""Contract tests: API.md, The 22 actions.

Headers, query and bodies on the wire, and what each action returns.

Black-box: only the public surface (``losant_async``, ``losant_async.testing``),
httpx, respx, pytest and anyio.
"""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import respx

from losant_async import (
    Application,
    ApplicationCloneDryRunResult,
    ApplicationCreationByTemplateResult,
    ApplicationExportPost,
    ApplicationExportResult,
    ApplicationImportExecution,
    ApplicationPatch,
    AsyncApplication,
    Success,
)
from tests.conftest import TOKEN
from tests.contract.support import (
    ACTIONS,
    APP_PATH,
    APPLICATION,
    DEFAULT_QUERY,
    ENQUEUED,
    RETURNS,
    Call,
    make_app,
    multipart_parts,
    open_rb,
)


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
    async with make_app() as app:
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
    async with (
        make_app() as app,
        app.mqtt_subscription_stream("a/+/b", keep_alive_interval=3.0) as s,
    ):
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
    async with make_app() as app:
        async with app.mqtt_subscription_stream("t", keep_alive_interval=4) as s:
            assert [m async for m in s] == []
        async with app.mqtt_subscription_stream("t", keep_alive_interval=1) as s:
            assert [m async for m in s] == []
    first, second = route.calls[0].request, route.calls[1].request
    assert first.extensions["timeout"]["read"] == 12.0
    assert second.extensions["timeout"]["read"] == 3.0
    assert first.extensions["timeout"]["connect"] == 5.0


@pytest.mark.anyio
async def test_naive_datetime_is_utc(respx_mock: respx.MockRouter) -> None:
    """Details/Models: naive datetimes given as arguments are taken as UTC; ms pass through."""
    route = respx_mock.get(APP_PATH + "/deviceCounts").respond(200, json={})
    naive = datetime(2024, 1, 2, 3, 4, 5, 678000)
    aware = naive.replace(tzinfo=timezone(timedelta(hours=2)))
    async with make_app() as app:
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
    async with make_app() as app:
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
    async with make_app() as app:
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
    async with make_app() as app:
        logs = await app.import_logs(limit=5, since=datetime(1970, 1, 1, 0, 0, 1))
    params = route.calls.last.request.url.params
    assert params["limit"] == "5"
    assert params["since"] == "1000"
    assert isinstance(logs[0], ApplicationImportExecution)


@pytest.mark.anyio
async def test_body_forms_give_same_wire_body(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: a body as its model, as snake_case kwargs or as a camelCase mapping sends the
    same JSON."""
    route = respx_mock.patch(APP_PATH).respond(200, json=APPLICATION)
    async with make_app() as app:
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
    async with make_app() as app:
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
    async with make_app() as app:
        await app.patch(exp_user_token_cutoff=datetime(2024, 5, 6, 7, 8, 9))
    body = json.loads(route.calls.last.request.content)
    sent = datetime.fromisoformat(body["expUserTokenCutoff"])
    assert sent == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.mark.anyio
async def test_clone_without_options_sends_empty_object(respx_mock: respx.MockRouter) -> None:
    """Details/Bodies: clone() without options sends {}."""
    route = respx_mock.post(APP_PATH + "/clone").respond(200, json={"success": True})
    async with make_app() as app:
        result = await app.clone()
    assert route.calls.last.request.content == b"{}"
    assert route.calls.last.request.headers["content-type"] == "application/json"
    assert isinstance(result, ApplicationCloneDryRunResult)


@pytest.mark.anyio
async def test_clone_201_is_creation_result(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: clone answering 201 returns ApplicationCreationByTemplateResult."""
    respx_mock.post(APP_PATH + "/clone").respond(201, json={"application": APPLICATION})
    async with make_app() as app:
        result = await app.clone()
    assert isinstance(result, ApplicationCreationByTemplateResult)
    assert isinstance(result.application, Application)


@pytest.mark.anyio
async def test_import_path_sends_file_name(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    """Details/Bodies: a str or os.PathLike bundle is a path, sent under the file's name."""
    bundle = tmp_path / "my export.zip"
    bundle.write_bytes(b"PK\x05\x06" + bytes(18))
    route = respx_mock.post(APP_PATH + "/import").respond(200, json=APPLICATION)
    async with make_app() as app:
        await app.import_(bundle)
        await app.import_(str(bundle))
    for call in route.calls:
        parts = multipart_parts(call.request)
        assert parts["importBundle"] == ("my export.zip", b"PK\x05\x06" + bytes(18))


@pytest.mark.anyio
async def test_import_bytes_named_bundle_zip(respx_mock: respx.MockRouter) -> None:
    """Details/Bodies: bytes are sent as bundle.zip."""
    route = respx_mock.post(APP_PATH + "/import").respond(200, json=APPLICATION)
    async with make_app() as app:
        result = await app.import_(b"PKzip", email="e@x.co")
    parts = multipart_parts(route.calls.last.request)
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
    with open_rb(path) as fh, open_rb(os.open(path, os.O_RDONLY)) as by_fd:
        async with make_app() as app:
            await app.import_(fh)
            await app.import_(named)
            await app.import_(io.BytesIO(b"anon"))
            await app.import_(by_fd)
    names = [multipart_parts(c.request)["importBundle"] for c in route.calls]
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
    async with make_app() as app:
        await app.import_(options={"importUrl": "https://example.com/b.zip"})
        await app.import_(email="e@x.co")
    first = multipart_parts(route.calls[0].request)
    assert set(first) == {"options"}
    assert json.loads(first["options"][1]) == {"importUrl": "https://example.com/b.zip"}
    assert multipart_parts(route.calls[1].request) == {"email": (None, b"e@x.co")}


@pytest.mark.anyio
async def test_publish_body(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: mqtt_publish_message(topic, message) POSTs the MqttMessage body."""
    route = respx_mock.post(APP_PATH + "/mqttPublishMessage").respond(200, json={"success": True})
    async with make_app() as app:
        result = await app.mqtt_publish_message("a/b", "hello")
    assert json.loads(route.calls.last.request.content) == {"topic": "a/b", "message": "hello"}
    assert result == Success(success=True)


@pytest.mark.anyio
async def test_archive_data_naive_datetime(respx_mock: respx.MockRouter) -> None:
    """Query parameters: archive_data(date=naive datetime) sends UTC ms."""
    route = respx_mock.get(APP_PATH + "/archiveData").respond(202, json=ENQUEUED)
    async with make_app() as app:
        await app.archive_data(date=datetime(2020, 1, 1))
    assert route.calls.last.request.url.params["date"] == "1577836800000"


@pytest.mark.anyio
async def test_body_accepted_as_keyword(respx_mock: respx.MockRouter) -> None:
    """The 22 actions: as the table shows (`clone(body=None)`), a body may be given as body=."""
    clone = respx_mock.post(APP_PATH + "/clone").respond(200, json={"success": True})
    patch = respx_mock.patch(APP_PATH).respond(200, json=APPLICATION)
    export = respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    template = respx_mock.patch(APP_PATH + "/applyTemplate").respond(202, json=ENQUEUED)
    async with make_app() as app:
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
