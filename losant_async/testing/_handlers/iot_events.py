"""Events: create, read, patch (one or many), delete (one or many), the most severe new one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from losant_async.testing import _query
from losant_async.testing._context import ApiError, Call, Context, read_body, reply
from losant_async.testing._iot_http import (
    JOB_THRESHOLD,
    Json,
    action,
    choice,
    enqueue_job,
    json_param,
    name_filter,
    page,
    param,
    path_id,
    sort_key,
    store,
)
from losant_async.testing._iot_store import SEVERITY, StoreError

_EVENT_SORT = ("subject", "id", "creationDate", "lastUpdated", "level", "state", "deviceId")
_STATES = ("new", "acknowledged", "resolved")


def _checked(query: Json) -> Json:
    try:
        _query.check(query)
    except _query.QueryError as exc:
        raise ApiError(400, str(exc)) from None
    return query


def _selector(call: Call) -> tuple[Callable[[Mapping[str, Any]], bool], Json]:
    """The events `filter`/`state`/`query` parameters select, and what the answer echoes."""
    query = json_param(call, "query", "advancedEventQuery")
    echo: Json = {}
    if query is not None:
        _checked(query)
        echo["query"] = query
        return (lambda event: _query.match(query, event)), echo
    keep = name_filter(call, ("subject",))
    state = param(call, "state")
    if state is not None:
        choice(call, "state", _STATES, "new")
        echo["state"] = state
    if param(call, "filter") is not None:
        echo.update(
            filter=param(call, "filter"), filterField=param(call, "filterField") or "subject"
        )
    return (lambda event: keep(event) and (state is None or event["state"] == state)), echo


@action("events.get")
async def get_events(ctx: Context, call: Call) -> Response:
    keep, echo = _selector(call)
    with store(ctx).lock:
        events = [
            dict(event) for event in store(ctx).app_events(call.application_id) if keep(event)
        ]
    sort_field = choice(call, "sortField", _EVENT_SORT, "creationDate")
    direction = choice(call, "sortDirection", ("asc", "desc"), "desc")
    events.sort(key=sort_key(sort_field), reverse=direction == "desc")
    window, paging = page(call, events)
    body = {
        "items": window,
        **paging,
        "sortField": sort_field,
        "sortDirection": direction,
        "applicationId": call.application_id,
        **echo,
    }
    return reply(ctx, call, 200, body)


@action("events.post")
async def post_event(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "eventPost", "event")
    event = store(ctx).create_event(call.application_id, body, source_id=call.token_id)
    return reply(ctx, call, 201, event)


@action("events.mostRecentBySeverity")
async def most_recent_by_severity(ctx: Context, call: Call) -> Response:
    """The new event of the highest severity (the newest among equals) and the new count."""
    keep, _ = _selector(call)
    with store(ctx).lock:
        fresh = [
            dict(event)
            for event in store(ctx).app_events(call.application_id)
            if event["state"] == "new" and keep(event)
        ]
    body: Json = {"newCount": len(fresh)}
    if fresh:
        body["event"] = max(
            fresh, key=lambda event: (SEVERITY[event["level"]], event["creationDate"])
        )
    return reply(ctx, call, 200, body)


@action("events.patch")
async def patch_events(ctx: Context, call: Call) -> Response:
    """`PATCH .../events`: apply `updates` to every selected event (a job above the threshold)."""
    updates = await read_body(call, "eventPatch", "updates")
    keep, _ = _selector(call)
    iot, app_id, token_id = store(ctx), call.application_id, call.token_id
    chosen = [event["id"] for event in iot.app_events(app_id) if keep(event)]

    def apply() -> Json:
        for event_id in chosen:
            try:
                iot.patch_event(app_id, event_id, updates, source_id=token_id)
            except StoreError:
                continue
        return {}

    if len(chosen) > JOB_THRESHOLD:
        return enqueue_job(
            ctx, call, resource_type="application", resource_id=app_id, on_complete=apply
        )
    apply()
    return reply(ctx, call, 200, {"success": True})


@action("events.delete")
async def delete_events(ctx: Context, call: Call) -> Response:
    """`POST .../events/delete`: delete the events the query selects (a job above the threshold)."""
    query = _checked(await read_body(call, "advancedEventQuery", "query", required=False))
    iot, app_id = store(ctx), call.application_id
    chosen = [event["id"] for event in iot.app_events(app_id) if _query.match(query, event)]

    def remove() -> Json:
        for event_id in chosen:
            try:
                iot.delete_event(app_id, event_id)
            except StoreError:
                continue
        return {}

    if len(chosen) > JOB_THRESHOLD:
        return enqueue_job(
            ctx, call, resource_type="application", resource_id=app_id, on_complete=remove
        )
    remove()
    return reply(ctx, call, 200, {"removed": len(chosen)})


@action("event.get")
async def get_event(ctx: Context, call: Call) -> Response:
    with store(ctx).lock:
        event = dict(store(ctx).event(call.application_id, path_id(call, "eventId")))
    return reply(ctx, call, 200, event)


@action("event.patch")
async def patch_event(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "eventPatch", "event")
    event = store(ctx).patch_event(
        call.application_id, path_id(call, "eventId"), body, source_id=call.token_id
    )
    return reply(ctx, call, 200, event)


@action("event.delete")
async def delete_event(ctx: Context, call: Call) -> Response:
    store(ctx).delete_event(call.application_id, path_id(call, "eventId"))
    return reply(ctx, call, 200, {"success": True})
