"""The click group of ``losant-async`` and its commands: flags and help texts.

Only click is imported here. Each command imports ``_actions`` (and with it
the library and rich) in its body, so ``--help`` and argument errors stay
fast; what a command does is in ``_actions`` (``_demo`` for ``demo``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from ._config import CONFIG_HELP, EXIT_CODES_HELP, Config, Globals

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])


@click.group(
    epilog=CONFIG_HELP + "\n" + EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--backend",
    type=click.Choice(["asyncio", "trio"]),
    default="asyncio",
    show_default=True,
    envvar="LOSANT_ASYNC_BACKEND",
    help="Event loop to run on.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log the losant_async logger to stderr: -v INFO (retries, reconnects), -vv DEBUG. "
    "The token is blanked out.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Time limit of each HTTP request, every phase (default: 30 s, connect 5 s).",
)
@click.option(
    "--max-retries",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Retries of a failed request (default 2; 0: none).",
)
@click.version_option(package_name="losant-async", prog_name="losant-async")
@click.pass_context
def cli(
    ctx: click.Context,
    backend: str,
    verbose: int,
    timeout: float | None,
    max_retries: int | None,
) -> None:
    """Command line for the Losant Application API (async client: losant_async).

    Data goes to stdout (tables, or JSON with --json); messages and progress
    go to stderr. `losant-async demo` runs the whole story against a local
    Losant, with no account needed.
    """
    from ._logging import configure

    configure(verbose)
    ctx.obj = Globals(backend=backend, verbose=verbose, timeout=timeout, max_retries=max_retries)


def _globals(ctx: click.Context) -> Globals:
    """The options given before the subcommand (the root context's object)."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Globals) else Globals()


def _backend(ctx: click.Context) -> str:
    """The --backend of the group."""
    return _globals(ctx).backend


def _api_options(*, application: bool = True, json_flag: bool = True) -> Callable[[F], F]:
    """Add --token/--base-url[/--application][/--json] and pass a Config as ``cfg``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            from ._logging import add_secret

            options = _globals(click.get_current_context())
            cfg = Config(
                token=kwargs.pop("token"),
                base_url=kwargs.pop("base_url"),
                application=kwargs.pop("application", None),
                as_json=kwargs.pop("as_json", False),
                wire=kwargs.pop("wire", False),
                backend=options.backend,
                timeout=options.timeout,
                max_retries=options.max_retries,
            )
            add_secret(cfg.token)
            return func(cfg, **kwargs)

        opts = [
            click.option(
                "--token",
                envvar="LOSANT_API_TOKEN",
                metavar="TOKEN",
                help="API token [env: LOSANT_API_TOKEN].",
            ),
            click.option(
                "--base-url",
                envvar="LOSANT_API_URL",
                metavar="URL",
                help="API base URL [env: LOSANT_API_URL].",
            ),
        ]
        if application:
            opts.append(
                click.option(
                    "--application",
                    "-a",
                    envvar="LOSANT_APPLICATION_ID",
                    metavar="ID",
                    help="Application id [env: LOSANT_APPLICATION_ID].",
                )
            )
        if json_flag:
            opts.append(
                click.option(
                    "--json",
                    "as_json",
                    is_flag=True,
                    help="Print JSON instead of tables, in the Python (snake_case) names "
                    "of losant_async's models.",
                )
            )
            opts.append(
                click.option(
                    "--wire",
                    is_flag=True,
                    help="Print JSON in Losant's own (camelCase) names, as the API sends it.",
                )
            )
        decorated: Callable[..., Any] = wrapper
        for opt in reversed(opts):
            decorated = opt(decorated)
        return decorated  # type: ignore[return-value]

    return decorate


def _run(cfg: Config, func: Callable[..., Awaitable[int]], *args: Any, **kwargs: Any) -> int:
    """Run an async command on the chosen backend and return its exit status."""
    import anyio

    return anyio.run(functools.partial(func, cfg, *args, **kwargs), backend=cfg.backend)


_wait_option = click.option(
    "--wait",
    is_flag=True,
    help="Follow the job to its end (progress on stderr). Ctrl-C stops following; "
    "the job keeps running on Losant.",
)
_timeout_option = click.option(
    "--timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    help="With --wait: give up after this long (exit 8).",
)


# -- reading -----------------------------------------------------------------


@cli.command()
@_api_options()
@click.option(
    "--summary-include", metavar="LIST", help="Comma-separated summary fields to include."
)
@click.option(
    "--summary-exclude", metavar="LIST", help="Comma-separated summary fields to exclude."
)
def get(cfg: Config, summary_include: str | None, summary_exclude: str | None) -> int:
    """Show the application (GET /applications/{id})."""
    from . import _actions as act

    return _run(cfg, act.get, summary_include=summary_include, summary_exclude=summary_exclude)


@cli.command()
@_api_options()
@click.option("--name", help="New name.")
@click.option("--description", help="New description.")
@click.option(
    "--body",
    metavar="JSON",
    help="The patch as a JSON object in the API's camelCase; @FILE reads a file, - reads stdin.",
)
def patch(cfg: Config, name: str | None, description: str | None, body: str | None) -> int:
    """Change the application's name, description or other fields."""
    from . import _actions as act

    return _run(cfg, act.patch, name=name, description=description, body=body)


@cli.command(name="globals")
@_api_options()
@click.argument("assignments", nargs=-1, metavar="[KEY=JSON]...")
@click.option("--unset", multiple=True, metavar="KEY", help="Remove a global (repeatable).")
def globals_(cfg: Config, assignments: tuple[str, ...], unset: tuple[str, ...]) -> int:
    """List the application globals, or set KEY=JSON / --unset KEY."""
    from . import _actions as act

    return _run(cfg, act.globals_, assignments=assignments, unset=unset)


@cli.command()
@_api_options()
@click.option("--set", "content", metavar="TEXT", help="Replace the readme with TEXT.")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    help="Replace the readme with a file ('-': stdin).",
)
def readme(cfg: Config, content: str | None, path: str | None) -> int:
    """Show the application readme, or replace it."""
    from . import _actions as act

    return _run(cfg, act.readme, content=content, path=path)


@cli.command()
@_api_options()
@click.argument("filter_", metavar="FILTER")
def search(cfg: Config, filter_: str) -> int:
    """Search the application's resources by name."""
    from . import _actions as act

    return _run(cfg, act.search, filter_)


@cli.command()
@_api_options()
@click.argument("kind", type=click.Choice(["device", "payload", "notebook"]))
@click.option("--start", metavar="TIME", help="ISO-8601 time or epoch milliseconds.")
@click.option("--end", metavar="TIME", help="ISO-8601 time or epoch milliseconds.")
@click.option("--bytes", "as_bytes", is_flag=True, help="payload: count bytes, not messages.")
def counts(cfg: Config, kind: str, start: str | None, end: str | None, as_bytes: bool) -> int:
    """Device, payload or notebook-minute counts."""
    from . import _actions as act

    return _run(cfg, act.counts, kind, start=start, end=end, as_bytes=as_bytes)


@cli.command(name="import-logs")
@_api_options()
@click.option("--limit", type=click.IntRange(min=1), help="At most this many entries.")
@click.option("--since", metavar="TIME", help="ISO-8601 time or epoch milliseconds.")
def import_logs(cfg: Config, limit: int | None, since: str | None) -> int:
    """List the application's import executions."""
    from . import _actions as act

    return _run(cfg, act.import_logs, limit=limit, since=since)


# -- MQTT --------------------------------------------------------------------


@cli.command()
@_api_options()
@click.argument("topic")
@click.argument("message", required=False)
def publish(cfg: Config, topic: str, message: str | None) -> int:
    """Publish MESSAGE (or stdin) to an MQTT topic."""
    from . import _actions as act

    if message is None:
        message = sys.stdin.read()
    return _run(cfg, act.publish, topic, message)


@cli.command()
@_api_options(json_flag=False)
@click.argument("topic")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many messages.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after this long (exit 8 if --count was not reached).",
)
@click.option(
    "--keep-alive", type=click.IntRange(min=1), default=2, show_default=True, metavar="SECONDS"
)
def subscribe(
    cfg: Config, topic: str, count: int | None, timeout: float | None, keep_alive: float
) -> int:
    """Stream MQTT messages as JSON lines.

    TOPIC may hold the MQTT wildcards + and #. Each message is printed as
    {"topic": ..., "message": ...} on its own line.
    """
    from . import _actions as act

    return _run(cfg, act.subscribe, topic, count=count, deadline=timeout, keep_alive=keep_alive)


# -- jobs --------------------------------------------------------------------


@cli.command()
@_api_options()
@_wait_option
@_timeout_option
@click.option("--include-devices", is_flag=True)
@click.option("--include-files", is_flag=True)
@click.option("--include-data-table-rows", is_flag=True)
@click.option("--email", metavar="ADDRESS", help="Where Losant mails the download link.")
@click.option("--force-job/--no-force-job", default=True, show_default=True)
def export(cfg: Config, wait: bool, timeout: float | None, **options: Any) -> int:
    """Export the application as a zip bundle (a job)."""
    from . import _actions as act

    return _run(cfg, act.export, wait=wait, deadline=timeout, options=options)


@cli.command()
@_api_options()
@_wait_option
@_timeout_option
@click.option("--dry-run", is_flag=True, help="Only check whether the clone would need a job.")
@click.option("--include-devices", is_flag=True)
@click.option("--include-files", is_flag=True)
@click.option("--include-data-table-rows", is_flag=True)
@click.option("--force-job", is_flag=True)
def clone(cfg: Config, wait: bool, timeout: float | None, **options: Any) -> int:
    """Clone the application."""
    from . import _actions as act

    return _run(cfg, act.clone, wait=wait, deadline=timeout, options=options)


@cli.command(name="import")
@_api_options()
@_wait_option
@_timeout_option
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--email", metavar="ADDRESS")
@click.option("--options", "options_json", metavar="JSON", help="Import options (camelCase JSON).")
def import_(
    cfg: Config,
    wait: bool,
    timeout: float | None,
    bundle: str | None,
    email: str | None,
    options_json: str | None,
) -> int:
    """Import a bundle or an importUrl (a job).

    BUNDLE is a zip file; an importUrl goes in --options.
    """
    from . import _actions as act

    return _run(
        cfg,
        act.import_,
        bundle=bundle,
        email=email,
        options_json=options_json,
        wait=wait,
        deadline=timeout,
    )


@cli.command()
@_api_options()
@_wait_option
@_timeout_option
@click.option(
    "--kind",
    type=click.Choice(["data", "backfill", "events", "data-tables"]),
    default="data",
    show_default=True,
    help="data: one day (--date); backfill; events and data-tables: full archives.",
)
@click.option("--date", "date", metavar="DATE", help="kind data: the day (default yesterday, UTC).")
def archive(cfg: Config, wait: bool, timeout: float | None, kind: str, date: str | None) -> int:
    """Archive application data to the configured storage (a job)."""
    from . import _actions as act

    return _run(cfg, act.archive, kind=kind, date=date, wait=wait, deadline=timeout)


@cli.command()
@_api_options()
@click.argument("job_id", metavar="JOB_ID")
@click.option(
    "--action",
    required=True,
    metavar="ACTION",
    help="The action that enqueued it: export, import, applyTemplate, clone, archiveData, "
    "backfillArchiveData, fullEventsArchive, fullDataTablesArchive.",
)
@click.option(
    "--enqueued-at",
    metavar="TIME",
    help="When it was enqueued (ISO-8601 or epoch ms; default now): jobs are matched "
    "in a window around it.",
)
@click.option("--log-id", metavar="ID", help="Its job log entry id, if known (no matching).")
@_wait_option
@_timeout_option
def job(
    cfg: Config,
    job_id: str,
    action: str,
    enqueued_at: str | None,
    log_id: str | None,
    wait: bool,
    timeout: float | None,
) -> int:
    """Show a job enqueued earlier (one poll), or follow it with --wait.

    JOB_ID is the jobId a job command printed. Ctrl-C during --wait stops
    following; the job keeps running on Losant.
    """
    from . import _actions as act

    return _run(
        cfg,
        act.job,
        job_id,
        action=action,
        enqueued_at=enqueued_at,
        log_id=log_id,
        wait=wait,
        deadline=timeout,
    )


# -- local -------------------------------------------------------------------


@cli.command()
@click.option(
    "--job-duration",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="How long each job runs.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 to serve on (0: any free port).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the settings as one JSON line.")
@click.pass_context
def emulator(ctx: click.Context, job_duration: float, port: int, as_json: bool) -> int:
    """Serve the local Losant on 127.0.0.1 until Ctrl-C.

    Prints LOSANT_API_URL, LOSANT_API_TOKEN and LOSANT_APPLICATION_ID lines
    (shell syntax) on stdout, then serves.
    """
    from . import _actions as act

    cfg = Config(backend=_backend(ctx), as_json=as_json)
    return _run(cfg, act.emulator, job_duration=job_duration, port=port)


@cli.command()
@_api_options(json_flag=False)
@click.option("--local", is_flag=True, help="Use the local Losant even if a token is configured.")
@click.option("--messages", type=click.IntRange(1, 100), default=8, show_default=True)
def demo(cfg: Config, local: bool, messages: int) -> int:
    """Tour the API: on a local Losant, or read-only with a token.

    With no token (or --local) it starts the local Losant in-process and runs
    the whole story. With LOSANT_API_TOKEN and --application it runs the
    read-only part against the real API.
    """

    if cfg.token and not local and not cfg.application:
        raise click.UsageError("with a token, the demo needs --application (or use --local)")
    from . import _demo

    return _run(cfg, _demo.run, local=local or not cfg.token, messages=messages)
