"""Model construction and field types, for mypy only (never run)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from losant_async._convert import structure, structure_list, unstructure
from losant_async._models import (
    Application,
    ApplicationArchiveConfig,
    ApplicationArchiveConfigS3,
    ApplicationExportPost,
    ApplicationGlobal,
    ApplicationJobLog,
    ApplicationJobLogs,
    ApplicationPatch,
    ApplicationSearchResultItem,
    ImportIntoApplicationOptions,
    MqttMessage,
)
from losant_async._params import build_body, build_list_body


def build_models() -> list[object]:
    """Every kind of field can be given with its declared type."""
    patch = ApplicationPatch(
        name="My Updated Application",
        description="Description",
        exp_user_token_cutoff=datetime(2024, 1, 1),
        blob_url_ttl=3600,
        globals=[ApplicationGlobal(key="k", json='"v"', cloud_only=True)],
        archive_config=ApplicationArchiveConfig(
            mode="all", s3=ApplicationArchiveConfigS3(bucket="b"), delay_days=1
        ),
        extra={"futureField": 1},
    )
    message = MqttMessage(topic="a/b", message="hi")
    export = ApplicationExportPost(include_files=True, email="test@example.com")
    options = ImportIntoApplicationOptions(include=["Flow"], dry_run=True)
    return [patch, message, export, options]


def read_models(data: Mapping[str, object]) -> None:
    """Decoded fields have precise types."""
    app = structure(data, Application)
    name: str | None = app.name
    created: datetime | None = app.creation_date
    ttl: float | None = app.blob_url_ttl
    extra: Mapping[str, object] = app.extra
    if app.summary is not None and app.summary.payload_count is not None:
        counts: Mapping[str, float] | None = app.summary.payload_count.mqtt_in
        del counts
    log = structure(data, ApplicationJobLog)
    output: Mapping[str, object] | None = log.output
    logs = structure(data, ApplicationJobLogs)
    items: list[ApplicationJobLog] | None = logs.items
    results = structure_list([data], ApplicationSearchResultItem)
    kind: str = results[0].type
    wire: dict[str, object] = unstructure(app)
    body: dict[str, object] = build_body(ApplicationPatch, None, {"name": "x"})
    bodies: list[dict[str, object]] = build_list_body(ApplicationGlobal, [{"key": "k"}])
    del name, created, ttl, extra, output, items, kind, wire, body, bodies


def wrong_usage() -> None:
    """Mistakes mypy must catch."""
    MqttMessage(message="m")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    ApplicationPatch("name")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    ApplicationPatch(name=5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    Application().name = "x"  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
