"""JobHandle: matching log entries to jobs, polling, outcomes, progress (respx, no sockets)."""

from __future__ import annotations

import contextlib
import email.utils
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest
import respx

import losant_async
from losant_async._constants import (
    JOB_MATCH_SKEW,
    JOB_POLL_INITIAL,
    JOB_POLL_MAX,
    JOB_POLL_MULTIPLIER,
)
from losant_async._exceptions import JobAmbiguousError, JobFailedError
from losant_async._jobs import _matching as _job_matching
from losant_async._jobs._handle import JobHandle, server_date
from losant_async._jobs._values import JobError, JobOutcome, JobProgress
from losant_async._transport import Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

pytestmark = pytest.mark.anyio

# Losant's schemas, beside this checkout (shared/spec/losant-api, README there).
SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "losant-api" / "schemas"
if not SCHEMAS.is_dir():  # pragma: no cover - only outside the project's layout
    pytest.skip("shared/spec is not beside this checkout", allow_module_level=True)
DEFAULTS = "_actions=false&_links=true&_embedded=true"
JOB_LOGS = f"/applications/{APP_ID}/jobLogs"
IMPORT_LOGS = f"/applications/{APP_ID}/importLogs"
OTHER_APP = "5a0000000000000000000001"
# The spec's 202 jobId has at most 21 characters, like the import logs' jobId;
# job log ids are 24-hex, so a job log carries the enqueued id only where a
# server uses one id for both (JOB_HEX stands for that case).
ENQUEUE_ID = "Xq3kP0aZ9"
JOB_HEX = "65f0a1b2c3d4e5f6a7b8c9d0"

# A fixed past time: the re-check window (2 x skew after the 202) is long closed.
T0 = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)


def _hex(n: int) -> str:
    return f"{n:024x}"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())  # type: ignore[no-any-return]


JOB_LOGS_SCHEMA = _schema("applicationJobLogs")
JOB_LOG_SCHEMA = JOB_LOGS_SCHEMA["properties"]["items"]["items"]
IMPORT_LOGS_SCHEMA = _schema("applicationImportExecutions")
QUERY_SCHEMA = _schema("advancedApplicationJobLogQuery")
# Losant's job names (its examples: ApplicationExport, ArchiveData); the
# others are the local Losant's assumption, as unknown to the client as any.
EXPORT = "ApplicationExport"
ARCHIVE = "ArchiveData"
CLONE = "ApplicationClone"


def job_log(
    n: int,
    *,
    name: str = EXPORT,
    requested_by: str = "apiToken",
    queued: datetime = T0,
    status: str = "queued",
    app: str = APP_ID,
    job_id: str | None = None,
    progress: tuple[float, float] | None = None,
    output: dict[str, object] | None = None,
    error: str | None = None,
) -> dict[str, object]:
    """A job log entry as Losant writes it (validated against the spec)."""
    entry: dict[str, object] = {
        "id": _hex(n),
        "jobId": job_id or _hex(1000 + n),
        "name": name,
        "requestedByType": requested_by,
        "applicationId": app,
        "resourceType": "application",
        "resourceId": app,
        "runQueuedAt": _iso(queued),
        "status": status,
    }
    if status != "queued":
        entry["runStartedAt"] = _iso(queued + timedelta(seconds=1))
    if status in {"completed", "errored", "failed"}:
        entry["runCompletedAt"] = _iso(queued + timedelta(seconds=3))
    if progress is not None:
        entry["progress"] = {"completed": progress[0], "total": progress[1]}
    if output is not None:
        entry["output"] = output
    if error is not None:
        entry["error"] = {"name": "JobError", "message": error}
    jsonschema.validate(entry, JOB_LOG_SCHEMA)
    return entry


def page(*entries: dict[str, object], per_page: int = 100) -> dict[str, object]:
    body: dict[str, object] = {
        "items": list(entries),
        "count": len(entries),
        "totalCount": len(entries),
        "perPage": per_page,
        "page": 0,
        "sortField": "runQueuedAt",
        "sortDirection": "desc",
        "applicationId": APP_ID,
    }
    jsonschema.validate(body, JOB_LOGS_SCHEMA)
    return body


def import_log(
    n: int,
    *,
    queued: datetime = T0,
    status: str = "queued",
    job_id: str | None = ENQUEUE_ID,
    error: str | None = None,
    **more: object,
) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": _hex(n),
        "importExecutionId": _hex(500 + n),
        "applicationId": APP_ID,
        "importSourceType": "importBundle",
        "runQueuedAt": _iso(queued),
        "status": status,
        "dryRun": False,
        **more,
    }
    if job_id is not None:
        entry["jobId"] = job_id
    if status in {"completed", "errored", "failed"}:
        entry["runStartedAt"] = _iso(queued + timedelta(seconds=1))
        entry["runCompletedAt"] = _iso(queued + timedelta(seconds=2))
    if error is not None:
        entry["error"] = {"name": "ImportError", "message": error}
    return entry


def imports(*entries: dict[str, object]) -> list[dict[str, object]]:
    body = list(entries)
    jsonschema.validate(body, IMPORT_LOGS_SCHEMA)
    return body


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    t = Transport(token=TOKEN, base_url=BASE_URL, timeout=5.0, max_retries=0)
    try:
        yield t
    finally:
        await t.aclose()


def make(
    transport: Transport,
    action: str = "export",
    *,
    enqueued_at: datetime = T0,
    accepted_after: float = 0.3,
    **kw: Any,
) -> JobHandle:
    """A handle as the façade builds it, with the 202 received shortly after sending."""
    kw.setdefault("poll_interval", 0)
    kw.setdefault("job_id", ENQUEUE_ID if action in {"import", "applyTemplate"} else JOB_HEX)
    return JobHandle(
        transport,
        application_id=APP_ID,
        action=action,
        enqueued_at=enqueued_at,
        accepted_at=enqueued_at + timedelta(seconds=accepted_after),
        **kw,
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the delays the poll loop asks for, and do not really sleep."""
    recorded: list[float] = []
    real_sleep = anyio.sleep

    async def fake_sleep(delay: float) -> None:
        recorded.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(anyio, "sleep", fake_sleep)
    return recorded


# -- matching by id ----------------------------------------------------------------


@pytest.mark.parametrize("field", ["jobId", "jobExecutionId", "id"])
async def test_entry_carrying_the_enqueued_id_is_matched_exactly(
    respx_mock: respx.MockRouter, transport: Transport, field: str
) -> None:
    """A job log carrying the enqueued id (jobId, jobExecutionId or id) is the job."""
    ours = job_log(7, name="somethingElse", queued=T0 - timedelta(hours=3), status="inProgress")
    ours[field] = JOB_HEX
    rival = job_log(8, status="inProgress", queued=T0)  # an export inside the window
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(rival, ours)))
    handle = make(transport)

    progress = await handle.status()

    assert progress == JobProgress("inProgress", None, None)
    assert handle.log_id == ours["id"]


async def test_list_poll_sends_the_exact_job_log_query(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Job logs are listed newest first by runQueuedAt, 100 per page, filtered by the server."""
    route = respx_mock.get(JOB_LOGS).mock(return_value=ok(page()))
    await make(transport).status()
    request = route.calls.last.request
    assert request.url.path == JOB_LOGS
    query = (
        '{"runQueuedAt":{"$gte":"2025-03-04T11:59:55.000Z","$lte":"2025-03-04T12:00:05.300Z"},'
        '"name":"ApplicationExport"}'
    )
    assert request.url.params["query"] == query
    assert request.url.query.decode() == (
        f"{DEFAULTS}&sortField=runQueuedAt&sortDirection=desc&perPage=100&"
        + httpx.QueryParams({"query": query}).__str__()
    )
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_pinned_job_log_is_followed_with_the_single_entry_endpoint(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Once matched, polls go to GET /jobLogs/{logId} and the list is not read again."""
    listed = respx_mock.get(JOB_LOGS).mock(
        return_value=ok(page(job_log(3, job_id=None, status="queued")))
    )
    single = respx_mock.get(f"{JOB_LOGS}/{_hex(3)}").mock(
        side_effect=[
            ok(job_log(3, status="inProgress", progress=(1, 4))),
            ok(job_log(3, status="completed", progress=(4, 4), output={"downloadUrls": ["u"]})),
        ]
    )
    outcome = await make(transport).wait()
    assert listed.call_count == 1
    assert single.call_count == 2
    assert single.calls.last.request.url.query.decode() == DEFAULTS
    assert outcome.status == "completed"
    assert outcome.log_id == _hex(3)


# -- matching by window ------------------------------------------------------------


async def test_window_match_takes_same_application_kind_and_time_only(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Without the id, the one entry of this application and job name in the window is the job."""
    skew = timedelta(seconds=JOB_MATCH_SKEW)
    entries = [
        job_log(1, name=ARCHIVE, queued=T0),  # other kind
        job_log(2, queued=T0, app=OTHER_APP),  # other application
        job_log(3, queued=T0 - skew - timedelta(seconds=1)),  # too early
        job_log(4, queued=T0 + skew + timedelta(seconds=1)),  # too late
        job_log(6, name="export", queued=T0),  # the action's name is not the job's
        job_log(5, queued=T0 - skew + timedelta(seconds=1), status="inProgress"),
    ]
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(*entries)))
    handle = make(transport, accepted_after=0)
    assert (await handle.status()).status == "inProgress"
    assert handle.log_id == _hex(5)


async def test_no_entry_yet_reports_queued_and_pins_nothing(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Before the job's log entry exists, status() says queued and no log id is pinned."""
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(job_log(1, name=CLONE))))
    handle = make(transport)
    assert await handle.status() == JobProgress("queued")
    assert handle.log_id is None


async def test_two_candidates_raise_ambiguous_from_status_wait_and_progress(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Two exports inside the window raise JobAmbiguousError naming both, never a guess."""
    a = job_log(1, queued=T0 + timedelta(milliseconds=100), status="inProgress")
    b = job_log(2, queued=T0 + timedelta(milliseconds=200), status="inProgress")
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(b, a)))
    handle = make(transport)

    with pytest.raises(JobAmbiguousError) as info:
        await handle.status()
    assert set(info.value.candidates) == {_hex(1), _hex(2)}
    assert "pin" in str(info.value)
    with pytest.raises(JobAmbiguousError):
        await handle.wait()
    yielded: list[JobProgress] = []

    async def follow() -> None:
        yielded.extend([p async for p in handle.progress()])

    with pytest.raises(JobAmbiguousError):
        await follow()
    assert yielded == []
    assert handle.log_id is None


async def test_pinning_resolves_an_ambiguity(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """After handle.pin(log_id) the handle follows exactly that entry."""
    a = job_log(1, queued=T0, status="inProgress")
    b = job_log(2, queued=T0, status="inProgress")
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(b, a)))
    respx_mock.get(f"{JOB_LOGS}/{_hex(2)}").mock(
        return_value=ok(job_log(2, status="completed", output={"downloadUrls": ["https://x/2"]}))
    )
    handle = make(transport)
    with pytest.raises(JobAmbiguousError) as info:
        await handle.status()

    assert _hex(2) in info.value.candidates
    handle.pin(_hex(2))
    outcome = await handle

    assert outcome.log_id == _hex(2)
    assert outcome.output == {"downloadUrls": ["https://x/2"]}


async def test_log_id_given_at_construction_skips_matching(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """JobHandle(..., log_id=...) polls only that entry and never lists the logs."""
    route = respx_mock.get(f"{JOB_LOGS}/{_hex(9)}").mock(
        return_value=ok(job_log(9, status="completed"))
    )
    handle = make(transport, log_id=_hex(9))
    assert (await handle.wait()).status == "completed"
    assert route.call_count == 1


async def test_window_match_is_rechecked_while_a_rival_could_still_appear(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """A rival that appears in the window after a window match raises instead of being ignored."""
    now = datetime.now(UTC)
    ours = job_log(1, queued=now, status="inProgress", progress=(1, 10))
    rival = job_log(2, queued=now + timedelta(seconds=1), status="queued")
    respx_mock.get(JOB_LOGS).mock(side_effect=[ok(page(ours)), ok(page(rival, ours))])
    handle = make(transport, enqueued_at=now)

    assert (await handle.status()).completed == 1
    assert handle.log_id == _hex(1)
    with pytest.raises(JobAmbiguousError) as info:
        await handle.status()
    assert info.value.candidates == (_hex(1), _hex(2))


async def test_window_match_is_followed_in_the_list_while_open_then_by_id(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """While rivals could still appear the pinned entry is read from the list, else fetched."""
    now = datetime.now(UTC)
    listed = respx_mock.get(JOB_LOGS).mock(
        side_effect=[
            ok(page(job_log(1, queued=now, status="queued"))),
            ok(page(job_log(1, queued=now, status="inProgress", progress=(2, 4)))),
            ok(page()),  # the entry is no longer listed (e.g. paged out)
        ]
    )
    single = respx_mock.get(f"{JOB_LOGS}/{_hex(1)}").mock(
        return_value=ok(job_log(1, queued=now, status="completed", progress=(4, 4)))
    )
    handle = make(transport, enqueued_at=now)
    assert (await handle.status()).status == "queued"
    assert await handle.status() == JobProgress("inProgress", 2, 4)
    assert single.call_count == 0
    assert await handle.status() == JobProgress("completed", 4, 4)
    assert (listed.call_count, single.call_count) == (3, 1)


async def test_application_is_recognised_as_owner_or_resource(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """An entry naming another application as owner is skipped; one naming ours is matched."""
    theirs = job_log(1, status="inProgress")
    del theirs["applicationId"]
    theirs.update(ownerType="application", ownerId=OTHER_APP)
    theirs.update(resourceType="device", resourceId=_hex(77))
    ours = job_log(2, status="inProgress")
    del ours["applicationId"]
    ours.update(resourceType="device", resourceId=_hex(78), ownerType="application", ownerId=APP_ID)
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(theirs, ours)))
    handle = make(transport)
    assert (await handle.status()).status == "inProgress"
    assert handle.log_id == _hex(2)


async def test_second_page_is_read_while_the_first_is_all_inside_the_window(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """A full page that does not reach back before the window is followed by the next page."""
    newer = [job_log(100 + i, name=CLONE, queued=T0 + timedelta(seconds=2)) for i in range(100)]
    route = respx_mock.get(JOB_LOGS).mock(
        side_effect=[ok(page(*newer)), ok(page(job_log(1, queued=T0, status="inProgress")))]
    )
    assert (await make(transport).status()).status == "inProgress"
    assert route.calls[1].request.url.params["page"] == "1"


# -- outcomes ----------------------------------------------------------------------


async def test_wait_returns_the_outcome_of_a_completed_job(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """wait() polls through queued and inProgress and returns status, times, output and log id."""
    output: dict[str, object] = {
        "downloadUrls": ["https://files.test/a.zip"],
        "eeaBundleVersion": "1",
    }
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(job_log(4, job_id=JOB_HEX))))
    respx_mock.get(f"{JOB_LOGS}/{_hex(4)}").mock(
        side_effect=[
            ok(job_log(4, status="inProgress", progress=(2, 5))),
            ok(job_log(4, status="completed", progress=(5, 5), output=output)),
        ]
    )
    outcome = await make(transport).wait()
    assert outcome == JobOutcome(
        "completed",
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=3),
        output,
        None,
        _hex(4),
    )
    with pytest.raises(TypeError):
        outcome.output["x"] = 1  # type: ignore[index]


@pytest.mark.parametrize("status", ["errored", "failed"])
async def test_wait_raises_job_failed_with_the_outcome(
    respx_mock: respx.MockRouter, transport: Transport, status: str
) -> None:
    """An errored or failed job raises JobFailedError with the outcome and the server's error."""
    respx_mock.get(JOB_LOGS).mock(
        return_value=ok(page(job_log(4, job_id=JOB_HEX, status=status, error="disk full")))
    )
    with pytest.raises(JobFailedError) as info:
        await make(transport)
    assert info.value.outcome.status == status
    assert info.value.outcome.error == JobError(name="JobError", message="disk full")
    assert info.value.outcome.log_id == _hex(4)
    assert "disk full" in str(info.value)


async def test_await_handle_is_wait(respx_mock: respx.MockRouter, transport: Transport) -> None:
    """`await handle` returns the same JobOutcome as wait()."""
    respx_mock.get(JOB_LOGS).mock(
        return_value=ok(page(job_log(4, job_id=JOB_HEX, status="completed")))
    )
    respx_mock.get(f"{JOB_LOGS}/{_hex(4)}").mock(return_value=ok(job_log(4, status="completed")))
    handle = make(transport)
    first = await handle
    assert first == await handle.wait()
    assert first.status == "completed"


async def test_timeout_raises_builtin_timeout_error_on_the_injected_clock(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """wait(timeout=...) raises TimeoutError once the injected clock passes the deadline."""
    ticks = iter(range(0, 1000, 10))
    route = respx_mock.get(JOB_LOGS).mock(
        return_value=ok(page(job_log(4, job_id=JOB_HEX, status="inProgress")))
    )
    respx_mock.get(f"{JOB_LOGS}/{_hex(4)}").mock(return_value=ok(job_log(4, status="inProgress")))
    handle = make(transport, clock=lambda: float(next(ticks)))
    with anyio.fail_after(5):
        with pytest.raises(TimeoutError) as info:
            await handle.wait(timeout=25)
    assert "inProgress" in str(info.value)
    assert route.call_count == 1


async def test_timeout_also_holds_in_real_time(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """A real-time timeout ends a wait that is sleeping between polls."""
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page()))
    handle = make(transport, poll_interval=30)
    with anyio.fail_after(5), pytest.raises(TimeoutError):
        await handle.wait(timeout=0.05)


async def test_cancelled_wait_leaves_nothing_polling(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Cancelling a wait stops all polling: no request is made afterwards."""
    route = respx_mock.get(JOB_LOGS).mock(return_value=ok(page()))
    handle = make(transport, poll_interval=0.01)
    with anyio.move_on_after(0.1) as scope:
        await handle.wait()
    assert scope.cancelled_caught
    calls = route.call_count
    assert calls >= 2
    await anyio.sleep(0.1)
    assert route.call_count == calls


# -- progress ----------------------------------------------------------------------


async def test_progress_yields_only_changes_and_ends_after_terminal(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """progress() yields each change once, in order, and stops after the terminal state."""
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(job_log(4, job_id=JOB_HEX))))
    respx_mock.get(f"{JOB_LOGS}/{_hex(4)}").mock(
        side_effect=[
            ok(job_log(4, status="queued")),
            ok(job_log(4, status="inProgress", progress=(1, 4))),
            ok(job_log(4, status="inProgress", progress=(1, 4))),
            ok(job_log(4, status="inProgress", progress=(3, 4))),
            ok(job_log(4, status="completed", progress=(4, 4))),
        ]
    )
    seen = [p async for p in make(transport).progress()]
    assert seen == [
        JobProgress("queued"),
        JobProgress("inProgress", 1, 4),
        JobProgress("inProgress", 3, 4),
        JobProgress("completed", 4, 4),
    ]
    assert [p.fraction for p in seen] == [None, 0.25, 0.75, 1.0]
    assert [p.is_terminal for p in seen] == [False, False, False, True]


async def test_progress_of_a_failed_job_ends_without_raising(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """progress() ends with the errored state; only wait() raises JobFailedError."""
    respx_mock.get(JOB_LOGS).mock(
        return_value=ok(page(job_log(4, job_id=JOB_HEX, status="errored", error="boom")))
    )
    assert [p async for p in make(transport).progress()] == [JobProgress("errored")]


async def test_leaving_progress_early_stops_polling(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Breaking out of progress() (closed with aclosing) sends no further request."""
    route = respx_mock.get(JOB_LOGS).mock(return_value=ok(page()))
    handle = make(transport, poll_interval=0.01)
    async with contextlib.aclosing(handle.progress()) as updates:  # type: ignore[type-var]
        async for update in updates:
            assert update == JobProgress("queued")
            break
    calls = route.call_count
    await anyio.sleep(0.05)
    assert route.call_count == calls == 1


async def test_polls_back_off_and_restart_when_the_job_moves(
    respx_mock: respx.MockRouter, transport: Transport, sleeps: list[float]
) -> None:
    """Without a fixed interval, delays grow by the multiplier up to the max and reset on change."""
    still = [ok(job_log(4, status="inProgress", progress=(1, 9)))] * 8
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(job_log(4, job_id=JOB_HEX))))
    respx_mock.get(f"{JOB_LOGS}/{_hex(4)}").mock(
        side_effect=[*still, ok(job_log(4, status="completed", progress=(9, 9)))]
    )
    await make(transport, poll_interval=None).wait()

    expected: list[float] = []
    delay = JOB_POLL_INITIAL
    for _ in range(8):
        expected.append(delay)
        delay = min(delay * JOB_POLL_MULTIPLIER, JOB_POLL_MAX)
    # queued -> inProgress is a change (restart); then seven polls without change.
    assert sleeps == pytest.approx([JOB_POLL_INITIAL, *expected])
    assert max(sleeps) == JOB_POLL_MAX


async def test_rate_limited_poll_waits_retry_after_and_continues(
    respx_mock: respx.MockRouter, transport: Transport, sleeps: list[float]
) -> None:
    """A 429 during polling is waited out for Retry-After seconds, then polling resumes."""
    respx_mock.get(JOB_LOGS).mock(
        side_effect=[
            httpx.Response(429, json={"type": "RateLimited"}, headers={"Retry-After": "7"}),
            ok(page(job_log(4, job_id=JOB_HEX, status="completed"))),
        ]
    )
    assert (await make(transport, poll_interval=0.5).wait()).status == "completed"
    assert sleeps == [7.0]


# -- import logs -------------------------------------------------------------------


@pytest.mark.parametrize("action", ["import", "applyTemplate"])
async def test_import_jobs_are_followed_in_the_import_logs_by_job_id(
    respx_mock: respx.MockRouter, transport: Transport, action: str
) -> None:
    """import/applyTemplate poll importLogs?limit&since and match the entry carrying the jobId."""
    since_ms = int((T0 - timedelta(seconds=JOB_MATCH_SKEW)).timestamp() * 1000)
    url = "https://templates.test/t.zip"
    route = respx_mock.get(IMPORT_LOGS).mock(
        side_effect=[
            ok(imports(import_log(1, job_id=None), import_log(2, status="inProgress"))),
            ok(
                imports(
                    import_log(
                        2,
                        status="completed",
                        importSourceType="importUrl",
                        importUrl=url,
                        email="a@b.test",
                    )
                )
            ),
        ]
    )
    outcome = await make(transport, action).wait()
    assert route.calls[0].request.url.query.decode() == (f"{DEFAULTS}&limit=100&since={since_ms}")
    assert outcome.log_id == _hex(2)
    assert outcome.completed_at == T0 + timedelta(seconds=2)
    assert outcome.output == {
        "importExecutionId": _hex(502),
        "importSourceType": "importUrl",
        "importUrl": url,
        "dryRun": False,
    }


async def test_failed_import_raises_with_its_error_message(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """An errored import log raises JobFailedError with the log's error message."""
    respx_mock.get(IMPORT_LOGS).mock(
        return_value=ok(imports(import_log(2, status="errored", error="bad bundle")))
    )
    with pytest.raises(JobFailedError) as info:
        await make(transport, "import")
    error = info.value.outcome.error
    assert error is not None
    assert (error.name, error.message) == ("ImportError", "bad bundle")


async def test_import_entries_without_job_id_match_by_window_and_can_be_ambiguous(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Two import log entries in the window without the jobId are ambiguous until one is pinned."""
    a = import_log(1, job_id=None, queued=T0 + timedelta(milliseconds=50))
    b = import_log(2, job_id=None, queued=T0 + timedelta(milliseconds=90), status="completed")
    respx_mock.get(IMPORT_LOGS).mock(return_value=ok(imports(b, a)))
    handle = make(transport, "applyTemplate")
    with pytest.raises(JobAmbiguousError) as info:
        await handle.status()
    assert set(info.value.candidates) == {_hex(1), _hex(2)}
    handle.pin(_hex(2))
    assert (await handle.wait()).log_id == _hex(2)


# -- construction and repr ---------------------------------------------------------


async def test_repr_names_action_job_and_status_but_no_token(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """repr(handle) shows action, job id and last status, never the token."""
    respx_mock.get(JOB_LOGS).mock(
        return_value=ok(page(job_log(4, job_id=JOB_HEX, status="inProgress")))
    )
    handle = make(transport)
    assert repr(handle) == (
        f"JobHandle(action='export', job_id='{JOB_HEX}', status=None, log_id=None)"
    )
    await handle.status()
    assert repr(handle) == (
        f"JobHandle(action='export', job_id='{JOB_HEX}', status='inProgress', log_id='{_hex(4)}')"
    )
    assert TOKEN not in repr(handle)


async def test_construction_checks_action_and_takes_naive_times_as_utc(
    transport: Transport,
) -> None:
    """An unknown action is a ValueError; a naive enqueued_at is UTC; pin() wants a str."""
    with pytest.raises(ValueError, match="action must be one of"):
        JobHandle(transport, application_id=APP_ID, action="get", job_id="1", enqueued_at=T0)
    naive = JobHandle(
        transport,
        application_id=APP_ID,
        action="clone",
        job_id="1",
        enqueued_at=T0.replace(tzinfo=None),
    )
    assert naive.enqueued_at == T0
    assert naive.enqueued_at.tzinfo is UTC
    with pytest.raises(ValueError, match="log_id"):
        naive.pin("")


def test_match_prefers_an_exact_id_over_window_candidates() -> None:
    """match_entries returns id matches alone, flagged exact, beside window candidates."""
    entry: Callable[..., _job_matching.Entry] = lambda n, ids, queued: _job_matching.Entry(  # noqa: E731
        log_id=_hex(n),
        ids=frozenset(ids),
        source="job",
        name=EXPORT,
        requested_by_type="apiToken",
        application_ids=frozenset({APP_ID}),
        queued_at=queued,
        started_at=None,
        completed_at=None,
        status="queued",
        completed=None,
        total=None,
        output={},
        error=None,
    )
    window = {"since": T0, "until": T0 + timedelta(seconds=1)}
    a, b = entry(1, {_hex(1)}, T0), entry(2, {_hex(2), "J"}, None)
    common = {"application_id": APP_ID, "action": "export"}
    assert _job_matching.match_entries([a, b], job_id="J", **common, **window) == ([b], True)  # type: ignore[arg-type]
    assert _job_matching.match_entries([a, b], job_id="K", **common, **window) == ([a], False)  # type: ignore[arg-type]


# -- job names (API.md "Job kinds") ------------------------------------------------


@pytest.mark.parametrize(("action", "name"), [("export", EXPORT), ("archiveData", ARCHIVE)])
async def test_known_job_name_is_matched_and_the_action_name_is_not(
    respx_mock: respx.MockRouter, transport: Transport, action: str, name: str
) -> None:
    """A log named after the job (ApplicationExport, ArchiveData) matches; after the action, not."""
    entries = [
        job_log(1, name=action, status="inProgress"),
        job_log(2, name=name, status="inProgress"),
    ]
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(*entries)))
    handle = make(transport, action)
    assert (await handle.status()).status == "inProgress"
    assert handle.log_id == _hex(2)


@pytest.mark.parametrize(
    "action", ["clone", "backfillArchiveData", "fullDataTablesArchive", "fullEventsArchive"]
)
async def test_unpublished_job_name_matches_any_name_but_another_actions_known_one(
    respx_mock: respx.MockRouter, transport: Transport, action: str
) -> None:
    """Unpublished job name: any name matches but another action's known one, or a system job."""
    entries = [
        job_log(1, name=EXPORT, status="inProgress"),
        job_log(2, name=ARCHIVE, status="inProgress"),
        job_log(3, name="NightlyThing", requested_by="system", status="inProgress"),
        job_log(4, name="SomeJobNameNobodyPublished", status="inProgress", progress=(1, 2)),
    ]
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(*entries)))
    handle = make(transport, action)
    assert await handle.status() == JobProgress("inProgress", 1, 2)
    assert handle.log_id == _hex(4)


async def test_two_unpublished_kinds_in_the_window_are_ambiguous(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Jobs whose names are unpublished cannot be told apart from one another: no guess."""
    entries = [job_log(1, name=CLONE), job_log(2, name="FullEventsArchive")]
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(*entries)))
    with pytest.raises(JobAmbiguousError) as info:
        await make(transport, "clone").status()
    assert set(info.value.candidates) == {_hex(1), _hex(2)}


async def test_system_archive_job_in_the_window_does_not_make_archive_data_ambiguous(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """A nightly ArchiveData job requested by the system is never the job of an API request."""
    nightly = job_log(1, name=ARCHIVE, requested_by="system", status="inProgress")
    ours = job_log(2, name=ARCHIVE, status="queued")
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(nightly, ours)))
    handle = make(transport, "archiveData")
    assert (await handle.status()).status == "queued"
    assert handle.log_id == _hex(2)


def test_the_job_name_table_is_the_one_place_names_live() -> None:
    """Every job-log action has one entry in JOB_NAMES; only Losant's published names are set."""
    assert dict(_job_matching.JOB_NAMES) == {
        "export": EXPORT,
        "archiveData": ARCHIVE,
        "clone": None,
        "backfillArchiveData": None,
        "fullDataTablesArchive": None,
        "fullEventsArchive": None,
    }
    assert frozenset(_job_matching.JOB_NAMES) == _job_matching.JOB_LOG_ACTIONS


# -- the server's filter -----------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "name"),
    [
        ("export", EXPORT),
        ("archiveData", ARCHIVE),
        ("clone", None),
        ("backfillArchiveData", None),
        ("fullDataTablesArchive", None),
        ("fullEventsArchive", None),
    ],
)
async def test_job_log_query_asks_for_the_window_and_known_name_and_fits_the_schema(
    respx_mock: respx.MockRouter, transport: Transport, action: str, name: str | None
) -> None:
    """The jobLogs query is an advanced query (Losant's schema): the window, the name if known."""
    route = respx_mock.get(JOB_LOGS).mock(return_value=ok(page()))
    server = T0 + timedelta(minutes=10, microseconds=123_456)
    await make(transport, action, server_time=server).status()
    params = route.calls.last.request.url.params
    assert (params["sortField"], params["sortDirection"]) == ("runQueuedAt", "desc")
    query = json.loads(params["query"])
    jsonschema.validate(query, QUERY_SCHEMA)
    expected: dict[str, object] = {
        # Date - max(round trip 0.3 s, 2 s) - 1 s, and Date + 1 s + 1 s, to whole ms outwards.
        "runQueuedAt": {
            "$gte": "2025-03-04T12:09:57.123Z",
            "$lte": "2025-03-04T12:10:02.124Z",
        }
    }
    if name is not None:
        expected["name"] = name
    assert query == expected
    assert " " not in params["query"]  # compact, as JSON.stringify writes it


async def test_entries_a_server_sends_despite_the_filter_are_still_checked(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """A server that ignores the filter gets its out-of-window and other-name entries rejected."""
    server = T0 + timedelta(minutes=10)
    entries = [
        job_log(1, queued=server - timedelta(hours=1), status="inProgress"),
        job_log(2, name=ARCHIVE, queued=server, status="inProgress"),
        job_log(3, queued=server + timedelta(seconds=30), status="inProgress"),
    ]
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(*entries)))
    handle = make(transport, server_time=server)
    assert await handle.status() == JobProgress("queued")
    assert handle.log_id is None


# -- the window on the server's clock ----------------------------------------------


async def test_window_is_anchored_on_the_server_date_ten_minutes_off(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """With the 202's Date ten minutes ahead of the client, the server-stamped entry matches."""
    server = T0 + timedelta(minutes=10)
    ours = job_log(1, queued=server - timedelta(milliseconds=400), status="inProgress")
    on_client_clock = job_log(2, queued=T0 + timedelta(milliseconds=100), status="inProgress")
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(ours, on_client_clock)))
    handle = make(transport, server_time=server)
    assert handle.server_time == server
    assert (await handle.status()).status == "inProgress"
    assert handle.log_id == _hex(1)


async def test_without_a_date_the_window_falls_back_to_the_client_clock(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """Without a Date header, the entry inside the client-clock window is the job."""
    entries = [
        job_log(1, queued=T0 + timedelta(minutes=10), status="inProgress"),
        job_log(2, queued=T0 + timedelta(milliseconds=100), status="inProgress"),
    ]
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(*entries)))
    handle = make(transport)
    assert handle.server_time is None
    await handle.status()
    assert handle.log_id == _hex(2)


@pytest.mark.parametrize(
    ("offset_ms", "round_trip", "matches"),
    [
        (-3000, 0.3, True),  # Date - 2 s - 1 s margin
        (-3001, 0.3, False),
        (-4500, 4.0, True),  # a slow round trip widens the start: Date - 4 s - 1 s
        (-5001, 4.0, False),
        (0, 0.3, True),
        (2000, 0.3, True),  # Date has whole seconds: + 1 s, + 1 s margin
        (2001, 0.3, False),
    ],
)
async def test_server_window_edges(
    respx_mock: respx.MockRouter,
    transport: Transport,
    offset_ms: int,
    round_trip: float,
    matches: bool,
) -> None:
    """runQueuedAt matches within [Date - max(round trip, 2 s) - 1 s, Date + 2 s] and not beyond."""
    server = T0 + timedelta(minutes=-10)  # the server ten minutes behind the client
    queued = server + timedelta(milliseconds=offset_ms)
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(job_log(1, queued=queued))))
    handle = make(transport, server_time=server, accepted_after=round_trip)
    await handle.status()
    assert (handle.log_id == _hex(1)) is matches


async def test_facade_passes_the_date_of_the_202_to_the_handle(
    respx_mock: respx.MockRouter,
) -> None:
    """AsyncApplication builds the handle with the 202's Date, and the window follows the server."""
    server_now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    date = email.utils.format_datetime(server_now, usegmt=True)
    respx_mock.post(f"/applications/{APP_ID}/export").mock(
        return_value=httpx.Response(
            202,
            json={"jobId": ENQUEUE_ID, "jobQueued": True, "success": True},
            headers={"Date": date},
        )
    )
    ours = job_log(1, queued=server_now + timedelta(milliseconds=300), status="completed")
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(ours)))
    async with losant_async.AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
        handle = await app.export(force_job=True)
        assert isinstance(handle, JobHandle)
        assert handle.server_time == server_now
        with anyio.fail_after(5):
            outcome = await handle.wait(poll_interval=0)
    assert outcome.log_id == _hex(1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 04 Mar 2025 12:00:00 GMT", T0),
        ("Tue, 04 Mar 2025 13:00:00 +0100", T0),
        ("Tuesday, 04-Mar-25 12:00:00 GMT", T0),  # obsolete RFC 850 form
        ("Tue, 04 Mar 2025 12:00:00 -0000", None),  # no zone: not an HTTP-date
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_server_date_reads_http_dates_only(value: str | None, expected: datetime | None) -> None:
    """server_date() gives an aware UTC datetime for an HTTP-date, else None."""
    headers = httpx.Headers({} if value is None else {"Date": value})
    parsed = server_date(headers)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


# -- import logs without runQueuedAt -------------------------------------------------


async def test_import_log_without_run_queued_at_falls_back_to_run_started_at(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """An import log without runQueuedAt or jobId (as Losant's example) is timed by runStartedAt."""

    def started(n: int, at: datetime) -> dict[str, object]:
        entry = import_log(n, job_id=None, queued=at, status="inProgress")
        del entry["runQueuedAt"]
        entry["runStartedAt"] = _iso(at)
        return entry

    early = started(1, T0 - timedelta(minutes=5))
    ours = started(2, T0 + timedelta(seconds=1))
    respx_mock.get(IMPORT_LOGS).mock(return_value=ok(imports(early, ours)))
    handle = make(transport, "import")
    assert (await handle.status()).status == "inProgress"
    assert handle.log_id == _hex(2)


# -- the server's error ------------------------------------------------------------


async def test_outcome_error_keeps_name_and_message_as_attributes(
    respx_mock: respx.MockRouter, transport: Transport
) -> None:
    """JobOutcome.error is a JobError with the server's name and message; the failure reads well."""
    entry = job_log(4, job_id=JOB_HEX, status="errored")
    entry["error"] = {"name": "StorageError", "message": "bucket not found"}
    respx_mock.get(JOB_LOGS).mock(return_value=ok(page(entry)))
    with pytest.raises(JobFailedError) as info:
        await make(transport)
    error = info.value.outcome.error
    assert isinstance(error, losant_async.JobError)
    assert (error.name, error.message) == ("StorageError", "bucket not found")
    assert str(error) == "StorageError: bucket not found"
    assert str(info.value) == "job errored: StorageError: bucket not found"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        error.message = "x"  # type: ignore[misc]


def test_job_error_str_with_a_part_missing() -> None:
    """str(JobError) is the message, or the name, or empty when the server gave neither."""
    assert str(JobError(message="only message")) == "only message"
    assert str(JobError(name="OnlyName")) == "OnlyName"
    assert str(JobError()) == ""
