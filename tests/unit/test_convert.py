"""The converter: wire JSON <-> models, unknown keys, datetimes, errors (losant_async._convert)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from losant_async import _models
from losant_async._convert import converter, structure, structure_list, unstructure
from losant_async._exceptions import APIResponseValidationError
from losant_async._models import (
    Application,
    ApplicationArchiveConfig,
    ApplicationGlobal,
    ApplicationImportExecution,
    ApplicationJobLog,
    ApplicationJobLogs,
    ApplicationPatch,
    ApplicationSearchResultItem,
    MqttMessage,
    PayloadStats,
)
from tests.unit._model_examples import APPLICATION, EXAMPLES, IMPORT_EXECUTION, JOB_LOG


@pytest.mark.parametrize(("schema", "class_name", "body"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_round_trip_per_schema(schema: str, class_name: str, body: Any) -> None:
    """Every schema's realistic body decodes into its model and encodes back to the same JSON."""
    cls = getattr(_models, class_name)
    if isinstance(body, list):
        models = structure_list(copy.deepcopy(body), cls)
        assert all(type(m) is cls for m in models)
        assert [unstructure(m) for m in models] == body
    else:
        model = structure(copy.deepcopy(body), cls)
        assert type(model) is cls
        assert model.extra == {}
        assert unstructure(model) == body


def test_application_fields_are_typed() -> None:
    """A decoded Application has snake_case fields, nested classes, aware datetimes and floats."""
    app = structure(APPLICATION, Application)
    assert app.application_id == "575ec8687ae143cd83dc4a97"
    assert app.creation_date == datetime(2016, 6, 13, 4, tzinfo=UTC)
    assert app.creation_date.tzinfo is not None
    assert app.blob_url_ttl == 86400.0
    assert app.summary is not None
    assert app.summary.payload_count is not None
    assert type(app.summary.payload_count) is PayloadStats
    assert app.summary.payload_count.mqtt_in == {"total": 120.0, "gateway": 20.0}
    assert app.summary.storage_stats is not None
    assert app.summary.storage_stats.size == 1024
    assert app.globals is not None
    assert type(app.globals[0]) is ApplicationGlobal
    assert app.globals[0].cloud_only is True
    assert type(app.archive_config) is ApplicationArchiveConfig
    assert app.archive_config.s3 is not None
    assert app.archive_config.s3.access_key_id == "AKIAEXAMPLE"
    assert app.archive_config.application_export_options is not None
    repo = app.archive_config.application_export_options.repo
    assert repo is not None
    assert repo.commit_message == "nightly"


def test_unknown_keys_land_in_extra_and_go_back_out() -> None:
    """Keys the schema lacks (``_links``, ``_embedded``, new fields) are kept in wire names."""
    body = {
        "id": "575ec8687ae143cd83dc4a97",
        "name": "App",
        "_links": {"self": {"href": "/applications/575ec8687ae143cd83dc4a97"}},
        "_embedded": {"devices": []},
        "brandNewField": 7,
        "summary": {"deviceCount": 2, "futureCount": 3},
    }
    app = structure(body, Application)
    assert dict(app.extra) == {
        "_links": {"self": {"href": "/applications/575ec8687ae143cd83dc4a97"}},
        "_embedded": {"devices": []},
        "brandNewField": 7,
    }
    assert app.summary is not None
    assert dict(app.summary.extra) == {"futureCount": 3}
    with pytest.raises(TypeError):
        app.extra["x"] = 1  # type: ignore[index]
    assert unstructure(app) == body


def test_type_and_acronym_renames() -> None:
    """``_type`` is ``type`` and ``blobUrlTTL`` is ``blob_url_ttl``, both ways."""
    item = structure({"id": "1", "name": "n", "_type": "device"}, ApplicationSearchResultItem)
    assert item.type == "device"
    assert unstructure(item) == {"id": "1", "name": "n", "_type": "device"}
    assert unstructure(ApplicationPatch(blob_url_ttl=3600)) == {"blobUrlTTL": 3600}
    assert structure({"blobUrlTTL": 7200}, Application).blob_url_ttl == 7200.0


def test_none_fields_are_not_sent() -> None:
    """Unset (None) fields are left out of the wire dict; False and empty values are kept."""
    body = ApplicationPatch(name="x", endpoint_default_cors=False, globals=[])
    assert unstructure(body) == {"name": "x", "endpointDefaultCors": False, "globals": []}
    assert unstructure(ApplicationPatch()) == {}


def test_datetimes_are_aware_and_written_with_z() -> None:
    """Datetimes decode aware (no zone = UTC) and encode as UTC ISO-8601 with milliseconds and Z."""
    log = structure(
        {"runQueuedAt": "2020-10-19T19:00:00Z", "runStartedAt": "2020-10-19T21:00:00.250+02:00",
         "runCompletedAt": "2020-10-19T19:00:05"},
        ApplicationJobLog,
    )  # fmt: skip
    assert log.run_queued_at == datetime(2020, 10, 19, 19, tzinfo=UTC)
    assert log.run_started_at == datetime(2020, 10, 19, 19, 0, 0, 250000, tzinfo=UTC)
    assert log.run_completed_at is not None
    assert log.run_completed_at.tzinfo is UTC
    assert unstructure(log) == {
        "runQueuedAt": "2020-10-19T19:00:00.000Z",
        "runStartedAt": "2020-10-19T19:00:00.250Z",
        "runCompletedAt": "2020-10-19T19:00:05.000Z",
    }
    naive = ApplicationPatch(exp_user_token_cutoff=datetime(2021, 1, 2, 3, 4, 5))
    assert unstructure(naive) == {"expUserTokenCutoff": "2021-01-02T03:04:05.000Z"}
    east = timezone(timedelta(hours=5))
    shifted = ApplicationPatch(exp_user_token_cutoff=datetime(2021, 1, 2, 8, 4, 5, tzinfo=east))
    assert unstructure(shifted) == {"expUserTokenCutoff": "2021-01-02T03:04:05.000Z"}


def test_unknown_enum_values_still_decode() -> None:
    """A value the server adds later decodes, even inside classes that validate on input."""
    log = structure({"status": "paused", "resourceType": "gizmo"}, ApplicationJobLog)
    assert (log.status, log.resource_type) == ("paused", "gizmo")
    app = structure(
        {"archiveConfig": {"mode": "greylist"}, "ftueTracking": [
            {"name": "x", "version": 1, "status": "snoozed"}]},
        Application,
    )  # fmt: skip
    assert app.archive_config is not None
    assert app.archive_config.mode == "greylist"
    assert app.ftue_tracking is not None
    assert app.ftue_tracking[0].status == "snoozed"
    message = structure({"topic": "t" * 500, "message": ""}, MqttMessage)
    assert len(message.topic) == 500


def test_job_tracker_fields() -> None:
    """The fields the job tracker reads have the names INTERNALS.md fixes."""
    log = structure(JOB_LOG, ApplicationJobLog)
    assert (log.id, log.job_id, log.job_execution_id, log.name) == (
        "5f8de3ba8a6b2a0007a8a1b0", "5f8de3ba8a6b2a0007a8a1b1", "5f8de3ba8a6b2a0007a8a1b2",
        "export",
    )  # fmt: skip
    assert log.application_id == log.resource_id == "575ec8687ae143cd83dc4a97"
    assert log.resource_type == "application"
    assert log.status == "completed"
    assert log.run_completed_at == datetime(2020, 10, 19, 19, 0, 5, 500000, tzinfo=UTC)
    assert log.progress is not None
    assert (log.progress.completed, log.progress.total, log.progress.status) == (10, 10, "done")
    assert log.error is not None
    assert (log.error.name, log.error.message) == ("Error", "nothing")
    assert log.input == {"callbackUrl": "https://example.com/cb", "emails": ["a@example.com"]}
    assert log.output is not None
    assert log.output["created"] == 3
    logs = structure({"items": [JOB_LOG], "count": 1, "totalCount": 1}, ApplicationJobLogs)
    assert logs.items == [log]
    assert (logs.count, logs.total_count) == (1, 1)
    execution = structure(IMPORT_EXECUTION, ApplicationImportExecution)
    assert execution.import_execution_id == "5f8de3ba8a6b2a0007a8a1c1"
    assert execution.job_id == "clnHvJbyVkOWAZwYAwLP4"
    assert execution.dry_run is False
    assert type(execution.error).__name__ == "ApplicationImportExecutionError"


def test_free_form_fields_take_any_json() -> None:
    """Free-form objects (job log input/output, jobLogs query) keep whatever JSON they hold."""
    log = structure({"input": {"a": [1, {"b": None}]}, "output": {}}, ApplicationJobLog)
    assert log.input == {"a": [1, {"b": None}]}
    assert log.output == {}
    logs = structure({"query": {"$or": [{"name": "x"}]}}, ApplicationJobLogs)
    assert logs.query == {"$or": [{"name": "x"}]}


@pytest.mark.parametrize(
    ("data", "cls", "path"),
    [
        ({"items": [{"status": 5}]}, ApplicationJobLogs, "$.items[0].status"),
        ({"creationDate": "not a date"}, Application, "$.creation_date"),
        ({"summary": {"deviceCount": "many"}}, Application, "$.summary.device_count"),
        ({"globals": {"key": "x"}}, Application, "$.globals"),
        ({"summary": {"payloadCount": {"event": {"x": "1"}}}}, Application,
         "$.summary.payload_count.event"),
        ([{"id": "1"}], Application, "$"),
        ("<html>", Application, "$"),
        ({"endpointDefaultCors": "yes"}, Application, "$.endpoint_default_cors"),
    ],
)  # fmt: skip
def test_bad_shape_raises_response_validation_error(data: object, cls: type, path: str) -> None:
    """A response that does not fit its model raises APIResponseValidationError with paths."""
    with pytest.raises(APIResponseValidationError) as info:
        structure(data, cls, status_code=201, body=json.dumps(data).encode())
    error = info.value
    assert error.status_code == 201
    assert error.body_snippet == json.dumps(data)
    assert any(e.endswith(f"@ {path}") for e in error.errors), error.errors
    assert "201" in str(error)


def test_missing_required_field_names_it() -> None:
    """A search result without its required ``_type`` is reported as a missing field."""
    with pytest.raises(APIResponseValidationError) as info:
        structure_list([{"id": "1", "name": "n"}], ApplicationSearchResultItem, status_code=200)
    assert info.value.errors == ("required field missing @ $[0].type",)


def test_structure_list_rejects_an_object() -> None:
    """structure_list wants a JSON array: an object is an error, not a list of its keys."""
    with pytest.raises(APIResponseValidationError) as info:
        structure_list({"id": "1"}, ApplicationSearchResultItem)
    assert "list[ApplicationSearchResultItem]" in str(info.value)


def test_snippet_is_bounded_and_built_when_no_body_is_given() -> None:
    """Without the raw body the snippet is the JSON of the data, at most 1,024 characters."""
    data = {"name": 1, "description": "x" * 5000}
    with pytest.raises(APIResponseValidationError) as info:
        structure(data, Application)
    assert info.value.body_snippet == json.dumps(data)[:1024]


def test_integral_floats_are_ints_and_ints_are_floats() -> None:
    """JSON numbers fit both ways: 3.0 is an integer field's 3, 3 a number field's 3.0."""
    app = structure({"summary": {"deviceCount": 3.0}, "blobUrlTTL": 3600}, Application)
    assert app.summary is not None
    assert type(app.summary.device_count) is int
    assert app.summary.device_count == 3
    assert type(app.blob_url_ttl) is float


def test_unstructure_rejects_non_models() -> None:
    """unstructure takes a model only."""
    with pytest.raises(TypeError):
        unstructure({"name": "x"})


def test_one_converter_with_cached_hooks() -> None:
    """The module-level converter hands out the same generated hook each time."""
    assert converter.get_structure_hook(Application) is converter.get_structure_hook(Application)


def test_decoding_an_application_is_fast() -> None:
    """Decoding a full Application stays in the tens of microseconds (a loose bound for CI)."""
    structure(APPLICATION, Application)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            structure(APPLICATION, Application)
        best = min(best, (time.perf_counter() - start) / 200)
    assert best < 500e-6


def test_a_body_holding_a_recursive_query_is_built() -> None:
    """Regression: the decoder of a recursive model (``AdvancedFlowVersionQuery.and_``)
    called itself for ever when a body holding it was checked first (RecursionError,
    reported as an invalid body). Run in a fresh process: hooks are cached per process."""
    code = (
        "from losant_async._convert import structure\n"
        "from losant_async._params import build_body\n"
        "from losant_async.models import AdvancedFlowVersionQuery, FlowVersionsDeletePost\n"
        "query = {'$and': [{'$or': [{'name': 'a'}]}]}\n"
        "assert build_body(FlowVersionsDeletePost, {'query': query}, {}) == {'query': query}\n"
        "q = structure(query, AdvancedFlowVersionQuery, status_code=200, body=b'')\n"
        "assert q.and_ is not None and q.and_[0].or_ is not None\n"
        "assert q.and_[0].or_[0].name == 'a'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
