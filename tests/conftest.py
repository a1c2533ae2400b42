"""Real databases for every test: a SQLite file and a PostgreSQL database, both migrated.

PostgreSQL comes from DIALFLOW_TEST_POSTGRES_URL (default: the local server). Outside CI a
missing server skips the PostgreSQL half with the reason; with CI=true it fails instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from dialflow.app import create_app
from dialflow.db import migrate
from dialflow.db.engine import Database
from dialflow.db.tables import records, workflows
from dialflow.settings import Settings
from dialflow.workspaces.service import create_workspace

POSTGRES_ADMIN_URL = os.environ.get(
    "DIALFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _postgres_unavailable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable ({exc.__class__.__name__})"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server (fail in CI, skip elsewhere)."""
    reason = _postgres_unavailable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason}; CI must run the PostgreSQL suite")
        pytest.skip(f"{reason}; set DIALFLOW_TEST_POSTGRES_URL to run the PostgreSQL suite")
    return POSTGRES_ADMIN_URL


def create_postgres_database(admin_url: str) -> str:
    name = f"dialflow_test_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated database of each kind, shared by the session's tests."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "dialflow.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield url
        return
    admin_url = request.getfixturevalue("postgres_server")
    url = create_postgres_database(admin_url)
    migrate.upgrade(url)
    yield url
    drop_postgres_database(admin_url, url)


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Webhook receivers in tests listen on loopback.
    return Settings(database_url=database_url, webhook_allow_private=True)


@dataclass(frozen=True)
class Tenant:
    """A fresh workspace per test: tests never see each other's rows."""

    workspace_id: int
    api_key: str
    client: httpx.AsyncClient


@asynccontextmanager
async def open_tenant(
    db: Database,
    settings: Settings,
    name: str,
    *,
    key_as: Literal["bearer", "x-api-key"] = "bearer",
) -> AsyncIterator[Tenant]:
    """A new workspace, and a client of the app that sends its key (``Authorization: Bearer``
    or ``x-api-key``)."""
    created = await create_workspace(db, name)
    headers = (
        {"Authorization": f"Bearer {created.api_key}"}
        if key_as == "bearer"
        else {"x-api-key": created.api_key}
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, db)),
        base_url="http://dialflow.test",
        headers=headers,
    ) as client:
        yield Tenant(created.workspace_id, created.api_key, client)


@pytest.fixture
async def tenant(db: Database, settings: Settings) -> AsyncIterator[Tenant]:
    async with open_tenant(db, settings, "test") as opened:
        yield opened


async def make_workflow(client: httpx.AsyncClient, **definition: object) -> dict[str, object]:
    """An active workflow with the given definition fields."""
    response = await client.post(
        "/v1/workflows",
        json={"name": "Test workflow", "status": "active", "definition": definition},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def workflow_records(db: Database, key: str) -> list[dict[str, Any]]:
    """The records of the workflow with this key, oldest first, as stored."""
    async with db.read() as conn:
        rows = await conn.execute(
            select(records)
            .join(workflows, workflows.c.id == records.c.workflow_id)
            .where(workflows.c.key == key)
            .order_by(records.c.created_at, records.c.id)
        )
        return [dict(row) for row in rows.mappings()]


FailInserts = Callable[[str, str], Awaitable[None]]


@pytest.fixture
async def fail_inserts(db: Database) -> AsyncIterator[FailInserts]:
    """Real database triggers: ``await fail_inserts("records", "NEW.phone = '+1...'")`` makes
    every insert into the table that meets the SQL condition fail, until the test ends."""
    made: list[str] = []

    async def make(table: str, condition: str) -> None:
        name = f"fail_{table}"
        async with db.write() as conn:
            if db.is_sqlite:
                await conn.exec_driver_sql(
                    f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {condition} "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            else:
                await conn.exec_driver_sql(
                    f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF {condition} THEN RAISE EXCEPTION 'injected failure'; END IF; "
                    "RETURN NEW; END $$"
                )
                await conn.exec_driver_sql(
                    f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
        made.append(table)

    yield make
    async with db.write() as conn:
        for table in made:
            name = f"fail_{table}"
            if db.is_sqlite:
                await conn.exec_driver_sql(f"DROP TRIGGER {name}")
            else:
                await conn.exec_driver_sql(f"DROP TRIGGER {name} ON {table}")
                await conn.exec_driver_sql(f"DROP FUNCTION {name}()")
