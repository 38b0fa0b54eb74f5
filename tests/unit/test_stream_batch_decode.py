"""Issue 17: the streams' per-block decoding gives exactly what the per-event code gave."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losant_async._convert import decoding, structure
from losant_async._exceptions import APIResponseValidationError
from losant_async._models._api.device_command import DeviceCommand
from losant_async._models._api.device_state import DeviceState
from losant_async._streams._decoder import Skipped, SSEDecoder, to_message, to_messages
from losant_async._streams._device import (
    decode_command,
    decode_commands,
    decode_state,
    decode_states,
    parse_time,
)

_EVENTS = st.sampled_from(
    [
        "event: deviceState\ndata: {}\n\n",
        'event: deviceState\ndata: {"data":{"a":1}}\n\n',
        "event:deviceState\ndata:x\n\n",
        "event:  deviceState\ndata: two spaces\n\n",
        "event: deviceState\ndata: a\ndata: b\n\n",
        "event: mqttMessage\ndata: m\n\n",
        "data: unnamed\n\n",
        ": keep-alive\n\n",
        "id: 7\n",
        "event: deviceState\n",
        "data: half\n",
        "\n",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_EVENTS, max_size=30), st.lists(st.integers(min_value=0, max_value=1000)))
def test_wanted_events_equal_the_filtered_full_reading(parts: list[str], cuts: list[int]) -> None:
    """``SSEDecoder(want=name)`` gives the data of exactly the events of that name."""
    body = "".join(parts).encode()
    points = sorted({c for c in cuts if c <= len(body)})
    bounds = list(zip([0, *points], [*points, len(body)], strict=True))
    full, wanted = SSEDecoder(), SSEDecoder(want="deviceState")
    events = [e for a, b in bounds for e in full.feed(body[a:b])]
    datas = [d for a, b in bounds for d in wanted.feed(body[a:b])]
    assert datas == [data for name, data, _ in events if name == "deviceState"]
    assert wanted.last_event_id == full.last_event_id


_MESSAGES = [
    '{"topic":"a/b","message":"hi"}',
    '{"topic":"a","message":"{\\"data\\": {\\"t\\": 2}}"}',
    '{"topic":"a","message":1}',
    '{"topic":"a","message":"m","qos":0}',
    '{"topic":"a"}',
    '{"topic":1,"message":"m"}',
    ' {"topic":"a","message":"m"} ',
    "not json",
    "[1]",
    "",
]


@pytest.mark.parametrize("datas", [_MESSAGES, _MESSAGES[::-1], _MESSAGES[:2]])
def test_to_messages_equals_to_message_of_each(datas: list[str]) -> None:
    got = to_messages(datas)
    assert len(got) == len(datas)
    for data, value in zip(datas, got, strict=True):
        expected = to_message(data)
        if expected is None:
            assert isinstance(value, Skipped)
            assert value.size == len(data)
        else:
            assert type(value) is type(expected)
            assert (value, repr(value)) == (expected, repr(expected))


def _reference(data: str, cls: type[Any], required: str) -> Any:
    """The per-event decoding before issue 17: json.loads, structure, attrs.evolve."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    time = obj.pop("time", None)
    try:
        model = structure(obj, cls, body=data)
    except APIResponseValidationError:
        return None
    if time is not None:
        with decoding():
            model = attrs.evolve(model, time=parse_time(time))
    value = getattr(model, required, None)
    keep = isinstance(value, str) if required == "name" else value is not None
    return model if keep else None


_TIMES: list[object] = [
    "2026-12-05T09:30:00.123Z",
    " 2026-12-05T09:30:00Z ",
    "2026-12-05T09:30:00+02:00",
    "2026-12-05T09:30:00+00:00",
    "2026-12-05T09:30:00",
    "2026-12-05",
    "1741089600000",
    "-5",
    1741089600000,
    1.5e12,
    {"$date": "2026-12-05T09:30:00Z"},
    "junk",
    None,
    True,
    [1],
    {"a": 1},
]


def _state_datas() -> list[str]:
    datas = [json.dumps({"time": t, "data": {"temp": 21.5}}) for t in _TIMES]
    datas += [
        '{"data":{"a":1}}',
        '{"data":{"a":1},"meta":{"m":1}}',
        '{"data":{"a":1},"flowVersion":"v1"}',
        '{"data":{"a":1},"relayId":"r"}',
        '{"data":null}',
        '{"data":[1]}',
        '{"time":"2026-12-05T09:30:00Z"}',
        '{"data":{"a":1}} ',
        "[]",
        "nope",
    ]
    return datas


def _same(got: object, expected: object, size: int) -> None:
    if expected is None:
        assert isinstance(got, Skipped)
        assert got.size == size
    else:
        assert type(got) is type(expected)
        assert (got, repr(got)) == (expected, repr(expected))


def test_decode_states_equals_the_per_event_decoding() -> None:
    datas = _state_datas()
    got = decode_states()(datas)
    for data, value in zip(datas, got, strict=True):
        _same(value, _reference(data, DeviceState, "data"), len(data))
        single = decode_state(data)
        _same(
            Skipped(len(data)) if single is None else single,
            value if not isinstance(value, Skipped) else None,
            len(data),
        )


def test_decode_commands_equals_the_per_event_decoding() -> None:
    datas = [json.dumps({"time": t, "name": "go", "payload": [1]}) for t in _TIMES]
    datas += ['{"name":1}', '{"payload":{}}', '{"name":"x","extra":2}', "1"]
    got = decode_commands()(datas)
    for data, value in zip(datas, got, strict=True):
        _same(value, _reference(data, DeviceCommand, "name"), len(data))
        single = decode_command(data)
        assert (single is None) == isinstance(value, Skipped)
