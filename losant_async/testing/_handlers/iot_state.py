"""Device state and commands: send, read back, query (last value, time series), and stream."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from losant_async.testing._context import ApiError, Call, Context, read_body, reply
from losant_async.testing._handlers.iot_devices import listed_devices
from losant_async.testing._iot_http import (
    JOB_THRESHOLD,
    EventStream,
    Json,
    action,
    choice,
    enqueue_job,
    int_param,
    page,
    param,
    path_id,
    store,
    stream_topic,
    time_range,
)
from losant_async.testing._iot_series import MAX_BUCKETS, RAW_LIMIT
from losant_async.testing._iot_store import Device, StoreError, iso_ms
from losant_async.testing._sse import parse_keep_alive

_FOREVER = 2**62
_DAY_MS = 86_400_000
_DEFAULT_RESOLUTION = 300_000


def _publish(ctx: Context, call: Call, device_id: str, kind: str, event: Json) -> None:
    text = json.dumps(event, separators=(",", ":"))
    ctx.broker.publish(call.application_id, stream_topic(device_id, kind), text)


@action("device.sendState")
async def send_state(ctx: Context, call: Call) -> Response:
    """`POST .../state`: store one state or many; each reaches the device's open state streams."""
    body = await read_body(call, "deviceStateOrStates", "deviceState")
    device_id = path_id(call, "deviceId")
    states = body if isinstance(body, list) else [body]
    for event in store(ctx).send_state(call.application_id, device_id, states):
        _publish(ctx, call, device_id, "state", event)
    return reply(ctx, call, 200, {"success": True})


def _window(ctx: Context, call: Call) -> tuple[int, int, int, bool]:
    start, end = time_range(ctx, call, start=None, end=None)
    if param(call, "end") is None:
        end = _FOREVER
    limit = int_param(call, "limit", default=1, minimum=1) or 1
    descending = choice(call, "sortDirection", ("asc", "desc"), "desc") == "desc"
    return start, end, limit, descending


@action("device.getState")
async def get_state(ctx: Context, call: Call) -> Response:
    """`GET .../state`: the last `limit` states (newest first by default)."""
    start, end, limit, descending = _window(ctx, call)
    iot = store(ctx)
    with iot.lock:
        device = iot.device(call.application_id, path_id(call, "deviceId"))
        states = [
            {"time": iso_ms(time), "data": data}
            for time, data in device.series.states(start, end, limit=limit, descending=descending)
        ]
    return reply(ctx, call, 200, states)


def _composite(ctx: Context, call: Call, device: Device) -> Json:
    start, end = time_range(ctx, call, start=1, end=0)
    names = param(call, "attributes")
    wanted = None if names is None else [name for name in names.split(",") if name]
    return {
        name: {"value": value, "time": iso_ms(time)}
        for name, (time, value) in device.series.last_values(start, end, wanted).items()
    }


@action("device.getCompositeState")
async def get_composite_state(ctx: Context, call: Call) -> Response:
    iot = store(ctx)
    with iot.lock:
        device = iot.device(call.application_id, path_id(call, "deviceId"))
        body = _composite(ctx, call, device)
    return reply(ctx, call, 200, body)


@action("devices.getCompositeState")
async def get_composite_states(ctx: Context, call: Call) -> Response:
    devices, echo = listed_devices(ctx, call)
    window, paging = page(call, devices)
    with store(ctx).lock:
        items = [
            {
                "id": d.record["id"],
                "name": d.record["name"],
                "compositeState": _composite(ctx, call, d),
            }
            for d in window
        ]
    echo.pop("tagFilter", None)
    echo.pop("filter", None)
    echo.pop("filterField", None)
    echo.pop("deviceClass", None)
    return reply(ctx, call, 200, {"items": items, **paging, **echo})


@action("device.sendCommand")
async def send_command(ctx: Context, call: Call) -> Response:
    """`POST .../command`: record it; it reaches the device's open command streams."""
    body = await read_body(call, "deviceCommand", "deviceCommand")
    device_id = path_id(call, "deviceId")
    entry = store(ctx).add_command(call.application_id, device_id, body)
    _publish(ctx, call, device_id, "command", entry)
    return reply(ctx, call, 200, {"success": True})


@action("devices.sendCommand")
async def send_commands(ctx: Context, call: Call) -> Response:
    """`POST .../devices/command`: to the devices selected; a job above `JOB_THRESHOLD` of them."""
    body = await read_body(call, "multiDeviceCommand", "multiDeviceCommand")
    iot = store(ctx)
    devices = iot.select_devices(
        call.application_id,
        ids=body.get("deviceIds"),
        tags=body.get("deviceTags"),
        query=body.get("deviceQuery"),
        default_all=False,
    )
    command = {key: body[key] for key in ("name", "payload", "time") if key in body}
    app_id = call.application_id

    def send_all() -> Json:
        for device in devices:
            device_id = device.record["id"]
            try:
                entry = iot.add_command(app_id, device_id, command)
            except StoreError:  # a device deleted meanwhile is skipped
                continue
            _publish(ctx, call, device_id, "command", entry)
        return {}

    if len(devices) > JOB_THRESHOLD:
        return enqueue_job(
            ctx, call, resource_type="application", resource_id=app_id, on_complete=send_all
        )
    send_all()
    return reply(ctx, call, 200, {"success": True})


@action("device.getCommand")
async def get_command(ctx: Context, call: Call) -> Response:
    """`GET .../command`: the last `limit` commands sent to the device."""
    start, end, limit, descending = _window(ctx, call)
    device_id = path_id(call, "deviceId")
    entries = store(ctx).commands(
        call.application_id, device_id, start, end, limit=limit, descending=descending
    )
    return reply(ctx, call, 200, entries)


def _stream(ctx: Context, call: Call, kind: str, event: str) -> Response:
    device_id = path_id(call, "deviceId")
    store(ctx).device(call.application_id, device_id)
    try:
        keep_alive = parse_keep_alive(param(call, "keepAliveInterval"), ctx.keep_alive)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    if ctx.broker.closed:
        raise ApiError(503, "The server is shutting down")
    subscriber = ctx.broker.subscribe(call.application_id, stream_topic(device_id, kind), None)
    return EventStream(
        event,
        broker=ctx.broker,
        subscriber=subscriber,
        keep_alive=keep_alive,
        drop_after=ctx.faults.take_drop(call.application_id, call.action),
        stall=ctx.faults.take_stall(call.application_id, call.action),
        with_ids=ctx.replay,
        headers={"Cache-Control": "no-cache"},
    )


@action("device.stateStream")
async def state_stream(ctx: Context, call: Call) -> Response:
    """`GET .../stateStream`: an SSE stream of `deviceState` events."""
    return _stream(ctx, call, "state", "deviceState")


@action("device.commandStream")
async def command_stream(ctx: Context, call: Call) -> Response:
    """`GET .../commandStream`: an SSE stream of `deviceCommand` events."""
    return _stream(ctx, call, "command", "deviceCommand")


# -- data queries -------------------------------------------------------------


def _selected(ctx: Context, call: Call, body: Json) -> list[Device]:
    return store(ctx).select_devices(
        call.application_id,
        ids=body.get("deviceIds"),
        tags=body.get("deviceTags"),
        query=body.get("deviceQuery"),
    )


@action("data.lastValueQuery")
async def last_value_query(ctx: Context, call: Call) -> Response:
    """`POST .../data/last-value-query`: each device's latest value(s)."""
    body = await read_body(call, "lastValueQuery", "query")
    attribute = body.get("attribute")
    iot = store(ctx)
    answer: Json = {}
    with iot.lock:
        for device in _selected(ctx, call, body):
            found = device.series.last_values(
                0, _FOREVER, None if attribute is None else [attribute]
            )
            if found:
                latest = max(time for time, _ in found.values())
                answer[device.record["id"]] = {
                    "time": iso_ms(latest),
                    "data": {name: value for name, (_, value) in found.items()},
                }
    return reply(ctx, call, 200, answer)


def _tags(device: Device) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for tag in device.record["tags"]:
        grouped.setdefault(tag["key"], []).append(tag["value"])
    return grouped


@action("data.timeSeriesQuery")
async def time_series_query(ctx: Context, call: Call) -> Response:
    """`POST .../data/time-series-query`: aggregated buckets (or raw points) per device."""
    body = await read_body(call, "timeSeriesQuery", "query")
    iot = store(ctx)
    end = iot.resolve(_whole(body.get("end")), 0)
    start = (
        iot.resolve(_whole(body["start"]), 0)
        if "start" in body
        else end - (_whole(body.get("duration")) or _DAY_MS)
    )
    if start > end:
        raise ApiError(400, "query.start must not be after query.end")
    spec: Any = body.get("aggregation", "MEAN")
    kind = spec if isinstance(spec, str) else spec["type"]
    value = None if isinstance(spec, str) else spec.get("options", {}).get("value")
    resolution = _whole(body.get("resolution")) or _DEFAULT_RESOLUTION
    if resolution <= 0:
        raise ApiError(400, "query.resolution must be positive")
    if kind != "NONE" and (end - start) // resolution + 1 > MAX_BUCKETS:
        raise ApiError(400, f"query asks for more than {MAX_BUCKETS} buckets: raise resolution")
    attributes = body.get("attributes")
    devices: Json = {}
    with iot.lock:
        for device in _selected(ctx, call, body):
            series = device.series
            names = list(series.columns) if attributes is None else attributes
            if kind == "NONE":
                points = [
                    {"time": iso_ms(time), "data": {k: v for k, v in data.items() if k in names}}
                    for time, data in series.states(start, end, limit=RAW_LIMIT, descending=False)
                ]
                points = [point for point in points if point["data"]]
            else:
                merged: dict[int, Json] = {}
                for name in names:
                    for bucket, result in series.buckets(
                        name, start, end, resolution, kind, value
                    ).items():
                        merged.setdefault(bucket, {})[name] = result
                points = [
                    {"time": iso_ms(bucket), "data": merged[bucket]} for bucket in sorted(merged)
                ]
            devices[device.record["id"]] = {
                "name": device.record["name"],
                "tags": _tags(device),
                "points": points,
            }
    answer = {
        "start": iso_ms(start),
        "end": iso_ms(end),
        "resolution": None if kind == "NONE" else resolution,
        "aggregation": spec,
        "limit": RAW_LIMIT if kind == "NONE" else None,
        "order": "asc",
        "devices": devices,
    }
    return reply(ctx, call, 200, answer)


def _whole(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def states_csv(device: Device, start: int, end: int) -> bytes:
    """A device's states in [start, end] as CSV text (`time` then one column per attribute)."""
    series = device.series
    names = sorted(series.columns)
    lines = [",".join(["id", "time", *names])]
    for time, data in series.states(start, end, limit=_FOREVER, descending=False):
        cells = [device.record["id"], iso_ms(time)]
        cells += [json.dumps(data[name]) if name in data else "" for name in names]
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()
