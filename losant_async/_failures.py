"""Saying which request failed, and why (issue 13, point 6).

A connection or timeout error names the method, the URL, the limit that
fired and the attempts made; every error of a request carries ``.method`` and
``.url``. `ErrorMap` makes the error where httpx's is translated; the
transport locates it here as it raises it, so nothing of this
runs for a request that succeeds. The URL keeps its query (the library puts
no secret there: the token is a header) and drops any user info.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Final, TypeVar

import httpx

from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    PoolTimeoutError,
    ResponseTooLargeError,
    locate,
)
from ._redaction import clean_cause
from ._retry import TRANSPORT_ERRORS
from ._secrets import redact

if TYPE_CHECKING:
    from ._transport import Transport

__all__: list[str] = []

E = TypeVar("E", bound=APIError)

# The httpx timeout that fired, and the phase of ``httpx.Timeout`` it is.
_PHASES: Final = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
)


def public_url(url: httpx.URL) -> str:
    """``url`` as an error may show it: without user info."""
    if url.userinfo:
        url = url.copy_with(username=None, password=None)
    return str(url)


def _timeout_limit(error: APIError, timeouts: Mapping[str, object]) -> str | None:
    """``"read timeout 30 s"`` for an error that an httpx read timeout caused."""
    if not isinstance(error, APITimeoutError):
        return None
    for kind, phase in _PHASES:
        if isinstance(error.__cause__, kind):
            seconds = timeouts.get(phase)
            if isinstance(seconds, int | float):
                return f"{phase} timeout {seconds:g} s"
            return f"{phase} timeout"
    return None


def located(error: E, request: httpx.Request | None, attempts: int | None = None) -> E:
    """``error``, recording ``request`` (method, URL, its timeouts) and the attempts made."""
    if request is not None:
        timeouts = request.extensions.get("timeout")
        limit = _timeout_limit(error, timeouts if isinstance(timeouts, Mapping) else {})
        locate(error, request.method, public_url(request.url), attempts=attempts, limit=limit)
    return error


def request_of(response: httpx.Response) -> httpx.Request | None:
    """The request ``response`` answers, if it was given one."""
    try:
        return response.request
    except RuntimeError:
        return None


def pool_timeout_message(
    pool_wait: float | None, max_connections: int | None, max_streams: int | None, *, stream: bool
) -> str:
    """Why no connection (or stream slot) came free: which limit, and what to change."""
    within = f"within the pool timeout ({pool_wait:g} s)" if pool_wait is not None else "in time"
    if stream and max_streams is not None:
        return (
            f"No stream slot came free {within}: max_streams={max_streams} "
            "streams are open. Close streams you no longer read, or raise max_streams."
        )
    return (
        f"No connection came free {within}: all limits.max_connections="
        f"{max_connections} connections to this host are busy. "
        "Send fewer requests at once, or raise limits.max_connections."
    )


def deadline_message(deadline: float) -> str:
    """Why a response was cut off: the response deadline."""
    return (
        f"The response did not complete within response_deadline={deadline:g} s "
        "(from sending the request to the last byte of the answer)."
    )


# How `_http11` words a body beyond the max_body extension (`_http11._errors.too_large`).
_BODY_CAP_HIT: Final = "exceeds max_body_size"


class ErrorMap:
    """The one place httpx exceptions become ours (raised ``from`` the original).

    ``owner`` is the transport: once it is closed, an httpx error or the
    pool's ``RuntimeError("the transport is closed")`` is `ClientClosedError`
    (issue 11, defect 11). Around the reads of a streamed body
    (``httpx_only``) a ``RuntimeError`` is left alone, as it always was.
    ``stream`` picks the pool-timeout message that names ``max_streams``.
    """

    __slots__ = ("_httpx_only", "_owner", "_stream")

    def __init__(self, owner: Transport, *, stream: bool, httpx_only: bool = False) -> None:
        self._owner = owner
        self._stream = stream
        self._httpx_only = httpx_only

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, Exception):
            return  # cancellation and other BaseExceptions pass untouched
        owner = self._owner
        token = owner._token
        ours = (httpx.HTTPError,) if self._httpx_only else (httpx.HTTPError, RuntimeError)
        if owner.is_closed and isinstance(exc, ours) and not isinstance(exc, ClientClosedError):
            raise ClientClosedError(
                "The client was closed while this request was waiting or in flight."
            ) from clean_cause(exc, token)
        if isinstance(exc, APIStatusError) or not isinstance(exc, TRANSPORT_ERRORS):
            return
        name = type(exc).__name__
        cause = clean_cause(exc, token)
        if isinstance(exc, httpx.RemoteProtocolError) and _BODY_CAP_HIT in str(exc):
            # The HTTP/1.1 transport stopped at the request's max_body extension.
            limit = owner._max_body or 0
            raise ResponseTooLargeError(
                f"The response body was more than max_response_bytes={limit} bytes.", limit=limit
            ) from cause
        if isinstance(exc, httpx.PoolTimeout):
            raise PoolTimeoutError(
                pool_timeout_message(
                    owner._timeout.get("pool"),
                    owner._max_connections,
                    owner._max_streams,
                    stream=self._stream,
                )
            ) from cause
        if isinstance(exc, httpx.TimeoutException):
            raise APITimeoutError(f"Request timed out ({name}).") from cause
        detail = redact(str(exc), token)
        message = (
            f"Connection error ({name}): {detail}" if detail else f"Connection error ({name})."
        )
        raise APIConnectionError(message) from cause
