"""The keyword arguments shared by ``AsyncLosant`` and ``AsyncApplication``, checked once.

Both constructors take the same settings (API.md "Client and façade"):
`resolve_settings` checks them before anything is sent, fills in the
environment's defaults, and gives one frozen `Settings` value; `make_transport`
builds the `Transport` it describes. A bad value is a ``TypeError`` or
``ValueError`` naming the argument (never quoting a token). The token, the
``max_retries`` range and the combinations of pool arguments are checked by
`Transport` itself, which tests also build directly.
"""

from __future__ import annotations

import math
import os

import attrs
import httpx

from ._auth import TokenSource
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
from ._logging import log_from_env
from ._transport import Transport

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


def _base_url(value: object) -> str:
    """An ``http://`` or ``https://`` URL with a host, without its trailing slash.

    Checked at construction: a typo here would otherwise cost every retry of
    the first request before surfacing as a network error. The URL is not
    quoted whole: it may carry user info.
    """
    if not isinstance(value, str):
        raise TypeError(f"base_url must be a str, not {type(value).__name__}")
    if not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError("base_url must not contain spaces or control characters")
    scheme, sep, _ = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ValueError(
            "base_url must start with http:// or https:// (e.g. https://api.losant.com)"
        )
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"base_url is not a valid URL: {exc}") from None
    if not url.host:
        raise ValueError("base_url has no host (e.g. https://api.losant.com)")
    if url.query or url.fragment or "?" in value or "#" in value:
        raise ValueError("base_url must not have a query or a fragment: paths are added to it")
    return value.rstrip("/")


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


@attrs.frozen(kw_only=True)
class Settings:
    """What a client or standalone façade was asked for, checked."""

    # A token, or the callable that gives one: never in a repr.
    token: TokenSource | None = attrs.field(repr=False)
    base_url: str
    timeout: httpx.Timeout | float
    max_retries: int
    http_client: httpx.AsyncClient | None
    headers: tuple[tuple[str, str], ...]
    limits: httpx.Limits | None
    max_streams: int | None
    max_response_bytes: int | None
    response_deadline: float | None


def resolve_settings(
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
) -> Settings:
    """The constructors' keyword arguments, checked, with the environment's defaults."""
    log_from_env()  # LOSANT_LOG, read when the first client is made (_logging)
    if token is None:
        token = os.environ.get(ENV_TOKEN) or None
    if token is None:
        # As openai-python does for its key: fail here, before anything is sent
        # (an unauthenticated request would only come back 401 or 403).
        raise ValueError(
            f"No API token: pass token= (a str, or a callable that returns one) "
            f"or set the {ENV_TOKEN} environment variable."
        )
    if base_url is None:
        base_url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    base_url = _base_url(base_url)
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise TypeError(f"max_retries must be an int, not {type(max_retries).__name__}")
    headers = [("Accept-Version", _header_value("accept_version", accept_version))]
    if losant_domain is not None:
        # Private Losant installations name themselves in this header (API.md).
        headers.append(("losantdomain", _header_value("losant_domain", losant_domain)))
    if limits is not None and not isinstance(limits, httpx.Limits):
        raise TypeError(f"limits must be an httpx.Limits, not {type(limits).__name__}")
    return Settings(
        token=token,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
        headers=tuple(headers),
        limits=limits,
        max_streams=_optional_int("max_streams", max_streams, minimum=1),
        max_response_bytes=_optional_int("max_response_bytes", max_response_bytes, minimum=1),
        response_deadline=_optional_seconds("response_deadline", response_deadline),
    )


def make_transport(settings: Settings) -> Transport:
    """The transport of a client or standalone façade."""
    return Transport(
        token=settings.token,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        http_client=settings.http_client,
        headers=dict(settings.headers),
        limits=settings.limits,
        max_streams=settings.max_streams,
        max_response_bytes=settings.max_response_bytes,
        response_deadline=settings.response_deadline,
    )
