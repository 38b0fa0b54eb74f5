"""Device state and command streams, many devices as one iterator, mqtt_json (respx, no sockets)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pytest
import respx

from losant_async._exceptions import APIConnectionError
from losant_async._models import MqttMessage
from losant_async._streams import _device
from losant_async._streams._device import (
    DeviceStream,
    command_stream,
    decode_state,
    device_state_streams,
    mqtt_json,
    parse_time,
    state_stream,
)
from losant_async._streams._values import StreamOptions, StreamState
from losant_async._transport import Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

pytestmark = pytest.mark.anyio

DEVICE = "5a0000000000000000000abc"
DEVICE_PATH = f"/applications/{APP_ID}/devices/{DEVICE}"
SSE_HEADERS = {"content-type": "text/event-stream"}
T = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class _StubState:
    data: dict[str, Any] | None = None
    time: object = None


@attrs.frozen(kw_only=True)
class _StubCommand:
    name: str | None = None
    payload: object = None
    time: object = None


@pytest.fixture(autouse=True)
def _models(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated DeviceState / DeviceCommand, or stand-ins until they exist."""
    try:
        _device._models()
    except ImportError:
        monkeypatch.setattr(_device, "_models", lambda: (_StubState, _StubCommand))


def event(name: str, body: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(body)}\n\n".encode()


def transport() -> Transport:
    return Transport(token=TOKEN, base_url=BASE_URL, max_retries=0)


@pytest.mark.parametrize(
    "value",
    [
        "2025-03-04T12:00:00.000Z",
        "2025-03-04T13:00:00+01:00",
        "2025-03-04T12:00:00",
        1741089600000,
        1741089600000.0,
        "1741089600000",
        {"$date": "2025-03-04T12:00:00.000Z"},
        {"$date": 1741089600000},
    ],
)
def test_time_in_each_shape_is_one_aware_datetime(value: object) -> None:
    parsed = parse_time(value)
    assert parsed == T
    assert parsed is not None
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("value", [None, "soon", True, [], {"x": 1}, float("nan"), 10**20])
def test_unreadable_time_is_none(value: object) -> None:
    assert parse_time(value) is None


def test_decode_state_sets_time_and_skips_odd_data() -> None:
    state = decode_state(json.dumps({"time": 1741089600000, "data": {"temp": 21.5}}))
    assert state is not None
    assert state.time == T
    assert dict(state.data or {}) == {"temp": 21.5}
    for odd in ["not json", "[1, 2]", "{}", '{"time": 1}', '"text"']:
        assert decode_state(odd) is None


async def test_state_stream_yields_states_and_skips_odd_events(
    respx_mock: respx.MockRouter,
) -> None:
    body = (
        b":\n\n"
        + event("deviceState", {"time": "2025-03-04T12:00:00.000Z", "data": {"a": 1}})
        + event("mqttMessage", {"topic": "t", "message": "m"})
        + b"event: deviceState\ndata: nope\n\n"
        + event("deviceState", {"time": {"$date": "2025-03-04T12:00:00.000Z"}, "data": {"a": 2}})
    )
    route = respx_mock.get(f"{DEVICE_PATH}/stateStream").mock(
        return_value=httpx.Response(200, headers=SSE_HEADERS, content=body)
    )
    options = StreamOptions(keep_alive_interval=1, reconnect=False)
    async with transport() as t:
        stream = state_stream(t, DEVICE_PATH, options)
        assert isinstance(stream, DeviceStream)
        assert stream.device_id == DEVICE
        got: list[Any] = []

        async def read() -> None:
            async for state in stream:
                got.append(state)

        async with stream:
            opened = stream.state
            with pytest.raises(APIConnectionError, match="closed the stream"):
                await read()
        assert opened is StreamState.OPEN
        assert [dict(s.data or {}) for s in got] == [{"a": 1}, {"a": 2}]
        assert all(s.time == T for s in got)
        assert stream.skipped == 1
        assert stream.state is StreamState.CLOSED
    assert route.calls.last.request.url.params["keepAliveInterval"] == "1"
    assert DEVICE in repr(stream)


async def test_command_stream_yields_commands(respx_mock: respx.MockRouter) -> None:
    body = event("deviceCommand", {"name": "reboot", "payload": {"in": 5}, "time": 1741089600000})
    body += event("deviceCommand", {"payload": 1})  # no name: skipped
    respx_mock.get(f"{DEVICE_PATH}/commandStream").mock(
        side_effect=[
            httpx.Response(200, headers=SSE_HEADERS, content=body),
            httpx.Response(204),
        ]
    )
    options = StreamOptions(keep_alive_interval=1)
    async with transport() as t, command_stream(t, DEVICE_PATH, options) as stream:
        commands = [c async for c in stream]
    assert [(c.name, c.payload, c.time) for c in commands] == [("reboot", {"in": 5}, T)]
    assert stream.skipped == 1
    assert stream.reconnects == 0
    assert len(stream.gaps) == 1  # the drop before the 204


async def test_a_4xx_on_connect_raises_from_aenter(respx_mock: respx.MockRouter) -> None:
    from losant_async._exceptions import NotFoundError

    respx_mock.get(f"{DEVICE_PATH}/stateStream").mock(
        return_value=httpx.Response(404, json={"type": "NotFound", "message": "no device"})
    )
    async with transport() as t:
        stream = state_stream(t, DEVICE_PATH, StreamOptions())
        with pytest.raises(NotFoundError):
            async with stream:
                pass  # pragma: no cover


async def test_many_devices_as_one_iterator(respx_mock: respx.MockRouter) -> None:
    ids = [f"5a00000000000000000000{i:02x}" for i in range(5)]
    for i, device_id in enumerate(ids):
        path = f"/applications/{APP_ID}/devices/{device_id}/stateStream"
        body = b"".join(event("deviceState", {"data": {"n": i * 10 + k}}) for k in range(3))
        respx_mock.get(path).mock(
            side_effect=[
                httpx.Response(200, headers=SSE_HEADERS, content=body),
                httpx.Response(204),
            ]
        )
    options = StreamOptions(keep_alive_interval=1)
    async with transport() as t:
        group = device_state_streams(t, APP_ID, [*ids, ids[0]], options, max_buffer_size=2)
        async with group:
            pairs = [(d, int(str(dict(state.data or {})["n"]))) async for d, state in group]
        assert dict(group.states) == dict.fromkeys(ids, StreamState.CLOSED)
    assert sorted(pairs) == sorted((d, i * 10 + k) for i, d in enumerate(ids) for k in range(3))
    for device_id in ids:  # each device's states in order
        mine = [n for d, n in pairs if d == device_id]
        assert mine == sorted(mine)


def test_device_state_streams_refuses_empty_ids() -> None:
    t = transport()
    with pytest.raises(ValueError, match="at least one"):
        device_state_streams(t, APP_ID, [], StreamOptions())
    with pytest.raises(ValueError, match="non-empty"):
        device_state_streams(t, APP_ID, [""], StreamOptions())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"temp": 21}', {"temp": 21}),
        ("[1, 2]", [1, 2]),
        ("42", 42),
        ("not json", None),
        ("", None),
        ("[" * 30_000, None),
    ],
)
def test_mqtt_json(text: str, expected: object) -> None:
    assert mqtt_json(MqttMessage(topic="losant/d/state", message=text)) == expected


def test_mqtt_json_default() -> None:
    message = MqttMessage(topic="t", message="oops")
    assert mqtt_json(message, default={}) == {}
