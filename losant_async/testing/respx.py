"""A respx mocker that patches losant_async's own HTTP transport.

Not needed any more: plain ``@respx.mock``, ``respx.mock(base_url=...)`` and
respx's ``respx_mock`` fixture intercept the library's requests (while one of
respx's mockers is active, the library sends through httpx's transport, which
respx patches). Kept for suites that use it. Importing this module registers
a respx mocker named ``"losant_async"`` that patches both the library's
HTTP/1.1 transport and httpcore's pools (so a caller-owned
``httpx.AsyncClient`` is mocked too)::

    import respx
    import losant_async.testing.respx  # registers the mocker

    with respx.mock(base_url="https://api.losant.com", using="losant_async") as router:
        router.get("/applications/575ec8687ae143cd83dc4a97").respond(200, json={...})
        ...

``use_by_default()`` makes it the mocker of every respx router, for a
``conftest.py``. Requires respx (not a dependency of losant_async).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import respx.mocks

__all__ = ["MOCKER_NAME", "use_by_default"]

MOCKER_NAME = "losant_async"

# Patched by name so that this module needs nothing from the client's code.
_TRANSPORT = "losant_async._http11._transport.Http11Transport"


class _LosantAsyncMocker(respx.mocks.HTTPCoreMocker):
    """httpcore's mocker, plus losant_async's transport, which takes and returns httpx types."""

    name = MOCKER_NAME
    targets: ClassVar[list[str]] = [*respx.mocks.HTTPCoreMocker.targets, _TRANSPORT]

    @classmethod
    async def prepare_async_request(
        cls, httpx_request: httpx.Request, **kwargs: Any
    ) -> tuple[httpx.Request, dict[str, Any]]:
        if isinstance(kwargs.get("request"), httpx.Request):
            await httpx_request.aread()
            return httpx_request, kwargs
        return await super().prepare_async_request(httpx_request, **kwargs)  # type: ignore[no-untyped-call,no-any-return]

    @classmethod
    def to_httpx_request(cls, **kwargs: Any) -> httpx.Request:
        request = kwargs["request"]
        if isinstance(request, httpx.Request):
            return request
        return super().to_httpx_request(**kwargs)  # type: ignore[no-untyped-call,no-any-return]

    @classmethod
    async def from_async_httpx_response(
        cls, httpx_response: httpx.Response, target: object, **kwargs: Any
    ) -> object:
        if isinstance(kwargs.get("request"), httpx.Request):
            return httpx_response
        return await super().from_async_httpx_response(httpx_response, target, **kwargs)  # type: ignore[no-untyped-call]


def use_by_default() -> None:
    """Make the losant_async mocker the default of every respx router."""
    respx.mocks.DEFAULT_MOCKER = MOCKER_NAME
