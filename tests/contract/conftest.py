"""Fixtures of the contract tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from losant_async import (
    AsyncApplication,
)
from losant_async.testing import LocalLosant


@pytest.fixture
def local_app(local_server: LocalLosant, app_id: str) -> Callable[..., AsyncApplication]:
    """A factory of façades on the local Losant."""

    def make(**kwargs: Any) -> AsyncApplication:
        kwargs.setdefault("token", local_server.token)
        kwargs.setdefault("base_url", local_server.base_url)
        return AsyncApplication(app_id, **kwargs)

    return make


@pytest.fixture
def job_app(local_server: LocalLosant) -> Iterator[Callable[..., AsyncApplication]]:
    """Façades, each on a fresh local application whose export always answers 202.

    One job per application: exports of one application enqueued within the
    clock-skew window of each other are rightly ambiguous (API.md "Jobs").
    """

    def make(**kwargs: Any) -> AsyncApplication:
        app_id = local_server.create_application(name="Big", requires_job=True)
        return AsyncApplication(
            app_id, token=local_server.token, base_url=local_server.base_url, **kwargs
        )

    yield make
    local_server.faults.clear()
    local_server.job_duration = 0.05
