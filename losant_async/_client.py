"""``AsyncLosant``: the client that owns (or borrows) the HTTP connections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx

from . import _lazy
from ._api._roots import ClientResources
from ._auth import TokenSource
from ._constants import (
    ACCEPT_VERSION,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RESPONSE_DEADLINE,
    DEFAULT_TIMEOUT,
)
from ._lifecycle import Lifecycle

# Importing the class loads only what its signatures name (httpx: the default
# timeout is an ``httpx.Timeout``); the façade, the transport and what they
# import (anyio, attrs, cattrs, the models) load when a client is built or a
# façade asked for (issue 17, "First use").
if TYPE_CHECKING:
    from ._application import AsyncApplication

__all__ = ["AsyncLosant"]


class AsyncLosant(ClientResources):
    """The Losant API client: hands out ``AsyncApplication`` façades.

    Args:
        token: API token; defaults to ``$LOSANT_API_TOKEN``. Without either,
            ``ValueError`` here, before anything is sent; so too for a token
            that is not visible ASCII. May be a callable (sync or async)
            returning the token: it is called for the first request, and
            once more after a 401, so that a long-lived stream or job wait
            survives a token refresh.
        base_url: Defaults to ``$LOSANT_API_URL``, else ``https://api.losant.com``.
            Anything but an ``http://`` or ``https://`` URL with a host (and
            no query, spaces or control characters) is a ``ValueError`` here.
        timeout: An ``httpx.Timeout``, or seconds for every phase.
        max_retries: Retries of a failed request (0 turns them off).
        http_client: A caller-owned ``httpx.AsyncClient``; it is used as is
            and never closed here.
        accept_version: The ``Accept-Version`` header (default ``"^1.30.0"``).
        losant_domain: Sent as the ``losantdomain`` header, for a private
            Losant installation.
        limits: The request pool's ``httpx.Limits`` (default: 100
            connections per host, idle ones kept 5 s). Streams open
            connections of their own, outside it, so they cannot starve
            requests. No free connection within the ``pool`` timeout raises
            ``PoolTimeoutError`` (never retried).
        max_streams: How many streams may be open at once (default: no cap).
        max_response_bytes: The largest response body accepted, as received
            and once decompressed (default 64 MiB; ``None``: no cap);
            beyond it, ``ResponseTooLargeError``. Streams are exempt.
        response_deadline: Seconds from sending a request to the last byte of
            its answer (default 300; ``None``: none), so that a server that
            drips bytes cannot hold a request for ever; beyond it,
            ``APITimeoutError``. Streams are exempt.

    Use it as ``async with AsyncLosant() as client:`` or call ``aclose()``.
    Once closed, the client and every façade it handed out raise
    ``ClientClosedError``.
    """

    __slots__ = ("_lifecycle", "_transport")

    def __init__(
        self,
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
    ) -> None:
        from ._options import make_transport, resolve_settings

        self._transport = make_transport(
            resolve_settings(
                token,
                base_url=base_url,
                timeout=timeout,
                max_retries=max_retries,
                http_client=http_client,
                accept_version=accept_version,
                losant_domain=losant_domain,
                limits=limits,
                max_streams=max_streams,
                max_response_bytes=max_response_bytes,
                response_deadline=response_deadline,
            )
        )
        self._lifecycle = Lifecycle("AsyncLosant")

    @property
    def base_url(self) -> str:
        """The API root requests go to (no trailing slash)."""
        return self._transport.base_url

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` has been called (on this client, or the one it was derived from)."""
        return self._lifecycle.is_closed or self._transport.is_closed

    def __repr__(self) -> str:
        return f"AsyncLosant(base_url={self.base_url!r})"

    def application(self, application_id: str) -> AsyncApplication:
        """The façade of one application, sharing this client's connections.

        Raises:
            TypeError: ``application_id`` is not a ``str``.
            ValueError: it is not 24 hex characters.
            ClientClosedError: the client is closed.
        """
        from ._application import AsyncApplication

        # Loaded here, not with this module: the façade's models, jobs and
        # streams take the public path now, as an import of it would have.
        _lazy.publish("losant_async")
        self._check_open()
        return AsyncApplication._borrowing(self._transport, application_id)

    def _check_open(self) -> None:
        if self._transport.is_closed:  # a with_options copy whose original is closed
            self._lifecycle.close()
        self._lifecycle.check_open()

    def _path_ids(self) -> tuple[str, ...]:
        return ()

    # -- per-request options (_derive.py) ------------------------------------------

    def with_options(
        self,
        *,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncLosant:
        """A copy of this client with other settings, sharing its connection pool.

        ``None`` keeps this client's value; ``extra_headers`` are sent with
        every request (``Authorization`` is refused: give the token). The copy
        shares the pool and the token supply. It is not closed on its own:
        its ``aclose()`` closes nothing, and closing this client closes the
        pool for the copy and its façades too (``ClientClosedError``).
        """
        from ._derive import derive

        self._lifecycle.check_open()
        copy = AsyncLosant.__new__(AsyncLosant)
        copy._transport = derive(
            self._transport, timeout=timeout, max_retries=max_retries, headers=extra_headers
        )
        copy._lifecycle = Lifecycle("AsyncLosant")
        return copy

    async def __aenter__(self) -> AsyncLosant:
        """Open once (``Lifecycle``): a second ``async with`` raises, as does a closed client."""
        self._lifecycle.enter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections this client owns. Idempotent."""
        if not self._lifecycle.close():
            return
        import anyio

        # Release the pool even when the caller is being cancelled.
        with anyio.CancelScope(shield=True):
            await self._transport.aclose()
