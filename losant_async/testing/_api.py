"""The Starlette app of the local Losant: auth, faults, validation, then one handler per action."""

from __future__ import annotations

import email.utils
import io
import zipfile
from collections.abc import Awaitable, Callable

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from losant_async.testing import _schemas, _usage, _versions
from losant_async.testing._api_base import (
    _ID,
    ApiError,
    Context,
    Handler,
    _bool,
    _error_response,
    _int,
    _retry_after,
)
from losant_async.testing._api_jobs import JobHandlers
from losant_async.testing._sse import SSEResponse, parse_keep_alive, valid_filter
from losant_async.testing._state import State, ms


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


class Api(JobHandlers):
    """Routes, request checks and the 24 handlers over `State`, `Broker` and `JobRunner`.

    The job and log handlers come from ``JobHandlers``, the shared state and
    checks from ``ApiBase``.
    """

    # -- app and routing ------------------------------------------------------

    def app(self) -> ASGIApp:
        base = "/applications/{applicationId}"
        table: list[tuple[str, str, str, Handler]] = [
            ("GET", "", "get", self.get),
            ("PATCH", "", "patch", self.patch),
            ("DELETE", "", "delete", self.delete),
            ("PATCH", "/applyTemplate", "applyTemplate", self.apply_template),
            ("GET", "/archiveData", "archiveData", self.archive_data),
            ("GET", "/backfillArchiveData", "backfillArchiveData", self.simple_job),
            ("POST", "/clone", "clone", self.clone),
            ("GET", "/deviceCounts", "deviceCounts", self.device_counts),
            ("POST", "/export", "export", self.export),
            ("GET", "/fullDataTablesArchive", "fullDataTablesArchive", self.simple_job),
            ("GET", "/fullEventsArchive", "fullEventsArchive", self.simple_job),
            ("PATCH", "/globals", "globals", self.globals_),
            ("POST", "/import", "import", self.import_),
            ("GET", "/importLogs", "importLogs", self.import_logs),
            ("POST", "/mqttPublishMessage", "mqttPublishMessage", self.publish),
            ("GET", "/mqttSubscriptionStream", "mqttSubscriptionStream", self.subscribe),
            ("GET", "/notebookMinuteCounts", "notebookMinuteCounts", self.notebook_counts),
            ("GET", "/payloadCounts", "payloadCounts", self.payload_counts),
            ("GET", "/payloadCountsBreakdown", "payloadCountsBreakdown", self.payload_breakdown),
            ("GET", "/readme", "readme", self.readme),
            ("PATCH", "/readme", "readmePatch", self.readme_patch),
            ("GET", "/search", "search", self.search),
            ("GET", "/jobLogs", "jobLogs", self.job_logs),
            ("GET", "/jobLogs/{jobId}", "jobLog", self.job_log),
        ]
        routes = [
            Route(base + path, self._endpoint(action, handler), methods=[method], name=action)
            for method, path, action, handler in table
        ]
        routes.append(Route("/_local/downloads/{key}", self.download, methods=["GET"]))

        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            return _error_response(ApiError(status, str(getattr(exc, "detail", "")) or "Error"))

        app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
        return _DateHeader(app, self.state)

    def _endpoint(self, action: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            app_id = str(request.path_params["applicationId"])
            try:
                self._check_version(request)
                delay = self.faults.take_latency(action, app_id)
                if delay:
                    await anyio.sleep(delay)
                injected = self.faults.take_fail(action, app_id)
                if injected is not None:
                    status, retry_after = injected
                    raise ApiError(status, "Injected failure", headers=_retry_after(retry_after))
                token_id = self._authorize(request, action, app_id)
                links = _bool(request.query_params.get("_links"), "_links")
                _bool(request.query_params.get("_actions"), "_actions")
                _bool(request.query_params.get("_embedded"), "_embedded")
                if not _ID.match(app_id):
                    raise ApiError(400, "applicationId must be 24 hexadecimal characters")
                if not self.state.exists(app_id):
                    raise ApiError(404, "Application was not found")
                response = await handler(
                    Context(request, action, app_id, token_id, links, self.state.now())
                )
            except ApiError as error:
                response = _error_response(error)
            if not isinstance(response, SSEResponse):
                response = self._maybe_break(response, action, app_id)
            return response

        return endpoint

    @staticmethod
    def _check_version(request: Request) -> None:
        """400 `VersionNotAllowed` unless `Accept-Version` (if any) admits API 1.30.0."""
        wanted = request.headers.get("accept-version")
        if wanted is not None and not _versions.accepts(wanted):
            raise ApiError(
                400,
                f"{wanted} is not supported by {request.method} {request.url.path}",
                type_="VersionNotAllowed",
            )

    def _authorize(self, request: Request, action: str, app_id: str) -> str:
        # Losant answers a request without a token 403 and one with an invalid
        # or expired token 401 (spec/losant-api/README.md).
        scheme, _, credential = request.headers.get("authorization", "").strip().partition(" ")
        credential = credential.strip()
        if not credential:
            raise ApiError(403, "Authorization required: no API token was sent")
        token = self.state.token(credential) if scheme.lower() == "bearer" else None
        if token is None:
            raise ApiError(401, "Authorization failed: the API token is invalid or expired")
        if token.scopes.isdisjoint(_schemas.accepted_scopes(action)):
            raise ApiError(403, f"The token does not have a scope that allows {action}")
        if token.application_id is not None and token.application_id != app_id:
            raise ApiError(403, "The token does not have access to this application")
        return token.id

    def _maybe_break(self, response: Response, action: str, app_id: str) -> Response:
        kind = self.faults.take_bad_body(action, app_id)
        if kind is None:
            return response
        if kind == "not_json":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            return Response(page, status_code=response.status_code, media_type="text/html")
        body = bytes(response.body)
        return Response(
            body[: len(body) // 2], status_code=response.status_code, media_type="application/json"
        )

    def _range(self, ctx: Context) -> tuple[int, int]:
        params = ctx.request.query_params
        start = _int(params.get("start"), "start")
        end = _int(params.get("end"), "end")
        try:
            return _usage.resolve_range(start, end, now_ms=ms(self.state.now()))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None

    # -- the application itself -----------------------------------------------

    async def get(self, ctx: Context) -> Response:
        return self._reply(ctx, 200, self._application(ctx))

    async def patch(self, ctx: Context) -> Response:
        body = await self._body(ctx, "applicationPatch", "application")
        self.state.patch_application(ctx.application_id, body)
        return self._reply(ctx, 200, self._application(ctx))

    async def delete(self, ctx: Context) -> Response:
        self.state.delete_application(ctx.application_id)
        return self._reply(ctx, 200, {"success": True})

    async def globals_(self, ctx: Context) -> Response:
        body = await self._body(ctx, "applicationGlobalPatch", "globals")
        try:
            self.state.patch_globals(ctx.application_id, body)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return self._reply(ctx, 200, self._application(ctx))

    async def readme(self, ctx: Context) -> Response:
        return self._reply(ctx, 200, self.state.readme(ctx.application_id))

    async def readme_patch(self, ctx: Context) -> Response:
        body = await self._body(ctx, "applicationReadmePatch", "readme")
        readme = self.state.patch_readme(
            ctx.application_id, body.get("content", ""), by_token=ctx.token_id
        )
        return self._reply(ctx, 200, readme)

    async def search(self, ctx: Context) -> Response:
        text = ctx.request.query_params.get("filter")
        if not text:
            raise ApiError(400, "filter is required and must not be empty")
        return self._reply(ctx, 200, self.state.search(ctx.application_id, text))

    # -- usage ----------------------------------------------------------------

    async def device_counts(self, ctx: Context) -> Response:
        start, end = self._range(ctx)
        return self._reply(ctx, 200, _usage.device_counts(ctx.application_id, start, end))

    async def notebook_counts(self, ctx: Context) -> Response:
        start, end = self._range(ctx)
        return self._reply(ctx, 200, _usage.notebook_counts(ctx.application_id, start, end))

    async def payload_counts(self, ctx: Context) -> Response:
        start, end = self._range(ctx)
        as_bytes = _bool(ctx.request.query_params.get("asBytes"), "asBytes")
        return self._reply(
            ctx, 200, _usage.payload_stats(ctx.application_id, start, end, as_bytes=as_bytes)
        )

    async def payload_breakdown(self, ctx: Context) -> Response:
        start, end = self._range(ctx)
        params = ctx.request.query_params
        resolution = params.get("resolution") or str(_usage.DAY_MS)
        if resolution not in (str(_usage.DAY_MS), str(_usage.HOUR_MS)):
            raise ApiError(400, "resolution must be one of 86400000, 3600000")
        body = _usage.payload_breakdown(
            ctx.application_id,
            start,
            end,
            resolution=int(resolution),
            as_bytes=_bool(params.get("asBytes"), "asBytes"),
            non_billable=_bool(params.get("includeNonBillable"), "includeNonBillable"),
        )
        return self._reply(ctx, 200, body)

    # -- MQTT -----------------------------------------------------------------

    async def publish(self, ctx: Context) -> Response:
        body = await self._body(ctx, "mqttPublishBody", "payload")
        if "+" in body["topic"] or "#" in body["topic"]:
            raise ApiError(400, "payload.topic must not contain wildcards")
        self.broker.publish(ctx.application_id, body["topic"], body["message"])
        return self._reply(ctx, 200, {"success": True})

    async def subscribe(self, ctx: Context) -> Response:
        params = ctx.request.query_params
        topic = params.get("topic")
        if not topic or not valid_filter(topic):
            raise ApiError(400, "topic is required and must be a valid MQTT topic filter")
        try:
            keep_alive = parse_keep_alive(params.get("keepAliveInterval"), self._keep_alive)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if self.broker.closed:
            raise ApiError(503, "The server is shutting down")
        last_id = None
        if self.replay:
            last = ctx.request.headers.get("last-event-id", "").strip()
            last_id = int(last) if last.isdigit() else None
        subscriber = self.broker.subscribe(ctx.application_id, topic, last_id)
        return SSEResponse(
            self.broker,
            subscriber,
            keep_alive=keep_alive,
            drop_after=self.faults.take_drop(ctx.application_id),
            stall=self.faults.take_stall(ctx.application_id),
            with_ids=self.replay,
            headers={"Cache-Control": "no-cache"},
        )

    # -- downloads (no token: like a signed URL) ------------------------------

    async def download(self, request: Request) -> Response:
        key = str(request.path_params["key"])
        if key.startswith("template-"):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w"):
                pass
            return Response(buffer.getvalue(), media_type="application/zip")
        data = self.state.export(key)
        if data is None:
            return _error_response(ApiError(404, "Download was not found"))
        return Response(data, media_type="application/zip")
