"""What users install: the sdist and the wheel built from it, in a fresh venv.

The wheel is built the way a package index would build it (``python -m build``:
the sdist first, then the wheel from the unpacked sdist, so a file the sdist
forgets breaks the wheel), installed with its ``demo`` extra into a new venv
(its dependencies come from the package index), and run from outside this tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

# Generous: building runs hatchling in two throwaway venvs, and installing
# fetches the dependencies; a loaded 2-core machine takes about a minute.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
_STEP_TIMEOUT = 240


def _run(
    args: list[str], *, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=_STEP_TIMEOUT, check=False
    )
    assert result.returncode == 0, f"{args[:4]} exited {result.returncode}:\n{result.stderr}"
    return result


def _clean_env() -> dict[str, str]:
    """This environment without anything that would point a child back at this tree."""
    drop = ("LOSANT_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel ``python -m build`` makes from this tree."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], env=_clean_env())
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_wheel_and_sdist_ship_the_license_and_py_typed(dist: dict[str, Path]) -> None:
    """Both archives carry LICENSE and ``py.typed``; the metadata names the licence and URLs."""
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
        info = f"losant_async-{VERSION}.dist-info"
        assert f"{info}/licenses/LICENSE" in names
        assert "losant_async/py.typed" in names
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert {url.split(",")[0] for url in metadata.get_all("Project-URL") or []} == {
        "Documentation",
        "Changelog",
    }
    classifiers = metadata.get_all("Classifier") or []
    for minor in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {minor}" in classifiers
    with tarfile.open(dist["sdist"]) as sdist:
        top = f"losant_async-{VERSION}"
        members = set(sdist.getnames())
    for path in ("LICENSE", "README.md", "CHANGELOG.md", "losant_async/py.typed"):
        assert f"{top}/{path}" in members, path
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 losant_async developers" in license_text


def test_wheel_installs_into_a_fresh_venv_and_runs_the_demo(
    dist: dict[str, Path], tmp_path: Path
) -> None:
    """``pip install '<wheel>[demo]'`` in a new venv gives a working ``losant-async demo``."""
    venv = tmp_path / "venv"
    env = _clean_env()
    _run([sys.executable, "-m", "venv", str(venv)], env=env)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", f"{dist['wheel']}[demo]"], env=env)
    # Run from an empty directory, so that nothing imports this tree's package.
    where = _run(
        [str(python), "-c", "import losant_async as m; print(m.__version__); print(m.__file__)"],
        env=env,
        cwd=tmp_path,
    ).stdout.split("\n")
    assert where[0] == VERSION
    assert Path(where[1]).is_relative_to(venv)
    demo = _run([str(venv / "bin" / "losant-async"), "demo"], env=env, cwd=tmp_path)
    assert "Traceback" not in demo.stderr
