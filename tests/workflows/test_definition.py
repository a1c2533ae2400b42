from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from dialflow.domain.outcomes import EndReason, OutcomeAction
from dialflow.domain.variables import VariableSpec, VariableType
from dialflow.domain.workflows import WorkflowStatus
from dialflow.workflows.definition import (
    EXAMPLE_DEFINITION,
    PUBLIC_KEY_ALPHABET,
    CallingHours,
    CallStep,
    Caps,
    OutcomeRule,
    RetryPolicy,
    SmsStep,
    Variable,
    WorkflowCreate,
    WorkflowDefinition,
    WorkflowOut,
    WorkflowUpdate,
    generate_public_key,
)


def example() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE_DEFINITION)


def definition(**changes: Any) -> WorkflowDefinition:
    data = example()
    data.update(changes)
    return WorkflowDefinition.model_validate(data)


def rejects(fragment: str, **changes: Any) -> None:
    with pytest.raises(ValidationError, match=re.escape(fragment)):
        definition(**changes)


def call(step_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "call", **extra}


def sms(step_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "sms", "message": "hi {{ first_name }}", **extra}


# --- the documented examples -------------------------------------------------------------------


def test_documented_example_validates_and_round_trips() -> None:
    parsed = WorkflowDefinition.model_validate(EXAMPLE_DEFINITION)
    assert [s.type for s in parsed.steps] == [
        "sms",
        "call",
        "sms",
        "call",
        "call",
        "email",
        "webhook",
        "sms",
    ]
    assert parsed.retry.rule_for(EndReason.NO_ANSWER) == OutcomeRule(
        action=OutcomeAction.RETRY, period_minutes=120
    )
    again = WorkflowDefinition.model_validate(parsed.model_dump(mode="json"))
    assert again == parsed


def test_create_example_and_json_schema() -> None:
    create_schema = WorkflowCreate.model_json_schema()
    (body,) = create_schema["examples"]
    created = WorkflowCreate.model_validate(body)
    assert created.key == "K7QF3M"
    assert created.initial_status is WorkflowStatus.DRAFT
    definition_schema = create_schema["$defs"]["WorkflowDefinition"]
    assert definition_schema["examples"] == [EXAMPLE_DEFINITION]
    for model in (WorkflowDefinition, WorkflowUpdate, WorkflowOut):
        assert model.model_json_schema()


def test_every_field_is_described() -> None:
    schema = WorkflowCreate.model_json_schema()
    models = {"WorkflowCreate": schema, **schema["$defs"]}
    for model_name, model in models.items():
        for field_name, field in model.get("properties", {}).items():
            assert field.get("description"), f"{model_name}.{field_name}"


def test_defaults() -> None:
    default = WorkflowDefinition()
    assert len(default.steps) == 1
    (step,) = default.steps
    assert isinstance(step, CallStep)
    assert (step.id, step.day, step.call) == ("call-1", 1, 1)
    assert step.phone_types == ["MOBILE", "HOME", "OFFICE", "EXTRA_1", "EXTRA_2", "EXTRA_3"]
    assert step.max_duration_seconds == 600
    assert default.timezone == "America/New_York"
    assert default.default_region == "US"
    assert default.dedup == "phone"
    assert default.provider == "simulator"
    assert default.calling_hours.weekdays == ["mon", "tue", "wed", "thu", "fri"]
    assert (default.calling_hours.start, default.calling_hours.end) == ("09:00", "20:00")
    assert default.retry.max_attempts == 3
    assert default.retry.daily_cap_per_phone == 3
    assert set(default.retry.outcomes) == set(EndReason)
    assert WorkflowCreate(name="x").definition == default


def test_unknown_fields_are_reported() -> None:
    rejects("Extra inputs are not permitted", calling_hour={"start": "09:00"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        CallingHours.model_validate({"start": "09:00", "ned": "17:00"})


# --- calling hours -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["9:00", "09:60", "24:00", "0900", "09:00:00", ""])
def test_calling_hours_need_hh_mm(bad: str) -> None:
    with pytest.raises(ValidationError, match="use 24-hour HH:MM"):
        CallingHours(start=bad)


def test_calling_hours_start_before_end() -> None:
    with pytest.raises(ValidationError, match="start 12:00 must be before end 12:00"):
        CallingHours(start="12:00", end="12:00")
    with pytest.raises(ValidationError, match="cannot cross midnight"):
        CallingHours(start="20:00", end="09:00", allow_outside_legal_hours=True)


def test_calling_hours_legal_range_and_override() -> None:
    with pytest.raises(ValidationError, match="outside the legal window 08:00-21:00"):
        CallingHours(start="07:30", end="17:00")
    with pytest.raises(ValidationError, match="allow_outside_legal_hours"):
        CallingHours(start="09:00", end="21:01")
    assert CallingHours(start="08:00", end="21:00").end == "21:00"
    late = CallingHours(start="07:00", end="22:00", allow_outside_legal_hours=True)
    assert late.start_time.hour == 7


def test_weekdays_rules() -> None:
    with pytest.raises(ValidationError, match="weekdays lists mon more than once"):
        CallingHours(weekdays=["mon", "tue", "mon"])
    with pytest.raises(ValidationError, match="at least 1 item"):
        CallingHours(weekdays=[])
    with pytest.raises(ValidationError, match="Input should be 'mon'"):
        CallingHours.model_validate({"weekdays": ["monday"]})


def test_is_open() -> None:
    hours = CallingHours(start="09:00", end="17:00", weekdays=["mon", "sat"])
    monday = datetime(2025, 6, 2, 9, 0)
    assert hours.weekday_numbers == {0, 5}
    assert hours.is_open(monday)
    assert not hours.is_open(monday.replace(hour=17))
    assert not hours.is_open(monday.replace(hour=8, minute=59))
    assert not hours.is_open(monday.replace(day=3, hour=12))  # Tuesday


hours_st = st.integers(0, 23)
minutes_st = st.integers(0, 59)


@given(hours_st, minutes_st, hours_st, minutes_st, st.booleans())
def test_calling_hours_accepted_iff_ordered_and_legal(
    h1: int, m1: int, h2: int, m2: int, override: bool
) -> None:
    start, end = f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"
    ordered = start < end
    legal = start >= "08:00" and end <= "21:00"
    should_accept = ordered and (legal or override)
    try:
        hours = CallingHours(start=start, end=end, allow_outside_legal_hours=override)
    except ValidationError:
        assert not should_accept
    else:
        assert should_accept
        assert (hours.start, hours.end) == (start, end)


# --- variables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "1car", "car model", "car-model", "x" * 65, "café"])
def test_variable_names_are_identifiers(bad: str) -> None:
    with pytest.raises(ValidationError, match="must be 1-64 letters, digits or underscores"):
        Variable(name=bad)


def test_variables_unique_and_specs() -> None:
    rejects(
        "variable car is declared more than once",
        variables=[{"name": "car"}, {"name": "Car", "type": "number"}],
    )
    parsed = definition(
        variables=[{"name": "car"}, {"name": "price", "type": "number", "required": False}]
    )
    assert parsed.variable_specs() == (
        VariableSpec("car"),
        VariableSpec("price", VariableType.NUMBER, required=False),
    )
    assert Variable(name="_x" + "y" * 62).to_spec().name.startswith("_x")


# --- retry policy ------------------------------------------------------------------------------


def test_outcome_rule_period_matches_action() -> None:
    with pytest.raises(ValidationError, match="a RETRY rule needs period_minutes"):
        OutcomeRule(action=OutcomeAction.RETRY)
    with pytest.raises(ValidationError, match="period_minutes only applies to RETRY"):
        OutcomeRule(action=OutcomeAction.FINAL, period_minutes=5)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        OutcomeRule(action=OutcomeAction.RETRY, period_minutes=0)


def test_outcomes_merge_with_defaults() -> None:
    policy = RetryPolicy.model_validate({"outcomes": {"busy": {"action": "FINAL"}}})
    assert set(policy.outcomes) == set(EndReason)
    assert policy.rule_for(EndReason.BUSY).action is OutcomeAction.FINAL
    assert policy.rule_for(EndReason.NO_ANSWER).period_minutes == 60
    with pytest.raises(ValidationError, match="Input should be 'call_transferred'"):
        RetryPolicy.model_validate({"outcomes": {"no_anwser": {"action": "FINAL"}}})


def test_retry_limits() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        RetryPolicy(max_attempts=101)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValidationError, match="less than or equal to 50"):
        RetryPolicy(daily_cap_per_phone=51)
    with pytest.raises(ValidationError, match="Input should be 'HOME'"):
        RetryPolicy.model_validate({"max_attempts_per_phone_type": {"CELL": 2}})
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        RetryPolicy.model_validate({"max_attempts_per_phone_type": {"HOME": 0}})
    ok = RetryPolicy.model_validate({"max_attempts_per_phone_type": {"EXTRA_3": 1}})
    assert ok.max_attempts_per_phone_type == {"EXTRA_3": 1}


# --- steps -------------------------------------------------------------------------------------


def test_at_least_one_step_and_known_type() -> None:
    rejects("at least 1 item", steps=[])
    rejects("does not match any of the expected tags", steps=[{"id": "x", "type": "fax"}])
    rejects("Unable to extract tag using discriminator 'type'", steps=[{"id": "x"}])


def test_step_ids() -> None:
    rejects("step id call-1 is used by more than one step", steps=[call("call-1"), call("call-1")])
    rejects("'end' is reserved", steps=[call("end")])
    rejects("'default' is reserved", steps=[call("default")])
    rejects("must be 1-40 lowercase letters", steps=[call("Call 1")])
    rejects("must be 1-40 lowercase letters", steps=[call("a" * 41)])


def test_next_references_must_exist() -> None:
    rejects(
        "step 'call-1': next['no_answer'] points to 'call-9', which is not a step; "
        "use one of call-1, call-2 or 'end'",
        steps=[call("call-1", next={"no_answer": "call-9"}), call("call-2")],
    )
    parsed = definition(
        steps=[
            call("call-1", next={"no_answer": "call-2", "busy": "call-1", "default": "end"}),
            call("call-2"),
        ]
    )
    assert parsed.steps[0].next == {
        EndReason.NO_ANSWER: "call-2",
        EndReason.BUSY: "call-1",
        "default": "end",
    }


def test_next_keys_must_fit_the_step_kind() -> None:
    rejects(
        "next['no_answer']: a sms step ends with one of delivered, undelivered",
        steps=[sms("text", next={"no_answer": "end"})],
    )
    rejects(
        "next['delivered']: a call step ends with one of",
        steps=[call("c", next={"delivered": "end"})],
    )
    rejects(
        "next['default ']: a call step",
        steps=[call("c", next={"default ": "end"})],
    )
    rejects(
        "a wait step has no outcomes; use 'default'",
        steps=[{"id": "w", "type": "wait", "minutes": 5, "next": {"delivered": "end"}}, call("c")],
    )


def test_loops_without_a_call_are_rejected() -> None:
    rejects(
        "steps a -> b -> a form a loop without a call step",
        steps=[sms("a"), sms("b", next={"default": "a"})],
    )
    rejects(
        "steps w -> w form a loop without a call step",
        steps=[{"id": "w", "type": "wait", "minutes": 5, "next": {"default": "w"}}],
    )
    # Through a call step the loop is bounded by the attempt budget.
    parsed = definition(steps=[call("c"), sms("t", next={"default": "c"})])
    assert len(parsed.steps) == 2
    # Both outcomes mapped elsewhere: no fall-through edge back into the loop.
    definition(steps=[sms("a", next={"delivered": "end", "undelivered": "end"}), sms("b", next={})])


def test_call_step_rules() -> None:
    rejects("phone_types lists HOME more than once", steps=[call("c", phone_types=["HOME"] * 2)])
    rejects("at least 1 item", steps=[call("c", phone_types=[])])
    rejects("Input should be 'HOME'", steps=[call("c", phone_types=["CELL"])])
    rejects("greater than or equal to 1", steps=[call("c", call=0)])
    rejects("greater than or equal to 1", steps=[call("c", day=0)])
    rejects("greater than or equal to 10", steps=[call("c", max_duration_seconds=5)])


def test_message_and_other_steps() -> None:
    rejects("Field required", steps=[{"id": "t", "type": "sms"}])
    rejects("at least 1 character", steps=[sms("t", message="")])
    rejects("Field required", steps=[{"id": "e", "type": "email", "subject": "s"}])
    rejects("greater than 0", steps=[{"id": "w", "type": "wait", "minutes": 0}])
    for bad in ("ftp://example.com/x", "example.com/hook", "https://"):
        rejects(
            "is not an http(s) URL",
            steps=[{"id": "h", "type": "webhook", "url": bad}],
        )
    rejects(
        "event 'lead qualified' must be 1-64",
        steps=[
            {"id": "h", "type": "webhook", "url": "https://x.test/h", "event": "lead qualified"}
        ],
    )


# --- workflow-level fields ---------------------------------------------------------------------


def test_timezone() -> None:
    rejects("'Mars/Olympus' is not an IANA time zone", timezone="Mars/Olympus")
    assert definition(timezone="Europe/London").zone.key == "Europe/London"
    assert definition(timezone="UTC").timezone == "UTC"


def test_default_region() -> None:
    assert definition(default_region="gb").default_region == "GB"
    rejects("'XX' is not an ISO 3166 alpha-2 region", default_region="XX")
    rejects("'USA' is not an ISO 3166 alpha-2 region", default_region="USA")


@pytest.mark.parametrize("bad", ["2125551234", "+1 212 555 1234", "+0123456789", "+123", "+1" * 9])
def test_phone_numbers_are_e164(bad: str) -> None:
    rejects("is not an E.164 phone number", caller_ids=[bad])
    rejects("is not an E.164 phone number", transfer_number=bad)


def test_caller_ids_unique() -> None:
    rejects(
        "caller_ids lists +12125551234 more than once",
        caller_ids=["+12125551234", "+12125551234"],
    )
    assert definition(caller_ids=[], transfer_number=None).caller_ids == []


def test_ends_at_needs_an_offset() -> None:
    rejects("ends_at must include a UTC offset", ends_at="2026-01-01T00:00:00")
    parsed = definition(ends_at="2026-01-01T00:00:00Z")
    assert parsed.ends_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_dedup_provider_and_caps() -> None:
    rejects("Input should be 'phone', 'external_id' or 'none'", dedup="email")
    rejects("provider 'Twilio!' must be", provider="Twilio!")
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Caps(max_concurrent_calls=0)
    with pytest.raises(ValidationError, match="greater than 0"):
        Caps(max_calls_per_second=0)
    assert Caps(max_calls_per_second=0.5).max_calls_per_second == 0.5


# --- routing -----------------------------------------------------------------------------------


def test_routing_of_the_example() -> None:
    d = WorkflowDefinition.model_validate(EXAMPLE_DEFINITION)
    assert d.entry_step.id == "pre-call-text"
    assert d.next_step_id("pre-call-text", EndReason.DELIVERED) == "call-1"
    assert d.next_step_id("pre-call-text", EndReason.UNDELIVERED) == "call-1"
    assert d.next_step_id("call-1", EndReason.NO_ANSWER) == "call-2"  # RETRY -> default
    assert d.next_step_id("call-1", EndReason.VOICEMAIL_DETECTED) == "voicemail-text"
    assert d.next_step_id("call-1", EndReason.CALL_TRANSFERRED) == "thanks-text"  # explicit
    assert d.next_step_id("call-1", EndReason.NOT_INTERESTED) is None  # FINAL finishes
    assert d.next_step_id("call-2", EndReason.BUSY) == "call-3"  # falls through
    assert d.next_step_id("call-3", EndReason.NO_ANSWER) == "follow-up-email"
    assert d.next_step_id("follow-up-email", EndReason.DELIVERED) == "notify-crm"
    assert d.next_step_id("notify-crm", EndReason.DELIVERED) is None  # "end"
    assert d.next_step_id("thanks-text", EndReason.DELIVERED) is None


def test_routing_single_step_repeats_and_wait_continues() -> None:
    d = WorkflowDefinition()
    assert d.next_step_id("call-1", EndReason.NO_ANSWER) == "call-1"
    assert d.next_step_id("call-1", EndReason.WRONG_NUMBER) is None
    d = definition(
        steps=[{"id": "w", "type": "wait", "minutes": 30}, call("c")],
        retry={"outcomes": {"no_answer": {"action": "FINAL"}}},
    )
    assert d.next_step_id("w", None) == "c"
    assert d.next_step_id("c", EndReason.NO_ANSWER) is None
    assert d.get_step("w").type == "wait"
    with pytest.raises(KeyError):
        d.get_step("nope")


# --- request / response bodies -----------------------------------------------------------------


def test_workflow_create_rules() -> None:
    with pytest.raises(ValidationError, match="name must not be blank"):
        WorkflowCreate(name="   ")
    with pytest.raises(ValidationError, match="at most 200 characters"):
        WorkflowCreate(name="x" * 201)
    with pytest.raises(ValidationError, match="must be exactly 6 letters or digits"):
        WorkflowCreate(name="x", key="ABC12")
    with pytest.raises(ValidationError, match="must be exactly 6 letters or digits"):
        WorkflowCreate(name="x", key="ABC-12")
    assert WorkflowCreate(name="  x ", key="a1b2c3").key == "A1B2C3"
    assert WorkflowCreate(name="  x ").name == "x"
    assert WorkflowCreate(name="x").key is None
    with pytest.raises(ValidationError, match="Input should be 'draft' or 'active'"):
        WorkflowCreate.model_validate({"name": "x", "status": "paused"})
    assert WorkflowCreate(name="x", status="active").initial_status is WorkflowStatus.ACTIVE


def test_workflow_update_and_out() -> None:
    assert WorkflowUpdate().model_dump(exclude_unset=True) == {}
    update = WorkflowUpdate.model_validate({"definition": {"timezone": "Europe/Paris"}})
    assert update.definition is not None
    assert update.definition.timezone == "Europe/Paris"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        WorkflowUpdate.model_validate({"status": "active"})
    now = datetime(2025, 1, 1, tzinfo=UTC)
    out = WorkflowOut(
        id=1,
        key="A1B2C3",
        name="x",
        status=WorkflowStatus.ACTIVE,
        definition=WorkflowDefinition(),
        created_at=now,
        updated_at=now,
        allowed_actions=WorkflowOut.actions_for(WorkflowStatus.ACTIVE),
    )
    assert out.model_dump(mode="json")["allowed_actions"] == ["pause", "stop", "complete"]


def test_generate_public_key() -> None:
    keys = {generate_public_key() for _ in range(200)}
    assert len(keys) > 190
    for key in keys:
        assert len(key) == 6
        assert set(key) <= set(PUBLIC_KEY_ALPHABET)
        assert not set(key) & set("O0I1")
        assert WorkflowCreate(name="x", key=key).key == key


def test_python_construction_is_typed() -> None:
    step = SmsStep(id="t", message="hello", next={EndReason.DELIVERED: "end"})
    d = WorkflowDefinition(steps=[step, CallStep(id="c")])
    assert d.next_step_id("t", EndReason.DELIVERED) is None
    assert d.next_step_id("t", EndReason.UNDELIVERED) == "c"
