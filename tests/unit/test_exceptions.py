"""The error tree: status -> class mapping through the transport, and no token anywhere."""

from __future__ import annotations

import email.utils
import time
import traceback
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
import respx

from losant_async import _exceptions, _secrets
from losant_async._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InternalServerError,
    JobAmbiguousError,
    JobFailedError,
    LosantError,
    NotFoundError,
    PermissionDeniedError,
    PoolTimeoutError,
    RateLimitError,
    ResponseTooLargeError,
    TooLargeError,
    UnprocessableEntityError,
)
from losant_async._response import Response
from losant_async._retry import RetryPolicy
from losant_async._transport import Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

PATH = f"/applications/{APP_ID}"


async def _fail(router: respx.MockRouter, response: httpx.Response) -> APIStatusError:
    """Answer one GET with ``response`` and return the error the transport raised."""
    router.get(PATH).mock(return_value=response)
    async with Transport(token=TOKEN, base_url=BASE_URL, timeout=5, max_retries=0) as transport:
        with pytest.raises(APIStatusError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.NEVER)
    return info.value


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "BadRequest", BadRequestError),
        (401, "Unauthorized", AuthenticationError),
        (403, "Forbidden", PermissionDeniedError),
        (404, "NotFound", NotFoundError),
        (409, "Conflict", ConflictError),
        (413, "PayloadTooLarge", TooLargeError),
        (422, "UnprocessableEntity", UnprocessableEntityError),
        (429, "TooManyRequests", RateLimitError),
        (500, "InternalError", InternalServerError),
        (503, "ServiceUnavailable", InternalServerError),
        (408, "RequestTimeout", APIStatusError),
        (418, "Teapot", APIStatusError),
    ],
)
async def test_status_maps_to_error_class(
    respx_mock: respx.MockRouter, status: int, error_type: str, cls: type[APIStatusError]
) -> None:
    """Each error status raises its class with status_code, Losant's type and message, body."""
    body = {"type": error_type, "message": f"{error_type} happened"}
    error = await _fail(respx_mock, httpx.Response(status, json=body))
    assert type(error) is cls
    assert error.status_code == status
    assert error.type == error_type
    assert error.message == f"{error_type} happened"
    assert error.body == body
    assert error.request_id is None
    assert str(error) == f"{status} {error_type}: {error_type} happened"


@pytest.mark.anyio
async def test_request_id_comes_from_header(respx_mock: respx.MockRouter) -> None:
    """X-Request-Id of an error response is the error's request_id."""
    response = httpx.Response(
        404, json={"type": "NotFound", "message": "x"}, headers={"X-Request-Id": "abc-123"}
    )
    error = await _fail(respx_mock, response)
    assert isinstance(error, NotFoundError)
    assert error.request_id == "abc-123"


@pytest.mark.anyio
async def test_unprocessable_entity_validation_errors(respx_mock: respx.MockRouter) -> None:
    """A 422 exposes the body's validationErrors list."""
    items = [
        {"type": "Device", "name": "d1", "id": "1", "message": "bad"},
        {"type": "Workflow", "name": "w", "id": "2", "message": "worse"},
    ]
    body = {"type": "Validation", "message": "Too many errors", "validationErrors": items}
    error = await _fail(respx_mock, httpx.Response(422, json=body))
    assert isinstance(error, UnprocessableEntityError)
    assert error.validation_errors == items


@pytest.mark.anyio
async def test_rate_limit_retry_after_seconds(respx_mock: respx.MockRouter) -> None:
    """A 429's Retry-After in seconds becomes retry_after as a float."""
    response = httpx.Response(429, json={"type": "TooMany"}, headers={"Retry-After": "7"})
    error = await _fail(respx_mock, response)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert error.message == "HTTP 429"


@pytest.mark.anyio
async def test_rate_limit_retry_after_http_date(respx_mock: respx.MockRouter) -> None:
    """A 429's Retry-After as an HTTP-date becomes seconds from now."""
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    error = await _fail(respx_mock, httpx.Response(429, headers={"Retry-After": date}))
    assert isinstance(error, RateLimitError)
    assert error.retry_after is not None
    assert 27.0 <= error.retry_after <= 30.0


@pytest.mark.anyio
async def test_rate_limit_without_retry_after(respx_mock: respx.MockRouter) -> None:
    """A 429 without Retry-After has retry_after None."""
    error = await _fail(respx_mock, httpx.Response(429))
    assert isinstance(error, RateLimitError)
    assert error.retry_after is None
    assert error.body is None


@pytest.mark.anyio
async def test_502_html_is_internal_server_error_with_snippet(
    respx_mock: respx.MockRouter,
) -> None:
    """An error status wins over an unparseable body: a 502 HTML page keeps a bounded snippet."""
    page = "<html><body>Bad Gateway" + "." * 3000 + "</body></html>"
    error = await _fail(respx_mock, httpx.Response(502, html=page))
    assert type(error) is InternalServerError
    assert error.status_code == 502
    assert error.type is None
    assert error.message == "HTTP 502"
    assert error.body == page[:1024]


@pytest.mark.anyio
async def test_408_has_no_class_of_its_own(respx_mock: respx.MockRouter) -> None:
    """A 408 raises APIStatusError itself."""
    error = await _fail(respx_mock, httpx.Response(408, text="timeout"))
    assert type(error) is APIStatusError
    assert error.status_code == 408
    assert error.body == "timeout"


@pytest.mark.anyio
async def test_token_in_error_body_is_redacted(respx_mock: respx.MockRouter) -> None:
    """A server message quoting the token is redacted in message, str and repr."""
    body = {"type": "Unauthorized", "message": f"token {TOKEN} is not valid"}
    error = await _fail(respx_mock, httpx.Response(401, json=body))
    assert error.message == "token *** is not valid"
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    text_error = await _fail(respx_mock, httpx.Response(500, text=f"Authorization: Bearer {TOKEN}"))
    assert TOKEN not in str(text_error.body)


@pytest.mark.anyio
async def test_connection_error_message_is_redacted(respx_mock: respx.MockRouter) -> None:
    """An httpx error whose message quotes a bearer token is translated without the token."""
    respx_mock.get(PATH).mock(side_effect=httpx.ConnectError(f"proxy said Bearer {TOKEN}"))
    async with Transport(token=TOKEN, base_url=BASE_URL, timeout=5, max_retries=0) as transport:
        with pytest.raises(APIConnectionError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
    assert type(info.value) is APIConnectionError
    assert info.value.message == "Connection error (ConnectError): proxy said Bearer ***"
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)


async def _instances(router: respx.MockRouter) -> list[BaseException]:
    """One instance of every error class, each made the way the library makes it."""
    errors: list[BaseException] = []
    for status in (400, 401, 403, 404, 409, 413, 422, 429, 500, 408):
        body = {"type": "X", "message": f"Bearer {TOKEN} {TOKEN}"}
        errors.append(_exceptions.make_status_error(status, body, token=TOKEN))
    chained = httpx.ConnectError(f"failed for {TOKEN}")
    chained.__context__ = OSError(f"socket said Bearer {TOKEN}")
    router.get(PATH).mock(
        side_effect=[
            chained,
            httpx.ReadTimeout(f"slow for {TOKEN}"),
            httpx.PoolTimeout(f"no slot for {TOKEN}"),
            httpx.Response(200, text=f"not json {TOKEN}"),
        ]
    )
    transport = Transport(
        token=TOKEN, base_url=BASE_URL, timeout=5, max_retries=0, max_response_bytes=10**6
    )
    for _ in range(3):
        try:
            await transport.request("GET", PATH, retry=RetryPolicy.NEVER)
        except APIConnectionError as exc:
            errors.append(exc)
    response = await transport.request("GET", PATH, retry=RetryPolicy.NEVER)
    try:
        response.json()
    except APIResponseValidationError as exc:
        errors.append(exc)
    await transport.aclose()
    try:
        await transport.request("GET", PATH, retry=RetryPolicy.NEVER)
    except ClientClosedError as exc:
        errors.append(exc)
    outcome = SimpleNamespace(status="failed", error="boom")
    errors.append(JobFailedError(cast(Any, outcome)))
    errors.append(JobAmbiguousError("two logs match", candidates=["a", "b"]))
    errors.append(APIError("generic"))
    errors.append(LosantError("root"))
    errors.append(ResponseTooLargeError(f"too large for {TOKEN}", limit=10))
    return errors


@pytest.mark.anyio
async def test_token_never_in_any_error_class(respx_mock: respx.MockRouter) -> None:
    """No class of the error tree shows the token in str or repr, and every class is covered."""
    errors = await _instances(respx_mock)
    for error in errors:
        assert TOKEN not in str(error), type(error)
        assert TOKEN not in repr(error), type(error)
        # Every attribute, the body included (issue 11, defect 4), and the
        # traceback with its chained causes and contexts.
        for name, value in vars(error).items():
            assert TOKEN not in str(value), (type(error), name)
        formatted = "".join(traceback.format_exception(error))
        assert TOKEN not in formatted, type(error)
    covered = {type(error).__name__ for error in errors}
    assert covered == set(_exceptions.__all__)


def test_hierarchy() -> None:
    """The tree is as drawn: timeouts are connection errors, statuses are API errors."""
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(APIResponseValidationError, APIError)
    assert issubclass(ClientClosedError, LosantError)
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
        assert issubclass(cls, LosantError)


@pytest.mark.anyio
async def test_every_string_of_a_status_error_is_redacted(respx_mock: respx.MockRouter) -> None:
    """type, message, body (nested JSON too), request_id and validation_errors carry no token."""
    body = {
        "type": f"Bad{TOKEN}",
        "message": f"Bearer {TOKEN}",
        "validationErrors": [{"type": "x", "message": f"token {TOKEN} rejected"}],
        "nested": {TOKEN: [f"a {TOKEN}", {"deep": TOKEN}], "n": 3},
    }
    error = await _fail(
        respx_mock, httpx.Response(422, json=body, headers={"X-Request-Id": f"r-{TOKEN}"})
    )
    assert isinstance(error, UnprocessableEntityError)
    assert error.type == "Bad***"
    assert error.request_id == "r-***"
    assert error.validation_errors == [{"type": "x", "message": "token *** rejected"}]
    assert error.body == {
        "type": "Bad***",
        "message": "Bearer ***",
        "validationErrors": [{"type": "x", "message": "token *** rejected"}],
        "nested": {"***": ["a ***", {"deep": "***"}], "n": 3},
    }
    for text in (str(error), repr(error), "".join(traceback.format_exception(error))):
        assert TOKEN not in text


@pytest.mark.anyio
@pytest.mark.parametrize("offset", range(1008, 1030, 3))
async def test_token_straddling_the_snippet_limit_leaves_no_prefix(
    respx_mock: respx.MockRouter, offset: int
) -> None:
    """Redaction comes before truncation: a token across the 1,024 limit leaves no piece of it."""
    text = "x" * offset + TOKEN + "y" * 2000
    error = await _fail(respx_mock, httpx.Response(502, text=text))
    assert isinstance(error.body, str)
    assert len(error.body) == 1024
    assert TOKEN[:4] not in error.body
    response = _transport_response(text.encode())
    with pytest.raises(APIResponseValidationError) as info:
        response.json()
    assert TOKEN[:4] not in info.value.body_snippet


def _transport_response(content: bytes) -> Response:
    return Response(200, httpx.Headers(), content, token=TOKEN)


@pytest.mark.anyio
async def test_decoding_error_snippet_is_redacted_without_the_transports_help(
    respx_mock: respx.MockRouter,
) -> None:
    """A model that does not fit quotes a body snippet without a token the transport has sent."""
    from losant_async import AsyncApplication

    respx_mock.get(f"{PATH}/readme").respond(200, json={"content": 5, "note": TOKEN})
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        with pytest.raises(APIResponseValidationError) as info:
            await app.readme()
    assert TOKEN not in info.value.body_snippet
    assert TOKEN not in "".join(traceback.format_exception(info.value))


@pytest.mark.anyio
async def test_chained_cause_with_the_token_is_replaced(respx_mock: respx.MockRouter) -> None:
    """An httpx error quoting the token is chained as a redacted stand-in of the same type."""
    original = httpx.ReadError(f"peer sent {TOKEN}")
    original.__cause__ = OSError(f"errno 104 {TOKEN}")
    respx_mock.get(PATH).mock(side_effect=original)
    async with Transport(token=TOKEN, base_url=BASE_URL, timeout=5, max_retries=0) as transport:
        with pytest.raises(APIConnectionError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
    cause = info.value.__cause__
    assert type(cause) is httpx.ReadError
    assert str(cause) == "peer sent ***"
    assert cause.__cause__ is None
    assert info.value.__suppress_context__
    assert TOKEN not in "".join(traceback.format_exception(info.value))


@pytest.mark.anyio
async def test_pool_timeout_error_class() -> None:
    """PoolTimeoutError is an APITimeoutError; ResponseTooLargeError an APIError with .limit."""
    assert issubclass(PoolTimeoutError, APITimeoutError)
    error = ResponseTooLargeError("big", limit=5)
    assert isinstance(error, APIError)
    assert error.limit == 5


def test_short_tokens_are_not_redacted_process_wide() -> None:
    """A placeholder token shorter than 8 characters does not blank that text everywhere."""
    _secrets.remember_secret("t")
    _secrets.remember_secret("tok_remembered_77")
    assert _secrets.redact("test tok_remembered_77") == "test ***"
    assert APIError("a test").message == "a test"


# --- errors say which request (issue 13, point 6) ---------------------------------

QUERY = "_actions=false&_links=true&_embedded=true"


async def _connection_error(
    router: respx.MockRouter, exc: Exception, *, retries: int = 2, **kwargs: Any
) -> APIConnectionError:
    router.get(PATH).mock(side_effect=exc)
    async with Transport(
        token=TOKEN, base_url=BASE_URL, timeout=5, max_retries=retries, **kwargs
    ) as transport:
        with pytest.raises(APIConnectionError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
    return info.value


@pytest.mark.anyio
async def test_connection_error_names_request_and_attempts(respx_mock: respx.MockRouter) -> None:
    """A connection error carries .method, .url and .attempts; str() names all three."""
    error = await _connection_error(respx_mock, httpx.ConnectError("refused"))
    assert (error.method, error.url, error.attempts) == ("GET", f"{BASE_URL}{PATH}?{QUERY}", 3)
    assert error.message == "Connection error (ConnectError): refused"
    assert str(error) == (
        f"Connection error (ConnectError): refused [GET {BASE_URL}{PATH}?{QUERY}; after 3 attempts]"
    )
    assert TOKEN not in str(error) + repr(error)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "limit"),
    [
        (httpx.ConnectTimeout("slow"), "connect timeout 2 s"),
        (httpx.ReadTimeout("slow"), "read timeout 5 s"),
        (httpx.WriteTimeout("slow"), "write timeout 5 s"),
    ],
)
async def test_timeout_error_names_the_limit_that_fired(
    respx_mock: respx.MockRouter, exc: Exception, limit: str
) -> None:
    """A timeout names the phase and its seconds, the request and the attempts made."""
    respx_mock.get(PATH).mock(side_effect=exc)
    timeout = httpx.Timeout(5, connect=2)
    async with Transport(token=TOKEN, base_url=BASE_URL, timeout=timeout) as transport:
        with pytest.raises(APITimeoutError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
    text = str(info.value)
    assert text.startswith(f"Request timed out ({type(exc).__name__}).")
    assert f"GET {BASE_URL}{PATH}?{QUERY}" in text
    assert limit in text
    assert "after 3 attempts" in text


@pytest.mark.anyio
async def test_single_attempt_is_singular(respx_mock: respx.MockRouter) -> None:
    """With retries off the message says "after 1 attempt"."""
    error = await _connection_error(respx_mock, httpx.ReadError("reset"), retries=0)
    assert str(error).endswith("; after 1 attempt]")


@pytest.mark.anyio
async def test_pool_timeout_names_max_connections_and_request(
    respx_mock: respx.MockRouter,
) -> None:
    """A pool timeout keeps its max_connections message and adds the request."""
    error = await _connection_error(
        respx_mock, httpx.PoolTimeout("busy"), limits=httpx.Limits(max_connections=7)
    )
    assert isinstance(error, PoolTimeoutError)
    assert "limits.max_connections=7" in error.message
    assert f"[GET {BASE_URL}{PATH}?{QUERY}; after 1 attempt]" in str(error)


@pytest.mark.anyio
async def test_status_error_carries_method_and_url(respx_mock: respx.MockRouter) -> None:
    """An APIStatusError carries the method and URL of the request it answers."""
    error = await _fail(respx_mock, httpx.Response(404, json={"type": "NotFound", "message": "x"}))
    assert (error.method, error.url) == ("GET", f"{BASE_URL}{PATH}?{QUERY}")
    assert str(error) == "404 NotFound: x"  # unchanged


@pytest.mark.anyio
async def test_validation_error_carries_method_and_url(respx_mock: respx.MockRouter) -> None:
    """An APIResponseValidationError, from bad JSON or from decoding, names the request."""
    from losant_async import AsyncApplication

    respx_mock.get(PATH).respond(200, text="<html>")
    respx_mock.get(f"{PATH}/readme").respond(200, json={"content": 5})
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        with pytest.raises(APIResponseValidationError) as bad_json:
            await app.get()
        with pytest.raises(APIResponseValidationError) as bad_shape:
            await app.readme()
    assert (bad_json.value.method, bad_json.value.url) == ("GET", f"{BASE_URL}{PATH}?{QUERY}")
    assert bad_shape.value.url == f"{BASE_URL}{PATH}/readme?{QUERY}"


@pytest.mark.anyio
async def test_stream_errors_carry_method_and_url(respx_mock: respx.MockRouter) -> None:
    """A stream's error status and connect failure name the stream request."""
    stream_path = f"{PATH}/mqttSubscriptionStream"
    respx_mock.get(stream_path).mock(
        side_effect=[httpx.Response(403, json={"type": "Forbidden"}), httpx.ConnectError("no")]
    )
    async with Transport(token=TOKEN, base_url=BASE_URL, timeout=5) as transport:
        with pytest.raises(PermissionDeniedError) as denied:
            await transport.open_stream(stream_path, params=[("topic", "a")])
        with pytest.raises(APIConnectionError) as failed:
            await transport.open_stream(stream_path, params=[("topic", "a")])
    assert (denied.value.method, denied.value.url) == ("GET", f"{BASE_URL}{stream_path}?topic=a")
    assert str(failed.value).endswith(f"[GET {BASE_URL}{stream_path}?topic=a; after 1 attempt]")


@pytest.mark.anyio
async def test_url_drops_user_info(respx_mock: respx.MockRouter) -> None:
    """A base_url's user info never shows in an error's url or message."""
    respx_mock.get(PATH).mock(side_effect=httpx.ConnectError("refused"))
    base = BASE_URL.replace("https://", "https://me:hunter2@")
    async with Transport(token=TOKEN, base_url=base, timeout=5, max_retries=0) as transport:
        with pytest.raises(APIConnectionError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
    assert info.value.url == f"{BASE_URL}{PATH}?{QUERY}"
    assert "hunter2" not in str(info.value)


def test_errors_made_alone_have_no_request() -> None:
    """An error made outside a request has method, url (and attempts) None; str is the message."""
    for error in (
        APIConnectionError(),
        APITimeoutError(),
        PoolTimeoutError(),
        APIStatusError("x", status_code=418),
        APIResponseValidationError("x", status_code=200),
        ResponseTooLargeError("x", limit=1),
    ):
        assert (error.method, error.url) == (None, None)
    assert str(APITimeoutError()) == "Request timed out."
    assert APIConnectionError().attempts is None


@pytest.mark.anyio
async def test_too_large_error_carries_method_and_url(respx_mock: respx.MockRouter) -> None:
    """A ResponseTooLargeError names the request whose body was too large."""
    respx_mock.get(PATH).respond(200, content=b"x" * 100)
    async with Transport(token=TOKEN, base_url=BASE_URL, max_response_bytes=10) as transport:
        with pytest.raises(ResponseTooLargeError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
    assert (info.value.method, info.value.url) == ("GET", f"{BASE_URL}{PATH}?{QUERY}")


@pytest.mark.anyio
async def test_unexpected_status_error_carries_method_and_url(
    respx_mock: respx.MockRouter,
) -> None:
    """An action that must enqueue but is answered 200 raises an error naming the request."""
    from losant_async import AsyncApplication

    respx_mock.get(f"{PATH}/archiveData").respond(200, json={"success": True})
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        with pytest.raises(APIResponseValidationError) as info:
            await app.archive_data(date=0)
    assert info.value.method == "GET"
    assert (info.value.url or "").startswith(f"{BASE_URL}{PATH}/archiveData?")


def test_a_short_token_is_masked_as_a_token_not_inside_words() -> None:
    """A short token is blanked where it stands alone, and other words keep their letters."""
    text = "Connection error for token abc (abcdef was fine); Bearer abc"
    assert (
        _secrets.redact(text, "abc")
        == "Connection error for token *** (abcdef was fine); Bearer ***"
    )
    assert "abc" not in _secrets.redact("abc", "abc")
    long_token = "x" * 40
    assert _secrets.redact(f"id{long_token}id", long_token) == "id***id"
