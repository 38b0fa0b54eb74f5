"""``with_options``: a transport that shares another's pool with some settings changed.

`derive` gives a `DerivedTransport`: the same connection pool (or caller's
``http_client``), the same token supply and the same open/closed state as its
parent, with its own timeout, retry count and extra headers (openai-python's
``client.with_options``). Closing it does nothing: the pool is its parent's,
and closing the parent closes it for every derived transport too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._transport import ErrorMap, Transport

if TYPE_CHECKING:
    from ._response import Response

__all__: list[str] = []

D = TypeVar("D", bound="DerivedTransport")


class DerivedTransport(Transport):
    """A transport borrowing its parent's pool, token and state; see `derive`."""

    __slots__ = ()

    async def __aenter__(self) -> DerivedTransport:
        return self

    async def aclose(self) -> None:
        """Nothing to do: the pool, and the closing of it, belong to the parent."""


def check_options(
    timeout: httpx.Timeout | float | None,
    max_retries: int | None,
    headers: Mapping[str, str] | None,
) -> None:
    """Reject a bad ``with_options`` argument before anything is derived or sent."""
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, httpx.Timeout | int | float)
    ):
        raise TypeError(
            f"timeout must be an httpx.Timeout or seconds, not {type(timeout).__name__}"
        )
    if max_retries is not None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int):
            raise TypeError(f"max_retries must be an int, not {type(max_retries).__name__}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
    if headers is None:
        return
    if not isinstance(headers, Mapping):
        raise TypeError(f"extra_headers must be a mapping, not {type(headers).__name__}")
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("extra_headers must map str names to str values")
        if not name or any(c in name for c in "\r\n\0: "):
            raise ValueError(f"extra_headers: {name!r} is not a header name")
        if any(c in value for c in "\r\n\0"):
            # The value is not quoted: it may be a credential.
            raise ValueError(f"extra_headers[{name!r}] must not contain CR, LF or NUL")
        if name.lower() == "authorization":
            raise ValueError("extra_headers must not set Authorization: give the token instead")


def derive(
    parent: Transport,
    *,
    timeout: httpx.Timeout | float | None = None,
    max_retries: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> DerivedTransport:
    """A transport like ``parent`` (same pool, token, state) with these settings changed.

    ``None`` keeps the parent's value; ``headers`` are added to (or replace)
    the parent's default headers. Checked here, before anything is sent.
    """
    check_options(timeout, max_retries, headers)
    child = _share(parent, DerivedTransport)
    if headers:
        child._headers.update(headers)
    if timeout is not None:
        as_timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        child._timeout = as_timeout.as_dict()
    if max_retries is not None:
        child._max_retries = max_retries
    return child


def recording(parent: Transport) -> RecordingTransport:
    """A transport like ``parent`` (same pool, settings, state) that keeps its first response."""
    child = _share(parent, RecordingTransport)
    child.recorded = None
    return child


def _share(parent: Transport, kind: type[D]) -> D:
    """A ``kind`` sharing everything of ``parent`` but its error maps and default headers."""
    child = kind.__new__(kind)
    # Every slot of the parent, whatever the transport holds (the pool, the
    # token supply, the Lifecycle, the parsed-URL cache) is shared as is...
    for cls in kind.__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(parent, name):
                value = getattr(parent, name)
                if isinstance(value, ErrorMap):
                    # ...except the error maps, which report on their owner.
                    value = copy.copy(value)
                    value._owner = child
                object.__setattr__(child, name, value)
    # A borrower never closes the pool (STYLE.md: whoever creates a resource closes it).
    child._owns_transport = False
    child._headers = parent._headers.copy()
    child._host_headers = None
    return child


class RecordingTransport(DerivedTransport):
    """A derived transport that keeps the first response it reads (``with_raw_response``)."""

    __slots__ = ("recorded",)

    recorded: Response | None

    async def request(self, method: str, path: str, **kwargs: Any) -> Response:
        """`Transport.request`, keeping the first answer (a job's later polls are not kept)."""
        response = await super().request(method, path, **kwargs)
        if self.recorded is None:
            self.recorded = response
        return response
