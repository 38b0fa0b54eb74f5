"""How a command ends: every outcome of the click group becomes an exit status.

``invoke`` runs the group and maps what it raised to an ``ExitCode`` with a
one-line message on stderr (``describe_error``): API errors by class, job
failures, timeouts, Ctrl-C and a closed stdout. click and the library are
imported only when a command has run, so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._config import ExitCode

if TYPE_CHECKING:
    import click

__all__ = ["describe_error", "invoke"]


def invoke(cli: click.Group, argv: Sequence[str] | None) -> int:
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
    from ._output import follow_again, following

    # Ctrl-C stops the following, not the job (issue 13).
    for handle in following:
        sys.stderr.write(
            f"The job {handle.job_id} keeps running on Losant; "
            f"follow it again with: {follow_again(handle)}\n"
        )
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
