"""Workflow operations: create, read, list, update, lifecycle actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.domain.workflows import (
    IllegalTransition,
    WorkflowAction,
    WorkflowStatus,
    allowed_actions,
    transition,
)
from dialflow.errors import Conflict, NotFound
from dialflow.pagination import Page, decode_cursor, next_cursor
from dialflow.records import repository as records_repo
from dialflow.webhooks.record_events import emit_workflow_status
from dialflow.workflows import repository
from dialflow.workflows.definition import (
    WorkflowCreate,
    WorkflowDefinition,
    WorkflowOut,
    WorkflowUpdate,
    generate_public_key,
)

_KEY_ATTEMPTS = 20


def to_out(row: RowMapping) -> WorkflowOut:
    status = WorkflowStatus(row["status"])
    return WorkflowOut(
        id=row["id"],
        key=row["key"],
        name=row["name"],
        status=status,
        definition=WorkflowDefinition.model_validate(row["definition"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        allowed_actions=[a.value for a in allowed_actions(status)],
    )


def _definition_columns(definition: WorkflowDefinition) -> dict[str, Any]:
    return {
        "definition": definition.model_dump(mode="json"),
        "ends_at": definition.ends_at,
    }


async def create_workflow(db: Database, workspace_id: int, body: WorkflowCreate) -> WorkflowOut:
    now = utcnow()
    async with db.write() as conn:
        if body.key is not None:
            key = body.key.upper()
            if await repository.key_exists(conn, key):
                raise Conflict(f"workflow key {key!r} is already taken", code="key_taken")
        else:
            for _ in range(_KEY_ATTEMPTS):
                key = generate_public_key()
                if not await repository.key_exists(conn, key):
                    break
            else:  # pragma: no cover - 32^6 keys make this practically unreachable
                raise Conflict("could not allocate a workflow key; try again", code="key_taken")
        workflow_id = await repository.insert_workflow(
            conn,
            {
                "workspace_id": workspace_id,
                "key": key,
                "name": body.name,
                "status": body.status,
                "created_at": now,
                "updated_at": now,
                **_definition_columns(body.definition),
            },
        )
        row = await repository.get_workflow(conn, workspace_id, workflow_id)
    assert row is not None
    return to_out(row)


async def require_workflow(
    conn: AsyncConnection, workspace_id: int, ref: str | int, *, for_update: bool = False
) -> RowMapping:
    """The workspace's workflow ``ref`` (id or key), read in the caller's transaction; NotFound
    when the workspace has none by that reference."""
    row = await repository.get_workflow(conn, workspace_id, ref, for_update=for_update)
    if row is None:
        raise NotFound(f"workflow {ref!s} not found", code="workflow_not_found")
    return row


async def get_workflow_row(db: Database, workspace_id: int, ref: str | int) -> RowMapping:
    async with db.read() as conn:
        return await require_workflow(conn, workspace_id, ref)


async def get_workflow(db: Database, workspace_id: int, ref: str | int) -> WorkflowOut:
    return to_out(await get_workflow_row(db, workspace_id, ref))


async def list_workflows(
    db: Database,
    workspace_id: int,
    *,
    status: WorkflowStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[WorkflowOut]:
    async with db.read() as conn:
        rows = await repository.list_workflows(
            conn,
            workspace_id,
            status=None if status is None else status.value,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
    return Page(
        items=[to_out(r) for r in rows], next_cursor=next_cursor([r["id"] for r in rows], limit)
    )


async def update_workflow(
    db: Database, workspace_id: int, ref: str, body: WorkflowUpdate
) -> WorkflowOut:
    async with db.write() as conn:
        row = await require_workflow(conn, workspace_id, ref, for_update=True)
        if WorkflowStatus(row["status"]) in (WorkflowStatus.STOPPED, WorkflowStatus.COMPLETED):
            raise Conflict(
                f"workflow {row['key']} is {row['status']} and can no longer be changed",
                code="workflow_closed",
            )
        values: dict[str, Any] = {"updated_at": utcnow()}
        if body.name is not None:
            values["name"] = body.name
        if body.definition is not None:
            values.update(_definition_columns(body.definition))
        await repository.update_workflow(conn, row["id"], values)
        updated = await repository.get_workflow(conn, workspace_id, row["id"])
    assert updated is not None
    return to_out(updated)


async def apply_action(
    db: Database, workspace_id: int, ref: str | int, action: WorkflowAction
) -> WorkflowOut:
    async with db.write() as conn:
        row = await require_workflow(conn, workspace_id, ref, for_update=True)
        try:
            status = transition(WorkflowStatus(row["status"]), action)
        except IllegalTransition as exc:
            raise Conflict(str(exc), code="illegal_transition") from None
        now = utcnow()
        await repository.update_workflow(
            conn, row["id"], {"status": status.value, "updated_at": now}
        )
        if status.value != row["status"]:
            await emit_workflow_status(
                conn, row, row["status"], status.value, f"{action.value} by the API", now
            )
        updated = await repository.get_workflow(conn, workspace_id, row["id"])
    assert updated is not None
    return to_out(updated)


@dataclass(frozen=True, slots=True)
class WorkflowStats:
    total: int
    by_status: dict[str, int]
    by_outcome: dict[str, int]


OPEN_OUTCOME = "open"


async def workflow_stats(db: Database, workspace_id: int, ref: str) -> WorkflowStats:
    """Counts by status and by final outcome (``open`` while unfinished), from one snapshot,
    so each adds up to the number of records."""
    async with db.read() as conn:
        workflow = await require_workflow(conn, workspace_id, ref)
        rows = await records_repo.count_by_status_and_outcome(conn, workflow["id"])
    by_status: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    for status, outcome, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        key = outcome or OPEN_OUTCOME
        by_outcome[key] = by_outcome.get(key, 0) + count
    return WorkflowStats(sum(by_status.values()), by_status, by_outcome)


async def get_workflow_by_key(db: Database, key: str) -> RowMapping | None:
    """A workflow of any workspace by public key: for a way in whose vendor tells "not yours"
    (403) from "no such workflow" (404). Everything else reads through a workspace."""
    async with db.read() as conn:
        return await repository.get_workflow_by_key(conn, key)


@dataclass(frozen=True, slots=True)
class WorkflowSummary:
    workflow: WorkflowOut
    counts: records_repo.CallCounts


@dataclass(frozen=True, slots=True)
class WorkflowSearch:
    items: list[WorkflowSummary]
    total: int


async def search_workflows(
    db: Database,
    workspace_id: int,
    *,
    text: str | None = None,
    statuses_matching: tuple[WorkflowStatus, ...] = (),
    offset: int = 0,
    limit: int = 50,
) -> WorkflowSearch:
    """A page of workflows, newest first, with their record counts; ``text`` matches part of
    the name, or selects the ``statuses_matching`` (see ``repository.search_workflows``)."""
    async with db.read() as conn:
        rows, total = await repository.search_workflows(
            conn,
            workspace_id,
            text=text,
            statuses_matching=[status.value for status in statuses_matching],
            offset=offset,
            limit=limit,
        )
        counts = await records_repo.call_counts(conn, [row["id"] for row in rows])
    return WorkflowSearch([WorkflowSummary(to_out(row), counts[row["id"]]) for row in rows], total)


async def count_workflows(db: Database, workspace_id: int) -> int:
    async with db.read() as conn:
        return await repository.count_workflows(conn, workspace_id)


async def search_workflows_by_status(
    db: Database,
    workspace_id: int,
    statuses: tuple[WorkflowStatus, ...],
    *,
    offset: int = 0,
    limit: int = 50,
) -> WorkflowSearch:
    """A page of the workspace's workflows in one of ``statuses``, newest first, with their
    record counts, and how many there are in all."""
    async with db.read() as conn:
        rows, total = await repository.search_workflows_by_status(
            conn, workspace_id, [status.value for status in statuses], offset=offset, limit=limit
        )
        counts = await records_repo.call_counts(conn, [row["id"] for row in rows])
    return WorkflowSearch([WorkflowSummary(to_out(row), counts[row["id"]]) for row in rows], total)
