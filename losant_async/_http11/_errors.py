"""How this package words its failures: always as httpx exceptions.

The bottom of ``_http11``: it imports nothing of the package, so the parsers,
the connections and the trio read path can all use it.
"""

from __future__ import annotations

import httpx


def message(exc: BaseException) -> str:
    """The text of ``exc`` for the httpx exception that replaces it."""
    return str(exc) or type(exc).__name__


def protocol_error(text: str) -> httpx.RemoteProtocolError:
    """A response the parser rejects: it breaks the HTTP/1.1 grammar or framing."""
    return httpx.RemoteProtocolError(text)


def too_large(max_body: int) -> httpx.RemoteProtocolError:
    """A response body beyond ``max_body`` bytes (``losant_async._transport`` matches this text)."""
    return httpx.RemoteProtocolError(
        f"response body exceeds max_body_size ({max_body} bytes): the rest was not read"
    )
