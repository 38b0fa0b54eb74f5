"""SSE decoding and the MqttStream state machine, without sockets (respx)."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Sequence

import anyio
import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losant_async._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from losant_async._sse import MqttStream, MqttStreamGroup, _reconnect_delay
from losant_async._sse_decode import _SSEDecoder, _to_message
from losant_async._transport import _Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

PATH = f"/applications/{APP_ID}/mqttSubscriptionStream"
SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}


def feed_all(
    chunks: Sequence[bytes], decoder: _SSEDecoder | None = None
) -> list[tuple[str, str, str]]:
    decoder = decoder or _SSEDecoder()
    events: list[tuple[str, str, str]] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def mqtt_event(topic: str, message: str, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps({"topic": topic, "message": message})
    return f"{head}event: mqttMessage\ndata: {body}\n\n".encode()


# --- the decoder ------------------------------------------------------------


def test_single_event_is_dispatched_on_blank_line() -> None:
    """An event is dispatched only when its terminating blank line arrives."""
    decoder = _SSEDecoder()
    assert decoder.feed(b"event: mqttMessage\ndata: hello\n") == []
    assert decoder.feed(b"\n") == [("mqttMessage", "hello", "")]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings_lf_crlf_cr_are_equivalent(eol: bytes) -> None:
    """LF, CRLF and bare CR all end a line (WHATWG SSE 9.2.5)."""
    raw = eol.join([b"id: 7", b"event: x", b"data: a", b"data: b", b"", b""])
    assert feed_all([raw]) == [("x", "a\nb", "7")]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    """A CR ending one chunk and the LF opening the next make one line end, not two."""
    events = feed_all([b"data: a\r", b"", b"\ndata: b\r", b"\n\r", b"\n"])
    assert events == [("message", "a\nb", "")]


def test_chunks_split_mid_line_byte_by_byte() -> None:
    """Feeding one byte at a time gives the same events as one block."""
    raw = b': hi\r\nevent: mqttMessage\r\ndata: {"a": 1}\r\nid: 9\r\n\r\ndata: z\n\n'
    whole = feed_all([raw])
    assert whole == [("mqttMessage", '{"a": 1}', "9"), ("message", "z", "9")]
    assert feed_all([raw[i : i + 1] for i in range(len(raw))]) == whole


def test_comments_are_ignored_and_do_not_split_events() -> None:
    """Comment lines are skipped without ending or resetting the event being built."""
    events = feed_all([b":keepalive\n\ndata: a\n: in between\ndata: b\n\n"])
    assert events == [("message", "a\nb", "")]


def test_multiline_data_and_field_value_spacing() -> None:
    """Data lines join with LF; one leading space is dropped; a bare field name has no value."""
    events = feed_all([b"data:x\ndata:  two spaces\ndata\ndata: \n\n"])
    assert events == [("message", "x\n two spaces\n\n", "")]


def test_event_without_data_is_not_dispatched_but_sets_last_event_id() -> None:
    """A blank line with an empty data buffer dispatches nothing, yet records the id."""
    decoder = _SSEDecoder()
    assert decoder.feed(b"id: 41\nevent: ping\n\n") == []
    assert decoder.last_event_id == "41"
    assert decoder.feed(b"data: d\n\n") == [("message", "d", "41")]


def test_id_persists_and_id_with_nul_is_ignored() -> None:
    """The last event id carries over to later events; an id containing NUL is ignored."""
    events = feed_all([b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x00x\ndata: c\n\nid\ndata: d\n\n"])
    assert [e[2] for e in events] == ["1", "1", "1", ""]


def test_id_of_unfinished_event_does_not_count() -> None:
    """A truncated event's id is not the last event id (it must be replayed)."""
    decoder = _SSEDecoder("3")
    assert decoder.feed(b"id: 4\ndata: partial\n") == []
    assert decoder.last_event_id == "3"
    assert decoder.has_partial


def test_retry_field_takes_ascii_digits_only() -> None:
    """`retry:` sets the reconnection time in ms when it is all ASCII digits."""
    decoder = _SSEDecoder()
    decoder.feed(b"retry: 1500\n")
    assert decoder.retry == 1500
    decoder.feed(b"retry: 2s\nretry: -1\nretry: \xd9\xa3\n")
    assert decoder.retry == 1500


def test_bom_is_stripped_once_even_when_split() -> None:
    """A UTF-8 BOM at the start of the stream is dropped, even split over chunks."""
    events = feed_all([b"\xef", b"\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n"])
    assert events == [("message", "a", "")]


def test_multibyte_character_split_across_chunks() -> None:
    """A UTF-8 character split between chunks decodes whole."""
    raw = "data: caf\u00e9 \u2603\n\n".encode()
    cut = raw.index(b"\xc3") + 1
    assert feed_all([raw[:cut], raw[cut:]]) == [("message", "caf\u00e9 \u2603", "")]


def test_unknown_fields_are_ignored() -> None:
    """Fields other than event, data, id and retry are ignored."""
    assert feed_all([b"foo: bar\ndata: a\nbaz\n\n"]) == [("message", "a", "")]


_SAMPLE_STREAM = (
    b"\xef\xbb\xbf: welcome\r\n"
    b"retry: 250\n"
    + mqtt_event("a/b", "one", "1")
    + b"event: keepAlive\r\ndata: {}\r\n\r\n"
    + mqtt_event("a/c", "two \u00e9\u2603".replace("\u00e9", "e"), "2").replace(b"\n", b"\r\n")
    + b"data: line1\rdata: line2\r\r"
    + mqtt_event("a/d", "three \\u2603", "3").replace(b"\n", b"\r")
    + "data: \u2603\n\n".encode()
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(_SAMPLE_STREAM)), max_size=30))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    """Property: any split of a valid stream into chunks yields the same events and state."""
    points = sorted(set(cuts))
    bounds = zip([0, *points], [*points, len(_SAMPLE_STREAM)], strict=True)
    chunks = [_SAMPLE_STREAM[a:b] for a, b in bounds]
    reference = _SSEDecoder()
    expected = reference.feed(_SAMPLE_STREAM)
    decoder = _SSEDecoder()
    assert feed_all(chunks, decoder) == expected
    assert len(expected) == 6
    assert (decoder.last_event_id, decoder.retry) == ("3", 250)
    assert not decoder.has_partial


# --- pure helpers -------------------------------------------------------------


def test_reconnect_delay_is_jittered_exponential_with_floors() -> None:
    """Backoff doubles up to the cap, jittered in [50%, 100%], floored by the server's hints."""
    for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)]:
        delay = _reconnect_delay(attempt, initial=0.5, maximum=30.0)
        assert full / 2 <= delay <= full
    assert _reconnect_delay(1, initial=0.5, maximum=30.0, server_retry=3.0) == 3.0
    assert _reconnect_delay(1, initial=0.5, maximum=30.0, retry_after=7.0) == 7.0


def test_mqtt_message_fast_path_matches_converter() -> None:
    """The direct construction of a message equals what the converter builds."""
    from losant_async._convert import structure
    from losant_async._models import MqttMessage

    data = json.dumps({"topic": "a/b", "message": "hi"})
    assert _to_message(data) == structure(json.loads(data), MqttMessage)
    with pytest.raises(APIResponseValidationError):
        _to_message("{not json")
    with pytest.raises(APIResponseValidationError):
        _to_message(json.dumps({"topic": 5, "message": "x"}))


def test_constructor_rejects_bad_settings() -> None:
    """Invalid stream settings fail at construction, before any request."""
    transport = _Transport(token=TOKEN, base_url=BASE_URL, max_retries=0)
    for kwargs in (
        {"topic": ""},
        {"topic": "t", "keep_alive_interval": 0},
        {"topic": "t", "max_reconnects": -1},
        {"topic": "t", "backoff_initial": 5.0, "backoff_max": 1.0},
    ):
        with pytest.raises(ValueError, match=r"."):
            MqttStream(transport, PATH, **kwargs)


# --- MqttStream over respx ----------------------------------------------------

Script = list[httpx.Response | Exception]


class Body(httpx.AsyncByteStream):
    """A response body: chunks, an error raised mid-body, then EOF or a stall.

    A plain async iterator, not an async generator: trio warns about
    generators dropped unexhausted, which is what a stream that is left does.
    """

    def __init__(self, parts: Sequence[bytes | Exception], *, stall: bool = False) -> None:
        self._parts = list(parts)
        self._stall = stall
        self.closed = anyio.Event()

    def __aiter__(self) -> Body:
        return self

    async def __anext__(self) -> bytes:
        if self.closed.is_set():
            raise httpx.ReadError("the response is closed")
        if self._parts:
            part = self._parts.pop(0)
            if isinstance(part, Exception):
                raise part
            return part
        if self._stall:
            await self.closed.wait()  # as a socket read wakes when another task closes it
            raise httpx.ReadError("the response is closed")
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self.closed.set()


def sse(*parts: bytes | Exception, status: int = 200, stall: bool = False) -> httpx.Response:
    """A streamed SSE response."""
    return httpx.Response(status, headers=SSE_HEADERS, stream=Body(parts, stall=stall))


@pytest.fixture
def transport(respx_mock: respx.MockRouter) -> _Transport:
    """A transport whose requests go to the respx router through httpx.MockTransport."""
    mock = httpx.MockTransport(respx_mock.async_handler)
    return _Transport(token=TOKEN, base_url=BASE_URL, timeout=5.0, max_retries=0, transport=mock)


@pytest.fixture
def route(respx_mock: respx.MockRouter) -> Callable[[Script], respx.Route]:
    def install(script: Script) -> respx.Route:
        return respx_mock.get(PATH).mock(side_effect=script)

    return install


def make_stream(transport: _Transport, **kwargs: object) -> MqttStream:
    kwargs.setdefault("backoff_initial", 0.0)
    return MqttStream(transport, PATH, topic="a/#", **kwargs)  # type: ignore[arg-type]


async def drain(stream: MqttStream | MqttStreamGroup, into: list[str]) -> None:
    async for msg in stream:
        into.append(msg.message)


async def collect(stream: MqttStream, n: int) -> list[str]:
    out: list[str] = []
    async for msg in stream:
        out.append(msg.message)
        if len(out) == n:
            break
    return out


@pytest.mark.anyio
async def test_request_wire_format(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """The stream is a GET with the default query, topic, keepAliveInterval and SSE Accept."""
    r = route([sse(mqtt_event("a/b", "m"), status=200, stall=True)])
    async with MqttStream(transport, PATH, topic="a/b", keep_alive_interval=0.5) as stream:
        assert (await collect(stream, 1)) == ["m"]
    request = r.calls.last.request
    assert request.method == "GET"
    assert request.url.path == PATH
    assert request.url.query == (
        b"_actions=false&_links=true&_embedded=true&topic=a%2Fb&keepAliveInterval=0.5"
    )
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "last-event-id" not in request.headers


@pytest.mark.anyio
async def test_only_mqtt_messages_are_yielded_in_order(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """Comments and other named events are keep-alives; mqttMessage events arrive in order."""
    body = (
        b": ping\n\nevent: keepAlive\ndata: {}\n\n"
        + mqtt_event("a/1", "one")
        + b"data: unnamed\n\n"
        + mqtt_event("a/2", "two")[:10],
        mqtt_event("a/2", "two")[10:] + mqtt_event("a/3", "three"),
    )
    route([sse(*body, stall=True)])
    async with make_stream(transport) as stream:
        got = []
        async for msg in stream:
            got.append((msg.topic, msg.message))
            if len(got) == 3:
                break
    assert got == [("a/1", "one"), ("a/2", "two"), ("a/3", "three")]
    assert stream.is_closed


@pytest.mark.anyio
async def test_drop_reconnects_with_last_event_id_and_no_loss(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """A read error mid-stream reconnects with Last-Event-ID; a truncated event comes by replay."""
    first = sse(
        mqtt_event("a", "1", "e1") + mqtt_event("a", "2", "e2") + b"id: e3\nevent: mqttMessage\n",
        httpx.ReadError("connection reset"),
    )
    second = sse(mqtt_event("a", "3", "e3") + mqtt_event("a", "4", "e4"), stall=True)
    r = route([first, second])
    async with make_stream(transport) as stream:
        assert (await collect(stream, 4)) == ["1", "2", "3", "4"]
        assert stream.reconnects == 1
        assert stream.last_event_id == "e4"
    assert r.calls[1].request.headers["last-event-id"] == "e2"


@pytest.mark.anyio
async def test_clean_close_without_reconnect_raises_connection_error(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """With reconnect off, a server close ends iteration with APIConnectionError, not silently."""
    route([sse(mqtt_event("a", "only"))])
    async with make_stream(transport, reconnect=False) as stream:
        got: list[str] = []
        with pytest.raises(APIConnectionError, match="closed the stream"):
            await drain(stream, got)
        assert got == ["only"]
        assert stream.reconnects == 0
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()


@pytest.mark.anyio
async def test_max_reconnects_used_up_raises_last_error(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """After max_reconnects failed attempts, iteration raises the error of the last one."""
    r = route([sse(mqtt_event("a", "1")), httpx.Response(503), httpx.Response(502)])
    async with make_stream(transport, max_reconnects=2) as stream:
        assert (await collect(stream, 1)) == ["1"]
        with pytest.raises(InternalServerError) as info:
            await stream.__anext__()
    assert info.value.status_code == 502
    assert r.call_count == 3
    assert stream.reconnects == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
    ],
)
async def test_4xx_on_first_connect_raises_from_aenter(
    transport: _Transport,
    route: Callable[[Script], respx.Route],
    status: int,
    error: type[Exception],
) -> None:
    """A 4xx on the first connect is raised from __aenter__ with its typed error, not retried."""
    body = {"type": "Err", "message": "no"}
    r = route([httpx.Response(status, json=body)])
    stream = make_stream(transport)
    with pytest.raises(error):
        async with stream:
            pytest.fail("entered")  # pragma: no cover
    assert r.call_count == 1
    assert stream.is_closed


@pytest.mark.anyio
async def test_401_on_reconnect_is_raised_from_iteration(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """A 401 answering a reconnect ends the iteration with AuthenticationError."""
    route([sse(mqtt_event("a", "1")), httpx.Response(401, json={"type": "Unauthorized"})])
    async with make_stream(transport) as stream:
        got: list[str] = []
        with pytest.raises(AuthenticationError):
            await drain(stream, got)
    assert got == ["1"]


@pytest.mark.anyio
async def test_first_connect_retries_5xx_and_429(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """A 5xx or 429 on the first connect is retried; that open is not counted as a reconnect."""
    r = route(
        [
            httpx.Response(503),
            httpx.Response(429, headers={"Retry-After": "0"}),
            sse(mqtt_event("a", "x"), stall=True),
        ]
    )
    async with make_stream(transport) as stream:
        assert (await collect(stream, 1)) == ["x"]
        assert stream.reconnects == 0
    assert r.call_count == 3


@pytest.mark.anyio
async def test_204_ends_iteration_cleanly(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """A 204 answer to a reconnect ends the iteration without error and without retrying."""
    r = route([sse(mqtt_event("a", "1")), httpx.Response(204)])
    async with make_stream(transport) as stream:
        got = [m.message async for m in stream]
    assert got == ["1"]
    assert r.call_count == 2


@pytest.mark.anyio
async def test_non_sse_response_is_a_validation_error(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """A 200 that is not text/event-stream fails the connect with APIResponseValidationError."""
    route([httpx.Response(200, html="<html>proxy</html>")])
    with pytest.raises(APIResponseValidationError, match="text/event-stream"):
        async with make_stream(transport):
            pass  # pragma: no cover


@pytest.mark.anyio
async def test_bad_event_data_raises_then_stream_goes_on(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """An mqttMessage whose data is not JSON raises once; the next message still arrives."""
    route([sse(b"event: mqttMessage\ndata: {oops\n\n" + mqtt_event("a", "ok"), stall=True)])
    async with make_stream(transport) as stream:
        with pytest.raises(APIResponseValidationError):
            await stream.__anext__()
        assert (await stream.__anext__()).message == "ok"


@pytest.mark.anyio
async def test_server_retry_field_floors_the_delay(
    transport: _Transport,
    route: Callable[[Script], respx.Route],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SSE retry: field sets the least delay before a reconnect."""
    from losant_async import _retry as retry_module

    monkeypatch.setattr(retry_module, "_zero_delay", False)
    slept: list[float] = []
    real_sleep = anyio.sleep

    async def record(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("losant_async._sse.anyio.sleep", record)
    route([sse(b"retry: 1234\n" + mqtt_event("a", "1")), sse(mqtt_event("a", "2"), stall=True)])
    async with make_stream(transport) as stream:
        assert (await collect(stream, 2)) == ["1", "2"]
    assert slept == [1.234]


@pytest.mark.anyio
async def test_lifecycle_errors_and_idempotent_close(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """Iterating unopened is an error; aclose is idempotent; a closed stream refuses use."""
    route([sse(mqtt_event("a", "1"), stall=True)])
    stream = make_stream(transport)
    assert "unopened" in repr(stream)
    with pytest.raises(RuntimeError, match="async with"):
        await stream.__anext__()
    async with stream:
        assert "open" in repr(stream)
        with pytest.raises(RuntimeError, match="already open"):
            await stream.__aenter__()
    await stream.aclose()
    assert stream.is_closed
    with pytest.raises(ClientClosedError):
        await stream.__anext__()
    with pytest.raises(ClientClosedError):
        await stream.__aenter__()


@pytest.mark.anyio
async def test_cancelled_read_closes_the_connection_and_resumes(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """A read cancelled mid-way closes the response; the next pull re-opens with Last-Event-ID."""
    first = Body([mqtt_event("a", "1", "k1")], stall=True)
    r = route(
        [
            httpx.Response(200, headers=SSE_HEADERS, stream=first),
            sse(mqtt_event("a", "2", "k2"), stall=True),
        ]
    )
    async with make_stream(transport) as stream:
        assert (await collect(stream, 1)) == ["1"]
        with anyio.move_on_after(0.05):
            await stream.__anext__()
        assert first.closed.is_set()
        assert (await collect(stream, 1)) == ["2"]
        assert stream.reconnects == 1
    assert r.calls[1].request.headers["last-event-id"] == "k1"


@pytest.mark.anyio
async def test_never_closed_stream_warns_on_del(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """An opened stream that is garbage-collected unclosed emits a ResourceWarning."""
    route([sse(b"", stall=True)])
    stream = make_stream(transport)
    await stream.__aenter__()
    with pytest.warns(ResourceWarning, match="never closed"):
        stream.__del__()
    await stream.aclose()
    stream.__del__()  # closed: silent
    gc.collect()


@pytest.mark.anyio
async def test_group_interleaves_and_reports_errors(
    transport: _Transport, respx_mock: respx.MockRouter
) -> None:
    """A group yields messages from all its streams and ends with a member's fatal error."""
    respx_mock.get(PATH, params={"topic": "x"}).mock(
        side_effect=[sse(mqtt_event("x", "x1") + mqtt_event("x", "x2"), stall=True)]
    )
    respx_mock.get(PATH, params={"topic": "y"}).mock(
        side_effect=[sse(mqtt_event("y", "y1")), httpx.Response(404, json={"type": "NotFound"})]
    )
    streams = [MqttStream(transport, PATH, topic=t, backoff_initial=0.0) for t in ("x", "y")]
    got: list[str] = []
    async with MqttStreamGroup(streams, max_buffer_size=4) as group:
        with anyio.fail_after(5), pytest.raises(NotFoundError):
            await drain(group, got)
        with pytest.raises(StopAsyncIteration):
            await group.__anext__()
    assert {"y1"} <= set(got) <= {"x1", "x2", "y1"}
    assert group.is_closed
    assert all(s.is_closed for s in group.streams)


@pytest.mark.anyio
async def test_group_ends_when_all_streams_end(
    transport: _Transport, respx_mock: respx.MockRouter
) -> None:
    """A group whose streams all end with 204 ends cleanly after delivering everything."""
    for topic in ("x", "y"):
        respx_mock.get(PATH, params={"topic": topic}).mock(
            side_effect=[sse(mqtt_event(topic, topic + "1")), httpx.Response(204)]
        )
    streams = [MqttStream(transport, PATH, topic=t, backoff_initial=0.0) for t in ("x", "y")]
    async with MqttStreamGroup(streams, max_buffer_size=0) as group:
        with anyio.fail_after(5):
            got = sorted([m.message async for m in group])
    assert got == ["x1", "y1"]
    await group.aclose()
    with pytest.raises(ClientClosedError):
        await group.__anext__()


@pytest.mark.anyio
async def test_group_enter_failure_closes_opened_streams(
    transport: _Transport, respx_mock: respx.MockRouter
) -> None:
    """If one stream of a group fails to open, those already opened are closed."""
    respx_mock.get(PATH, params={"topic": "x"}).mock(side_effect=[sse(b"", stall=True)])
    respx_mock.get(PATH, params={"topic": "y"}).mock(
        side_effect=[httpx.Response(403, json={"type": "Forbidden"})]
    )
    streams = [MqttStream(transport, PATH, topic=t) for t in ("x", "y")]
    group = MqttStreamGroup(streams)
    with pytest.raises(PermissionDeniedError):
        await group.__aenter__()
    assert all(s.is_closed for s in streams)
    with pytest.raises(ValueError, match="at least one"):
        MqttStreamGroup([])


@pytest.mark.anyio
async def test_retry_after_beyond_limit_is_not_waited_for(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """A 429 whose Retry-After exceeds MAX_RETRY_AFTER goes to the caller at once."""
    r = route([httpx.Response(429, headers={"Retry-After": "3600"})])
    with pytest.raises(RateLimitError) as info:
        async with make_stream(transport):
            pass  # pragma: no cover
    assert info.value.retry_after == 3600
    assert r.call_count == 1


@pytest.mark.anyio
async def test_close_from_another_task_ends_the_reader(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """aclose() from another task makes a blocked reader raise ClientClosedError, no reconnect."""
    r = route([sse(b": hello\n\n", stall=True)])

    async def close_soon(stream: MqttStream) -> None:
        await anyio.sleep(0.05)
        await stream.aclose()

    async def read_while_closed(stream: MqttStream) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(close_soon, stream)
            await stream.__anext__()

    async with make_stream(transport) as stream:
        with anyio.fail_after(5), pytest.RaisesGroup(ClientClosedError):
            await read_while_closed(stream)
    assert r.call_count == 1


@pytest.mark.anyio
async def test_data_less_event_id_counts_for_resume(
    transport: _Transport, route: Callable[[Script], respx.Route]
) -> None:
    """An id sent on an event without data is still the Last-Event-ID of the reconnect."""
    r = route(
        [
            sse(mqtt_event("a", "1", "5") + b"id: 6\nevent: ping\n\n"),
            sse(mqtt_event("a", "2", "7"), stall=True),
        ]
    )
    async with make_stream(transport) as stream:
        assert (await collect(stream, 2)) == ["1", "2"]
    assert r.calls[1].request.headers["last-event-id"] == "6"
