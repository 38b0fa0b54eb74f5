"""Argument checks and query values: ids, times, lists, ints, MQTT topics, job arguments.

Everything here runs before a request is sent, so a bad argument fails fast
with ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong
value), naming the argument.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, cast
from urllib.parse import quote_plus

from .._constants import APPLICATION_ID_LENGTH
from .._convert import as_utc, camel
from .._models._base import SAFE_INTEGER

__all__ = [
    "MAX_MS",
    "MAX_QUERY_VALUE_BYTES",
    "Time",
    "check_application_id",
    "check_bool",
    "check_job",
    "check_limit",
    "check_publish_topic",
    "check_query_text",
    "check_resolution",
    "check_str",
    "check_topic_filter",
    "check_topics",
    "csv_param",
    "encode_message",
    "is_object_id",
    "ms_param",
    "query",
    "to_csv",
    "to_ms",
]

_HEX_ID = re.compile(rf"[0-9A-Fa-f]{{{APPLICATION_ID_LENGTH}}}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# The last millisecond a datetime can hold (9999-12-31T23:59:59.999Z): times
# are sent as ms since the epoch, and must come back as a datetime.
MAX_MS: Final = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MS
# A query value, percent-encoded, fits in this many bytes. Losant documents no
# bound (``search``'s ``filter`` has only ``minLength``); nginx, Losant's
# front, reads a request line into 8 KiB buffers by default
# (``large_client_header_buffers``), so one value may take half of that.
MAX_QUERY_VALUE_BYTES: Final = 4096
# A time argument: a datetime (naive = UTC) or milliseconds since the epoch.
Time = datetime | int | float
# spec/api/application.json, payloadCountsBreakdown: resolution enum.
_RESOLUTIONS: Final = frozenset({"86400000", "3600000"})
# MQTT 3.1.1 section 1.5.3: a topic is a UTF-8 string of at most 65,535 bytes,
# without U+0000; control characters (U+0001-U+001F, U+007F-U+009F) SHOULD NOT
# be used, and a CR or LF in a topic is a sign of a mistake, so both are refused.
_MQTT_MAX_BYTES: Final = 65535
_MQTT_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A re-created job's window reaches JOB_MATCH_SKEW either side of enqueued_at
# and is sent as milliseconds (from 1970 on): a day of margin at each end.
_JOB_TIME_MARGIN: Final = timedelta(days=1)
_JOB_EARLIEST: Final = datetime(1970, 1, 1) + _JOB_TIME_MARGIN
_JOB_ID_MAX: Final = 1024


# -- ids ---------------------------------------------------------------------------


def check_application_id(value: object) -> str:
    """Return ``value`` if it is a 24-character hexadecimal application id.

    Raises:
        TypeError: ``value`` is not a ``str``.
        ValueError: it is not exactly 24 ASCII hex characters.
    """
    if not isinstance(value, str):
        raise TypeError(f"application_id must be a str, not {type(value).__name__}")
    # The value is not echoed: a token passed by mistake must not reach a message.
    if _HEX_ID.fullmatch(value) is None:
        raise ValueError(
            f"application_id must be {APPLICATION_ID_LENGTH} hexadecimal characters "
            f"(got {len(value)} characters)"
        )
    return value


def is_object_id(value: str) -> bool:
    """Whether ``value`` is 24 ASCII hex characters (a Losant/MongoDB id)."""
    return _HEX_ID.fullmatch(value) is not None


# -- plain values ------------------------------------------------------------------


def _check_int(name: str, value: object, *, minimum: int, kind: str = "an int") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}")
    # Sent as JSON numbers or query values read by Node.js (issue 11, defect 5).
    if value > SAFE_INTEGER:
        raise ValueError(f"{name} must be at most 2**53 - 1")
    return value


def check_bool(name: str, value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")


def check_str(name: str, value: object, *, allow_empty: bool = True) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not allow_empty and not value:
        raise ValueError(f"{name} must not be empty")


def check_resolution(resolution: int | str | None) -> str | None:
    """``payloadCountsBreakdown``'s ``resolution`` as its query value."""
    if resolution is None:
        return None
    if isinstance(resolution, bool) or not isinstance(resolution, int | str):
        raise TypeError(f"resolution must be an int or str, not {type(resolution).__name__}")
    # Compared, never formatted: str() of a huge int raises (and echoing one is useless).
    res = (
        resolution
        if isinstance(resolution, str)
        else next((r for r in _RESOLUTIONS if int(r) == resolution), "")
    )
    if res not in _RESOLUTIONS:
        raise ValueError("resolution must be 86400000 (a day) or 3600000 (an hour)")
    return res


def check_limit(limit: int | None) -> str | None:
    """``importLogs``' ``limit`` as its query value."""
    if limit is None:
        return None
    return str(_check_int("limit", limit, minimum=1))


# -- query values ------------------------------------------------------------------


def to_ms(value: datetime | int | float, name: str = "time") -> str:
    """Milliseconds since the epoch, as the query wants them (a naive datetime is UTC).

    Numbers are milliseconds already and are rounded to whole milliseconds.
    Only times from 1970 to the end of year 9999 are accepted: ``payloadCounts``
    reads a negative number as relative to now, so a time before 1970 would
    silently mean something else (issue 11, defect 5).

    Raises:
        TypeError: not a ``datetime``, ``int`` or ``float`` (``bool`` is not a time).
        ValueError: NaN, infinite, before 1970 or after 9999.
    """
    if isinstance(value, datetime):
        try:
            ms = (as_utc(value) - _EPOCH) // _MS
        except OverflowError:  # an aware time at the calendar's edge
            raise ValueError(
                f"{name} is outside the datetime range once converted to UTC"
            ) from None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{name} must be a datetime or milliseconds since the epoch, not {type(value).__name__}"
        )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} in milliseconds must be finite, got {value}")
        ms = round(value)
    else:
        ms = value
    if not 0 <= ms <= MAX_MS:
        raise ValueError(
            f"{name} must lie between 1970-01-01 and 9999-12-31 UTC "
            f"(0 to {MAX_MS} ms since the epoch)"
        )
    return str(ms)


def ms_param(value: Time | None, name: str) -> str | None:
    return None if value is None else to_ms(value, name)


def to_csv(value: str | Sequence[str], name: str = "value") -> str:
    """A comma-separated query value from a string or a sequence of strings.

    Raises:
        TypeError: not a ``str`` or a sequence of ``str``.
        ValueError: an item holds a comma (the server would read two items).
    """
    if isinstance(value, str):
        return value
    given: object = value  # the annotation is what callers should pass, not a guarantee
    if not isinstance(given, Sequence) or isinstance(given, bytes | bytearray):
        raise TypeError(f"{name} must be a str or a sequence of str, not {type(given).__name__}")
    for index, item in enumerate(given):
        if not isinstance(item, str):
            raise TypeError(f"{name}[{index}] must be a str, not {type(item).__name__}")
        if "," in item:
            raise ValueError(f"{name}[{index}] must not contain a comma")
    return ",".join(cast(Sequence[str], given))


def csv_param(value: str | Sequence[str] | None, name: str) -> str | None:
    return None if value is None else to_csv(value, name)


def check_query_text(name: str, value: str) -> str:
    """A ``str`` query value that can go in a URL: valid Unicode, not absurdly long.

    Raises:
        ValueError: a lone surrogate (not UTF-8), or longer than
            ``MAX_QUERY_VALUE_BYTES`` once percent-encoded.
    """
    try:
        encoded = quote_plus(value, safe="")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} must be valid Unicode (lone surrogate at index {exc.start})"
        ) from None
    if len(encoded) > MAX_QUERY_VALUE_BYTES:
        raise ValueError(
            f"{name} is too long for a URL: {len(encoded)} bytes once percent-encoded, "
            f"at most {MAX_QUERY_VALUE_BYTES}"
        )
    return value


def _query_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return check_query_text(name, value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        if abs(value) > SAFE_INTEGER:
            raise ValueError(f"{name} must be within ±(2**53 - 1)")
        if isinstance(value, int):
            return str(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return to_ms(value, name)
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return check_query_text(name, to_csv(value, name))
    raise TypeError(f"{name}: cannot send a {type(value).__name__} as a query value")


def query(**pairs: object) -> list[tuple[str, str]]:
    """Query parameters: snake_case names to camelCase, ``None`` left out.

    ``True``/``False`` become ``"true"``/``"false"``; integral floats are sent
    without ``.0``; datetimes as milliseconds; sequences comma-separated.

    Raises:
        TypeError: a value of a kind a query cannot carry.
        ValueError: a value that would not survive the trip (see
            ``check_query_text``, ``to_ms``); the message names the argument.
    """
    return [
        (camel(name), _query_value(name, value))
        for name, value in pairs.items()
        if value is not None
    ]


# -- MQTT ----------------------------------------------------------------------------


def check_topics(topics: Sequence[str]) -> None:
    if isinstance(topics, str) or not isinstance(topics, Sequence):
        raise TypeError(f"topics must be a sequence of str, not {type(topics).__name__}")
    if not topics:
        raise ValueError("topics must not be empty")
    for index, topic in enumerate(topics):
        check_topic_filter(f"topics[{index}]", topic)


def _check_mqtt_text(name: str, topic: object) -> str:
    """What publish topics and subscription filters share (MQTT 3.1.1 sections 1.5.3, 4.7)."""
    if not isinstance(topic, str):
        raise TypeError(f"{name} must be a str, not {type(topic).__name__}")
    if not topic:
        raise ValueError(f"{name} must not be empty")
    if _MQTT_CONTROL.search(topic):
        raise ValueError(f"{name} must not contain NUL, CR, LF or other control characters")
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"{name} must be valid Unicode (no lone surrogates)") from None
    if size > _MQTT_MAX_BYTES:
        raise ValueError(f"{name} must be at most {_MQTT_MAX_BYTES} bytes of UTF-8, got {size}")
    return topic


def check_publish_topic(topic: object) -> str:
    """A topic to publish to: no wildcards (MQTT 3.1.1 section 4.7.1: filters only)."""
    _check_mqtt_text("topic", topic)
    assert isinstance(topic, str)
    if "+" in topic or "#" in topic:
        raise ValueError("topic must not contain the wildcards + or # (they are for subscribing)")
    return topic


def check_topic_filter(name: str, topic: object) -> str:
    """A subscription topic filter (MQTT 3.1.1 section 4.7.1).

    ``#`` only as a whole last level, ``+`` only as a whole level; the filter
    also has to fit in the stream's URL (``check_query_text``).
    """
    _check_mqtt_text(name, topic)
    assert isinstance(topic, str)
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise ValueError(f"{name}: # must be a whole level, and the last one")
        if "+" in level and level != "+":
            raise ValueError(f"{name}: + must be a whole level")
    return check_query_text(name, topic)


def encode_message(message: object) -> str:
    """The MQTT payload as text: str as is, bytes as UTF-8, anything else as JSON."""
    if isinstance(message, str):
        return message
    if isinstance(message, bytes | bytearray):
        try:
            return bytes(message).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"message bytes are not valid UTF-8 (at byte {exc.start})") from None
    try:
        return json.dumps(message, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"message is not JSON-serialisable: {exc}") from None


# -- jobs ----------------------------------------------------------------------------


def check_job(
    job_id: object, action: object, enqueued_at: object, log_id: object = None
) -> datetime:
    """``job()``'s arguments; returns ``enqueued_at``, now if not given.

    ``job_id`` is a non-empty ``str``; ``action`` a ``str`` (``JobHandle``
    checks its value); ``log_id``, a log entry's id, goes in a URL path and so
    must be 24 hex characters; ``enqueued_at`` a ``datetime`` (naive = UTC,
    left to ``JobHandle``) between 1970 and 9999, with a day of margin.
    """
    if not isinstance(job_id, str) or not job_id:
        raise TypeError("job_id must be a non-empty str")
    if len(job_id) > _JOB_ID_MAX or _MQTT_CONTROL.search(job_id):
        raise ValueError(
            f"job_id must be at most {_JOB_ID_MAX} characters, without control characters"
        )
    check_query_text("job_id", job_id)  # it may go in a jobLogs query
    if not isinstance(action, str):
        raise TypeError(f"action must be a str, not {type(action).__name__}")
    if log_id is not None:
        if not isinstance(log_id, str):
            raise TypeError(f"log_id must be a str, not {type(log_id).__name__}")
        if not is_object_id(log_id):
            raise ValueError("log_id must be 24 hexadecimal characters")
    if enqueued_at is None:
        return datetime.now(UTC)
    if not isinstance(enqueued_at, datetime):
        raise TypeError(f"enqueued_at must be a datetime, not {type(enqueued_at).__name__}")
    try:
        naive = (
            enqueued_at.astimezone(UTC).replace(tzinfo=None) if enqueued_at.tzinfo else enqueued_at
        )
    except OverflowError:  # an aware time at the calendar's edge
        naive = datetime.min
    if not _JOB_EARLIEST <= naive <= datetime.max - _JOB_TIME_MARGIN:
        raise ValueError("enqueued_at must lie between 1970-01-02 and 9999-12-30 UTC")
    return enqueued_at
