"""SQL for the Talkdesk dialect's own tables: campaigns, record lists, do-not-call lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import (
    dnc_entries,
    talkdesk_campaigns,
    talkdesk_dnc_list_entries,
    talkdesk_dnc_lists,
    talkdesk_record_lists,
    workflows,
)

# --- record lists (each backed by a workflow: its name, dedup mode and status) ---------------


def _record_lists() -> Select[Any]:
    return select(
        talkdesk_record_lists,
        workflows.c.name,
        workflows.c.definition,
        workflows.c.status.label("workflow_status"),
        workflows.c.updated_at,
    ).join(workflows, workflows.c.id == talkdesk_record_lists.c.workflow_id)


async def insert_record_list(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(talkdesk_record_lists).values(**values))


async def get_record_list(conn: AsyncConnection, list_id: int) -> RowMapping | None:
    """A record list of any workspace (the caller tells 403 from 404)."""
    result = await conn.execute(_record_lists().where(talkdesk_record_lists.c.id == list_id))
    row: RowMapping | None = result.mappings().first()
    return row


async def record_lists_of_campaign(conn: AsyncConnection, campaign_id: int) -> list[RowMapping]:
    result = await conn.execute(
        _record_lists()
        .where(talkdesk_record_lists.c.campaign_id == campaign_id)
        .order_by(talkdesk_record_lists.c.id)
    )
    return list(result.mappings())


async def set_campaign(conn: AsyncConnection, list_id: int, campaign_id: int | None) -> None:
    await conn.execute(
        update(talkdesk_record_lists)
        .where(talkdesk_record_lists.c.id == list_id)
        .values(campaign_id=campaign_id)
    )


# --- campaigns -------------------------------------------------------------------------------


async def insert_campaign(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(talkdesk_campaigns).values(**values))


async def get_campaign(
    conn: AsyncConnection, campaign_id: int, *, for_update: bool = False
) -> RowMapping | None:
    """A campaign of any workspace (the caller tells 403 from 404)."""
    query = select(talkdesk_campaigns).where(talkdesk_campaigns.c.id == campaign_id)
    if for_update:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def update_campaign(conn: AsyncConnection, campaign_id: int, values: dict[str, Any]) -> None:
    await conn.execute(
        update(talkdesk_campaigns).where(talkdesk_campaigns.c.id == campaign_id).values(**values)
    )


# --- do-not-call lists -----------------------------------------------------------------------


async def insert_dnc_list(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(talkdesk_dnc_lists).values(**values))


async def get_dnc_list(conn: AsyncConnection, dnc_list_id: int) -> RowMapping | None:
    """A do-not-call list of any workspace (the caller tells 403 from 404)."""
    result = await conn.execute(
        select(talkdesk_dnc_lists).where(talkdesk_dnc_lists.c.id == dnc_list_id)
    )
    return result.mappings().first()


async def add_to_dnc_list(conn: AsyncConnection, dnc_list_id: int, dnc_entry_id: int) -> None:
    insert_into = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(
        insert_into(talkdesk_dnc_list_entries)
        .values(dnc_list_id=dnc_list_id, dnc_entry_id=dnc_entry_id)
        .on_conflict_do_nothing()
    )


def _entries(dnc_list_id: int) -> Select[Any]:
    return (
        select(dnc_entries, talkdesk_dnc_list_entries.c.dnc_list_id)
        .join(
            talkdesk_dnc_list_entries,
            talkdesk_dnc_list_entries.c.dnc_entry_id == dnc_entries.c.id,
        )
        .where(talkdesk_dnc_list_entries.c.dnc_list_id == dnc_list_id)
    )


async def dnc_list_entry(
    conn: AsyncConnection, dnc_list_id: int, dnc_entry_id: int
) -> RowMapping | None:
    result = await conn.execute(_entries(dnc_list_id).where(dnc_entries.c.id == dnc_entry_id))
    row: RowMapping | None = result.mappings().first()
    return row


async def dnc_list_entries(
    conn: AsyncConnection, dnc_list_id: int, *, offset: int, limit: int
) -> tuple[list[RowMapping], int]:
    """One page of a list's entries (oldest first) and how many it has in all."""
    result = await conn.execute(
        _entries(dnc_list_id).order_by(dnc_entries.c.id).offset(offset).limit(limit)
    )
    total = await conn.execute(
        select(func.count()).where(talkdesk_dnc_list_entries.c.dnc_list_id == dnc_list_id)
    )
    return list(result.mappings()), int(total.scalar_one())
