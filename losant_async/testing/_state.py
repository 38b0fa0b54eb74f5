"""In-memory state of the local Losant: applications, tokens, readmes, resources, logs.

Every method takes the one lock, so tests on any thread (trio, asyncio, sync)
may seed and inspect state while the server runs on its own loop.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from losant_async.testing._iot_store import IotStore

Json = dict[str, Any]

_SUMMARY_COUNTS = (
    "apiTokenCount",
    "certificateCount",
    "certificateAuthorityCount",
    "credentialCount",
    "dashCount",
    "dataTableCount",
    "deviceCount",
    "deviceRecipeCount",
    "eventCount",
    "experienceDomainCount",
    "experienceEndpointCount",
    "experienceGroupCount",
    "experienceSlugCount",
    "experienceUserCount",
    "experienceVersionCount",
    "experienceViewCount",
    "fileCount",
    "flowCount",
    "integrationCount",
    "keyCount",
    "notebookCount",
    "privateFileCount",
    "resourceJobCount",
    "webhookCount",
)
# Which search `_type` feeds which summary count.
_COUNT_OF_TYPE = {
    "applicationApiToken": "apiTokenCount",
    "credential": "credentialCount",
    "dashboard": "dashCount",
    "dataTable": "dataTableCount",
    "device": "deviceCount",
    "deviceRecipe": "deviceRecipeCount",
    "event": "eventCount",
    "file": "fileCount",
    "flow": "flowCount",
    "integration": "integrationCount",
    "notebook": "notebookCount",
    "resourceJob": "resourceJobCount",
    "webhook": "webhookCount",
}
DEFAULT_RESOURCES: tuple[tuple[str, str], ...] = (
    ("device", "Temperature Sensor 1"),
    ("device", "Temperature Sensor 2"),
    ("device", "Gateway"),
    ("flow", "Temperature Alerts"),
    ("dashboard", "Plant Overview"),
    ("dataTable", "Sensor Readings"),
    ("webhook", "Inbound Webhook"),
)
"""What `create_application` seeds for `search` when no resources are given: (`_type`, name)."""


def new_id() -> str:
    """A fresh 24-hex Losant id."""
    return secrets.token_hex(12)


def now() -> datetime:
    """The machine's clock, in UTC (use `State.now` for the server's own, shifted clock)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Losant's date-time wire form: UTC with milliseconds and a Z."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class _App:
    __slots__ = ("import_logs", "job_logs", "readme", "record", "requires_job", "resources")

    def __init__(self, record: Json, resources: list[Json], *, requires_job: bool) -> None:
        self.record = record
        self.resources = resources
        self.readme: Json = {"applicationId": record["id"], "content": ""}
        self.import_logs: list[Json] = []
        self.job_logs: list[Json] = []
        self.requires_job = requires_job


class _Token:
    __slots__ = ("application_id", "id", "scopes")

    def __init__(self, scopes: frozenset[str], application_id: str | None) -> None:
        self.id = new_id()
        self.scopes = scopes
        self.application_id = application_id


class State:
    """Thread-safe store behind the HTTP handlers and the `LocalLosant` helpers."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._apps: dict[str, _App] = {}
        self._tokens: dict[str, _Token] = {}
        self._exports: dict[str, bytes] = {}
        # Enqueue answers carry a jobId of at most 21 characters
        # (schemas/jobEnqueuedResult.json), unlike the 24-hex log ids.
        self._job_numbers = itertools.count(secrets.randbelow(9000) + 1000)
        self.owner_id = new_id()
        # Seconds added to the machine's clock for every time the server tells
        # (`Date` header, log timestamps): `LocalLosant.clock_offset`.
        self.clock_offset = 0.0
        # Devices, state, commands, tables, events and API tokens (`_iot_store`).
        self.iot = IotStore(lambda: ms(self.now()))

    def now(self) -> datetime:
        """The server's clock: the machine's, shifted by `clock_offset` seconds."""
        return now() + timedelta(seconds=self.clock_offset)

    # -- tokens ---------------------------------------------------------------

    def create_token(self, scopes: Iterable[str], application_id: str | None = None) -> str:
        token = "local_" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = _Token(frozenset(scopes), application_id)
        return token

    def put_token(
        self, token: str, scopes: Iterable[str], application_id: str | None, token_id: str
    ) -> None:
        """Accept `token` (made by `applicationApiTokens.post`) with `scopes`, as `token_id`."""
        record = _Token(frozenset(scopes), application_id)
        record.id = token_id
        with self._lock:
            self._tokens[token] = record

    def token(self, token: str) -> _Token | None:
        with self._lock:
            return self._tokens.get(token)

    def revoke_token(self, token: str) -> None:
        """Forget `token`: later requests with it are answered 401 (KeyError if unknown)."""
        with self._lock:
            del self._tokens[token]

    # -- applications ---------------------------------------------------------

    def create_application(
        self,
        *,
        name: str,
        description: str | None,
        resources: Sequence[tuple[str, str]] | None,
        requires_job: bool,
        application_id: str | None = None,
    ) -> str:
        app_id = application_id or new_id()
        stamp = iso(self.now())
        record: Json = {
            "id": app_id,
            "applicationId": app_id,
            "creationDate": stamp,
            "lastUpdated": stamp,
            "appliedTemplateIds": [],
            "ownerId": self.owner_id,
            "ownerType": "user",
            "name": name,
            "globals": [],
            "ftueTracking": [],
            "endpointDefaultCors": True,
            "blobUrlTTL": 86400,
        }
        if description is not None:
            record["description"] = description
        items = [
            {"id": new_id(), "name": res_name, "_type": res_type}
            for res_type, res_name in (DEFAULT_RESOURCES if resources is None else resources)
        ]
        with self._lock:
            if app_id in self._apps:
                raise ValueError(f"application {app_id} exists already")
            self._apps[app_id] = _App(record, items, requires_job=requires_job)
        return app_id

    def exists(self, app_id: str) -> bool:
        with self._lock:
            return app_id in self._apps

    def requires_job(self, app_id: str) -> bool:
        with self._lock:
            return self._app(app_id).requires_job

    def _app(self, app_id: str) -> _App:
        app = self._apps.get(app_id)
        if app is None:
            raise KeyError(app_id)
        return app

    def application(
        self, app_id: str, *, include: Sequence[str] = (), exclude: Sequence[str] = ()
    ) -> Json:
        """A snapshot of the Application body, its summary shaped by include/exclude."""
        with self._lock:
            app = self._app(app_id)
            body = copy.deepcopy(app.record)
            counts = dict.fromkeys(_SUMMARY_COUNTS, 0)
            for item in app.resources:
                key = _COUNT_OF_TYPE.get(item["_type"])
                if key is not None:
                    counts[key] += 1
            job_count = len(app.job_logs) + len(app.import_logs)
        summary: Json = dict(counts)
        summary["resourceJobCount"] = job_count
        summary["storageStats"] = {"count": 0, "size": 0}
        summary["notebookStats"] = {
            "awaitingCompletion": 0,
            "minutesThisPeriod": 0,
            "runsThisPeriod": 0,
        }
        if include:
            summary = {key: value for key, value in summary.items() if key in include}
        summary = {key: value for key, value in summary.items() if key not in exclude}
        body["summary"] = summary
        return body

    def patch_application(self, app_id: str, patch: Mapping[str, Any]) -> None:
        with self._lock:
            record = self._app(app_id).record
            record.update(copy.deepcopy(dict(patch)))
            record["lastUpdated"] = iso(self.now())

    def patch_globals(self, app_id: str, items: Sequence[Mapping[str, Any]]) -> None:
        """Upsert globals by key; a `json` of null removes the key."""
        with self._lock:
            record = self._app(app_id).record
            by_key = {item["key"]: dict(item) for item in record["globals"]}
            for item in items:
                if "json" in item and item["json"] is None:
                    by_key.pop(item["key"], None)
                    continue
                merged = {**by_key.get(item["key"], {}), **item}
                merged.setdefault("cloudOnly", False)
                if "json" not in merged:
                    raise ValueError(f"globals: new key {item['key']!r} needs a json value")
                by_key[item["key"]] = merged
            record["globals"] = list(by_key.values())
            record["lastUpdated"] = iso(self.now())

    def add_template(self, app_id: str, template_id: str) -> None:
        with self._lock:
            app = self._apps.get(app_id)
            if app is not None and template_id not in app.record["appliedTemplateIds"]:
                app.record["appliedTemplateIds"].append(template_id)
                app.record["lastUpdated"] = iso(self.now())

    def touch(self, app_id: str) -> None:
        with self._lock:
            app = self._apps.get(app_id)
            if app is not None:
                app.record["lastUpdated"] = iso(self.now())

    def delete_application(self, app_id: str) -> None:
        with self._lock:
            del self._apps[app_id]

    def clone_application(self, app_id: str) -> str | None:
        """Copy an application (resources included) under a new id; None if it is gone."""
        with self._lock:
            app = self._apps.get(app_id)
            if app is None:
                return None
            source = app.record
            clone_id = self.create_application(
                name=f"{source['name']} (clone)"[:255],
                description=source.get("description"),
                resources=[(item["_type"], item["name"]) for item in app.resources],
                requires_job=app.requires_job,
            )
            target = self._apps[clone_id].record
            target["globals"] = copy.deepcopy(source["globals"])
            self._apps[clone_id].readme["content"] = app.readme["content"]
        return clone_id

    # -- readme and search ----------------------------------------------------

    def readme(self, app_id: str) -> Json:
        with self._lock:
            return dict(self._app(app_id).readme)

    def patch_readme(self, app_id: str, content: str, *, by_token: str) -> Json:
        with self._lock:
            readme = self._app(app_id).readme
            readme.update(
                content=content,
                lastUpdated=iso(self.now()),
                lastUpdatedById=by_token,
                lastUpdatedByType="apiToken",
            )
            return dict(readme)

    def search(self, app_id: str, text: str) -> list[Json]:
        """Resources whose name contains `text`, case-insensitively, sorted by name."""
        needle = text.casefold()
        with self._lock:
            found = [
                dict(item)
                for item in self._app(app_id).resources
                if needle in item["name"].casefold()
            ]
        return sorted(found, key=lambda item: (item["name"].casefold(), item["id"]))

    # -- jobs -----------------------------------------------------------------

    def next_job_number(self) -> str:
        with self._lock:
            return str(next(self._job_numbers))

    def add_log(self, app_id: str, kind: str, entry: Json) -> None:
        """Record a new `import` log or `job` log entry (kept by reference for updates)."""
        with self._lock:
            app = self._app(app_id)
            (app.import_logs if kind == "import" else app.job_logs).append(entry)

    def update_log(self, entry: Json, **changes: Any) -> None:
        with self._lock:
            entry.update(changes)

    def import_logs(self, app_id: str, *, limit: int, since: datetime | None) -> list[Json]:
        """Newest first, at most `limit`, queued at or after `since`."""
        with self._lock:
            entries = [copy.deepcopy(entry) for entry in self._app(app_id).import_logs]
        if since is not None:
            bound = iso(since)
            entries = [entry for entry in entries if entry["runQueuedAt"] >= bound]
        entries.reverse()
        return entries[:limit]

    def job_logs(self, app_id: str) -> list[Json]:
        with self._lock:
            return [copy.deepcopy(entry) for entry in self._app(app_id).job_logs]

    def job_log(self, app_id: str, job_id: str) -> Json | None:
        with self._lock:
            for entry in self._app(app_id).job_logs:
                if job_id in (entry["id"], entry.get("jobId"), entry.get("jobExecutionId")):
                    return copy.deepcopy(entry)
        return None

    # -- export downloads -----------------------------------------------------

    def store_export(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        with self._lock:
            self._exports[key] = data
        return key

    def export(self, key: str) -> bytes | None:
        with self._lock:
            return self._exports.get(key)
