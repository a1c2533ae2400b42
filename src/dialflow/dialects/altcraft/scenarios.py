"""Altcraft scenarios are dialflow workflows: listed, activated and deactivated through the
workflow services.

A scenario's ``list_id`` (its profile database) is the workspace, which is where profiles are
matched. Its ``nodes`` are a start node followed by the workflow's steps. ``mode`` says what a
profile sent again does: ``skip`` (it is not entered twice; its record is updated, or a finished
one starts over) unless the workflow deduplicates nothing, where every import is a new entry
(``parallel``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dialflow.db.engine import Database
from dialflow.domain.workflows import WorkflowAction, WorkflowStatus
from dialflow.pagination import encode_cursor
from dialflow.records import service as records_service
from dialflow.workflows import service as workflows_service
from dialflow.workflows.definition import WorkflowOut

MAX_LIMIT = 1000
# The final outcome of the records taken out by ``activate`` with ``skip_profiles``.
SKIPPED_ON_ACTIVATION = "workflow_cleared"
_NODE_TYPES = {
    "call": "campaign",
    "sms": "campaign",
    "email": "campaign",
    "wait": "delay",
    "webhook": "api_call",
}


class ListParams(BaseModel):
    """``workflows/list``; the access group, tag and attribute filters have nothing to filter
    in dialflow and are accepted as no-ops."""

    model_config = ConfigDict(extra="ignore")

    from_id: int = Field(default=1, ge=1)
    limit: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT)


class ScenarioParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    skip_profiles: bool = False


def scenario(workflow: WorkflowOut, workspace_id: int) -> dict[str, Any]:
    definition = workflow.definition
    nodes: list[dict[str, Any]] = [
        {"name": "DEFAULT_START_NODE_TITLE", "type": "start", "node_id": 0}
    ]
    nodes += [
        {"name": step.name or step.id, "type": _NODE_TYPES[step.type], "node_id": number}
        for number, step in enumerate(definition.steps, start=1)
    ]
    return {
        "id": workflow.id,
        "name": workflow.name,
        "list_id": workspace_id,
        "is_active": workflow.status is WorkflowStatus.ACTIVE,
        "ui_tags": [],
        "mode": "parallel" if definition.dedup == "none" else "skip",
        "groups": [],
        "nodes": nodes,
    }


async def list_scenarios(db: Database, workspace_id: int, params: ListParams) -> dict[str, Any]:
    """The workspace's workflows from ``from_id`` on, by id; ``next_from_id`` is null on the
    last page."""
    page = await workflows_service.list_workflows(
        db, workspace_id, cursor=encode_cursor(params.from_id - 1), limit=params.limit
    )
    total = await workflows_service.count_workflows(db, workspace_id)
    return {
        "data": [scenario(workflow, workspace_id) for workflow in page.items],
        "next_from_id": page.items[-1].id + 1 if page.next_cursor is not None else None,
        "total": total,
    }


async def activate(db: Database, workspace_id: int, params: ScenarioParams) -> None:
    """Activate; with ``skip_profiles`` the profiles still in the scenario are taken out first
    (cancelled), so the scenario starts empty. Nothing is cleared if it cannot be activated."""
    if params.skip_profiles:
        workflow = await workflows_service.get_workflow(db, workspace_id, params.id)
        if WorkflowAction.ACTIVATE in workflow.allowed_actions:
            await records_service.cancel_workflow_records(
                db, workspace_id, params.id, reason=SKIPPED_ON_ACTIVATION
            )
    await workflows_service.apply_action(db, workspace_id, params.id, WorkflowAction.ACTIVATE)


async def deactivate(db: Database, workspace_id: int, params: ScenarioParams) -> None:
    """Deactivate: the workflow pauses; calls in flight finish and its records wait."""
    await workflows_service.apply_action(db, workspace_id, params.id, WorkflowAction.PAUSE)
