"""Typed body keywords and the overloads a flag decides, for mypy and pyright; never run.

The negative cases carry both checkers' ignore comments: mypy (``--strict``
warns on an unused ``type: ignore``) and pyright (``type: ignore`` comments off,
unnecessary ``pyright: ignore`` comments reported: ``[tool.pyright]``) each fail if a
wrong call stops being an error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import assert_type

from losant_async import (
    Application,
    ApplicationApplyTemplatePatch,
    ApplicationCloneDryRunResult,
    ApplicationClonePost,
    ApplicationCreationByTemplateResult,
    ApplicationExportPost,
    ApplicationExportPostRepo,
    ApplicationExportResult,
    ApplicationGlobal,
    ApplicationPatch,
    AsyncApplication,
    JobHandle,
    JobOutcome,
)

TEMPLATE = "575ed70c7ae143cd83dc4aa9"
CloneResult = ApplicationCloneDryRunResult | ApplicationCreationByTemplateResult | JobHandle


async def flags_decide_the_type(app: AsyncApplication) -> None:
    assert_type(await app.export(force_job=True), JobHandle)
    assert_type(await (await app.export(include_files=True, force_job=True)), JobOutcome)
    assert_type(await app.export(), ApplicationExportResult | JobHandle)
    assert_type(await app.export(force_job=False), ApplicationExportResult | JobHandle)
    assert_type(await app.export(email="a@b.co"), ApplicationExportResult | JobHandle)
    # A model or a mapping is a value, not a literal: the union stays.
    assert_type(
        await app.export(ApplicationExportPost(force_job=True)), ApplicationExportResult | JobHandle
    )
    assert_type(await app.export({"forceJob": True}), ApplicationExportResult | JobHandle)
    assert_type(await app.export(body={"email": "a@b.co"}), ApplicationExportResult | JobHandle)

    assert_type(await app.clone(dry_run=True), ApplicationCloneDryRunResult)
    assert_type(await app.clone(dry_run=True, force_job=True), ApplicationCloneDryRunResult)
    assert_type(await app.clone(force_job=True, include_files=True), JobHandle)
    assert_type(await app.clone(dry_run=False, force_job=True), JobHandle)
    assert_type(await app.clone(), CloneResult)
    assert_type(await app.clone(include_devices=True), CloneResult)
    assert_type(await app.clone(ApplicationClonePost(dry_run=True)), CloneResult)
    assert_type(await app.clone(body={"dryRun": True}), CloneResult)

    # No argument decides these: isinstance does.
    applied = await app.apply_template(template_id=TEMPLATE, email="a@b.co")
    assert_type(applied, Application | JobHandle)
    if isinstance(applied, JobHandle):
        assert_type(await applied, JobOutcome)
    else:
        assert_type(applied, Application)
    assert_type(
        await app.apply_template(ApplicationApplyTemplatePatch(template_id=TEMPLATE)),
        Application | JobHandle,
    )
    assert_type(await app.apply_template({"templateId": TEMPLATE}), Application | JobHandle)
    assert_type(await app.import_(b"zip", options={"forceJob": True}), Application | JobHandle)


async def every_field_is_a_typed_keyword(app: AsyncApplication) -> None:
    assert_type(
        await app.patch(
            name="Greenhouse",
            description=None,
            endpoint_slug="greenhouse",
            exp_user_token_cutoff=datetime(2024, 1, 1, tzinfo=UTC),
            endpoint_default_cors=True,
            globals=[ApplicationGlobal(key="k", json="1"), {"key": "j", "json": "2"}],
            ftue_tracking=({"name": "tour", "version": 1, "status": "completed"},),
            archive_config=None,  # JSON null: archiving off
            blob_url_ttl=3600,
            extra={"futureField": 1},
            summary_include=["deviceCount"],
        ),
        Application,
    )
    assert_type(await app.patch(ApplicationPatch(name="x")), Application)
    assert_type(await app.patch({"name": "x"}), Application)
    await app.export(repo=ApplicationExportPostRepo(branch="main"), export_type="repo")
    await app.export(repo={"branch": "main", "commitMessage": "export"})
    await app.clone(owner_id=None, owner_type="organization", include_files=True)


async def wrong_keywords_are_errors(app: AsyncApplication) -> None:
    await app.patch(nme="x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await app.patch(name=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await app.patch(endpoint_default_cors="yes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await app.export(include_file=True)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    await app.export(force_job="yes")  # type: ignore[call-overload]  # pyright: ignore
    await app.clone(dry_rum=True)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    await app.clone(owner_type=1)  # type: ignore[call-overload]  # pyright: ignore
    # template_id is required; a body and keywords are not both given.
    await app.apply_template()  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    await app.apply_template(email="a@b.co")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    await app.export(ApplicationExportPost(), email="a@b.co")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    await app.clone({"dryRun": True}, dry_run=True)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    # The decided type is not the other branch's.
    outcome: ApplicationExportResult = await app.export(force_job=True)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    del outcome
