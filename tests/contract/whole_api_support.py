"""What the whole-API contract tests share: the plan, argument values and their wire form.

Everything is derived at test time from ``tools/_api_plan.py`` (which reads
``../shared/spec/losant-api``): for each action, the call a user makes (the
accessor chain, the method, a value of its kind for every parameter) and what
must then be on the wire (method, path, query pairs, JSON body or multipart
parts), and Losant's example answer for each documented status.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx

from losant_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TooLargeError,
    UnprocessableEntityError,
)
from tests.conftest import APP_ID

ROOT = Path(__file__).resolve().parents[2]


def _load_plan() -> ModuleType:
    # tools/ is not a package: load the plan module by path (dataclasses need it in sys.modules).
    name = "_api_plan"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "_api_plan.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


api_plan = _load_plan()
PLAN: dict[str, Any] = api_plan.plan()
ACTIONS: list[Any] = api_plan.actions()
BY_KEY: dict[str, Any] = {a.key: a for a in ACTIONS}
KEYS: list[str] = [a.key for a in ACTIONS]
EXAMPLES: dict[str, Any] = json.loads((api_plan.SPEC / "apiExamples.json").read_text())

# The SDKs' query defaults, sent first on every request but the stream requests.
DEFAULT_PAIRS = [("_actions", "false"), ("_links", "true"), ("_embedded", "true")]

WHEN = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
WHEN_MS = "1704164645678"
FILE_BYTES = b"PK\x03\x04 an upload \x00\xff"
HEX = re.compile(r"\[A-Fa-f\\d\]\{24\}")

# Path ids that are names, not 24-hex ids: one with a space, to see it quoted.
NAMED_IDS = {"flowVersionId": "develop v2", "experienceVersionIdOrName": "develop v2"}
NAME_VALUE = "temp_1"  # a value for the ``^[0-9a-zA-Z_-]{1,255}$`` pattern

# status -> the error class losant_async maps it to (API.md "Errors").
ERROR_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: APIStatusError,
    413: TooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    503: InternalServerError,
}
ERROR_TYPES = {
    400: "Validation",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    410: "Gone",
    422: "Validation",
    429: "TooManyRequests",
}


def id_value(name: str) -> str:
    """A fixed value for the path parameter ``name`` (24 hex, or a name)."""
    if name == "applicationId":
        return APP_ID
    if name in NAMED_IDS:
        return NAMED_IDS[name]
    if name == "name":
        return NAME_VALUE
    return hashlib.sha256(name.encode()).hexdigest()[:24]


def resource_of(client: Any, resource: str) -> Any:
    """The resource object, reached as a user does (``client.application(a).device(d)``)."""
    res = PLAN[resource]
    owner = client if res.parent is None else resource_of(client, res.parent)
    accessor = getattr(owner, res.accessor)
    return accessor(id_value(res.path_params[-1])) if res.item else accessor


def method_of(client: Any, action: Any) -> Any:
    return getattr(resource_of(client, action.resource), action.method)


@dataclass
class Call:
    """One call of an action and what it must put on the wire."""

    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    query: list[tuple[str, str]] = field(default_factory=list)
    json_query: dict[str, object] = field(default_factory=dict)  # wire -> object of a JSON text
    body: object = None  # the JSON body expected (None: none)
    has_body: bool = False
    parts: dict[str, object] = field(default_factory=dict)  # multipart: wire -> bytes / str / obj


def _text_value(param: Any) -> str:
    pattern = param.pattern or ""
    if HEX.search(pattern):
        return hashlib.sha256(param.wire.encode()).hexdigest()[-24:]
    if pattern:
        return NAME_VALUE
    value = f"{param.wire} v/1&x=y"
    return value if value != param.default else value + "2"


def _choice_value(param: Any) -> str:
    members: list[str] = list(param.enum)
    others = [v for v in members if v != str(param.default)]
    return (others or members)[0]


def flatten(prefix: str, value: object) -> list[tuple[str, str]]:
    """The bracket form Losant's clients send a nested filter in (``a[0][key]=v``)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in flatten(f"{prefix}[{k}]", v)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in flatten(f"{prefix}[{i}]", v)]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, str(value))]


def example(schema: str | None) -> Any:
    assert schema is not None
    return copy.deepcopy(EXAMPLES[schema])


def _query(call: Call, param: Any) -> None:
    """Give ``param`` a non-default value of its kind; record its wire pairs."""
    kind, wire = param.kind, param.wire
    value: Any
    if kind == "text":
        value = _text_value(param)
        call.query.append((wire, value))
    elif kind == "choice":
        value = _choice_value(param)
        call.query.append((wire, value))
    elif kind == "integer":
        value = int(param.default) + 7 if param.default is not None else 7
        call.query.append((wire, str(value)))
    elif kind == "flag":
        value = not param.default
        call.query.append((wire, "true" if value else "false"))
    elif kind == "time":
        value = WHEN
        call.query.append((wire, WHEN_MS))
    elif kind == "csv":
        value = ["payloadCount", "deviceCount"]
        call.query.append((wire, "payloadCount,deviceCount"))
    elif kind == "json":
        value = example(param.schema)
        call.json_query[wire] = copy.deepcopy(value)
    elif kind == "nested":
        value = example(param.schema)
        call.query.extend(flatten(wire, value))
    elif kind == "texts":
        value = ["gps", "featured"]
        call.query.extend([(f"{wire}[0]", "gps"), (f"{wire}[1]", "featured")])
    else:  # pragma: no cover - a new kind in the plan
        raise AssertionError(f"unknown query kind {kind}")
    call.kwargs[param.name] = value


def _multipart(call: Call, param: Any) -> None:
    kind = param.kind
    value: Any
    if kind == "file":
        value = FILE_BYTES
    elif kind == "choice":
        value = _choice_value(param)
    elif kind == "part_json":
        value = example(param.schema)
    elif HEX.search(param.pattern or ""):
        value = hashlib.sha256(param.wire.encode()).hexdigest()[-24:]
    else:
        value = f"{param.wire} value"
    call.kwargs[param.name] = value
    call.parts[param.wire] = copy.deepcopy(value)


def build_call(action: Any, *, optional: bool = True) -> Call:
    """The call of ``action`` with every parameter (``optional=False``: the required ones)."""
    call = Call()
    path = action.path
    for name in PLAN[action.resource].path_params:
        path = path.replace("{" + name + "}", quote(id_value(name), safe=""))
    for param in action.params:
        if param.where == "path":
            value = id_value(param.wire)
            call.kwargs[param.name] = value
            path = path.replace("{" + param.wire + "}", quote(value, safe=""))
            continue
        if not (optional or param.required or _needs_body(param)):
            continue
        if param.where == "query":
            _query(call, param)
        elif param.where == "body":
            body = example(param.schema)
            call.args.append(body)
            call.body, call.has_body = copy.deepcopy(body), True
        elif param.where == "multipart":
            _multipart(call, param)
    call.path = path
    _hand_written(action, call)
    return call


def _needs_body(param: Any) -> bool:
    """A body the definition calls optional but whose schema has required fields."""
    if param.where != "body":
        return False
    node = api_plan.schema(param.schema)
    return isinstance(node, dict) and bool(node.get("required"))


def _hand_written(action: Any, call: Call) -> None:
    """The Application façade's fixed signatures (API.md "The 22 actions") differ here and there."""
    if action.key == "application.import" and "import_bundle" in call.kwargs:
        call.kwargs["bundle"] = call.kwargs.pop("import_bundle")
    elif action.key == "application.mqttPublishMessage":
        body = call.args.pop()
        call.args.extend([body["topic"], body["message"]])
    elif action.key == "application.readmePatch":
        call.args = [call.args.pop()["content"]]


def default_call(action: Any) -> Call:
    """The required parameters, and every optional one that has a default given at it."""
    call = build_call(action, optional=False)
    for param in action.params:
        if param.required or param.where != "query" or param.default is None:
            continue
        if param.kind in ("integer", "time"):
            call.kwargs[param.name] = int(param.default)
        elif param.kind == "flag":
            call.kwargs[param.name] = bool(param.default)
        else:
            call.kwargs[param.name] = str(param.default)
    return call


def expected_query(action: Any, call: Call) -> list[tuple[str, str]]:
    """The query pairs ``call`` must send (JSON-valued ones apart)."""
    if not action.sse:
        return sorted(DEFAULT_PAIRS + call.query)
    # A stream always says its keep-alive interval: its read timeout hangs on it
    # (API.md "Details: Streams"); and it sends none of the SDKs' defaults.
    pairs = list(call.query)
    if not any(wire == "keepAliveInterval" for wire, _ in pairs):
        pairs.append(("keepAliveInterval", "2"))
    return sorted(pairs)


def actual_query(
    request: httpx.Request, json_wires: Iterable[str]
) -> tuple[list[tuple[str, str]], dict[str, object]]:
    """The request's query pairs (JSON-valued ones apart, decoded)."""
    raw = request.url.raw_path.decode("ascii").partition("?")[2]
    pairs = parse_qsl(raw, keep_blank_values=True)
    wires = set(json_wires)
    decoded: dict[str, object] = {}
    plain = []
    for key, value in pairs:
        if key in wires:
            parsed = json.loads(value)
            # Compact JSON, as Losant's clients send it.
            assert json.dumps(parsed, separators=(",", ":"), ensure_ascii=False) == value, value
            decoded[key] = parsed
        else:
            plain.append((key, value))
    return sorted(plain), decoded


def raw_path(request: httpx.Request) -> str:
    return request.url.raw_path.decode("ascii").partition("?")[0]


_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def normal(value: object) -> object:
    """JSON with its date-time strings as datetimes (a model may re-render them)."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, str) and _ISO.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def answer_body(action: Any, answer: Any) -> Any:
    """Losant's example answer for ``answer`` (a page made consistent: one page of it)."""
    if answer.schema is None:
        return None
    body = example(answer.schema)
    if action.paged and isinstance(body, dict) and isinstance(body.get("items"), list):
        body["count"] = body["totalCount"] = len(body["items"])
        body["page"] = 0
        body.setdefault("perPage", 100)
    return body


def respond(status: int, body: Any) -> httpx.Response:
    if body is None:
        return httpx.Response(status)
    return httpx.Response(status, json=body)


def model_class(schema: str) -> tuple[str, type]:
    """(shape, class) of ``schema`` per the plan's ``model_ref`` (free JSON: ``object``)."""
    ref = api_plan.model_ref(schema)
    if ref.shape == "any":
        return "any", object
    module = importlib.import_module(ref.module)
    return ref.shape, getattr(module, ref.cls)


def error_body(status: int) -> dict[str, str]:
    return {"type": ERROR_TYPES.get(status, "Error"), "message": f"answered {status}"}


def first_success(action: Any) -> httpx.Response:
    answer = action.answers[0]
    return respond(answer.status, answer_body(action, answer))
