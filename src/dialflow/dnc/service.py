"""Do-not-call operations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import RowMapping

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.dnc import repository
from dialflow.domain.errors import FieldErrors
from dialflow.domain.phones import normalize_phone
from dialflow.errors import BadRequest, NotFound
from dialflow.pagination import Page, decode_cursor, rows_page


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except FieldErrors as exc:
        raise BadRequest(str(exc), code="invalid_phone") from None


async def add_number(
    db: Database,
    workspace_id: int,
    phone: str,
    *,
    reason: str | None = None,
    expires_at: datetime | None = None,
) -> RowMapping:
    number = _phone(phone)
    async with db.write() as conn:
        await repository.upsert(
            conn,
            workspace_id=workspace_id,
            phone=number,
            reason=reason,
            expires_at=expires_at,
            now=utcnow(),
        )
        row = await repository.find(conn, workspace_id, number)
    assert row is not None
    return row


async def remove_number(db: Database, workspace_id: int, phone: str) -> None:
    async with db.write() as conn:
        if not await repository.remove(conn, workspace_id, _phone(phone)):
            raise NotFound(f"{phone} is not on the do-not-call list", code="dnc_not_found")


async def list_numbers(
    db: Database, workspace_id: int, *, cursor: str | None, limit: int
) -> Page[RowMapping]:
    async with db.read() as conn:
        rows = await repository.list_entries(
            conn, workspace_id, after_id=decode_cursor(cursor), limit=limit
        )
    return rows_page(rows, limit)
