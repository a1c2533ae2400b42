"""Record operations: read with timeline, list, mark complete, resume."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.calls import repository as calls_repo
from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.db.tables import RECORD_COLUMNS
from dialflow.domain.dispatch import priority_rank
from dialflow.domain.errors import FieldErrors
from dialflow.domain.phones import normalize_phone
from dialflow.domain.timezones import TimezoneSource
from dialflow.errors import Conflict, NotFound, Unprocessable
from dialflow.ids import next_id
from dialflow.intake.validate import NATIVE_FIELDS, clean_record
from dialflow.pagination import Page, decode_cursor, rows_page
from dialflow.records import repository
from dialflow.records.status import LIVE_STATUSES, TERMINAL_STATUSES, RecordStatus
from dialflow.webhooks.record_events import emit_finished
from dialflow.workflows import repository as workflows_repo
from dialflow.workflows.definition import WorkflowDefinition
from dialflow.workflows.service import require_workflow

MARKED_COMPLETE = "marked_complete"
# What a stored record carries into an edit in intake's shape (``stored_record``): its intake
# fields but the primary phone (already ``phones[0]``), the timezone (carried only when it was
# given) and the profile id (an Altcraft import sets its own).
_CARRIED = tuple(
    name
    for name in RECORD_COLUMNS
    if name in NATIVE_FIELDS and name not in {"phone", "timezone", "profile_id"}
)


class ActionResult(StrEnum):
    DONE = "done"
    ALREADY = "already"


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an action did to each record it found (by id), or that it found none."""

    changed: list[int]
    unchanged: list[int]

    @property
    def found(self) -> bool:
        return bool(self.changed or self.unchanged)


@dataclass(frozen=True, slots=True)
class RecordView:
    record: RowMapping
    logs: list[RowMapping]
    attempts: list[RowMapping]


async def get_record(db: Database, workspace_id: int, record_id: int) -> RecordView:
    async with db.read() as conn:
        row = await repository.get_record(conn, workspace_id, record_id)
        if row is None:
            raise NotFound(f"record {record_id} not found", code="record_not_found")
        logs = await repository.get_logs(conn, record_id)
        attempts = await calls_repo.attempts_of_record(conn, record_id)
    return RecordView(row, logs, attempts)


async def list_records(
    db: Database,
    workspace_id: int,
    workflow_ref: str,
    *,
    status: RecordStatus | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[RowMapping]:
    async with db.read() as conn:
        workflow = await require_workflow(conn, workspace_id, workflow_ref)
        rows = await repository.list_records(
            conn,
            workflow["id"],
            status=None if status is None else status.value,
            phone=phone,
            external_id=external_id,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
    return rows_page(rows, limit)


async def _workflow_id(conn: AsyncConnection, workspace_id: int, ref: str | None) -> int | None:
    if ref is None:
        return None
    return int((await require_workflow(conn, workspace_id, ref))["id"])


def log_entries(ids: Sequence[int], now: datetime, kind: str, message: str) -> list[dict[str, Any]]:
    return [
        {"id": next_id(), "record_id": i, "at": now, "kind": kind, "message": message} for i in ids
    ]


async def complete_records(
    db: Database,
    workspace_id: int,
    *,
    workflow_ref: str | None = None,
    record_id: int | None = None,
    phones: Sequence[str] = (),
    reason: str = MARKED_COMPLETE,
) -> ActionOutcome:
    """Mark records complete so they are never called again in their workflow.

    Names records by id, or by phone in one workflow (or, with no workflow, across the workspace).
    """
    if record_id is None and not phones:
        return ActionOutcome(changed=[], unchanged=[])  # an empty selection names nothing
    now = utcnow()
    async with db.write() as conn:
        workflow_id = await _workflow_id(conn, workspace_id, workflow_ref)
        found = await repository.find_records_for_action(
            conn, workspace_id, workflow_id=workflow_id, record_id=record_id, phones=phones
        )
        live = [r["id"] for r in found if r["status"] in LIVE_STATUSES]
        await repository.set_status(
            conn,
            live,
            status=RecordStatus.COMPLETED,
            now=now,
            final_outcome=reason,
            only_live=True,
        )
        await repository.insert_logs(
            conn, log_entries(live, now, "completed", f"marked complete ({reason})")
        )
        await emit_finished(conn, workspace_id, live, now)
    return ActionOutcome(changed=live, unchanged=[r["id"] for r in found if r["id"] not in live])


async def resume_records(
    db: Database,
    workspace_id: int,
    *,
    workflow_ref: str | None = None,
    record_id: int | None = None,
    phones: Sequence[str] = (),
) -> ActionOutcome:
    """Put finished records back to pending at the step they were on."""
    if record_id is None and not phones:
        return ActionOutcome(changed=[], unchanged=[])  # an empty selection names nothing
    now = utcnow()
    async with db.write() as conn:
        workflow_id = await _workflow_id(conn, workspace_id, workflow_ref)
        found = await repository.find_records_for_action(
            conn, workspace_id, workflow_id=workflow_id, record_id=record_id, phones=phones
        )
        finished = [r["id"] for r in found if r["status"] in TERMINAL_STATUSES]
        await repository.set_status(conn, finished, status=RecordStatus.PENDING, now=now)
        await repository.insert_logs(
            conn, log_entries(finished, now, "resumed", "resumed at the step it was on")
        )
    return ActionOutcome(
        changed=finished, unchanged=[r["id"] for r in found if r["id"] not in finished]
    )


@dataclass(frozen=True, slots=True)
class RecordWithCalls:
    record: RowMapping
    calls: list[RowMapping]  # its call attempts, oldest first


@dataclass(frozen=True, slots=True)
class RecordSearch:
    items: list[RecordWithCalls]
    total: int


async def search_records(
    db: Database,
    workspace_id: int,
    workflow_ref: str | int,
    *,
    status: RecordStatus | None = None,
    phone: str | None = None,
    text: str | None = None,
    sort: repository.RecordSort = "created_at",
    descending: bool = True,
    offset: int = 0,
    limit: int = 100,
) -> RecordSearch:
    """A page of a workflow's records with their calls, and how many match in all."""
    async with db.read() as conn:
        workflow = await require_workflow(conn, workspace_id, workflow_ref)
        rows, total = await repository.search_records(
            conn,
            workflow["id"],
            status=None if status is None else status.value,
            phone=phone,
            text=text,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        )
        calls = await repository.attempts_of_records(
            conn, [row["id"] for row in rows], channel="call"
        )
    by_record: dict[int, list[RowMapping]] = {row["id"]: [] for row in rows}
    for call in calls:
        by_record[call["record_id"]].append(call)
    return RecordSearch([RecordWithCalls(row, by_record[row["id"]]) for row in rows], total)


DELETED = "deleted"


def stored_record(row: RowMapping) -> dict[str, Any]:
    """A stored record in intake's shape: what an edit of it (a new import of the same
    profile, an update of a list entry) starts from. The timezone is kept only when it was
    given; otherwise intake derives it again."""
    record = {name: row[name] for name in _CARRIED if row[name] is not None}
    if row["timezone_source"] == TimezoneSource.EXPLICIT.value:
        record["timezone"] = row["timezone"]
    return record


async def update_record(
    db: Database,
    workspace_id: int,
    record_id: int,
    edit: Callable[[RowMapping], object],
    *,
    meta_max_bytes: int = 16_384,
    required_fields: frozenset[str] = frozenset(),
) -> RowMapping:
    """Replace a record's data (not its place in its workflow) with ``edit(record)``: the record
    in intake's shape, checked by the same rules as intake, its dedup key included.

    ``edit`` runs on the locked row inside the transaction, so a read-modify-write (a JSON
    Patch) is atomic; an ``ApiError`` it raises rolls everything back. Raises Unprocessable
    ``invalid_record`` (``details``: the field errors) and Conflict ``duplicate_record`` when
    another record of the workflow holds the new dedup key.
    """
    from dialflow.intake.service import rules_for  # noqa: PLC0415 - intake imports this module

    try:
        async with db.write() as conn:
            row = await repository.lock_record(conn, workspace_id, record_id)
            if row is None:
                raise NotFound(f"record {record_id} not found", code="record_not_found")
            workflow = await workflows_repo.get_workflow(conn, workspace_id, row["workflow_id"])
            assert workflow is not None
            definition = WorkflowDefinition.model_validate(workflow["definition"])
            rules = replace(
                rules_for(definition, meta_max_bytes=meta_max_bytes),
                required_fields=required_fields,
            )
            checked = clean_record(edit(row), rules)
            if isinstance(checked, list):
                raise Unprocessable(
                    "the record is not valid: " + "; ".join(e.message for e in checked),
                    code="invalid_record",
                    details=checked,
                )
            now = utcnow()
            values = asdict(checked)
            dedup_key = values.pop("dedup_key")
            values.update(
                _id=record_id,
                list_id=row["list_id"],
                priority_rank=priority_rank(checked.priority),
                updated_at=now,
            )
            await repository.update_records_fields(conn, [values])
            if dedup_key != row["dedup_key"]:
                await repository.set_dedup_key(conn, record_id, dedup_key)
            await repository.insert_logs(
                conn, log_entries([record_id], now, "updated", "data updated")
            )
            updated = await repository.get_record(conn, workspace_id, record_id)
    except IntegrityError:
        raise Conflict(
            "another record of the workflow already has the same dedup key (phone or "
            "external id, as the workflow deduplicates)",
            code="duplicate_record",
        ) from None
    assert updated is not None
    return updated


async def delete_records(
    db: Database,
    workspace_id: int,
    workflow_id: int,
    *,
    record_ids: Sequence[int] = (),
    phones: Sequence[str] = (),
    externals: Sequence[tuple[str, str]] = (),
) -> list[RowMapping]:
    """Take records of a workflow out for good: cancelled with the outcome ``deleted``, so they
    are never called again, their timeline kept. Named by id, primary phone or (external
    provider, external id); answers the records deleted (a deleted record is not found again).
    """
    now = utcnow()
    async with db.write() as conn:
        found = await repository.find_records_by_refs(
            conn, workspace_id, workflow_id, ids=record_ids, phones=phones, externals=externals
        )
        found = [r for r in found if r["final_outcome"] != DELETED]
        ids = [r["id"] for r in found]
        await repository.set_status(
            conn, ids, status=RecordStatus.CANCELLED, now=now, final_outcome=DELETED
        )
        await repository.insert_logs(
            conn, log_entries(ids, now, "deleted", "deleted: never called again")
        )
        # Records that were still live finish now; finished ones have had their event.
        live = [r["id"] for r in found if r["status"] in LIVE_STATUSES]
        await emit_finished(conn, workspace_id, live, now)
    return found


ProfileField = Literal["email", "phone", "profile_id", "meta"]


async def find_profile_records(
    db: Database,
    workspace_id: int,
    workflow_ref: str | int,
    values: Sequence[str],
    *,
    field: ProfileField,
    meta_key: str | None = None,
) -> dict[str, RowMapping]:
    """The workspace's record each value names, by email, primary phone, profile id or the text
    of ``meta[meta_key]``: the one in workflow ``workflow_ref`` when it has one, else the most
    recently updated. Phones are read in the workflow's region; values naming nothing are left
    out. Raises NotFound for an unknown workflow."""
    async with db.read() as conn:
        workflow = await require_workflow(conn, workspace_id, workflow_ref)
        lookup = {value: value for value in values}
        if field == "phone":
            region = WorkflowDefinition.model_validate(workflow["definition"]).default_region
            lookup = {}
            for value in values:
                with contextlib.suppress(FieldErrors):
                    lookup[value] = normalize_phone(value, region=region)
        column = None if field == "meta" else field
        rows = await repository.find_records_by_value(
            conn, workspace_id, sorted(set(lookup.values())), column=column, meta_key=meta_key
        )
    found: dict[str, RowMapping] = {}
    for row in rows:  # most recently updated first
        held = found.get(row["matched"])
        if held is None or (
            row["workflow_id"] == workflow["id"] and held["workflow_id"] != workflow["id"]
        ):
            found[row["matched"]] = row
    return {value: found[key] for value, key in lookup.items() if key in found}


async def cancel_workflow_records(
    db: Database, workspace_id: int, workflow_ref: str | int, *, reason: str
) -> list[int]:
    """Cancel every live record of a workflow with the final outcome ``reason`` (a call in
    flight ends normally); answers their ids."""
    now = utcnow()
    async with db.write() as conn:
        workflow = await require_workflow(conn, workspace_id, workflow_ref)
        live = await repository.live_ids(conn, "workflow_id", workflow["id"])
        await repository.set_status(
            conn, live, status=RecordStatus.CANCELLED, now=now, final_outcome=reason, only_live=True
        )
        await repository.insert_logs(
            conn, log_entries(live, now, "cancelled", f"cancelled with its workflow ({reason})")
        )
        await emit_finished(conn, workspace_id, live, now)
    return live


async def find_case_records(
    db: Database,
    workspace_id: int,
    *,
    case_ids: Sequence[str] = (),
    phones: Sequence[str] = (),
    workflow_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 1_000,
) -> list[RowMapping]:
    """The workspace's records with one of these case ids or primary phones (E.164), optionally
    of one workflow and created in ``[since, until)``: newest first, at most ``limit`` (None:
    all), each with its workflow's ``workflow_key`` and ``workflow_name``."""
    async with db.read() as conn:
        return await repository.find_case_records(
            conn,
            workspace_id,
            case_ids=case_ids,
            phones=phones,
            workflow_id=workflow_id,
            since=since,
            until=until,
            limit=limit,
        )


async def get_records_by_id(
    db: Database, workspace_id: int, record_ids: Sequence[int]
) -> dict[int, RowMapping]:
    """The workspace's records with these ids (ids not found are left out)."""
    async with db.read() as conn:
        return await repository.get_records(conn, workspace_id, record_ids)
