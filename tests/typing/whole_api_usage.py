"""The whole Losant API as a user writes it, checked by ``mypy --strict`` and pyright; never run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import assert_type

from losant_async import AsyncApplication, AsyncLosant, JobHandle, JobOutcome, Success
from losant_async.models import (
    AuthedDevice,
    DataTableRows,
    Device,
    Devices,
    DeviceState,
    Event,
    Events,
    Me,
    Org,
    TimeSeriesData,
    TimeSeriesQuery,
)

APP_ID = "575ec8687ae143cd83dc4a97"
DEVICE_ID = "575ecf887ae143cd83dc4aa2"
ORG_ID = "575ed6e87ae143cd83dc4aa8"
TABLE_ID = "596f832b128eda5cfe765443"


async def devices_and_state(app: AsyncApplication) -> None:
    page = await app.devices.get(per_page=50, sort_field="lastUpdated", sort_direction="desc")
    assert_type(page, Devices)
    async for device in app.devices.get(per_page=100, tag_filter=[{"key": "floor", "value": "2"}]):
        assert_type(device, Device)
    assert_type(await app.device(DEVICE_ID).get(tags_as_object=True), Device)
    one = app.device(DEVICE_ID)
    assert_type(await one.send_state({"data": {"temp": 21.5}}), Success)
    assert_type(await one.send_state([{"data": {"temp": 21.5}, "time": 1704067200000}]), Success)
    assert_type(await one.send_state(DeviceState(data={"temp": 21.5})), Success)
    # A 202 action: the job Losant enqueued.
    handle = await one.remove_data(start=datetime(2024, 1, 1, tzinfo=UTC), end=0)
    assert_type(handle, JobHandle)
    assert_type(await handle, JobOutcome)
    assert_type(handle.job_id, str)


async def data_and_tables(app: AsyncApplication) -> None:
    query = {"start": -86400000, "end": 0, "resolution": 300000, "deviceIds": [DEVICE_ID]}
    assert_type(await app.data.time_series_query(query), TimeSeriesData)
    assert_type(await app.data.time_series_query(TimeSeriesQuery(resolution=60000)), TimeSeriesData)
    rows = await app.data_table(TABLE_ID).rows.get(limit=10, sort_direction="desc")
    assert_type(rows, DataTableRows)


async def events(app: AsyncApplication) -> None:
    page = await app.events.get(query={"state": {"$ne": "resolved"}}, sort_field="level")
    assert_type(page, Events)
    async for event in app.events.get(state="new", per_page=25):
        assert_type(event, Event)


async def roots(client: AsyncLosant) -> None:
    assert_type(await client.me.get(include_recent=True), Me)
    assert_type(await client.org(ORG_ID).get(summary_include=["appCount"]), Org)
    authed = await client.auth.authenticate_device(
        {"deviceId": DEVICE_ID, "key": "access-key", "secret": "access-secret"}
    )
    assert_type(authed, AuthedDevice)
    # The device's token is handed to a new client.
    async with AsyncLosant(authed.token) as as_device:
        await (
            as_device.application(authed.application_id)
            .device(authed.device_id)
            .send_state({"data": {"temp": 20}})
        )


async def wrong_calls(app: AsyncApplication, client: AsyncLosant) -> None:
    await app.devices.get(sort_field="colour")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await app.device(DEVICE_ID).get(tags_as_object="yes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await client.me.get(include_recnt=True)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
