"""SQL for attempts as the API reads them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import attempts


async def attempts_of_record(conn: AsyncConnection, record_id: int) -> list[RowMapping]:
    result = await conn.execute(
        select(attempts).where(attempts.c.record_id == record_id).order_by(attempts.c.id)
    )
    return list(result.mappings())


async def by_provider_call_id(
    conn: AsyncConnection, workspace_id: int, provider_call_id: str
) -> RowMapping | None:
    result = await conn.execute(
        select(attempts).where(
            attempts.c.workspace_id == workspace_id,
            attempts.c.provider_call_id == provider_call_id,
        )
    )
    return result.mappings().first()
