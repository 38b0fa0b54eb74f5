"""HTTP for losant_async: headers, auth, the retry loop, error mapping and streaming.

`Transport` builds each `httpx.Request` itself and hands it straight to an
`httpx.AsyncBaseTransport` (or to a caller's `httpx.AsyncClient`). It returns
status, headers and bytes: it knows HTTP and nothing about models. Which
failures are retried, and after how long, is decided in `_retry`; bodies are
read within their byte cap by `_body`; the proxy the environment names is
found by `_proxy_env`; log and traceback redaction is `_redaction`'s.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import json as _json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import IO, Final, TypeAlias
from urllib.parse import urlencode

import anyio
import attrs
import httpx

from . import _retry
from ._body import read_body, read_bounded
from ._constants import (
    ACCEPT_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_QUERY,
    DEFAULT_RESPONSE_DEADLINE,
    DEFAULT_TIMEOUT,
    EXTENSION_MAX_BODY,
    EXTENSION_STREAM,
    MAX_RETRY_AFTER,
    URL_CACHE_SIZE,
    USER_AGENT,
)
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    PoolTimeoutError,
    ResponseTooLargeError,
    make_status_error,
    redact,
    redact_value,
    remember_secret,
    snippet,
)
from ._http11 import default_transport
from ._proxy_env import env_proxy as env_proxy
from ._redaction import clean_cause, filter_httpx_logs

# The retry policy lives in _retry. `X as X` re-exports what callers and tests
# have always imported from here: `RetryPolicy` is part of `request()`'s
# signature, and conftest switches delays off with `_transport.set_testing`.
from ._retry import CONNECT_ERRORS, TRANSPORT_ERRORS
from ._retry import RetryPolicy as RetryPolicy
from ._retry import backoff as backoff
from ._retry import parse_retry_after as parse_retry_after
from ._retry import set_testing as set_testing
from ._retry import should_retry as should_retry

__all__ = ["set_testing"]

_log = logging.getLogger("losant_async")

# Data fields and file fields (as httpx `files=`) of a multipart request.
Multipart: TypeAlias = tuple[Mapping[str, str], Mapping[str, tuple[str, "IO[bytes] | bytes", str]]]
# A token, or a callable (sync or async) that returns the current one.
TokenSource: TypeAlias = str | Callable[[], str] | Callable[[], Awaitable[str]]


class _NoBody(enum.Enum):
    NO_BODY = enum.auto()


NO_BODY: Final = _NoBody.NO_BODY

# How `_http11` words the error for a body beyond the request's max_body
# extension (its ``_too_large``).
_BODY_CAP_HIT: Final = "exceeds max_body_size"

# What a DELETE answers once the resource is gone (Losant's ``success`` schema,
# the answer of 41 of its 46 DELETE actions and of the one this client sends).
_DELETED: Final = b'{"success":true}'


# --- the retry loop's sleep -------------------------------------------------


async def _sleep(seconds: float) -> None:
    # One seam for every retry sleep, so tests can observe the delays.
    await anyio.sleep(seconds)


# --- errors -----------------------------------------------------------------


class _ErrorMap:
    """The one place httpx exceptions become ours (raised ``from`` the original).

    ``owner`` is the transport: once it is closed, an httpx error or the
    pool's ``RuntimeError("the transport is closed")`` is `ClientClosedError`
    (issue 11, defect 11). Around a caller's own code (``user_code``: the body
    of a stream's ``async with``) only httpx errors are touched.
    """

    __slots__ = ("_owner", "_stream", "_user_code")

    def __init__(self, owner: Transport, *, stream: bool, user_code: bool = False) -> None:
        self._owner = owner
        self._stream = stream
        self._user_code = user_code

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
        ours = (httpx.HTTPError,) if self._user_code else (httpx.HTTPError, RuntimeError)
        if owner._closed and isinstance(exc, ours) and not isinstance(exc, ClientClosedError):
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
            raise PoolTimeoutError(owner._pool_timeout_message(stream=self._stream)) from cause
        if isinstance(exc, httpx.TimeoutException):
            raise APITimeoutError(f"Request timed out ({name}).") from cause
        detail = redact(str(exc), token)
        message = (
            f"Connection error ({name}): {detail}" if detail else f"Connection error ({name})."
        )
        raise APIConnectionError(message) from cause


def _status_error(
    status_code: int,
    headers: httpx.Headers,
    content: bytes,
    token: str | None,
    retry_after: float | None,
) -> APIStatusError:
    """The typed error of an error (or redirect) response; a 429's keeps ``retry_after``."""
    body: object = None
    if content:
        try:
            body = _json.loads(content)
        except (ValueError, RecursionError):
            # An error status wins over an unparseable body (API.md "Errors").
            body = content
    if 300 <= status_code < 400:
        # A redirect is an error, never the resource (issue 11, defect 11):
        # the library follows none, as no Losant action answers with one.
        location = headers.get("location")
        where = f" to {snippet(location, token)}" if location else ""
        return APIStatusError(
            f"The server answered a redirect ({status_code}){where}; redirects are not "
            "followed. Check base_url.",
            status_code=status_code,
            body=redact_value(body, token),
            request_id=snippet(headers.get("x-request-id"), token) or None,
        )
    return make_status_error(
        status_code,
        body,
        request_id=headers.get("x-request-id"),
        retry_after=retry_after,
        token=token,
    )


@attrs.frozen
class Response:
    """A fully read 2xx response."""

    status_code: int
    headers: httpx.Headers
    # A body may be large, and may quote anything: the repr gives its size only.
    content: bytes = attrs.field(repr=lambda content: f"<{len(content)} bytes>")
    _token: str | None = attrs.field(default=None, repr=False, eq=False, kw_only=True)

    def json(self) -> object:
        """The decoded JSON body; ``APIResponseValidationError`` if it is not JSON."""
        try:
            return _json.loads(self.content)
        except (ValueError, RecursionError) as exc:
            raise APIResponseValidationError(
                "The response body is not valid JSON.",
                status_code=self.status_code,
                body_snippet=self.snippet(),
            ) from exc

    def snippet(self) -> str:
        """A bounded piece of the body, with the token blanked out, for error messages."""
        return snippet(self.content, self._token)


# --- multipart --------------------------------------------------------------

_FORM_PARAM_ESCAPES: Final = {
    0x22: "%22",
    0x5C: "\\\\",
    **{c: f"%{c:02X}" for c in range(0x20) if c != 0x1B},
}


def _encode_fields(data: Mapping[str, str]) -> tuple[bytes, str]:
    """A multipart body of plain fields (httpx sends urlencoded when no file is given)."""
    boundary = os.urandom(16).hex()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="'
        f'{name.translate(_FORM_PARAM_ESCAPES)}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in data.items()
    ]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _file_positions(multipart: Multipart) -> dict[str, int | None]:
    """Where each file object starts (``None``: it cannot be rewound)."""
    positions: dict[str, int | None] = {}
    for name, (_, content, _) in multipart[1].items():
        if isinstance(content, (bytes, bytearray)):
            continue
        try:
            positions[name] = content.tell() if content.seekable() else None
        except (OSError, ValueError):
            positions[name] = None
    return positions


def _rewind(multipart: Multipart, positions: Mapping[str, int | None]) -> bool:
    """Seek every file back to its start; ``False`` if one cannot be (no retry then)."""
    for name, position in positions.items():
        if position is None:
            return False
        content = multipart[1][name][1]
        if isinstance(content, (bytes, bytearray)):
            continue
        try:
            content.seek(position)
        except (OSError, ValueError):
            return False
    return True


# --- the transport ----------------------------------------------------------

# What httpx gives a request without a body (stateless: safe to share).
_EMPTY_BODY: Final = httpx.ByteStream(b"")
# Methods httpx sends ``Content-Length: 0`` for when they carry no body.
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})


def check_token(token: object) -> str:
    """A token as a header value can carry it (never quoted in the message)."""
    if not isinstance(token, str):
        raise TypeError(f"the token must be a str, not {type(token).__name__}")
    if not token:
        raise ValueError("the token must not be empty")
    if any(c in token for c in "\r\n\0"):
        raise ValueError("the token must not contain CR, LF or NUL")
    return token


def _ambiguous(failure: Exception) -> bool:
    """Whether the server may have acted on a request that failed this way."""
    if isinstance(failure, APIStatusError):
        return failure.status_code == 408 or failure.status_code >= 500
    if isinstance(failure, PoolTimeoutError):
        return False
    return isinstance(failure, APIConnectionError) and not isinstance(
        failure.__cause__, CONNECT_ERRORS
    )


class Transport:
    """Sends requests to the Losant API with auth, retries and typed errors."""

    __slots__ = (
        "_closed",
        "_deadline",
        "_default_query",
        "_errors",
        "_headers",
        "_host_headers",
        "_http_client",
        "_max_body",
        "_max_connections",
        "_max_retries",
        "_max_streams",
        "_owns_transport",
        "_stream_errors",
        "_timeout",
        "_token",
        "_token_lock",
        "_token_source",
        "_transport",
        "_urls",
        "_user_errors",
        "base_url",
    )

    def __init__(
        self,
        *,
        token: TokenSource | None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits | None = None,
        max_streams: int | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        response_deadline: float | None = DEFAULT_RESPONSE_DEADLINE,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if http_client is not None and transport is not None:
            raise ValueError("give http_client or transport, not both")
        if http_client is not None and (limits is not None or max_streams is not None):
            raise ValueError(
                "limits and max_streams shape the library's own pool: "
                "set them on your http_client instead"
            )
        self.base_url = base_url.rstrip("/")
        self._max_retries = max_retries
        timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        # Read-only, shared by every request's extensions (httpcore only reads it).
        self._timeout: dict[str, float | None] = timeout.as_dict()
        self._default_query = urlencode(DEFAULT_QUERY)
        self._max_body = max_response_bytes
        self._deadline = response_deadline
        limits = DEFAULT_LIMITS if limits is None else limits
        self._max_connections = limits.max_connections
        self._max_streams = max_streams
        # A callable token is fetched at the first request, and again once
        # after a 401 (API.md "Client and façade").
        self._token_source: Callable[[], str | Awaitable[str]] | None = None
        self._token_lock: anyio.Lock | None = None
        self._token: str | None = None
        if callable(token):
            self._token_source = token
        elif token:
            self._token = check_token(token)
            remember_secret(token)
        merged = httpx.Headers(
            {
                "Accept": "application/json",
                "Accept-Version": ACCEPT_VERSION,
                "User-Agent": USER_AGENT,
            }
        )
        if headers:
            merged.update(headers)
        self._headers = merged
        # The default headers with ``Host`` in front (as httpx puts it), per netloc.
        self._host_headers: tuple[bytes, httpx.Headers] | None = None
        self._set_token(self._token)
        self._urls: dict[str, httpx.URL] = {}
        self._errors = _ErrorMap(self, stream=False)
        self._stream_errors = _ErrorMap(self, stream=True)
        self._user_errors = _ErrorMap(self, stream=True, user_code=True)
        self._http_client = http_client
        # Whoever creates a resource closes it: a given transport stays the caller's.
        self._owns_transport = http_client is None and transport is None
        if transport is None and http_client is None:
            # The lean HTTP/1.1 pool; httpx's own where a proxy is configured.
            transport = self._make_pool(limits, max_streams)
        if not isinstance(transport, _http11_types()):
            # httpx sends the requests: its DEBUG lines echo headers.
            filter_httpx_logs()
        self._transport = transport
        self._closed = False

    def _make_pool(self, limits: httpx.Limits, max_streams: int | None) -> httpx.AsyncBaseTransport:
        return default_transport(
            proxy=env_proxy(self.base_url), limits=limits, max_streams=max_streams
        )

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    @property
    def is_closed(self) -> bool:
        """Whether `aclose` has been called."""
        return self._closed

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the owned connection pool; idempotent, never a caller's client."""
        if self._closed:
            return
        self._closed = True
        if self._owns_transport and self._transport is not None:
            with anyio.CancelScope(shield=True):
                await self._transport.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("The client is closed.")

    def _pool_timeout_message(self, *, stream: bool) -> str:
        wait = self._timeout.get("pool")
        within = f"within the pool timeout ({wait:g} s)" if wait is not None else "in time"
        if stream and self._max_streams is not None:
            return (
                f"No stream slot came free {within}: max_streams={self._max_streams} "
                "streams are open. Close streams you no longer read, or raise max_streams."
            )
        return (
            f"No connection came free {within}: all limits.max_connections="
            f"{self._max_connections} connections to this host are busy. "
            "Send fewer requests at once, or raise limits.max_connections."
        )

    # -- the token ---------------------------------------------------------------

    def _set_token(self, token: str | None) -> None:
        """Make ``token`` the one every request sends from now on."""
        self._token = token
        if token:
            remember_secret(token)
            self._headers["Authorization"] = f"Bearer {token}"
        elif "authorization" in self._headers:
            del self._headers["Authorization"]
        self._host_headers = None

    async def _fetch_token(self) -> str:
        source = self._token_source
        assert source is not None
        value = source()
        if inspect.isawaitable(value):
            value = await value
        return check_token(value)

    def _lock(self) -> anyio.Lock:
        if self._token_lock is None:
            self._token_lock = anyio.Lock()
        return self._token_lock

    async def _ensure_token(self) -> None:
        """Fetch a callable's token before the first request (once, however many wait)."""
        if self._token_source is None or self._token is not None:
            return
        async with self._lock():
            if self._token is None:
                self._set_token(await self._fetch_token())

    async def _refresh_token(self, stale: str | None) -> bool:
        """After a 401 with ``stale``: ask the callable again; whether the token changed."""
        if self._token_source is None:
            return False
        async with self._lock():
            if self._token != stale:
                return True  # another request already refreshed it
            fresh = await self._fetch_token()
            if fresh == stale:
                return False
            _log.info("the token was refused (401); retrying with the token callable's new one")
            self._set_token(fresh)
            return True

    # -- building requests -----------------------------------------------------

    def _url(self, path: str, params: Sequence[tuple[str, str]], *, flags: bool = True) -> str:
        # The default query goes first, as the official SDKs send it.
        if not flags:
            return f"{self.base_url}{path}?{urlencode(params)}" if params else self.base_url + path
        if params:
            return f"{self.base_url}{path}?{self._default_query}&{urlencode(params)}"
        return f"{self.base_url}{path}?{self._default_query}"

    def _parsed(self, url: str) -> httpx.URL:
        # httpx.URL is immutable, so one parse serves every request to that URL.
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = httpx.URL(url)
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            self._urls[url] = parsed
        return parsed

    def _plain_request(
        self, method: str, url: httpx.URL, timeout: dict[str, float | None]
    ) -> httpx.Request:
        """A body-less request with the default headers: what httpx would build, cheaper.

        ``stream=`` skips httpx's header preparation (which rebuilds the
        headers twice), so ``Host`` is added here, in front, as httpx does.
        """
        netloc = url.netloc
        baked = self._host_headers
        if baked is None or baked[0] != netloc:
            if "host" in self._headers:
                headers = self._headers
            else:
                headers = httpx.Headers([(b"Host", netloc), *self._headers.raw])
            baked = self._host_headers = (netloc, headers)
        request = httpx.Request(
            method, url, headers=baked[1], stream=_EMPTY_BODY, extensions={"timeout": timeout}
        )
        request.read()
        return request

    def _merged_headers(self, headers: Mapping[str, str] | None) -> httpx.Headers:
        if not headers:
            return self._headers
        merged = self._headers.copy()
        merged.update(headers)
        return merged

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        if self._http_client is not None:
            return await self._http_client.send(request, stream=stream)
        assert self._transport is not None
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    def _build(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        timeout: dict[str, float | None],
        json: object,
        multipart: Multipart | None,
    ) -> httpx.Request:
        if json is NO_BODY and multipart is None and headers is self._headers:
            upper = method.upper()
            if upper not in _BODY_METHODS and url.host:
                return self._plain_request(upper, url, timeout)
        extensions = {"timeout": timeout}
        if multipart is not None:
            data, files = multipart
            if files:
                return httpx.Request(
                    method, url, headers=headers, data=data, files=files, extensions=extensions
                )
            content, content_type = _encode_fields(data)
            headers = headers.copy()
            headers["Content-Type"] = content_type
            return httpx.Request(
                method, url, headers=headers, content=content, extensions=extensions
            )
        if json is NO_BODY:
            return httpx.Request(method, url, headers=headers, extensions=extensions)
        return httpx.Request(method, url, headers=headers, json=json, extensions=extensions)

    # -- requests ----------------------------------------------------------------

    async def _attempt(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """Send once and read the whole body, within the body cap and the deadline."""
        deadline = self._deadline
        if deadline is None:
            with self._errors:
                response = await self._send(request, stream=True)
                return response, await read_body(response, self._max_body)
        with anyio.CancelScope(deadline=anyio.current_time() + deadline) as scope:
            with self._errors:
                response = await self._send(request, stream=True)
                return response, await read_body(response, self._max_body)
        # Only the deadline's own cancellation lands here (issue 11, defect 10).
        assert scope.cancelled_caught
        raise APITimeoutError(
            f"The response did not complete within response_deadline={deadline:g} s "
            "(from sending the request to the last byte of the answer)."
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        retry: RetryPolicy,
        params: Sequence[tuple[str, str]] = (),
        json: object = NO_BODY,
        multipart: Multipart | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send a request, retrying as ``retry`` allows, and read the whole body.

        Returns only for a 2xx status; raises the `APIStatusError` subclass
        for the status otherwise (a 3xx is `APIStatusError`: redirects are
        not followed), `APIConnectionError` / `APITimeoutError` when no
        response came, `ResponseTooLargeError` for a body beyond the cap,
        `ClientClosedError` when closed.

        A 401 asks a token callable for a new token and repeats the request
        once with it, whatever ``retry`` says: a 401 means nothing was done.
        A DELETE that meets 404 after a retry that followed an ambiguous
        failure (5xx, 408, a read error) answers success: the first attempt
        deleted it.
        """
        self._check_open()
        await self._ensure_token()
        url = self._parsed(self._url(path, params))
        positions = _file_positions(multipart) if multipart is not None else {}
        attempt = 0
        refreshed = False
        ambiguous = False
        while True:
            sent_with = self._token
            request = self._build(
                method, url, self._merged_headers(headers), self._timeout, json, multipart
            )
            if self._max_body is not None:
                # The HTTP/1.1 transport stops reading past it (issue 11, defect 10).
                request.extensions[EXTENSION_MAX_BODY] = self._max_body
            debug = _log.isEnabledFor(logging.DEBUG)
            started = time.perf_counter() if debug else 0.0
            try:
                response, content = await self._attempt(request)
            except APIConnectionError as exc:
                if debug:
                    _log.debug(
                        "%s %s -> %s (%.1f ms)",
                        method,
                        path,
                        type(exc).__name__,
                        (time.perf_counter() - started) * 1000,
                    )
                failure: Exception = exc
                retryable = should_retry(retry, exc)
                retry_after: float | None = None
            else:
                status = response.status_code
                if debug:
                    _log.debug(
                        "%s %s -> %d (%.1f ms)",
                        method,
                        path,
                        status,
                        (time.perf_counter() - started) * 1000,
                    )
                if status < 300:
                    return Response(status, response.headers, content, token=self._token)
                if (
                    status == 401
                    and not refreshed
                    and self._token_source is not None
                    and (multipart is None or _rewind(multipart, positions))
                ):
                    refreshed = True
                    if await self._refresh_token(sent_with):
                        self._check_open()
                        continue
                if status == 404 and ambiguous and method.upper() == "DELETE":
                    _log.info(
                        "%s %s -> 404 after a retry: the earlier attempt deleted it", method, path
                    )
                    return Response(
                        200,
                        httpx.Headers({"Content-Type": "application/json"}),
                        _DELETED,
                        token=self._token,
                    )
                retry_after = parse_retry_after(response.headers)
                failure = _status_error(status, response.headers, content, self._token, retry_after)
                # A wait beyond MAX_RETRY_AFTER is the caller's to decide on.
                retryable = (
                    status >= 400
                    and should_retry(retry, status)
                    and (retry_after is None or retry_after <= MAX_RETRY_AFTER)
                )
            if not (
                retryable
                and attempt < self._max_retries
                # An unseekable file was consumed: a re-send would send nothing.
                and (multipart is None or _rewind(multipart, positions))
            ):
                raise failure
            ambiguous = ambiguous or _ambiguous(failure)
            delay = 0.0 if _retry._zero_delay else backoff(attempt, retry_after)
            attempt += 1
            _log.debug(
                "retrying %s %s in %.2f s (retry %d of %d)",
                method,
                path,
                delay,
                attempt,
                self._max_retries,
            )
            await _sleep(delay)
            self._check_open()

    # -- streams -----------------------------------------------------------------

    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> AbstractAsyncContextManager[httpx.Response]:
        """Open a streaming response (no retries: the stream layer reconnects).

        The request is the one Losant's JavaScript client sends (API.md,
        Details: Streams): ``Accept: application/json``, ``Accept-Version``,
        ``Authorization``, ``User-Agent`` (and ``losantdomain`` when set),
        ``params`` as the whole query (none of the ``_actions`` / ``_links`` /
        ``_embedded`` flags), plus ``headers`` (``Last-Event-ID``). The body
        cap and the response deadline do not apply: the body is endless.

        A 401 with a token callable refreshes the token once and re-opens. A
        status >= 400 (or a redirect) raises its typed error on entry.
        Otherwise the open `httpx.Response` is yielded and closed on exit,
        even when cancelled. ``read_timeout`` replaces the read phase of the
        timeout (``None``: keep the transport's).
        """
        return self._stream(method, path, params, headers, read_timeout)

    async def _open_stream(
        self,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str] | None,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        request = self._build(method, url, self._merged_headers(headers), timeouts, NO_BODY, None)
        request.extensions[EXTENSION_STREAM] = True
        started = time.perf_counter()
        with self._stream_errors:
            response = await self._send(request, stream=True)
        _log.debug(
            "%s %s -> %d (%.1f ms)",
            method,
            url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    @contextlib.asynccontextmanager
    async def _stream(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        headers: Mapping[str, str] | None,
        read_timeout: float | None,
    ) -> AsyncIterator[httpx.Response]:
        self._check_open()
        await self._ensure_token()
        timeout = self._timeout if read_timeout is None else {**self._timeout, "read": read_timeout}
        url = self._parsed(self._url(path, params, flags=False))
        refreshed = False
        while True:
            sent_with = self._token
            response = await self._open_stream(method, url, headers, timeout)
            status = response.status_code
            if status < 300:
                break
            try:
                with self._stream_errors:
                    content = await read_bounded(response)
            finally:
                with anyio.CancelScope(shield=True), self._stream_errors:
                    await response.aclose()
            if status == 401 and not refreshed and self._token_source is not None:
                refreshed = True
                if await self._refresh_token(sent_with):
                    self._check_open()
                    continue
            raise _status_error(
                status,
                response.headers,
                content,
                self._token,
                parse_retry_after(response.headers),
            )
        try:
            # httpx errors raised while the caller reads the body are translated
            # too; the caller's own exceptions pass untouched.
            with self._user_errors:
                yield response
        finally:
            with anyio.CancelScope(shield=True), self._stream_errors:
                await response.aclose()


def _http11_types() -> tuple[type, ...]:
    from ._http11._transport import Http11Transport

    return (Http11Transport,)
