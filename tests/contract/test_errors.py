"""Contract tests: API.md, Errors: the classes, their fields, and no token anywhere.

Black-box: only the public surface (``losant_async``, ``losant_async.testing``),
httpx, respx, pytest and anyio.
"""

from __future__ import annotations

import email
import email.message
import email.utils
import json
import logging
import time

import httpx
import pytest
import respx

from losant_async import (
    APIResponseValidationError,
    APIStatusError,
    AsyncLosant,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LosantError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TooLargeError,
    UnprocessableEntityError,
)
from tests.conftest import APP_ID, BASE_URL, TOKEN
from tests.contract.support import (
    APP_PATH,
    ENQUEUED,
    make_app,
)

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
    async with make_app(max_retries=0) as app:
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
    async with make_app() as app:
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
    async with make_app() as app:
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
    async with make_app(max_retries=0) as app:
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
    async with make_app(max_retries=0) as app:
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
    async with make_app(max_retries=0) as app:
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
    async with make_app() as app:
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
    async with make_app() as app:
        with pytest.raises(APIResponseValidationError) as info:
            await app.get()
    assert info.value.status_code == 200


@pytest.mark.anyio
async def test_not_json_202_is_validation_error(respx_mock: respx.MockRouter) -> None:
    """Errors: a 202 whose body is not JSON raises APIResponseValidationError with status 202."""
    respx_mock.post(APP_PATH + "/export").respond(202, text="<html>accepted</html>")
    async with make_app() as app:
        with pytest.raises(APIResponseValidationError) as info:
            await app.export()
    assert info.value.status_code == 202


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
    async with make_app() as standalone:
        seen += [repr(standalone), str(standalone)]
    seen += [r.getMessage() for r in caplog.records]
    assert seen
    for text in seen:
        assert TOKEN not in text
