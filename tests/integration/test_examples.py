"""The runnable examples under examples/, each run against the local Losant."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
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
        if health.get("upstream") == "open" and (
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


def _load_fastapi_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLES / "fastapi_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wait_answering(url: str) -> httpx.Response:
    """Poll *url* until the server answers (bounded: 15 s)."""
    for _ in range(150):
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"{url} never answered")


def _wait_for(predicate: Callable[[], bool], what: str) -> None:
    for _ in range(100):  # bounded: 10 s
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_fastapi_example(env: dict[str, str], local_server: LocalLosant, app_id: str) -> None:
    """examples/fastapi_app.py serves the application as JSON and relays a topic as SSE."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "fastapi_app.py"), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        answer = _wait_answering(f"{base}/application")
        assert answer.status_code == 200
        data = answer.json()
        assert data["id"] == app_id
        assert data["name"] == "Test application"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["creation_date"])
        assert "_links" in data["extra"]
        assert httpx.get(f"{base}/openapi.json", timeout=5).status_code == 200
        before = local_server.open_streams
        with (
            httpx.Client(timeout=httpx.Timeout(10.0)) as browser,
            browser.stream("GET", f"{base}/events", params={"topic": "fastapi/+/state"}) as events,
        ):
            assert events.headers["content-type"].startswith("text/event-stream")
            lines = events.iter_lines()
            assert next(lines) == ": connected"  # the upstream subscription is open
            assert local_server.open_streams == before + 1
            local_server.publish(app_id, "fastapi/pump/state", "on")
            local_server.publish(app_id, "elsewhere/pump/state", "ignored")
            local_server.publish(app_id, "fastapi/fan/state", "off")
            assert _events(lines, 2) == [
                {"topic": "fastapi/pump/state", "message": "on"},
                {"topic": "fastapi/fan/state", "message": "off"},
            ]
        # The browser went away: the example closes its upstream subscription.
        _wait_for(lambda: local_server.open_streams == before, "the upstream stream to close")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert "Traceback" not in err


@pytest.mark.anyio
async def test_fastapi_example_lifespan_and_json_route(
    local_server: LocalLosant, app_id: str
) -> None:
    """The FastAPI example's lifespan opens and closes the client; its route returns JSON."""
    example = _load_fastapi_example()
    api = example.create_app(local_server.token, local_server.base_url, app_id)
    transport = httpx.ASGITransport(app=api)
    async with (
        api.router.lifespan_context(api),
        httpx.AsyncClient(transport=transport, base_url="http://example") as http,
    ):
        client = api.state.client
        answer = await http.get("/application")
        assert answer.status_code == 200
        assert answer.json()["id"] == app_id
        assert answer.json()["extra"]["_links"]
        assert not client.is_closed
    assert client.is_closed
