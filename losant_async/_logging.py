"""``LOSANT_LOG``: log to stderr without writing logging set-up (openai-python's ``OPENAI_LOG``).

Everything the library logs goes to the ``losant_async`` logger, silent
unless the application configures logging. ``LOSANT_LOG=debug`` (or
``info``, ``warning``) does it for a quick look: when the first client or
standalone façade is made (never at import), the logger gets a stderr handler
at that level, once per process, unless it has a handler already. The
handler redacts as the logger does (`_redaction`), so no token reaches stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Final, TextIO

from ._constants import ENV_LOG
from ._redaction import REDACT_FILTER

__all__: list[str] = []

_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_done = False


class EnvHandler(logging.StreamHandler[TextIO]):
    """The stderr handler ``LOSANT_LOG`` adds (a class of its own, so it is added once)."""


def log_from_env() -> None:
    """Apply ``LOSANT_LOG`` the first time it is called.

    Nothing happens for an unknown value, or when the ``losant_async`` logger
    already has a handler.
    """
    global _done
    if _done:
        return
    _done = True
    level = _LEVELS.get(os.environ.get(ENV_LOG, "").strip().lower())
    logger = logging.getLogger("losant_async")
    if level is None or logger.handlers:
        # Unset, unknown, or the logger is configured already (by the
        # application, or by the CLI's -v): a second handler would echo lines.
        return
    logger.setLevel(level)
    handler = EnvHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    # A handler's filters see every record it writes, the children's included.
    handler.addFilter(REDACT_FILTER)
    logger.addHandler(handler)


def reset_for_tests() -> None:
    """Forget that ``LOSANT_LOG`` was read, and remove its handler (tests only)."""
    global _done
    _done = False
    logger = logging.getLogger("losant_async")
    for handler in [h for h in logger.handlers if isinstance(h, EnvHandler)]:
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def log_outcome(method: str, path: str, outcome: int | str, started: float) -> None:
    """DEBUG: how a request ended and how long it took (``started``: perf_counter)."""
    # A status or an error's name, never headers: they carry the token.
    elapsed = (time.perf_counter() - started) * 1000
    logging.getLogger("losant_async").debug("%s %s -> %s (%.1f ms)", method, path, outcome, elapsed)
