"""Handlers of the eight actions that may answer ``202 Accepted``, and of their downloads.

``export``, ``clone``, ``applyTemplate``, ``import`` and the four archive
actions enqueue a job in ``_jobs.JobRunner`` and answer ``202`` with its
``jobId`` (or answer at once where Losant does: a small application's export
or clone, an empty import bundle, a dry run). The ``_local/downloads`` zips
that exports and template imports point at are served by ``download``, which
needs no token (like a signed URL). The logs a client follows a job through
are in ``logs``.
"""

from __future__ import annotations

import io
import json
import zipfile

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from losant_async.testing import _schemas, _usage
from losant_async.testing._context import (
    ApiError,
    Call,
    Context,
    application_body,
    dump_json,
    error_response,
    query_int,
    read_body,
    reply,
)
from losant_async.testing._jobs import Completion
from losant_async.testing._state import Json

# Options of `import` copied into its import log entry.
_IMPORT_LOG_FIELDS = (
    "importUrl",
    "callbackUrl",
    "conflictBehavior",
    "include",
    "credentialName",
    "repo",
)


def _enqueue(
    ctx: Context, call: Call, on_complete: Completion, *, fields: Json | None = None
) -> Response:
    """Enqueue the job of ``call.action`` and answer 202 with its ``jobId``."""
    job_id = ctx.jobs.enqueue(
        call.action,
        call.application_id,
        queued_at=call.queued_at,
        requested_by=call.token_id,
        fields=fields,
        on_complete=on_complete,
    )
    return reply(ctx, call, 202, {"jobQueued": True, "jobId": job_id, "success": True})


def _archive_output(action: str, app_id: str) -> Json:
    """The job log `output` of an archive job: where the archive went."""
    folder = f"s3://local-losant-archive/{app_id}"
    outputs: dict[str, Json] = {
        "archiveData": {"devicesDirectory": f"{folder}/devices"},
        "backfillArchiveData": {"devicesDirectory": f"{folder}/devices"},
        "fullDataTablesArchive": {"dataTablesDirectory": f"{folder}/dataTables"},
        "fullEventsArchive": {"eventsDirectory": f"{folder}/events"},
    }
    return outputs[action]


async def archive(ctx: Context, call: Call) -> Response:
    """`GET .../backfillArchiveData`, `.../fullDataTablesArchive`, `.../fullEventsArchive`."""
    action, app_id = call.action, call.application_id
    return _enqueue(ctx, call, lambda: _archive_output(action, app_id))


async def archive_data(ctx: Context, call: Call) -> Response:
    """`GET .../archiveData?date=`: archive one day."""
    date = query_int(call.request.query_params.get("date"), "date")
    if date is None:
        raise ApiError(400, "date is required")
    app_id = call.application_id
    return _enqueue(
        ctx,
        call,
        lambda: _archive_output("archiveData", app_id),
        fields={"input": {"start": date, "end": date + _usage.DAY_MS}},
    )


def _export_zip(ctx: Context, app_id: str) -> str:
    """Store a zip of the application (empty once it is gone) and return its download URL."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if ctx.state.exists(app_id):
            archive.writestr("application.json", dump_json(ctx.state.application(app_id)))
    return f"{ctx.base_url()}/_local/downloads/{ctx.state.store_export(buffer.getvalue())}"


async def export(ctx: Context, call: Call) -> Response:
    """`POST .../export`: 200 with the URL at once, or 202 for a job (`forceJob`, large apps)."""
    body = await read_body(call, "applicationExportPost", "options")
    app_id = call.application_id
    if not body.get("forceJob") and not ctx.state.requires_job(app_id):
        return reply(ctx, call, 200, {"url": _export_zip(ctx, app_id)})
    return _enqueue(ctx, call, lambda: {"downloadUrls": [_export_zip(ctx, app_id)]})


async def clone(ctx: Context, call: Call) -> Response:
    """`POST .../clone`: a dry run, a clone at once (201), or a job (202)."""
    body = await read_body(call, "applicationClonePost", "options", required=False)
    app_id = call.application_id
    needs_job = ctx.state.requires_job(app_id)
    if body.get("dryRun"):
        return reply(ctx, call, 200, {"success": True, "requiresJob": needs_job})
    if not body.get("forceJob") and not needs_job:
        clone_id = ctx.state.clone_application(app_id)
        return reply(ctx, call, 201, {"application": application_body(ctx, call, clone_id)})

    def complete() -> Json:
        clone_id = ctx.state.clone_application(app_id)
        return {} if clone_id is None else {"applicationId": clone_id}

    return _enqueue(ctx, call, complete)


async def apply_template(ctx: Context, call: Call) -> Response:
    """`PATCH .../applyTemplate`: an import job from the template's (local) download URL."""
    body = await read_body(call, "applicationApplyTemplatePatch", "options")
    app_id, template_id = call.application_id, body["templateId"]
    fields: Json = {
        "importSourceType": "importUrl",
        "importUrl": f"{ctx.base_url()}/_local/downloads/template-{template_id}",
    }
    if "email" in body:
        fields["email"] = body["email"]
    return _enqueue(ctx, call, lambda: ctx.state.add_template(app_id, template_id), fields=fields)


async def import_(ctx: Context, call: Call) -> Response:
    """`POST .../import` (multipart): a bundle, an `importUrl` or another application."""
    request = call.request
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(400, "The request body must be multipart/form-data")
    async with request.form() as form:
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
    entries = _bundle_entries(data)
    source = options.get("fromApplicationId")
    if source is not None and not ctx.state.exists(source):
        raise ApiError(404, "The application to import from was not found")
    if entries is None and "importUrl" not in options and source is None:
        raise ApiError(
            400,
            "One of importBundle, options.importUrl or options.fromApplicationId is required",
        )
    app_id = call.application_id
    if entries == 0 and not options.get("forceJob") and not options.get("dryRun"):
        # An empty bundle imports nothing: answered at once, like Losant's 200.
        ctx.state.touch(app_id)
        return reply(ctx, call, 200, application_body(ctx, call))
    fields: Json = {key: options[key] for key in _IMPORT_LOG_FIELDS if key in options}
    fields["dryRun"] = bool(options.get("dryRun", False))
    if entries is not None:
        fields["importSourceType"] = "importBundle"
    elif source is not None:
        fields.update(importSourceType="fromApplication", fromApplicationId=source)
    else:
        fields["importSourceType"] = "importUrl"
    if isinstance(email, str):
        fields["email"] = email
    return _enqueue(ctx, call, lambda: ctx.state.touch(app_id), fields=fields)


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


async def download(ctx: Context, request: Request) -> Response:
    """`GET /_local/downloads/{key}`: an export's zip, or an empty zip for a template."""
    key = str(request.path_params["key"])
    if key.startswith("template-"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w"):
            pass
        return Response(buffer.getvalue(), media_type="application/zip")
    data = ctx.state.export(key)
    if data is None:
        return error_response(ApiError(404, "Download was not found"))
    return Response(data, media_type="application/zip")
