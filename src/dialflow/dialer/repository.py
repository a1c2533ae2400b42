"""SQL of the engine: caps, attempts, progress, do-not-call checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.claims import Claimable
from dialflow.db.sql import execute_many, one_of, update_each
from dialflow.db.tables import (
    ATTEMPT_LIVE,
    attempts,
    records,
    workflows,
    workspaces,
)

RECORD_CLAIMS = Claimable(
    table=records,
    ready="pending",
    claimed="in_progress",
    due=records.c.next_due_at,
    order_by=(records.c.dispatch_rank, records.c.next_due_at, records.c.id),
)

# What deciding a record's next step needs (not its placeholders or meta: fewer JSON decodes).
_PROGRESS_COLUMNS = (
    records.c.id,
    records.c.workspace_id,
    records.c.lease_owner,
    records.c.status,
    records.c.final_outcome,
    records.c.phone,
    records.c.phones,
    records.c.priority,
    records.c.timezone,
    records.c.timezone_candidates,
    records.c.step_id,
    records.c.day,
    records.c.call,
    records.c.attempts,
    records.c.phone_attempts,
    records.c.cycle_started_at,
    records.c.created_at,
)


# What running a claimed record's step needs of it besides (fewer columns to decode per claim).
CLAIMED_COLUMNS = (
    *_PROGRESS_COLUMNS,
    records.c.workflow_id,
    records.c.cycle,
    records.c.email,
    records.c.first_name,
    records.c.last_name,
    records.c.placeholders,
    records.c.meta,
)


async def active_workflows(
    conn: AsyncConnection, workspace_ids: frozenset[int] | None = None
) -> list[RowMapping]:
    query = (
        select(
            workflows.c.id,
            workflows.c.workspace_id,
            workflows.c.key,
            workflows.c.definition,
            workflows.c.ends_at,
            workspaces.c.max_concurrent_calls,
        )
        .join(workspaces, workspaces.c.id == workflows.c.workspace_id)
        .where(workflows.c.status == "active")
        .order_by(workflows.c.id)
    )
    if workspace_ids is not None:
        query = query.where(one_of(conn, workflows.c.workspace_id, sorted(workspace_ids)))
    return list((await conn.execute(query)).mappings())


async def lock_workspace(conn: AsyncConnection, workspace_id: int) -> None:
    """Serialise claims of one workspace across workers, so caps hold (PostgreSQL only;
    SQLite's single writer already serialises)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": workspace_id})


async def in_flight(conn: AsyncConnection, *, workflow_id: int | None, workspace_id: int) -> int:
    query = select(func.count()).select_from(records).where(records.c.status == "in_progress")
    if workflow_id is not None:
        query = query.where(records.c.workflow_id == workflow_id)
    else:
        query = query.where(records.c.workspace_id == workspace_id)
    return int((await conn.execute(query)).scalar_one())


async def started_since(conn: AsyncConnection, workflow_id: int, since: datetime) -> int:
    result = await conn.execute(
        select(func.count())
        .select_from(attempts)
        .where(attempts.c.workflow_id == workflow_id, attempts.c.created_at >= since)
    )
    return int(result.scalar_one())


async def recent_call_times(
    conn: AsyncConnection, workspace_id: int, numbers: Sequence[str], since: datetime
) -> dict[str, list[datetime]]:
    """Start times of the workspace's call attempts to each number since ``since`` (the
    rolling per-number cap counts across all the workspace's workflows)."""
    if not numbers:
        return {}
    # Looked up by number and time only (the (to_address, created_at) index); the workspace
    # and channel are checked here, so the planner cannot prefer the workspace-wide index and
    # walk every attempt of the workspace for each batch.
    result = await conn.execute(
        select(
            attempts.c.to_address,
            attempts.c.created_at,
            attempts.c.workspace_id,
            attempts.c.channel,
        ).where(
            one_of(conn, attempts.c.to_address, numbers),
            attempts.c.created_at >= since,
        )
    )
    times: dict[str, list[datetime]] = {}
    for number, created_at, owner, channel in result:
        if owner == workspace_id and channel == "call":
            times.setdefault(number, []).append(created_at)
    return times


async def insert_attempts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await execute_many(conn, insert(attempts), rows)


async def attempts_started(
    conn: AsyncConnection, started: Sequence[tuple[int, str, datetime]]
) -> None:
    """Save (attempt id, provider call id, accepted at) of calls the provider accepted, for
    attempts still live (one executemany per batch)."""
    await update_each(
        conn,
        attempts,
        [
            {
                "_id": attempt_id,
                "provider_call_id": call_id,
                "status": "in_progress",
                "started_at": at,
            }
            for attempt_id, call_id, at in started
        ],
        match={"_id": "id"},
        # Spelled out: an expanding IN cannot be used with executemany.
        where=(or_(*(attempts.c.status == status for status in ATTEMPT_LIVE)),),
    )


# What an ended attempt's events need of it.
_ATTEMPT_COLUMNS = (
    attempts.c.id,
    attempts.c.step_id,
    attempts.c.channel,
    attempts.c.to_address,
    attempts.c.from_address,
    attempts.c.phone_type,
    attempts.c.provider,
    attempts.c.provider_call_id,
    attempts.c.created_at,
    attempts.c.started_at,
)


async def live_attempts(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, RowMapping]:
    """These attempts that are still live, locked until the transaction ends.

    Found by primary key and filtered here: a status condition in SQL leads PostgreSQL into the
    partial live-attempt index, which without vacuum holds an entry for every attempt ever."""
    result = await conn.execute(
        select(*_ATTEMPT_COLUMNS, attempts.c.status)
        .where(one_of(conn, attempts.c.id, ids))
        .with_for_update()
    )
    return {row["id"]: row for row in result.mappings() if row["status"] in ATTEMPT_LIVE}


async def records_held(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, RowMapping]:
    result = await conn.execute(
        select(*_PROGRESS_COLUMNS).where(one_of(conn, records.c.id, ids)).with_for_update()
    )
    return {row["id"]: row for row in result.mappings()}


async def end_attempts(conn: AsyncConnection, changes: Sequence[dict[str, Any]]) -> None:
    await update_each(conn, attempts, changes, match={"_id": "id"})


async def live_attempt(conn: AsyncConnection, record_id: int) -> RowMapping | None:
    result = await conn.execute(
        select(attempts).where(
            attempts.c.record_id == record_id, attempts.c.status.in_(ATTEMPT_LIVE)
        )
    )
    return result.mappings().first()


async def overdue_attempts(conn: AsyncConnection, now: datetime, limit: int) -> list[RowMapping]:
    result = await conn.execute(
        select(attempts)
        .where(attempts.c.status.in_(ATTEMPT_LIVE), attempts.c.deadline_at < now)
        .order_by(attempts.c.deadline_at)
        .limit(limit)
    )
    return list(result.mappings())


async def take_record(
    conn: AsyncConnection, record_id: int, *, owner: str, until: datetime
) -> bool:
    """Take a claimed record's lease whoever holds it (the watchdog ending a stuck attempt)."""
    result = await conn.execute(
        update(records)
        .where(records.c.id == record_id, records.c.status == "in_progress")
        .values(lease_owner=owner, lease_expires_at=until)
    )
    return result.rowcount > 0


async def stop_ended_workflows(conn: AsyncConnection, now: datetime) -> list[RowMapping]:
    """Stop the workflows whose end time passed; answer them as they were before."""
    result = await conn.execute(
        select(
            workflows.c.id,
            workflows.c.workspace_id,
            workflows.c.key,
            workflows.c.name,
            workflows.c.status,
            workflows.c.definition,
        )
        .where(workflows.c.status.in_(("active", "paused")), workflows.c.ends_at <= now)
        .with_for_update()
    )
    ended = list(result.mappings())
    if ended:
        await conn.execute(
            update(workflows)
            .where(one_of(conn, workflows.c.id, [row["id"] for row in ended]))
            .values(status="stopped", updated_at=now)
        )
    return ended


async def workflow_definition(conn: AsyncConnection, workflow_id: int) -> Any:
    result = await conn.execute(select(workflows.c.definition).where(workflows.c.id == workflow_id))
    return result.scalar_one()
