"""The converter and its hooks: strict primitives, generic types, generated model decoders.

``converter`` is built once, here; its model hooks are generated on a class's
first use. Each model gets two decoders: the checked one (cattrs'
``make_dict_structure_fn`` and the model's ``__init__``, which collects every
error with its path) and a straight-line one generated from source, used
while decoding (``_models._base.DECODING``), which falls back to the checked
one on anything unexpected. The generated source is registered in
``linecache`` (as cattrs does), so a traceback through it shows code.
"""

from __future__ import annotations

import linecache
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .._models._base import DECODING, EMPTY
from .._models._wire import ARRAY_LIMITS, NULLABLE, RENAMES

__all__ = [
    "array_limit",
    "as_utc",
    "camel",
    "checked_model_hook",
    "converter",
    "nullable_fields",
    "wire_names",
]

_Hook = Callable[[Any, Any], Any]


def camel(name: str) -> str:
    """``application_id`` -> ``applicationId`` (the rule; RENAMES has the exceptions)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_names(cls: type) -> dict[str, str]:
    """Attribute -> wire key, for every attribute of a model but ``extra``."""
    # The whole API's models carry their odd names themselves (``_RENAMES``):
    # a registry here would import every one of their modules.
    odd = RENAMES.get(cls) or cls.__dict__.get("_RENAMES", EMPTY)
    return {a.name: odd.get(a.name, camel(a.name)) for a in attrs.fields(cls) if a.name != "extra"}


def nullable_fields(cls: type) -> frozenset[str]:
    """The attributes of a model the schema allows to be JSON null."""
    found: frozenset[str] = NULLABLE.get(cls) or cls.__dict__.get("_NULLABLE", frozenset())
    return found


def array_limit(cls: type) -> int | None:
    """``maxItems`` of an array body schema whose items are ``cls`` (None: no limit)."""
    limit: int | None = ARRAY_LIMITS.get(cls, cls.__dict__.get("_MAX_ITEMS"))
    return limit


def _overrides(names: Mapping[str, str]) -> dict[str, Any]:
    """cattrs' ``override``s of a model: renamed to its wire keys, ``extra`` left out."""
    overrides: dict[str, Any] = {attr: override(rename=wire) for attr, wire in names.items()}
    overrides["extra"] = override(omit=True)
    return overrides


# -- primitives: strict (a number is not silently a string) and cheap -------------


def _structure_str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _structure_int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    # JSON has one number type: 3.0 is a fine integer.
    if type(value) is float and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_float(value: Any, _: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _structure_datetime(value: Any, _: Any) -> datetime:
    if type(value) is not str:
        raise TypeError(f"expected an ISO-8601 date-time string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)  # 3.11 reads the trailing "Z"
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive one is taken as UTC (API.md "Details": Models)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _unstructure_datetime(value: datetime) -> str:
    value = as_utc(value)
    # Losant writes milliseconds and "Z" (spec examples: "2016-06-13T04:00:00.000Z").
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _structure_free(value: Any, _: Any) -> object:
    return value


def _structure_free_object(value: Any, _: Any) -> Mapping[str, object]:
    if type(value) is dict:
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"expected a JSON object, got {type(value).__name__}")


# -- generic types: Optional, list, Mapping -----------------------------------------


def _is_optional(tp: Any) -> bool:
    if get_origin(tp) not in (Union, types.UnionType):
        return False
    args = get_args(tp)
    return len(args) == 2 and type(None) in args


def _optional_str(value: Any, _: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    return _structure_str(value, _)


def _optional_bool(value: Any, _: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    return _structure_bool(value, _)


def _optional_int(value: Any, _: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    return _structure_int(value, _)


def _optional_float(value: Any, _: Any) -> float | None:
    if value is None or type(value) is float:
        return value
    return _structure_float(value, _)


def _optional_datetime(value: Any, _: Any) -> datetime | None:
    return None if value is None else _structure_datetime(value, _)


# ``X | None`` of a primitive in one call rather than two: most fields are
# optional primitives, and decoding an Application runs ~100 of them.
_FUSED_OPTIONAL: dict[object, _Hook] = {
    str: _optional_str,
    bool: _optional_bool,
    int: _optional_int,
    float: _optional_float,
    datetime: _optional_datetime,
}


def _optional_counts(value: Any, _: Any) -> dict[str, float] | None:
    return None if value is None else _structure_counts(value, _)


def _optional_hook(tp: Any) -> _Hook:
    (inner,) = [a for a in get_args(tp) if a is not type(None)]
    if inner in _FUSED_OPTIONAL:
        return _FUSED_OPTIONAL[inner]
    if inner == Mapping[str, float]:
        return _optional_counts
    hook = converter.get_structure_hook(inner)

    def structure_optional(value: Any, _: Any) -> Any:
        return None if value is None else hook(value, inner)

    return structure_optional


def _is_list(tp: Any) -> bool:
    return get_origin(tp) is list


def _list_hook(tp: Any) -> _Hook:
    (inner,) = get_args(tp)
    hook = converter.get_structure_hook(inner)

    def structure_list_of(value: Any, _: Any) -> list[Any]:
        if type(value) is not list:
            raise TypeError(f"expected a JSON array, got {type(value).__name__}")
        try:
            return [hook(item, inner) for item in value]
        except Exception:  # redone below, item by item, to collect the paths
            pass
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                hook(item, inner)
            except Exception as exc:
                note = IterableValidationNote(f"Structuring {tp} @ index {index}", index, inner)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                errors.append(exc)
        raise IterableValidationError(f"While structuring {tp!r}", errors, tp)

    return structure_list_of


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) is Mapping


def _structure_counts(value: Any, _: Any) -> dict[str, float]:
    """``Mapping[str, float]`` (payload stats: 19 of them in an application summary)."""
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    out = {}
    for key, number in value.items():
        kind = type(number)
        if kind is float:
            out[key] = number
        elif kind is int:
            out[key] = float(number)
        else:
            raise TypeError(f"expected a number at {key!r}, got {kind.__name__}")
    return out


def _mapping_hook(tp: Any) -> _Hook:
    _, value_type = get_args(tp)
    if value_type is object:
        return _structure_free_object
    if value_type is float:
        return _structure_counts
    hook = converter.get_structure_hook(value_type)

    def structure_mapping(value: Any, _: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a JSON object, got {type(value).__name__}")
        return {k: hook(v, value_type) for k, v in value.items()}

    return structure_mapping


# -- models -------------------------------------------------------------------------


def checked_model_hook(cls: type) -> _Hook:
    """The reference decoder: cattrs' generated function and the model's ``__init__``.

    It runs the validators (unless decoding) and collects every error with
    its path; the fast decoder below falls back to it whenever it fails.
    """
    names = wire_names(cls)
    known = frozenset(names.values())
    base: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, converter, _cattrs_detailed_validation=True, **_overrides(names)
    )
    setattr_ = object.__setattr__
    proxy = types.MappingProxyType

    def structure_model(data: Any, _: Any) -> Any:
        if type(data) is not dict and not isinstance(data, Mapping):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        instance = base(data, cls)
        if not known.issuperset(data):
            # Set after construction: cheaper than a second dict for every decode,
            # and ``extra`` is the only field the generated function leaves out.
            extra = {k: v for k, v in data.items() if k not in known}
            setattr_(instance, "extra", proxy(extra))
        return instance

    return structure_model


# Classes whose hooks are being generated: a model that contains itself gets a
# hook that looks its own up at call time.
_BUILDING: set[type] = set()
# The finished hook of each recursive model, for the stand-ins made while building it.
_BUILT: dict[type, list[_Hook]] = {}
_PRIMITIVES: Final = (str, bool, int, float)


def _fast_model_source(cls: type, env: dict[str, Any]) -> str | None:
    """Source of a decoder that sets the slots directly (no ``__init__``, no validators).

    ``None`` when the class needs what only ``__init__`` does (a factory
    default, a converter other than ``extra``'s, an init hook).
    """
    if any(hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__")):
        return None
    slots = {a.name for a in attrs.fields(cls)} | {"__weakref__"}
    if any(name not in slots for name in getattr(cls, "__slots__", ("?",))):
        return None  # not slotted, or a slot __init__ fills (attrs' cached hash)
    names = wire_names(cls)
    lines = [
        "def decode(o, _):",
        "    if type(o) is not dict and not isinstance(o, Mapping):",
        "        raise TypeError(f'expected a JSON object, got {type(o).__name__}')",
        "    if not decoding():",
        "        return checked(o, _)",
        "    try:",
        "        i = new(cls)",
    ]
    for index, a in enumerate(attrs.fields(cls)):
        setter = getattr(cls.__dict__.get(a.name), "__set__", None)
        if setter is None or not a.init or a.alias != a.name:
            return None
        env[f"s{index}"] = setter
        if a.name == "extra":
            continue
        if a.converter is not None or isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            return None
        tp, key = a.type, names[a.name]
        optional = _is_optional(tp)
        inner = next(x for x in get_args(tp) if x is not type(None)) if optional else tp
        # ``X | None``: None is tested inline and X's own hook called, as
        # ``_optional_hook`` would, minus one call per field.
        env[f"t{index}"] = inner
        env[f"h{index}"] = converter.get_structure_hook(inner)
        # A value present is converted exactly as cattrs would (None passes an
        # optional type only); a missing key takes the default, unconverted.
        when: list[str] = []
        if a.default is attrs.NOTHING:
            lines.append(f"        v = o[{key!r}]")
        elif a.default is None and optional:
            lines.append(f"        v = o.get({key!r})")
        else:
            env[f"d{index}"] = a.default
            lines.append(f"        v = o[{key!r}] if {key!r} in o else d{index}")
            when.append(f"{key!r} in o")
        if optional:
            when.append("v is not None")
        if inner in _PRIMITIVES:
            env[f"p{index}"] = inner
            when.append(f"type(v) is not p{index}")
        if inner is not object:  # free-form: any JSON value, as is
            test = f"if {' and '.join(when)}: " if when else ""
            lines.append(f"        {test}v = h{index}(v, t{index})")
        lines.append(f"        s{index}(i, v)")
    names_in_order = [a.name for a in attrs.fields(cls)]
    if "extra" not in names_in_order:
        return None
    extra_setter = names_in_order.index("extra")
    lines += [
        "    except Exception:",
        "        return checked(o, _)",
        "    if known.issuperset(o):",
        f"        s{extra_setter}(i, EMPTY)",
        "    else:",
        f"        s{extra_setter}(i, proxy({{k: v for k, v in o.items() if k not in known}}))",
        "    return i",
    ]
    env["known"] = frozenset(names.values())
    return "\n".join(lines) + "\n"


def _model_structure_hook(cls: type) -> _Hook:
    """A decoder generated for ``cls``: straight-line code, one call per field at most.

    While a response is decoded (``decoding()``), the instance is built with
    its slots set directly, as attrs' ``__init__`` does minus the validators
    that decoding skips anyway. Anything unexpected (a wrong type, a missing
    required key) re-runs the checked decoder, which raises with every path.
    """
    if cls in _BUILDING:
        # A recursive model (AdvancedDeviceQuery.and_: list[AdvancedDeviceQuery]).
        # cattrs may cache this stand-in as cls's own hook, so it must call the
        # hook built below, never look cls up again (that would find itself).
        built = _BUILT.setdefault(cls, [])
        return lambda data, tp: built[0](data, tp)
    _BUILDING.add(cls)
    try:
        attrs.resolve_types(cls)
        checked = checked_model_hook(cls)
        env: dict[str, Any] = {
            "Mapping": Mapping,
            "decoding": DECODING.get,
            "checked": checked,
            "new": object.__new__,
            "cls": cls,
            "EMPTY": EMPTY,
            "proxy": types.MappingProxyType,
        }
        source = _fast_model_source(cls, env)
    finally:
        _BUILDING.discard(cls)
    if source is None:
        _BUILT.setdefault(cls, []).insert(0, checked)
        return checked
    exec(compile(source, _cached_source(cls, source), "exec"), env)
    generated: _Hook = env["decode"]
    _BUILT.setdefault(cls, []).insert(0, generated)
    return generated


def _cached_source(cls: type, source: str) -> str:
    """A unique file name for a generated decoder, its source put in ``linecache``.

    A traceback through the decoder then shows its lines (cattrs'
    ``generate_unique_filename`` does the same for its own functions).
    """
    lines = source.splitlines(keepends=True)
    count = 0
    while True:
        suffix = f"-{count}" if count else ""
        filename = f"<losant_async generated decode {cls.__qualname__}{suffix}>"
        entry = (len(source), None, lines, filename)
        if linecache.cache.setdefault(filename, entry) == entry:  # ours, or the same source
            return filename
        count += 1


def _model_unstructure_hook(cls: type) -> Callable[[Any], dict[str, Any]]:
    base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(
        cls, converter, _cattrs_omit_if_default=True, **_overrides(wire_names(cls))
    )

    def unstructure_model(instance: Any) -> dict[str, Any]:
        wire = base(instance)
        for key, value in instance.extra.items():
            wire.setdefault(key, converter.unstructure(value))
        return wire

    return unstructure_model


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook_func(lambda tp: tp is object, _structure_free)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    conv.register_unstructure_hook(types.MappingProxyType, lambda value: dict(value))
    conv.register_structure_hook_factory(_is_optional, _optional_hook)
    conv.register_structure_hook_factory(_is_list, _list_hook)
    conv.register_structure_hook_factory(_is_mapping, _mapping_hook)
    conv.register_structure_hook_factory(attrs.has, _model_structure_hook)
    conv.register_unstructure_hook_factory(attrs.has, _model_unstructure_hook)
    return conv


converter: cattrs.Converter = _make_converter()
"""The converter of every model (hooks are generated on first use of a class)."""
