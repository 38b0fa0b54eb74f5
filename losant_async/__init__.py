"""losant_async: an async, typed client for the Losant Application API.

Names load on first use (PEP 562) so that ``import losant_async`` and the
command line's ``--help`` stay fast: httpx, attrs and cattrs are imported only
when a name that needs them is touched.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from ._application import AsyncApplication
    from ._client import AsyncLosant
    from ._exceptions import (
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ClientClosedError,
        ConflictError,
        InternalServerError,
        JobAmbiguousError,
        JobFailedError,
        LosantError,
        NotFoundError,
        PermissionDeniedError,
        PoolTimeoutError,
        RateLimitError,
        ResponseTooLargeError,
        TooLargeError,
        UnprocessableEntityError,
    )
    from ._jobs import JobError, JobHandle, JobOutcome, JobProgress
    from ._models import (
        Application,
        ApplicationApplyTemplatePatch,
        ApplicationArchiveConfig,
        ApplicationArchiveConfigApplicationExportOptions,
        ApplicationArchiveConfigApplicationExportOptionsRepo,
        ApplicationArchiveConfigAzure,
        ApplicationArchiveConfigDeviceTag,
        ApplicationArchiveConfigGcs,
        ApplicationArchiveConfigS3,
        ApplicationCloneDryRunResult,
        ApplicationClonePost,
        ApplicationCreationByTemplateResult,
        ApplicationExportPost,
        ApplicationExportPostRepo,
        ApplicationExportResult,
        ApplicationFtueTracking,
        ApplicationGlobal,
        ApplicationImportExecution,
        ApplicationImportExecutionDryRunResults,
        ApplicationImportExecutionError,
        ApplicationImportExecutionRepo,
        ApplicationImportOptions,
        ApplicationJobLog,
        ApplicationJobLogError,
        ApplicationJobLogProgress,
        ApplicationJobLogs,
        ApplicationPatch,
        ApplicationReadme,
        ApplicationReadmePatch,
        ApplicationSearchResultItem,
        ApplicationSearchResultItemMetadata,
        ApplicationSummary,
        ApplicationSummaryNotebookStats,
        ApplicationSummaryStorageStats,
        DeviceCounts,
        DeviceCountsCount,
        Error,
        ImportIntoApplicationOptions,
        ImportIntoApplicationOptionsRepo,
        JobEnqueuedResult,
        MqttMessage,
        NotebookMinuteCounts,
        NotebookMinuteCountsCount,
        PayloadCountsBreakdown,
        PayloadCountsBreakdownCount,
        PayloadStats,
        Success,
        ValidationErrorItem,
        ValidationErrors,
    )
    from ._streams import MqttStream, MqttStreamGroup, StreamGap

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Application",
    "ApplicationApplyTemplatePatch",
    "ApplicationArchiveConfig",
    "ApplicationArchiveConfigApplicationExportOptions",
    "ApplicationArchiveConfigApplicationExportOptionsRepo",
    "ApplicationArchiveConfigAzure",
    "ApplicationArchiveConfigDeviceTag",
    "ApplicationArchiveConfigGcs",
    "ApplicationArchiveConfigS3",
    "ApplicationCloneDryRunResult",
    "ApplicationClonePost",
    "ApplicationCreationByTemplateResult",
    "ApplicationExportPost",
    "ApplicationExportPostRepo",
    "ApplicationExportResult",
    "ApplicationFtueTracking",
    "ApplicationGlobal",
    "ApplicationImportExecution",
    "ApplicationImportExecutionDryRunResults",
    "ApplicationImportExecutionError",
    "ApplicationImportExecutionRepo",
    "ApplicationImportOptions",
    "ApplicationJobLog",
    "ApplicationJobLogError",
    "ApplicationJobLogProgress",
    "ApplicationJobLogs",
    "ApplicationPatch",
    "ApplicationReadme",
    "ApplicationReadmePatch",
    "ApplicationSearchResultItem",
    "ApplicationSearchResultItemMetadata",
    "ApplicationSummary",
    "ApplicationSummaryNotebookStats",
    "ApplicationSummaryStorageStats",
    "AsyncApplication",
    "AsyncLosant",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "DeviceCounts",
    "DeviceCountsCount",
    "Error",
    "ImportIntoApplicationOptions",
    "ImportIntoApplicationOptionsRepo",
    "InternalServerError",
    "JobAmbiguousError",
    "JobEnqueuedResult",
    "JobError",
    "JobFailedError",
    "JobHandle",
    "JobOutcome",
    "JobProgress",
    "LosantError",
    "MqttMessage",
    "MqttStream",
    "MqttStreamGroup",
    "NotebookMinuteCounts",
    "NotebookMinuteCountsCount",
    "NotFoundError",
    "PayloadCountsBreakdown",
    "PayloadCountsBreakdownCount",
    "PayloadStats",
    "PermissionDeniedError",
    "PoolTimeoutError",
    "RateLimitError",
    "ResponseTooLargeError",
    "StreamGap",
    "Success",
    "TooLargeError",
    "UnprocessableEntityError",
    "ValidationErrorItem",
    "ValidationErrors",
]


# Where each public name lives; every other name in __all__ is a model.
_HOMES: dict[str, str] = {
    "AsyncApplication": "._application",
    "AsyncLosant": "._client",
    "JobError": "._jobs",
    "JobHandle": "._jobs",
    "JobOutcome": "._jobs",
    "JobProgress": "._jobs",
    "MqttStream": "._streams",
    "MqttStreamGroup": "._streams",
    "StreamGap": "._streams",
    **dict.fromkeys(
        (
            "APIConnectionError",
            "APIError",
            "APIResponseValidationError",
            "APIStatusError",
            "APITimeoutError",
            "AuthenticationError",
            "BadRequestError",
            "ClientClosedError",
            "ConflictError",
            "InternalServerError",
            "JobAmbiguousError",
            "JobFailedError",
            "LosantError",
            "NotFoundError",
            "PermissionDeniedError",
            "PoolTimeoutError",
            "RateLimitError",
            "ResponseTooLargeError",
            "TooLargeError",
            "UnprocessableEntityError",
        ),
        "._exceptions",
    ),
}


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = _HOMES.get(name, "._models")
    value = getattr(_importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
