"""Handlers of the application itself: get, patch, delete, globals, readme, search."""

from __future__ import annotations

from starlette.responses import Response

from losant_async.testing._context import (
    ApiError,
    Call,
    Context,
    application_body,
    read_body,
    reply,
)


async def get(ctx: Context, call: Call) -> Response:
    """`GET /applications/{applicationId}`."""
    return reply(ctx, call, 200, application_body(ctx, call))


async def patch(ctx: Context, call: Call) -> Response:
    """`PATCH /applications/{applicationId}`."""
    body = await read_body(call, "applicationPatch", "application")
    ctx.state.patch_application(call.application_id, body)
    return reply(ctx, call, 200, application_body(ctx, call))


async def delete(ctx: Context, call: Call) -> Response:
    """`DELETE /applications/{applicationId}`."""
    ctx.state.delete_application(call.application_id)
    return reply(ctx, call, 200, {"success": True})


async def globals_(ctx: Context, call: Call) -> Response:
    """`PATCH .../globals`: upsert globals by key (a `json` of null removes one)."""
    body = await read_body(call, "applicationGlobalPatch", "globals")
    try:
        ctx.state.patch_globals(call.application_id, body)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return reply(ctx, call, 200, application_body(ctx, call))


async def readme(ctx: Context, call: Call) -> Response:
    """`GET .../readme`."""
    return reply(ctx, call, 200, ctx.state.readme(call.application_id))


async def readme_patch(ctx: Context, call: Call) -> Response:
    """`PATCH .../readme` (action `readmePatch`)."""
    body = await read_body(call, "applicationReadmePatch", "readme")
    updated = ctx.state.patch_readme(
        call.application_id, body.get("content", ""), by_token=call.token_id
    )
    return reply(ctx, call, 200, updated)


async def search(ctx: Context, call: Call) -> Response:
    """`GET .../search?filter=`: resources whose name contains the filter."""
    text = call.request.query_params.get("filter")
    if not text:
        raise ApiError(400, "filter is required and must not be empty")
    return reply(ctx, call, 200, ctx.state.search(call.application_id, text))
