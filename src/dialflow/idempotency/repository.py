"""SQL for idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import idempotency_keys as keys


def _match(workspace_id: int, key: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (keys.c.workspace_id == workspace_id, keys.c.key == key)


async def find(conn: AsyncConnection, workspace_id: int, key: str) -> RowMapping | None:
    result = await conn.execute(select(keys).where(*_match(workspace_id, key)).with_for_update())
    return result.mappings().first()


async def claim(
    conn: AsyncConnection, workspace_id: int, key: str, request_hash: str, now: datetime
) -> None:
    await conn.execute(
        insert(keys).values(
            workspace_id=workspace_id, key=key, request_hash=request_hash, created_at=now
        )
    )


async def remove(conn: AsyncConnection, workspace_id: int, key: str) -> None:
    await conn.execute(delete(keys).where(*_match(workspace_id, key)))


async def store_response(
    conn: AsyncConnection, workspace_id: int, key: str, status_code: int, body: bytes
) -> None:
    await conn.execute(
        update(keys)
        .where(*_match(workspace_id, key))
        .values(status_code=status_code, response=body)
    )
