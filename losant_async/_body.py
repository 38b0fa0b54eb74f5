"""Reading response bodies within bounds: a byte cap that holds for decompressed bytes too.

httpx decodes ``gzip``/``deflate`` a whole network chunk at a time, so one
64 KiB chunk of a gzip bomb may inflate to 64 MB before anyone can count it
(issue 11, defect 10: a bomb used 1.8 GB). Here the raw bytes are read from
the response's own stream and inflated with ``zlib``'s ``max_length``, so no
more than the cap (plus one byte) is ever produced. Encodings this module does
not inflate itself (``br``, ``zstd``, several stacked) go through httpx's
decoder, with the cap checked after every chunk.
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import AsyncIterable, Callable
from typing import Final

import anyio
import httpx

from ._constants import BODY_SNIPPET_BYTES
from ._exceptions import ResponseTooLargeError

__all__: list[str] = []

_GZIP: Final = frozenset({"gzip", "x-gzip"})
_IDENTITY: Final = frozenset({"", "identity"})
_CODING: Final = b"content-encoding"
_UNBOUNDED: Final = 1 << 62
# Output produced per zlib call: memory grows by this much at a time, never by
# a whole chunk's worth of inflation.
_STEP: Final = 256 * 1024


def _too_large(limit: int, what: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"The response body {what} more than max_response_bytes={limit} bytes.", limit=limit
    )


class _Inflater:
    """``gzip`` or ``deflate``, inflated to at most a budget of output bytes."""

    __slots__ = ("_head", "_z")

    def __init__(self, encoding: str) -> None:
        # "deflate" is zlib-wrapped for some servers and raw for others
        # (httpx's DeflateDecoder accepts both): the first two bytes decide.
        self._head: bytes | None = b"" if encoding == "deflate" else None
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def _choose(self, data: bytes) -> bytes:
        head = (self._head or b"") + data
        if len(head) < 2:
            self._head = head
            return b""
        self._head = None
        cmf, flg = head[0], head[1]
        # RFC 1950 2.2: method 8 (deflate) and a header that is a multiple of 31.
        wrapped = cmf & 0x0F == 8 and (cmf * 256 + flg) % 31 == 0
        self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return head

    def inflate(self, data: bytes, budget: int) -> tuple[list[bytes], int]:
        """The output of ``data`` (pieces, size); stops once ``budget`` is exceeded."""
        if self._head is not None:
            data = self._choose(data)
            if not data:
                return [], 0
        pieces: list[bytes] = []
        size = 0
        while not self._z.eof:
            want = min(budget - size + 1, _STEP)
            try:
                piece = self._z.decompress(data, want)
            except zlib.error as exc:
                raise httpx.DecodingError(f"Failed to decode the response body: {exc}") from exc
            pieces.append(piece)
            size += len(piece)
            if size > budget:
                break
            data = self._z.unconsumed_tail
            # All input taken and the output not cut short: nothing is pending.
            if not data and len(piece) < want:
                break
        return pieces, size


async def _drain(stream: object, on_chunk: Callable[[bytes], bool]) -> None:
    """Feed each raw chunk of ``stream`` to ``on_chunk`` until it returns ``False``.

    Stopping early must close nested async generators (httpx's own transports
    yield through several): cancelling the read unwinds them all, where a
    ``break`` would leave them to the garbage collector (a ResourceWarning
    under trio). The library's own body iterator is a plain object, closed
    directly.
    """
    if not isinstance(stream, AsyncIterable):
        raise httpx.StreamError("the response body is not an async stream")
    iterator = aiter(stream)
    generator = inspect.isasyncgen(iterator)
    try:
        with anyio.CancelScope() as scope:
            async for chunk in iterator:
                if scope.cancel_called:
                    continue  # the cancellation lands at the generator's next read
                if not on_chunk(chunk):
                    if not generator:
                        break
                    scope.cancel()
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True):
                await aclose()


def body_in_hand(response: httpx.Response, limit: int | None) -> bytes | None:
    """The body the transport already read with the head, if that is all there is.

    ``None`` when it must still be read, or decoded (then `read_body`). The
    common case costs no coroutine: the HTTP/1.1 transport reads a small body
    with the head and lets the connection go, so nothing is left to release.
    """
    stream = response.stream
    if type(stream) is not httpx.ByteStream:
        return None
    # The lowered names directly: ``"content-encoding" in headers`` first
    # decodes every name and value to learn the headers' encoding (~1.5 µs).
    if _CODING in [name for _, name, _ in response.headers._list] and _encodings(response):
        return None
    content = b"".join(stream)
    response.is_closed = True
    if limit is not None and len(content) > limit:
        raise _too_large(limit, "was")
    return content


def _encodings(response: httpx.Response) -> list[str]:
    """The content codings to undo, in order, without ``identity``."""
    listed = response.headers.get_list("content-encoding", split_commas=True)
    return [e for e in (e.strip().lower() for e in listed) if e not in _IDENTITY]


async def read_body(response: httpx.Response, limit: int | None) -> bytes:
    """The whole decoded body of a streamed response, which is then closed.

    ``limit`` bounds the bytes received and the bytes decoded alike
    (``ResponseTooLargeError`` beyond it); ``None`` reads without a bound.
    """
    content = body_in_hand(response, limit)
    if content is not None:
        return content
    stream = response.stream
    headers = response.headers
    encodings = _encodings(response)
    try:
        if limit is not None:
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(limit, "declares")
        if not encodings:
            return await _read_raw(stream, limit, None)
        if len(encodings) == 1 and (encodings[0] in _GZIP or encodings[0] == "deflate"):
            return await _read_raw(stream, limit, _Inflater(encodings[0]))
        return await _read_decoded(response, limit)
    finally:
        with anyio.CancelScope(shield=True):
            await response.aclose()


async def _read_raw(stream: object, limit: int | None, inflater: _Inflater | None) -> bytes:
    pieces: list[bytes] = []
    counts = [0, 0]  # bytes received, bytes decoded
    error: list[ResponseTooLargeError] = []

    def on_chunk(chunk: bytes) -> bool:
        counts[0] += len(chunk)
        if limit is not None and counts[0] > limit:
            error.append(_too_large(limit, "was"))
            return False
        if inflater is None:
            pieces.append(chunk)
            return True
        budget = limit - counts[1] if limit is not None else _UNBOUNDED
        out, size = inflater.inflate(chunk, budget)
        counts[1] += size
        if limit is not None and counts[1] > limit:
            error.append(_too_large(limit, "decompressed to"))
            return False
        pieces.extend(out)
        return True

    await _drain(stream, on_chunk)
    if error:
        raise error[0]
    return b"".join(pieces)


async def _read_decoded(response: httpx.Response, limit: int | None) -> bytes:
    """Through httpx's decoder (encodings inflated there), the cap checked per chunk."""
    pieces: list[bytes] = []
    size = [0]

    def on_chunk(chunk: bytes) -> bool:
        size[0] += len(chunk)
        pieces.append(chunk)
        return limit is None or size[0] <= limit

    await _drain(response.aiter_bytes(), on_chunk)
    if limit is not None and size[0] > limit:
        raise _too_large(limit, "decompressed to")
    return b"".join(pieces)


async def read_bounded(response: httpx.Response) -> bytes:
    """At most enough of an error body for a snippet (a stream's body may be endless).

    A compressed body is inflated here too, and no further than the snippet.
    """
    limit = BODY_SNIPPET_BYTES
    encodings = [
        e.strip().lower()
        for e in response.headers.get_list("content-encoding", split_commas=True)
        if e.strip().lower() not in _IDENTITY
    ]
    inflater: _Inflater | None = None
    if len(encodings) == 1 and (encodings[0] in _GZIP or encodings[0] == "deflate"):
        inflater = _Inflater(encodings[0])
    elif encodings:
        return b""  # an encoding inflated only whole-chunk: no snippet rather than a bomb
    pieces: list[bytes] = []
    size = [0]

    def on_chunk(chunk: bytes) -> bool:
        if inflater is not None:
            out, n = inflater.inflate(chunk, limit - size[0])
        else:
            out, n = [chunk], len(chunk)
        pieces.extend(out)
        size[0] += n
        return size[0] < limit

    await _drain(response.stream, on_chunk)
    return b"".join(pieces)[:limit]
