"""losant_async.testing.respx: respx can mock losant_async's own transport."""

from __future__ import annotations

import httpx
import pytest
import respx
import respx.mocks

import losant_async.testing.respx as losant_respx
from losant_async import AsyncApplication
from losant_async._http11 import Http11Transport
from tests.conftest import APP_ID, BASE_URL, TOKEN

APPLICATION = {"id": APP_ID, "applicationId": APP_ID, "name": "Mocked"}


@pytest.mark.anyio
async def test_named_mocker_intercepts_the_default_transport() -> None:
    """`respx.mock(using="losant_async")` answers requests sent through Http11Transport."""
    with respx.mock(base_url=BASE_URL, using=losant_respx.MOCKER_NAME) as router:
        route = router.get(f"/applications/{APP_ID}").respond(200, json=APPLICATION)
        async with AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL) as app:
            assert isinstance(app._transport._transport, Http11Transport)
            result = await app.get()
    assert route.call_count == 1
    assert result.name == "Mocked"


@pytest.mark.anyio
async def test_named_mocker_intercepts_a_callers_httpx_client() -> None:
    """The same mocker still patches httpcore, so a caller-owned AsyncClient is mocked too."""
    with respx.mock(base_url=BASE_URL, using=losant_respx.MOCKER_NAME) as router:
        route = router.get(f"/applications/{APP_ID}").respond(200, json=APPLICATION)
        async with httpx.AsyncClient() as http_client:
            app = AsyncApplication(APP_ID, token=TOKEN, base_url=BASE_URL, http_client=http_client)
            async with app:
                assert (await app.get()).name == "Mocked"
    assert route.call_count == 1


def test_use_by_default_sets_respx_default_mocker() -> None:
    """use_by_default() makes every respx router use the losant_async mocker."""
    assert respx.mocks.DEFAULT_MOCKER == losant_respx.MOCKER_NAME  # conftest called it
    respx.mocks.DEFAULT_MOCKER = "httpcore"
    try:
        losant_respx.use_by_default()
        assert respx.mocks.DEFAULT_MOCKER == losant_respx.MOCKER_NAME
    finally:
        respx.mocks.DEFAULT_MOCKER = losant_respx.MOCKER_NAME
