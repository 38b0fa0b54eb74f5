"""A FastAPI backend over losant_async: the application as JSON, a live topic as SSE.

    GET /application        the application, as JSON (the route returns an ``Application``)
    GET /events?topic=...   text/event-stream: an ``mqttMessage`` event per MQTT message

One ``AsyncLosant`` client lives as long as the app (FastAPI's lifespan opens
it at start-up and closes it at shutdown). Each browser on ``/events`` gets
its own upstream subscription, closed as soon as the browser goes away.

Run (``pip install fastapi uvicorn``; both come with the ``dev`` extra):

    LOSANT_API_TOKEN=... LOSANT_APPLICATION_ID=... \\
        python examples/fastapi_app.py --port 8000
    curl http://127.0.0.1:8000/application
    curl -N 'http://127.0.0.1:8000/events?topic=devices/%2B/state'

With no token it starts the local Losant on 127.0.0.1 and serves from there.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncGenerator
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from losant_async import Application, AsyncApplication, AsyncLosant


def losant_application(request: Request) -> AsyncApplication:
    """The application façade of the client the lifespan opened (a FastAPI dependency)."""
    application: AsyncApplication = request.app.state.application
    return application


LosantApplication = Annotated[AsyncApplication, Depends(losant_application)]


def create_app(token: str, base_url: str | None, application_id: str) -> FastAPI:
    """The FastAPI app, talking to ``application_id`` with ``token``."""

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncGenerator[None, None]:
        async with AsyncLosant(token=token, base_url=base_url) as client:
            api.state.client = client
            api.state.application = client.application(application_id)
            yield
        # Leaving the block closed the client and its connections.

    api = FastAPI(title="losant_async FastAPI example", lifespan=lifespan)

    @api.get("/application")
    async def read_application(application: LosantApplication) -> Application:
        """The application; FastAPI serialises the model as ``Application.to_dict()``."""
        return await application.get()

    @api.get("/events")
    async def events(
        application: LosantApplication, topic: str = "devices/+/state"
    ) -> StreamingResponse:
        """Relay the topic's messages to this browser as server-sent events."""

        async def relay() -> AsyncGenerator[str, None]:
            async with application.mqtt_subscription_stream(topic) as stream:
                # The upstream subscription is open: messages published from now on arrive.
                yield ": connected\n\n"
                async for message in stream:
                    yield f"event: mqttMessage\ndata: {message.to_json(wire=True)}\n\n"

        body = relay()
        # When the browser goes away, Starlette cancels the response; closing the
        # generator afterwards (a no-op if the cancellation already ended it)
        # leaves the ``async with`` above, which closes the upstream at once.
        return StreamingResponse(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
            background=BackgroundTask(body.aclose),
        )

    return api


def serve(token: str, base_url: str | None, application_id: str, args: argparse.Namespace) -> None:
    api = create_app(token, base_url, application_id)
    print(f"serving on http://{args.host}:{args.port}/application", flush=True)
    uvicorn.run(api, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve a Losant application over FastAPI.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    token = os.environ.get("LOSANT_API_TOKEN")
    if token:
        app_id = os.environ["LOSANT_APPLICATION_ID"]
        serve(token, os.environ.get("LOSANT_API_URL"), app_id, args)
    else:
        from losant_async.testing import LocalLosant

        with LocalLosant().run_in_thread() as server:
            app_id = server.create_application(name="FastAPI example")
            print(f"local Losant at {server.base_url}, application {app_id}", flush=True)
            serve(server.token, server.base_url, app_id, args)
