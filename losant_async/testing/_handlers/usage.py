"""Handlers of the four usage counts, over the deterministic numbers of `_usage`."""

from __future__ import annotations

from starlette.responses import Response

from losant_async.testing import _usage
from losant_async.testing._context import ApiError, Call, Context, query_bool, query_int, reply
from losant_async.testing._state import ms


def _range(ctx: Context, call: Call) -> tuple[int, int]:
    """The call's `start`/`end` in ms, defaults and relative values resolved."""
    params = call.request.query_params
    start = query_int(params.get("start"), "start")
    end = query_int(params.get("end"), "end")
    try:
        return _usage.resolve_range(start, end, now_ms=ms(ctx.state.now()))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


async def device_counts(ctx: Context, call: Call) -> Response:
    """`GET .../deviceCounts`."""
    start, end = _range(ctx, call)
    return reply(ctx, call, 200, _usage.device_counts(call.application_id, start, end))


async def notebook_counts(ctx: Context, call: Call) -> Response:
    """`GET .../notebookMinuteCounts`."""
    start, end = _range(ctx, call)
    return reply(ctx, call, 200, _usage.notebook_counts(call.application_id, start, end))


async def payload_counts(ctx: Context, call: Call) -> Response:
    """`GET .../payloadCounts`."""
    start, end = _range(ctx, call)
    as_bytes = query_bool(call.request.query_params.get("asBytes"), "asBytes")
    return reply(
        ctx, call, 200, _usage.payload_stats(call.application_id, start, end, as_bytes=as_bytes)
    )


async def payload_breakdown(ctx: Context, call: Call) -> Response:
    """`GET .../payloadCountsBreakdown`."""
    start, end = _range(ctx, call)
    params = call.request.query_params
    resolution = params.get("resolution") or str(_usage.DAY_MS)
    if resolution not in (str(_usage.DAY_MS), str(_usage.HOUR_MS)):
        raise ApiError(400, "resolution must be one of 86400000, 3600000")
    body = _usage.payload_breakdown(
        call.application_id,
        start,
        end,
        resolution=int(resolution),
        as_bytes=query_bool(params.get("asBytes"), "asBytes"),
        non_billable=query_bool(params.get("includeNonBillable"), "includeNonBillable"),
    )
    return reply(ctx, call, 200, body)
