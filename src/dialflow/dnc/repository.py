"""SQL for do-not-call entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import dnc_entries


async def find(conn: AsyncConnection, workspace_id: int, phone: str) -> RowMapping | None:
    result = await conn.execute(
        select(dnc_entries).where(
            dnc_entries.c.workspace_id == workspace_id, dnc_entries.c.phone == phone
        )
    )
    return result.mappings().first()


async def upsert(
    conn: AsyncConnection,
    *,
    workspace_id: int,
    phone: str,
    reason: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """Add the number, or refresh the reason and expiry of an existing entry."""
    if await find(conn, workspace_id, phone) is None:
        await conn.execute(
            insert(dnc_entries).values(
                workspace_id=workspace_id,
                phone=phone,
                reason=reason,
                expires_at=expires_at,
                created_at=now,
            )
        )
        return
    await conn.execute(
        update(dnc_entries)
        .where(dnc_entries.c.workspace_id == workspace_id, dnc_entries.c.phone == phone)
        .values(reason=reason, expires_at=expires_at)
    )


async def remove(conn: AsyncConnection, workspace_id: int, phone: str) -> bool:
    result = await conn.execute(
        delete(dnc_entries).where(
            dnc_entries.c.workspace_id == workspace_id, dnc_entries.c.phone == phone
        )
    )
    return result.rowcount > 0


async def list_entries(
    conn: AsyncConnection, workspace_id: int, *, after_id: int | None, limit: int
) -> list[RowMapping]:
    query = select(dnc_entries).where(dnc_entries.c.workspace_id == workspace_id)
    if after_id is not None:
        query = query.where(dnc_entries.c.id > after_id)
    return list((await conn.execute(query.order_by(dnc_entries.c.id).limit(limit))).mappings())
