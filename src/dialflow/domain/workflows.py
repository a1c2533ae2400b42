"""A workflow's lifecycle: which actions move it between which statuses.

::

    draft   --activate--> active     draft  --stop--> stopped
    active  --pause-->    paused     active --stop--> stopped    active --complete--> completed
    paused  --resume|activate--> active
    paused  --stop-->     stopped    paused --complete--> completed

``stopped`` and ``completed`` are terminal.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class WorkflowStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"


class WorkflowAction(StrEnum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    COMPLETE = "complete"


_S, _A = WorkflowStatus, WorkflowAction

TRANSITIONS: MappingProxyType[WorkflowStatus, MappingProxyType[WorkflowAction, WorkflowStatus]] = (
    MappingProxyType(
        {
            _S.DRAFT: MappingProxyType({_A.ACTIVATE: _S.ACTIVE, _A.STOP: _S.STOPPED}),
            _S.ACTIVE: MappingProxyType(
                {_A.PAUSE: _S.PAUSED, _A.STOP: _S.STOPPED, _A.COMPLETE: _S.COMPLETED}
            ),
            _S.PAUSED: MappingProxyType(
                {
                    _A.ACTIVATE: _S.ACTIVE,
                    _A.RESUME: _S.ACTIVE,
                    _A.STOP: _S.STOPPED,
                    _A.COMPLETE: _S.COMPLETED,
                }
            ),
            _S.STOPPED: MappingProxyType({}),
            _S.COMPLETED: MappingProxyType({}),
        }
    )
)

_ACCEPTING = frozenset({_S.DRAFT, _S.ACTIVE, _S.PAUSED})


class IllegalTransition(Exception):
    """An action that the workflow's current status does not allow."""

    def __init__(self, status: WorkflowStatus, action: WorkflowAction) -> None:
        allowed = allowed_actions(status)
        listed = ", ".join(allowed) if allowed else f"none ({status} is final)"
        super().__init__(f"cannot {action} a workflow that is {status}; allowed: {listed}")
        self.status = status
        self.action = action
        self.allowed = allowed


def allowed_actions(status: WorkflowStatus) -> tuple[WorkflowAction, ...]:
    """The actions ``status`` allows, in ``WorkflowAction`` declaration order."""
    table = TRANSITIONS[status]
    return tuple(action for action in WorkflowAction if action in table)


def transition(status: WorkflowStatus, action: WorkflowAction) -> WorkflowStatus:
    """The status after ``action``; raises ``IllegalTransition`` when ``status`` forbids it."""
    try:
        return TRANSITIONS[status][action]
    except KeyError:
        raise IllegalTransition(status, action) from None


def is_terminal(status: WorkflowStatus) -> bool:
    return not TRANSITIONS[status]


def accepts_records(status: WorkflowStatus) -> bool:
    """Whether new records may be added: yes while draft, active or paused."""
    return status in _ACCEPTING
