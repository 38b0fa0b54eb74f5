"""The local Losant's whole-API parts without a server: tables, schema-driven objects, seams."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from losant_async.testing import _api_tables, _generic, _schemas
from losant_async.testing._faults import Faults
from losant_async.testing._handlers import registry
from losant_async.testing._store import Store

STAMP = "2024-01-01T00:00:00.000Z"
ROOT = Path(__file__).resolve().parents[2]


def test_the_tables_cover_the_whole_definition() -> None:
    assert len(_api_tables.ACTIONS) == 375
    assert len(_api_tables.RESOURCES) == 99
    assert len(_api_tables.SCHEMAS) == 335
    no_token = sorted(k for k, spec in _api_tables.ACTIONS.items() if spec["scopes"] is None)
    assert "auth.authenticateDevice" in no_token
    assert len(no_token) == 9


def test_the_legacy_names_stay() -> None:
    assert _schemas.LEGACY["application.get"] == "get"
    assert _schemas.LEGACY["applicationJobLogs.get"] == "jobLogs"
    assert {"get", "jobLog", "devices.get", "device.stateStream"} <= _schemas.ACTIONS
    assert "application.get" not in _schemas.ACTIONS


def test_device_streams_accept_the_read_scopes_and_their_own() -> None:
    scopes = _schemas.accepted_scopes("device.stateStream")
    assert scopes is not None
    assert {"all.Application.bounded", "device.stateStream", "device.*"} <= scopes
    assert "device.get" not in scopes


@pytest.mark.parametrize("name", sorted(_api_tables.SCHEMAS))
def test_minimal_and_shaped_objects_are_valid(name: str) -> None:
    node = _schemas.schema(name)
    assert _schemas.validation_error(name, _generic.minimal(node, STAMP), where=name) is None
    shaped = _generic.shape(node, {"id": "a" * 24, "name": 5, "other": "x"}, STAMP)
    assert _schemas.validation_error(name, shaped, where=name) is None


def test_shape_keeps_what_fits_and_drops_what_does_not() -> None:
    shaped = _generic.shape(_schemas.schema("webhook"), {"name": 5, "token": "kept"}, STAMP)
    assert shaped["token"] == "kept"
    assert shaped.get("name") != 5


def test_kinds() -> None:
    assert _generic.kind_of("webhooks.post") == "create"
    assert _generic.kind_of("webhooks.get") == "list"
    assert _generic.kind_of("webhook.get") == "get"
    assert _generic.kind_of("webhook.patch") == "update"
    assert _generic.kind_of("webhook.delete") == "delete"
    assert _generic.kind_of("me.get") == "get"
    assert _generic.kind_of("me.fetchRecentItems") == "other"
    assert "/applications/{applicationId}/webhooks" in _generic.creatable()


def test_store_round_trip() -> None:
    store = Store()
    store.put("/orgs/a", {"id": "a"})
    store.put("/orgs/a/x/b", {"id": "b"})
    assert store.members("/orgs") == [{"id": "a"}]
    assert store.delete("/orgs/a")
    assert store.deleted("/orgs/a")
    assert store.find("/orgs/a/x/b") is None
    assert store.members("/orgs") == []
    assert not store.delete("/orgs/a")


def test_register_refuses_unknown_and_double_keys() -> None:
    with pytest.raises(ValueError, match="not an action"):
        registry.register("devices.nope")

    async def first(ctx: object, call: object) -> object:
        raise AssertionError

    key = "webhooks.get"
    saved = registry.HANDLERS.pop(key, None)
    try:
        registry.register(key)(first)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="already"):
            registry.register(key)(lambda ctx, call: first(ctx, call))  # type: ignore[arg-type,return-value]
    finally:
        registry.HANDLERS.pop(key, None)
        if saved is not None:
            registry.HANDLERS[key] = saved


def test_faults_know_every_action_and_stream() -> None:
    faults = Faults()
    faults.fail("devices.get")
    faults.drop_stream(after_events=1, action="device.stateStream")
    assert faults.take_drop("a" * 24, "device.stateStream") == 1
    assert faults.take_drop("a" * 24) is None
    with pytest.raises(ValueError, match="not a stream"):
        faults.stall_stream(action="devices.get")
    with pytest.raises(ValueError, match="unknown action"):
        faults.latency("application.get", seconds=1)


def test_the_tables_are_not_imported_by_the_library() -> None:
    code = "import sys, losant_async; print(any('testing' in m for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_generated_tables_are_current() -> None:
    if not (ROOT.parent / "shared" / "spec" / "losant-api").is_dir():
        pytest.skip("../shared/spec is not beside this checkout")
    done = subprocess.run(
        [sys.executable, "tools/gen_tables.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout
