"""The local Losant answers a keep-alive request in well under a millisecond or two, not ~40 ms.

A response goes out in two writes (headers, then body). Without TCP_NODELAY
on the accepted socket, Nagle holds the body back until the client ACKs the
headers, and the client's delayed ACK makes that about 40 ms on Linux, per
request. The bound below is generous (loaded CI machines) yet far under that.
"""

from __future__ import annotations

import http.client
import statistics
import time

import httpx
import pytest

from losant_async.testing import LocalLosant

REQUESTS = 50
MEDIAN_BOUND_MS = 15.0


def _port(server: LocalLosant) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def test_keep_alive_get_latency_http_client(local_server: LocalLosant, app_id: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", _port(local_server), timeout=5)
    headers = {"Authorization": f"Bearer {local_server.token}"}
    timings: list[float] = []
    try:
        for _ in range(REQUESTS):
            start = time.perf_counter()
            connection.request("GET", f"/applications/{app_id}", headers=headers)
            response = connection.getresponse()
            body = response.read()
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status == 200, body
    finally:
        connection.close()
    assert statistics.median(timings) < MEDIAN_BOUND_MS, sorted(timings)


@pytest.mark.anyio
async def test_keep_alive_get_latency_httpx(local_server: LocalLosant, app_id: str) -> None:
    timings: list[float] = []
    async with httpx.AsyncClient(
        base_url=local_server.base_url,
        headers={"Authorization": f"Bearer {local_server.token}"},
        timeout=5,
    ) as client:
        for _ in range(REQUESTS):
            start = time.perf_counter()
            response = await client.get(f"/applications/{app_id}")
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.text
    assert statistics.median(timings) < MEDIAN_BOUND_MS, sorted(timings)
