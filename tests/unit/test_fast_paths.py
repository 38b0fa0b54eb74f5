"""The fast paths of issue 7 give exactly what the general code gives.

Cached URLs and body-less requests (``_transport``), generated model decoders
(``_convert``) and the run-of-events SSE reader (``_sse_decode``) are each checked
against the slower code they stand in for.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
import httpx
import pytest
from cattrs.errors import ClassValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losant_async import _models
from losant_async._constants import URL_CACHE_SIZE as _URL_CACHE_SIZE
from losant_async._convert import converter, structure
from losant_async._convert._hooks import checked_model_hook
from losant_async._exceptions import APIResponseValidationError
from losant_async._models import Application, ApplicationGlobal, MqttMessage
from losant_async._models._base import DECODING
from losant_async._streams._decoder import SSEDecoder, to_message
from losant_async._transport import Transport
from losant_async._wire import NO_BODY
from tests.conftest import APP_ID, BASE_URL, TOKEN
from tests.unit._model_examples import APPLICATION, EXAMPLES

# --- requests -------------------------------------------------------------------


def _unused(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request is sent")


def _transport(**kwargs: Any) -> Transport:
    return Transport(
        token=TOKEN, base_url=BASE_URL, transport=httpx.MockTransport(_unused), **kwargs
    )


@pytest.mark.parametrize("method", ["GET", "get", "DELETE", "POST", "PATCH"])
def test_bodyless_request_equals_what_httpx_builds(method: str) -> None:
    """A body-less request has the method, URL, headers (Host first), body, timeout httpx gives."""
    t = _transport()
    url = t._url(f"/applications/{APP_ID}", [("summaryInclude", "deviceCount")])
    ours = t._build(method, t._parsed(url), t._headers, t._timeout, NO_BODY, None)
    theirs = httpx.Request(method, url, headers=t._headers, extensions={"timeout": t._timeout})
    assert (ours.method, str(ours.url)) == (theirs.method, str(theirs.url))
    assert ours.headers.raw == theirs.headers.raw
    assert ours.headers.raw[0] == (b"Host", b"api.losant.test")
    assert ours.content == theirs.content == b""
    assert ours.extensions == theirs.extensions


def test_client_host_header_is_not_doubled() -> None:
    """A Host given in the client's headers is sent once, as httpx would send it."""
    t = _transport(headers={"Host": "proxy.example"})
    url = t._parsed(t._url("/applications", ()))
    request = t._build("GET", url, t._headers, t._timeout, NO_BODY, None)
    assert [v for k, v in request.headers.raw if k.lower() == b"host"] == [b"proxy.example"]


def test_cached_url_carries_each_calls_params() -> None:
    """A cached URL is reused for the same call, and different params give different URLs."""
    t = _transport()
    first = t._parsed(t._url("/applications", [("page", "1")]))
    again = t._parsed(t._url("/applications", [("page", "1")]))
    other = t._parsed(t._url("/applications", [("page", "2")]))
    assert first is again
    assert first.params.get("page") == "1"
    assert other.params.get("page") == "2"
    assert str(other) == (
        f"{BASE_URL}/applications?_actions=false&_links=true&_embedded=true&page=2"
    )


def test_url_cache_is_bounded() -> None:
    """Many distinct URLs never grow the cache past its size."""
    t = _transport()
    for n in range(_URL_CACHE_SIZE * 2 + 3):
        t._parsed(t._url("/applications", [("page", str(n))]))
    assert 0 < len(t._urls) <= _URL_CACHE_SIZE


@pytest.mark.anyio
async def test_params_reach_the_server_per_call(respx_mock: Any) -> None:
    """Two calls that differ only in params send their own query each (no stale cached URL)."""
    from losant_async._retry import RetryPolicy

    route = respx_mock.get(f"/applications/{APP_ID}").respond(200, json={})
    async with Transport(token=TOKEN, base_url=BASE_URL) as t:
        for value in ("a", "b", "a"):
            await t.request("GET", f"/applications/{APP_ID}", retry=RetryPolicy.SAFE,
                            params=[("summaryInclude", value)])  # fmt: skip
    sent = [call.request.url.params.get("summaryInclude") for call in route.calls]
    assert sent == ["a", "b", "a"]
    assert all(call.request.headers["host"] == "api.losant.test" for call in route.calls)


# --- the converter --------------------------------------------------------------


def _checked(data: Any, cls: type) -> Any:
    token = DECODING.set(True)
    try:
        return checked_model_hook(cls)(data, cls)
    finally:
        DECODING.reset(token)


@pytest.mark.parametrize(("schema", "class_name", "body"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_generated_decoder_equals_checked_decoder(schema: str, class_name: str, body: Any) -> None:
    """Every model decodes to the same value through the generated and the cattrs path."""
    cls = getattr(_models, class_name)
    for item in body if isinstance(body, list) else [body]:
        data = {**copy.deepcopy(item), "unknownKey": [1, {"x": None}]}
        fast = structure(data, cls)
        assert fast == _checked(data, cls)
        assert dict(fast.extra) == {"unknownKey": [1, {"x": None}]}
        assert all(hasattr(fast, a.name) for a in attrs.fields(cls))


def test_generated_decoder_errors_are_the_checked_ones() -> None:
    """A wrong nested value raises with the same cattrs paths as the checked decoder."""
    bad = copy.deepcopy(APPLICATION)
    bad["summary"]["deviceCount"] = "many"
    bad["globals"][0]["key"] = 5
    with pytest.raises(APIResponseValidationError) as info:
        structure(bad, Application)
    assert tuple(info.value.errors) == (
        "invalid value for type, expected str @ $.globals[0].key",
        "invalid value for type, expected int | None @ $.summary.device_count",
    )


def test_converter_outside_decoding_still_validates() -> None:
    """Structuring outside a response decode builds through __init__, so validators run."""
    data = {"key": "", "value": "v"}
    with pytest.raises(ClassValidationError) as info:
        converter.structure(data, ApplicationGlobal)
    assert str(info.value.exceptions[0]).startswith("ApplicationGlobal.key must match")
    assert structure(data, ApplicationGlobal).key == ""


def test_missing_required_key_falls_back_to_the_checked_error() -> None:
    """A required field left out is reported as cattrs reports it."""
    with pytest.raises(APIResponseValidationError):
        structure({"topic": "a"}, MqttMessage)


# --- SSE ------------------------------------------------------------------------


def _reference_events(stream: str) -> list[tuple[str, str, str]]:
    """A plain line-by-line reading of the WHATWG rules (LF-only input)."""
    events, data, event, last_id = [], [], "", ""
    for line in stream.split("\n")[:-1]:
        if not line:
            if data:
                events.append((event or "message", "\n".join(data), last_id))
            data, event = [], ""
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value[:1] == " " else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\0" not in value:
            last_id = value
    return events


_LINES = st.sampled_from(
    [
        "event: mqttMessage\ndata: {}\n\n",
        'event: mqttMessage\ndata: {"topic":"a","message":"m"}\n\n',
        "event:mqttMessage\ndata:x\n\n",
        "event:  mqttMessage\ndata: two spaces\n\n",
        "event: mqttMessage \ndata: trailing\n\n",
        "event: mqttMessage\ndata: a\ndata: b\n\n",
        "event: mqttMessage\n\n",
        "data:  lead\n\n",
        ": keep-alive\n\n",
        "id: 7\n",
        "event: other\ndata: o\n\n",
        "event: mqttMessage\n",
        "data: half\n",
        "\n",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, max_size=40), st.lists(st.integers(min_value=0, max_value=2000)))
def test_sse_runs_match_line_by_line_reading(parts: list[str], cuts: list[int]) -> None:
    """Property: the decoder's events equal a line-by-line reading, however the bytes are cut."""
    stream = "".join(parts).encode()
    points = sorted({c for c in cuts if c <= len(stream)})
    bounds = zip([0, *points], [*points, len(stream)], strict=True)
    decoder = SSEDecoder()
    got = [e for a, b in bounds for e in decoder.feed(stream[a:b])]
    assert got == _reference_events(stream.decode())


def test_mqtt_message_built_directly_equals_init() -> None:
    """The slot-set MqttMessage equals and reprs as one built by __init__."""
    data = json.dumps({"topic": "devices/x/state", "message": '{"a": 1}'})
    msg = to_message(data)
    token = DECODING.set(True)
    try:
        ref = MqttMessage(topic="devices/x/state", message='{"a": 1}')
    finally:
        DECODING.reset(token)
    assert type(msg) is MqttMessage
    assert (msg, repr(msg)) == (ref, repr(ref))
    assert msg.extra == {}
