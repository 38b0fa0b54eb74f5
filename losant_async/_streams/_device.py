"""A device's state and command streams, following many devices, and MQTT JSON.

Losant's ``GET .../devices/{deviceId}/stateStream`` sends ``deviceState``
events and ``.../commandStream`` ``deviceCommand`` events (apiInfo.json,
``sseEvents``), each a JSON object. They are ``_sse.SSEStream``s with their
own event name and decoder: ``decode_state`` / ``decode_command`` build the
``DeviceState`` / ``DeviceCommand`` models (imported on first use: only
code that streams devices pays for them), with ``time`` read into one aware
``datetime`` whichever of Losant's three shapes it came in (``parse_time``).
``device_state_streams`` follows many devices as one iterator of
``(device_id, state)`` pairs (``_group.KeyedStreamGroup``). ``mqtt_json``
reads the JSON text of an ``MqttMessage`` without ever raising.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote, unquote

import attrs

from .._constants import STREAM_GROUP_BUFFER
from .._convert import converter, decoding
from .._models._base import EMPTY
from ._decoder import Skipped
from ._decoder import scan_json as _scan_json
from ._group import KeyedStreamGroup
from ._sse import SSEStream
from ._values import StreamOptions

if TYPE_CHECKING:
    from .._models import MqttMessage
    from .._models._api.device_command import DeviceCommand
    from .._models._api.device_state import DeviceState
    from .._transport import Transport

__all__ = [
    "DeviceStream",
    "command_stream",
    "decode_command",
    "decode_state",
    "device_state_streams",
    "mqtt_json",
    "parse_time",
    "state_stream",
]

STATE_EVENT: Final = "deviceState"
COMMAND_EVENT: Final = "deviceCommand"

M = TypeVar("M")

# Milliseconds since the epoch a datetime can hold (years 1 to 9999).
_MS_MIN: Final = -62135596800000
_MS_MAX: Final = 253402300799999


def parse_time(value: object) -> datetime | None:
    """A state's or command's ``time`` as an aware UTC ``datetime``, or ``None``.

    Losant sends it as ISO-8601 text, as milliseconds since the epoch (a
    number, or digits as text), or as ``{"$date": ISO}`` (schemas
    deviceState.json, deviceCommand.json). Anything else, or a value no
    ``datetime`` holds, is ``None``: the event is still delivered.
    """
    if isinstance(value, dict) and len(value) == 1 and "$date" in value:
        value = value["$date"]
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) <= 16:
            value = int(text)
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return None
            if parsed.tzinfo is UTC:  # "...Z", Losant's own form: already what we give
                return parsed
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _MS_MIN <= value <= _MS_MAX:  # also refuses nan and inf
            return None
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def _decoder(cls: type[M], required: str) -> Callable[[list[str]], list[M | Skipped]]:
    """A ``decode_many`` of ``cls``: a block's events built under one ``decoding()``.

    Per event: the C JSON scanner, the model's generated decoder (what
    ``structure`` calls) and, when a ``time`` came, its slot set directly
    (the instance is new, and decoding sets slots with validators off).
    A model whose ``required`` field is missing (``data``), or not a string
    (``name``), is skipped.
    """
    scan, loads = _scan_json, json.loads
    name = required == "name"
    hook = converter.get_structure_hook(cls)
    time_slot = cls.__dict__.get("time")
    set_time = getattr(time_slot, "__set__", None)
    plain = _plain_state(cls) if required == "data" else None
    set_when, set_meta, set_data, set_flow, set_extra = plain or (_no_setter,) * 5
    new, fromiso = object.__new__, datetime.fromisoformat

    def general(obj: dict[str, Any], time: object, size: int) -> M | Skipped:
        """Any shape: the generated decoder (call inside ``decoding()``), then the time."""
        try:
            model: M = hook(obj, cls)
        except Exception:  # what structure raises as APIResponseValidationError
            return Skipped(size)
        if time is not None:
            if set_time is None:  # pragma: no cover - every model is slotted
                model = attrs.evolve(model, time=parse_time(time))  # type: ignore[misc]
            else:
                set_time(model, parse_time(time))
        value = getattr(model, required, None)
        keep = isinstance(value, str) if name else value is not None
        return model if keep else Skipped(size)

    def decode_many(datas: list[str]) -> list[M | Skipped]:
        out: list[M | Skipped] = []
        append = out.append
        with decoding():
            for data in datas:
                obj: object = None
                try:  # a JSON object, or None (json.loads' result, minus its wrappers)
                    obj, end = scan(data, 0)
                except (StopIteration, ValueError, RecursionError):
                    end = -1
                if end != len(data):
                    try:
                        obj = loads(data)
                    except (ValueError, RecursionError):
                        obj = None
                if type(obj) is not dict:
                    append(Skipped(len(data)))
                    continue
                time = obj.pop("time", None)
                state = obj.get("data")
                if plain is None or len(obj) != 1 or type(state) is not dict:
                    append(general(obj, time, len(data)))
                    continue
                # A state's common shape: what the generated decoder builds for
                # {"data": {...}}, the slots set here.
                if time is None:
                    when = None
                else:
                    try:  # parse_time's answer for Losant's own "...Z" text
                        when = fromiso(time)
                    except (TypeError, ValueError):
                        when = None
                    if when is None or when.tzinfo is not UTC:
                        when = parse_time(time)
                model = new(cls)
                set_when(model, when)
                set_meta(model, None)
                set_data(model, state)
                set_flow(model, None)
                set_extra(model, EMPTY)
                append(model)
        return out

    return decode_many


_Setter = Callable[[object, object], None]


def _no_setter(instance: object, value: object) -> None:
    raise AssertionError("unreachable")  # pragma: no cover


_STATE_FIELDS: Final = ("time", "meta", "data", "flow_version", "extra")


def _plain_state(cls: type) -> tuple[_Setter, _Setter, _Setter, _Setter, _Setter] | None:
    """The slot setters of ``DeviceState``'s fields, in order; ``None`` if its shape changed."""
    slots = tuple(s for s in getattr(cls, "__slots__", ()) if s != "__weakref__")
    if (
        tuple(a.name for a in attrs.fields(cls)) != _STATE_FIELDS
        or slots != _STATE_FIELDS
        or hasattr(cls, "__attrs_post_init__")
    ):
        return None  # pragma: no cover - only if the generated model ever changes
    when, meta, data, flow, extra = (cls.__dict__[name].__set__ for name in _STATE_FIELDS)
    return when, meta, data, flow, extra


@cache
def _models() -> tuple[type[DeviceState], type[DeviceCommand]]:
    from .._models._api.device_command import DeviceCommand
    from .._models._api.device_state import DeviceState

    return DeviceState, DeviceCommand


@cache
def decode_states() -> Callable[[list[str]], list[DeviceState | Skipped]]:
    """The ``decode_many`` of ``deviceState`` events (see ``decode_state``)."""
    return _decoder(_models()[0], "data")


@cache
def decode_commands() -> Callable[[list[str]], list[DeviceCommand | Skipped]]:
    """The ``decode_many`` of ``deviceCommand`` events (see ``decode_command``)."""
    return _decoder(_models()[1], "name")


def decode_state(data: str) -> DeviceState | None:
    """One ``deviceState`` event's data as a ``DeviceState``; ``None``: skip it.

    Skipped: data that is not a JSON object with a ``data`` object.
    """
    state = decode_states()([data])[0]
    return None if isinstance(state, Skipped) else state


def decode_command(data: str) -> DeviceCommand | None:
    """One ``deviceCommand`` event's data as a ``DeviceCommand``; ``None``: skip it.

    Skipped: data that is not a JSON object with a string ``name``.
    """
    command = decode_commands()([data])[0]
    return None if isinstance(command, Skipped) else command


class DeviceStream(SSEStream[M]):
    """A device's state or command stream; ``key`` and ``device_id`` name the device.

    Behaves as ``MqttStream`` does (watchdog, reconnects, ``gaps``, odd
    events skipped and counted in ``skipped``, clean exit, ``state``); see
    ``AsyncDevice.state_stream``.
    """

    _key_name = "device_id"

    @property
    def device_id(self) -> str:
        """The id of the device streamed."""
        return self._key


def _device_id(path: str) -> str:
    return unquote(path.rstrip("/").rpartition("/")[2])


def state_stream(
    transport: Transport, device_path: str, options: StreamOptions
) -> DeviceStream[DeviceState]:
    """``GET {device_path}/stateStream``: the device's ``DeviceState``s."""
    return DeviceStream(
        transport,
        device_path + "/stateStream",
        event=STATE_EVENT,
        decode=decode_state,
        decode_many=decode_states(),
        key=_device_id(device_path),
        options=options,
        expected="a JSON object with a data object",
    )


def command_stream(
    transport: Transport, device_path: str, options: StreamOptions
) -> DeviceStream[DeviceCommand]:
    """``GET {device_path}/commandStream``: the commands sent to the device."""
    return DeviceStream(
        transport,
        device_path + "/commandStream",
        event=COMMAND_EVENT,
        decode=decode_command,
        decode_many=decode_commands(),
        key=_device_id(device_path),
        options=options,
        expected="a JSON object with a string name",
    )


def device_state_streams(
    transport: Transport,
    application_id: str,
    device_ids: Iterable[str],
    options: StreamOptions,
    *,
    max_buffer_size: int = STREAM_GROUP_BUFFER,
) -> KeyedStreamGroup[DeviceState]:
    """Many devices' state streams as one iterator of ``(device_id, DeviceState)``.

    Each device keeps its own connection and reconnection; at most
    ``max_buffer_size`` states are read ahead. Enter it with ``async with``.
    A device id given twice is followed once.

    Raises:
        ValueError: No device id, or one that is empty.
    """
    app = quote(application_id, safe="")
    streams = []
    for device_id in dict.fromkeys(device_ids):
        if not isinstance(device_id, str) or not device_id:
            raise ValueError(f"device ids must be non-empty strings, not {device_id!r}")
        path = f"/applications/{app}/devices/{quote(device_id, safe='')}"
        streams.append(state_stream(transport, path, options))
    return KeyedStreamGroup(streams, max_buffer_size=max_buffer_size)


def mqtt_json(message: MqttMessage, default: object = None) -> object:
    """The JSON value an MQTT message's text holds, or ``default`` when it is not JSON.

    Losant's state topics (``losant/<deviceId>/state``) carry JSON; a message
    on the same subscription that is not JSON gives ``default`` rather than
    an error, so one odd message never ends a loop over a stream::

        async for msg in stream:
            state = losant_async.mqtt_json(msg)
            if isinstance(state, dict):
                ...
    """
    try:
        return json.loads(message.message)
    except (ValueError, RecursionError, TypeError):
        return default
