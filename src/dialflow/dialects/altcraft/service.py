"""Altcraft's imports: match each profile, then hand the records to the one intake pipeline.

The batch task variant stores the import in ``altcraft_tasks`` and runs it in this process
(an asyncio task) under a lease; a task whose process died is picked up again by
``resume_import_tasks`` once its lease has run out.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import RowMapping

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.dialects.altcraft import repository
from dialflow.dialects.altcraft.codec import (
    INTERNAL,
    INVALID_REQUEST,
    NO_ACCESS,
    error_body,
)
from dialflow.dialects.altcraft.profiles import (
    MATCH_FIELD,
    ImportRequest,
    Profile,
    ProfileProblem,
    describe,
    lay_over,
    match_value,
    missing_match_message,
    new_profile_id,
    profile_fields,
)
from dialflow.domain.errors import FieldErrors
from dialflow.domain.phones import normalize_phone
from dialflow.errors import ApiError, NotFound, Unprocessable
from dialflow.intake.service import GOOD, RecordResult, ResultStatus, ingest
from dialflow.records import service as records_service
from dialflow.settings import Settings
from dialflow.workflows import service as workflows_service

log = logging.getLogger(__name__)

TASK_LEASE = timedelta(minutes=10)
_RESULT_CODES = {ResultStatus.SUPPRESSED: NO_ACCESS, ResultStatus.FAILED: INTERNAL}
# Tasks running in this process (a reference keeps each alive until it ends).
_running: set[asyncio.Task[None]] = set()

ResultItem = dict[str, object]


async def import_profiles(
    db: Database, settings: Settings, workspace_id: int, request: ImportRequest
) -> list[ResultItem]:
    """Import the profiles and enter them into the workflow: one result per profile, in order,
    ``{"profile_id"}`` or an Altcraft error."""
    results: list[ResultItem | None] = [None] * len(request.profiles)
    keys = [match_value(p, request) if isinstance(p, dict) else None for p in request.profiles]
    found = await records_service.find_profile_records(
        db,
        workspace_id,
        request.workflow_id,
        sorted({key for key in keys if key is not None}),
        field=MATCH_FIELD[request.matching],
        meta_key=request.field_name,
    )
    profiles = _gather(request, keys, found, results)
    profiles = await _move_phones(db, settings, workspace_id, request, profiles, results)
    if profiles:
        outcome = await ingest(
            db,
            workspace_id=workspace_id,
            workflow_ref=request.workflow_id,
            records=[profile.record for profile in profiles],
            max_records=settings.max_records_per_request,
            chunk_size=settings.chunk_size,
            meta_max_bytes=settings.meta_max_bytes,
            source="altcraft",
        )
        for profile, result in zip(profiles, outcome.results, strict=True):
            _answer(results, profile, _result_item(result, profile.profile_id))
    assert all(item is not None for item in results)
    return [item for item in results if item is not None]


def _gather(
    request: ImportRequest,
    keys: list[str | None],
    found: Mapping[str, RowMapping],
    results: list[ResultItem | None],
) -> list[Profile]:
    """The profiles to import, each with the entries of the request that name it laid over
    its stored record in order (a later entry wins, as if they had been sent one by one)."""
    profiles: dict[str, Profile] = {}
    for index, (entry, key) in enumerate(zip(request.profiles, keys, strict=True)):
        try:
            if not isinstance(entry, dict):
                raise ProfileProblem("each profile must be an object")
            profile_fields(entry)
            if key is None:
                raise ProfileProblem(missing_match_message(request))
            profile = profiles.get(key)
            if profile is None:
                stored = found.get(key)
                if stored is None and request.matching == "profile_id":
                    raise ProfileProblem(f"profile {key} not found")
                held = None if stored is None else stored["profile_id"]
                profile_id = held if isinstance(held, str) else new_profile_id()
                base = records_service.stored_record(stored) if stored is not None else {}
                record = {**base, "profile_id": profile_id}
                profile = profiles[key] = Profile(profile_id, record, stored)
            profile.record = lay_over(profile.record, entry, request, key)
            profile.indexes.append(index)
        except ProfileProblem as exc:
            results[index] = error_body(INVALID_REQUEST, str(exc))
    return [profile for profile in profiles.values() if profile.indexes]


def _primary_phone(record: Mapping[str, Any], region: str) -> str | None:
    phones = record.get("phones")
    first = phones[0] if isinstance(phones, list) and phones else None
    if not isinstance(first, dict):
        return None
    try:
        return normalize_phone(first.get("number"), region=region)
    except FieldErrors:
        return None


def _replacement(record: dict[str, Any]) -> Callable[[RowMapping], object]:
    return lambda _row: record


async def _move_phones(
    db: Database,
    settings: Settings,
    workspace_id: int,
    request: ImportRequest,
    profiles: list[Profile],
    results: list[ResultItem | None],
) -> list[Profile]:
    """A matched profile whose phone number changed has its record updated in place first (the
    record's dedup key may be its phone), so intake then finds that record instead of adding
    a second one. Answers the profiles still to import."""
    here = [p for p in profiles if p.stored and p.stored["workflow_id"] == request.workflow_id]
    if not here:
        return profiles
    workflow = await workflows_service.get_workflow(db, workspace_id, request.workflow_id)
    region = workflow.definition.default_region
    failed: set[Profile] = set()
    for profile in here:
        assert profile.stored is not None
        if _primary_phone(profile.record, region) in (None, profile.stored["phone"]):
            continue
        try:
            await records_service.update_record(
                db,
                workspace_id,
                profile.stored["id"],
                _replacement(profile.record),
                meta_max_bytes=settings.meta_max_bytes,
            )
        except Unprocessable as exc:
            _answer(results, profile, error_body(INVALID_REQUEST, describe(exc.details)))
            failed.add(profile)
        except ApiError as exc:
            _answer(results, profile, error_body(INVALID_REQUEST, exc.message))
            failed.add(profile)
    return [profile for profile in profiles if profile not in failed]


def _answer(results: list[ResultItem | None], profile: Profile, item: ResultItem) -> None:
    for index in profile.indexes:
        results[index] = item


def _result_item(result: RecordResult, profile_id: str) -> ResultItem:
    if result.status in GOOD:
        return {"profile_id": profile_id}
    return error_body(_RESULT_CODES.get(result.status, INVALID_REQUEST), describe(result.errors))


# --- batch import tasks -------------------------------------------------------------------


async def start_import_task(
    db: Database, settings: Settings, workspace_id: int, request: ImportRequest
) -> str:
    """Store the import as a task, start it in the background and answer its id at once."""
    await workflows_service.get_workflow_row(db, workspace_id, request.workflow_id)
    task_id = secrets.token_hex(12)
    async with db.write() as conn:
        await repository.insert_task(
            conn,
            {
                "id": task_id,
                "workspace_id": workspace_id,
                "status": repository.QUEUED,
                "request": request.model_dump(mode="json"),
                "created_at": utcnow(),
            },
        )
    _spawn(db, settings, task_id)
    return task_id


def _spawn(db: Database, settings: Settings, task_id: str) -> None:
    task = asyncio.create_task(
        run_import_task(db, settings, task_id), name=f"altcraft-task-{task_id}"
    )
    _running.add(task)
    task.add_done_callback(_running.discard)


async def run_import_task(db: Database, settings: Settings, task_id: str) -> None:
    """Run a task unless another process runs it (or it is over), and store its outcome."""
    now = utcnow()
    async with db.write() as conn:
        row = await repository.claim_task(conn, task_id, now, now + TASK_LEASE)
    if row is None:
        return
    result: list[ResultItem] | None = None
    error: str | None = None
    try:
        request = ImportRequest.model_validate(row["request"])
        result = await import_profiles(db, settings, row["workspace_id"], request)
    except ApiError as exc:
        error = exc.message
    except Exception:
        log.exception("altcraft import task %s failed", task_id)
        error = "an unexpected error occurred; it has been logged"
    async with db.write() as conn:
        await repository.finish_task(
            conn,
            task_id,
            status=repository.FAILED if error is not None else repository.DONE,
            now=utcnow(),
            result=result,
            error=error,
        )


async def resume_import_tasks(db: Database, settings: Settings) -> list[str]:
    """Start again the tasks left queued or running by a process that is gone (their lease has
    run out); answers their ids. Meant for process start."""
    async with db.read() as conn:
        task_ids = await repository.claimable_task_ids(conn, utcnow())
    for task_id in task_ids:
        _spawn(db, settings, task_id)
    return task_ids


async def get_task(db: Database, workspace_id: int, task_id: str) -> dict[str, object]:
    """A task's status and, once it has run, its per-profile result or its error."""
    async with db.read() as conn:
        row = await repository.get_task(conn, workspace_id, task_id)
    if row is None:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    view: dict[str, object] = {
        "task_id": row["id"],
        "status": row["status"],
        "created_at": row["created_at"].isoformat(),
        "started_at": None if row["started_at"] is None else row["started_at"].isoformat(),
        "finished_at": None if row["finished_at"] is None else row["finished_at"].isoformat(),
        "result": row["result"],
    }
    if row["error"] is not None:
        view["error_debug"] = row["error"]
    return view
