"""A fast canned-response HTTP/1.1 server for the benchmarks (stdlib only).

Run as a separate process (``run.py`` starts it, pinned to one core where
``taskset`` exists)::

    python benchmarks/_server.py [--lifetime SECONDS]

It prints its port on the first line of stdout, serves only 127.0.0.1, and
exits after ``--lifetime`` seconds, on SIGINT/SIGTERM, or (``--watch-stdin``,
as ``run.py`` starts it) when its stdin closes because the parent went away.
Every answer is pre-rendered bytes:

- ``GET /applications/<id>``: a ~1.5 KB Application JSON (keep-alive, or
  closed after the answer when the request says ``Connection: close``);
- ``GET /applications/<id>/importLogs``: a page of 25 import executions;
- ``GET /applications/<id>/search``: 50 search result items;
- ``GET /applications/<id>/devices``: a page of 100 devices (``Devices``);
- ``GET /applications/<id>/mqttSubscriptionStream``: ``event: mqttMessage``
  SSE events, chunked, written in 64 KiB blocks, then the stream ends and the
  connection closes. The number of events is the application id read as hex
  (``f"{n:024x}"``); the id ``ffffffffffffffffffffffff`` instead sends one
  event and holds the stream open (a keep-alive comment every second) until
  the client leaves.

The payloads are built from ``shared/spec/schemas`` and the reference page's
examples; ``run.py`` and the drivers import them from here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Final

APP_ID: Final = "575ec8687ae143cd83dc4a97"
HOLD_APP_ID: Final = "f" * 24
TOPIC: Final = "devices/+/state"
_MAX_EVENTS: Final = 50_000_000
_BLOCK_EVENTS: Final = 1000
_CHUNK: Final = 64 * 1024
_MAX_HEAD: Final = 64 * 1024


def stream_app_id(events: int) -> str:
    """The application id whose stream sends exactly ``events`` events."""
    if not 0 < events <= _MAX_EVENTS:
        raise ValueError(f"events must be in 1..{_MAX_EVENTS}")
    return f"{events:024x}"


def _oid(n: int) -> str:
    return f"5a1b{n:020x}"


def application() -> dict[str, object]:
    """A realistic Application as ``GET /applications/{id}`` returns it."""
    counts = {
        "apiTokenCount": 3,
        "certificateCount": 0,
        "certificateAuthorityCount": 0,
        "credentialCount": 2,
        "dashCount": 4,
        "dataTableCount": 2,
        "deviceCount": 128,
        "deviceRecipeCount": 3,
        "eventCount": 17,
        "experienceDomainCount": 0,
        "experienceEndpointCount": 12,
        "experienceGroupCount": 2,
        "experienceSlugCount": 1,
        "experienceUserCount": 40,
        "experienceVersionCount": 2,
        "experienceViewCount": 9,
        "fileCount": 31,
        "flowCount": 14,
        "integrationCount": 1,
        "keyCount": 5,
        "notebookCount": 1,
        "privateFileCount": 0,
        "resourceJobCount": 1,
        "webhookCount": 2,
    }
    return {
        "id": APP_ID,
        "applicationId": APP_ID,
        "creationDate": "2016-06-13T04:00:00.000Z",
        "lastUpdated": "2024-03-02T17:41:12.123Z",
        "ownerId": "575ed70c7ae143cd83dc4aa9",
        "ownerType": "organization",
        "organizationName": "Acme Industrial",
        "name": "Cold Chain Monitoring",
        "description": "Temperature and door sensors for the refrigerated fleet.",
        "endpointSlug": "cold-chain",
        "expUserTokenCutoff": "2023-11-01T00:00:00.000Z",
        "endpointDefaultCors": True,
        "appliedTemplateIds": ["5f0c7a1e4b2f3a0012345678"],
        "globals": [
            {"key": "alertThreshold", "json": "8", "cloudOnly": False},
            {
                "key": "notifyEmails",
                "json": '["ops@example.com","fleet@example.com"]',
                "cloudOnly": True,
                "description": "Who gets the alerts",
            },
        ],
        "blobUrlTTL": 86400,
        "summary": {
            **counts,
            "payloadCount": {
                "deviceState": {"mqtt": 182044, "rest": 2210},
                "deviceConnect": {"mqtt": 431},
                "timer": {"timer": 8640},
            },
            "storageStats": {"count": 31, "size": 5242880},
            "notebookStats": {
                "awaitingCompletion": 0,
                "minutesThisPeriod": 12,
                "runsThisPeriod": 4,
            },
        },
        "ftueTracking": [{"name": "gettingStarted", "version": 2, "status": "completed"}],
        "archiveConfig": {
            "directory": "cold-chain",
            "mode": "all",
            "includeDevices": True,
            "includeEvents": False,
            "includeDataTables": False,
        },
        "_links": {"self": {"href": f"/applications/{APP_ID}"}},
    }


def import_logs_page(size: int = 25) -> list[dict[str, object]]:
    """A page of import executions as ``GET .../importLogs?limit=25`` returns it."""
    return [
        {
            "id": _oid(i),
            "importSourceType": "importBundle" if i % 3 else "importUrl",
            "importExecutionId": _oid(1000 + i),
            "applicationId": APP_ID,
            "runQueuedAt": f"2024-03-{1 + i % 28:02d}T10:00:00.000Z",
            "runStartedAt": f"2024-03-{1 + i % 28:02d}T10:00:01.250Z",
            "runCompletedAt": f"2024-03-{1 + i % 28:02d}T10:00:09.900Z",
            "status": "completed" if i % 5 else "errored",
            "dryRun": False,
            "conflictBehavior": "replace",
            "email": "ops@example.com",
            "include": ["Flow", "Device", "Dashboard"],
            "jobId": f"job{i:018d}",
            "sourceId": "575ed70c7ae143cd83dc4aa9",
            "sourceType": "user",
            "importedFileUrl": f"https://files.onlosant.com/imports/{_oid(i)}.zip",
        }
        for i in range(size)
    ]


def search_result(size: int = 50) -> list[dict[str, object]]:
    """Search result items as ``GET .../search?filter=...`` returns them."""
    kinds = ("device", "flow", "dashboard", "experienceView", "file")
    return [
        {
            "id": _oid(5000 + i),
            "name": f"Cooler {i:03d}",
            "_type": kinds[i % len(kinds)],
            **({"deviceClass": "cloud"} if i % 5 == 0 else {}),
            **({"flowClass": "standalone"} if i % 5 == 1 else {}),
            **({"viewType": "page"} if i % 5 == 3 else {}),
            **(
                {"metadata": {"parentDirectory": "/img/", "contentType": "image/png"}}
                if i % 5 == 4
                else {}
            ),
        }
        for i in range(size)
    ]


def devices_page(size: int = 100) -> dict[str, object]:
    """A ``Devices`` page as ``GET .../devices`` returns it (shaped as the reference example)."""
    items = [
        {
            "id": _oid(9000 + i),
            "deviceId": _oid(9000 + i),
            "applicationId": APP_ID,
            "creationDate": f"2024-02-{1 + i % 28:02d}T04:00:00.000Z",
            "lastUpdated": f"2024-03-{1 + i % 28:02d}T04:00:00.000Z",
            "name": f"Cooler {i:03d}",
            "description": "A walk-in cooler",
            "deviceClass": "standalone" if i % 4 else "gateway",
            "tags": [{"key": "floor", "value": str(1 + i % 9)}, {"key": "site", "value": "north"}],
            "attributes": [
                {"name": "temperature", "dataType": "number"},
                {"name": "door", "dataType": "boolean"},
                {"name": "location", "dataType": "gps", "description": "where it stands"},
            ],
            "connectionInfo": {"connected": i % 2, "time": "2024-03-14T08:15:00.000Z"},
            "parentId": None,
        }
        for i in range(size)
    ]
    return {
        "applicationId": APP_ID,
        "count": size,
        "items": items,
        "page": 0,
        "perPage": size,
        "sortDirection": "asc",
        "sortField": "name",
        "totalCount": 4 * size,
    }


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


APPLICATION_JSON: Final = _compact(application())
IMPORT_LOGS_JSON: Final = _compact(import_logs_page())
SEARCH_JSON: Final = _compact(search_result())
DEVICES_JSON: Final = _compact(devices_page())


def _sse_events(first: int, count: int) -> bytes:
    parts = []
    for i in range(first, first + count):
        data = _compact(
            {
                "topic": f"devices/{_oid(i % 64)}/state",
                "message": json.dumps({"data": {"temperature": 2 + i % 7, "door": i % 2 == 0}}),
            }
        ).decode()
        parts.append(f"event: mqttMessage\ndata: {data}\n\n")
    parts.append(": keep-alive\n\n")
    return "".join(parts).encode()


def _chunked(body: bytes) -> bytes:
    return b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + _CHUNK]), body[i : i + _CHUNK])
        for i in range(0, len(body), _CHUNK)
    )


def _response(status: bytes, body: bytes, *, close: bool) -> bytes:
    conn = b"close" if close else b"keep-alive"
    return (
        b"HTTP/1.1 %s\r\ncontent-type: application/json; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: %s\r\n\r\n%s" % (status, len(body), conn, body)
    )


_SSE_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
_BLOCK: Final = _chunked(_sse_events(0, _BLOCK_EVENTS))
_ONE_EVENT: Final = _chunked(_sse_events(0, 1))
_KEEP_ALIVE: Final = _chunked(b": keep-alive\n\n")
_BODIES: Final = {
    b"": APPLICATION_JSON,
    b"importLogs": IMPORT_LOGS_JSON,
    b"search": SEARCH_JSON,
    b"devices": DEVICES_JSON,
}
_HEX = frozenset(b"0123456789abcdefABCDEF")


_LIVE: set[_Http] = set()


class _Http(asyncio.Protocol):
    """One connection: parse request heads, answer from the canned bytes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.streaming = False
        self.lost = False
        self.can_write = asyncio.Event()
        self.can_write.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        _LIVE.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.can_write.set()
        _LIVE.discard(self)

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def data_received(self, data: bytes) -> None:
        if self.streaming:
            return
        self.buf += data
        for _ in range(1000):  # pipelined requests, bounded
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > _MAX_HEAD:
                    self._write(_response(b"431 Too Large", b"{}", close=True), close=True)
                return
            head, self.buf = self.buf[:end], self.buf[end + 4 :]
            self._handle(head)
            if self.streaming or self.transport is None or self.transport.is_closing():
                return

    def _write(self, data: bytes, *, close: bool) -> None:
        assert self.transport is not None
        self.transport.write(data)
        if close:
            self.transport.close()

    def _handle(self, head: bytes) -> None:
        line, _, headers = head.partition(b"\r\n")
        parts = line.split(b" ")
        close = b"connection: close" in headers.lower() or parts[-1] == b"HTTP/1.0"
        if len(parts) != 3 or parts[0] != b"GET":
            self._write(_response(b"405 Method Not Allowed", b"{}", close=True), close=True)
            return
        segments = parts[1].split(b"?", 1)[0].split(b"/")
        app_id = segments[2] if len(segments) > 2 else b""
        rest = b"/".join(segments[3:])
        if segments[1:2] != [b"applications"] or len(app_id) != 24 or not _HEX.issuperset(app_id):
            self._write(
                _response(b"404 Not Found", b'{"type":"NotFound"}', close=close), close=close
            )
            return
        if rest == b"mqttSubscriptionStream":
            self.streaming = True
            hold = app_id.lower() == HOLD_APP_ID.encode()
            events = min(int(app_id, 16), _MAX_EVENTS)
            asyncio.get_running_loop().create_task(self._stream(events, hold=hold))
            return
        body = _BODIES.get(rest)
        if body is None:
            self._write(
                _response(b"404 Not Found", b'{"type":"NotFound"}', close=close), close=close
            )
            return
        self._write(_response(b"200 OK", body, close=close), close=close)

    async def _stream(self, events: int, *, hold: bool) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(_SSE_HEAD)
        if hold:
            transport.write(_ONE_EVENT)
            while not self.lost:  # ends with the connection (or the server)
                await asyncio.sleep(1.0)
                if not self.lost:
                    transport.write(_KEEP_ALIVE)
            return
        full, tail = divmod(events, _BLOCK_EVENTS)
        for _ in range(full):
            if self.lost:
                return
            await self.can_write.wait()
            transport.write(_BLOCK)
        if tail and not self.lost:
            transport.write(_chunked(_sse_events(0, tail)))
        if not self.lost:
            await self.can_write.wait()
            transport.write(b"0\r\n\r\n")
            transport.close()


async def serve(
    lifetime: float,
    *,
    watch_stdin: bool,
    on_ready: Callable[[int, Callable[[], None]], None] | None = None,
) -> None:
    """Serve until ``lifetime`` seconds pass, stdin closes, or SIGINT/SIGTERM.

    ``on_ready(port, stop)`` replaces printing the port (the in-thread server).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    server = await loop.create_server(_Http, "127.0.0.1", 0, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    if on_ready is None:
        print(port, flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
    else:

        def stop_soon() -> None:
            loop.call_soon_threadsafe(stop.set)

        on_ready(port, stop_soon)

    def wait_for_eof() -> None:
        with contextlib.suppress(Exception):
            sys.stdin.buffer.read()
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stop.set)

    if watch_stdin:
        threading.Thread(target=wait_for_eof, daemon=True).start()
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), lifetime)
    finally:
        server.close()
        for conn in list(_LIVE):
            if conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0)


@contextlib.contextmanager
def in_thread(lifetime: float = 60.0) -> Iterator[str]:
    """The server on an asyncio loop in a daemon thread (for tests): yields its base URL."""
    ready = threading.Event()
    found: list[tuple[int, Callable[[], None]]] = []

    def on_ready(port: int, stop: Callable[[], None]) -> None:
        found.append((port, stop))
        ready.set()

    thread = threading.Thread(
        target=lambda: asyncio.run(serve(lifetime, watch_stdin=False, on_ready=on_ready)),
        daemon=True,
    )
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the canned server did not start")
    port, stop = found[0]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop()
        thread.join(10)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: ``python benchmarks/_server.py [--lifetime S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetime", type=float, default=900.0, help="exit after this many s")
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.lifetime, watch_stdin=args.watch_stdin))


if __name__ == "__main__":
    main()
