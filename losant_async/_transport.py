"""HTTP for losant_async: headers, auth, the retry loop, error mapping and streaming.

`_Transport` builds each `httpx.Request` itself and hands it straight to an
`httpx.AsyncBaseTransport` (or to a caller's `httpx.AsyncClient`). It returns
status, headers and bytes: it knows HTTP and nothing about models. Which
failures are retried, and after how long, is decided in `_retry`.
"""

from __future__ import annotations

import contextlib
import enum
import json as _json
import logging
import os
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import IO, Final, TypeAlias
from urllib.parse import urlencode

import anyio
import attrs
import httpx

from . import _retry
from ._constants import (
    ACCEPT_VERSION,
    BODY_SNIPPET_BYTES,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_QUERY,
    DEFAULT_TIMEOUT,
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
    _make_status_error,
    _redact,
    _snippet,
)
from ._http11 import _default_transport

# The retry policy lives in _retry. `X as X` re-exports what callers and tests
# have always imported from here: `_RetryPolicy` is part of `request()`'s
# signature, and conftest switches delays off with `_transport.set_testing`.
from ._retry import _TRANSPORT_ERRORS
from ._retry import _backoff as _backoff
from ._retry import _parse_retry_after as _parse_retry_after
from ._retry import _RetryPolicy as _RetryPolicy
from ._retry import _should_retry as _should_retry
from ._retry import set_testing as set_testing

__all__ = ["set_testing"]

_log = logging.getLogger("losant_async")

# Data fields and file fields (as httpx `files=`) of a multipart request.
_Multipart: TypeAlias = tuple[Mapping[str, str], Mapping[str, tuple[str, "IO[bytes] | bytes", str]]]


class _NoBody(enum.Enum):
    NO_BODY = enum.auto()


_NO_BODY: Final = _NoBody.NO_BODY


class _RedactFilter(logging.Filter):
    """Blank out bearer tokens in every record of the ``losant_async`` logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


if not any(isinstance(f, _RedactFilter) for f in _log.filters):
    _log.addFilter(_RedactFilter())


# --- the retry loop's sleep -------------------------------------------------


async def _sleep(seconds: float) -> None:
    # One seam for every retry sleep, so tests can observe the delays.
    await anyio.sleep(seconds)


# --- errors -----------------------------------------------------------------


class _ErrorMap:
    """The one place httpx exceptions become ours (raised ``from`` the original)."""

    __slots__ = ("_token",)

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        name = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            raise APITimeoutError(f"Request timed out ({name}).") from exc
        if isinstance(exc, _TRANSPORT_ERRORS):
            detail = _redact(str(exc), self._token)
            message = (
                f"Connection error ({name}): {detail}" if detail else f"Connection error ({name})."
            )
            raise APIConnectionError(message) from exc


def _status_error(
    status_code: int,
    headers: httpx.Headers,
    content: bytes,
    token: str | None,
    retry_after: float | None,
) -> APIStatusError:
    """The typed error of an error response; ``retry_after`` is kept by a 429's."""
    body: object = None
    if content:
        try:
            body = _json.loads(content)
        except (ValueError, RecursionError):
            # An error status wins over an unparseable body (API.md "Errors").
            body = content
    return _make_status_error(
        status_code,
        body,
        request_id=headers.get("x-request-id"),
        retry_after=retry_after,
        token=token,
    )


@attrs.frozen
class _Response:
    """A fully read 2xx/3xx response."""

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
        return _snippet(self.content, self._token)


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


def _file_positions(multipart: _Multipart) -> dict[str, int | None]:
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


def _rewind(multipart: _Multipart, positions: Mapping[str, int | None]) -> bool:
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


def _env_proxy(base_url: str) -> str | None:
    """The proxy that ``HTTPS_PROXY`` & co. name for ``base_url``, as httpx clients honour."""
    url = httpx.URL(base_url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy


async def _read_bounded(response: httpx.Response) -> bytes:
    """At most enough of an error body for a snippet (a stream's body may be endless)."""
    limit = BODY_SNIPPET_BYTES
    chunks: list[bytes] = []
    size = 0
    # Cancelling (not `break`) stops the read: the exception unwinds httpx's and
    # httpcore's nested async generators, which a `break` would leave for the
    # garbage collector (a ResourceWarning under trio).
    with anyio.CancelScope() as scope:
        async for chunk in response.aiter_bytes():
            if size < limit:
                chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                scope.cancel()
    return b"".join(chunks)[:limit]


async def _read_all(response: httpx.Response) -> bytes:
    """The whole (decoded) body of a streamed response, which is then closed."""
    stream = response.stream
    if type(stream) is httpx.ByteStream and "content-encoding" not in response.headers:
        # The transport read the body with the head and let the connection go:
        # nothing is left to read, decode or release.
        content = b"".join(stream)
        response.is_closed = True
        return content
    try:
        return await response.aread()
    finally:
        if not response.is_closed:
            with anyio.CancelScope(shield=True):
                await response.aclose()


class _Transport:
    """Sends requests to the Losant API with auth, retries and typed errors."""

    __slots__ = (
        "_closed",
        "_default_query",
        "_errors",
        "_headers",
        "_host_headers",
        "_http_client",
        "_max_retries",
        "_owns_transport",
        "_timeout",
        "_token",
        "_transport",
        "_urls",
        "base_url",
    )

    def __init__(
        self,
        *,
        token: str | None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if http_client is not None and transport is not None:
            raise ValueError("give http_client or transport, not both")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._max_retries = max_retries
        timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        # Read-only, shared by every request's extensions (httpcore only reads it).
        self._timeout: dict[str, float | None] = timeout.as_dict()
        self._default_query = urlencode(DEFAULT_QUERY)
        merged = httpx.Headers(
            {
                "Accept": "application/json",
                "Accept-Version": ACCEPT_VERSION,
                "User-Agent": USER_AGENT,
            }
        )
        if token:
            merged["Authorization"] = f"Bearer {token}"
        if headers:
            merged.update(headers)
        self._headers = merged
        # The default headers with ``Host`` in front (as httpx puts it), per netloc.
        self._host_headers: tuple[bytes, httpx.Headers] | None = None
        self._urls: dict[str, httpx.URL] = {}
        self._errors = _ErrorMap(token)
        self._http_client = http_client
        # Whoever creates a resource closes it: a given transport stays the caller's.
        self._owns_transport = http_client is None and transport is None
        if transport is None and http_client is None:
            # The lean HTTP/1.1 pool; httpx's own where a proxy is configured.
            transport = _default_transport(proxy=_env_proxy(self.base_url))
        self._transport = transport
        self._closed = False

    def __repr__(self) -> str:
        return f"_Transport(base_url={self.base_url!r})"

    @property
    def is_closed(self) -> bool:
        """Whether `aclose` has been called."""
        return self._closed

    async def __aenter__(self) -> _Transport:
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

    def _url(self, path: str, params: Sequence[tuple[str, str]]) -> str:
        # The default query goes first, as the official SDKs send it.
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
        multipart: _Multipart | None,
    ) -> httpx.Request:
        if json is _NO_BODY and multipart is None and headers is self._headers:
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
        if json is _NO_BODY:
            return httpx.Request(method, url, headers=headers, extensions=extensions)
        return httpx.Request(method, url, headers=headers, json=json, extensions=extensions)

    async def request(
        self,
        method: str,
        path: str,
        *,
        retry: _RetryPolicy,
        params: Sequence[tuple[str, str]] = (),
        json: object = _NO_BODY,
        multipart: _Multipart | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Response:
        """Send a request, retrying as ``retry`` allows, and read the whole body.

        Returns only for a status below 400; raises the `APIStatusError`
        subclass for the status otherwise, `APIConnectionError` /
        `APITimeoutError` when no response came, `ClientClosedError` when closed.
        """
        self._check_open()
        url = self._parsed(self._url(path, params))
        merged = self._merged_headers(headers)
        positions = _file_positions(multipart) if multipart is not None else {}
        attempt = 0
        while True:
            request = self._build(method, url, merged, self._timeout, json, multipart)
            debug = _log.isEnabledFor(logging.DEBUG)
            started = time.perf_counter() if debug else 0.0
            try:
                with self._errors:
                    response = await self._send(request, stream=True)
                    content = await _read_all(response)
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
                retryable = _should_retry(retry, exc)
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
                if status < 400:
                    return _Response(status, response.headers, content, token=self._token)
                retry_after = _parse_retry_after(response.headers)
                failure = _status_error(status, response.headers, content, self._token, retry_after)
                # A wait beyond MAX_RETRY_AFTER is the caller's to decide on.
                retryable = _should_retry(retry, status) and (
                    retry_after is None or retry_after <= MAX_RETRY_AFTER
                )
            if not (
                retryable
                and attempt < self._max_retries
                # An unseekable file was consumed: a re-send would send nothing.
                and (multipart is None or _rewind(multipart, positions))
            ):
                raise failure
            delay = 0.0 if _retry._zero_delay else _backoff(attempt, retry_after)
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

        A status >= 400 raises its typed error on entry. Otherwise the open
        `httpx.Response` is yielded and closed on exit, even when cancelled.
        ``read_timeout`` replaces the read phase of the timeout (``None``:
        keep the transport's).
        """
        return self._stream(method, path, params, headers, read_timeout)

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
        timeout = self._timeout if read_timeout is None else {**self._timeout, "read": read_timeout}
        url = self._parsed(self._url(path, params))
        request = self._build(method, url, self._merged_headers(headers), timeout, _NO_BODY, None)
        started = time.perf_counter()
        with self._errors:
            response = await self._send(request, stream=True)
        try:
            _log.debug(
                "%s %s -> %d (%.1f ms)",
                method,
                path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if response.status_code >= 400:
                with self._errors:
                    content = await _read_bounded(response)
                raise _status_error(
                    response.status_code,
                    response.headers,
                    content,
                    self._token,
                    _parse_retry_after(response.headers),
                )
            # httpx errors raised while the caller reads the body are translated too.
            with self._errors:
                yield response
        finally:
            with anyio.CancelScope(shield=True), self._errors:
                await response.aclose()
