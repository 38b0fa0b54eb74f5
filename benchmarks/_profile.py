"""cProfile of losant_async's own layer on the ``get`` and decode paths.

``run.py --profile`` calls ``run``: it profiles ``app.get()`` at concurrency
64 and 1 against the canned server and ``structure`` of an Application, and
writes ``profile.txt`` (the top entries overall and those in
``losant_async/``) next to the results. Profiling slows every call several
times over: read the shares, not the absolute times.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import anyio

from . import _drivers
from ._server import APPLICATION_JSON

_TOP: Final = 25
_OURS: Final = "/losant_async/"


def _entries(stats: pstats.Stats, *, ours_only: bool, key: str) -> list[dict[str, Any]]:
    table = stats.stats  # type: ignore[attr-defined]
    out = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in table.items():
        if ours_only and _OURS not in filename:
            continue
        short = filename.split(_OURS, 1)[1] if _OURS in filename else Path(filename).name
        out.append(
            {
                "function": f"{short}:{line}({func})",
                "ncalls": ncalls,
                "tottime_s": round(tottime, 5),
                "cumtime_s": round(cumtime, 5),
            }
        )
    out.sort(key=lambda e: e[key], reverse=True)
    return out[:_TOP]


def _profile(label: str, fn: Callable[[], object], ops: int) -> tuple[str, dict[str, Any]]:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in table.values())
    ours = sum(v[2] for k, v in table.items() if _OURS in k[0])
    summary = {
        "label": label,
        "ops": ops,
        "total_tottime_s": round(total, 4),
        "losant_async_share": round(ours / total, 3) if total else 0.0,
        "top_overall": _entries(stats, ours_only=False, key="tottime_s"),
        "top_losant_async_tottime": _entries(stats, ours_only=True, key="tottime_s"),
        "top_losant_async_cumtime": _entries(stats, ours_only=True, key="cumtime_s"),
    }
    buf = io.StringIO()
    buf.write(f"== {label}: {ops} ops; losant_async/ holds {summary['losant_async_share']:.1%}")
    buf.write(" of profiled self time ==\n")
    pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(_TOP)
    buf.write(f"-- {label}: losant_async/ only, by cumulative time --\n")
    pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(_OURS, _TOP)
    return buf.getvalue(), summary


def run(base_url: str, out_dir: Path, *, get_ops: int = 2000, decode_ops: int = 5000) -> list[Any]:
    """Profile the three paths, write ``out_dir/profile.txt``, return the summaries."""
    import json

    from losant_async import _models
    from losant_async._convert import structure

    body = APPLICATION_JSON

    def decode() -> None:
        for _ in range(decode_ops):
            structure(json.loads(body), _models.Application)

    structure(json.loads(body), _models.Application)  # hooks built outside the profile
    jobs: list[tuple[str, Callable[[], object], int]] = [
        (
            "get c=64 (asyncio)",
            lambda: anyio.run(_drivers.get_losant_async, base_url, get_ops, 64),
            get_ops,
        ),
        (
            "get c=1 (asyncio)",
            lambda: anyio.run(_drivers.get_losant_async, base_url, get_ops // 4, 1),
            get_ops // 4,
        ),
        ("decode Application", decode, decode_ops),
    ]
    texts, summaries = [], []
    for label, fn, ops in jobs:
        text, summary = _profile(label, fn, ops)
        texts.append(text)
        summaries.append(summary)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "profile.txt").write_text("\n".join(texts))
    return summaries
