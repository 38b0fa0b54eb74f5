"""The ``losant-async`` command, run as a subprocess against the local Losant."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from losant_async.testing import LocalLosant

MISSING_APP = "0123456789abcdef01234567"
_RUN_TIMEOUT = 30.0


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOSANT_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("COLUMNS", None)
    env.update(extra or {})
    return env


def _server_env(server: LocalLosant, app_id: str | None = None) -> dict[str, str]:
    extra = {"LOSANT_API_URL": server.base_url, "LOSANT_API_TOKEN": server.token}
    if app_id is not None:
        extra["LOSANT_APPLICATION_ID"] = app_id
    return _env(extra)


def cli(
    *args: str,
    env: Mapping[str, str],
    stdin: str | None = None,
    timeout: float = _RUN_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m losant_async ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "losant_async", *args],
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_json(*args: str, env: Mapping[str, str]) -> object:
    """Run a command with --json, check it succeeded, and parse its stdout."""
    result = cli(*args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def env(local_server: LocalLosant, app_id: str) -> dict[str, str]:
    """The environment that points the command at a fresh local application."""
    return _server_env(local_server, app_id)


def _popen(args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "losant_async", *args],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_line_containing(stream: IO[str], text: str, *, limit: int = 20) -> str:
    """Read lines until one contains *text* (bounded; the test timeout bounds time)."""
    for _ in range(limit):
        line = stream.readline()
        if not line:
            break
        if text in line:
            return line
    pytest.fail(f"no line containing {text!r}")


@pytest.fixture
def popen_cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    """Kill any process a test started and left running."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


# A loaded 2-core machine running the suite under coverage can take seconds to
# start a child: every wait is bounded, and generous.
_CHILD_TIMEOUT = 30.0


class Child:
    """A ``losant-async`` subprocess whose stdout and stderr threads read line by line.

    The Ctrl-C tests send SIGINT only once the child has printed the line that
    says it is ready (never after a sleep), and every wait has a deadline:
    a blocking ``readline`` has none.
    """

    def __init__(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        self.proc = _popen(args, env)
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._queues: dict[str, queue.Queue[str | None]] = {}
        self._threads: list[threading.Thread] = []
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            self._queues[name] = queue.Queue()
            thread = threading.Thread(target=self._pump, args=(name, stream), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _pump(self, name: str, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self._queues[name].put(line)
        self._queues[name].put(None)

    def wait_for_line(self, name: str, text: str, *, timeout: float = _CHILD_TIMEOUT) -> str:
        """The first line on ``name`` (stdout or stderr) containing ``text``, within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queues[name].get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {name} line containing {text!r} in {timeout:g} s: {self.lines}")
            if line is None:
                pytest.fail(f"{name} ended (exit {self.proc.poll()}) before {text!r}: {self.lines}")
            self.lines[name].append(line)
            if text in line:
                return line

    def interrupt(self, *, timeout: float = _CHILD_TIMEOUT) -> tuple[int, str, str]:
        """Send SIGINT, wait (bounded) for the exit: (status, stdout, stderr)."""
        self.proc.send_signal(signal.SIGINT)
        status = self.proc.wait(timeout=timeout)
        self._finish(timeout)
        return status, "".join(self.lines["stdout"]), "".join(self.lines["stderr"])

    def _finish(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)
        for name, lines in self.lines.items():
            pending = self._queues[name]
            while not pending.empty():
                line = pending.get_nowait()
                if line is not None:
                    lines.append(line)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def kill(self) -> None:
        """End the child if a test left it running, and close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=_CHILD_TIMEOUT)
        self._finish(_CHILD_TIMEOUT)


@pytest.fixture
def children() -> Iterator[list[Child]]:
    """Kill any child a test started and left running."""
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


# -- help and start-up ---------------------------------------------------------


def test_help_lists_subcommands_and_exit_codes() -> None:
    """`--help` exits 0 and lists every subcommand and every exit code."""
    result = cli("--help", env=_env())
    assert result.returncode == 0
    for name in (
        "demo", "get", "patch", "globals", "readme", "search", "counts", "import-logs",
        "publish", "subscribe", "export", "clone", "import", "archive", "emulator",
    ):  # fmt: skip
        assert f"\n  {name} " in result.stdout
    for code in ("0", "2", "3", "4", "5", "6", "7", "8", "130"):
        assert f"\n    {code} " in result.stdout


def test_help_imports_nothing_heavy() -> None:
    """`--help` loads neither httpx, attrs, cattrs, rich, anyio nor the local server."""
    code = (
        "import sys\n"
        "from losant_async._cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = ('httpx', 'attrs', 'cattrs', 'rich', 'anyio',"
        " 'losant_async.testing', 'starlette')\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_console_script_entry_point_runs() -> None:
    """`losant_async._cli:main` (the console script) answers --version."""
    result = subprocess.run(
        [sys.executable, "-c", "from losant_async._cli import main; main(['--version'])"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("losant-async, version ")


# -- reading and writing -------------------------------------------------------


def test_get_json(env: dict[str, str], app_id: str) -> None:
    """`get --json` prints the application with snake_case fields."""
    data = cli_json("get", env=env)
    assert isinstance(data, dict)
    assert data["id"] == app_id
    assert data["name"] == "Test application"
    assert "creation_date" in data
    assert data["creation_date"].endswith("Z")


def test_get_table_for_people(env: dict[str, str], app_id: str) -> None:
    """`get` without --json prints a field/value table with the name and id."""
    result = cli("get", env=env)
    assert result.returncode == 0, result.stderr
    assert "Test application" in result.stdout
    assert app_id in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_flags_win_over_environment(local_server: LocalLosant, app_id: str) -> None:
    """--token/--base-url/--application override the environment."""
    env = _env(
        {
            "LOSANT_API_URL": "http://127.0.0.1:9",
            "LOSANT_API_TOKEN": "wrong",
            "LOSANT_APPLICATION_ID": MISSING_APP,
        }
    )
    result = cli(
        "get", "--json", "--token", local_server.token, "--base-url", local_server.base_url,
        "--application", app_id, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == app_id


def test_patch_changes_name_and_description(env: dict[str, str]) -> None:
    """`patch --name --description` changes both, as a later `get` shows."""
    data = cli_json("patch", "--name", "Renamed", "--description", "From the CLI", env=env)
    assert isinstance(data, dict)
    assert (data["name"], data["description"]) == ("Renamed", "From the CLI")
    again = cli_json("get", env=env)
    assert isinstance(again, dict)
    assert again["name"] == "Renamed"


def test_patch_body_from_stdin(env: dict[str, str]) -> None:
    """`patch --body -` reads a camelCase JSON object from stdin."""
    result = cli("patch", "--json", "--body", "-", env=env, stdin='{"description": "piped"}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["description"] == "piped"


def test_globals_set_list_and_unset(env: dict[str, str]) -> None:
    """`globals KEY=JSON` sets globals (bare words become JSON strings); --unset removes one."""
    data = cli_json("globals", "limit=42", "unit=celsius", env=env)
    assert isinstance(data, list)
    assert {g["key"]: g["json"] for g in data} == {"limit": "42", "unit": '"celsius"'}
    listed = cli_json("globals", env=env)
    assert listed == data
    after = cli_json("globals", "--unset", "limit", env=env)
    assert isinstance(after, list)
    assert [g["key"] for g in after] == ["unit"]


def test_readme_set_and_show(env: dict[str, str]) -> None:
    """`readme --set` replaces the readme and `readme` prints its text."""
    data = cli_json("readme", "--set", "# Hello\nfrom the CLI", env=env)
    assert isinstance(data, dict)
    assert data["content"] == "# Hello\nfrom the CLI"
    shown = cli("readme", env=env)
    assert shown.returncode == 0
    assert shown.stdout == "# Hello\nfrom the CLI\n"


def test_search_finds_seeded_devices(env: dict[str, str]) -> None:
    """`search Sensor --json` lists matching resources with their type."""
    data = cli_json("search", "Sensor", env=env)
    assert isinstance(data, list)
    assert data
    assert all("sensor" in item["name"].lower() for item in data)
    assert {item["type"] for item in data} >= {"device"}


@pytest.mark.parametrize("kind", ["device", "payload", "notebook"])
def test_counts_json(env: dict[str, str], kind: str) -> None:
    """`counts KIND --json` prints the counts object of that kind."""
    data = cli_json("counts", kind, "--start", "2024-01-01T00:00:00Z", env=env)
    assert isinstance(data, dict)
    if kind != "payload":
        assert isinstance(data.get("counts", []), list)


def test_counts_rejects_a_bad_time(env: dict[str, str]) -> None:
    """A --start that is neither ISO-8601 nor epoch ms is a usage error (2)."""
    result = cli("counts", "device", "--start", "yesterday-ish", env=env)
    assert result.returncode == 2
    assert "--start" in result.stderr


def test_import_logs_json(env: dict[str, str]) -> None:
    """`import-logs --json` prints a list (empty for a fresh application)."""
    assert cli_json("import-logs", "--limit", "5", env=env) == []


# -- MQTT ----------------------------------------------------------------------


def test_publish_and_subscribe_json_lines(
    env: dict[str, str], popen_cleanup: list[subprocess.Popen[str]]
) -> None:
    """`subscribe --count 2` prints published messages as JSON lines and exits 0."""
    sub = _popen(["subscribe", "cli/+/temp", "--count", "2", "--timeout", "20"], env)
    popen_cleanup.append(sub)
    assert sub.stderr is not None
    _read_line_containing(sub.stderr, "subscribed to cli/+/temp")
    # The server may register the subscriber a moment after the answer: keep
    # publishing (bounded) until the subscriber has its two messages.
    for attempt in range(10):
        published = cli("publish", f"cli/s{attempt}/temp", f'{{"n":{attempt}}}', env=env)
        assert published.returncode == 0, published.stderr
        if sub.poll() is not None:
            break
        time.sleep(0.2)
    out, err = sub.communicate(timeout=20)
    assert sub.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2
    for line in lines:
        n = json.loads(line["message"])["n"]
        assert line == {"topic": f"cli/s{n}/temp", "message": f'{{"n":{n}}}'}


def test_publish_json_reports_success(env: dict[str, str]) -> None:
    """`publish --json` prints the Success body."""
    assert cli_json("publish", "a/b", "hi", env=env) == {"success": True}


def test_subscribe_timeout_before_count_exits_8(env: dict[str, str]) -> None:
    """`subscribe --count 1 --timeout 0.5` with no message exits 8; without --count it exits 0."""
    result = cli("subscribe", "nobody/#", "--count", "1", "--timeout", "0.5", env=env)
    assert result.returncode == 8, result.stderr
    assert "0 of 1 messages" in result.stderr
    quiet = cli("subscribe", "nobody/#", "--timeout", "0.5", env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == ""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_exits_130_without_traceback(
    env: dict[str, str], children: list[Child], backend: str
) -> None:
    """SIGINT during `subscribe` exits 130 with a short message and no traceback."""
    sub = Child(["--backend", backend, "subscribe", "ctrl/c"], env)
    children.append(sub)
    sub.wait_for_line("stderr", "subscribed to ctrl/c")
    status, _, err = sub.interrupt()
    assert status == 130, err
    assert "Interrupted." in err
    assert "Traceback" not in err


# -- jobs ----------------------------------------------------------------------


@pytest.fixture
def quick_jobs(local_server: LocalLosant) -> Iterator[None]:
    """Jobs on the shared local server take a fraction of a second."""
    before = local_server.job_duration
    local_server.job_duration = 0.3
    yield
    local_server.job_duration = before


@pytest.mark.usefixtures("quick_jobs")
def test_export_wait_prints_outcome(env: dict[str, str]) -> None:
    """`export --wait --json` follows the job (progress on stderr) and prints its outcome."""
    result = cli("export", "--wait", "--json", env=env)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "completed"
    assert "export" in result.stderr


@pytest.mark.usefixtures("quick_jobs")
def test_export_without_wait_prints_the_handle(env: dict[str, str], app_id: str) -> None:
    """`export --json` without --wait prints the enqueued job's handle."""
    data = cli_json("export", env=env)
    assert isinstance(data, dict)
    assert data["action"] == "export"
    assert data["application_id"] == app_id
    assert set(data) >= {"job_id", "enqueued_at"}


@pytest.mark.usefixtures("quick_jobs")
@pytest.mark.parametrize("kind", ["data", "backfill", "events", "data-tables"])
def test_archive_wait(env: dict[str, str], kind: str) -> None:
    """`archive --kind K --wait --json` runs each archive job to completion."""
    data = cli_json("archive", "--kind", kind, "--wait", env=env)
    assert isinstance(data, dict)
    assert data["status"] == "completed"


@pytest.mark.usefixtures("quick_jobs")
def test_clone_dry_run_and_job(env: dict[str, str]) -> None:
    """`clone --dry-run` answers directly; `clone --force-job --wait` completes a job."""
    dry = cli_json("clone", "--dry-run", env=env)
    assert isinstance(dry, dict)
    assert dry["success"] is True
    done = cli_json("clone", "--force-job", "--wait", env=env)
    assert isinstance(done, dict)
    assert done["status"] == "completed"


@pytest.mark.usefixtures("quick_jobs")
def test_import_bundle_wait(env: dict[str, str], tmp_path: Path) -> None:
    """`import BUNDLE --wait --json` uploads a zip and follows the import to its end."""
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("application.json", json.dumps({"name": "Imported"}))
    result = cli("import", str(bundle), "--wait", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "completed"


# -- exit codes ----------------------------------------------------------------


def test_missing_token_is_usage_error() -> None:
    """Without a token the command exits 2 and names the flag and variable."""
    result = cli("get", "--application", MISSING_APP, env=_env())
    assert result.returncode == 2
    assert "LOSANT_API_TOKEN" in result.stderr


def test_missing_application_is_usage_error(local_server: LocalLosant) -> None:
    """Without an application id the command exits 2."""
    result = cli("get", env=_server_env(local_server))
    assert result.returncode == 2
    assert "LOSANT_APPLICATION_ID" in result.stderr


def test_malformed_application_id_is_usage_error(local_server: LocalLosant) -> None:
    """An id that is not 24 hex characters exits 2 before any request."""
    result = cli("get", "--application", "nope", env=_server_env(local_server))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_bad_flag_is_usage_error() -> None:
    """An unknown flag exits 2 (click's usage error)."""
    assert cli("get", "--no-such-flag", env=_env()).returncode == 2


def test_unknown_application_exits_4(local_server: LocalLosant) -> None:
    """A well-formed id that does not exist exits 4 (not found)."""
    result = cli("get", "--application", MISSING_APP, env=_server_env(local_server))
    assert result.returncode == 4, result.stderr
    assert "not found" in result.stderr


def test_wrong_token_exits_3(local_server: LocalLosant, app_id: str) -> None:
    """A token the server does not know exits 3 and is not echoed."""
    env = _server_env(local_server, app_id)
    env["LOSANT_API_TOKEN"] = "not-a-real-token-7f3a"
    result = cli("get", env=env)
    assert result.returncode == 3
    assert "not-a-real-token-7f3a" not in result.stderr + result.stdout


def test_missing_scope_exits_3(local_server: LocalLosant, app_id: str) -> None:
    """A token without the scope for the action exits 3 (permission denied)."""
    env = _server_env(local_server, app_id)
    env["LOSANT_API_TOKEN"] = local_server.create_token(scopes=["application.get"])
    assert cli("get", env=env).returncode == 0
    result = cli("patch", "--name", "x", env=env)
    assert result.returncode == 3, result.stderr


def test_other_api_error_exits_5(local_server: LocalLosant, env: dict[str, str]) -> None:
    """An API error that is not auth or not-found (here a 409) exits 5."""
    local_server.faults.fail("get", status=409, times=1)
    try:
        result = cli("get", env=env)
    finally:
        local_server.faults.clear()
    assert result.returncode == 5, result.stderr
    assert "409" in result.stderr


def test_unreachable_api_exits_6(app_id: str) -> None:
    """A base URL where nothing listens exits 6 (network)."""
    env = _env(
        {
            "LOSANT_API_URL": "http://127.0.0.1:9",
            "LOSANT_API_TOKEN": "t",
            "LOSANT_APPLICATION_ID": app_id,
        }
    )
    result = cli("get", env=env)
    assert result.returncode == 6, result.stderr
    assert "Traceback" not in result.stderr


# -- emulator and demo ---------------------------------------------------------


# The emulator says "Ctrl-C to stop" on stderr once it serves: the signal waits for it.
_EMULATOR_READY = "Ctrl-C to stop"


def test_emulator_serves_until_ctrl_c(children: list[Child]) -> None:
    """`emulator --json` prints URL, token and app id, serves them, and exits 130 on SIGINT."""
    proc = Child(["emulator", "--json", "--job-duration", "0.1"], _env())
    children.append(proc)
    settings = json.loads(proc.wait_for_line("stdout", "LOSANT_API_URL"))
    assert settings["LOSANT_API_URL"].startswith("http://127.0.0.1:")
    proc.wait_for_line("stderr", _EMULATOR_READY)
    data = cli_json("get", env=_env(settings))
    assert isinstance(data, dict)
    assert data["id"] == settings["LOSANT_APPLICATION_ID"]
    status, _, err = proc.interrupt()
    assert status == 130, err
    assert "Traceback" not in err


def test_emulator_prints_shell_lines(children: list[Child]) -> None:
    """Without --json the emulator prints three KEY=VALUE lines for the shell."""
    proc = Child(["emulator"], _env())
    children.append(proc)
    proc.wait_for_line("stderr", _EMULATOR_READY)
    status, out, err = proc.interrupt()
    assert [line.split("=", 1)[0] for line in out.splitlines()] == [
        "LOSANT_API_URL",
        "LOSANT_API_TOKEN",
        "LOSANT_APPLICATION_ID",
    ]
    assert status == 130, err


def test_emulator_serves_on_the_port_asked(children: list[Child]) -> None:
    """`emulator --port N` serves on 127.0.0.1:N."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = Child(["emulator", "--json", "--port", str(port)], _env())
    children.append(proc)
    settings = json.loads(proc.wait_for_line("stdout", "LOSANT_API_URL"))
    assert settings["LOSANT_API_URL"] == f"http://127.0.0.1:{port}"
    proc.wait_for_line("stderr", _EMULATOR_READY)
    data = cli_json("get", env=_env(settings))
    assert isinstance(data, dict)
    assert data["id"] == settings["LOSANT_APPLICATION_ID"]
    status, _, err = proc.interrupt()
    assert status == 130, err


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_demo_end_to_end(backend: str) -> None:
    """`demo` without a token runs the Application and the IoT story, exits 0 within 30 s."""
    started = time.monotonic()
    result = cli("--backend", backend, "demo", env=_env(), timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr + result.stdout
    assert elapsed < 30
    out = result.stdout
    for step in ("get", "patch", "globals", "readme", "search", "MQTT", "jobs", "Summary"):
        assert step in out
    assert "8/8 messages" in out
    assert "completed, completed" in out
    # The IoT story: devices, live state, a drawn time series, a command, an export.
    assert "3 devices created" in out
    assert out.count("│ Greenhouse sensor ") >= 3 + 3 + 6  # listed, live rows, sparkline rows
    assert "18/18 states on 3 streams" in out
    assert re.search(r"│ Greenhouse sensor 1 │ temperature │ [▁▂▃▄▅▆▇█ ]{20,} │", out), out
    assert "6 sparklines" in out
    assert "received on the command stream: 'setVent'" in out
    assert re.search(r"downloaded greenhouse-data\.zip: [\d,]+ bytes \(3 CSV files", out), out
    assert "Summary: 13 steps" in out
    assert "\x1b[" not in out  # no terminal escapes when stdout is not a TTY
    assert len(out.splitlines()) < 250  # the live tables print once, not once per update


@pytest.mark.slow
def test_demo_read_only_with_token(local_server: LocalLosant, app_id: str) -> None:
    """`demo` with a token and --application runs only the read-only steps."""
    result = cli("demo", env=_server_env(local_server, app_id))
    assert result.returncode == 0, result.stderr
    assert "read-only" in result.stdout
    assert "MQTT" not in result.stdout
    assert "Test application" in result.stdout
    assert "no devices" in result.stdout
    assert "skipped (no device with number attributes)" in result.stdout
    assert "setVent" not in result.stdout


@pytest.mark.slow
def test_demo_read_only_draws_an_existing_device(local_server: LocalLosant, app_id: str) -> None:
    """Read-only, the demo lists the devices and draws the last day of one with number data."""
    api = f"{local_server.base_url}/applications/{app_id}"
    headers = {"Authorization": f"Bearer {local_server.token}"}
    now = int(time.time() * 1000)
    with httpx.Client(headers=headers, timeout=10) as http:
        device = http.post(
            f"{api}/devices",
            json={"name": "Boiler", "attributes": [{"name": "temp", "dataType": "number"}]},
        )
        assert device.status_code == 201, device.text
        states = [
            {"time": now - hours * 3_600_000, "data": {"temp": 40 + hours}} for hours in range(12)
        ]
        sent = http.post(f"{api}/devices/{device.json()['id']}/state", json=states)
        assert sent.status_code == 200, sent.text
    result = cli("demo", env=_server_env(local_server, app_id))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1 of 1 devices" in out
    assert re.search(r"│ Boiler +│ temp +│ [▁▂▃▄▅▆▇█ ]{10,} +│ 40\.0 │ 51\.0 │ 40\.0 │", out), out
    assert "1 sparkline for 'Boiler'" in out
    # Nothing was written: still one device, and no new one.
    assert "Greenhouse" not in out


def test_demo_with_token_needs_application(local_server: LocalLosant) -> None:
    """`demo` with a token but no application is a usage error (2)."""
    assert cli("demo", env=_server_env(local_server)).returncode == 2
