"""LOSANT_LOG and what the losant_async logger says (losant_async/_logging.py)."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import respx

from losant_async import AsyncApplication, AsyncLosant
from losant_async._logging import EnvHandler, reset_for_tests
from tests.conftest import APP_ID, BASE_URL

SECRET = "tok-0123456789abcdef"  # long enough to be remembered for redaction
LOGGER = logging.getLogger("losant_async")


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """LOSANT_LOG not yet read, and no handler of its own, before and after the test."""
    reset_for_tests()
    yield
    reset_for_tests()


def _env_handlers() -> list[logging.Handler]:
    return [h for h in LOGGER.handlers if isinstance(h, EnvHandler)]


@pytest.mark.usefixtures("fresh_logging")
def test_losant_log_debug_adds_one_stderr_handler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """LOSANT_LOG=debug: the first client adds one stderr handler at DEBUG that redacts tokens."""
    monkeypatch.setenv("LOSANT_LOG", "debug")
    assert _env_handlers() == []
    AsyncLosant(SECRET, base_url=BASE_URL)
    AsyncApplication(APP_ID, token=SECRET, base_url=BASE_URL)
    assert len(_env_handlers()) == 1
    assert LOGGER.level == logging.DEBUG
    LOGGER.debug("sent with Authorization: Bearer %s", SECRET)
    err = capsys.readouterr().err
    assert "DEBUG losant_async: sent with Authorization: Bearer" in err
    assert SECRET not in err


@pytest.mark.usefixtures("fresh_logging")
@pytest.mark.parametrize(("value", "level"), [("info", logging.INFO), ("INFO ", logging.INFO)])
def test_losant_log_info(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: str,
    level: int,
) -> None:
    """LOSANT_LOG=info (any case) sets INFO: DEBUG lines stay out of stderr."""
    monkeypatch.setenv("LOSANT_LOG", value)
    AsyncLosant("t", base_url=BASE_URL)
    assert LOGGER.level == level
    LOGGER.debug("not shown")
    LOGGER.info("shown")
    err = capsys.readouterr().err
    assert "shown" in err
    assert "not shown" not in err


@pytest.mark.usefixtures("fresh_logging")
@pytest.mark.parametrize("value", ["", "verbose", "0"])
def test_losant_log_unset_or_unknown_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Without LOSANT_LOG, or with a value it does not know, logging is left as it was."""
    monkeypatch.setenv("LOSANT_LOG", value)
    AsyncLosant("t", base_url=BASE_URL)
    assert _env_handlers() == []
    assert LOGGER.level == logging.NOTSET


def test_losant_log_is_not_read_at_import() -> None:
    """`import losant_async` (and loading the client's module) adds no handler; a client does."""
    code = (
        "import logging, losant_async; losant_async.AsyncLosant; "
        "h = logging.getLogger('losant_async').handlers; assert h == [], h; "
        "losant_async.AsyncLosant('t', base_url='https://x.test'); "
        "losant_async.AsyncLosant('t', base_url='https://x.test'); "
        "h = logging.getLogger('losant_async').handlers; assert len(h) == 1, h"
    )
    env = {"LOSANT_LOG": "debug", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.anyio
async def test_retries_are_logged_at_info(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry is an INFO line: method, path, status or error, retry n of m, delay; no token."""
    route = respx_mock.get(f"/applications/{APP_ID}/readme")
    route.side_effect = [
        respx.MockResponse(503, json={"type": "x"}),
        respx.MockResponse(429, json={"type": "x"}),
        respx.MockResponse(200, json={"applicationId": APP_ID, "content": ""}),
    ]
    caplog.set_level(logging.INFO, logger="losant_async")
    async with AsyncLosant(SECRET, base_url=BASE_URL) as client:
        await client.application(APP_ID).readme()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    path = f"/applications/{APP_ID}/readme"
    assert lines == [
        f"GET {path} -> 503: retry 1 of 2 in 0.00 s",
        f"GET {path} -> 429: retry 2 of 2 in 0.00 s",
    ]
    assert all(SECRET not in r.getMessage() for r in caplog.records)


@pytest.mark.usefixtures("fresh_logging")
def test_losant_log_leaves_a_configured_logger_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A losant_async logger with a handler already (the app's, the CLI's) gets no second one."""
    monkeypatch.setenv("LOSANT_LOG", "debug")
    own = logging.NullHandler()
    LOGGER.addHandler(own)
    try:
        AsyncLosant("t", base_url=BASE_URL)
        assert LOGGER.handlers == [own]
        assert LOGGER.level == logging.NOTSET
    finally:
        LOGGER.removeHandler(own)
