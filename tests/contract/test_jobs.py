"""Contract tests: API.md, Jobs and Details: Jobs.

Black-box: only the public surface (``losant_async``, ``losant_async.testing``),
httpx, respx, pytest and anyio.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
import respx

from losant_async import (
    AsyncApplication,
    JobAmbiguousError,
    JobFailedError,
    JobHandle,
    JobOutcome,
    JobProgress,
)
from losant_async.testing import LocalLosant
from tests.conftest import APP_ID, BASE_URL, TOKEN
from tests.contract.support import (
    ACTIONS,
    APP_PATH,
    DEFAULT_QUERY,
    ENQUEUED,
    JOB_ID,
    Call,
    drain_progress,
    make_app,
)

JOB_ACTION_NAMES = {
    "apply_template": "applyTemplate",
    "archive_data": "archiveData",
    "backfill_archive_data": "backfillArchiveData",
    "clone": "clone",
    "export": "export",
    "full_data_tables_archive": "fullDataTablesArchive",
    "full_events_archive": "fullEventsArchive",
    "import_": "import",
}


JOB_ACTIONS = [a for a in ACTIONS if a[0] in JOB_ACTION_NAMES]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "method", "path", "status", "answer", "call"),
    JOB_ACTIONS,
    ids=[a[0] for a in JOB_ACTIONS],
)
async def test_202_becomes_job_handle(
    respx_mock: respx.MockRouter,
    name: str,
    method: str,
    path: str,
    status: int,
    answer: object,
    call: Call,
) -> None:
    """Jobs / Details: a 202 becomes a JobHandle (job_id, action = API action name, application_id,
    enqueued_at before sending)."""
    sent_at: list[datetime] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent_at.append(datetime.now(UTC))
        return httpx.Response(202, json=ENQUEUED)

    respx_mock.route(method=method, path=APP_PATH + path).mock(side_effect=respond)
    async with make_app() as app:
        handle = await call(app)
    assert isinstance(handle, JobHandle)
    assert handle.job_id == JOB_ID
    assert handle.action == JOB_ACTION_NAMES[name]
    assert type(handle.action) is str
    assert handle.application_id == APP_ID
    assert handle.enqueued_at.tzinfo is not None
    assert handle.enqueued_at <= sent_at[0]


def _log(**fields: object) -> dict[str, object]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    base: dict[str, object] = {
        "id": "log0000000000000000000001",
        "name": "ApplicationExport",  # Losant's job name, not the action's (API.md "Job kinds")
        "applicationId": APP_ID,
        "resourceType": "application",
        "resourceId": APP_ID,
        "runQueuedAt": now,
        "status": "queued",
    }
    base.update(fields)
    return base


def _logs(*items: dict[str, object]) -> dict[str, object]:
    return {
        "items": list(items),
        "count": len(items),
        "totalCount": len(items),
        "perPage": 100,
        "page": 0,
    }


@pytest.mark.anyio
@pytest.mark.parametrize("id_field", ["jobId", "jobExecutionId", "id"])
async def test_job_exact_id_match(respx_mock: respx.MockRouter, id_field: str) -> None:
    """Details/Jobs: a log entry carrying the enqueued id (jobId, jobExecutionId or id) is matched
    exactly, rivals aside."""
    respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    mine = _log(status="completed", **{"id": "logmine", id_field: JOB_ID})
    rival = _log(id="logrival", status="inProgress")
    respx_mock.get(APP_PATH + "/jobLogs").respond(200, json=_logs(rival, mine))
    async with make_app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        progress = await handle.status()
    assert progress == JobProgress(status="completed")
    assert isinstance(progress, JobProgress)


@pytest.mark.anyio
async def test_job_ambiguous_raises_everywhere(respx_mock: respx.MockRouter) -> None:
    """Details/Jobs: two candidates raise JobAmbiguousError from status(), progress() and wait(); no
    guess."""
    respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    respx_mock.get(APP_PATH + "/jobLogs").respond(
        200, json=_logs(_log(id="a" * 24), _log(id="b" * 24))
    )
    async with make_app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        with pytest.raises(JobAmbiguousError):
            await handle.status()
        with pytest.raises(JobAmbiguousError):
            await drain_progress(handle)
        with pytest.raises(JobAmbiguousError), anyio.fail_after(5):
            await handle.wait(poll_interval=0.01)


@pytest.mark.anyio
async def test_job_window_starts_before_enqueue() -> None:
    """Details/Jobs: without an id, a single entry of the same app and kind stamped slightly before
    sending (clock skew) is the job."""
    router = respx.mock(base_url=BASE_URL, assert_all_called=False)
    router.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    earlier = (datetime.now(UTC) - timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    entries = _logs(
        _log(id="c" * 24, runQueuedAt=earlier, status="completed", output={"downloadUrls": ["u"]}),
        _log(id="d" * 24, runQueuedAt=old, status="completed"),
        _log(id="e" * 24, name="ArchiveData", status="completed"),
    )
    router.get(APP_PATH + "/jobLogs").respond(200, json=entries)
    # Followed by id once matched, if the handle polls again.
    router.get(APP_PATH + "/jobLogs/" + "c" * 24).respond(200, json=entries["items"][0])  # type: ignore[index]
    with router:
        async with make_app() as app:
            handle = await app.export()
            assert isinstance(handle, JobHandle)
            with anyio.fail_after(5):
                outcome = await handle
    assert isinstance(outcome, JobOutcome)
    assert outcome.status == "completed"
    assert dict(outcome.output) == {"downloadUrls": ["u"]}


@pytest.mark.anyio
async def test_import_jobs_tracked_through_import_logs(respx_mock: respx.MockRouter) -> None:
    """Jobs: import-like actions are tracked through importLogs."""
    respx_mock.post(APP_PATH + "/import").respond(202, json=ENQUEUED)
    logs = respx_mock.get(APP_PATH + "/importLogs").respond(
        200,
        json=[
            {
                "id": "f" * 24,
                "jobId": JOB_ID,
                "applicationId": APP_ID,
                "status": "completed",
                "runQueuedAt": datetime.now(UTC).isoformat(),
            }
        ],
    )
    async with make_app() as app:
        handle = await app.import_(b"PK")
        assert isinstance(handle, JobHandle)
        assert (await handle.status()).status == "completed"
    assert logs.called


@pytest.mark.anyio
async def test_await_handle_same_as_wait(job_app: Callable[..., AsyncApplication]) -> None:
    """Jobs: `await handle` polls until terminal and returns a JobOutcome, as wait() does."""
    async with job_app() as app, job_app() as other:
        first = await app.export()
        second = await other.export()
        assert isinstance(first, JobHandle)
        assert isinstance(second, JobHandle)
        with anyio.fail_after(15):
            awaited = await first
            waited = await second.wait(poll_interval=0.02)
    for outcome in (awaited, waited):
        assert isinstance(outcome, JobOutcome)
        assert outcome.status == "completed"
        assert outcome.started_at is not None
        assert outcome.completed_at is not None
        assert outcome.error is None
        assert "downloadUrls" in outcome.output


@pytest.mark.anyio
async def test_failed_job_wait_raises_progress_does_not(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Details/Jobs: a failed job makes wait() raise JobFailedError(.outcome); progress() ends after
    the terminal state without raising."""
    local_server.faults.fail_job("export", times=2, message="disk full")
    async with job_app() as app, job_app() as other:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        updates: list[JobProgress] = []
        with anyio.fail_after(15):
            async for update in handle.progress(poll_interval=0.02):
                updates.append(update)
        assert updates[-1].status == "errored"
        assert all(isinstance(u, JobProgress) for u in updates)
        again = await other.export()
        assert isinstance(again, JobHandle)
        with anyio.fail_after(15), pytest.raises(JobFailedError) as info:
            await again.wait(poll_interval=0.02)
    outcome = info.value.outcome
    assert isinstance(outcome, JobOutcome)
    assert outcome.status == "errored"
    assert type(outcome.status) is str
    assert outcome.error is not None
    assert outcome.error.message == "disk full"


@pytest.mark.anyio
async def test_status_polls_once_returns_progress(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Details/Jobs: await handle.status() makes one poll and returns a JobProgress."""
    local_server.job_duration = 30
    async with job_app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        progress = await handle.status()
    assert isinstance(progress, JobProgress)
    assert progress.status in {"queued", "inProgress", "running"}
    assert type(progress.status) is str


@pytest.mark.anyio
async def test_wait_timeout_raises_timeout_error(
    local_server: LocalLosant, job_app: Callable[..., AsyncApplication]
) -> None:
    """Jobs: a wait timeout raises TimeoutError."""
    local_server.job_duration = 30
    async with job_app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        start = anyio.current_time()
        with anyio.fail_after(10), pytest.raises(TimeoutError):
            await handle.wait(timeout=0.3, poll_interval=0.05)
    assert anyio.current_time() - start < 5


@pytest.mark.anyio
async def test_apply_template_and_import_actions_real_http(
    local_app: Callable[..., AsyncApplication],
) -> None:
    """Details/Jobs: applyTemplate and import handles carry their API action names and complete."""
    async with local_app() as app:
        handle = await app.apply_template(template_id="5d6c3b0a1b2c3d4e5f607182")
        assert isinstance(handle, JobHandle)
        assert handle.action == "applyTemplate"
        with anyio.fail_after(15):
            outcome = await handle.wait(poll_interval=0.02)
    assert outcome.status == "completed"


@pytest.mark.anyio
async def test_flag_decided_results_real_http(
    local_app: Callable[..., AsyncApplication],
) -> None:
    """Jobs: export(force_job=True) is a JobHandle that completes; clone(dry_run=True) is not."""
    from losant_async import ApplicationCloneDryRunResult

    async with local_app() as app:
        dry = await app.clone(dry_run=True)
        assert isinstance(dry, ApplicationCloneDryRunResult)
        assert dry.success is True
        exported = await app.export(force_job=True)
        assert isinstance(exported, JobHandle)
        with anyio.fail_after(15):
            outcome = await exported.wait(poll_interval=0.02)
        assert outcome.status == "completed"


def test_job_handle_signatures() -> None:
    """Jobs / Details: wait(timeout=None, poll_interval=...), progress(poll_interval=None),
    status()."""
    wait = inspect.signature(JobHandle.wait).parameters
    assert wait["timeout"].default is None
    assert wait["timeout"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "poll_interval" in wait
    progress = inspect.signature(JobHandle.progress).parameters
    assert progress["poll_interval"].default is None
    assert list(inspect.signature(JobHandle.status).parameters) == ["self"]


def test_job_value_types_fields() -> None:
    """Jobs: JobProgress has status, completed, total; JobOutcome status, started_at, completed_at,
    output, error."""
    progress = JobProgress(status="inProgress", completed=1, total=4)
    assert (progress.status, progress.completed, progress.total) == ("inProgress", 1, 4)
    outcome = JobOutcome(status="completed")
    assert outcome.started_at is None
    assert outcome.completed_at is None
    assert outcome.error is None
    assert dict(outcome.output) == {}


@pytest.mark.anyio
async def test_job_polls_send_common_headers(respx_mock: respx.MockRouter) -> None:
    """Client: job polls (jobLogs) send the same auth, Accept-Version and default query as every
    request."""
    respx_mock.post(APP_PATH + "/export").respond(202, json=ENQUEUED)
    logs = respx_mock.get(APP_PATH + "/jobLogs").respond(
        200, json=_logs(_log(jobId=JOB_ID, status="completed"))
    )
    async with make_app() as app:
        handle = await app.export()
        assert isinstance(handle, JobHandle)
        await handle.status()
    request = logs.calls.last.request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept-version"] == "^1.30.0"
    assert request.url.query.decode().startswith(DEFAULT_QUERY)
