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
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Final, TypeVar

from . import _params
from ._constants import DEFAULT_BASE_URL, ENV_BASE_URL, ENV_TOKEN
from ._convert import structure
from ._exceptions import APIResponseValidationError
from ._models import JobEnqueuedResult

if TYPE_CHECKING:
    from ._transport import _Response

_B = TypeVar("_B")

Time = datetime | int | float
Bundle = bytes | str | os.PathLike[str] | IO[bytes]

# spec/api/application.json, payloadCountsBreakdown: resolution enum.
_RESOLUTIONS: Final = frozenset({"86400000", "3600000"})


def _resolve_settings(token: str | None, base_url: str | None) -> tuple[str | None, str]:
    """Token and base URL, with the environment as fallback (API.md "Client")."""
    if token is None:
        token = os.environ.get(ENV_TOKEN) or None
    if base_url is None:
        base_url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    return token, base_url.rstrip("/")


def _check_int(name: str, value: object, *, minimum: int, kind: str = "an int") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be {kind}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}")
    return value


def _check_max_retries(max_retries: int) -> int:
    return _check_int("max_retries", max_retries, minimum=0)


def _check_bool(name: str, value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")


def _check_str(name: str, value: object, *, allow_empty: bool = True) -> None:
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


def _check_stream_options(
    *,
    keep_alive_interval: float,
    reconnect: bool,
    max_reconnects: int | None,
    backoff_initial: float,
    backoff_max: float,
) -> None:
    """The keyword arguments of ``mqtt_subscription_stream``."""
    _check_positive("keep_alive_interval", keep_alive_interval)
    _check_bool("reconnect", reconnect)
    if max_reconnects is not None:
        _check_int("max_reconnects", max_reconnects, minimum=0, kind="an int or None")
    _check_positive("backoff_initial", backoff_initial)
    _check_positive("backoff_max", backoff_max)


def _check_topics(topics: Sequence[str]) -> None:
    if isinstance(topics, str) or not isinstance(topics, Sequence):
        raise TypeError("topics must be a sequence of str, not a single str")
    if not topics:
        raise ValueError("topics must not be empty")


def _resolution(resolution: int | str | None) -> str | None:
    """``payloadCountsBreakdown``'s ``resolution`` as its query value."""
    if resolution is None:
        return None
    if isinstance(resolution, bool) or not isinstance(resolution, int | str):
        raise TypeError("resolution must be an int or str")
    res = str(resolution)
    if res not in _RESOLUTIONS:
        raise ValueError(f"resolution must be 86400000 or 3600000, not {resolution!r}")
    return res


def _limit(limit: int | None) -> str | None:
    """``importLogs``' ``limit`` as its query value."""
    if limit is None:
        return None
    return str(_check_int("limit", limit, minimum=1))


def _ms(value: Time | None) -> str | None:
    return None if value is None else _params.to_ms(value)


def _csv(value: str | Sequence[str] | None) -> str | None:
    return None if value is None else _params.to_csv(value)


def _encode_message(message: object) -> str:
    """The MQTT payload as text: str as is, bytes as UTF-8, anything else as JSON."""
    if isinstance(message, str):
        return message
    if isinstance(message, bytes | bytearray):
        return bytes(message).decode("utf-8")
    try:
        return json.dumps(message, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"message is not JSON-serialisable: {exc}") from exc


def _body_argument(body: _B | None, fields: dict[str, object]) -> _B | None:
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


def _check_job(job_id: str, enqueued_at: datetime | None) -> datetime:
    """``job()``'s arguments: a non-empty ``job_id``; ``enqueued_at``, now if not given.

    A naive ``enqueued_at`` is left to ``JobHandle``, which takes it as UTC.
    """
    if not isinstance(job_id, str) or not job_id:
        raise TypeError("job_id must be a non-empty str")
    if enqueued_at is None:
        return datetime.now(UTC)
    if not isinstance(enqueued_at, datetime):
        raise TypeError("enqueued_at must be a datetime")
    return enqueued_at


def _job_id(response: _Response) -> str:
    """The ``jobId`` of a ``202`` answer."""
    result = structure(response.json(), JobEnqueuedResult, status_code=202, body=response.content)
    if not result.job_id:
        raise APIResponseValidationError(
            "202 Accepted without a jobId",
            status_code=response.status_code,
            body_snippet=response.snippet(),
        )
    return result.job_id


def _not_accepted(action: str, response: _Response) -> APIResponseValidationError:
    """The error for an action that always enqueues but was not answered ``202``."""
    return APIResponseValidationError(
        f"{action} answered {response.status_code}, not 202 Accepted",
        status_code=response.status_code,
        body_snippet=response.snippet(),
    )
