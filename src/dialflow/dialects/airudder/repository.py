"""SQL for the Airudder dialect's tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import airudder_tokens, api_keys


async def insert_token(
    conn: AsyncConnection, *, token_hash: str, api_key_id: int, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        insert(airudder_tokens).values(
            token_hash=token_hash, api_key_id=api_key_id, created_at=now, expires_at=expires_at
        )
    )


async def delete_expired(conn: AsyncConnection, api_key_id: int, now: datetime) -> None:
    await conn.execute(
        delete(airudder_tokens).where(
            airudder_tokens.c.api_key_id == api_key_id, airudder_tokens.c.expires_at <= now
        )
    )


async def extend_live(
    conn: AsyncConnection, api_key_id: int, *, now: datetime, expires_at: datetime
) -> None:
    """Move the expiry of the key's tokens still valid at ``now`` to ``expires_at``."""
    await conn.execute(
        update(airudder_tokens)
        .where(airudder_tokens.c.api_key_id == api_key_id, airudder_tokens.c.expires_at > now)
        .values(expires_at=expires_at)
    )


async def token_workspace(conn: AsyncConnection, token_hash: str, now: datetime) -> int | None:
    """The workspace of a token valid at ``now`` whose API key is not revoked; else None."""
    result = await conn.execute(
        select(api_keys.c.workspace_id)
        .select_from(airudder_tokens.join(api_keys, api_keys.c.id == airudder_tokens.c.api_key_id))
        .where(
            airudder_tokens.c.token_hash == token_hash,
            airudder_tokens.c.expires_at > now,
            api_keys.c.revoked_at.is_(None),
        )
    )
    workspace_id = result.scalar_one_or_none()
    return None if workspace_id is None else int(workspace_id)
