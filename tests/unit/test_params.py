"""Argument shaping: ids, bodies, query values and the import multipart (losant_async._params)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from losant_async._convert import structure
from losant_async._models import (
    Application,
    ApplicationArchiveConfig,
    ApplicationClonePost,
    ApplicationExportPost,
    ApplicationGlobal,
    ApplicationImportOptions,
    ApplicationPatch,
    ImportIntoApplicationOptions,
    MqttMessage,
)
from losant_async._params import (
    build_body,
    build_list_body,
    check_application_id,
    import_multipart,
    query,
    to_csv,
    to_ms,
)

APP_ID = "575ec8687ae143cd83dc4a97"


def test_application_id_accepts_24_hex() -> None:
    """A 24-character hex string (either case) is returned unchanged."""
    assert check_application_id(APP_ID) == APP_ID
    assert check_application_id(APP_ID.upper()) == APP_ID.upper()


@pytest.mark.parametrize(
    "bad",
    [APP_ID[:-1], APP_ID + "0", "z" * 24, "", APP_ID[:-1] + "\n", "\uff15" * 24, " " + APP_ID],
)
def test_application_id_rejects_bad_strings(bad: str) -> None:
    """A str that is not exactly 24 ASCII hex characters is a ValueError without the value."""
    with pytest.raises(ValueError, match="24 hexadecimal") as info:
        check_application_id(bad)
    assert bad.strip() not in str(info.value) or not bad.strip()


@pytest.mark.parametrize("bad", [None, 575, b"575ec8687ae143cd83dc4a97", ["x"]])
def test_application_id_rejects_non_strings(bad: object) -> None:
    """A non-str id is a TypeError."""
    with pytest.raises(TypeError, match="must be a str"):
        check_application_id(bad)


def test_build_body_from_kwargs_model_and_mapping_agree() -> None:
    """Keyword arguments, a model and a camelCase mapping give the same wire body."""
    wire = {"name": "My App", "endpointSlug": "my-app", "blobUrlTTL": 3600}
    assert build_body(ApplicationPatch, None, {"name": "My App", "endpoint_slug": "my-app",
                                               "blob_url_ttl": 3600}) == wire  # fmt: skip
    model = ApplicationPatch(name="My App", endpoint_slug="my-app", blob_url_ttl=3600)
    assert build_body(ApplicationPatch, model, {}) == wire
    assert build_body(ApplicationPatch, wire, {}) == wire


def test_build_body_without_anything_is_empty() -> None:
    """No body and no kwargs is ``{}`` (clone() sends an empty object)."""
    assert build_body(ApplicationClonePost, None, {}) == {}


def test_build_body_mixing_is_a_type_error() -> None:
    """A body and keyword arguments together are refused."""
    with pytest.raises(TypeError, match="not both"):
        build_body(ApplicationPatch, ApplicationPatch(name="x"), {"description": "d"})


def test_build_body_unknown_kwarg_is_named() -> None:
    """An unknown keyword argument is a TypeError naming it."""
    with pytest.raises(TypeError, match="'nmae'"):
        build_body(ApplicationPatch, None, {"nmae": "x"})


def test_build_body_wrong_body_kind() -> None:
    """Another model class or a non-mapping body is a TypeError."""
    with pytest.raises(TypeError, match="expected a ApplicationPatch body"):
        build_body(ApplicationPatch, MqttMessage(topic="t", message="m"), {})
    with pytest.raises(TypeError, match="model or a mapping"):
        build_body(ApplicationPatch, "name=x", {})


@pytest.mark.parametrize(
    ("body", "kwargs", "field"),
    [
        (None, {"name": ""}, "ApplicationPatch.name"),
        ({"name": ""}, {}, "ApplicationPatch.name"),
        ({"name": 5}, {}, "$.name"),
        ({"endpointSlug": "UPPER"}, {}, "ApplicationPatch.endpoint_slug"),
        ({"archiveConfig": {"mode": "some"}}, {}, "ApplicationArchiveConfig.mode"),
        (None, {"archive_config": {"s3": {"region": "x"}}}, "$.s3.bucket"),
        (None, {"globals": [{"key": "bad key", "json": "1"}]}, "ApplicationGlobal.key"),
    ],
)
def test_build_body_invalid_values_name_the_field(
    body: object, kwargs: dict[str, object], field: str
) -> None:
    """A value breaking the schema is a ValueError (TypeError: wrong type) naming the field."""
    with pytest.raises((ValueError, TypeError), match=re.escape(field)):
        build_body(ApplicationPatch, body, kwargs)


def test_build_body_missing_required_is_a_value_error() -> None:
    """A required field left out of kwargs or a mapping is a ValueError naming it."""
    with pytest.raises(ValueError, match=r"MqttMessage\.message is required"):
        build_body(MqttMessage, None, {"topic": "t"})
    with pytest.raises(ValueError, match=r"required field missing @ \$\.topic"):
        build_body(MqttMessage, {"message": "m"}, {})


def test_build_body_nested_mappings_and_models() -> None:
    """Nested values may be camelCase mappings or models, and come out camelCase."""
    wire = build_body(
        ApplicationPatch,
        None,
        {
            "archive_config": {"mode": "all", "includeEvents": True, "s3": {"bucket": "b"}},
            "globals": [ApplicationGlobal(key="k", json='"v"'), {"key": "k2", "cloudOnly": True}],
        },
    )
    assert wire == {
        "globals": [{"key": "k", "json": '"v"'}, {"key": "k2", "cloudOnly": True}],
        "archiveConfig": {"mode": "all", "includeEvents": True, "s3": {"bucket": "b"}},
    }


def test_build_body_revalidates_decoded_parts() -> None:
    """A part decoded from a response (unchecked) is checked when sent back."""
    app = structure({"archiveConfig": {"mode": "greylist"}}, Application)
    with pytest.raises(ValueError, match=r"ApplicationArchiveConfig\.mode"):
        build_body(ApplicationPatch, None, {"archive_config": app.archive_config})
    ok = structure({"archiveConfig": {"mode": "all", "newOption": 1}}, Application)
    wire = build_body(ApplicationPatch, None, {"archive_config": ok.archive_config})
    assert wire == {"archiveConfig": {"mode": "all", "newOption": 1}}


def test_explicit_none_sends_null_only_where_the_schema_allows_it() -> None:
    """``None`` given explicitly for a nullable field is JSON null; elsewhere it is left out."""
    assert build_body(ApplicationPatch, None, {"archive_config": None, "name": None}) == {
        "archiveConfig": None
    }
    assert build_body(ApplicationPatch, {"archiveConfig": None, "description": None}, {}) == {
        "archiveConfig": None
    }
    assert build_body(ApplicationPatch, ApplicationPatch(archive_config=None), {}) == {}
    assert build_body(ApplicationClonePost, None, {"owner_id": None}) == {"ownerId": None}
    assert build_list_body(ApplicationGlobal, [{"key": "gone", "json": None}]) == [
        {"key": "gone", "json": None}
    ]
    nested = build_body(ApplicationPatch, {"globals": [{"key": "gone", "json": None}]}, {})
    assert nested == {"globals": [{"key": "gone", "json": None}]}


def test_build_body_mapping_keeps_unknown_keys() -> None:
    """Keys a camelCase mapping adds beyond the schema are sent as given."""
    assert build_body(ApplicationPatch, {"name": "x", "futureFlag": True}, {}) == {
        "name": "x",
        "futureFlag": True,
    }


def test_build_body_accepts_the_older_import_options() -> None:
    """ApplicationImportOptions is accepted where ImportIntoApplicationOptions is asked for."""
    old = ApplicationImportOptions(import_url="https://example.com/a.zip", include=["Flow"])
    assert build_body(ImportIntoApplicationOptions, old, {}) == {
        "importUrl": "https://example.com/a.zip",
        "include": ["Flow"],
    }


def test_build_list_body() -> None:
    """A list body takes models and mappings, checks its limit and its item kinds."""
    items = [ApplicationGlobal(key="a", json="1", cloud_only=False), {"key": "b", "json": "2"}]
    assert build_list_body(ApplicationGlobal, items) == [
        {"key": "a", "json": "1", "cloudOnly": False},
        {"key": "b", "json": "2"},
    ]
    with pytest.raises(ValueError, match="at most 100"):
        build_list_body(ApplicationGlobal, [{"key": f"k{i}"} for i in range(101)])
    with pytest.raises(TypeError):
        build_list_body(ApplicationGlobal, {"key": "a"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        build_list_body(ApplicationGlobal, [1])


def test_to_ms() -> None:
    """Datetimes become epoch milliseconds (naive = UTC); numbers are milliseconds already."""
    assert to_ms(datetime(2016, 6, 13, 4, tzinfo=UTC)) == "1465790400000"
    assert to_ms(datetime(2016, 6, 13, 4)) == "1465790400000"
    assert to_ms(datetime(2016, 6, 13, 6, tzinfo=timezone(timedelta(hours=2)))) == "1465790400000"
    assert to_ms(datetime(2016, 6, 13, 4, 0, 0, 999999, tzinfo=UTC)) == "1465790400999"
    assert to_ms(1518556791829) == "1518556791829"
    assert to_ms(1.6) == "2"
    assert to_ms(0) == "0"


@pytest.mark.parametrize("bad", [True, False, "1465790400000", None])
def test_to_ms_rejects(bad: object) -> None:
    """Booleans, strings and None are not times."""
    with pytest.raises(TypeError):
        to_ms(bad)  # type: ignore[arg-type]


def test_to_ms_rejects_non_finite() -> None:
    """NaN and infinity are not times."""
    with pytest.raises(ValueError, match="finite"):
        to_ms(float("nan"))


def test_to_csv() -> None:
    """A str passes through; a sequence of str is joined with commas; anything else is refused."""
    assert to_csv("payloadCount") == "payloadCount"
    assert to_csv(["payloadCount", "deviceCount"]) == "payloadCount,deviceCount"
    assert to_csv(("a",)) == "a"
    with pytest.raises(TypeError):
        to_csv([1, 2])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        to_csv(b"a,b")  # type: ignore[arg-type]


def test_query() -> None:
    """Names go camelCase in order, None is skipped, and values are shaped for the wire."""
    assert query(
        start="0",
        end=None,
        as_bytes=True,
        include_non_billable=False,
        resolution=86400000,
        keep_alive_interval=2.0,
        summary_include=["a", "b"],
        ratio=2.5,
    ) == [
        ("start", "0"),
        ("asBytes", "true"),
        ("includeNonBillable", "false"),
        ("resolution", "86400000"),
        ("keepAliveInterval", "2"),
        ("summaryInclude", "a,b"),
        ("ratio", "2.5"),
    ]
    assert query(since=datetime(2016, 6, 13, 4, tzinfo=UTC)) == [("since", "1465790400000")]
    with pytest.raises(TypeError):
        query(x=object())


# -- import multipart ---------------------------------------------------------------


def _encode(multipart: tuple[object, object]) -> tuple[bytes, str]:
    data, files = multipart
    request = httpx.Request("POST", "https://api.losant.test/x", data=data, files=files)  # type: ignore[arg-type]
    return request.read(), request.headers["content-type"]


def test_import_bytes_bundle() -> None:
    """Bytes go as ``bundle.zip`` in field ``importBundle`` with type application/zip."""
    data, files = import_multipart(b"PK\x03\x04zip", None, None)
    assert data == {}
    assert files == {"importBundle": ("bundle.zip", b"PK\x03\x04zip", "application/zip")}
    body, content_type = _encode((data, files))
    assert content_type.startswith("multipart/form-data; boundary=")
    assert b'name="importBundle"; filename="bundle.zip"' in body
    assert b"Content-Type: application/zip\r\n\r\nPK\x03\x04zip\r\n" in body


def test_import_path_bundle_is_lazy_and_streamed(tmp_path: Path) -> None:
    """A path is sent under the file's name, opened only when read and closed at its end."""
    path = tmp_path / "my-export.zip"
    path.write_bytes(b"Z" * 200_000)
    for bundle in (path, str(path)):
        data, files = import_multipart(bundle, "me@example.com", None)
        name, fileobj, content_type = files["importBundle"]
        assert (name, content_type) == ("my-export.zip", "application/zip")
        assert not isinstance(fileobj, bytes)
        assert fileobj._file is None  # type: ignore[attr-defined]
        body, _ = _encode((data, files))
        assert body.count(b"Z") == 200_000
        assert b'filename="my-export.zip"' in body
        assert b'name="email"\r\n\r\nme@example.com\r\n' in body
        assert fileobj._file is None  # type: ignore[attr-defined]
        # a retry re-reads the same bytes (the boundary differs per request)
        again, _ = _encode((data, files))
        assert again.count(b"Z") == 200_000
        fileobj.close()


def test_import_path_length_is_known_without_reading(tmp_path: Path) -> None:
    """httpx learns the file's size without opening it, so no chunked upload is needed."""
    path = tmp_path / "b.zip"
    path.write_bytes(b"0123456789")
    data, files = import_multipart(path, None, None)
    request = httpx.Request("POST", "https://api.losant.test/x", data=data, files=files)
    assert int(request.headers["content-length"]) == len(request.read())
    files["importBundle"][1].close()  # type: ignore[union-attr]


def test_import_missing_path_fails_early(tmp_path: Path) -> None:
    """A path that does not exist fails before any request."""
    with pytest.raises(FileNotFoundError):
        import_multipart(tmp_path / "nope.zip", None, None)


def test_import_directory_path_fails_early(tmp_path: Path) -> None:
    """A path that is a directory fails before any request, not mid-upload."""
    with pytest.raises(IsADirectoryError):
        import_multipart(tmp_path, None, None)


def test_import_file_object_bundle(tmp_path: Path) -> None:
    """A binary file object is sent under the base name of its ``name``, else ``bundle.zip``."""
    path = tmp_path / "named.zip"
    path.write_bytes(b"PK")
    with path.open("rb") as handle:
        _, files = import_multipart(handle, None, None)
        assert files["importBundle"] == ("named.zip", handle, "application/zip")
    buffer = io.BytesIO(b"PK")
    _, files = import_multipart(buffer, None, None)
    assert files["importBundle"] == ("bundle.zip", buffer, "application/zip")


def test_import_text_file_is_refused(tmp_path: Path) -> None:
    """A text-mode file is a TypeError (the zip must be read as bytes)."""
    path = tmp_path / "t.zip"
    path.write_text("x")
    with path.open() as handle, pytest.raises(TypeError, match="binary"):
        import_multipart(handle, None, None)
    with pytest.raises(TypeError):
        import_multipart(12, None, None)


def test_import_options_and_email_as_text_fields() -> None:
    """Options (model or mapping) go as compact camelCase JSON; email as a text field."""
    options = ImportIntoApplicationOptions(
        import_url="https://storage.example.com/myZipFile.zip", include=["Flow", "Device"]
    )
    data, files = import_multipart(None, "email@example.com", options)
    assert files == {}
    assert data == {
        "email": "email@example.com",
        "options": '{"importUrl":"https://storage.example.com/myZipFile.zip",'
        '"include":["Flow","Device"]}',
    }
    data, _ = import_multipart(None, None, {"dryRun": True, "conflictBehavior": "replace"})
    assert json.loads(data["options"]) == {"dryRun": True, "conflictBehavior": "replace"}
    with pytest.raises(ValueError, match="conflict_behavior"):
        import_multipart(None, None, {"conflictBehavior": "merge"})
    with pytest.raises(TypeError):
        import_multipart(None, 5, None)  # type: ignore[arg-type]


def test_import_without_anything() -> None:
    """No bundle, email or options is an empty form (the transport still sends multipart)."""
    assert import_multipart(None, None, None) == ({}, {})


def test_archive_config_model_sent_in_patch() -> None:
    """A hand-built nested model is validated and sent camelCase."""
    config = ApplicationArchiveConfig(mode="all", include_data_tables=True)
    assert build_body(ApplicationPatch, None, {"archive_config": config}) == {
        "archiveConfig": {"mode": "all", "includeDataTables": True}
    }


def test_path_like_is_accepted(tmp_path: Path) -> None:
    """Any os.PathLike is a path."""

    class Custom(os.PathLike[str]):
        def __fspath__(self) -> str:
            return str(tmp_path / "c.zip")

    (tmp_path / "c.zip").write_bytes(b"PK")
    _, files = import_multipart(Custom(), None, None)
    assert files["importBundle"][0] == "c.zip"
    files["importBundle"][1].close()  # type: ignore[union-attr]


# -- issue 11, defect 5: bad input fails typed, named, before any request --------------

_APP = "575ec8687ae143cd83dc4a97"
_BASE = "https://api.losant.test"


async def _refused(call: Any, error: type[Exception], field: str) -> None:
    """Run ``call(app)``: it must raise ``error`` naming ``field`` and send nothing."""
    import respx

    from losant_async import AsyncApplication

    with respx.mock(base_url=_BASE, assert_all_called=False) as router:
        route = router.route().respond(200, json={"success": True})
        async with AsyncApplication(_APP, token="t", base_url=_BASE) as app:
            with pytest.raises(error, match=re.escape(field)):
                await call(app)
        assert route.call_count == 0


_HUGE_DATE = datetime.max.replace(tzinfo=timezone(timedelta(hours=-5)))
_EARLY_AWARE = datetime.min.replace(tzinfo=timezone(timedelta(hours=5)))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("call", "error", "field"),
    [
        # 1. wrong types where a time, a model or a list item belongs
        (lambda a: a.device_counts(start="2024-01-01"), TypeError, "start"),
        (lambda a: a.patch(exp_user_token_cutoff="2024-01-01"), TypeError, "exp_user_token_cutoff"),
        (lambda a: a.export(repo="main"), TypeError, "repo"),
        (lambda a: a.patch(ftue_tracking=["x"]), TypeError, "ftue_tracking"),
        # 2. calendar edges, before 1970, bool
        (lambda a: a.import_logs(since=_HUGE_DATE), ValueError, "since"),
        (lambda a: a.archive_data(_EARLY_AWARE), ValueError, "date"),
        (lambda a: a.payload_counts(start=-2592000000), ValueError, "start"),
        (lambda a: a.device_counts(end=2**63), ValueError, "end"),
        (lambda a: a.notebook_minute_counts(start=datetime(1969, 12, 31)), ValueError, "start"),
        (lambda a: a.device_counts(start=True), TypeError, "start"),
        # 3. a query value that would make an absurd URL
        (lambda a: a.search("x" * 100_000), ValueError, "filter"),
        (lambda a: a.get(summary_include=["a" * 10_000]), ValueError, "summary_include"),
        (lambda a: a.search("\ud800"), ValueError, "filter"),
        # 4. publish topics are not filters
        (lambda a: a.mqtt_publish_message("a/+/b", "m"), ValueError, "topic"),
        (lambda a: a.mqtt_publish_message("a/#", "m"), ValueError, "topic"),
        (lambda a: a.mqtt_publish_message("a\x00b", "m"), ValueError, "topic"),
        (lambda a: a.mqtt_publish_message("a\r\nb", "m"), ValueError, "topic"),
        (lambda a: a.mqtt_publish_message("", "m"), ValueError, "topic"),
        (lambda a: a.mqtt_publish_message("t", b"\xff"), ValueError, "message"),
        # 5. non-bool flags as keywords
        (lambda a: a.export(force_job="yes"), TypeError, "force_job"),
        (lambda a: a.clone(dry_run=1), TypeError, "dry_run"),
        (lambda a: a.export(include_devices="true"), TypeError, "include_devices"),
        (lambda a: a.clone({"dryRun": "yes"}), TypeError, "dry_run"),
        # 6. patterns matched whole and ASCII-only
        (lambda a: a.apply_template(template_id=_APP + "\n"), ValueError, "template_id"),
        (lambda a: a.apply_template(template_id="\u0660" * 24), ValueError, "template_id"),
        (lambda a: a.globals([{"key": "k\n", "json": "1"}]), ValueError, "key"),
        (lambda a: a.patch(endpoint_slug="my-app\n"), ValueError, "endpoint_slug"),
        # 7. integers bounded, bool is no int, no NaN
        (lambda a: a.import_logs(limit=2**60), ValueError, "limit"),
        (lambda a: a.patch(archive_config={"delayDays": 2**60}), ValueError, "delay_days"),
        (lambda a: a.patch(archive_config={"delayDays": True}), TypeError, "delay_days"),
        (lambda a: a.patch(blob_url_ttl=float("nan")), ValueError, "blob_url_ttl"),
        (lambda a: a.patch({"name": "n", "extra": float("inf")}), ValueError, "extra"),
        (lambda a: a.payload_counts_breakdown(resolution=10**5000), ValueError, "resolution"),
        (lambda a: a.import_(options=5), TypeError, "options"),
    ],
)
async def test_bad_arguments_fail_named_before_sending(
    call: Any, error: type[Exception], field: str
) -> None:
    """Each kind of bad argument the fuzz found: a typed error naming it, before any request."""
    await _refused(call, error, field)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("topic", "ok"),
    [
        ("a/+/c", True),
        ("#", True),
        ("a/#", True),
        ("+", True),
        ("a/#/c", False),
        ("a#", False),
        ("a/b+", False),
        ("a\x00", False),
        ("", False),
        ("a/" * 40_000, False),
    ],
)
async def test_subscription_filters_follow_mqtt_syntax(topic: str, ok: bool) -> None:
    """A subscription filter has # only as its whole last level, + only as a whole level."""
    from losant_async import AsyncApplication

    async with AsyncApplication(_APP, token="t", base_url=_BASE) as app:
        if ok:
            await app.mqtt_subscription_stream(topic).aclose()
        else:
            with pytest.raises(ValueError, match="topic"):
                app.mqtt_subscription_stream(topic)


def test_job_arguments_are_checked() -> None:
    """job() refuses a log id not 24 hex, a non-str action, a time at the calendar's edge."""
    from losant_async import AsyncApplication

    app = AsyncApplication(_APP, token="t", base_url=_BASE)
    with pytest.raises(ValueError, match="log_id"):
        app.job("j", "export", log_id="../../x")
    with pytest.raises(TypeError, match="action"):
        app.job("j", ["export"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="enqueued_at"):
        app.job("j", "export", enqueued_at=datetime.min)
    with pytest.raises(ValueError, match="enqueued_at"):
        app.job("j", "export", enqueued_at=_HUGE_DATE)


def test_model_constructors_check_types() -> None:
    """Request models refuse a wrong type with a TypeError naming the field."""
    with pytest.raises(TypeError, match=r"ApplicationExportPost\.force_job"):
        ApplicationExportPost(force_job="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ApplicationPatch\.archive_config"):
        ApplicationPatch(archive_config={"mode": "all"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"ApplicationGlobal\.key"):
        ApplicationGlobal(key="k\n")
    with pytest.raises(ValueError, match=r"ApplicationArchiveConfig\.device_ids"):
        ApplicationArchiveConfig(device_ids=["\u0660" * 24])


def test_to_ms_range() -> None:
    """Times are ms from 1970 to 9999; anything else is a ValueError naming the argument."""
    assert to_ms(0) == "0"
    assert to_ms(datetime.max) == str(253402300799999)
    for bad in (-1, 253402300800000, datetime(1969, 12, 31), _HUGE_DATE, float("inf")):
        with pytest.raises(ValueError, match="since"):
            to_ms(bad, "since")  # type: ignore[arg-type]


def test_keyword_bodies_take_nested_mappings_in_a_fresh_process() -> None:
    """Nested camelCase mappings given as keywords work before anything was ever decoded."""
    # Field types are strings until resolved; a fresh interpreter has resolved nothing.
    code = (
        "import json\n"
        "from losant_async._models import ApplicationPatch\n"
        "from losant_async._params import build_body\n"
        "body = build_body(ApplicationPatch, None, {\n"
        "    'globals': ({'key': 'a', 'json': None, 'cloudOnly': True},),\n"
        "    'archive_config': {'mode': 'all'},\n"
        "})\n"
        "print(json.dumps(body, sort_keys=True))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "archiveConfig": {"mode": "all"},
        # A nested mapping's explicit None is JSON null where allowed (removes the global).
        "globals": [{"cloudOnly": True, "json": None, "key": "a"}],
    }


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["", "x", "a b"])
async def test_unknown_body_key_with_a_bad_value_is_named_in_the_body(key: str) -> None:
    """A key the schema does not know, with a value JSON cannot carry, is named as body[key]."""
    from losant_async import AsyncApplication

    async with AsyncApplication(_APP, token="t", base_url=_BASE) as app:
        with pytest.raises(ValueError, match=r"body\[") as info:
            await app.clone({key: float("inf")})
    assert repr(key) in str(info.value)
