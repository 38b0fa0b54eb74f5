"""The lean HTTP/1.1 transport: wire format, framing, pooling, errors, and a fuzz against h11.

A tiny blocking socket server runs in a thread on 127.0.0.1; each test gives
it a handler that sees the parsed request and writes raw response bytes, so
malformed and adversarial answers are as easy to send as good ones.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import socket
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator

import anyio
import h11
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losant_async._http11 import Http11Transport, _framing, _head, default_transport
from losant_async._http11._pool import Pool

pytestmark = pytest.mark.anyio

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


class Req:
    """One request as the server read it off the wire."""

    def __init__(self, conn_id: int, head: bytes, body: bytes) -> None:
        self.conn_id = conn_id
        self.head = head
        self.body = body
        lines = head.split(b"\r\n")[:-1]
        self.method, self.target, _ = lines[0].split(b" ")
        self.headers = [tuple(line.split(b": ", 1)) for line in lines[1:] if line]

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


Handler = Callable[[Req, socket.socket], bool]


def reply(data: bytes, *, keep: bool = True) -> Handler:
    """A handler that writes ``data`` and keeps the connection open or closes it."""

    def handler(req: Req, sock: socket.socket) -> bool:
        sock.sendall(data)
        return keep

    return handler


def _stall(req: Req, sock: socket.socket) -> bool:
    time.sleep(0.2)
    return False


def ok(body: bytes = b"hello", *, status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    """A Content-Length-framed response."""
    return b"HTTP/1.1 %b\r\nContent-Length: %d\r\n%b\r\n%b" % (status, len(body), extra, body)


def _read_request(reader: io.BufferedReader, conn_id: int) -> Req | None:
    head = b""
    while True:
        line = reader.readline(70000)
        if not line:
            return None
        head += line
        if line == b"\r\n":
            break
    req = Req(conn_id, head[:-2], b"")
    length = req.header(b"content-length")
    if req.header(b"transfer-encoding") == b"chunked":
        body = b""
        while True:
            size = int(reader.readline().strip(), 16)
            body += reader.read(size + 2)[:size]
            if size == 0:
                break
        req.body = body
    elif length is not None:
        req.body = reader.read(int(length))
    return req


class Server:
    """A threaded HTTP/1.1 test server whose responses are written by a handler."""

    def __init__(self, wrap: Callable[[socket.socket], socket.socket] | None = None) -> None:
        self.handler: Handler = reply(ok())
        self.requests: list[Req] = []
        self.connections = 0
        self.closed_connections = 0
        self.errors: list[Exception] = []
        self._wrap = wrap
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ids = itertools.count(1)
        self._accept = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        conn_id = next(self._ids)
        self.connections += 1
        try:
            sock.settimeout(10)
            if self._wrap is not None:
                sock = self._wrap(sock)
            with sock.makefile("rb") as f:
                while not self._stop.is_set():
                    req = _read_request(f, conn_id)
                    if req is None:
                        break
                    self.requests.append(req)
                    if not self.handler(req, sock):
                        break
        except Exception as exc:  # a client hanging up is part of several tests
            self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            self.closed_connections += 1

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def server() -> Iterator[Server]:
    """A fresh test server per test."""
    srv = Server()
    yield srv
    srv.close()


def request(
    method: str, url: str, timeouts: dict[str, float] | None = None, **kwargs: object
) -> httpx.Request:
    return httpx.Request(
        method,
        url,
        extensions={"timeout": timeouts or TIMEOUTS},
        **kwargs,  # type: ignore[arg-type]
    )


async def fetch(t: httpx.AsyncBaseTransport, req: httpx.Request) -> tuple[httpx.Response, bytes]:
    response = await t.handle_async_request(req)
    try:
        body = await response.aread()
    finally:
        await response.aclose()
    return response, body


def pool_of(t: Http11Transport) -> Pool:
    (pool,) = t._pools.values()
    return pool


# --- wire format --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "content"),
    [("GET", None), ("POST", b'{"a":1}'), ("PATCH", b'{"name":"x"}'), ("DELETE", None)],
)
async def test_methods_send_exact_wire_format(
    server: Server, method: str, content: bytes | None
) -> None:
    """Each method goes out as one exact HTTP/1.1 head (+ sized body); the answer comes back."""
    async with Http11Transport() as t:
        req = request(
            method,
            server.url + "/applications/abc?_actions=false&x=%20y",
            headers={"Authorization": "Bearer t", "Accept": "application/json"},
            content=content,
        )
        response, body = await fetch(t, req)
    assert (response.status_code, body, response.reason_phrase) == (200, b"hello", "OK")
    assert response.http_version == "HTTP/1.1"
    assert response.headers["content-length"] == "5"
    (seen,) = server.requests
    wire = (
        f"{method} /applications/abc?_actions=false&x=%20y HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Authorization: Bearer t\r\nAccept: application/json\r\n"
    ).encode()
    if content is not None:
        wire += b"Content-Length: %d\r\n" % len(content)
    assert seen.head == wire
    assert seen.body == (content or b"")


async def _chunks() -> AsyncIterator[bytes]:
    for part in (b"one,", b"", b"two,", b"three"):
        yield part


async def test_streamed_body_is_sent_chunked(server: Server) -> None:
    """A request body from an async iterator without a length goes out chunked."""
    async with Http11Transport() as t:
        await fetch(t, request("POST", server.url, content=_chunks()))
    (seen,) = server.requests
    assert seen.header(b"transfer-encoding") == b"chunked"
    assert seen.body == b"one,two,three"


async def test_multipart_file_stream_is_sent_with_length(server: Server, tmp_path: object) -> None:
    """A multipart upload streams its file with the Content-Length httpx computed."""
    path = tmp_path / "bundle.zip"  # type: ignore[operator]
    path.write_bytes(b"PK" + bytes(range(256)) * 300)
    async with Http11Transport() as t:
        with path.open("rb") as f:
            req = request(
                "POST",
                server.url,
                files={"bundle": ("bundle.zip", f, "application/zip")},
                data={"email": "true"},
            )
            assert "content-length" in req.headers
            response, _ = await fetch(t, req)
    assert response.status_code == 200
    (seen,) = server.requests
    assert len(seen.body) == int(seen.header(b"content-length") or 0)
    assert b"PK" + bytes(range(256)) * 300 in seen.body
    assert b'name="email"\r\n\r\ntrue' in seen.body


# --- response framing -----------------------------------------------------------


def _send_parts(*parts: bytes, close: bool = False) -> Handler:
    def handler(req: Req, sock: socket.socket) -> bool:
        for part in parts:
            sock.sendall(part)
            time.sleep(0.005)
        return not close

    return handler


@pytest.mark.parametrize(
    ("parts", "close", "reused"),
    [
        ((ok(b"x" * 1500),), False, True),
        (
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                b"lo\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
            ),
            False,
            True,
        ),
        ((b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", b" world"), True, False),
        ((b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\nhello world",), True, False),
        ((b"HTTP/1.1 100 Continue\r\n\r\n", ok(b"hello world")), False, True),
    ],
    ids=["content-length", "chunked", "eof", "http10", "interim-1xx"],
)
async def test_body_framings(
    server: Server, parts: tuple[bytes, ...], close: bool, reused: bool
) -> None:
    """Sized, chunked (extensions, trailers) and to-EOF bodies arrive whole; reuse as allowed."""
    server.handler = _send_parts(*parts, close=close)
    async with Http11Transport() as t:
        for _ in range(2):
            response, body = await fetch(t, request("GET", server.url))
            assert body == (b"x" * 1500 if parts[0].endswith(b"x" * 1500) else b"hello world")
        assert response.status_code == 200
    assert [r.conn_id for r in server.requests] == ([1, 1] if reused else [1, 2])


async def test_head_and_204_have_no_body(server: Server) -> None:
    """HEAD, 204 and 304 answers end at their head whatever Content-Length says."""

    def handler(req: Req, sock: socket.socket) -> bool:
        if req.method == b"HEAD":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        else:
            sock.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        return True

    server.handler = handler
    async with Http11Transport() as t:
        for method in ("HEAD", "DELETE", "HEAD"):
            _, body = await fetch(t, request(method, server.url))
            assert body == b""
    assert [r.conn_id for r in server.requests] == [1, 1, 1]


# --- keep-alive and the pool -----------------------------------------------------


async def test_keep_alive_reuses_one_socket(server: Server) -> None:
    """Sequential requests share one connection, which sits idle in the pool between them."""
    async with Http11Transport() as t:
        for _ in range(3):
            await fetch(t, request("GET", server.url))
        pool = pool_of(t)
        assert (pool.count, len(pool.idle), len(pool.active)) == (1, 1, 0)
    assert [r.conn_id for r in server.requests] == [1, 1, 1]
    assert server.connections == 1


async def test_connection_released_when_body_is_complete(server: Server) -> None:
    """A connection whose body arrived in full is reusable before the response is closed."""
    async with Http11Transport(max_connections=1) as t:
        first = await t.handle_async_request(request("GET", server.url))
        second = await t.handle_async_request(request("GET", server.url))
        assert await first.aread() == await second.aread() == b"hello"
        await first.aclose()
        await second.aclose()
    assert [r.conn_id for r in server.requests] == [1, 1]


async def test_idle_connection_closed_by_server_is_replaced(server: Server) -> None:
    """An idle connection the server has since closed is not used; a new one is opened."""
    server.handler = reply(ok(), keep=False)
    async with Http11Transport() as t:
        await fetch(t, request("GET", server.url))
        for _ in range(200):  # bounded wait for the server's close to land
            if server.closed_connections:
                break
            await anyio.sleep(0.005)
        await anyio.sleep(0.01)
        _, body = await fetch(t, request("POST", server.url, content=b"again"))
    assert body == b"hello"
    assert [r.conn_id for r in server.requests] == [1, 2]


def _hang_up_on_second_request() -> Handler:
    seen: set[int] = set()

    def handler(req: Req, sock: socket.socket) -> bool:
        if req.conn_id in seen:
            return False  # read the request, then close without a byte of response
        seen.add(req.conn_id)
        sock.sendall(ok())
        return True

    return handler


async def test_reused_connection_closed_after_request_is_not_resent(server: Server) -> None:
    """A reused connection closed after the request was written is an error, never a resend."""
    server.handler = _hang_up_on_second_request()
    async with Http11Transport() as t:
        await fetch(t, request("GET", server.url))
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await fetch(t, request("POST", server.url, content=b"payload"))
    assert [(r.conn_id, r.body) for r in server.requests] == [(1, b""), (1, b"payload")]


async def test_stale_connection_not_retried_for_streamed_body(server: Server) -> None:
    """A body that cannot be replayed is not re-sent: the hang-up is a RemoteProtocolError."""
    server.handler = _hang_up_on_second_request()
    async with Http11Transport() as t:
        await fetch(t, request("GET", server.url))
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await fetch(t, request("POST", server.url, content=_chunks()))
        assert pool_of(t).count == 0
    assert len(server.requests) == 2


async def test_fresh_connection_closed_without_response_is_an_error(server: Server) -> None:
    """A new connection closed before any answer is not retried."""
    server.handler = lambda req, sock: False
    async with Http11Transport() as t:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await fetch(t, request("GET", server.url))
    assert len(server.requests) == 1


def _stream_blocks(server: Server, gate: threading.Event, blocks: list[bytes]) -> Handler:
    def handler(req: Req, sock: socket.socket) -> bool:
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for block in blocks:
            gate.clear()
            sock.sendall(b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in block.split(b"|")))
            for _ in range(500):  # bounded: 5 s, or until the server stops
                if gate.wait(0.01) or server.stopping:
                    break
            if not gate.is_set():
                return False
        sock.sendall(b"0\r\n\r\n")
        return True

    return handler


async def test_stream_delivered_one_block_per_network_read(server: Server) -> None:
    """Each network read reaches the caller as one de-chunked block, however many chunks it held."""
    gate = threading.Event()
    server.handler = _stream_blocks(server, gate, [b"a|b|c", b"data: 1\n\n", b"x" * 3000])
    got: list[bytes] = []
    async with Http11Transport() as t:
        response = await t.handle_async_request(request("GET", server.url))
        server.handler = reply(ok())
        async for block in response.aiter_raw():
            got.append(block)
            gate.set()
        await response.aclose()
        await fetch(t, request("GET", server.url))
    assert got == [b"abc", b"data: 1\n\n", b"x" * 3000]
    assert [r.conn_id for r in server.requests] == [1, 1]


async def test_cancel_mid_body_discards_the_connection(server: Server) -> None:
    """Cancelling a read mid-body closes that connection and leaves the pool usable."""
    gate = threading.Event()
    server.handler = _stream_blocks(server, gate, [b"first", b"never"])
    async with Http11Transport(max_connections=1) as t:
        response = await t.handle_async_request(request("GET", server.url))
        stream = response.aiter_raw()
        assert await stream.__anext__() == b"first"
        with anyio.move_on_after(0.1) as scope:
            await stream.__anext__()
        assert scope.cancelled_caught
        pool = pool_of(t)
        assert (pool.count, pool.idle, pool.active) == (0, [], set())
        server.handler = reply(ok())
        _, body = await fetch(t, request("GET", server.url))
        await response.aclose()
        gate.set()
    assert body == b"hello"
    assert [r.conn_id for r in server.requests] == [1, 2]


async def test_closing_unread_response_discards_the_connection(server: Server) -> None:
    """A response closed before its body was read closes its connection instead of reusing it."""
    server.handler = _send_parts(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
    async with Http11Transport() as t:
        response = await t.handle_async_request(request("GET", server.url))
        await response.aclose()
        assert pool_of(t).count == 0


async def test_aclose_closes_idle_and_active_connections(server: Server) -> None:
    """Closing the transport closes every connection and refuses new requests."""
    gate = threading.Event()
    server.handler = _stream_blocks(server, gate, [b"first"])
    t = Http11Transport()
    response = await t.handle_async_request(request("GET", server.url))
    await t.aclose()
    with pytest.raises(httpx.ReadError):
        await response.aread()
    with pytest.raises(RuntimeError, match="closed"):
        await t.handle_async_request(request("GET", server.url))
    gate.set()


async def test_pool_limit_and_pool_timeout(server: Server) -> None:
    """Past max_connections a request waits for a free one, or raises PoolTimeout."""
    gate = threading.Event()
    server.handler = _stream_blocks(server, gate, [b"first"])
    async with Http11Transport(max_connections=1) as t:
        held = await t.handle_async_request(request("GET", server.url))
        server.handler = reply(ok())
        with pytest.raises(httpx.PoolTimeout):
            await t.handle_async_request(request("GET", server.url, {**TIMEOUTS, "pool": 0.1}))
        async with anyio.create_task_group() as tg:
            results: list[bytes] = []

            async def waiter() -> None:
                results.append((await fetch(t, request("GET", server.url)))[1])

            tg.start_soon(waiter)
            await anyio.sleep(0.05)
            assert results == []
            gate.set()
            assert await held.aread() == b"first"
            await held.aclose()
        assert results == [b"hello"]
    assert server.connections == 1


# --- errors --------------------------------------------------------------------


async def test_read_timeout(server: Server) -> None:
    """No answer within the read timeout raises httpx.ReadTimeout and drops the connection."""
    server.handler = _stall
    async with Http11Transport() as t:
        with pytest.raises(httpx.ReadTimeout):
            await fetch(t, request("GET", server.url, {**TIMEOUTS, "read": 0.05}))
        assert pool_of(t).count == 0


async def test_write_timeout(server: Server) -> None:
    """A server that stops reading makes a large upload raise httpx.WriteTimeout."""
    server.handler = lambda req, sock: False
    stop_reading = threading.Event()

    def stall(req: Req, sock: socket.socket) -> bool:
        stop_reading.wait(2)
        return False

    server.handler = stall
    original = _read_request

    async def body() -> AsyncGenerator[bytes, None]:
        for _ in range(64):
            yield b"x" * (1024 * 1024)

    # the server reads only the head (it never returns from the handler)
    globals()["_read_request"] = lambda f, cid: Req(cid, b"POST / HTTP/1.1\r\n", b"")
    content = body()
    try:
        async with Http11Transport() as t:
            with pytest.raises(httpx.WriteTimeout):
                await fetch(
                    t, request("POST", server.url, {**TIMEOUTS, "write": 0.2}, content=content)
                )
    finally:
        await content.aclose()
        globals()["_read_request"] = original
        stop_reading.set()


async def test_connect_error() -> None:
    """A refused connection raises httpx.ConnectError."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with Http11Transport() as t:
        with pytest.raises(httpx.ConnectError):
            await fetch(t, request("GET", f"http://127.0.0.1:{port}/"))
        assert pool_of(t).count == 0


async def test_unsupported_scheme() -> None:
    """A scheme other than http/https raises httpx.UnsupportedProtocol."""
    async with Http11Transport() as t:
        with pytest.raises(httpx.UnsupportedProtocol):
            await t.handle_async_request(request("GET", "ftp://127.0.0.1/"))


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", "too large|too long"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 300 + b"Content-Length: 0\r\n\r\n", "too many"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", "too long"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", "conflicting"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "chunked"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "complete message body"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100, "max_body_size"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + b"x" * 64 + b"\r\n",
            "max_body_size",
        ),
        (b"garbage\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 OK\r\nContent", "mid-header"),
    ],
    ids=[
        "header-size",
        "header-count",
        "line-length",
        "content-length",
        "te",
        "chunk",
        "eof",
        "body-size",
        "chunked-size",
        "status",
        "eof-head",
    ],
)
async def test_limits_and_malformed_responses(server: Server, response: bytes, match: str) -> None:
    """Oversized or malformed answers raise httpx.RemoteProtocolError and drop the connection."""
    server.handler = reply(response, keep=False)
    async with Http11Transport(max_body_size=50) as t:
        with pytest.raises(httpx.RemoteProtocolError, match=match):
            await fetch(t, request("GET", server.url))
        assert pool_of(t).count == 0


async def test_early_response_to_upload_is_read(server: Server) -> None:
    """A server that answers 413 and hangs up mid-upload still yields its 413."""

    def refuse(req: Req, sock: socket.socket) -> bool:
        sock.sendall(
            ok(b"too large", status=b"413 Payload Too Large", extra=b"Connection: close\r\n")
        )
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.05)
        return False

    original = _read_request
    globals()["_read_request"] = lambda f, cid: Req(cid, b"POST / HTTP/1.1\r\n", b"")

    async def body() -> AsyncGenerator[bytes, None]:
        for _ in range(32):
            yield b"x" * (1024 * 1024)
            await anyio.sleep(0.01)

    server.handler = refuse
    upload = body()
    try:
        async with Http11Transport() as t:
            response, content = await fetch(t, request("POST", server.url, content=upload))
    finally:
        await upload.aclose()
        globals()["_read_request"] = original
    assert (response.status_code, content) == (413, b"too large")


async def test_header_injection_is_refused(server: Server) -> None:
    """A header value with CR/LF never reaches the wire."""
    req = request("GET", server.url)
    req.headers["X-Evil"] = "a\r\nInjected: 1"
    async with Http11Transport() as t:
        with pytest.raises(httpx.LocalProtocolError):
            await t.handle_async_request(req)
    assert server.requests == []


def test_default_transport_picks() -> None:
    """The factory returns the lean transport unless an option needs httpx's own."""
    assert isinstance(default_transport(), Http11Transport)
    lean = default_transport(limits=httpx.Limits(max_connections=7, keepalive_expiry=1.0))
    assert isinstance(lean, Http11Transport)
    assert (lean._max_connections, lean._expiry) == (7, 1.0)
    for fallback in (
        default_transport(http2=True),
        default_transport(proxy="http://127.0.0.1:1"),
        default_transport(uds="/tmp/x.sock"),
    ):
        assert type(fallback) is httpx.AsyncHTTPTransport


# --- differential fuzz against h11 ------------------------------------------------

_TOKEN = st.text(alphabet="abcXYZ-_!#09", min_size=1, max_size=8)
_VALUE = st.text(alphabet="ab c\t;,=\x7f\xe9", max_size=12).map(lambda s: s.encode("latin-1"))


def _h11_parse(chunks: list[bytes], method: bytes) -> tuple[object, ...]:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=1 << 20)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    head: h11.Response | None = None
    body = b""
    try:
        for chunk in [*chunks, b""]:
            conn.receive_data(chunk)
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    break
                if isinstance(event, h11.Response):
                    head = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    assert head is not None
                    return (
                        "ok",
                        head.status_code,
                        head.reason,
                        head.http_version,
                        list(head.headers.raw_items()),
                        body,
                        # a body that ended only at EOF leaves nothing to reuse
                        conn.their_state is h11.DONE and chunk != b"",
                    )
                elif isinstance(event, h11.ConnectionClosed):
                    return ("error",)
    except h11.RemoteProtocolError:
        return ("error",)
    return ("error",)


def _our_parse(chunks: list[bytes], method: bytes) -> tuple[object, ...]:
    buf = b""
    reader: _framing.BodyReader | None = None
    body = b""
    try:
        for chunk in chunks:
            if reader is None:
                buf += chunk
                parsed = _head.parse_head(buf, method)
                if parsed is None:
                    continue
                head, used = parsed
                reader = _framing.BodyReader(head)
                chunk = buf[used:]
            body += reader.feed(chunk)
            if reader.done:
                break
        if reader is None:
            return ("error",)
        reader.feed_eof()
    except httpx.RemoteProtocolError:
        return ("error",)
    # keep_alive is h11's verdict; head.reusable also refuses TE + CL (smuggling)
    return ("ok", head.status, head.reason, head.http_version, head.headers, body, head.keep_alive)


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """A well-formed (if unusual) HTTP/1.x response."""
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    lines = [
        b"HTTP/1.%d %d"
        % (draw(st.integers(0, 1)), draw(st.sampled_from([200, 201, 202, 204, 304, 404, 503])))
    ]
    if draw(st.booleans()):
        lines[0] += b" " + draw(_VALUE)
    if draw(st.booleans()):
        lines[0] = lines[0][:9] + b"100 Continue" + eol + eol + lines[0]
    for name in draw(st.lists(_TOKEN, max_size=4)):
        lines.append(
            name.encode() + b":" + draw(st.sampled_from([b"", b" ", b"\t "])) + draw(_VALUE)
        )
        if draw(st.integers(0, 5)) == 0:
            lines.append(b" folded " + draw(_VALUE))
    body = draw(st.binary(max_size=40))
    framing = draw(st.sampled_from(["length", "chunked", "eof", "connection-close"]))
    tail = body
    if framing == "length":
        lines.append(b"Content-Length: %d" % len(body))
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"chunked", b"Chunked"])))
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True) if b > a]
        ext = draw(st.sampled_from([b"", b";x=1", b" "]))
        tail = b"".join(b"%x%b\r\n%b\r\n" % (len(p), ext, p) for p in pieces) + b"0\r\n"
        tail += draw(st.sampled_from([b"", b"X-T: 1\r\n", b"X-T: 1\n"])) + b"\r\n"
    elif framing == "connection-close":
        lines.append(b"Connection: close")
    return eol.join(lines) + eol + eol + tail


def _splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]


_FUZZ = settings(
    max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@_FUZZ
@given(responses(), st.lists(st.integers(0, 200), max_size=4), st.sampled_from([b"GET", b"HEAD"]))
def test_parser_agrees_with_h11_on_valid_responses(
    data: bytes, cuts: list[int], method: bytes
) -> None:
    """On valid responses, split anywhere, our parser returns exactly what h11 does."""
    chunks = _splits(data, cuts)
    theirs = _h11_parse(chunks, method)
    assert theirs[0] == "ok"
    assert _our_parse(chunks, method) == theirs


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    """A valid response mutated: bytes inserted, dropped, replaced, or truncated."""
    data = bytearray(draw(responses()))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "dup-header"]))
        at = draw(st.integers(0, len(data)))
        if op == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b"\r",
                        b"\n",
                        b"\r\n",
                        b" ",
                        b"\t",
                        b":",
                        b"\x00",
                        b"0",
                        b";",
                        b"\r\n\r\n",
                        b"Content-Length: 3\r\n",
                        b"Transfer-Encoding: chunked\r\n",
                        b"ffffffffffffffffffffff\r\n",
                    ]
                )
            )
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 4))]
        elif op == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[at:]
        else:
            idx = data.find(b"\n")
            if idx >= 0:
                data[idx + 1 : idx + 1] = draw(
                    st.sampled_from(
                        [
                            b"Content-Length: 0\r\n",
                            b"Content-Length: 7, 7\r\n",
                            b"Content-Length: 1, 2\r\n",
                            b"Content-Length: 3\r\nContent-Length: 4\r\n",
                            b"Connection: close\r\n",
                            b"Transfer-Encoding: chunked\r\n",
                            b" cont\r\n",
                            b"Bad Name: x\r\n",
                        ]
                    )
                )
    return bytes(data)


@_FUZZ
@given(
    st.one_of(hostile(), st.binary(max_size=64)),
    st.lists(st.integers(0, 200), max_size=4),
    st.sampled_from([b"GET", b"HEAD"]),
)
def test_parser_agrees_with_h11_on_hostile_input(
    data: bytes, cuts: list[int], method: bytes
) -> None:
    """On mutated or random bytes we accept what h11 accepts, with its result (101 aside)."""
    chunks = _splits(data, cuts)
    ours = _our_parse(chunks, method)
    theirs = _h11_parse(chunks, method)
    if ours != theirs and b" 101" in data:
        assert ours == ("error",)  # we never asked to switch protocols
        return
    if ours != theirs:
        # Where we follow RFC 9112 / llhttp rather than h11 (issue 11, defect 7),
        # the difference must be those rules alone.
        with _h11_rules():
            assert _our_parse(chunks, method) == theirs
        return
    assert ours == theirs


@contextlib.contextmanager
def _h11_rules() -> Iterator[None]:
    """The parser with h11's rules where ours are deliberately different."""
    saved = (
        _framing._CHUNK_RE,
        _head._VERSIONS,
        _framing._TRAILER_FORBIDDEN,
        _head._SKIP_BLANK_LINES,
    )
    # h11: chunk-ext is ";.*"; any "HTTP/d.d"; any trailer; no blank line skipped.
    _framing._CHUNK_RE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;.*)?[ \t]*\r\n")
    _head._VERSIONS = frozenset(b"%d.%d" % (a, b) for a in range(10) for b in range(10))
    _framing._TRAILER_FORBIDDEN = frozenset()
    _head._SKIP_BLANK_LINES = False
    try:
        yield
    finally:
        (
            _framing._CHUNK_RE,
            _head._VERSIONS,
            _framing._TRAILER_FORBIDDEN,
            _head._SKIP_BLANK_LINES,
        ) = saved


async def test_both_te_and_content_length_is_not_reused(server: Server) -> None:
    """A response with both Transfer-Encoding and Content-Length is read chunked, then dropped."""
    server.handler = reply(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    )
    async with Http11Transport() as t:
        for _ in range(2):
            _, body = await fetch(t, request("GET", server.url))
            assert body == b"hello"
    assert [r.conn_id for r in server.requests] == [1, 2]


async def test_keepalive_expiry_closes_old_idle_connections(server: Server) -> None:
    """An idle connection older than keepalive_expiry is closed instead of reused."""
    async with Http11Transport(keepalive_expiry=0.0) as t:
        for _ in range(2):
            await fetch(t, request("GET", server.url))
    assert [r.conn_id for r in server.requests] == [1, 2]
