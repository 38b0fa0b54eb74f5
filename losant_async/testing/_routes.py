"""The local Losant's HTTP front: the route table, and what every request goes through.

``ROUTES`` maps each (method, path) under ``/applications/{applicationId}``
to its action's name and handler (a plain function in ``_handlers``).
Every other action of the whole API (``_api_tables.ACTIONS``, keyed
``<resource>.<action>``) is routed by its method and path template to its
specific handler in ``_handlers.registry.HANDLERS`` (filled by the modules
``IOT_MODULES``), else to the schema-driven default (``_generic.default``),
through the same pipeline, which also checks the path and query parameters
against the definition and the JSON body against its schema (``_api_endpoint``).
``app(ctx)`` builds the ASGI app from both. Before a handler runs, every
request goes through one pipeline, in Losant's order: the ``Accept-Version``
check, injected latency and failures (``Faults``), the token and its scopes,
the common query flags, the application id. After it, an armed ``bad_body``
fault may break the answer. The ``Date`` header of every answer comes from
the server's (shiftable) clock.
"""

from __future__ import annotations

import email.utils
import importlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from losant_async.testing import _api_tables, _generic, _schemas, _versions
from losant_async.testing._context import (
    OBJECT_ID,
    ApiError,
    Call,
    Context,
    Handler,
    error_response,
    query_bool,
)
from losant_async.testing._handlers import application, jobs, logs, mqtt, registry, usage
from losant_async.testing._sse import SSEResponse
from losant_async.testing._state import State

APPLICATION = "/applications/{applicationId}"
"""The path every route is under."""

ROUTES: tuple[tuple[str, str, str, Handler], ...] = (
    # (method, path under APPLICATION, action, handler)
    ("GET", "", "get", application.get),
    ("PATCH", "", "patch", application.patch),
    ("DELETE", "", "delete", application.delete),
    ("PATCH", "/applyTemplate", "applyTemplate", jobs.apply_template),
    ("GET", "/archiveData", "archiveData", jobs.archive_data),
    ("GET", "/backfillArchiveData", "backfillArchiveData", jobs.archive),
    ("POST", "/clone", "clone", jobs.clone),
    ("GET", "/deviceCounts", "deviceCounts", usage.device_counts),
    ("POST", "/export", "export", jobs.export),
    ("GET", "/fullDataTablesArchive", "fullDataTablesArchive", jobs.archive),
    ("GET", "/fullEventsArchive", "fullEventsArchive", jobs.archive),
    ("PATCH", "/globals", "globals", application.globals_),
    ("POST", "/import", "import", jobs.import_),
    ("GET", "/importLogs", "importLogs", logs.import_logs),
    ("POST", "/mqttPublishMessage", "mqttPublishMessage", mqtt.publish),
    ("GET", "/mqttSubscriptionStream", "mqttSubscriptionStream", mqtt.subscribe),
    ("GET", "/notebookMinuteCounts", "notebookMinuteCounts", usage.notebook_counts),
    ("GET", "/payloadCounts", "payloadCounts", usage.payload_counts),
    ("GET", "/payloadCountsBreakdown", "payloadCountsBreakdown", usage.payload_breakdown),
    ("GET", "/readme", "readme", application.readme),
    ("PATCH", "/readme", "readmePatch", application.readme_patch),
    ("GET", "/search", "search", application.search),
    ("GET", "/jobLogs", "jobLogs", logs.job_logs),
    ("GET", "/jobLogs/{jobId}", "jobLog", logs.job_log),
)

IOT_MODULES: tuple[str, ...] = tuple(
    sorted(path.stem for path in Path(registry.__file__).parent.glob("iot_*.py"))
)
"""The `_handlers` modules that register specific handlers (`registry.register`), found by
name (`iot_*.py`) so that the router does not depend on which of them exist yet."""

DOWNLOADS = "/_local/downloads/{key}"
"""Where exports and templates are downloaded from, without a token (`jobs.download`)."""


def app(ctx: Context) -> ASGIApp:
    """The ASGI app of the local Losant: ``ROUTES`` behind the pipeline, the downloads."""
    routes = [
        Route(APPLICATION + path, _endpoint(ctx, action, handler), methods=[method], name=action)
        for method, path, action, handler in ROUTES
    ]
    for name in IOT_MODULES:
        importlib.import_module(f"losant_async.testing._handlers.{name}")
    served = {(method, APPLICATION + path) for method, path, _, _ in ROUTES}
    for key, spec in _api_tables.ACTIONS.items():
        if (spec["method"], spec["path"]) in served:
            continue
        endpoint = _api_endpoint(ctx, key, spec)
        routes.append(Route(spec["path"], endpoint, methods=[spec["method"]], name=key))
    routes.sort(key=_route_order)

    async def download(request: Request) -> Response:
        return await jobs.download(ctx, request)

    routes.append(Route(DOWNLOADS, download, methods=["GET"]))

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return error_response(ApiError(status, str(getattr(exc, "detail", "")) or "Error"))

    starlette = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    return _DateHeader(starlette, ctx.state)


def _endpoint(
    ctx: Context, action: str, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of one action: the pipeline, then ``handler``."""
    faults, state = ctx.faults, ctx.state

    async def endpoint(request: Request) -> Response:
        app_id = str(request.path_params["applicationId"])
        try:
            _check_version(request)
            delay = faults.take_latency(action, app_id)
            if delay:
                await anyio.sleep(delay)
            injected = faults.take_fail(action, app_id)
            if injected is not None:
                status, retry_after = injected
                raise ApiError(status, "Injected failure", headers=_retry_after(retry_after))
            token_id = _authorize(state, request, action, app_id)
            links = query_bool(request.query_params.get("_links"), "_links")
            query_bool(request.query_params.get("_actions"), "_actions")
            query_bool(request.query_params.get("_embedded"), "_embedded")
            if not OBJECT_ID.match(app_id):
                raise ApiError(400, "applicationId must be 24 hexadecimal characters")
            if not state.exists(app_id):
                raise ApiError(404, "Application was not found")
            response = await handler(
                ctx, Call(request, action, app_id, token_id, links, state.now())
            )
        except ApiError as error:
            response = error_response(error)
        if not isinstance(response, SSEResponse):
            response = _maybe_break(ctx, response, action, app_id)
        return response

    return endpoint


def _route_order(route: Route) -> tuple[bool, ...]:
    """Literal segments before parameters: `/applications/periodSummaries` is no `{applicationId}`.

    The sort is stable, so routes of one path keep the order they were added in.
    """
    return tuple(segment.startswith("{") for segment in route.path.split("/"))


def _api_endpoint(
    ctx: Context, key: str, spec: Mapping[str, Any]
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of a whole-API action: the pipeline, then its handler or the default."""
    faults, state = ctx.faults, ctx.state
    params: tuple[Mapping[str, Any], ...] = spec["params"]
    stream = bool(spec.get("stream"))

    async def endpoint(request: Request) -> Response:
        path_params = {name: str(value) for name, value in request.path_params.items()}
        app_id = path_params.get("applicationId")
        try:
            _check_version(request)
            delay = faults.take_latency(key, app_id)
            if delay:
                await anyio.sleep(delay)
            injected = faults.take_fail(key, app_id)
            if injected is not None:
                status, retry_after = injected
                raise ApiError(status, "Injected failure", headers=_retry_after(retry_after))
            token_id = _authorize(state, request, key, app_id)
            links = query_bool(request.query_params.get("_links"), "_links")
            query_bool(request.query_params.get("_actions"), "_actions")
            query_bool(request.query_params.get("_embedded"), "_embedded")
            _check_path(params, path_params)
            if app_id is not None and not state.exists(app_id):
                raise ApiError(404, "Application was not found")
            query = _check_query(params, request)
            body = await _read_api_body(params, request)
            handler = registry.HANDLERS.get(key, _generic.default)
            call = Call(
                request,
                key,
                app_id or "",
                token_id,
                links,
                state.now(),
                path_params=path_params,
                query=query,
                body=body,
            )
            response = await handler(ctx, call)
        except ApiError as error:
            response = error_response(error)
        if not stream and not isinstance(response, SSEResponse) and hasattr(response, "body"):
            response = _maybe_break(ctx, response, key, app_id)
        return response

    return endpoint


def _check_path(params: tuple[Mapping[str, Any], ...], values: Mapping[str, str]) -> None:
    """400 unless every path parameter matches its pattern."""
    for param in params:
        pattern = param.get("pattern")
        if param["in"] != "path" or pattern is None:
            continue
        if not re.search(pattern, values.get(param["name"], "")):
            if OBJECT_ID.pattern == pattern:
                raise ApiError(400, f"{param['name']} must be 24 hexadecimal characters")
            raise ApiError(400, f"{param['name']} must match {pattern}")


def _check_query(params: tuple[Mapping[str, Any], ...], request: Request) -> dict[str, str]:
    """The definition's query parameters as sent, checked: required, enum, pattern, JSON."""
    sent = request.query_params
    found: dict[str, str] = {}
    for param in params:
        if param["in"] != "query":
            continue
        name = param["name"]
        value = sent.get(name)
        if value is None:
            # A nested parameter arrives bracket-flattened: `tagFilter[0][key]=...`.
            nested = any(key.startswith(name + "[") for key in sent)
            if param.get("required") and not nested:
                raise ApiError(400, f"{name} is required")
            continue
        found[name] = value
        enum = param.get("enum")
        if enum is not None and value not in [str(option) for option in enum]:
            choices = ", ".join(str(option) for option in enum)
            raise ApiError(400, f"{name} must be one of: {choices}")
        pattern = param.get("pattern")
        if pattern is not None and not re.search(pattern, value):
            raise ApiError(400, f"{name} must match {pattern}")
        if len(value) < param.get("minLength", 0):
            raise ApiError(400, f"{name} must be at least {param['minLength']} characters")
        schema = param.get("schema")
        if schema is not None and param.get("type") == "object":
            try:
                decoded = json.loads(value)
            except ValueError:
                raise ApiError(400, f"{name} must be JSON") from None
            problem = _schemas.validation_error(schema, decoded, where=name)
            if problem is not None:
                raise ApiError(400, problem)
    return found


async def _read_api_body(params: tuple[Mapping[str, Any], ...], request: Request) -> Any:
    """The JSON body, valid against its schema, or a multipart upload's text fields."""
    for param in params:
        if param["in"] == "multipart":
            return await _read_form(params, request)
        if param["in"] != "body":
            continue
        raw = await request.body()
        if not raw.strip():
            if param.get("required"):
                raise ApiError(400, f"{param['name']} is required")
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON") from None
        schema = param.get("schema")
        if schema is not None:
            problem = _schemas.validation_error(schema, body, where=param["name"])
            if problem is not None:
                raise ApiError(400, problem)
        return body
    return None


async def _read_form(params: tuple[Mapping[str, Any], ...], request: Request) -> dict[str, str]:
    """A multipart upload's text fields; 400 when a required field is missing."""
    try:
        form = await request.form()
    except Exception as exc:  # Starlette raises its parser's own errors.
        raise ApiError(400, f"The request body is not a valid multipart form: {exc}") from None
    try:
        for param in params:
            if param["in"] == "multipart" and param.get("required") and param["name"] not in form:
                raise ApiError(400, f"{param['name']} is required")
        return {name: value for name, value in form.items() if isinstance(value, str)}
    finally:
        # Uploaded files are not kept (the multipart actions are schema-driven).
        await form.close()


def _check_version(request: Request) -> None:
    """400 `VersionNotAllowed` unless `Accept-Version` (if any) admits API 1.30.0."""
    wanted = request.headers.get("accept-version")
    if wanted is not None and not _versions.accepts(wanted):
        raise ApiError(
            400,
            f"{wanted} is not supported by {request.method} {request.url.path}",
            type_="VersionNotAllowed",
        )


def _retry_after(value: float | str | None) -> dict[str, str]:
    """The `Retry-After` header of an injected failure (none without a value)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"Retry-After": value}
    return {"Retry-After": str(int(value)) if float(value).is_integer() else str(value)}


def _authorize(state: State, request: Request, action: str, app_id: str | None) -> str:
    """The id of the request's token, if it may call `action` on `app_id`; 401/403 otherwise.

    An action that needs no token (`auth.*`) answers whatever is sent ("" then).
    """
    accepted = _schemas.accepted_scopes(action)
    if accepted is None:
        return ""
    # Losant answers a request without a token 403 and one with an invalid
    # or expired token 401 (spec/losant-api/README.md).
    scheme, _, credential = request.headers.get("authorization", "").strip().partition(" ")
    credential = credential.strip()
    if not credential:
        raise ApiError(403, "Authorization required: no API token was sent")
    token = state.token(credential) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiError(401, "Authorization failed: the API token is invalid or expired")
    if token.scopes.isdisjoint(accepted):
        raise ApiError(403, f"The token does not have a scope that allows {action}")
    if token.application_id is not None and token.application_id != app_id:
        raise ApiError(403, "The token does not have access to this application")
    return token.id


def _maybe_break(ctx: Context, response: Response, action: str, app_id: str | None) -> Response:
    """The answer, broken as an armed `Faults.bad_body` asks (HTML, or cut in half)."""
    kind = ctx.faults.take_bad_body(action, app_id)
    if kind is None:
        return response
    if kind == "not_json":
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return Response(page, status_code=response.status_code, media_type="text/html")
    body = bytes(response.body)
    return Response(
        body[: len(body) // 2], status_code=response.status_code, media_type="application/json"
    )


class _DateHeader:
    """ASGI middleware: the `Date` header of every answer, from the server's (shifted) clock.

    uvicorn's own Date header is turned off (`date_header=False`) so that
    exactly one is sent, and it follows `LocalLosant.clock_offset`.
    """

    def __init__(self, app: ASGIApp, state: State) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = email.utils.formatdate(self._state.now().timestamp(), usegmt=True)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [(b"date", stamp.encode()), *headers]}
            await send(message)

        await self._app(scope, receive, send_with_date)
