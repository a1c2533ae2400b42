"""A Weya batch is a dialflow workflow: createBatch's fields as a workflow definition, and a
workflow shown as a batch. The batchId is the workflow's public key (like ``K7QF3M``)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialflow.domain.errors import FieldErrors
from dialflow.domain.outcomes import OutcomeAction, default_outcome_rules
from dialflow.domain.phones import normalize_phone
from dialflow.domain.workflows import WorkflowStatus
from dialflow.errors import BadRequest
from dialflow.workflows.definition import WEEKDAYS, WorkflowCreate
from dialflow.workflows.service import WorkflowSummary

MAX_DELAY_SECONDS = 43_200 * 60  # the longest retry period a workflow takes (30 days)

# Weya knows three queue statuses; a draft has not started and a stopped batch is over.
QUEUE_STATUS: dict[WorkflowStatus, str] = {
    WorkflowStatus.DRAFT: "paused",
    WorkflowStatus.ACTIVE: "active",
    WorkflowStatus.PAUSED: "paused",
    WorkflowStatus.STOPPED: "completed",
    WorkflowStatus.COMPLETED: "completed",
}


class CallingHour(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str | None = Field(default=None, description="Local opening time, HH:MM.")
    end: str | None = Field(default=None, description="Local closing time, HH:MM.")


class BatchIn(BaseModel):
    """createBatch's body (and uploadCSV's form fields). ``userId`` and unknown fields are
    ignored: the API key names the workspace."""

    model_config = ConfigDict(extra="ignore")

    batch_name: str = Field(alias="batchName", description="The batch's name.")
    calling_numbers: list[str] = Field(
        alias="callingNumbers",
        min_length=1,
        description="Numbers the calls are placed from (rotated), e.g. +12125550100.",
    )
    retry: int | None = Field(
        default=None, ge=0, le=99, description="Retry attempts after the first call."
    )
    delay: int | None = Field(
        default=None, ge=0, le=MAX_DELAY_SECONDS, description="Seconds between retries."
    )
    timezone: str | None = Field(
        default=None, description="IANA zone for calls whose own zone is unknown."
    )
    calling_hour: CallingHour | None = Field(default=None, alias="callingHour")
    allowed_days: list[Annotated[int, Field(ge=0, le=6)]] | None = Field(
        default=None, alias="allowedDays", description="0 = Sunday ... 6 = Saturday."
    )
    agent_variables: list[dict[str, Any]] = Field(
        default_factory=list,
        alias="agentVariables",
        description="dialflow extension: the agent's variables each call must carry, as "
        '`{"name", "type", "required"}` (the workflow\'s variable schema).',
    )


BATCH_EXAMPLE: dict[str, Any] = {
    "batchName": "November renewals",
    "callingNumbers": ["+12125550100"],
    "retry": 2,
    "delay": 3600,
    "timezone": "America/New_York",
    "callingHour": {"start": "09:00", "end": "17:00"},
    "allowedDays": [1, 2, 3, 4, 5],
    "agentVariables": [{"name": "account_id"}],
}

# Where a workflow field came from in createBatch.
_WEYA_FIELDS = {
    "name": "batchName",
    "caller_ids": "callingNumbers",
    "calling_hours": "callingHour",
    "variables": "agentVariables",
}


def _weya_field(loc: tuple[int | str, ...]) -> str:
    names = [str(part) for part in loc if part != "definition"]
    if names[:2] == ["calling_hours", "weekdays"]:
        return "allowedDays"
    if not names:
        return "body"
    return ".".join([_WEYA_FIELDS.get(names[0], names[0]), *names[1:]])


def invalid(exc: ValidationError) -> BadRequest:
    """A 400 naming each problem by its Weya field."""
    problems = [
        {
            "field": _weya_field(error["loc"]),
            "message": "is required"
            if error["type"] == "missing"
            else error["msg"].removeprefix("Value error, "),
        }
        for error in exc.errors()
    ]
    return BadRequest(
        "; ".join(f"{p['field']}: {p['message']}" for p in problems),
        code="invalid_request",
        details={"errors": problems},
    )


def parse_batch(raw: object) -> BatchIn:
    try:
        return BatchIn.model_validate(raw)
    except ValidationError as exc:
        raise invalid(exc) from None


def _retry_period_minutes(delay_seconds: int) -> int:
    """dialflow counts retry periods in whole minutes: at least one."""
    return max(1, math.ceil(delay_seconds / 60))


def workflow_for(batch: BatchIn) -> WorkflowCreate:
    """The active workflow a createBatch asks for (its calls are dialed once added)."""
    numbers: list[str] = []
    for index, number in enumerate(batch.calling_numbers):
        try:
            numbers.append(normalize_phone(number, field=f"callingNumbers[{index}]"))
        except FieldErrors as exc:
            raise BadRequest(exc.errors[0].message, code=exc.errors[0].code.value) from None
    definition: dict[str, Any] = {"caller_ids": numbers, "variables": batch.agent_variables}
    if batch.timezone is not None:
        definition["timezone"] = batch.timezone
    hours: dict[str, Any] = {}
    if batch.calling_hour is not None:
        hours.update(batch.calling_hour.model_dump(exclude_none=True))
    if batch.allowed_days is not None:
        # Weya counts from Sunday = 0; WEEKDAYS starts on Monday.
        hours["weekdays"] = [WEEKDAYS[(day - 1) % 7] for day in batch.allowed_days]
    if hours:
        definition["calling_hours"] = hours
    retry: dict[str, Any] = {}
    if batch.retry is not None:
        retry["max_attempts"] = batch.retry + 1
    if batch.delay is not None:
        minutes = _retry_period_minutes(batch.delay)
        retry["outcomes"] = {
            reason.value: {"action": "RETRY", "period_minutes": minutes}
            for reason, (action, _period) in default_outcome_rules().items()
            if action is OutcomeAction.RETRY
        }
    if retry:
        definition["retry"] = retry
    try:
        return WorkflowCreate.model_validate(
            {"name": batch.batch_name, "status": "active", "definition": definition}
        )
    except ValidationError as exc:
        raise invalid(exc) from None


def statuses_named(text: str) -> tuple[WorkflowStatus, ...]:
    """The workflow statuses whose Weya queue status contains ``text`` (case-insensitive)."""
    wanted = text.lower()
    return tuple(status for status, queue in QUEUE_STATUS.items() if wanted in queue)


def batch_json(summary: WorkflowSummary) -> dict[str, Any]:
    workflow, counts = summary.workflow, summary.counts
    return {
        "_id": workflow.key,
        "batchName": workflow.name,
        "queue_status": QUEUE_STATUS[workflow.status],
        "totalCalls": counts.records,
        "pickedUpCalls": counts.answered,
        "completedCalls": counts.completed,
        "callingNumbers": workflow.definition.caller_ids,
        "timezone": workflow.definition.timezone,
        "createdAt": workflow.created_at,
        "updatedAt": workflow.updated_at,
    }
