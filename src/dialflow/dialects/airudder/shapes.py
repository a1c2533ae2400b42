"""Airudder's names for dialflow's objects, shared by the API answers and the notifications.

* A **workflow task** is a workflow; its ``workflow_id`` is the workflow's key (``K7QF3M``).
* A **node task** (subtask) is one step of the workflow: ``nodetask_id`` is ``<key>.<step id>``
  (``K7QF3M.call-1``), ``nodetask_name`` the step id and ``node_type`` the step type (``call``,
  ``sms``, ``email``, ``wait``, ``webhook``).
* An **outbound task** is the dialer task that places the workflow's calls. dialflow dials each
  workflow from one queue, so a workflow has one, whose ``task_id`` is the ``workflow_id``; only
  call nodes carry it (as in the seed's list-completion rows).
* A **call** is a call attempt, described by ``call_json`` (the call-completion notification and
  the call queries answer the same fields, as Airudder documents).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from dialflow.domain.workflows import WorkflowStatus
from dialflow.webhooks.events import timestamp

CALL: Final = "call"

#: A workflow's status as an Airudder task status.
TASK_STATUS: Final[Mapping[str, str]] = {
    WorkflowStatus.DRAFT: "pending",
    WorkflowStatus.ACTIVE: "running",
    WorkflowStatus.PAUSED: "paused",
    WorkflowStatus.STOPPED: "stopped",
    WorkflowStatus.COMPLETED: "finished",
}
#: Attempt statuses of a call still going on.
_LIVE_CALL = frozenset({"dialing", "in_progress"})


def time_text(value: datetime | None) -> str | None:
    """Times as every dialflow answer writes them: UTC, ISO 8601 with a Z."""
    return None if value is None else timestamp(value.astimezone(UTC))


def nodetask_id(workflow_key: str, step_id: str) -> str:
    return f"{workflow_key}.{step_id}"


def node_row(workflow_key: str, step_id: str, node_type: str) -> dict[str, str]:
    """One node task: ``{nodetask_id, task_id (call nodes only), nodetask_name, node_type}``."""
    row = {"nodetask_id": nodetask_id(workflow_key, step_id)}
    if node_type == CALL:
        row["task_id"] = workflow_key
    row["nodetask_name"] = step_id
    row["node_type"] = node_type
    return row


def node_rows(workflow_key: str, steps: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The node tasks of steps ``{step_id, type}`` (attempts, oldest first): one row per step,
    in the order the record first reached it (a step tried several times is one node task)."""
    seen: dict[str, str] = {}
    for step in steps:
        seen.setdefault(str(step["step_id"]), str(step["type"]))
    return [node_row(workflow_key, step_id, node_type) for step_id, node_type in seen.items()]


def call_status(status: str, answered: bool | None) -> str:
    """``calling`` while live; ``answered`` / ``unanswered`` once ended; else ``failed`` or
    ``cancelled``."""
    if status in _LIVE_CALL:
        return "calling"
    if status == "completed":
        return "answered" if answered else "unanswered"
    return status


def call_json(
    *,
    call_id: str,
    workflow_key: str,
    workflow_name: str,
    step_id: str,
    channel: str,
    case_id: str | None,
    callee: str,
    caller: str | None,
    status: str,
    answered: bool | None,
    end_reason: str | None,
    duration: int | None,
    start_time: str | None,
    end_time: str | None,
    recording_url: str | None,
    dialog: object,
    variables: Mapping[str, Any] | None,
    collected: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One call as Airudder's call-completion notification and call queries show it."""
    return {
        "workflow_id": workflow_key,
        "workflow_name": workflow_name,
        **node_row(workflow_key, step_id, channel),
        "case_id": case_id or "",
        "call_id": call_id,
        "callee": callee,
        "caller": caller or "",
        "status": call_status(status, answered),
        "end_reason": end_reason or "",
        "duration": duration or 0,
        "start_time": start_time,
        "end_time": end_time,
        "recording_url": recording_url or "",
        "dialog": dialog or [],
        "variables": dict(variables or {}),
        "collected_fields": dict(collected or {}),
    }
