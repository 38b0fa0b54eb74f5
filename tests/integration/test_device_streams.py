"""Device state streams over real sockets (a scripted SSE server on 127.0.0.1), asyncio and trio."""

from __future__ import annotations

import json
import tracemalloc

import anyio
import anyio.abc
import pytest

from losant_async._streams import _device
from losant_async._streams._device import device_state_streams, state_stream
from losant_async._streams._values import StreamOptions, StreamState
from losant_async._transport import Transport
from tests.integration._scripted import Request, scripted_server
from tests.unit.test_device_streams import _StubCommand, _StubState

pytestmark = pytest.mark.anyio

APP = "575ec8687ae143cd83dc4a97"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"


@pytest.fixture(autouse=True)
def _models(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        _device._models()
    except ImportError:  # until the generated models exist
        monkeypatch.setattr(_device, "_models", lambda: (_StubState, _StubCommand))


def _state(n: int) -> bytes:
    body = {"time": 1741089600000 + n, "data": {"n": n}}
    return f"event: deviceState\ndata: {json.dumps(body)}\n\n".encode()


def _server(states: int) -> tuple[list[str], object]:
    opened: list[str] = []

    async def handler(request: Request, stream: anyio.abc.ByteStream) -> bool:
        # Each connection of a device after its first sends the next states.
        first = opened.count(request.path) * states
        opened.append(request.path)
        await stream.send(HEAD + b"".join(_state(first + n) for n in range(states)))
        while True:  # keep-alives until the server drops the connection
            await anyio.sleep(0.2)
            await stream.send(b":\n\n")

    return opened, handler


async def test_state_stream_across_a_server_restart_reports_its_gap() -> None:
    opened, handler = _server(5)
    async with scripted_server(handler) as server:  # type: ignore[arg-type]
        transport = Transport(token="tok", base_url=server.base_url, timeout=5.0)
        async with transport:
            path = f"/applications/{APP}/devices/5a0000000000000000000abc"
            stream = state_stream(transport, path, StreamOptions(keep_alive_interval=1))
            got: list[int] = []
            with anyio.fail_after(20):
                async with stream:
                    async for state in stream:
                        got.append(int(str(dict(state.data or {})["n"])))
                        if len(got) == 5:
                            await server.drop_all()  # the server restarts
                        if len(got) == 10:
                            break
            assert stream.state is StreamState.CLOSED
    assert got == list(range(10))
    assert stream.reconnects == 1
    (gap,) = stream.gaps
    assert gap.started_at <= gap.ended_at
    assert not gap.replayed
    assert len(opened) == 2
    assert all("authorization" in r.headers for r in server.requests)
    assert server.requests[0].query == {"keepAliveInterval": "1"}


async def test_two_hundred_devices_as_one_iterator_flat_memory() -> None:
    count, per_device = 200, 5
    _, handler = _server(per_device)
    ids = [f"5a00000000000000000{i:05x}" for i in range(count)]
    async with scripted_server(handler) as server:  # type: ignore[arg-type]
        transport = Transport(token="tok", base_url=server.base_url, timeout=10.0)
        async with transport:
            options = StreamOptions(keep_alive_interval=2)
            group = device_state_streams(transport, APP, ids, options, max_buffer_size=16)
            seen: dict[str, list[int]] = {}
            tracemalloc.start()
            try:
                with anyio.fail_after(60):
                    async with group:
                        _, base = tracemalloc.get_traced_memory()
                        async for device_id, state in group:
                            seen.setdefault(device_id, []).append(
                                int(str(dict(state.data or {})["n"]))
                            )
                            if sum(map(len, seen.values())) == count * per_device:
                                break
                        current, _ = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert sorted(seen) == sorted(ids)
    assert all(values == list(range(per_device)) for values in seen.values())
    assert server.peak == count  # one connection each, all open together
    # Memory after 1,000 states is what the 200 open connections took, not more.
    assert current - base < 4 * 1024 * 1024, f"grew {(current - base) / 1e6:.1f} MB"
