"""with_raw_response: status, headers and request id beside the typed result (_raw.py)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator

import pytest
import respx

from losant_async import (
    APIResponseValidationError,
    Application,
    ApplicationExportResult,
    ApplicationSearchResultItem,
    AsyncApplication,
    AsyncLosant,
    ClientClosedError,
    JobHandle,
    NotFoundError,
    RawResponse,
)
from losant_async._raw import ApplicationRawResponses, RawMethod
from tests.conftest import APP_ID, BASE_URL, TOKEN
from tests.unit.test_application import APPLICATION, JOB_ENQUEUED, JOB_ID, SEARCH

pytestmark = pytest.mark.anyio

APP_PATH = f"/applications/{APP_ID}"


@pytest.fixture
async def app() -> AsyncIterator[AsyncApplication]:
    """A standalone façade on the fake base URL."""
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        yield app


async def test_raw_get_gives_status_headers_request_id_and_the_model(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """with_raw_response.get() reads the status, headers and X-Request-Id; parse() is the model."""
    route = respx_mock.get(APP_PATH).respond(
        200, json=APPLICATION, headers={"X-Request-Id": "req-1", "X-RateLimit-Remaining": "9"}
    )
    raw = await app.with_raw_response.get(summary_include=["payloadCount"])
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.request_id == "req-1"
    assert raw.headers["x-ratelimit-remaining"] == "9"
    model = raw.parse()
    assert isinstance(model, Application)
    assert model.id == APP_ID
    assert raw.content.startswith(b"{")
    assert "summaryInclude=payloadCount" in str(route.calls.last.request.url)
    assert repr(raw) == "<RawResponse [200]>"


async def test_raw_list(app: AsyncApplication, respx_mock: respx.MockRouter) -> None:
    """A list action's parse() is the decoded list; no X-Request-Id gives None."""
    respx_mock.get(f"{APP_PATH}/search").respond(200, json=SEARCH)
    raw = await app.with_raw_response.search("my")
    assert raw.request_id is None
    items = raw.parse()
    assert [type(i) for i in items] == [ApplicationSearchResultItem] * 2


async def test_raw_202_parses_to_a_job_handle(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """A 202 answer's parse() is the JobHandle the plain call returns."""
    respx_mock.post(f"{APP_PATH}/export").respond(
        202, json=JOB_ENQUEUED, headers={"X-Request-Id": "req-2"}
    )
    raw = await app.with_raw_response.export()
    assert (raw.status_code, raw.request_id) == (202, "req-2")
    handle = raw.parse()
    assert isinstance(handle, JobHandle)
    assert handle.job_id == JOB_ID


async def test_raw_200_export_parses_to_the_result(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """A 200 export's parse() is the ApplicationExportResult."""
    respx_mock.post(f"{APP_PATH}/export").respond(200, json={"url": "https://x.test/e.zip"})
    raw = await app.with_raw_response.export()
    assert isinstance(raw.parse(), ApplicationExportResult)


async def test_raw_keeps_a_malformed_answer_readable(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """A 200 that does not decode gives its status and headers; parse() raises."""
    respx_mock.get(APP_PATH).respond(200, text="<html>", headers={"X-Request-Id": "req-3"})
    raw = await app.with_raw_response.get()
    assert (raw.status_code, raw.request_id) == (200, "req-3")
    with pytest.raises(APIResponseValidationError):
        raw.parse()


async def test_raw_errors_raise_as_the_plain_call_does(
    app: AsyncApplication, respx_mock: respx.MockRouter
) -> None:
    """An error status raises its typed error, as without with_raw_response."""
    respx_mock.get(APP_PATH).respond(404, json={"type": "NotFound", "message": "gone"})
    with pytest.raises(NotFoundError):
        await app.with_raw_response.get()


async def test_raw_uses_the_facades_settings_and_pool(respx_mock: respx.MockRouter) -> None:
    """with_options(...).with_raw_response sends the copy's headers over the client's pool."""
    route = respx_mock.get(f"{APP_PATH}/readme").respond(
        200, json={"applicationId": APP_ID, "content": "x"}
    )
    async with AsyncLosant(TOKEN, base_url=BASE_URL) as client:
        app = client.application(APP_ID).with_options(extra_headers={"X-A": "1"})
        raw = await app.with_raw_response.readme()
        assert raw.parse().content == "x"
    assert route.calls.last.request.headers["x-a"] == "1"
    with pytest.raises(ClientClosedError):
        app.with_raw_response  # noqa: B018


async def test_raw_form_of_a_closed_facade_raises(respx_mock: respx.MockRouter) -> None:
    """A raw form kept past its façade's aclose() raises ClientClosedError, sending nothing."""
    route = respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    async with AsyncLosant(TOKEN, base_url=BASE_URL) as client:
        app = client.application(APP_ID)
        raw = app.with_raw_response
        await app.aclose()
        with pytest.raises(ClientClosedError):
            await raw.get()
        await client.application(APP_ID).get()
    assert route.call_count == 1


def test_every_action_has_a_raw_form() -> None:
    """Each coroutine action of the façade (22 less the stream) is on with_raw_response."""
    actions = {
        name
        for name, member in inspect.getmembers(AsyncApplication, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "aclose"
    }
    raw = {name for name in vars(ApplicationRawResponses) if not name.startswith("_")}
    assert raw == actions
    assert len(actions) == 21
    assert "mqtt_subscription_stream" not in raw
    assert isinstance(ApplicationRawResponses.get, RawMethod)


def test_overloaded_actions_are_typed_by_result() -> None:
    """The overloaded actions are the three that _raw.py types by result (ParamSpec takes one)."""
    overloaded = {
        name
        for name in vars(ApplicationRawResponses)
        if not name.startswith("_") and typing.get_overloads(getattr(AsyncApplication, name))
    }
    assert overloaded == {"apply_template", "clone", "export"}, (
        "a newly overloaded action needs its raw form typed by result in _raw.py"
    )
