"""Output of ``losant-async``: models to JSON, rich tables, job progress bars."""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from losant_async import JobHandle, JobOutcome, JobProgress

# Wider than rich's non-terminal default of 80, so tables stay readable in CI logs.
_PIPE_WIDTH = 110
_CELL_LIMIT = 60

# Fields of objects that may not be attrs classes (handles, outcomes).
_HANDLE_FIELDS = ("job_id", "action", "application_id", "enqueued_at")
_OUTCOME_FIELDS = ("status", "started_at", "completed_at", "output", "error")


# HAL noise of every answer (``_actions=false&_links=true&_embedded=true``).
_HAL_KEYS = frozenset({"_links", "_embedded"})


def camel(name: str) -> str:
    """A Python field name in Losant's camelCase (``job_id`` -> ``jobId``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def jsonable(value: object, *, wire: bool = False) -> object:
    """A JSON-ready view of a model, ``None`` fields left out.

    Python (snake_case) names by default (``--json``); with ``wire`` (``--wire``)
    Losant's own camelCase names, as ``model.to_dict(wire=True)`` gives them.
    Unknown keys the server sent (``model.extra``) are kept under their wire
    names, except the HAL ``_links`` / ``_embedded`` noise.
    """
    import attrs

    if wire and callable(to_dict := getattr(value, "to_dict", None)):
        data = to_dict(wire=True)
        if isinstance(data, Mapping):
            return {
                str(k): jsonable(v, wire=True)
                for k, v in data.items()
                if k not in _HAL_KEYS and v is not None
            }
    if attrs.has(type(value)):
        out: dict[str, object] = {}
        for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(value))):
            if field.name == "extra":
                continue
            item = getattr(value, field.name)
            if item is not None:
                out[camel(field.name) if wire else field.name] = jsonable(item, wire=wire)
        extra = getattr(value, "extra", None)
        if isinstance(extra, Mapping):
            for key, item in extra.items():
                if not str(key).startswith("_") and key not in out:
                    out[str(key)] = jsonable(item, wire=wire)
        return out
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, wire=wire) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [jsonable(v, wire=wire) for v in value]
    return str(value)


def plain(value: object, names: Sequence[str], *, wire: bool = False) -> dict[str, object]:
    """A JSON-ready view of an object's named attributes (for non-attrs objects)."""
    import attrs

    if attrs.has(type(value)):
        data = jsonable(value, wire=wire)
        assert isinstance(data, dict)
        return data
    out: dict[str, object] = {}
    for name in names:
        item = getattr(value, name, None)
        if item is not None:
            out[camel(name) if wire else name] = jsonable(item, wire=wire)
    return out


def handle_data(handle: JobHandle, *, wire: bool = False) -> dict[str, object]:
    """A job handle as JSON-ready data."""
    return plain(handle, _HANDLE_FIELDS, wire=wire)


def outcome_data(outcome: JobOutcome, *, wire: bool = False) -> dict[str, object]:
    """A job outcome as JSON-ready data."""
    return plain(outcome, _OUTCOME_FIELDS, wire=wire)


def progress_data(progress: JobProgress, *, wire: bool = False) -> dict[str, object]:
    """One poll of a job as JSON-ready data."""
    return plain(progress, ("status", "completed", "total"), wire=wire)


def print_json(data: object, *, lines: bool = False) -> None:
    """Write *data* as JSON on stdout: indented, or one line for JSON lines."""
    text = json.dumps(data, separators=(",", ":")) if lines else json.dumps(data, indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (data) or stderr (messages, progress)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else _PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def cell(value: object) -> str:
    """One table cell: scalars as text, nested data as compact, truncated JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        text = str(value)
    else:
        text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= _CELL_LIMIT else text[: _CELL_LIMIT - 1] + "…"


def record_table(data: Mapping[str, object], *, title: str | None = None) -> Table:
    """A two-column field/value table of one record."""
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left", box=None, padding=(0, 2))
    table.add_column("field", style="bold cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        table.add_row(key, cell(value))
    return table


def rows_table(
    rows: Sequence[Mapping[str, object]],
    *,
    columns: Sequence[str],
    title: str | None = None,
) -> Table:
    """A table with one row per record; missing fields stay blank."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell(row.get(column)) for column in columns))
    return table


def emit(
    data: object,
    *,
    as_json: bool,
    title: str | None = None,
    columns: Sequence[str] | None = None,
) -> None:
    """Print command output: JSON for scripts, or a table for people."""
    if as_json:
        print_json(data)
        return
    out = console()
    if isinstance(data, Mapping):
        out.print(record_table(data, title=title))
    elif isinstance(data, list):
        if not data:
            out.print(f"{title}: none" if title else "none")
            return
        keys = list(columns or _union_keys(data))
        out.print(rows_table(data, columns=keys, title=title))
    else:
        out.print(cell(data))


def _union_keys(rows: Sequence[object]) -> list[str]:
    keys: dict[str, None] = {}
    for row in rows:
        if isinstance(row, Mapping):
            keys.update(dict.fromkeys(row))
    return list(keys)


# The jobs a --wait is following right now: on Ctrl-C, ``_errors`` says that
# they keep running on Losant and how to follow them again.
following: list[JobHandle] = []


def follow_again(handle: JobHandle) -> str:
    """The command that follows ``handle`` again, from any process."""
    when = jsonable(handle.enqueued_at)
    return f"losant-async job {handle.job_id} --action {handle.action} --enqueued-at {when} --wait"


def message(text: str) -> None:
    """A message for people, on stderr."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


async def follow_jobs(
    jobs: Sequence[tuple[str, JobHandle]],
    *,
    out: Console,
    poll_interval: float | None = None,
    deadline: float | None = None,
) -> list[JobOutcome]:
    """Follow jobs with one progress bar each; return their outcomes in order.

    Raises ``JobFailedError`` for a job that errored or failed and
    ``TimeoutError`` when *deadline* (seconds) runs out first.
    """
    import anyio
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(bar_width=30),
        TaskProgressColumn(),
        TextColumn("{task.fields[status]:<11}"),
        TimeElapsedColumn(),
        console=out,
    )
    outcomes: dict[int, JobOutcome] = {}

    async def one(index: int, label: str, handle: JobHandle) -> None:
        task = progress.add_task(label, total=None, status="queued")
        async for update in handle.progress(poll_interval=poll_interval):
            total = update.total or None
            done = update.completed or 0
            if update.status == "completed":
                total = total or 1
                done = total
            progress.update(task, total=total, completed=done, status=update.status)
        outcomes[index] = await handle.wait(poll_interval=poll_interval)

    handles = [handle for _, handle in jobs]
    # Listed before the message: trio may raise KeyboardInterrupt at any line.
    following.extend(handles)
    for handle in handles:
        message(
            f"following job {handle.job_id} "
            "(Ctrl-C stops following; the job keeps running on Losant)"
        )
    with progress:
        try:
            with anyio.fail_after(deadline):
                async with anyio.create_task_group() as tg:
                    for index, (label, handle) in enumerate(jobs):
                        tg.start_soon(one, index, label, handle)
        except TimeoutError:
            del following[:]
            ids = ", ".join(handle.job_id for _, handle in jobs)
            raise TimeoutError(f"the job was not finished after {deadline:g} s ({ids})") from None
        except Exception:
            del following[:]
            raise
        # Not in a finally: on Ctrl-C the list must still name the jobs.
        del following[:]
    return [outcomes[index] for index in range(len(jobs))]
