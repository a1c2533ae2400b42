"""The 2X post-call webhook body, as a pure translation of ``call.completed`` data."""

from __future__ import annotations

from typing import Any

import pytest

from dialflow.dialects.ncol.webhooks import post_call_body

#: The post-call example of 2X's "Webhook: Post-Call" page (vendors.md §1.3), with its `...`
#: filled in and "transferred" written as the enum value the same page lists, call_transferred.
SEED_POST_CALL = {
    "id": 123,
    "call": {
        "end_reason": "call_transferred",
        "telnyx_call_control_id": "v3:1234",
        "answered": True,
        "duration": 33,
        "call_direction": "outbound",
    },
    "question_fields": {"case_number": "8057"},
    "message_left": "N",
    "record_phone_number": "+12125550100",
    "record_zip_code": "12345",
    "record_first_name": "John",
    "record_last_name": "Doe",
    "record_timezone": "UTC-5",
    "workflow_key": "123ABC",
    "workflow_day": 3,
    "workflow_call": 1,
    "workflow_end": True,
    "meta": {"campaign": "fall2024"},
    "transcript": [
        {"role": "User", "content": "Hello?"},
        {"role": "Assistant", "content": "Hi, is John available?"},
    ],
}


def native(**changes: Any) -> dict[str, Any]:
    """``call.completed`` data (the native contract) of the call the seed example reports."""
    data: dict[str, Any] = {
        "call_id": "123",
        "record_id": "456",
        "workflow_id": "789",
        "workflow_key": "123ABC",
        "list_id": None,
        "channel": "call",
        "to": "+12125550100",
        "from": "+12125550001",
        "phone_type": "MOBILE",
        "provider": "simulator",
        "provider_call_id": "v3:1234",
        "status": "completed",
        "end_reason": "call_transferred",
        "answered": True,
        "duration": 33,
        "call_direction": "outbound",
        "failure_reason": None,
        "message_left": False,
        "transcript": "Contact: Hello?\nAgent: Hi, is John available?",
        "recording_url": "http://127.0.0.1:8000/v1/recordings/v3:1234.wav",
        "collected_fields": {"case_number": "8057"},
        "started_at": "2026-01-05T15:00:00Z",
        "ended_at": "2026-01-05T15:00:33Z",
        "day": 3,
        "call": 1,
        "workflow_ended": True,
        "is_last_attempt": True,
        "final_outcome": "call_transferred",
        "record": {
            "first_name": "John",
            "last_name": "Doe",
            "phone": "+12125550100",
            "phones": [{"phone_number": "+12125550100", "phone_type": "MOBILE"}],
            "email": None,
            "zip": "12345",
            "timezone": "America/New_York",
            "timezone_offset": "UTC-5",
            "external_id": None,
            "case_id": None,
            "external_provider": None,
            "external_url": None,
            "profile_id": None,
            "transfer_number": None,
            "priority": None,
        },
        "placeholders": {"car_color": "blue"},
        "meta": {"campaign": "fall2024"},
    }
    data.update(changes)
    return data


def test_the_seed_example_call_gives_the_seed_body_field_for_field_in_order() -> None:
    body = post_call_body(native())
    assert body == SEED_POST_CALL
    assert list(body) == list(SEED_POST_CALL)
    assert list(body["call"]) == list(SEED_POST_CALL["call"])  # type: ignore[arg-type]


def test_a_call_with_steps_left_has_no_workflow_end() -> None:
    body = post_call_body(native(workflow_ended=False, day=1, call=2))
    assert "workflow_end" not in body
    assert (body["workflow_day"], body["workflow_call"]) == (1, 2)


def test_an_unanswered_call_with_a_voicemail_left() -> None:
    body = post_call_body(
        native(
            end_reason="voicemail_detected",
            answered=False,
            message_left=True,
            transcript=None,
            collected_fields=None,
            meta=None,
        )
    )
    assert body["call"]["end_reason"] == "voicemail_detected"
    assert body["call"]["answered"] is False
    assert body["message_left"] == "Y"
    assert body["transcript"] == []
    assert body["question_fields"] == {}
    assert body["meta"] == {}


def test_a_failed_call_carries_its_failure_reason_and_a_2x_end_reason() -> None:
    body = post_call_body(
        native(
            status="failed",
            end_reason="failed",
            answered=False,
            duration=0,
            failure_reason="carrier error: call could not be connected",
            transcript=None,
        )
    )
    assert body["call"] == {
        "end_reason": "end_call",
        "telnyx_call_control_id": "v3:1234",
        "answered": False,
        "duration": 0,
        "call_direction": "outbound",
        "failure_reason": "carrier error: call could not be connected",
    }
    without_reason = post_call_body(native(status="failed", end_reason="timeout"))
    assert without_reason["call"]["failure_reason"] == "timeout"
    assert "failure_reason" not in post_call_body(native())["call"]


@pytest.mark.parametrize(
    ("native_reason", "reason_2x"),
    [
        ("busy", "no_answer"),
        ("invalid_number", "end_call"),
        ("no_answer", "no_answer"),
        ("hung_up", "hung_up"),
        ("schedule_call_back", "schedule_call_back"),
        ("do_not_call", "do_not_call"),
    ],
)
def test_end_reasons_are_2x_values(native_reason: str, reason_2x: str) -> None:
    assert post_call_body(native(end_reason=native_reason))["call"]["end_reason"] == reason_2x


def test_text_transcript_lines_continue_the_turn_before_them() -> None:
    text = (
        "Hello John, this is Ann.\nDo you have a minute?\n\n"
        "Contact: Sure: go ahead.\nagent:Great.\nNote: not a speaker"
    )
    assert post_call_body(native(transcript=text))["transcript"] == [
        {"role": "Assistant", "content": "Hello John, this is Ann.\nDo you have a minute?"},
        {"role": "User", "content": "Sure: go ahead."},
        {"role": "Assistant", "content": "Great.\nNote: not a speaker"},
    ]


def test_a_transcript_given_as_turns_is_kept() -> None:
    turns = [
        {"role": "Assistant", "content": "Hi, is John available?"},
        {"role": "User", "content": "Speaking."},
    ]
    assert post_call_body(native(transcript=turns))["transcript"] == turns
