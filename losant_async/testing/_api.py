"""The Starlette app of the local Losant: auth, faults, validation, then one handler per action."""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from losant_async.testing import _schemas, _usage
from losant_async.testing._faults import Faults
from losant_async.testing._jobs import JobRunner
from losant_async.testing._sse import Broker, SSEResponse, parse_keep_alive, valid_filter
from losant_async.testing._state import Json, State, ms, new_id, now

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
_JOB_LOG_SORT_FIELDS = (
    "name",
    "status",
    "resourceType",
    "runQueuedAt",
    "runStartedAt",
    "runCompletedAt",
)


class ApiError(Exception):
    """An error answer in Losant's shape: `{"type": ..., "message": ...}`."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_type(status: int) -> str:
    return _ERROR_TYPES.get(status, "ServerError" if status >= 500 else "Error")


def _dump(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(_dump(body), status_code=status, headers=headers, media_type="application/json")


def _error_response(error: ApiError) -> Response:
    body = {"type": error_type(error.status), "message": error.message}
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
        self, request: Request, action: str, application_id: str, token_id: str, links: bool
    ) -> None:
        self.request = request
        self.action = action
        self.application_id = application_id
        self.token_id = token_id
        self.links = links
        # The moment the request arrived: what a job's runQueuedAt reports.
        self.queued_at = now()


Handler = Callable[[Context], Awaitable[Response]]


class Api:
    """Routes, request checks and the 24 handlers over `State`, `Broker` and `JobRunner`."""

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
        self._links_template: dict[str, str] = {
            name: link["href"] for name, link in _schemas.api()["application"]["links"].items()
        }

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

    def _reply(self, ctx: Context, status: int, body: object) -> Response:
        if self._check_responses:
            resource, action = "application", ctx.action
            if action in ("jobLogs", "jobLog"):
                resource = "applicationJobLogs" if action == "jobLogs" else "applicationJobLog"
                action = "get"
            name = _schemas.response_schema(resource, action, status)
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

    def _range(self, ctx: Context) -> tuple[int, int]:
        params = ctx.request.query_params
        start = _int(params.get("start"), "start")
        end = _int(params.get("end"), "end")
        try:
            return _usage.resolve_range(start, end, now_ms=ms(now()))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None

    def _enqueued(self, ctx: Context, job_id: str) -> Response:
        return self._reply(ctx, 202, {"jobQueued": True, "jobId": job_id, "success": True})

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

    # -- jobs -----------------------------------------------------------------

    def _output_for(self, action: str, app_id: str) -> Json:
        folder = f"s3://local-losant-archive/{app_id}"
        outputs: dict[str, Json] = {
            "archiveData": {"devicesDirectory": f"{folder}/devices"},
            "backfillArchiveData": {"devicesDirectory": f"{folder}/devices"},
            "fullDataTablesArchive": {"dataTablesDirectory": f"{folder}/dataTables"},
            "fullEventsArchive": {"eventsDirectory": f"{folder}/events"},
        }
        return outputs[action]

    async def simple_job(self, ctx: Context) -> Response:
        action, app_id = ctx.action, ctx.application_id
        job_id = self.jobs.enqueue(
            action,
            app_id,
            queued_at=ctx.queued_at,
            requested_by=ctx.token_id,
            on_complete=lambda: self._output_for(action, app_id),
        )
        return self._enqueued(ctx, job_id)

    async def archive_data(self, ctx: Context) -> Response:
        date = _int(ctx.request.query_params.get("date"), "date")
        if date is None:
            raise ApiError(400, "date is required")
        app_id = ctx.application_id
        job_id = self.jobs.enqueue(
            "archiveData",
            app_id,
            queued_at=ctx.queued_at,
            requested_by=ctx.token_id,
            fields={"input": {"start": date, "end": date + _usage.DAY_MS}},
            on_complete=lambda: self._output_for("archiveData", app_id),
        )
        return self._enqueued(ctx, job_id)

    def _export_zip(self, app_id: str) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            if self.state.exists(app_id):
                archive.writestr("application.json", _dump(self.state.application(app_id)))
        return f"{self._base_url()}/_local/downloads/{self.state.store_export(buffer.getvalue())}"

    async def export(self, ctx: Context) -> Response:
        body = await self._body(ctx, "applicationExportPost", "options")
        app_id = ctx.application_id
        if not body.get("forceJob") and not self.state.requires_job(app_id):
            return self._reply(ctx, 200, {"url": self._export_zip(app_id)})
        job_id = self.jobs.enqueue(
            "export",
            app_id,
            queued_at=ctx.queued_at,
            requested_by=ctx.token_id,
            on_complete=lambda: {"downloadUrls": [self._export_zip(app_id)]},
        )
        return self._enqueued(ctx, job_id)

    async def clone(self, ctx: Context) -> Response:
        body = await self._body(ctx, "applicationClonePost", "options", required=False)
        app_id = ctx.application_id
        needs_job = self.state.requires_job(app_id)
        if body.get("dryRun"):
            return self._reply(ctx, 200, {"success": True, "requiresJob": needs_job})
        if not body.get("forceJob") and not needs_job:
            clone_id = self.state.clone_application(app_id)
            return self._reply(ctx, 201, {"application": self._application(ctx, clone_id)})

        def complete() -> Json:
            clone_id = self.state.clone_application(app_id)
            return {} if clone_id is None else {"applicationId": clone_id}

        job_id = self.jobs.enqueue(
            "clone",
            app_id,
            queued_at=ctx.queued_at,
            requested_by=ctx.token_id,
            on_complete=complete,
        )
        return self._enqueued(ctx, job_id)

    async def apply_template(self, ctx: Context) -> Response:
        body = await self._body(ctx, "applicationApplyTemplatePatch", "options")
        app_id, template_id = ctx.application_id, body["templateId"]
        fields: Json = {
            "importSourceType": "importUrl",
            "importUrl": f"{self._base_url()}/_local/downloads/template-{template_id}",
        }
        if "email" in body:
            fields["email"] = body["email"]
        job_id = self.jobs.enqueue(
            "applyTemplate",
            app_id,
            queued_at=ctx.queued_at,
            requested_by=ctx.token_id,
            fields=fields,
            on_complete=lambda: self.state.add_template(app_id, template_id),
        )
        return self._enqueued(ctx, job_id)

    async def import_(self, ctx: Context) -> Response:
        if not ctx.request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise ApiError(400, "The request body must be multipart/form-data")
        async with ctx.request.form() as form:
            bundle = form.get("importBundle")
            email = form.get("email")
            raw_options = form.get("options")
            if isinstance(raw_options, UploadFile):
                raw_options = (await raw_options.read()).decode("utf-8", "replace")
            data = await bundle.read() if isinstance(bundle, UploadFile) else None
        options: Json = {}
        if raw_options is not None:
            try:
                options = json.loads(raw_options)
            except ValueError:
                raise ApiError(400, "options is not valid JSON") from None
            problem = _schemas.validation_error(
                "importIntoApplicationOptions", options, where="options"
            )
            if problem is not None:
                raise ApiError(400, problem)
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise ApiError(400, "email must be an email address")
        entries = self._bundle_entries(data)
        source = options.get("fromApplicationId")
        if source is not None and not self.state.exists(source):
            raise ApiError(404, "The application to import from was not found")
        if entries is None and "importUrl" not in options and source is None:
            raise ApiError(
                400,
                "One of importBundle, options.importUrl or options.fromApplicationId is required",
            )
        app_id = ctx.application_id
        if entries == 0 and not options.get("forceJob") and not options.get("dryRun"):
            # An empty bundle imports nothing: answered at once, like Losant's 200.
            self.state.touch(app_id)
            return self._reply(ctx, 200, self._application(ctx))
        fields: Json = {
            key: options[key]
            for key in (
                "importUrl",
                "callbackUrl",
                "conflictBehavior",
                "include",
                "credentialName",
                "repo",
            )
            if key in options
        }
        fields["dryRun"] = bool(options.get("dryRun", False))
        if entries is not None:
            fields["importSourceType"] = "importBundle"
        elif source is not None:
            fields.update(importSourceType="fromApplication", fromApplicationId=source)
        else:
            fields["importSourceType"] = "importUrl"
        if isinstance(email, str):
            fields["email"] = email
        job_id = self.jobs.enqueue(
            "import",
            app_id,
            queued_at=ctx.queued_at,
            requested_by=ctx.token_id,
            fields=fields,
            on_complete=lambda: self.state.touch(app_id),
        )
        return self._enqueued(ctx, job_id)

    @staticmethod
    def _bundle_entries(data: bytes | None) -> int | None:
        """The number of files in the zip bundle, None without one; 400 if it is not a zip."""
        if data is None:
            return None
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if archive.testzip() is not None:
                    raise zipfile.BadZipFile("bad member")
                return len(archive.infolist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
            raise ApiError(400, "importBundle is not a valid zip file") from None

    # -- logs -----------------------------------------------------------------

    async def import_logs(self, ctx: Context) -> Response:
        params = ctx.request.query_params
        limit = _int(params.get("limit"), "limit", default=1, minimum=1)
        since = _int(params.get("since"), "since")
        since_dt = None if since is None else datetime.fromtimestamp(since / 1000, UTC)
        logs = self.state.import_logs(ctx.application_id, limit=limit or 1, since=since_dt)
        return self._reply(ctx, 200, logs)

    async def job_logs(self, ctx: Context) -> Response:
        params = ctx.request.query_params
        sort_field = params.get("sortField") or "runQueuedAt"
        if sort_field not in _JOB_LOG_SORT_FIELDS:
            raise ApiError(400, f"sortField must be one of {', '.join(_JOB_LOG_SORT_FIELDS)}")
        direction = (params.get("sortDirection") or "asc").lower()
        if direction not in ("asc", "desc"):
            raise ApiError(400, "sortDirection must be asc or desc")
        page = _int(params.get("page"), "page", default=0, minimum=0) or 0
        per_page = _int(params.get("perPage"), "perPage", default=100, minimum=1) or 100
        query: Json = {}
        if params.get("query"):
            try:
                query = json.loads(params["query"])
            except ValueError:
                raise ApiError(400, "query is not valid JSON") from None
            if not isinstance(query, dict):
                raise ApiError(400, "query must be a JSON object")
        items = [
            entry
            for entry in self.state.job_logs(ctx.application_id)
            if all(
                entry.get(key) == value
                for key, value in query.items()
                if not isinstance(value, dict | list)
            )
        ]
        items.sort(key=lambda entry: str(entry.get(sort_field, "")), reverse=direction == "desc")
        window = items[page * per_page : (page + 1) * per_page]
        body = {
            "items": window,
            "count": len(window),
            "totalCount": len(items),
            "perPage": per_page,
            "page": page,
            "sortField": sort_field,
            "sortDirection": direction,
            "applicationId": ctx.application_id,
            "query": query,
        }
        return self._reply(ctx, 200, body)

    async def job_log(self, ctx: Context) -> Response:
        job_id = str(ctx.request.path_params["jobId"])
        if not _ID.match(job_id):
            raise ApiError(400, "jobId must be 24 hexadecimal characters")
        entry = self.state.job_log(ctx.application_id, job_id)
        if entry is None:
            raise ApiError(404, "Application job log was not found")
        return self._reply(ctx, 200, entry)

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
