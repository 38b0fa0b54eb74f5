"""MQTT subscriptions over Server-Sent Events: ``MqttStream``.

Losant's ``GET /applications/{applicationId}/mqttSubscriptionStream`` answers
with an SSE stream whose ``mqttMessage`` events carry a JSON ``{"topic",
"message"}`` body (spec/api/application.json, ``sseEvents``). The stream
layer has three parts, each testable alone:

- ``_sse_decode``: an I/O-free, incremental decoder (bytes in, events out)
  following the WHATWG "event stream interpretation" rules.
- ``_sse_policy``: the pure rules (settings, what is retried, backoff) and
  ``StreamGap``, one recorded outage.
- ``MqttStream`` (here): one subscription; watchdog, reconnection with
  backoff and ``Last-Event-ID``, outages, typed errors.
- ``_sse_group.MqttStreamGroup``: several subscriptions read as one
  iterator; exported from here too, where the package maps it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from time import monotonic
from types import TracebackType
from typing import TYPE_CHECKING, cast

import anyio

from .. import _retry
from .._constants import (
    DEFAULT_KEEP_ALIVE_INTERVAL,
    KEEP_ALIVE_MISSES,
    MAX_RETRY_AFTER,
    SSE_MAX_EVENT_BYTES,
    STREAM_BACKOFF_INITIAL,
    STREAM_BACKOFF_MAX,
    STREAM_FINISH_READS,
    STREAM_FINISH_TIMEOUT,
    STREAM_MAX_GAPS,
)
from .._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    ClientClosedError,
    LosantError,
    RateLimitError,
)
from .._models import MqttMessage
from ._decoder import MQTT_EVENT, SSEDecoder, to_message
from ._policy import (
    StreamGap,
    check_keep_alive_interval,
    is_retryable,
    reconnect_delay,
    sendable_event_id,
)

if TYPE_CHECKING:
    import httpx

    from .._transport import Transport

__all__ = ["MqttStream"]

_log = logging.getLogger("losant_async")


class MqttStream:
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

    Attributes:
        reconnects: Successful re-opens after a lost connection.
        last_event_id: The last event id the server sent, or ``None`` (sent
            back as ``Last-Event-ID`` only when it is a valid header value).
        skipped: Events skipped as malformed or oversized.
    """

    def __init__(
        self,
        transport: Transport,
        path: str,
        *,
        topic: str,
        keep_alive_interval: float = DEFAULT_KEEP_ALIVE_INTERVAL,
        reconnect: bool = True,
        max_reconnects: int | None = None,
        backoff_initial: float = STREAM_BACKOFF_INITIAL,
        backoff_max: float = STREAM_BACKOFF_MAX,
    ) -> None:
        if not topic:
            raise ValueError("topic must be a non-empty string")
        seconds = check_keep_alive_interval(keep_alive_interval)
        if max_reconnects is not None and max_reconnects < 0:
            raise ValueError("max_reconnects must be None or >= 0")
        if not 0 <= backoff_initial <= backoff_max:
            raise ValueError("need 0 <= backoff_initial <= backoff_max")
        self._transport = transport
        self._path = path
        self._topic = topic
        self._params = (("topic", topic), ("keepAliveInterval", str(seconds)))
        self._silence = float(KEEP_ALIVE_MISSES * seconds)
        self._reconnect = reconnect
        self._max_reconnects = max_reconnects
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self.reconnects = 0
        self.last_event_id: str | None = None
        self.skipped = 0
        self._gaps: deque[StreamGap] = deque(maxlen=STREAM_MAX_GAPS)
        # monotonic() of: the current connection's opening, its last
        # chunk, and the start of the outage in progress (None: no outage).
        self._opened_at = self._last_byte = 0.0
        self._outage_from: float | None = None
        self._sent_id = False  # the current connection was sent Last-Event-ID
        self._entered = False
        self._closed = False
        self._finished = False
        self._busy = False
        self._attempts = 0
        self._server_retry: float | None = None
        self._error: LosantError | None = None
        self._pending: deque[str] = deque()
        self._cm: AbstractAsyncContextManager[httpx.Response] | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._decoder = SSEDecoder()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._entered else "unopened"
        return f"<MqttStream topic={self._topic!r} {state} reconnects={self.reconnects}>"

    @property
    def topic(self) -> str:
        """The MQTT topic (filter) subscribed to."""
        return self._topic

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` has run (directly or by leaving ``async with``)."""
        return self._closed

    @property
    def silence_timeout(self) -> float:
        """Seconds without a byte after which the connection counts as dead."""
        return self._silence

    @property
    def gaps(self) -> tuple[StreamGap, ...]:
        """The outages so far, oldest first (the most recent 1,000).

        An outage runs from the last byte of a lost connection to the opening
        of the next one, however many attempts that took; one that ended the
        stream (reconnection used up, a 4xx, a 204) ends when the stream gave
        up. Closing the stream during an outage records nothing.
        """
        return tuple(self._gaps)

    async def __aenter__(self) -> MqttStream:
        """Open the stream.

        Raises:
            APIStatusError: The first connect was refused for good (4xx), or
                every allowed attempt failed.
            APIConnectionError: Every allowed attempt failed to connect.
        """
        if self._closed:
            raise ClientClosedError("This MqttStream is closed.")
        if self._entered:
            raise RuntimeError("This MqttStream is already open.")
        self._entered = True
        try:
            try:
                await self._open()
            except LosantError as exc:
                self._error = exc
                await self._retry(counting=False)
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection. Idempotent; completes even when cancelled."""
        if self._closed:
            return
        self._closed = True
        self._pending.clear()
        self._error = None
        await self._drop(None)

    def __del__(self) -> None:
        # No cleanup here (it would need the event loop): only a warning.
        if getattr(self, "_cm", None) is not None and not getattr(self, "_closed", True):
            warnings.warn(
                f"{self!r} was never closed; use 'async with' or 'await stream.aclose()'",
                ResourceWarning,
                stacklevel=1,
            )

    def __aiter__(self) -> MqttStream:
        return self

    async def __anext__(self) -> MqttMessage:
        """The next message, waiting (and reconnecting) as needed."""
        while True:
            if self._pending:
                data = self._pending.popleft()
            else:
                if self._busy:
                    raise RuntimeError("another task is already reading this MqttStream")
                self._busy = True
                try:
                    data = await self._next_event()
                finally:
                    self._busy = False
            message = to_message(data)
            if message is not None:
                return message
            # API.md, "Odd events never end a stream". The data is not logged:
            # it is the server's, and may hold anything.
            self.skipped += 1
            _log.warning(
                "Skipped an mqttMessage event on the stream of %r: its data (%d characters) "
                "is not a JSON object with a string topic and a message.",
                self._topic,
                len(data),
            )

    async def _next_event(self) -> str:
        """Data of the next ``mqttMessage`` event; reads only when none is pending."""
        if self._closed:
            raise ClientClosedError("This MqttStream is closed.")
        if not self._entered:
            raise RuntimeError("Open the stream first: 'async with stream: ...'")
        while not self._pending:
            if self._closed:  # by another task, while this one was reading
                raise ClientClosedError("This MqttStream was closed.")
            if self._chunks is None:
                if self._finished:
                    raise StopAsyncIteration
                await self._retry(counting=True)
                continue
            try:
                with anyio.fail_after(self._silence):
                    chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._error = APIConnectionError("The server closed the stream.")
                await self._lose(None)
                continue
            except TimeoutError:
                self._error = APITimeoutError(
                    f"No data on the stream for {self._silence:g} s: connection presumed dead."
                )
                await self._lose(None)
                continue
            except Exception as exc:
                self._error = await self._lose(exc)
                continue
            except BaseException:
                # Cancelled mid-read: the response is in an unknown state.
                await self._lose(None)
                raise
            self._last_byte = now = monotonic()
            if self._attempts and now - self._opened_at >= self._silence:
                # Issue 11, defect 3: healthy only once still talking a full
                # silence timeout after opening (the watchdog's own window),
                # never for merely answering: a server that accepts and closes
                # at once, even after a comment or a message, must meet a
                # growing delay and, in the end, max_reconnects.
                self._attempts = 0
            decoder = self._decoder
            events = decoder.feed(chunk)
            # Updated even without events: a data-less event may carry an id.
            self.last_event_id = decoder.last_event_id or None
            if events:
                self._pending.extend([e[1] for e in events if e[0] == MQTT_EVENT])
            if decoder.oversized:
                self._skip_oversized()
            if decoder.retry is not None:
                self._server_retry = decoder.retry / 1000
        return self._pending.popleft()

    def _skip_oversized(self) -> None:
        count, self._decoder.oversized = self._decoder.oversized, 0
        self.skipped += count
        _log.warning(
            "Skipped %d event(s) over %d bytes on the stream of %r.",
            count,
            SSE_MAX_EVENT_BYTES,
            self._topic,
        )

    async def _lose(self, exc: BaseException | None) -> LosantError:
        """Drop a connection that was live: an outage starts at its last byte."""
        if self._outage_from is None:
            self._outage_from = self._last_byte
        return await self._drop(exc)

    def _end_outage(self, *, replayed: bool) -> None:
        """Record the outage in progress, if any, as ending now."""
        started = self._outage_from
        if started is None:
            return
        self._outage_from = None
        now = datetime.now(UTC)
        since = timedelta(seconds=max(0.0, monotonic() - started))
        self._gaps.append(StreamGap(started_at=now - since, ended_at=now, replayed=replayed))

    async def _open(self) -> None:
        """Open one connection; on success the stream is live or finished."""
        # Losant's JavaScript client sends no Accept: text/event-stream (the
        # transport's own headers go out, API.md Details: Streams); only the
        # resume point is ours to add, and only when it is a valid header.
        last_id = sendable_event_id(self.last_event_id)
        headers = None if last_id is None else {"Last-Event-ID": last_id}
        self._sent_id = last_id is not None
        cm = self._transport.stream(
            "GET", self._path, params=self._params, headers=headers, read_timeout=self._silence
        )
        response = await cm.__aenter__()
        self._cm = cm
        self._opened_at = self._last_byte = monotonic()
        if response.status_code == 204:
            # SSE: 204 No Content tells the client to stop reconnecting.
            self._finished = True
            await self._drop(None)
            return
        content_type = response.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "text/event-stream":
            await self._drop(None)
            raise APIResponseValidationError(
                f"Expected a text/event-stream response, got {content_type[:100]!r}.",
                status_code=response.status_code,
            )
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            # The body stream itself: one block per network read, and no
            # async generators (httpx's aiter_raw/aiter_bytes are ones, and
            # trio warns when one is dropped unexhausted, httpx #3686).
            self._chunks = cast("AsyncIterable[bytes]", response.stream).__aiter__()
        else:
            self._chunks = response.aiter_bytes()
        self._decoder = SSEDecoder(self.last_event_id or "")

    async def _retry(self, *, counting: bool) -> None:
        """Re-open after ``self._error`` ended a connection, or raise the final error."""
        while True:
            error = self._error
            if error is None:  # pragma: no cover - every caller sets it
                error = APIConnectionError("The stream ended.")
            retry_after = error.retry_after if isinstance(error, RateLimitError) else None
            if (
                not self._reconnect
                or not is_retryable(error)
                or (self._max_reconnects is not None and self._attempts >= self._max_reconnects)
                # A wait beyond MAX_RETRY_AFTER is the caller's to decide on.
                or (retry_after is not None and retry_after > MAX_RETRY_AFTER)
            ):
                self._finished = True
                self._error = None
                self._end_outage(replayed=False)
                raise error
            self._attempts += 1
            delay = reconnect_delay(
                self._attempts,
                initial=self._backoff_initial,
                maximum=self._backoff_max,
                server_retry=self._server_retry,
                retry_after=retry_after,
            )
            await anyio.sleep(0 if _retry._zero_delay else delay)
            try:
                await self._open()
            except LosantError as exc:
                self._error = exc
                continue
            self._error = None
            self._end_outage(replayed=self._sent_id and not self._finished)
            if counting and not self._finished:  # a 204 is no re-open
                self.reconnects += 1
            return

    async def _drop(self, exc: BaseException | None) -> LosantError:
        """Close the current connection; return ``exc`` as our error type.

        ``exc`` goes through the transport's context manager, which maps
        httpx errors to ours (no other module catches httpx exceptions).
        """
        with anyio.CancelScope(shield=True):
            translated = await self._close_connection(exc)
        return translated  # noqa: RET504 - a cancel scope may swallow, says mypy

    async def _close_connection(self, exc: BaseException | None) -> LosantError:
        chunks, cm = self._chunks, self._cm
        self._chunks = self._cm = None
        translated: LosantError | None = exc if isinstance(exc, LosantError) else None
        if cm is not None:
            try:
                if exc is None or translated is not None:
                    await cm.__aexit__(None, None, None)
                else:
                    await cm.__aexit__(type(exc), exc, exc.__traceback__)
            except LosantError as mapped:
                translated = translated or mapped
            except Exception:  # closing a broken response may fail too
                pass
        if chunks is not None:
            await _finish(chunks)
        if translated is None:
            name = type(exc).__name__ if exc is not None else "closed"
            translated = APIConnectionError(f"The stream connection failed ({name}).")
            translated.__cause__ = exc
        return translated


async def _finish(chunks: AsyncIterator[bytes]) -> None:
    """Run a closed response's body iterator to its end.

    httpx and httpcore read a body through nested async generators. Closing
    the outer one leaves the inner ones, suspended at their ``yield``, to the
    garbage collector, and trio warns about each (httpx #3686). Reading a
    closed response fails at once, and that error unwinds every level. The
    bounds only guard against a body stream that keeps going once closed.
    """
    with anyio.move_on_after(STREAM_FINISH_TIMEOUT):
        for _ in range(STREAM_FINISH_READS):
            try:
                await chunks.__anext__()
            except Exception:  # StopAsyncIteration, or the closed stream's error
                return
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
