"""Keeping the token out of log lines and tracebacks (issue 11, defect 4).

Errors redact their own strings (`_exceptions`); this module covers what they
do not: records of the ``losant_async`` logger, records of httpx's and
httpcore's loggers when httpx sends the requests, and the chained cause of a
translated error, which a traceback prints.
"""

from __future__ import annotations

import logging
from typing import Final

import httpx

from ._retry import CONNECT_ERRORS
from ._secrets import redact

__all__: list[str] = []

_log = logging.getLogger("losant_async")


class _RedactFilter(logging.Filter):
    """Blank out bearer tokens (and every token the library sent) in each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


REDACT_FILTER: Final = _RedactFilter()

if not any(isinstance(f, _RedactFilter) for f in _log.filters):
    _log.addFilter(REDACT_FILTER)

# httpx's and httpcore's loggers, as httpcore's `_trace.py` and httpx's
# `_client.py` name them. A logger's filters do not apply to its children's
# records, so each one is filtered by name.
_HTTPX_LOGGERS: Final = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def filter_httpx_logs() -> None:
    """Redact httpx's and httpcore's DEBUG lines, which echo response headers.

    Added only when httpx sends the requests (a proxy from the environment, or
    a caller's ``http_client``): issue 11, defect 4.
    """
    for name in _HTTPX_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactFilter) for f in logger.filters):
            logger.addFilter(REDACT_FILTER)


def _mentions_secret(exc: BaseException, token: str | None) -> bool:
    """Whether ``exc`` or anything chained to it would print a token."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts = [str(current), *map(str, getattr(current, "__notes__", ()))]
        if any(redact(text, token) != text for text in texts):
            return True
        stack += (current.__cause__, current.__context__)
    return False


def clean_cause(exc: Exception, token: str | None) -> Exception:
    """``exc``, or a redacted stand-in of its type when its chain would print a token.

    A stand-in keeps the type (the retry policy reads it) and the redacted
    text, and carries no chain and no traceback of its own (issue 11, defect 12).
    """
    if not _mentions_secret(exc, token):
        return exc
    text = redact(str(exc), token)
    try:
        standin = type(exc)(text)
    except Exception:
        standin = (
            httpx.ConnectError(text)
            if isinstance(exc, CONNECT_ERRORS)
            else httpx.TransportError(text)
        )
    return standin
