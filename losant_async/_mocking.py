"""Letting respx see the library's requests, as it sees any httpx client's (issue 13, point 3).

The library sends through its own HTTP/1.1 pool (`_http11`), which respx's
mockers do not patch: the default one patches httpcore's pools
(``HTTPCoreMocker`` in respx's ``mocks.py``), the ``"httpx"`` one
``AsyncClient._transport_for_url``. So while one of them is active, and has
not patched the pool itself (``losant_async.testing.respx`` does), a request
goes through an ``httpx.AsyncClient`` on httpx's own transport instead, which
both mockers see: a mocked test never reaches the network.

respx is never imported here. The check costs one ``sys.modules`` lookup
while respx is not loaded, and a few attribute reads while it is.
"""

from __future__ import annotations

import sys
from typing import Final, TypeGuard

import httpx

from ._http11 import COALESCE_BYTES, Http11Transport

__all__: list[str] = []

# The transport tests ``RESPX not in modules`` before calling `respx_mocking`.
RESPX: Final = "respx.mocks"
modules: Final = sys.modules


def _patched(function: object) -> bool:
    # respx patches with `unittest.mock.patch(new_callable=Mocker.mock)`, which
    # returns a function defined in respx.mocks (`amock`, `_transport_for_url`).
    return getattr(function, "__module__", None) == RESPX


def respx_mocking(transport: httpx.AsyncBaseTransport) -> bool:
    """Whether respx is mocking httpx or httpcore now, but not ``transport``'s class."""
    if RESPX not in modules:
        return False
    pool = getattr(modules.get("httpcore"), "AsyncConnectionPool", None)
    if not (
        _patched(getattr(pool, "handle_async_request", None))
        or _patched(httpx.AsyncClient._transport_for_url)
    ):
        return False
    # A mocker that patches the pool itself (`losant_async.testing.respx`) answers there.
    return not _patched(getattr(type(transport), "handle_async_request", None))


def mock_client(proxy: str | None) -> httpx.AsyncClient:
    """The client that sends while respx mocks: httpx's transport, which respx patches.

    It reads nothing from the environment (``trust_env=False``) but the proxy
    the library's own pool would have used, so that a route respx passes
    through goes where it would have gone.
    """
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(proxy=proxy), trust_env=False)


def own_pool_sends(
    transport: httpx.AsyncBaseTransport | None,
    http_client: httpx.AsyncClient | None,
    request: httpx.Request,
) -> TypeGuard[Http11Transport]:
    """Whether the library's own HTTP/1.1 pool sends ``request``, unmocked, in one write.

    That pool cuts every wait to a request's deadline extension, so the
    transport needs no cancel scope around it (issue 11, defect 10).
    """
    return (
        http_client is None
        and type(transport) is Http11Transport
        and RESPX not in modules
        and isinstance(request.stream, httpx.ByteStream)
        and len(request.content) <= COALESCE_BYTES
    )
