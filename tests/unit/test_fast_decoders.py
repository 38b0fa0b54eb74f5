"""The fast decode path of issue 17 gives exactly what ``json.loads`` and the checked decoder give.

``_convert._fast`` fills a model's slots through a *filler* subclass and
switches the instance to the model; ``structure`` calls a pure fast decoder
without ``decoding()``; ``decode`` hands an object body to the JSON scanner
directly. Each is checked against the slower code it stands in for.
"""

from __future__ import annotations

import codecs
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import httpx
import pytest

from losant_async import _models
from losant_async._convert import decode, decode_list, structure, structure_list
from losant_async._convert._hooks import PURE, checked_model_hook, converter
from losant_async._exceptions import APIResponseValidationError
from losant_async._models import Application, ApplicationGlobal, ApplicationSummary
from losant_async._models._base import DECODING, EMPTY
from losant_async._response import Response
from tests.unit._model_examples import APPLICATION, EXAMPLES


def _checked(data: Any, cls: type) -> Any:
    token = DECODING.set(True)
    try:
        return checked_model_hook(cls)(data, cls)
    finally:
        DECODING.reset(token)


def _walk(value: object) -> list[object]:
    """Every model inside ``value`` (itself included)."""
    found: list[object] = []
    if attrs.has(type(value)):
        found.append(value)
        for a in attrs.fields(type(value)):  # type: ignore[arg-type]
            found += _walk(getattr(value, a.name))
    elif isinstance(value, list):
        for item in value:
            found += _walk(item)
    return found


def test_a_decoded_model_is_the_model_class_and_frozen() -> None:
    """Every model a decode builds, nested ones too, is of the model's own class, and frozen."""
    structure(APPLICATION, Application)  # builds the hooks
    assert Application in PURE
    app = structure(copy.deepcopy(APPLICATION), Application)
    models = _walk(app)
    assert len(models) > 5
    assert all(type(m).__qualname__ == type(m).__name__ for m in models)
    assert type(app) is Application
    assert type(app.summary) is ApplicationSummary
    assert app.globals is not None
    assert type(app.globals[0]) is ApplicationGlobal
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        app.name = "x"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del app.summary
    assert app == _checked(copy.deepcopy(APPLICATION), Application)


@pytest.mark.parametrize(("schema", "class_name", "body"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_structure_without_decoding_equals_checked(schema: str, class_name: str, body: Any) -> None:
    """``structure`` of a warm class (a pure fast decoder, no ``decoding()``) equals checked."""
    cls = getattr(_models, class_name)
    items = body if isinstance(body, list) else [body]
    for item in items:
        structure(copy.deepcopy(item), cls)  # first use: builds through the converter
        again = structure(copy.deepcopy(item), cls)
        assert again == _checked(copy.deepcopy(item), cls)
        assert type(again) is cls
    assert structure_list(copy.deepcopy(items), cls) == [_checked(i, cls) for i in items]


def test_lists_are_new_lists_and_numbers_are_converted() -> None:
    """A list field is a copy of the JSON's; an int where a float is declared becomes a float."""
    data = copy.deepcopy(APPLICATION)
    data["appliedTemplateIds"] = ["a", "b"]
    data["ftueTracking"] = [{"name": "x", "version": 2, "status": "completed"}]
    app = structure(data, Application)
    assert app.applied_template_ids == ["a", "b"]
    assert app.applied_template_ids is not data["appliedTemplateIds"]
    assert app.ftue_tracking is not None
    assert type(app.ftue_tracking[0].version) is float


def test_wrong_values_fall_back_to_the_checked_errors() -> None:
    """Each thing the fast path refuses is reported with the checked decoder's path."""
    cases = {
        "creationDate": (5, "$.creation_date"),
        "appliedTemplateIds": (["a", 5], "$.applied_template_ids[1]"),
        "globals": ({"key": "k"}, "$.globals"),
        "summary": (["x"], "$.summary"),
    }
    for key, (value, path) in cases.items():
        data = {**copy.deepcopy(APPLICATION), key: value}
        with pytest.raises(APIResponseValidationError) as info:
            structure(data, Application)
        assert any(path in error for error in info.value.errors), (key, info.value.errors)


PLUS_TWO = timezone(timedelta(hours=2))


def test_date_times_are_aware_as_before() -> None:
    """``Z``, an offset and a naive time decode as the checked hook decodes them."""
    for text, expected in [
        ("2016-06-13T04:00:00.000Z", datetime(2016, 6, 13, 4, tzinfo=UTC)),
        ("2016-06-13T06:00:00+02:00", datetime(2016, 6, 13, 6, tzinfo=PLUS_TWO)),
        ("2016-06-13T04:00:00", datetime(2016, 6, 13, 4, tzinfo=UTC)),
    ]:
        app = structure({"creationDate": text}, Application)
        assert app.creation_date == expected
        assert app.creation_date is not None
        assert app.creation_date.utcoffset() == expected.utcoffset()
    assert structure({}, Application).extra is EMPTY


def test_a_mapping_that_is_not_a_dict_still_decodes() -> None:
    """The fast path takes plain dicts only; another Mapping goes through the checked decoder."""
    from types import MappingProxyType

    data = MappingProxyType({"key": "k", "json": "1"})
    assert structure(data, ApplicationGlobal) == ApplicationGlobal(key="k", json="1")


def test_outside_a_decode_the_converter_still_validates() -> None:
    """The converter's own hook (no ``decoding()``) still builds through ``__init__``."""
    from cattrs.errors import ClassValidationError

    structure({"key": "", "json": "1"}, ApplicationGlobal)  # warm: a pure fast decoder
    with pytest.raises(ClassValidationError):
        converter.structure({"key": "", "json": "1"}, ApplicationGlobal)


def _response(content: bytes) -> Response:
    request = httpx.Request("GET", "https://api.losant.test/applications/x")
    return Response(200, httpx.Headers(), content, request=request)


@pytest.mark.parametrize(
    "content",
    [
        json.dumps(APPLICATION).encode(),
        json.dumps(APPLICATION).encode() + b"\r\n \t",
        b"  " + json.dumps(APPLICATION).encode(),
        codecs.BOM_UTF8 + json.dumps(APPLICATION).encode(),
        json.dumps(APPLICATION).encode("utf-16"),
        json.dumps(APPLICATION, ensure_ascii=False).encode(),
        b'{"name": "caf\\u00e9 \\ud83d\\ude00", "description": "\xc3\xa9"}',
    ],
)
def test_decode_reads_bodies_as_json_loads(content: bytes) -> None:
    """``decode`` gives what ``json.loads`` + ``structure`` give, whatever the body's encoding."""
    assert decode(_response(content), Application) == structure(json.loads(content), Application)


@pytest.mark.parametrize(
    "content",
    [b"{", b'{"name": "x"} x', b'{"name": "x"}\x0b', b"[1, 2]", b'{"a": 1}{}', b"{\x00}", b""],
)
def test_decode_errors_are_response_json_errors(content: bytes) -> None:
    """A body the scanner refuses raises what ``response.json()`` + ``structure`` raise."""
    with pytest.raises(APIResponseValidationError) as ours:
        decode(_response(content), Application)
    with pytest.raises(APIResponseValidationError) as reference:
        structure(_response(content).json(), Application)
    assert str(ours.value) == str(reference.value)
    assert ours.value.errors == reference.value.errors


def test_decode_list_reads_an_array_body() -> None:
    """An array body decodes to the same list as ``json.loads`` + ``structure_list``."""
    body = [{"key": "a", "json": "1"}, {"key": "b", "json": "2", "extra": 1}]
    content = json.dumps(body).encode()
    assert decode_list(_response(content), ApplicationGlobal) == structure_list(
        body, ApplicationGlobal
    )
