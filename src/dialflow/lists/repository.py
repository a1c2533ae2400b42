"""SQL for lists."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import lists, records

COUNT_COLUMNS = ("accepted", "updated", "duplicate", "invalid", "suppressed")


async def insert_list(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(lists).values(**values))


async def add_counts(conn: AsyncConnection, list_id: int, counts: Mapping[str, int]) -> None:
    increments = {name: lists.c[name] + n for name, n in counts.items() if n}
    if increments:
        await conn.execute(update(lists).where(lists.c.id == list_id).values(**increments))


async def get_list(conn: AsyncConnection, workspace_id: int, list_id: int) -> RowMapping | None:
    result = await conn.execute(
        select(lists).where(lists.c.id == list_id, lists.c.workspace_id == workspace_id)
    )
    return result.mappings().first()


async def list_lists(
    conn: AsyncConnection, workflow_id: int, *, after_id: int | None, limit: int
) -> list[RowMapping]:
    query = select(lists).where(lists.c.workflow_id == workflow_id)
    if after_id is not None:
        query = query.where(lists.c.id > after_id)
    return list((await conn.execute(query.order_by(lists.c.id).limit(limit))).mappings())


async def set_status(
    conn: AsyncConnection, list_id: int, *, status: str, cancelled_at: datetime | None = None
) -> None:
    await conn.execute(
        update(lists).where(lists.c.id == list_id).values(status=status, cancelled_at=cancelled_at)
    )


async def count_records_by_status_and_outcome(
    conn: AsyncConnection, workspace_id: int, list_id: int
) -> list[tuple[str, str | None, int]]:
    """One snapshot of (status, final outcome, count) for the records now in a list."""
    result = await conn.execute(
        select(records.c.status, records.c.final_outcome, func.count())
        .where(records.c.list_id == list_id, records.c.workspace_id == workspace_id)
        .group_by(records.c.status, records.c.final_outcome)
    )
    return [(status, outcome, int(count)) for status, outcome, count in result]
