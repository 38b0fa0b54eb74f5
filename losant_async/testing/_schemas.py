"""The packaged spec: JSON Schemas, action table and token scopes of the Application resource."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jsonschema


def _read_spec(folder: str, name: str) -> Any:
    # Read from the package (never from ../shared) so an installed wheel works.
    node = resources.files("losant_async").joinpath("_spec").joinpath(folder).joinpath(name)
    return json.loads(node.read_text(encoding="utf-8"))


@functools.cache
def schema(name: str) -> Mapping[str, Any]:
    """The JSON Schema `spec/schemas/<name>.json`."""
    loaded: Mapping[str, Any] = _read_spec("schemas", f"{name}.json")
    return loaded


@functools.cache
def _validator(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        schema(name), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def validation_error(name: str, instance: object, *, where: str) -> str | None:
    """The most relevant schema violation of `instance` as one line, or None when valid."""
    error = jsonschema.exceptions.best_match(_validator(name).iter_errors(instance))
    if error is None:
        return None
    path = ".".join([where, *(str(part) for part in error.absolute_path)])
    return f"{path}: {error.message}"


@functools.cache
def api() -> Mapping[str, Any]:
    """`spec/api/application.json`: the Application resource and the job log resources."""
    loaded: Mapping[str, Any] = _read_spec("api", "application.json")
    return loaded


def response_schema(resource: str, action: str, status: int) -> str | None:
    """The schema name the spec gives for `status` of `resource.action`, if any."""
    responses = api()[resource]["actions"][action]["responses"]
    ref = responses.get(str(status), {}).get("schema", {}).get("$ref")
    return None if ref is None else str(ref).rsplit("/", 1)[-1]


# Scopes as listed per action on spec/losant-application-actions.txt: every
# action accepts the "all.*" scopes and application.*, plus its own scope
# (spec/api/application.json "auth"). Read-only actions also accept the
# ".read" variants, and get/patch/globals/readme/readmePatch the ".cli" ones.
_READ_ACTIONS = frozenset(
    {
        "deviceCounts",
        "get",
        "importLogs",
        "mqttSubscriptionStream",
        "notebookMinuteCounts",
        "payloadCounts",
        "payloadCountsBreakdown",
        "readme",
        "search",
    }
)
_CLI_ACTIONS = frozenset({"get", "globals", "patch", "readme", "readmePatch"})
ALL_SCOPES = ("all.Application", "all.Organization", "all.User")
"""The scopes every action accepts: the local Losant's own token has them."""
_READ = ("all.Application.read", "all.Organization.read", "all.User.read")
JOB_LOG_RESOURCES = {"jobLogs": "applicationJobLogs", "jobLog": "applicationJobLog"}
"""The job log reads: their resource in spec/api/application.json, whose action is `get`."""


@functools.cache
def accepted_scopes(action: str) -> frozenset[str]:
    """The scopes of which a token needs at least one to call `action`."""
    scopes = set(ALL_SCOPES)
    resource = JOB_LOG_RESOURCES.get(action)
    if resource is not None:
        # Not on the reference page: the job log resources take their own
        # scopes (spec/api/application.json "auth") and the read variants.
        return frozenset({*scopes, *_READ, f"{resource}.*", f"{resource}.get"})
    scopes.add("application.*")
    scopes.update(api()["application"]["actions"][action]["auth"])
    if action in _READ_ACTIONS:
        scopes.update(_READ)
    if action in _CLI_ACTIONS:
        scopes.update(("all.Application.cli", "all.User.cli"))
    return frozenset(scopes)


ACTIONS: frozenset[str] = frozenset(
    {
        "applyTemplate",
        "archiveData",
        "backfillArchiveData",
        "clone",
        "delete",
        "deviceCounts",
        "export",
        "fullDataTablesArchive",
        "fullEventsArchive",
        "get",
        "globals",
        "import",
        "importLogs",
        "mqttPublishMessage",
        "mqttSubscriptionStream",
        "notebookMinuteCounts",
        "patch",
        "payloadCounts",
        "payloadCountsBreakdown",
        "readme",
        "readmePatch",
        "search",
        "jobLogs",
        "jobLog",
    }
)
"""Action names the local Losant answers (the 22 of the spec, then the job log reads)."""
