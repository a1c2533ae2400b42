"""Weya call records: ``call_data`` as native records, added in chunks of 1,000, and shown back
with their phone logs (the record's call attempts).

A call record is ``phoneNumber`` plus any fields the agent needs: ``phoneNumber`` becomes the
record's phone, ``timezone`` its time zone, and every other field an agent variable (a
placeholder, checked against the workflow's variable schema by the intake).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import RowMapping

from dialflow.db.engine import Database
from dialflow.domain.errors import ErrorCode, FieldError
from dialflow.errors import BadRequest
from dialflow.intake.service import GOOD, IntakeOutcome, ResultStatus, ingest, rules_for
from dialflow.intake.validate import clean_record
from dialflow.records.service import RecordWithCalls
from dialflow.workflows.definition import WorkflowDefinition

CHUNK_SIZE = 1_000  # Weya: "Large arrays are automatically chunked into batches of 1000 records"
SOURCE = "weya"
PHONE_FIELD = "phoneNumber"
_NATIVE_FIELDS = {PHONE_FIELD: "phone", "timezone": "timezone"}

CALLS_EXAMPLE: dict[str, Any] = {
    "batchId": "K7QF3M",
    "call_data": [
        {
            "phoneNumber": "12125551001",
            "name": "Sarah Johnson",
            "account_id": "ACC-1001",
            "custom_field_1": "value1",
            "priority": "high",
        },
        {
            "phoneNumber": "13105552002",
            "name": "Michael Chen",
            "account_id": "ACC-1002",
            "category": "support",
        },
    ],
}


def to_record(call: object) -> object:
    """A Weya call record as a native record (anything but an object is left to the intake,
    which reports it)."""
    if not isinstance(call, dict):
        return call
    record: dict[str, object] = {
        native: call[weya] for weya, native in _NATIVE_FIELDS.items() if weya in call
    }
    record["placeholders"] = {k: v for k, v in call.items() if k not in _NATIVE_FIELDS}
    return record


def phone_of(call: object) -> object:
    return call.get(PHONE_FIELD) if isinstance(call, dict) else None


def _weya_field(field: str) -> str:
    return PHONE_FIELD if field == "phone" else field.removeprefix("placeholders.")


def describe(error: FieldError) -> dict[str, str]:
    """An intake error in Weya's words: its fields, and "agent variable" for placeholder."""
    field = _weya_field(error.field)
    if error.code is ErrorCode.MISSING_PLACEHOLDER:
        message = f'missing required agent variable "{field}"'
    elif error.code is ErrorCode.REQUIRED:
        message = f'"{field}" is required'
    else:
        message = error.message.replace(f'"{error.field}"', f'"{field}"').replace(
            'placeholder "', 'agent variable "'
        )
    return {"field": field, "code": error.code.value, "message": message}


def check(
    records: Sequence[object],
    definition: WorkflowDefinition,
    *,
    meta_max_bytes: int,
    scan_nul: bool,
) -> dict[int, list[dict[str, str]]]:
    """The problems of each invalid record, by position, under the intake's own rules: Weya
    refuses a request with any invalid call (400) before anything is written."""
    rules = replace(rules_for(definition, meta_max_bytes=meta_max_bytes), scan_nul=scan_nul)
    problems: dict[int, list[dict[str, str]]] = {}
    for index, record in enumerate(records):
        checked = clean_record(record, rules)
        if isinstance(checked, list):
            problems[index] = [describe(error) for error in checked]
    return problems


def summary(
    listed: list[dict[str, Any]], total: int, noun: str, where: Callable[[dict[str, Any]], str]
) -> str:
    """``2 of 5 call records are invalid: call_data[1]: missing required ...; ...``."""
    shown = "; ".join(f"{where(item)}: {item['errors'][0]['message']}" for item in listed[:3])
    more = "; ..." if len(listed) > 3 else ""
    return f"{len(listed)} of {total} {noun} are invalid: {shown}{more}"


def refuse(calls: Sequence[object], problems: dict[int, list[dict[str, str]]]) -> BadRequest:
    listed: list[dict[str, Any]] = [
        {"index": index, PHONE_FIELD: phone_of(calls[index]), "errors": errors}
        for index, errors in problems.items()
    ]
    return BadRequest(
        summary(listed, len(calls), "call records", lambda item: f"call_data[{item['index']}]"),
        code="invalid_calls",
        details={"invalidCalls": listed},
    )


def added_ids(outcome: IntakeOutcome) -> list[str]:
    """The records inserted or updated, as Weya call ids (strings)."""
    return [str(r.record_id) for r in outcome.results if r.status in GOOD]


@dataclass(frozen=True, slots=True)
class Enqueued:
    call_ids: list[str]
    failed_chunks: list[dict[str, Any]]


async def enqueue(
    db: Database,
    *,
    workspace_id: int,
    workflow_id: int,
    records: Sequence[object],
    meta_max_bytes: int,
    scan_nul: bool,
) -> Enqueued:
    """Add records chunk by chunk, each on its own: a chunk that fails is reported by its number
    (from 1) and the others stay added. A record sent twice is listed once."""
    call_ids: dict[str, None] = {}
    failed: list[dict[str, Any]] = []
    for number, start in enumerate(range(0, len(records), CHUNK_SIZE), start=1):
        outcome = await ingest(
            db,
            workspace_id=workspace_id,
            workflow_ref=workflow_id,
            records=records[start : start + CHUNK_SIZE],
            max_records=CHUNK_SIZE,
            chunk_size=CHUNK_SIZE,
            meta_max_bytes=meta_max_bytes,
            list_name=f"addCallsToBatch chunk {number}",
            source=SOURCE,
            scan_nul=scan_nul,
        )
        call_ids.update(dict.fromkeys(added_ids(outcome)))
        failure = next(
            (r.errors[0].message for r in outcome.results if r.status is ResultStatus.FAILED),
            None,
        )
        if failure is not None:
            failed.append({"chunkNum": number, "error": failure})
    return Enqueued(list(call_ids), failed)


def phone_log(attempt: RowMapping) -> dict[str, Any]:
    return {
        "callStatus": attempt["status"],
        "endReason": attempt["end_reason"],
        "callDuration": attempt["duration_seconds"],
        "recordingUrl": attempt["recording_url"],
        "transcript": attempt["transcript"],
        "createdAt": attempt["created_at"],
    }


def call_json(item: RecordWithCalls) -> dict[str, Any]:
    """A record as a Weya call: its agent variables at the top level, like they were sent."""
    record = item.record
    return {
        **record["placeholders"],
        "_id": str(record["id"]),
        PHONE_FIELD: record["phone"],
        "timezone": record["timezone"],
        "callStatus": record["status"],
        "phoneLogs": [phone_log(call) for call in item.calls],
        "createdAt": record["created_at"],
        "updatedAt": record["updated_at"],
    }
