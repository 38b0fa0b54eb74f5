"""Contract tests: API.md, Models.

Black-box: only the public surface (``losant_async``, ``losant_async.testing``),
httpx, respx, pytest and anyio.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import respx

from losant_async import (
    ApplicationPatch,
    ApplicationSearchResultItem,
    MqttMessage,
)
from tests.conftest import APP_ID
from tests.contract.support import (
    APP_PATH,
    APPLICATION,
    make_app,
)


@pytest.mark.anyio
async def test_model_extra_read_only_wire_names(respx_mock: respx.MockRouter) -> None:
    """Details/Models: unknown keys land in model.extra, read-only, in wire names; _links/_embedded
    too."""
    body = {
        **APPLICATION,
        "brandNewField": {"x": 1},
        "_links": {"self": {"href": "/x"}},
        "_embedded": {"things": []},
        "summary": {"deviceCount": 2, "quantumCount": 3},
    }
    respx_mock.get(APP_PATH).respond(200, json=body)
    async with make_app() as app:
        result = await app.get()
    assert result.extra["brandNewField"] == {"x": 1}
    assert result.extra["_links"] == {"self": {"href": "/x"}}
    assert result.extra["_embedded"] == {"things": []}
    assert "brand_new_field" not in result.extra
    assert result.summary is not None
    assert result.summary.extra == {"quantumCount": 3}
    with pytest.raises(TypeError):
        result.extra["x"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        result.name = "changed"  # type: ignore[misc]


@pytest.mark.anyio
async def test_model_names_and_datetimes(respx_mock: respx.MockRouter) -> None:
    """Details/Models: blobUrlTTL -> blob_url_ttl, snake_case fields, date-time -> aware
    datetime."""
    respx_mock.get(APP_PATH).respond(200, json=APPLICATION)
    async with make_app() as app:
        result = await app.get()
    assert result.blob_url_ttl == 86400
    assert result.application_id == APP_ID
    assert result.creation_date == datetime(2016, 6, 13, 4, tzinfo=UTC)
    assert result.creation_date is not None
    assert result.creation_date.tzinfo is not None
    assert "blobUrlTTL" not in result.extra


@pytest.mark.anyio
async def test_type_field_renamed(respx_mock: respx.MockRouter) -> None:
    """Details/Models: _type becomes type; an unknown enum value still decodes, as str."""
    respx_mock.get(APP_PATH + "/search").respond(
        200,
        json=[
            {"id": "1", "name": "a", "_type": "device"},
            {"id": "2", "name": "b", "_type": "hologram"},
        ],
    )
    async with make_app() as app:
        items = await app.search("a")
    assert all(isinstance(i, ApplicationSearchResultItem) for i in items)
    assert [i.type for i in items] == ["device", "hologram"]
    assert type(items[1].type) is str
    assert "_type" not in items[0].extra


@pytest.mark.anyio
async def test_unknown_enum_value_decodes(respx_mock: respx.MockRouter) -> None:
    """Details/Models: enum-valued fields are str at run time, so a new value decodes."""
    respx_mock.get(APP_PATH).respond(200, json={**APPLICATION, "ownerType": "galaxy"})
    async with make_app() as app:
        result = await app.get()
    assert result.owner_type == "galaxy"


def test_models_frozen_slots() -> None:
    """Models: attrs classes, frozen and slotted."""
    model = ApplicationPatch(name="x")
    assert not hasattr(model, "__dict__")
    with pytest.raises(AttributeError):
        model.name = "y"  # type: ignore[misc]
    assert ApplicationPatch(blob_url_ttl=7200).blob_url_ttl == 7200
    assert MqttMessage(topic="t", message="m").topic == "t"
