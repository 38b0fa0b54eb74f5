"""How the generated methods check and send their arguments (one function per kind).

The kinds are the plan's (``tools/_api_plan.py`` ``KINDS``; README "The whole
API"). Every function raises ``TypeError`` (wrong kind of thing) or
``ValueError`` (right kind, wrong value) naming the argument, before anything
is sent. Query values come back as text; the multi-pair kinds (``nested``,
``texts``) as lists of pairs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import IO, Any, Final, TypeAlias, cast

from attrs import has

from .._constants import SAFE_INTEGER
from .._multipart import Multipart, file_field
from .._params import build_body, build_list_body, check_json, check_query_text, to_csv, to_ms
from ._ids import path_id

__all__ = [
    "Pairs",
    "Upload",
    "any_body",
    "choice",
    "csv",
    "flag",
    "form",
    "integer",
    "json_text",
    "list_body",
    "model_body",
    "nested",
    "path_id",
    "text",
    "texts",
    "time",
]

Pairs: TypeAlias = list[tuple[str, str]]
Upload: TypeAlias = "bytes | str | os.PathLike[str] | IO[bytes]"
"""A file to upload: a path (streamed from disk), bytes, or a binary file object."""

_COMPACT: Final = (",", ":")


def text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return check_query_text(name, value)


def choice(value: object, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def integer(value: object, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    # Read by Node.js: beyond 2**53 - 1 it would silently become another number.
    if abs(value) > SAFE_INTEGER:
        raise ValueError(f"{name} must be within ±(2**53 - 1)")
    return str(value)


def flag(value: object, name: str) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return "true" if value else "false"


def time(value: object, name: str) -> str:
    """A datetime (naive = UTC) or ms since the epoch; a negative int is relative to now."""
    if isinstance(value, datetime):
        return to_ms(value, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be a datetime or an int of milliseconds, not {type(value).__name__}"
        )
    return integer(value, name)


def csv(value: object, name: str) -> str:
    return check_query_text(name, to_csv(cast("str | Sequence[str]", value), name))


def json_text(value: object, name: str) -> str:
    """An object-valued query parameter (``advanced*Query``), sent as one JSON text."""
    if has(type(value)):
        from .._convert import unstructure

        data: object = unstructure(value)
    elif isinstance(value, Mapping):
        data = value
    else:
        raise TypeError(f"{name} must be a model or a mapping, not {type(value).__name__}")
    check_json(data, name)
    return check_query_text(name, json.dumps(data, separators=_COMPACT, ensure_ascii=False))


def nested(wire: str, value: object, name: str) -> Pairs:
    """A list or mapping filter in brackets, as Losant's own clients send it.

    ``[{"key": "floor", "value": "2"}]`` as ``tagFilter`` ->
    ``tagFilter[0][key]=floor&tagFilter[0][value]=2``; a plain string is sent as is.
    """
    pairs: Pairs = []
    _flatten(wire, value, name, pairs, 0)
    return pairs


def _flatten(prefix: str, value: object, name: str, out: Pairs, depth: int) -> None:
    if depth > 8:
        raise ValueError(f"{name} is nested too deeply")
    if has(type(value)):
        from .._convert import unstructure

        value = unstructure(value)
    if isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif isinstance(value, str):
        out.append((prefix, check_query_text(name, value)))
    elif isinstance(value, int | float):
        out.append((prefix, integer(value, name) if isinstance(value, int) else repr(value)))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{name}: keys must be str, not {type(key).__name__}")
            _flatten(f"{prefix}[{key}]", item, name, out, depth + 1)
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, name, out, depth + 1)
    else:
        raise TypeError(f"{name}: cannot send a {type(value).__name__} in a query")


def texts(wire: str, value: object, name: str) -> Pairs:
    """A list of strings as ``name[0]=a&name[1]=b`` (one string: ``name[0]=a``)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or isinstance(items, bytes | bytearray):
        raise TypeError(f"{name} must be a str or a sequence of str, not {type(value).__name__}")
    return [(f"{wire}[{i}]", text(item, f"{name}[{i}]")) for i, item in enumerate(items)]


# -- bodies ----------------------------------------------------------------------------


def model_body(cls: type[Any], body: object, fields: Mapping[str, object]) -> dict[str, object]:
    """An object body: a model, a camelCase mapping, or snake_case keywords (``_params``)."""
    return build_body(cls, cast(Any, body), fields)


def list_body(cls: type[Any], items: object, name: str = "body") -> list[dict[str, object]]:
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise TypeError(f"{name} must be a sequence of {cls.__name__} or mappings")
    return build_list_body(cls, items)


def any_body(value: object, name: str = "body") -> object:
    """A body whose schema is a choice (``oneOf``): models, mappings and lists of them."""
    if has(type(value)):
        return build_body(type(value), cast(Any, value), {})
    if isinstance(value, Mapping):
        check_json(value, name)
        return value
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return [any_body(item, f"{name}[{i}]") for i, item in enumerate(value)]
    if value is None:
        raise TypeError(f"{name} is required")
    check_json(value, name)
    return value


# -- multipart ---------------------------------------------------------------------------


def form(files: Mapping[str, tuple[object, str]], fields: Mapping[str, object]) -> Multipart:
    """An upload form: ``files`` maps a field to (upload, argument name); ``fields`` text parts.

    A path is streamed from disk (opened at the first read, closed at its end),
    bytes are sent as ``upload``, a file object under its base name. Models and
    mappings in ``fields`` go as JSON text.
    """
    data: dict[str, str] = {}
    for wire, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            data[wire] = "true" if value else "false"
        elif isinstance(value, str):
            check_json(value, wire)
            data[wire] = value
        elif has(type(value)) or isinstance(value, Mapping):
            data[wire] = json_text(value, wire)
        else:
            raise TypeError(f"{wire}: cannot send a {type(value).__name__} as a form field")
    parts: dict[str, tuple[str, IO[bytes] | bytes, str]] = {}
    for wire, (upload, name) in files.items():
        if upload is not None:
            # Bytes go up under a neutral name; the type follows the file name.
            parts[wire] = file_field(upload, name, default_name="upload")
    return data, parts
