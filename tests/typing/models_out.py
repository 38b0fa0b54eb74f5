"""Models leaving the library (``to_dict``, ``to_json``, FastAPI), for the type checkers only.

The README's "FastAPI and other frameworks" snippets, as a user would write them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import assert_type

from fastapi import FastAPI, Request

from losant_async import Application, AsyncApplication, AsyncLosant, MqttMessage

APP_ID = "575ec8687ae143cd83dc4a97"


async def plain_data(client: AsyncLosant, message: MqttMessage) -> None:
    """``to_dict`` gives a plain dict in either name form; ``to_json`` gives text."""
    app = await client.application(APP_ID).get()
    assert_type(app.to_dict(), dict[str, object])
    assert_type(app.to_dict(wire=True), dict[str, object])
    assert_type(app.to_json(), str)
    assert_type(message.to_json(wire=True), str)
    created = app.to_dict()["creation_date"]
    assert isinstance(created, datetime)


@contextlib.asynccontextmanager
async def lifespan(api: FastAPI) -> AsyncGenerator[None, None]:
    """One client for the app's life."""
    async with AsyncLosant() as client:
        api.state.application = client.application(APP_ID)
        yield


api = FastAPI(lifespan=lifespan)


@api.get("/application")
async def read_application(request: Request) -> Application:
    """A FastAPI route may return a model."""
    application: AsyncApplication = request.app.state.application
    return await application.get()
