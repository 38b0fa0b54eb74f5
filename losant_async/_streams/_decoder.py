"""The I/O-free half of the SSE stream: bytes in, ``MqttMessage``s out.

``SSEDecoder`` turns network chunks into dispatched events following the
WHATWG "event stream interpretation" rules, reading runs of plain events of
one name (``want``: the stream's own, else ``mqttMessage``) through one
regex; ``to_message`` turns one event's JSON body into an ``MqttMessage``,
building the common shape directly, or says the event is to be skipped, and
``to_messages`` does it for a whole block at once (``Skipped`` marks an
event to skip). Nothing here reads a socket or sleeps, so
tests feed it bytes (STYLE.md: "SSE parsing stays free of I/O");
``_stream.MqttStream`` does the reading and reconnecting.

Nothing a server sends makes this module raise (issue 10, hostile fields): a
line or an event over ``SSE_MAX_EVENT_BYTES`` is dropped as it streams in and
counted in ``SSEDecoder.oversized``, a ``retry:`` of more than
``SSE_MAX_RETRY_DIGITS`` digits is ignored, and an event whose data is not
an MQTT message gives ``None`` from ``to_message``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any, Final

from .._constants import SSE_MAX_EVENT_BYTES, SSE_MAX_RETRY_DIGITS
from .._convert import mqtt_message, mqtt_message_setters, structure
from .._exceptions import APIResponseValidationError
from .._models import MqttMessage
from .._models._base import EMPTY

MQTT_EVENT: Final = "mqttMessage"


# One dispatched SSE event: (type, data, last event id). A plain tuple: a
# NamedTuple's constructor costs a Python call per event.
_Event = tuple[str, str, str]

# Stands for a line over the cap in the text handed to ``_lines``. A lone
# surrogate: UTF-8 decoding with "replace" never produces one, so no line a
# server sends can pose as it.
_OVERSIZED: Final = "\ud800"
_LINE_END: Final = re.compile(rb"\r\n|\r|\n")


class SSEDecoder:
    """Incremental SSE decoder: feed it network chunks, get complete events.

    Implements https://html.spec.whatwg.org/multipage/server-sent-events.html
    section 9.2.6: lines end in CRLF, LF or CR (a CRLF may be split across
    chunks), a leading BOM is dropped, ``:`` lines are comments, an event is
    dispatched on a blank line only if it has data, ``id`` without NUL sets the
    last event id (kept across events), ``retry`` takes ASCII digits only, and
    a partial event at the end of the stream is never dispatched.

    Beyond the rules, for a hostile server: a line or an event of more than
    ``SSE_MAX_EVENT_BYTES`` (1 MiB) is skipped whole, and its bytes are not
    kept while they stream in; each skipped event adds one to ``oversized``.
    A ``retry`` of more than ``SSE_MAX_RETRY_DIGITS`` digits is ignored.
    """

    __slots__ = (
        "_buffer",
        "_data",
        "_discarding",
        "_event",
        "_id_buffer",
        "_size",
        "_skip_lf",
        "_skipping",
        "_started",
        "_want",
        "last_event_id",
        "oversized",
        "retry",
    )

    def __init__(self, last_event_id: str = "", want: str | None = None) -> None:
        # With ``want``, ``feed`` gives only the data of the events of that
        # name (what a stream keeps), and runs of them take the fast path.
        self._want = want
        self._buffer = bytearray()
        self._skip_lf = False
        self._started = False
        self._event = ""
        self._data: list[str] = []
        # Characters of data in the current event, and whether it is over the
        # cap (its data dropped, to be skipped on dispatch).
        self._size = 0
        self._skipping = False
        # Inside a line over the cap: its bytes are dropped up to its end.
        self._discarding = False
        # Events skipped for their size (read and reset by the stream).
        self.oversized = 0
        self._id_buffer = last_event_id
        # The last event id string of the source: set on each dispatch.
        self.last_event_id = last_event_id
        # Reconnection time in milliseconds, as the server last set it.
        self.retry: int | None = None

    @property
    def has_partial(self) -> bool:
        """Whether bytes of an unfinished line or event are pending."""
        return bool(self._buffer or self._data or self._event or self._skipping or self._discarding)

    def feed(self, chunk: bytes) -> list[Any]:
        """Decode one chunk; return the events it completes, in order.

        Each event is a ``(type, data, last event id)`` tuple, or, for a
        decoder made with ``want``, the data of each event of that type only.
        """
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if self._discarding:
            chunk = self._discard(chunk)
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if end < 0:
            if len(self._buffer) + len(chunk) > SSE_MAX_EVENT_BYTES:
                self._start_discarding()
            elif chunk:
                self._buffer += chunk
            return []
        if self._buffer:
            self._buffer += chunk[: end + 1]
            block = bytes(self._buffer)
            self._buffer.clear()
        else:
            block = chunk[: end + 1]
        tail = len(chunk) - end - 1
        if tail > SSE_MAX_EVENT_BYTES:
            # The unfinished line at the end is already over the cap: it
            # belongs to the event after this block's lines, marked below.
            self._discarding = True
        elif tail:
            self._buffer += chunk[end + 1 :]
        elif chunk[end] == 13:  # the chunk ends in CR: its LF may open the next one
            self._skip_lf = True
        text = self._decode(block)
        if not self._started:
            self._started = True
            if text[:1] == "\ufeff":
                text = text[1:]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        events = self._lines(text)
        if self._discarding:
            self._skipping = True
        return events

    @staticmethod
    def _decode(block: bytes) -> str:
        """Whole lines as text, each line over the cap replaced by ``_OVERSIZED``."""
        # CR and LF never occur inside a UTF-8 multi-byte sequence, so a block
        # of whole lines decodes on its own.
        if len(block) <= SSE_MAX_EVENT_BYTES:
            return block.decode("utf-8", "replace")
        lines = _LINE_END.split(block)  # the last item is b"": the block ends a line
        if max(map(len, lines)) <= SSE_MAX_EVENT_BYTES:
            return block.decode("utf-8", "replace")
        return "\n".join(
            _OVERSIZED if len(line) > SSE_MAX_EVENT_BYTES else line.decode("utf-8", "replace")
            for line in lines
        )

    def _start_discarding(self) -> None:
        """The pending line went over the cap: drop it, and skip its event."""
        self._buffer = bytearray()  # a fresh one: clear() would keep the capacity
        self._discarding = True
        self._skipping = True

    def _discard(self, chunk: bytes) -> bytes:
        """Drop the bytes of an oversized line; return what follows its end."""
        ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
        if not ends:
            return b""
        end = min(ends)
        self._discarding = False
        if chunk[end] == 13:
            if end + 1 == len(chunk):
                self._skip_lf = True
            elif chunk[end + 1] == 10:
                end += 1
        return chunk[end + 1 :]

    def _lines(self, text: str) -> list[Any]:
        """Interpret whole lines (``text`` ends with a line end); return the events."""
        # State in locals, written back once: this loop is the per-event cost.
        events: list[Any] = []
        want = self._want
        data, event = self._data, self._event
        id_buffer, last_id = self._id_buffer, self.last_event_id
        skipping, event_size = self._skipping, self._size
        pos, size = 0, len(text)
        run_at, run_data = _runs(want)
        find = text.find
        while pos < size:
            if not data and not event and not skipping:
                # Between events: a run of plain events of the one name (or
                # mqttMessage) is read in C (each dispatches its one data line,
                # as the loop below would).
                run = run_at(text, pos)
                if run is not None:
                    if want is None:
                        events += [
                            (MQTT_EVENT, value, id_buffer)
                            for value in _RUN_DATA.findall(text, pos, run.end())
                        ]
                    else:
                        events += run_data(text, pos, run.end())
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
                if skipping:
                    self.oversized += 1
                    skipping, event_size = False, 0
                elif data:
                    if want is None:
                        events.append((event or "message", "\n".join(data), id_buffer))
                    elif (event or "message") == want:
                        events.append("\n".join(data))
                    data, event_size = [], 0
                event = ""
                continue
            if line == _OVERSIZED:
                # Whatever field it was, its event is skipped whole.
                skipping, data, event_size = True, [], 0
                continue
            # A comment (":...") has an empty name and matches nothing below.
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                if skipping:
                    continue
                event_size += len(value) + 1
                if event_size > SSE_MAX_EVENT_BYTES:
                    skipping, data, event_size = True, [], 0
                else:
                    data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\0" not in value:
                    id_buffer = value
            elif (
                name == "retry"
                and value.isascii()
                and value.isdigit()
                and len(value) <= SSE_MAX_RETRY_DIGITS
            ):
                self.retry = int(value)
        self._data, self._event = data, event
        self._skipping, self._size = skipping, event_size
        self._id_buffer, self.last_event_id = id_buffer, last_id
        return events


# A run of events in the one common shape: ``event: mqttMessage``, one data
# line, a blank line (the value after one optional space, as the rules say).
_RUN: Final = re.compile(r"(?:event: ?mqttMessage\ndata: ?[^\n]*\n\n)+")
_RUN_DATA: Final = re.compile(r"event: ?mqttMessage\ndata: ?([^\n]*)\n\n")


_Runs = tuple[Callable[[str, int], "re.Match[str] | None"], Callable[[str, int, int], list[Any]]]


@cache
def _runs(name: str | None) -> _Runs:
    """The run matcher and data finder for events named ``name`` (None: mqttMessage)."""
    if name is None:
        return _RUN.match, _RUN_DATA.findall
    event = re.escape(name)
    run = re.compile(rf"(?:event: ?{event}\ndata: ?[^\n]*\n\n)+")
    return run.match, re.compile(rf"event: ?{event}\ndata: ?([^\n]*)\n\n").findall


# The C scanner under json.loads, called directly: loads' wrappers (type
# checks, two whitespace regex matches) cost twice the parse of a short body.
_scan_json: Final[Callable[[str, int], tuple[object, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
scan_json: Final = _scan_json  # the same, for the device streams' decoders


def _loads(data: str) -> object:
    """Full ``json.loads`` (surrounding whitespace); ``_NOT_JSON`` if it is no JSON."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the C stack
        return _NOT_JSON


_NOT_JSON: Final = object()


def to_message(data: str) -> MqttMessage | None:
    """Decode the JSON body of one ``mqttMessage`` event; ``None``: skip the event.

    API.md, "Odd events never end a stream": data that is not a JSON object
    with a string ``topic`` and a ``message`` is skipped (the stream logs and
    counts it); a ``message`` that is not a string (a number, an object,
    ``null``) is delivered as its compact JSON text.
    """
    obj: object = None
    try:
        obj, end = _scan_json(data, 0)
    except (StopIteration, ValueError, RecursionError):
        end = -1
    if end != len(data):
        obj = _loads(data)
    # The common shape takes the converter's fast path for messages (several
    # times cheaper than the general decoder, same model, no validators).
    if type(obj) is dict and len(obj) == 2:
        topic, message = obj.get("topic"), obj.get("message")
        if type(topic) is str and type(message) is str:
            return mqtt_message(topic, message)
    return _odd_message(obj, data)


class Skipped:
    """Stands for an event whose data did not decode: the stream counts and logs it."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size  # characters of data, for the log (never the data itself)


def to_messages(datas: list[str]) -> list[MqttMessage | Skipped]:
    """``to_message`` of each event's data, in one loop: ``Skipped`` for an odd one.

    The stream decodes each block's events in one call: the common shape is
    parsed and built inline, with no Python call per event but the JSON
    scanner's (a batch regex reading was tried: slower than the scanner).
    """
    setters = mqtt_message_setters()
    if setters is None:  # pragma: no cover - only if the model's shape ever changes
        return [Skipped(len(d)) if (m := to_message(d)) is None else m for d in datas]
    set_topic, set_message, set_extra = setters
    scan, new, cls = _scan_json, object.__new__, MqttMessage
    out: list[MqttMessage | Skipped] = []
    append = out.append
    for data in datas:
        obj: object = None
        try:
            obj, end = scan(data, 0)
        except (StopIteration, ValueError, RecursionError):
            end = -1
        if end == len(data) and type(obj) is dict and len(obj) == 2:
            topic, message = obj.get("topic"), obj.get("message")
            if type(topic) is str and type(message) is str:
                # What mqtt_message does, inlined.
                msg = new(cls)
                set_topic(msg, topic)
                set_message(msg, message)
                set_extra(msg, EMPTY)
                append(msg)
                continue
        value = to_message(data)
        append(Skipped(len(data)) if value is None else value)
    return out


def _odd_message(obj: object, data: str) -> MqttMessage | None:
    """The uncommon shapes: extra keys, a non-string message, or no message at all."""
    if not isinstance(obj, dict) or not isinstance(obj.get("topic"), str) or "message" not in obj:
        return None
    message = obj["message"]
    if not isinstance(message, str):
        try:
            text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        except (ValueError, RecursionError):  # pragma: no cover - loads accepted it
            return None
        obj = {**obj, "message": text}
    try:
        return structure(obj, MqttMessage, status_code=200, body=data)
    except APIResponseValidationError:
        return None
