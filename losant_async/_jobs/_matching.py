"""Matching job log and import log entries to an enqueued job.

This module owns the log-entry side of job tracking: which actions' jobs land
in the job logs (and under which Losant job name) and which in the import
logs, ``Entry`` (a log entry of either kind reduced to what matching and
outcomes need), building it from ``ApplicationJobLog`` /
``ApplicationImportExecution``, the server-side filter of the job logs
(``job_log_query``), and the matching rules themselves in ``match_entries``
(written up in the README, "How jobs are matched"). It reads no logs and
holds no state; ``_handle.JobHandle`` fetches the entries, calls
``match_entries`` and turns the entry it follows into progress and outcomes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final, Literal

import attrs

from .._convert import as_utc, unstructure
from .._models import ApplicationImportExecution, ApplicationJobLog
from ._values import QUEUED, JobError, frozen_mapping

# THE table of job names: a job log entry's `name` is Losant's name of the
# job, not the action (API.md "Job kinds"). Losant's own examples show
# "ApplicationExport" (spec/losant-api/apiExamples.json,
# advancedApplicationJobLogQuery) and "ArchiveData" (applicationJobLog).
# None: Losant does not publish the name. A name learned later is a one-line
# change here; every rule below and the server filter follow from this table.
JOB_NAMES: Final[Mapping[str, str | None]] = MappingProxyType(
    {
        "export": "ApplicationExport",
        "archiveData": "ArchiveData",
        "clone": None,
        "backfillArchiveData": None,
        "fullDataTablesArchive": None,
        "fullEventsArchive": None,
    }
)
# Actions whose jobs land in the job logs.
JOB_LOG_ACTIONS: Final = frozenset(JOB_NAMES)
# Known job name -> the action it belongs to.
_KNOWN_NAMES: Final = MappingProxyType(
    {name: action for action, name in JOB_NAMES.items() if name is not None}
)
# Actions whose jobs land in the import logs (spec: importLogs).
IMPORT_LOG_ACTIONS: Final = frozenset({"import", "applyTemplate"})
# The whole API's job actions ("<resource>.<action>", issue 16) beyond the
# Application resource's: their jobs land in the job logs under names Losant
# does not publish, each entry naming the resource it ran on
# (resourceType/resourceId, schemas/applicationJobLog.json).
WHOLE_JOB_ACTIONS: Final = frozenset(
    {
        "applicationDashboard.sendReport",
        "data.export",
        "dataTableRows.export",
        "device.export",
        "device.removeData",
        "deviceRecipe.bulkCreate",
        "devices.delete",
        "devices.export",
        "devices.patch",
        "devices.payloadCounts",
        "devices.removeData",
        "devices.restore",
        "devices.sendCommand",
        "embeddedDeployments.export",
        "events.delete",
        "events.export",
        "events.patch",
        "flowVersions.delete",
        "notebook.requestInputDataExport",
    }
)
# `requestedByType` of jobs Losant starts itself (e.g. nightly archiving,
# schemas/applicationJobLog.json enum): never the job of an API request.
_SYSTEM: Final = "system"

_MS: Final = timedelta(milliseconds=1)

# The import log fields that describe a finished import (the rest are its
# inputs, or already in JobOutcome: status, times, error).
_IMPORT_OUTPUT_FIELDS: Final = (
    "importExecutionId",
    "importSourceType",
    "importUrl",
    "importedFileUrl",
    "dryRun",
    "dryRunResults",
    "validationErrors",
)


@attrs.frozen
class Entry:
    """A job log or import log entry, reduced to what matching and outcomes need.

    ``queued_at`` is the time the window rule reads: ``runQueuedAt``, or for
    an import log entry without it, ``runStartedAt`` (Losant's own example
    import log has no ``runQueuedAt``, spec/losant-api/apiExamples.json).
    """

    log_id: str
    ids: frozenset[str]
    source: Literal["job", "import"]
    name: str | None
    requested_by_type: str | None
    application_ids: frozenset[str]
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    status: str
    completed: float | None
    total: float | None
    output: Mapping[str, object]
    error: JobError | None
    # The resource the job ran on (job logs only): e.g. ("device", "<id>").
    resource_type: str | None = None
    resource_id: str | None = None


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _ids(*values: str | None) -> frozenset[str]:
    return frozenset(v for v in values if v)


def job_log_entry(log: ApplicationJobLog) -> Entry | None:
    log_id = log.id or log.job_execution_id or log.job_id
    if not log_id:
        return None
    # The application may be named as applicationId, as the resource the job
    # ran on, or as the owner (schemas/applicationJobLogs.json).
    apps = {log.application_id}
    if log.resource_type == "application":
        apps.add(log.resource_id)
    if log.owner_type == "application":
        apps.add(log.owner_id)
    progress = log.progress
    error = None if log.error is None else JobError(log.error.name, log.error.message)
    status = log.status or (progress.status if progress is not None else None) or QUEUED
    return Entry(
        log_id=log_id,
        ids=_ids(log.id, log.job_id, log.job_execution_id),
        source="job",
        name=log.name,
        requested_by_type=log.requested_by_type,
        application_ids=_ids(*apps),
        queued_at=utc(log.run_queued_at),
        started_at=utc(log.run_started_at),
        completed_at=utc(log.run_completed_at),
        status=status,
        completed=progress.completed if progress is not None else None,
        total=progress.total if progress is not None else None,
        output=frozen_mapping(log.output),
        error=error,
        resource_type=log.resource_type,
        resource_id=log.resource_id,
    )


def import_log_entry(log: ApplicationImportExecution) -> Entry | None:
    log_id = log.id or log.import_execution_id
    if not log_id:
        return None
    wire = unstructure(log)
    error = None if log.error is None else JobError(log.error.name, log.error.message)
    return Entry(
        log_id=log_id,
        ids=_ids(log.id, log.job_id, log.import_execution_id),
        source="import",
        name=None,
        requested_by_type=None,
        application_ids=_ids(log.application_id),
        queued_at=utc(log.run_queued_at or log.run_started_at),
        started_at=utc(log.run_started_at),
        completed_at=utc(log.run_completed_at),
        status=log.status or QUEUED,
        completed=None,
        total=None,
        output=frozen_mapping({k: wire[k] for k in _IMPORT_OUTPUT_FIELDS if k in wire}),
        error=error,
    )


def _is_kind(entry: Entry, action: str) -> bool:
    """Whether ``entry`` is of the kind of job ``action`` enqueues (API.md "Job kinds")."""
    if action in IMPORT_LOG_ACTIONS:
        return entry.source == "import"
    if entry.source != "job" or entry.requested_by_type == _SYSTEM:
        return False
    known = JOB_NAMES.get(action)
    if known is not None:
        return entry.name == known
    # Name unpublished: anything but another action's known name.
    return _KNOWN_NAMES.get(entry.name or "", action) == action


def _iso(value: datetime) -> str:
    # The form Losant writes its times in ("2025-06-10T04:00:00.000Z").
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_log_query(action: str, since: datetime, until: datetime) -> str:
    """The ``query`` parameter of ``GET jobLogs``: the window, and the job name where known.

    An advanced query (spec/losant-api/schemas/advancedApplicationJobLogQuery.json),
    sent as compact JSON text, as Losant's JavaScript client sends it
    (``JSON.stringify``). The bounds are widened to whole milliseconds, so the
    server never drops an entry the local rules would accept.
    """
    floor = since.replace(microsecond=since.microsecond - since.microsecond % 1000)
    ceil = until + (_MS - timedelta(microseconds=until.microsecond % 1000)) % _MS
    query: dict[str, object] = {"runQueuedAt": {"$gte": _iso(floor), "$lte": _iso(ceil)}}
    name = JOB_NAMES.get(action)
    if name is not None:
        query["name"] = name
    return json.dumps(query, separators=(",", ":"))


def match_entries(
    entries: Sequence[Entry],
    *,
    job_id: str,
    application_id: str,
    action: str,
    since: datetime,
    until: datetime,
    resource: tuple[str, str] | None = None,
) -> tuple[list[Entry], bool]:
    """The entries that could be the job, and whether they matched by id.

    An entry carrying the enqueued id is certain and wins. Otherwise every
    entry of the same application and kind (``_is_kind``) queued inside
    ``[since, until]`` is a candidate; the caller raises on more than one,
    never guesses. With ``resource`` (the ``(resourceType, resourceId)`` the
    job runs on, e.g. a device's export), an entry naming another resource
    is no candidate.
    """
    exact = [e for e in entries if job_id in e.ids]
    if exact:
        return exact, True
    candidates = [
        e
        for e in entries
        if _is_kind(e, action)
        and (not e.application_ids or application_id in e.application_ids)
        and e.queued_at is not None
        and since <= e.queued_at <= until
        and _on_resource(e, resource)
    ]
    return candidates, False


def _on_resource(entry: Entry, resource: tuple[str, str] | None) -> bool:
    """Whether ``entry`` may have run on ``resource`` (an entry that names none may)."""
    if resource is None or entry.resource_type is None:
        return True
    kind, resource_id = resource
    if entry.resource_type.lower() != kind.lower():
        return False
    return entry.resource_id is None or entry.resource_id == resource_id
