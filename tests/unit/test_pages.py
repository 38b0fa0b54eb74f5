"""AsyncPager: one page awaited, items across pages, bounded prefetch (fake fetch, no sockets)."""

from __future__ import annotations

from typing import Any

import anyio
import attrs
import pytest

from losant_async._pages import AsyncPager

pytestmark = pytest.mark.anyio


@attrs.frozen
class Page:
    items: list[int] | None
    total_count: int | None = None
    count: int | None = None
    page: int | None = None
    per_page: int | None = None


class Fetcher:
    """Pages of ``total`` numbered items; records calls and the peak in flight."""

    def __init__(
        self,
        total: int,
        per_page: int,
        *,
        report_total: bool = True,
        fail_at: int | None = None,
        delay: float = 0.0,
        server_per_page: int | None = None,
    ) -> None:
        self.total = total
        self.per_page = server_per_page or per_page
        self.report_total = report_total
        self.fail_at = fail_at
        self.delay = delay
        self.calls: list[int] = []
        self.in_flight = 0
        self.peak = 0
        self.finished = 0
        self.cancelled = 0

    async def __call__(self, page: int) -> Page:
        self.calls.append(page)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await anyio.sleep(self.delay)
            if page == self.fail_at:
                raise RuntimeError(f"page {page} failed")
            start = page * self.per_page
            items = list(range(start, min(start + self.per_page, self.total)))
            self.finished += 1
            return Page(
                items=items,
                total_count=self.total if self.report_total else None,
                count=len(items),
                page=page,
                per_page=self.per_page,
            )
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


async def _collect(pager: AsyncPager[Page, int]) -> list[int]:
    return [item async for item in pager]


async def test_await_gives_one_page() -> None:
    fetch = Fetcher(250, 100)
    page = await AsyncPager[Page, int](fetch, page=1, per_page=100)
    assert page.items == list(range(100, 200))
    assert fetch.calls == [1]


async def test_items_across_pages_in_order_each_once() -> None:
    fetch = Fetcher(1_005, 10)
    items = await _collect(AsyncPager(fetch, page=0, per_page=10))
    assert items == list(range(1_005))
    assert sorted(fetch.calls) == list(range(101))  # each page once, none past the end


async def test_count_is_not_taken_for_the_total() -> None:
    # Losant's `count` is the page's own size: reading it as the total would
    # stop after the first page.
    fetch = Fetcher(30, 10)
    assert await _collect(AsyncPager(fetch, page=0, per_page=10)) == list(range(30))


async def test_starts_at_the_page_asked_for() -> None:
    fetch = Fetcher(50, 10)
    assert await _collect(AsyncPager(fetch, page=3, per_page=10)) == list(range(30, 50))


@pytest.mark.parametrize("limit", [0, 1, 9, 10, 11, 35, 1000])
async def test_limit_caps_items_and_pages(limit: int) -> None:
    fetch = Fetcher(100, 10)
    items = await _collect(AsyncPager(fetch, page=0, per_page=10, limit=limit))
    assert items == list(range(min(limit, 100)))
    assert max(fetch.calls, default=0) <= max((limit - 1) // 10, 0)


async def test_without_a_total_stops_at_a_short_page() -> None:
    fetch = Fetcher(25, 10, report_total=False)
    assert await _collect(AsyncPager(fetch, page=0, per_page=10)) == list(range(25))
    assert fetch.calls == [0, 1, 2]


async def test_without_a_total_stops_at_an_empty_page() -> None:
    fetch = Fetcher(20, 10, report_total=False)
    assert await _collect(AsyncPager(fetch, page=0, per_page=10)) == list(range(20))
    assert fetch.calls == [0, 1, 2]


async def test_none_items_end_the_iteration() -> None:
    async def fetch(page: int) -> Page:
        return Page(items=None, total_count=100)

    assert await _collect(AsyncPager(fetch, page=0, per_page=10)) == []


async def test_server_per_page_wins_over_the_one_asked() -> None:
    # A server that caps perPage: the pages to fetch follow what it served.
    fetch = Fetcher(50, 1000, server_per_page=10)
    assert await _collect(AsyncPager(fetch, page=0, per_page=1000)) == list(range(50))


@pytest.mark.parametrize("prefetch", [0, 1, 2, 5])
async def test_in_flight_is_bounded(prefetch: int) -> None:
    fetch = Fetcher(500, 10, delay=0.001)
    items = await _collect(AsyncPager(fetch, page=0, per_page=10, prefetch=prefetch))
    assert items == list(range(500))
    assert fetch.peak == prefetch + 1
    assert len(fetch.calls) == 50


async def test_pages_yields_page_models() -> None:
    fetch = Fetcher(35, 10)
    pages = [p async for p in AsyncPager[Page, int](fetch, page=0, per_page=10).pages()]
    assert [p.page for p in pages] == [0, 1, 2, 3]


async def test_break_leaves_nothing_in_flight() -> None:
    fetch = Fetcher(10_000, 10, delay=0.001)
    seen = 0
    async for _ in AsyncPager[Page, int](fetch, page=0, per_page=10, prefetch=3):
        seen += 1
        if seen == 25:
            break
    # Between __anext__ calls nothing runs: the batch finished inside the call.
    assert fetch.in_flight == 0
    await anyio.sleep(0.01)
    assert len(fetch.calls) <= 1 + 4 * 2


async def test_cancel_cancels_in_flight_fetches() -> None:
    fetch = Fetcher(10_000, 10, delay=10)
    fetch.delay = 0.0
    pager = AsyncPager[Page, int](fetch, page=0, per_page=10, prefetch=3)
    iterator = aiter(pager)
    await anext(iterator)  # the first page: total known
    fetch.delay = 10
    with anyio.move_on_after(0.05):
        while True:
            await anext(iterator)
    assert fetch.in_flight == 0
    assert fetch.cancelled == 4


async def test_error_raised_at_its_page_after_earlier_items() -> None:
    fetch = Fetcher(100, 10, fail_at=3)
    got: list[int] = []

    async def read() -> None:
        async for item in AsyncPager[Page, int](fetch, page=0, per_page=10):
            got.append(item)

    with pytest.raises(RuntimeError, match="page 3 failed"):
        await read()
    assert got == list(range(30))
    assert fetch.in_flight == 0


async def test_error_on_first_page_propagates() -> None:
    fetch = Fetcher(100, 10, fail_at=0)
    with pytest.raises(RuntimeError, match="page 0 failed"):
        await _collect(AsyncPager(fetch, page=0, per_page=10))
    with pytest.raises(RuntimeError):
        await AsyncPager[Page, int](fetch, page=0, per_page=10)


async def test_each_iteration_starts_afresh() -> None:
    fetch = Fetcher(20, 10)
    pager: AsyncPager[Page, int] = AsyncPager(fetch, page=0, per_page=10)
    assert await _collect(pager) == await _collect(pager) == list(range(20))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"page": -1, "per_page": 10}, ValueError),
        ({"page": 0, "per_page": 0}, ValueError),
        ({"page": 0, "per_page": 10, "limit": -1}, ValueError),
        ({"page": 0, "per_page": 10, "prefetch": -1}, ValueError),
        ({"page": True, "per_page": 10}, TypeError),
        ({"page": 0, "per_page": 1.5}, TypeError),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    async def fetch(page: int) -> Page:  # pragma: no cover - never called
        raise AssertionError

    with pytest.raises(error):
        AsyncPager(fetch, **kwargs)


def test_repr() -> None:
    async def fetch(page: int) -> Page:  # pragma: no cover - never called
        raise AssertionError

    assert "per_page=10" in repr(AsyncPager(fetch, page=0, per_page=10))
