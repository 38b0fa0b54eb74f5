"""Path ids: the one check the client's accessors need before any model loads.

``_roots`` (imported with ``AsyncLosant`` and ``AsyncApplication``) calls
``path_id`` for every item accessor (``app.device(device_id)``); keeping it
apart from ``_encode`` keeps attrs, cattrs and the models out of
``from losant_async import AsyncLosant``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["path_id"]

_PATTERNS: dict[str, re.Pattern[str]] = {}


def path_id(value: object, name: str, pattern: str | None = None) -> str:
    """A path segment: a non-empty ``str`` (matching ``pattern``), percent-encoded."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if pattern is not None:
        compiled = _PATTERNS.get(pattern) or _PATTERNS.setdefault(pattern, re.compile(pattern))
        # The value is not echoed: a token passed by mistake must not reach a message.
        if compiled.search(value) is None:
            raise ValueError(f"{name} does not match {pattern} ({len(value)} characters)")
    return quote(value, safe="")
