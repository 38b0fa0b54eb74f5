"""Contract tests: API.md, Retries and timeouts, and Details: Retries.

Black-box: only the public surface (``losant_async``, ``losant_async.testing``),
httpx, respx, pytest and anyio.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from losant_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncApplication,
    AsyncLosant,
    InternalServerError,
    JobHandle,
)
from losant_async.testing import LocalLosant
from tests.conftest import APP_ID, BASE_URL, TOKEN
from tests.contract.support import (
    ACTIONS,
    APP_PATH,
    ENQUEUED,
    RETURNS,
    Call,
    make_app,
    multipart_parts,
)

ENQUEUE_ACTIONS = [a for a in ACTIONS if a[0] in {
    "apply_template", "archive_data", "backfill_archive_data", "clone", "export",
    "full_data_tables_archive", "full_events_archive", "import_", "mqtt_publish_message",
}]  # fmt: skip


SAFE_ACTIONS = [a for a in ACTIONS if a not in ENQUEUE_ACTIONS]


assert len(ENQUEUE_ACTIONS) == 9


assert len(SAFE_ACTIONS) == 12


FAILURES: dict[str, Callable[[], object]] = {
    "503": lambda: httpx.Response(503, json={"type": "Unavailable", "message": "x"}),
    "500": lambda: httpx.Response(500, json={}),
    "408": lambda: httpx.Response(408, json={}),
    "429": lambda: httpx.Response(429, json={}),
    "connect_error": lambda: httpx.ConnectError("refused"),
    "connect_timeout": lambda: httpx.ConnectTimeout("slow"),
    "read_error": lambda: httpx.ReadError("reset"),
    "read_timeout": lambda: httpx.ReadTimeout("slow"),
    "remote_protocol": lambda: httpx.RemoteProtocolError("closed"),
}


ENQUEUE_RETRIED = {"429", "connect_error", "connect_timeout"}


def _flaky(failure: str, status: int, answer: object) -> Callable[[httpx.Request], httpx.Response]:
    calls = {"n": 0}

    def respond(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            outcome = FAILURES[failure]()
            if isinstance(outcome, Exception):
                raise outcome
            assert isinstance(outcome, httpx.Response)
            return outcome
        return httpx.Response(status, json=answer)

    return respond


@pytest.mark.anyio
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize(
    ("name", "method", "path", "status", "answer", "call"),
    ENQUEUE_ACTIONS,
    ids=[a[0] for a in ENQUEUE_ACTIONS],
)
async def test_enqueue_actions_retry_matrix(
    respx_mock: respx.MockRouter,
    failure: str,
    name: str,
    method: str,
    path: str,
    status: int,
    answer: object,
    call: Call,
) -> None:
    """Details/Retries: enqueuing actions and publish retry only a connect error or a 429, never
    5xx, 408 or a read error."""
    route = respx_mock.route(method=method, path=APP_PATH + path).mock(
        side_effect=_flaky(failure, status, answer)
    )
    async with make_app() as app:
        if failure in ENQUEUE_RETRIED:
            assert isinstance(await call(app), RETURNS[name])
            assert route.call_count == 2
        else:
            with pytest.raises((APIStatusError, APIConnectionError)):
                await call(app)
            assert route.call_count == 1


@pytest.mark.anyio
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize(
    ("name", "method", "path", "status", "answer", "call"),
    SAFE_ACTIONS,
    ids=[a[0] for a in SAFE_ACTIONS],
)
async def test_safe_actions_retry_matrix(
    respx_mock: respx.MockRouter,
    failure: str,
    name: str,
    method: str,
    path: str,
    status: int,
    answer: object,
    call: Call,
) -> None:
    """Retries and timeouts: safe actions retry connection errors, 408, 429 and 5xx."""
    route = respx_mock.route(method=method, path=APP_PATH + path).mock(
        side_effect=_flaky(failure, status, answer)
    )
    async with make_app() as app:
        assert isinstance(await call(app), RETURNS[name])
    assert route.call_count == 2


@pytest.mark.anyio
async def test_default_two_retries_then_error(respx_mock: respx.MockRouter) -> None:
    """Retries and timeouts: retries default to 2 (three attempts), then the last error is
    raised."""
    route = respx_mock.get(APP_PATH).respond(503, json={"type": "Down", "message": "down"})
    async with make_app() as app:
        with pytest.raises(InternalServerError):
            await app.get()
    assert route.call_count == 3


@pytest.mark.anyio
async def test_connect_error_exhausted_raises_connection_error(
    respx_mock: respx.MockRouter,
) -> None:
    """Errors: a transport failure after retries is APIConnectionError; a timeout
    APITimeoutError."""
    respx_mock.get(APP_PATH).mock(side_effect=httpx.ConnectError("refused"))
    respx_mock.get(APP_PATH + "/readme").mock(side_effect=httpx.ReadTimeout("slow"))
    async with make_app() as app:
        with pytest.raises(APIConnectionError) as info:
            await app.get()
        assert not isinstance(info.value, APITimeoutError)
        with pytest.raises(APITimeoutError):
            await app.readme()


@pytest.mark.anyio
async def test_max_retries_zero(respx_mock: respx.MockRouter) -> None:
    """Retries and timeouts: max_retries=0 turns retries off."""
    route = respx_mock.get(APP_PATH).respond(503, json={})
    publish = respx_mock.post(APP_PATH + "/mqttPublishMessage").mock(
        side_effect=httpx.ConnectError("refused")
    )
    async with AsyncLosant(TOKEN, base_url=BASE_URL, max_retries=0) as client:
        app = client.application(APP_ID)
        with pytest.raises(InternalServerError):
            await app.get()
        with pytest.raises(APIConnectionError):
            await app.mqtt_publish_message("t", "m")
    assert route.call_count == 1
    assert publish.call_count == 1


@pytest.mark.anyio
async def test_import_retry_resends_whole_file(
    respx_mock: respx.MockRouter, tmp_path: Path
) -> None:
    """Details/Retries: an import retried after a 429 sends the whole bundle again."""
    bundle = tmp_path / "b.zip"
    bundle.write_bytes(b"0123456789" * 1000)
    route = respx_mock.post(APP_PATH + "/import").mock(
        side_effect=[httpx.Response(429, json={}), httpx.Response(202, json=ENQUEUED)]
    )
    async with make_app() as app:
        await app.import_(bundle)
    assert route.call_count == 2
    for call in route.calls:
        assert multipart_parts(call.request)["importBundle"] == ("b.zip", b"0123456789" * 1000)


@pytest.mark.anyio
async def test_read_timeout_real_http(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication]
) -> None:
    """Retries and timeouts: a slow answer past the timeout raises APITimeoutError after the
    retries."""
    local_server.faults.latency("readme", seconds=1.0, times=None)
    async with local_app(timeout=0.2, max_retries=1) as app:
        with anyio.fail_after(10), pytest.raises(APITimeoutError):
            await app.readme()


@pytest.mark.anyio
async def test_enqueue_not_retried_after_read_timeout_real_http(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Details/Retries: an export whose answer timed out is not sent again (it may have enqueued a
    job)."""
    local_server.faults.latency("export", seconds=0.6, times=None)
    app = job_app(timeout=0.2)
    async with app:
        with anyio.fail_after(10), pytest.raises(APITimeoutError):
            await app.export()
        await anyio.sleep(1.0)
    assert len(local_server.job_logs(app.application_id)) <= 1


@pytest.mark.anyio
async def test_enqueue_retried_on_429_real_http(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Details/Retries: an export refused with 429 is retried and enqueues exactly one job."""
    app = job_app()
    local_server.faults.fail("export", status=429, times=1, application_id=app.application_id)
    async with app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        with anyio.fail_after(15):
            outcome = await handle
    assert outcome.status == "completed"
    assert len(local_server.job_logs(app.application_id)) == 1
