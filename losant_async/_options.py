"""The keyword arguments shared by ``AsyncLosant`` and ``AsyncApplication``, checked once.

Both constructors take the same settings (API.md "Client and façade"); this
module checks them before anything is sent and builds the `Transport` they
describe. A bad value is a ``TypeError`` or ``ValueError`` naming the argument
(never quoting a token).
"""

from __future__ import annotations

import math
import os

import httpx

from ._constants import (
    ACCEPT_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RESPONSE_DEADLINE,
    DEFAULT_TIMEOUT,
    ENV_BASE_URL,
    ENV_TOKEN,
)
from ._transport import TokenSource, Transport, check_token

__all__: list[str] = []


def _header_value(name: str, value: object) -> str:
    """A non-empty ``str`` that can go into a header as it is."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"{name} must not contain CR, LF or NUL")
    return value


def _optional_int(name: str, value: object, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}")
    return value


def _optional_seconds(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, not {type(value).__name__}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number of seconds > 0")
    return float(value)


def _token(token: object) -> TokenSource | None:
    if token is None:
        return os.environ.get(ENV_TOKEN) or None
    if callable(token):
        return token
    return check_token(token)


def make_transport(
    token: TokenSource | None = None,
    *,
    base_url: str | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    max_retries: int = DEFAULT_MAX_RETRIES,
    http_client: httpx.AsyncClient | None = None,
    accept_version: str = ACCEPT_VERSION,
    losant_domain: str | None = None,
    limits: httpx.Limits | None = None,
    max_streams: int | None = None,
    max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    response_deadline: float | None = DEFAULT_RESPONSE_DEADLINE,
) -> Transport:
    """The transport of a client or standalone façade, every argument checked first."""
    source = _token(token)
    if base_url is None:
        base_url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    if not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str, not {type(base_url).__name__}")
    retries = _optional_int("max_retries", max_retries, minimum=0)
    if retries is None:
        raise TypeError("max_retries must be an int")
    headers = {"Accept-Version": _header_value("accept_version", accept_version)}
    if losant_domain is not None:
        # Private Losant installations name themselves in this header (API.md).
        headers["losantdomain"] = _header_value("losant_domain", losant_domain)
    if limits is not None and not isinstance(limits, httpx.Limits):
        raise TypeError(f"limits must be an httpx.Limits, not {type(limits).__name__}")
    return Transport(
        token=source,
        base_url=base_url.rstrip("/"),
        timeout=timeout,
        max_retries=retries,
        http_client=http_client,
        headers=headers,
        limits=limits,
        max_streams=_optional_int("max_streams", max_streams, minimum=1),
        max_response_bytes=_optional_int("max_response_bytes", max_response_bytes, minimum=1),
        response_deadline=_optional_seconds("response_deadline", response_deadline),
    )
