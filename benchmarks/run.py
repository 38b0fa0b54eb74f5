"""The benchmark suite of losant_async: one command, see ``benchmarks/README.md``.

    .venv/bin/python benchmarks/run.py            # full run, < 10 minutes
    .venv/bin/python benchmarks/run.py --quick    # small counts, < 60 s

Results: ``benchmarks/results/results.md`` (a table) and ``results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import anyio  # noqa: E402

from benchmarks import (  # noqa: E402
    _drivers,
    _drivers_api,
    _drivers_lag,
    _drivers_mem,
    _drivers_pages,
    _report,
)
from benchmarks._drivers import Sample  # noqa: E402

# Counts per mode. The full run is sized for < 10 minutes on 2 noisy cores.
SIZES: Final[dict[str, dict[str, int]]] = {
    "full": {
        "reps": 5,
        "get_c1": 800,
        "get_c64": 3200,
        "sdk_c1": 300,
        "sdk_c64": 1000,
        "stream_events": 300_000,
        "stream_reps": 3,
        "page_items": 100_000,
        "rss_events": 1_000_000,
        "open_streams": 1000,
        "decode_scale_pct": 100,
        "startup_reps": 10,
        "api_calls": 1000,
    },
    "quick": {
        "reps": 3,
        "get_c1": 100,
        "get_c64": 640,
        "sdk_c1": 40,
        "sdk_c64": 128,
        "stream_events": 20_000,
        "stream_reps": 3,
        "page_items": 20_000,
        "rss_events": 100_000,
        "open_streams": 100,
        "decode_scale_pct": 10,
        "startup_reps": 3,
        "api_calls": 200,
    },
}
GROUPS: Final = ("get", "stream", "decode", "memory", "startup", "lag", "pages", "api")
_SERVER_START_TIMEOUT: Final = 15.0


@contextlib.contextmanager
def canned_server(*, pin: bool, lifetime: float) -> Iterator[tuple[str, dict[str, object]]]:
    """Start ``_server.py`` in its own process (pinned to one core); always stop it."""
    cmd = [sys.executable, str(HERE / "_server.py"), "--watch-stdin", "--lifetime", str(lifetime)]
    info: dict[str, object] = {"server_cpu": None, "client_cpus": None}
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if pin and shutil.which("taskset") and len(cpus) >= 2:
        server_cpu = cpus[-1]
        cmd = ["taskset", "-c", str(server_cpu), *cmd]
        client_cpus = set(cpus) - {server_cpu}
        os.sched_setaffinity(0, client_cpus)
        info = {"server_cpu": server_cpu, "client_cpus": sorted(client_cpus)}
    # Its own session: a Ctrl-C reaches only us, and we stop the server ourselves.
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )
    info["pid"] = proc.pid

    def interrupt(signum: int, frame: object) -> None:
        # asyncio and trio may turn a Ctrl-C into a cancellation that a driver
        # absorbs; a handler of our own stops the server now and always raises.
        proc.terminate()
        raise KeyboardInterrupt

    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, interrupt)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], _SERVER_START_TIMEOUT)
        line = proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            raise RuntimeError("the canned server did not start")
        yield f"http://127.0.0.1:{int(line)}", info
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
        if info["client_cpus"] is not None:
            os.sched_setaffinity(0, cpus)


def _rotate(items: list[Any], rep: int) -> list[Any]:
    """Interleave: each repetition starts with a different driver."""
    k = rep % len(items) if items else 0
    return items[k:] + items[:k]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_get(url: str, sizes: dict[str, int], raw: dict[str, list[Any]]) -> None:
    """``get`` at concurrency 1 and 64 for every client, interleaved."""
    drivers: list[tuple[str, str, Callable[..., Any]]] = [
        ("losant_async", "asyncio", _drivers.get_losant_async),
        ("losant_async", "trio", _drivers.get_losant_async),
        ("httpx", "asyncio", _drivers.get_httpx),
        ("aiohttp", "asyncio", _drivers.get_aiohttp),
        ("losant-rest", "threads", _drivers.get_losant_rest),
        ("httpx+_http11", "asyncio", _drivers.get_httpx_lean),
    ]
    # The baselines of the bench extra, when it is not installed: the rest still runs.
    missing = {
        name
        for name, module in (("aiohttp", "aiohttp"), ("losant-rest", "losant_rest"))
        if importlib.util.find_spec(module) is None
    }
    for name in sorted(missing):
        _log(f"  {name} is not installed (the bench extra): its rows are skipped")
    drivers = [d for d in drivers if d[0] not in missing]
    jobs = [(d, c) for c in (1, 64) for d in drivers]
    for rep in range(sizes["reps"]):
        for (name, backend, fn), c in _rotate(jobs, rep):
            sdk = backend == "threads"
            n = sizes[f"{'sdk' if sdk else 'get'}_c{c}"]
            sample = fn(url, n, c) if sdk else anyio.run(fn, url, n, c, backend=backend)
            key = f"get/c{c}/{name}/{backend}"
            raw.setdefault(key, []).append(sample._asdict())
            _log(f"  rep {rep + 1} {key}: {sample.cpu_us:8.1f} µs CPU/op, {sample.rate:8.0f}/s")


def run_stream(url: str, sizes: dict[str, int], raw: dict[str, list[Any]]) -> None:
    """One stream of N events per driver, interleaved."""
    events = sizes["stream_events"]

    async def sse_json(base: str, n: int) -> Sample:
        return await _drivers.stream_httpx_sse(base, n, decode_json=True)

    drivers: list[tuple[str, str, Callable[..., Any]]] = [
        ("losant_async", "asyncio", _drivers.stream_losant_async),
        ("losant_async", "trio", _drivers.stream_losant_async),
        ("httpx-sse", "asyncio", _drivers.stream_httpx_sse),
        ("httpx-sse+json", "asyncio", sse_json),
    ]
    for rep in range(sizes["stream_reps"]):
        for name, backend, fn in _rotate(drivers, rep):
            sample = anyio.run(fn, url, events, backend=backend)
            key = f"stream/{name}/{backend}"
            raw.setdefault(key, []).append(sample._asdict())
            _log(f"  rep {rep + 1} {key}: {sample.cpu_us:6.2f} µs CPU/event, {sample.rate:9.0f}/s")


def run_decode(sizes: dict[str, int], raw: dict[str, list[Any]]) -> None:
    """The converter against ``json.loads`` alone, per canned body."""
    scale = sizes["decode_scale_pct"] / 100
    for rep in range(sizes["reps"]):
        for case in _rotate(list(_drivers.DECODE_CASES), rep):
            loads, converted = _drivers.decode(case, scale)
            raw.setdefault(f"decode/{case}/json.loads", []).append(loads._asdict())
            raw.setdefault(f"decode/{case}/losant_async", []).append(converted._asdict())
            _log(f"  rep {rep + 1} decode {case}: {loads.cpu_us:7.1f} / {converted.cpu_us:7.1f} µs")


def run_memory(url: str, sizes: dict[str, int], raw: dict[str, list[Any]]) -> None:
    """RSS over one long stream and with many open streams, each in a fresh process."""
    for client in ("losant_async", "httpx-sse"):
        args = ["long", "--url", url, "--client", client, "--events", str(sizes["rss_events"])]
        result = _drivers_mem.run_subprocess(args, timeout=240)
        raw[f"memory/long/{client}"] = [result]
        _log(f"  long stream {client}: {result['growth']} B growth over {result['events']} events")
    # Streams spread over clients of 50 each, and (issue 11) all on one client.
    for client, key, extra in (
        ("losant_async", "many", []),
        ("httpx-sse", "many", []),
        ("losant_async", "many1", ["--clients", "1"]),
    ):
        streams = str(sizes["open_streams"])
        args = ["many", "--url", url, "--client", client, "--streams", streams, *extra]
        result = _drivers_mem.run_subprocess(args, timeout=180)
        raw[f"memory/{key}/{client}"] = [result]
        _log(
            f"  {result['streams']} open streams {client} on {result['clients']} client(s): "
            f"{result['per_stream']:.0f} B each"
        )


def run_lag(sizes: dict[str, int], raw: dict[str, list[Any]]) -> None:
    """A stream consumer that lags 0.3 s: the event-loop stall when it catches up."""
    for rep in range(sizes["reps"]):
        for backend in _rotate(["asyncio", "trio"], rep):
            result = anyio.run(_drivers_lag.lagging_consumer, backend=backend)
            raw.setdefault(f"lag/{backend}", []).append(result)
            _log(f"  rep {rep + 1} lag/{backend}: {result['stall_ms']:.1f} ms stall")


def run_startup(sizes: dict[str, int], raw: dict[str, list[Any]], url: str) -> None:
    """``import losant_async`` and ``losant-async --help`` in fresh processes."""
    for name, values in _drivers_mem.startup(sizes["startup_reps"], url).items():
        raw[f"startup/{name}"] = values
        _log(f"  startup {name}: median {statistics.median(values) * 1e3:.1f} ms")


def machine() -> dict[str, object]:
    """Where the numbers came from."""
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import httpx

    try:
        from importlib.metadata import version

        aiohttp_version = version("aiohttp")
    except ImportError:  # PackageNotFoundError: the bench extra is not installed
        aiohttp_version = "not installed"
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "httpx": httpx.__version__,
        "aiohttp": aiohttp_version,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the selected groups and write ``results.md`` and ``results.json``."""
    parser = argparse.ArgumentParser(description="losant_async benchmarks")
    parser.add_argument("--quick", action="store_true", help="small counts (< 60 s)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma list of {GROUPS}")
    parser.add_argument("--reps", type=int, help="repetitions (default: by mode)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output directory")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile get/decode (results/profile.txt)"
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    sizes = dict(SIZES[mode])
    if args.reps:
        sizes["reps"] = sizes["stream_reps"] = args.reps
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s): {sorted(unknown)}")

    raw: dict[str, list[Any]] = {}
    started = time.perf_counter()
    lifetime = 120.0 if args.quick else 900.0
    with canned_server(pin=not args.no_pin, lifetime=lifetime) as (url, pinning):
        _log(f"canned server at {url} (pinning: {pinning})")
        if "startup" in groups:
            _log("startup ...")
            run_startup(sizes, raw, url)
        if "decode" in groups:
            _log("decode ...")
            run_decode(sizes, raw)
        if "get" in groups:
            _log("get ...")
            run_get(url, sizes, raw)
        if "stream" in groups:
            _log("stream ...")
            run_stream(url, sizes, raw)
        if "memory" in groups:
            _log("memory ...")
            run_memory(url, sizes, raw)
        if "lag" in groups:
            _log("lag ...")
            run_lag(sizes, raw)
        if "pages" in groups:
            _log("pages (device state stream vs MQTT, pagination) ...")
            _drivers_pages.run_group(sizes, raw, _log)
        if "api" in groups:
            _log("api (a generated action vs a hand-written one) ...")
            _drivers_api.run(url, sizes, raw, _log)
        profile = None
        if args.profile:
            from benchmarks import _profile

            _log("profile ...")
            profile = _profile.run(url, args.out)
    elapsed = time.perf_counter() - started
    meta = {
        "mode": mode,
        "sizes": sizes,
        "elapsed_s": round(elapsed, 1),
        "machine": machine(),
        "pinning": {k: v for k, v in pinning.items() if k != "pid"},
        "command": " ".join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])]),
    }
    rows = _report.rows(raw) + _drivers_pages.rows(raw) + _drivers_api.rows(raw)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "raw": raw, "profile": profile}, indent=2) + "\n"
    )
    table = _report.markdown(rows, meta)
    (args.out / "results.md").write_text(table)
    print(table)
    _log(f"done in {elapsed:.0f} s; wrote {args.out / 'results.md'} and results.json")
    failed = [r for r in rows if r["passed"] is False]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    try:
        code = main()
    except BaseExceptionGroup as group:
        if group.subgroup(KeyboardInterrupt) is None:
            raise
        code = 130
    except KeyboardInterrupt:
        code = 130
    if code == 130:
        _log("interrupted; the canned server was stopped")
    sys.exit(code)
