from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialflow.domain.workflows import (
    IllegalTransition,
    WorkflowAction,
    WorkflowStatus,
    accepts_records,
    allowed_actions,
    is_terminal,
    transition,
)

S, A = WorkflowStatus, WorkflowAction

# The rules as the brief states them, written independently of the implementation's table.
EXPECTED: dict[tuple[WorkflowStatus, WorkflowAction], WorkflowStatus] = {
    (S.DRAFT, A.ACTIVATE): S.ACTIVE,
    (S.DRAFT, A.STOP): S.STOPPED,
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.ACTIVE, A.STOP): S.STOPPED,
    (S.ACTIVE, A.COMPLETE): S.COMPLETED,
    (S.PAUSED, A.RESUME): S.ACTIVE,
    (S.PAUSED, A.ACTIVATE): S.ACTIVE,
    (S.PAUSED, A.STOP): S.STOPPED,
    (S.PAUSED, A.COMPLETE): S.COMPLETED,
}
TERMINAL = {S.STOPPED, S.COMPLETED}

statuses = st.sampled_from(list(WorkflowStatus))
actions = st.sampled_from(list(WorkflowAction))


@given(statuses, st.lists(actions, max_size=30))
def test_random_action_sequences_follow_the_table(
    start: WorkflowStatus, sequence: list[WorkflowAction]
) -> None:
    status = start
    for action in sequence:
        expected = EXPECTED.get((status, action))
        if expected is None:
            with pytest.raises(IllegalTransition) as info:
                transition(status, action)
            assert info.value.status is status
            assert info.value.action is action
        else:
            status = transition(status, action)
            assert status is expected


@given(statuses, actions)
def test_allowed_actions_agree_with_transition(
    status: WorkflowStatus, action: WorkflowAction
) -> None:
    if action in allowed_actions(status):
        assert transition(status, action) is EXPECTED[(status, action)]
    else:
        with pytest.raises(IllegalTransition):
            transition(status, action)


@pytest.mark.parametrize("status", sorted(TERMINAL))
@pytest.mark.parametrize("action", list(WorkflowAction))
def test_terminal_states_accept_nothing(status: WorkflowStatus, action: WorkflowAction) -> None:
    assert allowed_actions(status) == ()
    assert is_terminal(status)
    with pytest.raises(IllegalTransition, match=f"allowed: none \\({status} is final\\)"):
        transition(status, action)


def test_allowed_actions_for_every_pair_exhaustively() -> None:
    for status in WorkflowStatus:
        expected = tuple(a for a in WorkflowAction if (status, a) in EXPECTED)
        assert allowed_actions(status) == expected
        assert is_terminal(status) == (status in TERMINAL)


def test_message_names_action_status_and_alternatives() -> None:
    with pytest.raises(IllegalTransition) as info:
        transition(S.DRAFT, A.PAUSE)
    assert str(info.value) == "cannot pause a workflow that is draft; allowed: activate, stop"
    assert info.value.allowed == (A.ACTIVATE, A.STOP)


@pytest.mark.parametrize(
    ("status", "accepts"),
    [
        (S.DRAFT, True),
        (S.ACTIVE, True),
        (S.PAUSED, True),
        (S.STOPPED, False),
        (S.COMPLETED, False),
    ],
)
def test_accepts_records(status: WorkflowStatus, accepts: bool) -> None:
    assert accepts_records(status) is accepts
