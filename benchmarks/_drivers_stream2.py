"""Streams per event, side by side: MQTT, device state, raw httpx-sse; profile; many streams.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks._drivers_stream2 [--events 50000] [--reps 5]
                                                    [--backend asyncio|trio]
                                                    [--profile] [--many 1000]

A subprocess (stdlib only, 127.0.0.1) serves, chunked in 64 KiB blocks:
``.../mqttSubscriptionStream`` ``mqttMessage`` events (the canned server's
shape, about 140 bytes) and ``.../devices/<id>/stateStream`` ``deviceState``
events (``{"time": ISO, "data": {...}}``, about 100 bytes, Losant's shape),
with a keep-alive comment every 1,000 events; then it holds the connection
open (a keep-alive a second) until the client leaves. Each repetition
measures the client's ``time.process_time()`` for opening, reading
``--events`` events and closing, interleaved:

- ``mqtt``: ``app.mqtt_subscription_stream(topic)``, ``MqttMessage``s;
- ``device``: ``app.device(id).state_stream()``, ``DeviceState``s;
- ``sse``: httpx-sse ``aconnect_sse`` + ``aiter_sse`` of the MQTT stream;
- ``sse-device``: the same over the state stream.

``--profile``: cProfile of one ``mqtt`` and one ``device`` run (top by self
time). ``--many N``: N state streams held open on one client: RSS per
stream (after ``gc.collect()``) and the client's idle CPU over 5 s.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "bench-token-0123456789"
APP_ID = "575ec8687ae143cd83dc4a97"
DEVICE_ID = "575ecf887ae143cd83dc4aa2"
TOPIC = "devices/+/state"
TIMEOUT = 120.0

SERVER = textwrap.dedent(
    r"""
    import asyncio, json, sys

    EVENTS, LIFETIME, KEEP_EVERY = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    KEEP = b"e\r\n: keep-alive\n\n\r\n"

    def body(kind):
        parts = []
        for i in range(EVENTS):
            if kind == "mqtt":
                data = json.dumps({"topic": f"devices/{i % 64:024x}/state",
                                   "message": json.dumps({"data": {"temperature": 2 + i % 7,
                                                                   "door": i % 2 == 0}})},
                                  separators=(",", ":"))
                parts.append(f"event: mqttMessage\ndata: {data}\n\n")
            else:
                when = f"2026-12-05T09:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
                data = json.dumps({"time": when,
                                   "data": {"temperature": 2 + i % 7, "humidity": 40 + i % 9,
                                            "door": i % 2 == 0}},
                                  separators=(",", ":"))
                parts.append(f"event: deviceState\ndata: {data}\n\n")
            if i % 1000 == 999:
                parts.append(": keep-alive\n\n")
        raw = "".join(parts).encode()
        return b"".join(b"%x\r\n%s\r\n" % (len(raw[i:i + 65536]), raw[i:i + 65536])
                        for i in range(0, len(raw), 65536))

    BODIES = {"mqtt": body("mqtt"), "state": body("state")}
    HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")

    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].split(b"?")[0]
            kind = "mqtt" if path.endswith(b"mqttSubscriptionStream") else "state"
            many = b"/devices/f" in path  # the --many streams: no events, keep-alives only
            writer.write(HEAD if many else HEAD + BODIES[kind])
            await writer.drain()
            while True:  # hold the stream open until the client leaves
                try:
                    await asyncio.wait_for(reader.read(1), KEEP_EVERY)
                    return
                except asyncio.TimeoutError:
                    writer.write(KEEP)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(LIFETIME)
        server.close()

    asyncio.run(main())
    """
)


async def run_ours(base_url: str, events: int, kind: str) -> float:
    from losant_async import AsyncLosant

    async with AsyncLosant(TOKEN, base_url=base_url) as client:
        app = client.application(APP_ID)
        with anyio.fail_after(TIMEOUT):
            start = time.process_time()
            stream = (
                app.mqtt_subscription_stream(TOPIC)
                if kind == "mqtt"
                else app.device(DEVICE_ID).state_stream()
            )
            n = 0
            async with stream:
                async for _value in stream:
                    n += 1
                    if n == events:
                        break
            elapsed = time.process_time() - start
    if n != events:
        raise RuntimeError(f"read {n} of {events}")
    return elapsed


async def run_sse(base_url: str, events: int, kind: str) -> float:
    import httpx
    import httpx_sse

    if kind == "mqtt":
        url, name = f"{base_url}/applications/{APP_ID}/mqttSubscriptionStream", "mqttMessage"
    else:
        url = f"{base_url}/applications/{APP_ID}/devices/{DEVICE_ID}/stateStream"
        name = "deviceState"
    async with httpx.AsyncClient(timeout=10.0) as client:
        with anyio.fail_after(TIMEOUT):
            start = time.process_time()
            n = 0
            async with (
                httpx_sse.aconnect_sse(client, "GET", url, params={"topic": TOPIC}) as source,
                aclosing(source.aiter_sse()) as sse_iter,
            ):
                async for sse in sse_iter:
                    if sse.event == name:
                        n += 1
                        if n == events:
                            break
            elapsed = time.process_time() - start
    if n != events:
        raise RuntimeError(f"read {n} of {events}")
    return elapsed


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


async def run_many(base_url: str, count: int, keep_alive: float) -> None:
    from losant_async import AsyncLosant

    async def consume(stream: Any) -> None:
        async for _ in stream:  # no events come: keep-alives only
            pass

    gc.collect()
    async with AsyncLosant(TOKEN, base_url=base_url) as client, AsyncExitStack() as stack:
        app = client.application(APP_ID)
        warm = app.device("f" * 24).state_stream()  # one open first: imports, pool
        await stack.enter_async_context(warm)
        gc.collect()
        before = _rss()
        streams = []
        with anyio.fail_after(TIMEOUT):
            for i in range(count):
                stream = app.device(f"f{i:023x}").state_stream()
                streams.append(await stack.enter_async_context(stream))
        async with anyio.create_task_group() as tg:
            for stream in streams:  # each waited on, as a consumer would
                tg.start_soon(consume, stream)
            await anyio.sleep(1.0)
            gc.collect()
            after = _rss()
            cpu = time.process_time()
            await anyio.sleep(5.0)
            idle = time.process_time() - cpu
            tg.cancel_scope.cancel()
        print(
            f"{count} state streams on one client, each read by a task: "
            f"{(after - before) / count / 1024:.1f} KB/stream (RSS {after / 2**20:.1f} MB); "
            f"idle CPU {idle * 1000 / 5:.1f} ms/s ({idle * 1e6 / 5 / count:.2f} µs/s per stream, "
            f"a keep-alive every {keep_alive:g} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--many", type=int, default=0)
    parser.add_argument("--keep-alive", type=float, default=1.0, help="server keep-alive period, s")
    parser.add_argument("--only", default="mqtt,device,sse,sse-device")
    args = parser.parse_args()
    if not (1 <= args.events <= 1_000_000 and 1 <= args.reps <= 100 and 0 <= args.many <= 5000):
        parser.error("--events in 1..1e6, --reps in 1..100, --many in 0..5000")

    all_runners: dict[str, Callable[[str], Awaitable[float]]] = {
        "mqtt": lambda url: run_ours(url, args.events, "mqtt"),
        "device": lambda url: run_ours(url, args.events, "state"),
        "sse": lambda url: run_sse(url, args.events, "mqtt"),
        "sse-device": lambda url: run_sse(url, args.events, "state"),
    }
    runners = {k: v for k, v in all_runners.items() if k in args.only.split(",")}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.events + 1000), "600", str(args.keep_alive)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        if args.many:
            anyio.run(run_many, base_url, args.many, args.keep_alive, backend=args.backend)
            return
        if args.profile:
            for kind in ("mqtt", "state"):
                anyio.run(run_ours, base_url, 2000, kind, backend=args.backend)  # warm-up
                profiler = cProfile.Profile()
                profiler.enable()
                anyio.run(run_ours, base_url, args.events, kind, backend=args.backend)
                profiler.disable()
                buf = io.StringIO()
                pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(22)
                print(f"== {kind}: {args.events} events ==")
                print(buf.getvalue())
            return
        times: dict[str, list[float]] = {name: [] for name in runners}

        async def bench() -> None:
            for run in runners.values():  # warm-up, not counted
                await run(base_url)
            for rep in range(args.reps):
                order = list(runners)
                order = order[rep % len(order) :] + order[: rep % len(order)]
                for name in order:
                    times[name].append(await runners[name](base_url))

        anyio.run(bench, backend=args.backend)
    finally:
        server.kill()
        server.wait(timeout=10)

    per_event = {name: statistics.median(t) / args.events * 1e6 for name, t in times.items()}
    print(f"{args.events} events x {args.reps} reps, {args.backend}, median client CPU per event:")
    for name, micros in per_event.items():
        print(f"  {name:10s} {micros:6.2f} µs")
    if "sse" in per_event:
        for name in ("mqtt", "device"):
            if name in per_event:
                print(f"  {name}/sse {per_event[name] / per_event['sse']:.2f}x")
    if "mqtt" in per_event and "device" in per_event:
        print(f"  device/mqtt {per_event['device'] / per_event['mqtt']:.2f}x")


if __name__ == "__main__":
    main()
