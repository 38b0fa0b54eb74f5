"""The in-memory IoT side of the local Losant: devices, state, commands, tables, events, tokens.

One `IotStore` per server (``State.iot``). Every public method takes the
store's lock, so tests on any thread may seed and inspect it while the
server runs. State history is kept compactly (`_iot_series.Series`).

Behaviour follows Losant's documentation where it speaks: attributes a
device does not declare are dropped from its state, values are converted to
the attribute's data type, query times of 0 or below are relative to now,
``filter`` values glob with ``*``, and a deleted device is kept (with
``deletedAt``) until it is restored.
"""

from __future__ import annotations

import collections
import copy
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from losant_async.testing import _query
from losant_async.testing._iot_series import Series, Value, wire

Json = dict[str, Any]

COMMANDS_KEPT = 1_000
"""Recent commands kept per device (`device.getCommand`)."""
SEVERITY = {"info": 0, "warning": 1, "error": 2, "critical": 3}


class StoreError(Exception):
    """A request the store refuses: `status` and Losant's `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def new_id() -> str:
    return secrets.token_hex(12)


def iso_ms(moment_ms: int) -> str:
    """Losant's date-time wire form of ms since the epoch."""
    moment = datetime.fromtimestamp(moment_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment_ms % 1000:03d}Z"


def parse_ms(value: object, where: str) -> int:
    """A state or command `time` (ISO text, ms number or text, `{"$date": ISO}`) in ms."""
    if isinstance(value, Mapping) and "$date" in value:
        value = value["$date"]
    if isinstance(value, bool):
        raise StoreError(400, f"{where} is not a time")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return int(float(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise StoreError(400, f"{where} is not a time: {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    raise StoreError(400, f"{where} is not a time")


def glob(pattern: str) -> re.Pattern[str]:
    """Losant's `filter` globbing: `*` is any text, the rest literal, case-insensitive."""
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


def _coerce(data_type: str, value: object) -> Value | None:
    """A state value converted to the attribute's data type; None when it cannot be."""
    if data_type == "number":
        if isinstance(value, bool):
            return None
        if not isinstance(value, int | float | str):
            return None
        try:
            number = float(value)
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    if data_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        lowered = str(value).strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Device:
    """One device: its record, its state history and its recent commands."""

    __slots__ = ("commands", "record", "series", "types")

    def __init__(self, record: Json) -> None:
        self.record = record
        self.series = Series()
        self.commands: collections.deque[Json] = collections.deque(maxlen=COMMANDS_KEPT)
        self.types: dict[str, str] = {}
        self.retype()

    def retype(self) -> None:
        self.types = {attr["name"]: attr["dataType"] for attr in self.record.get("attributes", [])}

    def flat(self) -> Json:
        """The fields an advanced device query compares."""
        record = self.record
        connected = record.get("connectionInfo", {}).get("connected")
        status = {1: "connected", 0: "disconnected"}.get(connected, "neverConnected")
        return {**record, "connectionStatus": status}


def _match_tags(tags: Sequence[Mapping[str, str]], want: Mapping[str, Any] | None) -> bool:
    if want is None:
        return not tags

    def ok(actual: str, cond: object) -> bool:
        if cond is None:
            return True
        if isinstance(cond, Mapping):
            if "$in" in cond:
                return actual in cond["$in"]
            return actual not in cond.get("$nin", ())
        return actual == cond

    return any(
        ok(tag["key"], want.get("$tagKey")) and ok(tag["value"], want.get("$tagValue"))
        for tag in tags
    )


def match_device(query: Mapping[str, Any], device: Device) -> bool:
    """Whether `device` satisfies an advanced device query (`advancedDeviceQuery`)."""
    flat = device.flat()
    for key, value in query.items():
        if key == "$and":
            ok = all(match_device(part, device) for part in value)
        elif key == "$or":
            ok = any(match_device(part, device) for part in value)
        elif key == "$nor":
            ok = not any(match_device(part, device) for part in value)
        elif key == "tags":
            ok = _match_tags(flat.get("tags", []), value)
        elif key in ("attributeName", "ancestorId"):
            names = (
                [attr["name"] for attr in flat.get("attributes", [])]
                if key == "attributeName"
                else flat.get("ancestorIds", [])
            )
            ok = any(_query.match({key: value}, {key: name}) for name in names)
        else:
            ok = _query.match({key: value}, flat)
        if not ok:
            return False
    return True


def match_tag_filter(tags: Sequence[Mapping[str, str]], pairs: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the tags satisfy every {key?, value?} pair (a missing half matches anything)."""
    for pair in pairs:
        key, value = pair.get("key"), pair.get("value")
        if not any(
            (key is None or tag["key"] == key) and (value is None or tag["value"] == value)
            for tag in tags
        ):
            return False
    return True


class IotStore:
    """Devices, their state and commands, data tables, events and API tokens, per application."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self.lock = threading.RLock()
        self.now_ms = now_ms
        self.devices: dict[str, dict[str, Device]] = {}
        self.tables: dict[str, dict[str, Json]] = {}
        self.rows: dict[str, dict[str, Json]] = {}
        self.events: dict[str, dict[str, Json]] = {}
        self.tokens: dict[str, dict[str, Json]] = {}
        self.token_secrets: dict[str, str] = {}

    def stamp(self) -> str:
        return iso_ms(self.now_ms())

    def resolve(self, value: int | None, default: int) -> int:
        """A query time in ms: 0 or below is relative to now (Losant's rule)."""
        value = default if value is None else value
        return self.now_ms() + value if value <= 0 else value

    # -- devices --------------------------------------------------------------

    def create_device(self, app_id: str, body: Mapping[str, Any]) -> Json:
        device_id = new_id()
        stamp = self.stamp()
        record: Json = {
            "id": device_id,
            "deviceId": device_id,
            "applicationId": app_id,
            "creationDate": stamp,
            "lastUpdated": stamp,
            "name": body["name"],
            "tags": [],
            "attributes": [],
            "deviceClass": "standalone",
            "connectionInfo": {"connected": 0, "time": stamp},
        }
        record.update(copy.deepcopy(dict(body)))
        self._check_attributes(record["attributes"])
        with self.lock:
            self.devices.setdefault(app_id, {})[device_id] = Device(record)
        return copy.deepcopy(record)

    @staticmethod
    def _check_attributes(attributes: Sequence[Mapping[str, Any]]) -> None:
        names = [attr["name"] for attr in attributes]
        if len(set(names)) != len(names):
            raise StoreError(400, "device.attributes: attribute names must be unique")

    def device(self, app_id: str, device_id: str, *, deleted: bool = False) -> Device:
        """The live device (or, with `deleted`, a deleted one); 404 `StoreError` otherwise."""
        with self.lock:
            found = self.devices.get(app_id, {}).get(device_id)
        if found is None or ("deletedAt" in found.record) != deleted:
            raise StoreError(404, "Device was not found")
        return found

    def device_body(self, app_id: str, device_id: str) -> Json:
        with self.lock:
            return copy.deepcopy(self.device(app_id, device_id).record)

    def patch_device(self, app_id: str, device_id: str, patch: Mapping[str, Any]) -> Json:
        with self.lock:
            device = self.device(app_id, device_id)
            if "attributes" in patch:
                self._check_attributes(patch["attributes"])
            device.record.update(copy.deepcopy(dict(patch)))
            if device.record.get("parentId", "") is None:
                del device.record["parentId"]
            device.record["lastUpdated"] = self.stamp()
            device.retype()
            return copy.deepcopy(device.record)

    def delete_device(self, app_id: str, device_id: str) -> None:
        with self.lock:
            device = self.device(app_id, device_id)
            device.record["deletedAt"] = self.stamp()

    def restore_device(self, app_id: str, device_id: str) -> None:
        with self.lock:
            device = self.device(app_id, device_id, deleted=True)
            del device.record["deletedAt"]
            device.record["lastUpdated"] = self.stamp()

    def app_devices(self, app_id: str, *, deleted: bool = False) -> list[Device]:
        with self.lock:
            return [
                device
                for device in self.devices.get(app_id, {}).values()
                if ("deletedAt" in device.record) == deleted
            ]

    def select_devices(
        self,
        app_id: str,
        *,
        ids: Sequence[str] | None = None,
        tags: Sequence[Mapping[str, Any]] | None = None,
        query: Mapping[str, Any] | None = None,
        default_all: bool = True,
    ) -> list[Device]:
        """The devices named by ids, tag pairs or a device query (their union); all if none."""
        devices = self.app_devices(app_id)
        if ids is None and tags is None and query is None:
            return devices if default_all else []
        chosen: list[Device] = []
        wanted = set(ids or ())
        for device in devices:
            record = device.record
            if (
                record["id"] in wanted
                or (tags and any(match_tag_filter(record["tags"], [pair]) for pair in tags))
                or (query is not None and match_device(query, device))
            ):
                chosen.append(device)
        return chosen

    # -- state and commands ---------------------------------------------------

    def send_state(
        self, app_id: str, device_id: str, states: Sequence[Mapping[str, Any]]
    ) -> list[Json]:
        """Store the states (declared attributes only, converted); returns them as streamed."""
        now = self.now_ms()
        stored: list[Json] = []
        with self.lock:
            device = self.device(app_id, device_id)
            for index, state in enumerate(states):
                when = (
                    now
                    if state.get("time") is None
                    else parse_ms(state["time"], f"deviceState[{index}].time")
                )
                data: dict[str, Value] = {}
                for name, raw in state.get("data", {}).items():
                    data_type = device.types.get(name)
                    value = None if data_type is None else _coerce(data_type, raw)
                    if value is not None:
                        data[name] = value
                if not data:
                    continue
                device.series.add(when, data)
                event: Json = {
                    "time": iso_ms(when),
                    "data": {name: wire(value) for name, value in data.items()},
                }
                for key in ("meta", "flowVersion"):
                    if key in state:
                        event[key] = state[key]
                stored.append(event)
        return stored

    def add_command(self, app_id: str, device_id: str, command: Mapping[str, Any]) -> Json:
        """Record a command sent to a device; returns it as streamed (with an ISO `time`)."""
        when = (
            self.now_ms()
            if command.get("time") is None
            else parse_ms(command["time"], "deviceCommand.time")
        )
        entry: Json = {"name": command["name"], "time": iso_ms(when)}
        if "payload" in command:
            entry["payload"] = copy.deepcopy(command["payload"])
        with self.lock:
            self.device(app_id, device_id).commands.append(entry)
        return entry

    def commands(
        self, app_id: str, device_id: str, start: int, end: int, *, limit: int, descending: bool
    ) -> list[Json]:
        with self.lock:
            entries = list(self.device(app_id, device_id).commands)
        chosen = [entry for entry in entries if start <= parse_ms(entry["time"], "time") <= end]
        chosen.sort(key=lambda entry: entry["time"], reverse=descending)
        return copy.deepcopy(chosen[:limit])

    # -- data tables ----------------------------------------------------------

    def create_table(self, app_id: str, body: Mapping[str, Any]) -> Json:
        table_id = new_id()
        stamp = self.stamp()
        record: Json = {
            "id": table_id,
            "dataTableId": table_id,
            "applicationId": app_id,
            "creationDate": stamp,
            "lastUpdated": stamp,
            "columns": [],
        }
        record.update(copy.deepcopy(dict(body)))
        names = [column["name"] for column in record["columns"]]
        if len(set(names)) != len(names):
            raise StoreError(400, "dataTable.columns: column names must be unique")
        with self.lock:
            self.tables.setdefault(app_id, {})[table_id] = record
            self.rows[table_id] = {}
        return copy.deepcopy(record)

    def table(self, app_id: str, table_id: str) -> Json:
        with self.lock:
            found = self.tables.get(app_id, {}).get(table_id)
        if found is None:
            raise StoreError(404, "Data table was not found")
        return found

    def delete_table(self, app_id: str, table_id: str) -> None:
        with self.lock:
            self.table(app_id, table_id)
            del self.tables[app_id][table_id]
            del self.rows[table_id]

    def add_column(self, app_id: str, table_id: str, column: Mapping[str, Any]) -> Json:
        with self.lock:
            table = self.table(app_id, table_id)
            if any(existing["name"] == column["name"] for existing in table["columns"]):
                raise StoreError(400, f"A column named {column['name']} already exists")
            if (
                column["constraint"] == "required"
                and self.rows[table_id]
                and "defaultValue" not in column
            ):
                raise StoreError(400, "A required column needs a defaultValue on a table with rows")
            table["columns"].append(copy.deepcopy(dict(column)))
            for row in self.rows[table_id].values():
                row[column["name"]] = column.get("defaultValue")
            table["lastUpdated"] = self.stamp()
            return copy.deepcopy(table)

    def remove_column(self, app_id: str, table_id: str, name: str) -> Json:
        with self.lock:
            table = self.table(app_id, table_id)
            kept = [column for column in table["columns"] if column["name"] != name]
            if len(kept) == len(table["columns"]):
                raise StoreError(404, f"Column {name} was not found")
            table["columns"] = kept
            for row in self.rows[table_id].values():
                row.pop(name, None)
            table["lastUpdated"] = self.stamp()
            return copy.deepcopy(table)

    def _row_values(
        self, table: Json, values: Mapping[str, Any], *, current: Json | None, where: str
    ) -> Json:
        """A row's column values, checked against the columns' types and constraints."""
        columns = {column["name"]: column for column in table["columns"]}
        for name in values:
            if name not in columns:
                raise StoreError(400, f"{where}.{name}: the table has no such column")
        row: Json = {} if current is None else dict(current)
        for name, column in columns.items():
            if name in values:
                value = values[name]
            elif current is not None:
                continue
            else:
                value = column.get("defaultValue")
            if value is not None:
                kind = {"number": (int, float), "string": (str,), "boolean": (bool,)}[
                    column["dataType"]
                ]
                if not isinstance(value, kind) or (
                    column["dataType"] == "number" and isinstance(value, bool)
                ):
                    raise StoreError(400, f"{where}.{name} must be a {column['dataType']}")
            if value is None and column["constraint"] in ("required", "unique"):
                raise StoreError(400, f"{where}.{name} is required")
            row[name] = value
        for name, column in columns.items():
            if column["constraint"] == "unique" and row.get(name) is not None:
                for other in self.rows[table["id"]].values():
                    if (
                        other is not current
                        and other.get(name) == row[name]
                        and (current is None or other["id"] != current["id"])
                    ):
                        raise StoreError(
                            400, f"{where}.{name} must be unique: {row[name]!r} exists"
                        )
        return row

    def insert_rows(
        self, app_id: str, table_id: str, rows: Sequence[Mapping[str, Any]]
    ) -> list[Json]:
        with self.lock:
            table = self.table(app_id, table_id)
            stamp = self.stamp()
            made = []
            for index, values in enumerate(rows):
                row = self._row_values(table, values, current=None, where=f"dataTableRow[{index}]")
                row_id = new_id()
                stored = {"id": row_id, **row, "createdAt": stamp, "updatedAt": stamp}
                self.rows[table_id][row_id] = stored
                made.append(copy.deepcopy(stored))
            return made

    def row(self, app_id: str, table_id: str, row_id: str) -> Json:
        with self.lock:
            self.table(app_id, table_id)
            found = self.rows[table_id].get(row_id)
        if found is None:
            raise StoreError(404, "Data table row was not found")
        return found

    def patch_row(self, app_id: str, table_id: str, row_id: str, values: Mapping[str, Any]) -> Json:
        with self.lock:
            table = self.table(app_id, table_id)
            current = self.row(app_id, table_id, row_id)
            current.update(self._row_values(table, values, current=current, where="dataTableRow"))
            current["updatedAt"] = self.stamp()
            return copy.deepcopy(current)

    def delete_row(self, app_id: str, table_id: str, row_id: str) -> None:
        with self.lock:
            self.row(app_id, table_id, row_id)
            del self.rows[table_id][row_id]

    def query_rows(self, app_id: str, table_id: str, query: Mapping[str, Any]) -> list[Json]:
        with self.lock:
            self.table(app_id, table_id)
            return [
                copy.deepcopy(row)
                for row in self.rows[table_id].values()
                if _query.match(query, row)
            ]

    def delete_rows(self, app_id: str, table_id: str, query: Mapping[str, Any], limit: int) -> int:
        with self.lock:
            self.table(app_id, table_id)
            doomed = [row["id"] for row in self.rows[table_id].values() if _query.match(query, row)]
            for row_id in doomed[:limit]:
                del self.rows[table_id][row_id]
            return min(len(doomed), limit)

    # -- events ---------------------------------------------------------------

    def create_event(self, app_id: str, body: Mapping[str, Any], *, source_id: str) -> Json:
        event_id = new_id()
        stamp = self.stamp()
        record: Json = {
            "id": event_id,
            "eventId": event_id,
            "applicationId": app_id,
            "creationDate": stamp,
            "lastUpdated": stamp,
            "sourceType": "apiToken",
            "sourceId": source_id,
            "state": "new",
            "updates": [],
        }
        fields = copy.deepcopy(dict(body))
        if "creationDate" in fields:
            fields["creationDate"] = iso_ms(parse_ms(fields["creationDate"], "event.creationDate"))
        record.update(fields)
        with self.lock:
            if "deviceId" in record:
                device = self.devices.get(app_id, {}).get(record["deviceId"])
                if device is not None:
                    record["deviceName"] = device.record["name"]
            self.events.setdefault(app_id, {})[event_id] = record
        return copy.deepcopy(record)

    def event(self, app_id: str, event_id: str) -> Json:
        with self.lock:
            found = self.events.get(app_id, {}).get(event_id)
        if found is None:
            raise StoreError(404, "Event was not found")
        return found

    def patch_event(
        self, app_id: str, event_id: str, patch: Mapping[str, Any], *, source_id: str
    ) -> Json:
        with self.lock:
            event = self.event(app_id, event_id)
            stamp = self.stamp()
            update: Json = {"sourceType": "apiToken", "sourceId": source_id, "creationDate": stamp}
            for field in ("state", "level", "subject"):
                if field in patch and patch[field] != event.get(field):
                    update[f"{field}Change"] = {"old": event.get(field), "new": patch[field]}
                    event[field] = patch[field]
            if "state" in patch:
                update["state"] = patch["state"]
            for field in ("comment", "data"):
                if field in patch:
                    update[field] = copy.deepcopy(patch[field])
            if "eventTags" in patch:
                event["eventTags"] = dict(patch["eventTags"])
            if "deviceId" in patch:
                if patch["deviceId"] is None:
                    event.pop("deviceId", None)
                else:
                    event["deviceId"] = patch["deviceId"]
            event["updates"] = (event["updates"] + [update])[-100:]
            event["lastUpdated"] = stamp
            return copy.deepcopy(event)

    def delete_event(self, app_id: str, event_id: str) -> None:
        with self.lock:
            self.event(app_id, event_id)
            del self.events[app_id][event_id]

    def app_events(self, app_id: str) -> list[Json]:
        with self.lock:
            return list(self.events.get(app_id, {}).values())

    # -- API tokens -----------------------------------------------------------

    def create_api_token(
        self, app_id: str, body: Mapping[str, Any], *, creator_id: str, secret: str, token_id: str
    ) -> Json:
        stamp = self.stamp()
        record: Json = {
            "id": token_id,
            "apiTokenId": token_id,
            "ownerId": app_id,
            "ownerType": "application",
            "creatorId": creator_id,
            "creatorType": "apiToken",
            "creationDate": stamp,
            "lastUpdated": stamp,
            "scope": ["all.Application"],
            "status": "active",
        }
        record.update(copy.deepcopy(dict(body)))
        with self.lock:
            self.tokens.setdefault(app_id, {})[token_id] = record
            self.token_secrets[token_id] = secret
        return {**copy.deepcopy(record), "token": secret}

    def api_token(self, app_id: str, token_id: str) -> Json:
        with self.lock:
            found = self.tokens.get(app_id, {}).get(token_id)
        if found is None:
            raise StoreError(404, "API token was not found")
        return found

    def delete_api_token(self, app_id: str, token_id: str) -> str:
        """Forget the token record; returns its secret (to revoke it)."""
        with self.lock:
            self.api_token(app_id, token_id)
            del self.tokens[app_id][token_id]
            return self.token_secrets.pop(token_id)
