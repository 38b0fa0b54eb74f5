"""CPU per event: ``MqttStream`` vs raw httpx-sse over the same canned SSE server.

Usage::

    .venv/bin/python benchmarks/bench_stream_cpu.py [--events 20000] [--reps 7]
                                                    [--backend asyncio|trio]

A subprocess serves a canned ``mqttSubscriptionStream`` body (chunked, with
ids and a keep-alive comment every 100 events) on 127.0.0.1, then holds the
connection open until the client leaves. Each repetition measures the
client's ``time.process_time()`` (the server's CPU is another process) for
opening the stream, reading ``--events`` messages and closing it, three ways,
interleaved so that machine noise hits all alike:

- ``mqtt``: ``MqttStream`` over ``Transport``, yielding ``MqttMessage``s;
- ``sse``: httpx-sse ``aconnect_sse`` + ``aiter_sse`` (SSE decoding only);
- ``sse+json``: the same plus ``json.loads`` of each ``mqttMessage`` data,
  the least a user of raw httpx-sse does to get a topic and a message.

Prints the medians per event and the ratios ``mqtt / sse`` and
``mqtt / sse+json`` (the issue's targets: within 1.10x, later <= 0.6x).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import httpx_sse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from losant_async._streams._stream import MqttStream
from losant_async._transport import Transport

APP_ID = "575ec8687ae143cd83dc4a97"
PATH = f"/applications/{APP_ID}/mqttSubscriptionStream"

# The server: stdlib only, 127.0.0.1 only, exits after --connections
# connections or --lifetime seconds, whichever comes first.
SERVER = textwrap.dedent(
    r"""
    import asyncio, json, sys

    EVENTS, CONNECTIONS, LIFETIME = (int(a) for a in sys.argv[1:4])
    parts = []
    for i in range(1, EVENTS + 1):
        data = json.dumps({"topic": f"devices/{i % 50:024x}/state",
                           "message": json.dumps({"temperature": 20 + i % 7, "seq": i})})
        parts.append(f"id: {i}\nevent: mqttMessage\ndata: {data}\n\n")
        if i % 100 == 0:
            parts.append(": keep-alive\n\n")
    body = "".join(parts).encode()
    BLOCK = 16384
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i:i + BLOCK]), body[i:i + BLOCK])
        for i in range(0, len(body), BLOCK)
    )
    HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")
    served = 0
    done = asyncio.Event()

    async def handle(reader, writer):
        global served
        served += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(HEAD + chunked)
            await writer.drain()
            await reader.read()  # hold the stream open until the client leaves
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            if served >= CONNECTIONS:
                done.set()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        try:
            await asyncio.wait_for(done.wait(), LIFETIME)
        except asyncio.TimeoutError:
            pass
        server.close()

    asyncio.run(main())
    """
)


async def run_mqtt(base_url: str, events: int) -> float:
    # Building a client (an SSL context: ~20 ms) is not per-event work: untimed.
    async with Transport(
        token="bench-token", base_url=base_url, timeout=10.0, max_retries=0
    ) as transport:
        start = time.process_time()
        async with MqttStream(transport, PATH, topic="devices/+/state") as stream:
            n = 0
            async for _msg in stream:
                n += 1
                if n == events:
                    break
        elapsed = time.process_time() - start
    assert n == events, n
    return elapsed


async def run_sse(base_url: str, events: int, *, decode_json: bool) -> float:
    url = f"{base_url}{PATH}?topic=devices%2F%2B%2Fstate"
    async with httpx.AsyncClient(timeout=10.0) as client:
        start = time.process_time()
        async with httpx_sse.aconnect_sse(client, "GET", url) as source:
            n = 0
            sse_iter = source.aiter_sse()
            async for sse in sse_iter:
                if sse.event == "mqttMessage":
                    if decode_json:
                        json.loads(sse.data)
                    n += 1
                    if n == events:
                        break
            await sse_iter.aclose()
        elapsed = time.process_time() - start
    assert n == events, n
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    if not (1 <= args.events <= 1_000_000 and 1 <= args.reps <= 100):
        parser.error("--events in 1..1e6, --reps in 1..100")

    runners: dict[str, Callable[[str], Awaitable[float]]] = {
        "mqtt": lambda url: run_mqtt(url, args.events),
        "sse": lambda url: run_sse(url, args.events, decode_json=False),
        "sse+json": lambda url: run_sse(url, args.events, decode_json=True),
    }
    connections = len(runners) * (args.reps + 1)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.events), str(connections), "300"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        times: dict[str, list[float]] = {name: [] for name in runners}

        async def bench() -> None:
            for run in runners.values():  # warm-up, not counted
                await run(base_url)
            for rep in range(args.reps):
                order = list(runners)
                if rep % 2:
                    order.reverse()
                for name in order:
                    times[name].append(await runners[name](base_url))

        anyio.run(bench, backend=args.backend)
    finally:
        server.kill()
        server.wait(timeout=10)

    per_event = {name: statistics.median(t) / args.events * 1e6 for name, t in times.items()}
    print(f"{args.events} events x {args.reps} reps, backend {args.backend}, median CPU per event:")
    for name, micros in per_event.items():
        print(f"  {name:9s} {micros:7.2f} us")
    print(f"  ratio mqtt/sse      {per_event['mqtt'] / per_event['sse']:.2f}x")
    print(f"  ratio mqtt/sse+json {per_event['mqtt'] / per_event['sse+json']:.2f}x")


if __name__ == "__main__":
    main()
