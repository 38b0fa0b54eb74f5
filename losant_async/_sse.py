"""MQTT subscriptions over Server-Sent Events: ``MqttStream`` and ``MqttStreamGroup``.

Losant's ``GET /applications/{applicationId}/mqttSubscriptionStream`` answers
with an SSE stream whose ``mqttMessage`` events carry a JSON ``{"topic",
"message"}`` body (spec/api/application.json, ``sseEvents``). This module
holds three layers, each testable alone:

- ``_SSEDecoder``: an I/O-free, incremental decoder (bytes in, events out)
  following the WHATWG "event stream interpretation" rules.
- ``MqttStream``: one subscription; watchdog, reconnection with backoff and
  ``Last-Event-ID``, typed errors.
- ``MqttStreamGroup``: several subscriptions read as one iterator.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import warnings
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Final, cast

import anyio
import anyio.abc
import attrs

from . import _transport
from ._constants import (
    DEFAULT_KEEP_ALIVE_INTERVAL,
    KEEP_ALIVE_MISSES,
    MAX_RETRY_AFTER,
    MIN_SILENCE_TIMEOUT,
    STREAM_BACKOFF_INITIAL,
    STREAM_BACKOFF_MAX,
    STREAM_FINISH_READS,
    STREAM_FINISH_TIMEOUT,
    STREAM_GROUP_BUFFER,
)
from ._convert import structure
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    LosantError,
    RateLimitError,
    _snippet,
)
from ._models import MqttMessage
from ._models._base import _DECODING, _EMPTY

if TYPE_CHECKING:
    import httpx

    from ._transport import _Transport

__all__ = ["MqttStream", "MqttStreamGroup"]

_MQTT_EVENT: Final = "mqttMessage"
_GROUP_BUFFER: Final = STREAM_GROUP_BUFFER
_FINISH_READS: Final = STREAM_FINISH_READS
_FINISH_TIMEOUT: Final = STREAM_FINISH_TIMEOUT


# One dispatched SSE event: (type, data, last event id). A plain tuple: a
# NamedTuple's constructor costs a Python call per event.
_Event = tuple[str, str, str]


class _SSEDecoder:
    """Incremental SSE decoder: feed it network chunks, get complete events.

    Implements https://html.spec.whatwg.org/multipage/server-sent-events.html
    section 9.2.6: lines end in CRLF, LF or CR (a CRLF may be split across
    chunks), a leading BOM is dropped, ``:`` lines are comments, an event is
    dispatched on a blank line only if it has data, ``id`` without NUL sets the
    last event id (kept across events), ``retry`` takes ASCII digits only, and
    a partial event at the end of the stream is never dispatched.
    """

    __slots__ = (
        "_buffer",
        "_data",
        "_event",
        "_id_buffer",
        "_skip_lf",
        "_started",
        "last_event_id",
        "retry",
    )

    def __init__(self, last_event_id: str = "") -> None:
        self._buffer = bytearray()
        self._skip_lf = False
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._id_buffer = last_event_id
        # The last event id string of the source: set on each dispatch.
        self.last_event_id = last_event_id
        # Reconnection time in milliseconds, as the server last set it.
        self.retry: int | None = None

    @property
    def has_partial(self) -> bool:
        """Whether bytes of an unfinished line or event are pending."""
        return bool(self._buffer or self._data or self._event)

    def feed(self, chunk: bytes) -> list[_Event]:
        """Decode one chunk; return the events it completes, in order."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if end < 0:
            self._buffer += chunk
            return []
        if self._buffer:
            self._buffer += chunk[: end + 1]
            block = bytes(self._buffer)
            self._buffer.clear()
        else:
            block = chunk[: end + 1]
        if end + 1 < len(chunk):
            self._buffer += chunk[end + 1 :]
        elif chunk[end] == 13:  # the chunk ends in CR: its LF may open the next one
            self._skip_lf = True
        # CR and LF never occur inside a UTF-8 multi-byte sequence, so a block
        # of whole lines decodes on its own.
        text = block.decode("utf-8", "replace")
        if not self._started:
            self._started = True
            if text[:1] == "\ufeff":
                text = text[1:]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return self._lines(text)

    def _lines(self, text: str) -> list[_Event]:
        """Interpret whole lines (``text`` ends with a line end); return the events."""
        # State in locals, written back once: this loop is the per-event cost.
        events: list[_Event] = []
        data, event = self._data, self._event
        id_buffer, last_id = self._id_buffer, self.last_event_id
        pos, size = 0, len(text)
        run_at, find = _RUN.match, text.find
        while pos < size:
            if not data and not event:
                # Between events: a run of plain mqttMessage events is read in C
                # (each dispatches its one data line, as the loop below would).
                run = run_at(text, pos)
                if run is not None:
                    events += [
                        (_MQTT_EVENT, value, id_buffer)
                        for value in _RUN_DATA.findall(text, pos, run.end())
                    ]
                    last_id = id_buffer
                    pos = run.end()
                    continue
            stop = find("\n", pos)
            if stop < 0:
                stop = size
            line = text[pos:stop]
            pos = stop + 1
            if not line:
                last_id = id_buffer
                if data:
                    events.append((event or "message", "\n".join(data), id_buffer))
                    data = []
                event = ""
                continue
            # A comment (":...") has an empty name and matches nothing below.
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\0" not in value:
                    id_buffer = value
            elif name == "retry" and value.isascii() and value.isdigit():
                self.retry = int(value)
        self._data, self._event = data, event
        self._id_buffer, self.last_event_id = id_buffer, last_id
        return events


# A run of events in the one common shape: ``event: mqttMessage``, one data
# line, a blank line (the value after one optional space, as the rules say).
_RUN: Final = re.compile(r"(?:event: ?mqttMessage\ndata: ?[^\n]*\n\n)+")
_RUN_DATA: Final = re.compile(r"event: ?mqttMessage\ndata: ?([^\n]*)\n\n")


# The C scanner under json.loads, called directly: loads' wrappers (type
# checks, two whitespace regex matches) cost twice the parse of a short body.
_scan_json: Final[Callable[[str, int], tuple[object, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads_or_raise(data: str) -> object:
    """Full ``json.loads`` (surrounding whitespace, errors) as our error type."""
    try:
        return json.loads(data)
    except ValueError as exc:
        raise APIResponseValidationError(
            "An mqttMessage event's data is not JSON.",
            status_code=200,
            body_snippet=_snippet(data),
        ) from exc


def _to_message(data: str) -> MqttMessage:
    """Decode the JSON body of one ``mqttMessage`` event."""
    obj: object
    try:
        obj, end = _scan_json(data, 0)
    except (StopIteration, ValueError):
        end = -1
    if end != len(data):
        obj = _loads_or_raise(data)
    # The common shape is built directly: the converter costs several times
    # more per message and gives the same model. Like the converter, it skips
    # the input validators: the server's data is not held to our copy of its
    # rules (see _models._base._DECODING).
    if type(obj) is dict and len(obj) == 2:
        topic, message = obj.get("topic"), obj.get("message")
        if type(topic) is str and type(message) is str:
            if not _FAST_MESSAGE:
                token = _DECODING.set(True)
                try:
                    return MqttMessage(topic=topic, message=message)
                finally:
                    _DECODING.reset(token)
            # What attrs' __init__ does, minus the validators decoding skips.
            msg = _new(MqttMessage)
            _SET_TOPIC(msg, topic)
            _SET_MESSAGE(msg, message)
            _SET_EXTRA(msg, _EMPTY)
            return msg
    return structure(obj, MqttMessage, status_code=200, body=data)


_Setter = Callable[[object, object], None]


def _slot_setters() -> tuple[_Setter, _Setter, _Setter] | None:
    """Setters of MqttMessage's three slots; ``None`` if its shape ever differs."""
    names = ("topic", "message", "extra")
    slots = tuple(s for s in getattr(MqttMessage, "__slots__", ()) if s != "__weakref__")
    if (
        tuple(a.name for a in attrs.fields(MqttMessage)) != names
        or slots != names
        or hasattr(MqttMessage, "__attrs_post_init__")
    ):
        return None
    topic, message, extra = (MqttMessage.__dict__[name].__set__ for name in names)
    return topic, message, extra


def _unused_setter(instance: object, value: object) -> None:
    raise AssertionError("unreachable")  # pragma: no cover


_new: Final = object.__new__
_SETTERS: Final = _slot_setters()
_FAST_MESSAGE: Final = _SETTERS is not None
_SET_TOPIC, _SET_MESSAGE, _SET_EXTRA = _SETTERS or (_unused_setter,) * 3


def _format_seconds(value: float) -> str:
    """``2`` -> ``"2"``, ``0.5`` -> ``"0.5"``: the query value Losant expects."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _is_retryable(error: LosantError) -> bool:
    """Whether a failed (re)connect may be tried again (API.md, Details: Streams)."""
    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, APIStatusError):
        # API.md: a 4xx is not retried; 429 alone is (the server refused).
        code = error.status_code
        return code >= 500 or code == 429
    return False


def _zero_delay() -> bool:
    """Whether the transport's testing switch made every retry delay zero."""
    return _transport._zero_delay


def _reconnect_delay(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    server_retry: float | None = None,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before reconnection attempt ``attempt`` (1-based).

    Jittered exponential backoff: ``initial * 2**(attempt-1)`` capped at
    ``maximum``, then scaled by a random factor in [0.5, 1] so that many
    clients dropped together do not reconnect together. The server's SSE
    ``retry:`` and a 429's ``Retry-After`` are floors: the server asked for at
    least that long.
    """
    base = min(maximum, initial * 2.0 ** min(attempt - 1, 62))
    delay = base * (0.5 + random.random() / 2)  # jitter, not crypto
    for floor in (server_retry, retry_after):
        if floor is not None and floor > delay:
            delay = floor
    return delay


class MqttStream:
    """A live MQTT subscription (``GET /applications/{id}/mqttSubscriptionStream``).

    An async context manager and an async iterator of ``MqttMessage``::

        async with app.mqtt_subscription_stream("devices/+/state") as stream:
            async for msg in stream:
                print(msg.topic, msg.message)

    The connection opens in ``__aenter__`` and closes when the block is left
    (break, exception or cancellation). Bytes are read only as the consumer
    pulls. SSE comments and events other than ``mqttMessage`` are taken as
    keep-alives and never yielded. Silence longer than ``max(3 *
    keep_alive_interval, 1)`` seconds means a dead connection.

    A dropped, dead or truncated connection, a 429 (honouring
    ``Retry-After``) or 5xx answer, or a network error is retried with
    jittered exponential backoff, sending ``Last-Event-ID`` when the server
    gave event ids. ``max_reconnects`` bounds the attempts in a row (the
    count starts again once a re-opened connection delivers data); ``None``
    retries forever, ``reconnect=False`` never. Any other error status ends
    the stream with its typed error: raised from ``__aenter__`` on the first
    connect, from the iteration later. With reconnection off or used up, the
    iteration raises the error that ended the last connection (a clean close
    by the server is an ``APIConnectionError``); a 204 answer ends the
    iteration cleanly.

    Attributes:
        reconnects: Successful re-opens after a lost connection.
        last_event_id: The last event id the server sent, or ``None``.
    """

    def __init__(
        self,
        transport: _Transport,
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
        if not keep_alive_interval > 0 or not math.isfinite(keep_alive_interval):
            raise ValueError("keep_alive_interval must be a positive number of seconds")
        if max_reconnects is not None and max_reconnects < 0:
            raise ValueError("max_reconnects must be None or >= 0")
        if not 0 <= backoff_initial <= backoff_max:
            raise ValueError("need 0 <= backoff_initial <= backoff_max")
        self._transport = transport
        self._path = path
        self._topic = topic
        self._params = (
            ("topic", topic),
            ("keepAliveInterval", _format_seconds(keep_alive_interval)),
        )
        self._silence = max(KEEP_ALIVE_MISSES * keep_alive_interval, MIN_SILENCE_TIMEOUT)
        self._reconnect = reconnect
        self._max_reconnects = max_reconnects
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self.reconnects = 0
        self.last_event_id: str | None = None
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
        self._decoder = _SSEDecoder()

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
        if self._pending:
            return _to_message(self._pending.popleft())
        if self._busy:
            raise RuntimeError("another task is already reading this MqttStream")
        self._busy = True
        try:
            return _to_message(await self._next_event())
        finally:
            self._busy = False

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
                await self._drop(None)
                continue
            except TimeoutError:
                self._error = APITimeoutError(
                    f"No data on the stream for {self._silence:g} s: connection presumed dead."
                )
                await self._drop(None)
                continue
            except Exception as exc:
                self._error = await self._drop(exc)
                continue
            except BaseException:
                # Cancelled mid-read: the response is in an unknown state.
                await self._drop(None)
                raise
            self._attempts = 0  # a sign of life: the next outage starts afresh
            decoder = self._decoder
            events = decoder.feed(chunk)
            # Updated even without events: a data-less event may carry an id.
            self.last_event_id = decoder.last_event_id or None
            if events:
                self._pending.extend([e[1] for e in events if e[0] == _MQTT_EVENT])
            if decoder.retry is not None:
                self._server_retry = decoder.retry / 1000
        return self._pending.popleft()

    async def _open(self) -> None:
        """Open one connection; on success the stream is live or finished."""
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        cm = self._transport.stream(
            "GET", self._path, params=self._params, headers=headers, read_timeout=self._silence
        )
        response = await cm.__aenter__()
        self._cm = cm
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
        self._decoder = _SSEDecoder(self.last_event_id or "")

    async def _retry(self, *, counting: bool) -> None:
        """Re-open after ``self._error`` ended a connection, or raise the final error."""
        while True:
            error = self._error
            if error is None:  # pragma: no cover - every caller sets it
                error = APIConnectionError("The stream ended.")
            if (
                not self._reconnect
                or not _is_retryable(error)
                or (self._max_reconnects is not None and self._attempts >= self._max_reconnects)
            ):
                self._finished = True
                self._error = None
                raise error
            retry_after = error.retry_after if isinstance(error, RateLimitError) else None
            if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                self._finished = True
                self._error = None
                raise error
            self._attempts += 1
            delay = _reconnect_delay(
                self._attempts,
                initial=self._backoff_initial,
                maximum=self._backoff_max,
                server_retry=self._server_retry,
                retry_after=retry_after,
            )
            await anyio.sleep(0 if _zero_delay() else delay)
            try:
                await self._open()
            except LosantError as exc:
                self._error = exc
                continue
            self._error = None
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
    with anyio.move_on_after(_FINISH_TIMEOUT):
        for _ in range(_FINISH_READS):
            try:
                await chunks.__anext__()
            except Exception:  # StopAsyncIteration, or the closed stream's error
                return
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


class MqttStreamGroup:
    """Several ``MqttStream``s read as one iterator, messages interleaved as they arrive.

    Each stream keeps its own connection and reconnection. The first stream
    that fails for good ends the iteration with its error; a stream that ends
    cleanly (204) just stops contributing, and the iteration ends when all have.

    Reading several connections at once needs one task per stream, so this
    class (unlike ``MqttStream``) owns a task group, entered in
    ``__aenter__`` and exited in ``__aexit__``: the consumer's iterator
    itself never holds a cancel scope across a ``yield``. The tasks hand
    messages over through a bounded memory stream, so a slow consumer makes
    the tasks wait (and TCP push back on the server) instead of buffering
    without limit: at most ``max_buffer_size`` messages are read ahead.
    """

    def __init__(
        self, streams: Iterable[MqttStream], *, max_buffer_size: int = _GROUP_BUFFER
    ) -> None:
        self._streams = list(streams)
        if not self._streams:
            raise ValueError("an MqttStreamGroup needs at least one stream")
        if max_buffer_size < 0:
            raise ValueError("max_buffer_size must be >= 0")
        self._max_buffer_size = max_buffer_size
        self._exit_stack: AsyncExitStack | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._receive: anyio.abc.ObjectReceiveStream[MqttMessage | LosantError] | None = None
        self._closed = False
        self._finished = False

    @property
    def streams(self) -> list[MqttStream]:
        """The member streams (read their ``reconnects`` and ``last_event_id``)."""
        return list(self._streams)

    @property
    def is_closed(self) -> bool:
        """Whether the group has been closed."""
        return self._closed

    async def __aenter__(self) -> MqttStreamGroup:
        """Open every stream (errors as ``MqttStream.__aenter__``), then start reading."""
        if self._closed or self._exit_stack is not None:
            raise RuntimeError("An MqttStreamGroup can be entered only once.")
        stack = AsyncExitStack()
        try:
            for stream in self._streams:
                await stack.enter_async_context(stream)
            send, receive = anyio.create_memory_object_stream[MqttMessage | LosantError](
                self._max_buffer_size
            )
            stack.push_async_callback(receive.aclose)
            task_group = anyio.create_task_group()
            await task_group.__aenter__()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            self._closed = True
            raise
        self._exit_stack, self._task_group, self._receive = stack, task_group, receive
        async with send:
            for stream in self._streams:
                task_group.start_soon(self._pump, stream, send.clone())
        return self

    async def _pump(
        self, stream: MqttStream, send: anyio.abc.ObjectSendStream[MqttMessage | LosantError]
    ) -> None:
        async with send:
            try:
                async for message in stream:
                    await send.send(message)
            except LosantError as exc:
                # Handed to the consumer rather than raised here, where the task
                # group would wrap it in an ExceptionGroup and cancel the host.
                await send.send(exc)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the consumer side is gone: the group is closing

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Stop the readers and close every stream. Idempotent.

        Call it from the task that entered the group (the task group's rule).
        """
        await self._close(None, None, None)

    async def _close(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        self._closed = True
        task_group, stack = self._task_group, self._exit_stack
        self._task_group = None
        try:
            if task_group is not None:
                # Not under a shield: the task group's scope encloses any we
                # could open here. Its tasks close their streams shielded.
                task_group.cancel_scope.cancel()
                await task_group.__aexit__(exc_type, exc, tb)
        finally:
            if stack is not None:
                with anyio.CancelScope(shield=True):
                    await stack.aclose()

    def __aiter__(self) -> MqttStreamGroup:
        return self

    async def __anext__(self) -> MqttMessage:
        """The next message from any stream."""
        if self._closed:
            raise ClientClosedError("This MqttStreamGroup is closed.")
        if self._receive is None:
            raise RuntimeError("Open the group first: 'async with group: ...'")
        if self._finished:
            raise StopAsyncIteration
        try:
            item = await self._receive.receive()
        except anyio.EndOfStream:
            self._finished = True
            raise StopAsyncIteration from None
        if isinstance(item, LosantError):
            self._finished = True
            raise item
        return item
