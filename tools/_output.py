"""What every generator in tools/ shares: formatting its output and writing or checking it."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff_format(text: str, path: Path) -> str:
    """Pass generated source through ``ruff format`` (the project's style), if installed."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    except (OSError, subprocess.CalledProcessError):
        return text
    return done.stdout


def write_or_check(path: Path, text: str, *, check: bool, tool: str, what: str) -> int:
    """Write ``text`` to ``path`` (or, with ``check``, fail with a diff if it differs).

    Returns the exit status: 1 only when ``check`` finds the file stale.
    """
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    name = path.relative_to(ROOT)
    if check:
        if current != text:
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(True), text.splitlines(True), str(name), "generated"
                )
            )
            print(f"stale: {name} (run tools/{tool})")
            return 1
        print(f"{what} are current")
        return 0
    if current != text:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {name}")
    else:
        print(f"{what} already current")
    return 0
