"""with_options and with_raw_response as a user writes them: type-checked, never run."""

from __future__ import annotations

from typing import assert_type

import httpx

from losant_async import (
    Application,
    ApplicationExportResult,
    ApplicationSearchResultItem,
    AsyncApplication,
    AsyncLosant,
    JobHandle,
    RawResponse,
)


async def options(client: AsyncLosant, app: AsyncApplication) -> None:
    assert_type(client.with_options(timeout=5.0, max_retries=0), AsyncLosant)
    assert_type(client.with_options(timeout=httpx.Timeout(5.0, connect=1.0)), AsyncLosant)
    assert_type(app.with_options(extra_headers={"X-Trace": "1"}), AsyncApplication)
    assert_type(await app.with_options(max_retries=5).get(), Application)


async def raw(app: AsyncApplication) -> None:
    got = await app.with_raw_response.get(summary_include=["payloadCount"])
    assert_type(got, RawResponse[Application])
    assert_type(got.status_code, int)
    assert_type(got.request_id, str | None)
    assert_type(got.headers, httpx.Headers)
    assert_type(got.parse(), Application)
    found = await app.with_raw_response.search("x")
    assert_type(found.parse(), list[ApplicationSearchResultItem])
    exported = await app.with_raw_response.export()
    assert_type(exported.parse(), ApplicationExportResult | JobHandle)
    forced = await app.with_raw_response.export(force_job=True)
    assert_type(forced.parse(), ApplicationExportResult | JobHandle)
    job = await app.with_raw_response.archive_data(0)
    assert_type(job.parse(), JobHandle)
    await app.with_raw_response.search(flter="x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
