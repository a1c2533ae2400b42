"""Record operations: read with timeline, list, mark complete, resume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.calls import repository as calls_repo
from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.errors import NotFound
from dialflow.ids import next_id
from dialflow.pagination import decode_cursor, next_cursor
from dialflow.records import repository
from dialflow.records.status import LIVE_STATUSES, TERMINAL_STATUSES, RecordStatus
from dialflow.workflows import repository as workflows_repo

MARKED_COMPLETE = "marked_complete"


class ActionResult(StrEnum):
    DONE = "done"
    ALREADY = "already"


@dataclass(frozen=True, slots=True)
class RecordPage:
    items: list[RowMapping]
    next_cursor: str | None


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
) -> RecordPage:
    async with db.read() as conn:
        workflow = await workflows_repo.get_workflow(conn, workspace_id, workflow_ref)
        if workflow is None:
            raise NotFound(f"workflow {workflow_ref} not found", code="workflow_not_found")
        rows = await repository.list_records(
            conn,
            workflow["id"],
            status=None if status is None else status.value,
            phone=phone,
            external_id=external_id,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
    return RecordPage(rows, next_cursor([r["id"] for r in rows], limit))


async def _workflow_id(conn: AsyncConnection, workspace_id: int, ref: str | None) -> int | None:
    if ref is None:
        return None
    workflow = await workflows_repo.get_workflow(conn, workspace_id, ref)
    if workflow is None:
        raise NotFound(f"workflow {ref} not found", code="workflow_not_found")
    return int(workflow["id"])


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
