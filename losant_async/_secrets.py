"""Keeping the token out of every string an error carries (issue 11, defect 4).

``redact`` blanks bearer tokens, the token in hand and every token the
library has sent; ``redact_value`` does it through JSON bodies; ``snippet``
bounds a body for a message, redacting before it truncates so that a token
across the limit leaves no prefix. Errors call these when they are made
(``_exceptions``); log records and chained causes are ``_redaction``'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._constants import (
    BODY_SNIPPET_BYTES,
    BODY_SNIPPET_LIMIT,
    MAX_REMEMBERED_SECRETS,
    MIN_REMEMBERED_SECRET,
)

__all__: list[str] = []

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


# Every token the library has sent, longest first (so that a token containing
# another is blanked whole). Errors are made far from the transport that knows
# its token (the converter, the jobs, the stream decoder), and a token callable
# replaces the token over time: each one is remembered here at first use.
_secrets: list[str] = []


def remember_secret(token: str | None) -> None:
    """Redact ``token`` from every error and log line made from now on.

    A token shorter than ``MIN_REMEMBERED_SECRET`` (no real Losant token is)
    is not remembered: blanking every "t" of every message would garble them.
    The transport still redacts it from the errors it makes itself.
    """
    if not token or len(token) < MIN_REMEMBERED_SECRET or token in _secrets:
        return
    _secrets.append(token)
    if len(_secrets) > MAX_REMEMBERED_SECRETS:
        del _secrets[0]
    _secrets.sort(key=len, reverse=True)


# Characters a token is made of (JWTs, base64url, Losant's opaque keys): a short
# token is masked only where none of them flanks it, so that the token itself
# goes, not every occurrence of a short string inside other words.
_TOKEN_CHARS = r"A-Za-z0-9._~+/=-"


def _mask(text: str, token: str) -> str:
    if len(token) >= MIN_REMEMBERED_SECRET:
        return text.replace(token, "***")
    alone = rf"(?<![{_TOKEN_CHARS}]){re.escape(token)}(?![{_TOKEN_CHARS}])"
    return re.sub(alone, "***", text)


def redact(text: str, token: str | None = None) -> str:
    """Blank out bearer tokens, ``token`` and every remembered token."""
    if token and token in text:
        text = _mask(text, token)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


def redact_value(value: object, token: str | None = None) -> object:
    """``value`` with every string in it redacted, through JSON dicts and lists."""
    try:
        return _redact_json(value, token)
    except RecursionError:
        # A body nested deeper than Python recurses: keep a redacted snippet.
        return snippet(repr(value), token)


def _redact_json(value: object, token: str | None) -> object:
    if isinstance(value, str):
        return redact(value, token)
    if isinstance(value, bytes):
        return snippet(value, token)
    if isinstance(value, Mapping):
        return {
            redact(k, token) if isinstance(k, str) else k: _redact_json(v, token)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redact_json(v, token) for v in value]
    return value


def snippet(body: bytes | str | None, token: str | None = None) -> str:
    """A bounded, redacted, printable piece of a response body.

    Redacted before it is cut: a token that straddles the limit leaves no
    prefix behind. So a little more than the limit is read, enough to hold
    any token that starts inside it.
    """
    if body is None:
        return ""
    longest = max(len(token or ""), len(_secrets[0]) if _secrets else 0, 256)
    if isinstance(body, bytes):
        text = body[: BODY_SNIPPET_BYTES + 4 * longest].decode("utf-8", errors="replace")
    else:
        text = body[: BODY_SNIPPET_LIMIT + longest]
    return redact(text, token)[:BODY_SNIPPET_LIMIT]
