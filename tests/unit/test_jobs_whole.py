"""job_handle for every 202 of the whole API, and JobOutcome downloads (respx, no sockets)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from losant_async._exceptions import APIResponseValidationError, NotFoundError
from losant_async._jobs._handle import JobHandle
from losant_async._jobs._values import JobOutcome
from losant_async._jobs._whole import (
    FOLLOWABLE_ACTIONS,
    UNFOLLOWABLE_ACTIONS,
    JobNotFollowableError,
    UnfollowableJobHandle,
    job_handle,
)
from losant_async._response import Response
from losant_async._transport import Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

pytestmark = pytest.mark.anyio

DEVICE = "5a0000000000000000000abc"
OTHER_DEVICE = "5a0000000000000000000def"
JOB_LOGS = f"/applications/{APP_ID}/jobLogs"
NOW = datetime.now(UTC)


def accepted(job_id: str | None = "Xq3kP0aZ9") -> Response:
    body = (
        b'{"jobQueued":true,"success":true}'
        if job_id is None
        else (b'{"jobQueued":true,"jobId":"%s","success":true}' % job_id.encode())
    )
    return Response(202, httpx.Headers({"content-type": "application/json"}), body)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log(n: int, device: str, status: str = "completed", **extra: object) -> dict[str, object]:
    return {
        "id": f"{n:024x}",
        "applicationId": APP_ID,
        "name": "DeviceExport",
        "requestedByType": "apiToken",
        "resourceType": "device",
        "resourceId": device,
        "runQueuedAt": _iso(NOW),
        "status": status,
        **extra,
    }


def test_every_job_action_of_the_plan_is_listed() -> None:
    tools = Path(__file__).resolve().parents[2] / "tools"
    sys.path.insert(0, str(tools))
    try:
        from _api_plan import actions  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tools))
    jobs = {a.key for a in actions() if any(answer.job for answer in a.answers)}
    assert len(jobs) == 31
    assert jobs == FOLLOWABLE_ACTIONS | UNFOLLOWABLE_ACTIONS
    assert not FOLLOWABLE_ACTIONS & UNFOLLOWABLE_ACTIONS


async def test_application_actions_get_the_facades_handle() -> None:
    async with Transport(token=TOKEN, base_url=BASE_URL) as t:
        handle = job_handle(
            t,
            accepted(),
            application_id=APP_ID,
            action="application.export",
            enqueued_at=NOW,
            resource_path=f"/applications/{APP_ID}",
        )
    assert type(handle) is JobHandle
    assert (handle.action, handle.application_id, handle.job_id) == ("export", APP_ID, "Xq3kP0aZ9")
    assert handle.followable


async def test_device_export_follows_the_entry_of_its_device(respx_mock: respx.MockRouter) -> None:
    # Two exports queued in the window: only the one naming this device matches.
    url = "https://files.example.test/export.csv?sig=s3cr3t"
    entries = [log(1, OTHER_DEVICE), log(2, DEVICE, output={"downloadUrls": [url]})]
    respx_mock.get(JOB_LOGS).mock(return_value=httpx.Response(200, json={"items": entries}))
    async with Transport(token=TOKEN, base_url=BASE_URL) as t:
        handle = job_handle(
            t,
            accepted(),
            application_id=APP_ID,
            action="device.export",
            enqueued_at=NOW - timedelta(seconds=1),
            resource_path=f"/applications/{APP_ID}/devices/{DEVICE}",
        )
        assert handle.action == "device.export"
        with anyio.fail_after(5):
            outcome = await handle
    assert outcome.log_id == f"{2:024x}"
    assert outcome.download_urls == (url,)


async def test_a_failed_whole_api_job_raises(respx_mock: respx.MockRouter) -> None:
    from losant_async._exceptions import JobFailedError

    entry = log(3, DEVICE, status="errored", error={"name": "Boom", "message": "no"})
    entry["resourceType"], entry["resourceId"] = "application", APP_ID
    respx_mock.get(JOB_LOGS).mock(return_value=httpx.Response(200, json={"items": [entry]}))
    async with Transport(token=TOKEN, base_url=BASE_URL) as t:
        handle = job_handle(
            t,
            accepted(),
            application_id=APP_ID,
            action="devices.export",
            enqueued_at=NOW - timedelta(seconds=1),
            resource_path=f"/applications/{APP_ID}/devices",
        )
        with anyio.fail_after(5), pytest.raises(JobFailedError) as caught:
            await handle
    assert caught.value.outcome.status == "errored"


@pytest.mark.parametrize("action", sorted(UNFOLLOWABLE_ACTIONS))
async def test_jobs_outside_an_application_say_so(action: str) -> None:
    async with Transport(token=TOKEN, base_url=BASE_URL) as t:
        handle = job_handle(
            t,
            accepted(),
            application_id=None,
            action=action,
            enqueued_at=NOW,
            resource_path="/instances/5a0000000000000000000001",
        )
        assert isinstance(handle, UnfollowableJobHandle)
        assert not handle.followable
        assert handle.action == action
        with pytest.raises(JobNotFollowableError, match="cannot be awaited"):
            await handle
        with pytest.raises(JobNotFollowableError):
            await handle.wait(timeout=1)
        with pytest.raises(JobNotFollowableError):
            await handle.status()
        with pytest.raises(JobNotFollowableError):
            async for _ in handle.progress():
                pass  # pragma: no cover


async def test_202_without_a_job_id_is_a_validation_error() -> None:
    async with Transport(token=TOKEN, base_url=BASE_URL) as t:
        with pytest.raises(APIResponseValidationError, match="without a jobId"):
            job_handle(
                t,
                accepted(None),
                application_id=APP_ID,
                action="devices.export",
                enqueued_at=NOW,
                resource_path=f"/applications/{APP_ID}/devices",
            )


# --- downloads ----------------------------------------------------------------

FILE_URL = "https://files.example.test/exports/a.csv?X-Amz-Signature=s3cr3t"


async def test_download_streams_to_disk_without_the_token(tmp_path: Path) -> None:
    body = b"x" * 300_000
    with respx.mock(assert_all_called=True) as router:
        route = router.get(FILE_URL).mock(return_value=httpx.Response(200, content=body))
        outcome = JobOutcome("completed", output={"downloadUrls": [FILE_URL]})
        target = await outcome.download(tmp_path / "a.csv")
    assert await anyio.Path(target).read_bytes() == body
    assert "authorization" not in route.calls.last.request.headers
    assert not (tmp_path / "a.csv.part").exists()


async def test_open_download_yields_blocks() -> None:
    with respx.mock() as router:
        router.get(FILE_URL).mock(return_value=httpx.Response(200, content=b"abc" * 1000))
        outcome = JobOutcome("completed", output={"downloadUrls": [FILE_URL]})
        async with outcome.open_download() as blocks:
            got = b"".join([block async for block in blocks])
    assert got == b"abc" * 1000


async def test_download_error_status_is_ours_and_leaves_no_file(tmp_path: Path) -> None:
    with respx.mock() as router:
        router.get(FILE_URL).mock(return_value=httpx.Response(404, text="gone"))
        outcome = JobOutcome("completed", output={"downloadUrls": [FILE_URL]})
        with pytest.raises(NotFoundError) as caught:
            await outcome.download(tmp_path / "a.csv")
    assert "s3cr3t" not in str(caught.value)
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []


async def test_download_connection_error_hides_the_signed_query(tmp_path: Path) -> None:
    from losant_async._exceptions import APIConnectionError

    with respx.mock() as router:
        router.get(FILE_URL).mock(side_effect=httpx.ConnectError("refused"))
        outcome = JobOutcome("completed", output={"downloadUrls": [FILE_URL]})
        with pytest.raises(APIConnectionError) as caught:
            await outcome.download(tmp_path / "a.csv")
    assert "s3cr3t" not in str(caught.value)
    assert "files.example.test/exports/a.csv" in str(caught.value)


async def test_no_download_url() -> None:
    outcome = JobOutcome("completed", output={})
    assert outcome.download_urls == ()
    with pytest.raises(LookupError):
        await outcome.download("x")
    with pytest.raises(LookupError):
        outcome.open_download(index=1)
