"""The request line and header block, serialized and checked for injection.

Names must be tokens and values free of CR, LF and NUL, so that no header can
end the head early or smuggle a second request.
"""

from __future__ import annotations

import re
from typing import Final

import httpx

from ._head import DIGITS_RE, TOKEN

_TOKEN_RE: Final = re.compile(TOKEN)


def _check_field(value: bytes) -> None:
    if b"\r" in value or b"\n" in value or b"\x00" in value:
        raise httpx.LocalProtocolError("illegal character in a request header")


def _serialize_fields(raw: list[tuple[bytes, bytes]]) -> tuple[bytes, bool, int | None]:
    """Validated header lines, blank line included; chunked?; declared Content-Length."""
    parts: list[bytes] = []
    chunked = False
    length: int | None = None
    for name, value in raw:
        if _TOKEN_RE.fullmatch(name) is None:
            raise httpx.LocalProtocolError("illegal header name")
        _check_field(value)
        if len(name) in (14, 17):
            lower = name.lower()
            if lower == b"content-length":
                if DIGITS_RE.fullmatch(value) is None:
                    raise httpx.LocalProtocolError("illegal Content-Length")
                length = int(value)
            elif lower == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts), chunked, length


# Header blocks kept per cache (see ``serialize_head``); cleared when full.
_FIELD_CACHE_SIZE: Final = 64


def serialize_head(
    request: httpx.Request,
    cache: dict[tuple[tuple[bytes, bytes], ...], tuple[bytes, bool, int | None]] | None = None,
) -> tuple[bytes, bool, int | None]:
    """The request line and headers of ``request`` with the blank line after them.

    Also returns whether the body is chunked and its declared Content-Length.
    ``cache`` (the caller's dict) keeps each distinct header list checked and
    serialized once: most requests repeat the client's default headers.
    """
    target = request.url.raw_path
    method = request.method.encode("ascii")
    _check_field(target)
    if b" " in target or _TOKEN_RE.fullmatch(method) is None:
        raise httpx.LocalProtocolError("illegal request line")
    raw = request.headers.raw
    if cache is None:
        fields, chunked, length = _serialize_fields(raw)
    else:
        key = tuple(raw)
        hit = cache.get(key)
        if hit is None:
            hit = _serialize_fields(raw)
            if len(cache) >= _FIELD_CACHE_SIZE:
                cache.clear()
            cache[key] = hit
        fields, chunked, length = hit
    return b"%b %b HTTP/1.1\r\n%b" % (method, target, fields), chunked, length
