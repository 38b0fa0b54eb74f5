"""The arguments of ``AsyncApplication``'s methods, checked before anything is sent.

This module owns what only the façade's signatures need: the settings of a
standalone application (token and base URL, with the environment as fallback;
``max_retries``), the plain type and range checks of keyword arguments (MQTT
stream options, ``resolution``, ``limit``, ``filter``, a re-created job's
``enqueued_at``), the optional time and CSV query values, the MQTT message
encoding, the positional-or-``body=`` body, opening an import bundle, and
reading the ``jobId`` of a ``202 Accepted`` answer. Bodies, query values and
the import multipart themselves are shaped by ``_params``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Final, TypeVar

from . import _params
from ._constants import DEFAULT_BASE_URL, ENV_BASE_URL, ENV_TOKEN
from ._convert import structure
from ._exceptions import APIResponseValidationError
from ._models import JobEnqueuedResult
from ._models._base import SAFE_INTEGER
from ._streams._policy import check_keep_alive_interval

if TYPE_CHECKING:
    from ._transport import Response

_B = TypeVar("_B")

Time = datetime | int | float
Bundle = bytes | str | os.PathLike[str] | IO[bytes]

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


def _resolve_settings(token: str | None, base_url: str | None) -> tuple[str | None, str]:
    """Token and base URL, with the environment as fallback (API.md "Client")."""
    if token is None:
        token = os.environ.get(ENV_TOKEN) or None
    if base_url is None:
        base_url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    return token, base_url.rstrip("/")


def _check_int(name: str, value: object, *, minimum: int, kind: str = "an int") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}")
    # Sent as JSON numbers or query values read by Node.js (issue 11, defect 5).
    if value > SAFE_INTEGER:
        raise ValueError(f"{name} must be at most 2**53 - 1")
    return value


def _check_max_retries(max_retries: int) -> int:
    return _check_int("max_retries", max_retries, minimum=0)


def check_bool(name: str, value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")


def check_str(name: str, value: object, *, allow_empty: bool = True) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not allow_empty and not value:
        raise ValueError(f"{name} must not be empty")


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be > 0")
    return float(value)


def check_stream_options(
    *,
    keep_alive_interval: float,
    reconnect: bool,
    max_reconnects: int | None,
    backoff_initial: float,
    backoff_max: float,
) -> None:
    """The keyword arguments of ``mqtt_subscription_stream``."""
    check_keep_alive_interval(keep_alive_interval)  # the stream's own check: one message
    check_bool("reconnect", reconnect)
    if max_reconnects is not None:
        _check_int("max_reconnects", max_reconnects, minimum=0, kind="an int or None")
    _check_positive("backoff_initial", backoff_initial)
    _check_positive("backoff_max", backoff_max)


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
    also has to fit in the stream's URL (``_params.check_query_text``).
    """
    _check_mqtt_text(name, topic)
    assert isinstance(topic, str)
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise ValueError(f"{name}: # must be a whole level, and the last one")
        if "+" in level and level != "+":
            raise ValueError(f"{name}: + must be a whole level")
    return _params.check_query_text(name, topic)


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


def ms_param(value: Time | None, name: str) -> str | None:
    return None if value is None else _params.to_ms(value, name)


def csv_param(value: str | Sequence[str] | None, name: str) -> str | None:
    return None if value is None else _params.to_csv(value, name)


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


def body_argument(body: _B | None, fields: dict[str, object]) -> _B | None:
    """The body given positionally or as ``body=`` (API.md's table: ``clone(body=None)``).

    ``body`` is positional-only in the signatures so that ``**options`` of
    type ``dict[str, object]`` still type-checks; no body model has a field
    named ``body``, so the keyword is unambiguous.
    """
    if "body" not in fields:
        return body
    if body is not None:
        raise TypeError("body given both positionally and as body=")
    return fields.pop("body")  # type: ignore[return-value]


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
    _params.check_query_text("job_id", job_id)  # it may go in a jobLogs query
    if not isinstance(action, str):
        raise TypeError(f"action must be a str, not {type(action).__name__}")
    if log_id is not None:
        if not isinstance(log_id, str):
            raise TypeError(f"log_id must be a str, not {type(log_id).__name__}")
        if not _params.is_object_id(log_id):
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


def check_job_id(response: Response) -> str:
    """The ``jobId`` of a ``202`` answer."""
    result = structure(response.json(), JobEnqueuedResult, status_code=202, body=response.content)
    if not result.job_id:
        raise APIResponseValidationError(
            "202 Accepted without a jobId",
            status_code=response.status_code,
            body_snippet=response.snippet(),
        )
    return result.job_id


def not_accepted(action: str, response: Response) -> APIResponseValidationError:
    """The error for an action that always enqueues but was not answered ``202``."""
    return APIResponseValidationError(
        f"{action} answered {response.status_code}, not 202 Accepted",
        status_code=response.status_code,
        body_snippet=response.snippet(),
    )
