"""The package's copy of the spec matches shared/spec, and the generated models are current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_SPEC = ROOT / "losant_async" / "_spec"
SHARED_SPEC = ROOT.parent / "shared" / "spec"


@pytest.mark.parametrize("folder", ["schemas", "api"])
def test_package_spec_equals_shared_spec(folder: str) -> None:
    """Every schema and API file in losant_async/_spec is byte for byte the shared one."""
    if not SHARED_SPEC.is_dir():
        pytest.skip("shared/spec is not beside this checkout")
    shared = {p.name: p.read_bytes() for p in sorted((SHARED_SPEC / folder).glob("*.json"))}
    copied = {p.name: p.read_bytes() for p in sorted((PACKAGE_SPEC / folder).glob("*.json"))}
    assert shared
    assert sorted(copied) == sorted(shared)
    for name, content in shared.items():
        assert copied[name] == content, name


def test_generated_models_are_current() -> None:
    """``tools/gen_models.py --check`` finds the committed models up to date."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_models.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "models are current" in done.stdout
