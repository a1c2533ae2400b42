"""Workspace and key operations, shared by the CLI, the HTTP API and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialflow.auth.keys import generate_key, hash_key
from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.errors import NotFound, Unauthorized
from dialflow.workspaces import repository


@dataclass(frozen=True, slots=True)
class CreatedWorkspace:
    workspace_id: int
    api_key: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    prefix: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


async def create_workspace(db: Database, name: str) -> CreatedWorkspace:
    """Create a workspace and its first API key (returned once, in plaintext)."""
    now = utcnow()
    key = generate_key()
    async with db.write() as conn:
        workspace_id = await repository.insert_workspace(conn, name=name, now=now)
        await repository.insert_key(
            conn,
            workspace_id=workspace_id,
            name="default",
            prefix=key.prefix,
            key_hash=key.key_hash,
            now=now,
        )
    return CreatedWorkspace(workspace_id=workspace_id, api_key=key.plaintext)


async def has_any_workspace(db: Database) -> bool:
    async with db.read() as conn:
        return await repository.count_workspaces(conn) > 0


async def create_key(db: Database, workspace_id: int, name: str = "") -> str:
    key = generate_key()
    async with db.write() as conn:
        if await repository.get_workspace(conn, workspace_id) is None:
            raise NotFound(f"workspace {workspace_id} does not exist")
        await repository.insert_key(
            conn,
            workspace_id=workspace_id,
            name=name,
            prefix=key.prefix,
            key_hash=key.key_hash,
            now=utcnow(),
        )
    return key.plaintext


async def list_keys(db: Database, workspace_id: int) -> list[KeyInfo]:
    async with db.read() as conn:
        if await repository.get_workspace(conn, workspace_id) is None:
            raise NotFound(f"workspace {workspace_id} does not exist")
        rows = await repository.list_keys(conn, workspace_id)
    return [KeyInfo(r["prefix"], r["name"], r["created_at"], r["revoked_at"]) for r in rows]


async def revoke_key(db: Database, prefix: str) -> None:
    async with db.write() as conn:
        if not await repository.revoke_key(conn, prefix=prefix, now=utcnow()):
            raise NotFound(f"no active key with prefix {prefix!r}")


async def authenticate(db: Database, plaintext: str | None) -> int:
    """The workspace id a key belongs to; any missing, unknown or revoked key is a 401."""
    if not plaintext:
        raise Unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' or an 'x-api-key' header",
            code="missing_api_key",
        )
    async with db.read() as conn:
        row = await repository.find_active_key(conn, hash_key(plaintext.strip()))
    if row is None:
        raise Unauthorized("the API key is unknown or has been revoked", code="invalid_api_key")
    return int(row["workspace_id"])
