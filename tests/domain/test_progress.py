"""Record progress: the pure state machine that decides a record's next step after an outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialflow.domain.outcomes import CALL_REASONS, MESSAGE_REASONS, EndReason
from dialflow.domain.progress import (
    MAX_ATTEMPTS,
    NO_PHONE_LEFT,
    PHONE_TYPE_EXHAUSTED,
    WORKFLOW_END,
    Decision,
    RecordProgress,
    StepOutcome,
    advance,
    choose_phone,
    day_start,
    decide,
    first_due,
    initial_progress,
    phone_to_dial,
    wait_until,
)
from dialflow.workflows.definition import (
    PHONE_TYPES,
    CallStep,
    WaitStep,
    WorkflowDefinition,
)

NY = "America/New_York"
# 10:00 New York time on Tuesday 5 March 2024 (EST, UTC-5).
NOW = datetime(2024, 3, 5, 15, 0, tzinfo=UTC)
MOBILE = {"number": "+12125550001", "type": "MOBILE"}
MOBILE_2 = {"number": "+12125550002", "type": "MOBILE"}
HOME = {"number": "+12125550003", "type": "HOME"}
OFFICE = {"number": "+12125550004", "type": "OFFICE"}
PHONES = [MOBILE, HOME, OFFICE]
NA = EndReason.NO_ANSWER


def _definition(steps: list[dict[str, Any]], **retry: Any) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({"steps": steps, "retry": retry})


def _call(step_id: str, day: int = 1, call: int = 1, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "call", "day": day, "call": call, **extra}


def _sms(step_id: str, day: int = 1, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "sms", "day": day, "message": "Hi", **extra}


def _start(definition: WorkflowDefinition, now: datetime = NOW) -> RecordProgress:
    return initial_progress(definition, now, (NY,))


def _decide(
    definition: WorkflowDefinition,
    progress: RecordProgress,
    reason: EndReason,
    now: datetime = NOW,
    *,
    phone_type: str | None = "MOBILE",
    callback_at: datetime | None = None,
    phones: Sequence[Mapping[str, str]] = PHONES,
    blocked: frozenset[str] = frozenset(),
) -> Decision:
    step = definition.get_step(progress.step_id)
    outcome = StepOutcome(reason, phone_type if isinstance(step, CallStep) else None, callback_at)
    return decide(definition, progress, outcome, now, phones=phones, blocked=blocked)


# --- examples ---------------------------------------------------------------------------------

TWO_X = _definition(
    [_call("call-1", 1, 1), _call("call-2", 1, 2), _call("call-3", 2, 1)], max_attempts=10
)


def test_two_x_schedule_walks_day_and_call_numbers() -> None:
    progress = _start(TWO_X)
    assert (progress.step_id, progress.day, progress.call, progress.attempts) == ("call-1", 1, 1, 0)
    assert first_due(TWO_X, progress, NOW) == NOW

    first = _decide(TWO_X, progress, NA)
    assert not first.finished
    assert (first.step_id, first.day, first.call) == ("call-2", 1, 2)
    assert first.due_at == NOW + timedelta(minutes=60)
    assert first.attempts == 1
    assert first.phone_attempts == {"MOBILE": 1}
    assert first.note == "no_answer: retry call-2 in 60 min"

    later = NOW + timedelta(hours=2)
    second = _decide(TWO_X, advance(progress, first), NA, later)
    assert (second.step_id, second.day, second.call) == ("call-3", 2, 1)
    # Day 2 starts at local midnight in New York (EST): 05:00 UTC, not now + 60 minutes.
    assert second.due_at == datetime(2024, 3, 6, 5, 0, tzinfo=UTC)
    assert second.due_at.astimezone(ZoneInfo(NY)).time() == time(0, 0)
    assert second.note == "no_answer: retry call-3 on day 2, from 2024-03-06 05:00 UTC"
    assert second.attempts == 2

    # The last step retries itself.
    day2 = datetime(2024, 3, 6, 15, 0, tzinfo=UTC)
    third = _decide(TWO_X, advance(advance(progress, first), second), NA, day2)
    assert (third.step_id, third.day, third.call) == ("call-3", 2, 1)
    assert third.due_at == day2 + timedelta(minutes=60)
    assert third.phone_attempts == {"MOBILE": 3}


def test_late_evening_retry_is_not_pulled_back_by_the_day_start() -> None:
    progress = _start(TWO_X)
    late = datetime(2024, 3, 6, 4, 30, tzinfo=UTC)  # 23:30 local on day 1
    decision = _decide(TWO_X, progress, NA, late)
    assert decision.due_at == late + timedelta(minutes=60)


def test_voicemail_retries_after_its_period() -> None:
    definition = _definition([_call("call-1")])
    decision = _decide(definition, _start(definition), EndReason.VOICEMAIL_DETECTED)
    assert decision.step_id == "call-1"
    assert decision.due_at == NOW + timedelta(minutes=180)
    assert decision.note == "voicemail_detected: retry call-1 in 180 min"


def test_custom_retry_period() -> None:
    definition = _definition(
        [_call("call-1")], outcomes={"busy": {"action": "RETRY", "period_minutes": 7}}
    )
    decision = _decide(definition, _start(definition), EndReason.BUSY)
    assert decision.due_at == NOW + timedelta(minutes=7)


def test_do_not_call_finishes_and_adds_to_dnc() -> None:
    decision = _decide(TWO_X, _start(TWO_X), EndReason.DO_NOT_CALL)
    assert decision.finished
    assert decision.final_outcome == "do_not_call"
    assert decision.add_to_dnc
    assert decision.step_id is None
    assert decision.due_at is None
    assert decision.note == "do_not_call: finished; number added to the do-not-call list"


def test_do_not_call_never_leads_to_another_call() -> None:
    direct = _definition([_call("call-1", next={"do_not_call": "call-2"}), _call("call-2")])
    decision = _decide(direct, _start(direct), EndReason.DO_NOT_CALL)
    assert decision.finished
    assert decision.final_outcome == "do_not_call"
    assert decision.add_to_dnc

    via_text = _definition(
        [_call("call-1", next={"do_not_call": "bye"}), _sms("bye"), _call("call-2")]
    )
    progress = _start(via_text)
    to_text = _decide(via_text, progress, EndReason.DO_NOT_CALL)
    assert not to_text.finished
    assert to_text.step_id == "bye"
    assert to_text.add_to_dnc
    assert to_text.note.endswith("; number added to the do-not-call list")
    after_text = _decide(via_text, advance(progress, to_text), EndReason.DELIVERED)
    assert after_text.finished
    assert after_text.final_outcome == NO_PHONE_LEFT
    assert not after_text.add_to_dnc


def test_call_transferred_finishes() -> None:
    decision = _decide(TWO_X, _start(TWO_X), EndReason.CALL_TRANSFERRED)
    assert decision.finished
    assert decision.final_outcome == "call_transferred"
    assert not decision.add_to_dnc
    assert decision.attempts == 1
    assert decision.note == "call_transferred: finished"


def test_final_reason_with_explicit_next_goes_on_immediately() -> None:
    definition = _definition(
        [_call("call-1", next={"call_transferred": "thanks"}), _sms("thanks", day=3)]
    )
    decision = _decide(definition, _start(definition), EndReason.CALL_TRANSFERRED)
    assert decision.step_id == "thanks"
    assert decision.note.startswith("call_transferred: next thanks on day 3")
    assert decision.due_at == datetime(2024, 3, 7, 5, 0, tzinfo=UTC)

    same_day = _definition([_call("call-1", next={"call_transferred": "thanks"}), _sms("thanks")])
    decision = _decide(same_day, _start(same_day), EndReason.CALL_TRANSFERRED)
    assert decision.due_at == NOW
    assert decision.note == "call_transferred: next thanks now"


def test_max_attempts_finishes_the_record() -> None:
    definition = _definition([_call("call-1")], max_attempts=2)
    progress = _start(definition)
    first = _decide(definition, progress, NA)
    assert not first.finished
    second = _decide(definition, advance(progress, first), NA, NOW + timedelta(hours=1))
    assert second.finished
    assert second.final_outcome == MAX_ATTEMPTS
    assert second.attempts == 2
    assert second.note == "no_answer: finished; all 2 call attempts used"


def test_max_attempts_is_checked_when_a_message_leads_to_a_call() -> None:
    definition = _definition(
        [_call("call-1", next={"voicemail_detected": "vm-text"}), _sms("vm-text"), _call("call-2")],
        max_attempts=1,
    )
    progress = _start(definition)
    to_text = _decide(definition, progress, EndReason.VOICEMAIL_DETECTED)
    assert to_text.step_id == "vm-text"  # a text is not a call: the budget does not stop it
    after_text = _decide(definition, advance(progress, to_text), EndReason.DELIVERED)
    assert after_text.finished
    assert after_text.final_outcome == MAX_ATTEMPTS


def test_phone_chain_mobile_then_office() -> None:
    definition = _definition(
        [_call("call-1", phone_types=["MOBILE", "OFFICE"])],
        max_attempts=5,
        max_attempts_per_phone_type={"MOBILE": 1, "OFFICE": 1},
    )
    progress = _start(definition)
    assert phone_to_dial(definition, progress, phones=PHONES) == MOBILE

    first = _decide(definition, progress, NA, phone_type="MOBILE")
    assert not first.finished
    progress = advance(progress, first)
    assert phone_to_dial(definition, progress, phones=PHONES) == OFFICE

    second = _decide(definition, progress, NA, phone_type="OFFICE")
    assert second.finished
    assert second.final_outcome == NO_PHONE_LEFT
    assert second.phone_attempts == {"MOBILE": 1, "OFFICE": 1}
    assert second.note == "no_answer: finished; no phone left to dial for call-1"


def test_wrong_number_on_mobile_skips_to_office() -> None:
    definition = _definition(
        [_call("call-1", phone_types=["MOBILE", "OFFICE"], next={"wrong_number": "call-1"})]
    )
    progress = _start(definition)
    decision = _decide(definition, progress, EndReason.WRONG_NUMBER, phone_type="MOBILE")
    assert not decision.finished
    assert decision.due_at == NOW  # FINAL reason with an explicit next: at once
    assert decision.phone_attempts == {"MOBILE": PHONE_TYPE_EXHAUSTED}
    assert "MOBILE numbers not dialed again this cycle" in decision.note
    progress = advance(progress, decision)
    # MOBILE_2 is another MOBILE number, but the whole type is spent for this cycle.
    phones = [MOBILE, MOBILE_2, OFFICE]
    assert phone_to_dial(definition, progress, phones=phones) == OFFICE

    again = _decide(
        definition, progress, EndReason.WRONG_NUMBER, phone_type="OFFICE", phones=phones
    )
    assert again.finished
    assert again.final_outcome == NO_PHONE_LEFT


def test_wrong_number_as_retry_also_exhausts_the_type() -> None:
    definition = _definition(
        [_call("call-1", phone_types=["MOBILE", "HOME"])],
        outcomes={"wrong_number": {"action": "RETRY", "period_minutes": 5}},
    )
    decision = _decide(definition, _start(definition), EndReason.WRONG_NUMBER)
    assert decision.due_at == NOW + timedelta(minutes=5)
    assert phone_to_dial(definition, advance(_start(definition), decision), phones=PHONES) == HOME


def test_wrong_number_without_next_is_final() -> None:
    decision = _decide(TWO_X, _start(TWO_X), EndReason.WRONG_NUMBER)
    assert decision.finished
    assert decision.final_outcome == "wrong_number"


def test_choose_phone_order_limits_and_blocked_numbers() -> None:
    step = CallStep(id="c", phone_types=["MOBILE", "HOME", "OFFICE"])
    phones = [OFFICE, MOBILE, MOBILE_2, HOME]
    assert choose_phone(step, phones, {}, {}) == MOBILE
    assert choose_phone(step, phones, {}, {}, frozenset({MOBILE["number"]})) == MOBILE_2
    both = frozenset({MOBILE["number"], MOBILE_2["number"]})
    assert choose_phone(step, phones, {}, {}, both) == HOME
    assert choose_phone(step, phones, {"MOBILE": 2}, {"MOBILE": 2}) == HOME
    assert choose_phone(step, phones, {"MOBILE": 2}, {"MOBILE": 3}) == MOBILE
    assert choose_phone(step, phones, {"MOBILE": 50}, {}) == MOBILE  # no limit when absent
    assert choose_phone(step, phones, {"MOBILE": PHONE_TYPE_EXHAUSTED}, {}) == HOME
    everything = frozenset(p["number"] for p in phones)
    assert choose_phone(step, phones, {}, {}, everything) is None
    only_office = CallStep(id="c", phone_types=["OFFICE"])
    assert choose_phone(only_office, [MOBILE, HOME], {}, {}) is None


def test_blocked_numbers_end_the_record_when_nothing_else_is_left() -> None:
    definition = _definition([_call("call-1", phone_types=["MOBILE"])])
    progress = _start(definition)
    blocked = frozenset({MOBILE["number"]})
    phones = [MOBILE, MOBILE_2]
    first = _decide(definition, progress, NA, phones=phones, blocked=blocked)
    assert not first.finished
    assert phone_to_dial(definition, advance(progress, first), phones=phones, blocked=blocked) == (
        MOBILE_2
    )
    all_blocked = blocked | {MOBILE_2["number"]}
    done = _decide(definition, progress, NA, phones=phones, blocked=all_blocked)
    assert done.finished
    assert done.final_outcome == NO_PHONE_LEFT


def test_schedule_call_back_at_the_requested_time() -> None:
    definition = _definition([_call("call-1")])
    progress = _start(definition)
    asked = datetime(2024, 3, 5, 17, 30, tzinfo=ZoneInfo(NY))
    decision = _decide(definition, progress, EndReason.SCHEDULE_CALL_BACK, callback_at=asked)
    assert decision.due_at == asked.astimezone(UTC)
    assert decision.due_at.tzinfo is UTC
    assert "at the requested callback time 2024-03-05 22:30 UTC" in decision.note

    past = _decide(
        definition, progress, EndReason.SCHEDULE_CALL_BACK, callback_at=NOW - timedelta(hours=1)
    )
    assert past.due_at == NOW

    unknown = _decide(definition, progress, EndReason.SCHEDULE_CALL_BACK)
    assert unknown.due_at == NOW + timedelta(minutes=1440)


def test_sms_step_then_call() -> None:
    definition = _definition([_sms("pre-call"), _call("call-1", call=2)])
    progress = _start(definition)
    assert (progress.step_id, progress.call) == ("pre-call", 1)
    for reason in (EndReason.DELIVERED, EndReason.UNDELIVERED):
        decision = _decide(definition, progress, reason)
        assert not decision.finished
        assert (decision.step_id, decision.day, decision.call) == ("call-1", 1, 2)
        assert decision.due_at == NOW
        assert decision.attempts == 0
        assert decision.phone_attempts == {}
        assert decision.note == f"{reason}: next call-1 now"


def test_last_message_step_completes_the_workflow() -> None:
    definition = _definition([_call("call-1", next={"no_answer": "bye"}), _sms("bye")])
    progress = _start(definition)
    to_text = _decide(definition, progress, NA)
    assert to_text.step_id == "bye"
    assert to_text.due_at == NOW + timedelta(minutes=60)  # RETRY period applies to the text too
    done = _decide(definition, advance(progress, to_text), EndReason.DELIVERED)
    assert done.finished
    assert done.final_outcome == WORKFLOW_END
    assert done.note == "delivered: finished; end of the schedule"


def test_retry_mapped_to_end_completes() -> None:
    definition = _definition([_call("call-1", next={"no_answer": "end"})])
    decision = _decide(definition, _start(definition), NA)
    assert decision.finished
    assert decision.final_outcome == WORKFLOW_END


def test_wait_step() -> None:
    definition = _definition(
        [
            _call("call-1", next={"default": "pause"}),
            {"id": "pause", "type": "wait", "minutes": 90},
            _call("call-2", call=2),
        ]
    )
    wait = definition.get_step("pause")
    assert isinstance(wait, WaitStep)
    assert wait_until(wait, NOW) == NOW + timedelta(minutes=90)
    local = NOW.astimezone(ZoneInfo(NY))
    assert wait_until(wait, local) == NOW + timedelta(minutes=90)
    assert wait_until(wait, local).tzinfo is UTC

    progress = _start(definition)
    to_wait = _decide(definition, progress, NA)
    assert to_wait.step_id == "pause"
    waited = wait_until(wait, to_wait.due_at or NOW)
    after = _decide(definition, advance(progress, to_wait), EndReason.DELIVERED, waited)
    assert (after.step_id, after.call, after.due_at) == ("call-2", 2, waited)
    assert after.attempts == 1


def test_day_start_across_dst_in_new_york() -> None:
    # Spring forward on Sunday 10 March 2024 (02:00 EST -> 03:00 EDT).
    started = datetime(2024, 3, 10, 1, 0, tzinfo=UTC)  # 20:00 EST on Saturday 9 March
    assert day_start(started, NY, 1) == datetime(2024, 3, 9, 5, 0, tzinfo=UTC)
    assert day_start(started, NY, 2) == datetime(2024, 3, 10, 5, 0, tzinfo=UTC)  # EST midnight
    assert day_start(started, NY, 3) == datetime(2024, 3, 11, 4, 0, tzinfo=UTC)  # EDT midnight
    # The DST day is 23 hours long.
    assert day_start(started, NY, 3) - day_start(started, NY, 2) == timedelta(hours=23)
    # Fall back on Sunday 3 November 2024: a 25-hour day.
    autumn = datetime(2024, 11, 2, 16, 0, tzinfo=UTC)
    assert day_start(autumn, NY, 2) == datetime(2024, 11, 3, 4, 0, tzinfo=UTC)
    assert day_start(autumn, NY, 3) == datetime(2024, 11, 4, 5, 0, tzinfo=UTC)

    definition = _definition([_call("call-1"), _call("call-2", day=3)])
    progress = initial_progress(definition, started, (NY,))
    decision = _decide(definition, progress, NA, started)
    assert decision.due_at == datetime(2024, 3, 11, 4, 0, tzinfo=UTC)
    assert decision.due_at.astimezone(ZoneInfo(NY)).replace(tzinfo=None) == datetime(2024, 3, 11)


def test_day_start_where_midnight_does_not_exist() -> None:
    # Havana springs forward at midnight: 10 March 2024 starts at 01:00 local (05:00 UTC).
    started = datetime(2024, 3, 9, 15, 0, tzinfo=UTC)
    start = day_start(started, "America/Havana", 2)
    assert start == datetime(2024, 3, 10, 5, 0, tzinfo=UTC)
    assert start.astimezone(ZoneInfo("America/Havana")).time() == time(1, 0)
    # Samoa skipped 30 December 2011 entirely: day 2 starts when 31 December does.
    samoa = day_start(datetime(2011, 12, 29, 12, 0, tzinfo=UTC), "Pacific/Apia", 2)
    assert samoa == datetime(2011, 12, 30, 10, 0, tzinfo=UTC)


DAY_ZONES = [
    NY,
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Havana",
    "America/Santiago",
    "America/Asuncion",
    "Asia/Beirut",
    "Pacific/Apia",
    "America/Sao_Paulo",
    "Asia/Kolkata",
]


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(DAY_ZONES),
    started=st.datetimes(
        min_value=datetime(1995, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    day=st.integers(min_value=1, max_value=400),
)
def test_day_start_is_the_first_instant_of_the_local_day(
    zone: str, started: datetime, day: int
) -> None:
    tz = ZoneInfo(zone)
    target = started.astimezone(tz).date() + timedelta(days=day - 1)
    start = day_start(started, zone, day)
    assert start.tzinfo is UTC
    assert start.astimezone(tz).date() >= target
    assert (start - timedelta(microseconds=1)).astimezone(tz).date() < target


def test_initial_progress_and_first_due() -> None:
    definition = _definition([_sms("intro", day=2), _call("call-1", day=2, call=3)])
    progress = initial_progress(definition, NOW, ())
    assert progress.zones == (definition.timezone,)
    assert (progress.step_id, progress.day, progress.call) == ("intro", 2, 1)
    assert progress.attempts == 0
    assert progress.phone_attempts == {}
    assert progress.cycle_started_at == NOW
    assert first_due(definition, progress, NOW) == datetime(2024, 3, 6, 5, 0, tzinfo=UTC)
    later = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)
    assert first_due(definition, progress, later) == later

    call_first = _definition([_call("call-1", call=3)])
    progress = initial_progress(call_first, NOW.astimezone(ZoneInfo(NY)), ["America/Chicago"])
    assert (progress.call, progress.zones) == (3, ("America/Chicago",))
    assert progress.cycle_started_at.tzinfo is UTC


def test_bad_input_is_rejected() -> None:
    progress = _start(TWO_X)
    with pytest.raises(ValueError, match="aware"):
        _decide(TWO_X, progress, NA, datetime(2024, 3, 5, 15, 0))
    with pytest.raises(ValueError, match="cannot end with 'delivered'"):
        _decide(TWO_X, progress, EndReason.DELIVERED)
    texts = _definition([_sms("t")])
    with pytest.raises(ValueError, match="cannot end with 'no_answer'"):
        _decide(texts, _start(texts), NA)
    with pytest.raises(KeyError):
        _decide(TWO_X, RecordProgress("nope", 1, 1, 0, {}, NOW, (NY,)), NA)
    with pytest.raises(ValueError, match="IANA"):
        day_start(NOW, "Mars/Olympus", 1)
    with pytest.raises(TypeError):
        initial_progress(TWO_X, NOW, NY)
    finished = _decide(TWO_X, progress, EndReason.CALL_TRANSFERRED)
    with pytest.raises(ValueError, match="finished"):
        advance(progress, finished)


# --- state machine property -------------------------------------------------------------------

CALL_REASON_LIST = sorted(CALL_REASONS)
MESSAGE_REASON_LIST = sorted(MESSAGE_REASONS)
CONSTANTS = {MAX_ATTEMPTS, NO_PHONE_LEFT, WORKFLOW_END}
FINAL_OUTCOMES = {reason.value for reason in EndReason} | CONSTANTS
KINDS = ["call", "call", "call", "sms", "email", "wait", "webhook"]  # calls weighted up
ZONES = [NY, "America/Los_Angeles", "Europe/London", "America/Havana", "Australia/Sydney"]


_COUNTS = st.integers(1, 6)
_KIND_LISTS = {n: st.lists(st.sampled_from(KINDS), min_size=n, max_size=n) for n in range(1, 7)}
_DAY_LISTS = {n: st.lists(st.integers(1, 4), min_size=n, max_size=n) for n in range(1, 7)}
_CALL_NUMBERS = st.integers(1, 3)
_WAIT_MINUTES = st.integers(1, 600)
_PHONE_TYPE_LISTS = st.lists(st.sampled_from(PHONE_TYPES), min_size=1, max_size=3, unique=True)
_RULES = st.dictionaries(
    st.sampled_from(CALL_REASON_LIST),
    st.one_of(
        st.just({"action": "FINAL"}),
        st.integers(1, 3000).map(lambda minutes: {"action": "RETRY", "period_minutes": minutes}),
    ),
    max_size=6,
)
_MAX_ATTEMPTS = st.integers(1, 6)
_PER_TYPE = st.dictionaries(st.sampled_from(PHONE_TYPES), st.integers(1, 3), max_size=3)
_MESSAGE_FIELDS: dict[str, dict[str, Any]] = {
    "sms": {"message": "Hi"},
    "email": {"subject": "Hi", "body": "Hello"},
    "webhook": {"url": "https://example.com/hook"},
}


@cache
def _next_maps(
    keys: tuple[str, ...], targets: tuple[str, ...]
) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(keys), st.sampled_from(targets), max_size=2)


@st.composite
def definitions(draw: st.DrawFn) -> WorkflowDefinition:
    """1-6 steps of mixed kinds, random ``next`` maps, non-decreasing days, random retry rules.

    Non-call steps only point forward or at call steps, so no message-only loop is generated
    (the definition rejects those).
    """
    n = draw(_COUNTS)
    kinds = draw(_KIND_LISTS[n])
    days = sorted(draw(_DAY_LISTS[n]))
    ids = [f"s{i}" for i in range(n)]
    call_ids = [ids[i] for i in range(n) if kinds[i] == "call"]
    steps: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        step: dict[str, Any] = {"id": ids[i], "type": kind, "day": days[i]}
        keys: tuple[str, ...]
        if kind == "call":
            step["call"] = draw(_CALL_NUMBERS)
            step["phone_types"] = draw(_PHONE_TYPE_LISTS)
            keys = (*CALL_REASON_LIST, "default")
            targets = (*ids, "end")
        else:
            keys = ("default",) if kind == "wait" else (*MESSAGE_REASON_LIST, "default")
            targets = tuple(sorted({*ids[i + 1 :], *call_ids, "end"}))
            if kind == "wait":
                step["minutes"] = draw(_WAIT_MINUTES)
            else:
                step.update(_MESSAGE_FIELDS[kind])
        step["next"] = draw(_next_maps(keys, targets))
        steps.append(step)
    retry = {
        "max_attempts": draw(_MAX_ATTEMPTS),
        "max_attempts_per_phone_type": draw(_PER_TYPE),
        "outcomes": draw(_RULES),
    }
    return _definition(steps, **retry)


_PHONE_TYPE: st.SearchStrategy[str] = st.sampled_from(PHONE_TYPES)
# Mostly a phone of every type (twice over in some books), sometimes a few random ones.
_PHONE_BOOK_TYPES = st.one_of(
    st.lists(_PHONE_TYPE, max_size=5),
    st.just(list(PHONE_TYPES)),
    st.just([*PHONE_TYPES, *PHONE_TYPES]),
)
_BLOCKED_INDEXES = {
    n: st.sets(st.integers(0, n - 1), max_size=2) if n else st.just(set()) for n in range(13)
}
_CALL_REASONS = st.sampled_from(CALL_REASON_LIST)
_MESSAGE_REASONS = st.sampled_from(MESSAGE_REASON_LIST)
_CALLBACK_OFFSETS = st.one_of(st.none(), st.integers(-600, 6000))
_LATENESS = st.integers(0, 900)
_ATTEMPTS_BELOW = {m: st.integers(0, m - 1) for m in range(1, 7)}
_USED = {a: st.dictionaries(_PHONE_TYPE, st.integers(0, a)) for a in range(6)}


@st.composite
def phone_books(draw: st.DrawFn) -> tuple[list[dict[str, str]], frozenset[str]]:
    types = draw(_PHONE_BOOK_TYPES)
    phones = [{"number": f"+1212555{i:04d}", "type": t} for i, t in enumerate(types)]
    blocked = {phones[i]["number"] for i in draw(_BLOCKED_INDEXES[len(phones)])}
    return phones, frozenset(blocked)


def _outcome_for(
    data: st.DataObject,
    definition: WorkflowDefinition,
    progress: RecordProgress,
    now: datetime,
    phone: Mapping[str, str] | None,
) -> StepOutcome:
    step = definition.get_step(progress.step_id)
    if isinstance(step, CallStep):
        reason = data.draw(_CALL_REASONS)
        offset = data.draw(_CALLBACK_OFFSETS)
        callback = None if offset is None else now + timedelta(minutes=offset)
        return StepOutcome(reason, phone["type"] if phone else None, callback)
    if isinstance(step, WaitStep):
        return StepOutcome(EndReason.DELIVERED, None, None)
    return StepOutcome(data.draw(_MESSAGE_REASONS), None, None)


def _check_decision(
    definition: WorkflowDefinition,
    progress: RecordProgress,
    outcome: StepOutcome,
    decision: Decision,
    now: datetime,
    phones: Sequence[Mapping[str, str]],
    blocked: frozenset[str],
) -> None:
    step = definition.get_step(progress.step_id)
    is_call = isinstance(step, CallStep)
    max_attempts = definition.retry.max_attempts
    # Counters: a call counts once, other steps not at all; nothing ever goes down.
    assert decision.attempts == progress.attempts + (1 if is_call else 0)
    for phone_type, used in progress.phone_attempts.items():
        assert decision.phone_attempts.get(phone_type, 0) >= used
    if not is_call:
        assert decision.phone_attempts == dict(progress.phone_attempts)
    assert decision.attempts <= max_attempts
    assert decision.add_to_dnc == (outcome.reason is EndReason.DO_NOT_CALL)
    assert decision.note.startswith(f"{outcome.reason}: ")
    assert "\n" not in decision.note
    if decision.finished:
        assert decision.step_id is None
        assert decision.due_at is None
        assert decision.final_outcome in FINAL_OUTCOMES
        if decision.final_outcome not in CONSTANTS:
            assert is_call
            assert decision.final_outcome == outcome.reason.value
        return
    assert decision.final_outcome is None
    assert decision.step_id in {s.id for s in definition.steps}
    assert decision.due_at is not None
    assert decision.due_at.tzinfo is UTC
    assert decision.due_at >= now
    target = definition.get_step(decision.step_id)
    assert decision.day == target.day
    assert decision.due_at >= day_start(progress.cycle_started_at, progress.zones[0], target.day)
    if isinstance(target, CallStep):
        assert decision.call == target.call
        assert decision.attempts < max_attempts  # the cap is honoured before any further call
        assert outcome.reason is not EndReason.DO_NOT_CALL
        nxt = advance(progress, decision)
        assert phone_to_dial(definition, nxt, phones=phones, blocked=blocked) is not None
    else:
        assert decision.call == progress.call


@settings(max_examples=150, deadline=None)
@given(
    definition=definitions(),
    book=phone_books(),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(
        min_value=datetime(2023, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
    ),
    data=st.data(),
)
def test_walking_decide_always_reaches_a_defined_state_and_terminates(
    definition: WorkflowDefinition,
    book: tuple[list[dict[str, str]], frozenset[str]],
    zone: str,
    start: datetime,
    data: st.DataObject,
) -> None:
    phones, blocked = book
    progress = initial_progress(definition, start, (zone,))
    now = first_due(definition, progress, start)
    assert now >= start
    steps = len(definition.steps)
    bound = definition.retry.max_attempts * steps + steps
    calls = 0
    for transitions in range(bound):
        phone = phone_to_dial(definition, progress, phones=phones, blocked=blocked)
        if isinstance(definition.get_step(progress.step_id), CallStep):
            if phone is None:
                # Only a new cycle can start at a call step without a phone; decide checks
                # every call it moves to. The engine finishes such a record NO_PHONE_LEFT.
                assert transitions == 0
                return
            calls += 1
        outcome = _outcome_for(data, definition, progress, now, phone)
        decision = decide(definition, progress, outcome, now, phones=phones, blocked=blocked)
        _check_decision(definition, progress, outcome, decision, now, phones, blocked)
        assert calls <= definition.retry.max_attempts
        if decision.finished:
            return
        assert decision.due_at is not None
        progress = advance(progress, decision)
        now = decision.due_at + timedelta(minutes=data.draw(_LATENESS))
    pytest.fail(f"no final state within {bound} transitions")


@settings(max_examples=100, deadline=None)
@given(definition=definitions(), book=phone_books(), data=st.data())
def test_every_outcome_of_every_step_leads_to_a_defined_state(
    definition: WorkflowDefinition,
    book: tuple[list[dict[str, str]], frozenset[str]],
    data: st.DataObject,
) -> None:
    phones, blocked = book
    max_attempts = definition.retry.max_attempts
    for step in definition.steps:
        is_call = isinstance(step, CallStep)
        attempts = data.draw(_ATTEMPTS_BELOW[max_attempts]) if is_call else 0
        used = data.draw(_USED[attempts])
        progress = RecordProgress(step.id, step.day, 1, attempts, used, NOW, (NY,))
        if is_call:
            reasons = CALL_REASON_LIST
        elif isinstance(step, WaitStep):
            reasons = [EndReason.DELIVERED]
        else:
            reasons = MESSAGE_REASON_LIST
        for reason in reasons:
            phone_type = data.draw(_PHONE_TYPE) if is_call else None
            outcome = StepOutcome(reason, phone_type, None)
            decision = decide(definition, progress, outcome, NOW, phones=phones, blocked=blocked)
            _check_decision(definition, progress, outcome, decision, NOW, phones, blocked)
