"""Data tables and their rows: create, read, patch, delete, columns, query, delete, truncate."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from losant_async.testing import _query
from losant_async.testing._context import ApiError, Call, Context, read_body, reply
from losant_async.testing._iot_http import (
    Json,
    action,
    choice,
    int_param,
    name_filter,
    page,
    param,
    path_id,
    sort_key,
    store,
)

_ROW_LIMIT = 10_000


@action("dataTables.get")
async def get_tables(ctx: Context, call: Call) -> Response:
    iot = store(ctx)
    with iot.lock:
        tables = [dict(table) for table in iot.tables.get(call.application_id, {}).values()]
    keep = name_filter(call, ("name",))
    tables = [table for table in tables if keep(table)]
    sort_field = choice(call, "sortField", ("name", "id", "creationDate", "lastUpdated"), "name")
    direction = choice(call, "sortDirection", ("asc", "desc"), "asc")
    tables.sort(key=sort_key(sort_field), reverse=direction == "desc")
    window, paging = page(call, tables)
    body: Json = {
        "items": window,
        **paging,
        "sortField": sort_field,
        "sortDirection": direction,
        "applicationId": call.application_id,
    }
    if param(call, "filter") is not None:
        body.update(filter=param(call, "filter"), filterField=param(call, "filterField") or "name")
    return reply(ctx, call, 200, body)


@action("dataTables.post")
async def post_table(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "dataTablePost", "dataTable")
    return reply(ctx, call, 201, store(ctx).create_table(call.application_id, body))


def _table_id(call: Call) -> str:
    return path_id(call, "dataTableId")


@action("dataTable.get")
async def get_table(ctx: Context, call: Call) -> Response:
    iot = store(ctx)
    with iot.lock:
        table = dict(iot.table(call.application_id, _table_id(call)))
    return reply(ctx, call, 200, table)


@action("dataTable.patch")
async def patch_table(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "dataTablePatch", "dataTable")
    iot = store(ctx)
    with iot.lock:
        table = iot.table(call.application_id, _table_id(call))
        table.update(body)
        table["lastUpdated"] = iot.stamp()
        answer = dict(table)
    return reply(ctx, call, 200, answer)


@action("dataTable.delete")
async def delete_table(ctx: Context, call: Call) -> Response:
    store(ctx).delete_table(call.application_id, _table_id(call))
    return reply(ctx, call, 200, {"success": True})


@action("dataTable.addColumn")
async def add_column(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "dataTableColumn", "dataTableColumn")
    return reply(ctx, call, 200, store(ctx).add_column(call.application_id, _table_id(call), body))


@action("dataTable.removeColumn")
async def remove_column(ctx: Context, call: Call) -> Response:
    name = param(call, "columnName")
    if name is None:
        raise ApiError(400, "columnName is required")
    table = store(ctx).remove_column(call.application_id, _table_id(call), name)
    return reply(ctx, call, 200, table)


async def _rows(ctx: Context, call: Call, query: Json) -> Response:
    table_id = _table_id(call)
    rows = store(ctx).query_rows(call.application_id, table_id, query)
    sort_column = param(call, "sortColumn")
    direction = choice(call, "sortDirection", ("asc", "desc"), "asc")
    if sort_column is not None:
        rows.sort(key=sort_key(sort_column), reverse=direction == "desc")
    elif direction == "desc":
        rows.reverse()
    limit = int_param(call, "limit", default=1000, minimum=0)
    offset = int_param(call, "offset", default=0, minimum=0) or 0
    if limit is None or limit > _ROW_LIMIT:
        raise ApiError(400, f"limit must be at most {_ROW_LIMIT}")
    window = rows[offset : offset + limit]
    fields = param(call, "includeFields")
    if fields is not None:
        keep = {"id", *fields.split(",")}
        window = [{key: value for key, value in row.items() if key in keep} for row in window]
    body: Json = {
        "items": window,
        "count": len(window),
        "totalCount": len(rows),
        "limit": limit,
        "offset": offset,
        "sortDirection": direction,
        "dataTableId": table_id,
        "applicationId": call.application_id,
    }
    if sort_column is not None:
        body["sortColumn"] = sort_column
    if query:
        body["query"] = query
    return reply(ctx, call, 200, body)


@action("dataTableRows.get")
async def get_rows(ctx: Context, call: Call) -> Response:
    return await _rows(ctx, call, {})


async def _advanced_query(call: Call) -> Json:
    body: Json = await read_body(call, "advancedQuery", "query", required=False)
    try:
        _query.check(body)
    except _query.QueryError as exc:
        raise ApiError(400, str(exc)) from None
    return body


@action("dataTableRows.query")
async def query_rows(ctx: Context, call: Call) -> Response:
    return await _rows(ctx, call, await _advanced_query(call))


@action("dataTableRows.post")
async def post_rows(ctx: Context, call: Call) -> Response:
    body: Any = await read_body(call, "dataTableRowInsert", "dataTableRow")
    made = store(ctx).insert_rows(
        call.application_id, _table_id(call), body if isinstance(body, list) else [body]
    )
    if isinstance(body, list):
        stamp = made[0]["createdAt"] if made else store(ctx).stamp()
        answer: Json = {"createdAt": stamp, "count": len(made), "rowIds": [r["id"] for r in made]}
        return reply(ctx, call, 201, answer)
    return reply(ctx, call, 201, made[0])


@action("dataTableRows.delete")
async def delete_rows(ctx: Context, call: Call) -> Response:
    query = await _advanced_query(call)
    limit = int_param(call, "limit", default=1000, minimum=1) or 1000
    removed = store(ctx).delete_rows(call.application_id, _table_id(call), query, limit)
    return reply(ctx, call, 200, {"removed": removed})


@action("dataTableRows.truncate")
async def truncate_rows(ctx: Context, call: Call) -> Response:
    store(ctx).delete_rows(call.application_id, _table_id(call), {}, 2**62)
    return reply(ctx, call, 200, {"success": True})


def _row_id(call: Call) -> str:
    return path_id(call, "rowId")


@action("dataTableRow.get")
async def get_row(ctx: Context, call: Call) -> Response:
    iot = store(ctx)
    with iot.lock:
        row = dict(iot.row(call.application_id, _table_id(call), _row_id(call)))
    return reply(ctx, call, 200, row)


@action("dataTableRow.patch")
async def patch_row(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "dataTableRowInsertUpdate", "dataTableRow")
    row = store(ctx).patch_row(call.application_id, _table_id(call), _row_id(call), body)
    return reply(ctx, call, 200, row)


@action("dataTableRow.delete")
async def delete_row(ctx: Context, call: Call) -> Response:
    store(ctx).delete_row(call.application_id, _table_id(call), _row_id(call))
    return reply(ctx, call, 200, {"success": True})
