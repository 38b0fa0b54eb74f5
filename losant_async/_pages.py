"""``AsyncPager``: one page awaited, or every item across pages iterated.

Losant's collection actions take ``page`` (0-based) and ``perPage`` and
answer a page model with ``items``, ``totalCount`` and ``perPage``. A
generated ``get`` returns an ``AsyncPager`` built on a ``fetch(page)``
callable that fetches page N with every other parameter fixed:

- ``await pager`` fetches the one page asked for (one request);
- ``async for item in pager`` walks the items of that page and the following
  ones, stopping at the reported total (openai-python's ``AsyncPaginator``
  shape), and ``pager.pages()`` walks the page models.

Pages ahead are fetched concurrently in bounded batches *inside* the
iterator's own ``__anext__`` calls: a batch's task group opens and closes
within one call, so no task, request or connection outlives it. Breaking out
of the loop, a cancellation or an error therefore leaves nothing behind,
whether or not the iterator is ever closed (the PEP 533 hazard of a task
group held across a ``yield`` does not arise).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["AsyncPager"]

PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")

DEFAULT_PREFETCH = 2


def _check_int(name: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < least:
        raise ValueError(f"{name} must be >= {least}")
    return value


def page_items(page: object) -> Sequence[Any]:
    """A page model's ``items`` (``None`` or missing: none)."""
    items = getattr(page, "items", None)
    return items if items is not None else ()


def _total(page: object) -> int | None:
    # ``totalCount`` is the collection's size. Losant's ``count`` is the
    # number of items on this page, never the total, so it is not read.
    total = getattr(page, "total_count", None)
    if isinstance(total, int | float) and not isinstance(total, bool) and total >= 0:
        return int(total)
    return None


class AsyncPager(Generic[PageT, ItemT]):
    """One paged call: ``await`` it for a page, ``async for`` it for the items.

    ::

        page = await app.devices.get(per_page=100)         # Devices: one page
        async for device in app.devices.get(per_page=100):  # Device: every item
            ...
        async for page in app.devices.get().pages():        # Devices, page by page
            ...

    Iteration starts at ``page`` and ends after the last page the reported
    total (``totalCount``) calls for, at an empty page, or (without a total)
    at a page shorter than the server's ``perPage``. ``limit`` caps the items
    yielded (and the pages fetched). Up to ``prefetch`` pages beyond the one
    needed are fetched concurrently with it, so at most ``prefetch + 1``
    requests are in flight and as many pages held; ``prefetch=0`` fetches
    one page at a time. Requests run only inside the iterator's calls, so
    leaving the loop early (``break``, an exception, a cancellation) leaves
    no request behind. An error fetching a page is raised when iteration
    reaches that page, after the items of the pages before it.

    Each ``async for`` (or ``pages()``) starts afresh from ``page``; awaiting
    the pager again sends the request again.
    """

    __slots__ = ("_fetch", "_limit", "_page", "_per_page", "_prefetch")

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[PageT]],
        *,
        page: int,
        per_page: int,
        limit: int | None = None,
        prefetch: int = DEFAULT_PREFETCH,
    ) -> None:
        self._fetch = fetch
        self._page = _check_int("page", page, 0)
        self._per_page = _check_int("per_page", per_page, 1)
        self._limit = None if limit is None else _check_int("limit", limit, 0)
        self._prefetch = _check_int("prefetch", prefetch, 0)

    def __repr__(self) -> str:
        return (
            f"<AsyncPager page={self._page} per_page={self._per_page} "
            f"limit={self._limit} prefetch={self._prefetch}>"
        )

    def __await__(self) -> Generator[Any, None, PageT]:
        return self._get().__await__()

    async def _get(self) -> PageT:
        return await self._fetch(self._page)

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return _Items(_Pages(self))

    def pages(self) -> AsyncIterator[PageT]:
        """The page models from ``page`` on (``limit`` bounds the pages fetched)."""
        return _Pages(self)


class _Pages(Generic[PageT]):
    """The page models in order, fetched in bounded concurrent batches."""

    __slots__ = (
        "_buffer",
        "_done",
        "_fetch",
        "_last",
        "_next",
        "_per_page",
        "_prefetch",
        "limit",
    )

    def __init__(self, pager: AsyncPager[PageT, Any]) -> None:
        self._fetch = pager._fetch
        self._prefetch = pager._prefetch
        self._per_page = pager._per_page
        self.limit = pager._limit
        self._next = pager._page  # the next page number to fetch
        # The last page number to fetch; None: unknown until the first page.
        self._last: int | None = None
        if pager._limit is not None:
            wanted = math.ceil(pager._limit / pager._per_page)
            self._last = pager._page + max(wanted, 1) - 1
        # Fetched pages, in order, each a page or the error fetching it.
        self._buffer: deque[tuple[PageT | None, BaseException | None]] = deque()
        self._done = False

    def __aiter__(self) -> _Pages[PageT]:
        return self

    async def aclose(self) -> None:
        """End the iteration (nothing is in flight between calls)."""
        self._done = True
        self._buffer.clear()

    async def __anext__(self) -> PageT:
        if not self._buffer:
            if self._done:
                raise StopAsyncIteration
            await self._refill()
        page, error = self._buffer.popleft()
        if error is not None:
            self._done = True
            self._buffer.clear()
            raise error
        assert page is not None  # one of the two is always set
        self._after(page)
        return page

    def _after(self, page: PageT) -> None:
        """Learn where to stop from a page just handed out."""
        items = page_items(page)
        if not items:
            self._done = True
            self._buffer.clear()
            return
        served = getattr(page, "per_page", None)
        per_page = served if isinstance(served, int) and served > 0 else self._per_page
        total = _total(page)
        if total is not None:
            last = max(math.ceil(total / per_page) - 1, 0)
            if self._last is None or last < self._last:
                self._last = last
        elif len(items) < per_page:
            self._done = True
            self._buffer.clear()
            return
        number = getattr(page, "page", None)
        if isinstance(number, int) and self._last is not None and number >= self._last:
            self._done = True
            self._buffer.clear()

    async def _refill(self) -> None:
        first = self._next
        if self._last is not None and first > self._last:
            self._done = True
            raise StopAsyncIteration
        # Until the first page tells the total, fetch one page at a time:
        # pages past the end would be wasted requests.
        count = 1 if self._last is None else min(1 + self._prefetch, self._last - first + 1)
        self._next = first + count
        if count == 1:
            try:
                self._buffer.append((await self._fetch(first), None))
            except Exception as exc:
                self._buffer.append((None, exc))
            return
        results: list[tuple[PageT | None, BaseException | None]] = [(None, None)] * count

        async def one(index: int) -> None:
            try:
                results[index] = (await self._fetch(first + index), None)
            except Exception as exc:  # raised in order, at its page
                results[index] = (None, exc)

        async with anyio.create_task_group() as tasks:
            for index in range(count):
                tasks.start_soon(one, index)
        self._buffer.extend(results)


class _Items(Generic[ItemT]):
    """The items of the pages in order, at most ``limit`` of them."""

    __slots__ = ("_items", "_left", "_pages")

    def __init__(self, pages: _Pages[Any]) -> None:
        self._pages = pages
        self._items: deque[ItemT] = deque()
        self._left: int | None = None

    def __aiter__(self) -> _Items[ItemT]:
        return self

    async def aclose(self) -> None:
        """End the iteration (nothing is in flight between calls)."""
        self._items.clear()
        await self._pages.aclose()

    async def __anext__(self) -> ItemT:
        if self._left is None:
            limit = self._pages.limit
            self._left = -1 if limit is None else limit
        if self._left == 0:
            await self.aclose()
            raise StopAsyncIteration
        while not self._items:
            page = await self._pages.__anext__()
            self._items.extend(page_items(page))
        if self._left > 0:
            self._left -= 1
        return self._items.popleft()
