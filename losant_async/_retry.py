"""Retry policy for losant_async: which failures may be repeated, and after how long.

Small pure functions, as STYLE.md asks: ``should_retry(policy, outcome)``
decides from a status code or an error, ``backoff(attempt, retry_after)``
gives the delay and ``parse_retry_after`` reads the server's ``Retry-After``;
``RetryPolicy`` names what each Losant action allows. ``set_testing`` is the
test switch that zeroes every delay (read by ``_transport``'s retry loop and
``_sse``'s reconnects). Nothing here sends or sleeps: the loop that does is
``_transport.Transport.request``.
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

from ._constants import INITIAL_RETRY_DELAY, MAX_RETRY_AFTER, MAX_RETRY_DELAY, RETRY_JITTER
from ._exceptions import APIConnectionError, PoolTimeoutError

__all__ = ["set_testing"]


class RetryPolicy(enum.Enum):
    """Which failures a request may be repeated after."""

    # connect/read errors (a connection that died before the answer, too),
    # timeouts other than the pool's, 408, 429, 5xx
    SAFE = "safe"
    # only connect errors (nothing reached the server) and 429; never after
    # the request may have been written (issue 11, defect 1)
    ENQUEUE = "enqueue"
    NEVER = "never"


# Readers look it up here at call time (``_retry._zero_delay``), never import
# it by name: set_testing rebinds it.
_zero_delay = False


def set_testing(*, zero_delay: bool) -> None:
    """Make every retry delay zero (for test suites), or restore real delays."""
    global _zero_delay
    _zero_delay = zero_delay


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
