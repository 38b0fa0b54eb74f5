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
from typing import Any, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .._models._base import DECODING, EMPTY
from .._models._wire import ARRAY_LIMITS, NULLABLE, RENAMES
from ._fast import FastDecoder, fast_source, is_optional

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
# Each model's fast decoder and whether it is pure (``_fast``); ``structure``
# calls the pure ones (``PURE``) directly, without entering ``decoding()``.
_FAST: dict[type, tuple[FastDecoder, bool]] = {}
PURE: dict[type, FastDecoder] = {}


def _fast_of(cls: type) -> tuple[FastDecoder | None, bool]:
    """A nested model's fast decoder and purity; none while it is being built (recursion)."""
    if cls not in _BUILDING:
        converter.get_structure_hook(cls)  # builds it on first use
    return _FAST.get(cls, (None, False))


def _model_structure_hook(cls: type) -> _Hook:
    """The converter's hook of a model: its fast decoder while decoding, else the checked one.

    While a response is decoded (``decoding()``) the generated fast decoder
    (``_fast``) builds the instance; anything it does not expect (a wrong
    type, a missing required key) re-runs the checked decoder, which raises
    with every path. Outside a decode, the checked one runs the validators.
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
            "new": object.__new__,
            "cls": cls,
            "EMPTY": EMPTY,
            "proxy": types.MappingProxyType,
            "fromiso": datetime.fromisoformat,
            "UTC": UTC,
        }
        found = fast_source(cls, env, converter.get_structure_hook, _fast_of, wire_names(cls))
    finally:
        _BUILDING.discard(cls)
    if found is None:
        _BUILT.setdefault(cls, []).insert(0, checked)
        return checked
    source, pure = found
    exec(compile(source, _cached_source(cls, source), "exec"), env)
    fast: FastDecoder = env["fast"]
    decoding = DECODING.get

    def structure_model(data: Any, _: Any) -> Any:
        if decoding():
            try:
                return fast(data)
            except Exception:  # redone below, with the checks that name the paths
                pass
        return checked(data, _)

    _FAST[cls] = (fast, pure)
    if pure:
        PURE[cls] = fast
    _BUILT.setdefault(cls, []).insert(0, structure_model)
    return structure_model


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
    conv.register_structure_hook_factory(is_optional, _optional_hook)
    conv.register_structure_hook_factory(_is_list, _list_hook)
    conv.register_structure_hook_factory(_is_mapping, _mapping_hook)
    conv.register_structure_hook_factory(attrs.has, _model_structure_hook)
    conv.register_unstructure_hook_factory(attrs.has, _model_unstructure_hook)
    return conv


converter: cattrs.Converter = _make_converter()
"""The converter of every model (hooks are generated on first use of a class)."""
