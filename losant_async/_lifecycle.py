"""One state machine for everything that can be closed: unopened, open, closed.

The client, the façade, the transport, a stream and a group of streams follow
the same rules (httpx's ``ClientState``):

- ``async with`` opens once: a second ``async with`` raises ``RuntimeError``;
  entering a closed object raises ``ClientClosedError``.
- Using a closed object raises ``ClientClosedError``.
- ``aclose()`` is idempotent: only the first call does the work.

Each owner keeps one ``Lifecycle`` and asks it; the messages name the owner.
"""

from __future__ import annotations

import enum

from ._exceptions import ClientClosedError

__all__ = ["Lifecycle", "State"]


class State(enum.Enum):
    """Where a closeable object is in its life."""

    UNOPENED = 1
    OPEN = 2
    CLOSED = 3


class Lifecycle:
    """The state of one closeable object, and the errors its misuse raises.

    Args:
        owner: How messages name the object (``"AsyncLosant"``, ``"MqttStream"``).
    """

    __slots__ = ("owner", "state")

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.state = State.UNOPENED

    def __repr__(self) -> str:
        return f"Lifecycle({self.owner!r}, {self.state.name.lower()})"

    @property
    def is_open(self) -> bool:
        """Whether ``async with`` has been entered and ``aclose()`` not called."""
        return self.state is State.OPEN

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` has been called."""
        return self.state is State.CLOSED

    def enter(self) -> None:
        """Move to open for ``async with``; raise if closed or already open."""
        if self.state is State.CLOSED:
            raise ClientClosedError(f"This {self.owner} is closed.")
        if self.state is State.OPEN:
            raise RuntimeError(f"This {self.owner} is already open: enter it only once.")
        self.state = State.OPEN

    def check_open(self) -> None:
        """Raise ``ClientClosedError`` if the object is closed."""
        if self.state is State.CLOSED:
            raise ClientClosedError(f"This {self.owner} is closed.")

    def close(self) -> bool:
        """Move to closed; ``True`` only for the call that closed it (do the work then)."""
        if self.state is State.CLOSED:
            return False
        self.state = State.CLOSED
        return True
