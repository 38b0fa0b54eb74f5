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
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote, unquote

import attrs

from .._constants import STREAM_GROUP_BUFFER
from .._convert import decoding, structure
from .._exceptions import APIResponseValidationError
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
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _MS_MIN <= value <= _MS_MAX:  # also refuses nan and inf
            return None
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def _object(data: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _decode(data: str, cls: type[M]) -> M | None:
    obj = _object(data)
    if obj is None:
        return None
    time = obj.pop("time", None)
    try:
        model = structure(obj, cls, body=data)
    except APIResponseValidationError:
        return None
    if time is None:
        return model
    # The models are built as they are decoded (validators off); the time
    # is set the same way, whatever the generated field's type says.
    with decoding():
        return attrs.evolve(model, time=parse_time(time))  # type: ignore[misc]


@cache
def _models() -> tuple[type[DeviceState], type[DeviceCommand]]:
    from .._models._api.device_command import DeviceCommand
    from .._models._api.device_state import DeviceState

    return DeviceState, DeviceCommand


def decode_state(data: str) -> DeviceState | None:
    """One ``deviceState`` event's data as a ``DeviceState``; ``None``: skip it.

    Skipped: data that is not a JSON object with a ``data`` object.
    """
    state = _decode(data, _models()[0])
    if state is None or getattr(state, "data", None) is None:
        return None
    return state


def decode_command(data: str) -> DeviceCommand | None:
    """One ``deviceCommand`` event's data as a ``DeviceCommand``; ``None``: skip it.

    Skipped: data that is not a JSON object with a string ``name``.
    """
    command = _decode(data, _models()[1])
    if command is None or not isinstance(getattr(command, "name", None), str):
        return None
    return command


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
