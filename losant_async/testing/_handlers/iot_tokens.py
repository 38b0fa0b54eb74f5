"""Application API tokens: a token made here works as a bearer token, with its scopes."""

from __future__ import annotations

import copy
import secrets
from datetime import datetime

from starlette.responses import Response

from losant_async.testing._context import ApiError, Call, Context, read_body, reply
from losant_async.testing._iot_http import (
    Json,
    action,
    choice,
    name_filter,
    page,
    param,
    path_id,
    sort_key,
    store,
)
from losant_async.testing._iot_store import new_id

_TOKEN_SORT = ("name", "status", "id", "creationDate", "lastUpdated", "expirationDate")


def _scopes(record: Json) -> list[str]:
    return list(record.get("scope") or ["all.Application"])


@action("applicationApiTokens.post")
async def post_token(ctx: Context, call: Call) -> Response:
    """`POST .../tokens`: a new token; its secret is in this answer only (`token`)."""
    body = await read_body(call, "apiTokenPost", "apiToken")
    if "expirationDate" in body:
        moment = datetime.fromisoformat(body["expirationDate"].replace("Z", "+00:00"))
        if moment <= ctx.state.now():
            raise ApiError(400, "apiToken.expirationDate must be in the future")
    secret = "local_" + secrets.token_urlsafe(24)
    token_id = new_id()
    record = store(ctx).create_api_token(
        call.application_id, body, creator_id=call.token_id, secret=secret, token_id=token_id
    )
    if record["status"] == "active":
        ctx.state.put_token(secret, _scopes(record), call.application_id, token_id)
    return reply(ctx, call, 201, record)


@action("applicationApiTokens.get")
async def get_tokens(ctx: Context, call: Call) -> Response:
    iot = store(ctx)
    with iot.lock:
        tokens = [copy.deepcopy(t) for t in iot.tokens.get(call.application_id, {}).values()]
    keep = name_filter(call, ("name", "status"))
    tokens = [token for token in tokens if keep(token)]
    sort_field = choice(call, "sortField", _TOKEN_SORT, "name")
    direction = choice(call, "sortDirection", ("asc", "desc"), "asc")
    tokens.sort(key=sort_key(sort_field), reverse=direction == "desc")
    window, paging = page(call, tokens)
    body: Json = {
        "items": window,
        **paging,
        "sortField": sort_field,
        "sortDirection": direction,
        "ownerId": call.application_id,
        "ownerType": "application",
    }
    if param(call, "filter") is not None:
        body.update(filter=param(call, "filter"), filterField=param(call, "filterField") or "name")
    return reply(ctx, call, 200, body)


def _token_id(call: Call) -> str:
    return path_id(call, "apiTokenId")


@action("applicationApiToken.get")
async def get_token(ctx: Context, call: Call) -> Response:
    iot = store(ctx)
    with iot.lock:
        record = copy.deepcopy(iot.api_token(call.application_id, _token_id(call)))
    return reply(ctx, call, 200, record)


@action("applicationApiToken.patch")
async def patch_token(ctx: Context, call: Call) -> Response:
    """`PATCH .../tokens/{id}`: rename, or (de)activate: an inactive token is answered 401."""
    body = await read_body(call, "apiTokenPatch", "apiToken")
    iot, token_id = store(ctx), _token_id(call)
    with iot.lock:
        record = iot.api_token(call.application_id, token_id)
        record.update(copy.deepcopy(body))
        record["lastUpdated"] = iot.stamp()
        secret = iot.token_secrets[token_id]
        answer = copy.deepcopy(record)
    if answer["status"] == "active":
        ctx.state.put_token(secret, _scopes(answer), call.application_id, token_id)
    elif ctx.state.token(secret) is not None:
        ctx.state.revoke_token(secret)
    return reply(ctx, call, 200, answer)


@action("applicationApiToken.delete")
async def delete_token(ctx: Context, call: Call) -> Response:
    secret = store(ctx).delete_api_token(call.application_id, _token_id(call))
    if ctx.state.token(secret) is not None:
        ctx.state.revoke_token(secret)
    return reply(ctx, call, 200, {"success": True})
