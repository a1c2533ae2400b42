"""Migrations on both databases: up, matching the tables, and back down."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from dialflow.db import migrate
from dialflow.db.engine import sync_url
from dialflow.db.tables import metadata
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


def test_sqlite_migrations_round_trip(tmp_path: pytest.TempPathFactory) -> None:
    _check_round_trip(f"sqlite:///{tmp_path}/nested/dir/m.db")


def test_postgres_migrations_round_trip(postgres_server: str) -> None:
    url = create_postgres_database(postgres_server)
    try:
        _check_round_trip(url)
    finally:
        drop_postgres_database(postgres_server, url)
