"""``MqttStream``: one MQTT subscription over Server-Sent Events.

Losant's ``GET /applications/{applicationId}/mqttSubscriptionStream`` answers
with an SSE stream whose ``mqttMessage`` events carry a JSON ``{"topic",
"message"}`` body (spec/api/application.json, ``sseEvents``). Everything
but the topic and the decoding (``_decoder.to_message``) is the generic
``_sse.SSEStream``: the watchdog, reconnects, gaps, skipped odd events and
the stream's ``state``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._constants import DEFAULT_KEEP_ALIVE_INTERVAL, STREAM_BACKOFF_INITIAL, STREAM_BACKOFF_MAX
from .._models import MqttMessage
from ._decoder import MQTT_EVENT, to_message, to_messages
from ._sse import SSEStream
from ._values import StateCallback, StreamOptions

if TYPE_CHECKING:
    from .._transport import Transport

__all__ = ["MqttStream"]


class MqttStream(SSEStream[MqttMessage]):
    """A live MQTT subscription (``GET /applications/{id}/mqttSubscriptionStream``).

    An async context manager and an async iterator of ``MqttMessage``::

        async with app.mqtt_subscription_stream("devices/+/state") as stream:
            async for msg in stream:
                print(msg.topic, msg.message)

    The connection opens in ``__aenter__`` and closes when the block is left
    (break, exception or cancellation). Bytes are read only as the consumer
    pulls. SSE comments and events other than ``mqttMessage`` are taken as
    keep-alives and never yielded. ``keep_alive_interval`` is a whole number
    of seconds (at least 1), sent as ``keepAliveInterval``; silence longer
    than three intervals means a dead connection.

    A dropped, dead or truncated connection, a 429 (honouring
    ``Retry-After``) or 5xx answer, or a network error is retried with
    jittered exponential backoff, sending ``Last-Event-ID`` when the server
    gave event ids. ``max_reconnects`` bounds the failed attempts in a row;
    ``None`` retries forever, ``reconnect=False`` never. A connection counts
    as healthy, and the count and the backoff start afresh, only once it is
    still receiving one silence timeout after it opened: a server that
    accepts and closes at once (even after a message) counts as failing.
    Any other error status ends the stream with its typed error: raised from
    ``__aenter__`` on the first connect, from the iteration later. With
    reconnection off or used up, the iteration raises the error that ended
    the last connection (a clean close by the server is an
    ``APIConnectionError``); a 204 answer ends the iteration cleanly.

    Losant replays nothing after a reconnect: every outage is recorded in
    ``gaps``. An ``mqttMessage`` whose data is not a JSON object with a
    string ``topic`` and a ``message``, and any event or line over 1 MiB, is
    skipped (WARNING on the ``losant_async`` logger, counted in
    ``skipped``); a ``message`` that is not a string is delivered as its
    compact JSON text. A server's ``retry:`` is honoured up to
    ``backoff_max``.

    ``state`` says where the stream is (``connecting``, ``open``,
    ``reconnecting``, ``closed``: see ``StreamState``), for a health
    endpoint; ``on_state_change(old, new)`` is called on each change. Each
    reconnect attempt is logged at WARNING on the ``losant_async`` logger
    (topic, attempt, delay and the reason), and a re-open at INFO.

    The settings may come as one checked ``StreamOptions`` value
    (``options``, what the façade passes); without it the keywords are
    checked into one.

    Attributes:
        reconnects: Successful re-opens after a lost connection.
        last_event_id: The last event id the server sent, or ``None`` (sent
            back as ``Last-Event-ID`` only when it is a valid header value).
        skipped: Events skipped as malformed or oversized.
    """

    _key_name = "topic"

    def __init__(
        self,
        transport: Transport,
        path: str,
        *,
        topic: str,
        options: StreamOptions | None = None,
        keep_alive_interval: float = DEFAULT_KEEP_ALIVE_INTERVAL,
        reconnect: bool = True,
        max_reconnects: int | None = None,
        backoff_initial: float = STREAM_BACKOFF_INITIAL,
        backoff_max: float = STREAM_BACKOFF_MAX,
        on_state_change: StateCallback | None = None,
    ) -> None:
        if not topic:
            raise ValueError("topic must be a non-empty string")
        if options is None:
            options = StreamOptions(
                keep_alive_interval=keep_alive_interval,
                reconnect=reconnect,
                max_reconnects=max_reconnects,
                backoff_initial=backoff_initial,
                backoff_max=backoff_max,
                on_state_change=on_state_change,
            )
        super().__init__(
            transport,
            path,
            event=MQTT_EVENT,
            decode=to_message,
            decode_many=to_messages,
            key=topic,
            options=options,
            params=(("topic", topic),),
            expected="a JSON object with a string topic and a message",
        )

    @property
    def topic(self) -> str:
        """The MQTT topic (filter) subscribed to."""
        return self._key
