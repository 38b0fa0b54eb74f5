"""Contract tests: API.md, Streams and Details: Streams.

Black-box: only the public surface (``losant_async``, ``losant_async.testing``),
httpx, respx, pytest and anyio.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable

import anyio
import httpx
import pytest
import respx

from losant_async import (
    APIConnectionError,
    APIStatusError,
    AsyncApplication,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    MqttMessage,
    MqttStream,
    NotFoundError,
    PermissionDeniedError,
)
from losant_async.testing import LocalLosant
from tests.contract.support import (
    APP_PATH,
    SSE,
    drain,
    make_app,
    mqtt_event,
)


def test_stream_signature() -> None:
    """Details/Streams: mqtt_subscription_stream(topic, *, keep_alive_interval=2, reconnect=True,
    max_reconnects=None, backoff_initial=0.5, backoff_max=30.0)."""
    params = inspect.signature(AsyncApplication.mqtt_subscription_stream).parameters
    # The contract's parameters, in order; later additions (issue 13:
    # on_state_change) are keyword-only with a default.
    assert list(params)[:7] == [
        "self",
        "topic",
        "keep_alive_interval",
        "reconnect",
        "max_reconnects",
        "backoff_initial",
        "backoff_max",
    ]
    assert params["keep_alive_interval"].default == 2
    assert params["reconnect"].default is True
    assert params["max_reconnects"].default is None
    assert params["backoff_initial"].default == 0.5
    assert params["backoff_max"].default == 30.0
    for name in ("keep_alive_interval", "reconnect", "max_reconnects"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    for extra in list(params.values())[7:]:
        assert extra.kind is inspect.Parameter.KEYWORD_ONLY
        assert extra.default is None


@pytest.mark.anyio
async def test_stream_yields_only_mqtt_messages(respx_mock: respx.MockRouter) -> None:
    """Streams: only mqttMessage events reach the user; comments and other events are signs of
    life."""
    body = (
        b": keep-alive\n\n"
        + b"event: keepAlive\ndata: {}\n\n"
        + b'data: {"topic": "x", "message": "unnamed"}\n\n'
        + mqtt_event("a/b", "one")
        + b"event: somethingNew\ndata: 1\n\n"
        + mqtt_event("a/c", '{"t":1}')
    )
    respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[httpx.Response(200, headers=SSE, content=body), httpx.Response(204)]
    )
    async with make_app() as app, app.mqtt_subscription_stream("a/#") as stream:
        assert isinstance(stream, MqttStream)
        messages = [m async for m in stream]
    assert messages == [
        MqttMessage(topic="a/b", message="one"),
        MqttMessage(topic="a/c", message='{"t":1}'),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
    ],
)
async def test_stream_4xx_first_connect_raises_from_aenter(
    respx_mock: respx.MockRouter, status: int, cls: type[APIStatusError]
) -> None:
    """Details/Streams: a 4xx on the first connect raises from __aenter__, and is not retried."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(
        status, json={"type": "X", "message": "no"}
    )
    entered = False
    async with make_app() as app:
        with pytest.raises(cls):
            async with app.mqtt_subscription_stream("t"):
                entered = True
    assert not entered
    assert route.call_count == 1


@pytest.mark.anyio
async def test_stream_408_not_retried(respx_mock: respx.MockRouter) -> None:
    """Streams: a 4xx on connect (408 included: only 429 is retried) ends the stream, not
    retried."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(408, json={})
    async with make_app() as app:
        with pytest.raises(APIStatusError) as info:
            async with app.mqtt_subscription_stream("t"):
                pass
    assert info.value.status_code == 408
    assert route.call_count == 1


@pytest.mark.anyio
async def test_stream_204_ends_cleanly(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: a server end with 204 ends iteration cleanly."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(204)
    async with make_app() as app, app.mqtt_subscription_stream("t") as stream:
        assert [m async for m in stream] == []
        assert stream.reconnects == 0
    assert route.call_count == 1


@pytest.mark.anyio
async def test_stream_reconnect_off_raises_never_silent(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: with reconnection off, iteration raises the error that ended the
    connection."""
    respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(
        200, headers=SSE, content=mqtt_event("t", "only")
    )
    received: list[MqttMessage] = []
    async with make_app() as app, app.mqtt_subscription_stream("t", reconnect=False) as stream:
        with pytest.raises(APIConnectionError):
            await drain(stream, received)
    assert received == [MqttMessage(topic="t", message="only")]


@pytest.mark.anyio
async def test_stream_reconnects_counted_and_last_event_id(respx_mock: respx.MockRouter) -> None:
    """Streams: a dropped connection is re-opened with Last-Event-ID; stream.reconnects counts re-
    opens."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[
            httpx.Response(200, headers=SSE, content=mqtt_event("t", "1", "ev-1")),
            httpx.ReadError("reset"),
            httpx.Response(503, json={}),
            httpx.Response(429, json={}, headers={"Retry-After": "0"}),
            httpx.Response(200, headers=SSE, content=mqtt_event("t", "2", "ev-2")),
            httpx.Response(204),
        ]
    )
    async with make_app() as app, app.mqtt_subscription_stream("t") as stream:
        messages = [m.message async for m in stream]
        assert stream.reconnects == 1
    assert messages == ["1", "2"]
    assert "last-event-id" not in route.calls[0].request.headers
    for call in route.calls[1:5]:
        assert call.request.headers["last-event-id"] == "ev-1"
    assert route.calls[5].request.headers["last-event-id"] == "ev-2"


@pytest.mark.anyio
async def test_stream_max_reconnects_used_up_raises(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: with max_reconnects used up, iteration raises the last connection's
    error."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[
            httpx.Response(200, headers=SSE, content=mqtt_event("t", "1")),
            httpx.Response(503, json={"type": "Down", "message": "down"}),
            httpx.Response(503, json={"type": "Down", "message": "down"}),
        ]
    )
    async with make_app() as app, app.mqtt_subscription_stream("t", max_reconnects=2) as stream:
        got: list[MqttMessage] = []
        with pytest.raises(InternalServerError):
            await drain(stream, got)
        assert stream.reconnects == 0
    assert [m.message for m in got] == ["1"]
    assert route.call_count == 3


@pytest.mark.anyio
async def test_stream_4xx_on_reconnect_raises_from_iteration(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: a 4xx on a reconnect raises from the iteration, not retried."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[
            httpx.Response(200, headers=SSE, content=mqtt_event("t", "1")),
            httpx.Response(403, json={"type": "Forbidden", "message": "revoked"}),
        ]
    )
    got: list[MqttMessage] = []
    async with make_app() as app, app.mqtt_subscription_stream("t") as stream:
        with pytest.raises(PermissionDeniedError):
            await drain(stream, got)
    assert [m.message for m in got] == ["1"]
    assert route.call_count == 2


@pytest.mark.anyio
async def test_stream_5xx_first_connect_retried(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: 5xx and network errors on connect are retried."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").mock(
        side_effect=[
            httpx.Response(502, text="<html>bad gateway</html>"),
            httpx.ConnectError("refused"),
            httpx.Response(200, headers=SSE, content=mqtt_event("t", "ok")),
            httpx.Response(204),
        ]
    )
    async with make_app() as app, app.mqtt_subscription_stream("t") as stream:
        assert [m.message async for m in stream] == ["ok"]
    assert route.call_count == 4


async def _wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll the server's state (it has no event to wait on), bounded in count and time."""
    with anyio.fail_after(seconds):
        for _ in range(int(seconds / 0.02) + 1):
            if predicate():
                return
            await anyio.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.mark.anyio
async def test_stream_end_to_end_and_closes_at_once(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication]
) -> None:
    """Streams: published messages reach a wildcard subscriber; leaving the block closes the
    connection."""
    before = local_server.open_streams
    async with local_app() as app:
        async with app.mqtt_subscription_stream("devices/+/state") as stream:
            await _wait_for(lambda: local_server.open_streams == before + 1)
            await app.mqtt_publish_message("devices/d1/state", "on")
            await app.mqtt_publish_message("other/topic", "ignored")
            await app.mqtt_publish_message("devices/d2/state", {"temp": 21})
            got = []
            with anyio.fail_after(5):
                async for message in stream:
                    got.append(message)
                    if len(got) == 2:
                        break
        assert stream.is_closed
        await _wait_for(lambda: local_server.open_streams == before)
    assert got == [
        MqttMessage(topic="devices/d1/state", message="on"),
        MqttMessage(topic="devices/d2/state", message='{"temp":21}'),
    ]


@pytest.mark.anyio
async def test_stream_drop_reconnects_real_http(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication], app_id: str
) -> None:
    """Streams: a dropped connection is re-opened and stream.reconnects counts it; no message is
    lost (Last-Event-ID)."""
    # Losant replays nothing; the local Losant's replay knob exercises the Last-Event-ID path.
    local_server.replay = True
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    async with local_app() as app, app.mqtt_subscription_stream("t/#") as stream:
        await _wait_for(lambda: local_server.open_streams >= 1)
        for i in range(3):
            await app.mqtt_publish_message(f"t/{i}", str(i))
        got = []
        with anyio.fail_after(10):
            async for message in stream:
                got.append(message.message)
                if len(got) == 3:
                    break
        assert stream.reconnects == 1
    assert got == ["0", "1", "2"]


@pytest.mark.anyio
async def test_stream_silence_is_dead_connection(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication], app_id: str
) -> None:
    """Details/Streams: silence longer than 3 keep-alive intervals ends a connection; with
    reconnect off it raises."""
    local_server.faults.stall_stream(times=1, application_id=app_id)
    async with local_app() as app:
        start = anyio.current_time()
        async with app.mqtt_subscription_stream("t", keep_alive_interval=1, reconnect=False) as s:
            with anyio.fail_after(15), pytest.raises(APIConnectionError):
                async for _ in s:
                    pass
        elapsed = anyio.current_time() - start
    assert 2.9 <= elapsed < 10


@pytest.mark.anyio
async def test_stream_403_scope_from_aenter_real_http(
    local_server: LocalLosant, app_id: str
) -> None:
    """Details/Streams: a token without the stream's scope is refused on first connect: raised from
    __aenter__."""
    token = local_server.create_token(scopes=["application.get"])
    async with AsyncApplication(app_id, token=token, base_url=local_server.base_url) as app:
        with pytest.raises(PermissionDeniedError):
            async with app.mqtt_subscription_stream("t"):
                pass  # pragma: no cover


@pytest.mark.anyio
async def test_stream_default_keep_alive_on_wire(respx_mock: respx.MockRouter) -> None:
    """Details/Streams: the default keepAliveInterval is 2, sent as such."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(204)
    async with make_app() as app, app.mqtt_subscription_stream("t") as stream:
        assert [m async for m in stream] == []
    assert route.calls.last.request.url.params["keepAliveInterval"] == "2"
    assert route.calls.last.request.extensions["timeout"]["read"] == 6.0


@pytest.mark.anyio
@pytest.mark.parametrize("kwargs", [{"reconnect": False}, {"max_reconnects": 0}])
async def test_stream_5xx_first_connect_no_reconnect_raises(
    respx_mock: respx.MockRouter, kwargs: dict[str, object]
) -> None:
    """Details/Streams: with reconnection off (or max_reconnects=0), a failing first connect raises
    its error from __aenter__."""
    route = respx_mock.get(APP_PATH + "/mqttSubscriptionStream").respond(
        503, json={"type": "Down", "message": "down"}
    )
    async with make_app() as app:
        with pytest.raises(InternalServerError):
            async with app.mqtt_subscription_stream("t", **kwargs):  # type: ignore[arg-type]
                pass  # pragma: no cover
    assert route.call_count == 1


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["exception", "cancel"])
async def test_stream_leaving_block_closes_connection(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication], how: str
) -> None:
    """Streams: leaving the block by an exception or a cancellation closes the HTTP connection at
    once."""
    before = local_server.open_streams
    async with local_app() as app:
        with anyio.CancelScope() as scope:
            with contextlib.suppress(KeyError):
                async with app.mqtt_subscription_stream("t") as stream:
                    await _wait_for(lambda: local_server.open_streams == before + 1)
                    if how == "cancel":
                        scope.cancel()
                        async for _ in stream:
                            pass  # pragma: no cover
                    raise KeyError("boom")
        assert stream.is_closed
        await _wait_for(lambda: local_server.open_streams == before)


@pytest.mark.anyio
async def test_stream_silence_reconnects_real_http(
    local_server: LocalLosant, local_app: Callable[..., AsyncApplication], app_id: str
) -> None:
    """Streams: a silent (dead) connection is re-opened, and stream.reconnects counts it."""
    local_server.faults.stall_stream(times=1, application_id=app_id)
    async with local_app() as app, app.mqtt_subscription_stream("t", keep_alive_interval=1) as s:
        got: list[MqttMessage] = []

        async def publish() -> None:
            for _ in range(100):
                await app.mqtt_publish_message("t", "alive")
                await anyio.sleep(0.1)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(publish)
                async for message in s:
                    got.append(message)
                    break
                tg.cancel_scope.cancel()
        assert s.reconnects == 1
    assert got == [MqttMessage(topic="t", message="alive")]
