"""Calling windows: is_open / next_opening / open_until against brute-force wall-clock checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialflow.domain.windows import (
    LEGAL_END,
    LEGAL_START,
    SEARCH_HORIZON,
    CallingWindow,
    is_open,
    next_opening,
    open_until,
)
from dialflow.workflows.definition import CallingHours

NY = "America/New_York"
CHICAGO = "America/Chicago"
DENVER = "America/Denver"
PHOENIX = "America/Phoenix"
US_ZONES = [
    NY,
    CHICAGO,
    DENVER,
    PHOENIX,
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Indiana/Indianapolis",
    "America/Indiana/Knox",
    "America/Indiana/Tell_City",
    "America/Detroit",
    "America/Boise",
    "America/Puerto_Rico",
    "America/Adak",
]
AMBIGUOUS_PAIRS = [(NY, CHICAGO), (DENVER, PHOENIX), (CHICAGO, DENVER), ("America/Boise", DENVER)]
DST_DAYS = [date(2026, 3, 8), date(2026, 11, 1), date(2027, 3, 14), date(2027, 11, 7)]
EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
SECOND = timedelta(seconds=1)
TICK = timedelta(microseconds=1)
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_SECONDS = int((datetime(2028, 1, 1, tzinfo=UTC) - YEAR_START).total_seconds())


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(
    zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    """The UTC instant of a local wall time (fold=0: the first occurrence)."""
    wall = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)
    return wall.astimezone(UTC)


# --- independent oracle ----------------------------------------------------------------------


def brute_bounds(window: CallingWindow) -> tuple[time, time] | None:
    if window.allow_outside_legal:
        return window.start, window.end
    start, end = max(window.start, time(8)), min(window.end, time(21))
    return (start, end) if start < end else None


def brute_open(window: CallingWindow, zones: Sequence[str], at: datetime) -> bool:
    """Wall-clock check straight from ``astimezone``, sharing no code with the module."""
    bounds = brute_bounds(window)
    if bounds is None:
        return False
    for zone in zones:
        wall = at.astimezone(ZoneInfo(zone))
        if wall.weekday() not in window.weekdays:
            return False
        if not bounds[0] <= wall.time().replace(fold=0) < bounds[1]:
            return False
    return True


# --- strategies ------------------------------------------------------------------------------


@st.composite
def windows(draw: st.DrawFn) -> CallingWindow:
    step = draw(st.sampled_from([15, 1]))
    marks = 24 * 60 // step
    start = draw(st.integers(0, marks - 2))
    end = draw(st.integers(start + 1, marks - 1))
    return CallingWindow(
        start=time(*divmod(start * step, 60)),
        end=time(*divmod(end * step, 60)),
        weekdays=draw(st.frozensets(st.integers(0, 6))),
        allow_outside_legal=draw(st.booleans()),
    )


year_instants = st.integers(0, YEAR_SECONDS).map(lambda s: YEAR_START + timedelta(seconds=s))


@st.composite
def dst_instants(draw: st.DrawFn) -> datetime:
    """Instants in the hours around a US DST change (every US zone changes 06:00-13:00 UTC)."""
    day = draw(st.sampled_from(DST_DAYS))
    base = datetime(day.year, day.month, day.day, tzinfo=UTC)
    offset = draw(st.integers(-12 * 3600, 36 * 3600))
    micro = draw(st.sampled_from([0, 0, 0, 1, 999_999]))
    return base + timedelta(seconds=offset, microseconds=micro)


instants = st.one_of(year_instants, dst_instants())
single_zone = st.sampled_from(US_ZONES).map(lambda z: (z,))
zone_sets = st.one_of(
    single_zone,
    st.sampled_from(AMBIGUOUS_PAIRS),
    st.lists(st.sampled_from(US_ZONES), min_size=2, max_size=3, unique=True).map(tuple),
)


def check_properties(window: CallingWindow, zones: Sequence[str], after: datetime) -> None:
    bounds = brute_bounds(window)
    now_open = is_open(window, zones, after)
    # (c) is_open agrees with the wall-clock check, here and at the opening found below.
    assert now_open == brute_open(window, zones, after)
    opening = next_opening(window, zones, after)
    if opening is None:
        assert not now_open
        if len(zones) == 1:  # one zone, a non-empty window: it always opens within a week
            assert not window.weekdays or bounds is None
        return
    # (a) at or after `after`, open there, in UTC; `after` itself when already open.
    assert opening.tzinfo is UTC
    assert opening >= after
    assert opening - after < SEARCH_HORIZON
    assert is_open(window, zones, opening)
    assert brute_open(window, zones, opening)
    assert (opening == after) == now_open
    # (b) the first opening: shut a second / a microsecond before, and in between.
    for earlier in (opening - SECOND, opening - TICK):
        if earlier >= after:
            assert not brute_open(window, zones, earlier)
    gap = opening - after
    if gap:
        for k in range(16):
            assert not brute_open(window, zones, after + gap * k / 16)
    # (c)/(d) the local time at the opening, in every zone, is inside the effective bounds.
    assert bounds is not None
    for zone in zones:
        wall = opening.astimezone(ZoneInfo(zone))
        assert wall.weekday() in window.weekdays
        assert bounds[0] <= wall.time() < bounds[1]
        if not window.allow_outside_legal:
            assert LEGAL_START <= wall.time() < LEGAL_END
    # open_until: open right up to it, shut at it, None when shut.
    closes = open_until(window, zones, opening)
    assert closes is not None
    assert closes > opening
    assert brute_open(window, zones, closes - TICK)
    assert not brute_open(window, zones, closes)
    assert brute_open(window, zones, opening + (closes - opening) / 2)
    if not now_open:
        assert open_until(window, zones, after) is None


# --- properties ------------------------------------------------------------------------------


@settings(deadline=None, max_examples=400)
@given(window=windows(), zones=single_zone, after=instants)
def test_single_zone_properties(window: CallingWindow, zones: tuple[str], after: datetime) -> None:
    check_properties(window, zones, after)


@settings(deadline=None, max_examples=400)
@given(window=windows(), zones=zone_sets, after=instants)
def test_candidate_zones_properties(
    window: CallingWindow, zones: tuple[str, ...], after: datetime
) -> None:
    check_properties(window, zones, after)


@settings(deadline=None, max_examples=300)
@given(window=windows(), zones=zone_sets, at=instants)
def test_ambiguous_zone_open_only_when_open_in_each(
    window: CallingWindow, zones: tuple[str, ...], at: datetime
) -> None:
    each = [is_open(window, [zone], at) for zone in zones]
    assert is_open(window, zones, at) == all(each)
    opening = next_opening(window, zones, at)
    if opening is not None:
        for zone in zones:
            single = next_opening(window, [zone], at)
            assert single is not None
            assert single <= opening
            assert is_open(window, [zone], opening)


@settings(deadline=None, max_examples=200)
@given(
    zone=st.sampled_from(US_ZONES),
    after=instants,
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
)
def test_without_override_never_outside_legal_hours(
    zone: str, after: datetime, weekdays: frozenset[int]
) -> None:
    wide = CallingWindow(time(0, 0), time(23, 59), weekdays)
    t = next_opening(wide, [zone], after)
    for _ in range(5):  # walk several openings and closings
        assert t is not None
        closes = open_until(wide, [zone], t)
        assert closes is not None
        for instant in (t, closes - TICK):
            wall = instant.astimezone(ZoneInfo(zone))
            assert LEGAL_START <= wall.time() < LEGAL_END
        assert not is_open(wide, [zone], closes)
        t = next_opening(wide, [zone], closes)


# --- brute-force oracle: minute by minute over 9 days ----------------------------------------

ORACLE_CASES = [
    (CallingWindow(time(9), time(17), WEEKDAYS), (NY,), utc(2026, 3, 6)),
    (CallingWindow(time(9), time(17), WEEKDAYS), (NY,), utc(2026, 10, 30)),
    (
        CallingWindow(time(1, 30), time(3, 15), EVERY_DAY, allow_outside_legal=True),
        (NY,),
        utc(2026, 3, 7),
    ),
    (
        CallingWindow(time(1, 30), time(9), EVERY_DAY, allow_outside_legal=True),
        (NY,),
        utc(2026, 10, 31),
    ),
    (
        CallingWindow(time(0), time(2, 30), frozenset({6}), allow_outside_legal=True),
        ("America/Adak",),
        utc(2027, 3, 12),
    ),
    (
        CallingWindow(time(1), time(1, 45), frozenset({6}), allow_outside_legal=True),
        ("America/Anchorage",),
        utc(2027, 11, 5),
    ),
    (CallingWindow(time(8), time(21), EVERY_DAY), (NY, CHICAGO), utc(2026, 3, 7)),
    (CallingWindow(time(7), time(22), frozenset({0, 6})), (DENVER, PHOENIX), utc(2026, 10, 30)),
    (
        CallingWindow(time(10), time(19), frozenset({1, 3, 5})),
        (PHOENIX, "America/Puerto_Rico"),
        utc(2027, 3, 12),
    ),
    (
        CallingWindow(time(8), time(21), EVERY_DAY),
        ("Pacific/Guam", "Pacific/Honolulu"),
        utc(2026, 11, 1),
    ),
]


@pytest.mark.parametrize(("window", "zones", "start"), ORACLE_CASES)
def test_matches_minute_by_minute_scan(
    window: CallingWindow, zones: tuple[str, ...], start: datetime
) -> None:
    minutes = 9 * 24 * 60
    flags = [brute_open(window, zones, start + timedelta(minutes=m)) for m in range(minutes + 1)]
    first_open: list[int | None] = [None] * (minutes + 1)  # first open minute at or after m
    closes_at: list[int | None] = [None] * (minutes + 1)  # first shut minute after open m
    following: int | None = None
    shut: int | None = None
    for m in range(minutes, -1, -1):
        if flags[m]:
            following = m
        else:
            shut = m
        first_open[m] = following
        closes_at[m] = shut if flags[m] else None
    assert any(flags)
    for m in range(0, 2 * 24 * 60, 7):
        after = start + timedelta(minutes=m)
        found = first_open[m]
        expected = None if found is None else start + timedelta(minutes=found)
        assert next_opening(window, zones, after) == expected, after
        close = closes_at[m]
        until = open_until(window, zones, after)
        assert until == (None if close is None else start + timedelta(minutes=close)), after


# --- fixed cases -----------------------------------------------------------------------------


def test_examples_new_york() -> None:
    window = CallingWindow(time(9), time(17), WEEKDAYS)
    # Sunday of spring-forward -> Monday 09:00 EDT (13:00 UTC), closing 17:00 EDT.
    assert next_opening(window, [NY], utc(2026, 3, 8, 5)) == utc(2026, 3, 9, 13)
    assert open_until(window, [NY], utc(2026, 3, 9, 14, 30)) == utc(2026, 3, 9, 21)
    # Friday after 17:00 -> Monday after fall-back, 09:00 EST (14:00 UTC).
    assert next_opening(window, [NY], local(NY, 2026, 10, 30, 17)) == utc(2026, 11, 2, 14)
    # Open now: `after` itself, exact to the microsecond.
    at = datetime(2026, 6, 3, 10, 15, 7, 123456, tzinfo=ZoneInfo(NY))
    assert next_opening(window, [NY], at) == at.astimezone(UTC)
    # Boundaries: start included, end excluded.
    assert is_open(window, [NY], local(NY, 2026, 6, 3, 9))
    assert not is_open(window, [NY], local(NY, 2026, 6, 3, 17))
    assert is_open(window, [NY], local(NY, 2026, 6, 3, 17) - TICK)
    assert not is_open(window, [NY], local(NY, 2026, 6, 6, 12))  # Saturday


def test_spring_forward_start_in_the_gap_opens_at_first_existing_instant() -> None:
    window = CallingWindow(time(2, 30), time(4), EVERY_DAY, allow_outside_legal=True)
    # 2026-03-08 02:00 EST jumps to 03:00 EDT at 07:00 UTC; 02:30 does not exist.
    opening = next_opening(window, [NY], local(NY, 2026, 3, 8, 0))
    assert opening == utc(2026, 3, 8, 7)
    assert opening.astimezone(ZoneInfo(NY)).time() == time(3)
    assert open_until(window, [NY], opening) == local(NY, 2026, 3, 8, 4)
    # An end in the gap shuts at the jump.
    early = CallingWindow(time(1), time(2, 30), EVERY_DAY, allow_outside_legal=True)
    assert open_until(early, [NY], local(NY, 2026, 3, 8, 1)) == utc(2026, 3, 8, 7)
    # A window entirely inside the gap skips that day.
    gap = CallingWindow(time(2, 10), time(2, 50), EVERY_DAY, allow_outside_legal=True)
    assert next_opening(gap, [NY], local(NY, 2026, 3, 8, 0)) == local(NY, 2026, 3, 9, 2, 10)


def test_fall_back_uses_the_first_occurrence_and_reads_the_wall_clock() -> None:
    window = CallingWindow(time(1, 30), time(9), EVERY_DAY, allow_outside_legal=True)
    first = local(NY, 2026, 11, 1, 1, 30)
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert next_opening(window, [NY], local(NY, 2026, 11, 1, 0)) == first
    # At 02:00 EDT the clock reads 01:00 EST: shut until 01:30 EST comes round again.
    assert open_until(window, [NY], first) == utc(2026, 11, 1, 6)
    assert not is_open(window, [NY], utc(2026, 11, 1, 6, 10))
    assert next_opening(window, [NY], utc(2026, 11, 1, 6)) == local(NY, 2026, 11, 1, 1, 30, fold=1)
    assert open_until(window, [NY], utc(2026, 11, 1, 6, 30)) == local(NY, 2026, 11, 1, 9)
    # Ordinary hours across the 25-hour day: 09:00 EST is 14:00 UTC.
    legal = CallingWindow(time(9), time(20), EVERY_DAY)
    assert next_opening(legal, [NY], utc(2026, 11, 1, 1)) == utc(2026, 11, 1, 14)


def test_ambiguous_pairs_across_dst() -> None:
    window = CallingWindow(time(8), time(21), EVERY_DAY)
    # New York + Chicago: 09:00 NY (08:00 Chicago) to 21:00 NY.
    assert next_opening(window, [NY, CHICAGO], local(NY, 2026, 3, 8, 7)) == local(NY, 2026, 3, 8, 9)
    assert open_until(window, [NY, CHICAGO], local(NY, 2026, 3, 8, 12)) == local(NY, 2026, 3, 8, 21)
    # Denver + Phoenix: same clock in winter, an hour apart in summer.
    winter = local(DENVER, 2026, 1, 14, 7)
    assert next_opening(window, [DENVER, PHOENIX], winter) == local(DENVER, 2026, 1, 14, 8)
    assert open_until(window, [DENVER, PHOENIX], local(DENVER, 2026, 1, 14, 12)) == local(
        DENVER, 2026, 1, 14, 21
    )
    summer = local(DENVER, 2026, 7, 14, 7)
    assert next_opening(window, [DENVER, PHOENIX], summer) == local(DENVER, 2026, 7, 14, 9)
    # Phoenix's clock is an hour behind: it opens last (08:00 Phoenix) and Denver shuts first.
    assert next_opening(window, [DENVER, PHOENIX], summer) == local(PHOENIX, 2026, 7, 14, 8)
    assert open_until(window, [DENVER, PHOENIX], local(DENVER, 2026, 7, 14, 12)) == local(
        DENVER, 2026, 7, 14, 21
    )
    # Spring-forward Sunday: Denver is MST until 09:00 UTC, then MDT.
    day = local(DENVER, 2026, 3, 8, 0)
    assert next_opening(window, [DENVER, PHOENIX], day) == local(DENVER, 2026, 3, 8, 9)
    assert next_opening(window, [DENVER, PHOENIX], day) == local(PHOENIX, 2026, 3, 8, 8)
    # Zone order and duplicates do not matter.
    assert next_opening(window, [PHOENIX, DENVER, PHOENIX], day) == next_opening(
        window, [DENVER, PHOENIX], day
    )


def test_weekday_is_the_local_date_in_each_zone() -> None:
    # 02:00 UTC Tuesday is still Monday evening in Los Angeles.
    monday = CallingWindow(time(8), time(21), frozenset({0}))
    at = utc(2026, 6, 2, 2)
    assert is_open(monday, ["America/Los_Angeles"], at)
    assert not is_open(monday, [NY], at)
    assert not is_open(monday, [NY, "America/Los_Angeles"], at)


# --- edge cases ------------------------------------------------------------------------------

AFTER = utc(2026, 6, 1, 12)


def test_no_weekdays_never_opens() -> None:
    window = CallingWindow(time(9), time(17), frozenset())
    assert window.never_opens
    assert next_opening(window, [NY], AFTER) is None
    assert not is_open(window, [NY], AFTER)
    assert open_until(window, [NY], AFTER) is None


@pytest.mark.parametrize(
    ("start", "end"), [(time(5), time(8)), (time(21), time(23)), (time(0), time(7, 59))]
)
def test_window_outside_legal_hours_without_override_never_opens(start: time, end: time) -> None:
    window = CallingWindow(start, end, EVERY_DAY)
    assert window.effective_bounds is None
    assert next_opening(window, [NY], AFTER) is None


def test_effective_bounds() -> None:
    assert CallingWindow(time(6), time(23), EVERY_DAY).effective_bounds == (time(8), time(21))
    assert CallingWindow(time(9), time(17), EVERY_DAY).effective_bounds == (time(9), time(17))
    wide = CallingWindow(time(6), time(23), EVERY_DAY, allow_outside_legal=True)
    assert wide.effective_bounds == (time(6), time(23))


def test_override_opens_at_six() -> None:
    window = CallingWindow(time(6), time(23), EVERY_DAY, allow_outside_legal=True)
    assert next_opening(window, [NY], local(NY, 2026, 6, 1, 3)) == local(NY, 2026, 6, 1, 6)
    assert open_until(window, [NY], local(NY, 2026, 6, 1, 6)) == local(NY, 2026, 6, 1, 23)
    clipped = CallingWindow(time(6), time(23), EVERY_DAY)
    assert next_opening(clipped, [NY], local(NY, 2026, 6, 1, 3)) == local(NY, 2026, 6, 1, 8)
    assert open_until(clipped, [NY], local(NY, 2026, 6, 1, 8)) == local(NY, 2026, 6, 1, 21)


def test_guam_and_honolulu() -> None:
    zones = ["Pacific/Guam", "Pacific/Honolulu"]
    # Guam (UTC+10) is 4 hours behind Honolulu's (UTC-10) clock, a day ahead: morning hours
    # never overlap, so such a window never opens for a record in either.
    mornings = CallingWindow(time(9), time(12), EVERY_DAY)
    assert next_opening(mornings, zones, AFTER) is None
    assert not is_open(mornings, zones, AFTER)
    # The full legal day does overlap: 08:00-17:00 Guam is 12:00-21:00 Honolulu the day before.
    legal = CallingWindow(time(8), time(21), EVERY_DAY)
    opening = next_opening(legal, zones, AFTER)
    assert opening is not None
    assert opening.astimezone(ZoneInfo("Pacific/Guam")).time() == time(8)
    assert opening.astimezone(ZoneInfo("Pacific/Honolulu")).time() == time(12)
    assert open_until(legal, zones, opening) == opening + timedelta(hours=9)
    # ... unless the weekdays cannot line up: Monday in Guam is Sunday in Honolulu.
    monday = CallingWindow(time(8), time(21), frozenset({0}))
    assert next_opening(monday, zones, AFTER) is None


def test_naive_datetimes_are_rejected() -> None:
    window = CallingWindow(time(9), time(17), WEEKDAYS)
    naive = datetime(2026, 6, 1, 12)
    with pytest.raises(ValueError, match="aware"):
        is_open(window, [NY], naive)
    with pytest.raises(ValueError, match="aware"):
        next_opening(window, [NY], naive)
    with pytest.raises(ValueError, match="aware"):
        open_until(window, [NY], naive)


def test_zones_are_required_and_must_exist() -> None:
    window = CallingWindow(time(9), time(17), WEEKDAYS)
    with pytest.raises(ValueError, match="at least one"):
        is_open(window, [], AFTER)
    with pytest.raises(ValueError, match="at least one"):
        next_opening(window, (), AFTER)
    with pytest.raises(ValueError, match="IANA"):
        next_opening(window, ["America/New_Yrok"], AFTER)
    with pytest.raises(TypeError):
        is_open(window, NY, AFTER)


def test_results_are_utc_whatever_the_input_offset() -> None:
    window = CallingWindow(time(9), time(17), WEEKDAYS)
    after = datetime(2026, 6, 1, 23, tzinfo=ZoneInfo("Asia/Tokyo"))  # 10:00 EDT Monday
    opening = next_opening(window, [NY], after)
    assert opening == after
    assert opening is not None
    assert opening.tzinfo is UTC


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": time(17), "end": time(9)}, "before end"),
        ({"start": time(9), "end": time(9)}, "before end"),
        ({"start": time(9), "end": time(17), "weekdays": frozenset({7})}, "weekdays"),
        ({"start": time(9, tzinfo=UTC), "end": time(17, tzinfo=UTC)}, "tzinfo"),
    ],
)
def test_invalid_windows(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"weekdays": WEEKDAYS, **kwargs}
    with pytest.raises(ValueError, match=message):
        CallingWindow(**arguments)  # type: ignore[arg-type]


def test_weekdays_are_normalised_to_a_frozenset() -> None:
    window = CallingWindow(time(9), time(17), {0, 1})  # type: ignore[arg-type]
    assert window.weekdays == frozenset({0, 1})
    assert isinstance(window.weekdays, frozenset)
    hash(window)


# --- CallingHours.window ---------------------------------------------------------------------


def test_calling_hours_window() -> None:
    hours = CallingHours(start="10:00", end="18:30", weekdays=["mon", "tue", "sun"])
    assert hours.window() == CallingWindow(time(10), time(18, 30), frozenset({0, 1, 6}))
    default = CallingHours().window()
    assert default == CallingWindow(time(9), time(20), WEEKDAYS, allow_outside_legal=False)
    late = CallingHours(start="07:00", end="22:00", allow_outside_legal_hours=True).window()
    assert late.allow_outside_legal
    assert late.effective_bounds == (time(7), time(22))
    # The window agrees with CallingHours.is_open on local wall times.
    at = local(NY, 2026, 6, 7, 10)  # Sunday 10:00
    assert is_open(hours.window(), [NY], at) == hours.is_open(at.astimezone(ZoneInfo(NY)))
