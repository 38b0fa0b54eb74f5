"""Device state history in compact columns, and the queries Losant answers from it.

One `Series` per device: the state times (ms since the epoch, ascending) in
an ``array('q')`` and one column per attribute aligned with them. A number
attribute's column is an ``array('d')`` (NaN where a state lacks it); any
other column is a list (None where absent). That is about 16 bytes per
numeric point, so a million points fit in tens of megabytes.

Aggregations are Losant's documented ones (`timeSeriesQuery.aggregation`):
FIRST, LAST, COUNT, MAX, MIN, MEDIAN, MEAN, SUM, STD_DEV and NONE (raw
points); TIMEATVALUE is answered as the milliseconds a bucket spent at the
value, measured between consecutive points of the bucket.
"""

from __future__ import annotations

import bisect
import itertools
import math
import statistics
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

Value = float | str | bool
Column: TypeAlias = "array[float] | list[Value | None]"

AGGREGATIONS = ("FIRST", "LAST", "COUNT", "MAX", "MIN", "MEDIAN", "MEAN", "SUM", "STD_DEV")
MAX_BUCKETS = 10_000
"""The most buckets one time-series query may ask for (a 400 beyond)."""
RAW_LIMIT = 1_000
"""The most raw points (aggregation NONE) per device in one answer."""

_NAN = math.nan


def wire(value: Value | None) -> Any:
    """A stored value as JSON carries it: integral floats as ints."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class Series:
    """The state history of one device."""

    __slots__ = ("columns", "times")

    def __init__(self) -> None:
        self.times: array[int] = array("q")
        self.columns: dict[str, Column] = {}

    def __len__(self) -> int:
        return len(self.times)

    @property
    def points(self) -> int:
        """How many attribute values are stored."""
        total = 0
        for column in self.columns.values():
            total += sum(1 for value in column if not _absent(value))
        return total

    def add(self, time_ms: int, data: dict[str, Value]) -> None:
        """Store one state (already coerced to the attributes' types) at `time_ms`."""
        times = self.times
        at = (
            len(times) if not times or times[-1] <= time_ms else bisect.bisect_right(times, time_ms)
        )
        times.insert(at, time_ms)
        for name, column in list(self.columns.items()):
            value = data.get(name)
            if value is None:
                if isinstance(column, array):
                    column.insert(at, _NAN)
                else:
                    column.insert(at, None)
                continue
            if isinstance(column, array):
                if isinstance(value, float) and not isinstance(value, bool):
                    column.insert(at, value)
                    continue
                # A non-number reaches a number column: keep it, as a list.
                column = self.columns[name] = list(column)
            column.insert(at, value)
        for name, value in data.items():
            if name in self.columns:
                continue
            if isinstance(value, float) and not isinstance(value, bool):
                numbers = array("d", [_NAN]) * len(times)
                numbers[at] = value
                self.columns[name] = numbers
            else:
                others: list[Value | None] = [None] * len(times)
                others[at] = value
                self.columns[name] = others

    def window(self, start: int, end: int) -> tuple[int, int]:
        """The index range of the states with start <= time <= end."""
        return bisect.bisect_left(self.times, start), bisect.bisect_right(self.times, end)

    def row(self, index: int, attributes: Sequence[str] | None = None) -> dict[str, Any]:
        names = self.columns if attributes is None else attributes
        data: dict[str, Any] = {}
        for name in names:
            column = self.columns.get(name)
            if column is None:
                continue
            value = column[index]
            if not _absent(value):
                data[name] = wire(value)
        return data

    def states(
        self, start: int, end: int, *, limit: int, descending: bool
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Up to `limit` (time, data) states in [start, end], newest first if `descending`."""
        lo, hi = self.window(start, end)
        indexes = range(hi - 1, lo - 1, -1) if descending else range(lo, hi)
        for count, index in enumerate(indexes):
            if count >= limit:
                return
            yield self.times[index], self.row(index)

    def last_values(
        self, start: int, end: int, attributes: Sequence[str] | None = None
    ) -> dict[str, tuple[int, Any]]:
        """For each attribute, its last (time, value) in [start, end]."""
        lo, hi = self.window(start, end)
        found: dict[str, tuple[int, Any]] = {}
        names = self.columns if attributes is None else attributes
        for name in names:
            column = self.columns.get(name)
            if column is None:
                continue
            for index in range(hi - 1, lo - 1, -1):
                value = column[index]
                if not _absent(value):
                    found[name] = (self.times[index], wire(value))
                    break
        return found

    def remove(self, start: int, end: int) -> int:
        """Delete the states in [start, end]; returns how many."""
        lo, hi = self.window(start, end)
        del self.times[lo:hi]
        for column in self.columns.values():
            del column[lo:hi]
        return hi - lo

    def buckets(
        self,
        name: str,
        start: int,
        end: int,
        resolution: int,
        aggregation: str,
        value: object = None,
    ) -> dict[int, Any]:
        """`aggregation` of attribute `name` per bucket of `resolution` ms (bucket start -> value).

        Buckets are aligned on multiples of `resolution`; empty buckets are left out.
        """
        column = self.columns.get(name)
        if column is None:
            return {}
        lo, hi = self.window(start, end)
        times = self.times
        groups: dict[int, list[tuple[int, Any]]] = {}
        for index in range(lo, hi):
            item = column[index]
            if _absent(item):
                continue
            bucket = times[index] - times[index] % resolution
            groups.setdefault(bucket, []).append((times[index], item))
        return {
            bucket: result
            for bucket, points in groups.items()
            if (result := aggregate(aggregation, points, value)) is not None
        }


def aggregate(aggregation: str, points: list[tuple[int, Any]], value: object = None) -> Any:
    """One bucket's aggregate of its (time, value) points, in time order; None if undefined."""
    if aggregation == "COUNT":
        return len(points)
    if aggregation == "FIRST":
        return wire(points[0][1])
    if aggregation == "LAST":
        return wire(points[-1][1])
    if aggregation == "TIMEATVALUE":
        spent = 0
        for (time, item), (next_time, _) in itertools.pairwise(points):
            if item == value:
                spent += next_time - time
        return spent
    numbers = [item for _, item in points if isinstance(item, float)]
    if not numbers:
        return None
    if aggregation == "MAX":
        result = max(numbers)
    elif aggregation == "MIN":
        result = min(numbers)
    elif aggregation == "SUM":
        result = math.fsum(numbers)
    elif aggregation == "MEDIAN":
        result = statistics.median(numbers)
    elif aggregation == "STD_DEV":
        result = statistics.pstdev(numbers) if len(numbers) > 1 else 0.0
    else:
        result = math.fsum(numbers) / len(numbers)
    return wire(result)
