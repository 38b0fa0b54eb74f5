"""The async bodies of the ``losant-async`` subcommands (public API only).

Each takes the command's ``Config`` and returns an ``ExitCode``; errors
propagate to ``_errors.invoke``, which turns them into exit statuses.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import click

from ._config import Config, ExitCode
from ._output import (
    console,
    emit,
    follow_jobs,
    handle_data,
    jsonable,
    message,
    outcome_data,
    print_json,
    progress_data,
)

if TYPE_CHECKING:
    from losant_async import AsyncApplication

_SEARCH_COLUMNS = ("type", "id", "name")
_IMPORT_LOG_COLUMNS = ("id", "status", "import_source_type", "run_queued_at", "run_completed_at")
_COUNT_COLUMNS = {
    "device": ("date", "created", "deleted", "total"),
    "notebook": ("date", "minutes", "completed", "canceled", "errored", "timeout"),
}


# -- shared helpers ------------------------------------------------------------


@asynccontextmanager
async def open_application(cfg: Config) -> AsyncIterator[AsyncApplication]:
    """A client for the configured application; missing settings are usage errors."""
    from losant_async import AsyncLosant

    if not cfg.token:
        raise click.UsageError("no API token: pass --token or set LOSANT_API_TOKEN")
    if not cfg.application:
        raise click.UsageError("no application: pass --application or set LOSANT_APPLICATION_ID")
    async with AsyncLosant(
        token=cfg.token, base_url=cfg.base_url, **cfg.client_options()
    ) as client:
        yield client.application(cfg.application)


def read_json_arg(text: str, *, name: str) -> object:
    """Parse a JSON option given inline, as ``@FILE`` or as ``-`` (stdin)."""
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise click.BadParameter(str(exc), param_hint=name) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None


def parse_time(text: str | None, *, name: str) -> dt.datetime | int | None:
    """An ISO-8601 time (naive means UTC) or milliseconds since the epoch."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither ISO-8601 nor epoch milliseconds", param_hint=name
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _job_result(
    cfg: Config, result: object, *, wait: bool, deadline: float | None, label: str
) -> int:
    """Print an enqueued job (or follow it with --wait), or a direct result."""
    from losant_async import JobHandle

    if not isinstance(result, JobHandle):
        emit(jsonable(result, wire=cfg.wire), as_json=cfg.as_json, title=label)
        return ExitCode.OK
    if not wait:
        emit(handle_data(result, wire=cfg.wire), as_json=cfg.as_json, title="Job enqueued")
        message(f"job {result.job_id} enqueued; follow it with --wait")
        return ExitCode.OK
    (outcome,) = await follow_jobs([(label, result)], out=console(stderr=True), deadline=deadline)
    emit(
        outcome_data(outcome, wire=cfg.wire),
        as_json=cfg.as_json,
        title=f"{label}: {outcome.status}",
    )
    return ExitCode.OK


# -- subcommands ---------------------------------------------------------------


async def get(cfg: Config, *, summary_include: str | None, summary_exclude: str | None) -> int:
    """``get``: the application."""
    async with open_application(cfg) as app:
        kwargs: dict[str, Any] = {}
        if summary_include:
            kwargs["summary_include"] = summary_include.split(",")
        if summary_exclude:
            kwargs["summary_exclude"] = summary_exclude.split(",")
        application = await app.get(**kwargs)
    emit(jsonable(application, wire=cfg.wire), as_json=cfg.as_json, title="Application")
    return ExitCode.OK


async def patch(cfg: Config, *, name: str | None, description: str | None, body: str | None) -> int:
    """``patch``: change fields of the application."""
    fields: dict[str, object] = {}
    if body is not None:
        parsed = read_json_arg(body, name="--body")
        if not isinstance(parsed, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--body")
        fields.update(parsed)
    if name is not None:
        fields["name"] = name
    if description is not None:
        fields["description"] = description
    if not fields:
        raise click.UsageError("nothing to change: give --name, --description or --body")
    async with open_application(cfg) as app:
        # A camelCase mapping is what the API takes; --name/--description are
        # the same in both spellings.
        application = await app.patch(fields)
    emit(jsonable(application, wire=cfg.wire), as_json=cfg.as_json, title="Application")
    return ExitCode.OK


def _global_item(assignment: str) -> dict[str, object]:
    key, sep, value = assignment.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{assignment!r} is not KEY=JSON", param_hint="KEY=JSON")
    try:
        json.loads(value)
    except ValueError:
        # A bare word is taken as a JSON string, so `unit=celsius` works.
        value = json.dumps(value)
    return {"key": key, "json": value}


async def globals_(cfg: Config, *, assignments: Sequence[str], unset: Sequence[str]) -> int:
    """``globals``: list, set or remove application globals."""
    items = [_global_item(a) for a in assignments]
    items += [{"key": key, "json": None} for key in unset]
    async with open_application(cfg) as app:
        application = await (app.globals(items) if items else app.get())
    rows = jsonable(application.globals or [], wire=cfg.wire)
    emit(rows, as_json=cfg.as_json, title="Globals", columns=("key", "json", "description"))
    return ExitCode.OK


async def readme(cfg: Config, *, content: str | None, path: str | None) -> int:
    """``readme``: show or replace the readme."""
    if content is not None and path is not None:
        raise click.UsageError("give --set or --file, not both")
    if path is not None:
        with click.open_file(path, encoding="utf-8") as fh:
            content = fh.read()
    async with open_application(cfg) as app:
        result = await (app.readme_patch(content) if content is not None else app.readme())
    if cfg.as_json:
        print_json(jsonable(result, wire=cfg.wire))
    else:
        sys.stdout.write((result.content or "") + "\n")
    return ExitCode.OK


async def search(cfg: Config, filter_: str) -> int:
    """``search``: resources of the application whose name matches."""
    async with open_application(cfg) as app:
        found = await app.search(filter_)
    emit(
        jsonable(found, wire=cfg.wire),
        as_json=cfg.as_json,
        title="Search results",
        columns=_SEARCH_COLUMNS,
    )
    return ExitCode.OK


async def counts(
    cfg: Config, kind: str, *, start: str | None, end: str | None, as_bytes: bool
) -> int:
    """``counts``: device, payload or notebook-minute counts."""
    times: dict[str, Any] = {}
    if (value := parse_time(start, name="--start")) is not None:
        times["start"] = value
    if (value := parse_time(end, name="--end")) is not None:
        times["end"] = value
    async with open_application(cfg) as app:
        if kind == "device":
            result: object = await app.device_counts(**times)
        elif kind == "notebook":
            result = await app.notebook_minute_counts(**times)
        else:
            result = await app.payload_counts(**times, as_bytes=as_bytes)
    data = jsonable(result, wire=cfg.wire)
    if cfg.as_json:
        print_json(data)
    elif kind == "payload":
        rows = _payload_rows(data)
        emit(rows, as_json=False, title="Payload counts", columns=("type", "source", "count"))
    else:
        rows = (data.get("counts") or []) if isinstance(data, dict) else []
        title = f"{kind.capitalize()} counts"
        emit(rows, as_json=False, title=title, columns=_COUNT_COLUMNS[kind])
    return ExitCode.OK


def _payload_rows(data: object) -> list[dict[str, object]]:
    """Flatten PayloadStats ({type: {source: n}}) into table rows."""
    rows: list[dict[str, object]] = []
    if isinstance(data, Mapping):
        for kind, sources in data.items():
            if isinstance(sources, Mapping):
                for source, count in sources.items():
                    rows.append({"type": kind, "source": source, "count": count})
    return rows


async def import_logs(cfg: Config, *, limit: int | None, since: str | None) -> int:
    """``import-logs``: the application's import executions."""
    kwargs: dict[str, Any] = {}
    if limit is not None:
        kwargs["limit"] = limit
    if (value := parse_time(since, name="--since")) is not None:
        kwargs["since"] = value
    async with open_application(cfg) as app:
        logs = await app.import_logs(**kwargs)
    emit(
        jsonable(logs, wire=cfg.wire),
        as_json=cfg.as_json,
        title="Import logs",
        columns=_IMPORT_LOG_COLUMNS,
    )
    return ExitCode.OK


async def publish(cfg: Config, topic: str, payload: str) -> int:
    """``publish``: one MQTT message."""
    async with open_application(cfg) as app:
        result = await app.mqtt_publish_message(topic, payload)
    if cfg.as_json:
        print_json(jsonable(result, wire=cfg.wire))
    else:
        message(f"published {len(payload)} characters to {topic}")
    return ExitCode.OK


async def subscribe(
    cfg: Config, topic: str, *, count: int | None, deadline: float | None, keep_alive: float
) -> int:
    """``subscribe``: MQTT messages as JSON lines until --count or --timeout."""
    received = 0

    def changed(old: str, new: str) -> None:
        # StreamState values are str; the WARNING log line gives the reason.
        if new == "reconnecting":
            message("reconnecting…")
        elif old == "reconnecting" and new == "open":
            message("reconnected")

    async with (
        open_application(cfg) as app,
        app.mqtt_subscription_stream(
            topic, keep_alive_interval=keep_alive, on_state_change=changed
        ) as stream,
    ):
        message(f"subscribed to {topic}")
        with anyio.move_on_after(deadline) as scope:
            async for msg in stream:
                print_json({"topic": msg.topic, "message": msg.message}, lines=True)
                received += 1
                if count is not None and received >= count:
                    break
    if scope.cancelled_caught and count is not None:
        raise TimeoutError(f"{received} of {count} messages after {deadline:g} s")
    return ExitCode.OK


async def export(
    cfg: Config, *, wait: bool, deadline: float | None, options: Mapping[str, object]
) -> int:
    """``export``: enqueue an export (and follow it)."""
    body = {key: value for key, value in options.items() if value is not None}
    async with open_application(cfg) as app:
        # click's option names are the body's fields (checked at run time).
        result = await app.export(**body)  # type: ignore[call-overload]
        return await _job_result(cfg, result, wait=wait, deadline=deadline, label="export")


async def clone(
    cfg: Config, *, wait: bool, deadline: float | None, options: Mapping[str, object]
) -> int:
    """``clone``: clone the application (and follow the job)."""
    body = {key: value for key, value in options.items() if value}
    async with open_application(cfg) as app:
        result = await (app.clone(**body) if body else app.clone())  # type: ignore[call-overload]
        return await _job_result(cfg, result, wait=wait, deadline=deadline, label="clone")


async def import_(
    cfg: Config,
    *,
    bundle: str | None,
    email: str | None,
    options_json: str | None,
    wait: bool,
    deadline: float | None,
) -> int:
    """``import``: import a bundle or an importUrl (and follow the job)."""
    options = read_json_arg(options_json, name="--options") if options_json else None
    if options is not None and not isinstance(options, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--options")
    if bundle is None and not (options and "importUrl" in options):
        raise click.UsageError("give a BUNDLE file or --options with an importUrl")
    async with open_application(cfg) as app:
        result = await app.import_(bundle=bundle, email=email, options=options)
        return await _job_result(cfg, result, wait=wait, deadline=deadline, label="import")


async def job(
    cfg: Config,
    job_id: str,
    *,
    action: str,
    enqueued_at: str | None,
    log_id: str | None,
    wait: bool,
    deadline: float | None,
) -> int:
    """``job``: one poll of a job enqueued earlier, or follow it to its end (--wait)."""
    when = parse_time(enqueued_at, name="--enqueued-at")
    if isinstance(when, int):
        when = dt.datetime.fromtimestamp(when / 1000, dt.UTC)
    async with open_application(cfg) as app:
        handle = app.job(job_id, action, enqueued_at=when, log_id=log_id)
        if wait:
            return await _job_result(cfg, handle, wait=True, deadline=deadline, label=action)
        progress = await handle.status()
    emit(progress_data(progress, wire=cfg.wire), as_json=cfg.as_json, title=f"Job {job_id}")
    return ExitCode.OK


def yesterday() -> dt.datetime:
    """Midnight UTC of the day before today: the last whole day there is to archive."""
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=1)


def _archive_date(text: str | None) -> dt.datetime:
    if text is None:
        return yesterday()
    value = parse_time(text, name="--date")
    if isinstance(value, int):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    assert value is not None
    return value


async def archive(
    cfg: Config, *, kind: str, date: str | None, wait: bool, deadline: float | None
) -> int:
    """``archive``: enqueue an archive job (and follow it)."""
    day = _archive_date(date) if kind == "data" else None
    async with open_application(cfg) as app:
        if day is not None:
            result = await app.archive_data(date=day)
        elif kind == "backfill":
            result = await app.backfill_archive_data()
        elif kind == "events":
            result = await app.full_events_archive()
        else:
            result = await app.full_data_tables_archive()
        return await _job_result(cfg, result, wait=wait, deadline=deadline, label=f"archive {kind}")


async def emulator(cfg: Config, *, job_duration: float, port: int = 0) -> int:
    """``emulator``: serve the local Losant until Ctrl-C."""
    from losant_async.testing import LocalLosant

    with LocalLosant(job_duration=job_duration, port=port).run_in_thread() as server:
        app_id = server.create_application(name="Emulator application")
        settings = {
            "LOSANT_API_URL": server.base_url,
            "LOSANT_API_TOKEN": server.token,
            "LOSANT_APPLICATION_ID": app_id,
        }
        if cfg.as_json:
            print_json(settings, lines=True)
        else:
            for key, value in settings.items():
                sys.stdout.write(f"{key}={value}\n")
            sys.stdout.flush()
        message(f"local Losant serving on {server.base_url}; Ctrl-C to stop")
        await anyio.sleep_forever()
    return ExitCode.OK  # pragma: no cover  (sleep_forever only ends by Ctrl-C)
