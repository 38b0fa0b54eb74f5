"""HTTP for losant_async: auth, the retry loop, error mapping, and opening streams.

`Transport` builds each `httpx.Request` (`_wire.Wire`) and hands it to an
`httpx.AsyncBaseTransport` (or a caller's `httpx.AsyncClient`; httpx's while
respx mocks, `_mocking`). It returns status, headers and bytes (`_response`),
knowing nothing about models. `_failures.ErrorMap` is the one place httpx
exceptions become ours (and says which request they were about). Around it:
`_auth`, `_retry`, `_body`, `_multipart`, `_proxy_env`, `_redaction`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import anyio
import httpx

from ._auth import TokenSource, TokenSupply, check_token
from ._body import body_in_hand, read_body, read_bounded
from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RESPONSE_DEADLINE,
    DEFAULT_TIMEOUT,
    EXTENSION_DEADLINE,
    EXTENSION_MAX_BODY,
    EXTENSION_STREAM,
    MAX_RETRY_AFTER,
)
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ResponseTooLargeError,
)
from ._failures import ErrorMap as ErrorMap
from ._failures import deadline_message, located, request_of
from ._http11 import Http11Transport, default_transport
from ._lifecycle import Lifecycle
from ._logging import log_outcome
from ._mocking import RESPX, mock_client, modules, own_pool_sends, respx_mocking
from ._multipart import Multipart, file_positions, rewind
from ._proxy_env import env_proxy
from ._redaction import filter_httpx_logs
from ._response import Response, StreamResponse, deleted_response, status_error
from ._retry import (
    RetryPolicy,
    backoff,
    delays_off,
    is_ambiguous,
    parse_retry_after,
    should_retry,
)
from ._secrets import remember_secret
from ._wire import NO_BODY, Serialized, Wire

__all__: list[str] = []

_log = logging.getLogger("losant_async")


_Answer = tuple[httpx.Response, bytes]


async def _sleep(seconds: float) -> None:
    # One seam for every retry sleep, so tests can observe the delays.
    await anyio.sleep(seconds)


# --- the transport ----------------------------------------------------------


class Transport(Wire):
    """Sends requests to the Losant API with auth, retries and typed errors.

    `request` reads a whole answer, retrying as its `RetryPolicy` allows;
    `open_stream` opens one the caller reads and closes. Whoever creates the
    connection pool closes it: a given ``http_client`` or ``transport`` stays
    the caller's. Closed (`Lifecycle`), it raises ``ClientClosedError``.
    """

    __slots__ = (
        "_deadline",
        "_errors",
        "_http_client",
        "_life",
        "_max_body",
        "_max_connections",
        "_max_retries",
        "_max_streams",
        "_mocked_by",
        "_owns_transport",
        "_read_errors",
        "_stream_errors",
        "_supply",
        "_token",
        "_transport",
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
        super().__init__(base_url, timeout, headers)
        self._max_retries = max_retries
        self._max_body = max_response_bytes
        self._deadline = response_deadline
        limits = DEFAULT_LIMITS if limits is None else limits
        self._max_connections = limits.max_connections
        self._max_streams = max_streams
        # A callable token is asked at the first request, and again once
        # after a 401 (API.md "Client and façade").
        self._supply = TokenSupply(token) if callable(token) else None
        self._token: str | None = None
        if token is not None and not callable(token):
            self._token = check_token(token)
        self._set_token(self._token)
        self._errors = ErrorMap(self, stream=False)
        self._stream_errors = ErrorMap(self, stream=True)
        self._read_errors = ErrorMap(self, stream=True, httpx_only=True)
        self._http_client = http_client
        # Whoever creates a resource closes it: a given transport stays the caller's.
        self._owns_transport = http_client is None and transport is None
        if transport is None and http_client is None:
            # The lean HTTP/1.1 pool; httpx's own where a proxy is configured.
            transport = self._make_pool(limits, max_streams)
        if not isinstance(transport, Http11Transport):
            # httpx sends the requests: its DEBUG lines echo headers.
            filter_httpx_logs()
        self._transport = transport
        # Own pool only: httpx's client once respx mocks (`_mocking`), shared with copies.
        self._mocked_by: list[httpx.AsyncClient] | None = [] if self._owns_transport else None
        self._life = Lifecycle("client")

    def _make_pool(self, limits: httpx.Limits, max_streams: int | None) -> httpx.AsyncBaseTransport:
        return default_transport(
            proxy=env_proxy(self.base_url), limits=limits, max_streams=max_streams
        )

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    @property
    def is_closed(self) -> bool:
        """Whether `aclose` has been called."""
        return self._life.is_closed

    async def __aenter__(self) -> Transport:
        self._life.enter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the owned connection pool; idempotent, never a caller's client."""
        if not self._life.close():
            return
        with anyio.CancelScope(shield=True):
            for mock in self._mocked_by or ():
                await mock.aclose()
            if self._owns_transport and self._transport is not None:
                await self._transport.aclose()

    # -- the token ---------------------------------------------------------------

    def _set_token(self, token: str | None) -> None:
        """Make ``token`` the one every request sends from now on."""
        self._token = token
        if token:
            remember_secret(token)
        self._authorize(token)

    async def _ensure_token(self) -> None:
        """Ask a token callable before the first request (once, however many wait)."""
        if self._token is None and self._supply is not None:
            self._set_token(await self._supply.first())

    async def _refresh_token(self, stale: str | None) -> bool:
        """After a 401 with ``stale``: ask the callable again; whether the token changed."""
        if self._supply is None:
            return False
        fresh = await self._supply.refresh(stale)
        if fresh is None:
            return False
        self._set_token(fresh)
        return True

    # -- sending (requests are built by `Wire`) ----------------------------------

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        client = self._http_client
        if client is None:
            transport = self._transport
            assert transport is not None
            mocked_by = self._mocked_by
            if mocked_by is None or RESPX not in modules or not respx_mocking(transport):
                response = await transport.handle_async_request(request)
                response.request = request
                return response
            if not mocked_by:
                filter_httpx_logs()  # httpx now sends: its DEBUG lines echo headers
                mocked_by.append(mock_client(env_proxy(self.base_url)))
            client = mocked_by[0]
        return await client.send(request, stream=stream)

    # -- requests ----------------------------------------------------------------

    async def _attempt(self, request: httpx.Request, kept: Serialized | None) -> _Answer:
        """Send once and read the whole body, within the body cap and the deadline."""
        deadline = self._deadline
        if deadline is None:
            return await self._exchange(request)
        if own_pool_sends(self._transport, self._http_client, request):
            # It cuts each wait to the time left: no cancel scope, the hot path's largest
            # cost. Called here, not through `_exchange` and `_send`: two coroutines less.
            ends = request.extensions[EXTENSION_DEADLINE] = time.monotonic() + deadline
            try:
                with self._errors:
                    response = await self._transport.handle_async_request(request, kept)
                    if (content := body_in_hand(response, self._max_body)) is None:
                        content = await read_body(response, self._max_body)
                    return response, content
            except APITimeoutError as exc:
                if time.monotonic() < ends:
                    raise
                raise APITimeoutError(deadline_message(deadline)) from exc
        with anyio.CancelScope(deadline=anyio.current_time() + deadline) as scope:
            return await self._exchange(request)
        # Only the deadline's own cancellation lands here.
        assert scope.cancelled_caught
        raise APITimeoutError(deadline_message(deadline))

    async def _exchange(self, request: httpx.Request) -> _Answer:
        with self._errors:
            response = await self._send(request, stream=True)
            # A body that came with the head (the common case) needs no coroutine.
            if (content := body_in_hand(response, self._max_body)) is None:
                content = await read_body(response, self._max_body)
            return response, content

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
        self._life.check_open()
        if self._token is None:
            await self._ensure_token()
        url = self._parsed(self._url(path, params))
        positions = file_positions(multipart) if multipart is not None else {}
        attempt = 0
        refreshed = False
        ambiguous = False
        while True:
            sent_with = self._token
            request, serialized = self._build_kept(
                method, url, self._merged_headers(headers), self._timeout, json, multipart
            )
            if self._max_body is not None:
                # The HTTP/1.1 transport stops reading past it (issue 11, defect 10).
                request.extensions[EXTENSION_MAX_BODY] = self._max_body
            debug = _log.isEnabledFor(logging.DEBUG)
            started = time.perf_counter() if debug else 0.0
            try:
                response, content = await self._attempt(request, serialized)
            except ResponseTooLargeError as exc:
                located(exc, request, attempt + 1)
                raise
            except APIConnectionError as exc:
                if debug:
                    log_outcome(method, path, type(exc).__name__, started)
                failure: APIError = exc
                retryable = should_retry(retry, exc)
                retry_after: float | None = None
            else:
                status = response.status_code
                if debug:
                    log_outcome(method, path, status, started)
                if status < 300:
                    return Response(
                        status, response.headers, content, token=self._token, request=request
                    )
                if (
                    status == 401
                    and not refreshed
                    and self._supply is not None
                    and (multipart is None or rewind(multipart, positions))
                ):
                    refreshed = True
                    if await self._refresh_token(sent_with):
                        self._life.check_open()
                        continue
                if status == 404 and ambiguous and method.upper() == "DELETE":
                    _log.info(
                        "%s %s -> 404 after a retry: the earlier attempt deleted it", method, path
                    )
                    return deleted_response(self._token)
                retry_after = parse_retry_after(response.headers)
                failure = status_error(status, response.headers, content, self._token, retry_after)
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
                and (multipart is None or rewind(multipart, positions))
            ):
                raise located(failure, request, attempt + 1)
            ambiguous = ambiguous or is_ambiguous(failure)
            delay = 0.0 if delays_off() else backoff(attempt, retry_after)
            attempt += 1
            what = getattr(failure, "status_code", None) or type(failure).__name__
            retries = self._max_retries
            _log.info(
                "%s %s -> %s: retry %d of %d in %.2f s", method, path, what, attempt, retries, delay
            )
            await _sleep(delay)
            self._life.check_open()

    # -- streams -----------------------------------------------------------------

    async def open_stream(
        self,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> StreamResponse:
        """Open a streaming ``GET`` (no retries: the stream layer reconnects).

        The request is the one Losant's JavaScript client sends (API.md,
        Details: Streams): the default headers, ``params`` as the whole query
        (no SDK flags), plus ``headers`` (``Last-Event-ID``); no body cap, no
        deadline (the body is endless). ``read_timeout`` replaces the read
        phase of the timeout. A 401 with a token callable refreshes the token
        once and re-opens; a status >= 300 closes the response and raises its
        typed error. Otherwise the caller owns the response: ``aclose()`` it.
        """
        self._life.check_open()
        await self._ensure_token()
        timeout = self._timeout if read_timeout is None else {**self._timeout, "read": read_timeout}
        url = self._parsed(self._url(path, params, flags=False))
        refreshed = False
        while True:
            sent_with = self._token
            response = await self._send_stream(url, headers, timeout)
            status = response.status_code
            if status < 300:
                return StreamResponse(response, self._read_errors, self._stream_errors)
            try:
                with self._stream_errors:
                    content = await read_bounded(response)
            finally:
                with anyio.CancelScope(shield=True), self._stream_errors:
                    await response.aclose()
            if status == 401 and not refreshed and self._supply is not None:
                refreshed = True
                if await self._refresh_token(sent_with):
                    self._life.check_open()
                    continue
            retry_after = parse_retry_after(response.headers)
            error = status_error(status, response.headers, content, self._token, retry_after)
            raise located(error, request_of(response))

    async def _send_stream(
        self,
        url: httpx.URL,
        headers: Mapping[str, str] | None,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        request = self._build("GET", url, self._merged_headers(headers), timeouts, NO_BODY, None)
        request.extensions[EXTENSION_STREAM] = True
        started = time.perf_counter()
        try:
            with self._stream_errors:
                response = await self._send(request, stream=True)
        except APIConnectionError as exc:
            located(exc, request, 1)
            raise
        log_outcome("GET", url.path, response.status_code, started)
        return response
