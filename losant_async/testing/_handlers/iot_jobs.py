"""The IoT actions that answer ``202 Accepted``: each enqueues a job that lands in the job logs.

Exports finish with ``output.downloadUrls``: one zip (of CSV files) the
local Losant serves at ``/_local/downloads/<key>`` without a token. Bulk
actions that may also answer 200 (`devices.delete`, `devices.restore`,
`devices.patch`) do their work at once unless `forceJob` is set or more than
`JOB_THRESHOLD` devices are selected.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from starlette.responses import Response

from losant_async.testing._context import Call, Context, read_body, reply
from losant_async.testing._handlers.iot_state import states_csv
from losant_async.testing._iot_http import (
    JOB_THRESHOLD,
    Json,
    action,
    download_url,
    enqueue_job,
    path_id,
    store,
    time_range,
)
from losant_async.testing._iot_store import Device, StoreError, match_device

_FOREVER = 2**62


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                "" if cell is None else cell if isinstance(cell, str) else json.dumps(cell)
                for cell in row
            ]
        )
    return text.getvalue().encode()


def _export(
    ctx: Context,
    call: Call,
    make: Callable[[], dict[str, bytes]],
    *,
    kind: str,
    resource: str,
    job_input: Json,
) -> Response:
    """Enqueue an export whose output is one download of the zipped files `make` returns."""

    def complete() -> Json:
        return {"downloadUrls": [download_url(ctx, _zip(make()))]}

    return enqueue_job(
        ctx,
        call,
        resource_type=kind,
        resource_id=resource,
        on_complete=complete,
        job_input=job_input,
    )


def _query_devices(ctx: Context, app_id: str, query: Json | None) -> list[Device]:
    devices = store(ctx).app_devices(app_id)
    return devices if query is None else [d for d in devices if match_device(query, d)]


@action("device.export")
async def device_export(ctx: Context, call: Call) -> Response:
    """`POST .../devices/{id}/export`: the device's states in [start, end] as CSV."""
    body = await read_body(call, "deviceDataExport", "query", required=False)
    device_id = path_id(call, "deviceId")
    device = store(ctx).device(call.application_id, device_id)
    start, end = time_range(ctx, call, start=1, end=0)

    def make() -> dict[str, bytes]:
        with store(ctx).lock:
            return {f"{device_id}.csv": states_csv(device, start, end)}

    return _export(ctx, call, make, kind="device", resource=device_id, job_input=body)


@action("data.export")
async def data_export(ctx: Context, call: Call) -> Response:
    """`POST .../data/export`: the selected devices' states as one CSV per device."""
    body = await read_body(call, "devicesDataExport", "query", required=False)
    iot, app_id = store(ctx), call.application_id
    end = iot.resolve(int(body.get("end", 0)), 0)
    start = iot.resolve(int(body["start"]), 0) if "start" in body else 0
    devices = iot.select_devices(
        app_id,
        ids=body.get("deviceIds"),
        tags=body.get("deviceTags"),
        query=body.get("deviceQuery"),
    )

    def make() -> dict[str, bytes]:
        with iot.lock:
            return {f"{d.record['id']}.csv": states_csv(d, start, end) for d in devices}

    return _export(ctx, call, make, kind="application", resource=app_id, job_input=body)


@action("devices.export")
async def devices_export(ctx: Context, call: Call) -> Response:
    """`POST .../devices/export`: the selected devices (one row each) as CSV."""
    body = await read_body(call, "devicesExportPost", "options", required=False)
    app_id = call.application_id

    def make() -> dict[str, bytes]:
        devices = _query_devices(ctx, app_id, body.get("query"))
        header = ("id", "name", "deviceClass", "creationDate", "tags", "attributes")
        rows = [[d.record.get(field) for field in header] for d in devices]
        return {"devices.csv": _csv(header, rows)}

    return _export(ctx, call, make, kind="application", resource=app_id, job_input=body)


@action("devices.payloadCounts")
async def devices_payload_counts(ctx: Context, call: Call) -> Response:
    """`POST .../devices/payloadCounts`: stored states per selected device, as CSV."""
    body = await read_body(call, "devicesExportPayloadCountPost", "options", required=False)
    app_id = call.application_id

    def make() -> dict[str, bytes]:
        devices = _query_devices(ctx, app_id, body.get("query"))
        rows = [[d.record["id"], d.record["name"], len(d.series)] for d in devices]
        return {"payloadCounts.csv": _csv(("id", "name", "stateCount"), rows)}

    return _export(ctx, call, make, kind="application", resource=app_id, job_input=body)


@action("dataTableRows.export")
async def rows_export(ctx: Context, call: Call) -> Response:
    """`POST .../rows/export`: the table's rows (matching `query`) as CSV."""
    body = await read_body(call, "dataTableRowsExport", "exportData")
    app_id, table_id = call.application_id, path_id(call, "dataTableId")
    store(ctx).table(app_id, table_id)

    def make() -> dict[str, bytes]:
        rows = store(ctx).query_rows(app_id, table_id, body.get("query") or {})
        with store(ctx).lock:
            table = store(ctx).tables.get(app_id, {}).get(table_id, {"columns": []})
            names = [
                "id",
                *(column["name"] for column in table["columns"]),
                "createdAt",
                "updatedAt",
            ]
        return {f"{table_id}.csv": _csv(names, [[row.get(n) for n in names] for row in rows])}

    # `datatable`: the spelling of applicationJobLog.json's resourceType enum.
    return _export(ctx, call, make, kind="datatable", resource=table_id, job_input=body)


@action("events.export")
async def events_export(ctx: Context, call: Call) -> Response:
    """`POST .../events/export`: the events (matching `query`) as CSV."""
    body = await read_body(call, "eventsExport", "exportData", required=False)
    app_id = call.application_id

    def make() -> dict[str, bytes]:
        from losant_async.testing import _query

        query = body.get("query") or {}
        events = [e for e in store(ctx).app_events(app_id) if _query.match(query, e)]
        header = ("id", "creationDate", "level", "state", "subject", "message", "deviceId")
        return {"events.csv": _csv(header, [[e.get(f) for f in header] for e in events])}

    return _export(ctx, call, make, kind="application", resource=app_id, job_input=body)


@action("device.removeData")
async def device_remove_data(ctx: Context, call: Call) -> Response:
    """`DELETE .../devices/{id}/data`: a job removing the states in [start, end]."""
    iot, app_id, device_id = store(ctx), call.application_id, path_id(call, "deviceId")
    device = iot.device(app_id, device_id)
    start, end = time_range(ctx, call, start=1, end=0)

    def complete() -> Json:
        with iot.lock:
            return {"removed": device.series.remove(start, end)}

    return enqueue_job(
        ctx, call, resource_type="device", resource_id=device_id, on_complete=complete
    )


@action("devices.removeData")
async def devices_remove_data(ctx: Context, call: Call) -> Response:
    """`POST .../devices/removeData`: a job removing the selected devices' states."""
    body = await read_body(call, "devicesRemoveDataPost", "options")
    iot, app_id = store(ctx), call.application_id
    end = iot.resolve(int(body.get("end", 0)), 0)
    start = iot.resolve(int(body["start"]), 0) if "start" in body else 0

    def complete() -> Json:
        removed = 0
        with iot.lock:
            for device in _query_devices(ctx, app_id, body["query"]):
                removed += device.series.remove(start, end)
        return {"removed": removed}

    return enqueue_job(
        ctx,
        call,
        resource_type="application",
        resource_id=app_id,
        on_complete=complete,
        job_input=body,
    )


def _bulk(
    ctx: Context,
    call: Call,
    body: Json,
    chosen: list[str],
    work: Callable[[], Json],
    answer: Callable[[Json], Json],
) -> Response:
    if body.get("forceJob") or len(chosen) > JOB_THRESHOLD:
        return enqueue_job(
            ctx,
            call,
            resource_type="application",
            resource_id=call.application_id,
            on_complete=work,
        )
    return reply(ctx, call, 200, answer(work()))


@action("devices.delete")
async def devices_delete(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "devicesDeleteOrRestorePost", "options")
    iot, app_id = store(ctx), call.application_id
    chosen = [d.record["id"] for d in _query_devices(ctx, app_id, body["query"])]

    def work() -> Json:
        removed = 0
        for device_id in chosen:
            try:
                iot.delete_device(app_id, device_id)
                removed += 1
            except StoreError:
                continue
        return {"removed": removed}

    return _bulk(ctx, call, body, chosen, work, lambda done: done)


@action("devices.restore")
async def devices_restore(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "devicesDeleteOrRestorePost", "options")
    iot, app_id = store(ctx), call.application_id
    chosen = [
        d.record["id"]
        for d in iot.app_devices(app_id, deleted=True)
        if match_device(body["query"], d)
    ]

    def work() -> Json:
        restored = failed = 0
        for device_id in chosen:
            try:
                iot.restore_device(app_id, device_id)
                restored += 1
            except StoreError:
                failed += 1
        return {"restored": restored, "failed": failed}

    return _bulk(ctx, call, body, chosen, work, lambda done: done)


@action("devices.patch")
async def devices_patch(ctx: Context, call: Call) -> Response:
    """`PATCH .../devices`: `updateFields` on the devices of `deviceIds` or `query`."""
    body = await read_body(call, "devicesPatch", "patchInfo")
    iot, app_id = store(ctx), call.application_id
    devices = iot.select_devices(
        app_id, ids=body.get("deviceIds"), query=body.get("query"), default_all=False
    )
    chosen = [d.record["id"] for d in devices]
    fields = body.get("updateFields") or {}

    def work() -> Json:
        updated = failed = 0
        for device_id in chosen:
            try:
                if fields:
                    iot.patch_device(app_id, device_id, fields)
                updated += 1
            except StoreError:
                failed += 1
        return {"updated": updated, "failed": failed, "skipped": 0}

    return _bulk(ctx, call, body, chosen, work, lambda done: done)


def _generic(
    name: str,
    schema: str | None,
    where: str,
    kind: str,
    id_param: str | None,
    *,
    download: bool,
    required: bool = True,
) -> None:
    """Register `name` as a job with no local effect (a download of its input when `download`)."""

    @action(name)
    async def handler(ctx: Context, call: Call) -> Response:
        body: Json = (
            {} if schema is None else await read_body(call, schema, where, required=required)
        )
        resource = call.application_id if id_param is None else path_id(call, id_param)

        def complete() -> Json:
            if not download:
                return {}
            return {
                "downloadUrls": [download_url(ctx, _zip({"input.json": json.dumps(body).encode()}))]
            }

        return enqueue_job(
            ctx,
            call,
            resource_type=kind,
            resource_id=resource,
            on_complete=complete,
            job_input=body,
        )


_generic(
    "embeddedDeployments.export",
    "embeddedDeploymentExport",
    "options",
    "application",
    None,
    download=True,
    required=False,
)
_generic(
    "notebook.requestInputDataExport",
    "notebookDataExportOptions",
    "exportOptions",
    "notebook",
    "notebookId",
    download=True,
)
_generic(
    "applicationDashboard.sendReport",
    "dashboardSendReport",
    "reportConfig",
    "dashboard",
    "dashboardId",
    download=False,
)
_generic(
    "deviceRecipe.bulkCreate",
    "deviceRecipeBulkCreatePost",
    "bulkInfo",
    "deviceRecipe",
    "deviceRecipeId",
    download=False,
)
# The job log's resourceType enum has no `flow`: the job is logged on the application.
_generic(
    "flowVersions.delete", "flowVersionsDeletePost", "options", "application", None, download=False
)
