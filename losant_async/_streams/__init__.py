"""Losant's Server-Sent-Event streams: MQTT subscriptions, device states and commands.

- ``_decoder``: the I/O-free, incremental SSE decoder (bytes in, events out)
  and ``to_message`` (one event's data to an ``MqttMessage``).
- ``_values``: ``StreamOptions`` (the settings, checked once), ``StreamGap``
  (one recorded outage), ``StreamState`` and which event ids may be sent back.
- ``_sse``: ``SSEStream``, the one generic stream: watchdog, reconnects,
  gaps, odd events skipped; parametrised by the event name and the decoder.
- ``_stream``: ``MqttStream``, one subscription (an ``SSEStream``).
- ``_device``: ``DeviceStream`` (a device's states or commands),
  ``device_state_streams`` (many devices as one iterator), ``mqtt_json``.
- ``_group``: ``StreamGroup``: several streams read as one iterator
  (``MqttStreamGroup``; ``KeyedStreamGroup`` yields ``(key, value)``).

Which failures are retried and after how long is ``_retry``'s
(``should_reconnect``, ``reconnect_delay``); the connection itself is the
transport's ``open_stream``.
"""

from __future__ import annotations

from ._group import MqttStreamGroup
from ._stream import MqttStream
from ._values import StreamGap, StreamState

# The public names only (tests/test_exported_members.py); the generic
# machinery (``_sse.SSEStream``, ``_group.StreamGroup``/``KeyedStreamGroup``,
# ``_device``) is imported from its module.
__all__ = ["MqttStream", "MqttStreamGroup", "StreamGap", "StreamState"]
