"""The ``api`` group: a generated whole-API action against a hand-written one of the same size.

Issue 17: a generated action must cost within 10% of the same request written
by hand. The generated one is ``await app.devices.get()`` (``_api/devices.py``
from ``tools/gen_api.py``: argument checks, the query built, an ``AsyncPager``
awaited, ``Resource._call`` / ``_answer``); the hand-written one sends the same
``GET /applications/<id>/devices`` through the same transport and decodes it
with ``decode(response, Devices)``. Both decode the canned page of 100 devices
(``_server.DEVICES_JSON``), at concurrency 1 and 64, on asyncio and on trio.
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable
from typing import Any, Final

import anyio

from ._drivers import APP_ID, TOKEN, Sample, _measure

# Issue 17: generated within 10% of hand-written.
GENERATED_VS_HAND: Final = 1.10
BACKENDS: Final = ("asyncio", "trio")
CONCURRENCY: Final = (1, 64)
DEVICES_PATH: Final = f"/applications/{APP_ID}/devices"


async def devices_generated(base_url: str, n: int, concurrency: int) -> Sample:
    """``await app.devices.get()``: the generated action (a page of 100 ``Device``)."""
    from losant_async import AsyncLosant

    async with AsyncLosant(TOKEN, base_url=base_url) as client:
        app = client.application(APP_ID)

        def call() -> Any:
            return app.devices.get()

        return await _measure(call, n, concurrency)


async def devices_hand_written(base_url: str, n: int, concurrency: int) -> Sample:
    """The same request by hand: ``Transport.request`` + ``decode(response, Devices)``."""
    from losant_async import AsyncLosant
    from losant_async._convert import decode
    from losant_async._models._api.devices import Devices
    from losant_async._retry import RetryPolicy

    async with AsyncLosant(TOKEN, base_url=base_url) as client:
        transport = client._transport
        safe = RetryPolicy.SAFE

        async def call() -> Devices:
            return decode(await transport.request("GET", DEVICES_PATH, retry=safe), Devices)

        return await _measure(call, n, concurrency)


DRIVERS: Final = {"generated": devices_generated, "hand-written": devices_hand_written}


def run(
    url: str, sizes: dict[str, int], raw: dict[str, list[Any]], log: Callable[[str], None]
) -> None:
    """Every driver at each concurrency and backend, interleaved; samples into ``raw``."""
    jobs = [(name, b, c) for c in CONCURRENCY for b in BACKENDS for name in DRIVERS]
    n = sizes.get("api_calls", 200)
    for rep in range(sizes["reps"]):
        k = rep % len(jobs)
        for name, backend, c in jobs[k:] + jobs[:k]:
            gc.collect()  # each sample starts from the same collector state
            sample = anyio.run(DRIVERS[name], url, n, c, backend=backend)
            key = f"api/c{c}/{name}/{backend}"
            raw.setdefault(key, []).append(sample._asdict())
            log(f"  rep {rep + 1} {key}: {sample.cpu_us:8.1f} µs CPU/op, {sample.rate:7.0f}/s")


def rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Table rows: each driver's median, the generated one against the hand-written one."""
    from ._report import _per_op_us, _rates, _row

    out: list[dict[str, Any]] = []
    for c in CONCURRENCY:
        for backend in BACKENDS:
            hand = raw.get(f"api/c{c}/hand-written/{backend}")
            gen = raw.get(f"api/c{c}/generated/{backend}")
            if not hand or not gen:
                continue
            m_hand = statistics.median(_per_op_us(hand))
            m_gen = statistics.median(_per_op_us(gen))
            label = f"api devices.get (100 devices) c={c}"
            for name, samples, med in (("hand-written", hand, m_hand), ("generated", gen, m_gen)):
                ours = name == "generated"
                out.append(
                    _row(
                        label,
                        f"{name} ({backend})",
                        med,
                        "µs CPU/op",
                        values=_per_op_us(samples),
                        throughput=f"{statistics.median(_rates(samples)):,.0f} req/s",
                        vs=f"{med / m_hand:.3f}x hand-written" if ours else "",
                        target=f"≤ {GENERATED_VS_HAND:.2f}x hand-written" if ours else "",
                        passed=med <= GENERATED_VS_HAND * m_hand if ours else None,
                    )
                )
    return out
