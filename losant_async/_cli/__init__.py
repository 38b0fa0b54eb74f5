"""The ``losant-async`` command: its entry point.

This package stays cheap to import: ``losant-async --help`` must not load
httpx, attrs, cattrs, rich or the local server. click is imported inside
``main``; the commands live in ``_commands`` and import the library only
when they run.

- ``_config``: ``Config`` and ``ExitCode`` (imports nothing of the CLI).
- ``_commands``: the click group and its commands (flags, help texts).
- ``_actions``: what each command does, async, on the public API.
- ``_output``: JSON, rich tables, messages and job progress bars.
- ``_demo``: ``losant-async demo``, the library's story.
- ``_errors``: every outcome of a command as an exit status and a message.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._config import ExitCode

__all__ = ["main"]

# The same shape as losant_async.testing's hint (the README's Set-up: no
# package index release yet, so the lines name a clone and a git URL).
_MISSING_EXTRA = (
    "losant-async: the command line needs click and rich: install the 'cli' extra, "
    "pip install -e '.[cli]' in a clone, or "
    "pip install 'losant-async[cli] @ git+<repository-url>'\n"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``losant-async`` with *argv* (default: ``sys.argv[1:]``) and exit."""
    try:
        import click  # noqa: F401  (only to check the optional dependency)
    except ImportError:
        sys.stderr.write(_MISSING_EXTRA)
        raise SystemExit(ExitCode.ERROR) from None
    from ._commands import cli
    from ._errors import invoke

    raise SystemExit(int(invoke(cli, argv)))
