"""A lagging stream consumer: how long the event loop stalls when it catches up.

Issue 11, defect 6: a consumer that lags 0.3 s while a stream's server keeps
writing finds megabytes of small chunks waiting; decoding them must not block
the event loop (it took 325 ms when the chunk parser copied the rest of the
read for every chunk). A thread serves one chunked response on 127.0.0.1 with
one chunk per SSE event (as a Node server writes them), the client reads the
first block through ``losant_async._http11``, sleeps, then reads the rest
while a ticker task measures the longest gap between its wake-ups.

Run alone: ``python -m benchmarks._drivers_lag [--backend asyncio|trio]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from typing import Final

import anyio
import anyio.lowlevel
import httpx

TOTAL_BYTES: Final = 2 * 1024 * 1024
LAG_SECONDS: Final = 0.3
# One event of about the size the canned server's events have.
_EVENT: Final = (
    b'event: mqttMessage\ndata: {"topic":"devices/5a1b/state","message":'
    b'{"data":{"temperature":21.5}},"time":"2026-01-01T00:00:00.000Z"}\n\n'
)
_TICK: Final = 0.001


def _body() -> tuple[bytes, int]:
    """The chunked body (one chunk per event, 2 MiB or just over) and its decoded size."""
    chunk = b"%x\r\n%b\r\n" % (len(_EVENT), _EVENT)
    count = -(-TOTAL_BYTES // len(chunk))
    return chunk * count, len(_EVENT) * count


def _serve_once(listener: socket.socket, payload: bytes, done: threading.Event) -> None:
    listener.settimeout(10)
    try:
        sock, _ = listener.accept()
    except OSError:
        return
    with sock:
        sock.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = sock.recv(4096)
            if not data:
                return
            head += data
        with contextlib.suppress(OSError):
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + payload)
            done.wait(30)  # the stream stays open: the client leaves first


async def lagging_consumer(lag: float = LAG_SECONDS) -> dict[str, float]:
    """One run: the longest event-loop stall (ms) while catching up after ``lag`` s."""
    from losant_async._http11 import Http11Transport

    payload, size = _body()
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()
    thread = threading.Thread(target=_serve_once, args=(listener, payload, done), daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    worst = 0.0
    received = 0
    try:
        with anyio.fail_after(120):
            async with Http11Transport() as transport:
                request = httpx.Request(
                    "GET",
                    f"http://127.0.0.1:{port}/stream",
                    extensions={
                        "timeout": {"connect": 10.0, "read": 30.0, "write": 10.0, "pool": 10.0},
                        "losant_async.stream": True,
                    },
                )
                response = await transport.handle_async_request(request)
                blocks = response.stream.__aiter__()  # type: ignore[union-attr]
                received += len(await blocks.__anext__())
                await anyio.sleep(lag)  # the consumer lags; the server keeps writing
                measuring = True

                async def ticker() -> None:
                    nonlocal worst
                    last = time.perf_counter()
                    while measuring:
                        await anyio.sleep(_TICK)
                        now = time.perf_counter()
                        worst = max(worst, now - last - _TICK)
                        last = now

                started = time.perf_counter()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(ticker)
                    await anyio.lowlevel.checkpoint()  # the ticker takes its first time stamp
                    while received < size:
                        received += len(await blocks.__anext__())
                    measuring = False
                catch_up = time.perf_counter() - started
                await response.aclose()
    finally:
        done.set()
        listener.close()
        thread.join(10)
    return {
        "stall_ms": worst * 1e3,
        "catch_up_ms": catch_up * 1e3,
        "body_bytes": float(received),
        "lag_s": lag,
    }


def main(argv: list[str] | None = None) -> None:
    """Print one run's figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args(argv)
    print(json.dumps(anyio.run(lagging_consumer, backend=args.backend)))


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    main()
