"""What the IoT handlers (`_handlers/iot_*`) share: registration, parameters, paging, streams.

`action(name)` registers a handler under its `<resource>.<action>` name (in
`_handlers.registry`) and turns the store's refusals (`StoreError`) into
Losant's error answers. The parameter helpers read path ids, ms times (0 and
below relative to now), JSON `query` parameters validated against their
schema, and bracket-flattened arrays (`tagFilter[0][key]=k`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Send

from losant_async.testing import _schemas
from losant_async.testing._context import (
    OBJECT_ID,
    ApiError,
    Call,
    Context,
    Handler,
    query_int,
    reply,
)
from losant_async.testing._handlers.registry import register
from losant_async.testing._iot_store import IotStore, StoreError, glob
from losant_async.testing._sse import KEEPALIVE, SSEResponse

Json = dict[str, Any]


def action(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated handler as `name`, answering a `StoreError` as Losant would."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def run(ctx: Context, call: Call) -> Response:
            try:
                return await handler(ctx, call)
            except StoreError as error:
                raise ApiError(error.status, error.message) from None

        register(name)(run)
        return run

    return decorate


def store(ctx: Context) -> IotStore:
    return ctx.state.iot


def path_id(call: Call, name: str) -> str:
    """A 24-hex path id; 400 otherwise."""
    value = call.path_params.get(name) or str(call.request.path_params.get(name, ""))
    if not OBJECT_ID.match(value):
        raise ApiError(400, f"{name} must be 24 hexadecimal characters")
    return value


def param(call: Call, name: str) -> str | None:
    value = call.request.query_params.get(name)
    return None if value is None or value == "" else value


def int_param(
    call: Call, name: str, default: int | None = None, minimum: int | None = None
) -> int | None:
    return query_int(param(call, name), name, default=default, minimum=minimum)


def choice(call: Call, name: str, allowed: Sequence[str], default: str) -> str:
    value = param(call, name) or default
    if value not in allowed:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)}")
    return value


def json_param(call: Call, name: str, schema: str) -> Json | None:
    """A JSON object query parameter valid against `schema`, or None when absent."""
    raw = param(call, name)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise ApiError(400, f"{name} is not valid JSON") from None
    problem = _schemas.validation_error(schema, value, where=name)
    if problem is not None:
        raise ApiError(400, problem)
    result: Json = value
    return result


def bracketed(call: Call, name: str) -> list[Any]:
    """A bracket-flattened array parameter: `name[0][key]=k` or `name[0]=v` (and plain `name=v`)."""
    entries: dict[int, Any] = {}
    for key, value in call.request.query_params.multi_items():
        if key == name:
            entries[len(entries)] = value
        elif key.startswith(name + "["):
            rest = key[len(name) + 1 :]
            index_text, _, tail = rest.partition("]")
            if not index_text.isdigit():
                continue
            index = int(index_text)
            if tail.startswith("[") and tail.endswith("]"):
                entry = entries.setdefault(index, {})
                if isinstance(entry, dict):
                    entry[tail[1:-1]] = value
            else:
                entries[index] = value
    return [entries[index] for index in sorted(entries)]


def time_range(ctx: Context, call: Call, *, start: int | None, end: int | None) -> tuple[int, int]:
    """The [start, end] ms window of `start`/`end`/`duration`/`since` (0 and below: relative)."""
    iot = store(ctx)
    end_ms = iot.resolve(int_param(call, "end"), 0 if end is None else end)
    duration = int_param(call, "duration", minimum=0)
    since = int_param(call, "since")
    start_raw = int_param(call, "start")
    if start_raw is not None:
        start_ms = iot.resolve(start_raw, 0)
    elif duration is not None:
        start_ms = end_ms - duration
    elif since is not None:
        start_ms = since
    else:
        start_ms = 0 if start is None else iot.resolve(start, 0)
    return start_ms, end_ms


def name_filter(call: Call, fields: Sequence[str]) -> Callable[[Mapping[str, Any]], bool]:
    """The `filterField`/`filter` pair as a predicate (`*` globs; no filter keeps all)."""
    pattern = param(call, "filter")
    if pattern is None:
        return lambda item: True
    field = choice(call, "filterField", fields, fields[0])
    regex = glob(pattern)
    return lambda item: regex.fullmatch(str(item.get(field, ""))) is not None


def sort_key(field: str) -> Callable[[Mapping[str, Any]], Any]:
    def key(item: Mapping[str, Any]) -> Any:
        value = item.get(field)
        if value is None:
            return (0, "", item.get("id", ""))
        if isinstance(value, str):
            return (1, value.casefold(), item.get("id", ""))
        return (
            1,
            str(value) if not isinstance(value, int | float) else f"{value:030.6f}",
            item.get("id", ""),
        )

    return key


def page(call: Call, items: list[Any]) -> tuple[list[Any], Json]:
    """One `page`/`perPage` window of `items` and the paging fields of the answer."""
    number = int_param(call, "page", default=0, minimum=0) or 0
    per_page = int_param(call, "perPage", default=100, minimum=1) or 100
    window = items[number * per_page : (number + 1) * per_page]
    return window, {
        "count": len(window),
        "totalCount": len(items),
        "perPage": per_page,
        "page": number,
    }


class EventStream(SSEResponse):
    """An SSE stream of one device's `deviceState` or `deviceCommand` events.

    The events ride the MQTT broker on a `$`-topic that no MQTT wildcard
    subscription matches; this response writes each as
    `event: NAME\\ndata: JSON\\n\\n`, with Losant's `:` keep-alives.
    """

    def __init__(self, event: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._event = event

    async def _pump(self, send: Send) -> None:
        receive_events = self._subscriber.receive
        if self._stall:
            async for _ in receive_events:
                pass
            return
        if self._drop_after == 0:
            return
        sent = 0
        while True:
            event = None
            with anyio.move_on_after(self._keep_alive):
                try:
                    event = await receive_events.receive()
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    return
            if event is None:
                await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                continue
            event_id, _, message = event
            block = f"event: {self._event}\ndata: {message}\n\n"
            if self._with_ids:
                block = f"id: {event_id}\n{block}"
            await send({"type": "http.response.body", "body": block.encode(), "more_body": True})
            sent += 1
            if self._drop_after is not None and sent >= self._drop_after:
                return


def stream_topic(device_id: str, kind: str) -> str:
    """The broker topic a device's `state` or `command` events travel on."""
    return f"$local/devices/{device_id}/{kind}"


JOB_THRESHOLD = 1_000
"""Above this many selected items, a bulk action that may answer 202 runs as a job."""


def enqueue_job(
    ctx: Context,
    call: Call,
    *,
    resource_type: str,
    resource_id: str,
    on_complete: Callable[[], Json | None],
    job_input: Json | None = None,
) -> Response:
    """Enqueue the job of `call.action` in the application's job logs and answer 202."""
    fields: Json = {"resourceType": resource_type, "resourceId": resource_id}
    if job_input is not None:
        fields["input"] = job_input
    job_id = ctx.jobs.enqueue(
        call.action,
        call.application_id,
        queued_at=call.queued_at,
        requested_by=call.token_id,
        fields=fields,
        on_complete=on_complete,
    )
    return reply(ctx, call, 202, {"jobQueued": True, "jobId": job_id, "success": True})


def download_url(ctx: Context, data: bytes) -> str:
    """Keep `data` for download and return its URL (served without a token)."""
    return f"{ctx.base_url()}/_local/downloads/{ctx.state.store_export(data)}"
