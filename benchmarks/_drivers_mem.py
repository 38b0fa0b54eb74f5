"""Drivers that need a fresh process: RSS of long and of many streams, start-up time.

The RSS drivers run as ``python -m benchmarks._drivers_mem <what> ...`` (so
that nothing else the suite did sits in the heap) and print one JSON object
on their last line; ``run.py`` starts them with a timeout. Start-up times are
measured from here with subprocesses.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from typing import Final

import anyio
import anyio.lowlevel

ROOT: Final = Path(__file__).resolve().parent.parent
_PAGE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# Streams per client in the spread-out row (streams shared the 100 pooled
# connections before issue 11); `--clients 1` puts them all on one client.
_STREAMS_PER_CLIENT: Final = 50


def rss_bytes() -> int:
    """This process's resident set size now (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _settled_rss() -> int:
    gc.collect()
    return rss_bytes()


# -- RSS over one long stream ------------------------------------------------------


async def _long_stream(base_url: str, events: int, warm: int, client: str) -> dict[str, object]:
    from benchmarks._drivers import DEFAULT_QUERY, HEADERS, TOKEN
    from benchmarks._server import TOPIC, stream_app_id

    seen = 0
    before = 0
    with anyio.fail_after(600):
        if client == "losant_async":
            from losant_async import AsyncLosant

            async with AsyncLosant(TOKEN, base_url=base_url) as losant:
                app = losant.application(stream_app_id(events))
                async with app.mqtt_subscription_stream(TOPIC) as stream:
                    async for _msg in stream:
                        seen += 1
                        if seen == warm:
                            before = _settled_rss()
                        if seen >= events:
                            break
                    after = _settled_rss()
        else:
            import httpx
            import httpx_sse

            url = f"{base_url}/applications/{stream_app_id(events)}/mqttSubscriptionStream"
            params = {**DEFAULT_QUERY, "topic": TOPIC}
            async with (
                httpx.AsyncClient(headers=HEADERS, timeout=10.0) as http,
                httpx_sse.aconnect_sse(http, "GET", url, params=params) as source,
                aclosing(source.aiter_sse()) as sse_iter,
            ):
                async for sse in sse_iter:
                    if sse.event != "mqttMessage":
                        continue
                    json.loads(sse.data)
                    seen += 1
                    if seen == warm:
                        before = _settled_rss()
                    if seen >= events:
                        break
                after = _settled_rss()
    return {
        "events": seen,
        "warm_events": warm,
        "rss_after_warm": before,
        "rss_after_all": after,
        "growth": after - before,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


# -- RSS with many open streams ------------------------------------------------------


async def _many_streams(
    base_url: str, streams: int, client: str, clients: int | None = None
) -> dict[str, object]:
    from benchmarks._drivers import DEFAULT_QUERY, HEADERS, TOKEN
    from benchmarks._server import HOLD_APP_ID, TOPIC

    opened = 0
    all_open = anyio.Event()
    release = anyio.Event()
    if clients is None:
        clients = max(1, -(-streams // _STREAMS_PER_CLIENT))
    per_client = -(-streams // clients)
    async with AsyncExitStack() as stack:
        if client == "losant_async":
            from losant_async import AsyncLosant

            apps = []
            for _ in range(clients):
                losant = await stack.enter_async_context(AsyncLosant(TOKEN, base_url=base_url))
                apps.append(losant.application(HOLD_APP_ID))

            async def hold(i: int) -> None:
                nonlocal opened
                async with apps[i % clients].mqtt_subscription_stream(TOPIC) as stream:
                    await stream.__anext__()
                    opened += 1
                    if opened == streams or i < 0:
                        all_open.set()
                    await release.wait()

        else:
            import httpx
            import httpx_sse

            url = f"{base_url}/applications/{HOLD_APP_ID}/mqttSubscriptionStream"
            params = {**DEFAULT_QUERY, "topic": TOPIC}
            limits = httpx.Limits(max_connections=max(per_client + 1, _STREAMS_PER_CLIENT * 2))
            https = [
                await stack.enter_async_context(
                    httpx.AsyncClient(headers=HEADERS, timeout=10.0, limits=limits)
                )
                for _ in range(clients)
            ]

            async def hold(i: int) -> None:
                nonlocal opened
                async with (
                    httpx_sse.aconnect_sse(https[i % clients], "GET", url, params=params) as source,
                    aclosing(source.aiter_sse()) as sse_iter,
                ):
                    async for sse in sse_iter:
                        if sse.event == "mqttMessage":
                            json.loads(sse.data)
                            break
                    opened += 1
                    if opened == streams or i < 0:
                        all_open.set()
                    await release.wait()

        # One stream opened and closed first so that code paths are warm.
        async with anyio.create_task_group() as tg:
            tg.start_soon(hold, -1)  # i < 0: sets all_open as soon as it is open
            with anyio.fail_after(30):
                await all_open.wait()
            release.set()
        opened = 0
        release = anyio.Event()
        all_open = anyio.Event()
        before = _settled_rss()
        start = time.perf_counter()
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for i in range(streams):
                    tg.start_soon(hold, i)
                    if i % 50 == 49:
                        await anyio.lowlevel.checkpoint()  # let the accept queue drain
                await all_open.wait()
                open_s = time.perf_counter() - start
                after = _settled_rss()
                release.set()
    return {
        "streams": streams,
        "clients": clients,
        "rss_before": before,
        "rss_open": after,
        "growth": after - before,
        "per_stream": (after - before) / streams,
        "open_seconds": open_s,
    }


# -- start-up ------------------------------------------------------------------------


def import_time(reps: int, statement: str = "import losant_async") -> list[float]:
    """Seconds for ``statement`` in a fresh interpreter (in-process timer), one per rep."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = []
    for _ in range(reps):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def _cli_command() -> list[str]:
    script = Path(sys.executable).parent / "losant-async"
    if script.exists():
        return [str(script)]
    found = shutil.which("losant-async")
    return [found] if found else [sys.executable, "-m", "losant_async"]


def process_time_of(command: list[str], reps: int) -> list[float]:
    """Wall seconds from spawn to exit of ``command``, one per rep."""
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, timeout=60, check=True)
        out.append(time.perf_counter() - start)
    return out


_FIRST_GET: Final = (
    "import anyio; from losant_async import AsyncLosant\n"
    "async def main():\n"
    "    async with AsyncLosant(token='bench', base_url={url!r}) as client:\n"
    "        await client.application({app!r}).devices.get()\n"
    "anyio.run(main)"
)


def startup(reps: int, url: str | None = None) -> dict[str, list[float]]:
    """Interleaved: bare interpreter, the import, its first use, ``losant-async --help``.

    ``import losant_async`` loads names lazily; ``import_first_use`` also
    touches ``AsyncLosant`` (httpx; the rest waits for the first façade or
    request); ``import_httpx`` is its baseline (issue 17: at most 1.6x).
    """
    result: dict[str, list[float]] = {
        "python": [],
        "import": [],
        "import_first_use": [],
        "import_httpx": [],
        "cli_help": [],
    }
    if url is not None:
        result["first_devices_get"] = []
    for _ in range(reps):
        result["python"] += process_time_of([sys.executable, "-c", "pass"], 1)
        # The baseline of issue 17's first-use target (<= 1.6x).
        result["import_httpx"] += import_time(1, "import httpx")
        result["import"] += import_time(1)
        result["import_first_use"] += import_time(1, "from losant_async import AsyncLosant")
        result["cli_help"] += process_time_of([*_cli_command(), "--help"], 1)
        if url is not None:
            # Issue 14: the first call of a generated resource, imports included.
            from benchmarks._server import APP_ID

            first_get = _FIRST_GET.format(url=url, app=APP_ID)
            result["first_devices_get"] += import_time(1, f"exec({first_get!r})")
    return result


def run_subprocess(args: list[str], timeout: float) -> dict[str, object]:
    """Run ``python -m benchmarks._drivers_mem ARGS`` and return its JSON line."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._drivers_mem", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks._drivers_mem long|many --url URL [...]``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["long", "many"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--client", choices=["losant_async", "httpx-sse"], default="losant_async")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--warm", type=int, default=20_000)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument(
        "--clients",
        type=int,
        help=f"clients sharing the streams (default: {_STREAMS_PER_CLIENT} each)",
    )
    args = parser.parse_args(argv)
    if args.what == "long":
        warm = min(args.warm, max(1, args.events // 10))
        result = anyio.run(_long_stream, args.url, args.events, warm, args.client)
    else:
        result = anyio.run(_many_streams, args.url, args.streams, args.client, args.clients)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
