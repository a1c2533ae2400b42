"""SQL for attempts as the API reads them. Every query names the workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.tables import attempts, records, workflows


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


def _calls() -> Select[Any]:
    """Attempts with their workflow's public key."""
    return select(attempts, workflows.c.key.label("workflow_key")).join(
        workflows, workflows.c.id == attempts.c.workflow_id
    )


async def get_call(conn: AsyncConnection, workspace_id: int, call_id: int) -> RowMapping | None:
    result = await conn.execute(
        _calls().where(attempts.c.id == call_id, attempts.c.workspace_id == workspace_id)
    )
    row: RowMapping | None = result.mappings().first()
    return row


async def record_exists(conn: AsyncConnection, workspace_id: int, record_id: int) -> bool:
    result = await conn.execute(
        select(records.c.id).where(
            records.c.id == record_id, records.c.workspace_id == workspace_id
        )
    )
    return result.first() is not None


async def position(
    conn: AsyncConnection, workspace_id: int, call_id: int
) -> tuple[datetime, int] | None:
    """Where a call sits in created_at order (a cursor's anchor), if it is in the workspace."""
    result = await conn.execute(
        select(attempts.c.created_at, attempts.c.id).where(
            attempts.c.id == call_id, attempts.c.workspace_id == workspace_id
        )
    )
    row = result.first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Conditions on calls; None means "any". Phones are E.164 already."""

    workflow_id: int | None = None
    record_id: int | None = None
    to_address: str | None = None
    case_id: str | None = None
    external_id: str | None = None
    channel: str | None = None
    status: str | None = None
    end_reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    with_recording: bool = False


def _conditions(workspace_id: int, where: CallFilter) -> list[Any]:
    conditions: list[Any] = [attempts.c.workspace_id == workspace_id]
    if where.workflow_id is not None:
        conditions.append(attempts.c.workflow_id == where.workflow_id)
    if where.record_id is not None:
        conditions.append(attempts.c.record_id == where.record_id)
    if where.to_address is not None:
        conditions.append(attempts.c.to_address == where.to_address)
    if where.case_id is not None or where.external_id is not None:
        # The records carrying the id, then their calls by (record_id, id).
        matching = select(records.c.id).where(records.c.workspace_id == workspace_id)
        if where.workflow_id is not None:
            matching = matching.where(records.c.workflow_id == where.workflow_id)
        if where.case_id is not None:
            matching = matching.where(records.c.case_id == where.case_id)
        if where.external_id is not None:
            matching = matching.where(records.c.external_id == where.external_id)
        conditions.append(attempts.c.record_id.in_(matching))
    if where.channel is not None:
        conditions.append(attempts.c.channel == where.channel)
    if where.status is not None:
        conditions.append(attempts.c.status == where.status)
    if where.end_reason is not None:
        conditions.append(attempts.c.end_reason == where.end_reason)
    if where.since is not None:
        conditions.append(attempts.c.created_at >= where.since)
    if where.until is not None:
        conditions.append(attempts.c.created_at < where.until)
    if where.with_recording:
        conditions.append(attempts.c.recording_url.is_not(None))
    return conditions


async def find_calls(
    conn: AsyncConnection,
    workspace_id: int,
    where: CallFilter,
    *,
    newest_first: bool,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[RowMapping]:
    """One page of calls in (created_at, id) order, starting after the ``after`` position."""
    conditions = _conditions(workspace_id, where)
    if after is not None:
        at, call_id = after
        if newest_first:
            conditions.append(
                or_(
                    attempts.c.created_at < at,
                    and_(attempts.c.created_at == at, attempts.c.id < call_id),
                )
            )
        else:
            conditions.append(
                or_(
                    attempts.c.created_at > at,
                    and_(attempts.c.created_at == at, attempts.c.id > call_id),
                )
            )
    order = (
        (attempts.c.created_at.desc(), attempts.c.id.desc())
        if newest_first
        else (attempts.c.created_at.asc(), attempts.c.id.asc())
    )
    result = await conn.execute(_calls().where(*conditions).order_by(*order).limit(limit))
    return list(result.mappings())
