"""Devices: create, get, patch, delete, list (paged, sorted, filtered), tags, names, attributes."""

from __future__ import annotations

import copy
from typing import Any

from starlette.responses import Response

from losant_async.testing._context import ApiError, Call, Context, query_bool, read_body, reply
from losant_async.testing._iot_http import (
    Json,
    action,
    bracketed,
    choice,
    json_param,
    name_filter,
    page,
    param,
    path_id,
    sort_key,
    store,
)
from losant_async.testing._iot_store import Device, match_device, match_tag_filter

_DEVICE_SORT = ("name", "id", "creationDate", "lastUpdated", "connectionStatus", "deletedAt")
_ATTRIBUTE_KEYS = ("name", "dataType", "contentType", "description", "attributeTags", "system")


def _shaped(call: Call, record: Json) -> Json:
    body = copy.deepcopy(record)
    if query_bool(call.request.query_params.get("excludeConnectionInfo"), "excludeConnectionInfo"):
        body.pop("connectionInfo", None)
    return body


def listed_devices(ctx: Context, call: Call) -> tuple[list[Device], Json]:
    """The devices `devices.get` (and `getCompositeState`) select, sorted, and the echo fields."""
    params = call.request.query_params
    deleted = query_bool(params.get("queryDeleted"), "queryDeleted")
    devices = store(ctx).app_devices(call.application_id, deleted=deleted)
    echo: Json = {}
    query = json_param(call, "query", "advancedDeviceQuery")
    if query is not None:
        devices = [device for device in devices if match_device(query, device)]
        echo["query"] = query
    else:
        keep = name_filter(call, ("name",))
        devices = [device for device in devices if keep(device.record)]
        if param(call, "filter") is not None:
            echo.update(
                filter=param(call, "filter"), filterField=param(call, "filterField") or "name"
            )
        classes = [str(item) for item in bracketed(call, "deviceClass")]
        if classes:
            devices = [device for device in devices if device.record.get("deviceClass") in classes]
            echo["deviceClass"] = classes[0] if len(classes) == 1 else classes
        pairs = [item for item in bracketed(call, "tagFilter") if isinstance(item, dict)]
        if pairs:
            devices = [
                device for device in devices if match_tag_filter(device.record["tags"], pairs)
            ]
            echo["tagFilter"] = pairs
        parent = param(call, "parentId")
        if parent is not None:
            devices = [device for device in devices if device.record.get("parentId") == parent]
    sort_field = choice(call, "sortField", _DEVICE_SORT, "name")
    direction = choice(call, "sortDirection", ("asc", "desc"), "asc")
    devices.sort(
        key=lambda device: sort_key(sort_field)(device.flat()), reverse=direction == "desc"
    )
    echo.update(sortField=sort_field, sortDirection=direction, applicationId=call.application_id)
    return devices, echo


@action("devices.get")
async def get_devices(ctx: Context, call: Call) -> Response:
    """`GET .../devices`: one page of the selected devices."""
    devices, echo = listed_devices(ctx, call)
    window, paging = page(call, devices)
    with store(ctx).lock:
        items = [_shaped(call, device.record) for device in window]
    echo.pop("tagFilter", None)
    return reply(ctx, call, 200, {"items": items, **paging, **echo})


@action("devices.post")
async def post_device(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "devicePost", "device")
    return reply(ctx, call, 201, store(ctx).create_device(call.application_id, body))


@action("device.get")
async def get_device(ctx: Context, call: Call) -> Response:
    record = store(ctx).device_body(call.application_id, path_id(call, "deviceId"))
    return reply(ctx, call, 200, _shaped(call, record))


@action("device.patch")
async def patch_device(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "devicePatch", "device")
    record = store(ctx).patch_device(call.application_id, path_id(call, "deviceId"), body)
    return reply(ctx, call, 200, _shaped(call, record))


@action("device.delete")
async def delete_device(ctx: Context, call: Call) -> Response:
    store(ctx).delete_device(call.application_id, path_id(call, "deviceId"))
    return reply(ctx, call, 200, {"success": True})


@action("device.setConnectionStatus")
async def set_connection_status(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "deviceConnectionStatus", "connectionStatus")
    iot = store(ctx)
    with iot.lock:
        device = iot.device(call.application_id, path_id(call, "deviceId"))
        connected = 1 if body["status"] == "connected" else 0
        device.record["connectionInfo"] = {"connected": connected, "time": iot.stamp()}
    return reply(ctx, call, 200, {"success": True})


def _query_devices(ctx: Context, call: Call) -> list[Device]:
    query = json_param(call, "query", "advancedDeviceQuery")
    devices = store(ctx).app_devices(call.application_id)
    return devices if query is None else [d for d in devices if match_device(query, d)]


def _starts(call: Call) -> Any:
    prefix = param(call, "startsWith")
    return lambda text: prefix is None or text.startswith(prefix)


@action("devices.tagKeys")
async def tag_keys(ctx: Context, call: Call) -> Response:
    ok = _starts(call)
    keys = {tag["key"] for device in _query_devices(ctx, call) for tag in device.record["tags"]}
    return reply(ctx, call, 200, {"tagKeys": sorted(key for key in keys if ok(key))[:1000]})


@action("devices.tagValues")
async def tag_values(ctx: Context, call: Call) -> Response:
    key = param(call, "key")
    if key is None:
        raise ApiError(400, "key is required")
    ok = _starts(call)
    values = {
        tag["value"]
        for device in _query_devices(ctx, call)
        for tag in device.record["tags"]
        if tag["key"] == key
    }
    body = {"tagKey": key, "tagValues": sorted(value for value in values if ok(value))[:1000]}
    return reply(ctx, call, 200, body)


@action("devices.deviceNames")
async def device_names(ctx: Context, call: Call) -> Response:
    ok = _starts(call)
    summary = [
        {"id": device.record["id"], "name": device.record["name"]}
        for device in _query_devices(ctx, call)
        if ok(device.record["name"])
    ]
    summary.sort(key=lambda item: (item["name"].casefold(), item["id"]))
    return reply(ctx, call, 200, {"deviceSummary": summary[:1000]})


@action("devices.attributeNames")
async def attribute_names(ctx: Context, call: Call) -> Response:
    ok = _starts(call)
    data_type = param(call, "dataType")
    names = {
        attr["name"]
        for device in _query_devices(ctx, call)
        for attr in device.record["attributes"]
        if data_type is None or attr["dataType"] == data_type
    }
    body = {"attributeNames": sorted(name for name in names if ok(name))[:1000]}
    return reply(ctx, call, 200, body)


# -- one device's attributes --------------------------------------------------


def _attribute_body(call: Call, attr: Json) -> Json:
    return {
        **copy.deepcopy(attr),
        "applicationId": call.application_id,
        "deviceId": str(call.path_params["deviceId"]),
    }


@action("deviceAttributes.get")
async def get_attributes(ctx: Context, call: Call) -> Response:
    record = store(ctx).device_body(call.application_id, path_id(call, "deviceId"))
    keep = name_filter(call, ("name", "dataType"))
    items = [attr for attr in record["attributes"] if keep(attr)]
    sort_field = choice(call, "sortField", ("name", "dataType"), "name")
    direction = choice(call, "sortDirection", ("asc", "desc"), "asc")
    items.sort(key=sort_key(sort_field), reverse=direction == "desc")
    body: Json = {
        "items": [_attribute_body(call, attr) for attr in items],
        "count": len(items),
        "totalCount": len(items),
        "sortField": sort_field,
        "sortDirection": direction,
        "applicationId": call.application_id,
        "deviceId": record["id"],
    }
    if param(call, "filter") is not None:
        body.update(filter=param(call, "filter"), filterField=param(call, "filterField") or "name")
    return reply(ctx, call, 200, body)


@action("deviceAttributes.post")
async def post_attribute(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "deviceAttributePost", "deviceAttribute")
    iot, device_id = store(ctx), path_id(call, "deviceId")
    with iot.lock:
        record = iot.device(call.application_id, device_id).record
        if any(attr["name"] == body["name"] for attr in record["attributes"]):
            raise ApiError(400, f"An attribute named {body['name']} already exists")
        iot.patch_device(
            call.application_id, device_id, {"attributes": [*record["attributes"], body]}
        )
    return reply(ctx, call, 201, _attribute_body(call, body))


def _find_attribute(record: Json, name: str) -> Json:
    for attr in record["attributes"]:
        if attr["name"] == name:
            found: Json = attr
            return found
    raise ApiError(404, "Device attribute was not found")


@action("deviceAttribute.get")
async def get_attribute(ctx: Context, call: Call) -> Response:
    record = store(ctx).device_body(call.application_id, path_id(call, "deviceId"))
    attr = _find_attribute(record, call.path_params["name"])
    return reply(ctx, call, 200, _attribute_body(call, attr))


@action("deviceAttribute.patch")
async def patch_attribute(ctx: Context, call: Call) -> Response:
    body = await read_body(call, "deviceAttributePatch", "deviceAttribute")
    iot, device_id = store(ctx), path_id(call, "deviceId")
    name = call.path_params["name"]
    with iot.lock:
        record = iot.device(call.application_id, device_id).record
        attr = {**_find_attribute(record, name), **body}
        attributes = [attr if item["name"] == name else item for item in record["attributes"]]
        iot.patch_device(call.application_id, device_id, {"attributes": attributes})
    return reply(
        ctx,
        call,
        200,
        _attribute_body(call, {k: v for k, v in attr.items() if k in _ATTRIBUTE_KEYS}),
    )


@action("deviceAttribute.delete")
async def delete_attribute(ctx: Context, call: Call) -> Response:
    iot, device_id = store(ctx), path_id(call, "deviceId")
    name = call.path_params["name"]
    with iot.lock:
        record = iot.device(call.application_id, device_id).record
        _find_attribute(record, name)
        attributes = [item for item in record["attributes"] if item["name"] != name]
        iot.patch_device(call.application_id, device_id, {"attributes": attributes})
    return reply(ctx, call, 200, {"success": True})
