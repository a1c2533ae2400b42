"""When a failed webhook delivery is tried again (the Standard Webhooks / Svix schedule)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Delay before each attempt: the first is immediate, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 10 h. After the last one fails the delivery is given up (and can be replayed).
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
JITTER = 0.10
# A Retry-After longer than this is not honoured as given: the endpoint would stall its queue.
MAX_RETRY_AFTER = timedelta(hours=10)
# An endpoint that has failed without a single success for this long is disabled.
DISABLE_AFTER = timedelta(days=5)


def next_attempt_at(
    attempts_made: int,
    now: datetime,
    *,
    retry_after: timedelta | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after ``attempts_made`` attempts (≥ 1) all failed; None: give up.

    The scheduled delay gets ±10 % jitter so a recovering receiver is not hit by every retry at
    once. A receiver's Retry-After (for 429 and 503) wins when it asks for more time."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    delay = RETRY_SCHEDULE[attempts_made]
    spread = (rng or random).uniform(-JITTER, JITTER)
    delay = delay * (1 + spread)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header, in seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))
