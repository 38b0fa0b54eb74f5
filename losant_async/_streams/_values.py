"""The stream's values: ``StreamOptions`` (checked once), ``StreamGap``, ``StreamState``.

Nothing here reads a socket or sleeps. The façade builds one
``StreamOptions`` per call (``mqtt_subscription_stream(s)``) and hands it to
every ``MqttStream`` it makes; a stream built from keywords builds its own.
Either way the settings are checked here, by one rule with one message each.
``sendable_event_id`` says which event id may go back as ``Last-Event-ID``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from datetime import datetime
from typing import Final

import attrs

from .._constants import (
    DEFAULT_KEEP_ALIVE_INTERVAL,
    KEEP_ALIVE_MAX,
    KEEP_ALIVE_MISSES,
    SSE_MAX_EVENT_ID,
    STREAM_BACKOFF_INITIAL,
    STREAM_BACKOFF_MAX,
)
from .._models._base import SAFE_INTEGER

__all__ = ["StateCallback", "StreamGap", "StreamOptions", "StreamState"]


class StreamState(enum.StrEnum):
    """Where a stream is: read ``stream.state`` (a ``str``, so it goes into JSON as is).

    - ``connecting``: not connected yet (before and during the first connect,
      retries of the first connect included).
    - ``open``: a connection is open; messages flow.
    - ``reconnecting``: the connection was lost and is being re-opened
      (waiting out the backoff, or connecting).
    - ``closed``: closed by the caller, or ended for good (a 4xx, a 204,
      reconnection off or used up); no message will come.
    """

    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


# ``on_state_change(old, new)``: a plain function, called in the task that
# reads the stream; what it returns is ignored.
StateCallback = Callable[[StreamState, StreamState], object]


@attrs.frozen
class StreamGap:
    """One outage of a stream: messages published in it were not delivered.

    Losant replays nothing after a reconnect (no event ids, and its broker
    keeps no messages), so a caller who needs every message fills the gap
    from the REST API. One outage is one gap, however many reconnect
    attempts it took.

    Attributes:
        started_at: When the last byte arrived on the connection that was lost
            (timezone-aware, UTC). Anything published after it may be lost.
        ended_at: When the next connection was open (or when the stream gave
            up or was closed), timezone-aware, UTC.
        replayed: ``True`` only when the server gave event ids and the
            re-opened connection was asked to resume from the last one
            (``Last-Event-ID``); never the case against Losant itself.
    """

    started_at: datetime
    ended_at: datetime
    replayed: bool = False


def check_keep_alive_interval(value: object) -> int:
    """``keep_alive_interval`` as the whole seconds sent as ``keepAliveInterval``.

    Losant documents ``keepAliveInterval`` in seconds (spec
    ``api/application.json``): an ``int``, or a ``float`` with a whole value,
    from 1 to ``KEEP_ALIVE_MAX`` (a day). A ``bool`` is no number of seconds.

    Raises:
        ValueError: For anything else (API.md, Details: Streams).
    """
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, float) and value.is_integer():  # False for nan and inf
        seconds = int(value)
    if seconds is None or not 1 <= seconds <= KEEP_ALIVE_MAX:
        try:
            shown = repr(value) if isinstance(value, int | float) else type(value).__name__
        except ValueError:  # an int of more digits than str() allows
            shown = "a huge int"
        raise ValueError(
            "keep_alive_interval must be a whole number of seconds from 1 to "
            f"{KEEP_ALIVE_MAX} (an int, or a float with a whole value), not {shown[:40]}"
        )
    return seconds


def _check_reconnect(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"reconnect must be a bool, not {type(value).__name__}")


def _check_max_reconnects(
    instance: object, attribute: attrs.Attribute[int | None], value: object
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_reconnects must be an int or None, not {type(value).__name__}")
    if value < 0:
        raise ValueError("max_reconnects must be >= 0")
    if value > SAFE_INTEGER:
        raise ValueError("max_reconnects must be at most 2**53 - 1")


def _check_callback(
    instance: object, attribute: attrs.Attribute[StateCallback | None], value: object
) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"on_state_change must be callable or None, not {type(value).__name__}")


def _check_seconds(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number, not {type(value).__name__}")
    if not value >= 0:  # also refuses nan
        raise ValueError(f"{attribute.name} must be >= 0")


@attrs.frozen
class StreamOptions:
    """How a stream keeps alive and reconnects; checked when built.

    Attributes:
        keep_alive_interval: Whole seconds from 1 to a day, sent as
            ``keepAliveInterval`` (a float with a whole value is taken as its
            int; ``ValueError`` otherwise).
        reconnect: Whether a lost connection is re-opened at all.
        max_reconnects: Failed attempts in a row before giving up; ``None``:
            no bound.
        backoff_initial: The first reconnect delay in seconds (at least 0).
        backoff_max: The cap of the growing delay, at least ``backoff_initial``.
        on_state_change: Called as ``on_state_change(old, new)`` with two
            ``StreamState``s each time the stream's ``state`` changes (after
            the change). A plain function, run in the task that reads the
            stream, so it must not block; an exception it raises is logged and
            ignored. ``None``: no calls.

    Raises:
        TypeError: A setting of the wrong type.
        ValueError: A setting out of range.
    """

    keep_alive_interval: int = attrs.field(
        default=int(DEFAULT_KEEP_ALIVE_INTERVAL), converter=check_keep_alive_interval
    )
    reconnect: bool = attrs.field(default=True, validator=_check_reconnect)
    max_reconnects: int | None = attrs.field(default=None, validator=_check_max_reconnects)
    backoff_initial: float = attrs.field(default=STREAM_BACKOFF_INITIAL, validator=_check_seconds)
    backoff_max: float = attrs.field(default=STREAM_BACKOFF_MAX, validator=_check_seconds)
    on_state_change: StateCallback | None = attrs.field(
        default=None, validator=_check_callback, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if not self.backoff_initial <= self.backoff_max:
            raise ValueError("backoff_initial must not exceed backoff_max")

    @property
    def silence_timeout(self) -> float:
        """Seconds without a byte after which a connection counts as dead."""
        return float(KEEP_ALIVE_MISSES * self.keep_alive_interval)


# A header value that survives the trip unchanged: visible ASCII, inner spaces
# (RFC 9110 5.5: no controls, no leading or trailing whitespace).
_HEADER_SAFE: Final = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def sendable_event_id(event_id: str | None) -> str | None:
    """The id to send as ``Last-Event-ID``, or ``None`` when it cannot be sent.

    An id with non-ASCII characters or controls cannot be a header value as
    is, and one longer than ``SSE_MAX_EVENT_ID`` invites a 431 that would end
    the stream: such an id is kept in ``last_event_id`` but not sent back,
    and the server then starts afresh (issue 10, hostile fields).
    """
    if not event_id or len(event_id) > SSE_MAX_EVENT_ID:
        return None
    return event_id if _HEADER_SAFE.fullmatch(event_id) else None
