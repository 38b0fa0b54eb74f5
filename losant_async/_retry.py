"""Retry policy for losant_async: which failures may be repeated, and after how long.

Small pure functions, as STYLE.md asks: ``should_retry(policy, outcome)``
decides from a status code or an error, ``backoff(attempt, retry_after)``
gives the delay and ``parse_retry_after`` reads the server's ``Retry-After``;
``RetryPolicy`` names what each Losant action allows. For a stream's
reconnects, ``should_reconnect(error)`` and ``reconnect_delay(attempt, ...)``
answer the same two questions; ``JobPollBackoff`` spaces job polls. ``set_testing`` is the
test switch that zeroes every delay; ``delays_off()`` is how the loops that
sleep ask for it (the request loop in ``_transport.Transport.request``, stream
reconnects, job polls). Nothing here sends or sleeps.
"""

from __future__ import annotations

import email.utils
import enum
import math
import random
import re
import time
from datetime import UTC
from typing import Final

import httpx

from ._constants import (
    INITIAL_RETRY_DELAY,
    JOB_POLL_INITIAL,
    JOB_POLL_MAX,
    JOB_POLL_MULTIPLIER,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRY_JITTER,
    STREAM_RECONNECT_JITTER,
)
from ._exceptions import APIConnectionError, APIStatusError, LosantError, PoolTimeoutError

__all__ = ["delays_off", "set_testing"]


class RetryPolicy(enum.Enum):
    """Which failures a request may be repeated after."""

    # connect/read errors (a connection that died before the answer, too),
    # timeouts other than the pool's, 408, 429, 5xx
    SAFE = "safe"
    # only connect errors (nothing reached the server) and 429; never after
    # the request may have been written (issue 11, defect 1)
    ENQUEUE = "enqueue"
    NEVER = "never"


# Rebound by set_testing; other modules ask delays_off() (stamina's is_testing).
_zero_delay = False


def set_testing(*, zero_delay: bool) -> None:
    """Make every retry delay zero (for test suites), or restore real delays."""
    global _zero_delay
    _zero_delay = zero_delay


def delays_off() -> bool:
    """Whether `set_testing` has zeroed every retry, reconnect and poll delay."""
    return _zero_delay


# Raised by a connect attempt: the request never reached the server, so even
# a job-enqueuing action may be repeated (API.md "Details: Retries").
CONNECT_ERRORS: Final = (httpx.ConnectError, httpx.ConnectTimeout)
# What becomes APIConnectionError: a body that cannot be decoded (bad gzip)
# is a transport fault too.
TRANSPORT_ERRORS: Final = (httpx.TransportError, httpx.DecodingError)


def should_retry(policy: RetryPolicy, outcome: int | BaseException) -> bool:
    """Whether a status code, or a (translated or httpx) error, may be retried."""
    if policy is RetryPolicy.NEVER:
        return False
    if isinstance(outcome, int):
        if outcome == 429:
            return True
        return policy is RetryPolicy.SAFE and (outcome == 408 or outcome >= 500)
    cause = outcome.__cause__ if isinstance(outcome, APIConnectionError) else outcome
    if isinstance(outcome, PoolTimeoutError) or isinstance(cause, httpx.PoolTimeout):
        # It already waited the whole pool timeout; waiting again would only
        # hide a pool that is full for good (issue 11, defect 2).
        return False
    if policy is RetryPolicy.ENQUEUE:
        return isinstance(cause, CONNECT_ERRORS)
    return isinstance(outcome, APIConnectionError) or isinstance(cause, TRANSPORT_ERRORS)


def is_ambiguous(failure: Exception) -> bool:
    """Whether the server may have acted on a request that failed this way.

    A DELETE repeated after such a failure that meets 404 deleted it the
    first time (the transport answers success then).
    """
    if isinstance(failure, APIStatusError):
        return failure.status_code == 408 or failure.status_code >= 500
    if isinstance(failure, PoolTimeoutError):
        return False
    return isinstance(failure, APIConnectionError) and not isinstance(
        failure.__cause__, CONNECT_ERRORS
    )


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry).

    A usable ``Retry-After`` wins; otherwise exponential from
    ``INITIAL_RETRY_DELAY`` up to ``MAX_RETRY_DELAY``, with up to
    ``RETRY_JITTER`` of it taken off at random.
    """
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
        return retry_after
    delay = min(INITIAL_RETRY_DELAY * 2.0 ** min(attempt, 32), MAX_RETRY_DELAY)
    return delay * (1 - RETRY_JITTER * random.random())


_DELAY_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (RFC 9110 10.2.3: seconds or an HTTP-date).

    ``now`` is the POSIX time an HTTP-date is measured from (default: now).
    A date in the past gives 0; anything unreadable gives ``None``.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# -- job polls ---------------------------------------------------------------


class JobPollBackoff:
    """Delays between job polls: a fixed interval, or JOB_POLL_INITIAL growing to JOB_POLL_MAX.

    The growing delay starts over whenever the job moves, so a progress bar
    stays lively while a job that sits still costs few requests. Used by
    ``_jobs.JobHandle``'s poll loop, one instance per wait.
    """

    def __init__(self, fixed: float | None) -> None:
        self._fixed = fixed
        self._delay = JOB_POLL_INITIAL

    def next(self, *, changed: bool) -> float:
        if self._fixed is not None:
            return self._fixed
        if changed:
            self._delay = JOB_POLL_INITIAL
        else:
            self._delay = min(self._delay * JOB_POLL_MULTIPLIER, JOB_POLL_MAX)
        return self._delay


# -- stream reconnects -------------------------------------------------------


def should_reconnect(error: LosantError) -> bool:
    """Whether a stream may re-open after ``error`` (API.md, Details: Streams)."""
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
    """Seconds to wait before stream reconnection attempt ``attempt`` (1-based).

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
