"""A Starlette backend that relays one Losant MQTT stream to its own clients (SSE).

The backend holds the Losant token and ONE upstream subscription; each
browser (or ``curl -N``) connected to ``GET /events`` gets every message as
a server-sent event. A slow client is dropped instead of slowing the others.

    GET  /events    text/event-stream: ``event: mqttMessage`` + JSON data
    POST /publish   {"topic": ..., "message": ...}: publish through the backend
    GET  /healthz   {"upstream": "connecting" | "open" | "reconnecting" | "closed",
                     "reconnects": n, "gaps": n, "clients": n}: 200 while the
                    upstream is open, 503 otherwise (for a load balancer)

Run (uvicorn and starlette come with ``pip install 'losant-async[testing]'``):

    LOSANT_API_TOKEN=... LOSANT_APPLICATION_ID=... \\
        python examples/starlette_relay.py --port 8000 --topic 'devices/+/state'
    curl -N http://127.0.0.1:8000/events

With no token it starts the local Losant on 127.0.0.1 and relays from there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import AsyncIterator

import anyio
import uvicorn
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from losant_async import AsyncApplication, AsyncLosant, MqttMessage, MqttStream, StreamState

CLIENT_BUFFER = 100
CLIENT_KEEP_ALIVE = 15.0


class Relay:
    """Fans one upstream MQTT subscription out to any number of SSE clients."""

    def __init__(self, app: AsyncApplication, topic: str) -> None:
        self.app = app
        self.topic = topic
        self.clients: set[MemoryObjectSendStream[MqttMessage]] = set()
        # The library keeps the stream's state (connecting, open, reconnecting,
        # closed): /healthz reports it as it is.
        self.stream: MqttStream = app.mqtt_subscription_stream(
            topic, on_state_change=self.state_changed
        )

    def state_changed(self, old: StreamState, new: StreamState) -> None:
        """Called by the stream on each change (a plain function: it must not block)."""
        print(f"upstream {self.topic!r}: {old} -> {new}", flush=True)

    async def run(self) -> None:
        """Hold the upstream subscription (the library reconnects it when it drops)."""
        async with self.stream as stream:
            try:
                async for message in stream:
                    for client in list(self.clients):
                        try:
                            client.send_nowait(message)
                        except (anyio.WouldBlock, anyio.BrokenResourceError):
                            self.drop(client)
            finally:
                for client in list(self.clients):
                    self.drop(client)

    def join(
        self,
    ) -> tuple[MemoryObjectSendStream[MqttMessage], MemoryObjectReceiveStream[MqttMessage]]:
        send, receive = anyio.create_memory_object_stream[MqttMessage](CLIENT_BUFFER)
        self.clients.add(send)
        return send, receive

    def drop(self, client: MemoryObjectSendStream[MqttMessage]) -> None:
        self.clients.discard(client)
        client.close()


async def events(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    send, receive = relay.join()

    async def body() -> AsyncIterator[str]:
        # The comment tells the client it is registered: messages published
        # from now on reach it.
        yield ": connected\n\n"
        # Starlette cancels this generator when the client goes away: forget it then.
        try:
            async with receive:
                while True:
                    event = ": keep-alive\n\n"
                    with anyio.move_on_after(CLIENT_KEEP_ALIVE):
                        try:
                            message = await receive.receive()
                        except anyio.EndOfStream:
                            return
                        data = json.dumps({"topic": message.topic, "message": message.message})
                        event = f"event: mqttMessage\ndata: {data}\n\n"
                    # Yield outside the cancel scope: a generator must never yield inside one.
                    yield event
        finally:
            relay.drop(send)

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


async def publish(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    payload = await request.json()
    await relay.app.mqtt_publish_message(str(payload["topic"]), str(payload["message"]))
    return JSONResponse({"success": True})


async def healthz(request: Request) -> Response:
    relay: Relay = request.app.state.relay
    stream = relay.stream
    health = {
        "upstream": stream.state,  # a str enum: JSON as "open", "reconnecting", ...
        "reconnects": stream.reconnects,
        "gaps": len(stream.gaps),
        "clients": len(relay.clients),
    }
    return JSONResponse(health, status_code=200 if stream.state is StreamState.OPEN else 503)


def create_app(token: str, base_url: str | None, application_id: str, topic: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            AsyncLosant(token=token, base_url=base_url) as client,
            anyio.create_task_group() as tg,
        ):
            app.state.relay = relay = Relay(client.application(application_id), topic)
            tg.start_soon(relay.run)
            yield
            tg.cancel_scope.cancel()

    routes = [
        Route("/events", events),
        Route("/publish", publish, methods=["POST"]),
        Route("/healthz", healthz),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def serve(token: str, base_url: str | None, application_id: str, args: argparse.Namespace) -> None:
    app = create_app(token, base_url, application_id, args.topic)
    print(f"relaying {args.topic!r} on http://{args.host}:{args.port}/events", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--topic", default="devices/+/state")
    args = parser.parse_args()
    token = os.environ.get("LOSANT_API_TOKEN")
    if token:
        app_id = os.environ["LOSANT_APPLICATION_ID"]
        serve(token, os.environ.get("LOSANT_API_URL"), app_id, args)
    else:
        from losant_async.testing import LocalLosant

        with LocalLosant().run_in_thread() as server:
            app_id = server.create_application(name="Relay example")
            print(f"local Losant at {server.base_url}, application {app_id}", flush=True)
            serve(server.token, server.base_url, app_id, args)
