"""AsyncLosant: construction, environment defaults, lifecycle and shared transport."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest
import respx

from losant_async import AsyncApplication, AsyncLosant, ClientClosedError
from tests.conftest import APP_ID, BASE_URL, TOKEN

pytestmark = pytest.mark.anyio

APP_PATH = f"/applications/{APP_ID}"
README = {"applicationId": APP_ID, "content": "hello"}


@pytest.fixture
def idle_mock() -> Iterator[respx.MockRouter]:
    """A router whose catch-all route must stay unused."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.route().respond(500)
        yield router
        assert not router.calls, "a request was sent"


async def test_application_shares_the_client_transport(respx_mock: respx.MockRouter) -> None:
    """client.application(id) sends through the client's settings: token, URL, default query."""
    route = respx_mock.get(f"{APP_PATH}/readme").respond(200, json=README)
    async with AsyncLosant(TOKEN, base_url=BASE_URL) as client:
        app = client.application(APP_ID)
        assert isinstance(app, AsyncApplication)
        assert app.application_id == APP_ID
        readme = await app.readme()
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.url.params.multi_items()[:3] == [
        ("_actions", "false"),
        ("_links", "true"),
        ("_embedded", "true"),
    ]
    assert readme.content == "hello"


async def test_closing_a_borrowed_application_keeps_the_client_open(
    respx_mock: respx.MockRouter,
) -> None:
    """Leaving `async with` on a handed-out façade closes it, not the client's transport."""
    route = respx_mock.get(f"{APP_PATH}/readme").respond(200, json=README)
    async with AsyncLosant(token=TOKEN, base_url=BASE_URL) as client:
        async with client.application(APP_ID) as first:
            await first.readme()
        assert first.is_closed
        with pytest.raises(ClientClosedError):
            await first.readme()
        assert not client.is_closed
        await client.application(APP_ID).readme()
    assert route.call_count == 2


async def test_closed_client_refuses_use(idle_mock: respx.MockRouter) -> None:
    """After aclose, the client and its façades raise ClientClosedError and send nothing."""
    client = AsyncLosant(token=TOKEN, base_url=BASE_URL)
    app = client.application(APP_ID)
    await client.aclose()
    await client.aclose()  # idempotent
    assert client.is_closed
    assert app.is_closed
    with pytest.raises(ClientClosedError):
        await app.get()
    with pytest.raises(ClientClosedError):
        client.application(APP_ID)
    with pytest.raises(ClientClosedError):
        async with client:
            pass


async def test_client_enters_only_once(idle_mock: respx.MockRouter) -> None:
    """An open client cannot be entered a second time."""
    async with AsyncLosant(token=TOKEN, base_url=BASE_URL) as client:
        with pytest.raises(RuntimeError):
            await client.__aenter__()


async def test_aclose_completes_under_cancellation(idle_mock: respx.MockRouter) -> None:
    """aclose() inside a cancelled scope still closes the client."""
    client = AsyncLosant(token=TOKEN, base_url=BASE_URL)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await client.aclose()
    assert client.is_closed


async def test_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Token and base URL come from LOSANT_API_TOKEN and LOSANT_API_URL when not given."""
    monkeypatch.setenv("LOSANT_API_TOKEN", "env_token_42")
    monkeypatch.setenv("LOSANT_API_URL", "https://env.losant.test/")
    with respx.mock(base_url="https://env.losant.test", assert_all_called=True) as router:
        route = router.get(APP_PATH).respond(200, json={"id": APP_ID})
        async with AsyncLosant() as client:
            assert client.base_url == "https://env.losant.test"
            await client.application(APP_ID).get()
    assert route.calls.last.request.headers["authorization"] == "Bearer env_token_42"


def test_default_base_url() -> None:
    """Without argument or environment the base URL is https://api.losant.com."""
    client = AsyncLosant(token=TOKEN)
    assert client.base_url == "https://api.losant.com"


async def test_caller_http_client_is_used_and_not_closed(respx_mock: respx.MockRouter) -> None:
    """A caller's http_client carries the requests and stays open after the client closes."""
    route = respx_mock.get(f"{APP_PATH}/readme").respond(200, json=README)
    async with httpx.AsyncClient() as http_client:
        async with AsyncLosant(
            token=TOKEN, base_url=BASE_URL, http_client=http_client, timeout=5.0
        ) as client:
            await client.application(APP_ID).readme()
        assert not http_client.is_closed
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("bad_id", "error"),
    [
        (123, TypeError),
        (None, TypeError),
        ("not-an-id", ValueError),
        ("575ec8687ae143cd83dc4a9g", ValueError),
        ("575ec8687ae143cd83dc4a97 ", ValueError),
    ],
)
def test_application_checks_the_id_at_once(bad_id: object, error: type[Exception]) -> None:
    """client.application(id) raises TypeError / ValueError for a bad id, before any request."""
    client = AsyncLosant(token=TOKEN, base_url=BASE_URL)
    with pytest.raises(error):
        client.application(bad_id)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "error"), [(-1, ValueError), ("2", TypeError), (1.5, TypeError)])
def test_max_retries_is_checked(value: object, error: type[Exception]) -> None:
    """max_retries must be a non-negative int."""
    with pytest.raises(error):
        AsyncLosant(token=TOKEN, max_retries=value)  # type: ignore[arg-type]


def test_repr_never_shows_the_token() -> None:
    """The client's and its façades' reprs show the URL but never the token."""
    client = AsyncLosant(TOKEN, base_url=BASE_URL)
    app = client.application(APP_ID)
    for text in (repr(client), str(client), repr(app)):
        assert TOKEN not in text
    assert BASE_URL in repr(client)


def test_main_module_calls_the_cli() -> None:
    """`python -m losant_async` runs losant_async._cli.main."""
    import runpy
    from pathlib import Path
    from unittest import mock

    import losant_async

    script = Path(losant_async.__file__).parent / "__main__.py"
    with mock.patch("losant_async._cli.main") as main:
        runpy.run_path(str(script), run_name="__main__")
    main.assert_called_once_with()
