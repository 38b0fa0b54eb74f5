"""A lean HTTP/1.1 keep-alive transport behind ``httpx.AsyncBaseTransport``.

Why not httpcore: its pool re-scans every connection several times per request
and probes each idle socket (issue 7 measured ~1,000 µs of client CPU per
request at 64 in flight, against ~150 µs here). This pool keeps a LIFO list of
idle connections per origin and checks only the one it is about to reuse.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import Final

import anyio
import httpx
import sniffio

from . import _parser
from ._net import Conn, open_anyio, open_asyncio

DEFAULT_MAX_CONNECTIONS: Final = 100
DEFAULT_KEEPALIVE_EXPIRY: Final = 5.0
# Request bodies up to this size go out in the same write as the head.
_COALESCE_BYTES: Final = 64 * 1024

_Origin = tuple[bytes, bytes, int]
# Which requests are streams, and a per-request cap on the raw body; set by
# ``losant_async._transport`` (issue 11, defects 2 and 10).
STREAM_EXTENSION: Final = "losant_async.stream"
MAX_BODY_EXTENSION: Final = "losant_async.max_body"
_CLOSED_MESSAGE: Final = "the transport is closed"


class _Waiter:
    """A task waiting for a connection or a slot, and what it was handed."""

    __slots__ = ("conn", "event", "granted")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.conn: Conn | None = None
        self.granted = False


class _Slots:
    """Connections counted against a cap, with a FIFO queue of tasks waiting for one.

    A released connection or slot goes straight to the first waiter: a task
    that releases one cannot take it back while others wait, so waiters are
    served in order (issue 11, defect 8).
    """

    __slots__ = ("active", "closed", "count", "waiters")

    def __init__(self) -> None:
        self.active: set[Conn] = set()
        self.count = 0
        self.closed = False
        self.waiters: deque[_Waiter] = deque()

    def _grant(self, conn: Conn | None) -> bool:
        """Hand ``conn`` (``None``: a free slot) to the first waiter, if any."""
        if not self.waiters:
            return False
        waiter = self.waiters.popleft()
        waiter.conn = conn
        waiter.granted = True
        waiter.event.set()
        return True

    def release_slot(self) -> None:
        """Free one slot: to the first waiter, or back to the count."""
        if not self._grant(None):
            self.count -= 1

    def pass_on(self, waiter: _Waiter) -> None:
        """Give on what a cancelled waiter was granted (a slot: streams hand over nothing else)."""
        self.release_slot()

    async def wait(self, patience: float | None) -> _Waiter:
        """Queue up and wait until granted something, ``patience`` s pass, or close."""
        waiter = _Waiter()
        self.waiters.append(waiter)
        try:
            with anyio.move_on_after(patience):
                await waiter.event.wait()
        except BaseException:
            if waiter.granted:
                self.pass_on(waiter)
            else:
                self._forget(waiter)
            raise
        if not waiter.granted:
            self._forget(waiter)
        return waiter

    def _forget(self, waiter: _Waiter) -> None:
        with contextlib.suppress(ValueError):
            self.waiters.remove(waiter)

    async def finish(self, conn: Conn, *, reusable: bool) -> None:
        """A connection whose response was read in full: streams close it."""
        await self.discard(conn)

    async def discard(self, conn: Conn) -> None:
        """Close a connection and free its slot; safe under cancellation."""
        if conn in self.active:
            self.active.discard(conn)
            self.release_slot()
        await conn.aclose()

    def close(self) -> list[Conn]:
        """Mark closed, wake every waiter, and return the connections to close."""
        self.closed = True
        conns = list(self.active)
        self.active.clear()
        self.count = 0
        waiters = list(self.waiters)
        self.waiters.clear()
        for waiter in waiters:
            waiter.event.set()  # not granted: it sees the transport closed
        return conns


class _Pool(_Slots):
    """The connections of one origin: a LIFO idle list and a cap on the total."""

    __slots__ = ("host", "idle", "max_idle", "port", "tls")

    def __init__(
        self, host: str, port: int, tls: ssl.SSLContext | None, max_idle: int | None = None
    ) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.tls = tls
        self.idle: list[Conn] = []
        self.max_idle = max_idle

    def pass_on(self, waiter: _Waiter) -> None:
        """Give on what a cancelled waiter was granted: a sound connection, or a slot."""
        conn = waiter.conn
        if conn is None:
            self.release_slot()
        elif not self._grant(conn):
            # No await here (we are being cancelled): kept idle even past
            # max_keepalive_connections, still within max_connections.
            self.active.discard(conn)
            self.idle.append(conn)

    async def finish(self, conn: Conn, *, reusable: bool) -> None:
        """Put a connection whose response was read in full back on the idle list."""
        if not reusable or self.closed:
            await self.discard(conn)
            return
        conn.idle_since = time.monotonic()
        if self._grant(conn):
            return  # straight to the first waiter: it stays active
        if self.max_idle is not None and len(self.idle) >= self.max_idle:
            await self.discard(conn)  # beyond max_keepalive_connections
            return
        self.active.discard(conn)
        self.idle.append(conn)

    def close(self) -> list[Conn]:
        conns = self.idle + super().close()
        self.idle.clear()
        return conns


class Http11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive over plain TCP or TLS, for asyncio and trio.

    A request whose extension ``"losant_async.stream"`` is true is a stream:
    it gets a connection of its own, outside ``max_connections`` and never
    pooled, so open streams cannot starve requests (issue 11, defect 2).
    A request that fails after any byte of it was written is never sent again
    here: whether to retry is the caller's decision (issue 11, defect 1).

    Args:
        verify: ``True`` (certifi's CA bundle, or ``SSL_CERT_FILE`` /
            ``SSL_CERT_DIR`` when set and ``trust_env``), an
            ``ssl.SSLContext``, or ``False`` to turn certificate checks off.
        max_connections: connections per origin for requests; more requests
            wait up to the ``pool`` timeout for one (first come, first
            served), then raise ``httpx.PoolTimeout``.
        max_keepalive_connections: idle connections kept per origin
            (``None``: up to ``max_connections``); more are closed.
        keepalive_expiry: seconds an idle connection may be reused for.
        max_body_size: a response body larger than this raises
            ``httpx.RemoteProtocolError`` (``None``: no limit); a request's
            ``"losant_async.max_body"`` extension overrides it.
        max_streams: streams open at once over all origins (``None``: no
            limit); more wait up to the ``pool`` timeout, then raise
            ``httpx.PoolTimeout``.
        trust_env: read ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, as httpx does.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_keepalive_connections: int | None = None,
        keepalive_expiry: float | None = DEFAULT_KEEPALIVE_EXPIRY,
        max_body_size: int | None = None,
        max_streams: int | None = None,
        trust_env: bool = True,
        max_header_bytes: int = _parser.MAX_HEADER_BYTES,
        max_line_bytes: int = _parser.MAX_LINE_BYTES,
        max_headers: int = _parser.MAX_HEADERS,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if max_streams is not None and max_streams < 1:
            raise ValueError("max_streams must be at least 1 (or None: no limit)")
        if max_keepalive_connections is not None and max_keepalive_connections < 0:
            raise ValueError("max_keepalive_connections must be at least 0")
        self._verify = verify
        self._trust_env = trust_env
        self._ssl: ssl.SSLContext | None = verify if isinstance(verify, ssl.SSLContext) else None
        self._max_connections = max_connections
        self._max_idle = max_keepalive_connections
        self._expiry = keepalive_expiry
        self._max_body = max_body_size
        self._max_streams = max_streams
        self._limits = {
            "max_header_bytes": max_header_bytes,
            "max_line_bytes": max_line_bytes,
            "max_headers": max_headers,
        }
        self._limit_args = (max_header_bytes, max_line_bytes, max_headers)
        self._pools: dict[_Origin, _Pool] = {}
        self._streams = _Slots()
        # Serialized header blocks, checked once per distinct header list.
        self._heads: dict[tuple[tuple[bytes, bytes], ...], tuple[bytes, bool, int | None]] = {}
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if self._verify:
                # As httpx's create_ssl_context reads the environment (issue 11,
                # defect 12): a CA file or folder named there replaces certifi's.
                cafile = os.environ.get("SSL_CERT_FILE") if self._trust_env else None
                capath = os.environ.get("SSL_CERT_DIR") if self._trust_env else None
                if cafile:
                    ctx = ssl.create_default_context(cafile=cafile)
                elif capath:
                    ctx = ssl.create_default_context(capath=capath)
                else:
                    import certifi  # an httpx dependency; loaded on first TLS use

                    ctx = ssl.create_default_context(cafile=certifi.where())
            else:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            self._ssl = ctx
        return self._ssl

    def _pool(self, url: httpx.URL) -> _Pool:
        scheme, host, port = url.raw_scheme, url.raw_host, url.port
        key = (scheme, host, port or 0)
        pool = self._pools.get(key)
        if pool is None:
            if scheme == b"https":
                pool = _Pool(host.decode("ascii"), port or 443, self._ssl_context(), self._max_idle)
            elif scheme == b"http":
                pool = _Pool(host.decode("ascii"), port or 80, None, self._max_idle)
            else:
                raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
            self._pools[key] = pool
        return pool

    def _sound(self, conn: Conn) -> bool:
        """Whether a pooled connection may carry a request: open, quiet and not expired."""
        return conn.is_reusable() and (
            self._expiry is None or time.monotonic() - conn.idle_since < self._expiry
        )

    async def _acquire(self, pool: _Pool, timeouts: dict[str, float | None]) -> tuple[Conn, bool]:
        """A connection and whether it is reused: an idle one if sound, else a new one.

        A pooled connection seen dead here, before any byte of the request is
        written, is closed and another taken: nothing was sent on it.
        """
        if not pool.waiters:  # else a newcomer queues behind them (FIFO)
            while pool.idle:
                conn = pool.idle.pop()
                if self._sound(conn):
                    pool.active.add(conn)
                    return conn, True
                pool.count -= 1
                await conn.aclose()
            if pool.count < self._max_connections:
                pool.count += 1
                return await self._open(pool, pool, timeouts), False
        wait = timeouts.get("pool")
        waiter = await pool.wait(wait)
        if self._closed:
            # Whatever it was handed, aclose() has closed it already.
            raise RuntimeError(_CLOSED_MESSAGE)
        if not waiter.granted:
            raise httpx.PoolTimeout(
                f"timed out after {wait} s (the pool timeout) waiting for a connection: "
                f"all {self._max_connections} connections to this origin are in use "
                "(max_connections)"
            )
        handed = waiter.conn
        if handed is not None:
            if self._sound(handed):
                return handed, True
            pool.active.discard(handed)  # dead before use: its slot is ours
            await handed.aclose()
        return await self._open(pool, pool, timeouts), False

    async def _acquire_stream(self, pool: _Pool, timeouts: dict[str, float | None]) -> Conn:
        """A new connection of its own for a stream, within ``max_streams``."""
        slots = self._streams
        limit = self._max_streams
        if not slots.waiters and (limit is None or slots.count < limit):
            slots.count += 1
            return await self._open(pool, slots, timeouts)
        wait = timeouts.get("pool")
        waiter = await slots.wait(wait)
        if self._closed:
            # Whatever it was handed, aclose() has closed it already.
            raise RuntimeError(_CLOSED_MESSAGE)
        if not waiter.granted:
            raise httpx.PoolTimeout(
                f"timed out after {wait} s (the pool timeout) waiting for a stream slot: "
                f"{limit} streams are open (max_streams={limit})"
            )
        return await self._open(pool, slots, timeouts)

    async def _open(self, pool: _Pool, slots: _Slots, timeouts: dict[str, float | None]) -> Conn:
        """Connect within a slot already counted in ``slots``; the slot is freed on failure."""
        try:
            conn = await self._connect(pool, timeouts.get("connect"))
        except BaseException:
            slots.release_slot()
            raise
        if self._closed:
            await conn.aclose()
            raise RuntimeError(_CLOSED_MESSAGE)
        slots.active.add(conn)
        return conn

    @staticmethod
    async def _connect(pool: _Pool, limit: float | None) -> Conn:
        if sniffio.current_async_library() == "asyncio":
            return await open_asyncio(pool.host, pool.port, pool.tls, limit)
        return await open_anyio(pool.host, pool.port, pool.tls, limit)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` once and return the response with its body still to read."""
        if self._closed:
            raise RuntimeError(_CLOSED_MESSAGE)
        extensions = request.extensions
        timeouts: dict[str, float | None] = extensions.get("timeout") or {}
        pool = self._pool(request.url)
        head, chunked, length = _parser.serialize_head(request, self._heads)
        try:
            body: bytes | None = request.content
        except httpx.RequestNotRead:
            body = None
        max_body: int | None = extensions.get(MAX_BODY_EXTENSION, self._max_body)
        slots: _Slots
        if extensions.get(STREAM_EXTENSION):
            slots = self._streams
            conn = await self._acquire_stream(pool, timeouts)
        else:
            slots = pool
            conn, _ = await self._acquire(pool, timeouts)
        try:
            write_error: httpx.WriteError | None = None
            try:
                await self._send(
                    conn, request.stream, head, body, chunked, length, timeouts.get("write")
                )
            except httpx.WriteError as exc:
                # The server may have answered (413, 401) and closed before
                # reading the whole body: that answer is still read.
                write_error = exc
            return await self._exchange(slots, conn, request, timeouts, max_body, write_error)
        except BaseException:
            await slots.discard(conn)
            raise

    async def _exchange(
        self,
        slots: _Slots,
        conn: Conn,
        request: httpx.Request,
        timeouts: dict[str, float | None],
        max_body: int | None,
        write_error: httpx.WriteError | None = None,
    ) -> httpx.Response:
        read_timeout = timeouts.get("read")
        method = request.method.encode("ascii")
        parser: _parser.HeadParser | None = None
        received = False
        while True:
            try:
                data = await conn.recv(read_timeout)
            except httpx.ReadError:
                if received:
                    raise
                data = b""
            if not data:
                if received:
                    raise httpx.RemoteProtocolError("server closed the connection mid-header")
                # Closed or reset after (part of) the request went out: the
                # server may have acted on it, so it is never written again
                # here (issue 11, defect 1); the caller's retry policy decides.
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response."
                ) from write_error
            if parser is None:
                # Nearly always the whole head comes in the first read.
                parsed = _parser.quick_head(data, method, *self._limit_args)
                if parsed is not None:
                    break
                parser = _parser.HeadParser(method, **self._limits)
            received = True
            parsed = parser.feed(data)
            if parsed is not None:
                break
        parsed_head, rest = parsed
        reader = _parser.BodyReader(
            parsed_head,
            max_line_bytes=self._limits["max_line_bytes"],
            max_headers=self._limits["max_headers"],
        )
        keep_alive = parsed_head.reusable and write_error is None
        length = parsed_head.content_length
        if max_body is not None and length is not None and length > max_body:
            raise _too_large(max_body)
        first = reader.feed(rest) if rest else b""
        if max_body is not None and reader.received > max_body:
            raise _too_large(max_body)
        stream: httpx.AsyncByteStream
        if reader.done:
            await slots.finish(conn, reusable=keep_alive and not reader.trailing)
            stream = httpx.ByteStream(first)
        else:
            stream = _Body(slots, conn, reader, first, read_timeout, keep_alive, max_body)
        return httpx.Response(
            parsed_head.status,
            headers=parsed_head.headers,
            stream=stream,
            request=request,
            extensions={
                "http_version": b"HTTP/" + parsed_head.http_version,
                "reason_phrase": parsed_head.reason,
            },
        )

    @staticmethod
    async def _send(
        conn: Conn,
        stream: object,
        head: bytes,
        body: bytes | None,
        chunked: bool,
        declared: int | None,
        limit: float | None,
    ) -> None:
        if body is not None:
            if chunked and body:
                body = b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)
            elif chunked:
                body = b"0\r\n\r\n"
            elif len(body) != int(declared or 0):
                raise httpx.LocalProtocolError("request body does not match its Content-Length")
            if len(body) <= _COALESCE_BYTES:
                await conn.send(head + body, limit)
            else:
                await conn.send(head, limit)
                await conn.send(body, limit)
            return
        await conn.send(head, limit)
        if not isinstance(stream, AsyncIterable):
            raise RuntimeError("the request body must be an async stream")
        sent = 0
        iterator = aiter(stream)
        try:
            async for chunk in iterator:
                if not chunk:
                    continue
                sent += len(chunk)
                if chunked:
                    await conn.send(b"%x\r\n%b\r\n" % (len(chunk), chunk), limit)
                elif sent > int(declared or 0):
                    raise httpx.LocalProtocolError("request body longer than its Content-Length")
                else:
                    await conn.send(bytes(chunk), limit)
        finally:
            # Close the body's generator now, not at garbage collection.
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        if chunked:
            await conn.send(b"0\r\n\r\n", limit)
        elif sent != int(declared or 0):
            raise httpx.LocalProtocolError("request body shorter than its Content-Length")

    async def aclose(self) -> None:
        """Close every connection, idle or in use; the transport cannot be used again.

        Requests waiting for a connection or a stream slot raise
        ``RuntimeError("the transport is closed")``.
        """
        self._closed = True
        pools, self._pools = list(self._pools.values()), {}
        conns = self._streams.close()
        for pool in pools:
            conns += pool.close()
        for conn in conns:
            await conn.aclose()


def _too_large(max_body: int) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        f"response body exceeds max_body_size ({max_body} bytes): the rest was not read"
    )


class _Body(httpx.AsyncByteStream):
    """A response body being read: one block per network read."""

    def __init__(
        self,
        pool: _Slots,
        conn: Conn,
        reader: _parser.BodyReader,
        first: bytes,
        read_timeout: float | None,
        keep_alive: bool,
        max_body: int | None,
    ) -> None:
        self._pool = pool
        self._conn: Conn | None = conn
        self._reader = reader
        self._first = first
        self._timeout = read_timeout
        self._keep_alive = keep_alive
        self._max_body = max_body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._first:
            first, self._first = self._first, b""
            return first
        reader = self._reader
        while (conn := self._conn) is not None:
            if self._pool.closed:
                self._conn = None
                raise httpx.ReadError("the transport was closed")
            try:
                data = await conn.recv(self._timeout)
                block = reader.feed(data) if data else b""
                if not data:
                    reader.feed_eof()
                max_body = self._max_body
                if max_body is not None and reader.received > max_body:
                    raise _too_large(max_body)
            except BaseException:
                # Cancelled or failed mid-body: the connection's framing is lost.
                self._conn = None
                await self._pool.discard(conn)
                raise
            if reader.done:
                self._conn = None
                await self._pool.finish(conn, reusable=self._keep_alive and not reader.trailing)
            if block:
                return block
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Give up the rest of the body; the connection is closed, not reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._pool.discard(conn)
