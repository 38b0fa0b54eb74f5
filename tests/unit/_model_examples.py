"""Realistic bodies for every schema: the reference page's examples, filled out from the schemas."""

from __future__ import annotations

from typing import Any

APP_ID = "575ec8687ae143cd83dc4a97"

_PAYLOAD_SOURCES = [
    "appFile", "dataTable", "deviceCreate", "deviceCommand", "deviceConnect",
    "deviceDisconnect", "deviceState", "endpoint", "event", "flowError", "inboundEmail",
    "integration", "mqttIn", "mqttOut", "notebook", "resourceJob", "timer",
    "virtualButton", "webhook",
]  # fmt: skip

PAYLOAD_STATS: dict[str, Any] = {
    source: {"total": 120.0, "gateway": 20.0} for source in _PAYLOAD_SOURCES
}

# spec/losant-application-actions.txt "Application Example" (10 keys), with
# every other property of spec/schemas/application.json filled in.
APPLICATION: dict[str, Any] = {
    "id": APP_ID,
    "applicationId": APP_ID,
    "creationDate": "2016-06-13T04:00:00.000Z",
    "lastUpdated": "2016-06-13T04:00:00.000Z",
    "appliedTemplateIds": ["575ec8687ae143cd83dc4a98"],
    "ownerId": "575ed70c7ae143cd83dc4aa9",
    "ownerType": "user",
    "organizationName": "Acme",
    "organizationIconColor": "#ff0000",
    "name": "My Application",
    "description": "The is the best application description",
    "endpointSlug": "my-app",
    "expUserTokenCutoff": "2016-06-13T04:00:00.000Z",
    "endpointDefaultCors": True,
    "globals": [
        {
            "key": "keyHere",
            "json": '"my json data here"',
            "cloudOnly": True,
            "description": "Description of my application global",
        },
        {"key": "anotherKey", "json": '"more json"', "cloudOnly": False},
    ],
    "blobUrlTTL": 86400.0,
    "summary": {
        "apiTokenCount": 1,
        "certificateCount": 0,
        "certificateAuthorityCount": 0,
        "credentialCount": 1,
        "dashCount": 1,
        "dataTableCount": 0,
        "deviceCount": 1,
        "deviceRecipeCount": 0,
        "eventCount": 0,
        "experienceDomainCount": 0,
        "experienceEndpointCount": 0,
        "experienceGroupCount": 0,
        "experienceSlugCount": 0,
        "experienceUserCount": 0,
        "experienceVersionCount": 0,
        "experienceViewCount": 0,
        "fileCount": 0,
        "flowCount": 1,
        "integrationCount": 0,
        "keyCount": 1,
        "notebookCount": 0,
        "privateFileCount": 0,
        "resourceJobCount": 0,
        "webhookCount": 0,
        "payloadCount": PAYLOAD_STATS,
        "storageStats": {"count": 3, "size": 1024},
        "notebookStats": {"awaitingCompletion": 0, "minutesThisPeriod": 5, "runsThisPeriod": 2},
    },
    "ftueTracking": [{"name": "intro", "version": 1.0, "status": "completed"}],
    "archiveConfig": {
        "directory": "archives",
        "mode": "whitelist",
        "deviceIds": ["575ecf887ae143cd83dc4aa2"],
        "deviceTags": [{"key": "floor", "value": "8"}],
        "includeDevices": True,
        "includeEvents": False,
        "includeDataTables": True,
        "dataTablesMode": "all",
        "dataTableIds": [],
        "includeApplicationExport": True,
        "applicationExportOptions": {
            "includeFiles": True,
            "includePrivateFiles": False,
            "includeDataTableRows": False,
            "includeDevices": True,
            "exportType": "repo",
            "credentialName": "github",
            "repo": {"branch": "main", "directory": "/", "commitMessage": "nightly"},
        },
        "delayDays": 1,
        "s3": {
            "bucket": "my-bucket",
            "accessKeyId": "AKIAEXAMPLE",
            "secretAccessKey": "secretExample",
            "region": "us-east-1",
        },
        "credentialName": "aws",
        "gcs": {"projectId": "proj", "keyJson": "{}{}", "bucket": "gcs-bucket"},
        "azure": {"account": "acct", "accountKey": "key", "bucket": "azure-bucket"},
    },
}

JOB_LOG: dict[str, Any] = {
    "id": "5f8de3ba8a6b2a0007a8a1b0",
    "jobId": "5f8de3ba8a6b2a0007a8a1b1",
    "jobExecutionId": "5f8de3ba8a6b2a0007a8a1b2",
    "name": "export",
    "applicationId": APP_ID,
    "runQueuedAt": "2020-10-19T19:00:00.000Z",
    "runStartedAt": "2020-10-19T19:00:01.000Z",
    "runCompletedAt": "2020-10-19T19:00:05.500Z",
    "status": "completed",
    "requestedById": "575ed70c7ae143cd83dc4aa9",
    "requestedByType": "user",
    "ownerType": "application",
    "ownerId": APP_ID,
    "resourceType": "application",
    "resourceId": APP_ID,
    "progress": {"completed": 10.0, "total": 10.0, "status": "done"},
    "error": {"name": "Error", "message": "nothing"},
    "input": {"callbackUrl": "https://example.com/cb", "emails": ["a@example.com"]},
    "output": {"downloadUrls": ["https://example.com/export.zip"], "created": 3},
}

IMPORT_EXECUTION: dict[str, Any] = {
    "id": "5f8de3ba8a6b2a0007a8a1c0",
    "importSourceType": "importBundle",
    "importExecutionId": "5f8de3ba8a6b2a0007a8a1c1",
    "applicationId": APP_ID,
    "fromApplicationId": "575ec8687ae143cd83dc4a98",
    "runQueuedAt": "2020-10-19T19:00:00.000Z",
    "runStartedAt": "2020-10-19T19:00:01.000Z",
    "runCompletedAt": "2020-10-19T19:00:02.000Z",
    "status": "completed",
    "dryRun": False,
    "conflictBehavior": "create",
    "callbackUrl": "https://example.com/cb",
    "email": "email@example.com",
    "include": ["Flow", "Device"],
    "jobId": "clnHvJbyVkOWAZwYAwLP4",
    "sourceId": "575ed70c7ae143cd83dc4aa9",
    "sourceType": "user",
    "error": {"name": "ImportError", "message": "bad bundle"},
    "dryRunResults": {"limitErrors": ["Device"], "url": "https://example.com/dry.json"},
    "validationErrors": [{"type": "Flow", "name": "My flow", "id": "1", "message": "bad"}],
    "importedFileUrl": "https://example.com/bundle.zip",
    "importUrl": "https://storage.example.com/myZipFile.zip",
    "credentialName": "github",
    "repo": {"branch": "main", "directory": "/app"},
}

VALIDATION_ITEM = {
    "type": "Flow",
    "name": "My Flow",
    "id": "575ec8687ae143cd83dc4a99",
    "message": "Node is invalid",
}

# (schema name, class name, body); array schemas hold a list.
EXAMPLES: list[tuple[str, str, Any]] = [
    ("application", "Application", APPLICATION),
    (
        "applicationApplyTemplatePatch",
        "ApplicationApplyTemplatePatch",
        {
            "templateId": APP_ID,
            "email": "email@example.com",
            "callbackUrl": "https://example.com/cb",
        },
    ),
    (
        "applicationCloneDryRunResult",
        "ApplicationCloneDryRunResult",
        {"success": True, "requiresJob": False},
    ),
    (
        "applicationClonePost",
        "ApplicationClonePost",
        {
            "dryRun": False,
            "includeFiles": True,
            "includePrivateFiles": False,
            "includeDataTableRows": False,
            "includeDevices": True,
            "ownerId": "575ec8687ae143cd83dc4a98",
            "ownerType": "organization",
            "email": "email@example.com",
            "callbackUrl": "https://example.com/cb",
            "forceJob": True,
        },
    ),
    (
        "applicationCreationByTemplateResult",
        "ApplicationCreationByTemplateResult",
        {"application": APPLICATION, "validationErrors": [VALIDATION_ITEM]},
    ),
    (
        "applicationExportPost",
        "ApplicationExportPost",
        {
            "includeFiles": True,
            "includePrivateFiles": False,
            "includeDataTableRows": True,
            "includeDevices": True,
            "email": "test@example.com",
            "callbackUrl": "https://example.com/cb",
            "forceJob": False,
            "exportType": "repo",
            "credentialName": "github",
            "repo": {"branch": "main", "directory": "/", "commitMessage": "export"},
        },
    ),
    (
        "applicationExportResult",
        "ApplicationExportResult",
        {"url": "https://example.com/applicationExport.zip"},
    ),
    (
        "applicationGlobalPatch",
        "ApplicationGlobal",
        [
            {
                "key": "keyHere",
                "description": "Description of my application global",
                "json": '"my json data here"',
                "cloudOnly": True,
            },
            {"key": "anotherKey", "json": '"more json"', "cloudOnly": False},
        ],
    ),
    ("applicationImportExecutions", "ApplicationImportExecution", [IMPORT_EXECUTION]),
    (
        "applicationImportOptions",
        "ApplicationImportOptions",
        {
            "importUrl": "https://storage.example.com/myZipFile.zip",
            "callbackUrl": "https://example.com/cb",
            "include": ["Flow", "Device"],
        },
    ),
    ("applicationJobLog", "ApplicationJobLog", JOB_LOG),
    (
        "applicationJobLogs",
        "ApplicationJobLogs",
        {
            "items": [JOB_LOG],
            "count": 1,
            "totalCount": 1,
            "query": {"name": "export"},
            "perPage": 100,
            "page": 0,
            "sortField": "runQueuedAt",
            "sortDirection": "desc",
            "applicationId": APP_ID,
        },
    ),
    (
        "applicationPatch",
        "ApplicationPatch",
        {
            "name": "My Updated Application",
            "description": "Description of my updated application",
            "endpointSlug": "my-updated-app",
            "expUserTokenCutoff": "2016-06-13T04:00:00.000Z",
            "endpointDefaultCors": False,
            "globals": APPLICATION["globals"],
            "ftueTracking": APPLICATION["ftueTracking"],
            "archiveConfig": APPLICATION["archiveConfig"],
            "blobUrlTTL": 3600.0,
        },
    ),
    (
        "applicationReadme",
        "ApplicationReadme",
        {
            "applicationId": APP_ID,
            "lastUpdated": "2016-06-13T04:00:00.000Z",
            "lastUpdatedById": "575ed70c7ae143cd83dc4aa9",
            "lastUpdatedByType": "user",
            "content": "The readme content",
        },
    ),
    ("applicationReadmePatch", "ApplicationReadmePatch", {"content": "The new readme content"}),
    (
        "applicationSearchResult",
        "ApplicationSearchResultItem",
        [
            {
                "id": "575ecf887ae143cd83dc4aa2",
                "name": "My Device",
                "_type": "device",
                "deviceClass": "cloud",
            },
            {
                "id": "575ecf887ae143cd83dc4aa3",
                "name": "My Flow",
                "_type": "flow",
                "flowClass": "standalone",
                "version": "develop",
                "viewType": "page",
                "metadata": {
                    "descriptor": "d",
                    "parentDirectory": "/",
                    "contentType": "text/plain",
                },
            },
        ],
    ),
    (
        "deviceCounts",
        "DeviceCounts",
        {
            "start": "1999-05-20T05:00:00.000Z",
            "end": "1999-06-20T04:59:59.999Z",
            "counts": [
                {"date": "1999-05-20T05:00:00.000Z", "created": 1, "deleted": 0, "total": 7}
            ],
        },
    ),
    ("error", "Error", {"type": "NotFound", "message": "Application was not found"}),
    (
        "importIntoApplicationOptions",
        "ImportIntoApplicationOptions",
        {
            "fromApplicationId": "575ec8687ae143cd83dc4a98",
            "importUrl": "https://storage.example.com/myZipFile.zip",
            "callbackUrl": "https://example.com/cb",
            "conflictBehavior": "replace",
            "dryRun": True,
            "forceJob": False,
            "include": ["Flow", "Device"],
            "credentialName": "github",
            "repo": {"branch": "main", "directory": "/"},
        },
    ),
    (
        "jobEnqueuedResult",
        "JobEnqueuedResult",
        {"jobQueued": True, "jobId": "clnHvJbyVkOWAZwYAwLP4", "success": True},
    ),
    ("mqttPublishBody", "MqttMessage", {"topic": "an/mqtt/topic", "message": "The MQTT message!"}),
    (
        "notebookMinuteCounts",
        "NotebookMinuteCounts",
        {
            "start": "1999-05-20T05:00:00.000Z",
            "end": "1999-06-20T04:59:59.999Z",
            "counts": [
                {
                    "date": "1999-05-20T05:00:00.000Z",
                    "minutes": 3,
                    "completed": 2,
                    "canceled": 0,
                    "errored": 1,
                    "timeout": 0,
                }
            ],
        },
    ),
    (
        "payloadCountsBreakdown",
        "PayloadCountsBreakdown",
        {
            "start": "1999-05-20T05:00:00.000Z",
            "end": "1999-06-20T04:59:59.999Z",
            "counts": [{"date": "1999-05-20T05:00:00.000Z", "value": 42}],
        },
    ),
    ("payloadStats", "PayloadStats", PAYLOAD_STATS),
    ("success", "Success", {"success": True}),
    (
        "validationErrors",
        "ValidationErrors",
        {
            "type": "Validation",
            "message": "Too many validation errors occurred.",
            "validationErrors": [VALIDATION_ITEM],
        },
    ),
]
