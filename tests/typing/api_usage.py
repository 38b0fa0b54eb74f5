"""The public API as a user writes it, checked by ``mypy --strict``; never run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import assert_type

import httpx

from losant_async import (
    APIStatusError,
    Application,
    ApplicationCloneDryRunResult,
    ApplicationCreationByTemplateResult,
    ApplicationExportResult,
    ApplicationGlobal,
    ApplicationImportExecution,
    ApplicationPatch,
    ApplicationReadme,
    ApplicationSearchResultItem,
    AsyncApplication,
    AsyncLosant,
    DeviceCounts,
    JobError,
    JobFailedError,
    JobHandle,
    JobOutcome,
    JobProgress,
    LosantError,
    MqttMessage,
    MqttStream,
    NotebookMinuteCounts,
    PayloadCountsBreakdown,
    PayloadStats,
    RateLimitError,
    Success,
)

APP_ID = "575ec8687ae143cd83dc4a97"


async def client_and_facade() -> None:
    async with AsyncLosant("token", base_url="http://127.0.0.1:8080", max_retries=0) as client:
        app = client.application(APP_ID)
        assert_type(app, AsyncApplication)
    async with AsyncLosant(timeout=httpx.Timeout(10.0), http_client=httpx.AsyncClient()):
        pass
    async with AsyncApplication(APP_ID, token="token", timeout=5.0) as standalone:
        assert_type(standalone, AsyncApplication)

    async def fetch_token() -> str:
        return "token"

    async with AsyncLosant(
        fetch_token,
        accept_version="^1.30.0",
        losant_domain="iot.example.com",
        limits=httpx.Limits(max_connections=50),
        max_streams=10,
        max_response_bytes=None,
        response_deadline=60.0,
    ):
        pass
    async with AsyncApplication(APP_ID, token=lambda: "token", response_deadline=None):
        pass
    await client.aclose()
    assert_type(client.is_closed, bool)


async def plain_actions(app: AsyncApplication) -> None:
    since = datetime(2024, 1, 1, tzinfo=UTC)
    assert_type(await app.get(summary_include=["payloadCount"]), Application)
    assert_type(await app.patch(name="x", description="y"), Application)
    assert_type(await app.patch(ApplicationPatch(name="x")), Application)
    assert_type(await app.patch({"name": "x"}, summary_exclude="payloadCount"), Application)
    assert_type(await app.delete(), Success)
    assert_type(
        await app.globals([ApplicationGlobal(key="k", json="1"), {"key": "j", "json": "2"}]),
        Application,
    )
    assert_type(await app.readme(), ApplicationReadme)
    assert_type(await app.readme_patch("text"), ApplicationReadme)
    assert_type(await app.search("dev"), list[ApplicationSearchResultItem])
    assert_type(await app.device_counts(start=since, end=1704067200000), DeviceCounts)
    assert_type(await app.notebook_minute_counts(start=0), NotebookMinuteCounts)
    assert_type(await app.payload_counts(as_bytes=True), PayloadStats)
    assert_type(
        await app.payload_counts_breakdown(resolution=3600000, include_non_billable=True),
        PayloadCountsBreakdown,
    )
    assert_type(await app.import_logs(limit=5, since=since), list[ApplicationImportExecution])
    assert_type(await app.mqtt_publish_message("a/b", {"temp": 21}), Success)


async def job_actions(app: AsyncApplication) -> None:
    assert_type(await app.archive_data(1704067200000), JobHandle)
    assert_type(await app.backfill_archive_data(), JobHandle)
    assert_type(await app.full_data_tables_archive(), JobHandle)
    assert_type(await app.full_events_archive(), JobHandle)
    assert_type(await app.apply_template(template_id=APP_ID), Application | JobHandle)
    assert_type(await app.import_(Path("bundle.zip"), email="a@b.c"), Application | JobHandle)
    assert_type(await app.import_(b"zip", options={"forceJob": True}), Application | JobHandle)
    assert_type(await app.export(include_files=True), ApplicationExportResult | JobHandle)
    cloned = await app.clone()
    assert_type(
        cloned,
        ApplicationCloneDryRunResult | ApplicationCreationByTemplateResult | JobHandle,
    )
    if isinstance(cloned, JobHandle):
        assert_type(await cloned, JobOutcome)
        assert_type(await cloned.wait(timeout=60.0), JobOutcome)
        assert_type(await cloned.status(), JobProgress)
        async for progress in cloned.progress(poll_interval=1.0):
            assert_type(progress, JobProgress)
    handle = app.job("clnHvJbyVkOWAZwYAwLP4", "export", enqueued_at=datetime.now(UTC))
    assert_type(handle, JobHandle)
    assert_type(handle.job_id, str)
    assert_type(handle.enqueued_at, datetime)
    assert_type(handle.server_time, datetime | None)


async def streaming(app: AsyncApplication) -> None:
    stream = app.mqtt_subscription_stream("devices/+/state", keep_alive_interval=2)
    assert_type(stream, MqttStream)
    async with stream:
        async for message in stream:
            assert_type(message, MqttMessage)
            assert_type(message.topic, str)
    assert_type(stream.reconnects, int)


async def errors(app: AsyncApplication) -> None:
    try:
        await app.get()
    except RateLimitError as exc:
        assert_type(exc.retry_after, float | None)
    except APIStatusError as exc:
        assert_type(exc.status_code, int)
    except JobFailedError as exc:
        assert_type(exc.outcome, JobOutcome)
        assert_type(exc.outcome.error, JobError | None)
        if exc.outcome.error is not None:
            assert_type(exc.outcome.error.message, str | None)
    except LosantError:
        pass
