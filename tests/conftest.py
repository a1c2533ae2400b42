"""Real databases for every test: a SQLite file and a PostgreSQL database, both migrated.

PostgreSQL comes from DIALFLOW_TEST_POSTGRES_URL (default: the local server). Outside CI a
missing server skips the PostgreSQL half with the reason; with CI=true it fails instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from dialflow.app import create_app
from dialflow.db import migrate
from dialflow.db.engine import Database
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


@pytest.fixture
async def tenant(db: Database, settings: Settings) -> AsyncIterator[Tenant]:
    created = await create_workspace(db, "test")
    app = create_app(settings, db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://dialflow.test",
        headers={"Authorization": f"Bearer {created.api_key}"},
    ) as client:
        yield Tenant(created.workspace_id, created.api_key, client)


async def make_workflow(client: httpx.AsyncClient, **definition: object) -> dict[str, object]:
    """An active workflow with the given definition fields."""
    response = await client.post(
        "/v1/workflows",
        json={"name": "Test workflow", "status": "active", "definition": definition},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body
