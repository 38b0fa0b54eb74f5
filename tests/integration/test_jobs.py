"""Jobs against the local Losant: each enqueuing action followed to its end (issues 5, 10).

Most tests enqueue by sending the action's request through `Transport` and
build the handle as `_application` does (`enqueued_at` taken before the
request is sent, `server_time` from the 202's `Date`); the last ones go
through the façade. The local Losant names job log entries as Losant does
(`ApplicationExport`, `ArchiveData`, and its own guesses for the others).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import anyio
import httpx
import pytest

from losant_async import AsyncApplication
from losant_async._exceptions import JobAmbiguousError, JobFailedError
from losant_async._jobs._handle import JobHandle, server_date
from losant_async._jobs._values import JobProgress
from losant_async._retry import RetryPolicy
from losant_async._transport import Transport
from losant_async.testing import LocalLosant

pytestmark = pytest.mark.anyio

JOB_LOG_ACTIONS = [
    "export",
    "archiveData",
    "backfillArchiveData",
    "fullDataTablesArchive",
    "fullEventsArchive",
    "clone",
]
IMPORT_ACTIONS = ["import", "applyTemplate"]
ALL_ACTIONS = JOB_LOG_ACTIONS + IMPORT_ACTIONS
POLL = 0.02  # seconds between polls: the local jobs take a fraction of a second
JOB_SECONDS = 0.15


def _bundle() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("application.json", '{"name": "imported"}')
    return buffer.getvalue()


class Requests:
    """Counts the requests a transport sends (an httpx event hook)."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, request: httpx.Request) -> None:
        self.count += 1


@pytest.fixture
def server(local_server: LocalLosant) -> Iterator[LocalLosant]:
    """The session's local Losant with short jobs, no armed faults and its clock right."""
    before = local_server.job_duration
    local_server.job_duration = JOB_SECONDS
    try:
        yield local_server
    finally:
        local_server.job_duration = before
        local_server.faults.clear()
        local_server.clock_offset = 0


@pytest.fixture
def requests() -> Requests:
    return Requests()


@pytest.fixture
async def transport(server: LocalLosant, requests: Requests) -> AsyncIterator[Transport]:
    async with httpx.AsyncClient(event_hooks={"request": [requests]}) as client:
        t = Transport(token=server.token, base_url=server.base_url, timeout=5.0, http_client=client)
        try:
            yield t
        finally:
            await t.aclose()


async def enqueue(transport: Transport, app_id: str, action: str, **handle_kw: object) -> JobHandle:
    """Send the action's enqueue request, check the 202, and build its handle."""
    base = f"/applications/{app_id}"
    enqueued_at = datetime.now(UTC)  # before sending: runQueuedAt is stamped on arrival
    policy = RetryPolicy.ENQUEUE
    if action == "export":
        response = await transport.request(
            "POST", f"{base}/export", retry=policy, json={"forceJob": True}
        )
    elif action == "clone":
        response = await transport.request(
            "POST", f"{base}/clone", retry=policy, json={"forceJob": True}
        )
    elif action == "archiveData":
        day_ms = int(enqueued_at.timestamp() * 1000) - 86_400_000
        response = await transport.request(
            "GET", f"{base}/archiveData", retry=policy, params=[("date", str(day_ms))]
        )
    elif action == "applyTemplate":
        response = await transport.request(
            "PATCH",
            f"{base}/applyTemplate",
            retry=policy,
            json={"templateId": "5f5f5f5f5f5f5f5f5f5f5f5f"},
        )
    elif action == "import":
        response = await transport.request(
            "POST",
            f"{base}/import",
            retry=policy,
            multipart=(
                {"options": '{"forceJob": true}'},
                {"importBundle": ("bundle.zip", _bundle(), "application/zip")},
            ),
        )
    else:
        response = await transport.request("GET", f"{base}/{action}", retry=policy)
    assert response.status_code == 202, response.content
    body = response.json()
    assert isinstance(body, dict)
    assert body["jobQueued"] is True
    handle_kw.setdefault("poll_interval", POLL)
    return JobHandle(
        transport,
        application_id=app_id,
        action=action,
        job_id=body["jobId"],
        enqueued_at=enqueued_at,
        server_time=server_date(response.headers),
        **handle_kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("action", ALL_ACTIONS)
async def test_each_action_is_followed_to_completed(
    transport: Transport, app_id: str, action: str
) -> None:
    """Every enqueuing action's job is matched, pinned and waited for until completed."""
    handle = await enqueue(transport, app_id, action)
    with anyio.fail_after(10):
        outcome = await handle
    assert outcome.status == "completed"
    assert outcome.error is None
    assert outcome.log_id is not None
    assert outcome.log_id == handle.log_id
    assert outcome.started_at is not None
    assert outcome.completed_at is not None
    assert outcome.started_at <= outcome.completed_at
    assert handle.enqueued_at <= outcome.completed_at
    assert (await handle.status()).status == "completed"


@pytest.mark.parametrize("action", ALL_ACTIONS)
async def test_each_action_is_followed_to_errored(
    server: LocalLosant, transport: Transport, app_id: str, action: str
) -> None:
    """A job the server fails raises JobFailedError with status errored and the server's message."""
    server.faults.fail_job(action, message="disk on fire")
    handle = await enqueue(transport, app_id, action)
    with anyio.fail_after(10), pytest.raises(JobFailedError) as info:
        await handle.wait()
    outcome = info.value.outcome
    assert outcome.status == "errored"
    assert outcome.error is not None
    assert outcome.error.message == "disk on fire"
    assert outcome.log_id == handle.log_id
    assert "disk on fire" in str(info.value)


async def test_progress_yields_increasing_values_then_the_terminal_state(
    server: LocalLosant, transport: Transport, app_id: str
) -> None:
    """progress() yields distinct, non-decreasing counts and ends with completed."""
    server.job_duration = 0.6  # steps far enough apart for every one to be seen
    handle = await enqueue(transport, app_id, "export")
    with anyio.fail_after(10):
        seen = [p async for p in handle.progress()]
    assert seen[-1].status == "completed"
    assert seen[-1].is_terminal
    assert all(not p.is_terminal for p in seen[:-1])
    assert len(seen) == len(set(seen))  # only changes are yielded
    counts = [p.completed for p in seen if p.completed is not None]
    assert counts == sorted(counts)
    assert len(set(counts)) >= 3
    assert seen[-1].fraction == 1.0


async def test_progress_of_an_errored_job_ends_without_raising(
    server: LocalLosant, transport: Transport, app_id: str
) -> None:
    """progress() of a failing job ends with the errored state instead of raising."""
    server.faults.fail_job("fullEventsArchive")
    handle = await enqueue(transport, app_id, "fullEventsArchive")
    with anyio.fail_after(10):
        seen = [p async for p in handle.progress()]
    assert seen[-1].status == "errored"


async def test_timeout_raises_timeout_error_and_the_job_can_still_be_awaited(
    server: LocalLosant, transport: Transport, app_id: str
) -> None:
    """wait(timeout=...) raises the built-in TimeoutError; a later wait still gets the outcome."""
    server.job_duration = 0.8
    handle = await enqueue(transport, app_id, "backfillArchiveData")
    with pytest.raises(TimeoutError, match="backfillArchiveData"):
        await handle.wait(timeout=0.1)
    with anyio.fail_after(10):
        assert (await handle.wait()).status == "completed"


async def test_cancelled_wait_leaves_nothing_polling(
    server: LocalLosant, transport: Transport, requests: Requests, app_id: str
) -> None:
    """Cancelling a wait stops every poll at once: no request is sent afterwards."""
    server.job_duration = 1.0
    handle = await enqueue(transport, app_id, "export")
    with anyio.move_on_after(0.2) as scope:
        await handle.wait()
    assert scope.cancelled_caught
    sent = requests.count
    await anyio.sleep(0.3)
    assert requests.count == sent


async def test_two_concurrent_exports_are_ambiguous_until_pinned(
    transport: Transport, app_id: str
) -> None:
    """Two exports enqueued together cannot be told apart: both handles refuse, pinning resolves."""
    first = await enqueue(transport, app_id, "export")
    second = await enqueue(transport, app_id, "export")
    for handle in (first, second):
        with pytest.raises(JobAmbiguousError) as info:
            await handle.status()
        assert len(info.value.candidates) == 2
        with pytest.raises(JobAmbiguousError):
            await handle.wait(timeout=5)
        assert handle.log_id is None
    candidates = info.value.candidates

    first.pin(candidates[0])
    second.pin(candidates[1])
    with anyio.fail_after(10):
        outcomes = [await first, await second]
    assert [o.log_id for o in outcomes] == list(candidates)
    assert all(o.status == "completed" for o in outcomes)


async def test_ambiguity_is_detected_when_the_rival_appears_after_the_match(
    server: LocalLosant, transport: Transport, app_id: str
) -> None:
    """A handle that matched alone raises once a second clone lands in its window."""
    server.job_duration = 1.0
    first = await enqueue(transport, app_id, "clone")
    progress = await first.status()
    assert first.log_id is not None
    assert progress.status in {"queued", "inProgress"}
    await enqueue(transport, app_id, "clone")
    with pytest.raises(JobAmbiguousError) as info:
        await first.status()
    assert first.log_id in info.value.candidates


async def test_two_concurrent_imports_are_told_apart_by_job_id(
    transport: Transport, app_id: str
) -> None:
    """Import logs carry the enqueued jobId, so two concurrent imports each find their own entry."""
    first = await enqueue(transport, app_id, "import")
    second = await enqueue(transport, app_id, "applyTemplate")
    with anyio.fail_after(10):
        outcomes = [await first, await second]
    assert outcomes[0].log_id != outcomes[1].log_id
    assert all(o.status == "completed" for o in outcomes)


async def test_known_names_and_one_unpublished_at_the_same_time_are_not_ambiguous(
    transport: Transport, app_id: str
) -> None:
    """Concurrent export, archiveData and clone jobs each match their own entry by job name."""
    actions = ["export", "archiveData", "clone"]
    handles = [await enqueue(transport, app_id, action) for action in actions]
    with anyio.fail_after(10):
        outcomes = [await h for h in handles]
    assert len({o.log_id for o in outcomes}) == len(actions)


async def test_two_unpublished_kinds_at_the_same_time_are_ambiguous_until_pinned(
    server: LocalLosant, transport: Transport, app_id: str
) -> None:
    """clone and fullEventsArchive together cannot be told apart (names unpublished): no guess."""
    clone = await enqueue(transport, app_id, "clone")
    events = await enqueue(transport, app_id, "fullEventsArchive")
    with pytest.raises(JobAmbiguousError) as info:
        await clone.status()
    assert len(info.value.candidates) == 2
    names = {e["id"]: e["name"] for e in server.job_logs(app_id)}
    clone.pin(next(c for c in info.value.candidates if names[c] == "ApplicationClone"))
    with anyio.fail_after(10):
        assert (await clone).status == "completed"
    with pytest.raises(JobAmbiguousError):
        await events.status()


async def test_status_before_and_after(
    server: LocalLosant, transport: Transport, app_id: str
) -> None:
    """status() polls once: a fresh job is queued or in progress, then completed after wait()."""
    server.job_duration = 0.5
    handle = await enqueue(transport, app_id, "fullDataTablesArchive")
    before = await handle.status()
    assert isinstance(before, JobProgress)
    assert before.status in {"queued", "inProgress"}
    with anyio.fail_after(10):
        await handle
    assert (await handle.status()).status == "completed"


# -- Losant's job names, system jobs and the server's clock (issue 10) ------------


def _entry(server: LocalLosant, app_id: str, log_id: str | None) -> dict[str, object]:
    return next(e for e in server.job_logs(app_id) if e["id"] == log_id)


async def test_export_job_named_application_export_completes(
    server: LocalLosant, transport: Transport, app_id: str
) -> None:
    """An export's job log entry is named ApplicationExport, as Losant names it, and is followed."""
    handle = await enqueue(transport, app_id, "export")
    with anyio.fail_after(10):
        outcome = await handle
    assert outcome.status == "completed"
    entry = _entry(server, app_id, outcome.log_id)
    assert entry["name"] == "ApplicationExport"
    assert entry["requestedByType"] == "apiToken"


async def test_system_archive_job_in_the_window_does_not_make_archive_data_ambiguous(
    server: LocalLosant, transport: Transport, app_id: str
) -> None:
    """Nightly ArchiveData jobs requested by the system, queued around ours, are not candidates."""
    before = server.add_job_log(app_id, name="ArchiveData", status="inProgress")
    handle = await enqueue(transport, app_id, "archiveData")
    after = server.add_job_log(app_id, name="ArchiveData")
    with anyio.fail_after(10):
        outcome = await handle
    assert outcome.status == "completed"
    assert outcome.log_id not in {before, after}
    assert _entry(server, app_id, outcome.log_id)["name"] == "ArchiveData"


@pytest.mark.parametrize("offset", [600.0, -600.0])
async def test_server_clock_ten_minutes_off_still_matches(
    server: LocalLosant, transport: Transport, app_id: str, offset: float
) -> None:
    """With the server's clock ten minutes ahead or behind, the Date-anchored window matches."""
    server.clock_offset = offset
    handle = await enqueue(transport, app_id, "export")
    assert handle.server_time is not None
    skew = (handle.server_time - handle.enqueued_at).total_seconds()
    assert abs(skew - offset) < 30  # the Date header follows the server's clock
    with anyio.fail_after(10):
        outcome = await handle
    assert outcome.status == "completed"
    assert _entry(server, app_id, outcome.log_id)["name"] == "ApplicationExport"


async def test_full_events_archive_through_the_facade_skews_and_system_jobs(
    server: LocalLosant, app_id: str
) -> None:
    """app.full_events_archive() (job name unpublished) completes despite skew and a system job."""
    server.clock_offset = 600
    system = server.add_job_log(app_id, name="FullEventsArchive", status="inProgress")
    async with AsyncApplication(app_id, token=server.token, base_url=server.base_url) as app:
        handle = await app.full_events_archive()
        assert handle.server_time is not None
        with anyio.fail_after(10):
            outcome = await handle.wait(poll_interval=POLL)
    assert outcome.status == "completed"
    assert outcome.log_id not in {None, system}
    assert _entry(server, app_id, outcome.log_id)["requestedByType"] == "apiToken"
