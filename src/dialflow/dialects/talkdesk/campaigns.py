"""Talkdesk campaigns: their configuration, and the workflow definition it stands for.

================================  ===============================================================
Talkdesk                          workflow definition
================================  ===============================================================
``max_attempts``                  ``retry.max_attempts``
``retry_period``/``_time_unit``   the period of every outcome that retries by default
``calling_hours[]``               ``calling_hours`` (one daily window: every entry needs the same
                                  ``from``/``to``; their ``week_days`` are joined)
``dispositions``                  ``retry.outcomes``: busy, no_answer, answering_machine_detection
                                  (voicemail_detected), hangup_before_connection (hung_up),
                                  invalid_number; RETRY with its own period (else the campaign's,
                                  else dialflow's default) or FINAL
``record_chain[]``                the call step's ``phone_types`` in chain order and
                                  ``retry.max_attempts_per_phone_type``
================================  ===============================================================

``abandoned`` and ``agent_hangup_before_connection`` are kept but have no counterpart: an AI agent
is always there, so no call is abandoned for want of an agent. ``dialing_mode``, ``priority``,
``run_once``, ``max_skip_attempts``, ``strategy_type``, ``preview_timeout``,
``dialing_mode_configuration`` and per-link retry periods of ``record_chain`` are kept and shown
but change nothing.
"""

from __future__ import annotations

import math
from datetime import time
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from dialflow.dialects.talkdesk.http import invalid
from dialflow.domain.errors import ErrorCode, FieldError
from dialflow.domain.outcomes import EndReason, OutcomeAction, default_outcome_rules
from dialflow.workflows.definition import PhoneTypeName, WorkflowDefinition

TimeUnit: TypeAlias = Literal["SECONDS", "MINUTES", "HOURS", "DAYS"]
WeekDay: TypeAlias = Literal[
    "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"
]
DispositionName: TypeAlias = Literal[
    "busy",
    "no_answer",
    "abandoned",
    "hangup_before_connection",
    "agent_hangup_before_connection",
    "answering_machine_detection",
    "invalid_number",
]
_HMS = r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"
_MINUTES = {"SECONDS": 1 / 60, "MINUTES": 1, "HOURS": 60, "DAYS": 1440}
_WEEKDAYS: dict[str, str] = {
    "MONDAY": "mon",
    "TUESDAY": "tue",
    "WEDNESDAY": "wed",
    "THURSDAY": "thu",
    "FRIDAY": "fri",
    "SATURDAY": "sat",
    "SUNDAY": "sun",
}
DISPOSITION_REASONS: dict[str, EndReason] = {
    "busy": EndReason.BUSY,
    "no_answer": EndReason.NO_ANSWER,
    "answering_machine_detection": EndReason.VOICEMAIL_DETECTED,
    "hangup_before_connection": EndReason.HUNG_UP,
    "invalid_number": EndReason.INVALID_NUMBER,
}


class CampaignStatus(StrEnum):
    READY = "READY"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CallingHour(_Strict):
    start: str = Field(alias="from", pattern=_HMS, description="HH:MM:SS, local time.")
    to: str = Field(pattern=_HMS, description="HH:MM:SS, local time.")
    week_days: list[WeekDay] = Field(min_length=1)


class Disposition(_Strict):
    status_after_call: Literal["RETRY", "FINAL"]
    retry_period: int | None = Field(default=None, ge=1)
    retry_period_time_unit: TimeUnit | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    custom: Any = None


class ChainLink(_Strict):
    type: PhoneTypeName
    max_attempts: int = Field(ge=1, le=100)
    retry_period: int | None = Field(default=None, ge=1)
    retry_period_time_unit: TimeUnit | None = None


class DialingStrategy(_Strict):
    max_skip_attempts: int = Field(default=0, ge=0, le=20)
    strategy_type: Literal["AUTOMATIC", "MANUAL"] = "AUTOMATIC"
    preview_timeout: int | None = Field(default=None, ge=1)
    max_attempts: int = Field(default=3, ge=1, le=100)
    retry_period: int | None = Field(default=None, ge=1)
    retry_time_unit: TimeUnit = "MINUTES"
    calling_hours: list[CallingHour] = Field(default_factory=list)
    dispositions: dict[DispositionName, Disposition] = Field(default_factory=dict)
    record_chain: list[ChainLink] = Field(default_factory=list)


class Campaign(_Strict):
    """A campaign's configuration (everything but its status)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=35)]
    dialing_mode: Literal["PREDICTIVE", "PREVIEW"] = "PREDICTIVE"
    priority: int = Field(default=1, ge=1, le=10)
    run_once: bool = False
    dialing_mode_configuration: dict[str, Any] = Field(default_factory=dict)
    dialing_strategy: DialingStrategy = Field(default_factory=DialingStrategy)


def _minutes(amount: int, unit: TimeUnit) -> int:
    return math.ceil(amount * _MINUTES[unit])


def _hhmm(value: str, *, round_up: bool) -> str:
    """HH:MM:SS to HH:MM, inside the window: a start rounds up, an end down."""
    moment = time.fromisoformat(value)
    minutes = moment.hour * 60 + moment.minute + (1 if round_up and moment.second else 0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _calling_hours(hours: list[CallingHour]) -> dict[str, Any] | None:
    if not hours:
        return None
    if len({(h.start, h.to) for h in hours}) > 1:
        raise invalid(
            "the calling hours differ from day to day",
            [
                FieldError(
                    ErrorCode.INVALID_VALUE,
                    "dialing_strategy.calling_hours",
                    "dialflow keeps one daily window per campaign: every entry needs the same "
                    '"from" and "to" (list the days in "week_days")',
                )
            ],
        )
    days = {day for h in hours for day in h.week_days}
    return {
        "start": _hhmm(hours[0].start, round_up=True),
        "end": _hhmm(hours[0].to, round_up=False),
        "weekdays": [short for day, short in _WEEKDAYS.items() if day in days],
    }


def _outcomes(strategy: DialingStrategy) -> dict[str, dict[str, Any]]:
    outcomes: dict[str, dict[str, Any]] = {}
    defaults = default_outcome_rules()
    if strategy.retry_period is not None:
        common = _minutes(strategy.retry_period, strategy.retry_time_unit)
        outcomes = {
            reason.value: {"action": "RETRY", "period_minutes": common}
            for reason, (action, _) in defaults.items()
            if action is OutcomeAction.RETRY
        }
    for name, rule in strategy.dispositions.items():
        reason = DISPOSITION_REASONS.get(name)
        if reason is None:
            continue
        if rule.status_after_call == "FINAL":
            outcomes[reason.value] = {"action": "FINAL"}
            continue
        period: int | None
        if rule.retry_period is not None:
            unit = rule.retry_period_time_unit or strategy.retry_time_unit
            period = _minutes(rule.retry_period, unit)
        elif reason.value in outcomes:
            period = outcomes[reason.value].get("period_minutes")
        else:
            action, default_period = defaults[reason]
            period = default_period if action is OutcomeAction.RETRY else None
        outcomes[reason.value] = {"action": "RETRY", "period_minutes": period}
    return outcomes


# Where a definition error comes from, in the campaign.
_SOURCES = (
    (("calling_hours",), "dialing_strategy.calling_hours"),
    (("retry", "max_attempts_per_phone_type"), "dialing_strategy.record_chain"),
    (("retry", "max_attempts"), "dialing_strategy.max_attempts"),
    (("retry", "outcomes"), "dialing_strategy.dispositions"),
    (("steps",), "dialing_strategy.record_chain"),
)


def _source(location: tuple[Any, ...]) -> str:
    for prefix, field in _SOURCES:
        if location[: len(prefix)] == prefix:
            return field
    return "dialing_strategy"


def definition_for(campaign: Campaign, *, dedup: str) -> WorkflowDefinition:
    """The workflow definition a record list follows while attached to ``campaign``; ``dedup``
    stays the list's own."""
    strategy = campaign.dialing_strategy
    raw: dict[str, Any] = {
        "dedup": dedup,
        "retry": {
            "max_attempts": strategy.max_attempts,
            "outcomes": _outcomes(strategy),
            "max_attempts_per_phone_type": {
                link.type: link.max_attempts for link in strategy.record_chain
            },
        },
    }
    hours = _calling_hours(strategy.calling_hours)
    if hours is not None:
        raw["calling_hours"] = hours
    if strategy.record_chain:
        raw["steps"] = [
            {
                "id": "call-1",
                "type": "call",
                "phone_types": [link.type for link in strategy.record_chain],
            }
        ]
    try:
        return WorkflowDefinition.model_validate(raw)
    except ValidationError as exc:
        raise invalid(
            "the campaign's dialing strategy cannot be followed",
            [
                FieldError(ErrorCode.INVALID_VALUE, _source(err["loc"]), str(err["msg"]))
                for err in exc.errors()
            ],
        ) from None


def parse_status(value: object) -> CampaignStatus:
    """READY, RUNNING or PAUSED, in any case (Talkdesk's own example sends "paused")."""
    if isinstance(value, str) and value.upper() in CampaignStatus.__members__:
        return CampaignStatus(value.upper())
    raise invalid(
        "the campaign status must be READY, RUNNING or PAUSED",
        [
            FieldError(
                ErrorCode.INVALID_VALUE, "status", '"status" must be READY, RUNNING or PAUSED'
            )
        ],
    )
