"""SQL of the outbox: endpoints, events, deliveries and delivery attempts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.claims import Claimable
from dialflow.db.sql import execute_many, one_of
from dialflow.db.tables import (
    attempts,
    deliveries,
    delivery_attempts,
    events,
    lists,
    records,
    webhook_endpoints,
    workflows,
)
from dialflow.records.status import LIVE_STATUSES

DELIVERY_CLAIMS = Claimable(
    table=deliveries,
    ready="pending",
    claimed="in_progress",
    due=deliveries.c.next_due_at,
    order_by=(deliveries.c.next_due_at, deliveries.c.id),
)

# -- endpoints ---------------------------------------------------------------------------------


async def enabled_endpoints(
    conn: AsyncConnection, workspace_ids: Iterable[int]
) -> dict[int, list[RowMapping]]:
    ids = sorted(set(workspace_ids))
    result = await conn.execute(
        select(
            webhook_endpoints.c.id,
            webhook_endpoints.c.workspace_id,
            webhook_endpoints.c.workflow_id,
            webhook_endpoints.c.event_types,
            webhook_endpoints.c.format,
        ).where(
            one_of(conn, webhook_endpoints.c.workspace_id, ids),
            webhook_endpoints.c.status == "enabled",
        )
    )
    grouped: dict[int, list[RowMapping]] = {}
    for row in result.mappings():
        grouped.setdefault(row["workspace_id"], []).append(row)
    return grouped


async def insert_endpoint(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(webhook_endpoints).values(**values))


async def get_endpoint(
    conn: AsyncConnection, workspace_id: int, endpoint_id: int, *, lock: bool = False
) -> RowMapping | None:
    query = select(webhook_endpoints).where(
        webhook_endpoints.c.workspace_id == workspace_id,
        webhook_endpoints.c.id == endpoint_id,
        webhook_endpoints.c.status != "deleted",
    )
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def list_endpoints(
    conn: AsyncConnection, workspace_id: int, *, after: int | None, limit: int
) -> list[RowMapping]:
    query = select(webhook_endpoints).where(
        webhook_endpoints.c.workspace_id == workspace_id, webhook_endpoints.c.status != "deleted"
    )
    if after is not None:
        query = query.where(webhook_endpoints.c.id > after)
    result = await conn.execute(query.order_by(webhook_endpoints.c.id).limit(limit))
    return list(result.mappings())


async def update_endpoint(
    conn: AsyncConnection, endpoint_id: int, values: Mapping[str, Any]
) -> None:
    await conn.execute(
        update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id).values(**values)
    )


async def endpoints_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, RowMapping]:
    result = await conn.execute(
        select(webhook_endpoints).where(one_of(conn, webhook_endpoints.c.id, ids))
    )
    return {row["id"]: row for row in result.mappings()}


# -- events and deliveries -------------------------------------------------------------------


async def insert_events(
    conn: AsyncConnection,
    event_rows: Sequence[dict[str, Any]],
    delivery_rows: Sequence[dict[str, Any]],
) -> None:
    if event_rows:
        await execute_many(conn, insert(events), event_rows)
    if delivery_rows:
        await execute_many(conn, insert(deliveries), delivery_rows)


async def payloads(conn: AsyncConnection, event_ids: Sequence[int]) -> dict[int, bytes]:
    result = await conn.execute(
        select(events.c.id, events.c.payload).where(one_of(conn, events.c.id, event_ids))
    )
    return {event_id: bytes(payload) for event_id, payload in result}


async def get_event(conn: AsyncConnection, workspace_id: int, event_id: int) -> RowMapping | None:
    result = await conn.execute(
        select(events).where(events.c.workspace_id == workspace_id, events.c.id == event_id)
    )
    return result.mappings().first()


async def list_events(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    event_type: str | None,
    record_id: int | None,
    since: datetime | None,
    before: int | None,
    limit: int,
) -> list[RowMapping]:
    """Newest first."""
    query = select(events).where(events.c.workspace_id == workspace_id)
    if event_type is not None:
        query = query.where(events.c.type == event_type)
    if record_id is not None:
        query = query.where(events.c.record_id == record_id)
    if since is not None:
        query = query.where(events.c.created_at >= since)
    if before is not None:
        query = query.where(events.c.id < before)
    result = await conn.execute(query.order_by(events.c.id.desc()).limit(limit))
    return list(result.mappings())


async def deliveries_of_event(conn: AsyncConnection, event_id: int) -> list[RowMapping]:
    result = await conn.execute(
        select(deliveries).where(deliveries.c.event_id == event_id).order_by(deliveries.c.id)
    )
    return list(result.mappings())


async def attempts_of_deliveries(
    conn: AsyncConnection, delivery_ids: Sequence[int]
) -> dict[int, list[RowMapping]]:
    result = await conn.execute(
        select(delivery_attempts)
        .where(one_of(conn, delivery_attempts.c.delivery_id, delivery_ids))
        .order_by(delivery_attempts.c.id)
    )
    grouped: dict[int, list[RowMapping]] = {}
    for row in result.mappings():
        grouped.setdefault(row["delivery_id"], []).append(row)
    return grouped


async def failed_event_ids(
    conn: AsyncConnection, workspace_id: int, endpoint_id: int, since: datetime
) -> list[int]:
    """Events whose delivery to the endpoint was given up (or cancelled) since ``since`` and
    that have not reached it since, nor wait to (a replay already queued or delivered)."""
    later = deliveries.alias("later")
    result = await conn.execute(
        select(deliveries.c.event_id)
        .where(
            deliveries.c.workspace_id == workspace_id,
            deliveries.c.endpoint_id == endpoint_id,
            deliveries.c.status.in_(("failed", "cancelled")),
            deliveries.c.created_at >= since,
            ~exists().where(
                later.c.event_id == deliveries.c.event_id,
                later.c.endpoint_id == endpoint_id,
                later.c.status.in_(("pending", "in_progress", "succeeded")),
            ),
        )
        .distinct()
    )
    return sorted(result.scalars())


async def events_by_id(conn: AsyncConnection, event_ids: Sequence[int]) -> list[RowMapping]:
    result = await conn.execute(
        select(events).where(one_of(conn, events.c.id, event_ids)).order_by(events.c.id)
    )
    return list(result.mappings())


async def latest_bodies(
    conn: AsyncConnection, endpoint_id: int, event_ids: Sequence[int]
) -> dict[int, bytes | None]:
    """The body each event was rendered to for this endpoint (a replay sends it again)."""
    result = await conn.execute(
        select(deliveries.c.event_id, deliveries.c.body).where(
            deliveries.c.endpoint_id == endpoint_id, one_of(conn, deliveries.c.event_id, event_ids)
        )
    )
    return {event_id: (None if body is None else bytes(body)) for event_id, body in result}


async def cancel_pending(
    conn: AsyncConnection, endpoint_id: int, now: datetime, reason: str
) -> int:
    result = await conn.execute(
        update(deliveries)
        .where(deliveries.c.endpoint_id == endpoint_id, deliveries.c.status == "pending")
        .values(status="cancelled", last_error=reason, next_due_at=None, updated_at=now)
    )
    return int(result.rowcount)


async def insert_delivery_attempts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await execute_many(conn, insert(delivery_attempts), rows)


async def mark_endpoints_healthy(conn: AsyncConnection, ids: Sequence[int]) -> None:
    if ids:
        await conn.execute(
            update(webhook_endpoints)
            .where(
                one_of(conn, webhook_endpoints.c.id, ids),
                webhook_endpoints.c.failing_since.is_not(None),
            )
            .values(failing_since=None)
        )


async def mark_endpoints_failing(conn: AsyncConnection, ids: Sequence[int], now: datetime) -> None:
    if ids:
        await conn.execute(
            update(webhook_endpoints)
            .where(
                one_of(conn, webhook_endpoints.c.id, ids),
                webhook_endpoints.c.failing_since.is_(None),
            )
            .values(failing_since=now)
        )


async def delivery_counts(conn: AsyncConnection, workspace_id: int) -> dict[str, int]:
    result = await conn.execute(
        select(deliveries.c.status, func.count())
        .where(deliveries.c.workspace_id == workspace_id)
        .group_by(deliveries.c.status)
    )
    return {status: int(count) for status, count in result}


# -- reads for event payloads --------------------------------------------------------------------

_PAYLOAD_RECORD_COLUMNS = (
    records.c.id,
    records.c.workspace_id,
    records.c.workflow_id,
    records.c.list_id,
    records.c.cycle,
    records.c.status,
    records.c.final_outcome,
    records.c.first_name,
    records.c.last_name,
    records.c.phone,
    records.c.phones,
    records.c.email,
    records.c.zip,
    records.c.timezone,
    records.c.external_id,
    records.c.case_id,
    records.c.external_provider,
    records.c.external_url,
    records.c.profile_id,
    records.c.transfer_number,
    records.c.priority,
    records.c.placeholders,
    records.c.meta,
)


async def payload_records(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, RowMapping]:
    result = await conn.execute(
        select(*_PAYLOAD_RECORD_COLUMNS).where(one_of(conn, records.c.id, sorted(set(ids))))
    )
    return {row["id"]: row for row in result.mappings()}


async def workflow_names(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, RowMapping]:
    result = await conn.execute(
        select(workflows.c.id, workflows.c.key, workflows.c.name).where(
            one_of(conn, workflows.c.id, sorted(set(ids)))
        )
    )
    return {row["id"]: row for row in result.mappings()}


async def attempts_of_cycles(
    conn: AsyncConnection, cycles: Mapping[int, int]
) -> dict[int, list[RowMapping]]:
    """The attempts of each record's current cycle (``cycles``: record id → cycle)."""
    result = await conn.execute(
        select(attempts)
        .where(one_of(conn, attempts.c.record_id, sorted(cycles)))
        .order_by(attempts.c.id)
    )
    grouped: dict[int, list[RowMapping]] = {}
    for row in result.mappings():
        if row["cycle"] == cycles[row["record_id"]]:
            grouped.setdefault(row["record_id"], []).append(row)
    return grouped


async def lock_open_lists(conn: AsyncConnection, ids: Iterable[int]) -> list[RowMapping]:
    """Lists not yet completed, locked in id order: two workers finishing a list's last
    records serialise here, and the later one sees the earlier one's records finished."""
    result = await conn.execute(
        select(lists)
        .where(one_of(conn, lists.c.id, sorted(set(ids))), lists.c.completed_at.is_(None))
        .order_by(lists.c.id)
        .with_for_update()
    )
    return list(result.mappings())


async def list_has_live_records(conn: AsyncConnection, list_id: int) -> bool:
    result = await conn.execute(
        select(records.c.id)
        .where(records.c.list_id == list_id, records.c.status.in_(LIVE_STATUSES))
        .limit(1)
    )
    return result.first() is not None


async def list_counts(conn: AsyncConnection, list_id: int) -> tuple[dict[str, int], dict[str, int]]:
    result = await conn.execute(
        select(records.c.status, records.c.final_outcome, func.count())
        .where(records.c.list_id == list_id)
        .group_by(records.c.status, records.c.final_outcome)
    )
    by_status: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    for status, outcome, count in result:
        by_status[status] = by_status.get(status, 0) + int(count)
        key = outcome or status
        by_outcome[key] = by_outcome.get(key, 0) + int(count)
    return by_status, by_outcome


async def mark_list_completed(conn: AsyncConnection, list_id: int, now: datetime) -> None:
    await conn.execute(update(lists).where(lists.c.id == list_id).values(completed_at=now))
