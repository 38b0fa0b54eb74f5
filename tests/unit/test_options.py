"""Client keywords: a token callable refreshed once after a 401, accept_version, losant_domain."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest
import respx

from losant_async import (
    AsyncApplication,
    AsyncLosant,
    AuthenticationError,
    JobHandle,
)
from losant_async._retry import RetryPolicy
from tests.conftest import APP_ID, BASE_URL, TOKEN

PATH = f"/applications/{APP_ID}"
README = {"applicationId": APP_ID, "content": "hello"}
UNAUTHORIZED = {"type": "Unauthorized", "message": "Invalid access token"}
FRESH = "tok_fresh_8d1e77"

pytestmark = pytest.mark.anyio


class _Tokens:
    """A token callable handing out the given tokens in turn (the last one repeats)."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.calls = 0

    def __call__(self) -> str:
        token = self.tokens[min(self.calls, len(self.tokens) - 1)]
        self.calls += 1
        return token


def _auth(route: respx.Route) -> list[str]:
    return [call.request.headers.get("authorization", "") for call in route.calls]


def _by_token(valid: str, body: object = README) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == f"Bearer {valid}":
            return httpx.Response(200, json=body)
        return httpx.Response(401, json=UNAUTHORIZED)

    return answer


async def _open_stream(app: AsyncApplication) -> None:
    async with await app._transport.open_stream(f"{PATH}/mqttSubscriptionStream"):
        pytest.fail("the block must not run")


# --- token callables -----------------------------------------------------------------


async def test_sync_token_callable_is_called_lazily_and_cached(
    respx_mock: respx.MockRouter,
) -> None:
    """A sync callable is not called at construction, then once for every later request."""
    tokens = _Tokens(TOKEN)
    route = respx_mock.get(f"{PATH}/readme").respond(200, json=README)
    client = AsyncLosant(tokens, base_url=BASE_URL)
    assert tokens.calls == 0
    async with client:
        app = client.application(APP_ID)
        await app.readme()
        await app.readme()
    assert tokens.calls == 1
    assert _auth(route) == [f"Bearer {TOKEN}"] * 2


async def test_async_token_callable_is_awaited_once_under_concurrency(
    respx_mock: respx.MockRouter,
) -> None:
    """An async callable is awaited once even when many first requests start together."""
    calls = 0

    async def token() -> str:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.01)
        return TOKEN

    route = respx_mock.get(f"{PATH}/readme").respond(200, json=README)
    async with (
        AsyncApplication(APP_ID, token=token, base_url=BASE_URL) as app,
        anyio.create_task_group() as tg,
    ):
        for _ in range(5):
            tg.start_soon(app.readme)
    assert calls == 1
    assert _auth(route) == [f"Bearer {TOKEN}"] * 5


@pytest.mark.parametrize("policy", list(RetryPolicy))
async def test_401_refreshes_the_token_once_and_repeats(
    respx_mock: respx.MockRouter, policy: RetryPolicy
) -> None:
    """After a 401 the callable is asked again and the request repeated once, for any policy."""
    tokens = _Tokens(TOKEN, FRESH)
    route = respx_mock.post(f"{PATH}/export").mock(side_effect=_by_token(FRESH, {"ok": True}))
    async with AsyncLosant(tokens, base_url=BASE_URL, max_retries=0) as client:
        transport = client._transport
        response = await transport.request("POST", f"{PATH}/export", retry=policy, json={})
        assert response.json() == {"ok": True}
        # The new token is kept for later requests.
        await transport.request("POST", f"{PATH}/export", retry=policy, json={})
    assert tokens.calls == 2
    assert _auth(route) == [f"Bearer {TOKEN}", f"Bearer {FRESH}", f"Bearer {FRESH}"]


async def test_same_token_after_401_raises_at_once(respx_mock: respx.MockRouter) -> None:
    """If the callable returns the refused token again, the 401 is raised without a repeat."""
    tokens = _Tokens(TOKEN)
    route = respx_mock.get(f"{PATH}/readme").respond(401, json=UNAUTHORIZED)
    async with AsyncApplication(APP_ID, token=tokens, base_url=BASE_URL) as app:
        with pytest.raises(AuthenticationError):
            await app.readme()
    assert tokens.calls == 2
    assert route.call_count == 1


async def test_refresh_happens_once_per_request(respx_mock: respx.MockRouter) -> None:
    """A new token that is refused too raises the 401: one refresh per request, no loop."""
    tokens = _Tokens(TOKEN, FRESH, "tok_third_000000")
    route = respx_mock.get(f"{PATH}/readme").respond(401, json=UNAUTHORIZED)
    async with AsyncApplication(APP_ID, token=tokens, base_url=BASE_URL) as app:
        with pytest.raises(AuthenticationError):
            await app.readme()
    assert tokens.calls == 2
    assert route.call_count == 2


async def test_static_token_401_is_not_repeated(respx_mock: respx.MockRouter) -> None:
    """A plain str token has nothing to refresh: the 401 is raised after one request."""
    route = respx_mock.get(f"{PATH}/readme").respond(401, json=UNAUTHORIZED)
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        with pytest.raises(AuthenticationError):
            await app.readme()
    assert route.call_count == 1


async def test_stream_open_refreshes_the_token_once(respx_mock: respx.MockRouter) -> None:
    """A 401 on stream open refreshes the token once and re-opens with the new one."""
    tokens = _Tokens(TOKEN, FRESH)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == f"Bearer {FRESH}":
            return httpx.Response(200, text=":\n\n", headers={"Content-Type": "text/event-stream"})
        return httpx.Response(401, json=UNAUTHORIZED)

    route = respx_mock.get(f"{PATH}/mqttSubscriptionStream").mock(side_effect=answer)
    async with AsyncApplication(APP_ID, token=tokens, base_url=BASE_URL) as app:
        async with await app._transport.open_stream(
            f"{PATH}/mqttSubscriptionStream", params=[("topic", "a")]
        ) as response:
            assert response.status_code == 200
        tokens.tokens = [FRESH]  # the server now refuses FRESH as well
        route.side_effect = _by_token("tok_nobody_000000")
        with pytest.raises(AuthenticationError):
            await _open_stream(app)
    assert _auth(route) == [f"Bearer {TOKEN}", f"Bearer {FRESH}", f"Bearer {FRESH}"]


async def test_job_polls_refresh_the_token(respx_mock: respx.MockRouter) -> None:
    """A job poll that meets an expired token refreshes it and goes on."""
    tokens = _Tokens(TOKEN, FRESH)
    route = respx_mock.get(f"{PATH}/importLogs").mock(side_effect=_by_token(FRESH, []))
    async with AsyncApplication(APP_ID, token=tokens, base_url=BASE_URL) as app:
        handle = app.job("a" * 24, "import")
        assert isinstance(handle, JobHandle)
        progress = await handle.status()
    assert progress.status == "queued"
    assert _auth(route) == [f"Bearer {TOKEN}", f"Bearer {FRESH}"]


@pytest.mark.parametrize(
    ("value", "error"),
    [(None, TypeError), (42, TypeError), ("", ValueError), ("tok\r\nX-Evil: 1", ValueError)],
)
async def test_bad_token_from_callable_is_rejected_before_sending(
    value: object, error: type[Exception]
) -> None:
    """A callable that returns a non-str, empty or CR/LF token raises before any request."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        route = router.get(f"{PATH}/readme").respond(200, json=README)
        async with AsyncApplication(APP_ID, token=lambda: value, base_url=BASE_URL) as app:  # type: ignore[arg-type]
            with pytest.raises(error) as info:
                await app.readme()
    assert "X-Evil" not in str(info.value)
    assert route.call_count == 0


def test_token_and_callable_never_in_a_repr() -> None:
    """Neither the token nor the token callable shows in any repr (client, façade, transport)."""

    def get_my_secret_token() -> str:
        return TOKEN

    for token in (TOKEN, get_my_secret_token):
        client = AsyncLosant(token, base_url=BASE_URL)
        app = AsyncApplication(APP_ID, token=token, base_url=BASE_URL)
        for text in (repr(client), repr(app), repr(client._transport), repr(app._transport)):
            assert TOKEN not in text
            assert "get_my_secret_token" not in text


@pytest.mark.parametrize(
    ("token", "error"), [("bad\ntoken", ValueError), (b"bytes", TypeError), (3, TypeError)]
)
def test_bad_static_token_is_rejected_at_construction(
    token: object, error: type[Exception]
) -> None:
    """A str token with CR/LF, or a token of another type, is rejected by the constructors."""
    with pytest.raises(error):
        AsyncLosant(token, base_url=BASE_URL)  # type: ignore[arg-type]
    with pytest.raises(error):
        AsyncApplication(APP_ID, token=token, base_url=BASE_URL)  # type: ignore[arg-type]


# --- accept_version, losant_domain ------------------------------------------------------


async def test_accept_version_and_losant_domain_are_sent(respx_mock: respx.MockRouter) -> None:
    """accept_version replaces Accept-Version; losant_domain is sent as losantdomain."""
    route = respx_mock.get(f"{PATH}/readme").respond(200, json=README)
    async with AsyncLosant(
        TOKEN, base_url=BASE_URL, accept_version="^1.31.0", losant_domain="iot.example.com"
    ) as client:
        await client.application(APP_ID).readme()
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        await app.readme()
    first, second = (call.request.headers for call in route.calls)
    assert first.get_list("accept-version") == ["^1.31.0"]
    assert first.get_list("losantdomain") == ["iot.example.com"]
    assert second.get_list("accept-version") == ["^1.30.0"]
    assert "losantdomain" not in second


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("accept_version", "", ValueError),
        ("accept_version", "^1.30.0\r\nX-Evil: 1", ValueError),
        ("accept_version", "1\x00", ValueError),
        ("accept_version", None, TypeError),
        ("accept_version", 1.3, TypeError),
        ("losant_domain", "", ValueError),
        ("losant_domain", "a.example\nX: 1", ValueError),
        ("losant_domain", b"a.example", TypeError),
    ],
)
def test_header_keywords_are_checked(name: str, value: object, error: type[Exception]) -> None:
    """accept_version and losant_domain must be non-empty str without CR, LF or NUL."""
    with pytest.raises(error, match=name):
        AsyncLosant(TOKEN, base_url=BASE_URL, **{name: value})  # type: ignore[arg-type]
    with pytest.raises(error, match=name):
        AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL, **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("max_response_bytes", 0, ValueError),
        ("max_response_bytes", 1.5, TypeError),
        ("max_response_bytes", True, TypeError),
        ("response_deadline", 0, ValueError),
        ("response_deadline", float("inf"), ValueError),
        ("response_deadline", "300", TypeError),
        ("max_streams", -1, ValueError),
    ],
)
def test_limit_keywords_are_checked(name: str, value: object, error: type[Exception]) -> None:
    """max_response_bytes, response_deadline and max_streams are checked at construction."""
    with pytest.raises(error, match=name):
        AsyncLosant(TOKEN, base_url=BASE_URL, **{name: value})  # type: ignore[arg-type]


# --- configuration fails fast (issue 13, point 5) --------------------------------


def test_no_token_raises_at_construction() -> None:
    """Without a token or LOSANT_API_TOKEN both constructors raise ValueError naming it."""
    with pytest.raises(ValueError, match="LOSANT_API_TOKEN"):
        AsyncLosant(base_url=BASE_URL)
    with pytest.raises(ValueError, match="No API token"):
        AsyncApplication(APP_ID, base_url=BASE_URL)


def test_empty_token_variable_counts_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty LOSANT_API_TOKEN is no token: the constructor raises."""
    monkeypatch.setenv("LOSANT_API_TOKEN", "")
    with pytest.raises(ValueError, match="LOSANT_API_TOKEN"):
        AsyncLosant(base_url=BASE_URL)


def test_a_token_callable_counts_as_a_token() -> None:
    """A token callable satisfies the check; it is not called at construction."""
    calls: list[int] = []

    def token() -> str:
        calls.append(1)
        return TOKEN

    AsyncLosant(token, base_url=BASE_URL)
    assert calls == []


@pytest.mark.parametrize(
    "url",
    [
        "api.losant.com",
        "api.losant.com/",
        "ftp://api.losant.com",
        "https//api.losant.com",
        "https://",
        "http:///path",
        "https://api.losant.com /",
        "https://api.losant.com\n",
        "https://api.losant\x00.com",
        "https://api.losant.com?x=1",
        "https://api.losant.com/#top",
    ],
)
def test_bad_base_url_raises_at_construction(url: str) -> None:
    """A base_url that is not http(s)://host (scheme, host, spaces, control characters, query)
    raises ValueError at construction, before any retry or network error."""
    with pytest.raises(ValueError, match="base_url"):
        AsyncLosant(TOKEN, base_url=url)
    with pytest.raises(ValueError, match="base_url"):
        AsyncApplication(APP_ID, token=TOKEN, base_url=url)


def test_bad_base_url_from_the_environment_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """LOSANT_API_URL is checked like base_url."""
    monkeypatch.setenv("LOSANT_API_URL", "api.losant.com")
    with pytest.raises(ValueError, match="http:// or https://"):
        AsyncLosant(TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.losant.com",
        "HTTPS://API.LOSANT.COM/",
        "http://127.0.0.1:8080/",
        "https://[::1]:9",
    ],
)
def test_good_base_urls_are_kept(url: str) -> None:
    """An http(s) URL with a host is accepted, its trailing slash dropped."""
    assert AsyncLosant(TOKEN, base_url=url).base_url == url.rstrip("/")


@pytest.mark.parametrize("token", ["tok_é_secret", "tok secret", "tok\tsecret", "tok\x7fsecret"])
def test_token_with_invisible_or_non_ascii_characters_raises(token: str) -> None:
    """A token with a space, control or non-ASCII character is a ValueError at construction
    (not a UnicodeEncodeError at the first request), and the message does not quote it."""
    with pytest.raises(ValueError, match="visible ASCII") as info:
        AsyncLosant(token, base_url=BASE_URL)
    assert "secret" not in str(info.value)


async def test_token_callable_giving_non_ascii_raises_value_error() -> None:
    """A token callable's non-ASCII token is a ValueError at the first request, nothing sent."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        route = router.get(PATH).respond(200, json={"id": APP_ID})
        async with AsyncApplication(APP_ID, token=lambda: "tok_ü", base_url=BASE_URL) as app:
            with pytest.raises(ValueError, match="visible ASCII"):
                await app.get()
    assert not route.called
