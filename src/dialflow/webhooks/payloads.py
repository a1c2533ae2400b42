"""Event payloads: the data of each event, built from the rows the change touched.

Ids are strings (JavaScript clients lose precision on 63-bit integers); times are UTC ISO 8601.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialflow.webhooks.events import timestamp


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def utc_offset_label(zone: str | None, at: datetime) -> str | None:
    """A zone's offset at ``at`` in the 2X style: ``UTC-5``, ``UTC+5:30``, ``UTC``."""
    if not zone:
        return None
    offset = at.astimezone(ZoneInfo(zone)).utcoffset()
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def record_fields(record: Mapping[Any, Any], now: datetime) -> dict[str, Any]:
    """The contact fields of a record as every record-related event carries them."""
    return {
        "first_name": record["first_name"],
        "last_name": record["last_name"],
        "phone": record["phone"],
        "phones": [
            {"phone_number": phone["number"], "phone_type": phone["type"]}
            for phone in record["phones"] or ()
        ],
        "email": record["email"],
        "zip": record["zip"],
        "timezone": record["timezone"],
        "timezone_offset": utc_offset_label(record["timezone"], now),
        "external_id": record["external_id"],
        "case_id": record["case_id"],
        "external_provider": record["external_provider"],
        "external_url": record["external_url"],
        "profile_id": record["profile_id"],
        "transfer_number": record["transfer_number"],
        "priority": record["priority"],
    }


def attempt_completed(
    attempt: Mapping[Any, Any],
    ended: Mapping[str, Any],
    record: Mapping[Any, Any],
    progress: Mapping[str, Any],
    workflow: Mapping[Any, Any],
    now: datetime,
) -> dict[str, Any]:
    """``call.completed`` / ``attempt.completed`` / ``sms.completed`` / ``email.completed``.

    ``attempt`` is the attempt row as started, ``ended`` the columns its end wrote, ``progress``
    where the record stands after it (day, call, workflow_ended, final_outcome)."""
    return {
        "call_id": str(attempt["id"]),
        "record_id": str(record["id"]),
        "workflow_id": str(workflow["id"]),
        "workflow_key": workflow["key"],
        "workflow_name": workflow["name"],
        "list_id": _id(record["list_id"]),
        "step_id": attempt["step_id"],
        "channel": attempt["channel"],
        "to": attempt["to_address"],
        "from": attempt["from_address"],
        "phone_type": attempt["phone_type"],
        "provider": attempt["provider"],
        "provider_call_id": ended.get("provider_call_id") or attempt["provider_call_id"],
        "status": ended["status"],
        "end_reason": ended["end_reason"],
        "answered": ended.get("answered"),
        "duration": ended.get("duration_seconds"),
        "call_direction": "outbound",
        "failure_reason": ended.get("error"),
        "message_left": ended.get("message_left"),
        "transcript": ended.get("transcript"),
        "recording_url": ended.get("recording_url"),
        "collected_fields": ended.get("collected_fields"),
        "started_at": timestamp(
            ended.get("started_at") or attempt["started_at"] or attempt["created_at"]
        ),
        "ended_at": timestamp(ended.get("ended_at") or now),
        "day": progress["day"],
        "call": progress["call"],
        "workflow_ended": progress["workflow_ended"],
        "is_last_attempt": progress["workflow_ended"],
        "final_outcome": progress["final_outcome"],
        "record": record_fields(record, now),
        "placeholders": record["placeholders"] or {},
        "meta": record["meta"] or {},
    }


def record_completed(
    record: Mapping[Any, Any],
    workflow: Mapping[Any, Any],
    final_outcome: str | None,
    steps: Sequence[Mapping[Any, Any]],
    now: datetime,
) -> dict[str, Any]:
    """``record.completed``: the record finished its workflow; ``steps`` are the attempts of
    this cycle, oldest first (Airudder's "list completion" rows are built from them)."""
    return {
        "record_id": str(record["id"]),
        "workflow_id": str(workflow["id"]),
        "workflow_key": workflow["key"],
        "workflow_name": workflow["name"],
        "list_id": _id(record["list_id"]),
        "final_outcome": final_outcome,
        "completed_at": timestamp(now),
        "record": record_fields(record, now),
        "placeholders": record["placeholders"] or {},
        "meta": record["meta"] or {},
        "steps": [
            {
                "attempt_id": str(step["id"]),
                "step_id": step["step_id"],
                "type": step["channel"],
                "status": step["status"],
                "end_reason": step["end_reason"],
                "started_at": timestamp(step["started_at"] or step["created_at"]),
                "ended_at": timestamp(step["ended_at"]),
            }
            for step in steps
        ],
    }


def list_completed(
    list_row: Mapping[Any, Any],
    workflow: Mapping[Any, Any],
    by_status: Mapping[str, int],
    by_outcome: Mapping[str, int],
    now: datetime,
) -> dict[str, Any]:
    """``list.completed``: every record of the list is terminal; the counts add up to total."""
    return {
        "list_id": str(list_row["id"]),
        "list_name": list_row["name"],
        "workflow_id": str(workflow["id"]),
        "workflow_key": workflow["key"],
        "completed_at": timestamp(now),
        "total": sum(by_status.values()),
        "by_status": dict(by_status),
        "by_final_outcome": dict(by_outcome),
    }


def workflow_status_changed(
    workflow: Mapping[Any, Any], previous: str, current: str, reason: str, now: datetime
) -> dict[str, Any]:
    """``workflow.status_changed``, with the workflow's steps (the ones whose state changed)."""
    definition = workflow.get("definition") or {}
    return {
        "workflow_id": str(workflow["id"]),
        "workflow_key": workflow["key"],
        "workflow_name": workflow["name"],
        "previous_status": previous,
        "status": current,
        "reason": reason,
        "changed_at": timestamp(now),
        "steps": [
            {"step_id": step["id"], "name": step.get("name"), "type": step["type"]}
            for step in definition.get("steps", ())
        ],
    }


def record_opted_out(
    record: Mapping[Any, Any], workflow: Mapping[Any, Any], reason: str, now: datetime
) -> dict[str, Any]:
    return {
        "record_id": str(record["id"]),
        "workflow_id": str(workflow["id"]),
        "workflow_key": workflow["key"],
        "phone": record["phone"],
        "reason": reason,
        "opted_out_at": timestamp(now),
        "record": record_fields(record, now),
        "meta": record["meta"] or {},
    }
