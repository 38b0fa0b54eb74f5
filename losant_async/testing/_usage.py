"""Deterministic usage numbers (payloads, devices, notebook minutes) per time bucket.

Numbers derive from a hash of (application, kind, bucket), so the same hour
always has the same count: totals over a range equal the sum of its buckets,
whatever range or resolution a client asks for.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from losant_async.testing._state import iso

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# Usage older than this before the range's end is not kept (zero, or no bucket),
# so a range from the epoch stays cheap to answer.
RETENTION_MS = 366 * DAY_MS
_BYTES_PER_PAYLOAD = 256

# (PayloadStats key, source, upper bound of the hourly count, billable)
_PAYLOAD_KINDS = (
    ("deviceState", "mqtt", 40, True),
    ("deviceState", "http", 10, True),
    ("mqttIn", "mqtt", 6, True),
    ("mqttOut", "flow", 5, True),
    ("event", "flow", 2, True),
    ("webhook", "webhook", 3, True),
    ("deviceConnect", "mqtt", 2, False),
    ("deviceDisconnect", "mqtt", 2, False),
)


def _number(app_id: str, kind: str, bucket: int, bound: int) -> int:
    digest = hashlib.blake2b(f"{app_id}/{kind}/{bucket}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % bound


def _hours(start: int, end: int) -> range:
    """Indexes of the retained hours that overlap [start, end] (ms since the epoch)."""
    return range(_retained(start, end) // HOUR_MS, end // HOUR_MS + 1)


def _hour_counts(app_id: str, hour: int) -> list[int]:
    return [
        _number(app_id, f"{key}.{source}", hour, bound + 1)
        for key, source, bound, _ in _PAYLOAD_KINDS
    ]


def _date(ms_value: int) -> str:
    return iso(datetime.fromtimestamp(ms_value / 1000, UTC))


def payload_stats(app_id: str, start: int, end: int, *, as_bytes: bool) -> dict[str, Any]:
    """PayloadStats: the sum over every hour of the range, by kind and source."""
    stats: dict[str, dict[str, float]] = {}
    factor = _BYTES_PER_PAYLOAD if as_bytes else 1
    for hour in _hours(start, end):
        for (key, source, _, _), count in zip(
            _PAYLOAD_KINDS, _hour_counts(app_id, hour), strict=True
        ):
            bucket = stats.setdefault(key, {})
            bucket[source] = bucket.get(source, 0) + count * factor
    return stats


def payload_breakdown(
    app_id: str, start: int, end: int, *, resolution: int, as_bytes: bool, non_billable: bool
) -> dict[str, Any]:
    """PayloadCountsBreakdown: one count per resolution bucket, summing its hours."""
    factor = _BYTES_PER_PAYLOAD if as_bytes else 1
    buckets: dict[int, int] = {}
    for hour in _hours(start, end):
        total = sum(
            count
            for (_, _, _, billable), count in zip(
                _PAYLOAD_KINDS, _hour_counts(app_id, hour), strict=True
            )
            if billable or non_billable
        )
        key = hour * HOUR_MS // resolution * resolution
        buckets[key] = buckets.get(key, 0) + total * factor
    counts = [{"date": _date(key), "value": value} for key, value in sorted(buckets.items())]
    return {"start": _date(start), "end": _date(end), "counts": counts}


def _days(start: int, end: int) -> range:
    return range(_retained(start, end) // DAY_MS, end // DAY_MS + 1)


def device_counts(app_id: str, start: int, end: int) -> dict[str, Any]:
    """DeviceCounts: created, deleted and total devices for each day of the range."""
    counts = []
    for day in _days(start, end):
        created = _number(app_id, "device.created", day, 4)
        deleted = _number(app_id, "device.deleted", day, 2)
        total = 20 + _number(app_id, "device.total", day, 10)
        counts.append(
            {"date": _date(day * DAY_MS), "created": created, "deleted": deleted, "total": total}
        )
    return {"start": _date(start), "end": _date(end), "counts": counts}


def notebook_counts(app_id: str, start: int, end: int) -> dict[str, Any]:
    """NotebookMinuteCounts: minutes and execution outcomes for each day of the range."""
    counts = []
    for day in _days(start, end):
        counts.append(
            {
                "date": _date(day * DAY_MS),
                "minutes": _number(app_id, "notebook.minutes", day, 30),
                "completed": _number(app_id, "notebook.completed", day, 6),
                "canceled": _number(app_id, "notebook.canceled", day, 2),
                "errored": _number(app_id, "notebook.errored", day, 2),
                "timeout": _number(app_id, "notebook.timeout", day, 2),
            }
        )
    return {"start": _date(start), "end": _date(end), "counts": counts}


def resolve_range(start: int | None, end: int | None, *, now_ms: int) -> tuple[int, int]:
    """Apply the defaults (the last 30 days) and the rule that negative values are relative to now.

    An `end` of 0 means now (payloadCounts' documented default). Raises
    ValueError for a reversed range.
    """
    default_start = -int(timedelta(days=30).total_seconds() * 1000)
    start = default_start if start is None else start
    end = 0 if end is None else end
    if start < 0:
        start = now_ms + start
    if end <= 0:
        end = now_ms + end
    if start > end:
        raise ValueError("start must be before end")
    return start, end


def _retained(start: int, end: int) -> int:
    return max(start, end - RETENTION_MS)
