"""The whole Losant API as the library exposes it: one plan every generator reads.

``plan()`` reads ``../shared/spec/losant-api/apiInfo.json`` (and the schemas,
for their shapes) and answers, for each of the 99 resources and 375 actions,
what the library calls it, where it hangs, how each parameter is typed and
sent, what each answer decodes into and how the action is retried. The
resource generator (``gen_api.py``), the reference (``gen_reference.py``) and
the contract tests all read this one plan, so they cannot disagree.

The accessor rule (README "The whole API"):

1. A resource whose path ends in a ``{param}`` is an *item*: a method taking
   that id (``app.device(device_id)``); any other is an attribute
   (``app.devices``, ``app.data``, ``client.me``).
2. Its *parent* is the item resource whose path parameters are the longest
   prefix of its own (all of them, for an attribute; all but the last, for an
   item). Resources under ``/applications/{applicationId}`` thus hang off
   ``AsyncApplication``, ``/orgs/{orgId}/...`` off ``client.org(id)``; a
   resource with no such parent hangs off ``AsyncLosant``.
3. Its accessor name is its resource name in snake_case, with the parent's
   name dropped from the front when it is there (``dataTableRows`` under
   ``dataTable`` -> ``rows``; ``applicationApiTokens`` under ``application``
   -> ``api_tokens``; ``instanceOrgs`` under ``instance`` -> ``orgs``).
4. Methods are the action names in snake_case (``sendState`` ->
   ``send_state``), a Python keyword gets a trailing underscore (``import_``).
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared" / "spec" / "losant-api"
API_FILE = SPEC / "apiInfo.json"
SCHEMA_DIR = SPEC / "schemas"

# The Application resource keeps its hand-written façade (API.md "The 22
# actions"); the plan still lists it for the reference and the tests.
HAND_WRITTEN = frozenset({"application"})

# POST actions that only read: repeating them is harmless (issue "The whole
# Losant API": "POST actions that are reads (the data queries) are reads").
READ_POSTS = frozenset(
    {
        "data.timeSeriesQuery",
        "data.lastValueQuery",
        "dataTableRows.query",
        "dashboard.validateContext",
        # Signing in again after a lost answer only hands out another token.
        "auth.authenticateDevice",
        "auth.authenticateUser",
        "auth.authenticateUserGithub",
        "auth.authenticateUserSaml",
    }
)

# Query parameters whose values are times: a datetime or ms since the epoch
# (negative: relative to now), as for the 22 Application actions.
TIME_PARAMS = frozenset({"start", "end", "since", "date"})
# Query parameters Losant reads as comma-separated lists (their descriptions say so).
CSV_PARAMS = frozenset(
    {"summaryInclude", "summaryExclude", "includeFields", "include", "attributes"}
)
# Query parameters without a default that are switches ("If set, ...", "Return
# tags as an object map ..."): typed bool, sent "true"/"false".
FLAG_PARAMS = frozenset(
    {
        "includeBlobData",
        "excludeConnectionInfo",
        "tagsAsObject",
        "attributesAsObject",
        "queryDeleted",
        "includeAncestorGroups",
        "includeDeleted",
        "includeRecent",
        "includeWorkflows",
    }
)


def snake(name: str) -> str:
    """``blobUrlTTL`` -> ``blob_url_ttl``, ``sendState`` -> ``send_state``."""
    name = name.lstrip("_")
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def python_name(name: str) -> str:
    """A wire name as a Python identifier: snake_case, keywords get ``_``."""
    out = snake(name)
    return out + "_" if keyword.iskeyword(out) or out in {"self"} else out


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


@dataclass(frozen=True)
class Param:
    """One parameter of an action, as the method takes it and the wire carries it."""

    wire: str  # the name on the wire (``perPage``)
    name: str  # the Python keyword (``per_page``)
    where: str  # "path" | "query" | "body" | "multipart"
    kind: str  # how it is checked and sent, see KINDS
    required: bool
    default: object  # the definition's default (None when it has none)
    enum: tuple[str, ...] = ()
    schema: str | None = None  # the $ref'd schema, if any
    pattern: str | None = None
    description: str = ""


# kind -> meaning (the encoders in losant_async/_api/_encode.py):
KINDS = {
    "text": "str, sent as is",
    "choice": "Literal[...] of the enum, sent as is",
    "integer": "int (the definition's default is a number), sent in decimal",
    "flag": "bool (the definition's default is a boolean), sent true/false",
    "time": "datetime or int ms since the epoch, sent as ms",
    "csv": "str or a sequence of str, sent comma-separated",
    "json": "a model or mapping (advanced*Query), sent as one JSON text",
    "nested": "a list / mapping filter (tagFilter, ...), sent in brackets: a[0][key]=v",
    "texts": "str or a sequence of str, sent as name[0]=a&name[1]=b",
    "body": "the JSON body: a model, a camelCase mapping or typed keywords",
    "file": "a multipart file: a path, bytes or a binary file",
    "part": "a multipart text field",
    "part_json": "a multipart field holding JSON (a model or mapping)",
    "id": "a path id",
}


@dataclass(frozen=True)
class Answer:
    """A documented success status and what its body decodes into."""

    status: int
    schema: str | None  # None: no body (204)
    job: bool  # 202: a job was enqueued


@dataclass
class Action:
    resource: str
    name: str  # Losant's action name (``sendState``)
    method: str  # the Python method (``send_state``)
    http: str  # GET / POST / ...
    path: str  # the full path template (``/applications/{applicationId}/devices``)
    params: list[Param]
    answers: list[Answer]
    errors: dict[int, str]  # status -> error schema
    scopes: tuple[str, ...]
    summary: str
    retry: str  # "SAFE" | "ENQUEUE"
    sse: bool = False
    sse_events: tuple[str, ...] = ()
    paged: bool = False  # takes page/perPage: one page awaited, items iterated

    @property
    def key(self) -> str:
        return f"{self.resource}.{self.name}"

    @property
    def multipart(self) -> bool:
        return any(p.where == "multipart" for p in self.params)

    @property
    def body(self) -> Param | None:
        return next((p for p in self.params if p.where == "body"), None)


@dataclass
class Resource:
    name: str  # Losant's resource name (``dataTableRows``)
    path: str  # template, e.g. ``/applications/{applicationId}/devices``
    path_params: tuple[str, ...]  # in path order
    item: bool  # path ends in a {param}
    parent: str | None  # resource name of the parent, None for AsyncLosant
    accessor: str  # ``devices``, ``device``, ``rows``, ...
    id_param: str | None  # for an item: the Python name of its id argument
    module: str  # module under losant_async/_api/
    class_name: str  # ``AsyncDevices``
    actions: list[Action] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    hand_written: bool = False


def _path_params(path: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\{(\w+)\}", path))


@cache
def schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text())  # type: ignore[no-any-return]


def _ref(node: dict[str, object]) -> str | None:
    ref = node.get("schema", {})
    if isinstance(ref, dict) and isinstance(ref.get("$ref"), str):
        return str(ref["$ref"]).rsplit("/", 1)[1]
    return None


def _param_kind(p: dict[str, object]) -> str:
    where = p["in"]
    wire = str(p["name"])
    ref = _ref(p)
    if where == "path":
        return "id"
    if where == "body":
        return "body"
    if where == "multipart":
        if p.get("type") == "file":
            return "file"
        if ref:
            return "part_json"
        return "choice" if p.get("enum") else "part"
    # query
    if p.get("enum"):
        return "choice"
    if p.get("type") == "object" and ref and ref.startswith("advanced"):
        return "json"
    if p.get("type") == "array":
        return "texts"
    if ref:
        return "nested"
    if p.get("type") is None:
        return "text"
    default = p.get("default")
    if wire in TIME_PARAMS:
        return "time"
    if isinstance(default, bool) or wire in FLAG_PARAMS:
        return "flag"
    if isinstance(default, int | float):
        return "integer"
    if wire in CSV_PARAMS:
        return "csv"
    return "text"


def _retry(resource: str, name: str, http: str, answers: list[Answer]) -> str:
    """The one retry rule (README "Retries"): SAFE repeats after 5xx/408/read errors."""
    if any(a.job for a in answers):
        return "ENQUEUE"  # may enqueue a job: never twice
    if http in ("GET", "PATCH", "DELETE"):
        return "SAFE"  # reads and idempotent writes
    if f"{resource}.{name}" in READ_POSTS:
        return "SAFE"
    return "ENQUEUE"  # creates, commands, publishes: only where nothing was done


def _accessor(name: str, parent: str | None, item: bool) -> str:
    base = name
    if parent and name.startswith(parent) and len(name) > len(parent):
        rest = name[len(parent) :]
        if rest[:1].isupper():
            base = rest[:1].lower() + rest[1:]
    return python_name(base)


@cache
def plan() -> dict[str, Resource]:
    """Every resource, by Losant's name, in the definition's order."""
    api = json.loads(API_FILE.read_text())
    items = {
        name: _path_params(res["path"]) for name, res in api.items() if res["path"].endswith("}")
    }
    resources: dict[str, Resource] = {}
    for name, res in api.items():
        path = res["path"]
        params = _path_params(path)
        item = path.endswith("}")
        own = params[:-1] if item else params
        parent = None
        best = -1
        for other, other_params in items.items():
            if other == name:
                continue
            fits = own[: len(other_params)] == other_params
            if fits and len(other_params) > max(best, 0):
                parent, best = other, len(other_params)
        accessor = _accessor(name, parent, item)
        resources[name] = Resource(
            name=name,
            path=path,
            path_params=params,
            item=item,
            parent=parent,
            accessor=accessor,
            id_param=python_name(params[-1]) if item else None,
            module=snake(name),
            class_name="Async" + pascal(name),
            hand_written=name in HAND_WRITTEN,
        )
    for res in resources.values():
        if res.parent:
            resources[res.parent].children.append(res.name)
        for action_name, a in api[res.name]["actions"].items():
            res.actions.append(_action(res, action_name, a))
    return resources


def _action(res: Resource, name: str, a: dict[str, object]) -> Action:
    raw_params = a.get("params", [])
    assert isinstance(raw_params, list)
    params = []
    for p in raw_params:
        params.append(
            Param(
                wire=p["name"],
                name=python_name(p["name"]),
                where=p["in"],
                kind=_param_kind(p),
                required=bool(p.get("required", False)),
                default=p.get("default"),
                enum=tuple(str(v) for v in p.get("enum", ())),
                schema=_ref(p),
                pattern=p.get("pattern"),
                description=str(p.get("description", "")),
            )
        )
    responses = a["responses"]
    assert isinstance(responses, dict)
    answers, errors = [], {}
    for status, r in responses.items():
        code = int(status)
        ref = _ref(r)
        if code < 300:
            answers.append(Answer(code, ref, code == 202))
        else:
            errors[code] = ref or "error"
    http = str(a["method"])
    wires = {p.wire for p in params}
    return Action(
        resource=res.name,
        name=name,
        method=python_name(name),
        http=http,
        path=res.path + str(a.get("path", "") or ""),
        params=params,
        answers=answers,
        errors=errors,
        scopes=tuple(a.get("auth", ())),  # type: ignore[arg-type]
        summary=str(a.get("summary", "")),
        retry=_retry(res.name, name, http, answers),
        sse=bool(a.get("sseStream")),
        sse_events=tuple(a.get("sseEvents", ()) or ()),  # type: ignore[arg-type]
        paged={"page", "perPage"} <= wires and http == "GET" and _has_items(answers),
    )


def _has_items(answers: list[Answer]) -> bool:
    """Whether the success answer is a page (``items``; userApiTokens.get documents one token)."""
    ok = [a for a in answers if a.status == 200 and a.schema]
    props = schema(ok[0].schema).get("properties", {}) if ok else {}  # type: ignore[arg-type]
    return isinstance(props, dict) and "items" in props


# The 26 schemas of the Application resource keep the classes the contract
# fixes (API.md "Models"; tools/gen_models.py), in losant_async._models.
OLD_SCHEMAS = frozenset(p.stem for p in (SPEC.parent / "schemas").glob("*.json"))
OLD_NAMES = {
    "mqttPublishBody": "MqttMessage",
    "applicationSearchResult": "ApplicationSearchResultItem",
    "applicationGlobalPatch": "ApplicationGlobal",
    "applicationImportExecutions": "ApplicationImportExecution",
}


@dataclass(frozen=True)
class ModelRef:
    """Where a schema's Python type lives, and its shape."""

    module: str  # dotted module to import ``cls`` from ("" when shape is "any")
    cls: str  # the class (for "list": the item class)
    shape: str  # "object": cls; "list": list[cls]; "any": free JSON (oneOf, ...)

    @property
    def annotation(self) -> str:
        return {"object": self.cls, "list": f"list[{self.cls}]"}.get(self.shape, "object")


def canonical(node: object) -> str:
    """A key equal for structurally identical schemas (titles and descriptions aside)."""

    def strip(n: object) -> object:
        if isinstance(n, dict):
            return {
                k: strip(v)
                for k, v in n.items()
                if k not in ("title", "description", "$schema", "example", "examples")
            }
        if isinstance(n, list):
            return [strip(v) for v in n]
        return n

    return json.dumps(strip(node), sort_keys=True)


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


@cache
def _object_tops() -> dict[str, str]:
    """canonical form -> schema name, for every top-level object schema."""
    tops: dict[str, str] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        node = schema(path.stem)
        if node.get("type") == "object":
            tops.setdefault(canonical(node), path.stem)
    return tops


@cache
def model_ref(name: str) -> ModelRef:
    """The Python type of schema ``name`` (the models generator names by this rule).

    - an object schema is one class, ``pascal(name)`` (the 26 Application
      schemas keep their names), in ``losant_async._models._api.<snake(name)>``
      (the 26: ``losant_async._models``);
    - an array schema of objects is ``list[Item]``: Item is the class of the
      top-level object schema of the same structure if there is one, else
      ``singular(pascal(name))`` in the array schema's own module (or
      ``pascal(name) + "Item"`` if that name is a top-level class already);
    - a ``oneOf``/``allOf`` of objects is one class (the union of their
      properties), as an object schema;
    - anything else (``oneOf`` with arrays or strings) is free JSON.
    """
    node = schema(name)
    if name in OLD_SCHEMAS:
        kind = node.get("type")
        cls = OLD_NAMES.get(name, pascal(name))
        return ModelRef("losant_async._models", cls, "list" if kind == "array" else "object")
    module = f"losant_async._models._api.{snake(name)}"
    variants = node.get("oneOf") or node.get("allOf")
    if node.get("type") == "object" or (
        isinstance(variants, list) and all(v.get("type") == "object" for v in variants)
    ):
        # oneOf/allOf of objects (flowVersion: cloud or edge) is one class with
        # the union of their properties.
        return ModelRef(module, pascal(name), "object")
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and items.get("type") == "object":
        same = _object_tops().get(canonical(items))
        if same is not None:
            ref = model_ref(same)
            return ModelRef(ref.module, ref.cls, "list")
        cls = singular(pascal(name))
        taken = {pascal(s) for s in _object_tops().values()}
        if cls in taken or cls == pascal(name):
            cls = pascal(name) + "Item"
        return ModelRef(module, cls, "list")
    return ModelRef("", "", "any")


def actions() -> list[Action]:
    return [a for r in plan().values() for a in r.actions]


if __name__ == "__main__":  # a quick look: python tools/_api_plan.py
    for r in plan().values():
        owner = r.parent or "client"
        call = f"{r.accessor}({r.id_param})" if r.item else r.accessor
        print(f"{r.name:34} {owner:18} .{call}")
        for act in r.actions:
            kinds = ",".join(f"{p.name}:{p.kind}" for p in act.params)
            print(f"    {act.method:26} {act.http:6} {act.retry:7} {kinds}")
