"""The transport under faults: retry counts, pool timeouts, redirects, proxies, wire, DELETE."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from losant_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncApplication,
    AsyncLosant,
    NotFoundError,
    PoolTimeoutError,
    RateLimitError,
    Success,
    _transport,
)
from losant_async._constants import EXTENSION_MAX_BODY, EXTENSION_STREAM
from losant_async._proxy_env import env_proxy
from losant_async._retry import RetryPolicy, should_retry
from losant_async._transport import Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

PATH = f"/applications/{APP_ID}"
SAFE, ENQUEUE, NEVER = RetryPolicy.SAFE, RetryPolicy.ENQUEUE, RetryPolicy.NEVER

pytestmark = pytest.mark.anyio


def make(**kwargs: object) -> Transport:
    options: dict[str, object] = {"token": TOKEN, "base_url": BASE_URL, "max_retries": 2}
    options.update(kwargs)
    return Transport(**options)  # type: ignore[arg-type]


# --- defect 1: every attempt counted, read-type failures never repeat an enqueue ---


@pytest.mark.parametrize("error", [httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError])
@pytest.mark.parametrize("max_retries", [0, 2])
@pytest.mark.parametrize("policy", [SAFE, ENQUEUE])
async def test_attempts_are_counted_exactly(
    respx_mock: respx.MockRouter,
    error: type[httpx.TransportError],
    max_retries: int,
    policy: RetryPolicy,
) -> None:
    """A dead connection is sent 1 + max_retries times if SAFE (or a connect error), else once."""
    route = respx_mock.post(f"{PATH}/export").mock(side_effect=error("gone"))
    async with make(max_retries=max_retries) as transport:
        with pytest.raises(APIConnectionError) as info:
            await transport.request("POST", f"{PATH}/export", retry=policy, json={})
    assert type(info.value) is APIConnectionError
    assert isinstance(info.value.__cause__, error)
    repeatable = policy is SAFE or error is httpx.ConnectError
    assert route.call_count == (1 + max_retries if repeatable else 1)


def test_remote_protocol_error_is_a_read_type_failure() -> None:
    """A connection that died before the answer is repeatable when SAFE, never for ENQUEUE."""
    translated = APIConnectionError("x")
    translated.__cause__ = httpx.RemoteProtocolError("Server disconnected")
    assert should_retry(SAFE, translated)
    assert not should_retry(ENQUEUE, translated)
    assert not should_retry(NEVER, translated)


# --- defect 2: pool timeouts are typed, named, never retried ---------------------


@pytest.mark.parametrize("policy", [SAFE, ENQUEUE])
async def test_pool_timeout_is_typed_and_never_retried(
    respx_mock: respx.MockRouter, policy: RetryPolicy
) -> None:
    """httpx.PoolTimeout becomes PoolTimeoutError naming the limit, after exactly one attempt."""
    route = respx_mock.get(PATH).mock(side_effect=httpx.PoolTimeout("no slot"))
    limits = httpx.Limits(max_connections=7)
    async with make(max_retries=3, limits=limits, timeout=httpx.Timeout(5, pool=2)) as transport:
        with pytest.raises(PoolTimeoutError) as info:
            await transport.request("GET", PATH, retry=policy)
    assert route.call_count == 1
    assert isinstance(info.value, APITimeoutError)
    assert "limits.max_connections=7" in info.value.message
    assert "2 s" in info.value.message
    assert not should_retry(SAFE, info.value)


async def test_stream_pool_timeout_names_max_streams(respx_mock: respx.MockRouter) -> None:
    """A stream that finds no slot raises PoolTimeoutError naming max_streams, at once."""
    route = respx_mock.get(f"{PATH}/mqttSubscriptionStream").mock(
        side_effect=httpx.PoolTimeout("no slot")
    )
    async with make(max_streams=3) as transport:
        with pytest.raises(PoolTimeoutError) as info:
            async with await transport.open_stream(f"{PATH}/mqttSubscriptionStream"):
                pytest.fail("the block must not run")
    assert route.call_count == 1
    assert "max_streams=3" in info.value.message


async def test_limits_and_max_streams_reach_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """AsyncLosant's limits= and max_streams= are handed to the default transport."""
    seen: dict[str, object] = {}
    real = _transport.default_transport  # type: ignore[attr-defined]

    def spy(**kwargs: object) -> httpx.AsyncBaseTransport:
        seen.update(kwargs)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_transport, "default_transport", spy)
    limits = httpx.Limits(max_connections=12, keepalive_expiry=2.0)
    async with AsyncLosant(TOKEN, base_url=BASE_URL, limits=limits, max_streams=4):
        pass
    assert seen["limits"] == limits
    assert seen["max_streams"] == 4
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL):
        pass
    assert seen["limits"] == httpx.Limits(max_connections=100, keepalive_expiry=5.0)
    assert seen["max_streams"] is None


def test_pool_options_conflict_with_a_callers_client() -> None:
    """limits= or max_streams= with a caller's http_client is a ValueError (its pool is theirs)."""
    with pytest.raises(ValueError, match="http_client"):
        AsyncLosant(TOKEN, http_client=httpx.AsyncClient(), max_streams=2)
    with pytest.raises(TypeError, match="limits"):
        AsyncLosant(TOKEN, limits=100)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_streams"):
        AsyncLosant(TOKEN, max_streams=0)


async def test_extensions_mark_streams_and_carry_the_body_cap(
    respx_mock: respx.MockRouter,
) -> None:
    """Requests carry the raw body cap; streams carry the stream flag and no cap."""
    route = respx_mock.get(PATH).respond(200, json={})
    stream_route = respx_mock.get(f"{PATH}/mqttSubscriptionStream").respond(
        200, text="", headers={"Content-Type": "text/event-stream"}
    )
    async with make(max_response_bytes=1234) as transport:
        await transport.request("GET", PATH, retry=SAFE)
        async with await transport.open_stream(f"{PATH}/mqttSubscriptionStream"):
            pass
    assert route.calls.last.request.extensions[EXTENSION_MAX_BODY] == 1234
    assert EXTENSION_STREAM not in route.calls.last.request.extensions
    stream_request = stream_route.calls.last.request
    assert stream_request.extensions[EXTENSION_STREAM] is True
    assert EXTENSION_MAX_BODY not in stream_request.extensions


# --- defect 11: a redirect is an error, never the resource --------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_is_an_error_not_a_model(respx_mock: respx.MockRouter, status: int) -> None:
    """A 3xx raises APIStatusError naming the Location (token-free); its body is not decoded."""
    location = f"https://elsewhere.test/login?access_token={TOKEN}"
    route = respx_mock.get(PATH).respond(
        status, json={"id": APP_ID, "name": "not me"}, headers={"Location": location}
    )
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        with pytest.raises(APIStatusError) as info:
            await app.get()
    assert type(info.value) is APIStatusError
    assert info.value.status_code == status
    assert "https://elsewhere.test/login?access_token=***" in info.value.message
    assert TOKEN not in str(info.value) + repr(info.value)
    assert route.call_count == 1


async def test_redirect_on_stream_open_is_an_error(respx_mock: respx.MockRouter) -> None:
    """A stream answered with a redirect raises APIStatusError on entry."""
    respx_mock.get(f"{PATH}/mqttSubscriptionStream").respond(
        302, headers={"Location": "https://elsewhere.test/"}
    )
    async with make() as transport:
        with pytest.raises(APIStatusError) as info:
            async with await transport.open_stream(f"{PATH}/mqttSubscriptionStream"):
                pytest.fail("the block must not run")
    assert info.value.status_code == 302
    assert "https://elsewhere.test/" in info.value.message


# --- defect 12: the environment, as httpx reads it ----------------------------------

_PROXY_CASES = [
    # (HTTPS_PROXY, NO_PROXY, base URL)
    ("proxy.local:3128", "", "https://api.losant.test"),
    ("http://proxy.local:3128", "", "https://api.losant.test"),
    ("proxy.local:3128", "api.losant.test:8443", "https://api.losant.test:8443"),
    ("proxy.local:3128", "api.losant.test:8443", "https://api.losant.test"),
    ("proxy.local:3128", "api.losant.test:443", "https://api.losant.test"),
    ("proxy.local:3128", "losant.test", "https://api.losant.test"),
    ("proxy.local:3128", ".losant.test", "https://losant.test"),
    ("proxy.local:3128", ".losant.test", "https://api.losant.test"),
    ("proxy.local:3128", "other.test, api.losant.test", "https://api.losant.test"),
    ("proxy.local:3128", "*", "https://api.losant.test"),
    ("proxy.local:3128", "127.0.0.1", "https://127.0.0.1:8443"),
    ("proxy.local:3128", "::1", "https://[::1]:8443"),
    ("proxy.local:3128", "localhost", "https://localhost:8443"),
    ("proxy.local:3128", "https://api.losant.test", "https://api.losant.test"),
    ("proxy.local:3128", "http://api.losant.test", "https://api.losant.test"),
    ("proxy.local:3128", "wwwlosant.test", "https://losant.test"),
]


@pytest.mark.parametrize(("proxy", "no_proxy", "url"), _PROXY_CASES)
def test_env_proxy_matches_httpx(
    monkeypatch: pytest.MonkeyPatch, proxy: str, no_proxy: str, url: str
) -> None:
    """HTTPS_PROXY without a scheme and NO_PROXY entries (host:port too) decide as httpx does."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    client = httpx.AsyncClient()
    target = client._transport_for_url(httpx.URL(url))
    httpx_proxies = target is not client._transport
    ours = env_proxy(url)
    assert (ours is not None) == httpx_proxies, (proxy, no_proxy, url)
    if ours is not None:
        assert ours == "http://proxy.local:3128"


def test_scheme_less_proxy_is_accepted_by_the_constructor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTPS_PROXY=host:port builds a client (httpx prefixes http://) instead of raising."""
    monkeypatch.setenv("HTTPS_PROXY", "proxy.local:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = AsyncLosant(TOKEN, base_url=BASE_URL)
    assert isinstance(client._transport._transport, httpx.AsyncHTTPTransport)


# --- issue 10: the stream request is exactly what Losant's JavaScript client sends ---


async def test_stream_wire_is_exact(respx_mock: respx.MockRouter) -> None:
    """A stream sends JSON accept, version, auth, UA, losantdomain, Last-Event-ID; no SDK flags."""
    route = respx_mock.get(f"{PATH}/mqttSubscriptionStream").respond(
        200, text=": ka\n\n", headers={"Content-Type": "text/event-stream"}
    )
    app = AsyncApplication(
        APP_ID, token=TOKEN, base_url=BASE_URL, losant_domain="losant.example.com"
    )
    async with (
        app,
        await app._transport.open_stream(
            f"{PATH}/mqttSubscriptionStream",
            params=[("topic", "devices/+/state"), ("keepAliveInterval", "2")],
            headers={"Last-Event-ID": "41"},
            read_timeout=6.0,
        ) as response,
    ):
        assert response.status_code == 200
    request = route.calls.last.request
    assert request.url.query == b"topic=devices%2F%2B%2Fstate&keepAliveInterval=2"
    assert dict(request.headers) == {
        "host": "api.losant.test",
        "accept": "application/json",
        "accept-version": "^1.30.0",
        "user-agent": "losant-async",
        "authorization": f"Bearer {TOKEN}",
        "losantdomain": "losant.example.com",
        "last-event-id": "41",
    }
    assert request.content == b""


# --- issue 10: a DELETE that finds its work done -------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        lambda: httpx.Response(503),
        lambda: httpx.Response(500, json={"type": "InternalError", "message": "x"}),
        lambda: httpx.ReadError("reset"),
        lambda: httpx.RemoteProtocolError("Server disconnected"),
        lambda: httpx.ReadTimeout("slow"),
    ],
    ids=["503", "500", "read-error", "disconnected", "read-timeout"],
)
async def test_delete_retried_after_ambiguous_failure_then_404_is_success(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, first: object
) -> None:
    """A 404 on a retry after a failure the server may have acted on is Success, logged INFO."""
    route = respx_mock.delete(PATH).mock(
        side_effect=[first(), httpx.Response(404, json={"type": "NotFound", "message": "gone"})]  # type: ignore[operator]
    )
    with caplog.at_level(logging.INFO, logger="losant_async"):
        async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
            result = await app.delete()
    assert result == Success(success=True)
    assert route.call_count == 2
    assert any(
        r.levelno == logging.INFO and "404 after a retry" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    "first",
    [None, lambda: httpx.Response(429), lambda: httpx.ConnectError("refused")],
    ids=["first-attempt", "after-429", "after-connect-error"],
)
async def test_delete_404_when_nothing_was_done_is_not_found(
    respx_mock: respx.MockRouter, first: object
) -> None:
    """A 404 on the first attempt, or after a failure where nothing was done, is NotFoundError."""
    not_found = httpx.Response(404, json={"type": "NotFound", "message": "no such app"})
    effects = [not_found] if first is None else [first(), not_found]  # type: ignore[operator]
    route = respx_mock.delete(PATH).mock(side_effect=effects)
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        with pytest.raises(NotFoundError):
            await app.delete()
    assert route.call_count == len(effects)


async def test_non_delete_404_after_retry_is_not_found(respx_mock: respx.MockRouter) -> None:
    """Only DELETE reads a late 404 as done: a GET that meets 503 then 404 raises NotFoundError."""
    respx_mock.get(PATH).mock(side_effect=[httpx.Response(503), httpx.Response(404)])
    async with make() as transport:
        with pytest.raises(NotFoundError):
            await transport.request("GET", PATH, retry=SAFE)


async def test_delete_with_retries_off_raises_the_failure(respx_mock: respx.MockRouter) -> None:
    """With max_retries=0 a DELETE's 503 is raised as it is: nothing is assumed."""
    respx_mock.delete(PATH).mock(side_effect=[httpx.Response(503)])
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL, max_retries=0) as app:
        with pytest.raises(APIStatusError) as info:
            await app.delete()
    assert info.value.status_code == 503
    assert not isinstance(info.value, RateLimitError)


async def test_callers_error_in_a_stream_block_is_not_rewritten(
    respx_mock: respx.MockRouter,
) -> None:
    """An exception of the caller's inside a stream block passes untouched, even once closed."""
    respx_mock.get(f"{PATH}/mqttSubscriptionStream").respond(
        200, text="", headers={"Content-Type": "text/event-stream"}
    )
    transport = make()

    async def use() -> None:
        async with await transport.open_stream(f"{PATH}/mqttSubscriptionStream"):
            await transport.aclose()
            raise RuntimeError("mine")

    with pytest.raises(RuntimeError, match="mine"):
        await use()


async def test_public_stream_sends_the_javascript_clients_request(
    respx_mock: respx.MockRouter,
) -> None:
    """mqtt_subscription_stream sends exactly the headers and query of Losant's own client."""
    route = respx_mock.get(f"{PATH}/mqttSubscriptionStream").respond(
        200, text=":\n\n", headers={"Content-Type": "text/event-stream"}
    )
    app = AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL)
    async with app, app.mqtt_subscription_stream("devices/+/state", keep_alive_interval=2):
        pass
    request = route.calls.last.request
    assert request.url.query == b"topic=devices%2F%2B%2Fstate&keepAliveInterval=2"
    assert dict(request.headers) == {
        "host": "api.losant.test",
        "accept": "application/json",
        "accept-version": "^1.30.0",
        "user-agent": "losant-async",
        "authorization": f"Bearer {TOKEN}",
    }
