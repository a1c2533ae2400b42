"""Workflow templates and workflow tasks: dialflow workflows, shown Airudder's way.

A **workflow template** is a draft workflow (designed, never run); ``workflow_template_id`` is
its integer id, as Airudder's is an integer. Creating a **workflow task** copies the template's
definition into a new, active workflow named ``name`` that completes by itself at ``end_time``.
Every workflow that is not a draft is a task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy.engine import RowMapping

from dialflow.dialects.airudder.shapes import CALL, TASK_STATUS, node_row, time_text
from dialflow.domain.workflows import WorkflowStatus
from dialflow.errors import BadRequest
from dialflow.workflows.definition import WorkflowCreate, WorkflowDefinition
from dialflow.workflows.service import WorkflowSummary

TEMPLATE_STATUSES: Final = (WorkflowStatus.DRAFT,)
TASK_STATUSES: Final = tuple(status for status in WorkflowStatus if status not in TEMPLATE_STATUSES)


def task_create(template: RowMapping, name: str, end_time: datetime) -> WorkflowCreate:
    """The active workflow a task of ``template`` is: its definition, ending at ``end_time``."""
    try:
        return WorkflowCreate.model_validate(
            {
                "name": name,
                "status": WorkflowStatus.ACTIVE.value,
                "definition": {**template["definition"], "ends_at": end_time},
            }
        )
    except ValidationError as exc:
        raise BadRequest(
            "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            ),
            code="invalid_parameter",
        ) from None


def template_json(summary: WorkflowSummary) -> dict[str, Any]:
    workflow = summary.workflow
    return {
        "workflow_template_id": workflow.id,
        "workflow_template_name": workflow.name,
        "create_time": time_text(workflow.created_at),
        "nodes": [
            {"node_name": step.id, "node_type": step.type} for step in workflow.definition.steps
        ],
    }


def task_json(summary: WorkflowSummary) -> dict[str, Any]:
    """A task with its case counts: ``total`` cases, ``finished`` ones, ``connected`` ones
    (with at least one answered call)."""
    workflow, counts = summary.workflow, summary.counts
    return {
        "workflow_id": workflow.key,
        "workflow_name": workflow.name,
        "status": TASK_STATUS[workflow.status],
        "create_time": time_text(workflow.created_at),
        "update_time": time_text(workflow.updated_at),
        "end_time": time_text(workflow.definition.ends_at),
        "total": counts.records,
        "finished": counts.completed,
        "connected": counts.answered,
    }


def _definition(task: RowMapping) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate(task["definition"])


def subtasks(task: RowMapping) -> list[dict[str, Any]]:
    """The task's node tasks (its steps, in order), each with the task's status."""
    status = TASK_STATUS[task["status"]]
    return [
        {**node_row(task["key"], step.id, step.type), "status": status}
        for step in _definition(task).steps
    ]


def outbound_tasks(task: RowMapping) -> list[dict[str, Any]]:
    """The task's outbound (dialer) task, when it has call nodes: one, named like the task."""
    calls = [
        node_row(task["key"], step.id, step.type)
        for step in _definition(task).steps
        if step.type == CALL
    ]
    if not calls:
        return []
    return [
        {
            "task_id": task["key"],
            "task_name": task["name"],
            "workflow_id": task["key"],
            "workflow_name": task["name"],
            "status": TASK_STATUS[task["status"]],
            "create_time": time_text(task["created_at"]),
            "nodetasks": calls,
        }
    ]


def default_region(task: RowMapping) -> str:
    """The region the task reads numbers without a country code in."""
    return _definition(task).default_region
