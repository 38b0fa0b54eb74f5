"""Connections per origin and the FIFO queue of tasks waiting for one.

``Pool`` holds one origin's connections for requests: a LIFO list of idle
ones and a cap on the total. ``Slots`` is the cap and the queue alone; the
transport keeps one for streams, whose connections are never pooled. A
connection or slot given up goes straight to the first waiter, so waiters are
served in order. Which connection to take, and whether an idle one is still
sound, is the transport's decision (``Http11Transport._acquire``).
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections import deque

import anyio

from ._net import Conn


class _Waiter:
    """A task waiting for a connection or a slot, and what it was handed."""

    __slots__ = ("conn", "event", "granted")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.conn: Conn | None = None
        self.granted = False


class Slots:
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


class Pool(Slots):
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
