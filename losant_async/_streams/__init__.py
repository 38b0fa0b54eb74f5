"""MQTT subscriptions over Server-Sent Events.

- ``_decoder``: the I/O-free, incremental SSE decoder (bytes in, events out).
- ``_policy``: the stream's small pure rules (keep-alive check, which errors
  are retried, reconnect delays, sendable event ids) and ``StreamGap``.
- ``_stream``: ``MqttStream``, one subscription with watchdog and reconnects.
- ``_group``: ``MqttStreamGroup``, several subscriptions read as one iterator.
"""

from __future__ import annotations

from ._group import MqttStreamGroup
from ._policy import StreamGap
from ._stream import MqttStream

__all__ = ["MqttStream", "MqttStreamGroup", "StreamGap"]
