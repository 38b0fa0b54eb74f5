"""respx mocks the library: the plain forms (issue 13), and losant_async.testing.respx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
import respx.mocks

import losant_async.testing.respx as losant_respx
from losant_async import AsyncApplication
from losant_async._http11 import Http11Transport
from losant_async._retry import RetryPolicy
from losant_async._transport import Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

SAFE = RetryPolicy.SAFE

APPLICATION = {"id": APP_ID, "applicationId": APP_ID, "name": "Mocked"}


@pytest.mark.anyio
async def test_named_mocker_intercepts_the_default_transport() -> None:
    """`respx.mock(using="losant_async")` answers requests sent through Http11Transport."""
    with respx.mock(base_url=BASE_URL, using=losant_respx.MOCKER_NAME) as router:
        route = router.get(f"/applications/{APP_ID}").respond(200, json=APPLICATION)
        async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
            assert isinstance(app._transport._transport, Http11Transport)
            result = await app.get()
    assert route.call_count == 1
    assert result.name == "Mocked"


@pytest.mark.anyio
async def test_named_mocker_intercepts_a_callers_httpx_client() -> None:
    """The same mocker still patches httpcore, so a caller-owned AsyncClient is mocked too."""
    with respx.mock(base_url=BASE_URL, using=losant_respx.MOCKER_NAME) as router:
        route = router.get(f"/applications/{APP_ID}").respond(200, json=APPLICATION)
        async with httpx.AsyncClient() as http_client:
            app = AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL, http_client=http_client)
            async with app:
                assert (await app.get()).name == "Mocked"
    assert route.call_count == 1


def test_use_by_default_sets_respx_default_mocker() -> None:
    """use_by_default() makes every respx router use the losant_async mocker."""
    assert respx.mocks.DEFAULT_MOCKER == losant_respx.MOCKER_NAME  # conftest called it
    respx.mocks.DEFAULT_MOCKER = "httpcore"
    try:
        losant_respx.use_by_default()
        assert respx.mocks.DEFAULT_MOCKER == losant_respx.MOCKER_NAME
    finally:
        respx.mocks.DEFAULT_MOCKER = losant_respx.MOCKER_NAME


# --- respx the usual way (issue 13, point 3) ---------------------------------------


@pytest.fixture
def plain_respx(monkeypatch: pytest.MonkeyPatch) -> None:
    """respx as a user has it: its default httpcore mocker, not ours (conftest sets ours)."""
    monkeypatch.setattr(respx.mocks, "DEFAULT_MOCKER", "httpcore")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1 that records whether anyone connected to it."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


def _connected(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def _url(server: socket.socket) -> str:
    return f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.anyio
@pytest.mark.usefixtures("plain_respx")
async def test_plain_respx_mock_intercepts_the_library_and_other_clients(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`respx.mock(base_url=...)` with respx's default mocker answers the library's requests
    and a plain httpx client's, and nothing reaches the network (even with a real-looking token)."""
    monkeypatch.setenv("LOSANT_API_TOKEN", TOKEN)
    base = _url(listener)
    with respx.mock(base_url=base) as router:
        route = router.get(f"/applications/{APP_ID}").respond(200, json=APPLICATION)
        other = router.get("/elsewhere").respond(204)
        async with AsyncApplication(APP_ID, base_url=base, timeout=5.0) as app:
            assert isinstance(app._transport._transport, Http11Transport)
            assert (await app.get()).name == "Mocked"
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{base}/elsewhere")).status_code == 204
    assert route.call_count == other.call_count == 1
    # The httpx client the library sent through is closed with it.
    mocked_by = app._transport._mocked_by
    assert mocked_by
    assert mocked_by[0].is_closed
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert not _connected(listener)


@pytest.mark.anyio
@pytest.mark.usefixtures("plain_respx")
async def test_respx_mock_decorator_intercepts_the_library(listener: socket.socket) -> None:
    """A function decorated with plain `@respx.mock` sees the library's requests."""
    base = _url(listener)

    @respx.mock
    async def run() -> str:
        respx.get(f"{base}/applications/{APP_ID}").respond(200, json=APPLICATION)
        async with AsyncApplication(APP_ID, token=TOKEN, base_url=base, timeout=5.0) as app:
            return (await app.get()).name or ""

    assert await run() == "Mocked"
    assert not _connected(listener)


@pytest.mark.anyio
@pytest.mark.usefixtures("plain_respx")
async def test_unmatched_request_raises_and_never_reaches_the_network(
    listener: socket.socket,
) -> None:
    """Under respx, a request no route matches fails respx's assertion, without a connection."""
    base = _url(listener)
    with respx.mock(base_url=base, assert_all_called=False):
        async with AsyncApplication(
            APP_ID, token=TOKEN, base_url=base, max_retries=0, timeout=5.0
        ) as app:
            with pytest.raises(AssertionError, match="not mocked"):
                await app.get()
    assert not _connected(listener)


@pytest.mark.anyio
@pytest.mark.usefixtures("plain_respx")
async def test_plain_respx_mock_intercepts_a_stream(listener: socket.socket) -> None:
    """`open_stream` (an MQTT subscription) is answered by a plain respx route too."""
    base = _url(listener)
    event = b'event: mqttMessage\ndata: {"topic": "a/b", "message": "hi"}\n\n'
    with respx.mock(base_url=base) as router:
        router.get(f"/applications/{APP_ID}/mqttSubscriptionStream").respond(
            200, headers={"content-type": "text/event-stream"}, content=event
        )
        async with (
            AsyncApplication(APP_ID, token=TOKEN, base_url=base, timeout=5.0) as app,
            app.mqtt_subscription_stream("a/b", reconnect=False) as stream,
        ):
            message = await stream.__anext__()
    assert (message.topic, message.message) == ("a/b", "hi")
    assert not _connected(listener)


@pytest.mark.anyio
async def test_respx_httpx_mocker_intercepts_the_library(listener: socket.socket) -> None:
    """respx's "httpx" mocker (it patches AsyncClient) sees the library's requests too."""
    base = _url(listener)
    with respx.mock(base_url=base, using="httpx") as router:
        route = router.get(f"/applications/{APP_ID}").respond(200, json=APPLICATION)
        async with AsyncApplication(APP_ID, token=TOKEN, base_url=base, timeout=5.0) as app:
            await app.get()
    assert route.call_count == 1
    assert not _connected(listener)


@pytest.mark.anyio
@pytest.mark.usefixtures("plain_respx")
async def test_a_callers_transport_is_not_bypassed() -> None:
    """A transport the caller gives is used as given, even while respx mocks httpcore."""
    mock = httpx.MockTransport(lambda request: httpx.Response(200, json=APPLICATION))
    with respx.mock(assert_all_called=False):
        async with Transport(token=TOKEN, base_url=BASE_URL, transport=mock) as transport:
            response = await transport.request("GET", f"/applications/{APP_ID}", retry=SAFE)
    assert response.json() == APPLICATION


_PLUGIN_TEST = """
import pytest
from losant_async import AsyncApplication

APP_ID = "575ec8687ae143cd83dc4a97"

@pytest.mark.respx(base_url="{base}")
def test_fixture(respx_mock):
    import anyio

    route = respx_mock.get(f"/applications/{{APP_ID}}").respond(200, json={{"id": APP_ID}})

    async def main():
        async with AsyncApplication(APP_ID, token="tok_plugin_1234", base_url="{base}",
                                    timeout=5.0) as app:
            await app.get()

    anyio.run(main)
    assert route.call_count == 1
"""


@pytest.mark.slow
def test_respx_pytest_fixture_intercepts_the_library(
    tmp_path: Path, listener: socket.socket
) -> None:
    """respx's own `respx_mock` fixture (its pytest plugin, in a fresh pytest) mocks the library."""
    (tmp_path / "test_user.py").write_text(_PLUGIN_TEST.format(base=_url(listener)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOSANT_", "PYTEST_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this checkout's package
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not _connected(listener)


@pytest.mark.anyio
@pytest.mark.usefixtures("plain_respx")
async def test_with_options_copies_are_intercepted_too(listener: socket.socket) -> None:
    """A with_options copy of the client (sharing its pool) is intercepted by plain respx."""
    from losant_async import AsyncLosant

    base = _url(listener)
    with respx.mock(base_url=base) as router:
        route = router.get(f"/applications/{APP_ID}").respond(200, json=APPLICATION)
        async with AsyncLosant(TOKEN, base_url=base, timeout=5.0) as client:
            await client.with_options(max_retries=0).application(APP_ID).get()
    assert route.call_count == 1
    assert not _connected(listener)
