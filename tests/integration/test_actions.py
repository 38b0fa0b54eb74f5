"""Every one of the 22 actions end to end over real HTTP against the local Losant."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from losant_async import (
    Application,
    ApplicationCloneDryRunResult,
    ApplicationCreationByTemplateResult,
    ApplicationExportResult,
    ApplicationImportExecution,
    ApplicationReadme,
    ApplicationSearchResultItem,
    AsyncApplication,
    AsyncLosant,
    DeviceCounts,
    JobHandle,
    JobOutcome,
    MqttMessage,
    NotebookMinuteCounts,
    NotFoundError,
    PayloadCountsBreakdown,
    PayloadStats,
    PermissionDeniedError,
    Success,
)
from losant_async.testing import LocalLosant

pytestmark = pytest.mark.anyio

# Bounds every wait on the local server: a hung test fails instead of stalling.
DEADLINE = 15.0


@pytest.fixture
def fast_jobs(local_server: LocalLosant) -> Iterator[None]:
    """Jobs on the shared server finish quickly during the test."""
    before = local_server.job_duration
    local_server.job_duration = 0.05
    yield
    local_server.job_duration = before


@pytest.fixture
async def app(local_server: LocalLosant, app_id: str) -> AsyncIterator[AsyncApplication]:
    """A client façade on a fresh application of the local Losant."""
    async with AsyncLosant(local_server.token, base_url=local_server.base_url) as client:
        yield client.application(app_id)


async def finish(result: object) -> JobOutcome | None:
    """Wait for a job if the server enqueued one; None for a direct answer."""
    if not isinstance(result, JobHandle):
        return None
    outcome = await result.wait(timeout=DEADLINE, poll_interval=0.05)
    assert outcome.status == "completed"
    return outcome


def zip_bundle() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("application.json", '{"name": "Imported"}')
    return buffer.getvalue()


async def test_get_patch_and_readme(app: AsyncApplication, app_id: str) -> None:
    """get, patch, readme and readme_patch round-trip through the local server."""
    fetched = await app.get()
    assert isinstance(fetched, Application)
    assert fetched.id == app_id
    assert fetched.name == "Test application"
    patched = await app.patch(name="Renamed", description="via patch")
    assert (patched.name, patched.description) == ("Renamed", "via patch")
    assert (await app.get(summary_include=["deviceCount"])).name == "Renamed"
    written = await app.readme_patch("# Hello")
    assert isinstance(written, ApplicationReadme)
    assert (await app.readme()).content == "# Hello"


async def test_globals(app: AsyncApplication) -> None:
    """globals() stores the keys on the application."""
    result = await app.globals([{"key": "threshold", "json": "42", "cloudOnly": False}])
    assert isinstance(result, Application)
    assert result.globals is not None
    assert {g.key: g.json for g in result.globals}["threshold"] == "42"


async def test_search(app: AsyncApplication) -> None:
    """search() answers a list of result items."""
    results = await app.search("Test")
    assert isinstance(results, list)
    assert all(isinstance(item, ApplicationSearchResultItem) for item in results)


async def test_counts(app: AsyncApplication) -> None:
    """The four count actions decode into their models."""
    end = datetime.now(UTC)
    start = end - timedelta(days=7)
    assert isinstance(await app.device_counts(start=start, end=end), DeviceCounts)
    assert isinstance(await app.notebook_minute_counts(start=start, end=end), NotebookMinuteCounts)
    assert isinstance(await app.payload_counts(start=start, end=end, as_bytes=True), PayloadStats)
    breakdown = await app.payload_counts_breakdown(
        start=start, end=end, resolution=3600000, include_non_billable=True
    )
    assert isinstance(breakdown, PayloadCountsBreakdown)


async def test_mqtt_publish_reaches_a_subscriber(app: AsyncApplication) -> None:
    """A message published with mqtt_publish_message arrives on a matching subscription."""
    with anyio.fail_after(DEADLINE):
        async with app.mqtt_subscription_stream("sensors/+/temp", keep_alive_interval=1) as stream:
            sent = await app.mqtt_publish_message("sensors/a1/temp", {"celsius": 21.5})
            assert sent == Success(success=True)
            message = await stream.__anext__()
    assert message == MqttMessage(topic="sensors/a1/temp", message='{"celsius":21.5}')


@pytest.mark.usefixtures("fast_jobs")
async def test_export_and_clone(app: AsyncApplication) -> None:
    """export and clone answer their models or a job that completes."""
    exported = await app.export(force_job=True)
    assert isinstance(exported, JobHandle)
    assert exported.action == "export"
    await finish(exported)
    direct = await app.export()
    assert isinstance(direct, ApplicationExportResult | JobHandle)
    await finish(direct)
    dry = await app.clone(dry_run=True)
    assert isinstance(dry, ApplicationCloneDryRunResult)
    assert dry.success is True
    cloned = await app.clone()
    assert isinstance(cloned, ApplicationCreationByTemplateResult | JobHandle)
    await finish(cloned)


@pytest.mark.usefixtures("fast_jobs")
async def test_archive_jobs(app: AsyncApplication, local_server: LocalLosant) -> None:
    """The four archive actions each enqueue a job that completes.

    Three of their job names are unpublished, so two of them enqueued on one
    application within seconds are ambiguous by design (API.md, Job kinds):
    each runs on an application of its own.
    """
    base_url, token = local_server.base_url, local_server.token
    handles = [await app.archive_data(datetime.now(UTC) - timedelta(days=40))]
    async with AsyncLosant(token, base_url=base_url) as client:
        for action in ("backfill_archive_data", "full_data_tables_archive", "full_events_archive"):
            other = client.application(local_server.create_application(name=action))
            handles.append(await getattr(other, action)())
        assert [h.action for h in handles] == [
            "archiveData",
            "backfillArchiveData",
            "fullDataTablesArchive",
            "fullEventsArchive",
        ]
        for handle in handles:
            await finish(handle)


@pytest.mark.usefixtures("fast_jobs")
async def test_import_apply_template_and_import_logs(
    app: AsyncApplication, local_server: LocalLosant
) -> None:
    """import_ and apply_template complete and show up in import_logs."""
    imported = await app.import_(zip_bundle(), options={"forceJob": True})
    assert isinstance(imported, JobHandle)
    await finish(imported)
    template_id = local_server.create_application(name="Template")
    applied = await app.apply_template(template_id=template_id)
    assert isinstance(applied, Application | JobHandle)
    await finish(applied)
    logs = await app.import_logs(limit=10)
    assert logs
    assert all(isinstance(entry, ApplicationImportExecution) for entry in logs)
    assert imported.job_id in {entry.job_id for entry in logs}


async def test_delete(app: AsyncApplication) -> None:
    """delete() answers Success and the application is gone afterwards."""
    assert await app.delete() == Success(success=True)
    with pytest.raises(NotFoundError):
        await app.get()


async def test_standalone_application_and_scopes(local_server: LocalLosant, app_id: str) -> None:
    """A standalone façade works; a token without the scope gets PermissionDeniedError."""
    async with AsyncApplication(
        app_id, token=local_server.token, base_url=local_server.base_url
    ) as app:
        assert (await app.get()).id == app_id
    token = local_server.create_token(scopes=["application.get"])
    async with AsyncApplication(app_id, token=token, base_url=local_server.base_url) as app:
        assert (await app.get()).id == app_id
        with pytest.raises(PermissionDeniedError):
            await app.patch(name="nope")
