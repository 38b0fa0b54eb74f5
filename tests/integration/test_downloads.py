"""JobOutcome.download over real sockets: 50 MB streamed with flat memory, no token sent."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import anyio
import anyio.abc
import pytest

from losant_async._jobs._values import JobOutcome
from tests.integration._scripted import Request, scripted_server

pytestmark = pytest.mark.anyio

SIZE = 50 * 1024 * 1024
BLOCK = b"0123456789abcdef" * 4096  # 64 KiB


async def _file(request: Request, stream: anyio.abc.ByteStream) -> bool:
    await stream.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\n"
        + f"Content-Length: {SIZE}\r\n\r\n".encode()
    )
    for _ in range(SIZE // len(BLOCK)):
        await stream.send(BLOCK)
    return True


async def test_fifty_megabytes_flat_memory_no_token(tmp_path: Path) -> None:
    async with scripted_server(_file) as server:
        url = f"{server.base_url}/exports/devices.csv?sig=abc"
        outcome = JobOutcome(
            "completed",
            output={"downloadUrls": [url]},
            timeout={"connect": 5.0, "read": 10.0, "write": 10.0, "pool": 5.0},
        )
        tracemalloc.start()
        try:
            with anyio.fail_after(60):
                target = await outcome.download(tmp_path / "devices.csv")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (await anyio.Path(target).stat()).st_size == SIZE
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while downloading 50 MB"
    (request,) = server.requests
    assert "authorization" not in request.headers
    assert request.path == "/exports/devices.csv"
    assert request.query == {"sig": "abc"}


async def test_a_body_cut_short_fails_and_leaves_no_file(tmp_path: Path) -> None:
    async def short(request: Request, stream: anyio.abc.ByteStream) -> bool:
        await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000)
        return False  # closes the connection mid-body

    from losant_async._exceptions import APIConnectionError

    async with scripted_server(short) as server:
        outcome = JobOutcome("completed", output={"downloadUrls": [f"{server.base_url}/f"]})
        with anyio.fail_after(10), pytest.raises(APIConnectionError):
            await outcome.download(tmp_path / "f.bin")
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []
