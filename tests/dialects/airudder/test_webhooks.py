"""Airudder's notifications as pure translations of dialflow's event data (built here with the
same ``payloads`` functions the engine uses)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dialflow.dialects.airudder.webhooks import (
    airudder_body,
    call_completion_body,
    list_completion_body,
    status_change_body,
)
from dialflow.webhooks import payloads
from dialflow.webhooks.events import EventType
from dialflow.webhooks.formats import known_formats, vendor_body

#: The example of seed 003, "Notification for Workflow List Completion", verbatim.
SEED_LIST_COMPLETION: dict[str, Any] = {
    "case_id": "test-caseid11",
    "callee_number": "+62123456",
    "workflow_id": "707c2a72791f4fcd9890120ccfe52983",
    "workflow_name": "test-544-0001",
    "rows": [
        {
            "nodetask_id": "300e4513a8a44567a933f893cee2b637",
            "task_id": "1fe46b87ee3eb19b6e59fcacc4c66446",
            "nodetask_name": "Voicebot Call1",
            "node_type": "call",
        },
        {
            "nodetask_id": "303e0168c6374a82bff89b6c4bd0ccfa",
            "nodetask_name": "SMS1",
            "node_type": "sms",
        },
        {
            "nodetask_id": "d734467d7ee74365a36b3b14493d13a3",
            "nodetask_name": "Mail1",
            "node_type": "email",
        },
    ],
}
NOW = datetime(2024, 5, 28, 2, 37, 36, tzinfo=UTC)
WORKFLOW = {"id": 7, "key": "K7QF3M", "name": "test-544-0001", "workspace_id": 1}


def shape(value: Any) -> Any:
    """The structure of a JSON value: its keys in order, its lists' items, its leaves' types."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def record(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 456,
        "list_id": 99,
        "first_name": None,
        "last_name": None,
        "phone": "+62123456",
        "phones": [{"number": "+62123456", "type": "MOBILE"}],
        "email": "budi@example.com",
        "zip": None,
        "timezone": "Asia/Jakarta",
        "external_id": None,
        "case_id": "test-caseid11",
        "external_provider": None,
        "external_url": None,
        "profile_id": None,
        "transfer_number": None,
        "priority": None,
        "placeholders": {"amount": "150000"},
        "meta": None,
    }
    row.update(changes)
    return row


def attempt(attempt_id: int, step_id: str, channel: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": attempt_id,
        "step_id": step_id,
        "channel": channel,
        "to_address": "+62123456",
        "from_address": "+6221500100",
        "phone_type": "MOBILE",
        "provider": "simulator",
        "provider_call_id": f"sim-{attempt_id}",
        "status": "completed",
        "end_reason": "delivered" if channel != "call" else "no_answer",
        "created_at": NOW,
        "started_at": NOW,
        "ended_at": NOW,
    }
    row.update(changes)
    return row


def completed_record(**changes: Any) -> dict[str, Any]:
    """``record.completed`` data of a case that went call (twice), sms, email."""
    steps = [
        attempt(1, "voicebot-call1", "call"),
        attempt(2, "voicebot-call1", "call", end_reason="call_transferred"),
        attempt(3, "sms1", "sms"),
        attempt(4, "mail1", "email", to_address="budi@example.com"),
    ]
    return payloads.record_completed(record(**changes), WORKFLOW, "call_transferred", steps, NOW)


def test_the_list_completion_has_the_seeds_shape_and_one_row_per_node() -> None:
    body = list_completion_body(completed_record())
    assert shape(body) == shape(SEED_LIST_COMPLETION)
    assert body == {
        "case_id": "test-caseid11",
        "callee_number": "+62123456",
        "workflow_id": "K7QF3M",
        "workflow_name": "test-544-0001",
        "rows": [
            {
                "nodetask_id": "K7QF3M.voicebot-call1",
                "task_id": "K7QF3M",
                "nodetask_name": "voicebot-call1",
                "node_type": "call",
            },
            {"nodetask_id": "K7QF3M.sms1", "nodetask_name": "sms1", "node_type": "sms"},
            {"nodetask_id": "K7QF3M.mail1", "nodetask_name": "mail1", "node_type": "email"},
        ],
    }


def test_a_case_without_case_id_or_steps() -> None:
    data = payloads.record_completed(record(case_id=None), WORKFLOW, "list_cancelled", [], NOW)
    body = list_completion_body(data)
    assert (body["case_id"], body["rows"]) == ("", [])


def call_completed(**changes: Any) -> dict[str, Any]:
    ended = {
        "status": "completed",
        "end_reason": "call_transferred",
        "answered": True,
        "duration_seconds": 74,
        "transcript": [{"role": "Assistant", "content": "Halo Budi"}],
        "recording_url": "http://127.0.0.1:8000/v1/recordings/sim-1.wav",
        "collected_fields": {"promise_to_pay": "yes"},
        "ended_at": NOW,
    }
    ended.update(changes)
    progress = {"day": 1, "call": 1, "workflow_ended": True, "final_outcome": "call_transferred"}
    return payloads.attempt_completed(
        attempt(1, "voicebot-call1", "call"), ended, record(), progress, WORKFLOW, NOW
    )


def test_the_call_completion_describes_the_call_and_its_node() -> None:
    assert call_completion_body(call_completed()) == {
        "workflow_id": "K7QF3M",
        "workflow_name": "test-544-0001",
        "nodetask_id": "K7QF3M.voicebot-call1",
        "task_id": "K7QF3M",
        "nodetask_name": "voicebot-call1",
        "node_type": "call",
        "case_id": "test-caseid11",
        "call_id": "1",
        "callee": "+62123456",
        "caller": "+6221500100",
        "status": "answered",
        "end_reason": "call_transferred",
        "duration": 74,
        "start_time": "2024-05-28T02:37:36Z",
        "end_time": "2024-05-28T02:37:36Z",
        "recording_url": "http://127.0.0.1:8000/v1/recordings/sim-1.wav",
        "dialog": [{"role": "Assistant", "content": "Halo Budi"}],
        "variables": {"amount": "150000"},
        "collected_fields": {"promise_to_pay": "yes"},
        "is_last_attempt": True,
    }


@pytest.mark.parametrize(
    ("status", "answered", "airudder"),
    [("completed", False, "unanswered"), ("failed", False, "failed")],
)
def test_an_unanswered_or_failed_call(status: str, answered: bool, airudder: str) -> None:
    body = call_completion_body(
        call_completed(
            status=status,
            answered=answered,
            end_reason="no_answer",
            duration_seconds=None,
            transcript=None,
            recording_url=None,
            collected_fields=None,
        )
    )
    assert body["status"] == airudder
    assert (body["duration"], body["dialog"], body["recording_url"]) == (0, [], "")
    assert body["collected_fields"] == {}


def test_the_status_change_names_the_new_status() -> None:
    data = payloads.workflow_status_changed(WORKFLOW, "active", "stopped", "stop by the API", NOW)
    assert status_change_body(data) == {
        "workflow_id": "K7QF3M",
        "workflow_name": "test-544-0001",
        "status": "stopped",
        "actions": [],
    }


def test_the_status_change_lists_the_nodes_its_data_names() -> None:
    data = payloads.workflow_status_changed(WORKFLOW, "paused", "active", "resume", NOW)
    data["steps"] = [
        {"step_id": "voicebot-call1", "type": "call"},
        {"step_id": "sms1", "type": "sms"},
    ]
    assert status_change_body(data)["actions"] == [
        {
            "nodetask_id": "K7QF3M.voicebot-call1",
            "task_id": "K7QF3M",
            "nodetask_name": "voicebot-call1",
            "node_type": "call",
            "task_status": "running",
        },
        {"nodetask_id": "K7QF3M.sms1", "nodetask_name": "sms1", "node_type": "sms"},
    ]


def test_the_dispatcher_renders_three_events_and_nothing_else() -> None:
    rendered = {
        EventType.CALL_COMPLETED: call_completed(),
        EventType.RECORD_COMPLETED: completed_record(),
        EventType.WORKFLOW_STATUS_CHANGED: payloads.workflow_status_changed(
            WORKFLOW, "active", "completed", "ended", NOW
        ),
    }
    for event_type, data in rendered.items():
        body = airudder_body(event_type.value, data)
        assert body is not None
        assert body["workflow_id"] == "K7QF3M"
        assert vendor_body("airudder", event_type.value, data) == body
    for event_type in set(EventType) - set(rendered):
        assert airudder_body(event_type.value, call_completed()) is None
    assert "airudder" in known_formats()
