"""Matching job log and import log entries to an enqueued job.

This module owns the log-entry side of job tracking: which actions' jobs land
in the job logs and which in the import logs, ``_Entry`` (a log entry of
either kind reduced to what matching and outcomes need), building it from
``ApplicationJobLog`` / ``ApplicationImportExecution``, and the matching rules
themselves in ``_match`` (written up in the README, "How jobs are matched").
It reads no logs and holds no state; ``_jobs.JobHandle`` fetches the entries,
calls ``_match`` and turns the entry it follows into progress and outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Final

import attrs

from ._convert import _as_utc, unstructure
from ._models import ApplicationImportExecution, ApplicationJobLog

# Actions whose jobs land in the job logs; their log entry's `name` is the
# action name (spec/api/application.json, applicationJobLogs).
_JOB_LOG_ACTIONS: Final = frozenset(
    {
        "export",
        "archiveData",
        "backfillArchiveData",
        "fullDataTablesArchive",
        "fullEventsArchive",
        "clone",
    }
)
# Actions whose jobs land in the import logs (spec: importLogs).
_IMPORT_LOG_ACTIONS: Final = frozenset({"import", "applyTemplate"})
_IMPORT_KIND: Final = "\x00import"  # cannot collide with a job log name

_QUEUED: Final = "queued"

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


def _frozen_mapping(value: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class _Entry:
    """A job log or import log entry, reduced to what matching and outcomes need."""

    log_id: str
    ids: frozenset[str]
    kind: str
    application_ids: frozenset[str]
    queued_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    status: str
    completed: float | None
    total: float | None
    output: Mapping[str, object]
    error: str | None


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else _as_utc(value)


def _ids(*values: str | None) -> frozenset[str]:
    return frozenset(v for v in values if v)


def _job_log_entry(log: ApplicationJobLog) -> _Entry | None:
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
    error = None
    if log.error is not None:
        error = log.error.message or log.error.name
    status = log.status or (progress.status if progress is not None else None) or _QUEUED
    return _Entry(
        log_id=log_id,
        ids=_ids(log.id, log.job_id, log.job_execution_id),
        kind=(log.name or "").casefold(),
        application_ids=_ids(*apps),
        queued_at=_utc(log.run_queued_at),
        started_at=_utc(log.run_started_at),
        completed_at=_utc(log.run_completed_at),
        status=status,
        completed=progress.completed if progress is not None else None,
        total=progress.total if progress is not None else None,
        output=_frozen_mapping(log.output),
        error=error,
    )


def _import_log_entry(log: ApplicationImportExecution) -> _Entry | None:
    log_id = log.id or log.import_execution_id
    if not log_id:
        return None
    wire = unstructure(log)
    error = None
    if log.error is not None:
        error = log.error.message or log.error.name
    return _Entry(
        log_id=log_id,
        ids=_ids(log.id, log.job_id, log.import_execution_id),
        kind=_IMPORT_KIND,
        application_ids=_ids(log.application_id),
        queued_at=_utc(log.run_queued_at),
        started_at=_utc(log.run_started_at),
        completed_at=_utc(log.run_completed_at),
        status=log.status or _QUEUED,
        completed=None,
        total=None,
        output=_frozen_mapping({k: wire[k] for k in _IMPORT_OUTPUT_FIELDS if k in wire}),
        error=error,
    )


def _kind_of(action: str) -> str:
    return _IMPORT_KIND if action in _IMPORT_LOG_ACTIONS else action.casefold()


def _match(
    entries: Sequence[_Entry],
    *,
    job_id: str,
    application_id: str,
    kind: str,
    since: datetime,
    until: datetime,
) -> tuple[list[_Entry], bool]:
    """The entries that could be the job, and whether they matched by id.

    An entry carrying the enqueued id is certain and wins. Otherwise every
    entry of the same application and kind queued inside ``[since, until]``
    is a candidate; the caller raises on more than one, never guesses.
    """
    exact = [e for e in entries if job_id in e.ids]
    if exact:
        return exact, True
    candidates = [
        e
        for e in entries
        if e.kind == kind
        and (not e.application_ids or application_id in e.application_ids)
        and e.queued_at is not None
        and since <= e.queued_at <= until
    ]
    return candidates, False
