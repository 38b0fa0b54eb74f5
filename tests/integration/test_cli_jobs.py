"""The ``losant-async`` command, issue 13: ``job``, Ctrl-C during ``--wait``, global options.

Run as a subprocess against the local Losant, as ``test_cli.py`` does.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from losant_async.testing import LocalLosant

_RUN_TIMEOUT = 60.0


def _env(server: LocalLosant, app_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOSANT_")}
    env.update(
        PYTHONUNBUFFERED="1",
        LOSANT_API_URL=server.base_url,
        LOSANT_API_TOKEN=server.token,
        LOSANT_APPLICATION_ID=app_id,
    )
    env.pop("COLUMNS", None)
    return env


@pytest.fixture
def env(local_server: LocalLosant, app_id: str) -> dict[str, str]:
    """The environment that points the command at a fresh local application."""
    return _env(local_server, app_id)


def cli(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m losant_async ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "losant_async", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT,
        check=False,
    )


def cli_json(*args: str, env: Mapping[str, str]) -> object:
    result = cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class Child:
    """A running command whose stderr is read line by line by a thread (bounded waits)."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "losant_async", *args],
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(self.proc.stderr,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str, *, timeout: float = 30.0) -> str:
        """The first stderr line containing ``text``, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.err.append(line)
            if text in line:
                return line
        pytest.fail(f"no stderr line containing {text!r}: {''.join(self.err)}")

    def finish(self, *, interrupt: bool = False) -> tuple[int, str, str]:
        """(SIGINT, then) wait for the exit: (status, stdout, all of stderr)."""
        if interrupt:
            self.proc.send_signal(signal.SIGINT)
        # Not communicate(): it would read stderr too, racing the thread.
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()  # the commands here print little: no pipe stall
        self.proc.wait(timeout=_RUN_TIMEOUT)
        self._thread.join(_RUN_TIMEOUT)
        while not self._lines.empty():
            line = self._lines.get_nowait()
            if line is not None:
                self.err.append(line)
        return self.proc.returncode, out, "".join(self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=_RUN_TIMEOUT)
        self._thread.join(_RUN_TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """Kill any command a test started and left running."""
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


@pytest.fixture
def quick_jobs(local_server: LocalLosant) -> Iterator[None]:
    """Jobs on the shared local server take a fraction of a second."""
    before = local_server.job_duration
    local_server.job_duration = 0.3
    yield
    local_server.job_duration = before


# -- job JOB_ID --------------------------------------------------------------------


@pytest.mark.usefixtures("quick_jobs")
def test_job_follows_a_job_enqueued_earlier(env: dict[str, str]) -> None:
    """`job JOB_ID --action export --enqueued-at T --wait` follows an earlier export to its end."""
    handle = cli_json("export", "--json", env=env)
    assert isinstance(handle, dict)
    job_id, enqueued_at = str(handle["job_id"]), str(handle["enqueued_at"])
    follow = ("job", job_id, "--action", "export", "--enqueued-at", enqueued_at)
    outcome = cli_json(*follow, "--wait", "--timeout", "30", "--json", env=env)
    assert isinstance(outcome, dict)
    assert outcome["status"] == "completed"
    status = cli_json(*follow, "--wire", env=env)
    assert isinstance(status, dict)
    assert status["status"] == "completed"
    assert status["completed"] == status["total"]


def test_job_needs_an_action_and_checks_it(env: dict[str, str]) -> None:
    """`job` without --action is a usage error; an action that enqueues no job too."""
    missing = cli("job", "0123456789abcdef01234567", env=env)
    assert missing.returncode == 2
    assert "--action" in missing.stderr
    wrong = cli("job", "0123456789abcdef01234567", "--action", "get", env=env)
    assert wrong.returncode == 2, wrong.stderr


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_during_wait_says_the_job_keeps_running(
    local_server: LocalLosant, env: dict[str, str], children: list[Child], backend: str
) -> None:
    """SIGINT during `export --wait` exits 130 and says the job runs on, naming its id."""
    local_server.job_duration = 60.0
    child = Child(["--backend", backend, "export", "--wait"], env)
    children.append(child)
    line = child.wait_for("following job ")
    job_id = line.split("following job ", 1)[1].split()[0]
    status, _, err = child.finish(interrupt=True)
    assert status == 130, err
    assert f"The job {job_id} keeps running on Losant" in err
    assert f"losant-async job {job_id} --action export --enqueued-at " in err
    assert "Traceback" not in err


def test_job_help_documents_wait_and_ctrl_c(env: dict[str, str]) -> None:
    """`job --help` names --action, --enqueued-at, --log-id, --wait and what Ctrl-C does."""
    result = cli("job", "--help", env=env)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for flag in ("--action", "--enqueued-at", "--log-id", "--wait", "--timeout"):
        assert flag in text
    assert "keeps running on Losant" in text


# -- --json and --wire -----------------------------------------------------------------


def test_json_prints_python_names_and_wire_prints_losants(env: dict[str, str]) -> None:
    """`--json` prints snake_case names (as --help says); `--wire` Losant's camelCase ones."""
    python = cli_json("get", "--json", env=env)
    wire = cli_json("get", "--wire", env=env)
    assert isinstance(python, dict)
    assert isinstance(wire, dict)
    assert "creation_date" in python
    assert "creationDate" not in python
    assert "creationDate" in wire
    assert "creation_date" not in wire
    assert wire["id"] == python["id"]
    assert "_links" not in wire
    help_text = " ".join(cli("get", "--help", env=env).stdout.split())
    assert "Python (snake_case) names" in help_text
    assert "camelCase" in help_text


# -- global options: -v, --timeout, --max-retries -----------------------------------------


def test_global_options_are_in_help(env: dict[str, str]) -> None:
    """`--help` lists -v/--verbose, --timeout and --max-retries before the subcommand."""
    result = cli("--help", env=env)
    assert result.returncode == 0
    for flag in ("-v, --verbose", "--timeout SECONDS", "--max-retries N"):
        assert flag in result.stdout
    assert "job" in result.stdout


def test_verbose_logs_reconnects_without_the_token(
    local_server: LocalLosant, env: dict[str, str], app_id: str, children: list[Child]
) -> None:
    """`-v subscribe` says reconnecting…/reconnected and logs the reconnect, the token blanked."""
    local_server.faults.drop_stream(after_events=1, times=1, application_id=app_id)
    child = Child(["-v", "subscribe", "cli/+", "--count", "2", "--timeout", "40"], env)
    children.append(child)
    child.wait_for("subscribed to cli/+")
    local_server.publish(app_id, "cli/a", "one")
    child.wait_for("reconnecting…")
    child.wait_for("reconnected")
    local_server.publish(app_id, "cli/a", "two")
    status, out, err = child.finish()
    assert status == 0, err
    assert [json.loads(line)["message"] for line in out.splitlines()] == ["one", "two"]
    assert re.search(r"WARNING losant_async: Stream of 'cli/\+': reconnect attempt 1 in ", err)
    assert "INFO losant_async: Stream of 'cli/+' reconnected" in err
    assert local_server.token not in err


def test_subscribe_without_verbose_still_says_reconnecting(
    local_server: LocalLosant, env: dict[str, str], app_id: str, children: list[Child]
) -> None:
    """Without -v, subscribe still says reconnecting… and reconnected on stderr (no INFO lines)."""
    local_server.faults.drop_stream(after_events=0, times=1, application_id=app_id)
    child = Child(["subscribe", "quiet/+", "--count", "1", "--timeout", "40"], env)
    children.append(child)
    child.wait_for("reconnecting…")
    child.wait_for("reconnected")
    local_server.publish(app_id, "quiet/a", "after")
    status, out, err = child.finish()
    assert status == 0, err
    assert json.loads(out)["message"] == "after"
    assert " INFO " not in err


def test_very_verbose_is_debug_and_redacted(env: dict[str, str], local_server: LocalLosant) -> None:
    """`-vv` sets DEBUG on the losant_async logger; nothing it writes holds the token."""
    code = (
        "import logging, sys; from losant_async._cli import main\n"
        "try:\n    main(['-vv', 'get', '--json'])\n"
        "except SystemExit as e:\n"
        "    lg = logging.getLogger('losant_async')\n"
        "    lg.debug('sent Authorization: Bearer %s', " + repr(local_server.token) + ")\n"
        "    print(logging.getLevelName(lg.level), file=sys.stderr); raise\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "DEBUG"
    assert "sent Authorization: Bearer [redacted]" in result.stderr
    assert local_server.token not in result.stderr


def test_losant_log_counts_as_verbose(env: dict[str, str]) -> None:
    """LOSANT_LOG=debug gives the command DEBUG logging too, through its one redacting handler."""
    code = (
        "import logging, sys; from losant_async._cli import main\n"
        "try:\n    main(['get', '--json'])\n"
        "except SystemExit:\n"
        "    lg = logging.getLogger('losant_async')\n"
        "    print(logging.getLevelName(lg.level), len(lg.handlers), file=sys.stderr); raise\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "LOSANT_LOG": "debug"},
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "DEBUG 1"


def test_global_timeout_limits_each_request(
    local_server: LocalLosant, env: dict[str, str], app_id: str
) -> None:
    """`--timeout 0.5 --max-retries 0 get` against a slow server fails fast with exit 6."""
    local_server.faults.latency("get", seconds=5.0, application_id=app_id)
    started = time.monotonic()
    result = cli("--timeout", "0.5", "--max-retries", "0", "get", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 6, result.stderr
    assert elapsed < 4.5, elapsed


def test_global_max_retries_bounds_the_attempts(
    local_server: LocalLosant, env: dict[str, str], app_id: str
) -> None:
    """`--max-retries 0` makes one attempt: a single 503 is an error, not retried away."""
    local_server.faults.fail("get", status=503, times=1, application_id=app_id)
    once = cli("--max-retries", "0", "get", "--json", env=env)
    assert once.returncode == 5, once.stderr
    local_server.faults.fail("get", status=503, times=1, application_id=app_id)
    retried = cli("--max-retries", "1", "get", "--json", env=env)
    assert retried.returncode == 0, retried.stderr


def test_bad_global_options_are_usage_errors(env: dict[str, str]) -> None:
    """A negative --max-retries or a zero --timeout exits 2."""
    assert cli("--max-retries", "-1", "get", env=env).returncode == 2
    assert cli("--timeout", "0", "get", env=env).returncode == 2
