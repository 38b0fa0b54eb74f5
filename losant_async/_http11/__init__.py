"""The default HTTP transport: lean HTTP/1.1 keep-alive, with httpx's own as fallback.

``default_transport`` picks: this package's ``Http11Transport`` for plain
HTTP/1.1 over TCP or TLS, ``httpx.AsyncHTTPTransport`` for whatever it does
not do (proxies, HTTP/2, Unix sockets, client certificates, a bound local
address).

Inside, each module imports only from those listed after it:

- ``_transport``: ``Http11Transport``, one request's way from pool to response
- ``_body``: ``Body``, a response body read on demand (an ``httpx.AsyncByteStream``)
- ``_pool``: ``Pool`` (one origin's idle list and cap) and ``Slots`` (a cap
  with its FIFO waiters; the streams' slots)
- ``_net``: connections, an asyncio protocol or an anyio stream, and opening them
- ``_trio``: trio's read deadlines, one task per run (imported lazily by ``_net``)
- ``_request``: the request line and header block, serialized and checked
- ``_framing``: ``BodyReader``, the body's framing (Content-Length, chunked, EOF)
- ``_head``: the response head parser (status line, fields, framing headers)
- ``_errors``: how failures are worded, as httpx exceptions
"""

from __future__ import annotations

import ssl

import httpx

from ._transport import (
    COALESCE_BYTES,
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_MAX_CONNECTIONS,
    Http11Transport,
)

__all__ = ["COALESCE_BYTES", "Http11Transport", "default_transport"]


def default_transport(
    *,
    verify: ssl.SSLContext | bool = True,
    http2: bool = False,
    proxy: httpx.Proxy | httpx.URL | str | None = None,
    uds: str | None = None,
    local_address: str | None = None,
    cert: tuple[str, str] | str | None = None,
    limits: httpx.Limits | None = None,
    max_body_size: int | None = None,
    max_streams: int | None = None,
    trust_env: bool = True,
) -> httpx.AsyncBaseTransport:
    """The fastest transport that can honour these options.

    ``limits`` gives ``max_connections``, ``max_keepalive_connections`` and
    ``keepalive_expiry``; ``max_streams`` caps streams on the lean transport
    only (httpx's own has no notion of a stream).
    """
    if http2 or proxy is not None or uds is not None or local_address is not None or cert:
        kwargs: dict[str, object] = {}
        if cert:
            # httpx 0.28 takes a client certificate only inside an SSLContext.
            ctx = (
                verify
                if isinstance(verify, ssl.SSLContext)
                else httpx.create_ssl_context(verify=verify, trust_env=trust_env)
            )
            if isinstance(cert, str):
                ctx.load_cert_chain(cert)
            else:
                ctx.load_cert_chain(*cert)
            verify = ctx
        if limits is not None:
            kwargs["limits"] = limits
        return httpx.AsyncHTTPTransport(
            verify=verify,
            http1=True,
            http2=http2,
            proxy=proxy,
            uds=uds,
            local_address=local_address,
            trust_env=trust_env,
            **kwargs,  # type: ignore[arg-type]
        )
    max_connections = DEFAULT_MAX_CONNECTIONS
    max_idle: int | None = None
    expiry: float | None = DEFAULT_KEEPALIVE_EXPIRY
    if limits is not None:
        max_connections = limits.max_connections or max_connections
        max_idle = limits.max_keepalive_connections
        expiry = limits.keepalive_expiry
    return Http11Transport(
        verify=verify,
        max_connections=max_connections,
        max_keepalive_connections=max_idle,
        keepalive_expiry=expiry,
        max_body_size=max_body_size,
        max_streams=max_streams,
        trust_env=trust_env,
    )
