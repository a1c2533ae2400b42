"""Native HTTP endpoints for workflows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dialflow.domain.workflows import WorkflowAction, WorkflowStatus
from dialflow.http import DbDep, WorkspaceDep
from dialflow.pagination import MAX_PAGE_SIZE
from dialflow.workflows import service
from dialflow.workflows.definition import WorkflowCreate, WorkflowOut, WorkflowUpdate

router = APIRouter(tags=["workflows"])


class WorkflowPageOut(BaseModel):
    items: list[WorkflowOut]
    next_cursor: str | None


@router.post("/v1/workflows", status_code=201, summary="Create a workflow")
async def create_workflow(
    body: WorkflowCreate, db: DbDep, workspace_id: WorkspaceDep
) -> WorkflowOut:
    return await service.create_workflow(db, workspace_id, body)


@router.get("/v1/workflows", summary="List workflows")
async def list_workflows(
    db: DbDep,
    workspace_id: WorkspaceDep,
    status: WorkflowStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> WorkflowPageOut:
    page = await service.list_workflows(db, workspace_id, status=status, cursor=cursor, limit=limit)
    return WorkflowPageOut(items=page.items, next_cursor=page.next_cursor)


@router.get(
    "/v1/workflows/{workflow}",
    summary="Get a workflow",
    description="`workflow` is the integer id or the public key (like `A1B2C3`).",
)
async def get_workflow(workflow: str, db: DbDep, workspace_id: WorkspaceDep) -> WorkflowOut:
    return await service.get_workflow(db, workspace_id, workflow)


@router.patch(
    "/v1/workflows/{workflow}",
    summary="Update a workflow",
    description="Renames it and/or replaces its whole definition; not once stopped or completed.",
)
async def update_workflow(
    workflow: str, body: WorkflowUpdate, db: DbDep, workspace_id: WorkspaceDep
) -> WorkflowOut:
    return await service.update_workflow(db, workspace_id, workflow, body)


class WorkflowStatsOut(BaseModel):
    total: int
    by_status: dict[str, int] = Field(description="pending, in_progress, completed, cancelled")
    by_outcome: dict[str, int] = Field(
        description="Final outcome of finished records (an end reason such as call_transferred, "
        "or max_attempts, no_phone_left, marked_complete, ...); `open` for the unfinished."
    )


@router.get(
    "/v1/workflows/{workflow}/stats",
    summary="A workflow's counts",
    description="Both breakdowns add up to `total`, the workflow's number of records.",
)
async def workflow_stats(workflow: str, db: DbDep, workspace_id: WorkspaceDep) -> WorkflowStatsOut:
    stats = await service.workflow_stats(db, workspace_id, workflow)
    return WorkflowStatsOut(
        total=stats.total, by_status=stats.by_status, by_outcome=stats.by_outcome
    )


def _action_route(action: WorkflowAction) -> None:
    async def act(workflow: str, db: DbDep, workspace_id: WorkspaceDep) -> WorkflowOut:
        return await service.apply_action(db, workspace_id, workflow, action)

    router.add_api_route(
        f"/v1/workflows/{{workflow}}/{action.value}",
        act,
        methods=["POST"],
        summary=f"{action.value.capitalize()} a workflow",
        description="draft → active ⇄ paused → stopped; active or paused → completed. "
        "A transition that is not allowed answers 409 naming the allowed actions.",
        operation_id=f"{action.value}_workflow",
    )


for _action in WorkflowAction:
    _action_route(_action)
