"""Fault injection for the local Losant: failing statuses, latency, broken bodies and streams."""

from __future__ import annotations

import threading
from typing import Literal

from losant_async.testing import _schemas

BadBodyKind = Literal["not_json", "truncated"]


class _Rule:
    """One armed fault: which action (or "*"), which application (or any), how often."""

    __slots__ = ("action", "application_id", "remaining", "value")

    def __init__(
        self, action: str, application_id: str | None, remaining: int | None, value: object
    ) -> None:
        self.action = action
        self.application_id = application_id
        self.remaining = remaining
        self.value = value

    def matches(self, action: str, application_id: str | None) -> bool:
        return self.action in ("*", action) and self.application_id in (None, application_id)


def _check_action(action: str) -> None:
    if action != "*" and action not in _schemas.ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {sorted(_schemas.ACTIONS)}")


STREAMS = ("mqttSubscriptionStream", "device.stateStream", "device.commandStream")
"""The actions that answer with a stream of Server-Sent Events."""


def _stream(action: str) -> str:
    if action not in STREAMS:
        raise ValueError(f"{action!r} is not a stream; expected one of {STREAMS}")
    return action


def _check_times(times: int | None) -> None:
    if times is not None and times < 1:
        raise ValueError("times must be at least 1 (or None for every request)")


class Faults:
    """Arm faults on the local Losant; every method is thread-safe.

    Each fault applies to one action name, or to `"*"` for every action,
    optionally only for one `application_id`. The 22 Application actions keep
    their short names (`"get"`, `"export"`, `"mqttSubscriptionStream"`, plus
    `"jobLogs"` / `"jobLog"`); every other action of the API is named
    `"<resource>.<action>"` (`"devices.get"`, `"device.stateStream"`).
    A fault with `times=N` fires for the next N matching requests; with
    `times=None` until `clear()`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, list[_Rule]] = {}

    def _arm(
        self, kind: str, action: str, application_id: str | None, times: int | None, value: object
    ) -> None:
        _check_action(action)
        _check_times(times)
        with self._lock:
            self._rules.setdefault(kind, []).append(_Rule(action, application_id, times, value))

    def _take(self, kind: str, action: str, application_id: str | None) -> object | None:
        """The value of the first matching rule of `kind`, consuming one of its uses."""
        with self._lock:
            rules = self._rules.get(kind, [])
            for rule in rules:
                if rule.matches(action, application_id):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            rules.remove(rule)
                    return rule.value
        return None

    def fail(
        self,
        action: str,
        *,
        status: int = 503,
        times: int | None = 1,
        retry_after: float | str | None = None,
        application_id: str | None = None,
    ) -> None:
        """Answer the next `times` requests of `action` with `status` and a Losant error body.

        `retry_after` (seconds, or an HTTP date string) is sent as `Retry-After`.
        """
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        self._arm("fail", action, application_id, times, (status, retry_after))

    def latency(
        self,
        action: str,
        *,
        seconds: float,
        times: int | None = None,
        application_id: str | None = None,
    ) -> None:
        """Delay requests of `action` by `seconds` before answering (by default until `clear()`)."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._arm("latency", action, application_id, times, float(seconds))

    def bad_body(
        self,
        action: str,
        *,
        kind: BadBodyKind = "not_json",
        times: int | None = 1,
        application_id: str | None = None,
    ) -> None:
        """Send a broken body with the normal status.

        `"not_json"` sends an HTML page as `text/html`; `"truncated"` sends the
        first half of the JSON body (with a matching `Content-Length`).
        """
        if kind not in ("not_json", "truncated"):
            raise ValueError("kind must be 'not_json' or 'truncated'")
        self._arm("bad_body", action, application_id, times, kind)

    def drop_stream(
        self,
        *,
        after_events: int,
        times: int | None = 1,
        application_id: str | None = None,
        action: str = "mqttSubscriptionStream",
    ) -> None:
        """End the next `times` streams of `action` after `after_events` events (0: at once).

        `action` is a stream: `"mqttSubscriptionStream"` (the default),
        `"device.stateStream"` or `"device.commandStream"`.
        """
        if after_events < 0:
            raise ValueError("after_events must not be negative")
        self._arm("drop_stream", _stream(action), application_id, times, after_events)

    def stall_stream(
        self,
        *,
        times: int | None = 1,
        application_id: str | None = None,
        action: str = "mqttSubscriptionStream",
    ) -> None:
        """Open the next `times` streams of `action` but send nothing: no events, no keep-alives."""
        self._arm("stall_stream", _stream(action), application_id, times, True)

    def fail_job(
        self,
        action: str,
        *,
        times: int | None = 1,
        message: str = "The job failed (injected by LocalLosant.faults.fail_job)",
        application_id: str | None = None,
    ) -> None:
        """Make the next `times` jobs enqueued by `action` end `errored` with `message`."""
        self._arm("fail_job", action, application_id, times, message)

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._rules.clear()

    # Used by the server.

    def take_fail(
        self, action: str, application_id: str | None
    ) -> tuple[int, float | str | None] | None:
        value = self._take("fail", action, application_id)
        return value if isinstance(value, tuple) else None

    def take_latency(self, action: str, application_id: str | None) -> float:
        value = self._take("latency", action, application_id)
        return value if isinstance(value, float) else 0.0

    def take_bad_body(self, action: str, application_id: str | None) -> str | None:
        value = self._take("bad_body", action, application_id)
        return value if isinstance(value, str) else None

    def take_drop(self, application_id: str, action: str = "mqttSubscriptionStream") -> int | None:
        value = self._take("drop_stream", action, application_id)
        return value if isinstance(value, int) else None

    def take_stall(self, application_id: str, action: str = "mqttSubscriptionStream") -> bool:
        return self._take("stall_stream", action, application_id) is True

    def take_job_failure(self, action: str, application_id: str) -> str | None:
        value = self._take("fail_job", action, application_id)
        return value if isinstance(value, str) else None
