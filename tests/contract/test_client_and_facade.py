"""Contract tests: API.md, Client and façade and Details: Construction.

Black-box: only the public surface (``losant_async``, ``losant_async.testing``),
httpx, respx, pytest and anyio.
"""

from __future__ import annotations

import inspect

import httpx
import pytest
import respx

from losant_async import (
    AsyncApplication,
    AsyncLosant,
)
from losant_async.testing import LocalLosant
from tests.conftest import APP_ID, BASE_URL, TOKEN
from tests.contract.support import (
    APP_PATH,
    APPLICATION,
    make_app,
)


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
    async with make_app() as app:
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
    async with make_app() as app:
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


def test_bad_id_message_never_echoes_the_value() -> None:
    """Errors: a token passed by mistake as the application id does not reach the error message."""
    with pytest.raises(ValueError, match="application_id") as info:
        AsyncApplication(TOKEN, token=TOKEN)
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
