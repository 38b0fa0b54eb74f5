"""``AsyncLosant``: the client that owns (or borrows) the HTTP connections."""

from __future__ import annotations

import enum

import anyio
import httpx

from ._application import AsyncApplication
from ._application_args import _check_max_retries, _resolve_settings
from ._constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._exceptions import ClientClosedError
from ._transport import _Transport

__all__ = ["AsyncLosant"]


class _State(enum.Enum):
    UNOPENED = 1
    OPEN = 2
    CLOSED = 3


class AsyncLosant:
    """The Losant API client: hands out ``AsyncApplication`` façades.

    Args:
        token: API token; defaults to ``$LOSANT_API_TOKEN``. Without one,
            requests go unauthenticated and Losant answers 401.
        base_url: Defaults to ``$LOSANT_API_URL``, else ``https://api.losant.com``.
        timeout: An ``httpx.Timeout``, or seconds for every phase.
        max_retries: Retries of a failed request (0 turns them off).
        http_client: A caller-owned ``httpx.AsyncClient``; it is used as is
            and never closed here.

    Use it as ``async with AsyncLosant() as client:`` or call ``aclose()``.
    Once closed, the client and every façade it handed out raise
    ``ClientClosedError``.
    """

    __slots__ = ("_state", "_transport")

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        token, url = _resolve_settings(token, base_url)
        self._transport = _Transport(
            token=token,
            base_url=url,
            timeout=timeout,
            max_retries=_check_max_retries(max_retries),
            http_client=http_client,
        )
        self._state = _State.UNOPENED

    @property
    def base_url(self) -> str:
        """The API root requests go to (no trailing slash)."""
        return self._transport.base_url

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` has been called."""
        return self._state is _State.CLOSED

    def __repr__(self) -> str:
        return f"AsyncLosant(base_url={self.base_url!r})"

    def application(self, application_id: str) -> AsyncApplication:
        """The façade of one application, sharing this client's connections.

        Raises:
            TypeError: ``application_id`` is not a ``str``.
            ValueError: it is not 24 hex characters.
            ClientClosedError: the client is closed.
        """
        if self._state is _State.CLOSED:
            raise ClientClosedError("this client has been closed")
        return AsyncApplication._borrowing(self._transport, application_id)

    async def __aenter__(self) -> AsyncLosant:
        if self._state is _State.CLOSED:
            raise ClientClosedError("this client has been closed")
        if self._state is _State.OPEN:
            raise RuntimeError("an AsyncLosant can be entered only once")
        self._state = _State.OPEN
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections this client owns. Idempotent."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        # Release the pool even when the caller is being cancelled.
        with anyio.CancelScope(shield=True):
            await self._transport.aclose()
