"""SQL for workflows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, or_, select, update
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
    is_key = isinstance(ref, str) and ref.isascii() and ref.isalnum() and len(ref) <= 16
    if workflow_id is not None and is_key:
        # Keys may be all digits too ("234567"): such a reference matches either.
        assert isinstance(ref, str)
        query = query.where(or_(workflows.c.id == workflow_id, workflows.c.key == ref.upper()))
    elif workflow_id is not None:
        query = query.where(workflows.c.id == workflow_id)
    elif is_key:
        assert isinstance(ref, str)
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


async def get_workflow_by_key(conn: AsyncConnection, key: str) -> RowMapping | None:
    """The workflow of any workspace with this public key (case-insensitive), or None."""
    result = await conn.execute(select(workflows).where(workflows.c.key == key.upper()))
    return result.mappings().first()


async def search_workflows(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    text: str | None,
    statuses_matching: Sequence[str],
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
    """One page of a workspace's workflows, newest first, and how many match in all. With
    ``text``: those whose name contains it (case-insensitive) or whose status is one of
    ``statuses_matching``."""
    query = select(workflows).where(workflows.c.workspace_id == workspace_id)
    if text:
        query = query.where(
            or_(
                workflows.c.name.icontains(text, autoescape=True),
                workflows.c.status.in_(statuses_matching),
            )
        )
    total = await conn.execute(select(func.count()).select_from(query.subquery()))
    result = await conn.execute(query.order_by(workflows.c.id.desc()).offset(offset).limit(limit))
    return list(result.mappings()), int(total.scalar_one())


async def count_workflows(conn: AsyncConnection, workspace_id: int) -> int:
    result = await conn.execute(
        select(func.count()).select_from(workflows).where(workflows.c.workspace_id == workspace_id)
    )
    return int(result.scalar_one())


async def search_workflows_by_status(
    conn: AsyncConnection,
    workspace_id: int,
    statuses: Sequence[str],
    *,
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
    """One page of a workspace's workflows in one of ``statuses``, newest first, and how many
    there are in all."""
    query = select(workflows).where(
        workflows.c.workspace_id == workspace_id, workflows.c.status.in_(statuses)
    )
    total = await conn.execute(select(func.count()).select_from(query.subquery()))
    result = await conn.execute(query.order_by(workflows.c.id.desc()).offset(offset).limit(limit))
    return list(result.mappings()), int(total.scalar_one())
