"""The lean HTTP/1.1 transport over TLS against a local server with trustme certificates."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator

import httpx
import pytest
import trustme

from losant_async._http11 import Http11Transport

pytestmark = pytest.mark.anyio

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


class TLSServer:
    """A threaded HTTPS server: answers every request, records SNI names and requests."""

    def __init__(self, cert: trustme.LeafCert, *, close_after: bool = False) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.ctx)
        self.server_names: list[str | None] = []
        self.ctx.sni_callback = self._record_sni
        self.requests: list[tuple[int, bytes]] = []
        self.handshake_errors = 0
        self.close_after = close_after
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept.start()

    def _record_sni(self, sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def _accept_loop(self) -> None:
        conn_id = 0
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn_id += 1
            thread = threading.Thread(target=self._serve, args=(sock, conn_id), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, raw: socket.socket, conn_id: int) -> None:
        raw.settimeout(5)
        try:
            sock = self.ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            self.handshake_errors += 1
            raw.close()
            return
        try:
            with sock, sock.makefile("rb") as f:
                while not self._stop.is_set():
                    head = b""
                    while (line := f.readline(65536)) not in (b"\r\n", b""):
                        head += line
                    if not head:
                        return
                    self.requests.append((conn_id, head.split(b"\r\n")[0]))
                    if self.close_after:
                        sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsecure to EOF")
                        return
                    sock.sendall(
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"7\r\nsecure \r\n5\r\nhello\r\n0\r\n\r\n"
                    )
        except OSError:
            return

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[TLSServer]:
    """An HTTPS server whose certificate covers localhost and 127.0.0.1."""
    server = TLSServer(ca.issue_cert("localhost", "127.0.0.1"))
    yield server
    server.close()


@pytest.fixture
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    """A verifying client context that trusts the throwaway CA."""
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


async def _get(t: Http11Transport, url: str) -> bytes:
    response = await t.handle_async_request(
        httpx.Request("GET", url, extensions={"timeout": TIMEOUTS})
    )
    try:
        return await response.aread()
    finally:
        await response.aclose()


async def test_good_certificate_keep_alive_and_sni(
    tls_server: TLSServer, client_ctx: ssl.SSLContext
) -> None:
    """A trusted certificate works, sends SNI, and the TLS connection is reused."""
    async with Http11Transport(verify=client_ctx) as t:
        url = f"https://localhost:{tls_server.port}/x"
        assert await _get(t, url) == b"secure hello"
        assert await _get(t, url) == b"secure hello"
    assert tls_server.requests == [(1, b"GET /x HTTP/1.1"), (1, b"GET /x HTTP/1.1")]
    assert tls_server.server_names == ["localhost"]


async def test_ip_address_certificate(tls_server: TLSServer, client_ctx: ssl.SSLContext) -> None:
    """A certificate for the IP address verifies when connecting by IP."""
    async with Http11Transport(verify=client_ctx) as t:
        assert await _get(t, f"https://127.0.0.1:{tls_server.port}/") == b"secure hello"


async def test_body_to_eof_over_tls(ca: trustme.CA, client_ctx: ssl.SSLContext) -> None:
    """A read-to-EOF body ends cleanly when the TLS server closes the connection."""
    server = TLSServer(ca.issue_cert("localhost"), close_after=True)
    try:
        async with Http11Transport(verify=client_ctx) as t:
            for _ in range(2):
                assert await _get(t, f"https://localhost:{server.port}/") == b"secure to EOF"
    finally:
        server.close()
    assert [conn for conn, _ in server.requests] == [1, 2]


async def test_default_verification_rejects_unknown_ca(tls_server: TLSServer) -> None:
    """With the default (certifi) trust store a self-made CA is refused before any request."""
    async with Http11Transport() as t:
        with pytest.raises(httpx.ConnectError, match=r"(?i)certificate"):
            await _get(t, f"https://localhost:{tls_server.port}/")
    assert tls_server.requests == []


async def test_hostname_mismatch_is_refused(ca: trustme.CA, client_ctx: ssl.SSLContext) -> None:
    """A trusted certificate for another name is refused, never silently accepted."""
    server = TLSServer(ca.issue_cert("other.example"))
    try:
        async with Http11Transport(verify=client_ctx) as t:
            with pytest.raises(httpx.ConnectError, match=r"(?i)hostname|match"):
                await _get(t, f"https://localhost:{server.port}/")
    finally:
        server.close()
    assert server.requests == []


async def test_plain_http_to_tls_port_fails_cleanly(tls_server: TLSServer) -> None:
    """Speaking plain HTTP to a TLS port is a transport error, not a hang."""
    async with Http11Transport() as t:
        with pytest.raises(httpx.TransportError):
            await _get(t, f"http://localhost:{tls_server.port}/")


async def test_verify_false_is_an_explicit_opt_out(tls_server: TLSServer) -> None:
    """verify=False connects to an untrusted server (the caller asked for it)."""
    async with Http11Transport(verify=False) as t:
        assert await _get(t, f"https://localhost:{tls_server.port}/") == b"secure hello"


def _close_during_handshake(*, read_hello: bool) -> tuple[socket.socket, threading.Thread]:
    """A listener that accepts, optionally reads the ClientHello, and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            sock, _ = listener.accept()  # the test makes one connection
        except OSError:
            return
        with sock:
            if read_hello:
                sock.settimeout(5)
                with contextlib.suppress(OSError):
                    sock.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize("read_hello", [True, False], ids=["after-hello", "at-once"])
async def test_server_closing_during_handshake_is_a_connect_error(
    client_ctx: ssl.SSLContext, read_hello: bool
) -> None:
    """A TLS server that hangs up mid-handshake gives httpx.ConnectError, never a bare error."""
    listener, thread = _close_during_handshake(read_hello=read_hello)
    port = listener.getsockname()[1]
    try:
        async with Http11Transport(verify=client_ctx) as t:
            with pytest.raises(httpx.ConnectError):
                await _get(t, f"https://localhost:{port}/")
    finally:
        listener.close()
        thread.join(5)


async def test_ssl_cert_file_is_honoured_on_the_direct_path(
    tls_server: TLSServer, ca: trustme.CA, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With verify=True a CA bundle named by SSL_CERT_FILE is trusted, as httpx does."""
    from pathlib import Path

    bundle = Path(str(tmp_path)) / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with Http11Transport() as t:
        assert await _get(t, f"https://localhost:{tls_server.port}/") == b"secure hello"
    async with Http11Transport(trust_env=False) as t:
        with pytest.raises(httpx.ConnectError, match=r"(?i)certificate"):
            await _get(t, f"https://localhost:{tls_server.port}/")
