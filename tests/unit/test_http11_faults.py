"""The HTTP/1.1 transport under faults (issue 11): never twice, never stuck, never quadratic.

Real sockets on 127.0.0.1 (the threaded server of ``test_http11``) where the
defect is about sockets; the parser directly where it is about bytes.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from losant_async._http11 import Http11Transport, _framing, _head, default_transport
from tests.unit.test_http11 import (
    _FUZZ,
    Req,
    Server,
    fetch,
    hostile,
    ok,
    pool_of,
    reply,
    request,
    responses,
    server,
)

pytestmark = pytest.mark.anyio

__all__ = ["server"]  # the fixture, imported for use here

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
# The request extensions ``losant_async._transport`` sets (the contract).
STREAM_EXTENSION = "losant_async.stream"
MAX_BODY_EXTENSION = "losant_async.max_body"


# --- defect 1: a written request is never written again ------------------------------


def _answer_first_then(
    fault: Callable[[socket.socket], None],
) -> Callable[[Req, socket.socket], bool]:
    """Answer the first request of each connection; read the second, then ``fault``."""
    seen: set[int] = set()

    def handler(req: Req, sock: socket.socket) -> bool:
        if req.conn_id in seen:
            fault(sock)
            return False
        seen.add(req.conn_id)
        sock.sendall(ok())
        return True

    return handler


def _close(sock: socket.socket) -> None:
    sock.shutdown(socket.SHUT_RDWR)


def _reset(sock: socket.socket) -> None:
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("fault", [_close, _reset], ids=["close", "reset"])
async def test_request_read_then_dropped_on_pooled_connection_is_sent_once(
    server: Server, fault: Callable[[socket.socket], None]
) -> None:
    """A POST read by the server, then closed or reset unanswered, is an error and never resent."""
    server.handler = _answer_first_then(fault)
    async with Http11Transport() as t:
        await fetch(t, request("GET", server.url))  # pools the connection
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await fetch(t, request("POST", server.url + "/publish", content=b'{"n":1}'))
        # Not a ConnectError: the layer above takes that as "never reached the server".
        assert pool_of(t).count == 0
    posts = [r for r in server.requests if r.method == b"POST"]
    assert [(r.conn_id, r.body) for r in posts] == [(1, b'{"n":1}')]


async def test_pooled_connection_dead_before_the_write_is_replaced(server: Server) -> None:
    """A pooled connection seen closed before the request is written is swapped, not an error."""
    server.handler = reply(ok(), keep=False)
    async with Http11Transport() as t:
        await fetch(t, request("GET", server.url))
        for _ in range(1000):  # bounded wait for the server's close to land
            if server.closed_connections:
                break
            await anyio.sleep(0.005)
        await anyio.sleep(0.02)
        _, body = await fetch(t, request("POST", server.url, content=b"once"))
    assert body == b"hello"
    assert [(r.conn_id, r.body) for r in server.requests] == [(1, b""), (2, b"once")]


# --- defect 2: streams never starve requests ------------------------------------------


def _streams_and_requests(gate: threading.Event) -> Callable[[Req, socket.socket], bool]:
    """``/stream`` sends a head and one chunk, then holds until ``gate``; the rest: 200."""

    def handler(req: Req, sock: socket.socket) -> bool:
        if req.target == b"/stream":
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n:\n\r\n")
            gate.wait(20)
            return False
        sock.sendall(ok())
        return True

    return handler


def _stream_request(url: str, pool: float = 5.0) -> httpx.Request:
    return httpx.Request(
        "GET",
        url + "/stream",
        extensions={"timeout": {**TIMEOUTS, "pool": pool}, STREAM_EXTENSION: True},
    )


async def test_101_open_streams_leave_requests_served(server: Server) -> None:
    """101 open streams on one transport do not hold up a plain GET on it."""
    gate = threading.Event()
    server.handler = _streams_and_requests(gate)
    streams: list[httpx.Response] = []
    try:
        async with Http11Transport() as t:
            with anyio.fail_after(30):
                for _ in range(101):
                    streams.append(await t.handle_async_request(_stream_request(server.url, 2.0)))
            started = time.monotonic()
            response, body = await fetch(t, request("GET", server.url, {**TIMEOUTS, "pool": 2.0}))
            elapsed = time.monotonic() - started
            assert (response.status_code, body) == (200, b"hello")
            assert elapsed < 2.0
            # Streams are outside max_connections: only the GET's connection is pooled.
            assert (pool_of(t).count, len(pool_of(t).idle)) == (1, 1)
            for stream in streams:
                await stream.aclose()
    finally:
        gate.set()


async def test_max_streams_waits_then_names_the_limit(server: Server) -> None:
    """Past max_streams a stream waits for a slot, gets one freed, or raises naming max_streams."""
    gate = threading.Event()
    server.handler = _streams_and_requests(gate)
    try:
        async with Http11Transport(max_streams=2) as t:
            first = await t.handle_async_request(_stream_request(server.url))
            second = await t.handle_async_request(_stream_request(server.url))
            with pytest.raises(httpx.PoolTimeout, match="max_streams"):
                await t.handle_async_request(_stream_request(server.url, 0.1))
            got: list[httpx.Response] = []
            async with anyio.create_task_group() as tg:

                async def third() -> None:
                    got.append(await t.handle_async_request(_stream_request(server.url)))

                tg.start_soon(third)
                await anyio.sleep(0.05)
                assert got == []
                await first.aclose()  # frees a slot for the waiting stream
            assert len(got) == 1
            # Requests still go through meanwhile: streams never count against them.
            assert (await fetch(t, request("GET", server.url)))[1] == b"hello"
            await second.aclose()
            await got[0].aclose()
    finally:
        gate.set()


async def test_pool_timeout_names_max_connections(server: Server) -> None:
    """A request that waits past the pool timeout names max_connections and the timeout."""
    gate = threading.Event()
    server.handler = _streams_and_requests(gate)
    try:
        async with Http11Transport(max_connections=1) as t:
            held = await t.handle_async_request(request("GET", server.url + "/stream"))
            with pytest.raises(httpx.PoolTimeout, match=r"0\.1 s.*max_connections"):
                await t.handle_async_request(request("GET", server.url, {**TIMEOUTS, "pool": 0.1}))
            await held.aclose()
    finally:
        gate.set()


def test_default_transport_passes_the_limits() -> None:
    """default_transport takes max_streams and httpx.Limits' three limits."""
    t = default_transport(
        limits=httpx.Limits(max_connections=7, max_keepalive_connections=3, keepalive_expiry=2.0),
        max_streams=50,
    )
    assert isinstance(t, Http11Transport)
    assert (t._max_connections, t._max_idle, t._expiry, t._max_streams) == (7, 3, 2.0, 50)


async def test_max_keepalive_connections_closes_the_surplus(server: Server) -> None:
    """Connections beyond max_keepalive_connections are closed instead of pooled."""
    async with Http11Transport(max_keepalive_connections=1) as t:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(fetch, t, request("GET", server.url))
        assert (pool_of(t).count, len(pool_of(t).idle)) == (1, 1)


# --- defect 8: waiters are served in order --------------------------------------------


async def test_released_connection_goes_to_the_waiter_first(server: Server) -> None:
    """A task that releases a connection while another waits cannot take it straight back."""
    gate = threading.Event()

    def handler(req: Req, sock: socket.socket) -> bool:
        if req.target == b"/a1":  # the body's last bytes come only once b is queued
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")
            gate.wait(10)
            sock.sendall(b"lo")
        else:
            sock.sendall(ok())
        return True

    server.handler = handler
    order: list[str] = []
    async with Http11Transport(max_connections=1) as t:
        first = await t.handle_async_request(request("GET", server.url + "/a1"))

        async def waiter() -> None:
            await fetch(t, request("GET", server.url + "/b"))
            order.append("b")

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await anyio.sleep(0.05)  # b is now queued for the only connection
            gate.set()
            assert await first.aread() == b"hello"  # releases the connection
            await first.aclose()
            await fetch(t, request("GET", server.url + "/a2"))
            order.append("a2")
    assert [r.target for r in server.requests] == [b"/a1", b"/b", b"/a2"]
    assert order == ["b", "a2"]


async def test_256_tasks_over_100_connections_all_get_served(server: Server) -> None:
    """256 tasks looping over 100 connections never hit PoolTimeout: waiters are served FIFO."""
    failures: list[BaseException] = []
    served = [0] * 256
    async with Http11Transport(max_connections=100) as t:
        stop = anyio.current_time() + 3.0

        async def worker(i: int) -> None:
            for _ in range(10_000):  # bounded; the clock ends it first
                if anyio.current_time() >= stop:
                    return
                try:
                    await fetch(t, request("GET", server.url, {**TIMEOUTS, "pool": 1.5}))
                except httpx.PoolTimeout as exc:
                    failures.append(exc)
                    return
                served[i] += 1

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for i in range(256):
                    tg.start_soon(worker, i)
    assert failures == []
    assert min(served) >= 1


# --- defect 11: closed transport ------------------------------------------------------


async def test_aclose_wakes_waiters_with_transport_closed(server: Server) -> None:
    """Requests and streams waiting for a slot at aclose() raise 'the transport is closed'."""
    gate = threading.Event()
    server.handler = _streams_and_requests(gate)
    errors: list[BaseException] = []
    try:
        t = Http11Transport(max_connections=1, max_streams=1)
        held = await t.handle_async_request(request("GET", server.url + "/stream"))
        stream = await t.handle_async_request(_stream_request(server.url))

        async def wait_for(req: httpx.Request) -> None:
            try:
                await t.handle_async_request(req)
            except RuntimeError as exc:
                errors.append(exc)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_for, request("GET", server.url, {**TIMEOUTS, "pool": 30.0}))
                tg.start_soon(wait_for, _stream_request(server.url, 30.0))
                await anyio.sleep(0.05)
                await t.aclose()
        assert [str(e) for e in errors] == ["the transport is closed"] * 2
        with pytest.raises(RuntimeError, match="the transport is closed"):
            await t.handle_async_request(request("GET", server.url))
        with pytest.raises(httpx.ReadError):
            await held.aread()
        await stream.aclose()
    finally:
        gate.set()


# --- defect 10: the raw body cap, per request -----------------------------------------


async def test_body_cap_per_request(server: Server) -> None:
    """The losant_async.max_body extension overrides the transport's max_body_size."""
    server.handler = reply(ok(b"x" * 100))
    async with Http11Transport() as t:
        capped = request("GET", server.url)
        capped.extensions[MAX_BODY_EXTENSION] = 50
        with pytest.raises(httpx.RemoteProtocolError, match=r"max_body_size \(50 bytes\)"):
            await fetch(t, capped)
        assert (await fetch(t, request("GET", server.url)))[1] == b"x" * 100
    async with Http11Transport(max_body_size=50) as t:
        uncapped = request("GET", server.url)
        uncapped.extensions[MAX_BODY_EXTENSION] = None
        assert (await fetch(t, uncapped))[1] == b"x" * 100


# --- defect 9: interim responses are capped and parsed once ---------------------------


async def test_megabytes_of_100_continue_are_cut_off_fast(server: Server) -> None:
    """A server sending 4 MiB of '100 Continue' gets a RemoteProtocolError within moments."""
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"

    def flood(req: Req, sock: socket.socket) -> bool:
        block = interim * (64 * 1024 // len(interim))
        try:
            for _ in range(64):  # 4 MiB
                sock.sendall(block)
            sock.sendall(ok())
        except OSError:
            pass  # the client hung up, as it should
        return False

    server.handler = flood
    async with Http11Transport() as t:
        started = time.monotonic()
        with anyio.fail_after(15), pytest.raises(httpx.RemoteProtocolError, match="interim"):
            await fetch(t, request("GET", server.url))
    assert time.monotonic() - started < 5.0


def test_head_dripped_byte_by_byte_parses_as_whole() -> None:
    """A head fed one byte per read gives what it gives in one read (interim included)."""
    data = (
        b"\r\nHTTP/1.1 100 Continue\r\nX: 1\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\nLink: </a>\n\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nA: b\r\n folded\r\n\r\nhi"
    )
    whole = _head.HeadParser(b"GET").feed(data)
    assert whole is not None
    parser = _head.HeadParser(b"GET")
    result = None
    for i in range(len(data)):
        result = parser.feed(data[i : i + 1])
        if result is not None:
            assert i == len(data) - 3
            break
    assert result is not None
    assert (result[0].status, result[0].headers) == (whole[0].status, whole[0].headers)
    assert whole[1] == b"hi"
    assert parser.interim == 2


def test_too_many_interim_responses_are_refused() -> None:
    """More than MAX_INTERIM interim responses, even tiny ones, raise RemoteProtocolError."""
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    with pytest.raises(httpx.RemoteProtocolError, match="interim"):
        _head.HeadParser(b"GET").feed(interim * (_head.MAX_INTERIM + 1) + ok())
    assert _head.HeadParser(b"GET").feed(interim * _head.MAX_INTERIM + ok()) is not None


def _outcome(parse: Callable[[], tuple[_head.Head, bytes] | None]) -> object:
    try:
        parsed = parse()
    except httpx.RemoteProtocolError:
        return "error"
    if parsed is None:
        return None
    head, rest = parsed
    return (head.status, head.reason, head.headers, head.content_length, head.chunked, rest)


@_FUZZ
@given(st.one_of(responses(), hostile(), st.binary(max_size=64)))
def test_quick_head_agrees_with_the_incremental_parser(data: bytes) -> None:
    """Whatever the one-read fast path decides, HeadParser decides the same."""
    quick = _outcome(lambda: _head.quick_head(data, b"GET"))
    if quick is not None:
        assert quick == _outcome(lambda: _head.HeadParser(b"GET").feed(data))


# --- defect 6: chunked bodies decode in linear time -----------------------------------


def _chunked(total: int, size: int) -> bytes:
    piece = b"%x\r\n%b\r\n" % (size, b"d" * size)
    return piece * (total // len(piece))


def _decode_seconds(wire: bytes) -> float:
    head = _head.Head(200, b"OK", b"1.1", [], None, True, True)
    best = float("inf")
    for _ in range(3):  # best of three: the machine is shared
        reader = _framing.BodyReader(head)
        started = time.perf_counter()
        out = reader.feed(wire)
        best = min(best, time.perf_counter() - started)
        assert not reader.done
        assert len(out) < len(wire)
    return best


@pytest.mark.parametrize(
    ("size", "small", "large"),
    [(100, 256 * 1024, 2 * 1024 * 1024), (1, 64 * 1024, 512 * 1024)],
    ids=["sse-sized", "one-byte"],
)
def test_chunked_decoding_is_linear(size: int, small: int, large: int) -> None:
    """One read of many small chunks decodes in time linear in its size (8x bytes, not 64x time)."""
    ratio = _decode_seconds(_chunked(large, size)) / _decode_seconds(_chunked(small, size))
    assert ratio < 24  # linear: about 8; quadratic (before): 40 and more


def test_two_mib_of_small_chunks_decode_quickly() -> None:
    """A 2 MiB read of SSE-sized or 1-byte chunks decodes in well under a second each."""
    assert _decode_seconds(_chunked(2 * 1024 * 1024, 100)) < 1.0
    assert _decode_seconds(_chunked(2 * 1024 * 1024, 1)) < 3.0


# --- defect 7: parser strictness -------------------------------------------------------


def _parse(data: bytes) -> tuple[int, bytes]:
    parsed = _head.HeadParser(b"GET").feed(data)
    assert parsed is not None
    head, rest = parsed
    reader = _framing.BodyReader(head)
    body = reader.feed(rest)
    assert reader.done
    return head.status, body


_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "data",
    [
        _CHUNKED + b"2\rx\r\nhi\r\n0\r\n\r\n",  # bare CR in the size line
        _CHUNKED + b"2\x00\r\nhi\r\n0\r\n\r\n",  # NUL
        _CHUNKED + b'2;a="b\r\nhi\r\n0\r\n\r\n',  # unbalanced quote
        _CHUNKED + b"2;\r\nhi\r\n0\r\n\r\n",  # empty extension name
        _CHUNKED + b"2;a=\r\nhi\r\n0\r\n\r\n",  # empty extension value
        _CHUNKED + b"2\r\nhi\r\n0\r\nContent-Length: 5\r\n\r\n",  # framing in the trailer
        _CHUNKED + b"2\r\nhi\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/5.6 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    ],
    ids=[
        "bare-cr",
        "nul",
        "quote",
        "empty-ext",
        "empty-ext-value",
        "trailer-cl",
        "trailer-te",
        "http-5.6",
        "http-1.2",
        "http-2.0",
    ],
)
def test_smuggling_shapes_are_rejected(data: bytes) -> None:
    """Chunk lines, trailers and versions outside RFC 9112 raise RemoteProtocolError."""
    with pytest.raises(httpx.RemoteProtocolError):
        _parse(data)


@pytest.mark.parametrize(
    ("data", "body"),
    [
        (_CHUNKED + b'2;a="b;\\"c" ; d\r\nhi\r\n0\r\nX-T: 1\r\n\r\n', b"hi"),
        (_CHUNKED + b"2 \r\nhi\r\n0\r\n\r\n", b"hi"),
        (b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", b"hi"),
        (b"\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", b"hi"),
    ],
    ids=["quoted-ext", "trailing-space", "stray-crlf", "two-crlf"],
)
def test_valid_shapes_are_accepted(data: bytes, body: bytes) -> None:
    """Quoted chunk extensions and a stray CRLF before the status line (aiohttp) parse."""
    assert _parse(data) == (200, body)
