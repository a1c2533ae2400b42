"""The SQLite set-up of ``Database``: every connection's pragmas, and one writer connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db import migrate
from dialflow.db.engine import Database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    migrate.upgrade(url)
    database = Database(url)
    yield database
    await database.dispose()


async def _pragma(conn: AsyncConnection, name: str) -> object:
    return (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()


async def _driver_connection(conn: AsyncConnection) -> object:
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def test_writes_share_one_connection_with_a_large_cache(sqlite_db: Database) -> None:
    seen = []
    for _ in range(3):
        async with sqlite_db.write() as conn:
            seen.append(await _driver_connection(conn))
            assert await _pragma(conn, "cache_size") == -65_536
            assert await _pragma(conn, "wal_autocheckpoint") == 16_384
            assert await _pragma(conn, "journal_mode") == "wal"
            assert await _pragma(conn, "foreign_keys") == 1
            assert await _pragma(conn, "synchronous") == 1  # NORMAL
    assert seen[0] is seen[1] is seen[2]


async def test_readers_keep_the_default_cache_and_never_get_the_writer(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.write() as writer:
        writer_driver = await _driver_connection(writer)
        # A read while the write is open: a connection of its own, seeing the last commit.
        async with sqlite_db.read() as reader:
            assert await _driver_connection(reader) is not writer_driver
            assert await _pragma(reader, "cache_size") == -2_000  # SQLite's default
            assert await _pragma(reader, "wal_autocheckpoint") == 16_384
            assert await _pragma(reader, "busy_timeout") == 30_000


async def test_a_failed_write_rolls_back_and_frees_the_writer(sqlite_db: Database) -> None:
    async def count() -> int:
        async with sqlite_db.read() as conn:
            result = await conn.exec_driver_sql("SELECT count(*) FROM workspaces")
            return int(result.scalar_one())

    async def insert_then_fail() -> None:
        async with sqlite_db.write() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO workspaces (name, created_at) VALUES ('gone', '2026-12-06')"
            )
            raise RuntimeError("boom")

    before = await count()
    with pytest.raises(RuntimeError, match="boom"):
        await insert_then_fail()
    assert await count() == before
    async with sqlite_db.write() as conn:  # the one writer connection is usable again
        await conn.exec_driver_sql(
            "INSERT INTO workspaces (name, created_at) VALUES ('kept', '2026-12-06')"
        )
    assert await count() == before + 1
