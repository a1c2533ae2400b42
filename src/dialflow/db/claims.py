"""The claim kit: rows of a domain table used as a queue, on both databases.

A claim moves due rows to the claimed status under a lease (owner + expiry). Every later change
is fenced by the owner, so a worker whose lease was taken over cannot overwrite the new owner's
work. PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` in a materialized CTE (concurrent
workers never wait on each other's rows); SQLite has a single writer, so a plain
``UPDATE … WHERE id IN (SELECT … LIMIT n)`` inside ``BEGIN IMMEDIATE`` is already exclusive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.sql import one_of, update_each


@dataclass(frozen=True)
class Claimable:
    """Which table, which statuses mean ready and claimed, and the claim order."""

    table: Table
    ready: str
    claimed: str
    due: Column[Any]
    order_by: tuple[Column[Any], ...]  # ascending columns, claimed first to last

    @property
    def id(self) -> Column[Any]:
        return self.table.c.id

    @property
    def owner(self) -> Column[Any]:
        return self.table.c.lease_owner

    @property
    def expires(self) -> Column[Any]:
        return self.table.c.lease_expires_at

    @property
    def status(self) -> Column[Any]:
        return self.table.c.status


async def claim(
    conn: AsyncConnection,
    spec: Claimable,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
    columns: Sequence[Column[Any]] = (),
) -> list[RowMapping]:
    """Claim up to ``limit`` due rows in claim order; answer them as updated: ``columns`` of
    them and the claim order's, or every column."""
    if limit <= 0:
        return []
    due = (
        select(spec.id)
        .where(spec.status == spec.ready, spec.due <= now, *where)
        .order_by(*spec.order_by)
        .limit(limit)
    )
    changes = {
        "status": spec.claimed,
        "lease_owner": owner,
        "lease_expires_at": now + lease,
        **(values or {}),
    }
    if conn.dialect.name == "postgresql":
        cte = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        statement = update(spec.table).where(spec.id == cte.c.id)
    else:
        statement = update(spec.table).where(spec.id.in_(due.scalar_subquery()))
    returned = {column.name: column for column in (*(columns or spec.table.c), *spec.order_by)}
    result = await conn.execute(statement.values(**changes).returning(*returned.values()))
    # RETURNING follows the table's physical order, not the claim order: restore it.
    names = [column.name for column in spec.order_by]
    return sorted(result.mappings(), key=lambda row: tuple(row[name] for name in names))


async def fenced_update(
    conn: AsyncConnection,
    spec: Claimable,
    ids: Sequence[int],
    *,
    owner: str,
    values: Mapping[str, Any],
) -> list[int]:
    """Change claimed rows only while ``owner`` still holds them; answer the ids changed."""
    if not ids:
        return []
    result = await conn.execute(
        update(spec.table)
        .where(one_of(conn, spec.id, ids), spec.owner == owner, spec.status == spec.claimed)
        .values(**values)
        .returning(spec.id)
    )
    return list(result.scalars())


async def fenced_updates(
    conn: AsyncConnection, spec: Claimable, changes: Sequence[dict[str, Any]]
) -> None:
    """Write each claimed row's own values in one statement, each fenced by its owner: a change
    names its row (``_id``) and the owner that must still hold it (``_owner``).

    The owner alone is the fence (a lease owner is set only while a row is claimed). Adding the
    claimed status to the condition would invite PostgreSQL to walk the partial lease index of
    every claimed row for each row updated instead of taking the primary key."""
    await update_each(
        conn, spec.table, changes, match={"_id": spec.id.name, "_owner": spec.owner.name}
    )


async def extend(
    conn: AsyncConnection, spec: Claimable, ids: Sequence[int], *, owner: str, until: datetime
) -> list[int]:
    """Heartbeat: push the lease of rows still held by ``owner``."""
    return await fenced_update(conn, spec, ids, owner=owner, values={"lease_expires_at": until})


async def release(
    conn: AsyncConnection,
    spec: Claimable,
    ids: Sequence[int],
    *,
    owner: str,
    values: Mapping[str, Any] | None = None,
) -> list[int]:
    """Give claimed rows back (unstarted work at shutdown, or deferred rows)."""
    changes = {
        "status": spec.ready,
        "lease_owner": None,
        "lease_expires_at": None,
        **(values or {}),
    }
    return await fenced_update(conn, spec, ids, owner=owner, values=changes)


async def take_over_expired(
    conn: AsyncConnection,
    spec: Claimable,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[RowMapping]:
    """Take the claimed rows whose lease ran out (their worker died) under a new lease.

    The new owner decides what to do with each: the old owner's late writes are fenced off.
    """
    expired = (
        select(spec.id)
        .where(spec.status == spec.claimed, spec.expires < now)
        .order_by(spec.expires)
        .limit(limit)
    )
    changes = {"lease_owner": owner, "lease_expires_at": now + lease}
    if conn.dialect.name == "postgresql":
        cte = expired.with_for_update(skip_locked=True).cte("expired").prefix_with("MATERIALIZED")
        statement = update(spec.table).where(spec.id == cte.c.id)
    else:
        statement = update(spec.table).where(spec.id.in_(expired.scalar_subquery()))
    result = await conn.execute(statement.values(**changes).returning(*spec.table.c))
    return list(result.mappings())
