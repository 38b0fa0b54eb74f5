"""The transport: wire format, retries, backoff, streams, multipart and lifecycle."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx

from losant_async import _proxy_env, _response, _retry, _transport
from losant_async._constants import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)
from losant_async._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    InternalServerError,
    RateLimitError,
)
from losant_async._multipart import Multipart
from losant_async._response import StreamResponse
from losant_async._retry import (
    RetryPolicy,
    backoff,
    parse_retry_after,
    should_retry,
)
from losant_async._transport import Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

PATH = f"/applications/{APP_ID}"
SAFE, ENQUEUE, NEVER = RetryPolicy.SAFE, RetryPolicy.ENQUEUE, RetryPolicy.NEVER
DEFAULT_QUERY = b"_actions=false&_links=true&_embedded=true"

pytestmark = pytest.mark.anyio


def make(**kwargs: object) -> Transport:
    options: dict[str, object] = {"token": TOKEN, "base_url": BASE_URL, "max_retries": 2}
    options.update(kwargs)
    return Transport(**options)  # type: ignore[arg-type]


class _Sleeps:
    """Records the delays the retry loop asks for, without sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> _Sleeps:
    """Every retry sleep is recorded instead of slept."""
    recorder = _Sleeps()
    monkeypatch.setattr(_transport, "_sleep", recorder)
    return recorder


@pytest.fixture
def real_delays() -> Iterator[None]:
    """Delays are computed as in production (the conftest zeroes them)."""
    _retry.set_testing(zero_delay=False)
    yield
    _retry.set_testing(zero_delay=True)


# --- wire format -------------------------------------------------------------


async def test_headers_and_query_are_exact(respx_mock: respx.MockRouter) -> None:
    """Every request sends bearer auth, JSON accept, API version, and the default query first."""
    route = respx_mock.get(PATH).mock(return_value=httpx.Response(200, json={"ok": True}))
    async with make(headers={"losantdomain": "example.com"}) as transport:
        response = await transport.request(
            "GET", PATH, retry=SAFE, params=[("summaryInclude", "a,b"), ("limit", "5")]
        )
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    request = route.calls.last.request
    assert request.url.path == PATH
    assert request.url.query == DEFAULT_QUERY + b"&summaryInclude=a%2Cb&limit=5"
    assert dict(request.headers) == {
        "host": "api.losant.test",
        "accept": "application/json",
        "accept-version": "^1.30.0",
        "user-agent": "losant-async",
        "authorization": f"Bearer {TOKEN}",
        "losantdomain": "example.com",
    }


async def test_no_authorization_without_token(respx_mock: respx.MockRouter) -> None:
    """A transport without a token sends no Authorization header at all."""
    route = respx_mock.get(PATH).mock(return_value=httpx.Response(200, json={}))
    async with make(token=None) as transport:
        await transport.request("GET", PATH, retry=SAFE)
    assert "authorization" not in route.calls.last.request.headers
    assert route.calls.last.request.url.query == DEFAULT_QUERY


async def test_base_url_trailing_slash_and_per_call_headers(respx_mock: respx.MockRouter) -> None:
    """The base URL loses its trailing slash; per-call headers replace defaults by any case."""
    route = respx_mock.get(PATH).mock(return_value=httpx.Response(200, json={}))
    async with make(base_url=BASE_URL + "/") as transport:
        assert transport.base_url == BASE_URL
        await transport.request("GET", PATH, retry=SAFE, headers={"accept": "text/plain"})
    assert route.calls.last.request.headers.get_list("accept") == ["text/plain"]


async def test_json_body_is_compact_utf8(respx_mock: respx.MockRouter) -> None:
    """A json= body is sent as compact UTF-8 JSON with its content type; no json= sends no body."""
    route = respx_mock.patch(f"{PATH}/readme").mock(return_value=httpx.Response(200, json={}))
    async with make() as transport:
        await transport.request(
            "PATCH", f"{PATH}/readme", retry=SAFE, json={"content": "é", "n": [1, 2]}
        )
        assert route.calls.last.request.content == '{"content":"é","n":[1,2]}'.encode()
        assert route.calls.last.request.headers["content-type"] == "application/json"
        await transport.request("PATCH", f"{PATH}/readme", retry=SAFE)
        assert route.calls.last.request.content == b""
        assert "content-type" not in route.calls.last.request.headers


async def test_timeout_is_set_on_the_request(respx_mock: respx.MockRouter) -> None:
    """A float timeout applies to every phase through the request's timeout extension."""
    route = respx_mock.get(PATH).mock(return_value=httpx.Response(200, json={}))
    async with make(timeout=7.5) as transport:
        await transport.request("GET", PATH, retry=SAFE)
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}


async def test_non_json_200_raises_validation_error(respx_mock: respx.MockRouter) -> None:
    """A 200 whose body is not JSON raises APIResponseValidationError with a bounded snippet."""
    body = "<html>" + "x" * 5000 + f" Bearer {TOKEN}</html>"
    respx_mock.get(PATH).mock(return_value=httpx.Response(200, text=body))
    async with make() as transport:
        response = await transport.request("GET", PATH, retry=SAFE)
    with pytest.raises(APIResponseValidationError) as info:
        response.json()
    assert info.value.status_code == 200
    assert info.value.body_snippet == body[:1024]
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)


async def test_validation_error_snippet_redacts_token() -> None:
    """The snippet of an unparseable body never quotes the transport's token."""
    response = _response.Response(200, httpx.Headers(), f"oops {TOKEN}".encode(), token=TOKEN)
    with pytest.raises(APIResponseValidationError) as info:
        response.json()
    assert info.value.body_snippet == "oops ***"
    assert repr(response) == ("Response(status_code=200, headers=Headers({}), content=<22 bytes>)")


# --- retries -------------------------------------------------------------------


def test_should_retry_table() -> None:
    """SAFE retries 408/429/5xx and transport errors; ENQUEUE only connect errors and 429."""
    request = httpx.Request("GET", BASE_URL)
    connect = httpx.ConnectError("refused", request=request)
    connect_timeout = httpx.ConnectTimeout("slow", request=request)
    read = httpx.ReadError("reset", request=request)
    read_timeout = httpx.ReadTimeout("slow", request=request)
    for status in (408, 429, 500, 502, 503, 504):
        assert should_retry(SAFE, status)
    for status in (400, 401, 403, 404, 409, 413, 422):
        assert not should_retry(SAFE, status)
        assert not should_retry(ENQUEUE, status)
    assert should_retry(ENQUEUE, 429)
    for status in (408, 500, 503):
        assert not should_retry(ENQUEUE, status)
    for exc in (connect, connect_timeout, read, read_timeout):
        assert should_retry(SAFE, exc)
        assert not should_retry(NEVER, exc)
    assert should_retry(ENQUEUE, connect)
    assert should_retry(ENQUEUE, connect_timeout)
    assert not should_retry(ENQUEUE, read)
    assert not should_retry(ENQUEUE, read_timeout)
    # The translated error is judged by its httpx cause.
    translated = APIConnectionError("x")
    translated.__cause__ = connect
    assert should_retry(ENQUEUE, translated)
    translated.__cause__ = read
    assert not should_retry(ENQUEUE, translated)
    assert not should_retry(NEVER, 429)
    assert not should_retry(NEVER, 503)


def test_backoff_is_jittered_exponential_and_capped() -> None:
    """Backoff doubles from INITIAL_RETRY_DELAY up to MAX_RETRY_DELAY, less up to 25% jitter."""
    for attempt in range(12):
        expected = min(INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
        for _ in range(20):
            assert 0.75 * expected <= backoff(attempt, None) <= expected
    assert backoff(3, 2.5) == 2.5
    assert backoff(0, 0.0) == 0.0
    # Beyond MAX_RETRY_AFTER the header is not honoured.
    assert backoff(0, MAX_RETRY_AFTER + 1) <= INITIAL_RETRY_DELAY


def test_parse_retry_after_seconds_and_http_date() -> None:
    """Retry-After is read as seconds or as an HTTP-date measured from now; junk is None."""
    assert parse_retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert parse_retry_after(httpx.Headers({"Retry-After": " 1.5 "})) == 1.5
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    date = httpx.Headers({"Retry-After": "Tue, 14 Nov 2023 22:13:30 GMT"})
    assert parse_retry_after(date, now=now) == 10.0
    past = httpx.Headers({"Retry-After": "Tue, 14 Nov 2023 22:00:00 GMT"})
    assert parse_retry_after(past, now=now) == 0.0
    for junk in ("soon", "-1", "nan", "1e3", ""):
        assert parse_retry_after(httpx.Headers({"Retry-After": junk})) is None
    assert parse_retry_after(httpx.Headers()) is None


async def test_safe_retries_503_then_succeeds(
    respx_mock: respx.MockRouter, sleeps: _Sleeps
) -> None:
    """SAFE requests retry a 503 and return the later success, sleeping zero in tests."""
    route = respx_mock.get(PATH).mock(
        side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"a": 1})]
    )
    async with make() as transport:
        response = await transport.request("GET", PATH, retry=SAFE)
    assert response.json() == {"a": 1}
    assert route.call_count == 3
    assert sleeps.delays == [0.0, 0.0]


async def test_safe_gives_up_after_max_retries(respx_mock: respx.MockRouter) -> None:
    """After max_retries retries the last error status is raised."""
    route = respx_mock.get(PATH).mock(return_value=httpx.Response(500, json={"message": "x"}))
    async with make(max_retries=2) as transport:
        with pytest.raises(InternalServerError):
            await transport.request("GET", PATH, retry=SAFE)
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("effect", "error"),
    [
        (lambda: httpx.Response(500), InternalServerError),
        (lambda: httpx.Response(408), APIStatusError),
        (lambda: httpx.Response(503), InternalServerError),
        (lambda: httpx.ReadError("reset"), APIConnectionError),
        (lambda: httpx.ReadTimeout("slow"), APITimeoutError),
    ],
    ids=["500", "408", "503", "read-error", "read-timeout"],
)
async def test_enqueue_never_retries_after_server_saw_it(
    respx_mock: respx.MockRouter,
    effect: Callable[[], httpx.Response | Exception],
    error: type[Exception],
) -> None:
    """ENQUEUE requests are not repeated on 5xx, 408 or read failures: the job may exist."""
    route = respx_mock.post(f"{PATH}/export").mock(side_effect=[effect()])
    async with make(max_retries=3) as transport:
        with pytest.raises(error) as info:
            await transport.request("POST", f"{PATH}/export", retry=ENQUEUE, json={})
    assert type(info.value) is error
    assert route.call_count == 1


@pytest.mark.parametrize(
    "effect",
    [
        lambda: httpx.Response(429),
        lambda: httpx.ConnectError("refused"),
        lambda: httpx.ConnectTimeout("slow"),
    ],
    ids=["429", "connect-error", "connect-timeout"],
)
async def test_enqueue_retries_when_nothing_was_done(
    respx_mock: respx.MockRouter, effect: Callable[[], httpx.Response | Exception]
) -> None:
    """ENQUEUE requests are repeated after a 429 or a connect failure."""
    route = respx_mock.post(f"{PATH}/export").mock(
        side_effect=[effect(), httpx.Response(202, json={"jobQueued": True})]
    )
    async with make() as transport:
        response = await transport.request("POST", f"{PATH}/export", retry=ENQUEUE, json={})
    assert response.status_code == 202
    assert route.call_count == 2


async def test_enqueue_read_error_is_connection_error(respx_mock: respx.MockRouter) -> None:
    """A read error surfaces as APIConnectionError (a read timeout as APITimeoutError), chained."""
    respx_mock.post(f"{PATH}/export").mock(
        side_effect=[httpx.ReadError("reset"), httpx.ReadTimeout("t")]
    )
    async with make() as transport:
        with pytest.raises(APIConnectionError) as info:
            await transport.request("POST", f"{PATH}/export", retry=ENQUEUE)
        assert type(info.value) is APIConnectionError
        assert isinstance(info.value.__cause__, httpx.ReadError)
        with pytest.raises(APITimeoutError) as timeout_info:
            await transport.request("POST", f"{PATH}/export", retry=ENQUEUE)
        assert isinstance(timeout_info.value.__cause__, httpx.ReadTimeout)


async def test_never_policy_and_zero_retries(respx_mock: respx.MockRouter) -> None:
    """NEVER and max_retries=0 both send exactly once."""
    route = respx_mock.get(PATH).mock(return_value=httpx.Response(503))
    async with make(max_retries=5) as transport:
        with pytest.raises(InternalServerError):
            await transport.request("GET", PATH, retry=NEVER)
    assert route.call_count == 1
    async with make(max_retries=0) as transport:
        with pytest.raises(InternalServerError):
            await transport.request("GET", PATH, retry=SAFE)
    assert route.call_count == 2


async def test_connect_errors_retried_then_raised(respx_mock: respx.MockRouter) -> None:
    """A lasting connect error is retried max_retries times, then raised as APIConnectionError."""
    route = respx_mock.get(PATH).mock(side_effect=httpx.ConnectError("refused"))
    async with make(max_retries=2) as transport:
        with pytest.raises(APIConnectionError) as info:
            await transport.request("GET", PATH, retry=SAFE)
    assert route.call_count == 3
    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_retry_after_is_honoured(
    respx_mock: respx.MockRouter, sleeps: _Sleeps, real_delays: object
) -> None:
    """A 429's Retry-After (seconds or HTTP-date) is the delay slept before the retry."""
    route = respx_mock.get(PATH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}),
            httpx.Response(200, json={}),
        ]
    )
    async with make() as transport:
        await transport.request("GET", PATH, retry=SAFE)
    assert route.call_count == 3
    assert sleeps.delays == [3.0, 0.0]


async def test_backoff_delays_without_retry_after(
    respx_mock: respx.MockRouter, sleeps: _Sleeps, real_delays: object
) -> None:
    """Without Retry-After the retry sleeps follow the jittered exponential backoff."""
    respx_mock.get(PATH).mock(
        side_effect=[httpx.Response(502), httpx.Response(502), httpx.Response(200, json={})]
    )
    async with make() as transport:
        await transport.request("GET", PATH, retry=SAFE)
    first, second = sleeps.delays
    assert 0.75 * INITIAL_RETRY_DELAY <= first <= INITIAL_RETRY_DELAY
    assert 1.5 * INITIAL_RETRY_DELAY <= second <= 2 * INITIAL_RETRY_DELAY


async def test_long_retry_after_goes_to_the_caller(
    respx_mock: respx.MockRouter, sleeps: _Sleeps
) -> None:
    """A Retry-After beyond MAX_RETRY_AFTER is not waited for: RateLimitError carries it."""
    route = respx_mock.get(PATH).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "120"})
    )
    async with make() as transport:
        with pytest.raises(RateLimitError) as info:
            await transport.request("GET", PATH, retry=SAFE)
    assert info.value.retry_after == 120.0
    assert route.call_count == 1
    assert sleeps.delays == []


# --- multipart -------------------------------------------------------------------


class _ChunkRecorder(io.BytesIO):
    """A file that records the size of every read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.reads.append(len(chunk))
        return chunk


async def test_multipart_retry_resends_whole_file(respx_mock: respx.MockRouter) -> None:
    """A retried multipart upload re-sends the whole file, read in chunks, with its fields."""
    payload = bytes(range(256)) * 1024  # 256 KiB
    bundle = _ChunkRecorder(payload)
    route = respx_mock.post(f"{PATH}/import").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"ok": True})]
    )
    multipart = (
        {"email": "true"},
        {"bundle": ("export.zip", bundle, "application/zip")},
    )
    async with make() as transport:
        await transport.request("POST", f"{PATH}/import", retry=SAFE, multipart=multipart)
    assert route.call_count == 2
    for call in route.calls:
        body = call.request.content
        assert call.request.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert payload in body
        assert b'name="email"\r\n\r\ntrue\r\n' in body
        assert b'name="bundle"; filename="export.zip"\r\nContent-Type: application/zip' in body
    assert max(bundle.reads) < len(payload)  # streamed, never read whole


async def test_multipart_without_files_is_still_multipart(respx_mock: respx.MockRouter) -> None:
    """Fields without any file are sent as multipart/form-data, not urlencoded."""
    route = respx_mock.post(f"{PATH}/import").mock(return_value=httpx.Response(200, json={}))
    async with make() as transport:
        await transport.request(
            "POST", f"{PATH}/import", retry=ENQUEUE, multipart=({"email": "a@b.c"}, {})
        )
    request = route.calls.last.request
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1]
    assert (
        request.content
        == (
            f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\n'
            f"a@b.c\r\n--{boundary}--\r\n"
        ).encode()
    )


async def test_unseekable_file_is_not_retried(respx_mock: respx.MockRouter) -> None:
    """An upload from a file that cannot be rewound is not retried (it would send nothing)."""

    class _Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    route = respx_mock.post(f"{PATH}/import").mock(return_value=httpx.Response(503))
    multipart: Multipart = (
        {},
        {"bundle": ("b.zip", _Pipe(b"zip"), "application/zip")},
    )
    async with make() as transport:
        with pytest.raises(InternalServerError):
            await transport.request("POST", f"{PATH}/import", retry=SAFE, multipart=multipart)
    assert route.call_count == 1


# --- caller-owned client, injected transport, lifecycle ------------------------------


async def test_caller_http_client_is_used_and_not_closed() -> None:
    """A caller's AsyncClient sends the requests and stays open after aclose."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"via": "client"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        transport = make(http_client=client)
        response = await transport.request("GET", PATH, retry=SAFE)
        await transport.aclose()
        assert response.json() == {"via": "client"}
        assert not client.is_closed
        assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
        assert seen[0].url.query == DEFAULT_QUERY
    assert client.is_closed


async def test_injected_transport_is_used_and_left_open() -> None:
    """A transport= passed in handles the requests and is not closed by aclose."""
    closed: list[bool] = []

    class _Recording(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    mock = _Recording(lambda request: httpx.Response(204))
    transport = make(transport=mock)
    response = await transport.request("DELETE", PATH, retry=SAFE)
    assert response.status_code == 204
    await transport.aclose()
    assert closed == []


async def test_closed_transport_raises_and_aclose_is_idempotent() -> None:
    """Using a closed transport raises ClientClosedError; closing twice is fine."""
    transport = make()
    was_closed = transport.is_closed
    await transport.aclose()
    await transport.aclose()
    assert not was_closed
    assert transport.is_closed
    with pytest.raises(ClientClosedError):
        await transport.request("GET", PATH, retry=SAFE)
    with pytest.raises(ClientClosedError):
        async with await transport.open_stream(PATH):
            pass


def test_repr_shows_base_url_only() -> None:
    """The transport's repr names its base URL and never the token."""
    transport = Transport(token=TOKEN, base_url=BASE_URL, timeout=5, max_retries=0)
    assert repr(transport) == f"Transport(base_url={BASE_URL!r})"
    assert TOKEN not in str(transport)


def test_bad_arguments_are_rejected() -> None:
    """Negative max_retries, or both http_client and transport, are ValueErrors."""
    with pytest.raises(ValueError, match="max_retries"):
        Transport(token=None, base_url=BASE_URL, timeout=5, max_retries=-1)
    with pytest.raises(ValueError, match="not both"):
        Transport(
            token=None,
            base_url=BASE_URL,
            timeout=5,
            max_retries=0,
            http_client=httpx.AsyncClient(),
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        )


def test_env_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY applies to an https base URL unless NO_PROXY names its host."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.local:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _proxy_env.env_proxy(BASE_URL) == "http://proxy.local:3128"
    monkeypatch.setenv("NO_PROXY", "api.losant.test")
    assert _proxy_env.env_proxy(BASE_URL) is None


# --- logging -----------------------------------------------------------------------


async def test_debug_log_lines_have_no_token(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logs say METHOD path -> status (ms) and never carry headers or the token."""
    respx_mock.get(PATH).mock(side_effect=[httpx.Response(503), httpx.Response(200, json={})])
    with caplog.at_level(logging.DEBUG, logger="losant_async"):
        async with make() as transport:
            await transport.request("GET", PATH, retry=SAFE)
    messages = [r.getMessage() for r in caplog.records if r.name == "losant_async"]
    assert messages[0].startswith(f"GET {PATH} -> 503 (")
    assert messages[0].endswith(" ms)")
    assert messages[1] == f"GET {PATH} -> 503: retry 1 of 2 in 0.00 s"  # INFO (issue 13)
    assert messages[2].startswith(f"GET {PATH} -> 200 (")
    assert TOKEN not in caplog.text
    assert "authorization" not in caplog.text.lower()


def test_log_filter_redacts_bearer_tokens(caplog: pytest.LogCaptureFixture) -> None:
    """The losant_async logger blanks out any bearer token logged through it."""
    with caplog.at_level(logging.DEBUG, logger="losant_async"):
        logging.getLogger("losant_async").debug("Authorization: Bearer %s sent", TOKEN)
    assert TOKEN not in caplog.text
    assert "Authorization: Bearer *** sent" in caplog.text


# --- streams -------------------------------------------------------------------------


class _TrackedStream(httpx.AsyncByteStream):
    """A response body that records whether it was closed, optionally failing mid-way."""

    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            await anyio.lowlevel.checkpoint()  # a network read is a checkpoint
            self.sent += 1
            yield chunk
        if self.fail is not None:
            raise self.fail

    async def aclose(self) -> None:
        self.closed = True


async def _read_all(response: StreamResponse) -> list[bytes]:
    chunks: list[bytes] = []
    while chunk := await response.read_chunk():
        chunks.append(chunk)
    return chunks


def _serve(status: int, body: _TrackedStream, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, stream=body, headers={"X-Request-Id": "req-9"})

    return httpx.MockTransport(handler)


async def test_stream_yields_open_response_and_closes_it() -> None:
    """open_stream() returns the open response with the read timeout replaced; it closes."""
    body = _TrackedStream([b"data: a\n\n", b"data: b\n\n"])
    seen: list[httpx.Request] = []
    transport = make(transport=_serve(200, body, seen), timeout=httpx.Timeout(30, connect=5))
    async with await transport.open_stream(
        f"{PATH}/mqttSubscriptionStream",
        params=[("topic", "a/+")],
        headers={"Last-Event-ID": "7"},
        read_timeout=6.0,
    ) as response:
        assert await _read_all(response) == [b"data: a\n\n", b"data: b\n\n"]
    assert body.closed
    request = seen[0]
    # Only the caller's query: streams carry none of the SDK's flags (API.md, Streams).
    assert request.url.query == b"topic=a%2F%2B"
    assert request.headers.get_list("accept") == ["application/json"]
    assert request.headers["last-event-id"] == "7"
    assert request.extensions["timeout"] == {"connect": 5, "read": 6.0, "write": 30, "pool": 30}


async def test_stream_error_status_raises_typed_error_and_closes() -> None:
    """A 401 on stream open raises AuthenticationError with the body and request id, closed."""
    body = _TrackedStream([b'{"type":"Unauthorized","message":"Invalid token"}'])
    transport = make(transport=_serve(401, body, []))
    with pytest.raises(AuthenticationError) as info:
        async with await transport.open_stream(f"{PATH}/mqttSubscriptionStream"):
            pytest.fail("the block must not run")
    assert info.value.status_code == 401
    assert info.value.type == "Unauthorized"
    assert info.value.message == "Invalid token"
    assert info.value.request_id == "req-9"
    assert body.closed


async def test_stream_error_body_is_bounded() -> None:
    """An endless error body is read only up to the snippet bound."""
    body = _TrackedStream([b"x" * 1024] * 1000)
    transport = make(transport=_serve(503, body, []))
    with pytest.raises(InternalServerError) as info:
        async with await transport.open_stream(PATH):
            pass
    assert info.value.body == "x" * 1024
    assert body.sent <= 5
    assert body.closed


async def test_stream_closes_on_exception_and_translates_httpx_errors() -> None:
    """An exception in the block closes the response; an httpx read error becomes ours."""
    body = _TrackedStream([b"data: a\n\n"])
    transport = make(transport=_serve(200, body, []))
    with pytest.raises(KeyError):
        async with await transport.open_stream(PATH):
            raise KeyError("boom")
    assert body.closed

    failing = _TrackedStream([b"data: a\n\n"], fail=httpx.ReadError("reset"))
    transport = make(transport=_serve(200, failing, []))

    async def drain() -> None:
        async with await transport.open_stream(PATH) as response:
            await _read_all(response)

    with pytest.raises(APIConnectionError) as info:
        await drain()
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert failing.closed


async def test_stream_connect_error_is_translated_and_not_retried(
    respx_mock: respx.MockRouter,
) -> None:
    """A connect failure opening a stream raises APIConnectionError once, with no retry."""
    route = respx_mock.get(PATH).mock(side_effect=httpx.ConnectTimeout("slow"))
    async with make() as transport:
        with pytest.raises(APITimeoutError):
            async with await transport.open_stream(PATH):
                pass
    assert route.call_count == 1


async def test_stream_read_timeout_names_the_stream_request_and_its_limit() -> None:
    """A read timeout while a stream is read names the stream's request and its read timeout."""
    failing = _TrackedStream([b"data: a\n\n"], fail=httpx.ReadTimeout("quiet"))
    transport = make(transport=_serve(200, failing, []))
    path = f"{PATH}/mqttSubscriptionStream"
    with pytest.raises(APITimeoutError) as info:
        async with await transport.open_stream(
            path, params=[("topic", "a")], read_timeout=6.0
        ) as response:
            await _read_all(response)
    assert (info.value.method, info.value.url) == ("GET", f"{BASE_URL}{path}?topic=a")
    assert str(info.value).endswith(f"[GET {BASE_URL}{path}?topic=a; read timeout 6 s]")
