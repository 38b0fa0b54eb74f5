"""Smoke tests of the benchmark harness: tiny counts, no timing assertions."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _drivers, _drivers_lag, _report, _server  # noqa: E402
from benchmarks.run import canned_server  # noqa: E402


def _raw_get(port: int, target: str) -> bytes:
    """One HTTP/1.1 request with ``Connection: close``; the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        for _ in range(10_000):
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_canned_payloads_decode_to_models() -> None:
    """The canned bodies decode through the converter into the expected models."""
    from losant_async._convert import structure, structure_list
    from losant_async._models import (
        Application,
        ApplicationImportExecution,
        ApplicationSearchResultItem,
    )

    app = structure(json.loads(_server.APPLICATION_JSON), Application)
    assert app.id == _server.APP_ID
    assert app.name == "Cold Chain Monitoring"
    assert app.blob_url_ttl == 86400
    assert 1200 < len(_server.APPLICATION_JSON) < 2000
    logs = structure_list(json.loads(_server.IMPORT_LOGS_JSON), ApplicationImportExecution)
    assert len(logs) == 25
    found = structure_list(json.loads(_server.SEARCH_JSON), ApplicationSearchResultItem)
    assert [item.type for item in found[:3]] == ["device", "flow", "dashboard"]


def test_decode_driver_returns_both_samples() -> None:
    """``decode`` measures json.loads alone and json.loads + converter, same count."""
    for case in _drivers.DECODE_CASES:
        loads, converted = _drivers.decode(case, scale=0.001)
        assert loads.ops == converted.ops >= 1
        assert loads.cpu >= 0
        assert converted.cpu >= 0


def test_server_answers_get_and_stream_on_the_wire() -> None:
    """The canned server sends the Application with a content-length, and N SSE events."""
    with _server.in_thread() as url:
        port = int(url.rsplit(":", 1)[1])
        answer = _raw_get(port, f"/applications/{_server.APP_ID}?_links=true")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert f"content-length: {len(_server.APPLICATION_JSON)}".encode() in head
        assert body == _server.APPLICATION_JSON
        stream = _raw_get(port, f"/applications/{_server.stream_app_id(3)}/mqttSubscriptionStream")
        head, _, body = stream.partition(b"\r\n\r\n")
        assert b"content-type: text/event-stream" in head
        assert body.count(b"event: mqttMessage\n") == 3
        assert body.endswith(b"0\r\n\r\n")
        missing = _raw_get(port, "/devices")
        assert missing.startswith(b"HTTP/1.1 404 ")


@pytest.mark.anyio
async def test_get_driver_runs_a_handful_of_requests() -> None:
    """The losant_async ``get`` driver completes exactly the requested operations."""
    with _server.in_thread() as url:
        sample = await _drivers.get_losant_async(url, 6, 2)
    assert sample.ops == 6
    assert sample.cpu >= 0
    assert sample.wall > 0


@pytest.mark.anyio
async def test_losant_stream_driver_reads_exactly_n_events() -> None:
    """The losant_async stream driver reads the N canned events and stops."""
    with _server.in_thread() as url:
        sample = await _drivers.stream_losant_async(url, 50)
    assert sample.ops == 50


# The suite runs raw httpx-sse on asyncio only: under trio its inner byte
# iterators are left to the garbage collector, which trio reports.
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_httpx_sse_stream_driver_reads_exactly_n_events() -> None:
    """The raw httpx-sse stream driver reads the N canned events and stops."""
    with _server.in_thread() as url:
        sample = await _drivers.stream_httpx_sse(url, 50, decode_json=True)
    assert sample.ops == 50


@pytest.mark.anyio
async def test_lagging_consumer_driver_reads_the_whole_body() -> None:
    """The lagging-consumer driver reads all 2 MiB after its lag and reports a stall."""
    result = await _drivers_lag.lagging_consumer(lag=0.01)
    assert result["body_bytes"] >= 0.9 * _drivers_lag.TOTAL_BYTES
    assert result["stall_ms"] >= 0


def test_report_rows_for_lag_and_one_client() -> None:
    """The lag rows and the one-client open-streams row appear, naming their clients."""
    many = {"streams": 1000, "growth": 1e7, "per_stream": 1e4, "open_seconds": 1.0}
    raw: dict[str, list[Any]] = {
        "lag/asyncio": [{"stall_ms": 10.0, "catch_up_ms": 20.0}] * 3,
        "memory/many/losant_async": [{**many, "clients": 20}],
        "memory/many1/losant_async": [{**many, "clients": 1}],
    }
    rows = _report.rows(raw)
    clients = [r["client"] for r in rows if r["benchmark"] == "RSS with 1,000 open streams"]
    assert clients == ["losant_async (20 clients)", "losant_async (1 client)"]
    (lag,) = [r for r in rows if r["benchmark"].startswith("lagging consumer")]
    assert (lag["median"], lag["passed"]) == (10.0, True)


def test_report_marks_targets_pass_and_fail() -> None:
    """Rows carry ratios against the baseline and PASS/FAIL from the issue's targets."""

    def samples(us: float) -> list[dict[str, float]]:
        return [{"ops": 1000, "cpu": us * 1000 / 1e6, "wall": 1.0}] * 3

    raw: dict[str, list[Any]] = {
        "get/c64/losant_async/asyncio": samples(85.0),
        "get/c64/losant_async/trio": samples(140.0),
        "get/c64/aiohttp/asyncio": samples(100.0),
        "get/c64/losant-rest/threads": samples(400.0),
        "startup/import": [0.2, 0.2, 0.2],
    }
    rows = {(r["benchmark"], r["client"]): r for r in _report.rows(raw)}
    assert rows["get c=64", "losant_async (asyncio)"]["passed"] is True
    assert rows["get c=64", "losant_async (asyncio)"]["vs"] == "0.85x aiohttp"
    assert rows["get c=64", "losant_async (trio)"]["passed"] is False
    assert rows["get c=64", "losant_async vs losant-rest"]["passed"] is True
    startup = next(r for r in rows.values() if r["benchmark"] == "start-up")
    assert startup["passed"] is False
    meta = {
        "machine": {"cpu": "x", "cores": 2, "python": "3", "platform": "p", "httpx": "1"}
        | {"aiohttp": "2"},
        "command": "python benchmarks/run.py",
        "mode": "quick",
        "elapsed_s": 1.0,
        "pinning": {},
    }
    table = _report.markdown(list(rows.values()), meta)
    assert "| get c=64 | losant_async (trio) | 140.0 | µs CPU/op |" in table
    assert "**FAIL**" in table
    assert "PASS" in table


def test_canned_server_process_is_always_stopped() -> None:
    """``run.canned_server`` ends its subprocess on exit, also when the body raises."""
    seen: dict[str, object] = {}

    def serve_then_fail() -> None:
        with canned_server(pin=False, lifetime=30) as (url, info):
            seen.update(info, url=url)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        serve_then_fail()
    assert str(seen["url"]).startswith("http://127.0.0.1:")
    pid = seen["pid"]
    assert isinstance(pid, int)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
