"""Native HTTP endpoints for the do-not-call list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.engine import RowMapping

from dialflow.dnc import service
from dialflow.http import DbDep, WorkspaceDep
from dialflow.pagination import MAX_PAGE_SIZE

router = APIRouter(tags=["do-not-call"])


class DncIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"phone": "2125551234", "reason": "asked not to be called", "expires_at": None}
            ]
        },
    )

    phone: str = Field(description="Any format; stored as E.164.")
    reason: str | None = Field(None, max_length=200)
    expires_at: AwareDatetime | None = Field(None, description="Absent = never expires.")


class DncOut(BaseModel):
    phone: str
    reason: str | None
    expires_at: datetime | None
    created_at: datetime


class DncPageOut(BaseModel):
    items: list[DncOut]
    next_cursor: str | None


def _out(row: RowMapping) -> DncOut:
    return DncOut(
        phone=row["phone"],
        reason=row["reason"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )


@router.post(
    "/v1/dnc",
    status_code=201,
    summary="Add a number to the do-not-call list",
    description="Records with this number are refused at intake (`suppressed`) and are never "
    "dialed while the entry lasts. Adding an existing number updates its reason and expiry.",
)
async def add_number(body: DncIn, db: DbDep, workspace_id: WorkspaceDep) -> DncOut:
    row = await service.add_number(
        db, workspace_id, body.phone, reason=body.reason, expires_at=body.expires_at
    )
    return _out(row)


@router.get("/v1/dnc", summary="List the do-not-call list")
async def list_numbers(
    db: DbDep,
    workspace_id: WorkspaceDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> DncPageOut:
    page = await service.list_numbers(db, workspace_id, cursor=cursor, limit=limit)
    return DncPageOut(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.delete("/v1/dnc/{phone}", status_code=204, summary="Remove a number from the list")
async def remove_number(phone: str, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    await service.remove_number(db, workspace_id, phone)
    return Response(status_code=204)
