"""``execute_many`` and ``update_each`` against real databases: what they store must be what
SQLAlchemy's own executemany stores, for every column type the schema uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, insert, select

from dialflow.db.engine import Database
from dialflow.db.sql import copy_rows, execute_many, one_of, update_each
from dialflow.db.types import Json, UtcDateTime
from tests.conftest import create_postgres_database, drop_postgres_database

metadata = MetaData()
samples = Table(
    "sql_helper_samples",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("label", String(200)),
    Column("count", Integer, nullable=False, server_default="7"),
    Column("doc", Json),
    Column("at", UtcDateTime),
)

NOW = datetime(2026, 3, 8, 6, 59, 59, 123456, tzinfo=UTC)
VALUES: list[dict[str, Any]] = [
    {"label": "plain", "doc": {"a": 1, "b": [1, 2, None]}, "at": NOW},
    {"label": "100% 'quoted' %(name)s ? \\", "doc": {"k": "ü € 😀"}, "at": NOW + timedelta(days=1)},
    {"label": None, "doc": None, "at": None},
    {"label": "", "doc": [], "at": NOW.astimezone(UTC) - timedelta(microseconds=1)},
    {"label": "json scalar", "doc": "just a string", "at": NOW},
]


@pytest.fixture
async def table(db: Database) -> AsyncIterator[Table]:
    async with db.write() as conn:
        await conn.run_sync(metadata.create_all)
    yield samples
    async with db.write() as conn:
        await conn.run_sync(metadata.drop_all)


async def stored(db: Database, ids: list[int]) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(samples.c.label, samples.c.count, samples.c.doc, samples.c.at)
            .where(samples.c.id.in_(ids))
            .order_by(samples.c.id)
        )
        return [dict(row) for row in rows.mappings()]


async def test_execute_many_stores_what_sqlalchemy_stores(db: Database, table: Table) -> None:
    ours = [{"id": 1000 + i, **values} for i, values in enumerate(VALUES)]
    theirs = [{"id": 2000 + i, **values} for i, values in enumerate(VALUES)]
    async with db.write() as conn:
        await execute_many(conn, insert(table), ours)
        await conn.execute(insert(table), theirs)
    mine = await stored(db, [row["id"] for row in ours])
    reference = await stored(db, [row["id"] for row in theirs])
    assert mine == reference
    assert len(mine) == len(VALUES)
    assert [row["label"] for row in mine] == [values["label"] for values in VALUES]
    assert [row["at"] for row in mine] == [values["at"] for values in VALUES]
    assert {row["count"] for row in mine} == {7}  # the server default of a column left out


async def test_update_each_writes_each_row_its_own_values_under_a_fixed_condition(
    db: Database, table: Table
) -> None:
    async with db.write() as conn:
        await execute_many(conn, insert(table), [{"id": i, "label": "old"} for i in range(1, 5)])
        await execute_many(conn, insert(table), [{"id": 5, "label": "other"}])
        await update_each(
            conn,
            table,
            [
                {"_id": i, "label": f"new {i}", "doc": [{"i": i}], "at": NOW + timedelta(hours=i)}
                for i in range(1, 6)
            ],
            match={"_id": "id"},
            where=(table.c.label == "old",),
        )
    rows = await stored(db, [1, 2, 3, 4, 5])
    assert [row["label"] for row in rows] == ["new 1", "new 2", "new 3", "new 4", "other"]
    # A JSON list is one value, not an array dimension.
    assert [row["doc"] for row in rows] == [[{"i": 1}], [{"i": 2}], [{"i": 3}], [{"i": 4}], None]
    assert rows[0]["at"] == NOW + timedelta(hours=1)


async def test_nothing_to_write_runs_nothing(db: Database, table: Table) -> None:
    async with db.write() as conn:
        await execute_many(conn, insert(table), [])
    async with db.read() as conn:
        assert (await conn.execute(select(samples))).all() == []


async def test_a_python_side_column_default_is_refused_not_skipped(db: Database) -> None:
    table = Table(
        "sql_helper_defaults",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("label", String(20), default="computed"),
    )
    async with db.write() as conn:
        with pytest.raises(ValueError, match="'label'"):
            await execute_many(conn, insert(table), [{"id": 1}])


LABELS = ["plain", "", "100% 'quoted' %(name)s ? \\", "ü € 😀", None]


@pytest.mark.parametrize(
    ("column", "wanted", "expected"),
    [
        ("id", [2, 4, 99], {2, 4}),
        ("id", [2**62 + 3, 3, 2**63 - 1], {3}),  # 63-bit ids survive the JSON text
        ("label", ["plain", "", "100% 'quoted' %(name)s ? \\", "absent"], {1, 2, 3}),
        ("label", ["ü € 😀"], {4}),
    ],
)
async def test_one_of_finds_exactly_the_rows_holding_the_values(
    db: Database, table: Table, column: str, wanted: list[Any], expected: set[int]
) -> None:
    """One parameter on both databases (an array, a JSON array), the same rows as ``IN``."""
    async with db.write() as conn:
        await conn.execute(
            insert(table), [{"id": i, "label": label} for i, label in enumerate(LABELS, start=1)]
        )
    async with db.read() as conn:
        found = await conn.execute(select(table.c.id).where(one_of(conn, table.c[column], wanted)))
        assert set(found.scalars()) == expected
        nothing = await conn.execute(select(table.c.id).where(one_of(conn, table.c[column], [])))
        assert list(nothing.scalars()) == []


async def test_copy_rows_takes_json_as_encoded_text(postgres_server: str) -> None:
    """What intake hands COPY (PostgreSQL only): JSON columns already encoded. They are stored
    as the JSON they encode (an object, a list, a string scalar), not as JSON strings."""
    url = create_postgres_database(postgres_server)
    db = Database(url)
    try:
        async with db.write() as conn:
            await conn.run_sync(metadata.create_all)
        docs: list[Any] = [{"k": "ü € 😀", "n": [1, None]}, [], "just a string", None]
        rows = [
            (3000 + i, "copied", 1, None if doc is None else msgspec.json.encode(doc).decode(), NOW)
            for i, doc in enumerate(docs)
        ]
        async with db.write() as conn:
            await copy_rows(conn, samples, ["id", "label", "count", "doc", "at"], rows)
        assert [row["doc"] for row in await stored(db, [row[0] for row in rows])] == docs
    finally:
        await db.dispose()
        drop_postgres_database(postgres_server, url)
