"""losant_async: an async, typed client for the Losant Application API.

The public names are listed once, in the ``TYPE_CHECKING`` imports below:
``_lazy`` reads them to load each name on first use (PEP 562), for ``dir()``,
and to set each class's ``__module__`` to ``losant_async``. ``__all__`` repeats
them because ``mypy --strict`` reads re-exports only from a literal
``__all__`` (or ``X as X`` imports); a test keeps the two equal. Loading on
first use keeps ``import losant_async`` and the command line's ``--help``
fast: httpx, attrs and cattrs are imported only when a name needs them.
"""

from __future__ import annotations

import typing as _typing

from . import _lazy

if _typing.TYPE_CHECKING:
    # The installed distribution's version, read from its metadata on first use.
    __version__: str

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
    from ._jobs._whole import JobNotFollowableError, UnfollowableJobHandle
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
    from ._pages import AsyncPager
    from ._raw import RawResponse
    from ._streams import MqttStream, MqttStreamGroup, StreamGap, StreamState
    from ._streams._device import DeviceStream, mqtt_json

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
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "DeviceCounts",
    "DeviceCountsCount",
    "DeviceStream",
    "Error",
    "ImportIntoApplicationOptions",
    "ImportIntoApplicationOptionsRepo",
    "InternalServerError",
    "JobAmbiguousError",
    "JobEnqueuedResult",
    "JobError",
    "JobFailedError",
    "JobHandle",
    "JobNotFollowableError",
    "JobOutcome",
    "JobProgress",
    "LosantError",
    "mqtt_json",
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
    "RawResponse",
    "ResponseTooLargeError",
    "StreamGap",
    "StreamState",
    "Success",
    "TooLargeError",
    "UnfollowableJobHandle",
    "UnprocessableEntityError",
    "ValidationErrorItem",
    "ValidationErrors",
]


def _version() -> str:
    """``__version__``: importlib.metadata costs milliseconds, so only when asked."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("losant-async")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


_lazy.install(__name__, {"__version__": _version})
