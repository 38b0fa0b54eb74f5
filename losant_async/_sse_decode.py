"""The I/O-free half of the SSE stream: bytes in, ``MqttMessage``s out.

``_SSEDecoder`` turns network chunks into dispatched events following the
WHATWG "event stream interpretation" rules, reading runs of plain
``mqttMessage`` events through one regex; ``_to_message`` turns one event's
JSON body into an ``MqttMessage``, building the common shape directly. Nothing
here reads a socket or sleeps, so tests feed it bytes (STYLE.md: "SSE parsing
stays free of I/O"); ``_sse.MqttStream`` does the reading and reconnecting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Final

import attrs

from ._convert import structure
from ._exceptions import APIResponseValidationError, _snippet
from ._models import MqttMessage
from ._models._base import _DECODING, _EMPTY

_MQTT_EVENT: Final = "mqttMessage"


# One dispatched SSE event: (type, data, last event id). A plain tuple: a
# NamedTuple's constructor costs a Python call per event.
_Event = tuple[str, str, str]


class _SSEDecoder:
    """Incremental SSE decoder: feed it network chunks, get complete events.

    Implements https://html.spec.whatwg.org/multipage/server-sent-events.html
    section 9.2.6: lines end in CRLF, LF or CR (a CRLF may be split across
    chunks), a leading BOM is dropped, ``:`` lines are comments, an event is
    dispatched on a blank line only if it has data, ``id`` without NUL sets the
    last event id (kept across events), ``retry`` takes ASCII digits only, and
    a partial event at the end of the stream is never dispatched.
    """

    __slots__ = (
        "_buffer",
        "_data",
        "_event",
        "_id_buffer",
        "_skip_lf",
        "_started",
        "last_event_id",
        "retry",
    )

    def __init__(self, last_event_id: str = "") -> None:
        self._buffer = bytearray()
        self._skip_lf = False
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._id_buffer = last_event_id
        # The last event id string of the source: set on each dispatch.
        self.last_event_id = last_event_id
        # Reconnection time in milliseconds, as the server last set it.
        self.retry: int | None = None

    @property
    def has_partial(self) -> bool:
        """Whether bytes of an unfinished line or event are pending."""
        return bool(self._buffer or self._data or self._event)

    def feed(self, chunk: bytes) -> list[_Event]:
        """Decode one chunk; return the events it completes, in order."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if end < 0:
            self._buffer += chunk
            return []
        if self._buffer:
            self._buffer += chunk[: end + 1]
            block = bytes(self._buffer)
            self._buffer.clear()
        else:
            block = chunk[: end + 1]
        if end + 1 < len(chunk):
            self._buffer += chunk[end + 1 :]
        elif chunk[end] == 13:  # the chunk ends in CR: its LF may open the next one
            self._skip_lf = True
        # CR and LF never occur inside a UTF-8 multi-byte sequence, so a block
        # of whole lines decodes on its own.
        text = block.decode("utf-8", "replace")
        if not self._started:
            self._started = True
            if text[:1] == "\ufeff":
                text = text[1:]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return self._lines(text)

    def _lines(self, text: str) -> list[_Event]:
        """Interpret whole lines (``text`` ends with a line end); return the events."""
        # State in locals, written back once: this loop is the per-event cost.
        events: list[_Event] = []
        data, event = self._data, self._event
        id_buffer, last_id = self._id_buffer, self.last_event_id
        pos, size = 0, len(text)
        run_at, find = _RUN.match, text.find
        while pos < size:
            if not data and not event:
                # Between events: a run of plain mqttMessage events is read in C
                # (each dispatches its one data line, as the loop below would).
                run = run_at(text, pos)
                if run is not None:
                    events += [
                        (_MQTT_EVENT, value, id_buffer)
                        for value in _RUN_DATA.findall(text, pos, run.end())
                    ]
                    last_id = id_buffer
                    pos = run.end()
                    continue
            stop = find("\n", pos)
            if stop < 0:
                stop = size
            line = text[pos:stop]
            pos = stop + 1
            if not line:
                last_id = id_buffer
                if data:
                    events.append((event or "message", "\n".join(data), id_buffer))
                    data = []
                event = ""
                continue
            # A comment (":...") has an empty name and matches nothing below.
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\0" not in value:
                    id_buffer = value
            elif name == "retry" and value.isascii() and value.isdigit():
                self.retry = int(value)
        self._data, self._event = data, event
        self._id_buffer, self.last_event_id = id_buffer, last_id
        return events


# A run of events in the one common shape: ``event: mqttMessage``, one data
# line, a blank line (the value after one optional space, as the rules say).
_RUN: Final = re.compile(r"(?:event: ?mqttMessage\ndata: ?[^\n]*\n\n)+")
_RUN_DATA: Final = re.compile(r"event: ?mqttMessage\ndata: ?([^\n]*)\n\n")


# The C scanner under json.loads, called directly: loads' wrappers (type
# checks, two whitespace regex matches) cost twice the parse of a short body.
_scan_json: Final[Callable[[str, int], tuple[object, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads_or_raise(data: str) -> object:
    """Full ``json.loads`` (surrounding whitespace, errors) as our error type."""
    try:
        return json.loads(data)
    except ValueError as exc:
        raise APIResponseValidationError(
            "An mqttMessage event's data is not JSON.",
            status_code=200,
            body_snippet=_snippet(data),
        ) from exc


def _to_message(data: str) -> MqttMessage:
    """Decode the JSON body of one ``mqttMessage`` event."""
    obj: object
    try:
        obj, end = _scan_json(data, 0)
    except (StopIteration, ValueError):
        end = -1
    if end != len(data):
        obj = _loads_or_raise(data)
    # The common shape is built directly: the converter costs several times
    # more per message and gives the same model. Like the converter, it skips
    # the input validators: the server's data is not held to our copy of its
    # rules (see _models._base._DECODING).
    if type(obj) is dict and len(obj) == 2:
        topic, message = obj.get("topic"), obj.get("message")
        if type(topic) is str and type(message) is str:
            if not _FAST_MESSAGE:
                token = _DECODING.set(True)
                try:
                    return MqttMessage(topic=topic, message=message)
                finally:
                    _DECODING.reset(token)
            # What attrs' __init__ does, minus the validators decoding skips.
            msg = _new(MqttMessage)
            _SET_TOPIC(msg, topic)
            _SET_MESSAGE(msg, message)
            _SET_EXTRA(msg, _EMPTY)
            return msg
    return structure(obj, MqttMessage, status_code=200, body=data)


_Setter = Callable[[object, object], None]


def _slot_setters() -> tuple[_Setter, _Setter, _Setter] | None:
    """Setters of MqttMessage's three slots; ``None`` if its shape ever differs."""
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


_new: Final = object.__new__
_SETTERS: Final = _slot_setters()
_FAST_MESSAGE: Final = _SETTERS is not None
_SET_TOPIC, _SET_MESSAGE, _SET_EXTRA = _SETTERS or (_unused_setter,) * 3
