"""The settings a command runs with and the statuses it exits with.

``Config`` and ``ExitCode`` sit at the bottom of the command line's modules:
this module imports nothing of the CLI (and nothing heavy), so every other
``_cli`` module can import it without a circle and ``--help`` stays fast.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["Config", "ExitCode", "Globals"]


class Config:
    """The settings one command runs with (flags first, then the environment)."""

    __slots__ = (
        "application",
        "as_json",
        "backend",
        "base_url",
        "max_retries",
        "timeout",
        "token",
        "wire",
    )

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        application: str | None = None,
        as_json: bool = False,
        wire: bool = False,
        backend: str = "asyncio",
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        self.token = token
        self.base_url = base_url
        self.application = application
        # --wire is --json in Losant's camelCase names.
        self.as_json = as_json or wire
        self.wire = wire
        self.backend = backend
        # The global --timeout / --max-retries; None: the client's defaults.
        self.timeout = timeout
        self.max_retries = max_retries

    def __repr__(self) -> str:
        # The token is never shown.
        return (
            f"Config(base_url={self.base_url!r}, application={self.application!r}, "
            f"as_json={self.as_json!r}, wire={self.wire!r}, backend={self.backend!r}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r})"
        )

    def client_options(self) -> dict[str, Any]:
        """``AsyncLosant``'s ``timeout`` / ``max_retries``, where the flags gave them."""
        options: dict[str, Any] = {}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        if self.max_retries is not None:
            options["max_retries"] = self.max_retries
        return options


class Globals:
    """The options given before the subcommand (``ctx.obj`` of the root context)."""

    __slots__ = ("backend", "max_retries", "timeout", "verbose")

    def __init__(
        self,
        *,
        backend: str = "asyncio",
        verbose: int = 0,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        self.backend = backend
        self.verbose = verbose
        self.timeout = timeout
        self.max_retries = max_retries


class ExitCode(enum.IntEnum):
    """Exit statuses of ``losant-async``, one per failure class (listed in ``--help``)."""

    OK = 0
    ERROR = 1  # anything unexpected
    USAGE = 2  # bad flags, missing configuration, invalid input
    AUTH = 3  # 401 / 403
    NOT_FOUND = 4  # 404
    API = 5  # any other HTTP error status, or a response that is not valid
    NETWORK = 6  # the API could not be reached, or did not answer in time
    JOB_FAILED = 7  # an enqueued job errored or failed, or could not be identified
    TIMEOUT = 8  # --wait / --timeout ran out before the job or the messages came
    BROKEN_PIPE = 141  # stdout closed by the reader (``| head``), as shells report SIGPIPE
    INTERRUPTED = 130  # Ctrl-C


CONFIG_HELP = """\b
Configuration: flags first, then the environment:
  --token         LOSANT_API_TOKEN
  --base-url      LOSANT_API_URL (default https://api.losant.com)
  --application   LOSANT_APPLICATION_ID

\b
Global options go before the subcommand: losant-async -v --timeout 10 get
"""

EXIT_CODES_HELP = """\b
Exit codes:
  0    success
  1    unexpected error
  2    usage: bad flags, missing token or application, invalid input
  3    authentication or permission refused (401, 403)
  4    not found (404)
  5    other API error (4xx/5xx, or a response that is not valid)
  6    network: the API could not be reached or timed out
  7    job failed (or could not be identified)
  8    --wait / --timeout ran out
  130  interrupted (Ctrl-C)
"""
