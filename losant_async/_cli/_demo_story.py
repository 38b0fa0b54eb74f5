"""``Story``: the demo's numbered steps, their timings and the closing summary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ._output import rows_table

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["Story"]


class Story:
    """Numbered steps with timings, for the closing summary."""

    def __init__(self, out: Console, *, read_only: bool) -> None:
        self.out = out
        self.read_only = read_only
        self.rows: list[tuple[str, str, str]] = []
        self.result = ""

    @contextmanager
    def step(self, title: str, name: str | None = None) -> Iterator[None]:
        """Print the step's title, time it, and record its ``result`` for the summary."""
        from losant_async import PermissionDeniedError

        self.out.print()
        self.out.rule(f"[bold]{len(self.rows) + 1}. {title}", align="left")
        self.result = "ok"
        started = time.monotonic()
        try:
            yield
        except PermissionDeniedError as exc:
            # A real token may lack a read scope; the rest of the story still runs.
            if not self.read_only:
                raise
            self.out.print(f"[yellow]skipped: permission denied ({exc.status_code})")
            self.result = "skipped (permission denied)"
        self.rows.append((name or title, self.result, f"{time.monotonic() - started:.2f} s"))

    def summary(self, total: float) -> Table:
        """The steps, their results and times, as one table."""
        return rows_table(
            [{"step": s, "result": r, "time": t} for s, r, t in self.rows],
            columns=("step", "result", "time"),
            title=f"Summary: {len(self.rows)} steps in {total:.1f} s",
        )
