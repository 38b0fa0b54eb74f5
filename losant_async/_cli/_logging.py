"""``-v/--verbose``: the ``losant_async`` logger on stderr, with the token blanked out.

The command line uses the public API only, so it redacts on its own: every
line the handler writes (message and traceback) has the tokens the command
knows, and anything after ``Bearer``, replaced by ``[redacted]``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Final

__all__ = ["add_secret", "configure"]

_LOGGER: Final = "losant_async"
_BEARER: Final = re.compile(r"(?i)(bearer\s+)[^\s'\",]+")
_SECRETS: set[str] = set()
_LEVELS: Final = (logging.WARNING, logging.INFO, logging.DEBUG)
# The library's LOSANT_LOG, as a number of -v: the command's handler is the
# logger's one handler, so the library adds none of its own.
_ENV_VERBOSITY: Final = {"warning": 0, "info": 1, "debug": 2}


class _RedactingFormatter(logging.Formatter):
    """Formats a record, then blanks out every known token in the whole text."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in sorted(_SECRETS, key=len, reverse=True):
            text = text.replace(secret, "[redacted]")
        return _BEARER.sub(r"\1[redacted]", text)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The command's one handler (a class of its own, so it is installed once)."""


def add_secret(token: str | None) -> None:
    """Blank out ``token`` in every line the handler writes."""
    if token:
        _SECRETS.add(token)


def configure(verbose: int) -> None:
    """Log ``losant_async`` to stderr: WARNING, INFO with ``-v``, DEBUG with ``-vv``.

    ``LOSANT_LOG=info`` / ``debug`` counts as ``-v`` / ``-vv`` (the more verbose wins).
    """
    env = os.environ.get("LOSANT_LOG", "").strip().lower()
    verbose = max(verbose, _ENV_VERBOSITY.get(env, 0))
    logger = logging.getLogger(_LOGGER)
    level = _LEVELS[min(verbose, len(_LEVELS) - 1)]
    handler = next((h for h in logger.handlers if isinstance(h, _Handler)), None)
    if handler is None:
        handler = _Handler(sys.stderr)
        handler.setFormatter(
            _RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
        logger.addHandler(handler)
    handler.setLevel(level)
    if verbose:  # otherwise the level is left to the logger's configuration
        logger.setLevel(level)
