"""The transport against scripted servers on 127.0.0.1: caps, deadlines, resends, close, logs."""

from __future__ import annotations

import logging
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from functools import cache
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from losant_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncApplication,
    ClientClosedError,
    ResponseTooLargeError,
)
from losant_async._constants import EXTENSION_DEADLINE
from losant_async._http11 import Http11Transport
from losant_async._retry import RetryPolicy
from losant_async._transport import Transport
from tests.conftest import APP_ID, TOKEN

PATH = f"/applications/{APP_ID}"
MIB = 1024 * 1024

pytestmark = pytest.mark.anyio

_Handler = Callable[[anyio.abc.SocketStream, BufferedByteReceiveStream, int], Awaitable[None]]


async def _read_request(reader: BufferedByteReceiveStream) -> bytes:
    """One request's head (its body, if any, is read and dropped)."""
    head = await reader.receive_until(b"\r\n\r\n", 65536)
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and int(value) > 0:
            await reader.receive_exactly(int(value))
    return head


@asynccontextmanager
async def _serve(handler: _Handler) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 running ``handler`` per connection (numbered from 0)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    count = 0

    async def serve(stream: anyio.abc.SocketStream) -> None:
        nonlocal count
        number, count = count, count + 1
        async with stream:
            with suppress(
                anyio.EndOfStream,
                anyio.IncompleteRead,
                anyio.BrokenResourceError,
                anyio.ClosedResourceError,
            ):
                await handler(stream, BufferedByteReceiveStream(stream), number)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            tg.cancel_scope.cancel()


@cache
def _bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed (about a thousandth of the size)."""
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MIB)
    return b"".join(z.compress(block) for _ in range(size // MIB)) + z.flush()


def _head(status: int, length: int, *extra: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {length}", *extra, "", ""]
    return "\r\n".join(lines).encode()


# --- defect 10: a body cap that holds for decompressed bytes ------------------------


async def test_gzip_bomb_stops_at_the_cap_without_inflating_it() -> None:
    """A 256 MiB gzip bomb raises ResponseTooLargeError; peak memory stays near the 1 MiB cap."""
    bomb = _bomb(256 * MIB)

    async def handler(
        stream: anyio.abc.SocketStream, reader: BufferedByteReceiveStream, n: int
    ) -> None:
        await _read_request(reader)
        await stream.send(_head(200, len(bomb), "Content-Encoding: gzip"))
        await stream.send(bomb)

    async with _serve(handler) as url:
        transport = Transport(token=TOKEN, base_url=url, max_retries=0, max_response_bytes=MIB)
        async with transport:
            tracemalloc.start()
            try:
                with pytest.raises(ResponseTooLargeError) as info:
                    await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert info.value.limit == MIB
    assert "max_response_bytes=1048576" in info.value.message
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_raw_body_beyond_the_cap_is_refused() -> None:
    """A plain body larger than max_response_bytes raises ResponseTooLargeError, not retried."""
    requests = 0

    async def handler(
        stream: anyio.abc.SocketStream, reader: BufferedByteReceiveStream, n: int
    ) -> None:
        nonlocal requests
        while True:
            await _read_request(reader)
            requests += 1
            await stream.send(_head(200, 5000) + b"x" * 5000)

    async with _serve(handler) as url:
        async with Transport(
            token=TOKEN, base_url=url, max_retries=2, max_response_bytes=4096
        ) as transport:
            with pytest.raises(ResponseTooLargeError):
                await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
            assert requests == 1
        # Within the cap all is well.
        async with AsyncApplication(
            APP_ID, token=TOKEN, base_url=url, max_response_bytes=5000
        ) as app:
            ok = await app._transport.request("GET", PATH, retry=RetryPolicy.SAFE)
    assert ok.content == b"x" * 5000


async def test_dripping_server_meets_the_response_deadline() -> None:
    """A server that drips one byte per 50 ms fails at response_deadline, named in the message."""

    async def handler(
        stream: anyio.abc.SocketStream, reader: BufferedByteReceiveStream, n: int
    ) -> None:
        await _read_request(reader)
        await stream.send(_head(200, 10_000, "Content-Type: application/json"))
        for _ in range(10_000):
            await stream.send(b" ")
            await anyio.sleep(0.05)

    async with (
        _serve(handler) as url,
        Transport(
            token=TOKEN, base_url=url, max_retries=0, timeout=10.0, response_deadline=0.5
        ) as transport,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
        elapsed = time.monotonic() - started
    assert "response_deadline=0.5 s" in info.value.message
    assert 0.4 < elapsed < 5.0


@pytest.mark.parametrize("drips", ["head", "body"])
async def test_own_pool_meets_the_deadline_without_a_cancel_scope(
    drips: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unmocked, the own pool cuts each wait to the deadline: no cancel scope per request."""
    # respx is loaded in this test process: make the transport see it as absent.
    monkeypatch.setattr("losant_async._mocking.RESPX", "no.such.module")

    deadlines: list[object] = []
    handle = Http11Transport.handle_async_request

    async def spy(self: Http11Transport, request: httpx.Request, *args: Any) -> httpx.Response:
        # The cancel-scope path never sets the extension: seeing it is seeing the pool's path.
        deadlines.append(request.extensions.get(EXTENSION_DEADLINE))
        return await handle(self, request, *args)

    monkeypatch.setattr(Http11Transport, "handle_async_request", spy)
    head = _head(200, 10_000, "Content-Type: application/json")

    async def handler(
        stream: anyio.abc.SocketStream, reader: BufferedByteReceiveStream, n: int
    ) -> None:
        await _read_request(reader)
        drip = head if drips == "head" else b" " * 10_000
        if drips == "body":
            await stream.send(head)
        for byte in drip:
            await stream.send(bytes([byte]))
            await anyio.sleep(0.05)

    async with (
        _serve(handler) as url,
        Transport(
            token=TOKEN, base_url=url, max_retries=0, timeout=10.0, response_deadline=0.5
        ) as transport,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as info:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
        elapsed = time.monotonic() - started
    assert "response_deadline=0.5 s" in info.value.message
    assert 0.4 < elapsed < 5.0
    assert len(deadlines) == 1
    assert isinstance(deadlines[0], float)


# --- defect 1: the server sees exactly the attempts the policy allows ----------------


@pytest.mark.parametrize(
    ("policy", "max_retries", "expected"),
    [
        (RetryPolicy.ENQUEUE, 0, 1),
        (RetryPolicy.ENQUEUE, 2, 1),
        (RetryPolicy.SAFE, 0, 1),
        (RetryPolicy.SAFE, 2, 3),
    ],
)
async def test_connection_dying_after_the_request_is_counted(
    policy: RetryPolicy, max_retries: int, expected: int
) -> None:
    """A server that reads a request and closes (after a pooled one) gets it exactly as allowed."""
    seen: list[bytes] = []

    async def handler(
        stream: anyio.abc.SocketStream, reader: BufferedByteReceiveStream, n: int
    ) -> None:
        while True:
            head = await _read_request(reader)
            if head.startswith(b"GET"):
                await stream.send(_head(200, 2) + b"{}")
                continue
            seen.append(head)
            return  # read it, then close before the first byte of an answer

    async with (
        _serve(handler) as url,
        Transport(token=TOKEN, base_url=url, max_retries=max_retries) as transport,
    ):
        await transport.request("GET", PATH, retry=RetryPolicy.SAFE)  # pools a connection
        with pytest.raises(APIConnectionError):
            await transport.request(
                "POST", f"{PATH}/mqttPublishMessage", retry=policy, json={"topic": "a"}
            )
    assert len(seen) == expected


# --- defect 11: closing the client while requests wait for a slot ---------------------


async def test_aclose_while_waiting_for_a_slot_raises_client_closed() -> None:
    """Requests holding or waiting for the only connection get ClientClosedError on aclose."""
    started = anyio.Event()

    async def handler(
        stream: anyio.abc.SocketStream, reader: BufferedByteReceiveStream, n: int
    ) -> None:
        await _read_request(reader)
        started.set()
        await anyio.sleep_forever()

    outcomes: list[BaseException] = []

    async def call(transport: Transport) -> None:
        try:
            await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
        except Exception as exc:
            outcomes.append(exc)

    async with _serve(handler) as url:
        transport = Transport(
            token=TOKEN,
            base_url=url,
            timeout=30.0,
            limits=httpx.Limits(max_connections=1),
        )
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(call, transport)
                await started.wait()
                await anyio.sleep(0.2)  # the other two are waiting for the slot
                await transport.aclose()
    assert len(outcomes) == 3
    assert all(type(e) is ClientClosedError for e in outcomes), outcomes


# --- defect 4: httpx's own logs on the fallback path ------------------------------------


async def test_httpcore_debug_logs_carry_no_token(caplog: pytest.LogCaptureFixture) -> None:
    """With a caller's http_client, httpcore's DEBUG lines that echo headers show no token."""

    async def handler(
        stream: anyio.abc.SocketStream, reader: BufferedByteReceiveStream, n: int
    ) -> None:
        while True:
            await _read_request(reader)
            await stream.send(_head(200, 2, f"X-Echo: Bearer {TOKEN}", f"X-Raw: {TOKEN}") + b"{}")

    async with _serve(handler) as url, httpx.AsyncClient() as http_client:
        with caplog.at_level(logging.DEBUG):
            async with Transport(token=TOKEN, base_url=url, http_client=http_client) as transport:
                await transport.request("GET", PATH, retry=RetryPolicy.SAFE)
    records = [r for r in caplog.records if r.name.startswith("httpcore")]
    assert any("receive_response_headers" in r.getMessage() for r in records)
    assert TOKEN not in caplog.text
