"""The 2X post-call webhook body, translated from dialflow's ``call.completed`` event data.

A pure function: the lead's outbox calls it for endpoints whose format is ``"2x"`` and sends the
result with the endpoint's configured header name and token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["post_call_body"]

#: dialflow's telecom-level reasons, which 2X's ``end_reason`` list has no word for, mapped to
#: the nearest 2X reason; the other reasons are 2X's own values and pass through unchanged.
_END_REASONS: Final[Mapping[str, str]] = {
    "busy": "no_answer",  # "call rang with no answer or voice mail"
    "failed": "end_call",  # "ended by the system and none of the above reasons applied"
    "invalid_number": "end_call",
    "timeout": "end_call",
}
#: Transcript speakers, native (``Agent`` / ``Contact``) and 2X (``Assistant`` / ``User``).
_ROLES: Final[Mapping[str, str]] = {
    "agent": "Assistant",
    "assistant": "Assistant",
    "contact": "User",
    "user": "User",
}
#: Who speaks first on an outbound call, for text before any ``Speaker:`` label.
_OPENING_ROLE: Final = "Assistant"


def _role(speaker: object) -> str | None:
    return _ROLES.get(str(speaker).strip().lower())


def _parse_transcript(text: str) -> list[dict[str, str]]:
    """``Agent: …`` / ``Contact: …`` lines as turns; an unlabelled line continues the turn
    before it (or opens the call as the agent's)."""
    turns: list[dict[str, str]] = []
    for line in text.splitlines():
        speaker, colon, said = line.partition(":")
        role = _role(speaker) if colon else None
        if role is not None:
            turns.append({"role": role, "content": said.strip()})
        elif line.strip() and turns:
            turns[-1]["content"] = f"{turns[-1]['content']}\n{line.strip()}"
        elif line.strip():
            turns.append({"role": _OPENING_ROLE, "content": line.strip()})
    return turns


def _transcript(native: object) -> list[dict[str, str]]:
    """2X's ``[{role: "User" | "Assistant", content}]`` from the native transcript: text lines,
    or the providers' list of turns."""
    if isinstance(native, str):
        return _parse_transcript(native)
    if isinstance(native, list):
        return [
            {"role": _role(turn.get("role")) or _OPENING_ROLE, "content": str(turn["content"])}
            for turn in native
        ]
    return []


def post_call_body(data: Mapping[str, Any]) -> dict[str, Any]:
    """The 2X post-call webhook body for one ``call.completed`` event's data.

    ``failure_reason`` is present only for a failed call and ``workflow_end`` (``true``) only when
    the record has no further steps, as 2X documents; ``message_left`` is ``"Y"`` / ``"N"``.
    """
    record: Mapping[str, Any] = data["record"]
    end_reason = str(data["end_reason"])
    call: dict[str, Any] = {
        "end_reason": _END_REASONS.get(end_reason, end_reason),
        "telnyx_call_control_id": data.get("provider_call_id"),
        "answered": bool(data.get("answered")),
        "duration": data.get("duration") or 0,
        "call_direction": data.get("call_direction") or "outbound",
    }
    failure = data.get("failure_reason")
    if failure or data.get("status") == "failed":
        call["failure_reason"] = failure or end_reason
    body: dict[str, Any] = {
        "id": int(data["call_id"]),
        "call": call,
        "question_fields": data.get("collected_fields") or {},
        "message_left": "Y" if data.get("message_left") else "N",
        "record_phone_number": record.get("phone") or data.get("to"),
        "record_zip_code": record.get("zip"),
        "record_first_name": record.get("first_name"),
        "record_last_name": record.get("last_name"),
        "record_timezone": record.get("timezone_offset"),
        "workflow_key": data.get("workflow_key"),
        "workflow_day": data.get("day"),
        "workflow_call": data.get("call"),
    }
    if data.get("workflow_ended"):
        body["workflow_end"] = True
    body["meta"] = data.get("meta") or {}
    body["transcript"] = _transcript(data.get("transcript"))
    return body
