"""Contract tests: API.md, Details: Imports: every public name, and the error tree.

Black-box: only the public surface (``losant_async``, ``losant_async.testing``),
httpx, respx, pytest and anyio.
"""

from __future__ import annotations

import pytest

import losant_async
from losant_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    JobAmbiguousError,
    JobFailedError,
    LosantError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TooLargeError,
    UnprocessableEntityError,
)

PUBLIC_NAMES = [
    "AsyncLosant",
    "AsyncApplication",
    "MqttStream",
    "MqttMessage",
    "JobHandle",
    "JobOutcome",
    "JobProgress",
    "LosantError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "TooLargeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "APIConnectionError",
    "APITimeoutError",
    "JobFailedError",
    "JobAmbiguousError",
    "APIResponseValidationError",
    "Application",
    "ApplicationPatch",
    "ApplicationApplyTemplatePatch",
    "ApplicationClonePost",
    "ApplicationCloneDryRunResult",
    "ApplicationCreationByTemplateResult",
    "ApplicationExportPost",
    "ApplicationExportResult",
    "ApplicationGlobal",
    "ApplicationImportExecution",
    "ApplicationImportOptions",
    "ImportIntoApplicationOptions",
    "ApplicationJobLog",
    "ApplicationJobLogs",
    "ApplicationReadme",
    "ApplicationReadmePatch",
    "ApplicationSearchResultItem",
    "DeviceCounts",
    "Error",
    "JobEnqueuedResult",
    "NotebookMinuteCounts",
    "PayloadCountsBreakdown",
    "PayloadStats",
    "Success",
    "ValidationErrors",
]


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_importable(name: str) -> None:
    """Details/Imports: every public name is importable from losant_async and listed in __all__."""
    assert name in losant_async.__all__
    assert getattr(losant_async, name) is not None


def test_error_tree() -> None:
    """Errors: LosantError is the root; status errors subclass APIStatusError; timeout is a
    connection error."""
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        TooLargeError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)
    assert issubclass(APITimeoutError, APIConnectionError)
    for other in (
        APIStatusError,
        APIConnectionError,
        APIResponseValidationError,
        JobFailedError,
        JobAmbiguousError,
    ):
        assert issubclass(other, LosantError)
