"""How a step ended (``EndReason``) and what that means for the record (``OutcomeAction``).

The call reasons are 2X's post-call ``end_reason`` set plus the telecom-level results other
vendors report (busy, failed, invalid number, timeout); message steps (sms, email, webhook) end
``delivered`` or ``undelivered``. Talkdesk's dispositions map onto these reasons and its
``status_after_call`` RETRY/FINAL onto ``OutcomeAction``.
"""

from __future__ import annotations

from enum import StrEnum


class EndReason(StrEnum):
    # 2X post-call end reasons (verbatim values).
    CALL_TRANSFERRED = "call_transferred"
    SCHEDULE_CALL_BACK = "schedule_call_back"
    NOT_INTERESTED = "not_interested"
    DO_NOT_CALL = "do_not_call"
    WRONG_NUMBER = "wrong_number"
    END_CALL = "end_call"
    HUNG_UP = "hung_up"
    VOICEMAIL_DETECTED = "voicemail_detected"
    NO_ANSWER = "no_answer"
    # Telecom-level results of a call attempt.
    BUSY = "busy"
    FAILED = "failed"
    INVALID_NUMBER = "invalid_number"
    TIMEOUT = "timeout"
    # Message steps (sms, email, webhook).
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"


class OutcomeAction(StrEnum):
    RETRY = "RETRY"
    FINAL = "FINAL"


#: Reasons a call step can end with.
CALL_REASONS: frozenset[EndReason] = frozenset(EndReason) - {
    EndReason.DELIVERED,
    EndReason.UNDELIVERED,
}
#: Reasons an sms, email or webhook step can end with.
MESSAGE_REASONS: frozenset[EndReason] = frozenset({EndReason.DELIVERED, EndReason.UNDELIVERED})


def default_outcome_rules() -> dict[EndReason, tuple[OutcomeAction, int]]:
    """The rule for every reason: ``(action, retry period in minutes)``; the period is 0 for FINAL.

    RETRY: the contact has not been reached yet, so another attempt is worth making.
    - no_answer 60: nobody picked up; try again in an hour.
    - busy 15: the line is in use right now; a short wait is usually enough.
    - voicemail_detected 180: the person is away; a later part of the day is a better bet.
    - hung_up 120: the call dropped or the person hung up before the conversation settled
      anything; try once more later rather than at once.
    - failed 30 / timeout 30: a carrier or provider problem (or no result reported in time),
      nothing said about the contact; retry soon.
    - schedule_call_back 1440: the person asked to be called back; without a time captured in
      the call, try the same time tomorrow (a captured callback time, when the provider reports
      one, takes precedence over this period).

    FINAL: the contact is settled, calling again would be wasted or unwelcome.
    - call_transferred: success, the lead reached a person.
    - not_interested, do_not_call: the person said no (do_not_call also adds a DNC entry).
    - wrong_number, invalid_number: this number cannot reach the person.
    - end_call: the system ended a completed conversation.
    - delivered, undelivered: message steps continue along the schedule either way; resending a
      message that did not arrive is left to the delivery layer, not to this rule.
    """
    retry, final = OutcomeAction.RETRY, OutcomeAction.FINAL
    return {
        EndReason.CALL_TRANSFERRED: (final, 0),
        EndReason.SCHEDULE_CALL_BACK: (retry, 1440),
        EndReason.NOT_INTERESTED: (final, 0),
        EndReason.DO_NOT_CALL: (final, 0),
        EndReason.WRONG_NUMBER: (final, 0),
        EndReason.END_CALL: (final, 0),
        EndReason.HUNG_UP: (retry, 120),
        EndReason.VOICEMAIL_DETECTED: (retry, 180),
        EndReason.NO_ANSWER: (retry, 60),
        EndReason.BUSY: (retry, 15),
        EndReason.FAILED: (retry, 30),
        EndReason.INVALID_NUMBER: (final, 0),
        EndReason.TIMEOUT: (retry, 30),
        EndReason.DELIVERED: (final, 0),
        EndReason.UNDELIVERED: (final, 0),
    }
