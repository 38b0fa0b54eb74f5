"""MqttStream against the local Losant: real sockets on 127.0.0.1, asyncio and trio."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import httpx
import pytest

from losant_async import _retry as retry_module
from losant_async._exceptions import APIConnectionError, AuthenticationError, PoolTimeoutError
from losant_async._retry import RetryPolicy
from losant_async._streams import MqttStream, MqttStreamGroup
from losant_async._transport import Transport

if TYPE_CHECKING:
    from losant_async.testing import LocalLosant

# Keep-alive 1 s, the least Losant takes (whole seconds): the watchdog's
# silence limit is then 3 s.
FAST_KEEP_ALIVE = 1


def transport_for(server: LocalLosant) -> Transport:
    return Transport(token=server.token, base_url=server.base_url, timeout=5.0, max_retries=0)


def stream_path(app_id: str) -> str:
    return f"/applications/{app_id}/mqttSubscriptionStream"


async def publish(transport: Transport, app_id: str, topic: str, message: str) -> None:
    await transport.request(
        "POST",
        f"/applications/{app_id}/mqttPublishMessage",
        retry=RetryPolicy.NEVER,
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
    assert stream.last_event_id is None  # like Losant, the local server sends no ids
    assert stream.gaps == ()


@pytest.mark.anyio
async def test_drop_mid_stream_resumes_without_loss(
    local_server: LocalLosant, app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With replay on (not Losant's way), a dropped stream resumes via Last-Event-ID."""
    monkeypatch.setattr(local_server, "replay", True)
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
    assert [gap.replayed for gap in stream.gaps] == [True]


@pytest.mark.anyio
async def test_stall_is_detected_and_reconnected_within_bound(
    local_server: LocalLosant, app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that goes silent is declared dead after 3 s and resumed within 6 s."""
    # Connection 1 ends after one event; connection 2 stalls; connection 3 replays.
    monkeypatch.setattr(local_server, "replay", True)
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    async with transport_for(local_server) as transport:
        stream = MqttStream(
            transport,
            stream_path(app_id),
            topic="t",
            keep_alive_interval=FAST_KEEP_ALIVE,
            backoff_initial=0.01,
        )
        assert stream.silence_timeout == 3.0
        with anyio.fail_after(15):
            async with stream:
                local_server.faults.stall_stream(times=1, application_id=app_id)
                await publish(transport, app_id, "t", "before")
                assert (await stream.__anext__()).message == "before"
                first = time.monotonic()
                await publish(transport, app_id, "t", "after")
                assert (await stream.__anext__()).message == "after"
                waited = time.monotonic() - first
    assert 2.9 <= waited <= 6.0, waited
    assert stream.reconnects == 2
    assert len(stream.gaps) == 2


@pytest.mark.anyio
async def test_keep_alives_keep_a_quiet_stream_open(local_server: LocalLosant, app_id: str) -> None:
    """Keep-alives alone keep a quiet stream alive past the silence limit: no reconnect."""
    async with transport_for(local_server) as transport:
        stream = MqttStream(
            transport, stream_path(app_id), topic="t", keep_alive_interval=FAST_KEEP_ALIVE
        )
        with anyio.fail_after(15):
            async with stream, anyio.create_task_group() as tg:

                async def later() -> None:
                    await anyio.sleep(3.6)  # past the 3 s silence limit
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
    transport = Transport(
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


# --- outages are gaps (issue 10) ----------------------------------------------------


@pytest.mark.anyio
async def test_outage_is_one_gap_and_its_messages_are_lost(
    local_server: LocalLosant, app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drop then three refused reconnects is one gap, not replayed; what it hid is not claimed."""
    monkeypatch.setattr(retry_module, "_zero_delay", False)
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    async with transport_for(local_server) as transport:
        stream = MqttStream(
            transport, stream_path(app_id), topic="t", backoff_initial=0.2, backoff_max=2.0
        )
        got: list[str] = []
        with anyio.fail_after(20):
            async with stream, anyio.create_task_group() as tg:
                local_server.faults.fail(
                    "mqttSubscriptionStream", status=503, times=3, application_id=app_id
                )
                tg.start_soon(drain, stream, got)
                await publish(transport, app_id, "t", "before")
                await wait_until(lambda: got == ["before"], within=5)
                # The server ended the stream (the client read its end): nobody
                # is subscribed, and the reconnects are refused.
                await wait_until(lambda: stream._outage_from is not None, within=5)
                await anyio.sleep(0.1)
                lost_at = datetime.now(UTC)
                await publish(transport, app_id, "t", "lost")
                # Three refusals take at least 0.1 + 0.2 + 0.4 + 0.8 s of backoff.
                assert stream.reconnects == 0
                # Re-opened: the server subscribed before it answered.
                await wait_until(lambda: stream.reconnects == 1, within=10)
                await publish(transport, app_id, "t", "after")
                await wait_until(lambda: len(got) == 2, within=5)
                tg.cancel_scope.cancel()
    assert got == ["before", "after"]
    (gap,) = stream.gaps
    assert gap.replayed is False
    assert gap.started_at <= lost_at <= gap.ended_at
    assert (gap.ended_at - gap.started_at).total_seconds() >= 1.0


# --- a scripted SSE server: hostile fields, flapping (issues 10 and 11) ---------------

HOLD = object()  # keep the connection open, sending nothing more
Part = bytes | object
Script = Callable[[int], tuple[int, Sequence[Part]]]


class ScriptedServer:
    """A raw HTTP/1.1 server on 127.0.0.1: answers request ``n`` with ``script(n)``.

    Each body part is sent as one chunk (chunked encoding); after the last one
    the body ends and the connection closes, unless a part is ``HOLD``.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.times: list[float] = []
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, client: anyio.abc.SocketStream) -> None:
        async with client:
            try:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    head += await client.receive()
                index = len(self.requests)
                self.requests.append(head)
                self.times.append(time.monotonic())
                status, parts = self.script(index)
                kind = "text/event-stream" if status == 200 else "application/json"
                await client.send(
                    f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
                )
                for part in parts:
                    if part is HOLD:
                        await anyio.sleep_forever()
                    assert isinstance(part, bytes)
                    if part:
                        await client.send(b"%x\r\n%s\r\n" % (len(part), part))
                await client.send(b"0\r\n\r\n")
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                pass  # the client went away


@contextlib.asynccontextmanager
async def scripted_server(script: Script) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer(script)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    server.port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, server.handle)
        yield server
        tg.cancel_scope.cancel()


def sse_event(data: bytes, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n".encode() if event_id is not None else b""
    return head + b"event: mqttMessage\ndata: " + data + b"\n\n"


def message(text: str, event_id: str | None = None) -> bytes:
    return sse_event(json.dumps({"topic": "t", "message": text}).encode(), event_id)


def scripted_transport(server: ScriptedServer) -> Transport:
    return Transport(token="tok", base_url=server.base_url, timeout=5.0, max_retries=0)


PATH = "/applications/0123456789abcdef01234567/mqttSubscriptionStream"
PIECE = b"x" * 65536


@pytest.mark.anyio
async def test_hostile_fields_leave_the_iteration_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 400-digit retry:, a non-ASCII id, a 5 MB line and odd messages never end the stream."""
    monkeypatch.setattr(retry_module, "_zero_delay", False)
    huge = [b"event: mqttMessage\ndata: ", *[PIECE] * 80, b"\n\n"]  # a 5 MB line

    def script(index: int) -> tuple[int, Sequence[Part]]:
        if index == 0:
            return 200, [
                b"retry: " + b"9" * 400 + b"\n\n",
                message("first", event_id="caf\u00e9"),
                *huge,
                sse_event(b'{"topic": "t", "message": {"a": [1, null]}}'),
                sse_event(b'{"topic": "t", "message": 42}'),
                sse_event(b"[1, 2]"),
                sse_event(b'{"topic": "t", "message": "' + b"\\u00e9" * 3 + b'"}'),
                message("after"),
            ]
        return 200, [message("second"), HOLD]

    got: list[str] = []
    async with scripted_server(script) as server, scripted_transport(server) as transport:
        stream = MqttStream(
            transport, PATH, topic="t", backoff_initial=0.05, backoff_max=0.2, max_reconnects=3
        )
        tracemalloc.start()
        try:
            with anyio.fail_after(20):
                async with stream:
                    async for msg in stream:
                        got.append(msg.message)
                        if len(got) == 6:
                            break
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert got == ["first", '{"a":[1,null]}', "42", "\u00e9\u00e9\u00e9", "after", "second"]
    assert stream.skipped == 2  # the 5 MB event and the array
    assert stream.last_event_id == "caf\u00e9"
    assert b"last-event-id" not in server.requests[1].lower()  # not sendable: not sent
    assert stream.reconnects == 1
    assert [gap.replayed for gap in stream.gaps] == [False]
    # The 5 MB line was dropped as it came in, never held whole (cap: 1 MiB).
    assert peak < 4 * 1024 * 1024, peak


@pytest.mark.anyio
@pytest.mark.parametrize("body", [b"", b":\n\n", message("one")], ids=["empty", "comment", "one"])
async def test_flapping_server_meets_backoff_and_max_reconnects(
    monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    """A server that accepts and closes each stream at once meets growing delays, then an end."""
    monkeypatch.setattr(retry_module, "_zero_delay", False)

    def script(index: int) -> tuple[int, Sequence[Part]]:
        # Bounded for the old behaviour (reconnect for ever): refuse after 40.
        return (200, [body]) if index < 40 else (404, [b'{"type": "NotFound"}'])

    async with scripted_server(script) as server, scripted_transport(server) as transport:
        stream = MqttStream(
            transport, PATH, topic="t", backoff_initial=0.05, backoff_max=1.0, max_reconnects=4
        )
        with anyio.fail_after(20), pytest.raises(APIConnectionError, match="closed the stream"):
            async with stream:
                await drain(stream, [])
    assert len(server.times) == 5  # the first connection and 4 attempts
    waits = [b - a for a, b in itertools.pairwise(server.times)]
    # Jittered doubling from 0.05 s: each wait is at least half of 0.05 * 2**n.
    for n, wait in enumerate(waits):
        assert wait >= 0.05 * 2**n / 2 * 0.9, waits


@pytest.mark.anyio
async def test_stream_without_a_free_connection_fails_clearly(
    local_server: LocalLosant, app_id: str
) -> None:
    """A stream that cannot get a connection raises PoolTimeoutError at once, never retrying."""
    transport = Transport(
        token=local_server.token,
        base_url=local_server.base_url,
        timeout=httpx.Timeout(5.0, pool=0.3),
        max_retries=0,
        max_streams=1,
    )
    async with transport:
        path = stream_path(app_id)
        with anyio.fail_after(10):
            async with MqttStream(transport, path, topic="a") as first:
                start = time.monotonic()
                second = MqttStream(transport, path, topic="b")
                with pytest.raises(PoolTimeoutError):
                    await second.__aenter__()
                waited = time.monotonic() - start
                assert second.is_closed
                assert second.reconnects == 0
                # Requests still have their own connections meanwhile.
                await publish(transport, app_id, "a", "still here")
                assert (await first.__anext__()).message == "still here"
    assert waited < 3.0, waited


# -- state (issue 13: a stream you can watch) ----------------------------------------


@pytest.mark.anyio
async def test_state_changes_through_the_facade_over_real_sockets(
    local_server: LocalLosant, app_id: str
) -> None:
    """The façade passes on_state_change: open, reconnecting, open, closed, over real sockets."""
    from losant_async import AsyncLosant, StreamState

    changes: list[tuple[StreamState, StreamState]] = []
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    async with AsyncLosant(token=local_server.token, base_url=local_server.base_url) as client:
        app = client.application(app_id)
        stream = app.mqtt_subscription_stream(
            "state/+", on_state_change=lambda old, new: changes.append((old, new))
        )
        with anyio.fail_after(20):
            async with stream:
                await app.mqtt_publish_message("state/a", "one")
                got = [(await stream.__anext__()).message]
                # The server drops the stream after that event: the reader
                # reconnects; publish once the stream is open again.
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_next_message, stream, got)
                    await wait_until(lambda: stream.reconnects == 1, within=10)
                    assert stream.state is StreamState.OPEN
                    await app.mqtt_publish_message("state/a", "two")
    assert got == ["one", "two"]
    assert [(str(old), str(new)) for old, new in changes] == [
        ("connecting", "open"),
        ("open", "reconnecting"),
        ("reconnecting", "open"),
        ("open", "closed"),
    ]


async def _next_message(stream: MqttStream, into: list[str]) -> None:
    into.append((await stream.__anext__()).message)


@pytest.mark.anyio
async def test_group_states_through_the_facade(local_server: LocalLosant, app_id: str) -> None:
    """app.mqtt_subscription_streams(...).states shows each member's state by topic."""
    from losant_async import AsyncLosant

    seen: list[str] = []
    async with AsyncLosant(token=local_server.token, base_url=local_server.base_url) as client:
        group = client.application(app_id).mqtt_subscription_streams(
            ["g/1", "g/2"], on_state_change=lambda old, new: seen.append(new)
        )
        assert dict(group.states) == {"g/1": "connecting", "g/2": "connecting"}
        with anyio.fail_after(10):
            async with group:
                assert dict(group.states) == {"g/1": "open", "g/2": "open"}
    assert dict(group.states) == {"g/1": "closed", "g/2": "closed"}
    assert sorted(seen) == ["closed", "closed", "open", "open"]


def test_relay_example_health_reports_the_upstream_state(
    local_server: LocalLosant, app_id: str
) -> None:
    """examples/starlette_relay.py's /healthz says reconnecting (503) while the upstream is down."""
    import socket
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "starlette_relay.py"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOSANT_")}
    env.update(
        LOSANT_API_URL=local_server.base_url,
        LOSANT_API_TOKEN=local_server.token,
        LOSANT_APPLICATION_ID=app_id,
    )
    # The relay's first upstream stream drops after one message.
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    proc = subprocess.Popen(
        [sys.executable, str(example), "--port", str(port), "--topic", "health/+"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/healthz"

    def health_until(state: str) -> httpx.Response:
        deadline = time.monotonic() + 20
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(base, timeout=2)
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.json()["upstream"] == state:
                return answer
            time.sleep(0.05)
        pytest.fail(f"upstream never {state}: {answer and answer.json()}")

    try:
        opened = health_until("open")
        assert opened.status_code == 200
        # Every re-open is refused until the faults are cleared.
        local_server.faults.fail("mqttSubscriptionStream", status=503, times=None)
        local_server.publish(app_id, "health/a", "bye")
        down = health_until("reconnecting")
        assert down.status_code == 503
        local_server.faults.clear()
        back = health_until("open")
        assert back.status_code == 200
        assert back.json()["reconnects"] == 1
        assert back.json()["gaps"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
