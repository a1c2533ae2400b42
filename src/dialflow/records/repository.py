"""SQL for records and their logs, including the raw-driver bulk insert used by intake."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.sql import one_of
from dialflow.db.tables import RECORD_COLUMNS, record_logs, records
from dialflow.db.types import UtcDateTime, sqlite_timestamp
from dialflow.records.status import LIVE_STATUSES, RecordStatus

# Built from the fixed column tuple above, never from input.
_SQLITE_INSERT = (
    f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in RECORD_COLUMNS)})"
)
_PG_COPY = f"COPY records ({', '.join(RECORD_COLUMNS)}) FROM STDIN"
_TIMESTAMP_POSITIONS = tuple(
    i for i, name in enumerate(RECORD_COLUMNS) if isinstance(records.c[name].type, UtcDateTime)
)


async def insert_records_bulk(conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert full rows (in ``RECORD_COLUMNS`` order, JSON already encoded) with the driver's
    fast path: COPY on PostgreSQL, executemany on SQLite. Runs in the caller's transaction."""
    if not rows:
        return
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "sqlite":
        stamps: dict[datetime, str] = {}  # a chunk shares one "now": format it once
        await driver.executemany(_SQLITE_INSERT, [_sqlite_row(row, stamps) for row in rows])
        return
    async with driver.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
        for row in rows:
            await copy.write_row(row)


# Placeholders and casts for the conflict-skipping insert (the retry path, not the hot one).
_JSON_COLUMNS = {"phones", "timezone_candidates", "placeholders", "meta"}
_SKIP_CONFLICTS_TAIL = (
    " ON CONFLICT (workflow_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id"
)
_SQLITE_SKIP_CONFLICTS = _SQLITE_INSERT + _SKIP_CONFLICTS_TAIL
_PG_SKIP_CONFLICTS = (
    f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) VALUES ("  # noqa: S608
    + ", ".join("%s::jsonb" if name in _JSON_COLUMNS else "%s" for name in RECORD_COLUMNS)
    + ")"
    + _SKIP_CONFLICTS_TAIL
)


async def insert_records_skipping_conflicts(
    conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]
) -> set[int]:
    """Insert rows whose dedup key is free; answer the ids actually inserted. A row whose key a
    concurrent transaction holds waits for it, then is skipped."""
    if not rows:
        return set()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    inserted: set[int] = set()
    if conn.dialect.name == "sqlite":
        for row in rows:
            cursor = await driver.execute(_SQLITE_SKIP_CONFLICTS, _sqlite_row(row, {}))
            inserted.update(r[0] for r in await cursor.fetchall())
        return inserted
    async with driver.cursor() as cursor:
        await cursor.executemany(_PG_SKIP_CONFLICTS, rows, returning=True)
        while True:
            inserted.update(r[0] for r in await cursor.fetchall())
            if not cursor.nextset():
                break
    return inserted


def _sqlite_row(row: tuple[Any, ...], stamps: dict[datetime, str]) -> tuple[Any, ...]:
    values = list(row)
    for position in _TIMESTAMP_POSITIONS:
        value = values[position]
        if value is not None:
            text = stamps.get(value)
            if text is None:
                text = stamps[value] = sqlite_timestamp(value)
            values[position] = text
    return tuple(values)


async def find_by_dedup_keys(
    conn: AsyncConnection, workflow_id: int, keys: Sequence[str]
) -> dict[str, RowMapping]:
    """Existing records holding these keys, locked on PostgreSQL until the chunk commits."""
    if not keys:
        return {}
    columns = (records.c.id, records.c.dedup_key, records.c.status, records.c.cycle)
    if conn.dialect.name == "postgresql":
        # A join on unnest() probes the unique (workflow_id, dedup_key) index once per key; with
        # a plain "= ANY" PostgreSQL may scan the workflow's whole range of another index when
        # its statistics have not seen this workflow yet.
        wanted = (
            func.unnest(bindparam("keys", list(keys), type_=ARRAY(String)))
            .table_valued("key")
            .render_derived()
        )
        query = (
            select(*columns)
            .join_from(wanted, records, records.c.dedup_key == wanted.c.key)
            .where(records.c.workflow_id == workflow_id)
            .with_for_update(of=records)
        )
    else:
        query = (
            select(*columns)
            .where(records.c.workflow_id == workflow_id, records.c.dedup_key.in_(keys))
            .with_for_update()
        )
    result = await conn.execute(query)
    return {row["dedup_key"]: row for row in result.mappings()}


# What a new submission may change on a live record: its data, not its place in the workflow.
_UPDATABLE = tuple(
    name
    for name in RECORD_COLUMNS
    if name
    not in {
        "id",
        "workspace_id",
        "workflow_id",
        "dedup_key",
        "status",
        "cycle",
        "step_id",
        "attempts",
        "dispatch_rank",
        "cycle_started_at",
        "next_due_at",
        "created_at",
    }
)


async def update_records_fields(conn: AsyncConnection, changes: Sequence[dict[str, Any]]) -> None:
    """Refresh a live record's data in place (``_id`` + the ``_UPDATABLE`` fields)."""
    if not changes:
        return
    statement = (
        update(records)
        .where(records.c.id == bindparam("_id"))
        .values(
            {
                **{name: bindparam(name) for name in _UPDATABLE},
                "dispatch_rank": bindparam("priority_rank")
                + case((records.c.attempts > 0, 1), else_=0),
            }
        )
    )
    await conn.execute(statement, list(changes))


async def restart_records(conn: AsyncConnection, changes: Sequence[dict[str, Any]]) -> None:
    """Start a new cycle for finished records: new data, back to the first step."""
    if not changes:
        return
    statement = (
        update(records)
        .where(records.c.id == bindparam("_id"))
        .values(
            {
                **{name: bindparam(name) for name in _UPDATABLE},
                "status": RecordStatus.PENDING.value,
                "cycle": records.c.cycle + 1,
                "step_id": bindparam("step_id"),
                "day": 1,
                "call": 1,
                "attempts": 0,
                "phone_attempts": None,
                "dispatch_rank": bindparam("priority_rank"),
                "cycle_started_at": bindparam("next_due_at"),
                "workflow_ended": False,
                "final_outcome": None,
                "completed_at": None,
                "next_due_at": bindparam("next_due_at"),
            }
        )
    )
    await conn.execute(statement, list(changes))


async def insert_logs(conn: AsyncConnection, logs: Sequence[dict[str, Any]]) -> None:
    if logs:
        await conn.execute(insert(record_logs), list(logs))


async def get_record(conn: AsyncConnection, workspace_id: int, record_id: int) -> RowMapping | None:
    result = await conn.execute(
        select(records).where(records.c.id == record_id, records.c.workspace_id == workspace_id)
    )
    return result.mappings().first()


async def get_logs(conn: AsyncConnection, record_id: int) -> list[RowMapping]:
    result = await conn.execute(
        select(record_logs).where(record_logs.c.record_id == record_id).order_by(record_logs.c.id)
    )
    return list(result.mappings())


def _filtered(
    query: Select[Any],
    *,
    status: str | None,
    phone: str | None,
    external_id: str | None,
) -> Select[Any]:
    if status is not None:
        query = query.where(records.c.status == status)
    if phone is not None:
        query = query.where(records.c.phone == phone)
    if external_id is not None:
        query = query.where(records.c.external_id == external_id)
    return query


async def list_records(
    conn: AsyncConnection,
    workflow_id: int,
    *,
    status: str | None,
    phone: str | None,
    external_id: str | None,
    after_id: int | None,
    limit: int,
) -> list[RowMapping]:
    query = _filtered(
        select(records).where(records.c.workflow_id == workflow_id),
        status=status,
        phone=phone,
        external_id=external_id,
    )
    if after_id is not None:
        query = query.where(records.c.id > after_id)
    result = await conn.execute(query.order_by(records.c.id).limit(limit))
    return list(result.mappings())


async def find_records_for_action(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    workflow_id: int | None,
    record_id: int | None = None,
    phones: Sequence[str] = (),
) -> list[RowMapping]:
    """Records named by id or by phone, in one workflow or across the workspace; locked."""
    conditions = [records.c.workspace_id == workspace_id]
    if workflow_id is not None:
        conditions.append(records.c.workflow_id == workflow_id)
    if record_id is not None:
        conditions.append(records.c.id == record_id)
    if phones:
        conditions.append(one_of(conn, records.c.phone, phones))
    result = await conn.execute(
        select(
            records.c.id,
            records.c.workflow_id,
            records.c.phone,
            records.c.status,
            records.c.step_id,
        )
        .where(and_(*conditions))
        .order_by(records.c.id)
        .with_for_update()
    )
    return list(result.mappings())


async def set_status(
    conn: AsyncConnection,
    ids: Sequence[int],
    *,
    status: RecordStatus,
    now: datetime,
    final_outcome: str | None = None,
    only_live: bool = False,
) -> int:
    if not ids:
        return 0
    values: dict[str, Any] = {"status": status.value, "updated_at": now}
    if status in (RecordStatus.COMPLETED, RecordStatus.CANCELLED):
        values.update(completed_at=now, final_outcome=final_outcome, next_due_at=None)
    else:
        values.update(completed_at=None, final_outcome=None, next_due_at=now)
    query = update(records).where(one_of(conn, records.c.id, ids))
    if only_live:
        query = query.where(records.c.status.in_(LIVE_STATUSES))
    result = await conn.execute(query.values(**values))
    return int(result.rowcount)


async def live_ids_in_list(conn: AsyncConnection, list_id: int) -> list[int]:
    result = await conn.execute(
        select(records.c.id).where(
            records.c.list_id == list_id, records.c.status.in_(LIVE_STATUSES)
        )
    )
    return list(result.scalars())


async def count_by_status_and_outcome(
    conn: AsyncConnection, workflow_id: int
) -> list[tuple[str, str | None, int]]:
    """One snapshot of (status, final outcome, count) for a workflow's records."""
    result = await conn.execute(
        select(records.c.status, records.c.final_outcome, func.count())
        .where(records.c.workflow_id == workflow_id)
        .group_by(records.c.status, records.c.final_outcome)
    )
    return [(status, outcome, int(count)) for status, outcome, count in result]
