"""Schema-driven answers: what every action without a specific handler answers.

`default(ctx, call)` classifies the action once from the API definition
(`_api_tables`): a `POST` on a collection creates an item (a fresh 24-hex
id, `creationDate` / `lastUpdated`, the body's fields), `GET` on the item
returns it, `PATCH` / `PUT` merge into it, `DELETE` removes it
(`{"success": true}`), `GET` on a collection answers the page shape of its
schema with the stored items (`page` / `perPage` honoured); any other action
answers a minimal valid object of its success schema. Objects live in the
`_store.Store` of the server (`ctx.store`). Every answer is built to its
schema (`shape`), and `reply` checks it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from losant_async.testing import _api_tables, _schemas
from losant_async.testing._context import ApiError, Call, Context, query_int, reply
from losant_async.testing._state import iso, new_id

_ID = re.compile(r"^[A-Fa-f\d]{24}$")
# Strings tried, in order, against a `pattern` (the definition's patterns are few).
_CANDIDATES = (
    "local",
    "local-item",
    "1.0.0",
    "{{local}}",
    "LocalPassw0rd!x",
    "data:image/png;base64,",
    "",
)
_MAX_DEPTH = 16
_SUCCESS_ORDER = (200, 201, 202, 204)


# -- building objects to a schema ---------------------------------------------


def _valid(node: Mapping[str, Any], value: object) -> bool:
    return bool(_schemas.validator_for(node).is_valid(value))


def minimal(node: Mapping[str, Any], stamp: str, depth: int = 0, *, full: bool = False) -> Any:
    """A small value valid against `node` (best effort: `shape` checks it).

    With `full`, an object gets every field its schema names, not just the required ones.
    """
    node = _schemas.resolve(node)
    if depth > _MAX_DEPTH:
        return None
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    for key in ("oneOf", "anyOf"):
        if key in node:
            rest = {name: value for name, value in node.items() if name != key}
            merged = [_merge(rest, _schemas.resolve(option)) for option in node[key]]
            # The smallest value of each option first, then each with all its fields
            # (what tells two options apart when {} fits both).
            tries = [minimal(option, stamp, depth + 1) for option in merged]
            tries += [minimal(option, stamp, depth + 1, full=True) for option in merged]
            for option in tries:
                if _valid(node, option):
                    return option
            return tries[0]
    if "allOf" in node:
        combined: dict[str, Any] = {}
        for part in node["allOf"]:
            value = minimal(part, stamp, depth + 1)
            if isinstance(value, dict):
                combined.update(value)
        return combined
    return _minimal_typed(node, _type_of(node), stamp, depth, full)


def _merge(outer: Mapping[str, Any], inner: Mapping[str, Any]) -> dict[str, Any]:
    """`inner` with the keys of `outer` it lacks, and both `properties` (an option in context)."""
    merged = {**outer, **inner}
    if "properties" in outer and "properties" in inner:
        merged["properties"] = {**outer["properties"], **inner["properties"]}
    return merged


def _type_of(node: Mapping[str, Any]) -> str | None:
    kind = node.get("type")
    if isinstance(kind, list):
        real = [name for name in kind if name != "null"]
        return str(real[0]) if real else "null"
    if kind is None:
        if "properties" in node or "required" in node or "patternProperties" in node:
            return "object"
        if "items" in node:
            return "array"
    return None if kind is None else str(kind)


def _minimal_typed(
    node: Mapping[str, Any], kind: str | None, stamp: str, depth: int, full: bool
) -> Any:
    if kind == "object":
        props: Mapping[str, Any] = node.get("properties", {})
        out = {
            name: minimal(props.get(name, {}), stamp, depth + 1)
            for name in node.get("required", ())
        }
        for name, sub in props.items():
            if not full and len(out) >= node.get("minProperties", 0):
                break
            out.setdefault(name, minimal(sub, stamp, depth + 1))
        return out
    if kind == "array":
        items = node.get("items", {})
        if isinstance(items, list):
            return [minimal(item, stamp, depth + 1) for item in items]
        return [minimal(items, stamp, depth + 1) for _ in range(node.get("minItems", 0))]
    if kind == "string":
        return _string(node, stamp)
    if kind in ("integer", "number"):
        low = node.get(
            "minimum", node.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in node else 0
        )
        high = node.get("maximum")
        return (
            min(low, high)
            if high is not None and low > high
            else (low if low >= 0 or high is None else high)
        )
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return {}


def _string(node: Mapping[str, Any], stamp: str) -> str:
    fmt = node.get("format")
    if fmt == "date-time":
        return stamp
    if fmt == "email":
        return "local@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/local"
    pattern = node.get("pattern")
    if isinstance(pattern, str) and "{24}" in pattern:
        return new_id()
    size = max(int(node.get("minLength", 0)), 0)
    for candidate in (*_CANDIDATES, "x" * size):
        if _valid(node, candidate):
            return candidate
    return "local"


def shape(node: Mapping[str, Any], seed: Mapping[str, Any], stamp: str) -> Any:
    """A value valid against `node`: its minimal value with as much of `seed` as fits.

    Seed keys the schema names (or admits) are kept unless they make the
    object invalid; the first invalid key found is dropped, a bounded number
    of times.
    """
    node = _schemas.resolve(node)
    base = minimal(node, stamp)
    if not isinstance(base, dict):
        return base
    admits = node.get("additionalProperties", True) is not False
    props: Mapping[str, Any] = node.get("properties", {})
    out = dict(base)
    taken = {key for key in seed if key in props or admits}
    out.update({key: seed[key] for key in taken})
    validator = _schemas.validator_for(node)
    for _ in range(len(taken) + 1):
        error = next(iter(validator.iter_errors(out)), None)
        if error is None:
            return out
        bad = next((str(part) for part in error.absolute_path), None)
        if bad is None or bad not in taken:
            # Not a key of the seed: try again without any seed.
            return base
        taken.discard(bad)
        if bad in base:
            out[bad] = base[bad]
        else:
            del out[bad]
    return base


# -- the actions ----------------------------------------------------------------


@functools.cache
def _collections() -> dict[str, tuple[str, str]]:
    """Collection resource -> (its item resource, the item's id parameter)."""
    by_path = {path: name for name, path in _api_tables.RESOURCES.items()}
    found: dict[str, tuple[str, str]] = {}
    for name, path in _api_tables.RESOURCES.items():
        parent, _, last = path.rpartition("/")
        if last.startswith("{") and parent in by_path:
            found[by_path[parent]] = (name, last[1:-1])
    return found


@functools.cache
def creatable() -> frozenset[str]:
    """Path templates of the collections a `POST` creates items in."""
    return frozenset(
        _api_tables.RESOURCES[collection]
        for collection in _collections()
        if _api_tables.ACTIONS.get(f"{collection}.post", {}).get("path")
        == _api_tables.RESOURCES[collection]
    )


def kind_of(key: str) -> str:
    """What the default answer does: create, list, get, update, delete or other."""
    spec = _api_tables.ACTIONS[key]
    resource, method = spec["resource"], spec["method"]
    if spec["path"] != _api_tables.RESOURCES[resource]:
        return "other"
    if resource in _collections():
        return {"POST": "create", "GET": "list"}.get(method, "other")
    return {"GET": "get", "PATCH": "update", "PUT": "update", "DELETE": "delete"}.get(
        method, "other"
    )


def concrete(template: str, params: Mapping[str, str]) -> str:
    """`template` with its `{name}` segments filled from `params`."""
    return re.sub(r"\{(\w+)\}", lambda match: params[match.group(1)], template)


def _success(key: str, prefer: tuple[int, ...] = _SUCCESS_ORDER) -> tuple[int, str | None]:
    answers: Mapping[int, str | None] = _api_tables.ACTIONS[key]["responses"]
    for status in prefer:
        if status in answers:
            return status, answers[status]
    status = min(s for s in answers if s < 300)
    return status, answers[status]


def _check_parents(ctx: Context, template: str, params: Mapping[str, str], upto: int) -> None:
    """404 unless every stored item the path goes through (before segment `upto`) exists."""
    segments = template.split("/")
    for index in range(1, min(upto, len(segments))):
        segment = segments[index]
        if not segment.startswith("{") or segment == "{applicationId}":
            continue
        collection = "/".join(segments[:index])
        path = concrete("/".join(segments[: index + 1]), params)
        if _handled(collection):
            continue
        if ctx.store.deleted(path) or (collection in creatable() and ctx.store.find(path) is None):
            raise ApiError(404, f"{segment[1:-1]} {params[segment[1:-1]]} was not found")


def _handled(collection_template: str) -> bool:
    """Whether a specific handler owns that collection (its items are not in the store)."""
    from losant_async.testing._handlers.registry import HANDLERS

    for name, path in _api_tables.RESOURCES.items():
        if path == collection_template:
            return f"{name}.post" in HANDLERS or f"{name}.get" in HANDLERS
    return False


def _seed(call: Call, node: Mapping[str, Any] | None, stamp: str) -> dict[str, Any]:
    """Fields every stored object gets: the path's ids, timestamps."""
    seed: dict[str, Any] = dict(call.path_params)
    seed.setdefault("creationDate", stamp)
    seed["lastUpdated"] = stamp
    return seed


async def default(ctx: Context, call: Call) -> Response:
    """The schema-driven answer of `call.action` (see the module docstring)."""
    key = call.action
    spec = _api_tables.ACTIONS[key]
    kind = kind_of(key)
    stamp = iso(call.queued_at)
    template: str = spec["path"]
    params = call.path_params
    _check_parents(ctx, template, params, len(template.split("/")) - (kind != "other"))
    body = call.body if isinstance(call.body, dict) else {}
    if kind == "create":
        status, name = _success(key, (201, 200))
        _, id_param = _collections()[spec["resource"]]
        item_id = new_id()
        seed = {**body, **_seed(call, None, stamp), "id": item_id, id_param: item_id}
        seed["creationDate"] = stamp
        obj = shape(_schemas.schema(name), seed, stamp) if name else seed
        ctx.store.put(concrete(template, params) + "/" + item_id, obj)
        return reply(ctx, call, status, obj)
    if kind == "list":
        return _list(ctx, call, concrete(template, params), stamp)
    path = concrete(_api_tables.RESOURCES[spec["resource"]], params)
    if kind in ("get", "update", "delete"):
        stored = _find_or_make(ctx, path, template)
        if kind == "delete":
            ctx.store.delete(path)
            status, name = _success(key)
            answer = shape(_schemas.schema(name), {"success": True}, stamp) if name else None
            return reply(ctx, call, status, answer) if name else Response(status_code=status)
        status, name = _success(key)
        seed = {**stored, **_seed(call, None, stamp)}
        if kind == "update":
            seed.update(body)
        last = _api_tables.RESOURCES[spec["resource"]].rpartition("/")[2]
        if last.startswith("{"):
            seed.setdefault("id", params[last[1:-1]])
        obj = shape(_schemas.schema(name), seed, stamp) if name else seed
        if kind == "update" or ctx.store.find(path) is None:
            ctx.store.put(path, obj)
        return reply(ctx, call, status, obj)
    status, name = _success(key)
    if name is None:
        if spec.get("stream"):
            # No stream handler registered: a stream that ends at once.
            return Response(b":\n\n", status_code=200, media_type="text/event-stream")
        return Response(status_code=status)
    seed = {"success": True, "jobQueued": True, **_seed(call, None, stamp)}
    if status == 202:  # a job no handler runs (applications.import...) still has its id
        seed["jobId"] = ctx.state.next_job_number()
    return reply(ctx, call, status, shape(_schemas.schema(name), seed, stamp))


def _find_or_make(ctx: Context, path: str, template: str) -> dict[str, Any]:
    """The stored item at `path`; 404 when it must have been created and was not."""
    found = ctx.store.find(path)
    if found is not None:
        return found
    collection = template.rpartition("/")[0]
    if ctx.store.deleted(path) or (collection in creatable() and not _handled(collection)):
        raise ApiError(404, f"{path.rpartition('/')[2]} was not found")
    return {}


def _list(ctx: Context, call: Call, collection: str, stamp: str) -> Response:
    """`GET` on a collection: its page shape with the stored items, `page` / `perPage` honoured."""
    status, name = _success(call.action)
    if name is None:
        return Response(status_code=status)
    node = _schemas.resolve(_schemas.schema(name))
    stored = ctx.store.members(collection)
    query = call.request.query_params
    per_page = query_int(query.get("perPage"), "perPage", default=100, minimum=1) or 100
    page = query_int(query.get("page"), "page", default=0, minimum=0) or 0
    window = stored[page * per_page : (page + 1) * per_page]
    if _type_of(node) == "array":
        items_node = node.get("items", {})
        return reply(ctx, call, status, [shape(items_node, item, stamp) for item in window])
    items_node = node.get("properties", {}).get("items", {}).get("items", {})
    seed: dict[str, Any] = {
        "items": [shape(items_node, item, stamp) for item in window],
        "count": len(window),
        "totalCount": len(stored),
        "perPage": per_page,
        "page": page,
    }
    seed.update(call.path_params)
    return reply(ctx, call, status, shape(node, seed, stamp))
