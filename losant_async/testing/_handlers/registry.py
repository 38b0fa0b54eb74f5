"""The seam for specific handlers of the whole API's actions: `HANDLERS`, filled by `register`.

The router (`_routes`) answers an action `<resource>.<action>` of the whole
API (`"devices.get"`, `"device.sendState"`, `"dataTableRows.post"`) with
`HANDLERS[key]` when there is one, else with the schema-driven default
(`_generic.default`). Modules that fill it (`_handlers/iot_*.py`) are
imported by `_routes.IOT_MODULES`; a key that is not an action of the
definition is refused at import. The 22 Application actions and the job logs
keep their own routes (`_routes.ROUTES`) and are not looked up here.

A handler is a plain async function `handler(ctx, call) -> Response`
(`_context.Handler`). By the time it runs, the pipeline has checked the
`Accept-Version`, taken the faults armed for `call.action` (latency, fail),
checked the token and its scopes, that the application exists (404
otherwise), the path and query parameters against the definition (pattern,
enum, required) and the JSON body against its schema (400 `Validation`).

- Path parameters: `call.path_params["deviceId"]` (all of them, strings);
  `call.application_id` is the application ("" outside one).
- Query: `call.query["perPage"]` (the definition's parameters as sent,
  strings); anything else from `call.request.query_params`; `query_int` /
  `query_bool` (`_context`) convert.
- Body: `call.body`, the decoded JSON (None when none was sent); a multipart
  upload's text fields as a dict (uploaded files are not kept).
- Answer: `reply(ctx, call, status, body)` (`_context`), which checks the body
  against the status's schema of `call.action` (a 500 `LocalLosantBug` if
  not); `raise ApiError(404, "Device was not found")` for an error body.
- An SSE stream: return `_sse.SSEResponse` (or a Response of your own with
  `media_type="text/event-stream"`); take the stream faults armed for the
  action with `ctx.faults.take_drop(app_id, call.action)` and
  `ctx.faults.take_stall(app_id, call.action)`; write keep-alives as `:\\n\\n`.
  A stream answer is never broken by `bad_body`.
- A 202 job: `ctx.jobs.enqueue(call.action, call.application_id,
  queued_at=call.queued_at, requested_by=call.token_id, on_complete=...)`
  (`_jobs.JobRunner`) then `reply(ctx, call, 202, {"jobQueued": True,
  "jobId": job_id, "success": True})`; `faults.fail_job(action)` applies.
- Stored objects of the schema-driven actions are in `ctx.store`
  (`_store.Store`, by concrete path) should a handler need them.
"""

from __future__ import annotations

from collections.abc import Callable

from losant_async.testing._context import Handler

HANDLERS: dict[str, Handler] = {}
"""Specific handlers of the whole API's actions, by `<resource>.<action>`."""


def register(key: str) -> Callable[[Handler], Handler]:
    """Decorator: make the function the handler of action `key` (`@register("devices.get")`).

    Raises ValueError if `key` is not an action of the definition or already has a handler.
    """
    from losant_async.testing._api_tables import ACTIONS

    if key not in ACTIONS:
        raise ValueError(f"{key!r} is not an action of the API definition")

    def decorate(handler: Handler) -> Handler:
        if key in HANDLERS and HANDLERS[key] is not handler:
            raise ValueError(f"{key!r} has a handler already")
        HANDLERS[key] = handler
        return handler

    return decorate
