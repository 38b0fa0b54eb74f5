"""The values a job handle gives back: ``JobProgress``, ``JobOutcome``, ``JobError``.

Frozen attrs classes with no I/O: ``_matching`` builds ``JobError`` from log
entries, ``_handle.JobHandle`` builds progress and outcomes from the entry it
follows, and ``JobFailedError`` (``_exceptions``) carries a ``JobOutcome``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import attrs

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

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

    An outcome whose ``output`` has ``downloadUrls`` (exports) offers
    ``await outcome.download(path)`` and ``outcome.open_download()``: see
    ``download_urls``.
    """

    status: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Mapping[str, object] = attrs.field(
        factory=dict, converter=frozen_mapping, repr=lambda m: repr(dict(m))
    )
    error: JobError | None = None
    log_id: str | None = None
    # The transport's timeouts (httpx's dict form), for downloads.
    timeout: Mapping[str, float | None] | None = attrs.field(
        default=None, kw_only=True, eq=False, repr=False
    )

    @property
    def download_urls(self) -> tuple[str, ...]:
        """The ``downloadUrls`` of the output (exports), or ``()``."""
        urls = self.output.get("downloadUrls")
        if isinstance(urls, str):
            return (urls,)
        if isinstance(urls, list | tuple):
            return tuple(u for u in urls if isinstance(u, str) and u)
        return ()

    async def download(self, path: str | os.PathLike[str], *, index: int = 0) -> Path:
        """Stream ``download_urls[index]`` to the file ``path``; return its path.

        The body goes to disk block by block (never whole in memory), to
        ``path`` + ``.part`` first, renamed over ``path`` once complete (a
        failed download leaves no file). The URL is often another host (a
        signed storage URL): the request carries no ``Authorization`` header
        and none of the client's headers, so the API token never goes there.
        The client's timeouts apply to each phase; redirects are followed.

        Raises:
            LookupError: The outcome has no such download URL.
            APIStatusError: The download host answered an error status.
            APIConnectionError: The connection failed (``APITimeoutError``
                for a timeout).
        """
        from ._download import download_to

        return await download_to(self._url(index), Path(path), self.timeout)

    def open_download(self, *, index: int = 0) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """The download's body as an async iterator of blocks, inside ``async with``::

            async with outcome.open_download() as blocks:
                async for block in blocks:
                    ...

        Leaving the block closes the connection. Otherwise as ``download``.
        """
        from ._download import open_download

        return open_download(self._url(index), self.timeout)

    def _url(self, index: int) -> str:
        urls = self.download_urls
        if not -len(urls) <= index < len(urls):
            raise LookupError(f"this job outcome has {len(urls)} download URL(s), no [{index}]")
        return urls[index]
