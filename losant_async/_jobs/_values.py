"""The values a job handle gives back: ``JobProgress``, ``JobOutcome``, ``JobError``.

Frozen attrs classes with no I/O: ``_matching`` builds ``JobError`` from log
entries, ``_handle.JobHandle`` builds progress and outcomes from the entry it
follows, and ``JobFailedError`` (``_exceptions``) carries a ``JobOutcome``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Final

import attrs

__all__ = ["JobError", "JobOutcome", "JobProgress"]

# The status of a job whose log entry has not appeared yet, or carries none.
QUEUED: Final = "queued"
TERMINAL_STATUSES: Final = frozenset({"completed", "errored", "failed"})
FAILED_STATUSES: Final = frozenset({"errored", "failed"})


def frozen_mapping(value: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class JobError:
    """The error a failed job's log entry carries (its ``error`` object).

    Attributes:
        name: The error's name as the server gives it, or ``None``.
        message: The error's message, or ``None``.
    """

    name: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        if self.name and self.message:
            return f"{self.name}: {self.message}"
        return self.message or self.name or ""


@attrs.frozen
class JobProgress:
    """One observation of a job: its status and, where the log has them, counts.

    ``completed`` and ``total`` come from the job log's ``progress``; import
    logs carry none, so they stay ``None`` there. Before the job's log entry
    appears the status is ``"queued"``.
    """

    status: str
    completed: float | None = None
    total: float | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether the job has finished (``completed``, ``errored`` or ``failed``)."""
        return self.status in TERMINAL_STATUSES

    @property
    def fraction(self) -> float | None:
        """``completed / total`` in ``[0, 1]``, or ``None`` without both counts."""
        if self.completed is None or not self.total:
            return None
        return max(0.0, min(1.0, self.completed / self.total))


@attrs.frozen
class JobOutcome:
    """How a job ended.

    Attributes:
        status: ``"completed"``, ``"errored"`` or ``"failed"``.
        started_at: ``runStartedAt`` of the log entry, if any.
        completed_at: ``runCompletedAt`` of the log entry, if any.
        output: The job log's ``output`` (e.g. ``downloadUrls``), or for an
            import the import log's result fields (``importExecutionId``,
            ``importedFileUrl``, ``dryRunResults``, ``validationErrors``, ...),
            in the API's camelCase names. Read-only; empty when there is none.
        error: The log entry's ``error`` object (``name``, ``message``), or
            ``None``.
        log_id: The id of the log entry that was followed.
    """

    status: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Mapping[str, object] = attrs.field(
        factory=dict, converter=frozen_mapping, repr=lambda m: repr(dict(m))
    )
    error: JobError | None = None
    log_id: str | None = None
