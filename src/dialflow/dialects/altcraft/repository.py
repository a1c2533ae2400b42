"""SQL for the Altcraft dialect's import tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import altcraft_tasks

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"


async def insert_task(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(altcraft_tasks).values(**values))


async def get_task(conn: AsyncConnection, workspace_id: int, task_id: str) -> RowMapping | None:
    result = await conn.execute(
        select(altcraft_tasks).where(
            altcraft_tasks.c.id == task_id, altcraft_tasks.c.workspace_id == workspace_id
        )
    )
    return result.mappings().first()


def _claimable(now: datetime) -> Any:
    """Queued, or running under a lease that has run out (its process is gone)."""
    return or_(
        altcraft_tasks.c.status == QUEUED,
        and_(altcraft_tasks.c.status == RUNNING, altcraft_tasks.c.lease_expires_at < now),
    )


async def claim_task(
    conn: AsyncConnection, task_id: str, now: datetime, lease_until: datetime
) -> RowMapping | None:
    """Start the task if nobody runs it: answers its row, or None when it is taken or over."""
    result = await conn.execute(
        update(altcraft_tasks)
        .where(altcraft_tasks.c.id == task_id, _claimable(now))
        .values(status=RUNNING, started_at=now, lease_expires_at=lease_until)
        .returning(altcraft_tasks)
    )
    row: RowMapping | None = result.mappings().first()
    return row


async def finish_task(
    conn: AsyncConnection,
    task_id: str,
    *,
    status: str,
    now: datetime,
    result: Any = None,
    error: str | None = None,
) -> None:
    await conn.execute(
        update(altcraft_tasks)
        .where(altcraft_tasks.c.id == task_id)
        .values(
            status=status,
            result=result,
            error=error,
            request=None,
            lease_expires_at=None,
            finished_at=now,
        )
    )


async def claimable_task_ids(conn: AsyncConnection, now: datetime) -> list[str]:
    result = await conn.execute(
        select(altcraft_tasks.c.id).where(_claimable(now)).order_by(altcraft_tasks.c.created_at)
    )
    return list(result.scalars())
