"""Contract tests: API.md "The whole API", one per action of ``spec/losant-api``.

For each of the 375 actions (ids ``resource.action``), read from the
definition at test time through ``tools/_api_plan.py``:

- the wire: reached through its accessor chain and called with a value of its
  kind for every parameter, the exact method, path (ids quoted), query (as a
  multiset of pairs; JSON-valued ones parsed back), headers and JSON body or
  multipart parts; parameters left out are not sent; a bad enum value or a
  missing required parameter is refused before any request;
- the answers: Losant's example for each documented 2xx decoded into the
  plan's model (``model_ref``), 202 into a ``JobHandle``, 204 into ``None``,
  a paged ``get`` both awaited and iterated, and each documented error status
  into its error class;
- the retry class (README "Retries"): a SAFE action is repeated after a 503,
  an ENQUEUE one is not, but is after a connect error or a 429.

Black-box: the public surface, httpx, respx, pytest and anyio.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from losant_async import APIStatusError, AsyncLosant, InternalServerError, JobHandle
from tests.conftest import BASE_URL, TOKEN
from tests.contract.support import multipart_parts
from tests.contract.whole_api_support import (
    ACTIONS,
    BY_KEY,
    ERROR_CLASSES,
    KEYS,
    Call,
    actual_query,
    answer_body,
    build_call,
    default_call,
    error_body,
    expected_query,
    first_success,
    method_of,
    model_class,
    normal,
    raw_path,
    respond,
)

pytestmark = pytest.mark.anyio

GENERATED = [a.key for a in ACTIONS if a.resource != "application"]
WITH_BAD_ENUM = [a.key for a in ACTIONS if any(p.kind == "choice" for p in a.params)]
WITH_REQUIRED = [
    a.key
    for a in ACTIONS
    if any(p.required and p.where in ("query", "multipart") for p in a.params)
]


def client() -> AsyncLosant:
    return AsyncLosant(token=TOKEN, base_url=BASE_URL)


def mock() -> respx.MockRouter:
    return respx.mock(base_url=BASE_URL, assert_all_called=False)


async def invoke(losant: AsyncLosant, action: Any, call: Call) -> object:
    """Call the action as a user does; a stream is opened and read to its end."""
    method = method_of(losant, action)
    if action.sse:
        async with method(*call.args, **call.kwargs) as stream:
            async for _ in stream:
                pass
        return None
    return await method(*call.args, **call.kwargs)


def success(action: Any) -> httpx.Response:
    return httpx.Response(204) if action.sse else first_success(action)


def test_plan_has_every_action() -> None:
    """The whole API: 375 actions of 99 resources, each with its own id."""
    assert len(KEYS) == len(set(KEYS)) == 375
    assert len({a.resource for a in ACTIONS}) == 99


@pytest.mark.parametrize("key", KEYS)
async def test_wire(key: str) -> None:
    """Every parameter of every action on the wire: method, path, query, headers, body."""
    action = BY_KEY[key]
    call = build_call(action)
    with mock() as router:
        route = router.route().mock(side_effect=lambda _: success(action))
        async with client() as losant:
            await invoke(losant, action, call)
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == action.http
    assert raw_path(request) == call.path
    plain, decoded = actual_query(request, call.json_query)
    assert plain == expected_query(action, call)
    assert decoded == call.json_query
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept-version"] == "^1.30.0"
    assert request.headers["accept"] == "application/json"
    if call.has_body:
        assert request.headers["content-type"].startswith("application/json")
        assert normal(json.loads(request.content)) == normal(call.body)
    elif call.parts:
        parts = multipart_parts(request)
        assert set(parts) == set(call.parts)
        for wire, given in call.parts.items():
            sent = parts[wire][1]
            if isinstance(given, bytes):
                assert sent == given, wire
            elif isinstance(given, str):
                assert sent.decode() == given, wire
            else:
                assert json.loads(sent) == given, wire
    else:
        assert request.content == b""
        assert "content-type" not in request.headers


@pytest.mark.parametrize("key", KEYS)
async def test_left_out_params_not_sent(key: str) -> None:
    """Only the required parameters given: nothing else is on the wire."""
    action = BY_KEY[key]
    call = build_call(action, optional=False)
    with mock() as router:
        route = router.route().mock(side_effect=lambda _: success(action))
        async with client() as losant:
            await invoke(losant, action, call)
    request = route.calls.last.request
    assert raw_path(request) == call.path
    plain, decoded = actual_query(request, call.json_query)
    assert plain == expected_query(action, call)
    assert decoded == call.json_query


@pytest.mark.parametrize("key", GENERATED)
async def test_params_at_default_not_sent(key: str) -> None:
    """A parameter given at its definition default is not sent."""
    action = BY_KEY[key]
    call = default_call(action)
    with mock() as router:
        route = router.route().mock(side_effect=lambda _: success(action))
        async with client() as losant:
            await invoke(losant, action, call)
    plain, _ = actual_query(route.calls.last.request, call.json_query)
    assert plain == expected_query(action, call)


@pytest.mark.parametrize("key", WITH_BAD_ENUM)
async def test_bad_enum_refused_before_sending(key: str) -> None:
    """A value outside a parameter's enum raises before any request."""
    action = BY_KEY[key]
    failures = []
    for param in action.params:
        if param.kind != "choice":
            continue
        call = build_call(action)
        call.kwargs[param.name] = "not-a-member"
        with mock() as router:
            route = router.route().mock(side_effect=lambda _: success(action))
            async with client() as losant:
                try:
                    await invoke(losant, action, call)
                except (TypeError, ValueError):
                    pass
                else:
                    failures.append(f"{param.name}: no error")
        if route.call_count:
            failures.append(f"{param.name}: {route.call_count} request(s) sent")
    assert not failures


@pytest.mark.parametrize("key", WITH_REQUIRED)
async def test_missing_required_refused_before_sending(key: str) -> None:
    """A required parameter left out raises TypeError or ValueError before any request."""
    action = BY_KEY[key]
    failures = []
    for param in action.params:
        if not param.required or param.where not in ("query", "multipart"):
            continue
        call = build_call(action)
        name = "bundle" if action.key == "application.import" else param.name
        call.kwargs.pop(name)
        with mock() as router:
            route = router.route().mock(side_effect=lambda _: success(action))
            async with client() as losant:
                try:
                    await invoke(losant, action, call)
                except (TypeError, ValueError):
                    pass
                else:
                    failures.append(f"{param.name}: no error")
        if route.call_count:
            failures.append(f"{param.name}: {route.call_count} request(s) sent")
    assert not failures


async def _check_answer(losant: AsyncLosant, action: Any, answer: Any) -> str | None:
    """Answer ``answer.status`` with Losant's example; what is wrong with the result, if any."""
    body = answer_body(action, answer)
    call = build_call(action)
    with mock() as router:
        router.route().mock(side_effect=lambda _: respond(answer.status, body))
        result = await invoke(losant, action, call)
        if answer.job:
            if not isinstance(result, JobHandle):
                return f"{answer.status}: {type(result).__name__}, not a JobHandle"
            if result.job_id != body["jobId"]:
                return f"{answer.status}: job_id {result.job_id!r} != {body['jobId']!r}"
            return None
        if answer.schema is None:
            return None if result is None else f"{answer.status}: {result!r}, not None"
        shape, cls = model_class(answer.schema)
        if shape == "any":
            return None if result == body else f"{answer.status}: {result!r} != {body!r}"
        if shape == "list":
            ok = isinstance(result, list) and all(isinstance(x, cls) for x in result)
            ok = ok and len(result) == len(body)  # type: ignore[arg-type]
        else:
            ok = isinstance(result, cls)
        if not ok:
            return f"{answer.status}: {type(result).__name__}, not {shape} of {cls}"
        if action.paged:
            minimal = build_call(action, optional=False)
            pager = method_of(losant, action)(*minimal.args, **minimal.kwargs)
            items = [item async for item in pager]
            if items != list(getattr(result, "items", None) or []):
                return f"{answer.status}: iterated {items!r}"
    return None


@pytest.mark.parametrize("key", KEYS)
async def test_answers_decode_into_models(key: str) -> None:
    """Each documented 2xx: the example into its model (202: a JobHandle, 204: None)."""
    action = BY_KEY[key]
    if action.sse:
        pytest.skip("a stream's events are decoded by the stream (test_streams)")
    failures = []
    async with client() as losant:
        for answer in action.answers:
            try:
                problem = await _check_answer(losant, action, answer)
            except Exception as exc:  # reported with the status, as a failure of this test
                problem = f"{answer.status}: raised {exc!r}"
            if problem:
                failures.append(problem)
    assert not failures


@pytest.mark.parametrize("key", KEYS)
async def test_errors_raise_their_classes(key: str) -> None:
    """Each documented error status raises the error class losant_async maps it to."""
    action = BY_KEY[key]
    call = build_call(action)
    failures = []
    async with client() as losant:
        for status in sorted(action.errors):
            expected = ERROR_CLASSES[status]
            with mock() as router:
                router.route().mock(side_effect=lambda _, s=status: respond(s, error_body(s)))
                try:
                    await invoke(losant, action, call)
                except APIStatusError as exc:
                    if type(exc) is not expected or exc.status_code != status:
                        failures.append(f"{status}: {type(exc).__name__} ({exc.status_code})")
                    elif exc.type != error_body(status)["type"]:
                        failures.append(f"{status}: type {exc.type!r}")
                else:
                    failures.append(f"{status}: no error")
    assert not failures


def _flaky(action: Any, first: object) -> Any:
    """A side effect: ``first`` (a response or an exception), then the action's success."""
    seen = {"n": 0}

    def answer(_: httpx.Request) -> httpx.Response:
        seen["n"] += 1
        if seen["n"] == 1:
            if isinstance(first, Exception):
                raise first
            assert isinstance(first, httpx.Response)
            return first
        return success(action)

    return answer


@pytest.mark.parametrize("key", KEYS)
async def test_retry_class(key: str) -> None:
    """SAFE: repeated after a 503. ENQUEUE: not after a 503; after a connect error or a 429."""
    action = BY_KEY[key]
    call = build_call(action)
    unavailable = httpx.Response(503, json={"type": "Unavailable", "message": "x"})
    async with client() as losant:
        if action.retry == "SAFE":
            with mock() as router:
                route = router.route().mock(side_effect=_flaky(action, unavailable))
                await invoke(losant, action, call)
            assert route.call_count == 2
            return
        assert action.retry == "ENQUEUE"
        with mock() as router:
            route = router.route().mock(side_effect=_flaky(action, unavailable))
            with pytest.raises(InternalServerError):
                await invoke(losant, action, call)
        assert route.call_count == 1
        for first in (httpx.ConnectError("refused"), httpx.Response(429, json={})):
            with mock() as router:
                route = router.route().mock(side_effect=_flaky(action, first))
                await invoke(losant, action, call)
            assert route.call_count == 2, first
