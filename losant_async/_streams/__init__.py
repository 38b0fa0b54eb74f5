"""MQTT subscriptions over Server-Sent Events.

- ``_decoder``: the I/O-free, incremental SSE decoder (bytes in, events out)
  and ``to_message`` (one event's data to an ``MqttMessage``).
- ``_values``: ``StreamOptions`` (the settings, checked once), ``StreamGap``
  (one recorded outage), ``StreamState`` and which event ids may be sent back.
- ``_stream``: ``MqttStream``, one subscription: watchdog, reconnects, gaps.
- ``_group``: ``MqttStreamGroup``, several subscriptions read as one iterator.

Which failures are retried and after how long is ``_retry``'s
(``should_reconnect``, ``reconnect_delay``); the connection itself is the
transport's ``open_stream``.
"""

from __future__ import annotations

from ._group import MqttStreamGroup
from ._stream import MqttStream
from ._values import StreamGap, StreamState

__all__ = ["MqttStream", "MqttStreamGroup", "StreamGap", "StreamState"]
