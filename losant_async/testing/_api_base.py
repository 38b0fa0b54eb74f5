"""The plumbing shared by the local Losant's handlers: errors, query values, bodies.

This module owns what every handler of the local Losant builds on: ``ApiError``
(an error answer in Losant's shape) and its rendering, parsing boolean and
integer query values, ``Context`` (what a handler gets), and ``ApiBase``: the
state the handlers share plus the helpers that validate request bodies and
responses against the spec's schemas and render the application. The routes
live in ``_api``, the job and log handlers in ``_api_jobs``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from losant_async.testing import _schemas
from losant_async.testing._faults import Faults
from losant_async.testing._jobs import JobRunner
from losant_async.testing._sse import Broker
from losant_async.testing._state import Json, State

_ID = re.compile(r"^[A-Fa-f\d]{24}$")
_ERROR_TYPES = {
    400: "Validation",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "TooLarge",
    422: "Validation",
    429: "TooManyRequests",
}


class ApiError(Exception):
    """An error answer in Losant's shape: `{"type": ..., "message": ...}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        type_: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.type = type_ or error_type(status)


def error_type(status: int) -> str:
    """The error `type` of a status, by Losant's names (`_ERROR_TYPES`)."""
    return _ERROR_TYPES.get(status, "ServerError" if status >= 500 else "Error")


def _dump(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(_dump(body), status_code=status, headers=headers, media_type="application/json")


def _error_response(error: ApiError) -> Response:
    body = {"type": error.type, "message": error.message}
    return _json_response(error.status, body, error.headers)


def _bool(value: str | None, name: str, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, f"{name} must be a boolean")


def _int(
    value: str | None, name: str, *, default: int | None = None, minimum: int | None = None
) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ApiError(400, f"{name} must be a number") from None
    if not math.isfinite(number) or number != int(number):
        raise ApiError(400, f"{name} must be an integer")
    if minimum is not None and number < minimum:
        raise ApiError(400, f"{name} must be at least {minimum}")
    return int(number)


def _retry_after(value: float | str | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"Retry-After": value}
    return {"Retry-After": str(int(value)) if float(value).is_integer() else str(value)}


class Context:
    """What a handler gets: the request, its application, token and query flags."""

    __slots__ = ("action", "application_id", "links", "queued_at", "request", "token_id")

    def __init__(
        self,
        request: Request,
        action: str,
        application_id: str,
        token_id: str,
        links: bool,
        queued_at: datetime,
    ) -> None:
        self.request = request
        self.action = action
        self.application_id = application_id
        self.token_id = token_id
        self.links = links
        # The moment the request arrived, on the server's clock: what a job's
        # runQueuedAt reports.
        self.queued_at = queued_at


Handler = Callable[[Context], Awaitable[Response]]


class ApiBase:
    """The state the handlers share, and their request-body and response checks."""

    def __init__(
        self,
        *,
        state: State,
        faults: Faults,
        broker: Broker,
        jobs: JobRunner,
        base_url: Callable[[], str],
        keep_alive: float,
        check_responses: bool,
    ) -> None:
        self.state = state
        self.faults = faults
        self.broker = broker
        self.jobs = jobs
        self._base_url = base_url
        self._keep_alive = keep_alive
        self._check_responses = check_responses
        # LocalLosant.replay: event ids and Last-Event-ID replay, off as on Losant.
        self.replay = False
        self._links_template = _schemas.LINKS

    def _reply(self, ctx: Context, status: int, body: object) -> Response:
        if self._check_responses:
            name = _schemas.response_schema(ctx.action, status)
            problem = (
                "no such status"
                if name is None
                else _schemas.validation_error(name, body, where="response")
            )
            if problem is not None:
                # A bug of the local Losant itself: make it loud.
                return _json_response(
                    500, {"type": "LocalLosantBug", "message": f"{ctx.action} {status}: {problem}"}
                )
        return _json_response(status, body)

    async def _body(self, ctx: Context, schema: str, where: str, *, required: bool = True) -> Any:
        raw = await ctx.request.body()
        if not raw.strip():
            if required:
                raise ApiError(400, f"{where} is required")
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON") from None
        problem = _schemas.validation_error(schema, body, where=where)
        if problem is not None:
            raise ApiError(400, problem)
        return body

    def _application(self, ctx: Context, app_id: str | None = None) -> Json:
        app_id = app_id or ctx.application_id
        params = ctx.request.query_params
        include = [part for part in (params.get("summaryInclude") or "").split(",") if part]
        exclude = [part for part in (params.get("summaryExclude") or "").split(",") if part]
        body = self.state.application(app_id, include=include, exclude=exclude)
        if ctx.links:
            links = {
                name: {"href": href.replace("{applicationId}", app_id)}
                for name, href in self._links_template.items()
            }
            body["_links"] = {"self": {"href": f"/applications/{app_id}"}, **links}
        return body
