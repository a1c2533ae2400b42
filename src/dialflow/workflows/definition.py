"""A workflow's definition: the schedule of steps, variable schema, calling hours and retry policy.

These models validate request bodies and document them in the OpenAPI schema.

How a record moves through the steps (the first step is the entry):

* A **call** step ends with an ``EndReason`` whose rule in ``retry.outcomes`` says RETRY or FINAL.

  - an explicit ``next[reason]`` always wins (``"end"`` finishes the record);
  - FINAL otherwise finishes the record with that reason;
  - RETRY goes to ``next["default"]``, else the following step in list order, else (on the last
    step) the same step again; no earlier than ``period_minutes`` later and not before the
    target step's ``day``. When the record's attempt budget (``retry.max_attempts``, per phone
    type, daily cap) is spent, the record finishes with the last reason instead.

* **sms**, **email** and **webhook** steps (``delivered``/``undelivered``) and **wait** steps never
  finish a record by themselves: they go to ``next[reason]``, else ``next["default"]``, else the
  following step, else the record finishes.

``WorkflowDefinition.next_step_id`` implements exactly these rules.

Vendor mapping: a 2X "Day N, Call M" schedule is one call step per row (``day``, ``call``), with
pre-call and voicemail texts as sms steps; Weya ``callingHour``/``allowedDays``/``timezone``/
``retry``/``delay``/``callingNumbers`` map to ``calling_hours``, ``timezone``,
``retry.max_attempts``, the RETRY periods and ``caller_ids``; Talkdesk ``calling_hours``,
``max_attempts``, ``retry_period``, ``dispositions`` and ``record_chain`` map to
``calling_hours``, ``retry.max_attempts``, ``retry.outcomes`` and the call step's
``phone_types`` with ``retry.max_attempts_per_phone_type``.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, time
from functools import cache, cached_property
from typing import Annotated, Any, ClassVar, Final, Literal, TypeAlias
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from dialflow.domain.outcomes import (
    CALL_REASONS,
    MESSAGE_REASONS,
    EndReason,
    OutcomeAction,
    default_outcome_rules,
)
from dialflow.domain.variables import VariableSpec, VariableType
from dialflow.domain.windows import CallingWindow
from dialflow.domain.workflows import WorkflowStatus, allowed_actions

PhoneTypeName: TypeAlias = Literal["HOME", "OFFICE", "MOBILE", "EXTRA_1", "EXTRA_2", "EXTRA_3"]
Weekday: TypeAlias = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NextKey: TypeAlias = EndReason | Literal["default"]

PHONE_TYPES: tuple[PhoneTypeName, ...] = (
    "MOBILE",
    "HOME",
    "OFFICE",
    "EXTRA_1",
    "EXTRA_2",
    "EXTRA_3",
)
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LEGAL_START = time(8, 0)
LEGAL_END = time(21, 0)
END: Final = "end"
DEFAULT: Final = "default"
WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")

PUBLIC_KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no O/0, no I/1
PUBLIC_KEY_LENGTH = 6

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_STEP_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_PUBLIC_KEY = re.compile(r"[A-Z0-9]{6}")
_PROVIDER = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_EVENT = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def generate_public_key() -> str:
    """A fresh 6-character workflow key, e.g. ``K7QF3M``, without look-alike characters."""
    return "".join(secrets.choice(PUBLIC_KEY_ALPHABET) for _ in range(PUBLIC_KEY_LENGTH))


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_e164(value: str) -> str:
    if not _E164.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an E.164 phone number; write it as + then country code and "
            "number, digits only, e.g. +12125551234"
        )
    return value


E164: TypeAlias = Annotated[str, AfterValidator(_check_e164)]


def _duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for value in values:
        if value in seen and value not in dups:
            dups.append(value)
        seen.add(value)
    return dups


class CallingHours(BaseModel):
    """When calls may be placed, in the record's local time (or the workflow's time zone)."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(
        default="09:00",
        description="Local time the calling window opens, 24-hour HH:MM.",
        examples=["09:00"],
    )
    end: str = Field(
        default="20:00",
        description="Local time the calling window closes (exclusive), 24-hour HH:MM; "
        "must be after start (windows do not cross midnight).",
        examples=["20:00"],
    )
    weekdays: list[Weekday] = Field(
        default_factory=lambda: list(WORKDAYS),
        min_length=1,
        description="Days of the week calls may be placed on, each at most once.",
    )
    allow_outside_legal_hours: bool = Field(
        default=False,
        description="Allow a window outside 08:00-21:00 local time, the range US telemarketing "
        "rules (TCPA) permit. Leave false unless you are sure the calls are exempt.",
    )

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError(f"{value!r} is not a time of day; use 24-hour HH:MM, e.g. 09:00")
        return value

    @field_validator("weekdays")
    @classmethod
    def _unique_days(cls, value: list[Weekday]) -> list[Weekday]:
        if dups := _duplicates(list(value)):
            raise ValueError(f"weekdays lists {', '.join(dups)} more than once")
        return value

    @model_validator(mode="after")
    def _window(self) -> CallingHours:
        if self.start_time >= self.end_time:
            raise ValueError(
                f"start {self.start} must be before end {self.end}; "
                "a calling window cannot cross midnight"
            )
        legal = self.start_time >= LEGAL_START and self.end_time <= LEGAL_END
        if not legal and not self.allow_outside_legal_hours:
            raise ValueError(
                f"calling hours {self.start}-{self.end} go outside the legal window "
                f"{LEGAL_START:%H:%M}-{LEGAL_END:%H:%M} local time; narrow them, or set "
                "allow_outside_legal_hours to true if these calls are exempt"
            )
        return self

    @property
    def start_time(self) -> time:
        return time.fromisoformat(self.start)

    @property
    def end_time(self) -> time:
        return time.fromisoformat(self.end)

    @property
    def weekday_numbers(self) -> frozenset[int]:
        """The allowed days as ``datetime.weekday()`` numbers (Monday is 0)."""
        return frozenset(WEEKDAYS.index(day) for day in self.weekdays)

    def window(self) -> CallingWindow:
        """These hours as a ``CallingWindow`` for ``dialflow.domain.windows``."""
        return self.calling_window

    @cached_property
    def calling_window(self) -> CallingWindow:
        # Built once per definition: the dialer asks for it for every record it dials.
        return CallingWindow(
            start=self.start_time,
            end=self.end_time,
            weekdays=self.weekday_numbers,
            allow_outside_legal=self.allow_outside_legal_hours,
        )

    def is_open(self, local: datetime) -> bool:
        """Whether ``local`` (a wall-clock time in the record's zone) falls inside the window."""
        return (
            local.weekday() in self.weekday_numbers
            and self.start_time <= local.time() < self.end_time
        )


class Variable(BaseModel):
    """A placeholder / agent variable each record supplies (in its placeholders)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description="Identifier used in templates as {{ name }}: letters, digits and "
        "underscores, not starting with a digit, 1-64 characters.",
        examples=["car_model"],
    )
    type: VariableType = Field(
        default=VariableType.STRING, description="The JSON type the value must have."
    )
    required: bool = Field(default=True, description="Whether every record must supply it.")
    description: str | None = Field(
        default=None, max_length=500, description="What the value means, for people."
    )

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _VARIABLE_NAME.fullmatch(value):
            raise ValueError(
                f"variable name {value!r} must be 1-64 letters, digits or underscores "
                "and must not start with a digit, e.g. car_model"
            )
        return value

    def to_spec(self) -> VariableSpec:
        return VariableSpec(name=self.name, type=self.type, required=self.required)


class OutcomeRule(BaseModel):
    """What an end reason means for the record: try again after a period, or stop."""

    model_config = ConfigDict(extra="forbid")

    action: OutcomeAction = Field(
        description="RETRY: make another attempt after period_minutes. FINAL: the record is "
        "settled (unless the step's next maps this reason to another step)."
    )
    period_minutes: int | None = Field(
        default=None,
        ge=1,
        le=43_200,
        description="Minutes to wait before the next attempt; required for RETRY (1-43200), "
        "not allowed for FINAL.",
    )

    @model_validator(mode="after")
    def _period_matches_action(self) -> OutcomeRule:
        if self.action is OutcomeAction.RETRY and self.period_minutes is None:
            raise ValueError(
                "a RETRY rule needs period_minutes: the minutes to wait before the next attempt"
            )
        if self.action is OutcomeAction.FINAL and self.period_minutes is not None:
            raise ValueError("period_minutes only applies to RETRY; remove it from a FINAL rule")
        return self


def default_outcomes() -> dict[EndReason, OutcomeRule]:
    return {
        reason: OutcomeRule(
            action=action, period_minutes=period if action is OutcomeAction.RETRY else None
        )
        for reason, (action, period) in default_outcome_rules().items()
    }


class RetryPolicy(BaseModel):
    """How often a record may be attempted and what each end reason leads to."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Lifetime call attempts per record, across all of its call steps.",
    )
    max_attempts_per_phone_type: dict[PhoneTypeName, Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=dict,
        description="Lifetime call attempts per phone type of a record (Talkdesk "
        "record_chain); a type left out is limited by max_attempts only.",
    )
    outcomes: dict[EndReason, OutcomeRule] = Field(
        default_factory=default_outcomes,
        description="RETRY/FINAL rule per end reason; reasons left out keep their defaults.",
    )
    daily_cap_per_phone: int = Field(
        default=3,
        ge=1,
        le=50,
        description="Most call attempts to one phone number in any rolling 24 hours.",
    )

    @field_validator("outcomes")
    @classmethod
    def _complete(cls, value: dict[EndReason, OutcomeRule]) -> dict[EndReason, OutcomeRule]:
        merged = default_outcomes()
        merged.update(value)
        return {reason: merged[reason] for reason in EndReason}

    def rule_for(self, reason: EndReason) -> OutcomeRule:
        return self.outcomes[reason]


def _step_id(value: str) -> str:
    if value in (END, DEFAULT):
        raise ValueError(f"{value!r} is reserved and cannot be a step id")
    if not _STEP_ID.fullmatch(value):
        raise ValueError(
            f"step id {value!r} must be 1-40 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit, e.g. call-1"
        )
    return value


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: ClassVar[frozenset[EndReason]] = frozenset()

    id: Annotated[str, AfterValidator(_step_id)] = Field(
        description="Short slug naming the step, unique in the workflow, e.g. call-1.",
    )
    name: str | None = Field(
        default=None, max_length=200, description="Optional display name for people."
    )
    day: int = Field(
        default=1,
        ge=1,
        le=366,
        description="Day of the schedule the step runs on; day 1 is the day the record is added.",
    )
    next: dict[NextKey, str] = Field(
        default_factory=dict,
        description="Where the record goes after this step, by end reason or 'default': a "
        "step id, or 'end' to finish the record. Unmapped reasons follow the rules in the "
        "workflow documentation (FINAL call outcomes finish; otherwise the following step).",
    )

    @field_validator("next", mode="before")
    @classmethod
    def _next_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        allowed = {str(reason) for reason in cls.reasons} | {DEFAULT}
        for key in value:
            if key not in allowed:
                kind = cls.model_fields["type"].default
                if cls.reasons:
                    options = ", ".join(sorted(cls.reasons))
                    raise ValueError(
                        f"next[{key!r}]: a {kind} step ends with one of {options}, or use 'default'"
                    )
                raise ValueError(f"next[{key!r}]: a {kind} step has no outcomes; use 'default'")
        return value


class CallStep(_Step):
    """Place a call, trying the record's phones in the order of phone_types."""

    reasons: ClassVar[frozenset[EndReason]] = CALL_REASONS

    type: Literal["call"] = Field(default="call", description="Step kind.")
    call: int = Field(
        default=1, ge=1, le=50, description="Call number within the day (2X 'Day 3, Call 1')."
    )
    phone_types: list[PhoneTypeName] = Field(
        default_factory=lambda: list(PHONE_TYPES),
        min_length=1,
        description="Phone types to try, first choice first; types a record lacks are skipped.",
    )
    script: str | None = Field(
        default=None,
        max_length=20_000,
        description="Agent script or prompt; {{ placeholders }} are filled from the record.",
    )
    max_duration_seconds: int = Field(
        default=600, ge=10, le=7200, description="Hang up a call that lasts longer than this."
    )

    @field_validator("phone_types")
    @classmethod
    def _unique_types(cls, value: list[PhoneTypeName]) -> list[PhoneTypeName]:
        if dups := _duplicates(list(value)):
            raise ValueError(f"phone_types lists {', '.join(dups)} more than once")
        return value


class SmsStep(_Step):
    """Send a text message (for example a pre-call text, or one left with a voicemail)."""

    reasons: ClassVar[frozenset[EndReason]] = MESSAGE_REASONS

    type: Literal["sms"] = Field(default="sms", description="Step kind.")
    message: str = Field(
        min_length=1,
        max_length=1600,
        description="Message template; {{ placeholders }} are filled from the record.",
    )


class EmailStep(_Step):
    """Send an email to the record's address."""

    reasons: ClassVar[frozenset[EndReason]] = MESSAGE_REASONS

    type: Literal["email"] = Field(default="email", description="Step kind.")
    subject: str = Field(
        min_length=1, max_length=998, description="Subject template with {{ placeholders }}."
    )
    body: str = Field(
        min_length=1, max_length=100_000, description="Body template with {{ placeholders }}."
    )


class WaitStep(_Step):
    """Pause the record for a number of minutes before the next step."""

    type: Literal["wait"] = Field(default="wait", description="Step kind.")
    minutes: int = Field(gt=0, le=527_040, description="How long to wait, in minutes.")


class WebhookStep(_Step):
    """POST the record's state to a URL (signed like every other webhook)."""

    reasons: ClassVar[frozenset[EndReason]] = MESSAGE_REASONS

    type: Literal["webhook"] = Field(default="webhook", description="Step kind.")
    url: str = Field(max_length=2048, description="http or https URL to POST to.")
    event: str | None = Field(
        default=None, description="Event name sent with the payload, e.g. lead.qualified."
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) URL; write it like https://example.com/hook"
            )
        return value

    @field_validator("event")
    @classmethod
    def _event_name(cls, value: str | None) -> str | None:
        if value is not None and not _EVENT.fullmatch(value):
            raise ValueError(
                f"event {value!r} must be 1-64 letters, digits, '.', '-' or '_', "
                "e.g. lead.qualified"
            )
        return value


Step: TypeAlias = Annotated[
    CallStep | SmsStep | EmailStep | WaitStep | WebhookStep, Field(discriminator="type")
]


def _default_steps() -> list[Step]:
    return [CallStep(id="call-1", day=1, call=1)]


def _can_fall_through(step: Step) -> bool:
    if DEFAULT in step.next:
        return False
    return not step.reasons or any(reason not in step.next for reason in step.reasons)


def _check_steps(steps: list[Step]) -> None:
    ids = [step.id for step in steps]
    if dups := _duplicates(ids):
        raise ValueError(f"step id {', '.join(dups)} is used by more than one step")
    known = set(ids)
    for step in steps:
        for key, target in step.next.items():
            if target != END and target not in known:
                raise ValueError(
                    f"step {step.id!r}: next[{str(key)!r}] points to {target!r}, which is not a "
                    f"step; use one of {', '.join(ids)} or 'end'"
                )
    _check_message_loops(steps)


def _check_message_loops(steps: list[Step]) -> None:
    """Reject a loop made only of non-call steps: it would send forever without an attempt."""
    by_id = {step.id: step for step in steps}
    edges: dict[str, list[str]] = {}
    for index, step in enumerate(steps):
        if isinstance(step, CallStep):
            continue
        targets = [t for t in step.next.values() if t != END]
        if _can_fall_through(step) and index + 1 < len(steps):
            targets.append(steps[index + 1].id)
        edges[step.id] = [t for t in dict.fromkeys(targets) if not isinstance(by_id[t], CallStep)]
    done: set[str] = set()
    for root in edges:
        if root in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                path.append(node)
                on_path.add(node)
            if i < len(edges[node]):
                stack.append((node, i + 1))
                child = edges[node][i]
                if child in on_path:
                    loop = [*path[path.index(child) :], child]
                    raise ValueError(
                        f"steps {' -> '.join(loop)} form a loop without a call step; "
                        "it would repeat forever"
                    )
                if child not in done:
                    stack.append((child, 0))
            else:
                path.pop()
                on_path.discard(node)
                done.add(node)


EXAMPLE_DEFINITION: dict[str, Any] = {
    "steps": [
        {
            "id": "pre-call-text",
            "type": "sms",
            "name": "Heads-up text",
            "day": 1,
            "message": "Hi {{ first_name }}, this is Acme Auto. We'll call shortly about "
            "your {{ car_model }} quote.",
        },
        {
            "id": "call-1",
            "type": "call",
            "name": "Day 1, Call 1",
            "day": 1,
            "call": 1,
            "phone_types": ["MOBILE", "HOME"],
            "script": "You are Sam from Acme Auto. Greet {{ first_name }} and confirm the "
            "{{ car_model }} quote of ${{ quote_amount }}. Offer a transfer to an agent.",
            "max_duration_seconds": 600,
            "next": {
                "call_transferred": "thanks-text",
                "voicemail_detected": "voicemail-text",
                "default": "call-2",
            },
        },
        {
            "id": "voicemail-text",
            "type": "sms",
            "day": 1,
            "message": "Sorry we missed you, {{ first_name }}. Call us back at +12125550199.",
            "next": {"default": "call-2"},
        },
        {"id": "call-2", "type": "call", "name": "Day 1, Call 2", "day": 1, "call": 2},
        {
            "id": "call-3",
            "type": "call",
            "name": "Day 2, Call 1",
            "day": 2,
            "call": 1,
            "phone_types": ["MOBILE", "HOME", "OFFICE"],
        },
        {
            "id": "follow-up-email",
            "type": "email",
            "day": 3,
            "subject": "Your {{ car_model }} quote",
            "body": "Hi {{ first_name }},\n\nYour quote of ${{ quote_amount }} is ready. "
            "Reply to this email or call +12125550199.",
        },
        {
            "id": "notify-crm",
            "type": "webhook",
            "day": 3,
            "url": "https://crm.example.com/hooks/dialflow",
            "event": "lead.unreached",
            "next": {"default": "end"},
        },
        {
            "id": "thanks-text",
            "type": "sms",
            "message": "Thanks for talking with us, {{ first_name }}!",
            "next": {"default": "end"},
        },
    ],
    "variables": [
        {"name": "car_model", "type": "string", "description": "Vehicle being quoted."},
        {"name": "quote_amount", "type": "number", "required": False},
    ],
    "calling_hours": {
        "start": "09:00",
        "end": "19:30",
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat"],
        "allow_outside_legal_hours": False,
    },
    "timezone": "America/New_York",
    "default_region": "US",
    "retry": {
        "max_attempts": 6,
        "max_attempts_per_phone_type": {"MOBILE": 4, "HOME": 2, "OFFICE": 1},
        "outcomes": {
            "no_answer": {"action": "RETRY", "period_minutes": 120},
            "voicemail_detected": {"action": "RETRY", "period_minutes": 240},
            "end_call": {"action": "FINAL"},
        },
        "daily_cap_per_phone": 2,
    },
    "caps": {"max_concurrent_calls": 20, "max_calls_per_second": 2.0},
    "caller_ids": ["+12125550100", "+12125550101"],
    "transfer_number": "+12125550199",
    "dedup": "phone",
    "ends_at": "2026-12-31T23:59:00-05:00",
    "provider": "simulator",
}


class Caps(BaseModel):
    """Pacing limits for the workflow's calls (none by default)."""

    model_config = ConfigDict(extra="forbid")

    max_concurrent_calls: int | None = Field(
        default=None, ge=1, le=100_000, description="Most calls in progress at once."
    )
    max_calls_per_second: float | None = Field(
        default=None, gt=0, le=1000, description="Most new calls started per second."
    )


class WorkflowDefinition(BaseModel):
    """Everything that decides who is contacted, when, how, and what happens next."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_DEFINITION]})

    steps: list[Step] = Field(
        default_factory=_default_steps,
        min_length=1,
        max_length=200,
        description="The schedule; the first step is where every record starts.",
    )
    variables: list[Variable] = Field(
        default_factory=list,
        max_length=200,
        description="Placeholders / agent variables each record carries; names are unique.",
    )
    calling_hours: CallingHours = Field(
        default_factory=CallingHours, description="When calls may be placed, in local time."
    )
    timezone: str = Field(
        default="America/New_York",
        description="IANA time zone for records whose own zone is unknown.",
        examples=["America/New_York"],
    )
    default_region: str = Field(
        default="US",
        description="ISO 3166 alpha-2 region used to read phone numbers written without "
        "a country code.",
        examples=["US"],
    )
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy, description="Attempt limits and per-outcome rules."
    )
    caps: Caps = Field(default_factory=Caps, description="Concurrency and rate limits.")
    caller_ids: list[E164] = Field(
        default_factory=list,
        max_length=1000,
        description="Numbers calls are placed from (rotated); empty uses the workspace's.",
    )
    transfer_number: E164 | None = Field(
        default=None,
        description="Where interested leads are transferred; a record's own transfer number "
        "wins, and without either the workspace's is used.",
    )
    dedup: Literal["phone", "external_id", "none"] = Field(
        default="phone",
        description="What makes two records the same: a shared phone number, a shared "
        "external id, or nothing (every record is new).",
    )
    ends_at: datetime | None = Field(
        default=None,
        description="When the workflow completes by itself; must include a UTC offset.",
    )
    provider: str = Field(
        default="simulator", description="Telephony provider that places the calls."
    )

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: list[Step]) -> list[Step]:
        _check_steps(value)
        return value

    @field_validator("variables")
    @classmethod
    def _unique_variables(cls, value: list[Variable]) -> list[Variable]:
        if dups := _duplicates([v.name.lower() for v in value]):
            raise ValueError(
                f"variable {', '.join(dups)} is declared more than once (names ignore case)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in _timezones():
            raise ValueError(
                f"{value!r} is not an IANA time zone; use a name like America/New_York"
            )
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 region code like US or GB")
        return region

    @field_validator("caller_ids")
    @classmethod
    def _unique_caller_ids(cls, value: list[str]) -> list[str]:
        if dups := _duplicates(value):
            raise ValueError(f"caller_ids lists {', '.join(dups)} more than once")
        return value

    @field_validator("ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("ends_at must include a UTC offset, e.g. 2026-12-31T23:59:00-05:00")
        return value

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        if not _PROVIDER.fullmatch(value):
            raise ValueError(
                f"provider {value!r} must be 1-40 lowercase letters, digits, '-' or '_'"
            )
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def entry_step(self) -> Step:
        return self.steps[0]

    def variable_specs(self) -> tuple[VariableSpec, ...]:
        return tuple(variable.to_spec() for variable in self.variables)

    def get_step(self, step_id: str) -> Step:
        """The step with ``step_id``; ``KeyError`` when there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def next_step_id(self, step_id: str, reason: EndReason | None) -> str | None:
        """Where a record goes after ``step_id`` ended with ``reason``; ``None`` = finished.

        Raises ``KeyError`` for an unknown ``step_id``. Routing only (see the module docstring):
        attempt budgets, the RETRY period and the target's ``day`` are for the scheduler.
        """
        step = self.get_step(step_id)
        index = self.steps.index(step)
        following = self.steps[index + 1].id if index + 1 < len(self.steps) else None

        def target(value: str) -> str | None:
            return None if value == END else value

        if reason is not None and reason in step.next:
            return target(step.next[reason])
        if isinstance(step, CallStep):
            if reason is None or self.retry.rule_for(reason).action is OutcomeAction.FINAL:
                return None
            if DEFAULT in step.next:
                return target(step.next[DEFAULT])
            return following or step.id
        if DEFAULT in step.next:
            return target(step.next[DEFAULT])
        return following


def _check_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("name must not be blank")
    return value


WorkflowName: TypeAlias = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(_check_name)
]


class WorkflowCreate(BaseModel):
    """Request body that creates a workflow."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Auto quote follow-up",
                    "key": "K7QF3M",
                    "status": "draft",
                    "definition": EXAMPLE_DEFINITION,
                }
            ]
        },
    )

    name: WorkflowName = Field(description="Display name, 1-200 characters.")
    key: str | None = Field(
        default=None,
        description="Public key, 6 characters A-Z or 0-9 like A1B2C3 (upper-cased); "
        "generated when absent.",
        examples=["A1B2C3"],
    )
    definition: WorkflowDefinition = Field(
        default_factory=WorkflowDefinition,
        description="Steps, schedule and policies; defaults to a single call step.",
    )
    status: Literal["draft", "active"] = Field(
        default="draft",
        description="draft (default) to review before calling, or active to start at once.",
    )

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        key = value.upper()
        if not _PUBLIC_KEY.fullmatch(key):
            raise ValueError(f"key {value!r} must be exactly 6 letters or digits, e.g. A1B2C3")
        return key

    @property
    def initial_status(self) -> WorkflowStatus:
        return WorkflowStatus(self.status)


class WorkflowUpdate(BaseModel):
    """Request body that renames a workflow and/or replaces its whole definition."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Renewals (winter)", "definition": EXAMPLE_DEFINITION}]
        },
    )

    name: WorkflowName | None = Field(default=None, description="New display name.")
    definition: WorkflowDefinition | None = Field(
        default=None, description="A complete replacement definition (not a partial patch)."
    )


class WorkflowOut(BaseModel):
    """A workflow as the API returns it."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    id: int = Field(description="Internal numeric id.")
    key: str = Field(description="Public 6-character key, e.g. A1B2C3.")
    name: str = Field(description="Display name.")
    status: WorkflowStatus = Field(description="Lifecycle status.")
    definition: WorkflowDefinition = Field(description="Steps, schedule and policies.")
    created_at: datetime = Field(description="When the workflow was created.")
    updated_at: datetime = Field(description="When the workflow last changed.")

    allowed_actions: list[str] = Field(
        description="Lifecycle actions the current status allows, e.g. pause, stop.",
        examples=[["pause", "stop", "complete"]],
    )

    @staticmethod
    def actions_for(status: WorkflowStatus) -> list[str]:
        """The ``allowed_actions`` value for ``status``."""
        return [action.value for action in allowed_actions(status)]
