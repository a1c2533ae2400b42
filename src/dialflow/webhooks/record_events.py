"""Events about records and lists, assembled inside the transaction that changed them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.webhooks import payloads
from dialflow.webhooks import repository as repo
from dialflow.webhooks.events import EventType, NewEvent, emit


async def finished_records(
    conn: AsyncConnection,
    records: Mapping[int, RowMapping],
    workflows: Mapping[int, RowMapping],
    now: datetime,
) -> list[NewEvent]:
    """``record.completed`` for each finished record (with the steps of its cycle), then
    ``list.completed`` for each list those records emptied."""
    if not records:
        return []
    steps = await repo.attempts_of_cycles(
        conn, {record_id: record["cycle"] for record_id, record in records.items()}
    )
    found: list[NewEvent] = []
    for record_id, record in records.items():
        workflow = workflows[record["workflow_id"]]
        found.append(
            NewEvent(
                record["workspace_id"],
                EventType.RECORD_COMPLETED,
                payloads.record_completed(
                    record, workflow, record["final_outcome"], steps.get(record_id, []), now
                ),
                workflow_id=record["workflow_id"],
                record_id=record_id,
            )
        )
    list_ids = {record["list_id"] for record in records.values() if record["list_id"] is not None}
    return found + await completed_lists(conn, list_ids, workflows, now)


async def completed_lists(
    conn: AsyncConnection,
    list_ids: Iterable[int],
    workflows: Mapping[int, RowMapping],
    now: datetime,
) -> list[NewEvent]:
    """``list.completed`` for each of these lists whose records are now all terminal; each
    list completes once."""
    found: list[NewEvent] = []
    for list_row in await repo.lock_open_lists(conn, list_ids):
        if await repo.list_has_live_records(conn, list_row["id"]):
            continue
        by_status, by_outcome = await repo.list_counts(conn, list_row["id"])
        await repo.mark_list_completed(conn, list_row["id"], now)
        workflow = (
            workflows.get(list_row["workflow_id"])
            or (await repo.workflow_names(conn, [list_row["workflow_id"]]))[list_row["workflow_id"]]
        )
        found.append(
            NewEvent(
                list_row["workspace_id"],
                EventType.LIST_COMPLETED,
                payloads.list_completed(list_row, workflow, by_status, by_outcome, now),
                workflow_id=list_row["workflow_id"],
            )
        )
    return found


async def emit_finished(
    conn: AsyncConnection, workspace_id: int, record_ids: Iterable[int], now: datetime
) -> None:
    """Emit the events of records a service just finished (marked complete, cancelled)."""
    ids = sorted(set(record_ids))
    if not ids:
        return
    endpoints = await repo.enabled_endpoints(conn, [workspace_id])
    if not endpoints:
        return
    records = await repo.payload_records(conn, ids)
    workflows = await repo.workflow_names(conn, {row["workflow_id"] for row in records.values()})
    completed = {key: row for key, row in records.items() if row["status"] == "completed"}
    found = await finished_records(conn, completed, workflows, now)
    others = {row["list_id"] for key, row in records.items() if key not in completed}
    found += await completed_lists(conn, others - {None}, workflows, now)
    await emit(conn, found, now, endpoints=endpoints)


async def emit_workflow_status(
    conn: AsyncConnection,
    workflow: Mapping[Any, Any],
    previous: str,
    current: str,
    reason: str,
    now: datetime,
) -> None:
    await emit(
        conn,
        [
            NewEvent(
                workflow["workspace_id"],
                EventType.WORKFLOW_STATUS_CHANGED,
                payloads.workflow_status_changed(workflow, previous, current, reason, now),
                workflow_id=workflow["id"],
            )
        ],
        now,
    )
