"""AsyncPager over real sockets: 10,000 items from a scripted server on 127.0.0.1."""

from __future__ import annotations

import anyio
import anyio.abc
import pytest

from losant_async._convert import decode
from losant_async._models import ApplicationJobLog, ApplicationJobLogs
from losant_async._pages import AsyncPager
from losant_async._retry import RetryPolicy
from losant_async._transport import Transport
from tests.integration._scripted import Request, scripted_server, send_json

pytestmark = pytest.mark.anyio

TOTAL = 10_000
APP = "575ec8687ae143cd83dc4a97"


def _log(n: int) -> dict[str, object]:
    return {"id": f"{n:024x}", "name": "ArchiveData", "status": "completed"}


async def _pages(request: Request, stream: anyio.abc.ByteStream) -> bool:
    page, per_page = int(request.query.get("page", "0")), int(request.query["perPage"])
    await anyio.sleep(0.002)  # a little latency, so requests overlap
    start = page * per_page
    items = [_log(n) for n in range(start, min(start + per_page, TOTAL))]
    body = {
        "items": items,
        "count": len(items),
        "totalCount": TOTAL,
        "perPage": per_page,
        "page": page,
    }
    await send_json(stream, 200, body)
    return True


def _pager(
    transport: Transport, *, per_page: int, prefetch: int, limit: int | None = None
) -> AsyncPager[ApplicationJobLogs, ApplicationJobLog]:
    async def fetch(page: int) -> ApplicationJobLogs:
        response = await transport.request(
            "GET",
            f"/applications/{APP}/jobLogs",
            retry=RetryPolicy.SAFE,
            params=[("page", str(page)), ("perPage", str(per_page))],
        )
        return decode(response, ApplicationJobLogs)

    return AsyncPager(fetch, page=0, per_page=per_page, limit=limit, prefetch=prefetch)


@pytest.mark.parametrize("prefetch", [0, 2, 4])
async def test_ten_thousand_items_each_once_in_order(prefetch: int) -> None:
    async with (
        scripted_server(_pages) as server,
        Transport(token="tok", base_url=server.base_url, timeout=10.0) as transport,
    ):
        with anyio.fail_after(60):
            ids = [log.id async for log in _pager(transport, per_page=100, prefetch=prefetch)]
    assert ids == [f"{n:024x}" for n in range(TOTAL)]
    pages = sorted(int(r.query.get("page", "0")) for r in server.requests)
    assert pages == list(range(100))  # each page requested once, none past the end
    assert server.peak <= prefetch + 1
    if prefetch:
        assert server.peak > 1  # pages were fetched concurrently


async def test_awaiting_gives_one_page() -> None:
    async with (
        scripted_server(_pages) as server,
        Transport(token="tok", base_url=server.base_url, timeout=10.0) as transport,
    ):
        page = await _pager(transport, per_page=250, prefetch=2)
    assert page.total_count == TOTAL
    assert len(page.items or []) == 250
    assert len(server.requests) == 1


async def test_break_leaves_no_request_in_flight() -> None:
    async with (
        scripted_server(_pages) as server,
        Transport(token="tok", base_url=server.base_url, timeout=10.0) as transport,
    ):
        seen = 0
        async for _ in _pager(transport, per_page=100, prefetch=3):
            seen += 1
            if seen == 150:
                break
        assert server.in_flight == 0
        await anyio.sleep(0.05)
        requested = len(server.requests)
        assert requested <= 1 + 4
    assert requested == len(server.requests)


async def test_limit_stops_requests() -> None:
    async with (
        scripted_server(_pages) as server,
        Transport(token="tok", base_url=server.base_url, timeout=10.0) as transport,
    ):
        got = [log async for log in _pager(transport, per_page=100, prefetch=2, limit=250)]
    assert len(got) == 250
    assert sorted(int(r.query.get("page", "0")) for r in server.requests) == [0, 1, 2]
