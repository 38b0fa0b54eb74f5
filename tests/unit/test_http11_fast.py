"""The second round of HTTP/1.1 fast paths gives what the code they bypass gives.

The whole-block head parser against the line-by-line one, the cached request
head against a fresh serialization, and the read timeouts of the direct
socket reads (trio: one deadline task per run instead of a cancel scope per
wait) against httpx's read-timeout semantics: each wait for data is bounded.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import anyio
import anyio.lowlevel
import httpx
import pytest
import sniffio
from hypothesis import given
from hypothesis import strategies as st

from losant_async._http11 import Http11Transport, _head, _request
from tests.unit.test_http11 import _FUZZ, Req, Server, fetch, hostile, ok, request, responses

pytestmark = pytest.mark.anyio

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


@pytest.fixture
def srv() -> Iterator[Server]:
    """A fresh threaded test server per test."""
    s = Server()
    yield s
    s.close()


# --- response head: whole block vs line by line ------------------------------------


def _reference(block: bytes, max_line: int, max_headers: int) -> object:
    try:
        m, fields = _head._parse_block(block, max_line, max_headers)
    except httpx.RemoteProtocolError:
        return "error"
    return (m[1], m[2], m[3], fields)


def _blocks(data: bytes) -> list[bytes]:
    """The head blocks at the start of ``data``, as ``parse_head`` cuts them."""
    out: list[bytes] = []
    start = 0
    while len(out) < 3:
        try:
            end = _head.find_blank(data[start:], _head.MAX_HEADER_BYTES)
        except httpx.RemoteProtocolError:
            break
        if end < 0:
            break
        out.append(data[start : start + end])
        start += end
    return out


@_FUZZ
@given(st.one_of(responses(), hostile(), st.binary(max_size=64)), st.sampled_from([16, 64, 16384]))
def test_block_parser_agrees_with_line_parser(data: bytes, max_line: int) -> None:
    """Whatever block the fast parser accepts, it splits exactly as the line-by-line parser."""
    for block in _blocks(data):
        fast = _head._parse_block_fast(block, max_line, 3)
        if fast is not None:
            m, fields = fast
            assert (m[1], m[2], m[3], fields) == _reference(block, max_line, 3)


@pytest.mark.parametrize(
    "block",
    [
        b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n",
        b"HTTP/1.1 200\nA:b  \nC:\t\n\n",
        b"HTTP/1.0 404 Not Found \r\nX-A: a \t b\r\nY: \x7f\xe9\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ],
)
def test_plain_blocks_take_the_fast_path(block: bytes) -> None:
    """Ordinary heads are parsed by the whole-block path, with the reference result."""
    fast = _head._parse_block_fast(block, 16384, 256)
    assert fast is not None
    m, fields = fast
    assert (m[1], m[2], m[3], fields) == _reference(block, 16384, 256)


@pytest.mark.parametrize(
    "block",
    [
        b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",  # obsolete folding
        b"HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n",  # stray CR
        b"HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n",  # NUL
        b"HTTP/1.1 200 OK\r\nBad Name: b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: " + b"x" * 40 + b"\r\n\r\n",  # over max_line below
        b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",  # over max_headers below
    ],
)
def test_unusual_blocks_defer_to_the_line_parser(block: bytes) -> None:
    """Folding, stray bytes and limits are left to the line-by-line parser."""
    assert _head._parse_block_fast(block, 40, 3) is None


# --- request head: cached vs fresh --------------------------------------------------


def _req(method: str = "GET", **headers: str) -> httpx.Request:
    return httpx.Request(method, "http://h.test/a?b=c", headers=headers)


@pytest.mark.parametrize(
    "req",
    [
        _req(),
        _req("POST", **{"Content-Length": "3"}),
        _req("PUT", **{"Transfer-Encoding": "chunked", "X-A": "1"}),
        _req("DELETE", Authorization="Bearer t"),
    ],
)
def test_cached_head_equals_fresh_head(req: httpx.Request) -> None:
    """A cache hit returns exactly what serializing anew returns."""
    cache: dict[tuple[tuple[bytes, bytes], ...], tuple[bytes, bool, int | None]] = {}
    fresh = _request.serialize_head(req)
    assert _request.serialize_head(req, cache) == fresh
    assert len(cache) == 1
    assert _request.serialize_head(req, cache) == fresh  # from the cache
    other = httpx.Request("PATCH", "http://h.test/z", headers=req.headers)
    assert _request.serialize_head(other, cache)[0].startswith(b"PATCH /z HTTP/1.1\r\n")
    assert _request.serialize_head(other, cache) == _request.serialize_head(other)


def test_cached_head_still_refuses_bad_values() -> None:
    """A bad header value or request line is refused on every call and never cached."""
    cache: dict[tuple[tuple[bytes, bytes], ...], tuple[bytes, bool, int | None]] = {}
    bad = _req(**{"X-Evil": "a\r\nInjected: 1"})
    for _ in range(2):
        with pytest.raises(httpx.LocalProtocolError):
            _request.serialize_head(bad, cache)
    assert cache == {}
    good = _req()
    _request.serialize_head(good, cache)
    bad_method = httpx.Request("GE T", "http://h.test/a", headers=good.headers)
    with pytest.raises(httpx.LocalProtocolError):
        _request.serialize_head(bad_method, cache)  # its headers are cached; its line is not


def test_head_cache_is_bounded() -> None:
    """The cache of header blocks never grows past its size."""
    cache: dict[tuple[tuple[bytes, bytes], ...], tuple[bytes, bool, int | None]] = {}
    for i in range(_request._FIELD_CACHE_SIZE * 2 + 3):
        _request.serialize_head(_req(**{"X-N": str(i)}), cache)
        assert len(cache) <= _request._FIELD_CACHE_SIZE


# --- read timeouts of the direct reads -------------------------------------------


def _dribble(pieces: list[bytes], pause: float) -> object:
    def handler(req: Req, sock: socket.socket) -> bool:
        for piece in pieces:
            time.sleep(pause)
            sock.sendall(piece)
        return True

    return handler


async def test_read_timeout_bounds_each_wait_not_the_response(srv: Server) -> None:
    """A head sent in pieces, each within the read timeout, is read though it takes longer."""
    whole = ok(b"done")
    pieces = [whole[i : i + 8] for i in range(0, len(whole), 8)]
    srv.handler = _dribble(pieces, 0.06)  # type: ignore[assignment]
    async with Http11Transport() as t:
        started = time.monotonic()
        response, body = await fetch(t, request("GET", srv.url, {**TIMEOUTS, "read": 0.25}))
    assert (response.status_code, body) == (200, b"done")
    assert time.monotonic() - started > 0.25  # longer in total than one read timeout


async def test_read_timeout_fires_after_the_limit(srv: Server) -> None:
    """No data for the read timeout raises ReadTimeout, not before the limit and soon after it."""
    stop = threading.Event()
    srv.handler = lambda req, sock: stop.wait(5) and False
    try:
        async with Http11Transport() as t:
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await fetch(t, request("GET", srv.url, {**TIMEOUTS, "read": 0.2}))
            elapsed = time.monotonic() - started
            (pool,) = t._pools.values()
            assert pool.count == 0  # the timed-out connection was dropped
    finally:
        stop.set()
    assert 0.19 <= elapsed < 2.0


async def test_shorter_timeout_fires_while_a_longer_one_waits(srv: Server) -> None:
    """A short read timeout started after a long one still fires on time; the long one is served."""
    release = threading.Event()

    def handler(req: Req, sock: socket.socket) -> bool:
        if req.target == b"/slow":
            release.wait(5)
            sock.sendall(ok(b"slow"))
            return True
        release.wait(5)
        return False

    srv.handler = handler
    results: dict[str, object] = {}
    async with Http11Transport() as t:

        async def slow() -> None:
            _, body = await fetch(t, request("GET", srv.url + "/slow", {**TIMEOUTS, "read": 5.0}))
            results["slow"] = body

        async def quick() -> None:
            await anyio.sleep(0.05)
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await fetch(t, request("GET", srv.url + "/quick", {**TIMEOUTS, "read": 0.15}))
            results["quick"] = time.monotonic() - started
            release.set()

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                tg.start_soon(quick)
    assert results["slow"] == b"slow"
    assert 0.14 <= results["quick"] < 2.0  # type: ignore[operator]


async def test_cancelled_read_leaves_no_deadline_behind(srv: Server) -> None:
    """A read cancelled while waiting is dropped cleanly; later reads time out as usual."""
    stop = threading.Event()
    srv.handler = lambda req, sock: stop.wait(5) and False
    try:
        async with Http11Transport() as t:
            with anyio.move_on_after(0.1) as scope:
                await fetch(t, request("GET", srv.url, {**TIMEOUTS, "read": 0.3}))
            assert scope.cancelled_caught
            (pool,) = t._pools.values()
            assert pool.count == 0
            await anyio.sleep(0.4)  # past the cancelled read's deadline: nothing fires
            with pytest.raises(httpx.ReadTimeout):
                await fetch(t, request("GET", srv.url, {**TIMEOUTS, "read": 0.1}))
            if sniffio.current_async_library() == "trio":
                from losant_async._http11 import _trio

                keeper = _trio._deadlines()
                assert keeper.waits == {}
                assert keeper.expired == set()
    finally:
        stop.set()


async def test_fast_peer_cannot_starve_other_tasks_or_cancellation(srv: Server) -> None:
    """A body whose bytes are always there still yields to other tasks and to a deadline."""
    stop = threading.Event()

    def flood(req: Req, sock: socket.socket) -> bool:
        sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
        block = b"x" * 65536
        deadline = time.monotonic() + 5
        while not stop.is_set() and time.monotonic() < deadline:
            sock.sendall(block)
        return False

    srv.handler = flood
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    try:
        async with Http11Transport() as t:
            response = await t.handle_async_request(request("GET", srv.url))
            received = 0
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                tg.start_soon(ticker)
                with anyio.move_on_after(0.3):
                    async for block in response.aiter_raw():
                        received += len(block)
                tg.cancel_scope.cancel()
            await response.aclose()
    finally:
        stop.set()
    assert time.monotonic() - started < 3.0
    assert received > 0
    assert ticks > 1


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_direct_read_of_waiting_bytes_is_a_checkpoint(srv: Server) -> None:
    """On trio a read that finds bytes already there still delivers a pending cancellation."""
    body = b"y" * (256 * 1024)

    def handler(req: Req, sock: socket.socket) -> bool:
        sock.sendall(ok(body))
        return True

    srv.handler = handler
    async with Http11Transport() as t:
        response = await t.handle_async_request(request("GET", srv.url))
        await anyio.sleep(0.2)  # the rest of the body is now in the socket buffer
        received = 0
        with anyio.CancelScope() as scope:
            scope.cancel()
            async for block in response.aiter_raw():
                received += len(block)
        await response.aclose()
    assert scope.cancelled_caught
    assert received < len(body)
