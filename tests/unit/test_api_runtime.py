"""The hand-written runtime under the generated API: ``_api._encode`` and ``_api._base``."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import respx

from losant_async import APIResponseValidationError, AsyncLosant
from losant_async._api import _encode as e

pytestmark = pytest.mark.anyio

APP = "5" * 24
DEVICE = "6" * 24
BASE = "http://127.0.0.1:9"


def test_path_id_is_percent_encoded_and_checked() -> None:
    assert e.path_id("develop v2/x", "version") == "develop%20v2%2Fx"
    assert e.path_id(DEVICE, "device_id", r"^[A-Fa-f\d]{24}$") == DEVICE
    with pytest.raises(ValueError, match="device_id does not match") as caught:
        e.path_id("secret-token-value", "device_id", r"^[A-Fa-f\d]{24}$")
    assert "secret-token-value" not in str(caught.value)  # never echoed
    with pytest.raises(ValueError, match="must not be empty"):
        e.path_id("", "device_id")
    with pytest.raises(TypeError, match="must be a str"):
        e.path_id(5, "device_id")


def test_scalar_kinds() -> None:
    assert e.choice("asc", "sort_direction", ("asc", "desc")) == "asc"
    with pytest.raises(ValueError, match="one of 'asc', 'desc'"):
        e.choice("up", "sort_direction", ("asc", "desc"))
    assert e.integer(-5, "start") == "-5"
    with pytest.raises(TypeError):
        e.integer(True, "page")
    with pytest.raises(ValueError, match="2\\*\\*53"):
        e.integer(2**53, "page")
    assert e.flag(False, "as_bytes") == "false"
    with pytest.raises(TypeError):
        e.flag("true", "as_bytes")
    assert e.time(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), "end") == "1000"
    assert e.time(-86_400_000, "start") == "-86400000"  # relative to now
    assert e.csv(["a", "b"], "include") == "a,b"


def test_json_and_bracket_kinds() -> None:
    text = e.json_text({"$and": [{"name": "a b"}]}, "query")
    assert text == '{"$and":[{"name":"a b"}]}'
    assert json.loads(text) == {"$and": [{"name": "a b"}]}
    with pytest.raises(TypeError):
        e.json_text("{}", "query")
    assert e.nested("tagFilter", [{"key": "floor", "value": "2"}], "tag_filter") == [
        ("tagFilter[0][key]", "floor"),
        ("tagFilter[0][value]", "2"),
    ]
    assert e.nested("deviceClass", "gateway", "device_class") == [("deviceClass", "gateway")]
    assert e.texts("keywords", ["a", "b"], "keywords") == [
        ("keywords[0]", "a"),
        ("keywords[1]", "b"),
    ]
    deep: object = "x"
    for _ in range(12):
        deep = [deep]
    with pytest.raises(ValueError, match="nested too deeply"):
        e.nested("q", deep, "q")


def test_any_body_and_form(tmp_path: Path) -> None:
    assert e.any_body([{"data": {"t": 1}}, {"data": {"t": 2}}]) == [
        {"data": {"t": 1}},
        {"data": {"t": 2}},
    ]
    with pytest.raises(TypeError, match="required"):
        e.any_body(None)
    path = tmp_path / "logo.png"
    path.write_bytes(b"\x89PNG")
    data, files = e.form({"file": (str(path), "file"), "skip": (None, "skip")}, {"a": True})
    assert data == {"a": "true"}
    name, _part, content_type = files["file"]
    assert (name, content_type) == ("logo.png", "image/png")
    _data, files = e.form({"file": (b"raw", "file")}, {})
    assert files["file"] == ("upload", b"raw", "application/octet-stream")
    with pytest.raises(TypeError, match="binary mode"):
        e.form({"file": (io.StringIO("x"), "file")}, {})


async def test_an_undocumented_2xx_is_read_as_the_documented_success() -> None:
    device = {"id": DEVICE, "applicationId": APP, "name": "d"}
    async with AsyncLosant(token="t", base_url=BASE, max_retries=0) as client:
        app = client.application(APP)
        with respx.mock(base_url=BASE) as mock:
            route = mock.get(f"/applications/{APP}/devices/{DEVICE}")
            route.respond(203, json=device)
            got = await app.device(DEVICE).get()
            assert got.name == "d"
            route.respond(204)
            assert await app.device(DEVICE).get() is None
            mock.post(f"/applications/{APP}/devices/export").respond(200, json={})
            with pytest.raises(APIResponseValidationError, match="does not document"):
                await app.devices.export({"email": "a@example.com"})


async def test_a_resource_of_a_closed_client_refuses() -> None:
    client = AsyncLosant(token="t", base_url=BASE)
    devices = client.application(APP).devices
    await client.aclose()
    with pytest.raises(Exception, match="closed"):
        await devices.get()
    assert repr(devices) == f"AsyncDevices('/applications/{APP}/devices')"
