"""Device streams and pagination against the local Losant, over real sockets (issue 16).

Everything goes through the library's own methods (``app.device(id).state_stream()``,
``app.device_state_streams(ids)``, ``app.devices.get(...)``) on asyncio and
trio. The jobs of the whole API are in ``test_jobs_whole_api_local.py``.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest
from anyio.abc import SocketAttribute

from losant_async import AsyncApplication
from losant_async.testing import LocalLosant

pytestmark = pytest.mark.anyio

ATTRIBUTES = [{"name": "n", "dataType": "number"}]
PAGED_DEVICES = 10_000


def _app(
    server: LocalLosant, app_id: str, *, base_url: str | None = None, **kw: Any
) -> AsyncApplication:
    return AsyncApplication(
        app_id, token=server.token, base_url=base_url or server.base_url, timeout=10.0, **kw
    )


async def _device(app: AsyncApplication, name: str = "Sensor") -> str:
    device = await app.devices.post(name=name, attributes=ATTRIBUTES)
    assert device.id is not None
    return device.id


def _n(state: Any) -> int:
    return int(dict(state.data or {})["n"])


class Front:
    """A TCP front for the local Losant on a fixed 127.0.0.1 port that can be restarted.

    Stopping it closes every connection through it and refuses new ones, as a
    server going down does; starting it again serves on the same port. The
    local Losant behind it keeps its data, as a restarted Losant would.
    """

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self.port = 0
        self._scope: anyio.CancelScope | None = None
        self._stopped = anyio.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _pipe(self, source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
        try:
            async for chunk in source:
                await sink.send(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    async def _handle(self, client: anyio.abc.SocketStream) -> None:
        async with (
            client,
            await anyio.connect_tcp("127.0.0.1", self._target) as upstream,
            anyio.create_task_group() as group,
        ):
            group.start_soon(self._pipe, upstream, client)
            await self._pipe(client, upstream)
            group.cancel_scope.cancel()

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        stopped = self._stopped = anyio.Event()
        try:
            with anyio.CancelScope() as scope:
                listener = await anyio.create_tcp_listener(
                    local_host="127.0.0.1", local_port=self.port
                )
                async with listener:
                    self.port = listener.extra(SocketAttribute.local_port)
                    self._scope = scope
                    task_status.started()
                    await listener.serve(self._handle)
        finally:
            stopped.set()

    async def stop(self) -> None:
        """Close the port and every connection through it; returns once they are closed."""
        assert self._scope is not None
        self._scope.cancel()
        await self._stopped.wait()


async def test_state_stream_across_a_server_restart_reports_its_gap(
    local_server: LocalLosant, app_id: str
) -> None:
    """Losant goes down and comes back: the stream reconnects on its own and records one gap."""
    front = Front(int(local_server.base_url.rpartition(":")[2]))
    reopened = anyio.Event()
    opens = 0

    def on_change(old: object, new: object) -> None:
        nonlocal opens
        if str(new) == "open":
            opens += 1
            if opens == 2:
                reopened.set()

    got: list[int] = []
    async with anyio.create_task_group() as servers, _app(local_server, app_id) as direct:
        await servers.start(front.serve)
        device_id = await _device(direct)
        app = _app(local_server, app_id, base_url=front.base_url)
        stream = app.device(device_id).state_stream(
            keep_alive_interval=1, on_state_change=on_change
        )
        with anyio.fail_after(30):
            async with app, stream, anyio.create_task_group() as senders:
                await direct.device(device_id).send_state([{"data": {"n": n}} for n in range(3)])
                async for state in stream:
                    got.append(_n(state))
                    if len(got) == 3:
                        await front.stop()  # Losant goes down...
                        # ...states sent meanwhile are lost (Losant replays nothing)...
                        await direct.device(device_id).send_state({"data": {"n": 99}})
                        await servers.start(front.serve)  # ...and comes back.

                        async def after_reconnect() -> None:
                            await reopened.wait()
                            await direct.device(device_id).send_state(
                                [{"data": {"n": n}} for n in range(3, 6)]
                            )

                        senders.start_soon(after_reconnect)
                    if len(got) == 6:
                        break
        servers.cancel_scope.cancel()
        assert got == [0, 1, 2, 3, 4, 5]
        assert stream.reconnects == 1
        (gap,) = stream.gaps
        assert gap.started_at <= gap.ended_at
        assert not gap.replayed
        assert str(stream.state) == "closed"


async def test_dropped_state_stream_reconnects_and_reports_its_gap(
    local_server: LocalLosant, app_id: str
) -> None:
    """``faults.drop_stream(action="device.stateStream")``: one reconnect, one gap, no error."""
    local_server.faults.drop_stream(after_events=2, action="device.stateStream")
    reopened = anyio.Event()

    def on_change(old: object, new: object) -> None:
        if str(old) == "reconnecting" and str(new) == "open":
            reopened.set()

    got: list[int] = []
    async with _app(local_server, app_id) as app:
        device = app.device(await _device(app))
        stream = device.state_stream(keep_alive_interval=1, on_state_change=on_change)
        with anyio.fail_after(30):
            async with stream, anyio.create_task_group() as senders:
                await device.send_state([{"data": {"n": n}} for n in range(2)])

                async def after_reconnect() -> None:
                    await reopened.wait()
                    await device.send_state([{"data": {"n": n}} for n in range(2, 4)])

                senders.start_soon(after_reconnect)
                async for state in stream:
                    got.append(_n(state))
                    if len(got) == 4:
                        break
    assert got == [0, 1, 2, 3]
    assert stream.reconnects == 1
    assert len(stream.gaps) == 1
    assert stream.skipped == 0


async def test_two_hundred_devices_as_one_iterator_with_flat_memory(
    local_server: LocalLosant, app_id: str
) -> None:
    """200 devices, 5 rounds of one state each: every state once, in order; memory flat."""
    count, rounds = 200, 5
    async with _app(local_server, app_id) as app:
        limit = anyio.Semaphore(16)
        ids: list[str] = []

        async def make(n: int) -> None:
            async with limit:
                ids.append(await _device(app, f"Sensor {n:03d}"))

        async with anyio.create_task_group() as group:
            for n in range(count):
                group.start_soon(make, n)
        seen: dict[str, list[int]] = {device_id: [] for device_id in ids}
        marks: list[int] = []
        tracemalloc.start()
        try:
            with anyio.fail_after(120):
                async with (
                    app.device_state_streams(
                        ids, keep_alive_interval=2, max_buffer_size=16
                    ) as group,
                    anyio.create_task_group() as senders,
                ):
                    assert all(str(state) == "open" for _, state in group.states)

                    async def send_round(n: int) -> None:
                        async def one(device_id: str) -> None:
                            async with limit:
                                await app.device(device_id).send_state({"data": {"n": n}})

                        async with anyio.create_task_group() as round_group:
                            for device_id in ids:
                                round_group.start_soon(one, device_id)

                    received = 0
                    senders.start_soon(send_round, 0)
                    async for device_id, state in group:
                        seen[device_id].append(_n(state))
                        received += 1
                        if received % count == 0:
                            marks.append(tracemalloc.get_traced_memory()[0])
                            if received == count * rounds:
                                break
                            senders.start_soon(send_round, received // count)
        finally:
            tracemalloc.stop()
    assert all(values == list(range(rounds)) for values in seen.values())
    # After the first round every connection and buffer exists; later rounds
    # add only the states the local Losant stores (a few hundred bytes each).
    growth = marks[-1] - marks[0]
    assert growth < 2 * 1024 * 1024, f"grew {growth / 1e6:.2f} MB over {rounds - 1} rounds"


# -- pagination ---------------------------------------------------------------


@pytest.fixture(scope="module")
def paged_app(local_server: LocalLosant) -> str:
    """An application of 10,000 devices, seeded into the store (through the API: too slow)."""
    app_id = local_server.create_application(name="10k devices")
    iot = local_server._state.iot
    for n in range(PAGED_DEVICES):
        iot.create_device(app_id, {"name": f"Sensor {n:05d}"})
    return app_id


class InFlight(httpx.AsyncBaseTransport):
    """Counts the requests in flight (and their peak) through a real httpx transport."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.now = self.peak = self.total = 0

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.total += 1
        self.peak = max(self.peak, self.now)
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self.now -= 1
            raise
        # In flight until its body is closed (read to the end, or abandoned).
        response.stream = _Body(response.stream, self)
        return response


class _Body(httpx.AsyncByteStream):
    def __init__(self, inner: Any, counter: InFlight) -> None:
        self._inner = inner
        self._counter: InFlight | None = counter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        if self._counter is not None:
            self._counter.now -= 1
            self._counter = None
        await self._inner.aclose()


@asynccontextmanager
async def _counted(
    server: LocalLosant, app_id: str
) -> AsyncIterator[tuple[AsyncApplication, InFlight]]:
    counter = InFlight()
    async with (
        httpx.AsyncClient(transport=counter) as client,
        _app(server, app_id, http_client=client) as app,
    ):
        yield app, counter


async def test_ten_thousand_devices_each_once_in_order_with_bounded_requests(
    local_server: LocalLosant, paged_app: str
) -> None:
    local_server.faults.latency("devices.get", seconds=0.003)  # so requests overlap
    try:
        async with _counted(local_server, paged_app) as (app, counter):
            with anyio.fail_after(120):
                names = [
                    d.name
                    async for d in app.devices.get(per_page=250, exclude_connection_info=True)
                ]
    finally:
        local_server.faults.clear()
    assert names == [f"Sensor {n:05d}" for n in range(PAGED_DEVICES)]
    assert counter.total == PAGED_DEVICES // 250  # each page once, none past the end
    assert 1 < counter.peak <= 3  # the default prefetch: 2 pages ahead of the one read


async def test_await_is_one_page_pages_and_limit(local_server: LocalLosant, paged_app: str) -> None:
    async with _counted(local_server, paged_app) as (app, counter):
        page = await app.devices.get(page=3, per_page=50)
        assert counter.total == 1
        assert page.total_count == PAGED_DEVICES
        assert [d.name for d in page.items or []] == [f"Sensor {n:05d}" for n in range(150, 200)]

        counter.total = 0
        got = [d.name async for d in app.devices.get(per_page=100, limit=250)]
        assert got == [f"Sensor {n:05d}" for n in range(250)]
        assert counter.total == 3  # the third page is the last one needed

        counter.total = 0
        sizes = [len(p.items or []) async for p in app.devices.get(page=98, per_page=100).pages()]
        assert sizes == [100, 100]  # pages 98 and 99: the reported total stops the walk
        assert counter.total == 2


async def test_breaking_out_leaves_no_request_in_flight(
    local_server: LocalLosant, paged_app: str
) -> None:
    local_server.faults.latency("devices.get", seconds=0.01)
    try:
        async with _counted(local_server, paged_app) as (app, counter):
            seen = 0
            async for _ in app.devices.get(per_page=100):
                seen += 1
                if seen == 150:
                    break
            assert counter.now == 0
            sent = counter.total
            await anyio.sleep(0.05)
            assert counter.total == sent <= 2 + 2  # pages 0-1, and at most two ahead
    finally:
        local_server.faults.clear()
