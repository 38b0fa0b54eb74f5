"""A token callable against the local Losant: an expired token is refreshed once, work goes on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest

from losant_async import AsyncApplication, AuthenticationError
from losant_async.testing._schemas import ALL_SCOPES

if TYPE_CHECKING:
    from losant_async.testing import LocalLosant

pytestmark = pytest.mark.anyio


class _Rotating:
    """A token callable whose current token the test replaces, counting its calls."""

    def __init__(self, token: str) -> None:
        self.current = token
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        await anyio.lowlevel.checkpoint()
        return self.current


async def test_token_expiring_mid_stream_is_refreshed_once(
    local_server: LocalLosant, app_id: str
) -> None:
    """A token revoked while a stream is open is refreshed once at the reconnect; it goes on."""
    first = local_server.create_token(scopes=ALL_SCOPES)
    tokens = _Rotating(first)
    # The first connection ends after one message, so the stream must reconnect.
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    publisher = AsyncApplication(app_id, token=local_server.token, base_url=local_server.base_url)
    app = AsyncApplication(app_id, token=tokens, base_url=local_server.base_url, max_retries=0)
    got: list[str] = []
    with anyio.fail_after(15):
        async with publisher, app:
            stream = app.mqtt_subscription_stream(
                "t/#", keep_alive_interval=1, backoff_initial=0.01
            )
            async with stream:
                # Expired while the connection is up: only the reconnect can notice.
                local_server.revoke_token(first)
                tokens.current = local_server.create_token(scopes=ALL_SCOPES)
                await publisher.mqtt_publish_message("t/a", "before")
                got.append((await stream.__anext__()).message)
                async with anyio.create_task_group() as tg:

                    async def read_one() -> None:
                        got.append((await stream.__anext__()).message)
                        tg.cancel_scope.cancel()

                    tg.start_soon(read_one)
                    # Published until one gets through the re-opened connection (a
                    # message sent while it is down is lost: Losant replays nothing).
                    for i in range(100):
                        await publisher.mqtt_publish_message("t/a", f"after {i}")
                        await anyio.sleep(0.1)
            reconnects = stream.reconnects
        # Later requests keep the refreshed token: no further call.
        await_calls = tokens.calls
    assert got[0] == "before"
    assert got[1].startswith("after ")
    assert reconnects == 1
    assert await_calls == 2


async def test_revoked_token_without_a_new_one_ends_the_stream(
    local_server: LocalLosant, app_id: str
) -> None:
    """If the callable still returns the revoked token, the reconnect's 401 ends the stream."""
    token = local_server.create_token(scopes=ALL_SCOPES)
    tokens = _Rotating(token)
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    publisher = AsyncApplication(app_id, token=local_server.token, base_url=local_server.base_url)
    app = AsyncApplication(app_id, token=tokens, base_url=local_server.base_url, max_retries=0)
    with anyio.fail_after(15):
        async with publisher, app:
            stream = app.mqtt_subscription_stream("t", keep_alive_interval=1, backoff_initial=0.01)
            async with stream:
                local_server.revoke_token(token)
                await publisher.mqtt_publish_message("t", "one")
                assert (await stream.__anext__()).message == "one"
                with pytest.raises(AuthenticationError):
                    await stream.__anext__()
    assert tokens.calls == 2


async def test_requests_refresh_an_expired_token(local_server: LocalLosant, app_id: str) -> None:
    """A revoked token makes the next request fetch a new one and succeed, once."""
    first = local_server.create_token(scopes=ALL_SCOPES)
    tokens = _Rotating(first)
    async with AsyncApplication(app_id, token=tokens, base_url=local_server.base_url) as app:
        await app.get()
        local_server.revoke_token(first)
        tokens.current = local_server.create_token(scopes=ALL_SCOPES)
        application = await app.get()
        await app.readme()
    assert application.id == app_id
    assert tokens.calls == 2
