"""The API token: checked once when given, or asked of a callable (API.md "Client and façade").

A callable token (sync or async) is asked before the first request and once
more after a 401, so that a long-lived stream or job wait survives a token
refresh. Requests waiting at the same time share one call.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import anyio

__all__: list[str] = []

_log = logging.getLogger("losant_async")

# A token, or a callable (sync or async) that returns the current one.
TokenSource: TypeAlias = str | Callable[[], str] | Callable[[], Awaitable[str]]


def check_token(token: object) -> str:
    """A token as a header value can carry it (never quoted in the message).

    Losant's tokens (JWTs) are visible ASCII: a space, a control character or
    a non-ASCII letter is a copy-and-paste accident, refused here rather than
    met as a ``UnicodeEncodeError`` deep inside the first request.
    """
    if not isinstance(token, str):
        raise TypeError(f"the token must be a str, not {type(token).__name__}")
    if not token:
        raise ValueError("the token must not be empty")
    if any(c in token for c in "\r\n\0"):
        raise ValueError("the token must not contain CR, LF or NUL")
    if not (token.isascii() and token.isprintable()) or " " in token:
        bad = next(i for i, c in enumerate(token) if not ("!" <= c <= "~"))
        raise ValueError(
            f"the token must be visible ASCII characters only; character {bad + 1} is not "
            "(a space, a control character or a non-ASCII letter)"
        )
    return token


class TokenSupply:
    """A token callable, and the last token it gave (``None`` before the first call)."""

    __slots__ = ("_call", "_lock", "token")

    def __init__(self, call: Callable[[], str | Awaitable[str]]) -> None:
        self._call = call
        self._lock: anyio.Lock | None = None
        self.token: str | None = None

    def _locked(self) -> anyio.Lock:
        # Made at first use: an anyio.Lock belongs to the event loop it is used in.
        if self._lock is None:
            import anyio  # not at import: ``AsyncLosant``'s signature names TokenSource

            self._lock = anyio.Lock()
        return self._lock

    async def _fetch(self) -> str:
        value = self._call()
        if inspect.isawaitable(value):
            value = await value
        return check_token(value)

    async def first(self) -> str:
        """The token to send, asked of the callable once however many wait."""
        async with self._locked():
            if self.token is None:
                self.token = await self._fetch()
            return self.token

    async def refresh(self, stale: str | None) -> str | None:
        """After a 401 with ``stale``: the token to retry with, ``None`` if there is no other."""
        async with self._locked():
            if self.token != stale:
                return self.token  # another request already refreshed it
            fresh = await self._fetch()
            if fresh == stale:
                return None
            _log.info("the token was refused (401); retrying with the token callable's new one")
            self.token = fresh
            return fresh
