"""Straight-line model decoders, generated from source: the fast path of a response decode.

A model's fast decoder reads the wire keys of a plain ``dict`` and fills a
new instance's slots directly: what attrs' ``__init__`` does, minus the
validators a decode skips anyway. It raises on anything it does not expect
(a wrong type, a missing required key, a ``Mapping`` that is not a ``dict``)
and whoever called it then runs the checked cattrs decoder, which raises with
every path; so on success both give the same value, and errors are always the
checked ones.

Where it costs (``cProfile`` of ``structure(json.loads(body), Application)``,
~100 fields in 14 models):

- the slots are filled by plain assignment on a *filler*, a subclass of the
  model that only lifts the frozen ``__setattr__``, so each store is the
  interpreter's specialised slot store (``STORE_ATTR_SLOT``) and not a call
  of the member descriptor's ``__set__`` (about 40 ns less per field); the
  instance then becomes the model itself (``__class__`` assignment: same
  layout, no copy);
- nested models call each other's fast decoders directly: no converter
  dispatch, no ``DECODING`` look-up, no wrapper per nested model or list;
- primitives, ``date-time`` strings and lists of them are checked inline.

A decoder is *pure* when nothing it calls consults ``DECODING`` (every nested
model it holds is decoded by another pure fast decoder): ``structure`` then
calls it without entering ``decoding()`` at all.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Union, get_args, get_origin

import attrs

__all__ = ["FastDecoder", "fast_source", "filler", "is_optional"]

FastDecoder = Callable[[Any], Any]
_Hook = Callable[[Any, Any], Any]
_PRIMITIVES: Final = (str, bool, int, float)
# Types whose generic hook never reaches a model's (so never consults DECODING).
_LEAVES: Final = (str, bool, int, float, datetime, object)
_SLOT: Final = types.MemberDescriptorType
_FACTORY: Final[type] = type(attrs.Factory(list))
# ``_structure_datetime`` inline: fromisoformat reads Losant's trailing "Z".
_DATETIME: Final = (
    "if type(v) is not str: raise TypeError",
    "v = fromiso(v)",
    "if v.tzinfo is None: v = v.replace(tzinfo=UTC)",
)
_PRIMITIVE_LIST: Final = (
    "if type(v) is not list: raise TypeError",
    "for x in v:",
    "    if type(x) is not {kind}:",
    "        {hook}",
    "        break",
    "else:",
    "    v = v[:]",
)


def is_optional(tp: Any) -> bool:
    """Whether ``tp`` is ``X | None``."""
    if get_origin(tp) not in (Union, types.UnionType):
        return False
    args = get_args(tp)
    return len(args) == 2 and type(None) in args


def filler(cls: type) -> type:
    """A subclass of ``cls`` whose slots plain assignment fills (frozen ``__setattr__`` lifted).

    Both dunders must be ``object``'s own for the type to get the generic
    ``tp_setattro``, which the interpreter specialises into a slot store.
    An instance is switched to ``cls`` once filled: the layout is the same.
    """
    namespace = {
        "__slots__": (),
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}.<filler>",
    }
    return type(cls.__name__, (cls,), namespace)


def _leaf_only(tp: Any) -> bool:
    """Whether ``tp``'s generic hook is built from leaves only (no model inside)."""
    if tp in _LEAVES:
        return True
    if attrs.has(tp):
        return False
    args = get_args(tp)
    return bool(args) and all(a is type(None) or _leaf_only(a) for a in args)


def _convert_lines(
    index: int, inner: Any, env: dict[str, Any], hook: _Hook, fast_of: Callable[[type], Any]
) -> tuple[str | None, list[str], bool]:
    """How a present, non-null ``v`` becomes ``inner``: (guard, statements, pure).

    The statements run only when the guard (a test of ``v``, if any) holds.
    """
    env[f"t{index}"] = inner
    env[f"h{index}"] = hook
    generic = [f"v = h{index}(v, t{index})"]
    if inner is object:  # free-form: any JSON value, as is
        return None, [], True
    if inner in _PRIMITIVES:
        return f"type(v) is not {inner.__name__}", generic, True
    if inner is datetime:
        return None, list(_DATETIME), True
    if attrs.has(inner):
        fast, pure = fast_of(inner)
        if fast is None:
            return None, generic, False
        env[f"f{index}"] = fast
        return None, [f"v = f{index}(v)"], pure
    origin, args = get_origin(inner), get_args(inner)
    if origin is Mapping and args == (str, object):
        return "type(v) is not dict", generic, True
    if origin is list and attrs.has(args[0]):
        fast, pure = fast_of(args[0])
        if fast is None:
            return None, generic, False
        env[f"f{index}"] = fast
        listed = ["if type(v) is not list: raise TypeError", f"v = [f{index}(x) for x in v]"]
        return None, listed, pure
    if origin is list and args[0] in _PRIMITIVES:
        # The common case (every item already of its type) copied as is; any
        # other item (an int in a list of floats) goes through the list hook.
        kind = args[0].__name__
        return None, [line.format(kind=kind, hook=generic[0]) for line in _PRIMITIVE_LIST], True
    return None, generic, _leaf_only(inner)


def fast_source(
    cls: type,
    env: dict[str, Any],
    hook_of: Callable[[Any], _Hook],
    fast_of: Callable[[type], tuple[FastDecoder | None, bool]],
    wire: Mapping[str, str],
) -> tuple[str, bool] | None:
    """Source of ``cls``'s fast decoder ``fast(o)`` and whether it is pure.

    ``env`` receives the names the source uses; ``hook_of(tp)`` is the
    converter's hook of a type; ``fast_of(model)`` a nested model's fast
    decoder (``None`` if it has none, or is being built: a recursive model)
    and its purity; ``wire`` the model's attribute -> wire key names.
    ``None`` when the class needs what only ``__init__`` does (a factory
    default, a converter other than ``extra``'s, an init hook).
    """
    if any(hasattr(cls, hook) for hook in ("__attrs_pre_init__", "__attrs_post_init__")):
        return None
    fields = attrs.fields(cls)
    slots = {a.name for a in fields} | {"__weakref__"}
    if any(name not in slots for name in getattr(cls, "__slots__", ("?",))):
        return None  # not slotted, or a slot __init__ fills (attrs' cached hash)
    if "extra" not in {a.name for a in fields}:
        return None
    lines = ["def fast(o):", "    if type(o) is not dict: raise TypeError", "    i = new(F)"]
    pure = True
    for index, a in enumerate(fields):
        if not a.init or a.alias != a.name or not isinstance(cls.__dict__.get(a.name), _SLOT):
            return None
        if a.name == "extra":
            continue
        if a.converter is not None or isinstance(a.default, _FACTORY):
            return None
        tp, key = a.type, wire[a.name]
        optional = is_optional(tp)
        inner = next(x for x in get_args(tp) if x is not type(None)) if optional else tp
        guard, convert, field_pure = _convert_lines(index, inner, env, hook_of(inner), fast_of)
        pure = pure and field_pure
        # A value present is converted exactly as cattrs would (None passes an
        # optional type only); a missing key takes the default, unconverted.
        when: list[str] = [guard] if guard else []
        if a.default is attrs.NOTHING:
            lines.append(f"    v = o[{key!r}]")
        elif a.default is None and optional:
            lines.append(f"    v = o.get({key!r})")
        else:
            env[f"d{index}"] = a.default
            lines.append(f"    v = o[{key!r}] if {key!r} in o else d{index}")
            when.append(f"{key!r} in o")
        if optional:
            when.append("v is not None")
        if convert and len(convert) == 1 and when:
            lines.append(f"    if {' and '.join(when)}: {convert[0]}")
        elif convert and when:
            lines.append(f"    if {' and '.join(when)}:")
            lines += [f"        {line}" for line in convert]
        else:
            lines += [f"    {line}" for line in convert]
        lines.append(f"    i.{a.name} = v")
    lines += [
        "    i.extra = EMPTY if known.issuperset(o) else "
        "proxy({k: v for k, v in o.items() if k not in known})",
        "    i.__class__ = cls",
        "    return i",
    ]
    env["known"] = frozenset(wire.values())
    env["F"] = filler(cls)
    return "\n".join(lines) + "\n", pure
