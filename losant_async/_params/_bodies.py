"""Request bodies: from a model, a camelCase mapping, or snake_case keyword arguments.

Each way ends in the same checked wire (camelCase) JSON: the model's
validators run on every model in the tree, ``extra`` keys and free-form values
are checked for what JSON and Losant's Node.js parser can carry, and an
explicit ``None`` in a mapping or keyword becomes JSON ``null`` where the
schema allows it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

import attrs
from cattrs.v import transform_error

from .._convert import converter, decoding, unstructure, wire_names
from .._convert._hooks import array_limit, nullable_fields
from .._models import ApplicationImportOptions, ImportIntoApplicationOptions
from .._models._base import SAFE_INTEGER

__all__ = ["build_body", "build_list_body", "check_json"]

M = TypeVar("M")

# A body model may stand in for another (spec/README.md: the reference page's
# "Application Import Options" and ``importIntoApplicationOptions`` are both
# accepted on input).
_ACCEPTED_AS: dict[type, tuple[type, ...]] = {
    ImportIntoApplicationOptions: (ApplicationImportOptions,)
}


def build_body(
    cls: type[M], body: M | Mapping[str, object] | None, kwargs: Mapping[str, object]
) -> dict[str, object]:
    """The wire (camelCase) JSON body of a request.

    Exactly one of: a ``cls`` model, a camelCase mapping, or snake_case keyword
    arguments (nested values may be models or camelCase mappings). Keys a
    mapping adds beyond the schema are sent as given.

    Raises:
        TypeError: both a body and keyword arguments, an unknown keyword
            argument, or a body of another kind.
        ValueError: a field breaks the schema's rules (the message names it).
    """
    if body is not None and kwargs:
        raise TypeError(f"pass a {cls.__name__} body or keyword arguments, not both")
    if body is not None:
        if isinstance(body, (cls, *_ACCEPTED_AS.get(cls, ()))):
            _validate_tree(body)
            return _checked(cls, unstructure(body))
        if attrs.has(type(body)):
            raise TypeError(f"expected a {cls.__name__} body, got {type(body).__name__}")
        if not isinstance(body, Mapping):
            raise TypeError(
                f"a {cls.__name__} body must be a model or a mapping, not {type(body).__name__}"
            )
        model = _from_wire(cls, body, f"{cls.__name__} body")
        _validate_tree(model)
        wire = unstructure(model)
        _explicit_nulls(cls, body, wire)
        return _checked(cls, wire)
    fields = _fields_of(cls)
    values: dict[str, Any] = {}
    for name, value in kwargs.items():
        field = fields.get(name)
        if field is None:
            raise TypeError(f"{cls.__name__} got an unexpected keyword argument {name!r}")
        values[name] = _nested(field.type, value, f"{cls.__name__}.{name}")
    missing = [
        f.name for f in fields.values() if f.default is attrs.NOTHING and f.name not in values
    ]
    if missing:
        raise ValueError(f"{cls.__name__}.{missing[0]} is required")
    model = cls(**values)
    _validate_tree(model)
    wire = unstructure(model)
    names = wire_names(cls)
    _explicit_nulls(cls, {names[k]: v for k, v in kwargs.items() if k in names}, wire)
    return _checked(cls, wire)


def build_list_body(
    cls: type[M], items: Sequence[M | Mapping[str, object]]
) -> list[dict[str, object]]:
    """The wire JSON array body of a request whose schema is an array of ``cls``.

    Raises:
        TypeError: ``items`` is not a sequence, or an item is neither a model nor a mapping.
        ValueError: too many items, or an item breaks the schema's rules.
    """
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise TypeError(f"expected a sequence of {cls.__name__}, not {type(items).__name__}")
    limit = array_limit(cls)
    if limit is not None and len(items) > limit:
        raise ValueError(f"at most {limit} {cls.__name__} items, got {len(items)}")
    return [build_body(cls, item, {}) for item in items]


def _fields_of(cls: type) -> dict[str, attrs.Attribute[Any]]:
    """The attrs fields of a model class, their types resolved (not the strings of the source).

    The models are written with ``from __future__ import annotations``; the
    converter resolves a class's types only once it builds a hook for it, so
    a body given as keywords must not depend on a decode having come first.
    """
    return attrs.fields_dict(attrs.resolve_types(cast(Any, cls)))


def _validate_tree(model: object) -> None:
    """Run the attrs validators of a model and of every model inside it.

    A nested model may have been decoded from a response (validators off), e.g.
    ``app.archive_config`` sent back in a patch.
    """
    attrs.validate(model)  # type: ignore[arg-type]
    for field in attrs.fields(cast(Any, type(model))):
        value = getattr(model, field.name)
        if attrs.has(type(value)):
            _validate_tree(value)
        elif isinstance(value, list):
            for item in value:
                if attrs.has(type(item)):
                    _validate_tree(item)


_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[('[^']*'|\"[^\"]*\")\]")


def _snake_path(cls: type, path: str) -> str:
    """A cattrs path in wire names (``$.repo.commitMessage``) in attribute names.

    Steps the models do not know (extra keys, free-form objects) stay as given.
    """
    current: type | None = cls
    parts = [cls.__name__]
    for match in _PATH_STEP.finditer(path):
        key, index, quoted = match.groups()
        if index is not None or quoted is not None:
            parts.append(f"[{index if index is not None else quoted}]")
            continue
        attr = {w: a for a, w in wire_names(current).items()}.get(key) if current else None
        parts.append(f".{attr or key}")
        current = _model_type(_fields_of(current)[attr].type) if current and attr else None
    return "".join(parts)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _from_wire(cls: type[M], data: Mapping[str, object], what: str) -> M:
    """Build a model from a camelCase mapping (shape checked here, rules later).

    Raises:
        TypeError: only wrong kinds of values (a ``str`` where a bool belongs).
        ValueError: anything else (a missing field, a malformed date-time).
        Either names the fields in Python's names and in the wire's.
    """
    with decoding():
        try:
            model: M = converter.structure(data, cls)
        except Exception as exc:
            problems = []
            for problem in transform_error(exc):
                text, _, path = problem.rpartition(" @ ")
                problems.append(f"{problem} ({_snake_path(cls, path)})" if text else problem)
            kinds = {type(leaf) for leaf in _leaves(exc)}
            error = (
                TypeError if kinds and all(issubclass(k, TypeError) for k in kinds) else ValueError
            )
            raise error(f"invalid {what}: {'; '.join(problems)}") from exc
    return model


def check_json(value: object, where: str) -> None:
    """Check that a body can go out as JSON that Losant reads as sent.

    The models check their own fields; this catches what they cannot see:
    ``extra`` keys and free-form objects (a NaN, an integer beyond 2**53 - 1,
    a lone surrogate, a ``set``).
    """
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"{where} must be valid Unicode (lone surrogate at index {exc.start})"
                ) from None
        return
    if isinstance(value, int):
        if abs(value) > SAFE_INTEGER:
            raise ValueError(f"{where} must be within ±(2**53 - 1)")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} must be finite, got {value}")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} keys must be str, not {type(key).__name__}")
            check_json(key, f"{where} key")
            check_json(item, f"{where}[{key!r}]")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json(item, f"{where}[{index}]")
        return
    raise TypeError(f"{where}: a {type(value).__name__} cannot be sent as JSON")


def _checked(cls: type, wire: dict[str, object]) -> dict[str, object]:
    """``wire``, once ``check_json`` passed on every top-level field (named in Python)."""
    attr_of = {w: a for a, w in wire_names(cls).items()}
    for key, value in wire.items():
        # A key the schema does not know is named as the caller wrote it, in the body.
        if key in attr_of:
            where = f"{cls.__name__}.{attr_of[key]}"
        else:
            # The key itself goes out too: a lone surrogate in it cannot be JSON.
            check_json(key, "body key")
            where = f"body[{key!r}]"
        check_json(value, where)
    return wire


def _explicit_nulls(cls: type, given: Mapping[str, object], wire: dict[str, object]) -> None:
    """Send JSON null where the caller gave ``None`` and the schema allows null.

    ``None`` means "not set" on a model, so only a mapping or keyword argument
    can ask for null (``archiveConfig: null`` turns archiving off; a global
    with ``json: null`` is removed).
    """
    names = wire_names(cls)
    by_wire = {w: a for a, w in names.items()}
    nullable = nullable_fields(cls)
    for key, value in given.items():
        attr = by_wire.get(key, key if key in names else "")
        if not attr:
            continue
        if value is None and attr in nullable:
            wire[names[attr]] = None
            continue
        field_type = _fields_of(cls)[attr].type
        inner = _model_type(field_type)
        sub = wire.get(names[attr])
        if inner is None or sub is None:
            continue
        if isinstance(value, Mapping) and isinstance(sub, dict):
            _explicit_nulls(inner, value, sub)
        elif (
            isinstance(value, Sequence)
            and not isinstance(value, str | bytes)
            and isinstance(sub, list)
        ):
            for item_given, item_wire in zip(value, sub, strict=False):
                if isinstance(item_given, Mapping) and isinstance(item_wire, dict):
                    _explicit_nulls(inner, item_given, item_wire)


def _model_type(tp: object) -> type | None:
    """The model class inside ``X``, ``X | None`` or ``list[X] | None``, if any."""
    if isinstance(tp, type) and attrs.has(tp):
        return tp
    for arg in getattr(tp, "__args__", ()):
        found = _model_type(arg)
        if found is not None:
            return found
    return None


def _nested(field_type: object, value: object, what: str) -> object:
    """A keyword value for a model field: camelCase mappings become models."""
    inner = _model_type(field_type)
    if inner is None or value is None:
        return value
    if isinstance(value, Mapping):
        return _from_wire(inner, value, what)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        # Any sequence (the keyword is typed ``Sequence[Model | Mapping]``) becomes a list.
        return [
            _from_wire(inner, item, f"{what}[{i}]") if isinstance(item, Mapping) else item
            for i, item in enumerate(value)
        ]
    return value
