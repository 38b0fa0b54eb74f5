"""What every generated resource class stands on: its path, one request, one answer.

A resource object is cheap (three slots): ``app.devices`` makes a new one on
each access. It knows its full path (ids already percent-encoded), the
transport it shares with its client, and how to check that the client or
façade it came from is still open. Each generated method checks its
arguments (``_encode``), then calls ``_call(spec, ...)``: one request through
the transport with the action's retry class, and the answer decoded by its
status (``Spec.answers``); a ``202`` becomes a ``JobHandle``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar

from .._convert import decode, decode_list
from .._exceptions import APIResponseValidationError
from .._wire import NO_BODY

if TYPE_CHECKING:
    from .._multipart import Multipart
    from .._response import Response
    from .._retry import RetryPolicy
    from .._transport import Transport


__all__ = ["JOB", "LIST", "MODEL", "NONE", "VALUE", "Resource", "Spec"]

R = TypeVar("R", bound="Resource")

# How an answer's body is read (Spec.answers): into a model, a list of models,
# as plain JSON, not at all (204), or as the job a 202 enqueued.
MODEL: Final = 0
LIST: Final = 1
VALUE: Final = 2
NONE: Final = 3
JOB: Final = 4


class Spec:
    """One action, as its generated method sends it (a module-level constant)."""

    __slots__ = ("answers", "job", "key", "method", "path", "retry")

    def __init__(
        self,
        key: str,
        method: str,
        path: str,
        retry: RetryPolicy,
        answers: Mapping[int, tuple[int, type[Any] | None]],
    ) -> None:
        self.key = key  # "devices.get": Losant's resource and action names
        self.method = method
        self.path = path  # under the resource's path
        self.retry = retry
        self.answers = answers
        self.job = any(kind == JOB for kind, _ in answers.values())

    def __repr__(self) -> str:
        return f"Spec({self.key!r}, {self.method} {self.path or '/'})"


class Resource:
    """The base of every generated resource class (``AsyncDevices``, ``AsyncDevice``, ...)."""

    __slots__ = ("_check_open", "_path", "_transport", "_values")

    TEMPLATE: ClassVar[str] = ""
    """The resource's path with ``{}`` for each id, in order."""

    def __init__(
        self, transport: Transport, values: tuple[str, ...], check_open: Callable[[], None]
    ) -> None:
        self._transport = transport
        self._values = values  # path ids, percent-encoded
        self._check_open = check_open
        self._path = self.TEMPLATE.format(*values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path!r})"

    def _child(self, cls: type[R], *ids: str) -> R:
        """A resource below this one (``device.attributes``, ``data_table.row(id)``)."""
        self._check_open()
        return cls(self._transport, self._values + ids, self._check_open)

    async def _call(
        self,
        spec: Spec,
        params: Sequence[tuple[str, str]] = (),
        body: object = NO_BODY,
        *,
        multipart: Multipart | None = None,
        path: str | None = None,
    ) -> Any:
        self._check_open()
        # Taken before sending: a job's log entry is stamped on arrival, and
        # the handle's matching window must open before that (API.md "Jobs").
        sent_at = datetime.now(UTC) if spec.job else None
        response = await self._transport.request(
            spec.method,
            self._path + (spec.path if path is None else path),
            retry=spec.retry,
            params=params,
            json=body,
            multipart=multipart,
        )
        return self._answer(spec, response, sent_at)

    def _answer(self, spec: Spec, response: Response, sent_at: datetime | None) -> Any:
        status = response.status_code
        found = spec.answers.get(status)
        if found is None:
            if status == 204 and not response.content:
                return None
            # A 2xx the definition does not list: read it as the documented
            # success it most likely is, or say plainly what came.
            found = next((a for a in spec.answers.values() if a[0] != JOB), None)
            if found is None:
                raise response.locate(
                    APIResponseValidationError(
                        f"{spec.key} answered {status}, which the API does not document",
                        status_code=status,
                        body_snippet=response.snippet(),
                    )
                )
        kind, cls = found
        if kind == MODEL:
            return decode(response, cls)  # type: ignore[arg-type]
        if kind == LIST:
            return decode_list(response, cls)  # type: ignore[arg-type]
        if kind == NONE:
            return None
        if kind == JOB:
            from .. import _lazy
            from .._jobs._whole import job_handle  # only jobs pay for the job machinery

            _lazy.publish("losant_async")  # JobHandle, JobError: the public path
            return job_handle(
                self._transport,
                response,
                application_id=self._application_id(),
                action=spec.key,
                enqueued_at=sent_at or datetime.now(UTC),
                resource_path=self._path,
            )
        return response.json()

    def _application_id(self) -> str | None:
        return self._values[0] if self.TEMPLATE.startswith("/applications/{}") else None
