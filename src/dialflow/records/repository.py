"""SQL for records and their logs, including the raw-driver bulk insert used by intake."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.sql import copy_rows, execute_many, one_of, pg_json_elements
from dialflow.db.tables import RECORD_COLUMNS, attempts, record_logs, records, workflows
from dialflow.db.types import UtcDateTime, sqlite_timestamp
from dialflow.records.status import LIVE_STATUSES, RecordStatus

# Built from the fixed column tuple above, never from input.
# Multi-row INSERTs on SQLite: Python's sqlite3 releases the GIL around each statement step, so
# an executemany must win the GIL back once per row, and while the event loop's thread is busy
# each win waits out a switch interval (measured beside a busy thread: ~500 rows/s for
# executemany, ~36,000 for 500-row statements; alone, 94,000 against 129,000). A chunk goes as
# statements of power-of-two sizes (980 rows: 512 + 256 + 128 + 64 + 16 + 4), so that only a
# few statement shapes exist to prepare and cache, within SQLite's parameter limit (999 before
# SQLite 3.32, 32,766 since).
_SQLITE_MAX_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
_SQLITE_INSERT_SIZES = tuple(
    size
    for size in (512, 256, 128, 64, 32, 16, 8, 4, 2, 1)
    if size * len(RECORD_COLUMNS) <= _SQLITE_MAX_PARAMETERS
)
_SQLITE_ROW_MARKS = f"({', '.join('?' for _ in RECORD_COLUMNS)})"
_SQLITE_INSERTS = {
    size: f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) VALUES "  # noqa: S608
    + ", ".join([_SQLITE_ROW_MARKS] * size)
    for size in _SQLITE_INSERT_SIZES
}


def _sqlite_insert_sizes(rows: int) -> list[int]:
    """The statement sizes a chunk of ``rows`` rows is inserted with, largest first."""
    sizes: list[int] = []
    for size in _SQLITE_INSERT_SIZES:
        while rows >= size:
            sizes.append(size)
            rows -= size
    return sizes


_TIMESTAMP_POSITIONS = tuple(
    i for i, name in enumerate(RECORD_COLUMNS) if isinstance(records.c[name].type, UtcDateTime)
)


def storable_record_rows(
    dialect: str, rows: Sequence[tuple[Any, ...]]
) -> Sequence[tuple[Any, ...]]:
    """Full rows (in ``RECORD_COLUMNS`` order, JSON already encoded) as the insert functions
    below take them: on SQLite with time stamps as text. Plain CPU work, so callers do it
    before their write transaction starts."""
    if dialect != "sqlite":
        return rows
    stamps: dict[datetime, str] = {}  # a chunk shares one "now": format it once
    return [_sqlite_row(row, stamps) for row in rows]


async def insert_records_bulk(conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``storable_record_rows`` with the driver's fast path: COPY on PostgreSQL,
    multi-row INSERTs on SQLite. Runs in the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        await copy_rows(conn, records, RECORD_COLUMNS, rows)
        return
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    start = 0
    for size in _sqlite_insert_sizes(len(rows)):
        part = rows[start : start + size]
        start += size
        await driver.execute(_SQLITE_INSERTS[size], [value for row in part for value in row])


# Placeholders and casts for the conflict-skipping insert (the retry path, not the hot one).
_JSON_COLUMNS = {"phones", "timezone_candidates", "placeholders", "meta"}
_SKIP_CONFLICTS_TAIL = (
    " ON CONFLICT (workflow_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING RETURNING id"
)
_SQLITE_SKIP_CONFLICTS = _SQLITE_INSERTS[1] + _SKIP_CONFLICTS_TAIL
_PG_SKIP_CONFLICTS = (
    f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) VALUES ("  # noqa: S608
    + ", ".join("%s::jsonb" if name in _JSON_COLUMNS else "%s" for name in RECORD_COLUMNS)
    + ")"
    + _SKIP_CONFLICTS_TAIL
)


async def insert_records_skipping_conflicts(
    conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]
) -> set[int]:
    """Insert ``storable_record_rows`` whose dedup key is free; answer the ids actually
    inserted. A row whose key a concurrent transaction holds waits for it, then is skipped."""
    if not rows:
        return set()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    inserted: set[int] = set()
    if conn.dialect.name == "sqlite":
        for row in rows:
            cursor = await driver.execute(_SQLITE_SKIP_CONFLICTS, row)
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
    conn: AsyncConnection, workflow_id: int, keys: Sequence[str], *, nowait: bool = False
) -> dict[str, RowMapping]:
    """Existing records holding these keys, locked on PostgreSQL until the chunk commits;
    ``nowait`` raises at once (``LockNotAvailable``) rather than wait for another holder."""
    if not keys:
        return {}
    columns = (records.c.id, records.c.dedup_key, records.c.status, records.c.cycle)
    if conn.dialect.name == "postgresql":
        # One probe of the unique (workflow_id, dedup_key) index per key, in key order (so
        # concurrent writers lock in the same order), through a LATERAL subquery the planner
        # cannot turn into another join: statistics that have not seen this workflow yet
        # (a new workflow, no ANALYZE since) made it hash the workflow's every row instead, per
        # chunk: 103 ms against 1.2 ms per 1,000 keys at 200,000 records, and growing.
        wanted = pg_json_elements(keys).table_valued("key").render_derived()
        found = (
            select(*columns)
            .where(records.c.workflow_id == workflow_id, records.c.dedup_key == wanted.c.key)
            .with_for_update(nowait=nowait)
            .lateral("found")
        )
        query = select(*found.c).select_from(wanted).join(found, true())
    else:
        query = (
            select(*columns)
            .where(records.c.workflow_id == workflow_id, one_of(conn, records.c.dedup_key, keys))
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
        await execute_many(conn, insert(record_logs), logs)


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


async def live_ids(
    conn: AsyncConnection, scope: Literal["list_id", "workflow_id"], scope_id: int
) -> list[int]:
    """The live records of one list or one workflow."""
    result = await conn.execute(
        select(records.c.id).where(
            records.c[scope] == scope_id, records.c.status.in_(LIVE_STATUSES)
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


RecordSort = Literal["created_at", "updated_at", "phone"]


async def search_records(
    conn: AsyncConnection,
    workflow_id: int,
    *,
    status: str | None,
    phone: str | None,
    text: str | None,
    sort: RecordSort,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[list[RowMapping], int]:
    """One page of a workflow's records, ordered by ``sort`` (then id), and how many match in
    all. ``text`` matches part of the phone number or of the placeholders (case-insensitive)."""
    query = _filtered(
        select(records).where(records.c.workflow_id == workflow_id),
        status=status,
        phone=phone,
        external_id=None,
    )
    if text:
        query = query.where(
            or_(
                records.c.phone.contains(text, autoescape=True),
                cast(records.c.placeholders, Text).icontains(text, autoescape=True),
            )
        )
    total = await conn.execute(select(func.count()).select_from(query.subquery()))
    column = records.c[sort]
    order = (
        (column.desc(), records.c.id.desc()) if descending else (column.asc(), records.c.id.asc())
    )
    result = await conn.execute(query.order_by(*order).offset(offset).limit(limit))
    return list(result.mappings()), int(total.scalar_one())


async def attempts_of_records(
    conn: AsyncConnection, record_ids: Sequence[int], *, channel: str
) -> list[RowMapping]:
    """The attempts of one channel (``call``, ``sms``, ...) of these records, oldest first."""
    if not record_ids:
        return []
    result = await conn.execute(
        select(attempts)
        .where(one_of(conn, attempts.c.record_id, record_ids), attempts.c.channel == channel)
        .order_by(attempts.c.record_id, attempts.c.id)
    )
    return list(result.mappings())


class CallCounts(NamedTuple):
    records: int
    completed: int
    answered: int  # records with at least one answered call


async def call_counts(conn: AsyncConnection, workflow_ids: Sequence[int]) -> dict[int, CallCounts]:
    """Per workflow: its records, those completed, and those whose call was answered."""
    if not workflow_ids:
        return {}
    totals = await conn.execute(
        select(
            records.c.workflow_id,
            func.count(),
            func.sum(case((records.c.status == RecordStatus.COMPLETED.value, 1), else_=0)),
        )
        .where(one_of(conn, records.c.workflow_id, workflow_ids))
        .group_by(records.c.workflow_id)
    )
    answered: dict[int, int] = dict(
        (
            await conn.execute(
                select(attempts.c.workflow_id, func.count(attempts.c.record_id.distinct()))
                .where(
                    one_of(conn, attempts.c.workflow_id, workflow_ids),
                    attempts.c.channel == "call",
                    attempts.c.answered.is_(True),
                )
                .group_by(attempts.c.workflow_id)
            )
        ).all()
    )
    counts = dict.fromkeys(workflow_ids, CallCounts(0, 0, 0))
    for workflow_id, total, completed in totals:
        counts[workflow_id] = CallCounts(
            int(total), int(completed), int(answered.get(workflow_id, 0))
        )
    return counts


async def lock_record(
    conn: AsyncConnection, workspace_id: int, record_id: int
) -> RowMapping | None:
    """A record of this workspace, locked until the transaction ends."""
    result = await conn.execute(
        select(records)
        .where(records.c.id == record_id, records.c.workspace_id == workspace_id)
        .with_for_update()
    )
    return result.mappings().first()


async def set_dedup_key(conn: AsyncConnection, record_id: int, dedup_key: str | None) -> None:
    await conn.execute(update(records).where(records.c.id == record_id).values(dedup_key=dedup_key))


async def find_records_by_refs(
    conn: AsyncConnection,
    workspace_id: int,
    workflow_id: int,
    *,
    ids: Sequence[int] = (),
    phones: Sequence[str] = (),
    externals: Sequence[tuple[str, str]] = (),
) -> list[RowMapping]:
    """A workflow's records named by id, by primary phone or by (external provider, external
    id); locked."""
    named = [
        *([one_of(conn, records.c.id, ids)] if ids else []),
        *([one_of(conn, records.c.phone, phones)] if phones else []),
        *(
            and_(records.c.external_provider == provider, records.c.external_id == external_id)
            for provider, external_id in externals
        ),
    ]
    if not named:
        return []
    result = await conn.execute(
        select(
            records.c.id,
            records.c.phone,
            records.c.external_provider,
            records.c.external_id,
            records.c.status,
            records.c.final_outcome,
        )
        .where(
            records.c.workspace_id == workspace_id,
            records.c.workflow_id == workflow_id,
            or_(*named),
        )
        .order_by(records.c.id)
        .with_for_update()
    )
    return list(result.mappings())


async def find_records_by_value(
    conn: AsyncConnection,
    workspace_id: int,
    values: Sequence[str],
    *,
    column: str | None = None,
    meta_key: str | None = None,
) -> list[RowMapping]:
    """The workspace's records whose ``column`` (or ``meta[meta_key]`` as text) is one of
    ``values``, most recently updated first; ``matched`` holds the value compared."""
    target = records.c[column] if column is not None else records.c.meta[meta_key].as_string()
    result = await conn.execute(
        select(records, target.label("matched"))
        .where(records.c.workspace_id == workspace_id, one_of(conn, target, values))
        .order_by(records.c.updated_at.desc(), records.c.id.desc())
    )
    return list(result.mappings())


async def get_records(
    conn: AsyncConnection, workspace_id: int, ids: Sequence[int]
) -> dict[int, RowMapping]:
    """Records of this workspace by id (ids not found are left out)."""
    if not ids:
        return {}
    result = await conn.execute(
        select(records).where(
            records.c.workspace_id == workspace_id, one_of(conn, records.c.id, ids)
        )
    )
    return {row["id"]: row for row in result.mappings()}


async def find_case_records(
    conn: AsyncConnection,
    workspace_id: int,
    *,
    case_ids: Sequence[str] = (),
    phones: Sequence[str] = (),
    workflow_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None,
) -> list[RowMapping]:
    """The workspace's records whose case id or primary phone is one of these (either
    matches), optionally of one workflow and created in ``[since, until)``; newest first, at
    most ``limit`` (None: all), each with its workflow's ``workflow_key`` and
    ``workflow_name``."""
    named = [
        *([one_of(conn, records.c.case_id, case_ids)] if case_ids else []),
        *([one_of(conn, records.c.phone, phones)] if phones else []),
    ]
    if not named:
        return []
    conditions = [records.c.workspace_id == workspace_id, or_(*named)]
    if workflow_id is not None:
        conditions.append(records.c.workflow_id == workflow_id)
    if since is not None:
        conditions.append(records.c.created_at >= since)
    if until is not None:
        conditions.append(records.c.created_at < until)
    result = await conn.execute(
        select(
            records,
            workflows.c.key.label("workflow_key"),
            workflows.c.name.label("workflow_name"),
        )
        .join(workflows, workflows.c.id == records.c.workflow_id)
        .where(*conditions)
        .order_by(records.c.created_at.desc(), records.c.id.desc())
        .limit(limit)
    )
    return list(result.mappings())
