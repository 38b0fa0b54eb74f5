"""In-process drivers: ``get``, streams and decoding, each returning a ``Sample``.

Every driver measures the client only: ``time.process_time()`` is this
process's user+sys CPU (all its threads), the canned server runs in another
process. Building a client (an SSL context, a pool) is set-up, not per-op
work, and happens before the clock starts; each ``get`` driver also warms its
connections with one request per worker first.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from typing import Any, Final, NamedTuple
from urllib.parse import urlencode

import anyio

from ._server import (
    APP_ID,
    APPLICATION_JSON,
    IMPORT_LOGS_JSON,
    SEARCH_JSON,
    TOPIC,
    stream_app_id,
)

TOKEN: Final = "bench-token-0123456789"
DEFAULT_QUERY: Final = {"_actions": "false", "_links": "true", "_embedded": "true"}
# What every client sends, as the official SDK does (losant_async sends these itself).
HEADERS: Final = {
    "Authorization": f"Bearer {TOKEN}",
    "Accept": "application/json",
    "Accept-Version": "^1.30.0",
}
APP_PATH: Final = f"/applications/{APP_ID}"
# No single measurement may run longer than this (the server may have died).
MEASURE_TIMEOUT: Final = 120.0


class Sample(NamedTuple):
    """One measurement: ``ops`` operations in ``cpu`` client CPU s and ``wall`` s."""

    ops: int
    cpu: float
    wall: float

    @property
    def cpu_us(self) -> float:
        """Client CPU per operation, in µs."""
        return self.cpu / self.ops * 1e6

    @property
    def rate(self) -> float:
        """Operations per wall-clock second."""
        return self.ops / self.wall if self.wall > 0 else float("inf")


def _split(n: int, workers: int) -> list[int]:
    base, extra = divmod(n, workers)
    return [base + (1 if i < extra else 0) for i in range(workers) if base or i < extra]


async def _fan_out(call: Callable[[], Awaitable[object]], n: int, concurrency: int) -> None:
    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    async with anyio.create_task_group() as tg:
        for count in _split(n, concurrency):
            tg.start_soon(worker, count)


async def _measure(call: Callable[[], Awaitable[object]], n: int, concurrency: int) -> Sample:
    with anyio.fail_after(MEASURE_TIMEOUT):
        await _fan_out(call, concurrency, concurrency)  # open the connections
        cpu, wall = time.process_time(), time.perf_counter()
        await _fan_out(call, n, concurrency)
        return Sample(n, time.process_time() - cpu, time.perf_counter() - wall)


# -- get ------------------------------------------------------------------------


async def get_losant_async(base_url: str, n: int, concurrency: int) -> Sample:
    """``await app.get()`` through the public API (decodes an ``Application``)."""
    from losant_async import AsyncLosant

    async with AsyncLosant(TOKEN, base_url=base_url) as client:
        app = client.application(APP_ID)
        return await _measure(app.get, n, concurrency)


async def _get_raw_httpx(base_url: str, n: int, concurrency: int, **options: Any) -> Sample:
    """``httpx.AsyncClient.get`` + status check + ``json.loads``; ``options`` go to the client."""
    import httpx

    async with httpx.AsyncClient(
        base_url=base_url,
        headers=HEADERS,
        params=DEFAULT_QUERY,
        **options,
    ) as client:

        async def call() -> object:
            response = await client.get(APP_PATH)
            if response.status_code >= 400:
                raise RuntimeError(response.status_code)
            return json.loads(response.content)

        return await _measure(call, n, concurrency)


async def get_httpx(base_url: str, n: int, concurrency: int) -> Sample:
    """Raw ``httpx.AsyncClient.get`` + status check + ``json.loads``."""
    import httpx

    limits = httpx.Limits(max_connections=max(100, concurrency))
    return await _get_raw_httpx(base_url, n, concurrency, limits=limits)


async def get_httpx_lean(base_url: str, n: int, concurrency: int) -> Sample:
    """Raw httpx over this package's lean HTTP/1.1 transport (informational)."""
    from losant_async._http11 import default_transport

    return await _get_raw_httpx(base_url, n, concurrency, transport=default_transport())


async def get_aiohttp(base_url: str, n: int, concurrency: int) -> Sample:
    """Raw ``aiohttp.ClientSession.get`` + status check + ``json.loads`` (asyncio only)."""
    import aiohttp

    url = f"{base_url}{APP_PATH}?{urlencode(DEFAULT_QUERY)}"
    connector = aiohttp.TCPConnector(limit=max(100, concurrency))
    async with aiohttp.ClientSession(headers=HEADERS, connector=connector) as session:

        async def call() -> object:
            async with session.get(url) as response:
                body = await response.read()
                if response.status >= 400:
                    raise RuntimeError(response.status)
                return json.loads(body)

        return await _measure(call, n, concurrency)


def get_losant_rest(base_url: str, n: int, concurrency: int) -> Sample:
    """The official sync SDK: sequential at 1, else a pool of ``concurrency`` threads."""
    import losant_rest  # type: ignore[import-untyped]

    client = losant_rest.Client(auth_token=TOKEN, url=base_url)

    def run(count: int) -> None:
        for _ in range(count):
            client.application.get(applicationId=APP_ID)

    def fan_out(total: int) -> None:
        if concurrency == 1:
            run(total)
            return
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = [pool.submit(run, count) for count in _split(total, concurrency)]
            for future in futures:
                future.result(timeout=MEASURE_TIMEOUT)

    fan_out(concurrency)
    cpu, wall = time.process_time(), time.perf_counter()
    fan_out(n)
    return Sample(n, time.process_time() - cpu, time.perf_counter() - wall)


# -- streams ----------------------------------------------------------------------


async def stream_losant_async(base_url: str, events: int) -> Sample:
    """``async for msg in app.mqtt_subscription_stream(topic)``: ``MqttMessage``s."""
    from losant_async import AsyncLosant

    async with AsyncLosant(TOKEN, base_url=base_url) as client:
        app = client.application(stream_app_id(events))
        seen = 0
        with anyio.fail_after(MEASURE_TIMEOUT):
            cpu, wall = time.process_time(), time.perf_counter()
            async with app.mqtt_subscription_stream(TOPIC) as stream:
                async for _msg in stream:
                    seen += 1
                    if seen >= events:
                        break
            sample = Sample(seen, time.process_time() - cpu, time.perf_counter() - wall)
    if seen != events:
        raise RuntimeError(f"read {seen} of {events} events")
    return sample


async def stream_httpx_sse(base_url: str, events: int, *, decode_json: bool = False) -> Sample:
    """httpx-sse ``aconnect_sse`` + ``aiter_sse`` (``decode_json``: + ``json.loads``)."""
    import httpx
    import httpx_sse

    url = f"{base_url}/applications/{stream_app_id(events)}/mqttSubscriptionStream"
    params = {**DEFAULT_QUERY, "topic": TOPIC, "keepAliveInterval": "2"}
    seen = 0
    async with httpx.AsyncClient(headers=HEADERS, timeout=10.0) as client:
        with anyio.fail_after(MEASURE_TIMEOUT):
            cpu, wall = time.process_time(), time.perf_counter()
            async with (
                httpx_sse.aconnect_sse(client, "GET", url, params=params) as source,
                aclosing(source.aiter_sse()) as events_iter,
            ):
                async for sse in events_iter:
                    if sse.event != "mqttMessage":
                        continue
                    if decode_json:
                        data = json.loads(sse.data)
                        _ = (data["topic"], data["message"])
                    seen += 1
                    if seen >= events:
                        break
            sample = Sample(seen, time.process_time() - cpu, time.perf_counter() - wall)
    if seen != events:
        raise RuntimeError(f"read {seen} of {events} events")
    return sample


# -- decode -------------------------------------------------------------------------

# name -> (body, model name in losant_async._models, is a list, iterations at scale 1)
DECODE_CASES: Final = {
    "application": (APPLICATION_JSON, "Application", False, 4000),
    "import_logs_page": (IMPORT_LOGS_JSON, "ApplicationImportExecution", True, 300),
    "search_result": (SEARCH_JSON, "ApplicationSearchResultItem", True, 600),
}


def _timed(fn: Callable[[], object], iterations: int) -> Sample:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(iterations):
        fn()
    return Sample(iterations, time.process_time() - cpu, time.perf_counter() - wall)


def decode(case: str, scale: float = 1.0) -> tuple[Sample, Sample]:
    """``json.loads`` alone, then ``json.loads`` + the converter, on one canned body."""
    from losant_async import _models
    from losant_async._convert import structure, structure_list

    body, model_name, is_list, base = DECODE_CASES[case]
    model = getattr(_models, model_name)
    iterations = max(1, int(base * scale))
    loads = json.loads

    def convert() -> object:
        if is_list:
            return structure_list(loads(body), model)
        return structure(loads(body), model)

    convert()  # build and cache the converter's hooks outside the clock
    gc.collect()
    return _timed(lambda: loads(body), iterations), _timed(convert, iterations)
