"""The one cattrs converter: wire (camelCase) JSON <-> the attrs models.

- Attribute names map to camelCase keys; the few that do not follow the rule
  (``blobUrlTTL``, ``_type``) come from the generated ``_models._wire.RENAMES``.
- Keys a model does not know are kept, read-only, in its ``extra`` (wire
  names), and sent back when the model is unstructured.
- ``date-time`` strings become aware ``datetime``s (a naive one is taken as
  UTC) and go out as ISO-8601 with ``Z``.
- Fields left at ``None`` are not sent.
- Decoding a response never runs the input models' validators (a value the
  server adds later must still decode), and any mismatch between a response
  and its model raises ``APIResponseValidationError`` with cattrs' paths.

The hooks are generated per class with ``make_dict_structure_fn`` /
``make_dict_unstructure_fn`` and ``override(rename=...)`` (the camelCase
recipe of cattrs' ``docs/usage.md``), the primitives are strict and cheap.
Each model also gets a straight-line decoder generated from source
(``_fast``); the source is registered in ``linecache`` (as cattrs does), so a
traceback through one shows its code. ``structure`` calls it directly, and
anything it does not expect is decoded again by the checked path.

Entry points: ``decode(response, cls)`` / ``decode_list(response, cls)`` for
a response; ``structure`` / ``structure_list`` for JSON already parsed;
``decoding()`` around any other construction of models from the server's
data; ``mqtt_message(topic, message)``, the one fast path for the SSE stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TypeVar

import attrs
from cattrs.v import transform_error

from .._exceptions import APIResponseValidationError
from .._models import MqttMessage
from .._models._base import DECODING, EMPTY
from .._secrets import snippet
from ._hooks import PURE, as_utc, camel, converter, wire_names

if TYPE_CHECKING:
    from .._response import Response

__all__ = [
    "as_utc",
    "camel",
    "converter",
    "decode",
    "decode_list",
    "decoding",
    "mqtt_message",
    "mqtt_message_setters",
    "structure",
    "structure_list",
    "unstructure",
    "wire_names",
]

T = TypeVar("T")

# The C scanner ``json.loads`` ends in (a default decoder: no hooks); an
# instance attribute, which the stubs do not declare.
_scan: Final[Callable[[str, int], tuple[object, int]]] = vars(json.JSONDecoder())["scan_once"]
_JSON_SPACE: Final = " \t\n\r"


def _json_body(response: Response) -> object:
    """``response.json()``, minus ``json.loads``' Python layers for the usual body.

    An object or array body is UTF-8 (``json.detect_encoding`` says so for any
    body starting with ``{`` or ``[`` that parses) and goes to the scanner
    directly; anything else, or anything the scanner rejects, is left to
    ``response.json()``, which raises as it always has.
    """
    content = response.content
    if content[:1] in b"{[" and content:
        try:
            text = content.decode("utf-8", "surrogatepass")
            data, end = _scan(text, 0)
        except Exception:  # redone by response.json(), which raises the right error
            pass
        else:
            if end == len(text) or not text[end:].strip(_JSON_SPACE):
                return data
    return response.json()


def _response_error(
    exc: Exception, name: str, status_code: int, body: bytes | str | None, data: object
) -> APIResponseValidationError:
    if body is None:
        try:
            body = json.dumps(data, default=str)
        except (TypeError, ValueError):
            body = repr(data)
    return APIResponseValidationError(
        f"Response body does not match {name}",
        status_code=status_code,
        body_snippet=snippet(body),
        errors=transform_error(exc),
    )


class decoding:  # lower case: used like a function, ``with decoding():``
    """While inside, models are built from the server's data: validators are off.

    Response decoding constructs input models too (an ``Application`` carries
    ``ApplicationGlobal`` items, the SSE stream ``MqttMessage``). The server's
    data is never checked against our copy of its rules, so that a value it
    adds later (an enum member, a longer name) still decodes. The flag is a
    ``ContextVar`` (``_models._base.DECODING``), so a model built concurrently
    in another task or thread is still validated.
    """

    # A class rather than @contextmanager: it is entered once per response.
    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = DECODING.set(True)

    def __exit__(self, *exc_info: object) -> None:
        DECODING.reset(self._token)


def structure(
    data: object, cls: type[T], *, status_code: int = 200, body: bytes | str | None = None
) -> T:
    """Decode JSON already parsed into ``cls``.

    Raises:
        APIResponseValidationError: the JSON does not fit ``cls`` (its
            ``errors`` hold cattrs' paths, e.g. ``... @ $.items[0].status``).
    """
    fast = PURE.get(cls)
    if fast is not None:
        # A pure fast decoder consults no DECODING flag: no decoding() needed,
        # no converter dispatch. It raises on anything it does not expect.
        try:
            decoded: T = fast(data)
        except Exception:  # redone below, with the checks that name the paths
            pass
        else:
            return decoded
    with decoding():
        try:
            result: T = converter.structure(data, cls)
        except Exception as exc:
            raise _response_error(exc, cls.__name__, status_code, body, data) from exc
    return result


def structure_list(
    data: object, cls: type[T], *, status_code: int = 200, body: bytes | str | None = None
) -> list[T]:
    """Decode a JSON array already parsed into a list of ``cls``."""
    fast = PURE.get(cls)
    if fast is not None and type(data) is list:
        try:
            return [fast(item) for item in data]
        except Exception:  # redone below, with the checks that name the paths
            pass
    with decoding():
        try:
            result: list[T] = converter.structure(data, list[cls])  # type: ignore[valid-type]
        except Exception as exc:
            name = f"list[{cls.__name__}]"
            raise _response_error(exc, name, status_code, body, data) from exc
    return result


def decode(response: Response, cls: type[T]) -> T:
    """Decode a response's JSON body into ``cls``.

    Raises:
        APIResponseValidationError: the body is not JSON, or does not fit
            ``cls``; it carries the status and a snippet of the body.
    """
    try:
        return structure(
            _json_body(response), cls, status_code=response.status_code, body=response.content
        )
    except APIResponseValidationError as exc:
        response.locate(exc)
        raise


def decode_list(response: Response, cls: type[T]) -> list[T]:
    """Decode a response's JSON array body into a list of ``cls``."""
    try:
        return structure_list(
            _json_body(response), cls, status_code=response.status_code, body=response.content
        )
    except APIResponseValidationError as exc:
        response.locate(exc)
        raise


_Setter = Callable[[object, object], None]


def _message_setters() -> tuple[_Setter, _Setter, _Setter] | None:
    """Setters of ``MqttMessage``'s three slots; ``None`` if its shape ever differs."""
    names = ("topic", "message", "extra")
    slots = tuple(s for s in getattr(MqttMessage, "__slots__", ()) if s != "__weakref__")
    if (
        tuple(a.name for a in attrs.fields(MqttMessage)) != names
        or slots != names
        or hasattr(MqttMessage, "__attrs_post_init__")
    ):
        return None
    topic, message, extra = (MqttMessage.__dict__[name].__set__ for name in names)
    return topic, message, extra


def _unused_setter(instance: object, value: object) -> None:
    raise AssertionError("unreachable")  # pragma: no cover


_SETTERS: Final = _message_setters()
_SET_TOPIC, _SET_MESSAGE, _SET_EXTRA = _SETTERS or (_unused_setter,) * 3
_new: Final = object.__new__


def mqtt_message(topic: str, message: str) -> MqttMessage:
    """The ``MqttMessage`` of an SSE event's ``topic`` and ``message`` strings.

    The one fast path for the stream's common shape: the slots are set
    directly (what attrs' ``__init__`` does, minus the validators decoding
    skips), several times cheaper than the converter, for the same model.
    """
    if _SETTERS is None:  # pragma: no cover - only if the model's shape ever changes
        with decoding():
            return MqttMessage(topic=topic, message=message)
    msg = _new(MqttMessage)
    _SET_TOPIC(msg, topic)
    _SET_MESSAGE(msg, message)
    _SET_EXTRA(msg, EMPTY)
    return msg


def mqtt_message_setters() -> tuple[_Setter, _Setter, _Setter] | None:
    """The setters of ``MqttMessage``'s ``topic``, ``message`` and ``extra`` slots.

    For the SSE stream's batch decoder, which inlines ``mqtt_message``;
    ``None`` when the model's shape differs (then use ``mqtt_message``).
    """
    return _SETTERS


def unstructure(model: object) -> dict[str, object]:
    """The wire (camelCase) dict of a model: ``None`` fields left out, ``extra`` merged back."""
    if not attrs.has(type(model)):
        raise TypeError(f"expected a losant_async model, got {type(model).__name__}")
    result: dict[str, object] = converter.unstructure(model)
    return result
