"""Bounded body reading: inflated incrementally, exact below the cap, refused above it."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import AsyncIterator

import anyio.lowlevel
import httpx
import pytest

from losant_async import ResponseTooLargeError
from losant_async._body import read_body, read_bounded

pytestmark = pytest.mark.anyio

DATA = os.urandom(50_000) + bytes(200_000) + b"tail" * 1000


class _Chunks(httpx.AsyncByteStream):
    """A body delivered in fixed-size chunks, recording whether it was closed."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data = data
        self.size = size
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(0, len(self.data), self.size):
            await anyio.lowlevel.checkpoint()
            yield self.data[i : i + self.size]

    async def aclose(self) -> None:
        self.closed = True


def _deflate_raw(data: bytes) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return z.compress(data) + z.flush()


ENCODED = [
    ("gzip", gzip.compress(DATA)),
    ("x-gzip", gzip.compress(DATA)),
    ("deflate", zlib.compress(DATA)),
    ("deflate", _deflate_raw(DATA)),
    ("identity", DATA),
    ("gzip, gzip", gzip.compress(gzip.compress(DATA))),
]


def _response(encoding: str, body: bytes, chunk: int) -> tuple[httpx.Response, _Chunks]:
    stream = _Chunks(body, chunk)
    headers = {"Content-Encoding": encoding} if encoding else {}
    return httpx.Response(200, headers=headers, stream=stream), stream


@pytest.mark.parametrize(("encoding", "body"), ENCODED, ids=[e for e, _ in ENCODED])
@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
async def test_body_decodes_exactly_below_the_cap(encoding: str, body: bytes, chunk: int) -> None:
    """Each encoding, in chunks of any size, decodes to the original bytes within the cap."""
    # Bounded work: an uncompressed body is cut in at most ~50,000 pieces.
    response, stream = _response(encoding, body, max(chunk, len(body) // 50_000))
    assert await read_body(response, len(DATA)) == DATA
    assert stream.closed


@pytest.mark.parametrize(("encoding", "body"), ENCODED, ids=[e for e, _ in ENCODED])
async def test_body_beyond_the_cap_is_refused(encoding: str, body: bytes) -> None:
    """One byte over the cap, decoded, raises ResponseTooLargeError and closes the body."""
    response, stream = _response(encoding, body, 4096)
    with pytest.raises(ResponseTooLargeError) as info:
        await read_body(response, len(DATA) - 1)
    assert info.value.limit == len(DATA) - 1
    assert stream.closed


async def test_declared_length_beyond_the_cap_is_refused_unread() -> None:
    """A Content-Length above the cap is refused before a byte of the body is read."""
    stream = _Chunks(b"x" * 100, 10)
    response = httpx.Response(200, headers={"Content-Length": "100"}, stream=stream)
    with pytest.raises(ResponseTooLargeError):
        await read_body(response, 99)
    assert stream.closed


async def test_no_cap_reads_everything() -> None:
    """With no cap the whole body is read."""
    response, _ = _response("gzip", gzip.compress(DATA), 1000)
    assert await read_body(response, None) == DATA


async def test_corrupt_gzip_is_a_decoding_error() -> None:
    """A body that is not the gzip it claims raises httpx.DecodingError (the transport maps it)."""
    response, _ = _response("gzip", b"not gzip at all", 5)
    with pytest.raises(httpx.DecodingError):
        await read_body(response, 1000)


async def test_error_snippet_inflates_only_the_snippet() -> None:
    """An error body that is a gzip bomb yields a snippet, inflating no more than it needs."""
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    bomb = b"".join(z.compress(bytes(1 << 20)) for _ in range(64)) + z.flush()
    response, _ = _response("gzip", bomb, 1 << 16)
    snippet = await read_bounded(response)
    assert snippet == bytes(len(snippet))
    assert 0 < len(snippet) <= 4096


def test_a_key_the_schema_does_not_know_is_checked_too() -> None:
    """Regression (found by test_params_fuzz on 3.13): an extra key with a lone
    surrogate went to httpx and failed there with an unnamed UnicodeEncodeError."""
    from losant_async._models import ApplicationClonePost
    from losant_async._params import build_body

    with pytest.raises(ValueError, match="body key must be valid Unicode"):
        build_body(ApplicationClonePost, {"\ud800": 0}, {})
