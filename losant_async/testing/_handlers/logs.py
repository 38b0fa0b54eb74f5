"""Handlers of the logs a client follows a job through: importLogs, jobLogs, jobLog."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.responses import Response

from losant_async.testing import _query, _schemas
from losant_async.testing._context import OBJECT_ID, ApiError, Call, Context, query_int, reply
from losant_async.testing._state import Json

_JOB_LOG_SORT_FIELDS = (
    "name",
    "status",
    "resourceType",
    "runQueuedAt",
    "runStartedAt",
    "runCompletedAt",
)


async def import_logs(ctx: Context, call: Call) -> Response:
    """`GET .../importLogs?limit=&since=`: newest first."""
    params = call.request.query_params
    limit = query_int(params.get("limit"), "limit", default=1, minimum=1)
    since = query_int(params.get("since"), "since")
    since_dt = None if since is None else datetime.fromtimestamp(since / 1000, UTC)
    logs = ctx.state.import_logs(call.application_id, limit=limit or 1, since=since_dt)
    return reply(ctx, call, 200, logs)


def _job_log_query(raw: str | None) -> Json:
    """The `query` parameter: JSON, valid against its schema, evaluable; 400 otherwise."""
    if not raw:
        return {}
    try:
        query: Json = json.loads(raw)
    except ValueError:
        raise ApiError(400, "query is not valid JSON") from None
    problem = _schemas.validation_error("advancedApplicationJobLogQuery", query, where="query")
    if problem is not None:
        raise ApiError(400, problem)
    try:
        _query.check(query)
    except _query.QueryError as exc:
        raise ApiError(400, str(exc)) from None
    return query


async def job_logs(ctx: Context, call: Call) -> Response:
    """`GET .../jobLogs`: filtered by `query`, sorted, one page."""
    params = call.request.query_params
    sort_field = params.get("sortField") or "runQueuedAt"
    if sort_field not in _JOB_LOG_SORT_FIELDS:
        raise ApiError(400, f"sortField must be one of {', '.join(_JOB_LOG_SORT_FIELDS)}")
    direction = (params.get("sortDirection") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise ApiError(400, "sortDirection must be asc or desc")
    page = query_int(params.get("page"), "page", default=0, minimum=0) or 0
    per_page = query_int(params.get("perPage"), "perPage", default=100, minimum=1) or 100
    query = _job_log_query(params.get("query"))
    items = [
        entry for entry in ctx.state.job_logs(call.application_id) if _query.match(query, entry)
    ]
    items.sort(key=lambda entry: str(entry.get(sort_field, "")), reverse=direction == "desc")
    window = items[page * per_page : (page + 1) * per_page]
    body = {
        "items": window,
        "count": len(window),
        "totalCount": len(items),
        "perPage": per_page,
        "page": page,
        "sortField": sort_field,
        "sortDirection": direction,
        "applicationId": call.application_id,
        "query": query,
    }
    return reply(ctx, call, 200, body)


async def job_log(ctx: Context, call: Call) -> Response:
    """`GET .../jobLogs/{jobId}`: one entry, by log id, job id or execution id."""
    job_id = str(call.request.path_params["jobId"])
    if not OBJECT_ID.match(job_id):
        raise ApiError(400, "jobId must be 24 hexadecimal characters")
    entry = ctx.state.job_log(call.application_id, job_id)
    if entry is None:
        raise ApiError(404, "Application job log was not found")
    return reply(ctx, call, 200, entry)
