"""The public surface of `losant_async.testing`: the retry test switch, lazy loading."""

from __future__ import annotations

import subprocess
import sys

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
