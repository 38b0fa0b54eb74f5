"""Handlers of MQTT: publish a message, and the SSE stream that fans messages out (`_sse`)."""

from __future__ import annotations

from starlette.responses import Response

from losant_async.testing._context import ApiError, Call, Context, read_body, reply
from losant_async.testing._sse import SSEResponse, parse_keep_alive, valid_filter


async def publish(ctx: Context, call: Call) -> Response:
    """`POST .../mqttPublishMessage`: hand the message to the broker."""
    body = await read_body(call, "mqttPublishBody", "payload")
    if "+" in body["topic"] or "#" in body["topic"]:
        raise ApiError(400, "payload.topic must not contain wildcards")
    ctx.broker.publish(call.application_id, body["topic"], body["message"])
    return reply(ctx, call, 200, {"success": True})


async def subscribe(ctx: Context, call: Call) -> Response:
    """`GET .../mqttSubscriptionStream`: an SSE stream of the messages matching `topic`.

    Armed stream faults (drop, stall) are taken here; with `replay` on, events
    carry ids and a `Last-Event-ID` replays what the broker kept.
    """
    params = call.request.query_params
    topic = params.get("topic")
    if not topic or not valid_filter(topic):
        raise ApiError(400, "topic is required and must be a valid MQTT topic filter")
    try:
        keep_alive = parse_keep_alive(params.get("keepAliveInterval"), ctx.keep_alive)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    if ctx.broker.closed:
        raise ApiError(503, "The server is shutting down")
    last_id = None
    if ctx.replay:
        last = call.request.headers.get("last-event-id", "").strip()
        last_id = int(last) if last.isdigit() else None
    subscriber = ctx.broker.subscribe(call.application_id, topic, last_id)
    return SSEResponse(
        ctx.broker,
        subscriber,
        keep_alive=keep_alive,
        drop_after=ctx.faults.take_drop(call.application_id),
        stall=ctx.faults.take_stall(call.application_id),
        with_ids=ctx.replay,
        headers={"Cache-Control": "no-cache"},
    )
