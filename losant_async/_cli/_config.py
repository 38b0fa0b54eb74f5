"""The settings a command runs with and the statuses it exits with.

``Config`` and ``ExitCode`` sit at the bottom of the command line's modules:
this module imports nothing of the CLI (and nothing heavy), so every other
``_cli`` module can import it without a circle and ``--help`` stays fast.
"""

from __future__ import annotations

import enum

__all__ = ["Config", "ExitCode"]


class Config:
    """The settings one command runs with (flags first, then the environment)."""

    __slots__ = ("application", "as_json", "backend", "base_url", "token")

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        application: str | None = None,
        as_json: bool = False,
        backend: str = "asyncio",
    ) -> None:
        self.token = token
        self.base_url = base_url
        self.application = application
        self.as_json = as_json
        self.backend = backend

    def __repr__(self) -> str:
        # The token is never shown.
        return (
            f"Config(base_url={self.base_url!r}, application={self.application!r}, "
            f"as_json={self.as_json!r}, backend={self.backend!r})"
        )


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
