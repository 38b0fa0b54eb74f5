"""Client CPU per GET: losant_async's HTTP/1.1 transport vs httpx's vs raw aiohttp.

A canned-response server (a 1.5 KB JSON "Application") runs in a subprocess,
pinned to the last CPU with ``taskset`` where present; the client pins itself
to the first. Each measurement sends ``--requests`` GETs at a concurrency of 1
and of 64 and divides the client's CPU time (``time.process_time``) by the
count. Clients are interleaved within each repetition; medians are reported.

    .venv/bin/python benchmarks/bench_transport.py [--requests 2000] [--reps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from losant_async._http11 import Http11Transport

BODY = json.dumps(
    {
        "id": "575ec8687ae143cd83dc4a97",
        "applicationId": "575ec8687ae143cd83dc4a97",
        "name": "Benchmark application",
        "description": "x" * 1100,
        "ownerId": "575ed70c7ae143cd83dc4aa9",
        "ownerType": "organization",
        "creationDate": "2016-06-13T04:00:00.000Z",
        "lastUpdated": "2016-06-13T04:00:00.000Z",
        "summary": {"deviceCount": 12, "flowCount": 3, "webhookCount": 1},
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: %d\r\nX-Request-Id: 0123456789abcdef\r\n"
    b"Date: Wed, 25 Nov 2026 12:00:00 GMT\r\n\r\n%b" % (len(BODY), BODY)
)
TIMEOUT = {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0}


# --- the server ---------------------------------------------------------------


class _Canned(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        count = self.buf.count(b"\r\n\r\n")
        if count:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(RESPONSE * count)


def serve(port: int) -> None:
    """Run the canned-response server until killed."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Canned, "127.0.0.1", port, backlog=1024)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(main())


# --- the clients --------------------------------------------------------------


async def _run(one: Callable[[], Awaitable[None]], total: int, concurrency: int) -> None:
    async def worker(n: int) -> None:
        for _ in range(n):
            await one()

    async with anyio.create_task_group() as tg:
        for i in range(concurrency):
            tg.start_soon(worker, total // concurrency + (i < total % concurrency))


async def _transport_cpu(
    transport: httpx.AsyncBaseTransport, url: str, total: int, concurrency: int
) -> float:
    request = httpx.Request("GET", url, extensions={"timeout": TIMEOUT})

    async def one() -> None:
        response = await transport.handle_async_request(request)
        await response.aread()
        await response.aclose()

    async with transport:
        await _run(one, concurrency * 4, concurrency)  # warm the pool
        start = time.process_time()
        await _run(one, total, concurrency)
        return (time.process_time() - start) / total


async def _aiohttp_cpu(url: str, total: int, concurrency: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.get(url) as response:
                await response.read()

        await _run(one, concurrency * 4, concurrency)
        start = time.process_time()
        await _run(one, total, concurrency)
        return (time.process_time() - start) / total


def _measure(name: str, url: str, total: int, concurrency: int) -> float:
    if name == "losant_async (asyncio)":
        return anyio.run(_transport_cpu, Http11Transport(), url, total, concurrency)
    if name == "losant_async (trio)":
        return anyio.run(_transport_cpu, Http11Transport(), url, total, concurrency, backend="trio")
    if name == "httpx.AsyncHTTPTransport":
        return anyio.run(_transport_cpu, httpx.AsyncHTTPTransport(), url, total, concurrency)
    return asyncio.run(_aiohttp_cpu(url, total, concurrency))


CLIENTS = [
    "losant_async (asyncio)",
    "losant_async (trio)",
    "httpx.AsyncHTTPTransport",
    "aiohttp (raw)",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    command = [sys.executable, __file__, "--serve", str(port)]
    pinned = len(cpus) > 1 and shutil.which("taskset") is not None
    if pinned:
        command = ["taskset", "-c", str(cpus[-1]), *command]
        os.sched_setaffinity(0, {cpus[0]})
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}/applications/575ec8687ae143cd83dc4a97"
        results: dict[tuple[str, int], list[float]] = {}
        for rep in range(args.reps):
            for concurrency in (1, 64):
                for name in CLIENTS:
                    cpu = _measure(name, url, args.requests, concurrency)
                    results.setdefault((name, concurrency), []).append(cpu)
            print(f"repetition {rep + 1}/{args.reps} done", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(10)

    print(
        f"client CPU per GET of a {len(BODY)} B body, median of {args.reps} interleaved "
        f"repetitions x {args.requests} requests (pinned: {pinned})"
    )
    print(f"{'client':28} {'concurrency 1':>15} {'concurrency 64':>15}")
    for name in CLIENTS:
        cells = [f"{statistics.median(results[name, c]) * 1e6:12.0f} µs" for c in (1, 64)]
        print(f"{name:28} {cells[0]:>15} {cells[1]:>15}")


if __name__ == "__main__":
    main()
