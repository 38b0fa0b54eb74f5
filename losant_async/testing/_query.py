"""The `jobLogs` `query` filter: Losant's advanced query, evaluated over job log entries.

The query is first validated against `advancedApplicationJobLogQuery` (a
400 `Validation` otherwise); then `match` evaluates it as a MongoDB-like
filter: `$and`, `$or`, `$nor`; a field's plain value is equality; an
operator object is the conjunction of `$eq`, `$ne`, `$gt`, `$gte`, `$lt`,
`$lte`, `$in`, `$nin`, `$startsWith`, `$endsWith`, `$contains` (with `$ci`
for a case-insensitive comparison of strings). The three date fields
(`runQueuedAt`, `runStartedAt`, `runCompletedAt`) are compared as dates: a
query value is an ISO 8601 string or milliseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

DATE_FIELDS = frozenset({"runQueuedAt", "runStartedAt", "runCompletedAt"})
_TEXT_OPERATORS = frozenset({"$startsWith", "$endsWith", "$contains", "$ci"})


class QueryError(ValueError):
    """A query that passes the schema but cannot be evaluated (say, a date that is not one)."""


def _as_date(value: object, field: str) -> datetime:
    if isinstance(value, bool):
        raise QueryError(f"query.{field}: {value!r} is not a date")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise QueryError(f"query.{field}: {value!r} is not a date") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    raise QueryError(f"query.{field}: {value!r} is not a date")


def _normal(value: object, field: str, ci: bool) -> object:
    """A query or entry value in comparable form: dates as datetimes, folded strings under $ci."""
    if value is None:
        return None
    if field in DATE_FIELDS:
        return _as_date(value, field)
    if ci and isinstance(value, str):
        return value.casefold()
    return value


def _ordered(left: object, right: object, compare: Callable[[Any, Any], bool]) -> bool:
    """`compare(left, right)` when both are of one ordered kind; False otherwise (as MongoDB)."""
    for kind in (datetime, str):
        if isinstance(left, kind) and isinstance(right, kind):
            return compare(left, right)
    numbers = (int, float)
    if (
        isinstance(left, numbers)
        and isinstance(right, numbers)
        and not isinstance(left, bool)
        and not isinstance(right, bool)
    ):
        return compare(left, right)
    return False


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _operators_match(entry_value: object, operators: Mapping[str, Any], field: str) -> bool:
    ci = bool(operators.get("$ci", False))
    have = _normal(entry_value, field, ci)
    for operator, raw in operators.items():
        if operator == "$ci":
            continue
        if operator in ("$in", "$nin"):
            found = any(have == _normal(item, field, ci) for item in raw)
            if found != (operator == "$in"):
                return False
            continue
        want = _normal(raw, field, ci)
        if operator == "$eq":
            ok = have == want
        elif operator == "$ne":
            ok = have != want
        elif operator in _COMPARE:
            ok = _ordered(have, want, _COMPARE[operator])
        else:
            # $startsWith, $endsWith, $contains: on the entry's text as sent.
            if not isinstance(entry_value, str):
                return False
            text = entry_value.casefold() if ci else entry_value
            needle = raw.casefold() if ci else raw
            if operator == "$startsWith":
                ok = text.startswith(needle)
            elif operator == "$endsWith":
                ok = text.endswith(needle)
            else:
                ok = needle in text
        if not ok:
            return False
    return True


def match(query: Mapping[str, Any], entry: Mapping[str, Any]) -> bool:
    """Whether the job log `entry` satisfies the (schema-valid) advanced `query`."""
    for key, value in query.items():
        if key == "$and":
            if not all(match(part, entry) for part in value):
                return False
        elif key == "$or":
            if not any(match(part, entry) for part in value):
                return False
        elif key == "$nor":
            if any(match(part, entry) for part in value):
                return False
        elif isinstance(value, Mapping):
            if not _operators_match(entry.get(key), value, key):
                return False
        elif _normal(entry.get(key), key, False) != _normal(value, key, False):
            return False
    return True


def check(query: Mapping[str, Any]) -> None:
    """Raise `QueryError` if a value the schema admits cannot be evaluated (a bad date)."""
    for key, value in query.items():
        if key in ("$and", "$or", "$nor"):
            for part in value:
                check(part)
        elif key in DATE_FIELDS:
            values = (
                [item for op, item in value.items() if op not in _TEXT_OPERATORS]
                if isinstance(value, Mapping)
                else [value]
            )
            for item in values:
                items = item if isinstance(item, list) else [item]
                for one in items:
                    if one is not None and not isinstance(one, bool):
                        _as_date(one, key)
