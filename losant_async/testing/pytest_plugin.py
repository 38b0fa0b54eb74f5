"""pytest plugin: a local Losant for your own tests.

Loaded automatically once `losant-async[testing]` is installed (entry point
`pytest11`). With autoloading off (`PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`), load
it with `pytest -p losant_async.testing.pytest_plugin`; do not pass that `-p` while
the entry point is active, or pytest sees the module twice and refuses to
start. It gives two fixtures:

- `local_losant_server` (session scope): one `LocalLosant` running in a
  background thread for the whole session, shared by asyncio and trio tests.
- `local_losant` (function scope): the same server; after each test its
  faults are cleared and `job_duration`, `replay` and `clock_offset` are reset.

Example::

    import pytest
    from losant_async import AsyncLosant

    @pytest.mark.anyio
    async def test_rename(local_losant):
        app_id = local_losant.create_application(name="Before")
        async with AsyncLosant(token=local_losant.token, base_url=local_losant.base_url) as client:
            app = await client.application(app_id).patch(name="After")
        assert app.name == "After"

The fixtures leave the client's retry delays as they are; to make retries
and stream reconnects instant, use `losant_async.testing.set_testing`
(see that package's docstring).

The server is imported lazily, so this plugin costs nothing (and needs no
extra packages) in sessions that do not use the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from losant_async.testing import LocalLosant


@pytest.fixture(scope="session")
def local_losant_server() -> Iterator[LocalLosant]:
    """One local Losant for the whole session, served from a background thread."""
    from losant_async.testing import LocalLosant

    with LocalLosant().run_in_thread() as server:
        yield server


@pytest.fixture
def local_losant(local_losant_server: LocalLosant) -> Iterator[LocalLosant]:
    """The session's local Losant; after the test, faults are cleared and the knobs reset."""
    duration = local_losant_server.job_duration
    yield local_losant_server
    local_losant_server.faults.clear()
    local_losant_server.job_duration = duration
    local_losant_server.replay = False
    local_losant_server.clock_offset = 0.0
