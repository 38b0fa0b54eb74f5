"""MqttStream against the local Losant: real sockets on 127.0.0.1, asyncio and trio."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import pytest

from losant_async._exceptions import AuthenticationError
from losant_async._sse import MqttStream, MqttStreamGroup
from losant_async._transport import _RetryPolicy, _Transport

if TYPE_CHECKING:
    from losant_async.testing import LocalLosant

# Keep-alive 0.2 s: the watchdog's silence limit is then its floor, 1 s.
FAST_KEEP_ALIVE = 0.2


def transport_for(server: LocalLosant) -> _Transport:
    return _Transport(token=server.token, base_url=server.base_url, timeout=5.0, max_retries=0)


def stream_path(app_id: str) -> str:
    return f"/applications/{app_id}/mqttSubscriptionStream"


async def publish(transport: _Transport, app_id: str, topic: str, message: str) -> None:
    await transport.request(
        "POST",
        f"/applications/{app_id}/mqttPublishMessage",
        retry=_RetryPolicy.NEVER,
        json={"topic": topic, "message": message},
    )


async def drain(stream: MqttStream, into: list[str]) -> None:
    async for msg in stream:
        into.append(msg.message)


async def wait_until(condition: Callable[[], bool], *, within: float) -> float:
    """Poll ``condition`` (every 10 ms, at most ``within`` s); return the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > within:
            raise AssertionError(f"condition not met within {within} s")
        await anyio.sleep(0.01)
    return time.monotonic() - start


@pytest.mark.anyio
async def test_messages_arrive_in_order(local_server: LocalLosant, app_id: str) -> None:
    """Messages on matching topics arrive in publish order; others are not delivered."""
    async with transport_for(local_server) as transport:
        stream = MqttStream(transport, stream_path(app_id), topic="devices/+/state")
        with anyio.fail_after(10):
            async with stream:
                for i in range(30):
                    await publish(transport, app_id, f"devices/d{i % 3}/state", f"m{i}")
                    await publish(transport, app_id, "other/topic", f"x{i}")
                got = []
                async for msg in stream:
                    got.append((msg.topic, msg.message))
                    if len(got) == 30:
                        break
    assert got == [(f"devices/d{i % 3}/state", f"m{i}") for i in range(30)]
    assert stream.reconnects == 0
    assert stream.last_event_id == "59"


@pytest.mark.anyio
async def test_drop_mid_stream_resumes_without_loss(local_server: LocalLosant, app_id: str) -> None:
    """A stream the server drops after 3 events resumes via Last-Event-ID with nothing lost."""
    local_server.faults.drop_stream(after_events=3, times=1, application_id=app_id)
    async with transport_for(local_server) as transport:
        stream = MqttStream(transport, stream_path(app_id), topic="t/#", backoff_initial=0.01)
        with anyio.fail_after(10):
            async with stream:
                for i in range(10):
                    await publish(transport, app_id, "t/a", str(i))
                got = []
                async for msg in stream:
                    got.append(msg.message)
                    if len(got) == 10:
                        break
    assert got == [str(i) for i in range(10)]
    assert stream.reconnects == 1
    assert stream.last_event_id == "10"


@pytest.mark.anyio
async def test_stall_is_detected_and_reconnected_within_bound(
    local_server: LocalLosant, app_id: str
) -> None:
    """A connection that goes silent is declared dead after 1 s and resumed within 2.5 s."""
    # Connection 1 ends after one event; connection 2 stalls; connection 3 replays.
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    async with transport_for(local_server) as transport:
        stream = MqttStream(
            transport,
            stream_path(app_id),
            topic="t",
            keep_alive_interval=FAST_KEEP_ALIVE,
            backoff_initial=0.01,
        )
        assert stream.silence_timeout == 1.0
        with anyio.fail_after(10):
            async with stream:
                local_server.faults.stall_stream(times=1, application_id=app_id)
                await publish(transport, app_id, "t", "before")
                assert (await stream.__anext__()).message == "before"
                first = time.monotonic()
                await publish(transport, app_id, "t", "after")
                assert (await stream.__anext__()).message == "after"
                waited = time.monotonic() - first
    assert 0.9 <= waited <= 2.5, waited
    assert stream.reconnects == 2


@pytest.mark.anyio
async def test_keep_alives_keep_a_quiet_stream_open(local_server: LocalLosant, app_id: str) -> None:
    """Keep-alives alone keep a quiet stream alive past the silence limit: no reconnect."""
    async with transport_for(local_server) as transport:
        stream = MqttStream(
            transport, stream_path(app_id), topic="t", keep_alive_interval=FAST_KEEP_ALIVE
        )
        with anyio.fail_after(10):
            async with stream, anyio.create_task_group() as tg:

                async def later() -> None:
                    await anyio.sleep(1.6)
                    await publish(transport, app_id, "t", "late")

                tg.start_soon(later)
                assert (await stream.__anext__()).message == "late"
    assert stream.reconnects == 0


@pytest.mark.anyio
async def test_401_on_reconnect_ends_with_authentication_error(
    local_server: LocalLosant, app_id: str
) -> None:
    """A 401 answering the reconnect after a drop ends iteration with AuthenticationError."""
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    async with transport_for(local_server) as transport:
        stream = MqttStream(transport, stream_path(app_id), topic="t", backoff_initial=0.01)
        got: list[str] = []
        with anyio.fail_after(10):
            async with stream:
                local_server.faults.fail(
                    "mqttSubscriptionStream", status=401, times=1, application_id=app_id
                )
                await publish(transport, app_id, "t", "one")
                with pytest.raises(AuthenticationError):
                    await drain(stream, got)
    assert got == ["one"]
    assert stream.reconnects == 0


@pytest.mark.anyio
async def test_401_on_first_connect_raises_from_aenter(
    local_server: LocalLosant, app_id: str
) -> None:
    """A token the server refuses fails the first connect from __aenter__."""
    transport = _Transport(
        token="not-a-valid-token", base_url=local_server.base_url, timeout=5.0, max_retries=0
    )
    async with transport:
        stream = MqttStream(transport, stream_path(app_id), topic="t")
        with anyio.fail_after(10), pytest.raises(AuthenticationError):
            await stream.__aenter__()
    assert stream.is_closed


@pytest.mark.anyio
async def test_leaving_early_disconnects_within_one_second(
    local_server: LocalLosant, app_id: str
) -> None:
    """Break, an exception or a cancel scope closes the connection; the server sees it in 1 s."""
    baseline = local_server.open_streams
    async with transport_for(local_server) as transport:
        path = stream_path(app_id)
        with anyio.fail_after(10):
            async with MqttStream(transport, path, topic="t") as stream:
                await publish(transport, app_id, "t", "m")
                async for _ in stream:
                    break
                assert local_server.open_streams == baseline + 1
            await wait_until(lambda: local_server.open_streams == baseline, within=1.0)

            with pytest.raises(KeyError):
                async with MqttStream(transport, path, topic="t"):
                    raise KeyError("boom")
            await wait_until(lambda: local_server.open_streams == baseline, within=1.0)

            with anyio.move_on_after(0.2) as scope:
                async with MqttStream(transport, path, topic="t") as stream:
                    await stream.__anext__()
            assert scope.cancelled_caught
            await wait_until(lambda: local_server.open_streams == baseline, within=1.0)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.anyio
async def test_open_cancel_cycles_leak_no_sockets_or_tasks(
    local_server: LocalLosant, app_id: str
) -> None:
    """500 open/cancel cycles leave open file descriptors and running tasks where they began."""
    async with transport_for(local_server) as transport:
        path = stream_path(app_id)
        baseline = local_server.open_streams
        # One cycle first, so that pooled connections and lazy imports exist.
        with anyio.move_on_after(0.2):
            async with MqttStream(transport, path, topic="t") as stream:
                await stream.__anext__()
        await wait_until(lambda: local_server.open_streams == baseline, within=1.0)
        fds, tasks = open_fds(), len(anyio.get_running_tasks())
        with anyio.fail_after(60):
            for i in range(500):
                with anyio.CancelScope() as scope:
                    if i % 2:
                        scope.cancel()  # cancelled while connecting
                    async with MqttStream(transport, path, topic="t") as stream:
                        scope.cancel()  # cancelled while reading
                        await stream.__anext__()
                assert stream.is_closed
            await wait_until(lambda: local_server.open_streams == baseline, within=2.0)
            # The server's sockets live in this process too: let it close its side.
            await wait_until(lambda: open_fds() <= fds, within=2.0)
        assert len(anyio.get_running_tasks()) == tasks


@pytest.mark.anyio
async def test_group_follows_several_topics(local_server: LocalLosant, app_id: str) -> None:
    """A group of streams yields every topic's messages, each topic in order."""
    async with transport_for(local_server) as transport:
        path = stream_path(app_id)
        baseline = local_server.open_streams
        streams = [MqttStream(transport, path, topic=t) for t in ("a", "b/#")]
        got: dict[str, list[str]] = {"a": [], "b/x": []}
        with anyio.fail_after(10):
            async with MqttStreamGroup(streams) as group:
                for i in range(10):
                    await publish(transport, app_id, "a", f"a{i}")
                    await publish(transport, app_id, "b/x", f"b{i}")
                count = 0
                async for msg in group:
                    got[msg.topic].append(msg.message)
                    count += 1
                    if count == 20:
                        break
    assert got == {"a": [f"a{i}" for i in range(10)], "b/x": [f"b{i}" for i in range(10)]}
    await wait_until(lambda: local_server.open_streams == baseline, within=1.0)


@pytest.mark.anyio
async def test_facade_follows_several_topics_as_one_iterator(
    local_server: LocalLosant, app_id: str
) -> None:
    """app.mqtt_subscription_streams opens one connection per topic and merges their messages."""
    from losant_async import AsyncApplication

    baseline = local_server.open_streams
    async with AsyncApplication(
        app_id, token=local_server.token, base_url=local_server.base_url
    ) as app:
        group = app.mqtt_subscription_streams(["left/+", "right"])
        got: list[tuple[str, str]] = []
        with anyio.fail_after(10):
            async with group:
                assert local_server.open_streams == baseline + 2
                await app.mqtt_publish_message("left/1", "l")
                await app.mqtt_publish_message("elsewhere", "x")
                await app.mqtt_publish_message("right", "r")
                async for msg in group:
                    got.append((msg.topic, msg.message))
                    if len(got) == 2:
                        break
        with pytest.raises(TypeError):
            app.mqtt_subscription_streams("right")
    assert sorted(got) == [("left/1", "l"), ("right", "r")]
    await wait_until(lambda: local_server.open_streams == baseline, within=1.0)


@pytest.mark.asyncio
async def test_asyncio_timeout_around_a_stream(local_server: LocalLosant, app_id: str) -> None:
    """asyncio.timeout around a stream raises TimeoutError and closes the connection."""
    baseline = local_server.open_streams
    async with transport_for(local_server) as transport:
        stream = MqttStream(transport, stream_path(app_id), topic="t")

        async def consume() -> None:
            async with asyncio.timeout(0.3), stream:
                await publish(transport, app_id, "t", "m")
                await drain(stream, [])

        with pytest.raises(TimeoutError):
            await consume()
        assert stream.is_closed
        await wait_until(lambda: local_server.open_streams == baseline, within=1.0)
