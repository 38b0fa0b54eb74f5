"""Device state stream CPU per event (vs the MQTT stream) and pagination throughput.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks._drivers_pages [--events 20000] [--items 20000] [--reps 3]

A subprocess (stdlib only, 127.0.0.1) serves, over HTTP/1.1 keep-alive:

- ``.../mqttSubscriptionStream``: ``mqttMessage`` events (a JSON state as
  the message), and ``.../devices/<id>/stateStream``: ``deviceState`` events
  (``{"time": ms, "data": {...}}``, Losant's shape), chunked, a keep-alive
  comment every 100 events, then held open until the client leaves;
- ``GET .../devices?page=N&perPage=P``: pages of devices (Losant's
  ``devices`` page shape, ``totalCount`` ``--items``), built once.

Measured in the client (the server's CPU is another process), interleaved:

- ``stream_device``: ``app.device(id).state_stream()``, ``DeviceState``s,
  CPU per event, beside ``stream_mqtt``: ``app.mqtt_subscription_stream``;
- ``pages_pager``: ``async for d in app.devices.get(per_page=P)`` (AsyncPager,
  2 pages ahead, typed ``Device``s), items per wall second, beside
  ``pages_httpx``: raw httpx fetching the same pages one after another
  and ``json.loads`` of each (dicts, no types).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._drivers import Sample

APP_ID = "575ec8687ae143cd83dc4a97"
DEVICE_ID = "5a0000000000000000000abc"
TOKEN = "bench-token"
TOPIC = "losant/+/state"
PER_PAGE = 1000
TIMEOUT = 120.0

SERVER = textwrap.dedent(
    r"""
    import asyncio, json, sys

    EVENTS, ITEMS, LIFETIME = (int(a) for a in sys.argv[1:4])

    def chunked(body):
        return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536])
                        for i in range(0, len(body), 65536))

    def events(kind):
        parts = []
        for i in range(1, EVENTS + 1):
            state = {"temperature": 20 + i % 7, "seq": i}
            if kind == "mqtt":
                data = {"topic": f"losant/{i % 50:024x}/state", "message": json.dumps(state)}
                name = "mqttMessage"
            else:
                data = {"time": 1741089600000 + i, "data": state}
                name = "deviceState"
            parts.append(f"event: {name}\ndata: {json.dumps(data)}\n\n")
            if i % 100 == 0:
                parts.append(": keep-alive\n\n")
        return chunked("".join(parts).encode())

    STREAMS = {"mqtt": events("mqtt"), "device": events("device")}
    SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")

    def device(n):
        return {"id": f"{n:024x}", "deviceId": f"{n:024x}", "applicationId": "a" * 24,
                "name": f"Sensor {n:05d}", "deviceClass": "standalone",
                "creationDate": "2025-03-04T12:00:00.000Z",
                "lastUpdated": "2025-03-04T12:00:00.000Z",
                "tags": [{"key": "floor", "value": str(n % 4)}],
                "attributes": [{"name": "temperature", "dataType": "number"}]}

    PAGES = {}

    def page(number, per_page):
        key = (number, per_page)
        if key not in PAGES:
            start = number * per_page
            items = [device(n) for n in range(start, min(start + per_page, ITEMS))]
            body = json.dumps({"items": items, "count": len(items), "totalCount": ITEMS,
                               "perPage": per_page, "page": number}).encode()
            PAGES[key] = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                          b"content-length: %d\r\n\r\n" % len(body)) + body
        return PAGES[key]

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode()
                path, _, query = target.partition("?")
                if path.endswith("Stream"):
                    kind = "mqtt" if path.endswith("mqttSubscriptionStream") else "device"
                    writer.write(SSE_HEAD + STREAMS[kind])
                    await writer.drain()
                    await reader.read()  # held open until the client leaves
                    return
                params = dict(p.partition("=")[::2] for p in query.split("&") if p)
                writer.write(page(int(params.get("page", 0)), int(params.get("perPage", 100))))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(LIFETIME)
        server.close()

    asyncio.run(main())
    """
)


@contextmanager
def canned(events: int, items: int, lifetime: float = 600.0) -> Iterator[str]:
    """The server above in a subprocess; yields its base URL."""
    args = [sys.executable, "-c", SERVER, str(events), str(items), str(int(lifetime))]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield f"http://127.0.0.1:{int(server.stdout.readline())}"
    finally:
        server.kill()
        server.wait(timeout=10)


async def stream_device(base_url: str, events: int) -> Sample:
    """``async for state in app.device(id).state_stream()``: ``DeviceState``s."""
    from losant_async import AsyncApplication

    async with AsyncApplication(APP_ID, token=TOKEN, base_url=base_url) as app:
        await app.devices.get(per_page=1)  # warm: models imported, connection made
        seen = 0
        with anyio.fail_after(TIMEOUT):
            cpu, wall = time.process_time(), time.perf_counter()
            async with app.device(DEVICE_ID).state_stream() as stream:
                async for _state in stream:
                    seen += 1
                    if seen >= events:
                        break
            sample = Sample(seen, time.process_time() - cpu, time.perf_counter() - wall)
    return _checked(sample, events)


async def stream_mqtt(base_url: str, events: int) -> Sample:
    """``async for msg in app.mqtt_subscription_stream(topic)``: ``MqttMessage``s."""
    from losant_async import AsyncApplication

    async with AsyncApplication(APP_ID, token=TOKEN, base_url=base_url) as app:
        await app.devices.get(per_page=1)
        seen = 0
        with anyio.fail_after(TIMEOUT):
            cpu, wall = time.process_time(), time.perf_counter()
            async with app.mqtt_subscription_stream(TOPIC) as stream:
                async for _msg in stream:
                    seen += 1
                    if seen >= events:
                        break
            sample = Sample(seen, time.process_time() - cpu, time.perf_counter() - wall)
    return _checked(sample, events)


async def pages_pager(base_url: str, items: int) -> Sample:
    """``async for device in app.devices.get(per_page=PER_PAGE)``: every item, typed."""
    from losant_async import AsyncApplication

    async with AsyncApplication(APP_ID, token=TOKEN, base_url=base_url) as app:
        await app.devices.get(per_page=1)
        seen = 0
        with anyio.fail_after(TIMEOUT):
            cpu, wall = time.process_time(), time.perf_counter()
            async for _device in app.devices.get(per_page=PER_PAGE):
                seen += 1
            sample = Sample(seen, time.process_time() - cpu, time.perf_counter() - wall)
    return _checked(sample, items)


async def pages_httpx(base_url: str, items: int) -> Sample:
    """Raw httpx: the same pages one after another, ``json.loads`` of each."""
    import json

    import httpx

    url = f"{base_url}/applications/{APP_ID}/devices"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(headers=headers, timeout=10.0) as client:
        await client.get(url, params={"perPage": 1})
        seen = page = 0
        with anyio.fail_after(TIMEOUT):
            cpu, wall = time.process_time(), time.perf_counter()
            while True:
                answer = await client.get(url, params={"page": page, "perPage": PER_PAGE})
                body = json.loads(answer.content)
                for _device in body["items"]:
                    seen += 1
                page += 1
                if not body["items"] or page * PER_PAGE >= body["totalCount"]:
                    break
            sample = Sample(seen, time.process_time() - cpu, time.perf_counter() - wall)
    return _checked(sample, items)


def _checked(sample: Sample, expected: int) -> Sample:
    if sample.ops != expected:
        raise RuntimeError(f"read {sample.ops} of {expected}")
    return sample


Driver = Callable[[str, int], Awaitable[Sample]]
STREAM_DRIVERS: dict[str, Driver] = {"device": stream_device, "mqtt": stream_mqtt}
PAGE_DRIVERS: dict[str, Driver] = {"losant_async": pages_pager, "httpx": pages_httpx}


def run(
    events: int, items: int, reps: int, backend: str = "asyncio", log: Callable[[str], None] = print
) -> dict[str, list[Sample]]:
    """Every driver ``reps`` times, interleaved: samples by ``stream/<name>``, ``pages/<name>``."""
    jobs = [(f"stream/{n}", d, events) for n, d in STREAM_DRIVERS.items()]
    jobs += [(f"pages/{n}", d, items) for n, d in PAGE_DRIVERS.items()]
    out: dict[str, list[Sample]] = {key: [] for key, _, _ in jobs}
    with canned(events, items) as url:
        for key, driver, count in jobs:  # warm-up, not counted
            anyio.run(driver, url, min(count, 2000 if key.startswith("stream") else count))
        for rep in range(reps):
            order = jobs[rep % len(jobs) :] + jobs[: rep % len(jobs)]
            for key, driver, count in order:
                sample = anyio.run(driver, url, count, backend=backend)
                out[key].append(sample)
                log(
                    f"  rep {rep + 1} {key}/{backend}: {sample.cpu_us:6.2f} µs CPU/op, "
                    f"{sample.rate:9.0f}/s"
                )
    return out


def run_group(sizes: dict[str, int], raw: dict[str, list[Any]], log: Callable[[str], None]) -> None:
    """``benchmarks/run.py``'s ``pages`` group: samples into ``raw`` as ``pages/...`` keys."""
    for backend in ("asyncio", "trio"):
        samples = run(
            sizes["stream_events"], sizes["page_items"], sizes["stream_reps"], backend, log
        )
        for key, values in samples.items():
            raw.setdefault(f"pages/{key}/{backend}", []).extend(s._asdict() for s in values)


def rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The table rows: device stream CPU per event beside MQTT's; pager items/s beside httpx's."""
    from benchmarks._report import _per_op_us, _rates, _row

    out: list[dict[str, Any]] = []
    for backend in ("asyncio", "trio"):
        device = raw.get(f"pages/stream/device/{backend}")
        mqtt = raw.get(f"pages/stream/mqtt/{backend}")
        if device and mqtt:
            d, m = _per_op_us(device), _per_op_us(mqtt)
            ratio = statistics.median(d) / statistics.median(m)
            for client, values, samples, vs in (
                (f"losant_async device.stateStream/{backend}", d, device, f"{ratio:.2f}x MQTT"),
                (f"losant_async mqttSubscriptionStream/{backend}", m, mqtt, ""),
            ):
                rate = statistics.median(_rates(samples))
                out.append(
                    _row(
                        "stream CPU/event (device state vs MQTT)",
                        client,
                        statistics.median(values),
                        "µs",
                        values=values,
                        throughput=f"{rate:,.0f}/s",
                        vs=vs,
                        fmt="{:.2f}",
                    )
                )
        pager = raw.get(f"pages/pages/losant_async/{backend}")
        plain = raw.get(f"pages/pages/httpx/{backend}")
        if pager and plain:
            p, h = _rates(pager), _rates(plain)
            ratio = statistics.median(p) / statistics.median(h)
            for client, values, vs in (
                (f"losant_async AsyncPager/{backend}", p, f"{ratio:.2f}x httpx"),
                (f"httpx sequential + json.loads/{backend}", h, ""),
            ):
                out.append(
                    _row(
                        f"pagination items/s ({PER_PAGE} per page)",
                        client,
                        statistics.median(values),
                        "items/s",
                        values=values,
                        vs=vs,
                        fmt="{:,.0f}",
                    )
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args()
    samples = run(args.events, args.items, args.reps, args.backend)
    print(f"medians, backend {args.backend}:")
    for key, values in samples.items():
        cpu = statistics.median(s.cpu_us for s in values)
        rate = statistics.median(s.rate for s in values)
        print(f"  {key:22s} {cpu:7.2f} µs CPU/op  {rate:10.0f} ops/s")


if __name__ == "__main__":
    main()
