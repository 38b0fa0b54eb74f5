"""What every handler of the local Losant works with: the server's parts, the call, the answer.

- ``Context``: the one object the handlers share, made once per server: the
  state (and its clock), the fault switches, the MQTT broker, the job runner,
  and the server's settings.
- ``Call``: one request to one action, as the route pipeline (``_routes``)
  checked it: the Starlette request, the action's name, the application, the
  token and the moment it arrived.
- ``ApiError`` and the helpers that build an answer: a JSON reply (checked
  against the spec's response schema), a request body read and validated
  against its schema, query values, and the application body.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from starlette.responses import Response

from losant_async.testing import _schemas
from losant_async.testing._store import Store

if TYPE_CHECKING:
    from starlette.requests import Request

    from losant_async.testing._faults import Faults
    from losant_async.testing._jobs import JobRunner
    from losant_async.testing._sse import Broker
    from losant_async.testing._state import Json, State

OBJECT_ID = re.compile(r"^[A-Fa-f\d]{24}$")
"""A Losant id: 24 hexadecimal characters."""

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


class Context:
    """The local Losant's parts, shared by every handler (one per `LocalLosant`)."""

    __slots__ = (
        "base_url",
        "broker",
        "check_responses",
        "faults",
        "jobs",
        "keep_alive",
        "replay",
        "state",
        "store",
    )

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
        # The server's URL once it listens (`LocalLosant.base_url`).
        self.base_url = base_url
        # The default keepAliveInterval of MQTT streams, in seconds.
        self.keep_alive = keep_alive
        # Validate every JSON answer against its schema (`LocalLosant(check_responses=)`).
        self.check_responses = check_responses
        # LocalLosant.replay: event ids and Last-Event-ID replay, off as on Losant.
        self.replay = False
        # What the schema-driven actions stored (`_generic`).
        self.store = Store()


class Call:
    """One request to one action, past the route pipeline's checks.

    For the whole API's actions (`action` is `<resource>.<action>`),
    `path_params` holds the path's parameters (`{"applicationId": ...,
    "deviceId": ...}`), `query` the query values the definition names, as
    sent (strings; validated), and `body` the JSON body, validated against its
    schema (None when the action takes none or none was sent; a dict of the
    text fields for a multipart upload). `application_id` is "" for actions
    outside an application, `token_id` "" for those that need no token.
    """

    __slots__ = (
        "action",
        "application_id",
        "body",
        "links",
        "path_params",
        "query",
        "queued_at",
        "request",
        "token_id",
    )

    def __init__(
        self,
        request: Request,
        action: str,
        application_id: str,
        token_id: str,
        links: bool,
        queued_at: datetime,
        *,
        path_params: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        self.request = request
        self.action = action
        self.application_id = application_id
        self.token_id = token_id
        self.links = links
        # The moment the request arrived, on the server's clock: what a job's
        # runQueuedAt reports.
        self.queued_at = queued_at
        self.path_params = path_params if path_params is not None else {}
        self.query = query if query is not None else {}
        self.body = body


Handler: TypeAlias = Callable[[Context, Call], Awaitable[Response]]
"""An action's handler: a plain async function of the context and the call."""


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


def dump_json(body: object) -> bytes:
    """Compact JSON, as Losant writes it."""
    return json.dumps(body, separators=(",", ":")).encode()


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with `status`."""
    return Response(
        dump_json(body), status_code=status, headers=headers, media_type="application/json"
    )


def error_response(error: ApiError) -> Response:
    """The answer of an `ApiError`: its status, headers and `{"type", "message"}` body."""
    body = {"type": error.type, "message": error.message}
    return json_response(error.status, body, error.headers)


def reply(ctx: Context, call: Call, status: int, body: object) -> Response:
    """The JSON answer of `call`; a 500 `LocalLosantBug` if it does not match the spec."""
    if ctx.check_responses:
        name = _schemas.response_schema(call.action, status)
        problem = (
            "no such status"
            if name is None
            else _schemas.validation_error(name, body, where="response")
        )
        if problem is not None:
            # A bug of the local Losant itself: make it loud.
            return json_response(
                500, {"type": "LocalLosantBug", "message": f"{call.action} {status}: {problem}"}
            )
    return json_response(status, body)


async def read_body(call: Call, schema: str, where: str, *, required: bool = True) -> Any:
    """The request's JSON body, valid against `schema`; 400 `Validation` otherwise.

    `where` names the body in error messages (`application.name: ...`). An
    empty body is `{}` unless it is `required`.
    """
    raw = await call.request.body()
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


def application_body(ctx: Context, call: Call, app_id: str | None = None) -> Json:
    """The Application body of `app_id` (default: the call's), as the query shapes it.

    `summaryInclude` / `summaryExclude` pick the summary counts; `_links=true`
    adds the `_links` Losant sends.
    """
    app_id = app_id or call.application_id
    params = call.request.query_params
    include = [part for part in (params.get("summaryInclude") or "").split(",") if part]
    exclude = [part for part in (params.get("summaryExclude") or "").split(",") if part]
    body = ctx.state.application(app_id, include=include, exclude=exclude)
    if call.links:
        links = {
            name: {"href": href.replace("{applicationId}", app_id)}
            for name, href in _schemas.LINKS.items()
        }
        body["_links"] = {"self": {"href": f"/applications/{app_id}"}, **links}
    return body


def query_bool(value: str | None, name: str, default: bool = False) -> bool:
    """A boolean query value (`true`/`false`/`1`/`0`, any case); 400 otherwise."""
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, f"{name} must be a boolean")


def query_int(
    value: str | None, name: str, *, default: int | None = None, minimum: int | None = None
) -> int | None:
    """An integer query value (`3.0` counts as 3), at least `minimum`; 400 otherwise."""
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
