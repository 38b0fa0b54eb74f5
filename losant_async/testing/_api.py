"""The Starlette app of the local Losant: auth, faults, validation, then one handler per action."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from losant_async.testing import _schemas, _usage
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
from losant_async.testing._state import ms, new_id, now


class Api(JobHandlers):
    """Routes, request checks and the 24 handlers over `State`, `Broker` and `JobRunner`.

    The job and log handlers come from ``JobHandlers``, the shared state and
    checks from ``ApiBase``.
    """

    # -- app and routing ------------------------------------------------------

    def app(self) -> Starlette:
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

        return Starlette(routes=routes, exception_handlers={HTTPException: http_error})

    def _endpoint(self, action: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            app_id = str(request.path_params["applicationId"])
            try:
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
                response = await handler(Context(request, action, app_id, token_id, links))
            except ApiError as error:
                response = _error_response(error)
            if not isinstance(response, SSEResponse):
                response = self._maybe_break(response, action, app_id)
            response.headers["X-Request-Id"] = new_id()
            return response

        return endpoint

    def _authorize(self, request: Request, action: str, app_id: str) -> str:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        token = self.state.token(credential.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise ApiError(401, "Authorization failed: a valid API token is required")
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
            return _usage.resolve_range(start, end, now_ms=ms(now()))
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
        last = ctx.request.headers.get("last-event-id", "").strip()
        last_id = int(last) if last.isdigit() else None
        subscriber = self.broker.subscribe(ctx.application_id, topic, last_id)
        return SSEResponse(
            self.broker,
            subscriber,
            keep_alive=keep_alive,
            drop_after=self.faults.take_drop(ctx.application_id),
            stall=self.faults.take_stall(ctx.application_id),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
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
