from __future__ import annotations

from dialflow.domain.outcomes import (
    CALL_REASONS,
    MESSAGE_REASONS,
    EndReason,
    OutcomeAction,
    default_outcome_rules,
)

TWO_X = {
    "call_transferred",
    "schedule_call_back",
    "not_interested",
    "do_not_call",
    "wrong_number",
    "end_call",
    "hung_up",
    "voicemail_detected",
    "no_answer",
}


def test_every_reason_has_a_default_rule() -> None:
    rules = default_outcome_rules()
    assert set(rules) == set(EndReason)


def test_retry_rules_have_a_positive_period_and_final_rules_none() -> None:
    for reason, (action, period) in default_outcome_rules().items():
        if action is OutcomeAction.RETRY:
            assert period > 0, reason
        else:
            assert period == 0, reason


def test_values_cover_the_2x_end_reasons_verbatim() -> None:
    assert {reason.value for reason in EndReason} >= TWO_X
    assert {a.value for a in OutcomeAction} == {"RETRY", "FINAL"}


def test_reason_groups_partition_the_enum() -> None:
    assert set(EndReason) == CALL_REASONS | MESSAGE_REASONS
    assert not CALL_REASONS & MESSAGE_REASONS


def test_settled_contacts_are_final_and_unreached_ones_retry() -> None:
    rules = default_outcome_rules()
    for reason in ("call_transferred", "not_interested", "do_not_call", "wrong_number"):
        assert rules[EndReason(reason)][0] is OutcomeAction.FINAL
    for reason in ("no_answer", "busy", "voicemail_detected", "failed", "timeout"):
        assert rules[EndReason(reason)][0] is OutcomeAction.RETRY


def test_returns_a_fresh_dict() -> None:
    first = default_outcome_rules()
    first.clear()
    assert default_outcome_rules()
