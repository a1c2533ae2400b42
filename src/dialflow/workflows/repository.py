"""SQL for workflows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import workflows
from dialflow.pagination import parse_id


async def insert_workflow(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(workflows).values(**values).returning(workflows.c.id))
    return int(result.scalar_one())


async def key_exists(conn: AsyncConnection, key: str) -> bool:
    result = await conn.execute(select(workflows.c.id).where(workflows.c.key == key))
    return result.first() is not None


async def get_workflow(
    conn: AsyncConnection, workspace_id: int, ref: str | int, *, for_update: bool = False
) -> RowMapping | None:
    """A workflow of this workspace by integer id or public key; None if not (ours)."""
    query = select(workflows).where(workflows.c.workspace_id == workspace_id)
    workflow_id = ref if isinstance(ref, int) else parse_id(ref)
    if workflow_id is not None:
        query = query.where(workflows.c.id == workflow_id)
    elif isinstance(ref, str) and ref.isascii() and ref.isalnum() and len(ref) <= 16:
        query = query.where(workflows.c.key == ref.upper())
    else:
        return None
    if for_update:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def list_workflows(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    status: str | None,
    after_id: int | None,
    limit: int,
) -> list[RowMapping]:
    query = select(workflows).where(workflows.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(workflows.c.status == status)
    if after_id is not None:
        query = query.where(workflows.c.id > after_id)
    result = await conn.execute(query.order_by(workflows.c.id).limit(limit))
    return list(result.mappings())


async def update_workflow(conn: AsyncConnection, workflow_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(workflows).where(workflows.c.id == workflow_id).values(**values))
