"""``SSEStream``: one Server-Sent-Events stream of Losant, generic in what it yields.

Losant's three SSE actions (``application.mqttSubscriptionStream``,
``device.stateStream``, ``device.commandStream``) differ only in their path,
their query, the name of the events that carry data and how one event's JSON
data becomes a value. ``SSEStream`` is everything they share: it opens the
stream with ``Transport.open_stream`` (an open response it owns and closes),
reads it block by block under a watchdog, feeds the blocks to the I/O-free
``_decoder``, keeps the data of the events of its one name, decodes each
(skipping, logging and counting what does not decode), and re-opens a lost
connection with the backoff of ``_retry`` and ``Last-Event-ID``, recording
each outage as a ``StreamGap``. Its ``state`` (a ``StreamState``) follows the
connection, and each change is reported to the ``on_state_change`` callback
of its options. ``MqttStream`` (``_stream``) and the device streams
(``_device``) are thin subclasses.
"""

from __future__ import annotations

import logging
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from time import monotonic
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeVar

import anyio

from .._constants import (
    MAX_RETRY_AFTER,
    SSE_MAX_EVENT_BYTES,
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
from .._lifecycle import Lifecycle, State
from .._retry import delays_off, reconnect_delay, should_reconnect
from ._decoder import Skipped, SSEDecoder
from ._values import StreamGap, StreamOptions, StreamState, sendable_event_id

if TYPE_CHECKING:
    from .._response import StreamResponse
    from .._transport import Transport

__all__ = ["SSEStream"]

_log = logging.getLogger("losant_async")

T = TypeVar("T")


class SSEStream(Generic[T]):
    """One live Losant SSE stream: an async context manager and an async iterator of ``T``.

    The connection opens in ``__aenter__`` and closes when the block is left
    (break, exception or cancellation). Bytes are read only as the consumer
    pulls. SSE comments and events of any other name than ``event`` are
    taken as keep-alives and never yielded. Silence longer than three
    keep-alive intervals means a dead connection.

    A dropped, dead or truncated connection, a 429 (honouring
    ``Retry-After``) or 5xx answer, or a network error is retried with
    jittered exponential backoff, sending ``Last-Event-ID`` when the server
    gave event ids (see ``MqttStream`` for the full rules, which every
    stream shares). Any other error status ends the stream with its typed
    error; a 204 answer ends the iteration cleanly. Every outage is recorded
    in ``gaps``. An event whose data ``decode`` refuses (``None``), and any
    event or line over 1 MiB, is skipped (WARNING on the ``losant_async``
    logger, counted in ``skipped``).

    Args:
        transport: The transport that opens the connection.
        path: The stream's path.
        event: The name of the events that carry data (``mqttMessage``).
        decode: One event's data (JSON text) to a value, or ``None`` to skip it.
        decode_many: The data of a block's events to their values, ``Skipped``
            for each one to skip (default: ``decode`` of each): the stream
            decodes each block read at once, the per-event cost.
        params: The query, ``keepAliveInterval`` excepted (it is added).
        key: What the stream follows (a topic, a device id): in logs,
            ``repr`` and a group's ``states`` and ``gaps``.
        options: The checked settings (``StreamOptions``).
        expected: How a skipped event's data should have looked, for the log.

    Attributes:
        reconnects: Successful re-opens after a lost connection.
        last_event_id: The last event id the server sent, or ``None``.
        skipped: Events skipped as malformed or oversized.
    """

    def __init__(
        self,
        transport: Transport,
        path: str,
        *,
        event: str,
        decode: Callable[[str], T | None],
        key: str,
        decode_many: Callable[[list[str]], list[T | Skipped]] | None = None,
        options: StreamOptions,
        params: Sequence[tuple[str, str]] = (),
        expected: str = "a valid event",
    ) -> None:
        self._transport = transport
        self._path = path
        self._event = event
        self._decode = decode
        self._decode_many = decode_many or _each(decode)
        self._key = key
        self._expected = expected
        self._options = options
        self._params = (*params, ("keepAliveInterval", str(options.keep_alive_interval)))
        self._silence = options.silence_timeout
        self._state = Lifecycle(type(self).__name__)
        self._stream_state = StreamState.CONNECTING
        self.reconnects: int = 0
        self.last_event_id: str | None = None
        self.skipped: int = 0
        self._gaps: deque[StreamGap] = deque(maxlen=STREAM_MAX_GAPS)
        # monotonic() of: the current connection's opening, its last
        # chunk, and the start of the outage in progress (None: no outage).
        self._opened_at = self._last_byte = 0.0
        self._outage_from: float | None = None
        self._sent_id = False  # the current connection was sent Last-Event-ID
        self._finished = False
        self._busy = False
        self._attempts = 0
        self._server_retry: float | None = None
        self._error: LosantError | None = None
        # Decoded values of events read but not yet yielded (``Skipped``
        # stands for an odd event, counted and logged when its turn comes).
        self._pending: deque[T | Skipped] = deque()
        # The open connection; None between connections and once finished.
        self._response: StreamResponse | None = None
        self._decoder = SSEDecoder(want=event)

    def __repr__(self) -> str:
        state = self._state.state.name.lower()
        name = type(self).__name__
        return f"<{name} {self._key_name}={self._key!r} {state} reconnects={self.reconnects}>"

    # How ``repr`` names the key (``topic`` for an MqttStream).
    _key_name = "key"

    @property
    def key(self) -> str:
        """What the stream follows: the topic, or the device id."""
        return self._key

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` has run (directly or by leaving ``async with``)."""
        return self._state.is_closed

    @property
    def state(self) -> StreamState:
        """Where the stream is: ``connecting``, ``open``, ``reconnecting`` or ``closed``.

        ``closed`` once the stream is closed or has ended for good (its
        iteration then ends or raises), even before ``aclose()``.
        """
        return self._stream_state

    def _set_state(self, new: StreamState) -> None:
        """Move to ``new`` and tell ``on_state_change``; nothing when unchanged."""
        old = self._stream_state
        if new is old or old is StreamState.CLOSED:  # closed is for good
            return
        self._stream_state = new
        callback = self._options.on_state_change
        if callback is None:
            return
        try:
            callback(old, new)
        except Exception:  # the caller's code must not break the stream
            _log.exception("on_state_change of the stream of %r raised", self._key)

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

    async def __aenter__(self) -> Self:
        """Open the stream.

        Raises:
            APIStatusError: The first connect was refused for good (4xx), or
                every allowed attempt failed.
            APIConnectionError: Every allowed attempt failed to connect.
        """
        self._state.enter()
        try:
            try:
                await self._open()
            except LosantError as exc:
                self._error = exc
                await self._retry(counting=False)
        except BaseException:
            await self.aclose()
            raise
        self._set_state(StreamState.CLOSED if self._finished else StreamState.OPEN)
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
        if not self._state.close():
            return
        self._pending.clear()
        self._error = None
        try:
            await self._drop()
        finally:
            self._set_state(StreamState.CLOSED)

    def __del__(self) -> None:
        # No cleanup here (it would need the event loop): only a warning.
        if getattr(self, "_response", None) is not None and not self._state.is_closed:
            warnings.warn(
                f"{self!r} was never closed; use 'async with' or 'await stream.aclose()'",
                ResourceWarning,
                stacklevel=1,
            )

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        """The next value, waiting (and reconnecting) as needed."""
        pending = self._pending
        while True:
            if pending:
                value = pending.popleft()
            else:
                if self._busy:
                    raise RuntimeError(
                        f"another task is already reading this {type(self).__name__}"
                    )
                self._busy = True
                try:
                    value = await self._next_event()
                finally:
                    self._busy = False
            if not isinstance(value, Skipped):
                return value
            # API.md, "Odd events never end a stream". The data is not logged:
            # it is the server's, and may hold anything.
            self.skipped += 1
            _log.warning(
                "Skipped an %s event on the stream of %r: its data (%d characters) is not %s.",
                self._event,
                self._key,
                value.size,
                self._expected,
            )

    async def _next_event(self) -> T | Skipped:
        """The next event of the stream's name, decoded; reads only when none is pending."""
        state = self._state
        state.check_open()
        if state.state is State.UNOPENED:
            raise RuntimeError("Open the stream first: 'async with stream: ...'")
        while not self._pending:
            if state.is_closed:  # by another task, while this one was reading
                raise ClientClosedError(f"This {type(self).__name__} was closed.")
            response = self._response
            if response is None:
                if self._finished:
                    raise StopAsyncIteration
                await self._retry(counting=True)
                continue
            try:
                with anyio.fail_after(self._silence):
                    chunk = await response.read_chunk()
            except TimeoutError:
                self._error = APITimeoutError(
                    f"No data on the stream for {self._silence:g} s: connection presumed dead."
                )
                await self._lose()
                continue
            except Exception as exc:  # our error: read_chunk maps httpx's
                self._error = _as_error(exc)
                await self._lose()
                continue
            except BaseException:
                # Cancelled mid-read: the response is in an unknown state.
                await self._lose()
                raise
            if not chunk:
                self._error = APIConnectionError("The server closed the stream.")
                await self._lose()
                continue
            self._last_byte = now = monotonic()
            if self._attempts and now - self._opened_at >= self._silence:
                # Issue 11, defect 3: healthy only once still talking a full
                # silence timeout after opening (the watchdog's own window),
                # never for merely answering: a server that accepts and closes
                # at once, even after a comment or a message, must meet a
                # growing delay and, in the end, max_reconnects.
                self._attempts = 0
            decoder = self._decoder
            datas = decoder.feed(chunk)  # the data of the events of our name
            # Updated even without events: a data-less event may carry an id.
            self.last_event_id = decoder.last_event_id or None
            if datas:
                self._pending.extend(self._decode_many(datas))
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
            self._key,
        )

    async def _lose(self) -> None:
        """Drop a connection that was live: an outage starts at its last byte."""
        if self._outage_from is None:
            self._outage_from = self._last_byte
        await self._drop()

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
        response = self._response = await self._transport.open_stream(
            self._path, params=self._params, headers=headers, read_timeout=self._silence
        )
        self._opened_at = self._last_byte = monotonic()
        if response.status_code == 204:
            # SSE: 204 No Content tells the client to stop reconnecting.
            self._finished = True
            await self._drop()
            return
        content_type = response.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "text/event-stream":
            await self._drop()
            raise APIResponseValidationError(
                f"Expected a text/event-stream response, got {content_type[:100]!r}.",
                status_code=response.status_code,
            )
        self._decoder = SSEDecoder(self.last_event_id or "", want=self._event)

    async def _retry(self, *, counting: bool) -> None:
        """Re-open after ``self._error`` ended a connection, or raise the final error."""
        options = self._options
        while True:
            error = self._error
            if error is None:  # pragma: no cover - every caller sets it
                error = APIConnectionError("The stream ended.")
            retry_after = error.retry_after if isinstance(error, RateLimitError) else None
            if (
                not options.reconnect
                or not should_reconnect(error)
                or (options.max_reconnects is not None and self._attempts >= options.max_reconnects)
                # A wait beyond MAX_RETRY_AFTER is the caller's to decide on.
                or (retry_after is not None and retry_after > MAX_RETRY_AFTER)
            ):
                self._finished = True
                self._error = None
                self._end_outage(replayed=False)
                self._set_state(StreamState.CLOSED)
                raise error
            self._attempts += 1
            delay = (
                0
                if delays_off()
                else reconnect_delay(
                    self._attempts,
                    initial=options.backoff_initial,
                    maximum=options.backoff_max,
                    server_retry=self._server_retry,
                    retry_after=retry_after,
                )
            )
            if counting:  # the first connect's retries are still "connecting"
                self._set_state(StreamState.RECONNECTING)
            # One line per attempt (issue 13): the reason is our error's text,
            # which never holds the token (errors redact their own strings).
            _log.warning(
                "Stream of %r: %s attempt %d in %.2f s, after %s: %s",
                self._key,
                "reconnect" if counting else "connect",
                self._attempts,
                delay,
                type(error).__name__,
                error,
            )
            await anyio.sleep(delay)
            try:
                await self._open()
            except LosantError as exc:
                self._error = exc
                continue
            self._error = None
            self._end_outage(replayed=self._sent_id and not self._finished)
            if self._finished:  # a 204: the server ended the stream
                self._set_state(StreamState.CLOSED)
            elif counting:
                self.reconnects += 1
                _log.info("Stream of %r reconnected (attempt %d).", self._key, self._attempts)
                self._set_state(StreamState.OPEN)
            return

    async def _drop(self) -> None:
        """Close the current connection, if any (``aclose`` shields itself)."""
        response, self._response = self._response, None
        if response is not None:
            try:
                await response.aclose()
            except Exception:  # closing a broken connection may fail too
                _log.debug("Closing the stream of %r failed", self._key, exc_info=True)


def _each(decode: Callable[[str], T | None]) -> Callable[[list[str]], list[T | Skipped]]:
    """A ``decode_many`` that calls ``decode`` on each event's data."""

    def decode_many(datas: list[str]) -> list[T | Skipped]:
        return [Skipped(len(data)) if (v := decode(data)) is None else v for data in datas]

    return decode_many


def _as_error(exc: Exception) -> LosantError:
    """``exc`` as our error: ``read_chunk`` maps httpx errors; anything else is wrapped."""
    if isinstance(exc, LosantError):
        return exc
    error = APIConnectionError(f"The stream connection failed ({type(exc).__name__}).")
    error.__cause__ = exc
    return error
