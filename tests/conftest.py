"""Shared fixtures: both anyio backends, a clean environment, respx, the local Losant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

import losant_async.testing.respx

# respx patches httpcore by default; losant_async has its own transport.
losant_async.testing.respx.use_by_default()

if TYPE_CHECKING:
    import respx

    from losant_async.testing import LocalLosant

BASE_URL = "https://api.losant.test"
APP_ID = "575ec8687ae143cd83dc4a97"
TOKEN = "tok_secret_5f2a9c"


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("trio", {}), id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, object]]:
    """Run every anyio test on asyncio and on trio."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own Losant credentials out of every test."""
    monkeypatch.delenv("LOSANT_API_TOKEN", raising=False)
    monkeypatch.delenv("LOSANT_API_URL", raising=False)


@pytest.fixture(autouse=True)
def _zero_retry_delay() -> Iterator[None]:
    """Retries and backoffs sleep for zero seconds in tests."""
    from losant_async.testing import set_testing

    set_testing(zero_delay=True)
    yield
    set_testing(zero_delay=False)


@pytest.fixture
def respx_mock() -> Iterator[respx.MockRouter]:
    """A respx router on the fake base URL that fails on unmatched or unused routes."""
    import respx

    with respx.mock(base_url=BASE_URL, assert_all_called=True) as router:
        yield router


_DEFAULT_JOB_DURATION = 0.05


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalLosant]:
    """One local Losant for the session, in its own thread, shared by both backends."""
    from losant_async.testing import LocalLosant

    with LocalLosant().run_in_thread() as server:
        server.job_duration = _DEFAULT_JOB_DURATION
        yield server


@pytest.fixture
def app_id(local_server: LocalLosant) -> Iterator[str]:
    """A fresh application on the local Losant for each test; faults reset after it."""
    yield local_server.create_application(name="Test application")
    local_server.faults.clear()
    local_server.job_duration = _DEFAULT_JOB_DURATION
    local_server.replay = False
    local_server.clock_offset = 0.0
