"""The whole API's generated models: Losant's examples decode, bodies validate, loading is lazy."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from losant_async._convert import structure, structure_list
from losant_async._params import build_body, build_list_body

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "spec" / "losant-api"
sys.path.insert(0, str(ROOT / "tools"))

needs_spec = pytest.mark.skipif(
    not SPEC.is_dir(), reason="../shared/spec is not beside this checkout"
)


def _examples() -> dict[str, Any]:
    if not SPEC.is_dir():
        return {}
    examples: dict[str, Any] = json.loads((SPEC / "apiExamples.json").read_text())
    return examples


def _model_class(schema: str) -> tuple[type, str] | None:
    import _api_plan  # tools/: the one naming rule

    if not (SPEC / "schemas" / f"{schema}.json").exists():
        return None
    ref = _api_plan.model_ref(schema)
    if ref.shape == "any":
        return None
    return getattr(importlib.import_module(ref.module), ref.cls), ref.shape


def _same(written: object, example: object) -> bool:
    """``written`` is ``example``, but for keys the example sets to null (a model omits None)."""
    if isinstance(example, dict) and isinstance(written, dict):
        if not set(written) <= set(example):
            return False
        return all(_same(written[k], v) if k in written else v is None for k, v in example.items())
    if isinstance(example, list) and isinstance(written, list):
        return len(example) == len(written) and all(map(_same, written, example))
    return written == example


EXAMPLES = _examples()
DECODABLE = sorted(name for name in EXAMPLES if _model_class(name) is not None)


@needs_spec
def test_most_examples_have_a_model() -> None:
    """Every example but those of free-JSON schemas (oneOf with arrays or strings) has a class."""
    assert len(DECODABLE) >= 300


@needs_spec
@pytest.mark.parametrize("schema", DECODABLE)
def test_example_decodes_and_round_trips(schema: str) -> None:
    """Losant's example of a schema decodes into its model and writes back the same JSON."""
    found = _model_class(schema)
    assert found is not None
    cls, shape = found
    example = EXAMPLES[schema]
    if shape == "list":
        models = structure_list(example, cls)
        written: object = [json.loads(m.to_json(wire=True)) for m in models]  # type: ignore[attr-defined]
    else:
        model = structure(example, cls)
        written = json.loads(model.to_json(wire=True))  # type: ignore[attr-defined]
        # to_dict(wire=True) is the same data, datetimes left as datetimes.
        assert set(model.to_dict(wire=True)) == set(written)  # type: ignore[attr-defined]
    assert _same(written, example), (written, example)


def test_a_page_holds_the_top_level_class() -> None:
    """``Devices.items`` is the ``Device`` class of the ``device`` schema, not a copy."""
    from losant_async._models._api.device import Device, DeviceTag
    from losant_async._models._api.devices import Devices

    page = structure(
        {
            "items": [
                {
                    "id": "575ecf887ae143cd83dc4aa2",
                    "name": "d",
                    "tags": [{"key": "k", "value": "v"}],
                }
            ]
        },
        Devices,
    )
    assert page.items is not None
    assert type(page.items[0]) is Device
    assert page.items[0].tags == [DeviceTag(key="k", value="v")]
    assert Devices.__annotations__["items"] == "list[Device] | None"


def test_odd_wire_names_round_trip() -> None:
    """``$eq``-style and snake_case wire keys map to attributes and back."""
    from losant_async._models._api.advanced_device_query import AdvancedDeviceQuery

    query = structure({"$and": [{"name": "a"}], "$or": []}, AdvancedDeviceQuery)
    assert query.and_ is not None
    assert query.and_[0].name == "a"
    assert query.to_dict(wire=True) == {"$and": [{"name": "a"}], "$or": []}


def test_a_body_model_validates() -> None:
    """A request-body model checks the schema's rules; keywords and mappings become the wire."""
    from losant_async._models._api.device_attribute_post import DeviceAttributePost
    from losant_async._models._api.device_post import DevicePost

    with pytest.raises(ValueError, match=r"DevicePost\.name must be at least 1"):
        DevicePost(name="")
    with pytest.raises(ValueError, match="one of"):
        DeviceAttributePost(name="v", data_type="complex")
    body = build_body(
        DevicePost, None, {"name": "pump", "attributes": [{"name": "v", "dataType": "number"}]}
    )
    assert body == {"name": "pump", "attributes": [{"name": "v", "dataType": "number"}]}
    with pytest.raises(TypeError, match="unexpected keyword argument 'nam'"):
        build_body(DevicePost, None, {"nam": "pump"})
    with pytest.raises(ValueError, match="device_class"):
        build_body(DevicePost, {"name": "x", "deviceClass": "toaster"}, {})


def test_explicit_null_where_the_schema_allows_it() -> None:
    """A nullable field given as None in a mapping is sent as JSON null."""
    from losant_async._models._api.device_patch import DevicePatch

    assert "parent_id" in DevicePatch._NULLABLE
    assert build_body(DevicePatch, {"parentId": None}, {}) == {"parentId": None}


def test_array_limit_of_an_item_class() -> None:
    """``maxItems`` of an array schema limits a list body of its item class."""
    from losant_async._models._api.device_tag_filter import DeviceTagFilterItem

    items = [{"key": "k"}] * 101
    with pytest.raises(ValueError, match="at most 100"):
        build_list_body(DeviceTagFilterItem, items)
    assert build_list_body(DeviceTagFilterItem, items[:2]) == [{"key": "k"}] * 2


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def test_the_public_module_loads_nothing_until_asked() -> None:
    """``import losant_async.models`` loads no model module; a name, its own and what it names."""
    code = (
        "import sys, losant_async.models as m\n"
        "api = lambda: sorted(k for k in sys.modules if k.startswith(\n"
        "    'losant_async._models._api.'))\n"
        "print(api())\n"
        "m.Device\n"
        "print(api(), m.Device.__module__, m.Application.__module__)\n"
    )
    before, after = _run(code).splitlines()
    assert before == "[]"
    assert after == (
        "['losant_async._models._api.device', 'losant_async._models._api.device_attribute_post']"
        " losant_async.models losant_async"
    )


def test_public_names_are_every_class() -> None:
    """``losant_async.models`` lists the Application models and every generated class."""
    import losant_async
    import losant_async.models as models

    names = set(dir(models))
    assert {"Device", "Devices", "DevicePost", "FlowVersion", "Application"} <= names
    assert set(losant_async._models.__all__) <= names
    assert models.Application is losant_async.Application
    assert len(names) > 600
