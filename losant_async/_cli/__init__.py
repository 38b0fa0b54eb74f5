"""The ``losant-async`` command: entry point, exit codes and error reporting.

This module stays cheap to import: ``losant-async --help`` must not load
httpx, attrs, cattrs, rich or the local server. click is imported inside
:func:`main`; the commands live in ``_cli_app`` and import the library only
when they run.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

__all__ = ["Config", "ExitCode", "main"]

_MISSING_EXTRA = (
    "losant-async: the command line needs click and rich; "
    "install them with: pip install 'losant-async[cli]'\n"
)


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


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``losant-async`` with *argv* (default: ``sys.argv[1:]``) and exit."""
    try:
        import click  # noqa: F401  (only to check the optional dependency)
    except ImportError:
        sys.stderr.write(_MISSING_EXTRA)
        raise SystemExit(ExitCode.ERROR) from None
    from ._commands import cli

    raise SystemExit(int(_invoke(cli, argv)))


def _invoke(cli: click.Group, argv: Sequence[str] | None) -> int:
    """Run the click group and turn every outcome into an exit status."""
    import click

    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="losant-async",
            standalone_mode=False,
        )
    except click.exceptions.Abort:
        return _interrupted()
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        return _broken_pipe()
    except BaseExceptionGroup as group:
        leaf = _first_leaf(group)
        if isinstance(leaf, KeyboardInterrupt):
            return _interrupted()
        if isinstance(leaf, Exception):
            return _report(leaf)
        raise
    except Exception as exc:
        return _report(exc)
    return result if isinstance(result, int) else ExitCode.OK


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The exception to report from a task group: Ctrl-C first, else the first leaf."""
    interrupt = group.subgroup(KeyboardInterrupt)
    if interrupt is not None:
        group = interrupt
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first


def _interrupted() -> int:
    sys.stderr.write("Interrupted.\n")
    return ExitCode.INTERRUPTED


def _broken_pipe() -> int:
    # The reader went away: point stdout at devnull so that the interpreter's
    # final flush does not print a second BrokenPipeError.
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return ExitCode.BROKEN_PIPE


def _report(exc: Exception) -> int:
    """Print a one-line message for *exc* on stderr and return its exit status."""
    code, message = describe_error(exc)
    sys.stderr.write(f"losant-async: error: {message}\n")
    return code


def describe_error(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit status and message for an error raised by a command."""
    import click

    if isinstance(exc, click.ClickException):
        return ExitCode(exc.exit_code) if exc.exit_code in set(ExitCode) else ExitCode.USAGE, (
            exc.format_message()
        )
    from losant_async import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        JobAmbiguousError,
        JobFailedError,
        NotFoundError,
        PermissionDeniedError,
    )

    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        what = (
            "authentication failed" if isinstance(exc, AuthenticationError) else "permission denied"
        )
        return ExitCode.AUTH, f"{what} ({exc.status_code}): {_api_message(exc)}"
    if isinstance(exc, NotFoundError):
        return ExitCode.NOT_FOUND, f"not found (404): {_api_message(exc)}"
    if isinstance(exc, APIStatusError):
        return ExitCode.API, f"API error {exc.status_code}: {_api_message(exc)}"
    if isinstance(exc, APIResponseValidationError):
        return ExitCode.API, f"unexpected response: {exc}"
    if isinstance(exc, APITimeoutError):
        return ExitCode.NETWORK, f"the API did not answer in time: {exc}"
    if isinstance(exc, APIConnectionError):
        return ExitCode.NETWORK, f"cannot reach the API: {exc}"
    if isinstance(exc, JobFailedError):
        return ExitCode.JOB_FAILED, f"job failed: {exc}"
    if isinstance(exc, JobAmbiguousError):
        return ExitCode.JOB_FAILED, f"job could not be identified: {exc}"
    if isinstance(exc, TimeoutError):
        return ExitCode.TIMEOUT, str(exc) or "timed out"
    if isinstance(exc, ValueError | TypeError):
        # The library checks ids and bodies before sending anything.
        return ExitCode.USAGE, f"invalid input: {exc}"
    return ExitCode.ERROR, f"{type(exc).__name__}: {exc}"


def _api_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message) if message else str(exc)
