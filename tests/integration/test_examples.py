"""The runnable examples under examples/, each run against the local Losant."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from losant_async.testing import LocalLosant

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def env(local_server: LocalLosant, app_id: str) -> Iterator[dict[str, str]]:
    """Point an example at a fresh local application, with quick jobs."""
    before = local_server.job_duration
    local_server.job_duration = 0.3
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOSANT_")}
    env.update(
        LOSANT_API_URL=local_server.base_url,
        LOSANT_API_TOKEN=local_server.token,
        LOSANT_APPLICATION_ID=app_id,
        PYTHONUNBUFFERED="1",
    )
    yield env
    local_server.job_duration = before


def _run_example(name: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env=env,
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_plain_asyncio_example(env: dict[str, str]) -> None:
    """examples/plain_asyncio.py reads, patches, streams three messages and finishes an export."""
    out = _run_example("plain_asyncio.py", env)
    assert "application: Test application" in out
    assert "description: Touched by examples/plain_asyncio.py" in out
    for n in (1, 2, 3):
        assert f"message {n}: examples/asyncio/temperature " in out
    assert "export finished: completed" in out


def test_trio_example(env: dict[str, str]) -> None:
    """examples/with_trio.py streams four messages on trio and follows two jobs to the end."""
    out = _run_example("with_trio.py", env)
    assert "(on trio " in out
    states = [line for line in out.splitlines() if line.startswith("examples/trio/")]
    assert len(states) == 4
    assert "export finished: completed" in out
    assert "archive finished: completed" in out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(base: str, *, clients: int | None = None) -> dict[str, object]:
    """Poll /healthz until the relay is connected upstream (bounded: 15 s)."""
    for _ in range(150):
        try:
            health = httpx.get(f"{base}/healthz", timeout=2).json()
        except httpx.TransportError:
            health = {}
        if health.get("upstream") == "connected" and (
            clients is None or health.get("clients") == clients
        ):
            return dict(health)
        time.sleep(0.1)
    pytest.fail(f"relay not ready: {health}")


def _events(lines: Iterator[str], count: int) -> list[dict[str, object]]:
    """Read *count* mqttMessage events from an SSE line iterator."""
    events: list[dict[str, object]] = []
    name = ""
    for line in lines:
        if line.startswith("event:"):
            name = line.partition(":")[2].strip()
        elif line.startswith("data:") and name == "mqttMessage":
            events.append(json.loads(line.partition(":")[2]))
            if len(events) == count:
                break
    return events


def test_starlette_relay_example(env: dict[str, str]) -> None:
    """examples/starlette_relay.py relays one upstream stream to two SSE clients of its own."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "starlette_relay.py"), "--port", str(port),
         "--topic", "relay/+/state"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        timeout = httpx.Timeout(10.0)
        with (
            httpx.Client(timeout=timeout) as one,
            httpx.Client(timeout=timeout) as two,
            one.stream("GET", f"{base}/events") as first,
            two.stream("GET", f"{base}/events") as second,
        ):
            assert first.headers["content-type"].startswith("text/event-stream")
            lines_1, lines_2 = first.iter_lines(), second.iter_lines()
            # ": connected" means the relay registered the client.
            assert next(lines_1) == ": connected"
            assert next(lines_2) == ": connected"
            for n in range(3):
                answer = httpx.post(
                    f"{base}/publish",
                    json={"topic": f"relay/pump{n}/state", "message": f"on {n}"},
                    timeout=timeout,
                )
                assert answer.json() == {"success": True}
            expected = [{"topic": f"relay/pump{n}/state", "message": f"on {n}"} for n in range(3)]
            assert _events(lines_1, 3) == expected
            assert _events(lines_2, 3) == expected
        # Both clients gone: the relay forgets them.
        _wait_healthy(base, clients=0)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert "Traceback" not in err
