"""Every one of the whole API's 375 actions answers the local Losant over real HTTP.

One server answers a sweep of every action (built from the definition: the
required parameters, a body from Losant's examples where there is one, else a
minimal valid body), run once for the module; each action is then a test of
its own. The pipeline's refusals (scopes, validation, unknown ids, faults) are
tested on both anyio backends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from losant_async.testing import LocalLosant, _generic, _schemas
from losant_async.testing import _api_tables as tables

EXAMPLES_FILE = (
    Path(__file__).resolve().parents[3] / "shared" / "spec" / "losant-api" / "apiExamples.json"
)
STAMP = "2024-01-01T00:00:00.000Z"
Result = tuple[int, Any]


def _examples() -> dict[str, Any]:
    if not EXAMPLES_FILE.exists():
        return {}
    loaded: dict[str, Any] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    return loaded


def _body(param: Mapping[str, Any], examples: Mapping[str, Any]) -> Any:
    name = param.get("schema")
    if name is None:
        return {}
    example = examples.get(name)
    if example is not None and _schemas.validation_error(name, example, where="x") is None:
        return example
    return _generic.minimal(_schemas.schema(name), STAMP)


def _item_template(collection: str) -> str | None:
    for path in tables.RESOURCES.values():
        parent, _, last = path.rpartition("/")
        if parent == collection and last.startswith("{"):
            return path
    return None


class _Sweep:
    """Calls every action once, creating items first and deleting them last."""

    def __init__(self, server: LocalLosant, client: httpx.AsyncClient, app_id: str) -> None:
        self.server = server
        self.client = client
        # Item path template -> the id (or name) of an item made by its collection's POST.
        self.made: dict[str, str] = {"/applications/{applicationId}": app_id}
        self.app_id = app_id
        self.examples = _examples()
        self.results: dict[str, Result] = {}

    def url(self, template: str) -> str:
        segments = template.split("/")
        out = []
        for index, segment in enumerate(segments):
            if segment.startswith("{"):
                made = self.made.get("/".join(segments[: index + 1]))
                segment = made if made is not None else "5" * 24
            out.append(segment)
        return "/".join(out)

    async def call(self, key: str, spec: Mapping[str, Any]) -> Result:
        query: dict[str, str] = {}
        body: Any = None
        form: dict[str, str] = {}
        files: dict[str, tuple[str, bytes]] = {}
        for param in spec["params"]:
            where, name = param["in"], param["name"]
            if where == "query" and param.get("required"):
                query[name] = str(param["enum"][0]) if "enum" in param else "5" * 24
            elif where == "body":
                body = _body(param, self.examples)
            elif where == "multipart":
                if param.get("type") == "file":
                    files[name] = ("local.zip", b"PK\x05\x06" + b"\x00" * 18)
                elif param.get("required"):
                    form[name] = "local"
        url = self.url(spec["path"])
        if key == "applicationJobLog.get":
            url = url.rpartition("/")[0] + "/" + self.server.add_job_log(self.app_id, name="Local")
        if spec.get("stream"):
            with anyio.fail_after(10):
                async with self.client.stream(spec["method"], url, params=query) as answer:
                    return answer.status_code, None
        extra: dict[str, Any] = {}
        if files or form:
            extra = {"files": files or None, "data": form}
        elif body is not None:
            extra = {"json": body}
        answer = await self.client.request(spec["method"], url, params=query, **extra)
        try:
            decoded = answer.json()
        except ValueError:
            decoded = answer.text
        return answer.status_code, decoded

    async def record(self, key: str, spec: Mapping[str, Any]) -> None:
        status, answer = await self.call(key, spec)
        self.results[key] = (status, answer)
        if _generic.kind_of(key) == "create" and status < 300 and isinstance(answer, dict):
            item = _item_template(spec["path"])
            made = answer.get("id") or answer.get("name") or answer.get("key")
            if item is not None and isinstance(made, str):
                self.made.setdefault(item, made)

    async def run(self) -> dict[str, Result]:
        actions = sorted(tables.ACTIONS.items(), key=lambda kv: (kv[1]["path"].count("/"), kv[0]))
        creates = [kv for kv in actions if _generic.kind_of(kv[0]) == "create"]
        deletes = [kv for kv in actions if kv[1]["method"] == "DELETE"][::-1]
        others = [kv for kv in actions if kv not in creates and kv not in deletes]
        for key, spec in creates:
            await self.record(key, spec)
        # Reads and updates run concurrently (each request waits on the network
        # more than on the server); what removes things runs after, one by one.
        calm = [kv for kv in others if not re.search(r"(?i)delete|remove", kv[0])]
        limit = anyio.Semaphore(24)

        async def one(key: str, spec: Mapping[str, Any]) -> None:
            async with limit:
                await self.record(key, spec)

        async with anyio.create_task_group() as group:
            for key, spec in calm:
                group.start_soon(one, key, spec)
        for key, spec in [*(kv for kv in others if kv not in calm), *deletes]:
            await self.record(key, spec)
        return self.results


async def _sweep() -> dict[str, Result]:
    async with LocalLosant() as server:
        app_id = server.create_application()
        headers = {"Authorization": f"Bearer {server.token}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
            return await _Sweep(server, client, app_id).run()


@pytest.fixture(scope="module")
def sweep() -> dict[str, Result]:
    return anyio.run(_sweep)


@pytest.mark.parametrize("key", sorted(tables.ACTIONS))
def test_every_action_answers_a_valid_request(sweep: dict[str, Result], key: str) -> None:
    status, answer = sweep[key]
    responses: Mapping[int, str | None] = tables.ACTIONS[key]["responses"]
    assert status in responses, (status, answer)
    name = responses[status]
    if name is not None and not isinstance(answer, str):
        assert _schemas.validation_error(name, answer, where="answer") is None


def test_most_actions_succeed(sweep: dict[str, Result]) -> None:
    """A 4xx is a listed status too; the sweep keeps them to the few it cannot satisfy."""
    failed = sorted(key for key, (status, _) in sweep.items() if status >= 300)
    assert len(failed) <= 25, failed


# -- the pipeline, on both backends ---------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LocalLosant]:
    with LocalLosant().run_in_thread() as running:
        yield running


@pytest.fixture
async def client(server: LocalLosant) -> Any:
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as made:
        yield made


@pytest.mark.anyio
async def test_create_get_patch_list_delete_round_trip(
    server: LocalLosant, client: httpx.AsyncClient
) -> None:
    app_id = server.create_application()
    flows = f"/applications/{app_id}/flows"
    made = await client.post(flows, json={"name": "Alerts", "description": "first"})
    assert made.status_code == 201, made.text
    flow = made.json()
    assert re.fullmatch(r"[0-9a-f]{24}", flow["id"])
    assert flow["name"] == "Alerts"
    assert flow["applicationId"] == app_id
    assert "creationDate" in flow
    got = await client.get(f"{flows}/{flow['id']}")
    assert got.status_code == 200
    assert got.json()["description"] == "first"
    patched = await client.patch(f"{flows}/{flow['id']}", json={"description": "second"})
    assert patched.json()["description"] == "second"
    assert (await client.get(f"{flows}/{flow['id']}")).json()["description"] == "second"
    await client.post(flows, json={"name": "Other"})
    page = (await client.get(flows, params={"perPage": 1, "page": 1})).json()
    assert [item["name"] for item in page["items"]] == ["Other"]
    assert (page["count"], page["totalCount"], page["perPage"], page["page"]) == (1, 2, 1, 1)
    deleted = await client.delete(f"{flows}/{flow['id']}")
    assert deleted.json() == {"success": True}
    missing = await client.get(f"{flows}/{flow['id']}")
    assert missing.status_code == 404
    assert missing.json()["type"] == "NotFound"


@pytest.mark.anyio
async def test_unknown_ids_are_404(server: LocalLosant, client: httpx.AsyncClient) -> None:
    app_id = server.create_application()
    answer = await client.get(f"/applications/{app_id}/webhooks/{'a' * 24}")
    assert answer.status_code == 404
    assert answer.json()["type"] == "NotFound"
    gone = await client.get(f"/applications/{'b' * 24}/webhooks")
    assert gone.status_code == 404


@pytest.mark.anyio
async def test_scopes_and_tokens(server: LocalLosant, client: httpx.AsyncClient) -> None:
    app_id = server.create_application()
    url = f"/applications/{app_id}/webhooks"
    narrow = server.create_token(scopes=["webhooks.get"])
    bounded = server.create_token(scopes=["all.Application.bounded"])
    other_app = server.create_token(scopes=["all.Application"], application_id="c" * 24)
    assert (await client.get(url, headers={"Authorization": f"Bearer {narrow}"})).status_code == 200
    refused = await client.post(
        url, json={"name": "x"}, headers={"Authorization": f"Bearer {narrow}"}
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == "Forbidden"
    assert (
        await client.get(url, headers={"Authorization": f"Bearer {bounded}"})
    ).status_code == 200
    assert (
        await client.get(url, headers={"Authorization": f"Bearer {other_app}"})
    ).status_code == 403
    assert (await client.get(url, headers={"Authorization": ""})).status_code == 403
    assert (await client.get(url, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (
        await client.get("/orgs", headers={"Authorization": f"Bearer {narrow}"})
    ).status_code == 403
    # The actions that need no token answer without one.
    open_call = await client.get(
        "/auth/ssoDomain", params={"email": "local@example.com"}, headers={"Authorization": ""}
    )
    assert open_call.status_code == 200, open_call.text


@pytest.mark.anyio
async def test_validation(server: LocalLosant, client: httpx.AsyncClient) -> None:
    app_id = server.create_application()
    bad_query = await client.get(f"/applications/{app_id}/webhooks", params={"sortDirection": "up"})
    assert bad_query.status_code == 400
    assert bad_query.json()["type"] == "Validation"
    assert "sortDirection" in bad_query.json()["message"]
    bad_body = await client.post(f"/applications/{app_id}/webhooks", json={"name": 5})
    assert bad_body.status_code == 400
    assert bad_body.json()["message"].startswith("webhook.name")
    no_body = await client.post(f"/applications/{app_id}/webhooks")
    assert no_body.status_code == 400
    bad_id = await client.get(f"/applications/{app_id}/webhooks/nope")
    assert bad_id.status_code == 400
    assert "webhookId" in bad_id.json()["message"]
    required = await client.get("/me/recentItems")
    assert required.status_code == 400
    assert "itemType" in required.json()["message"]
    bad_version = await client.get("/me", headers={"Accept-Version": "^2.0.0"})
    assert bad_version.json()["type"] == "VersionNotAllowed"


@pytest.mark.anyio
async def test_faults_on_a_new_action(server: LocalLosant, client: httpx.AsyncClient) -> None:
    app_id = server.create_application()
    server.faults.fail("webhooks.get", status=429, retry_after=3, application_id=app_id)
    failed = await client.get(f"/applications/{app_id}/webhooks")
    assert failed.status_code == 429
    assert failed.headers["retry-after"] == "3"
    assert (await client.get(f"/applications/{app_id}/webhooks")).status_code == 200
    server.faults.bad_body("me.get", kind="not_json")
    broken = await client.get("/me")
    assert broken.headers["content-type"].startswith("text/html")
    server.faults.fail("*", status=503)
    assert (await client.get("/orgs")).status_code == 503
    with pytest.raises(ValueError, match="unknown action"):
        server.faults.fail("webhooks.nope")
