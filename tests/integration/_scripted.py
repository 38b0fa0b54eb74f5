"""A tiny scripted HTTP/1.1 server on 127.0.0.1, in the test's own event loop (asyncio or trio).

For behaviour the local Losant does not serve (yet): pages of 10,000 items,
a 50 MB download, an SSE stream that restarts. A handler gets each request
and writes the raw answer itself; the server counts requests in flight and
keeps every request's headers.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

import anyio
import anyio.abc
import attrs

__all__ = ["Request", "Scripted", "json_head", "scripted_server"]

_MAX_HEAD = 64 * 1024


@attrs.frozen
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes


# handler(request, stream) -> keep the connection open afterwards?
Handler = Callable[[Request, anyio.abc.ByteStream], Awaitable[bool]]


def json_head(status: int, length: int, *, extra: str = "") -> bytes:
    reason = {200: "OK", 202: "Accepted", 404: "Not Found", 500: "Internal Server Error"}
    return (
        f"HTTP/1.1 {status} {reason.get(status, 'Status')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


async def send_json(stream: anyio.abc.ByteStream, status: int, body: object) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    await stream.send(json_head(status, len(data)) + data)


@attrs.define
class Scripted:
    """What the server saw: requests, the peak of requests in flight."""

    base_url: str = ""
    requests: list[Request] = attrs.field(factory=list)
    in_flight: int = 0
    peak: int = 0
    connections: int = 0
    stop: anyio.Event = attrs.field(factory=anyio.Event)
    _conns: list[anyio.abc.ByteStream] = attrs.field(factory=list)

    async def drop_all(self) -> None:
        """Close every open connection (a server restart, as clients see it)."""
        conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.aclose()


async def _read_request(stream: anyio.abc.ByteStream, buffer: bytearray) -> Request | None:
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _MAX_HEAD:
            return None
        try:
            chunk = await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        try:
            rest += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return None
    buffer[:] = rest[length:]
    url = urlsplit(target)
    return Request(method, url.path, dict(parse_qsl(url.query)), headers, rest[:length])


@contextlib.asynccontextmanager
async def scripted_server(handler: Handler) -> AsyncIterator[Scripted]:
    """Serve ``handler`` on 127.0.0.1 until the block ends."""
    seen = Scripted()
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    seen.base_url = f"http://127.0.0.1:{port}"

    async def serve(stream: anyio.abc.SocketStream) -> None:
        seen.connections += 1
        seen._conns.append(stream)
        buffer = bytearray()
        async with stream:
            while True:
                request = await _read_request(stream, buffer)
                if request is None:
                    return
                seen.requests.append(request)
                seen.in_flight += 1
                seen.peak = max(seen.peak, seen.in_flight)
                try:
                    keep = await handler(request, stream)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                    return
                finally:
                    seen.in_flight -= 1
                if not keep:
                    return

    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, serve)
        try:
            yield seen
        finally:
            tasks.cancel_scope.cancel()
