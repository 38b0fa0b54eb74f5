"""What the transport hands back: a read response, an open streaming one, an error's.

`Response` is a fully read 2xx answer. `StreamResponse` is an open one whose
body the caller reads block by block and then closes; each read goes through
the transport's error map, which it is given (httpx wraps each read of a body
in ``map_httpcore_exceptions`` the same way). `status_error` is the typed
error of an error (or redirect) answer.
"""

from __future__ import annotations

import contextlib
import json as _json
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Final, TypeVar, cast

import anyio
import attrs
import httpx

from ._constants import STREAM_FINISH_READS, STREAM_FINISH_TIMEOUT
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    make_status_error,
)
from ._failures import located, request_of
from ._lifecycle import Lifecycle
from ._secrets import redact_value, snippet

if TYPE_CHECKING:
    from ._transport import ErrorMap

__all__ = ["Response", "StreamResponse"]

E = TypeVar("E", bound=APIError)


def status_error(
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


# What a DELETE answers once the resource is gone (Losant's ``success`` schema,
# the answer of 41 of its 46 DELETE actions and of the one this client sends).
_DELETED: Final = b'{"success":true}'


def deleted_response(token: str | None) -> Response:
    """The answer of a DELETE whose earlier attempt, retried after a 5xx, deleted it."""
    headers = httpx.Headers({"Content-Type": "application/json"})
    return Response(200, headers, _DELETED, token=token)


@attrs.frozen
class Response:
    """A fully read 2xx response."""

    status_code: int
    headers: httpx.Headers
    # A body may be large, and may quote anything: the repr gives its size only.
    content: bytes = attrs.field(repr=lambda content: f"<{len(content)} bytes>")
    _token: str | None = attrs.field(default=None, repr=False, eq=False, kw_only=True)
    # The request answered: an error about this response names it (`locate`).
    request: httpx.Request | None = attrs.field(default=None, repr=False, eq=False, kw_only=True)

    def json(self) -> object:
        """The decoded JSON body; ``APIResponseValidationError`` if it is not JSON."""
        try:
            return _json.loads(self.content)
        except (ValueError, RecursionError) as exc:
            raise self.locate(
                APIResponseValidationError(
                    "The response body is not valid JSON.",
                    status_code=self.status_code,
                    body_snippet=self.snippet(),
                )
            ) from exc

    def locate(self, error: E) -> E:
        """``error``, naming the request this response answers (``.method``, ``.url``)."""
        return located(error, self.request)

    def snippet(self) -> str:
        """A bounded piece of the body, with the token blanked out, for error messages."""
        return snippet(self.content, self._token)


class StreamResponse:
    """An open streaming response: read it block by block, then ``aclose()`` it.

    What `Transport.open_stream` returns; whoever opened it closes it (or
    leaves an ``async with`` block on it). Each read is wrapped in the
    transport's error map (as httpx wraps each read of a body in
    ``map_httpcore_exceptions``), so an httpx error raised while reading
    arrives as ours; reading a closed one raises ``ClientClosedError``.
    """

    __slots__ = (
        "_chunks",
        "_close_errors",
        "_life",
        "_read_errors",
        "_response",
        "headers",
        "status_code",
    )

    def __init__(
        self, response: httpx.Response, read_errors: ErrorMap, close_errors: ErrorMap
    ) -> None:
        self._response = response
        self._read_errors = read_errors
        self._close_errors = close_errors
        self._chunks: AsyncIterator[bytes] | None = None
        self._life = Lifecycle("StreamResponse")
        self.status_code: int = response.status_code
        self.headers: httpx.Headers = response.headers

    def __repr__(self) -> str:
        state = " closed" if self._life.is_closed else ""
        return f"<StreamResponse [{self.status_code}]{state}>"

    async def __aenter__(self) -> StreamResponse:
        self._life.enter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _body(self) -> AsyncIterator[bytes]:
        response = self._response
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            # The body stream itself: one block per network read, and no
            # async generator of ours (httpx's aiter_raw/aiter_bytes are ones,
            # and trio warns when one is dropped unexhausted, httpx #3686).
            return cast("AsyncIterable[bytes]", response.stream).__aiter__()
        return response.aiter_bytes()

    async def read_chunk(self) -> bytes:
        """The next block of the body as it arrives; ``b""`` once the body has ended."""
        self._life.check_open()
        chunks = self._chunks
        if chunks is None:
            chunks = self._chunks = self._body()
        try:
            with self._read_errors:
                try:
                    chunk = await chunks.__anext__()
                    while not chunk:
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return b""
        except APIConnectionError as exc:
            located(exc, request_of(self._response))
            raise
        return chunk

    async def aclose(self) -> None:
        """Close the response and release its connection; idempotent, even when cancelled.

        Raises our error for an httpx error that closing met (the response is
        released all the same).
        """
        if not self._life.close():
            return
        chunks, self._chunks = self._chunks, None
        with anyio.CancelScope(shield=True):
            try:
                with self._close_errors:
                    await self._response.aclose()
            finally:
                if chunks is not None:
                    await _finish(chunks)


async def _finish(chunks: AsyncIterator[bytes]) -> None:
    """Run a closed response's body iterator to its end.

    httpx and httpcore read a body through nested async generators. Closing
    the outer one leaves the inner ones, suspended at their ``yield``, to the
    garbage collector, and trio warns about each (httpx #3686). Reading a
    closed response fails at once, and that error unwinds every level. The
    bounds only guard against a body stream that keeps going once closed.
    """
    with anyio.move_on_after(STREAM_FINISH_TIMEOUT):
        for _ in range(STREAM_FINISH_READS):
            try:
                await chunks.__anext__()
            except Exception:  # StopAsyncIteration, or the closed stream's error
                return
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
