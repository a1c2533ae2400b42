"""Native HTTP endpoints for lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import RowMapping

from dialflow.calls.schemas import ErrorOut
from dialflow.errors import NotFound
from dialflow.http import DbDep, WorkspaceDep
from dialflow.lists import service
from dialflow.lists.repository import COUNT_COLUMNS
from dialflow.pagination import MAX_PAGE_SIZE, parse_id

router = APIRouter(tags=["lists"])


class ListOut(BaseModel):
    id: str
    workflow_id: int
    name: str | None
    source: str
    status: str = Field(description="open or cancelled")
    counts: dict[str, int] = Field(
        description="total, then accepted, updated, duplicate, invalid, suppressed and failed, "
        "which add up to total."
    )
    created_at: datetime
    cancelled_at: datetime | None


class ListPageOut(BaseModel):
    items: list[ListOut]
    next_cursor: str | None


class CancelOut(BaseModel):
    list: ListOut
    cancelled_records: int


def list_out(row: RowMapping) -> ListOut:
    counts = {name: int(row[name]) for name in COUNT_COLUMNS}
    counts["failed"] = int(row["total"]) - sum(counts.values())
    counts["total"] = int(row["total"])
    return ListOut(
        id=str(row["id"]),
        workflow_id=row["workflow_id"],
        name=row["name"],
        source=row["source"],
        status=row["status"],
        counts=counts,
        created_at=row["created_at"],
        cancelled_at=row["cancelled_at"],
    )


def _list_id(value: str) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound(f"list {value} not found", code="list_not_found")
    return parsed


@router.get("/v1/workflows/{workflow}/lists", summary="List a workflow's lists")
async def list_lists(
    workflow: str,
    db: DbDep,
    workspace_id: WorkspaceDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> ListPageOut:
    page = await service.list_lists(db, workspace_id, workflow, cursor=cursor, limit=limit)
    return ListPageOut(items=[list_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/v1/lists/{list_id}", summary="Get a list with its counts")
async def get_list(list_id: str, db: DbDep, workspace_id: WorkspaceDep) -> ListOut:
    return list_out(await service.get_list(db, workspace_id, _list_id(list_id)))


@router.post(
    "/v1/lists/{list_id}/cancel",
    summary="Cancel a list",
    description="Every record of the list that has not finished is cancelled and not called again.",
)
async def cancel_list(list_id: str, db: DbDep, workspace_id: WorkspaceDep) -> CancelOut:
    row, cancelled = await service.cancel_list(db, workspace_id, _list_id(list_id))
    return CancelOut(list=list_out(row), cancelled_records=cancelled)


class ListStatusOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "list_id": "382830616739958784",
                    "workflow_id": 1,
                    "list_status": "open",
                    "total": 3,
                    "by_status": {"pending": 1, "in_progress": 0, "completed": 2, "cancelled": 0},
                    "by_outcome": {"open": 1, "call_transferred": 1, "max_attempts": 1},
                    "completed": False,
                }
            ]
        }
    )

    list_id: str
    workflow_id: int
    list_status: str = Field(description="The list's own status: open or cancelled.")
    total: int = Field(description="The records now in the list.")
    by_status: dict[str, int] = Field(
        description="pending, in_progress, completed, cancelled (every status, zeros included); "
        "adds up to `total`."
    )
    by_outcome: dict[str, int] = Field(
        description="Final outcome of finished records (call_transferred, max_attempts, "
        "list_cancelled, marked_complete, ...); `open` for the unfinished. Adds up to `total`."
    )
    completed: bool = Field(
        description="Every record of the list is terminal (completed or cancelled)."
    )


@router.get(
    "/v1/lists/{list_id}/status",
    summary="A list's progress",
    description="How far the list's records have got: counts by record status and by final "
    "outcome, each adding up to `total`, and `completed` once every record is terminal. "
    "(`GET /v1/lists/{id}` gives the intake counts instead: accepted, invalid, ...). A record "
    "updated or restarted by a later submission moves to that submission's list.",
    response_model=ListStatusOut,
    responses={404: {"model": ErrorOut, "description": "No such list in this workspace."}},
)
async def list_status(list_id: str, db: DbDep, workspace_id: WorkspaceDep) -> ListStatusOut:
    status = await service.list_status(db, workspace_id, _list_id(list_id))
    return ListStatusOut(
        list_id=str(status.list["id"]),
        workflow_id=status.list["workflow_id"],
        list_status=status.list["status"],
        total=status.total,
        by_status=status.by_status,
        by_outcome=status.by_outcome,
        completed=status.completed,
    )
