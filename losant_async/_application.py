"""``AsyncApplication``: the 22 actions of the Losant Application resource.

Each method is params → transport → decode: it checks and shapes its
arguments (``_params``), sends one request through the transport and decodes
the answer into its model (``_convert.decode``). A ``202 Accepted`` answer
becomes a ``JobHandle``; the two stream methods hand back an unopened
``MqttStream`` / ``MqttStreamGroup``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Literal, TypeVar, Unpack, overload

import anyio
import httpx

from . import _lazy, _params
from ._api._roots import ApplicationResources
from ._auth import TokenSource
from ._constants import (
    ACCEPT_VERSION,
    DEFAULT_KEEP_ALIVE_INTERVAL,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RESPONSE_DEADLINE,
    DEFAULT_TIMEOUT,
    STREAM_BACKOFF_INITIAL,
    STREAM_BACKOFF_MAX,
    STREAM_GROUP_BUFFER,
)
from ._convert import decode, decode_list
from ._derive import derive
from ._exceptions import APIResponseValidationError
from ._lifecycle import Lifecycle
from ._models import (
    Application,
    ApplicationApplyTemplatePatch,
    ApplicationCloneDryRunResult,
    ApplicationClonePost,
    ApplicationCreationByTemplateResult,
    ApplicationExportPost,
    ApplicationExportResult,
    ApplicationGlobal,
    ApplicationImportExecution,
    ApplicationImportOptions,
    ApplicationPatch,
    ApplicationReadme,
    ApplicationReadmePatch,
    ApplicationSearchResultItem,
    DeviceCounts,
    ImportIntoApplicationOptions,
    JobEnqueuedResult,
    MqttMessage,
    NotebookMinuteCounts,
    PayloadCountsBreakdown,
    PayloadStats,
    Success,
)
from ._options import make_transport, resolve_settings
from ._params import (
    Bundle,
    Time,
    check_bool,
    check_job,
    check_limit,
    check_publish_topic,
    check_resolution,
    check_str,
    check_topic_filter,
    check_topics,
    csv_param,
    encode_message,
    ms_param,
)
from ._retry import RetryPolicy
from ._transport import Transport
from ._wire import NO_BODY

if TYPE_CHECKING:
    from ._jobs._handle import JobHandle
    from ._models._api.device_state import DeviceState
    from ._multipart import Multipart
    from ._params._fields import (
        ApplicationApplyTemplatePatchFields,
        ApplicationClonePostFields,
        ApplicationExportPostFields,
        ApplicationPatchFields,
    )
    from ._raw import ApplicationRawResponses
    from ._response import Response
    from ._streams import MqttStream, MqttStreamGroup
    from ._streams._group import KeyedStreamGroup
    from ._streams._values import StateCallback

__all__ = ["AsyncApplication"]

T = TypeVar("T")

_SAFE: Final = RetryPolicy.SAFE
# Enqueuing a job or publishing a message twice is not harmless: these are
# retried only where the server did nothing (API.md "Details": Retries).
_ENQUEUE: Final = RetryPolicy.ENQUEUE


class AsyncApplication(ApplicationResources):
    """One Losant application: a method per action of the Application resource.

    Standalone (``AsyncApplication(id, token=...)``) it owns its transport and
    is closed by ``aclose()`` or ``async with``; handed out by
    ``AsyncLosant.application(id)`` it shares the client's transport and
    leaves closing it to the client. As with the client, ``async with``
    enters once (a second entry raises ``RuntimeError``), and a closed façade
    (or one whose client is closed) raises ``ClientClosedError``.

    Bodies are given as their model or as a mapping in the API's camelCase
    (positionally or as ``body=``), or as snake_case keyword arguments, typed
    field by field (a misspelt keyword is a type error, and a ``TypeError``
    before any request); mixing them raises ``TypeError``. Where a flag decides
    the answer (``export(force_job=True)`` is a ``JobHandle``,
    ``clone(dry_run=True)`` a dry-run result), overloads give that type.
    The query keywords of an action (e.g. ``summary_include`` on ``patch``)
    are always query parameters: a body field of the same name would have
    to be given through the model or the mapping.
    """

    __slots__ = ("_id", "_lifecycle", "_owns_transport", "_path", "_transport")

    _id: str
    _path: str
    _transport: Transport
    _owns_transport: bool
    _lifecycle: Lifecycle

    def __init__(
        self,
        application_id: str,
        *,
        token: TokenSource | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        accept_version: str = ACCEPT_VERSION,
        losant_domain: str | None = None,
        limits: httpx.Limits | None = None,
        max_streams: int | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        response_deadline: float | None = DEFAULT_RESPONSE_DEADLINE,
    ) -> None:
        app_id = _params.check_application_id(application_id)
        # The same keywords as AsyncLosant, checked the same way (API.md).
        transport = make_transport(
            resolve_settings(
                token,
                base_url=base_url,
                timeout=timeout,
                max_retries=max_retries,
                http_client=http_client,
                accept_version=accept_version,
                losant_domain=losant_domain,
                limits=limits,
                max_streams=max_streams,
                max_response_bytes=max_response_bytes,
                response_deadline=response_deadline,
            )
        )
        self._setup(transport, app_id, owns_transport=True)

    @classmethod
    def _borrowing(cls, transport: Transport, application_id: str) -> AsyncApplication:
        """A façade on a client's transport (``AsyncLosant.application``)."""
        app_id = _params.check_application_id(application_id)
        self = cls.__new__(cls)
        self._setup(transport, app_id, owns_transport=False)
        return self

    def _setup(self, transport: Transport, app_id: str, *, owns_transport: bool) -> None:
        self._id = app_id
        self._path = f"/applications/{app_id}"
        self._transport = transport
        self._owns_transport = owns_transport
        self._lifecycle = Lifecycle("AsyncApplication")

    @property
    def application_id(self) -> str:
        """The 24-hex id of the application."""
        return self._id

    @property
    def is_closed(self) -> bool:
        """Whether this façade (or the client it came from) has been closed."""
        return self._lifecycle.is_closed or self._transport.is_closed

    def __repr__(self) -> str:
        return f"AsyncApplication({self._id!r}, base_url={self._transport.base_url!r})"

    async def __aenter__(self) -> AsyncApplication:
        """Open once (``Lifecycle``): a closed façade, or one whose client is closed, raises."""
        self._sync_with_transport()
        self._lifecycle.enter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections, if this façade owns them. Idempotent."""
        if self._lifecycle.close() and self._owns_transport:
            # Release the pool even when the caller is being cancelled.
            with anyio.CancelScope(shield=True):
                await self._transport.aclose()

    # -- plumbing ---------------------------------------------------------------

    def _sync_with_transport(self) -> None:
        # A façade handed out by a client is closed with it.
        if self._transport.is_closed:
            self._lifecycle.close()

    def _check_open(self) -> None:
        self._sync_with_transport()
        self._lifecycle.check_open()

    def _path_ids(self) -> tuple[str, ...]:
        # The ids of resources under /applications/{applicationId} (_api._roots).
        return (self._id,)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        retry: RetryPolicy,
        params: Sequence[tuple[str, str]] = (),
        body: object = None,
        multipart: Multipart | None = None,
    ) -> Response:
        self._check_open()
        return await self._transport.request(
            method,
            self._path + path,
            retry=retry,
            params=params,
            json=NO_BODY if body is None else body,
            multipart=multipart,
        )

    async def _call(
        self,
        method: str,
        path: str,
        cls: type[T],
        *,
        retry: RetryPolicy,
        params: Sequence[tuple[str, str]] = (),
        body: object = None,
    ) -> T:
        response = await self._request(method, path, retry=retry, params=params, body=body)
        return decode(response, cls)

    def _handle(self, response: Response, action: str, enqueued_at: datetime) -> JobHandle:
        """The ``JobHandle`` of a ``202`` answer."""
        # Jobs and streams load when first used: a plain get needs neither.
        from ._jobs._handle import JobHandle, server_date

        _lazy.publish("losant_async")  # JobHandle, JobError: the public path

        return JobHandle(
            self._transport,
            application_id=self._id,
            action=action,
            job_id=_job_id(response),
            enqueued_at=enqueued_at,
            # The window is anchored on the server's clock (API.md "Job kinds").
            server_time=server_date(response.headers),
        )

    async def _enqueue(
        self,
        method: str,
        path: str,
        action: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        body: object = None,
        multipart: Multipart | None = None,
    ) -> tuple[Response, JobHandle | None]:
        """Send a job-enqueuing request; the handle if the answer is 202."""
        # Taken before sending: the server stamps runQueuedAt on arrival and the
        # job tracker's time window must start before that (API.md "Jobs").
        enqueued_at = datetime.now(UTC)
        response = await self._request(
            method, path, retry=_ENQUEUE, params=params, body=body, multipart=multipart
        )
        if response.status_code == 202:
            return response, self._handle(response, action, enqueued_at)
        return response, None

    def job(
        self,
        job_id: str,
        action: str,
        *,
        enqueued_at: datetime | None = None,
        log_id: str | None = None,
    ) -> JobHandle:
        """Re-create the handle of a job enqueued earlier (e.g. by another process).

        Args:
            job_id: The ``jobId`` of the ``202`` answer.
            action: The API action that enqueued it (``"export"``, ``"import"``,
                ``"applyTemplate"``, ``"archiveData"``, ...).
            enqueued_at: When the enqueue request was sent (naive = UTC). Job
                logs that do not carry ``job_id`` are matched in a time window
                around it, so give it; without it, now is used and only
                entries queued shortly before now can match.
            log_id: The id of the job's log entry, if known: followed without
                matching.

        Raises:
            ValueError: ``action`` does not enqueue jobs.
        """
        from ._jobs._handle import JobHandle

        _lazy.publish("losant_async")
        enqueued_at = check_job(job_id, action, enqueued_at, log_id)
        return JobHandle(
            self._transport,
            application_id=self._id,
            action=action,
            job_id=job_id,
            enqueued_at=enqueued_at,
            log_id=log_id,
            # The answer came moments after sending: close the window there,
            # not at the (much later) moment of re-creation.
            accepted_at=enqueued_at,
        )

    # -- per-request options and response metadata (_derive.py, _raw.py) -------

    def with_options(
        self,
        *,
        timeout: httpx.Timeout | float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncApplication:
        """A façade like this one with other settings, over the same connections.

        ``None`` keeps this façade's value; ``extra_headers`` are sent with
        every request (``Authorization`` is refused: give the token). The
        copy shares the pool and the token: it is not closed on its own, and
        closing this façade's owner (the client, or this standalone façade)
        closes it too.
        """
        self._check_open()
        transport = derive(
            self._transport, timeout=timeout, max_retries=max_retries, headers=extra_headers
        )
        return AsyncApplication._borrowing(transport, self._id)

    @property
    def with_raw_response(self) -> ApplicationRawResponses:
        """Each action, answering a ``RawResponse``: status, headers, request id, ``parse()``.

        ``raw = await app.with_raw_response.get()``; ``raw.parse()`` is the
        ``Application`` (a ``JobHandle`` for a 202). Not for the streams.
        """
        from ._raw import ApplicationRawResponses  # it imports this module

        self._check_open()
        return ApplicationRawResponses(self)

    # -- the application itself ------------------------------------------------

    async def get(
        self,
        *,
        summary_include: str | Sequence[str] | None = None,
        summary_exclude: str | Sequence[str] | None = None,
    ) -> Application:
        """Retrieve the application.

        Losant action ``get``: ``GET /applications/{applicationId}``.

        ``summary_include`` / ``summary_exclude`` name summary fields (e.g.
        ``["payloadCount"]``), sent comma-separated.
        """
        query = _params.query(
            summary_exclude=csv_param(summary_exclude, "summary_exclude"),
            summary_include=csv_param(summary_include, "summary_include"),
        )
        return await self._call("GET", "", Application, retry=_SAFE, params=query)

    async def patch(
        self,
        body: ApplicationPatch | Mapping[str, object] | None = None,
        *,
        summary_include: str | Sequence[str] | None = None,
        summary_exclude: str | Sequence[str] | None = None,
        **fields: Unpack[ApplicationPatchFields],
    ) -> Application:
        """Update the application.

        Losant action ``patch``: ``PATCH /applications/{applicationId}``.

        The body is an ``ApplicationPatch``, a camelCase mapping, or keyword
        fields (``name=``, ``description=``, ``endpoint_slug=``, ...).
        ``summary_include`` / ``summary_exclude`` are query parameters, as in
        ``get``.
        """
        payload = _params.build_body(ApplicationPatch, body, fields)
        query = _params.query(
            summary_exclude=csv_param(summary_exclude, "summary_exclude"),
            summary_include=csv_param(summary_include, "summary_include"),
        )
        return await self._call("PATCH", "", Application, retry=_SAFE, params=query, body=payload)

    async def delete(self) -> Success:
        """Delete the application.

        Losant action ``delete``: ``DELETE /applications/{applicationId}``.
        """
        return await self._call("DELETE", "", Success, retry=_SAFE)

    async def globals(
        self, items: Sequence[ApplicationGlobal | Mapping[str, object]]
    ) -> Application:
        """Set application globals.

        Losant action ``globals``: ``PATCH /applications/{applicationId}/globals``.

        ``items`` are ``ApplicationGlobal`` models or camelCase mappings
        (``{"key": "k", "json": "\\"v\\""}``); ``json=None`` sends JSON
        ``null``, which removes the key.
        """
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
            raise TypeError("items must be a sequence of ApplicationGlobal or mappings")
        payload = _params.build_list_body(ApplicationGlobal, items)
        return await self._call("PATCH", "/globals", Application, retry=_SAFE, body=payload)

    async def readme(self) -> ApplicationReadme:
        """Retrieve the readme.

        Losant action ``readme``: ``GET /applications/{applicationId}/readme``.
        """
        return await self._call("GET", "/readme", ApplicationReadme, retry=_SAFE)

    async def readme_patch(self, content: str) -> ApplicationReadme:
        """Replace the readme.

        Losant action ``readmePatch``: ``PATCH /applications/{applicationId}/readme``.
        """
        payload = _params.build_body(ApplicationReadmePatch, None, {"content": content})
        return await self._call("PATCH", "/readme", ApplicationReadme, retry=_SAFE, body=payload)

    async def search(self, filter: str) -> list[ApplicationSearchResultItem]:
        """Search resources by partial name.

        Losant action ``search``: ``GET /applications/{applicationId}/search``.
        """
        check_str("filter", filter, allow_empty=False)
        response = await self._request(
            "GET", "/search", retry=_SAFE, params=_params.query(filter=filter)
        )
        return decode_list(response, ApplicationSearchResultItem)

    # -- counts -----------------------------------------------------------------

    async def device_counts(
        self, *, start: Time | None = None, end: Time | None = None
    ) -> DeviceCounts:
        """Device counts by day.

        Losant action ``deviceCounts``: ``GET /applications/{applicationId}/deviceCounts``.

        ``start`` / ``end`` are datetimes or ms since the epoch.
        """
        query = _params.query(start=ms_param(start, "start"), end=ms_param(end, "end"))
        return await self._call("GET", "/deviceCounts", DeviceCounts, retry=_SAFE, params=query)

    async def notebook_minute_counts(
        self, *, start: Time | None = None, end: Time | None = None
    ) -> NotebookMinuteCounts:
        """Notebook minutes by day.

        Losant action ``notebookMinuteCounts``: ``GET /applications/{id}/notebookMinuteCounts``.
        """
        query = _params.query(start=ms_param(start, "start"), end=ms_param(end, "end"))
        return await self._call(
            "GET", "/notebookMinuteCounts", NotebookMinuteCounts, retry=_SAFE, params=query
        )

    async def payload_counts(
        self,
        *,
        start: Time | None = None,
        end: Time | None = None,
        as_bytes: bool | None = None,
    ) -> PayloadStats:
        """Payload counts by type.

        Losant action ``payloadCounts``: ``GET /applications/{applicationId}/payloadCounts``.

        Losant's defaults: the last 30 days, counts rather than bytes.
        """
        check_bool("as_bytes", as_bytes)
        query = _params.query(
            start=ms_param(start, "start"), end=ms_param(end, "end"), as_bytes=as_bytes
        )
        return await self._call("GET", "/payloadCounts", PayloadStats, retry=_SAFE, params=query)

    async def payload_counts_breakdown(
        self,
        *,
        start: Time | None = None,
        end: Time | None = None,
        resolution: int | str | None = None,
        as_bytes: bool | None = None,
        include_non_billable: bool | None = None,
    ) -> PayloadCountsBreakdown:
        """Payload counts over time.

        Losant action ``payloadCountsBreakdown``: ``GET /applications/{id}/payloadCountsBreakdown``.

        ``resolution`` is ``86400000`` (a day, Losant's default) or ``3600000``
        (an hour), in ms.
        """
        res = check_resolution(resolution)
        check_bool("as_bytes", as_bytes)
        check_bool("include_non_billable", include_non_billable)
        query = _params.query(
            start=ms_param(start, "start"),
            end=ms_param(end, "end"),
            resolution=res,
            as_bytes=as_bytes,
            include_non_billable=include_non_billable,
        )
        return await self._call(
            "GET", "/payloadCountsBreakdown", PayloadCountsBreakdown, retry=_SAFE, params=query
        )

    async def import_logs(
        self, *, limit: int | None = None, since: Time | None = None
    ) -> list[ApplicationImportExecution]:
        """Recent imports, newest first.

        Losant action ``importLogs``: ``GET /applications/{applicationId}/importLogs``.

        Losant returns one entry unless ``limit`` says otherwise.
        """
        query = _params.query(limit=check_limit(limit), since=ms_param(since, "since"))
        response = await self._request("GET", "/importLogs", retry=_SAFE, params=query)
        return decode_list(response, ApplicationImportExecution)

    # -- jobs -------------------------------------------------------------------

    @overload
    async def apply_template(
        self, body: ApplicationApplyTemplatePatch | Mapping[str, object]
    ) -> Application | JobHandle: ...
    @overload
    async def apply_template(
        self, **fields: Unpack[ApplicationApplyTemplatePatchFields]
    ) -> Application | JobHandle: ...
    async def apply_template(
        self,
        body: ApplicationApplyTemplatePatch | Mapping[str, object] | None = None,
        **fields: object,
    ) -> Application | JobHandle:
        """Add a template's resources.

        Losant action ``applyTemplate``: ``PATCH /applications/{applicationId}/applyTemplate``.

        ``template_id`` is required. Returns the updated ``Application``, or a
        ``JobHandle`` when Losant enqueues the import (202): no argument
        decides which, so check with ``isinstance(result, JobHandle)``.
        """
        payload = _params.build_body(ApplicationApplyTemplatePatch, body, fields)
        response, handle = await self._enqueue(
            "PATCH", "/applyTemplate", "applyTemplate", body=payload
        )
        return handle if handle is not None else decode(response, Application)

    @overload
    async def clone(
        self,
        *,
        dry_run: Literal[True],
        force_job: bool | None = None,
        **fields: Unpack[ApplicationClonePostFields],
    ) -> ApplicationCloneDryRunResult: ...
    @overload
    async def clone(
        self,
        *,
        dry_run: Literal[False] | None = None,
        force_job: Literal[True],
        **fields: Unpack[ApplicationClonePostFields],
    ) -> JobHandle: ...
    @overload
    async def clone(
        self, body: ApplicationClonePost | Mapping[str, object] | None
    ) -> ApplicationCloneDryRunResult | ApplicationCreationByTemplateResult | JobHandle: ...
    @overload
    async def clone(
        self,
        *,
        dry_run: bool | None = None,
        force_job: bool | None = None,
        **fields: Unpack[ApplicationClonePostFields],
    ) -> ApplicationCloneDryRunResult | ApplicationCreationByTemplateResult | JobHandle: ...
    async def clone(
        self,
        body: ApplicationClonePost | Mapping[str, object] | None = None,
        **fields: object,
    ) -> ApplicationCloneDryRunResult | ApplicationCreationByTemplateResult | JobHandle:
        """Copy the application into a new one.

        Losant action ``clone``: ``POST /applications/{applicationId}/clone``.

        Without options the body is ``{}``. Returns an
        ``ApplicationCloneDryRunResult`` (200, ``dry_run=True``), an
        ``ApplicationCreationByTemplateResult`` (201), or a ``JobHandle`` (202,
        always with ``force_job=True``). Given as keywords, ``dry_run=True``
        and ``force_job=True`` type the result; an answer that breaks that
        (a dry run not answered 200, a forced job not 202) raises
        ``APIResponseValidationError``. A 422 (too many validation errors)
        raises ``UnprocessableEntityError``.
        """
        payload = _params.build_body(ApplicationClonePost, body, fields)
        response, handle = await self._enqueue("POST", "/clone", "clone", body=payload)
        if payload.get("dryRun") is True:
            # The spec answers a dry run 200 only (the overload's promise).
            if response.status_code != 200:
                raise _unexpected("clone with dry_run=True", response, 200)
            return decode(response, ApplicationCloneDryRunResult)
        if handle is not None:
            return handle
        if payload.get("forceJob") is True:
            raise _unexpected("clone with force_job=True", response, 202)
        if response.status_code == 201:
            return decode(response, ApplicationCreationByTemplateResult)
        return decode(response, ApplicationCloneDryRunResult)

    @overload
    async def export(
        self, *, force_job: Literal[True], **fields: Unpack[ApplicationExportPostFields]
    ) -> JobHandle: ...
    @overload
    async def export(
        self, body: ApplicationExportPost | Mapping[str, object] | None
    ) -> ApplicationExportResult | JobHandle: ...
    @overload
    async def export(
        self, *, force_job: bool | None = None, **fields: Unpack[ApplicationExportPostFields]
    ) -> ApplicationExportResult | JobHandle: ...
    async def export(
        self,
        body: ApplicationExportPost | Mapping[str, object] | None = None,
        **fields: object,
    ) -> ApplicationExportResult | JobHandle:
        """Export the application.

        Losant action ``export``: ``POST /applications/{applicationId}/export``.

        Without options the body is ``{}``. Returns the
        ``ApplicationExportResult`` (200), or a ``JobHandle`` (202, always
        with ``force_job=True``: typed so given as a keyword; a forced job not
        answered 202 raises ``APIResponseValidationError``).
        """
        payload = _params.build_body(ApplicationExportPost, body, fields)
        response, handle = await self._enqueue("POST", "/export", "export", body=payload)
        if handle is not None:
            return handle
        if payload.get("forceJob") is True:
            raise _unexpected("export with force_job=True", response, 202)
        return decode(response, ApplicationExportResult)

    async def import_(
        self,
        bundle: Bundle | None = None,
        *,
        email: str | None = None,
        options: ImportIntoApplicationOptions
        | ApplicationImportOptions
        | Mapping[str, object]
        | None = None,
    ) -> Application | JobHandle:
        """Import resources.

        Losant action ``import``: ``POST /applications/{applicationId}/import`` (multipart).

        ``bundle`` is the zip as ``bytes`` (sent as ``bundle.zip``), a path
        (streamed from disk, sent under its file name) or a binary file object.
        Returns the updated ``Application``, or a ``JobHandle`` (202).
        """
        multipart = _params.import_multipart(bundle, email, options)
        with contextlib.ExitStack() as stack:
            if isinstance(bundle, str | os.PathLike):
                # A path is opened lazily (_multipart.LazyFile) at the first read; it is ours
                # to close, even when the request is cancelled mid-upload.
                for _name, content, _type in multipart[1].values():
                    if not isinstance(content, bytes):
                        stack.callback(content.close)
            response, handle = await self._enqueue("POST", "/import", "import", multipart=multipart)
        return handle if handle is not None else decode(response, Application)

    async def archive_data(self, date: Time) -> JobHandle:
        """Archive one day of device data.

        Losant action ``archiveData``: ``GET /applications/{applicationId}/archiveData``.

        ``date`` (datetime or ms) must lie in the archive window: older than
        31 days, newer than the organization's data TTL.
        """
        query = _params.query(date=_params.to_ms(date, "date"))
        return await self._job("/archiveData", "archiveData", query)

    async def backfill_archive_data(self) -> JobHandle:
        """Backfill all current data to the archive.

        Losant action ``backfillArchiveData``: ``GET /applications/{id}/backfillArchiveData``.
        """
        return await self._job("/backfillArchiveData", "backfillArchiveData")

    async def full_data_tables_archive(self) -> JobHandle:
        """Archive every data table.

        Losant action ``fullDataTablesArchive``: ``GET /applications/{id}/fullDataTablesArchive``.
        """
        return await self._job("/fullDataTablesArchive", "fullDataTablesArchive")

    async def full_events_archive(self) -> JobHandle:
        """Archive every event.

        Losant action ``fullEventsArchive``: ``GET /applications/{id}/fullEventsArchive``.
        """
        return await self._job("/fullEventsArchive", "fullEventsArchive")

    async def _job(
        self, path: str, action: str, query: Sequence[tuple[str, str]] = ()
    ) -> JobHandle:
        response, handle = await self._enqueue("GET", path, action, params=query)
        if handle is None:
            raise _unexpected(action, response, 202)
        return handle

    # -- MQTT -------------------------------------------------------------------

    async def mqtt_publish_message(self, topic: str, message: object) -> Success:
        """Publish to an MQTT topic.

        Losant action ``mqttPublishMessage``: ``POST /applications/{id}/mqttPublishMessage``.

        ``message`` is sent as is when a ``str``, decoded as UTF-8 when
        ``bytes``, and otherwise JSON-encoded (compact) to a string, so
        ``{"temp": 21}`` arrives as ``'{"temp":21}'``. ``topic`` is a topic, not a
        filter: ``+``, ``#``, NUL and other control characters raise ``ValueError``.
        """
        check_publish_topic(topic)
        payload = _params.build_body(
            MqttMessage, None, {"topic": topic, "message": encode_message(message)}
        )
        return await self._call(
            "POST", "/mqttPublishMessage", Success, retry=_ENQUEUE, body=payload
        )

    def mqtt_subscription_stream(
        self,
        topic: str,
        *,
        keep_alive_interval: float = DEFAULT_KEEP_ALIVE_INTERVAL,
        reconnect: bool = True,
        max_reconnects: int | None = None,
        backoff_initial: float = STREAM_BACKOFF_INITIAL,
        backoff_max: float = STREAM_BACKOFF_MAX,
        on_state_change: StateCallback | None = None,
    ) -> MqttStream:
        """Subscribe to an MQTT topic over SSE.

        Losant action ``mqttSubscriptionStream``: ``GET /applications/{id}/mqttSubscriptionStream``.

        Not awaited: use it as ``async with app.mqtt_subscription_stream(t) as
        s: async for msg in s: ...``. The connection opens on entering the
        block. ``topic`` may hold MQTT wildcards (``+`` as a whole level,
        ``#`` as the whole last level); a malformed filter raises ``ValueError``.
        ``keep_alive_interval`` is whole seconds, at least 1 (``ValueError``
        otherwise). Losant replays nothing after a reconnect: outages are in
        the stream's ``gaps``. ``stream.state`` says whether it is
        connecting, open, reconnecting or closed; ``on_state_change(old,
        new)`` (a plain function) is called on each change.
        """
        check_topic_filter("topic", topic)
        from ._streams import MqttStream
        from ._streams._values import StreamOptions

        _lazy.publish("losant_async")  # the stream classes: the public path

        options = StreamOptions(
            keep_alive_interval=keep_alive_interval,
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            on_state_change=on_state_change,
        )
        self._check_open()
        return MqttStream(
            self._transport, self._path + "/mqttSubscriptionStream", topic=topic, options=options
        )

    def mqtt_subscription_streams(
        self,
        topics: Sequence[str],
        *,
        keep_alive_interval: float = DEFAULT_KEEP_ALIVE_INTERVAL,
        reconnect: bool = True,
        max_reconnects: int | None = None,
        backoff_initial: float = STREAM_BACKOFF_INITIAL,
        backoff_max: float = STREAM_BACKOFF_MAX,
        on_state_change: StateCallback | None = None,
    ) -> MqttStreamGroup:
        """Follow several MQTT topics as one async iterator.

        One ``mqttSubscriptionStream`` connection per topic, each with its own
        reconnection (arguments as for ``mqtt_subscription_stream``); messages
        arrive interleaved, in order within each topic. Use it as ``async with
        app.mqtt_subscription_streams([t1, t2]) as group: async for msg in
        group: ...``. ``on_state_change`` is called for each member's changes
        (``group.states`` then shows every member's state).
        """
        check_topics(topics)
        from ._streams import MqttStream, MqttStreamGroup
        from ._streams._values import StreamOptions

        _lazy.publish("losant_async")  # the stream classes: the public path

        options = StreamOptions(
            keep_alive_interval=keep_alive_interval,
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            on_state_change=on_state_change,
        )
        self._check_open()
        path = self._path + "/mqttSubscriptionStream"
        return MqttStreamGroup(
            [MqttStream(self._transport, path, topic=topic, options=options) for topic in topics]
        )

    def device_state_streams(
        self,
        device_ids: Sequence[str],
        *,
        keep_alive_interval: float = DEFAULT_KEEP_ALIVE_INTERVAL,
        reconnect: bool = True,
        max_reconnects: int | None = None,
        backoff_initial: float = STREAM_BACKOFF_INITIAL,
        backoff_max: float = STREAM_BACKOFF_MAX,
        on_state_change: StateCallback | None = None,
        max_buffer_size: int = STREAM_GROUP_BUFFER,
    ) -> KeyedStreamGroup[DeviceState]:
        """Follow many devices' state as one async iterator of ``(device_id, DeviceState)``.

        One ``device.stateStream`` connection per device, each with its own
        watchdog and reconnection (arguments as for ``mqtt_subscription_stream``
        and ``app.device(id).state_stream()``); states arrive interleaved, in
        order within each device. A device id given twice is followed once.
        Use it as ``async with app.device_state_streams(ids) as group: async
        for device_id, state in group: ...``. At most ``max_buffer_size``
        states are read ahead: a slow consumer makes the connections wait
        rather than memory grow. ``group.states`` and ``group.gaps`` are keyed
        by device id.

        Raises:
            ValueError: No device id, an empty one, or a keyword out of range.
            ClientClosedError: The client is closed.
        """
        from ._streams._device import device_state_streams
        from ._streams._values import StreamOptions

        _lazy.publish("losant_async")  # the stream classes: the public path

        if isinstance(device_ids, str):
            raise TypeError("device_ids must be a sequence of device ids, not a str")

        options = StreamOptions(
            keep_alive_interval=keep_alive_interval,
            reconnect=reconnect,
            max_reconnects=max_reconnects,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            on_state_change=on_state_change,
        )
        self._check_open()
        return device_state_streams(
            self._transport, self._id, device_ids, options, max_buffer_size=max_buffer_size
        )


def _job_id(response: Response) -> str:
    """The ``jobId`` of a ``202`` answer."""
    result = decode(response, JobEnqueuedResult)
    if not result.job_id:
        raise response.locate(
            APIResponseValidationError(
                "202 Accepted without a jobId",
                status_code=response.status_code,
                body_snippet=response.snippet(),
            )
        )
    return result.job_id


def _unexpected(action: str, response: Response, expected: int) -> APIResponseValidationError:
    """The error for an answer whose status is not the one the action documents (and types)."""
    wanted = "202 Accepted" if expected == 202 else str(expected)
    return response.locate(
        APIResponseValidationError(
            f"{action} answered {response.status_code}, not {wanted}",
            status_code=response.status_code,
            body_snippet=response.snippet(),
        )
    )
