"""with_options: per-request settings over a shared pool (losant_async/_derive.py)."""

from __future__ import annotations

import httpx
import pytest
import respx

from losant_async import AsyncApplication, AsyncLosant, ClientClosedError, InternalServerError
from losant_async._derive import derive
from losant_async._transport import Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

pytestmark = pytest.mark.anyio

APP_PATH = f"/applications/{APP_ID}"
README = {"applicationId": APP_ID, "content": "hello"}


def _timeouts(route: respx.Route) -> list[dict[str, float | None]]:
    return [call.request.extensions["timeout"] for call in route.calls]


async def test_client_with_options_overrides_apply_per_request(
    respx_mock: respx.MockRouter,
) -> None:
    """The copy sends its timeout and extra headers; the original keeps its own."""
    route = respx_mock.get(f"{APP_PATH}/readme").respond(200, json=README)
    async with AsyncLosant(TOKEN, base_url=BASE_URL, timeout=30.0) as client:
        fast = client.with_options(timeout=2.5, extra_headers={"X-Trace": "abc"})
        await fast.application(APP_ID).readme()
        await client.application(APP_ID).readme()
    first, second = route.calls
    assert first.request.headers["x-trace"] == "abc"
    assert first.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-trace" not in second.request.headers
    assert _timeouts(route) == [
        {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5},
        {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0},
    ]


async def test_with_options_max_retries(respx_mock: respx.MockRouter) -> None:
    """max_retries=0 on the copy sends once; the original still retries twice."""
    route = respx_mock.get(f"{APP_PATH}/readme").respond(500, json={"type": "x"})
    async with AsyncLosant(TOKEN, base_url=BASE_URL) as client:
        with pytest.raises(InternalServerError):
            await client.with_options(max_retries=0).application(APP_ID).readme()
        assert route.call_count == 1
        with pytest.raises(InternalServerError):
            await client.application(APP_ID).readme()
        assert route.call_count == 4


async def test_with_options_shares_the_pool_and_closing_rules() -> None:
    """A copy shares the pool; closing it keeps the pool, closing the original ends all."""
    async with AsyncLosant(TOKEN, base_url=BASE_URL) as client:
        copy = client.with_options(timeout=1.0)
        assert copy._transport._transport is client._transport._transport
        await copy.aclose()
        assert copy.is_closed
        assert not client.is_closed
        assert not client._transport.is_closed
        other = client.with_options(max_retries=1)
        app = other.application(APP_ID)
    assert client.is_closed
    assert other.is_closed
    assert app.is_closed
    with pytest.raises(ClientClosedError):
        await app.readme()
    with pytest.raises(ClientClosedError):
        other.application(APP_ID)


async def test_application_with_options(respx_mock: respx.MockRouter) -> None:
    """app.with_options: a façade on the same pool with the overrides; the original unchanged."""
    route = respx_mock.get(f"{APP_PATH}/readme").respond(200, json=README)
    async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        tuned = app.with_options(
            timeout=httpx.Timeout(9.0, connect=1.0), extra_headers={"X-A": "1"}
        )
        assert isinstance(tuned, AsyncApplication)
        assert tuned.application_id == APP_ID
        assert tuned._transport._transport is app._transport._transport
        await tuned.readme()
        await tuned.aclose()  # closes the copy, not the pool
        await app.readme()
    assert tuned.is_closed
    assert app.is_closed
    first, second = route.calls
    assert first.request.headers["x-a"] == "1"
    assert "x-a" not in second.request.headers
    assert _timeouts(route)[0] == {"connect": 1.0, "read": 9.0, "write": 9.0, "pool": 9.0}


async def test_closing_a_standalone_facade_closes_its_copies() -> None:
    """A copy of a standalone façade is closed with it (its pool is the original's)."""
    app = AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL)
    copy = app.with_options(max_retries=0)
    await app.aclose()
    assert copy.is_closed
    with pytest.raises(ClientClosedError):
        await copy.readme()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": "5"}, TypeError),
        ({"max_retries": -1}, ValueError),
        ({"max_retries": True}, TypeError),
        ({"extra_headers": {"X-A": "a\r\nb"}}, ValueError),
        ({"extra_headers": {"Authorization": "Bearer other"}}, ValueError),
        ({"extra_headers": {"X-A": 1}}, TypeError),
        ({"extra_headers": [("X-A", "1")]}, TypeError),
        ({"extra_headers": {"X A": "1"}}, ValueError),
    ],
)
async def test_with_options_checks_its_arguments(kwargs: dict[str, object], error: type) -> None:
    """A bad with_options argument raises at once, naming it."""
    async with AsyncLosant(TOKEN, base_url=BASE_URL) as client:
        with pytest.raises(error):
            client.with_options(**kwargs)  # type: ignore[arg-type]
        with pytest.raises(error):
            client.application(APP_ID).with_options(**kwargs)  # type: ignore[arg-type]


async def test_with_options_on_a_closed_client_raises() -> None:
    """A closed client or façade gives no copies."""
    client = AsyncLosant(TOKEN, base_url=BASE_URL)
    app = client.application(APP_ID)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        client.with_options(timeout=1.0)
    with pytest.raises(ClientClosedError):
        app.with_options(timeout=1.0)


async def test_a_copy_shares_the_token_callable(respx_mock: respx.MockRouter) -> None:
    """A token callable is asked once for the original and its copies alike."""
    calls: list[int] = []

    def token() -> str:
        calls.append(1)
        return TOKEN

    route = respx_mock.get(f"{APP_PATH}/readme").respond(200, json=README)
    async with AsyncLosant(token, base_url=BASE_URL) as client:
        await client.with_options(timeout=3.0).application(APP_ID).readme()
        await client.application(APP_ID).readme()
    assert len(calls) == 1
    assert all(c.request.headers["authorization"] == f"Bearer {TOKEN}" for c in route.calls)


async def test_a_derived_transport_never_closes_the_pool() -> None:
    """Entering and closing a derived transport leaves its parent's pool open."""
    async with Transport(token=TOKEN, base_url=BASE_URL) as parent:
        async with derive(parent, max_retries=0) as child:
            assert child._transport is parent._transport
        await child.aclose()
        assert not parent.is_closed
    assert child.is_closed
