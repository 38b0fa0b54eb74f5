"""Reads of a plain socket on trio, their timeouts kept by one task per run.

A cancel scope with a deadline costs trio about 7 µs to open and close (its
deadline bookkeeping is pure Python), more than the rest of a read; issue 7
measured it as the largest trio-only cost of a request. Here a wait for data
registers its deadline in a dict instead, and one system task per run sleeps
until the earliest registered deadline. A wait still pending then is woken by
``trio.lowlevel.notify_closing`` on its socket and reported as timed out; its
connection is then closed by the caller, as after any failed read, which is
what ``notify_closing`` asks for.

Semantics are httpx's read timeout: each wait for data is bounded by the
limit, counted from the start of that wait (not of the response). Imported
only when trio is running, by ``_net.AnyioConn``; it imports nothing of
``_net`` back.
"""

from __future__ import annotations

import math
import socket

import httpx
import trio

from ._errors import message


class _Deadlines:
    """The pending waits of one trio run and the task that expires them."""

    __slots__ = ("_scope", "_wake_at", "expired", "waits")

    def __init__(self) -> None:
        # Keyed by the waiting connection: each has at most one wait at a time.
        self.waits: dict[object, tuple[float, socket.socket]] = {}
        self.expired: set[object] = set()
        self._wake_at = math.inf
        self._scope: trio.CancelScope | None = None

    def add(self, owner: object, deadline: float, sock: socket.socket) -> None:
        self.waits[owner] = (deadline, sock)
        if deadline < self._wake_at:
            # Rare: only a deadline earlier than all pending ones moves the alarm.
            self._wake_at = deadline
            if self._scope is not None:
                self._scope.deadline = deadline

    async def run(self) -> None:
        """Sleep until the earliest deadline, expire what is due, repeat (until the run ends)."""
        while True:
            with trio.CancelScope(deadline=self._wake_at) as self._scope:
                await trio.sleep_forever()
            # No checkpoint from here to the next scope: ``add`` cannot interleave.
            now = trio.current_time()
            wake_at = math.inf
            for owner, (deadline, sock) in list(self.waits.items()):
                if deadline <= now:
                    del self.waits[owner]
                    self.expired.add(owner)
                    if sock.fileno() >= 0:
                        trio.lowlevel.notify_closing(sock)
                elif deadline < wake_at:
                    wake_at = deadline
            self._wake_at = wake_at


_RUN_DEADLINES: trio.lowlevel.RunVar[_Deadlines] = trio.lowlevel.RunVar(
    "losant_async_read_deadlines"
)


def _deadlines() -> _Deadlines:
    try:
        return _RUN_DEADLINES.get()
    except LookupError:
        deadlines = _Deadlines()
        trio.lowlevel.spawn_system_task(deadlines.run, name="losant_async read deadlines")
        _RUN_DEADLINES.set(deadlines)
        return deadlines


async def wait_and_recv(
    sock: socket.socket, size: int, limit: float | None, owner: object
) -> bytes:
    """Wait until ``sock`` is readable, then read it; ``httpx.ReadTimeout`` after ``limit`` s."""
    deadlines = _deadlines() if limit is not None else None
    deadline = trio.current_time() + limit if limit is not None else math.inf
    while True:
        try:
            if deadlines is None:
                await trio.lowlevel.wait_readable(sock)
            else:
                deadlines.add(owner, deadline, sock)
                try:
                    await trio.lowlevel.wait_readable(sock)
                finally:
                    deadlines.waits.pop(owner, None)
            return sock.recv(size)
        except (BlockingIOError, InterruptedError):
            continue  # woken with nothing to read: wait again, same deadline
        except trio.ClosedResourceError as exc:
            if deadlines is not None and owner in deadlines.expired:
                deadlines.expired.discard(owner)
                raise httpx.ReadTimeout("timed out reading the response") from None
            raise httpx.ReadError(message(exc)) from exc
        except (OSError, trio.BrokenResourceError) as exc:
            raise httpx.ReadError(message(exc)) from exc
        finally:
            if deadlines is not None:
                deadlines.expired.discard(owner)
