"""What the contract tests share: canned answers, builders and small helpers."""

from __future__ import annotations

import contextlib
import email
import email.message
import email.utils
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from losant_async import (
    Application,
    ApplicationGlobal,
    ApplicationReadme,
    AsyncApplication,
    DeviceCounts,
    JobHandle,
    MqttMessage,
    MqttStream,
    NotebookMinuteCounts,
    PayloadCountsBreakdown,
    PayloadStats,
    Success,
)
from tests.conftest import APP_ID, BASE_URL, TOKEN

"""Black-box acceptance tests: one small test per statement of the public contract.

Every test cites the section of ``shared/API.md`` it pins. Only the public
surface is used: ``losant_async``, ``losant_async.testing``, httpx, respx,
pytest and anyio. Wire-level statements use respx; behaviour over real HTTP
uses the local Losant.
"""


APP_PATH = f"/applications/{APP_ID}"


DEFAULT_QUERY = "_actions=false&_links=true&_embedded=true"


JOB_ID = "65a1b2c3d4e5f60718293a4b"


ENQUEUED = {"jobQueued": True, "jobId": JOB_ID, "success": True}


APPLICATION = {
    "id": APP_ID,
    "applicationId": APP_ID,
    "name": "My Application",
    "ownerType": "user",
    "creationDate": "2016-06-13T04:00:00.000Z",
    "blobUrlTTL": 86400,
}


SSE = {"content-type": "text/event-stream"}


Call = Callable[[AsyncApplication], Awaitable[object]]


def mqtt_event(topic: str, message: str, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    data = json.dumps({"topic": topic, "message": message})
    return f"{head}event: mqttMessage\ndata: {data}\n\n".encode()


def make_app(**kwargs: Any) -> AsyncApplication:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("base_url", BASE_URL)
    return AsyncApplication(APP_ID, **kwargs)


def multipart_parts(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """Parts of a multipart body: name -> (filename, bytes)."""
    content_type = request.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.content
    message = email.message_from_bytes(raw)
    parts: dict[str, tuple[str | None, bytes]] = {}
    payload = message.get_payload()
    for part in payload if isinstance(payload, list) else []:
        assert isinstance(part, email.message.Message)
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        parts[name] = (part.get_filename(), data)
    return parts


def open_rb(file: Path | int) -> io.BufferedReader:
    return open(file, "rb")


async def drain(stream: MqttStream, into: list[MqttMessage]) -> None:
    async for message in stream:
        into.append(message)


async def drain_progress(handle: JobHandle) -> None:
    async with contextlib.aclosing(handle.progress(poll_interval=0.01)) as updates:
        async for _ in updates:
            pass


# (name, method, path, status, response, call)
ACTIONS: list[tuple[str, str, str, int, object, Call]] = [
    (
        "apply_template",
        "PATCH",
        "/applyTemplate",
        202,
        ENQUEUED,
        lambda a: a.apply_template(template_id="5d6c3b0a1b2c3d4e5f607182"),
    ),
    ("archive_data", "GET", "/archiveData", 202, ENQUEUED, lambda a: a.archive_data(date=86400000)),
    (
        "backfill_archive_data",
        "GET",
        "/backfillArchiveData",
        202,
        ENQUEUED,
        lambda a: a.backfill_archive_data(),
    ),
    ("clone", "POST", "/clone", 202, ENQUEUED, lambda a: a.clone()),
    ("delete", "DELETE", "", 200, {"success": True}, lambda a: a.delete()),
    ("device_counts", "GET", "/deviceCounts", 200, {}, lambda a: a.device_counts()),
    ("export", "POST", "/export", 202, ENQUEUED, lambda a: a.export()),
    (
        "full_data_tables_archive",
        "GET",
        "/fullDataTablesArchive",
        202,
        ENQUEUED,
        lambda a: a.full_data_tables_archive(),
    ),
    (
        "full_events_archive",
        "GET",
        "/fullEventsArchive",
        202,
        ENQUEUED,
        lambda a: a.full_events_archive(),
    ),
    ("get", "GET", "", 200, APPLICATION, lambda a: a.get()),
    (
        "globals",
        "PATCH",
        "/globals",
        200,
        APPLICATION,
        lambda a: a.globals([ApplicationGlobal(key="k", json="1")]),
    ),
    ("import_", "POST", "/import", 202, ENQUEUED, lambda a: a.import_(b"PK")),
    ("import_logs", "GET", "/importLogs", 200, [], lambda a: a.import_logs()),
    (
        "mqtt_publish_message",
        "POST",
        "/mqttPublishMessage",
        200,
        {"success": True},
        lambda a: a.mqtt_publish_message("t", "m"),
    ),
    (
        "notebook_minute_counts",
        "GET",
        "/notebookMinuteCounts",
        200,
        {},
        lambda a: a.notebook_minute_counts(),
    ),
    ("patch", "PATCH", "", 200, APPLICATION, lambda a: a.patch(name="x")),
    ("payload_counts", "GET", "/payloadCounts", 200, {}, lambda a: a.payload_counts()),
    (
        "payload_counts_breakdown",
        "GET",
        "/payloadCountsBreakdown",
        200,
        {},
        lambda a: a.payload_counts_breakdown(),
    ),
    ("readme", "GET", "/readme", 200, {}, lambda a: a.readme()),
    ("readme_patch", "PATCH", "/readme", 200, {}, lambda a: a.readme_patch("hi")),
    ("search", "GET", "/search", 200, [], lambda a: a.search("x")),
]


RETURNS: dict[str, type | tuple[type, ...]] = {
    "apply_template": JobHandle,
    "archive_data": JobHandle,
    "backfill_archive_data": JobHandle,
    "clone": JobHandle,
    "delete": Success,
    "device_counts": DeviceCounts,
    "export": JobHandle,
    "full_data_tables_archive": JobHandle,
    "full_events_archive": JobHandle,
    "get": Application,
    "globals": Application,
    "import_": JobHandle,
    "import_logs": list,
    "mqtt_publish_message": Success,
    "notebook_minute_counts": NotebookMinuteCounts,
    "patch": Application,
    "payload_counts": PayloadStats,
    "payload_counts_breakdown": PayloadCountsBreakdown,
    "readme": ApplicationReadme,
    "readme_patch": ApplicationReadme,
    "search": list,
}
