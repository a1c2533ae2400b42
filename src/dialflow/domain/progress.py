"""What happens to a record after one of its steps ends: the next step, when, or why it is done.

Pure functions, no I/O, the time always passed in. Instants go in as aware datetimes (naive ones
raise ``ValueError``) and come out as aware UTC datetimes.

The engine claims a due record, runs its current step, gets a ``StepOutcome`` and calls
``decide``, which returns a ``Decision``. In order, ``decide``:

1. **counts** the attempt: a call step adds one to ``attempts`` and to the counter of the phone
   type dialed. ``wrong_number``/``invalid_number`` exhaust that phone type for the rest of the
   cycle, and ``do_not_call`` exhausts every type (the record is never called again this cycle).
   An exhausted type's counter is set to ``PHONE_TYPE_EXHAUSTED``, above any real count, so
   ``choose_phone`` skips it whatever the per-type limits say; counters only ever grow.
2. **routes** with ``WorkflowDefinition.next_step_id`` (see ``dialflow.workflows.definition``).
   No next step finishes the record: ``final_outcome`` is the reason when a call ended with a
   FINAL reason, else ``WORKFLOW_END``.
3. **guards the next call** when the next step is a call step: after ``do_not_call`` the record
   finishes with ``do_not_call``; once ``attempts`` has reached ``retry.max_attempts`` it finishes
   with ``MAX_ATTEMPTS``; when ``choose_phone`` finds no phone to dial it finishes with
   ``NO_PHONE_LEFT``.
4. **times** the next step: after a call with a RETRY reason, ``period_minutes`` later (a
   ``schedule_call_back`` with a known ``callback_at`` waits until then instead); anything else
   goes on at once. Never before the start of the next step's ``day``: local midnight, in the
   record's primary zone, of the cycle's first local date plus ``day - 1`` days. ``due_at`` is
   before calling-window adjustment: the caller applies ``next_opening`` to call and sms steps
   and, when it returns ``None``, finishes the record with ``NO_CALLING_WINDOW``.

A wait step's delay is applied when it *runs* (``wait_until``); its outcome is ``delivered``.
``retry.daily_cap_per_phone`` needs per-number attempt times, which the scheduler keeps; it is
not decided here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialflow.domain.outcomes import CALL_REASONS, MESSAGE_REASONS, EndReason, OutcomeAction
from dialflow.workflows.definition import (
    PHONE_TYPES,
    CallStep,
    Step,
    WaitStep,
    WorkflowDefinition,
)

__all__ = [
    "MAX_ATTEMPTS",
    "NO_CALLING_WINDOW",
    "NO_PHONE_LEFT",
    "PHONE_TYPE_EXHAUSTED",
    "WORKFLOW_END",
    "Decision",
    "RecordProgress",
    "StepOutcome",
    "advance",
    "choose_phone",
    "day_start",
    "decide",
    "first_due",
    "initial_progress",
    "phone_to_dial",
    "wait_until",
]

#: Final outcome: the call-attempt budget (``retry.max_attempts``) is spent.
MAX_ATTEMPTS: Final = "max_attempts"
#: Final outcome: the next call step has no phone left to dial (limits, wrong numbers, DNC).
NO_PHONE_LEFT: Final = "no_phone_left"
#: Final outcome: the schedule ran out after a step that does not settle the record by itself.
WORKFLOW_END: Final = "completed"
#: Final outcome for the caller to use when ``next_opening`` finds no calling window.
NO_CALLING_WINDOW: Final = "no_calling_window"
#: The counter of a phone type that may not be dialed again this cycle.
PHONE_TYPE_EXHAUSTED: Final = 1_000_000

_EXHAUSTING: Final = frozenset({EndReason.WRONG_NUMBER, EndReason.INVALID_NUMBER})
_DNC_NOTE: Final = "number added to the do-not-call list"


@dataclass(frozen=True, slots=True)
class RecordProgress:
    """Where a record is in its workflow's schedule, and what this cycle has used so far."""

    step_id: str
    day: int
    call: int
    #: Call attempts made in this cycle.
    attempts: int
    #: Call attempts per phone type this cycle (``PHONE_TYPE_EXHAUSTED`` = may not be dialed).
    phone_attempts: Mapping[str, int]
    cycle_started_at: datetime
    #: The record's candidate time zones; the first is the primary zone (used for ``day``).
    zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """How the step that just ran ended."""

    reason: EndReason
    #: The phone type dialed, for calls.
    phone_type: str | None = None
    #: When the contact asked to be called back, if known.
    callback_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The record's next state."""

    finished: bool
    #: The next step when not finished.
    step_id: str | None
    #: Earliest time the next step may run, before calling-window adjustment; None if finished.
    due_at: datetime | None
    day: int
    call: int
    #: An ``EndReason`` value or one of this module's constants when finished.
    final_outcome: str | None
    #: True after ``do_not_call``: the dialed number goes on the do-not-call list.
    add_to_dnc: bool
    attempts: int
    phone_attempts: dict[str, int]
    #: One line for the record's timeline.
    note: str


def initial_progress(
    definition: WorkflowDefinition, now: datetime, zones: Sequence[str]
) -> RecordProgress:
    """A new cycle at the entry step, started ``now``.

    ``zones`` are the record's candidate zones, primary first; without any, the workflow's
    ``timezone`` is used.
    """
    if isinstance(zones, str):
        raise TypeError("zones must be a sequence of zone names, not a single string")
    entry = definition.entry_step
    return RecordProgress(
        step_id=entry.id,
        day=entry.day,
        call=entry.call if isinstance(entry, CallStep) else 1,
        attempts=0,
        phone_attempts={},
        cycle_started_at=_utc(now, "now"),
        zones=tuple(zones) or (definition.timezone,),
    )


def first_due(definition: WorkflowDefinition, progress: RecordProgress, now: datetime) -> datetime:
    """When the current step (the entry step, for a new cycle) may first run: now or its day."""
    step = definition.get_step(progress.step_id)
    return max(_utc(now, "now"), _day_start_of(progress, step.day))


def day_start(cycle_started_at: datetime, zone: str, day: int) -> datetime:
    """The first instant (UTC) of schedule day ``day`` in ``zone``.

    Day 1 is the local date of ``cycle_started_at``; day N starts at local midnight N-1 days
    later. Where a DST change skips midnight, the day starts at the first instant that exists.
    """
    if day < 1:
        raise ValueError(f"day must be 1 or more, got {day}")
    tz = _zone(zone)
    local_date = _utc(cycle_started_at, "cycle_started_at").astimezone(tz).date()
    target = local_date + timedelta(days=day - 1)
    first = datetime.combine(target, time(0), tz).astimezone(UTC)
    second = datetime.combine(target, time(0), tz).replace(fold=1).astimezone(UTC)
    lo, hi = min(first, second), max(first, second)
    if lo.astimezone(tz).date() >= target:
        return lo  # midnight exists (the earlier one, if it happens twice)
    # Midnight falls in a gap: the day starts at the transition, a whole second in tzdata.
    while hi - lo > timedelta(seconds=1):
        middle = lo + (hi - lo) // 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).date() >= target:
            hi = middle
        else:
            lo = middle
    return hi


def advance(progress: RecordProgress, decision: Decision) -> RecordProgress:
    """The progress after an unfinished ``decision``; ``ValueError`` for a finished one."""
    if decision.finished or decision.step_id is None:
        raise ValueError("the record is finished; a finished decision has no next progress")
    return RecordProgress(
        step_id=decision.step_id,
        day=decision.day,
        call=decision.call,
        attempts=decision.attempts,
        phone_attempts=dict(decision.phone_attempts),
        cycle_started_at=progress.cycle_started_at,
        zones=progress.zones,
    )


def wait_until(step: WaitStep, now: datetime) -> datetime:
    """When a wait step that starts running ``now`` is over."""
    return _utc(now, "now") + timedelta(minutes=step.minutes)


def choose_phone(
    step: CallStep,
    phones: Sequence[Mapping[str, str]],
    phone_attempts: Mapping[str, int],
    max_per_type: Mapping[str, int],
    blocked: Set[str] = frozenset(),
) -> Mapping[str, str] | None:
    """The phone (``{"number", "type"}``) to dial for ``step``, or None when none is left.

    Types are tried in the order of ``step.phone_types``; a type is skipped when its attempts
    reached ``max_per_type`` (no limit when absent) or it is exhausted; within a type, the
    record's phones are tried in their order, skipping numbers in ``blocked`` (do-not-call).
    """
    for phone_type in step.phone_types:
        used = phone_attempts.get(phone_type, 0)
        limit = max_per_type.get(phone_type)
        if used >= PHONE_TYPE_EXHAUSTED or (limit is not None and used >= limit):
            continue
        for phone in phones:
            if phone.get("type") == phone_type and phone.get("number") not in blocked:
                return phone
    return None


def phone_to_dial(
    definition: WorkflowDefinition,
    progress: RecordProgress,
    *,
    phones: Sequence[Mapping[str, str]],
    blocked: Set[str] = frozenset(),
) -> Mapping[str, str] | None:
    """The phone to dial for the record's current step; None when it is not a call or none is left.

    ``choose_phone`` with the workflow's per-type limits: the same choice ``decide`` checked.
    """
    step = definition.get_step(progress.step_id)
    if not isinstance(step, CallStep):
        return None
    return choose_phone(step, phones, progress.phone_attempts, _limits(definition), blocked)


def decide(
    definition: WorkflowDefinition,
    progress: RecordProgress,
    outcome: StepOutcome,
    now: datetime,
    *,
    phones: Sequence[Mapping[str, str]],
    blocked: Set[str] = frozenset(),
) -> Decision:
    """The record's next state after its current step ended with ``outcome`` at ``now``.

    ``phones`` are the record's phones (``{"number", "type"}``); ``blocked`` the numbers on the
    do-not-call list. See the module docstring for the rules. Raises ``KeyError`` for an unknown
    step and ``ValueError`` for a reason the step cannot end with or a naive datetime.
    """
    now = _utc(now, "now")
    step = definition.get_step(progress.step_id)
    reason = EndReason(outcome.reason)
    _check_reason(step, reason)
    is_call = isinstance(step, CallStep)
    retry = definition.retry
    rule = retry.rule_for(reason)
    dnc = reason is EndReason.DO_NOT_CALL

    attempts = progress.attempts
    counts = dict(progress.phone_attempts)
    exhausted = ""
    if is_call:
        attempts += 1
        dialed = outcome.phone_type
        if dialed is not None:
            counts[dialed] = counts.get(dialed, 0) + 1
            if reason in _EXHAUSTING:
                counts[dialed] = max(counts[dialed], PHONE_TYPE_EXHAUSTED)
                exhausted = f"{dialed} numbers not dialed again this cycle"
        if dnc:
            every = {*PHONE_TYPES, *counts, *(p.get("type", "") for p in phones)} - {""}
            for phone_type in every:
                counts[phone_type] = max(counts.get(phone_type, 0), PHONE_TYPE_EXHAUSTED)

    def finish(final_outcome: str, why: str) -> Decision:
        extras = [x for x in (why, exhausted, _DNC_NOTE if dnc else "") if x]
        return Decision(
            finished=True,
            step_id=None,
            due_at=None,
            day=progress.day,
            call=progress.call,
            final_outcome=final_outcome,
            add_to_dnc=dnc,
            attempts=attempts,
            phone_attempts=counts,
            note="; ".join([f"{reason}: finished", *extras]),
        )

    next_id = definition.next_step_id(step.id, reason)
    if next_id is None:
        if is_call and rule.action is OutcomeAction.FINAL:
            return finish(reason.value, "")
        return finish(WORKFLOW_END, "end of the schedule")
    target = definition.get_step(next_id)

    if isinstance(target, CallStep):
        if dnc:
            return finish(reason.value, "no further calls")
        if attempts >= retry.max_attempts:
            return finish(MAX_ATTEMPTS, f"all {retry.max_attempts} call attempts used")
        if choose_phone(target, phones, counts, _limits(definition), blocked) is None:
            return finish(NO_PHONE_LEFT, f"no phone left to dial for {target.id}")

    due = now
    when = "now"
    retrying = is_call and rule.action is OutcomeAction.RETRY
    if is_call and reason is EndReason.SCHEDULE_CALL_BACK and outcome.callback_at is not None:
        due = max(now, _utc(outcome.callback_at, "callback_at"))
        when = f"at the requested callback time {_show(due)}" if due > now else "now"
    elif retrying:
        minutes = rule.period_minutes or 0
        due = now + timedelta(minutes=minutes)
        when = f"in {minutes} min"
    starts = _day_start_of(progress, target.day)
    if starts > due:
        due = starts
        when = f"on day {target.day}, from {_show(starts)}"

    verb = "retry" if retrying and isinstance(target, CallStep) else "next"
    extras = [x for x in (exhausted, _DNC_NOTE if dnc else "") if x]
    return Decision(
        finished=False,
        step_id=target.id,
        due_at=due,
        day=target.day,
        call=target.call if isinstance(target, CallStep) else progress.call,
        final_outcome=None,
        add_to_dnc=dnc,
        attempts=attempts,
        phone_attempts=counts,
        note="; ".join([f"{reason}: {verb} {target.id} {when}", *extras]),
    )


# --- internals -------------------------------------------------------------------------------


def _check_reason(step: Step, reason: EndReason) -> None:
    allowed = CALL_REASONS if isinstance(step, CallStep) else MESSAGE_REASONS
    if reason not in allowed:
        options = ", ".join(sorted(allowed))
        raise ValueError(
            f"a {step.type} step cannot end with {reason.value!r}; expected one of {options}"
        )


def _day_start_of(progress: RecordProgress, day: int) -> datetime:
    if not progress.zones:
        raise ValueError("progress.zones must name at least one time zone")
    return day_start(progress.cycle_started_at, progress.zones[0], day)


def _limits(definition: WorkflowDefinition) -> dict[str, int]:
    return dict(definition.retry.max_attempts_per_phone_type.items())


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone") from exc


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is UTC:
        return value  # the engine's clock: no conversion to pay for on every decision
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a UTC offset), got {value!r}")
    return value.astimezone(UTC)


def _show(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")
