"""The stream's pure rules: settings, reconnect decisions and outages.

Nothing here reads a socket or sleeps. ``_sse.MqttStream`` applies these
rules; ``_application_args`` checks ``keep_alive_interval`` with the same
function as the stream itself, so both give one message for one mistake.
"""

from __future__ import annotations

import random
import re
from datetime import datetime
from typing import Final

import attrs

from .._constants import KEEP_ALIVE_MAX, SSE_MAX_EVENT_ID, STREAM_RECONNECT_JITTER
from .._exceptions import APIConnectionError, APIStatusError, LosantError, PoolTimeoutError

__all__ = ["StreamGap"]


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


def is_retryable(error: LosantError) -> bool:
    """Whether a failed (re)connect may be tried again (API.md, Details: Streams)."""
    if isinstance(error, PoolTimeoutError):
        # Issue 11, defect 2: no connection to be had from the client's own
        # pool. Waiting again only hides the fault; the caller must hear it.
        return False
    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, APIStatusError):
        # API.md: a 4xx is not retried; 429 alone is (the server refused).
        code = error.status_code
        return code >= 500 or code == 429
    return False


def reconnect_delay(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    server_retry: float | None = None,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before reconnection attempt ``attempt`` (1-based).

    Jittered exponential backoff: ``initial * 2**(attempt-1)`` capped at
    ``maximum``, then scaled by a random factor in ``[1 -
    STREAM_RECONNECT_JITTER, 1]``. A 429's ``Retry-After`` is a floor (the
    caller has already refused one beyond ``MAX_RETRY_AFTER``); so is the
    server's SSE ``retry:``, but only up to ``maximum``: a hostile or broken
    ``retry:`` must not park the stream for days.
    """
    base = min(maximum, initial * 2.0 ** min(attempt - 1, 62))
    jitter = STREAM_RECONNECT_JITTER * random.random()  # not crypto
    delay = base * (1 - STREAM_RECONNECT_JITTER + jitter)
    if server_retry is not None:
        delay = max(delay, min(server_retry, maximum))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
