"""Every job of the whole API the local Losant runs, followed to its end (issue 16).

Each action is called through its generated method (``app.devices.export()``,
``app.data_table(id).rows.export(...)``...) against the local Losant over real
sockets, on asyncio and trio; the ``JobHandle`` it returns is awaited to
``completed``, or, with ``faults.fail_job(action)``, to ``errored``. The bulk
actions that run as a job only above ``JOB_THRESHOLD`` selected items
(``devices.sendCommand``, ``events.patch``...) are made to by lowering the
threshold of the local Losant's handlers for the test. The Application
resource's own jobs are in ``test_jobs.py``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from losant_async import AsyncApplication, AsyncLosant, JobFailedError, JobHandle
from losant_async._jobs._whole import UNFOLLOWABLE_ACTIONS, JobNotFollowableError
from losant_async.testing import LocalLosant
from losant_async.testing._handlers import iot_events, iot_jobs, iot_state
from losant_async.testing._jobs import JOB_NAMES

pytestmark = pytest.mark.anyio

POLL = 0.02
SOME_ID = "5f5f5f5f5f5f5f5f5f5f5f5f"  # a resource the local Losant does not look up


@dataclass
class Ctx:
    app: AsyncApplication
    device_id: str
    table_id: str


Enqueue = Callable[[Ctx], Awaitable[object]]

JOBS: dict[str, Enqueue] = {
    "data.export": lambda c: c.app.data.export({"deviceIds": [c.device_id]}),
    "dataTableRows.export": lambda c: c.app.data_table(c.table_id).rows.export({}),
    "device.export": lambda c: c.app.device(c.device_id).export(),
    "device.removeData": lambda c: c.app.device(c.device_id).remove_data(),
    "deviceRecipe.bulkCreate": lambda c: c.app.device_recipe(SOME_ID).bulk_create({}),
    "devices.delete": lambda c: c.app.devices.delete({"query": {"id": c.device_id}}),
    "devices.export": lambda c: c.app.devices.export(),
    "devices.patch": lambda c: c.app.devices.patch(
        {"deviceIds": [c.device_id], "updateFields": {"description": "patched"}}
    ),
    "devices.payloadCounts": lambda c: c.app.devices.payload_counts(),
    "devices.removeData": lambda c: c.app.devices.remove_data({"query": {}}),
    "devices.restore": lambda c: c.app.devices.restore({"query": {}, "forceJob": True}),
    "devices.sendCommand": lambda c: c.app.devices.send_command(
        {"name": "reboot", "deviceIds": [c.device_id]}
    ),
    "embeddedDeployments.export": lambda c: c.app.embedded_deployments.export(),
    "events.delete": lambda c: c.app.events.delete({}),
    "events.export": lambda c: c.app.events.export({}),
    "events.patch": lambda c: c.app.events.patch({"state": "acknowledged"}),
    "flowVersions.delete": lambda c: c.app.flow(SOME_ID).versions.delete({"query": {}}),
    "notebook.requestInputDataExport": lambda c: c.app.notebook(SOME_ID).request_input_data_export(
        {}
    ),
    "applicationDashboard.sendReport": lambda c: c.app.dashboard(SOME_ID).send_report(
        {"toEmail": ["ops@example.com"]}
    ),
}
# Exports finish with downloadUrls the local Losant serves.
DOWNLOADS = {
    "data.export",
    "dataTableRows.export",
    "device.export",
    "devices.export",
    "devices.payloadCounts",
    "embeddedDeployments.export",
    "events.export",
    "notebook.requestInputDataExport",
}


def test_every_job_the_local_losant_runs_is_covered() -> None:
    """The table above is every job of the whole API the local Losant enqueues (JOB_NAMES)."""
    assert set(JOBS) == {name for name in JOB_NAMES if "." in name}


@pytest.fixture
def jobs_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bulk actions run as a job whatever the number of items selected (threshold 0)."""
    for module in (iot_events, iot_jobs, iot_state):
        monkeypatch.setattr(module, "JOB_THRESHOLD", 0)


@pytest.fixture
async def ctx(local_server: LocalLosant, app_id: str, jobs_at_any_size: None) -> AsyncIterator[Ctx]:
    async with AsyncApplication(
        app_id, token=local_server.token, base_url=local_server.base_url, timeout=10.0
    ) as app:
        device = await app.devices.post(
            name="Pump", attributes=[{"name": "rpm", "dataType": "number"}]
        )
        assert device.id is not None
        await app.device(device.id).send_state({"data": {"rpm": 1200}})
        table = await app.data_tables.post(name="Readings", columns=[])
        assert table.id is not None
        await app.events.post(level="info", subject="Pump started")
        yield Ctx(app, device.id, table.id)


async def _handle(action: str, ctx: Ctx) -> JobHandle:
    handle = await JOBS[action](ctx)
    assert isinstance(handle, JobHandle), f"{action} answered {handle!r}"
    assert handle.followable
    return handle


@pytest.mark.parametrize("action", sorted(JOBS))
async def test_each_job_is_followed_to_completed(ctx: Ctx, action: str, tmp_path: Path) -> None:
    handle = await _handle(action, ctx)
    with anyio.fail_after(10):
        outcome = await handle.wait(poll_interval=POLL)
    assert outcome.status == "completed"
    assert outcome.error is None
    assert outcome.log_id is not None
    assert outcome.log_id == handle.log_id
    assert outcome.completed_at is not None
    assert handle.enqueued_at <= outcome.completed_at
    if action in DOWNLOADS:
        target = tmp_path / "export.zip"
        with anyio.fail_after(10):
            await outcome.download(target)
        with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
            assert archive.namelist()


@pytest.mark.parametrize("action", sorted(JOBS))
async def test_each_job_is_followed_to_errored(
    local_server: LocalLosant, ctx: Ctx, action: str
) -> None:
    local_server.faults.fail_job(action, message="disk on fire")
    handle = await _handle(action, ctx)
    with anyio.fail_after(10), pytest.raises(JobFailedError) as info:
        await handle.wait(poll_interval=POLL)
    outcome = info.value.outcome
    assert outcome.status == "errored"
    assert outcome.error is not None
    assert outcome.error.message == "disk on fire"
    assert outcome.log_id == handle.log_id


async def test_a_job_outside_any_application_says_it_cannot_be_awaited(
    local_server: LocalLosant,
) -> None:
    """``dashboard.sendReport`` has no job log: its handle refuses at once, never polls."""
    assert "dashboard.sendReport" in UNFOLLOWABLE_ACTIONS
    async with AsyncLosant(token=local_server.token, base_url=local_server.base_url) as client:
        dashboard = await client.dashboards.post(name="Plant floor")
        assert dashboard.id is not None
        handle = await client.dashboard(dashboard.id).send_report({"toEmail": ["ops@example.com"]})
        assert isinstance(handle, JobHandle)
        assert not handle.followable
        assert handle.job_id
        with anyio.fail_after(1), pytest.raises(JobNotFollowableError):
            await handle
