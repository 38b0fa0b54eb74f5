"""The ``JobHandle`` of every ``202 Accepted`` of the whole API (issue 16).

``job_handle`` is what a generated method returns for a 202. Jobs of an
application's resources are followed through that application's job logs
with the matching rules of ``_matching`` (README, "How jobs are matched"),
narrowed, for a job that runs on one resource, to entries naming it
(``resourceType``/``resourceId``: a device's export, a data table's rows,
a notebook, a dashboard, a device recipe). The 8 jobs of the Application
resource are followed exactly as ``AsyncApplication``'s own handles are.

A job outside any application (``applications.import``,
``dashboard.sendReport``, ``instance.generateReport``,
``instanceNotificationRule.evaluate``) has no job log the API documents: its
handle is an ``UnfollowableJobHandle`` (``followable`` is ``False``), whose
waits raise ``JobNotFollowableError`` at once instead of polling forever.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Generator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NoReturn
from urllib.parse import unquote

from .._convert import decode
from .._exceptions import APIResponseValidationError, LosantError
from .._models import JobEnqueuedResult
from ._handle import JobHandle, server_date
from ._matching import IMPORT_LOG_ACTIONS, JOB_LOG_ACTIONS, WHOLE_JOB_ACTIONS

if TYPE_CHECKING:
    from .._response import Response
    from .._transport import Transport
    from ._values import JobOutcome, JobProgress

__all__ = [
    "FOLLOWABLE_ACTIONS",
    "UNFOLLOWABLE_ACTIONS",
    "JobNotFollowableError",
    "UnfollowableJobHandle",
    "job_handle",
]

# The 202 actions of the whole API that no job log follows (no application).
UNFOLLOWABLE_ACTIONS: Final = frozenset(
    {
        "applications.import",
        "dashboard.sendReport",
        "instance.generateReport",
        "instanceNotificationRule.evaluate",
    }
)
_APPLICATION: Final = "application."
# Every 202 action whose handle can be awaited.
FOLLOWABLE_ACTIONS: Final = frozenset(
    {_APPLICATION + a for a in JOB_LOG_ACTIONS | IMPORT_LOG_ACTIONS} | WHOLE_JOB_ACTIONS
)

# Resource -> (the job log's resourceType, the path segment before its id).
_RESOURCES: Final = {
    "device": ("device", "devices"),
    "dataTableRows": ("datatable", "data-tables"),
    "notebook": ("notebook", "notebooks"),
    "applicationDashboard": ("dashboard", "dashboards"),
    "deviceRecipe": ("deviceRecipe", "device-recipes"),
}


class JobNotFollowableError(LosantError, RuntimeError):
    """The job of this 202 cannot be followed: no job log the API documents records it.

    Raised by ``wait()``, ``status()``, ``progress()`` and ``await`` of an
    ``UnfollowableJobHandle``. The job was enqueued all the same; where the
    action takes a ``callback_url``, Losant calls it when the job is done.
    """


class UnfollowableJobHandle(JobHandle):
    """The handle of a job outside any application: ``followable`` is ``False``.

    It carries ``job_id``, ``action`` and the times like any handle; every
    way of waiting raises ``JobNotFollowableError`` at once (never a poll).
    ``application_id`` is ``""``.
    """

    followable = False

    def __init__(
        self,
        transport: Transport,
        *,
        action: str,
        job_id: str,
        enqueued_at: datetime,
        accepted_at: datetime | None = None,
        server_time: datetime | None = None,
    ) -> None:
        # JobHandle checks the action; this handle never polls, so it names
        # one of its own and keeps the real one.
        super().__init__(
            transport,
            application_id="",
            action="export",
            job_id=job_id,
            enqueued_at=enqueued_at,
            accepted_at=accepted_at,
            server_time=server_time,
        )
        self.action = action

    def _refuse(self) -> NoReturn:
        raise JobNotFollowableError(
            f"The {self.action} job {self.job_id} runs outside any application: no job "
            "log records it, so it cannot be awaited (handle.followable is False)."
        )

    def __await__(self) -> Generator[Any, None, JobOutcome]:
        self._refuse()

    async def status(self) -> JobProgress:
        """Raises ``JobNotFollowableError``."""
        self._refuse()

    async def wait(
        self,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        poll_interval: float | None = None,
    ) -> JobOutcome:
        """Raises ``JobNotFollowableError``."""
        self._refuse()

    async def progress(
        self, *, poll_interval: float | None = None
    ) -> AsyncGenerator[JobProgress, None]:
        """Raises ``JobNotFollowableError`` on the first iteration."""
        self._refuse()
        yield  # type: ignore[unreachable]  # pragma: no cover - an async generator


def _job_id(response: Response) -> str:
    """The ``jobId`` of a ``202`` answer (as ``AsyncApplication`` reads it)."""
    result = decode(response, JobEnqueuedResult)
    if not result.job_id:
        raise response.locate(
            APIResponseValidationError(
                "202 Accepted without a jobId",
                status_code=response.status_code,
                body_snippet=response.snippet(),
            )
        )
    return result.job_id


def _resource(action: str, resource_path: str) -> tuple[str, str] | None:
    found = _RESOURCES.get(action.partition(".")[0])
    if found is None:
        return None
    kind, segment = found
    match = re.search(rf"/{re.escape(segment)}/([^/]+)", resource_path)
    return None if match is None else (kind, unquote(match.group(1)))


def job_handle(
    transport: Transport,
    response: Response,
    *,
    application_id: str | None,
    action: str,
    enqueued_at: datetime,
    resource_path: str,
) -> JobHandle:
    """The ``JobHandle`` of a 202 answer to ``action`` (``"<resource>.<action>"``).

    Args:
        transport: The transport that sent the request (polls go through it).
        response: The 202 answer (its ``jobId`` and ``Date``).
        application_id: The application the resource belongs to, or ``None``.
        action: Losant's resource and action names, e.g. ``"devices.export"``.
        enqueued_at: The client's time taken before the request was sent.
        resource_path: The path of the resource the action was called on.

    Returns:
        A ``JobHandle``; an ``UnfollowableJobHandle`` for a job that no job
        log records (no application, or an action not known to enqueue).
    """
    accepted_at = datetime.now(UTC)
    job_id = _job_id(response)
    server_time = server_date(response.headers)
    resource, _, name = action.partition(".")
    if (
        application_id
        and resource == "application"
        and name in JOB_LOG_ACTIONS | IMPORT_LOG_ACTIONS
    ):
        # The Application resource's own jobs: the handle AsyncApplication makes.
        return JobHandle(
            transport,
            application_id=application_id,
            action=name,
            job_id=job_id,
            enqueued_at=enqueued_at,
            accepted_at=accepted_at,
            server_time=server_time,
        )
    if application_id and action in WHOLE_JOB_ACTIONS:
        return JobHandle(
            transport,
            application_id=application_id,
            action=action,
            job_id=job_id,
            enqueued_at=enqueued_at,
            accepted_at=accepted_at,
            server_time=server_time,
            resource=_resource(action, resource_path),
        )
    return UnfollowableJobHandle(
        transport,
        action=action,
        job_id=job_id,
        enqueued_at=enqueued_at,
        accepted_at=accepted_at,
        server_time=server_time,
    )
