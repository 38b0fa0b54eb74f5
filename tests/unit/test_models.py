"""The generated models: coverage of the spec, names, immutability and input validation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_args

import attrs
import pytest

import losant_async._models as models
from losant_async._convert import wire_names
from losant_async._models import (
    Application,
    ApplicationApplyTemplatePatch,
    ApplicationArchiveConfig,
    ApplicationArchiveConfigS3,
    ApplicationClonePost,
    ApplicationExportPost,
    ApplicationFtueTracking,
    ApplicationGlobal,
    ApplicationImportOptions,
    ApplicationJobLog,
    ApplicationPatch,
    ApplicationReadmePatch,
    ImportIntoApplicationOptions,
    MqttMessage,
)
from losant_async._models._wire import INPUT_MODELS

PACKAGE = Path(models.__file__).parent
# Losant's schemas, beside the checkout (the package carries no copy of them).
SCHEMAS = PACKAGE.parents[2] / "shared" / "spec" / "schemas"
needs_spec = pytest.mark.skipif(
    not SCHEMAS.is_dir(), reason="../shared/spec is not beside the checkout"
)

EXPECTED_NAMES = [
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
    "DeviceCounts",
    "DeviceCountsCount",
    "Error",
    "ImportIntoApplicationOptions",
    "ImportIntoApplicationOptionsRepo",
    "JobEnqueuedResult",
    "MqttMessage",
    "NotebookMinuteCounts",
    "NotebookMinuteCountsCount",
    "PayloadCountsBreakdown",
    "PayloadCountsBreakdownCount",
    "PayloadStats",
    "Success",
    "ValidationErrorItem",
    "ValidationErrors",
]

TOP_LEVEL = {
    "application": "Application",
    "applicationApplyTemplatePatch": "ApplicationApplyTemplatePatch",
    "applicationCloneDryRunResult": "ApplicationCloneDryRunResult",
    "applicationClonePost": "ApplicationClonePost",
    "applicationCreationByTemplateResult": "ApplicationCreationByTemplateResult",
    "applicationExportPost": "ApplicationExportPost",
    "applicationExportResult": "ApplicationExportResult",
    "applicationGlobalPatch": "ApplicationGlobal",
    "applicationImportExecutions": "ApplicationImportExecution",
    "applicationImportOptions": "ApplicationImportOptions",
    "applicationJobLog": "ApplicationJobLog",
    "applicationJobLogs": "ApplicationJobLogs",
    "applicationPatch": "ApplicationPatch",
    "applicationReadme": "ApplicationReadme",
    "applicationReadmePatch": "ApplicationReadmePatch",
    "applicationSearchResult": "ApplicationSearchResultItem",
    "deviceCounts": "DeviceCounts",
    "error": "Error",
    "importIntoApplicationOptions": "ImportIntoApplicationOptions",
    "jobEnqueuedResult": "JobEnqueuedResult",
    "mqttPublishBody": "MqttMessage",
    "notebookMinuteCounts": "NotebookMinuteCounts",
    "payloadCountsBreakdown": "PayloadCountsBreakdown",
    "payloadStats": "PayloadStats",
    "success": "Success",
    "validationErrors": "ValidationErrors",
}


def _model_in(tp: object) -> type | None:
    if isinstance(tp, type) and attrs.has(tp):
        return tp
    for arg in get_args(tp):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _covers(cls: type, schema: dict[str, Any], where: str) -> None:
    props: dict[str, Any] = schema["properties"]
    wire = wire_names(cls)
    assert sorted(wire.values()) == sorted(props), where
    fields = attrs.fields_dict(attrs.resolve_types(cls))
    for attr, key in wire.items():
        prop = props[key]
        prop = next((o for o in prop.get("oneOf", [prop]) if o != {"type": "null"}), prop)
        nested = prop if "properties" in prop else prop.get("items", {})
        if "properties" in nested:
            inner = _model_in(fields[attr].type)
            assert inner is not None, f"{where}.{key} is not a model"
            _covers(inner, nested, f"{where}.{key}")


def test_public_names_are_exactly_the_generated_classes() -> None:
    """The package exports one class per object schema, with the names API.md and INTERNALS fix."""
    assert sorted(models.__all__) == EXPECTED_NAMES
    for name in EXPECTED_NAMES:
        assert attrs.has(getattr(models, name)), name


@needs_spec
@pytest.mark.parametrize(("schema", "name"), sorted(TOP_LEVEL.items()))
def test_every_schema_property_is_covered(schema: str, name: str) -> None:
    """Each schema (recursively, nested objects and array items included) maps key for key."""
    spec = json.loads((SCHEMAS / f"{schema}.json").read_text())
    obj = spec["items"] if spec["type"] == "array" else spec
    _covers(getattr(models, name), obj, schema)


@needs_spec
def test_every_schema_file_has_a_class() -> None:
    """No schema in spec/schemas is left without a model."""
    assert sorted(p.stem for p in SCHEMAS.glob("*.json")) == sorted(TOP_LEVEL)


def test_generated_files_say_so_on_line_one() -> None:
    """Every generated module starts with the generated-by line."""
    for name in ("__init__", "_application", "_bodies", "_common", "_jobs", "_usage", "_wire"):
        first = (PACKAGE / f"{name}.py").read_text().splitlines()[0]
        expected = "# Generated by tools/gen_models.py from ../shared/spec/schemas: do not edit."
        assert first == expected, name


def test_models_are_frozen_slotted_and_keyword_only() -> None:
    """Models cannot be changed, have slots and take keyword arguments only."""
    patch = ApplicationPatch(name="x")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        patch.name = "y"  # type: ignore[misc]
    assert "__slots__" in vars(ApplicationPatch)
    assert not hasattr(patch, "__dict__")
    with pytest.raises(TypeError):
        ApplicationPatch("x")  # type: ignore[call-arg]


def test_optional_fields_default_to_none_and_extra_to_empty() -> None:
    """A model built without arguments is all None with an empty, read-only extra."""
    app = Application()
    assert all(getattr(app, f.name) is None for f in attrs.fields(Application)[:-1])
    assert app.extra == {}
    assert isinstance(app.extra, MappingProxyType)


def test_extra_given_by_hand_is_copied_and_read_only() -> None:
    """An ``extra`` passed in is frozen into its own read-only copy."""
    given = {"newKey": 1}
    patch = ApplicationPatch(extra=given)
    given["newKey"] = 2
    assert patch.extra == {"newKey": 1}
    with pytest.raises(TypeError):
        patch.extra["other"] = 3  # type: ignore[index]
    with pytest.raises(TypeError):
        ApplicationPatch(extra=[1])  # type: ignore[arg-type]


def test_field_names_fold_acronyms_and_strip_underscore() -> None:
    """``blobUrlTTL`` is ``blob_url_ttl`` and ``_type`` is ``type``."""
    assert "blob_url_ttl" in attrs.fields_dict(Application)
    assert "type" in attrs.fields_dict(models.ApplicationSearchResultItem)
    assert "access_key_id" in attrs.fields_dict(ApplicationArchiveConfigS3)


def test_job_log_field_names() -> None:
    """ApplicationJobLog has the fields INTERNALS.md names for the job tracker."""
    assert list(attrs.fields_dict(ApplicationJobLog)) == [
        "id", "job_id", "job_execution_id", "name", "application_id", "run_queued_at",
        "run_started_at", "run_completed_at", "status", "requested_by_id",
        "requested_by_type", "owner_type", "owner_id", "resource_type", "resource_id",
        "progress", "error", "input", "output", "extra",
    ]  # fmt: skip


def test_enum_values_are_documented() -> None:
    """Enum-valued fields list their values in the class docstring."""
    assert ApplicationJobLog.__doc__ is not None
    assert "``queued``, ``inProgress``, ``completed``, ``errored``, ``failed``" in (
        ApplicationJobLog.__doc__
    )
    assert ApplicationPatch.__doc__ is not None
    assert "Wire name ``blobUrlTTL``" in ApplicationPatch.__doc__


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ApplicationPatch(name=""), "ApplicationPatch.name must be at least 1"),
        (lambda: ApplicationPatch(name="x" * 256), "ApplicationPatch.name must be at most 255"),
        (lambda: ApplicationPatch(endpoint_slug="Bad Slug"), "ApplicationPatch.endpoint_slug"),
        (lambda: ApplicationPatch(blob_url_ttl=60), "ApplicationPatch.blob_url_ttl must be at"),
        (lambda: ApplicationPatch(blob_url_ttl=10**7), "blob_url_ttl must be at most 604800"),
        (lambda: ApplicationPatch(globals=[ApplicationGlobal(key="k")] * 101), "at most 100"),
        (lambda: ApplicationClonePost(owner_type="team"), "ApplicationClonePost.owner_type"),
        (lambda: ApplicationClonePost(owner_id="123"), "ApplicationClonePost.owner_id"),
        (lambda: ApplicationApplyTemplatePatch(template_id=None), "template_id is required"),  # type: ignore[arg-type]
        (lambda: MqttMessage(topic="", message="m"), "MqttMessage.topic must be at least 1"),
        (lambda: MqttMessage(topic="t", message="m" * 32768), "MqttMessage.message"),
        (lambda: ApplicationReadmePatch(content="x" * 131073), "ApplicationReadmePatch.content"),
        (lambda: ApplicationExportPost(export_type="tar"), "must be one of 'zip', 'repo'"),
        (lambda: ImportIntoApplicationOptions(include=["Flow", "Gizmo"]), "include item 1"),
        (lambda: ImportIntoApplicationOptions(include=["Flow", "Flow"]), "must be unique"),
        (lambda: ApplicationImportOptions(include=["Global"]), "ApplicationImportOptions.include"),
        (lambda: ApplicationArchiveConfig(delay_days=0), "delay_days must be at least 1"),
        (lambda: ApplicationArchiveConfig(delay_days=1.5), "delay_days must be an int"),  # type: ignore[arg-type]
        (lambda: ApplicationArchiveConfig(device_ids=["nope"]), "device_ids item 0 must match"),
        (lambda: ApplicationFtueTracking(name="n", version=1, status="done"), ".status"),
        (lambda: ApplicationGlobal(key="bad key"), "ApplicationGlobal.key must match"),
        (lambda: ApplicationPatch(name=5), "ApplicationPatch.name must be a str"),  # type: ignore[arg-type]
    ],
)
def test_input_models_validate_and_name_the_field(build: Any, message: str) -> None:
    """Input models reject what their schema forbids, naming the field (TypeError: wrong type)."""
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        build()


def test_valid_input_models_build() -> None:
    """Values within the rules are accepted, including the boundaries."""
    ApplicationPatch(name="x" * 255, blob_url_ttl=3600, endpoint_slug="my-app-1")
    ApplicationGlobal(key="k_1-A", json=None)
    MqttMessage(topic="a/b", message="")
    ApplicationClonePost(owner_id=None, owner_type="organization")
    ImportIntoApplicationOptions(include=["Flow", "Device"], conflict_behavior="replace")


def test_output_models_do_not_validate() -> None:
    """Response models take any value, so a new server value never breaks them."""
    log = ApplicationJobLog(status="paused", id="not-hex")
    assert log.status == "paused"
    assert ApplicationJobLog not in INPUT_MODELS
    assert ApplicationPatch in INPUT_MODELS
    assert ApplicationGlobal in INPUT_MODELS


def test_missing_required_argument_is_a_type_error() -> None:
    """Leaving out a required field of a model is Python's own TypeError (mypy flags it too)."""
    with pytest.raises(TypeError, match="topic"):
        MqttMessage(message="m")  # type: ignore[call-arg]


# -- the way out: to_dict, to_json, pydantic / FastAPI -----------------------------

_APP_WIRE: dict[str, object] = {
    "id": "575ec8687ae143cd83dc4a97",
    "name": "Plant",
    "creationDate": "2016-06-13T04:00:00.000Z",
    "blobUrlTTL": 86400,
    "globals": [{"key": "limit", "json": "10", "cloudOnly": False}],
    "summary": {"deviceCount": 3, "payloadCount": {"mqttIn": {"devices": 2}}},
    "archiveConfig": None,
    "_links": {"self": {"href": "/applications/575ec8687ae143cd83dc4a97"}},
    "futureField": {"nested": [1, 2]},
}


def _app() -> Application:
    from losant_async._convert import structure

    return structure(_APP_WIRE, Application)


def test_to_dict_has_python_names_every_field_and_extra_under_its_key() -> None:
    """to_dict() gives snake_case keys, None fields included, unknown keys under "extra"."""
    data = _app().to_dict()
    assert type(data) is dict
    assert data["blob_url_ttl"] == 86400
    assert data["creation_date"] == datetime(2016, 6, 13, 4, tzinfo=UTC)
    assert data["description"] is None
    assert "archive_config" in data
    assert data["globals"] == [
        {"key": "limit", "json": "10", "cloud_only": False, "description": None, "extra": {}}
    ]
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert summary["device_count"] == 3
    assert summary["payload_count"]["mqtt_in"] == {"devices": 2}
    assert data["extra"] == {
        "_links": {"self": {"href": "/applications/575ec8687ae143cd83dc4a97"}},
        "futureField": {"nested": [1, 2]},
    }
    assert type(data["extra"]) is dict


def test_to_dict_wire_has_losant_names_without_none_and_extra_merged() -> None:
    """to_dict(wire=True) gives Losant's keys (blobUrlTTL, _type), drops None, merges extra."""
    data = _app().to_dict(wire=True)
    assert data == {
        "id": "575ec8687ae143cd83dc4a97",
        "name": "Plant",
        "creationDate": datetime(2016, 6, 13, 4, tzinfo=UTC),
        "blobUrlTTL": 86400,
        "globals": [{"key": "limit", "json": "10", "cloudOnly": False}],
        "summary": {"deviceCount": 3, "payloadCount": {"mqttIn": {"devices": 2}}},
        "_links": {"self": {"href": "/applications/575ec8687ae143cd83dc4a97"}},
        "futureField": {"nested": [1, 2]},
    }
    item = models.ApplicationSearchResultItem(id="a", name="b", type="device")
    assert item.to_dict(wire=True) == {"id": "a", "name": "b", "_type": "device"}
    assert item.to_dict()["type"] == "device"


def test_to_dict_is_a_new_copy() -> None:
    """Changing what to_dict() returned leaves the model (and its extra) as it was."""
    app = _app()
    data = app.to_dict()
    data["extra"]["futureField"]["nested"].append(3)  # type: ignore[index]
    data["globals"].clear()  # type: ignore[attr-defined]
    assert app.extra["futureField"] == {"nested": [1, 2]}
    assert app.globals is not None
    assert len(app.globals) == 1


def test_to_json_is_compact_with_datetimes_as_losant_writes_them() -> None:
    """to_json() writes compact JSON, datetimes in UTC with milliseconds and Z."""
    text = _app().to_json()
    assert '"creation_date":"2016-06-13T04:00:00.000Z"' in text
    assert ", " not in text
    assert ": " not in text
    assert json.loads(text)["extra"]["futureField"] == {"nested": [1, 2]}
    plus_two = timezone(timedelta(hours=2))
    moved = ApplicationPatch(exp_user_token_cutoff=datetime(2024, 1, 1, 2, tzinfo=plus_two))
    assert moved.to_json(wire=True) == '{"expUserTokenCutoff":"2024-01-01T00:00:00.000Z"}'
    naive = ApplicationPatch(exp_user_token_cutoff=datetime(2024, 1, 1, 5, 6, 7, 890000))
    assert json.loads(naive.to_json())["exp_user_token_cutoff"] == "2024-01-01T05:06:07.890Z"


def test_to_json_wire_is_what_the_converter_sends_and_decodes_back() -> None:
    """to_json(wire=True) equals the request-body form, and decodes back to the same model."""
    from losant_async._convert import structure, unstructure

    app = _app()
    assert json.loads(app.to_json(wire=True)) == unstructure(app)
    assert structure(json.loads(app.to_json(wire=True)), Application) == app
    patch = ApplicationPatch(name="x", blob_url_ttl=3600, globals=[ApplicationGlobal(key="k")])
    assert json.loads(patch.to_json(wire=True)) == unstructure(patch)


def test_every_model_has_the_way_out() -> None:
    """Every generated class inherits to_dict, to_json and the pydantic hook from one base."""
    from losant_async._models._base import Model

    for name in models.__all__:
        cls = getattr(models, name)
        assert issubclass(cls, Model), name
        assert "to_dict" not in vars(cls)
        assert "to_json" not in vars(cls)
    assert MqttMessage(topic="t", message="m").to_json(wire=True) == '{"topic":"t","message":"m"}'


def test_pydantic_takes_models_and_serialises_them_as_to_dict() -> None:
    """pydantic accepts a model instance only, and dumps it as to_dict() (JSON mode: ISO text)."""
    import pydantic

    adapter = pydantic.TypeAdapter(Application)
    app = _app()
    assert adapter.validate_python(app) is app
    with pytest.raises(pydantic.ValidationError, match="expected a losant_async Application"):
        adapter.validate_python({"id": "x"})
    assert adapter.dump_python(app) == app.to_dict()
    assert adapter.dump_python(app, mode="json") == json.loads(app.to_json())
    assert adapter.json_schema(mode="serialization")["title"] == "Application"


@pytest.mark.anyio
async def test_fastapi_route_returning_a_model_imports_and_serves() -> None:
    """A FastAPI route annotated -> Application (or response_model=) serves the model as JSON."""
    import fastapi
    import httpx

    app = _app()
    api = fastapi.FastAPI()

    @api.get("/annotated")
    async def annotated() -> Application:
        return app

    @api.get("/response-model", response_model=Application)
    async def response_model() -> object:
        return app

    @api.get("/list")
    async def listed() -> list[Application]:
        return [app, app]

    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for path in ("/annotated", "/response-model"):
            answer = await http.get(path)
            assert answer.status_code == 200
            assert answer.json() == json.loads(app.to_json())
        assert (await http.get("/list")).json() == [json.loads(app.to_json())] * 2
        schema = (await http.get("/openapi.json")).json()
    assert schema["paths"]["/annotated"]["get"]["responses"]["200"]


def test_models_never_import_pydantic() -> None:
    """Loading and using the models imports neither pydantic nor fastapi (their hook is lazy)."""
    code = (
        "import sys, losant_async as la\n"
        "m = la.MqttMessage(topic='t', message='m')\n"
        "m.to_dict(); m.to_json(wire=True)\n"
        "assert not {'pydantic', 'pydantic_core', 'fastapi'} & set(sys.modules), sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
