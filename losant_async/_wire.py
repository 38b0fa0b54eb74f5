"""What a request looks like on the wire (API.md "Client and façade": headers, query defaults).

`Wire` holds what every request of one transport shares, and builds each
`httpx.Request` from it: the URL with the official SDKs' default query in
front, the default headers (``Accept``, ``Accept-Version``, ``User-Agent``,
``Authorization``), the timeouts, and the body (JSON, a multipart form, or
none). `Transport` extends it with sending, auth, retries and errors. A
body-less request with the default headers is the common case, and is built
more cheaply than httpx would.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import urlencode

import httpx

from ._constants import ACCEPT_VERSION, DEFAULT_QUERY, URL_CACHE_SIZE, USER_AGENT
from ._multipart import Multipart, build_request

__all__: list[str] = []


class _NoBody(enum.Enum):
    NO_BODY = enum.auto()


NO_BODY: Final = _NoBody.NO_BODY

_new: Final = object.__new__
# What httpx gives a request without a body (stateless: safe to share).
_EMPTY_BODY: Final = httpx.ByteStream(b"")
# Methods httpx sends ``Content-Length: 0`` for when they carry no body.
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})

# The request line and header block, serialized, of a body-less request.
Serialized = tuple[bytes, bool, int | None]


def _copy(request: httpx.Request, timeout: dict[str, float | None]) -> httpx.Request:
    """What `Wire._plain_request` builds again for the same method and URL, at a third the cost.

    Everything but the headers and extensions (which callers may change) is
    immutable or stateless, so it is shared: the method, URL, empty body and
    its read content.
    """
    copy: httpx.Request = _new(httpx.Request)
    copy.__dict__.update(request.__dict__)
    copy.headers = httpx.Headers(request.headers)
    copy.extensions = {"timeout": timeout}
    return copy


class Wire:
    """The shared parts of a transport's requests, and the requests built from them."""

    __slots__ = (
        "_default_query",
        "_headers",
        "_host_headers",
        "_plain_heads",
        "_timeout",
        "_urls",
        "base_url",
    )

    def __init__(
        self, base_url: str, timeout: httpx.Timeout | float, headers: Mapping[str, str] | None
    ) -> None:
        self.base_url: str = base_url.rstrip("/")
        timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        # Read-only, shared by every request's extensions (httpcore only reads it).
        self._timeout: dict[str, float | None] = timeout.as_dict()
        self._default_query = urlencode(DEFAULT_QUERY)
        merged = httpx.Headers(
            {
                "Accept": "application/json",
                "Accept-Version": ACCEPT_VERSION,
                "User-Agent": USER_AGENT,
            }
        )
        if headers:
            merged.update(headers)
        self._headers = merged
        # The default headers with ``Host`` in front (as httpx puts it), per netloc.
        self._host_headers: tuple[bytes, httpx.Headers] | None = None
        self._urls: dict[str, httpx.URL] = {}
        # Each body-less request's head, serialized once per method and URL
        # (keyed by the cached URL's id, which the entry keeps alive) and
        # default headers (a derived transport, with headers of its own,
        # shares this dict: `_derive._share`).
        # With the head, the request it was serialized from: later ones are copies of it.
        self._plain_heads: dict[
            tuple[str, int], tuple[httpx.URL, httpx.Headers, Serialized, httpx.Request]
        ] = {}

    @property
    def timeouts(self) -> Mapping[str, float | None]:
        """The phase timeouts every request gets (connect, read, write, pool), in seconds."""
        return self._timeout

    def _authorize(self, token: str | None) -> None:
        """Send ``Authorization: Bearer <token>`` from now on (none for ``None``)."""
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        elif "authorization" in self._headers:
            del self._headers["Authorization"]
        self._host_headers = None
        self._plain_heads.clear()

    def _url(self, path: str, params: Sequence[tuple[str, str]], *, flags: bool = True) -> str:
        # The default query goes first, as the official SDKs send it.
        if not flags:
            return f"{self.base_url}{path}?{urlencode(params)}" if params else self.base_url + path
        if params:
            return f"{self.base_url}{path}?{self._default_query}&{urlencode(params)}"
        return f"{self.base_url}{path}?{self._default_query}"

    def _parsed(self, url: str) -> httpx.URL:
        # httpx.URL is immutable, so one parse serves every request to that URL.
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = httpx.URL(url)
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            self._urls[url] = parsed
        return parsed

    def _plain_request(
        self, method: str, url: httpx.URL, timeout: dict[str, float | None]
    ) -> httpx.Request:
        """A body-less request with the default headers: what httpx would build, cheaper.

        ``stream=`` skips httpx's header preparation (which rebuilds the
        headers twice), so ``Host`` is added here, in front, as httpx does.
        """
        netloc = url.netloc
        baked = self._host_headers
        if baked is None or baked[0] != netloc:
            if "host" in self._headers:
                headers = self._headers
            else:
                headers = httpx.Headers([(b"Host", netloc), *self._headers.raw])
            baked = self._host_headers = (netloc, headers)
        request = httpx.Request(
            method, url, headers=baked[1], stream=_EMPTY_BODY, extensions={"timeout": timeout}
        )
        request.read()
        return request

    def _build_kept(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        timeout: dict[str, float | None],
        json: object,
        multipart: Multipart | None,
    ) -> tuple[httpx.Request, Serialized | None]:
        """`_build`, and the request's serialized head if it is one this keeps.

        A body-less request with the default headers is the same bytes each
        time, so `_http11.serialize_head` runs once per method and URL (and
        again after the token changes).
        """
        baked = self._host_headers
        if json is NO_BODY and multipart is None and headers is self._headers and baked:
            kept = self._plain_heads.get((method.upper(), id(url)))
            if kept is not None and kept[0] is url and kept[1] is baked[1]:
                return _copy(kept[3], timeout), kept[2]
        request = self._build(method, url, headers, timeout, json, multipart)
        baked = self._host_headers
        if request.stream is not _EMPTY_BODY or baked is None:
            return request, None
        key = (request.method, id(url))
        # Not at import: `_http11` loads anyio, which importing the client does not (first use).
        from ._http11._request import serialize_head

        try:
            serialized = serialize_head(request)
        except httpx.LocalProtocolError:
            return request, None  # raised again where it is sent, as for any request
        if len(self._plain_heads) >= URL_CACHE_SIZE:
            self._plain_heads.clear()
        self._plain_heads[key] = (url, baked[1], serialized, _copy(request, timeout))
        return request, serialized

    def _merged_headers(self, headers: Mapping[str, str] | None) -> httpx.Headers:
        if not headers:
            return self._headers
        merged = self._headers.copy()
        merged.update(headers)
        return merged

    def _build(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        timeout: dict[str, float | None],
        json: object,
        multipart: Multipart | None,
    ) -> httpx.Request:
        if json is NO_BODY and multipart is None and headers is self._headers:
            upper = method.upper()
            if upper not in _BODY_METHODS and url.host:
                return self._plain_request(upper, url, timeout)
        if multipart is not None:
            return build_request(method, url, headers, timeout, multipart)
        extensions = {"timeout": timeout}
        if json is NO_BODY:
            return httpx.Request(method, url, headers=headers, extensions=extensions)
        return httpx.Request(method, url, headers=headers, json=json, extensions=extensions)
