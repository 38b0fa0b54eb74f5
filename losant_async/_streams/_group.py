"""``StreamGroup``: several SSE streams read as one iterator (``MqttStreamGroup``, device groups).

The only part of the stream layer that runs tasks: one reader per member
stream, in a task group the group owns from ``__aenter__`` to ``__aexit__``,
handing values to the consumer through a bounded memory stream. Each member
keeps its own connection, watchdog and reconnection (``_sse.SSEStream``,
needed here for types only). ``MqttStreamGroup`` yields the members'
messages as they are; ``KeyedStreamGroup`` yields ``(key, value)`` pairs,
for streams whose values do not say where they come from (a device state
names no device).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import anyio
import anyio.abc

from .._constants import STREAM_GROUP_BUFFER
from .._exceptions import LosantError
from .._lifecycle import Lifecycle, State
from .._models import MqttMessage
from ._sse import SSEStream
from ._stream import MqttStream

if TYPE_CHECKING:
    from ._values import StreamGap, StreamState

__all__ = ["KeyedStreamGroup", "MqttStreamGroup", "StreamGroup"]

T = TypeVar("T")
S = TypeVar("S", bound=SSEStream[Any])


class StreamGroup(Generic[S, T]):
    """Several SSE streams (``S``) read as one iterator of ``T``, values interleaved as they arrive.

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

    def __init__(self, streams: Iterable[S], *, max_buffer_size: int = STREAM_GROUP_BUFFER) -> None:
        self._streams = list(streams)
        if not self._streams:
            raise ValueError(f"an {type(self).__name__} needs at least one stream")
        if max_buffer_size < 0:
            raise ValueError("max_buffer_size must be >= 0")
        self._max_buffer_size = max_buffer_size
        self._exit_stack: AsyncExitStack | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._receive: anyio.abc.ObjectReceiveStream[T | LosantError] | None = None
        self._state = Lifecycle(type(self).__name__)
        self._finished = False

    @property
    def streams(self) -> list[S]:
        """The member streams (read their ``state``, ``reconnects`` and ``last_event_id``)."""
        return list(self._streams)

    @property
    def gaps(self) -> tuple[tuple[str, StreamGap], ...]:
        """Every member's outages as ``(key, gap)`` pairs, by ``started_at``.

        Each stream reconnects on its own, so each has its own outages; the
        key (the topic, the device id) says which stream missed what (see
        ``MqttStream.gaps``).
        """
        pairs = [(stream.key, gap) for stream in self._streams for gap in stream.gaps]
        pairs.sort(key=lambda pair: pair[1].started_at)
        return tuple(pairs)

    @property
    def states(self) -> tuple[tuple[str, StreamState], ...]:
        """Every member's ``state`` as ``(key, state)`` pairs, in the order given.

        ``dict(group.states)`` maps topic (or device id) to state (for a
        health endpoint); each member reports its changes to
        ``on_state_change`` on its own.
        """
        return tuple((stream.key, stream.state) for stream in self._streams)

    @property
    def is_closed(self) -> bool:
        """Whether the group has been closed."""
        return self._state.is_closed

    async def __aenter__(self) -> Self:
        """Open every stream (errors as ``MqttStream.__aenter__``), then start reading."""
        self._state.enter()
        stack = AsyncExitStack()
        try:
            for stream in self._streams:
                await stack.enter_async_context(stream)
            send, receive = anyio.create_memory_object_stream[T | LosantError](
                self._max_buffer_size
            )
            stack.push_async_callback(receive.aclose)
            task_group = anyio.create_task_group()
            await task_group.__aenter__()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            self._state.close()
            raise
        self._exit_stack, self._task_group, self._receive = stack, task_group, receive
        async with send:
            for stream in self._streams:
                task_group.start_soon(self._pump, stream, send.clone())
        return self

    def _wrap(self, stream: S, value: Any) -> T:
        """What the group yields for ``value`` from ``stream``: the value itself."""
        return value  # type: ignore[no-any-return]

    async def _pump(self, stream: S, send: anyio.abc.ObjectSendStream[T | LosantError]) -> None:
        wrap = self._wrap
        async with send:
            try:
                async for value in stream:
                    await send.send(wrap(stream, value))
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
        if not self._state.close():
            return
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

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        """The next value from any stream."""
        self._state.check_open()
        if self._state.state is State.UNOPENED or self._receive is None:
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


class MqttStreamGroup(StreamGroup[MqttStream, MqttMessage]):
    """Several ``MqttStream``s read as one iterator, messages interleaved as they arrive.

    See ``StreamGroup``: each stream keeps its own connection and
    reconnection, at most ``max_buffer_size`` messages are read ahead, and
    the first stream that fails for good ends the iteration with its error.
    ``states`` and ``gaps`` are keyed by topic.
    """


class KeyedStreamGroup(StreamGroup[SSEStream[Any], tuple[str, T]]):
    """Several streams read as one iterator of ``(key, value)`` pairs.

    For streams whose values do not name their source: a ``DeviceState``
    names no device, so following many devices yields ``(device_id,
    state)``. Otherwise as ``StreamGroup``.
    """

    def _wrap(self, stream: SSEStream[Any], value: Any) -> tuple[str, T]:
        return (stream.key, value)
