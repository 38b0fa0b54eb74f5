"""``DeviceStreams``: ``state_stream()`` and ``command_stream()`` of ``AsyncDevice``.

Hand-written, and inherited by the generated ``AsyncDevice``: Losant's two
device SSE actions (``device.stateStream``, ``device.commandStream``) are
streams, not requests, so they return an ``SSEStream`` (``_streams._device``)
instead of going through ``Resource._call``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .._constants import DEFAULT_KEEP_ALIVE_INTERVAL, STREAM_BACKOFF_INITIAL, STREAM_BACKOFF_MAX

if TYPE_CHECKING:
    from .._models._api.device_command import DeviceCommand
    from .._models._api.device_state import DeviceState
    from .._streams._device import DeviceStream
    from .._streams._values import StateCallback, StreamOptions
    from .._transport import Transport

__all__ = ["DeviceStreams"]


class DeviceStreams:
    """The device's live streams; mixed into ``AsyncDevice``."""

    __slots__ = ()

    if TYPE_CHECKING:
        _transport: Transport
        _path: str
        _check_open: Callable[[], None]

    def state_stream(
        self,
        *,
        keep_alive_interval: float = DEFAULT_KEEP_ALIVE_INTERVAL,
        reconnect: bool = True,
        max_reconnects: int | None = None,
        backoff_initial: float = STREAM_BACKOFF_INITIAL,
        backoff_max: float = STREAM_BACKOFF_MAX,
        on_state_change: StateCallback | None = None,
    ) -> DeviceStream[DeviceState]:
        """The device's state as it is reported (``GET .../stateStream``, SSE).

        ::

            async with app.device(device_id).state_stream() as stream:
                async for state in stream:       # DeviceState
                    print(state.time, state.data)

        Each ``deviceState`` event becomes a ``DeviceState``; its ``time``
        is one aware UTC ``datetime`` whether Losant sent ISO text,
        milliseconds or ``{"$date": ...}`` (``None`` if unreadable). The
        stream behaves as ``mqtt_subscription_stream`` does: the same
        keywords, watchdog (silence over three ``keep_alive_interval``\\ s),
        reconnects with backoff, ``gaps`` for every outage (Losant replays
        nothing), odd events skipped and counted in ``skipped``, ``state``
        and ``on_state_change``, and a clean exit from ``async with``.
        Scope: ``device.stateStream``.

        Raises:
            ValueError: A keyword out of range (see ``StreamOptions``).
            TypeError: A keyword of the wrong type.
            ClientClosedError: The client is closed.
        """
        from .._streams._device import state_stream

        return state_stream(
            self._transport,
            self._path,
            self._stream_options(
                keep_alive_interval,
                reconnect,
                max_reconnects,
                backoff_initial,
                backoff_max,
                on_state_change,
            ),
        )

    def command_stream(
        self,
        *,
        keep_alive_interval: float = DEFAULT_KEEP_ALIVE_INTERVAL,
        reconnect: bool = True,
        max_reconnects: int | None = None,
        backoff_initial: float = STREAM_BACKOFF_INITIAL,
        backoff_max: float = STREAM_BACKOFF_MAX,
        on_state_change: StateCallback | None = None,
    ) -> DeviceStream[DeviceCommand]:
        """The commands sent to the device (``GET .../commandStream``, SSE).

        Each ``deviceCommand`` event becomes a ``DeviceCommand`` (``name``,
        ``payload``, ``time`` as for ``state_stream``); a command without a
        string ``name`` is skipped. Otherwise exactly as ``state_stream``.
        Scope: ``device.commandStream``.
        """
        from .._streams._device import command_stream

        return command_stream(
            self._transport,
            self._path,
            self._stream_options(
                keep_alive_interval,
                reconnect,
                max_reconnects,
                backoff_initial,
                backoff_max,
                on_state_change,
            ),
        )

    def _stream_options(
        self,
        keep_alive_interval: float,
        reconnect: bool,
        max_reconnects: int | None,
        backoff_initial: float,
        backoff_max: float,
        on_state_change: StateCallback | None,
    ) -> StreamOptions:
        from .._streams._values import StreamOptions

        self._check_open()
        return StreamOptions(
            keep_alive_interval=keep_alive_interval,
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            on_state_change=on_state_change,
        )
