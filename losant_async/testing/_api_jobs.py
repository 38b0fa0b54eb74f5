"""The local Losant's job handlers: the eight enqueuing actions and the logs they fill.

This module owns the handlers of the actions that may answer ``202 Accepted``
(``export``, ``clone``, ``applyTemplate``, ``import`` and the four archive
actions), the ``_local/downloads`` zips they produce, and the handlers of the
logs a client follows them through (``importLogs``, ``jobLogs``,
``jobLogs/{jobId}``). Jobs themselves run in ``_jobs.JobRunner``; the routes
that reach these handlers are in ``_api``.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

from starlette.datastructures import UploadFile
from starlette.responses import Response

from losant_async.testing import _query, _schemas, _usage
from losant_async.testing._api_base import _ID, ApiBase, ApiError, Context, _dump, _int
from losant_async.testing._jobs import Completion
from losant_async.testing._state import Json

_JOB_LOG_SORT_FIELDS = (
    "name",
    "status",
    "resourceType",
    "runQueuedAt",
    "runStartedAt",
    "runCompletedAt",
)


class JobHandlers(ApiBase):
    """The handlers of the job-enqueuing actions and of the job and import logs."""

    # -- jobs -----------------------------------------------------------------

    def _enqueue(
        self, ctx: Context, on_complete: Completion, *, fields: Json | None = None
    ) -> Response:
        """Enqueue the job of ``ctx.action`` and answer 202 with its ``jobId``."""
        job_id = self.jobs.enqueue(
            ctx.action,
            ctx.application_id,
            queued_at=ctx.queued_at,
            requested_by=ctx.token_id,
            fields=fields,
            on_complete=on_complete,
        )
        return self._reply(ctx, 202, {"jobQueued": True, "jobId": job_id, "success": True})

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
        return self._enqueue(ctx, lambda: self._output_for(action, app_id))

    async def archive_data(self, ctx: Context) -> Response:
        date = _int(ctx.request.query_params.get("date"), "date")
        if date is None:
            raise ApiError(400, "date is required")
        app_id = ctx.application_id
        return self._enqueue(
            ctx,
            lambda: self._output_for("archiveData", app_id),
            fields={"input": {"start": date, "end": date + _usage.DAY_MS}},
        )

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
        return self._enqueue(ctx, lambda: {"downloadUrls": [self._export_zip(app_id)]})

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

        return self._enqueue(ctx, complete)

    async def apply_template(self, ctx: Context) -> Response:
        body = await self._body(ctx, "applicationApplyTemplatePatch", "options")
        app_id, template_id = ctx.application_id, body["templateId"]
        fields: Json = {
            "importSourceType": "importUrl",
            "importUrl": f"{self._base_url()}/_local/downloads/template-{template_id}",
        }
        if "email" in body:
            fields["email"] = body["email"]
        return self._enqueue(
            ctx, lambda: self.state.add_template(app_id, template_id), fields=fields
        )

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
        return self._enqueue(ctx, lambda: self.state.touch(app_id), fields=fields)

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
            problem = _schemas.validation_error(
                "advancedApplicationJobLogQuery", query, where="query"
            )
            if problem is not None:
                raise ApiError(400, problem)
            try:
                _query.check(query)
            except _query.QueryError as exc:
                raise ApiError(400, str(exc)) from None
        items = [
            entry for entry in self.state.job_logs(ctx.application_id) if _query.match(query, entry)
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
