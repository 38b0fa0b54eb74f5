"""The public surface of `losant_async.testing`: the retry test switch, lazy loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import losant_async.testing
from losant_async import _retry


def test_set_testing_switches_every_delay_to_zero_and_back() -> None:
    """`losant_async.testing.set_testing` is the switch the retry loop and reconnects read."""
    assert losant_async.testing.set_testing is _retry.set_testing
    before = _retry._zero_delay
    try:
        losant_async.testing.set_testing(zero_delay=False)
        assert _retry._zero_delay is False
        losant_async.testing.set_testing(zero_delay=True)
        assert _retry._zero_delay is True
    finally:
        _retry.set_testing(zero_delay=before)


def test_set_testing_is_public() -> None:
    """`set_testing` is listed in `__all__` and shown by `dir()`."""
    assert "set_testing" in losant_async.testing.__all__
    assert "set_testing" in dir(losant_async.testing)


def test_import_is_cheap() -> None:
    """Importing the package (and using `set_testing`) loads no server library."""
    code = (
        "import sys, losant_async.testing as t; t.set_testing(zero_delay=True); "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jsonschema') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_show_the_public_path() -> None:
    """Every public name of `losant_async.testing` says it lives there (reprs, tracebacks)."""
    for name in losant_async.testing.__all__:
        assert getattr(losant_async.testing, name).__module__ == "losant_async.testing", name
    assert losant_async.testing.__all__ == ["Faults", "LocalLosant", "set_testing"]


# A sitecustomize that makes the testing extra's libraries look uninstalled.
_NO_TESTING_EXTRA = """
import importlib.abc, sys

class _Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("starlette", "uvicorn", "jsonschema", "click"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Missing())
"""


def test_missing_testing_extra_gives_the_install_hint(tmp_path: Path) -> None:
    """Without the testing extra, the package still imports and LocalLosant names the extra."""
    (tmp_path / "sitecustomize.py").write_text(_NO_TESTING_EXTRA)
    code = (
        "import losant_async.testing as t, losant_async.testing.pytest_plugin\n"
        "t.set_testing(zero_delay=False)\n"
        "try:\n    from losant_async.testing import LocalLosant\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert "install the 'testing' extra" in out.stdout
    assert "pip install -e '.[testing]'" in out.stdout
    assert "starlette" in out.stdout
    assert out.stderr == ""
    # The command line's hint has the same shape.
    cli = subprocess.run(
        [sys.executable, "-m", "losant_async", "get"], capture_output=True, text=True, env=env
    )
    assert cli.returncode == 1
    assert "install the 'cli' extra, pip install -e '.[cli]' in a clone" in cli.stderr
