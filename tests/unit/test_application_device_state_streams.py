"""``AsyncApplication.device_state_streams``: many devices' state as one iterator (issue 16).

Contract style: the public surface (``losant_async``) and respx on the wire.
"""

from __future__ import annotations

import inspect
import json
from datetime import datetime
from typing import Any

import httpx
import pytest
import respx

from losant_async import AsyncApplication, ClientClosedError
from tests.conftest import TOKEN
from tests.contract.support import APP_PATH, SSE, make_app

DEVICES = ("5a0000000000000000000001", "5a0000000000000000000002")


def _state(n: int, time: object) -> bytes:
    return f"event: deviceState\ndata: {json.dumps({'time': time, 'data': {'n': n}})}\n\n".encode()


def test_signature_matches_mqtt_subscription_streams() -> None:
    """The same stream keywords, in the same order, plus ``max_buffer_size``."""
    mine = inspect.signature(AsyncApplication.device_state_streams).parameters
    mqtt = inspect.signature(AsyncApplication.mqtt_subscription_streams).parameters
    assert list(mine) == ["self", "device_ids", *list(mqtt)[2:], "max_buffer_size"]
    for name in list(mqtt)[2:]:
        assert mine[name].default == mqtt[name].default
        assert mine[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert mine["max_buffer_size"].default == 64
    assert mine["max_buffer_size"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.anyio
async def test_yields_device_id_and_state_pairs(respx_mock: respx.MockRouter) -> None:
    """One stateStream request per device; each state paired with its device; times read."""
    first = _state(1, 1741089600000) + b": keep-alive\n\n" + _state(2, "2025-03-04T12:00:00Z")
    second = (
        _state(3, {"$date": "2025-03-04T12:00:01.000Z"}) + b"event: deviceState\ndata: not json\n\n"
    )
    routes = [
        respx_mock.get(f"{APP_PATH}/devices/{device}/stateStream").mock(
            side_effect=[httpx.Response(200, headers=SSE, content=body), httpx.Response(204)]
        )
        for device, body in zip(DEVICES, (first, second), strict=True)
    ]
    async with make_app() as app:
        group = app.device_state_streams([*DEVICES, DEVICES[0]], keep_alive_interval=5)
        async with group:
            got = [
                (device, dict(state.data or {})["n"], state.time) async for device, state in group
            ]
    assert sorted((device, n) for device, n, _ in got) == [
        (DEVICES[0], 1),
        (DEVICES[0], 2),
        (DEVICES[1], 3),
    ]
    assert all(isinstance(time, datetime) and time.tzinfo is not None for _, _, time in got)
    assert [n for device, n, _ in got if device == DEVICES[0]] == [1, 2]
    for route in routes:  # the duplicate id is followed once: one stream, one 204 ending it
        assert route.call_count == 2
        request = route.calls[0].request
        assert request.url.params["keepAliveInterval"] == "5"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert [key for key, _ in group.states] == list(DEVICES)
    assert group.streams[1].skipped == 1


@pytest.mark.parametrize("bad", [[], [""], "5a0000000000000000000001"])
def test_bad_device_ids_raise(bad: Any) -> None:
    app = make_app()
    with pytest.raises((ValueError, TypeError)):
        app.device_state_streams(bad)


def test_bad_keyword_raises() -> None:
    app = make_app()
    with pytest.raises(ValueError, match="keep_alive_interval"):
        app.device_state_streams(list(DEVICES), keep_alive_interval=0)
    with pytest.raises(ValueError, match="max_buffer_size"):
        app.device_state_streams(list(DEVICES), max_buffer_size=-1)


@pytest.mark.anyio
async def test_closed_client_raises() -> None:
    app = make_app()
    await app.aclose()
    with pytest.raises(ClientClosedError):
        app.device_state_streams(list(DEVICES))
