"""The body of a response still being read: an ``httpx.AsyncByteStream``.

Each iteration is one network read, framed by ``_framing.BodyReader``. At the
end of the body the connection goes back to its pool (or to the first task
waiting for it); a body closed early, failed or cancelled closes its
connection instead, since its framing is lost.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx

from ._errors import too_large
from ._framing import BodyReader
from ._net import Conn
from ._pool import Slots


def within(limit: float | None, deadline: float | None) -> float | None:
    """``limit`` seconds, or less when the request's deadline (monotonic) comes first."""
    if deadline is None:
        return limit
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpx.ReadTimeout("the response deadline has passed")
    return left if limit is None or left < limit else limit


class Body(httpx.AsyncByteStream):
    """A response body being read: one block per network read."""

    def __init__(
        self,
        pool: Slots,
        conn: Conn,
        reader: BodyReader,
        first: bytes,
        read_timeout: float | None,
        keep_alive: bool,
        max_body: int | None,
        deadline: float | None = None,
    ) -> None:
        self._pool = pool
        self._conn: Conn | None = conn
        self._reader = reader
        self._first = first
        self._timeout = read_timeout
        self._keep_alive = keep_alive
        self._max_body = max_body
        self._deadline = deadline

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
                data = await conn.recv(within(self._timeout, self._deadline))
                block = reader.feed(data) if data else b""
                if not data:
                    reader.feed_eof()
                max_body = self._max_body
                if max_body is not None and reader.received > max_body:
                    raise too_large(max_body)
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
