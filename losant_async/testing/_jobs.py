"""Background jobs: queued -> inProgress (with progress) -> completed or errored.

Import-like actions (`import`, `applyTemplate`) are recorded in the
application's import logs and carry the enqueue answer's `jobId`; every other
job is recorded in its job logs under a fresh 24-hex `jobId` (INTERNALS.md,
"Local Losant"), named after the job as Losant names it (`JOB_NAMES`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import anyio
import anyio.abc

from losant_async.testing._faults import Faults
from losant_async.testing._state import Json, State, iso, new_id

IMPORT_ACTIONS = frozenset({"import", "applyTemplate"})
JOB_NAMES = {
    # Published in Losant's API examples (spec/losant-api/apiExamples.json).
    "export": "ApplicationExport",
    "archiveData": "ArchiveData",
    # Not published: assumed, following the pattern of the two above (README,
    # "Where the local Losant departs from Losant").
    "clone": "ApplicationClone",
    "backfillArchiveData": "BackfillArchiveData",
    "fullDataTablesArchive": "FullDataTablesArchive",
    "fullEventsArchive": "FullEventsArchive",
    # The IoT jobs (`_handlers/iot_*`), by `<resource>.<action>`: not published
    # either, named on the same pattern.
    "data.export": "DataExport",
    "device.export": "DeviceDataExport",
    "device.removeData": "DeviceDataRemoval",
    "devices.export": "DevicesExport",
    "devices.payloadCounts": "DevicesPayloadCounts",
    "devices.removeData": "DevicesDataRemoval",
    "devices.delete": "DevicesDelete",
    "devices.restore": "DevicesRestore",
    "devices.patch": "DevicesUpdate",
    "devices.sendCommand": "DevicesCommand",
    "dataTableRows.export": "DataTableExport",
    "events.export": "EventsExport",
    "events.patch": "EventsUpdate",
    "events.delete": "EventsDelete",
    "embeddedDeployments.export": "EmbeddedDeploymentsExport",
    "notebook.requestInputDataExport": "NotebookInputDataExport",
    "applicationDashboard.sendReport": "DashboardReport",
    "deviceRecipe.bulkCreate": "DeviceRecipeBulkCreate",
    "flowVersions.delete": "FlowVersionsDelete",
}
"""The job log `name` of each job-log action's job."""
JOB_STATUSES = ("queued", "inProgress", "completed", "errored", "failed")
REQUESTER_TYPES = ("user", "apiToken", "flow", "device", "system")
# Progress advances in this many steps over the running part of a job.
_STEPS = 4
# Share of a job's duration spent queued before it starts.
_QUEUED_SHARE = 0.2

Completion = Callable[[], Json | None]


class JobRunner:
    """Enqueues jobs into the server's task group and walks them through their states."""

    def __init__(self, state: State, faults: Faults, duration: Callable[[], float]) -> None:
        self._state = state
        self._faults = faults
        self._duration = duration
        self.group: anyio.abc.TaskGroup | None = None

    def enqueue(
        self,
        action: str,
        application_id: str,
        *,
        queued_at: datetime,
        requested_by: str,
        fields: Json | None = None,
        on_complete: Completion | None = None,
    ) -> str:
        """Record a queued job, start it, and return the enqueue answer's `jobId`.

        `fields` are merged into the log entry; `on_complete` runs when the job
        succeeds and returns the entry's `output` (job logs only).
        """
        if self.group is None:
            raise RuntimeError("the local Losant is not running")
        job_number = self._state.next_job_number()
        entry: Json = {
            "id": new_id(),
            "applicationId": application_id,
            "runQueuedAt": iso(queued_at),
            "status": "queued",
        }
        if action in IMPORT_ACTIONS:
            kind = "import"
            entry.update(
                importExecutionId=new_id(),
                jobId=job_number,
                sourceType="apiToken",
                sourceId=requested_by,
                dryRun=False,
            )
        else:
            kind = "job"
            entry.update(
                job_log_entry(
                    application_id,
                    name=JOB_NAMES[action],
                    requested_by_type="apiToken",
                    requested_by_id=requested_by,
                )
            )
            entry["runQueuedAt"] = iso(queued_at)
        entry.update(fields or {})
        self._state.add_log(application_id, kind, entry)
        failure = self._faults.take_job_failure(action, application_id)
        self.group.start_soon(
            self._run, kind, entry, max(self._duration(), 0.0), failure, on_complete
        )
        return job_number

    async def _run(
        self,
        kind: str,
        entry: Json,
        duration: float,
        failure: str | None,
        on_complete: Completion | None,
    ) -> None:
        update = self._state.update_log
        now = self._state.now
        await anyio.sleep(duration * _QUEUED_SHARE)
        changes: dict[str, Any] = {"status": "inProgress", "runStartedAt": iso(now())}
        if kind == "job":
            changes["progress"] = {"completed": 0, "total": _STEPS, "status": "running"}
        update(entry, **changes)
        for step in range(1, _STEPS + 1):
            await anyio.sleep(duration * (1 - _QUEUED_SHARE) / _STEPS)
            if failure is not None and step == _STEPS // 2 + 1:
                break
            if kind == "job":
                update(entry, progress={"completed": step, "total": _STEPS, "status": "running"})
        if failure is not None:
            finished: dict[str, Any] = {
                "status": "errored",
                "runCompletedAt": iso(now()),
                "error": {"name": "JobError", "message": failure},
            }
            if kind == "job":
                finished["progress"] = {**entry["progress"], "status": "errored"}
            update(entry, **finished)
            return
        output = on_complete() if on_complete is not None else None
        finished = {"status": "completed", "runCompletedAt": iso(now())}
        if kind == "job":
            finished["progress"] = {"completed": _STEPS, "total": _STEPS, "status": "completed"}
            finished["output"] = output or {}
        update(entry, **finished)


def job_log_entry(
    application_id: str,
    *,
    name: str,
    requested_by_type: str,
    requested_by_id: str,
    status: str = "queued",
    queued_at: datetime | None = None,
) -> Json:
    """A job log entry of the application's own job, shaped as `schemas/applicationJobLog.json`.

    An entry past `queued` starts (and, once finished, ends) at `queued_at`.
    """
    entry: Json = {
        "id": new_id(),
        "jobId": new_id(),
        "jobExecutionId": new_id(),
        "name": name,
        "applicationId": application_id,
        "status": status,
        "requestedById": requested_by_id,
        "requestedByType": requested_by_type,
        "ownerType": "application",
        "ownerId": application_id,
        "resourceType": "application",
        "resourceId": application_id,
        "input": {},
    }
    done = _STEPS if status in ("completed",) else 0
    progress = {"queued": "queued", "inProgress": "running"}.get(status, status)
    entry["progress"] = {"completed": done, "total": _STEPS, "status": progress}
    if queued_at is not None:
        stamp = iso(queued_at)
        entry["runQueuedAt"] = stamp
        if status != "queued":
            entry["runStartedAt"] = stamp
        if status in ("completed", "errored", "failed"):
            entry["runCompletedAt"] = stamp
            entry["output"] = {}
    if status in ("errored", "failed"):
        entry["error"] = {"name": "JobError", "message": f"The job {status}"}
    return entry
