"""The errors of losant_async.

Our exception hierarchy::

    LosantError
    ├── APIError
    │   ├── APIConnectionError            (transport failure, no response)
    │   │   └── APITimeoutError
    │   │       └── PoolTimeoutError      (no free connection in time; never retried)
    │   ├── APIResponseValidationError    (a body that is not what it should be)
    │   ├── ResponseTooLargeError         (a body beyond max_response_bytes)
    │   └── APIStatusError                (an HTTP error status)
    │       ├── BadRequestError           400
    │       ├── AuthenticationError       401
    │       ├── PermissionDeniedError     403
    │       ├── NotFoundError             404
    │       ├── ConflictError             409
    │       ├── TooLargeError             413
    │       ├── UnprocessableEntityError  422
    │       ├── RateLimitError            429
    │       └── InternalServerError       5xx
    ├── JobFailedError
    ├── JobAmbiguousError
    └── ClientClosedError                 (a closed client or stream was used)

The built-in ``TimeoutError`` is raised by ``JobHandle.wait``.

Every string an error carries (message, ``type``, ``body`` through its JSON,
``request_id``, ``body_snippet``) is redacted when the error is made: bearer
tokens, and every token the library has sent (issue 11, defect 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ._secrets import redact, redact_value, snippet

if TYPE_CHECKING:
    from ._jobs._values import JobOutcome

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "InternalServerError",
    "JobAmbiguousError",
    "JobFailedError",
    "LosantError",
    "NotFoundError",
    "PermissionDeniedError",
    "PoolTimeoutError",
    "RateLimitError",
    "ResponseTooLargeError",
    "TooLargeError",
    "UnprocessableEntityError",
]


def _redact_optional(text: str | None, token: str | None = None) -> str | None:
    return None if text is None else redact(text, token)


class LosantError(Exception):
    """Root of every error raised by losant_async."""


class ClientClosedError(LosantError, RuntimeError):
    """A closed client, application or stream was used."""


class APIError(LosantError):
    """An error talking to the Losant API.

    Attributes:
        message: What went wrong.
        method: The HTTP method of the request it is about (``None`` where
            no request was involved).
        url: That request's URL, without user info (``None`` as for
            ``method``). The token is never in it: it is sent as a header.
    """

    message: str
    method: str | None
    url: str | None

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = _redact_optional(url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class APIConnectionError(APIError):
    """The request never got a response: DNS, connect, TLS, reset, read error.

    ``str()`` names the request, the limit that fired and the attempts made:
    ``Request timed out (ReadTimeout). [GET https://api.losant.com/...;
    read timeout 30 s; after 3 attempts]``.

    Attributes:
        attempts: How many times the request was sent (``None`` where unknown).
    """

    _default = "Connection error."

    def __init__(
        self,
        message: str | None = None,
        *,
        method: str | None = None,
        url: str | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(self._default if message is None else message, method=method, url=url)
        self.attempts = attempts
        self._limit: str | None = None

    def __str__(self) -> str:
        parts = [f"{self.method} {self.url}"] if self.method else []
        if self._limit:
            parts.append(self._limit)
        if self.attempts:
            parts.append(f"after {self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        return f"{self.message} [{'; '.join(parts)}]" if parts else self.message


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout, or the response deadline, expired."""

    _default = "Request timed out."


class PoolTimeoutError(APITimeoutError):
    """No connection came free within the ``pool`` timeout.

    Every connection the pool may open to the host (``limits.max_connections``,
    or ``max_streams`` for a stream) was in use for the whole wait. Never
    retried: the request already waited the full pool timeout.
    """

    _default = "Timed out waiting for a free connection."


class ResponseTooLargeError(APIError):
    """A response body, as received or once decompressed, exceeded ``max_response_bytes``.

    Attributes:
        limit: The limit in bytes that was exceeded.
    """

    def __init__(
        self, message: str, *, limit: int, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.limit = limit


def locate(
    error: APIError,
    method: str,
    url: str,
    *,
    attempts: int | None = None,
    limit: str | None = None,
) -> None:
    """Record which request ``error`` is about, the timeout that fired, the attempts made."""
    if error.method is None:
        error.method = method
        error.url = redact(url)
    if isinstance(error, APIConnectionError):
        if attempts is not None:
            error.attempts = attempts
        if limit is not None and error._limit is None:
            error._limit = limit


class APIResponseValidationError(APIError):
    """A response body that is not the JSON, or not the shape, it should be.

    Attributes:
        status_code: HTTP status of the response.
        body_snippet: At most 1,024 characters of the body.
        errors: cattrs' readable paths of what did not fit, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body_snippet: str = "",
        errors: Sequence[str] = (),
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        # Redacted before it is cut (a token across the limit leaves no prefix).
        self.body_snippet: str = snippet(body_snippet)
        self.errors: tuple[str, ...] = tuple(redact(e) for e in errors)

    def __str__(self) -> str:
        detail = f" ({'; '.join(self.errors)})" if self.errors else ""
        return f"{self.message}{detail} [status {self.status_code}]"


class APIStatusError(APIError):
    """The API answered with an error status.

    Attributes:
        status_code: The HTTP status.
        type: Losant's error ``type`` (e.g. ``"NotFound"``), if the body had one.
        message: Losant's error message, or a description of the status.
        body: The decoded JSON body, or a bounded snippet of a body that was
            not JSON.
        request_id: The ``X-Request-Id`` response header, if present.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        type: str | None = None,
        body: object = None,
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.type: str | None = _redact_optional(type)
        self.body: object = redact_value(body)
        self.request_id: str | None = _redact_optional(request_id)

    def __str__(self) -> str:
        kind = f" {self.type}" if self.type else ""
        return f"{self.status_code}{kind}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, "
            f"type={self.type!r}, message={self.message!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was malformed or failed validation."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, invalid or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the token lacks a scope this action needs."""


class NotFoundError(APIStatusError):
    """404: the application (or job log) does not exist."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state."""


class TooLargeError(APIStatusError):
    """413: the request body is too large."""


class UnprocessableEntityError(APIStatusError):
    """422: too many validation errors (e.g. on ``clone``).

    Attributes:
        validation_errors: The ``validationErrors`` list of the body, as
            mappings (keys ``type``, ``name``, ``id``, ``message``).
    """

    @property
    def validation_errors(self) -> list[Mapping[str, object]]:
        """The ``validationErrors`` entries of the body."""
        if isinstance(self.body, Mapping):
            items = self.body.get("validationErrors")
            if isinstance(items, list):
                return [i for i in items if isinstance(i, Mapping)]
        return []


class RateLimitError(APIStatusError):
    """429: too many requests.

    Attributes:
        retry_after: Seconds to wait from ``Retry-After``, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        type: str | None = None,
        body: object = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            type=type,
            body=body,
            request_id=request_id,
            method=method,
            url=url,
        )
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class JobFailedError(LosantError):
    """An enqueued job ended ``errored`` or ``failed``.

    Attributes:
        outcome: The ``JobOutcome`` with status, times and error.
    """

    def __init__(self, outcome: JobOutcome) -> None:
        self.outcome = outcome
        detail = f": {outcome.error}" if outcome.error else ""
        super().__init__(redact(f"job {outcome.status}{detail}"))


class JobAmbiguousError(LosantError):
    """Two or more log entries could be the job: no guess is made.

    Attributes:
        candidates: The ids of the log entries that matched.
    """

    def __init__(self, message: str, *, candidates: Sequence[str] = ()) -> None:
        super().__init__(redact(message))
        self.candidates: tuple[str, ...] = tuple(redact(c) for c in candidates)


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: TooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _status_error_class(status_code: int) -> type[APIStatusError]:
    """The error class for an HTTP status (``APIStatusError`` if none of its own)."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


def make_status_error(
    status_code: int,
    body: object,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    token: str | None = None,
) -> APIStatusError:
    """Build the typed error for an error response.

    ``body`` is the decoded JSON body, or the raw text when it was not JSON
    (an error status wins over an unparseable body: a 502 HTML page is still
    an ``InternalServerError``).
    """
    type_: str | None = None
    message: str | None = None
    body = redact_value(body, token)
    request_id = _redact_optional(request_id, token)
    if isinstance(body, Mapping):
        raw_type, raw_message = body.get("type"), body.get("message")
        type_ = raw_type if isinstance(raw_type, str) else None
        message = raw_message if isinstance(raw_message, str) else None
    elif isinstance(body, str):
        body = snippet(body, token)
    if message is None:
        message = f"HTTP {status_code}"
    cls = _status_error_class(status_code)
    if cls is RateLimitError:
        return RateLimitError(
            message,
            status_code=status_code,
            type=type_,
            body=body,
            request_id=request_id,
            retry_after=retry_after,
        )
    return cls(message, status_code=status_code, type=type_, body=body, request_id=request_id)
