"""MQTT fan-out to Server-Sent Events streams (`mqttSubscriptionStream`).

The broker lives on the server's event loop: every call into it happens on
that loop's thread (the server marshals calls from other threads), so it
needs no lock and wakes subscribers with plain anyio memory streams.
"""

from __future__ import annotations

import collections
import json
import math
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Event = tuple[int, str, str]  # (id, topic, message)

# A subscriber further behind than this is cut off (with LocalLosant.replay on,
# it reconnects with Last-Event-ID and catches up from the replay buffer).
_SUBSCRIBER_BUFFER = 10_000


def payload_text(message: object) -> str:
    """An MQTT payload as the text the client would publish.

    The client's rule (``losant_async._params``, not imported: the local
    Losant shares no code with the client): a ``str`` as is, ``bytes`` as
    UTF-8 text, anything else as compact JSON.

    Raises:
        ValueError: ``bytes`` that are not UTF-8.
        TypeError: A value JSON cannot write (``nan`` included).
    """
    if isinstance(message, str):
        return message
    if isinstance(message, bytes | bytearray | memoryview):
        try:
            return bytes(message).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"message bytes are not valid UTF-8 (at byte {exc.start})") from None
    try:
        return json.dumps(message, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"message is not JSON-serialisable: {exc}") from None


def valid_filter(topic_filter: str) -> bool:
    """Whether `topic_filter` is a valid MQTT topic filter (MQTT 3.1.1, section 4.7.1)."""
    if not topic_filter or "\x00" in topic_filter:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether `topic` matches `topic_filter` with MQTT `+` and `#` wildcards.

    Topics starting with `$` are not matched by a leading wildcard (MQTT 3.1.1, 4.7.2).
    """
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


class Subscriber:
    """One open stream: its filter and the memory stream the broker feeds."""

    def __init__(self, application_id: str, topic_filter: str) -> None:
        self.application_id = application_id
        self.topic_filter = topic_filter
        send, receive = anyio.create_memory_object_stream[Event](_SUBSCRIBER_BUFFER)
        self.send: MemoryObjectSendStream[Event] = send
        self.receive: MemoryObjectReceiveStream[Event] = receive


class Broker:
    """Per-application event ids, replay buffers and subscribers; loop thread only."""

    def __init__(self, *, replay_size: int) -> None:
        self._replay_size = replay_size
        self._buffers: dict[str, collections.deque[Event]] = {}
        self._last_id: dict[str, int] = {}
        self._subscribers: set[Subscriber] = set()
        self.closed = False

    @property
    def open_streams(self) -> int:
        return len(self._subscribers)

    def publish(self, application_id: str, topic: str, message: str) -> int:
        """Give the message the application's next id, buffer it and fan it out."""
        event_id = self._last_id.get(application_id, 0) + 1
        self._last_id[application_id] = event_id
        event = (event_id, topic, message)
        buffer = self._buffers.setdefault(
            application_id, collections.deque(maxlen=self._replay_size)
        )
        buffer.append(event)
        for subscriber in list(self._subscribers):
            if subscriber.application_id == application_id and topic_matches(
                subscriber.topic_filter, topic
            ):
                try:
                    subscriber.send.send_nowait(event)
                except anyio.WouldBlock:
                    subscriber.send.close()
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    pass
        return event_id

    def subscribe(
        self, application_id: str, topic_filter: str, last_event_id: int | None
    ) -> Subscriber:
        """Register a subscriber, queueing first the buffered events after `last_event_id`."""
        subscriber = Subscriber(application_id, topic_filter)
        if last_event_id is not None:
            for event in self._buffers.get(application_id, ()):
                if event[0] > last_event_id and topic_matches(topic_filter, event[1]):
                    subscriber.send.send_nowait(event)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        subscriber.send.close()
        subscriber.receive.close()

    def close_all(self) -> None:
        """End every stream (server shutdown); later subscriptions end at once."""
        self.closed = True
        for subscriber in self._subscribers:
            subscriber.send.close()


def format_event(event: Event, *, with_id: bool = False) -> bytes:
    """One `mqttMessage` event as Losant writes it; the `id:` line only with replay on."""
    event_id, topic, message = event
    data = json.dumps({"topic": topic, "message": message}, separators=(",", ":"))
    block = f"event: mqttMessage\ndata: {data}\n\n"
    return (f"id: {event_id}\n" + block if with_id else block).encode()


# Losant's keep-alive: an empty comment line (spec/losant-api/README.md,
# from Losant's server framework).
KEEPALIVE = b":\n\n"


class SSEResponse(Response):
    """Stream a subscriber's events, with keep-alives, until it or the client goes away."""

    def __init__(
        self,
        broker: Broker,
        subscriber: Subscriber,
        *,
        keep_alive: float,
        drop_after: int | None,
        stall: bool,
        with_ids: bool,
        headers: dict[str, str],
    ) -> None:
        # Like StreamingResponse: no body attribute, hence no Content-Length.
        self.status_code = 200
        self.media_type = "text/event-stream"
        self.background = None
        self.init_headers(headers)
        self._broker = broker
        self._subscriber = subscriber
        self._keep_alive = keep_alive
        self._drop_after = drop_after
        self._stall = stall
        self._with_ids = with_ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async with anyio.create_task_group() as group:

                async def watch_disconnect() -> None:
                    # uvicorn answers receive() with http.disconnect as soon as
                    # the socket closes: that is what makes detection prompt.
                    while True:
                        message: dict[str, Any] = dict(await receive())
                        if message["type"] == "http.disconnect":
                            group.cancel_scope.cancel()
                            return

                group.start_soon(watch_disconnect)
                await self._pump(send)
                group.cancel_scope.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            # The client went away while we were writing.
            pass
        finally:
            self._broker.unsubscribe(self._subscriber)

    async def _pump(self, send: Send) -> None:
        receive_events = self._subscriber.receive
        if self._stall:
            # Hold the connection open and silent until shutdown or disconnect.
            async for _ in receive_events:
                pass
            return
        if self._drop_after == 0:
            return
        sent = 0
        while True:
            with anyio.move_on_after(self._keep_alive) as timer:
                try:
                    event = await receive_events.receive()
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    return
            if timer.cancelled_caught:
                await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                continue
            await send(
                {
                    "type": "http.response.body",
                    "body": format_event(event, with_id=self._with_ids),
                    "more_body": True,
                }
            )
            sent += 1
            if self._drop_after is not None and sent >= self._drop_after:
                return


def parse_keep_alive(value: str | None, default: float) -> float:
    """The keepAliveInterval query value in seconds (a float is allowed); ValueError if invalid."""
    if value is None:
        return default
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("keepAliveInterval must be a positive number of seconds")
    return seconds
