"""Request and response models of the native record API (documentation and responses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from dialflow.domain.errors import ErrorCode

RECORD_EXAMPLE: dict[str, Any] = {
    "phone": "(212) 555-1234",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "zip": "10001",
    "priority": 5,
    "placeholders": {"car_model": "corolla"},
    "meta": {"crm_id": "0030O000024ukNt", "campaign": "fall2026"},
    "external_id": "0030O000024ukNt",
}


class PhoneIn(BaseModel):
    number: str = Field(description="Any common format; normalised to E.164.")
    type: str = Field("MOBILE", description="HOME, OFFICE, MOBILE, EXTRA_1, EXTRA_2 or EXTRA_3.")


class RecordIn(BaseModel):
    """One contact. Unknown fields are reported as errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RECORD_EXAMPLE]})

    phone: str | None = Field(None, description="Primary phone (10-digit NANP, or E.164).")
    phone_type: str | None = Field(None, description="Type of `phone`; MOBILE when absent.")
    phones: list[PhoneIn] | None = Field(
        None, description="Typed phone chain, tried in the order of the workflow's call steps."
    )
    first_name: str | None = Field(None, max_length=80, description="Proper case, not CAPITALS.")
    last_name: str | None = Field(None, max_length=80)
    email: str | None = None
    zip: str | None = Field(None, description="Postal code; a US ZIP sets the time zone.")
    timezone: str | None = Field(
        None, description="IANA name; else from ZIP, else area code, else workflow default."
    )
    priority: int | None = Field(
        None, ge=1, le=10, description="1-10 (10 is highest); absent or null is a hot lead."
    )
    placeholders: dict[str, Any] | None = Field(
        None, description="Values for the workflow's variables (script placeholders)."
    )
    meta: dict[str, Any] | None = Field(
        None, description="Any JSON object, returned verbatim in webhooks (size-capped)."
    )
    external_id: str | None = None
    case_id: str | None = None
    external_provider: str | None = None
    external_url: str | None = None
    profile_id: str | None = None
    transfer_number: str | None = Field(
        None, description="Overrides the workflow's and workspace's transfer number."
    )


class BulkIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"list_name": "fall leads", "records": [RECORD_EXAMPLE]}]},
    )

    records: list[RecordIn] = Field(description="Up to 10,000 records; each gets its own result.")
    list_name: str | None = Field(None, max_length=200, description="Name of the list created.")


class FieldErrorOut(BaseModel):
    code: ErrorCode
    field: str = Field(description="Path of the offending field, e.g. `placeholders.car`.")
    message: str


RESULT_EXAMPLES: list[JsonValue] = [
    {"index": 0, "status": "accepted", "record_id": "382830616794484736", "errors": []},
    {
        "index": 1,
        "status": "invalid",
        "record_id": None,
        "errors": [
            {
                "code": "all_caps_name",
                "field": "first_name",
                "message": '"first_name" must be in proper case ("John"), not all capitals',
            },
            {
                "code": "missing_placeholder",
                "field": "placeholders.car_model",
                "message": 'missing required placeholder field "car_model"',
            },
        ],
    },
]


class RecordResultOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": RESULT_EXAMPLES[:1]})

    index: int = Field(description="Position of the record in the request.")
    status: str = Field(
        description="accepted, updated, duplicate, invalid, suppressed, or failed (retry it)."
    )
    record_id: str | None = None
    errors: list[FieldErrorOut]


class BulkOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "workflow_id": 1,
                    "workflow_key": "A1B2C3",
                    "list_id": "382830616739958784",
                    "counts": {
                        "accepted": 1,
                        "updated": 0,
                        "duplicate": 0,
                        "invalid": 1,
                        "suppressed": 0,
                        "failed": 0,
                        "total": 2,
                    },
                    "results": RESULT_EXAMPLES,
                }
            ]
        }
    )

    workflow_id: int
    workflow_key: str
    list_id: str | None
    counts: dict[str, int]
    results: list[RecordResultOut]


class TimelineEntry(BaseModel):
    at: datetime
    kind: str = Field(
        description="created, attempt, deferred, progress, finished, updated, restarted, "
        "completed, resumed, cancelled, recovered"
    )
    message: str
    data: dict[str, Any] | None = Field(None, description="Details of an attempt.")


class RecordOut(BaseModel):
    id: str = Field(description="Record id (a string: it exceeds JavaScript's safe integers).")
    workflow_id: int
    list_id: str | None
    status: str
    phone: str
    phones: list[PhoneIn]
    first_name: str | None
    last_name: str | None
    email: str | None
    zip: str | None
    timezone: str
    timezone_source: str
    timezone_candidates: list[str] | None
    priority: int | None
    hot: bool
    placeholders: dict[str, Any]
    meta: dict[str, Any] | None
    external_id: str | None
    case_id: str | None
    external_provider: str | None
    external_url: str | None
    profile_id: str | None
    transfer_number: str | None
    cycle: int
    step_id: str | None
    day: int
    call: int
    attempts: int
    workflow_ended: bool
    final_outcome: str | None
    next_due_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry] | None = None


class RecordPageOut(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None


class RecordSelector(BaseModel):
    """Names records by phone, in one workflow or (no workflow) across the workspace."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"phone": "2125551234", "workflow": "A1B2C3"}]},
    )

    phone: str | None = None
    phones: list[str] | None = Field(None, max_length=1000)
    workflow: str | None = Field(None, description="Workflow id or key; absent = every workflow.")


class ActionOut(BaseModel):
    changed: list[str] = Field(description="Records this action changed.")
    unchanged: list[str] = Field(description="Records found that were already in that state.")
