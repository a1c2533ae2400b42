"""The webhook retry schedule: jitter bounds, giving up, Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dialflow.domain.retries import (
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    RETRY_SCHEDULE,
    next_attempt_at,
    parse_retry_after,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@given(attempts=st.integers(1, MAX_ATTEMPTS - 1), seed=st.integers(0, 2**32))
def test_each_retry_is_the_scheduled_delay_within_ten_percent(attempts: int, seed: int) -> None:
    due = next_attempt_at(attempts, NOW, rng=random.Random(seed))
    assert due is not None
    delay = RETRY_SCHEDULE[attempts]
    assert delay * 0.9 <= due - NOW <= delay * 1.1


@given(attempts=st.integers(MAX_ATTEMPTS, 100))
def test_after_the_last_attempt_the_delivery_is_given_up(attempts: int) -> None:
    assert next_attempt_at(attempts, NOW) is None


@given(
    attempts=st.integers(1, MAX_ATTEMPTS - 1),
    seconds=st.integers(0, 10**7),
    seed=st.integers(0, 2**32),
)
def test_retry_after_wins_when_longer_and_is_capped(attempts: int, seconds: int, seed: int) -> None:
    wait = timedelta(seconds=seconds)
    due = next_attempt_at(attempts, NOW, retry_after=wait, rng=random.Random(seed))
    assert due is not None
    assert due - NOW >= min(wait, MAX_RETRY_AFTER)
    assert due - NOW <= max(RETRY_SCHEDULE[attempts] * 1.1, MAX_RETRY_AFTER)


def test_the_schedule_is_the_documented_one() -> None:
    assert [delay.total_seconds() for delay in RETRY_SCHEDULE] == [
        0,
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    ]


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after("Sun, 22 Nov 2026 12:01:00 GMT", NOW) == timedelta(minutes=1)
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", NOW) == timedelta(0)
    for unreadable in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(unreadable, NOW) is None
