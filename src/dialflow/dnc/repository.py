"""SQL for do-not-call entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.sql import one_of
from dialflow.db.tables import dnc_entries


async def find(conn: AsyncConnection, workspace_id: int, phone: str) -> RowMapping | None:
    result = await conn.execute(
        select(dnc_entries).where(
            dnc_entries.c.workspace_id == workspace_id, dnc_entries.c.phone == phone
        )
    )
    return result.mappings().first()


async def blocked_numbers(
    conn: AsyncConnection, workspace_id: int, numbers: Sequence[str], now: datetime
) -> set[str]:
    """The subset of ``numbers`` on the workspace's do-not-call list right now."""
    if not numbers:
        return set()
    result = await conn.execute(
        select(dnc_entries.c.phone).where(
            dnc_entries.c.workspace_id == workspace_id,
            one_of(conn, dnc_entries.c.phone, numbers),
            or_(dnc_entries.c.expires_at.is_(None), dnc_entries.c.expires_at > now),
        )
    )
    return set(result.scalars())


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


async def add_missing(conn: AsyncConnection, entries: Sequence[dict[str, Any]]) -> None:
    """Add numbers to their workspace's do-not-call list; numbers already on it stay as they
    are."""
    if not entries:
        return
    insert_into = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(
        insert_into(dnc_entries).on_conflict_do_nothing(index_elements=["workspace_id", "phone"]),
        list(entries),
    )
