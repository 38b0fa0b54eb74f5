"""Byte connections under the HTTP/1.1 pool: an asyncio protocol and anyio streams.

On asyncio the connection is a bare ``asyncio.Protocol`` (duck-typed, so no
asyncio base class at import time): received data is queued by the event loop
and a read that finds it already there costs no wait at all; a read that must
wait records its deadline, and the connection's one timer keeps it (re-armed
only when it fires early, not created and cancelled per wait). Everywhere else (trio) it is an anyio
byte stream; on trio a plain TCP socket is also written and read directly,
its read deadlines kept by ``_trio`` (one task per run, not a cancel scope per
wait). ``asyncio`` is imported lazily inside ``open_asyncio`` only, and
``trio`` inside ``AnyioConn`` on trio only, because the rest of the library is
anyio-only and a test holds it to that.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

import anyio
import anyio.abc
import anyio.lowlevel
import httpx
import sniffio
from anyio.streams.tls import TLSAttribute

from ._errors import message

if TYPE_CHECKING:
    import asyncio

# One network read asks for this much; asyncio reads up to 256 KiB on its own.
_READ_SIZE = 64 * 1024
# Stop reading from the socket while this much is queued and unconsumed.
_HIGH_WATER = 1024 * 1024
# Wait for a plain socket to be readable, then read it: (sock, size, limit, owner).
_WaitRecv = Callable[[socket.socket, int, float | None, object], Awaitable[bytes]]


class Conn(Protocol):
    """What the pool needs of a connection."""

    idle_since: float

    async def send(self, data: bytes, limit: float | None) -> None: ...

    async def recv(self, limit: float | None) -> bytes: ...

    def is_reusable(self) -> bool: ...

    async def aclose(self) -> None: ...


class AioConn:
    """An asyncio protocol that is also the connection object."""

    __slots__ = (
        "_chunks",
        "_closed",
        "_due",
        "_eof",
        "_exc",
        "_loop",
        "_paused",
        "_size",
        "_timer",
        "_timer_at",
        "_transport",
        "_waiter",
        "_write_paused",
        "idle_since",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._closed = False
        self._exc: BaseException | None = None
        self._waiter: asyncio.Future[bool] | None = None
        self._paused = False
        self._write_paused = False
        # The pending wait's deadline (loop time), and the timer that keeps it:
        # armed for an earlier deadline, it re-arms itself when it fires.
        self._due: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self.idle_since = 0.0

    # asyncio.Protocol callbacks.
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size > _HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        self._eof = True
        self._wake()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._eof = self._closed = True
        self._exc = exc
        self._wake()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    async def _wait(self, limit: float | None) -> bool:
        """Wait for the next callback; False if the deadline passed first."""
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        if limit is not None:
            due = self._due = loop.time() + limit
            if self._timer is None or self._timer_at > due:
                self._arm(due)
        try:
            return bool(await waiter)
        finally:
            self._waiter = self._due = None

    def _arm(self, due: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = self._loop.call_at(due, self._expire)

    def _expire(self) -> None:
        # Each wait only records its deadline (a timer per wait was the largest
        # asyncio-only cost of a request): here the one timer checks it.
        self._timer = None
        due, waiter = self._due, self._waiter
        if due is None or waiter is None or waiter.done():
            return
        if self._loop.time() < due:
            self._arm(due)  # armed for an earlier wait that has ended
        else:
            waiter.set_result(False)

    # The connection interface.
    async def send(self, data: bytes, limit: float | None) -> None:
        transport = self._transport
        if self._closed or transport is None or transport.is_closing():
            raise httpx.WriteError("connection closed")
        transport.write(data)
        while self._write_paused and not self._closed:
            if not await self._wait(limit):
                raise httpx.WriteTimeout("timed out writing the request")
        if self._closed:
            raise httpx.WriteError(message(self._exc) if self._exc else "connection closed")

    async def recv(self, limit: float | None) -> bytes:
        chunks = self._chunks
        while not chunks:
            if self._eof:
                if self._exc is not None:
                    raise httpx.ReadError(message(self._exc))
                return b""
            if not await self._wait(limit):
                raise httpx.ReadTimeout("timed out reading the response")
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return data

    def is_reusable(self) -> bool:
        transport = self._transport
        return not (self._eof or self._chunks or transport is None or transport.is_closing())

    async def aclose(self) -> None:
        # abort(): no TLS close_notify exchange that could stall or be cancelled.
        if self._transport is not None:
            self._transport.abort()
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


async def open_asyncio(
    host: str, port: int, tls: ssl.SSLContext | None, limit: float | None
) -> AioConn:
    """Connect on the running asyncio loop (the fast path)."""
    import asyncio  # lazily: the library is anyio-only elsewhere

    loop = asyncio.get_running_loop()
    conn = AioConn(loop)
    try:
        async with asyncio.timeout(limit):
            await loop.create_connection(
                cast("Callable[[], asyncio.Protocol]", lambda: conn),
                host,
                port,
                ssl=tls,
                server_hostname=host if tls is not None else None,
            )
    except TimeoutError as exc:
        await conn.aclose()
        raise httpx.ConnectTimeout("timed out connecting") from exc
    except OSError as exc:
        raise httpx.ConnectError(message(exc)) from exc
    return conn


class AnyioConn:
    """A connection over an anyio byte stream (trio, and any other backend)."""

    __slots__ = ("_plain", "_sock", "_stream", "_wait_recv", "idle_since")

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream
        self._sock: socket.socket | None = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)
        # The socket itself when no TLS layer sits on it: a request written in
        # one non-blocking call skips the stream's cancel scope and wake-up.
        tls = stream.extra(TLSAttribute.ssl_object, None)
        plain = self._sock is not None and tls is None and not self._sock.getblocking()
        self._plain = self._sock if plain else None
        # On trio the plain socket is also read directly: one non-blocking
        # recv, and a wait for readability only when it has nothing, its
        # deadline kept by ``_trio`` (the stream's receive would add a cancel
        # scope per wait, a resource guard and two checkpoints). The stream
        # holds no waiter on the socket meanwhile: it is never read.
        self._wait_recv: _WaitRecv | None = None
        if plain and sniffio.current_async_library() == "trio":
            from . import _trio  # trio is running, so it is installed

            self._wait_recv = _trio.wait_and_recv
        self.idle_since = 0.0

    async def send(self, data: bytes, limit: float | None) -> None:
        sock = self._plain
        if sock is not None:
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                raise httpx.WriteError(message(exc)) from exc
            if sent == len(data):
                return
            data = data[sent:]  # the rest waits for the socket, as any write would
        try:
            if limit is None:
                await self._stream.send(data)
                return
            with anyio.CancelScope(deadline=anyio.current_time() + limit) as scope:
                await self._stream.send(data)
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise httpx.WriteError(message(exc)) from exc
        if scope.cancelled_caught:
            raise httpx.WriteTimeout("timed out writing the request")

    async def recv(self, limit: float | None) -> bytes:
        wait_recv = self._wait_recv
        if wait_recv is None:
            return await self._receive(limit)
        sock = cast("socket.socket", self._plain)
        try:
            data = sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return await wait_recv(sock, _READ_SIZE, limit, self)
        except OSError as exc:
            raise httpx.ReadError(message(exc)) from exc
        # The bytes were already there: still one checkpoint, as every trio read
        # has, so that a fast peer cannot starve other tasks or hold off a
        # cancellation (which drops these bytes: the caller then drops the
        # connection, as it does on any exception mid-response).
        await anyio.lowlevel.checkpoint()
        return data

    async def _receive(self, limit: float | None) -> bytes:
        try:
            if limit is None:
                return await self._stream.receive(_READ_SIZE)
            with anyio.CancelScope(deadline=anyio.current_time() + limit):
                return await self._stream.receive(_READ_SIZE)
        except anyio.EndOfStream:
            return b""
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise httpx.ReadError(message(exc)) from exc
        raise httpx.ReadTimeout("timed out reading the response")

    def is_reusable(self) -> bool:
        sock = self._sock
        if sock is None or sock.fileno() < 0:
            return sock is None
        # An idle socket that is readable has either been closed by the peer or
        # sent bytes nobody asked for: either way it cannot carry a request.
        try:
            if hasattr(select, "poll"):
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                return not poller.poll(0)
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.aclose_forcefully(self._stream)


async def open_anyio(
    host: str, port: int, tls: ssl.SSLContext | None, limit: float | None
) -> AnyioConn:
    """Connect through anyio (the generic path)."""
    kwargs: dict[str, Any] = {}
    if tls is not None:
        # Servers often close without close_notify; framing catches truncation.
        kwargs = {"ssl_context": tls, "tls_hostname": host, "tls_standard_compatible": False}
    try:
        with anyio.fail_after(limit):
            stream = await anyio.connect_tcp(host, port, **kwargs)
    except TimeoutError as exc:
        raise httpx.ConnectTimeout("timed out connecting") from exc
    except (
        OSError,
        anyio.BrokenResourceError,
        anyio.EndOfStream,  # trio: the server closed during the TLS handshake
        ssl.SSLError,
    ) as exc:
        raise httpx.ConnectError(message(exc)) from exc
    return AnyioConn(stream)
