"""Shaping arguments: ids, request bodies, query values and the import multipart.

Everything here runs before a request is sent, so a bad argument fails fast
with ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind, wrong
value), naming the argument or field.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import stat
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any, Final, TypeVar, cast
from urllib.parse import quote_plus

import attrs
from cattrs.v import transform_error

from ._constants import APPLICATION_ID_LENGTH
from ._convert import as_utc, camel, converter, unstructure, wire_names
from ._models import ApplicationImportOptions, ImportIntoApplicationOptions
from ._models._base import DECODING, SAFE_INTEGER
from ._models._wire import ARRAY_LIMITS, NULLABLE

__all__ = [
    "build_body",
    "build_list_body",
    "check_application_id",
    "import_multipart",
    "query",
    "to_csv",
    "to_ms",
]

M = TypeVar("M")

# Same shape as _transport.Multipart (data fields, httpx ``files=``); spelled
# out here because _params does not depend on the transport.
Multipart = tuple[Mapping[str, str], Mapping[str, tuple[str, IO[bytes] | bytes, str]]]

_HEX_ID = re.compile(rf"[0-9A-Fa-f]{{{APPLICATION_ID_LENGTH}}}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# The last millisecond a datetime can hold (9999-12-31T23:59:59.999Z): times
# are sent as ms since the epoch, and must come back as a datetime.
MAX_MS: Final = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MS
# A query value, percent-encoded, fits in this many bytes. Losant documents no
# bound (``search``'s ``filter`` has only ``minLength``); nginx, Losant's
# front, reads a request line into 8 KiB buffers by default
# (``large_client_header_buffers``), so one value may take half of that.
MAX_QUERY_VALUE_BYTES: Final = 4096
# API.md "Bodies": bytes and nameless file objects are sent under this name.
_DEFAULT_BUNDLE_NAME = "bundle.zip"
_BUNDLE_FIELD = "importBundle"
_ZIP = "application/zip"
# A body model may stand in for another (spec/README.md: the reference page's
# "Application Import Options" and ``importIntoApplicationOptions`` are both
# accepted on input).
_ACCEPTED_AS: dict[type, tuple[type, ...]] = {
    ImportIntoApplicationOptions: (ApplicationImportOptions,)
}


def check_application_id(value: object) -> str:
    """Return ``value`` if it is a 24-character hexadecimal application id.

    Raises:
        TypeError: ``value`` is not a ``str``.
        ValueError: it is not exactly 24 ASCII hex characters.
    """
    if not isinstance(value, str):
        raise TypeError(f"application_id must be a str, not {type(value).__name__}")
    # The value is not echoed: a token passed by mistake must not reach a message.
    if _HEX_ID.fullmatch(value) is None:
        raise ValueError(
            f"application_id must be {APPLICATION_ID_LENGTH} hexadecimal characters "
            f"(got {len(value)} characters)"
        )
    return value


def is_object_id(value: str) -> bool:
    """Whether ``value`` is 24 ASCII hex characters (a Losant/MongoDB id)."""
    return _HEX_ID.fullmatch(value) is not None


# -- bodies -------------------------------------------------------------------------


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
        current = _model_type(attrs.fields_dict(current)[attr].type) if current and attr else None
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
    token = DECODING.set(True)
    try:
        model: M = converter.structure(data, cls)
    except Exception as exc:
        problems = []
        for problem in transform_error(exc):
            text, _, path = problem.rpartition(" @ ")
            problems.append(f"{problem} ({_snake_path(cls, path)})" if text else problem)
        kinds = {type(leaf) for leaf in _leaves(exc)}
        error = TypeError if kinds and all(issubclass(k, TypeError) for k in kinds) else ValueError
        raise error(f"invalid {what}: {'; '.join(problems)}") from exc
    finally:
        DECODING.reset(token)
    return model


def _check_json(value: object, where: str) -> None:
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
            _check_json(key, f"{where} key")
            _check_json(item, f"{where}[{key!r}]")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]")
        return
    raise TypeError(f"{where}: a {type(value).__name__} cannot be sent as JSON")


def _checked(cls: type, wire: dict[str, object]) -> dict[str, object]:
    """``wire``, once ``_check_json`` passed on every top-level field (named in Python)."""
    attr_of = {w: a for a, w in wire_names(cls).items()}
    for key, value in wire.items():
        _check_json(value, f"{cls.__name__}.{attr_of.get(key, key)}")
    return wire


def _explicit_nulls(cls: type, given: Mapping[str, object], wire: dict[str, object]) -> None:
    """Send JSON null where the caller gave ``None`` and the schema allows null.

    ``None`` means "not set" on a model, so only a mapping or keyword argument
    can ask for null (``archiveConfig: null`` turns archiving off; a global
    with ``json: null`` is removed).
    """
    names = wire_names(cls)
    by_wire = {w: a for a, w in names.items()}
    nullable = NULLABLE.get(cls, frozenset())
    for key, value in given.items():
        attr = by_wire.get(key, key if key in names else "")
        if not attr:
            continue
        if value is None and attr in nullable:
            wire[names[attr]] = None
            continue
        field_type = attrs.fields_dict(cls)[attr].type
        inner = _model_type(field_type)
        sub = wire.get(names[attr])
        if inner is None or sub is None:
            continue
        if isinstance(value, Mapping) and isinstance(sub, dict):
            _explicit_nulls(inner, value, sub)
        elif isinstance(value, list) and isinstance(sub, list):
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
    fields = attrs.fields_dict(cls)  # type: ignore[arg-type]
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


def _nested(field_type: object, value: object, what: str) -> object:
    """A keyword value for a model field: camelCase mappings become models."""
    inner = _model_type(field_type)
    if inner is None or value is None:
        return value
    if isinstance(value, Mapping):
        return _from_wire(inner, value, what)
    if isinstance(value, list | tuple):
        return [
            _from_wire(inner, item, f"{what}[{i}]") if isinstance(item, Mapping) else item
            for i, item in enumerate(value)
        ]
    return value


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
    limit = ARRAY_LIMITS.get(cls)
    if limit is not None and len(items) > limit:
        raise ValueError(f"at most {limit} {cls.__name__} items, got {len(items)}")
    return [build_body(cls, item, {}) for item in items]


# -- query values -------------------------------------------------------------------


def to_ms(value: datetime | int | float, name: str = "time") -> str:
    """Milliseconds since the epoch, as the query wants them (a naive datetime is UTC).

    Numbers are milliseconds already and are rounded to whole milliseconds.
    Only times from 1970 to the end of year 9999 are accepted: ``payloadCounts``
    reads a negative number as relative to now, so a time before 1970 would
    silently mean something else (issue 11, defect 5).

    Raises:
        TypeError: not a ``datetime``, ``int`` or ``float`` (``bool`` is not a time).
        ValueError: NaN, infinite, before 1970 or after 9999.
    """
    if isinstance(value, datetime):
        try:
            ms = (as_utc(value) - _EPOCH) // _MS
        except OverflowError:  # an aware time at the calendar's edge
            raise ValueError(
                f"{name} is outside the datetime range once converted to UTC"
            ) from None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{name} must be a datetime or milliseconds since the epoch, not {type(value).__name__}"
        )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} in milliseconds must be finite, got {value}")
        ms = round(value)
    else:
        ms = value
    if not 0 <= ms <= MAX_MS:
        raise ValueError(
            f"{name} must lie between 1970-01-01 and 9999-12-31 UTC "
            f"(0 to {MAX_MS} ms since the epoch)"
        )
    return str(ms)


def to_csv(value: str | Sequence[str], name: str = "value") -> str:
    """A comma-separated query value from a string or a sequence of strings.

    Raises:
        TypeError: not a ``str`` or a sequence of ``str``.
        ValueError: an item holds a comma (the server would read two items).
    """
    if isinstance(value, str):
        return value
    given: object = value  # the annotation is what callers should pass, not a guarantee
    if not isinstance(given, Sequence) or isinstance(given, bytes | bytearray):
        raise TypeError(f"{name} must be a str or a sequence of str, not {type(given).__name__}")
    for index, item in enumerate(given):
        if not isinstance(item, str):
            raise TypeError(f"{name}[{index}] must be a str, not {type(item).__name__}")
        if "," in item:
            raise ValueError(f"{name}[{index}] must not contain a comma")
    return ",".join(cast(Sequence[str], given))


def check_query_text(name: str, value: str) -> str:
    """A ``str`` query value that can go in a URL: valid Unicode, not absurdly long.

    Raises:
        ValueError: a lone surrogate (not UTF-8), or longer than
            ``MAX_QUERY_VALUE_BYTES`` once percent-encoded.
    """
    try:
        encoded = quote_plus(value, safe="")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} must be valid Unicode (lone surrogate at index {exc.start})"
        ) from None
    if len(encoded) > MAX_QUERY_VALUE_BYTES:
        raise ValueError(
            f"{name} is too long for a URL: {len(encoded)} bytes once percent-encoded, "
            f"at most {MAX_QUERY_VALUE_BYTES}"
        )
    return value


def _query_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return check_query_text(name, value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        if abs(value) > SAFE_INTEGER:
            raise ValueError(f"{name} must be within ±(2**53 - 1)")
        if isinstance(value, int):
            return str(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return to_ms(value, name)
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return check_query_text(name, to_csv(value, name))
    raise TypeError(f"{name}: cannot send a {type(value).__name__} as a query value")


def query(**pairs: object) -> list[tuple[str, str]]:
    """Query parameters: snake_case names to camelCase, ``None`` left out.

    ``True``/``False`` become ``"true"``/``"false"``; integral floats are sent
    without ``.0``; datetimes as milliseconds; sequences comma-separated.

    Raises:
        TypeError: a value of a kind a query cannot carry.
        ValueError: a value that would not survive the trip (see
            ``check_query_text``, ``to_ms``); the message names the argument.
    """
    return [
        (camel(name), _query_value(name, value))
        for name, value in pairs.items()
        if value is not None
    ]


# -- the import multipart -----------------------------------------------------------


class _LazyFile(io.RawIOBase):
    """A file on disk that is opened at the first read and closed at its end.

    httpx reads it chunk by chunk (the bundle is streamed, never read whole),
    seeks it back to 0 for a retry, and learns its size via ``seek(0, 2)``
    without opening it. Nothing is left open if the request is never sent.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self._path = os.fspath(path)
        self.name = os.path.basename(self._path)
        info = os.stat(self._path)  # a missing file fails here, before any request
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "bundle is not a regular file", self._path)
        self._size = info.st_size
        self._pos = 0
        self._file: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        if self._file is not None:
            self._file.seek(self._pos)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._file is None:
            self._file = open(self._path, "rb")  # noqa: SIM115 - closed at EOF / close()
            self._file.seek(self._pos)
        count = self._file.readinto(buffer)  # type: ignore[attr-defined]
        if not count:
            self._release()
            return 0
        self._pos += count
        return int(count)

    def _release(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def close(self) -> None:
        self._release()
        super().close()


def _bundle_field(bundle: object) -> tuple[str, IO[bytes] | bytes, str]:
    if isinstance(bundle, str | os.PathLike):
        lazy = _LazyFile(cast("str | os.PathLike[str]", bundle))
        return (lazy.name, cast(IO[bytes], lazy), _ZIP)
    if isinstance(bundle, bytes | bytearray | memoryview):
        return (_DEFAULT_BUNDLE_NAME, bytes(bundle), _ZIP)
    if isinstance(bundle, io.TextIOBase):
        raise TypeError("bundle must be opened in binary mode ('rb')")
    if callable(getattr(bundle, "read", None)):
        name = getattr(bundle, "name", None)
        filename = os.path.basename(name) if isinstance(name, str) and name else ""
        return (filename or _DEFAULT_BUNDLE_NAME, cast(IO[bytes], bundle), _ZIP)
    raise TypeError(
        f"bundle must be bytes, a path or a binary file object, not {type(bundle).__name__}"
    )


def import_multipart(bundle: object, email: str | None, options: object) -> Multipart:
    """The form of ``POST /applications/{applicationId}/import``.

    - ``bundle``: a path (``str`` / ``os.PathLike``, streamed, sent under the
      file's name), ``bytes`` (sent as ``bundle.zip``), a binary file object
      (sent under the base name of its ``name``, else ``bundle.zip``), or None;
      field ``importBundle``, type ``application/zip``.
    - ``email``: a text field.
    - ``options``: an ``ImportIntoApplicationOptions`` (or the older
      ``ApplicationImportOptions``) or a camelCase mapping, sent as a JSON text
      field.

    Returns ``(data, files)``; ``files`` is empty without a bundle, and the
    transport must still send ``multipart/form-data`` then.
    """
    data: dict[str, str] = {}
    files: dict[str, tuple[str, IO[bytes] | bytes, str]] = {}
    if email is not None:
        if not isinstance(email, str):
            raise TypeError(f"email must be a str, not {type(email).__name__}")
        _check_json(email, "email")
        data["email"] = email
    if options is not None:
        if not isinstance(options, Mapping) and not attrs.has(type(options)):
            raise TypeError(
                "options must be an ImportIntoApplicationOptions or a mapping, "
                f"not {type(options).__name__}"
            )
        body = build_body(ImportIntoApplicationOptions, cast(Any, options), {})
        data["options"] = json.dumps(body, separators=(",", ":"))
    if bundle is not None:
        files[_BUNDLE_FIELD] = _bundle_field(bundle)
    return data, files
