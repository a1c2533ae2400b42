"""SQL for workspaces and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import api_keys, workspaces


async def insert_workspace(conn: AsyncConnection, *, name: str, now: datetime) -> int:
    result = await conn.execute(
        insert(workspaces).values(name=name, created_at=now).returning(workspaces.c.id)
    )
    return int(result.scalar_one())


async def get_workspace(conn: AsyncConnection, workspace_id: int) -> RowMapping | None:
    result = await conn.execute(select(workspaces).where(workspaces.c.id == workspace_id))
    return result.mappings().first()


async def count_workspaces(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(workspaces))).scalar_one())


async def insert_key(
    conn: AsyncConnection,
    *,
    workspace_id: int,
    name: str,
    prefix: str,
    key_hash: str,
    now: datetime,
) -> None:
    await conn.execute(
        insert(api_keys).values(
            workspace_id=workspace_id, name=name, prefix=prefix, key_hash=key_hash, created_at=now
        )
    )


async def find_active_key(conn: AsyncConnection, key_hash: str) -> RowMapping | None:
    result = await conn.execute(
        select(api_keys.c.id, api_keys.c.workspace_id, api_keys.c.prefix).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
        )
    )
    return result.mappings().first()


async def list_keys(conn: AsyncConnection, workspace_id: int) -> list[RowMapping]:
    result = await conn.execute(
        select(api_keys.c.prefix, api_keys.c.name, api_keys.c.created_at, api_keys.c.revoked_at)
        .where(api_keys.c.workspace_id == workspace_id)
        .order_by(api_keys.c.id)
    )
    return list(result.mappings())


async def revoke_key(conn: AsyncConnection, *, prefix: str, now: datetime) -> bool:
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0
