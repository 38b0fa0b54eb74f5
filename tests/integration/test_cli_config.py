"""The command line with a bad configuration: exit 2 (usage) at once, not a network error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

APP_ID = "575ec8687ae143cd83dc4a97"
USAGE = 2
# Far below the ~1.5 s of retries plus a connect attempt that a bad URL used to cost.
FAST = 20.0


def _run(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOSANT_")}
    clean["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this checkout's package
    clean.update(env or {})
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "losant_async", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize(
    "url", ["api.losant.com", "ftp://api.losant.com", "https://api losant.com"]
)
def test_base_url_without_scheme_exits_2(url: str) -> None:
    """`--base-url` that is not http(s)://host exits 2 (usage) naming base_url, not 6 (network)."""
    done, elapsed = _run(
        "get", "--token", "tok_cli_1234", "--base-url", url, "--application", APP_ID
    )
    assert done.returncode == USAGE, done.stderr
    assert "base_url" in done.stderr
    assert "tok_cli_1234" not in done.stderr
    assert elapsed < FAST


def test_bad_base_url_in_the_environment_exits_2() -> None:
    """A LOSANT_API_URL without a scheme is a usage error too."""
    env = {"LOSANT_API_URL": "localhost:8080", "LOSANT_API_TOKEN": "tok_cli_1234"}
    done, _ = _run("get", "--application", APP_ID, env=env)
    assert done.returncode == USAGE, done.stderr
    assert "http:// or https://" in done.stderr


def test_token_with_a_non_ascii_character_exits_2() -> None:
    """A token with a non-ASCII character exits 2 with a ValueError, not a UnicodeEncodeError."""
    done, _ = _run(
        "get", "--token", "tok_ü_1234", "--base-url", "http://127.0.0.1:9", "--application", APP_ID
    )
    assert done.returncode == USAGE, done.stderr
    assert "visible ASCII" in done.stderr
    assert "UnicodeEncodeError" not in done.stderr
