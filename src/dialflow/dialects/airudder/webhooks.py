"""Airudder's notifications, translated from dialflow's event data (pure functions).

The outbox calls ``airudder_body`` for endpoints whose format is ``"airudder"``:

* ``call.completed`` → "Notification of Call Completion in Workflow", one per call attempt
  (``shapes.call_json`` plus ``is_last_attempt``);
* ``record.completed`` → "Notification for Workflow List Completion" (seed 003): the case and the
  node tasks it went through;
* ``workflow.status_changed`` → "Notification of Workflow Status Change": ``status`` and
  ``actions``, one per node task of the data's ``steps`` (see docs/dialects.md, Airudder).

Every other event has no Airudder notification.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from dialflow.dialects.airudder.shapes import TASK_STATUS, call_json, node_rows

__all__ = ["airudder_body", "call_completion_body", "list_completion_body", "status_change_body"]


def call_completion_body(data: Mapping[str, Any]) -> dict[str, Any]:
    """The call-completion notification of one ``call.completed`` event's data."""
    body = call_json(
        call_id=str(data["call_id"]),
        workflow_key=data["workflow_key"],
        workflow_name=data["workflow_name"],
        step_id=data["step_id"],
        channel=data["channel"],
        case_id=data["record"]["case_id"],
        callee=data["to"],
        caller=data["from"],
        status=data["status"],
        answered=data["answered"],
        end_reason=data["end_reason"],
        duration=data["duration"],
        start_time=data["started_at"],
        end_time=data["ended_at"],
        recording_url=data["recording_url"],
        dialog=data["transcript"],
        variables=data["placeholders"],
        collected=data["collected_fields"],
    )
    body["is_last_attempt"] = bool(data["is_last_attempt"])
    return body


def list_completion_body(data: Mapping[str, Any]) -> dict[str, Any]:
    """The list-completion notification of one ``record.completed`` event's data, in the seed's
    key order; ``case_id`` is ``""`` for a record added without one."""
    record = data["record"]
    return {
        "case_id": record["case_id"] or "",
        "callee_number": record["phone"],
        "workflow_id": data["workflow_key"],
        "workflow_name": data["workflow_name"],
        "rows": node_rows(data["workflow_key"], data["steps"]),
    }


def status_change_body(data: Mapping[str, Any]) -> dict[str, Any]:
    """The status-change notification of one ``workflow.status_changed`` event's data. Each
    call node's action carries the new status as ``task_status``."""
    status = TASK_STATUS[data["status"]]
    actions = node_rows(data["workflow_key"], data.get("steps") or ())
    for action in actions:
        if "task_id" in action:
            action["task_status"] = status
    return {
        "workflow_id": data["workflow_key"],
        "workflow_name": data["workflow_name"],
        "status": status,
        "actions": actions,
    }


_BODIES: Final[Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "call.completed": call_completion_body,
    "record.completed": list_completion_body,
    "workflow.status_changed": status_change_body,
}


def airudder_body(event_type: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Airudder body of an event; None for events Airudder has no notification for."""
    build = _BODIES.get(event_type)
    return None if build is None else build(data)
