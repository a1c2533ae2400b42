"""Record statuses. ``pending`` and ``in_progress`` are live; the others are terminal."""

from __future__ import annotations

from enum import StrEnum


class RecordStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


LIVE_STATUSES = (RecordStatus.PENDING.value, RecordStatus.IN_PROGRESS.value)
TERMINAL_STATUSES = (RecordStatus.COMPLETED.value, RecordStatus.CANCELLED.value)
