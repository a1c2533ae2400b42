"""Migrations on both databases: up, matching the tables, and back down."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select

from dialflow.clock import utcnow
from dialflow.db import migrate
from dialflow.db.engine import Database, sync_url
from dialflow.db.tables import metadata, record_logs, records
from dialflow.ids import next_id
from dialflow.intake.service import ingest
from dialflow.workflows.definition import WorkflowCreate
from dialflow.workflows.service import create_workflow
from dialflow.workspaces.service import create_workspace
from tests.conftest import create_postgres_database, drop_postgres_database

HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


def _check_round_trip(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.current_revision(url) == HEAD
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            assert diff == [], f"migrations and tables.py disagree: {diff}"
            assert {"records", "workflows", "lists", "api_keys"} <= set(
                inspect(conn).get_table_names()
            )
    finally:
        engine.dispose()
    migrate.downgrade(url)
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)
    assert migrate.current_revision(url) == HEAD


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, not migrated, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/nested/dir/m.db"
        return
    admin_url = request.getfixturevalue("postgres_server")
    url = create_postgres_database(admin_url)
    yield url
    drop_postgres_database(admin_url, url)


def test_migrations_round_trip(empty_url: str) -> None:
    _check_round_trip(empty_url)


async def _store_a_record_with_history(url: str) -> int:
    db = Database(url)
    try:
        workspace = await create_workspace(db, "kept")
        workflow = await create_workflow(
            db, workspace.workspace_id, WorkflowCreate(name="w", status="active")
        )
        outcome = await ingest(
            db,
            workspace_id=workspace.workspace_id,
            workflow_ref=workflow.id,
            records=[{"phone": "2125550100"}],
            max_records=10,
        )
        record_id = outcome.results[0].record_id
        assert record_id is not None
        async with db.write() as conn:  # a child row referencing the record
            await conn.execute(
                record_logs.insert().values(
                    id=next_id(), record_id=record_id, at=utcnow(), kind="note", message="kept"
                )
            )
        return record_id
    finally:
        await db.dispose()


def test_0008_keeps_records_and_their_history(empty_url: str) -> None:
    """0008 (down and up again) rebuilds ``records`` on SQLite while other tables reference
    it: the rows stay."""
    migrate.upgrade(empty_url)
    record_id = asyncio.run(_store_a_record_with_history(empty_url))
    migrate.downgrade(empty_url, "0007")
    migrate.upgrade(empty_url)
    engine = create_engine(sync_url(empty_url))
    try:
        with engine.connect() as conn:
            assert conn.execute(select(records.c.id)).scalars().all() == [record_id]
            logs = conn.execute(
                select(record_logs.c.message).where(record_logs.c.record_id == record_id)
            )
            assert logs.scalars().all() == ["kept"]
    finally:
        engine.dispose()
