"""Response models of the call query API (documentation and responses)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class CallChannel(StrEnum):
    """The kinds of step that make an attempt (a wait step makes none)."""

    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"


class CallStatus(StrEnum):
    """An attempt is live while ``dialing`` or ``in_progress``; the others are final."""

    DIALING = "dialing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


CallSort: TypeAlias = Literal["created_at", "-created_at"]

CALL_EXAMPLE: dict[str, Any] = {
    "id": "382830617012588544",
    "record_id": "382830616794484736",
    "workflow_id": 1,
    "workflow_key": "A1B2C3",
    "cycle": 1,
    "step_id": "call-1",
    "day": 1,
    "call": 1,
    "channel": "call",
    "to": "+12125551234",
    "from": "+13125550100",
    "phone_type": "MOBILE",
    "provider": "simulator",
    "provider_call_id": "sim-382830617012588544-1795351732860-600-s1",
    "status": "completed",
    "end_reason": "call_transferred",
    "answered": True,
    "duration_seconds": 74,
    "message_left": False,
    "transcript": [
        {"role": "Assistant", "content": "Hi Ada, this is about your corolla."},
        {"role": "User", "content": "Yes, go ahead."},
    ],
    "recording_url": "http://127.0.0.1:8000/v1/recordings/sim-382830617012588544-1795351732860-600-s1.wav",
    "recording": "/v1/recordings/sim-382830617012588544-1795351732860-600-s1.wav",
    "collected_fields": {"interest": "high"},
    "note": "call_transferred: finished",
    "error": None,
    "created_at": "2026-11-22T14:03:11.204000Z",
    "started_at": "2026-11-22T14:03:11.318000Z",
    "ended_at": "2026-11-22T14:04:25.902000Z",
}


class CallOut(BaseModel):
    """One attempt: one execution of one step (a call, an sms, an email, a webhook) for one
    record."""

    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [CALL_EXAMPLE]})

    id: str = Field(description="Call (attempt) id, a string of digits.")
    record_id: str
    workflow_id: int
    workflow_key: str = Field(description="The workflow's public key.")
    cycle: int = Field(description="The record's cycle (re-adding a finished record starts one).")
    step_id: str = Field(description="The workflow step this attempt ran.")
    day: int
    call: int
    channel: str = Field(description="call, sms, email or webhook.")
    to: str = Field(description="The number dialed or texted (E.164), or the email address.")
    from_: str | None = Field(alias="from", description="The caller id used, if any.")
    phone_type: str | None = Field(description="Type of the number dialed (MOBILE, HOME, ...).")
    provider: str
    provider_call_id: str | None = Field(
        description="The provider's id, saved as soon as it accepts the call."
    )
    status: str = Field(description="dialing, in_progress (live); completed, failed, cancelled.")
    end_reason: str | None = Field(
        description="How it ended: call_transferred, no_answer, busy, voicemail_detected, ... "
        "(delivered / undelivered for messages); null while live."
    )
    answered: bool | None
    duration_seconds: int | None
    message_left: bool | None
    transcript: JsonValue = Field(description="The conversation as `[{role, content}]` turns.")
    recording_url: str | None = Field(description="Where the provider stores the recording.")
    recording: str | None = Field(
        description="dialflow's link to the recording (`/v1/recordings/{provider_call_id}.wav`), "
        "when the call has one."
    )
    collected_fields: dict[str, Any] | None = Field(
        description="Fields the agent collected during the call."
    )
    note: str | None = Field(description="What the outcome meant for the record.")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class CallPageOut(BaseModel):
    items: list[CallOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: JsonValue = None


class ErrorOut(BaseModel):
    """Every error of the API: a stable code and a message a person can act on."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A parameter is not valid."},
    404: {"model": ErrorOut, "description": "Not found in this workspace."},
}
