"""Turn raw samples into rows (medians, ratios, targets) and a markdown table."""

from __future__ import annotations

import statistics
from typing import Any, Final

# Issue 17's targets (get and streams), issue 7's for the rest.
GET_CPU_VS_AIOHTTP: Final = {"asyncio": 0.9, "trio": 1.0}
SDK_FEWER_US: Final = 3.0
STREAM_CPU_VS_SSE: Final = 0.4
STREAM_RATE: Final = 150_000
DECODE_APP_US: Final = 40.0
RSS_GROWTH_MB: Final = 5.0
IMPORT_MS: Final = 120.0
CLI_HELP_MS: Final = 250.0
# Issue 17: `from losant_async import AsyncLosant` at most this times `import httpx`.
FIRST_USE_VS_HTTPX: Final = 1.6
# Issue 11, defect 6: catching up after a 0.3 s lag stalled the loop 325 ms.
LAG_STALL_MS: Final = 50.0

_MB: Final = 1024 * 1024


def _per_op_us(samples: list[dict[str, float]]) -> list[float]:
    return [s["cpu"] / s["ops"] * 1e6 for s in samples]


def _rates(samples: list[dict[str, float]]) -> list[float]:
    return [s["ops"] / s["wall"] for s in samples if s["wall"] > 0]


def _spread(values: list[float], fmt: str = "{:.1f}") -> str:
    if len(values) < 2:
        return ""
    return f"{fmt.format(min(values))}-{fmt.format(max(values))}"


def _row(
    benchmark: str,
    client: str,
    median: float,
    unit: str,
    *,
    values: list[float] | None = None,
    throughput: str = "",
    vs: str = "",
    target: str = "",
    passed: bool | None = None,
    fmt: str = "{:.1f}",
) -> dict[str, Any]:
    return {
        "benchmark": benchmark,
        "client": client,
        "median": median,
        "unit": unit,
        "display": fmt.format(median),
        "spread": _spread(values or [], fmt),
        "n": len(values or []),
        "throughput": throughput,
        "vs": vs,
        "target": target,
        "passed": passed,
    }


def _get_rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for c in (1, 64):
        prefix = f"get/c{c}/"
        keys = [k for k in raw if k.startswith(prefix)]
        if not keys:
            continue
        med = {k: statistics.median(_per_op_us(raw[k])) for k in keys}
        aio = med.get(f"{prefix}aiohttp/asyncio")
        sdk = med.get(f"{prefix}losant-rest/threads")
        for key in keys:
            _, _, name, backend = key.split("/")
            us = med[key]
            rate = statistics.median(_rates(raw[key]))
            vs, target, passed = "", "", None
            if aio and name != "aiohttp":
                vs = f"{us / aio:.2f}x aiohttp"
            if name == "losant_async" and c == 64 and aio and backend in GET_CPU_VS_AIOHTTP:
                limit = GET_CPU_VS_AIOHTTP[backend]
                target = f"≤ {limit}x aiohttp (asyncio)"
                passed = us <= limit * aio
            rows.append(
                _row(
                    f"get c={c}",
                    f"{name} ({backend})",
                    us,
                    "µs CPU/op",
                    values=_per_op_us(raw[key]),
                    throughput=f"{rate:,.0f} req/s",
                    vs=vs,
                    target=target,
                    passed=passed,
                )
            )
        ours = med.get(f"{prefix}losant_async/asyncio")
        if ours and sdk:
            fewer = sdk / ours
            rows.append(
                _row(
                    f"get c={c}",
                    "losant_async vs losant-rest",
                    fewer,
                    "x fewer µs",
                    vs=f"{sdk:.0f} / {ours:.0f} µs",
                    target=f"≥ {SDK_FEWER_US:.0f}x fewer" if c == 64 else "",
                    passed=fewer >= SDK_FEWER_US if c == 64 else None,
                    fmt="{:.2f}",
                )
            )
    return rows


def _stream_rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    keys = [k for k in raw if k.startswith("stream/")]
    if not keys:
        return rows
    med = {k: statistics.median(_per_op_us(raw[k])) for k in keys}
    sse = med.get("stream/httpx-sse/asyncio")
    for key in keys:
        _, name, backend = key.split("/")
        us = med[key]
        rate = statistics.median(_rates(raw[key]))
        events = raw[key][0]["ops"]
        vs, target, passed = "", "", None
        if sse and name != "httpx-sse":
            vs = f"{us / sse:.2f}x httpx-sse"
        if name == "losant_async" and backend == "asyncio" and sse:
            target = f"≤ {STREAM_CPU_VS_SSE}x httpx-sse, ≥ {STREAM_RATE // 1000}k ev/s"
            passed = us <= STREAM_CPU_VS_SSE * sse and rate >= STREAM_RATE
        rows.append(
            _row(
                f"stream {events:,} events",
                f"{name} ({backend})",
                us,
                "µs CPU/event",
                values=_per_op_us(raw[key]),
                throughput=f"{rate:,.0f} ev/s",
                vs=vs,
                target=target,
                passed=passed,
                fmt="{:.2f}",
            )
        )
    return rows


def _decode_rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cases = sorted({k.split("/")[1] for k in raw if k.startswith("decode/")})
    for case in cases:
        loads = _per_op_us(raw[f"decode/{case}/json.loads"])
        ours = _per_op_us(raw[f"decode/{case}/losant_async"])
        m_loads, m_ours = statistics.median(loads), statistics.median(ours)
        rows.append(_row(f"decode {case}", "json.loads alone", m_loads, "µs", values=loads))
        target, passed = "", None
        if case == "application":
            target = f"≤ {DECODE_APP_US:.0f} µs"
            passed = m_ours <= DECODE_APP_US
        rows.append(
            _row(
                f"decode {case}",
                "losant_async (json.loads + converter)",
                m_ours,
                "µs",
                values=ours,
                vs=f"{m_ours / m_loads:.2f}x json.loads",
                target=target,
                passed=passed,
            )
        )
    return rows


def _memory_rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for client in ("losant_async", "httpx-sse"):
        result = raw.get(f"memory/long/{client}")
        if not result:
            continue
        r = result[0]
        growth = r["growth"] / _MB
        ours = client == "losant_async"
        rows.append(
            _row(
                f"RSS growth over {r['events']:,} events",
                client + ("" if ours else " (+json.loads)"),
                growth,
                "MB",
                vs=f"RSS {r['rss_after_all'] / _MB:.1f} MB at the end",
                target=f"< {RSS_GROWTH_MB:.0f} MB" if ours else "",
                passed=growth < RSS_GROWTH_MB if ours else None,
                fmt="{:.2f}",
            )
        )
    many = {
        c: raw[f"memory/many/{c}"][0]
        for c in ("losant_async", "httpx-sse")
        if raw.get(f"memory/many/{c}")
    }
    # Issue 11: each row says how many clients held the streams; one row has one.
    one = raw.get("memory/many1/losant_async")
    entries = [*many.items(), *([("losant_async", one[0])] if one else [])]
    for client, r in entries:
        per_kb = r["per_stream"] / 1024
        vs = f"{r['growth'] / _MB:.1f} MB total, opened in {r['open_seconds']:.1f} s"
        if client == "losant_async" and "httpx-sse" in many:
            vs += f"; {r['per_stream'] / many['httpx-sse']['per_stream']:.2f}x httpx-sse"
        clients = r.get("clients", 1)
        rows.append(
            _row(
                f"RSS with {r['streams']:,} open streams",
                f"{client} ({clients} client{'s' if clients != 1 else ''})",
                per_kb,
                "KB/stream",
                vs=vs,
            )
        )
    return rows


def _lag_rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for backend in ("asyncio", "trio"):
        samples = raw.get(f"lag/{backend}")
        if not samples:
            continue
        stalls = [s["stall_ms"] for s in samples]
        catch_up = statistics.median(s["catch_up_ms"] for s in samples)
        rows.append(
            _row(
                "lagging consumer (0.3 s behind a 2 MiB read of SSE-sized chunks)",
                f"losant_async._http11 ({backend})",
                statistics.median(stalls),
                "ms event-loop stall",
                values=stalls,
                vs=f"caught up in {catch_up:.0f} ms",
                target=f"≤ {LAG_STALL_MS:.0f} ms",
                passed=statistics.median(stalls) <= LAG_STALL_MS,
            )
        )
    return rows


def _startup_rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    spec = {
        "python": ("interpreter start-up (`python -c pass`)", None),
        "import": ("`import losant_async` (in-process timer)", IMPORT_MS),
        "import_first_use": ("`from losant_async import AsyncLosant` (first use)", None),
        "import_httpx": ("`import httpx` (baseline, in-process timer)", None),
        "first_devices_get": ("first `app.devices.get()`, imports included", None),
        "cli_help": ("`losant-async --help` (spawn to exit)", CLI_HELP_MS),
    }
    for key, (label, limit) in spec.items():
        values = raw.get(f"startup/{key}")
        if not values:
            continue
        ms = [v * 1e3 for v in values]
        med = statistics.median(ms)
        target, passed, vs = f"≤ {limit:.0f} ms" if limit else "", None, ""
        if limit:
            passed = med <= limit
        httpx_ms = raw.get("startup/import_httpx")
        if key == "import_first_use" and httpx_ms:
            base = statistics.median(httpx_ms) * 1e3
            vs = f"{med / base:.2f}x import httpx"
            target = f"≤ {FIRST_USE_VS_HTTPX}x import httpx"
            passed = med <= FIRST_USE_VS_HTTPX * base
        rows.append(
            _row("start-up", label, med, "ms", values=ms, vs=vs, target=target, passed=passed)
        )
    return rows


def rows(raw: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every result row, grouped as the table shows them."""
    return [
        *_get_rows(raw),
        *_stream_rows(raw),
        *_decode_rows(raw),
        *_memory_rows(raw),
        *_lag_rows(raw),
        *_startup_rows(raw),
    ]


def _pinning(pinning: dict[str, Any]) -> str:
    if pinning.get("server_cpu") is None:
        return "Not pinned."
    return f"Server pinned to CPU {pinning['server_cpu']}, client to {pinning['client_cpus']}."


def markdown(table_rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The results table, with the machine and the command that produced it."""
    m = meta["machine"]
    lines = [
        "# losant_async benchmark results",
        "",
        f"`{meta['command']}` ({meta['mode']} mode, {meta['elapsed_s']} s) on "
        f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
        f"httpx {m['httpx']}, aiohttp {m['aiohttp']}. {_pinning(meta['pinning'])}",
        "",
        "Medians of interleaved repetitions (n = repetitions; spread = min-max). "
        "CPU = user+sys of the client process only (the canned server is another process).",
        "",
        "| benchmark | client | median | unit | spread (n) | throughput | vs baseline | target "
        "| result |",
        "|---|---|---:|---|---|---:|---|---|---|",
    ]
    for r in table_rows:
        spread = f"{r['spread']} ({r['n']})" if r["spread"] else ""
        result = {True: "PASS", False: "**FAIL**", None: ""}[r["passed"]]
        lines.append(
            f"| {r['benchmark']} | {r['client']} | {r['display']} | {r['unit']} | {spread} "
            f"| {r['throughput']} | {r['vs']} | {r['target']} | {result} |"
        )
    return "\n".join(lines) + "\n"
