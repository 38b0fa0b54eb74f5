"""Following enqueued jobs: ``JobHandle`` and its poll loop.

A 202 answer only carries a ``jobId``. The job itself shows up later as an
entry of the application's job logs (``GET /applications/{id}/jobLogs``) or,
for ``import`` and ``applyTemplate``, of its import logs (``GET
/applications/{id}/importLogs``). This module finds that entry, pins it and
polls it until it is terminal. How the entry is found is written in the
README ("How jobs are matched"); the rules live in ``_matching.match_entries``.
The time window is anchored on the server's clock (the ``Date`` header of
the 202 answer) when there is one, else on the client's.

Everything runs in the awaiting task: no background task, no thread. Waiting
is ``anyio.sleep``, so cancelling a wait leaves nothing behind. The delays
between polls are ``_retry.JobPollBackoff``; the values handed out are in
``_values``.
"""

from __future__ import annotations

import contextlib
import email.utils
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

import anyio

from .._constants import (
    JOB_DATE_AFTER,
    JOB_DATE_BEFORE,
    JOB_DATE_MARGIN,
    JOB_LOG_MAX_PAGES,
    JOB_LOG_PAGE_SIZE,
    JOB_MATCH_SKEW,
)
from .._convert import as_utc, decode, decode_list
from .._exceptions import JobAmbiguousError, JobFailedError, RateLimitError
from .._models import ApplicationImportExecution, ApplicationJobLog, ApplicationJobLogs
from .._params import to_ms
from .._retry import JobPollBackoff, RetryPolicy
from ._matching import (
    IMPORT_LOG_ACTIONS,
    JOB_LOG_ACTIONS,
    WHOLE_JOB_ACTIONS,
    Entry,
    import_log_entry,
    job_log_entry,
    job_log_query,
    match_entries,
    utc,
)
from ._values import FAILED_STATUSES, QUEUED, JobOutcome, JobProgress

if TYPE_CHECKING:
    from .._transport import Transport

__all__ = ["JobHandle", "server_date"]

_SKEW: Final = timedelta(seconds=JOB_MATCH_SKEW)
_DATE_BEFORE: Final = timedelta(seconds=JOB_DATE_BEFORE)
_DATE_AFTER: Final = timedelta(seconds=JOB_DATE_AFTER)
_DATE_MARGIN: Final = timedelta(seconds=JOB_DATE_MARGIN)


def server_date(headers: Mapping[str, str]) -> datetime | None:
    """The ``Date`` header of a response as an aware UTC datetime, or ``None``.

    ``None`` when the header is missing or is not an HTTP-date with a zone
    (RFC 9110 5.6.7): the job window then falls back to the client's clock.
    """
    value = headers.get("date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else None


def _progress(entry: Entry) -> JobProgress:
    return JobProgress(entry.status, entry.completed, entry.total)


def _outcome(entry: Entry, timeout: Mapping[str, float | None] | None = None) -> JobOutcome:
    return JobOutcome(
        entry.status,
        entry.started_at,
        entry.completed_at,
        entry.output,
        entry.error,
        entry.log_id,
        timeout=timeout,
    )


class JobHandle:
    """A job that an action enqueued (the API answered ``202 Accepted``).

    ``await handle`` waits for the job like ``await handle.wait()``;
    ``handle.progress()`` yields its progress; ``await handle.status()``
    polls once. Jobs of ``import`` and ``applyTemplate`` are followed through
    ``GET /applications/{id}/importLogs``, the others through ``GET
    /applications/{id}/jobLogs``. How the log entry is matched to the job is
    described in the README ("How jobs are matched").

    Args:
        transport: The transport of the application that enqueued the job.
        application_id: The application's id.
        action: The API action name (``"export"``, ``"applyTemplate"``,
            ``"import"``, ``"archiveData"``, ``"backfillArchiveData"``,
            ``"fullDataTablesArchive"``, ``"fullEventsArchive"``, ``"clone"``),
            or for the rest of the API ``"<resource>.<action>"``
            (``"devices.export"``; ``_matching.WHOLE_JOB_ACTIONS``).
        resource: For a job that runs on one resource, its
            ``(resourceType, resourceId)`` as the job logs name it (e.g.
            ``("device", device_id)``): entries naming another are no match.
        job_id: The ``jobId`` of the 202 answer.
        enqueued_at: The client's time taken *before* the enqueue request was
            sent (a naive value is taken as UTC).
        log_id: The log entry's id, when known: the handle then follows it
            without matching.
        poll_interval: A fixed delay between polls instead of the backoff.
        clock: The clock timeouts are measured on (seconds, monotonic);
            ``anyio.current_time`` by default.
        accepted_at: When the 202 answer was received; defaults to now. Give
            it when re-creating a handle later, or the window stays open up
            to the moment of re-creation.
        server_time: The ``Date`` header of the 202 answer (``server_date``),
            if any. The time window is then anchored on the server's clock,
            so a client clock that is off does not matter; without it the
            window is ``enqueued_at`` to ``accepted_at`` on the client's clock,
            widened by ``JOB_MATCH_SKEW`` on both sides.

    Raises:
        ValueError: ``action`` is not an action that enqueues jobs.
    """

    job_id: str
    action: str
    application_id: str
    enqueued_at: datetime
    accepted_at: datetime
    server_time: datetime | None
    followable: bool = True
    """Whether the job can be followed (see ``UnfollowableJobHandle``)."""

    def __init__(
        self,
        transport: Transport,
        *,
        application_id: str,
        action: str,
        job_id: str,
        enqueued_at: datetime,
        log_id: str | None = None,
        poll_interval: float | None = None,
        clock: Callable[[], float] | None = None,
        accepted_at: datetime | None = None,
        server_time: datetime | None = None,
        resource: tuple[str, str] | None = None,
    ) -> None:
        if (
            action not in JOB_LOG_ACTIONS
            and action not in IMPORT_LOG_ACTIONS
            and action not in WHOLE_JOB_ACTIONS
        ):
            known = ", ".join(sorted(JOB_LOG_ACTIONS | IMPORT_LOG_ACTIONS))
            raise ValueError(
                f"action must be one of {known} or a whole-API job action; got {action!r}"
            )
        self._resource = resource
        self._transport = transport
        self.application_id = application_id
        self.action = action
        self.job_id = job_id
        self.enqueued_at = as_utc(enqueued_at)
        self.accepted_at = as_utc(accepted_at) if accepted_at else datetime.now(UTC)
        self.server_time = as_utc(server_time) if server_time else None
        self._poll_interval = poll_interval
        self._clock: Callable[[], float] = clock or anyio.current_time
        self._log_id = log_id
        self._pinned_by: Literal["user", "id", "window"] | None = "user" if log_id else None
        self._last: JobProgress | None = None

    def __repr__(self) -> str:
        status = self._last.status if self._last is not None else None
        return (
            f"JobHandle(action={self.action!r}, job_id={self.job_id!r}, "
            f"status={status!r}, log_id={self._log_id!r})"
        )

    @property
    def log_id(self) -> str | None:
        """The id of the log entry this handle follows, once matched or pinned."""
        return self._log_id

    @property
    def _uses_import_logs(self) -> bool:
        return self.action in IMPORT_LOG_ACTIONS

    def pin(self, log_id: str) -> None:
        """Follow the log entry ``log_id`` from now on, without matching.

        This is how a ``JobAmbiguousError`` is resolved: pick the right id
        from its ``candidates`` (or from the logs) and pin it.
        """
        if not isinstance(log_id, str) or not log_id:
            raise ValueError("log_id must be a non-empty string")
        self._log_id = log_id
        self._pinned_by = "user"

    def __await__(self) -> Generator[Any, None, JobOutcome]:
        return self.wait().__await__()

    async def status(self) -> JobProgress:
        """Poll once and return the job's current progress.

        Raises:
            JobAmbiguousError: Two log entries could be this job.
        """
        return self._observe(await self._poll())

    # The contract (API.md "Jobs") puts the timeout on wait() itself.
    async def wait(
        self,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        poll_interval: float | None = None,
    ) -> JobOutcome:
        """Poll until the job is terminal and return how it ended.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.
            poll_interval: A fixed delay between polls for this wait.

        Raises:
            JobFailedError: The job ended ``errored`` or ``failed`` (``.outcome``).
            TimeoutError: The job was not terminal within ``timeout``.
            JobAmbiguousError: Two log entries could be this job.
        """
        outcome: JobOutcome | None = None
        if timeout is None:
            outcome = await self._wait(None, None, poll_interval)
        else:
            deadline = self._clock() + timeout
            with anyio.move_on_after(timeout):
                outcome = await self._wait(deadline, timeout, poll_interval)
        if outcome is None:
            raise self._timeout_error(timeout)
        if outcome.status in FAILED_STATUSES:
            raise JobFailedError(outcome)
        return outcome

    async def progress(
        self, *, poll_interval: float | None = None
    ) -> AsyncGenerator[JobProgress, None]:
        """Yield the job's progress each time it changes, ending after the terminal state.

        A failed job ends the iteration with its ``errored`` / ``failed``
        progress; it does not raise (only ``wait()`` does). To leave the loop
        early, iterate inside ``contextlib.aclosing(handle.progress())`` so
        that the generator is closed at once (trio warns otherwise).

        Raises:
            JobAmbiguousError: Two log entries could be this job.
        """
        last: JobProgress | None = None
        async with contextlib.aclosing(self._watch(poll_interval)) as polls:
            async for entry in polls:
                current = self._observe(entry)
                if current != last:
                    last = current
                    yield current
                if current.is_terminal:
                    return

    async def _wait(
        self, deadline: float | None, seconds: float | None, poll_interval: float | None
    ) -> JobOutcome:
        async with contextlib.aclosing(self._watch(poll_interval)) as polls:
            async for entry in polls:
                progress = self._observe(entry)
                if entry is not None and progress.is_terminal:
                    return _outcome(entry, self._transport_timeout())
                if deadline is not None and self._clock() >= deadline:
                    raise self._timeout_error(seconds)
        raise AssertionError("unreachable: _watch never ends")  # pragma: no cover

    def _transport_timeout(self) -> Mapping[str, float | None]:
        # The client's timeouts hold for JobOutcome.download too.
        return self._transport.timeouts

    def _timeout_error(self, timeout: float | None) -> TimeoutError:
        within = f" within {timeout:g} s" if timeout is not None else ""
        last = self._last.status if self._last is not None else QUEUED
        return TimeoutError(
            f"{self.action} job {self.job_id} did not finish{within} (last status: {last})"
        )

    def _observe(self, entry: Entry | None) -> JobProgress:
        progress = _progress(entry) if entry is not None else JobProgress(QUEUED)
        self._last = progress
        return progress

    async def _watch(self, poll_interval: float | None) -> AsyncGenerator[Entry | None, None]:
        """Poll forever, yielding each successful poll; sleep between polls.

        A 429 that the transport's own retries did not get past is waited
        out here (``Retry-After``, at least the current delay).
        """
        backoff = JobPollBackoff(
            poll_interval if poll_interval is not None else self._poll_interval
        )
        previous: JobProgress | None = None
        delay: float | None = None
        while True:
            if delay is not None:
                await anyio.sleep(delay)
            try:
                entry = await self._poll()
            except RateLimitError as exc:
                delay = max(backoff.next(changed=False), exc.retry_after or 0.0)
                continue
            current = _progress(entry) if entry is not None else None
            delay = backoff.next(changed=current != previous)
            previous = current
            yield entry

    # -- one poll -------------------------------------------------------

    def _window(self) -> tuple[datetime, datetime]:
        """Where ``runQueuedAt`` may lie, on the server's clock when the 202 had a Date."""
        if self.server_time is None:
            return self.enqueued_at - _SKEW, self.accepted_at + _SKEW
        # Stamped on arrival, before Date was written: at most the round trip
        # before it (measured on our clock, whose offset cancels out).
        round_trip = max(self.accepted_at - self.enqueued_at, timedelta(0))
        before = max(round_trip, _DATE_BEFORE) + _DATE_MARGIN
        return self.server_time - before, self.server_time + _DATE_AFTER + _DATE_MARGIN

    def _window_may_grow(self) -> bool:
        # A rival stamped inside the window may still show up in the list for
        # a while: a window match is re-checked for 2 x JOB_MATCH_SKEW after
        # the 202 (elapsed on our clock, so no clock offset plays a part).
        return datetime.now(UTC) <= self.accepted_at + 2 * _SKEW

    async def _poll(self) -> Entry | None:
        """One look at the logs: the job's entry, or ``None`` if not there yet."""
        pinned = self._log_id
        if pinned is not None and (self._pinned_by != "window" or not self._window_may_grow()):
            return await self._fetch_pinned(pinned)
        entries = await self._fetch_recent()
        since, until = self._window()
        found, exact = match_entries(
            entries,
            job_id=self.job_id,
            application_id=self.application_id,
            action=self.action,
            since=since,
            until=until,
            resource=self._resource,
        )
        if pinned is not None:
            # A window match, re-checked while a rival could still appear.
            rivals = [e for e in found if e.log_id != pinned]
            if rivals:
                raise self._ambiguous([pinned, *(e.log_id for e in rivals)])
            entry = next((e for e in entries if e.log_id == pinned), None)
            return entry if entry is not None else await self._fetch_pinned(pinned)
        if len(found) > 1:
            raise self._ambiguous([e.log_id for e in found])
        if not found:
            return None
        self._log_id = found[0].log_id
        self._pinned_by = "id" if exact else "window"
        return found[0]

    def _ambiguous(self, log_ids: Sequence[str]) -> JobAmbiguousError:
        candidates = list(dict.fromkeys(log_ids))
        where = "import logs" if self._uses_import_logs else "job logs"
        return JobAmbiguousError(
            f"{len(candidates)} {where} entries could be the {self.action} job "
            f"{self.job_id} ({', '.join(candidates)}): not guessing. Pin the right one "
            f"with handle.pin(log_id).",
            candidates=candidates,
        )

    async def _fetch_pinned(self, log_id: str) -> Entry | None:
        if self._uses_import_logs:
            # No single-entry endpoint for import logs: find it in the list.
            entries = await self._fetch_recent()
            return next((e for e in entries if e.log_id == log_id or log_id in e.ids), None)
        path = f"/applications/{self.application_id}/jobLogs/{log_id}"
        response = await self._transport.request("GET", path, retry=RetryPolicy.SAFE)
        log = decode(response, ApplicationJobLog)
        return job_log_entry(log)

    async def _fetch_recent(self) -> list[Entry]:
        if self._uses_import_logs:
            return await self._fetch_import_logs()
        return await self._fetch_job_logs()

    async def _fetch_import_logs(self) -> list[Entry]:
        # Not paged: importLogs takes ``limit`` and ``since`` only (spec/api/application.json).
        since, _ = self._window()
        response = await self._transport.request(
            "GET",
            f"/applications/{self.application_id}/importLogs",
            retry=RetryPolicy.SAFE,
            params=[("limit", str(JOB_LOG_PAGE_SIZE)), ("since", to_ms(since))],
        )
        logs = decode_list(response, ApplicationImportExecution)
        return [e for e in map(import_log_entry, logs) if e is not None]

    async def _fetch_job_logs(self) -> list[Entry]:
        # The server is asked for the window (and the job name where known),
        # newest first; match_entries still checks every entry it sends (a server
        # may ignore the filter).
        since, until = self._window()
        query = job_log_query(self.action, since, until)
        entries: list[Entry] = []
        for page in range(JOB_LOG_MAX_PAGES):
            params = [
                ("sortField", "runQueuedAt"),
                ("sortDirection", "desc"),
                ("perPage", str(JOB_LOG_PAGE_SIZE)),
            ]
            if page:
                params.append(("page", str(page)))
            params.append(("query", query))
            response = await self._transport.request(
                "GET",
                f"/applications/{self.application_id}/jobLogs",
                retry=RetryPolicy.SAFE,
                params=params,
            )
            result = decode(response, ApplicationJobLogs)
            logs = result.items or []
            entries.extend(e for e in map(job_log_entry, logs) if e is not None)
            oldest = utc(logs[-1].run_queued_at) if logs else None
            # Newest first: once a page reaches back before the window, or is
            # not full, every candidate has been seen.
            if len(logs) < JOB_LOG_PAGE_SIZE or oldest is None or oldest < since:
                break
        return entries
