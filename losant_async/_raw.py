"""``app.with_raw_response``: the HTTP status, headers and request id beside the typed result.

openai-python's shape: ``raw = await app.with_raw_response.get()`` makes the
same request as ``app.get()`` and gives a `RawResponse`, whose ``parse()`` is
what ``app.get()`` would have returned (a model, a list, a ``JobHandle`` for a
202). One `RawMethod` descriptor per action, in `ApplicationRawResponses`,
calls the action on a façade over a `_derive.RecordingTransport` (the same
pool and settings), which keeps the answer: no action is wrapped by hand, and
the type checker reads each action's own signature through ``ParamSpec``
(the overloaded ones are typed by their result). Streams are not here: a
stream has no one response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import (
    TYPE_CHECKING,
    Concatenate,
    Final,
    Generic,
    ParamSpec,
    TypeVar,
    cast,
    overload,
)

import httpx

from ._application import AsyncApplication
from ._derive import recording
from ._exceptions import APIResponseValidationError

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._jobs import JobHandle
    from ._models import (
        Application,
        ApplicationCloneDryRunResult,
        ApplicationCreationByTemplateResult,
        ApplicationExportResult,
    )
    from ._response import Response

    CloneResult: TypeAlias = (
        ApplicationCloneDryRunResult | ApplicationCreationByTemplateResult | JobHandle
    )

__all__ = ["ApplicationRawResponses", "RawResponse"]

P = ParamSpec("P")
T = TypeVar("T")


class RawResponse(Generic[T]):
    """The answer of one call, read before (or besides) its typed result.

    ``status_code``, ``headers`` and ``request_id`` (Losant's
    ``X-Request-Id``, or ``None``) describe the HTTP answer; ``parse()``
    gives the typed result the plain call returns. A body that does not
    decode raises ``APIResponseValidationError`` from ``parse()``, so the
    status and headers of a malformed answer stay readable.
    """

    __slots__ = ("_error", "_response", "_result")

    def __init__(
        self,
        response: Response,
        result: T | None = None,
        *,
        error: APIResponseValidationError | None = None,
    ) -> None:
        self._response = response
        self._result = result
        self._error = error

    @property
    def status_code(self) -> int:
        """The HTTP status (``200``, ``201``, ``202``, ...)."""
        return self._response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (case-insensitive)."""
        return self._response.headers

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-Id`` header, to quote to Losant support; ``None`` when absent."""
        value: str | None = self._response.headers.get("x-request-id")
        return value

    @property
    def content(self) -> bytes:
        """The body as received (decompressed)."""
        return self._response.content

    def parse(self) -> T:
        """The typed result: what the call without ``with_raw_response`` returns."""
        if self._error is not None:
            raise self._error
        # None only when ``_error`` is set (a body that did not decode).
        return cast("T", self._result)

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}]>"


class RawMethod(Generic[P, T]):
    """One action of the façade, answering a `RawResponse` of its result."""

    __slots__ = ("_name",)

    def __init__(self, action: Callable[Concatenate[AsyncApplication, P], Awaitable[T]]) -> None:
        self._name: str = action.__name__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> RawMethod[P, T]: ...
    @overload
    def __get__(
        self, obj: ApplicationRawResponses, owner: type | None = None
    ) -> Callable[P, Awaitable[RawResponse[T]]]: ...
    def __get__(
        self, obj: ApplicationRawResponses | None, owner: type | None = None
    ) -> RawMethod[P, T] | Callable[P, Awaitable[RawResponse[T]]]:
        if obj is None:
            return self
        app, name = obj._app, self._name

        async def call(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
            app._check_open()  # the twin has a lifecycle of its own
            transport = recording(app._transport)
            # A façade like ``app`` over a transport that keeps the answer.
            twin = AsyncApplication._borrowing(transport, app.application_id)
            try:
                result: T = await getattr(twin, name)(*args, **kwargs)
            except APIResponseValidationError as exc:
                if transport.recorded is None:
                    raise
                return RawResponse(transport.recorded, error=exc)
            assert transport.recorded is not None  # every action reads one answer
            return RawResponse(transport.recorded, result)

        call.__name__ = call.__qualname__ = name
        return call


class ApplicationRawResponses:
    """``app.with_raw_response``: each action of ``app``, answering a `RawResponse`.

    ``raw = await app.with_raw_response.get()`` sends what ``app.get()``
    sends (same arguments, retries, errors) and gives ``raw.status_code``,
    ``raw.headers``, ``raw.request_id`` and ``raw.parse()`` (the
    ``Application``). The two stream methods and ``job()`` are not here.
    """

    __slots__ = ("_app",)

    def __init__(self, app: AsyncApplication) -> None:
        self._app = app

    def __repr__(self) -> str:
        return f"<with_raw_response of {self._app!r}>"

    # ``Final``: the type of each is the action's own, read through ParamSpec.
    get: Final = RawMethod(AsyncApplication.get)
    patch: Final = RawMethod(AsyncApplication.patch)
    delete: Final = RawMethod(AsyncApplication.delete)
    globals: Final = RawMethod(AsyncApplication.globals)
    readme: Final = RawMethod(AsyncApplication.readme)
    readme_patch: Final = RawMethod(AsyncApplication.readme_patch)
    search: Final = RawMethod(AsyncApplication.search)
    device_counts: Final = RawMethod(AsyncApplication.device_counts)
    notebook_minute_counts: Final = RawMethod(AsyncApplication.notebook_minute_counts)
    payload_counts: Final = RawMethod(AsyncApplication.payload_counts)
    payload_counts_breakdown: Final = RawMethod(AsyncApplication.payload_counts_breakdown)
    import_logs: Final = RawMethod(AsyncApplication.import_logs)
    import_: Final = RawMethod(AsyncApplication.import_)
    archive_data: Final = RawMethod(AsyncApplication.archive_data)
    backfill_archive_data: Final = RawMethod(AsyncApplication.backfill_archive_data)
    full_data_tables_archive: Final = RawMethod(AsyncApplication.full_data_tables_archive)
    full_events_archive: Final = RawMethod(AsyncApplication.full_events_archive)
    mqtt_publish_message: Final = RawMethod(AsyncApplication.mqtt_publish_message)

    # The overloaded actions: ``ParamSpec`` would take their first overload
    # only (mypy and pyright alike), so their raw forms are typed by result:
    # the arguments are checked at run time, and ``parse()`` is the union.
    if TYPE_CHECKING:
        apply_template: Callable[..., Awaitable[RawResponse[Application | JobHandle]]]
        clone: Callable[..., Awaitable[RawResponse[CloneResult]]]
        export: Callable[..., Awaitable[RawResponse[ApplicationExportResult | JobHandle]]]
    else:
        apply_template = RawMethod(AsyncApplication.apply_template)
        clone = RawMethod(AsyncApplication.clone)
        export = RawMethod(AsyncApplication.export)
