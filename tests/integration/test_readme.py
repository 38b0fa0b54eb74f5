"""The README's code, run against the local Losant so that it stays honest.

The examples are read from README.md at test time: editing an example in the
README changes what runs here, and a wrong example fails its test.
"""

from __future__ import annotations

import re
import textwrap
import zipfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from losant_async import AsyncApplication, JobHandle

if TYPE_CHECKING:
    from losant_async.testing import LocalLosant

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
API_MD = ROOT.parent / "shared" / "API.md"

# The application id the README's examples use; replaced by a fresh local one.
README_APP_ID = "575ec8687ae143cd83dc4a97"

TIMEOUT = 20.0


# -- reading the README --------------------------------------------------------


def _section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level.

    Lines inside fenced code blocks (a `# comment` in Python) are not headings.
    """
    lines = text.splitlines(keepends=True)
    start = level = None
    in_fence = False
    for index, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        match = None if in_fence else re.match(r"(#+) (.*?)\s*$", line)
        if not match:
            continue
        if start is None and match.group(2) == heading:
            start, level = index + 1, len(match.group(1))
        elif start is not None and level is not None and len(match.group(1)) <= level:
            return "".join(lines[start:index])
    assert start is not None, f"no heading {heading!r}"
    return "".join(lines[start:])


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


TOUR = _section(README, "Tour: the 22 actions")
TOUR_ROW = re.compile(r"^\|\s*`(\w+)`\s*\|\s*`(.+)`\s*\|\s*$", re.MULTILINE)
TOUR_EXAMPLES: dict[str, str] = dict(TOUR_ROW.findall(TOUR))


# The 22 action methods of API.md ("Names here are fixed"); the test also reads
# them from API.md itself when the shared folder is next to the repository.
ACTIONS = frozenset(
    {
        "apply_template",
        "archive_data",
        "backfill_archive_data",
        "clone",
        "delete",
        "device_counts",
        "export",
        "full_data_tables_archive",
        "full_events_archive",
        "get",
        "globals",
        "import_",
        "import_logs",
        "mqtt_publish_message",
        "mqtt_subscription_stream",
        "notebook_minute_counts",
        "patch",
        "payload_counts",
        "payload_counts_breakdown",
        "readme",
        "readme_patch",
        "search",
    }
)


def _api_action_names() -> set[str] | None:
    """The method names of the action table in API.md, or None without API.md."""
    if not API_MD.is_file():
        return None
    text = API_MD.read_text(encoding="utf-8")
    table = _section(text, "The 22 actions: one method each on `AsyncApplication`")
    return set(re.findall(r"^\|\s*`(\w+)\(", table, re.MULTILINE))


# -- running code from the README -----------------------------------------------


def _compile_async(
    body: str, name: str, params: str = ""
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """Turn `body` into `async def name(params)` that returns its locals."""
    source = f"async def {name}({params}):\n{textwrap.indent(body, '    ')}\n    return locals()\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"README.md:{name}", "exec"), namespace)
    return namespace[name]  # type: ignore[no-any-return]


def _tour_body(example: str, app_id: str) -> str:
    """The tour's own set-up block with `example` run where `app` is bound."""
    (setup,) = _python_blocks(TOUR)[:1]
    setup = setup.replace(README_APP_ID, app_id)
    app_line = re.search(r"^([ \t]*)app = .*$", setup, re.MULTILINE)
    assert app_line, "the tour's set-up block no longer binds `app`"
    indent = app_line.group(1)
    head = setup[: app_line.end()]
    tail = setup[app_line.end() :]
    return f"{head}\n{indent}assert isinstance(app, AsyncApplication)\n{indent}{example}{tail}"


async def _wait_until(condition: Callable[[], bool]) -> None:
    while True:
        if condition():
            return
        await anyio.sleep(0.005)


@pytest.fixture
def local_env(local_server: LocalLosant, monkeypatch: pytest.MonkeyPatch) -> LocalLosant:
    """`$LOSANT_API_TOKEN` and `$LOSANT_API_URL` point at the local Losant."""
    monkeypatch.setenv("LOSANT_API_TOKEN", local_server.token)
    monkeypatch.setenv("LOSANT_API_URL", local_server.base_url)
    return local_server


# -- the tour ---------------------------------------------------------------------


def test_tour_lists_exactly_the_22_actions() -> None:
    """The tour's table has one row per action of API.md, no more, no fewer."""
    rows = TOUR_ROW.findall(TOUR)
    names = [name for name, _ in rows]
    assert len(names) == len(set(names)) == 22
    assert set(names) == ACTIONS
    from_api_md = _api_action_names()
    if from_api_md is not None:
        assert from_api_md == ACTIONS


@pytest.mark.anyio
@pytest.mark.parametrize("method", list(TOUR_EXAMPLES))
async def test_tour_example(
    method: str,
    app_id: str,
    local_env: LocalLosant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each line of the tour's table runs on a fresh application and binds a value."""
    example = TOUR_EXAMPLES[method]
    assert f"app.{method}(" in example, f"the {method} example does not call app.{method}"
    # import_("bundle.zip") reads a bundle from the current directory: give it one.
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as bundle:
        bundle.writestr("application.json", '{"name": "Imported"}')
    monkeypatch.chdir(tmp_path)

    run = _compile_async(_tour_body(example, app_id), f"tour_{method}")
    run.__globals__["AsyncApplication"] = AsyncApplication
    with anyio.fail_after(TIMEOUT):
        scope = await run()

    bound = re.match(r"\s*(\w+)\s*=[^=]", example)
    if bound:
        assert scope[bound.group(1)] is not None


# -- quick start --------------------------------------------------------------


@pytest.mark.anyio
async def test_quick_start(
    app_id: str, local_env: LocalLosant, capsys: pytest.CaptureFixture[str]
) -> None:
    """The quick start reads the application, gets one MQTT message and finishes an export."""
    block = _python_blocks(_section(README, "Quick start"))[0]
    lines = block.rstrip().splitlines()
    assert lines[-1].startswith("anyio.run(main)")
    source = "\n".join(lines[:-1]).replace(README_APP_ID, app_id)
    namespace: dict[str, Any] = {}
    exec(compile(source, "README.md:quick-start", "exec"), namespace)

    async def publish_when_subscribed() -> None:
        await _wait_until(lambda: local_env.open_streams > 0)
        await anyio.to_thread.run_sync(
            local_env.publish, app_id, "devices/d1/state", '{"temp": 21.5}'
        )

    with anyio.fail_after(TIMEOUT):
        # A stream that an earlier test left takes a few ms to close on the
        # server: wait for it, so that the next rise is the quick start's.
        await _wait_until(lambda: local_env.open_streams == 0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(publish_when_subscribed)
            await namespace["main"]()

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Test application ")
    assert out[1] == 'devices/d1/state {"temp": 21.5}'
    assert out[2].startswith("completed ")


# -- testing your code ------------------------------------------------------------


@pytest.mark.anyio
async def test_testing_example(local_losant: LocalLosant) -> None:
    """The pytest example of "Testing your code" passes, given the plugin's fixture."""
    (block,) = _python_blocks(_section(README, "Testing your code against the local Losant"))[:1]
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md:testing", "exec"), namespace)
    tests = [value for key, value in namespace.items() if key.startswith("test_")]
    assert len(tests) == 1
    with anyio.fail_after(TIMEOUT):
        await tests[0](local_losant)


# -- pinning ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_pinning_example(app_id: str, local_env: LocalLosant) -> None:
    """The pinning example runs; its placeholders come from a real export job."""
    jobs = _section(README, "How jobs are matched")
    pinning = next(block for block in _python_blocks(jobs) if ".pin(" in block)
    run = _compile_async(pinning, "pinning", "app, job_id, sent_at, log_id")

    async with AsyncApplication(app_id) as app:
        with anyio.fail_after(TIMEOUT):
            # The example's placeholders: an earlier export's id, send time and log id.
            # That export is within 5 s of the example's own, so the example's
            # `await handle` raises JobAmbiguousError and its `pin` branch runs too.
            earlier = await app.export(force_job=True)
            assert isinstance(earlier, JobHandle)
            await earlier
            scope = await run(app, earlier.job_id, earlier.enqueued_at, earlier.log_id)
            assert scope["outcome"].status == "completed"
            # The handle re-created with a known log id follows that entry.
            assert (await scope["handle"]).status == "completed"
