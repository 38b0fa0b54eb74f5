"""`LocalLosant`: the local Losant's lifecycle, on its own asyncio loop in a background thread.

uvicorn always runs on a private asyncio loop in a thread of its own, under
an anyio blocking portal. That one design serves sync callers
(`run_in_thread`), asyncio and trio (`async with`, which starts and stops the
thread through `anyio.to_thread`), and lets one session-wide server be shared
by tests on both backends.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import anyio
import anyio.from_thread
import uvicorn

from losant_async.testing import _routes, _schemas
from losant_async.testing._context import Context
from losant_async.testing._faults import Faults
from losant_async.testing._jobs import JOB_STATUSES, REQUESTER_TYPES, JobRunner, job_log_entry
from losant_async.testing._sse import Broker, payload_text
from losant_async.testing._state import Json, State, new_id

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class LocalLosant:
    """A Losant-compatible server of the Application resource, over real HTTP on 127.0.0.1.

    Use it as `async with LocalLosant() as server:` (asyncio or trio) or, from
    sync code, `with LocalLosant().run_in_thread() as server:`. Point a
    client at `server.base_url` with `server.token`, seed applications with
    `create_application`, and break things on purpose with `server.faults`.
    It behaves like Losant where Losant's behaviour is known; the knobs
    `job_duration`, `replay`, `clock_offset`, `add_job_log` and
    `revoke_token` exist for tests only (README, "Where the local Losant
    departs from Losant").
    Every method is thread-safe. A server runs once: make a new one to restart.

    Args:
        job_duration: seconds from enqueue to the end of each job (settable later).
        keep_alive_interval: default `keepAliveInterval` of MQTT streams, in seconds.
        replay_buffer: how many MQTT messages per application are kept for
            clients reconnecting with `Last-Event-ID` (only with `replay` on).
        check_responses: validate every JSON answer against its schema and
            answer 500 `LocalLosantBug` if one does not match.
        port: the 127.0.0.1 port to listen on; 0 (the default) picks a free one.
    """

    def __init__(
        self,
        *,
        job_duration: float = 0.05,
        keep_alive_interval: float = 2.0,
        replay_buffer: int = 100,
        check_responses: bool = True,
        port: int = 0,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, not {port!r}")
        self._bind_port = port
        self.job_duration = job_duration
        self.faults: Faults = Faults()
        self._state = State()
        self._broker = Broker(replay_size=replay_buffer)
        self._jobs = JobRunner(self._state, self.faults, lambda: self.job_duration)
        self._context = Context(
            state=self._state,
            faults=self.faults,
            broker=self._broker,
            jobs=self._jobs,
            base_url=lambda: self.base_url,
            keep_alive=keep_alive_interval,
            check_responses=check_responses,
        )
        self.token: str = self._state.create_token(_schemas.ALL_SCOPES)
        self._port: int | None = None
        self._phase = "new"
        self._phase_lock = threading.Lock()
        self._exit_stack = contextlib.ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._loop_thread: int | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._serving: Any = None

    def __repr__(self) -> str:
        where = f" {self.base_url}" if self._phase == "running" else ""
        return f"<LocalLosant {self._phase}{where}>"

    # -- public helpers -------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`, the base URL to give a client (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("the local Losant is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def replay(self) -> bool:
        """Whether MQTT events carry `id:` lines and a reconnect with `Last-Event-ID` replays.

        False by default, as on Losant (its broker keeps no messages); a test
        may set it to True to exercise a client's replay path.
        """
        return self._context.replay

    @replay.setter
    def replay(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"replay must be a bool, not {type(value).__name__}")
        self._context.replay = value

    @property
    def clock_offset(self) -> float:
        """Seconds added to the server's clock (0 by default; settable any time).

        Shifts the `Date` header and every time the server stamps (job and
        import logs, `lastUpdated`, usage ranges), to test clients whose own
        clock disagrees with the server's.
        """
        return self._state.clock_offset

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"clock_offset must be a number of seconds, not {seconds!r}")
        self._state.clock_offset = float(seconds)

    @property
    def open_streams(self) -> int:
        """How many `mqttSubscriptionStream` connections are open right now."""
        return self._broker.open_streams

    def create_application(
        self,
        *,
        name: str = "Local application",
        description: str | None = None,
        resources: Sequence[tuple[str, str]] | None = None,
        requires_job: bool = False,
        application_id: str | None = None,
    ) -> str:
        """Seed an application and return its 24-hex id.

        `resources` are (`_type`, name) pairs found by `search` (a small
        default set when None). With `requires_job`, `clone` and `export`
        always answer 202 with a job, as Losant does for large applications.
        """
        return self._state.create_application(
            name=name,
            description=description,
            resources=resources,
            requires_job=requires_job,
            application_id=application_id,
        )

    def create_token(self, *, scopes: Sequence[str], application_id: str | None = None) -> str:
        """A new API token with exactly `scopes`, optionally limited to one application."""
        if isinstance(scopes, str):
            raise TypeError("scopes must be a sequence of scope names, not a str")
        return self._state.create_token(scopes, application_id)

    def revoke_token(self, token: str) -> None:
        """Revoke `token`: later requests with it are answered 401 `Unauthorized`.

        Raises KeyError if the token is unknown (or revoked already).
        """
        self._state.revoke_token(token)

    def add_job_log(
        self,
        application_id: str,
        *,
        name: str,
        requested_by_type: str = "system",
        status: str = "queued",
        run_queued_at: datetime | str | None = None,
    ) -> str:
        """Add a job log entry that no request enqueued (say, Losant's nightly archiving).

        The entry keeps the given `status` (it does not run). `run_queued_at`
        (an aware datetime or an ISO 8601 string) defaults to the server's
        clock. Returns the entry's log `id`; KeyError if the application is unknown.
        """
        if requested_by_type not in REQUESTER_TYPES:
            raise ValueError(f"requested_by_type must be one of {REQUESTER_TYPES}")
        if status not in JOB_STATUSES:
            raise ValueError(f"status must be one of {JOB_STATUSES}")
        if isinstance(run_queued_at, str):
            run_queued_at = datetime.fromisoformat(run_queued_at)
        if run_queued_at is not None and run_queued_at.tzinfo is None:
            raise ValueError("run_queued_at must be timezone-aware")
        entry = job_log_entry(
            application_id,
            name=name,
            requested_by_type=requested_by_type,
            requested_by_id=new_id(),
            status=status,
            queued_at=run_queued_at or self._state.now(),
        )
        self._state.add_log(application_id, "job", entry)
        return str(entry["id"])

    def application(self, application_id: str) -> Json:
        """A snapshot of an application as `GET` would answer it (KeyError if unknown)."""
        return self._state.application(application_id)

    def job_logs(self, application_id: str) -> list[Json]:
        """A snapshot of the application's job logs, oldest first."""
        return self._state.job_logs(application_id)

    def import_logs(self, application_id: str) -> list[Json]:
        """A snapshot of the application's import logs, newest first."""
        return self._state.import_logs(application_id, limit=1_000_000, since=None)

    def publish(self, application_id: str, topic: str, message: object) -> int:
        """Publish an MQTT message to the application's streams; returns its event number.

        `message` is encoded as the client encodes it: a `str` as is, `bytes`
        as UTF-8 text, anything else (a dict, a number) as compact JSON text
        (`ValueError` / `TypeError` when it cannot be). The number is the
        event's `id:` line when `replay` is on (none is sent otherwise).

        Safe from any thread; the message is queued to every matching stream
        before this returns.
        """
        text = payload_text(message)
        portal = self._running_portal()
        if threading.get_ident() == self._loop_thread:
            return self._broker.publish(application_id, topic, text)
        return portal.call(self._broker.publish, application_id, topic, text)

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start serving in a background thread; returns once the port accepts connections."""
        with self._phase_lock:
            if self._phase != "new":
                raise RuntimeError("a LocalLosant runs only once; create a new one")
            self._phase = "starting"
        # proto must be IPPROTO_TCP, not the default 0: asyncio sets
        # TCP_NODELAY on accepted sockets only when it is (they inherit the
        # listener's proto). Without it, Nagle holds each response's body
        # until the client ACKs its headers: ~40 ms per request (delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._exit_stack.callback(sock.close)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._bind_port))
            self._port = sock.getsockname()[1]
            config = uvicorn.Config(
                _routes.app(self._context),
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                http="h11",
                ws="none",
                timeout_graceful_shutdown=1,
                # Losant sends neither uvicorn's Server header nor its Date:
                # the Date header comes from _routes (it follows clock_offset).
                server_header=False,
                date_header=False,
            )
            self._uvicorn = uvicorn.Server(config)
            self._portal = self._exit_stack.enter_context(
                anyio.from_thread.start_blocking_portal("asyncio")
            )
            self._loop_thread = self._portal.call(threading.get_ident)
            self._serving = self._portal.start_task_soon(self._serve, sock)
            self._portal.call(self._wait_started)
        except BaseException:
            self._phase = "stopping"
            self._shutdown()
            raise
        self._phase = "running"

    async def _serve(self, sock: socket.socket) -> None:
        assert self._uvicorn is not None
        async with anyio.create_task_group() as group:
            self._jobs.group = group
            await self._uvicorn.serve(sockets=[sock])
            # Jobs still running die with the server.
            group.cancel_scope.cancel()

    async def _wait_started(self) -> None:
        assert self._uvicorn is not None
        with anyio.fail_after(_START_TIMEOUT):
            while not self._uvicorn.started:
                if self._serving.done():
                    self._serving.result()
                    raise RuntimeError("the local Losant stopped while starting")
                await anyio.sleep(0.005)

    def stop(self) -> None:
        """Close every stream, stop serving and join the thread (idempotent)."""
        with self._phase_lock:
            if self._phase in ("new", "stopped", "stopping"):
                if self._phase == "new":
                    self._phase = "stopped"
                return
            self._phase = "stopping"
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            if self._portal is not None and self._uvicorn is not None:
                # Ending the SSE responses first is what lets uvicorn's
                # graceful shutdown finish at once instead of waiting on them.
                self._portal.call(self._broker.close_all)
                self._uvicorn.should_exit = True
                if self._serving is not None:
                    self._serving.result(timeout=_STOP_TIMEOUT)
        finally:
            self._exit_stack.close()
            self._portal = None
            self._phase = "stopped"

    @contextlib.contextmanager
    def run_in_thread(self) -> Iterator[LocalLosant]:
        """Run the server in a background thread for the duration of a `with` block."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    async def __aenter__(self) -> LocalLosant:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)

    def _running_portal(self) -> anyio.from_thread.BlockingPortal:
        if self._portal is None or self._phase != "running":
            raise RuntimeError("the local Losant is not running")
        return self._portal
