"""Calling windows: when a record may be called, in its local time, in every zone it might be in.

Pure functions, no I/O, the time always passed in. Instants go in as aware datetimes (any offset;
naive ones raise ``ValueError``) and come out as aware UTC datetimes.

A window is open at an instant when, in **every** candidate zone, the local wall-clock time at
that instant falls on an allowed weekday (of the local date) and inside ``[start, end)`` of the
effective bounds: the workflow's hours intersected with the legal 08:00-21:00, unless the
workflow explicitly allows hours outside it. An ambiguous time zone therefore fails closed.

``is_open`` is that definition, read straight off ``astimezone``. ``next_opening`` and
``open_until`` agree with it exactly, to the microsecond: per zone, the UTC timeline is cut into
pieces of constant UTC offset (each DST transition is located to the exact second by bisection,
never assuming 24-hour days), each piece yields the instants whose local time is inside the window
on an allowed local day, the pieces' intervals are merged, and the zones' interval lists are
intersected. So on a spring-forward day a local start inside the gap (02:30) opens at the first
instant that exists after it (03:00 new time), and on a fall-back day a window opens at the first
occurrence of its start; local times inside a repeated hour are open or shut exactly as the wall
clock reads, both times round.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "LEGAL_END",
    "LEGAL_START",
    "SEARCH_HORIZON",
    "CallingWindow",
    "is_open",
    "next_opening",
    "open_until",
]

LEGAL_START = time(8, 0)
LEGAL_END = time(21, 0)
# How far ahead next_opening looks: two full weeks plus slack, enough for a window open one
# weekday a week whatever the DST changes; past it the window is treated as never opening.
SEARCH_HORIZON = timedelta(days=15)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
# Step between UTC-offset probes. An offset change is bisected to the second; a zone would have
# to change its offset and change it back within this step for a transition to be missed.
_PROBE_SECONDS = 6 * 3600

_Interval: TypeAlias = tuple[datetime, datetime]
_Piece: TypeAlias = tuple[datetime, datetime, timedelta]  # UTC start, UTC end, UTC offset


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Local hours ``[start, end)`` on ``weekdays`` (Monday is 0 ... Sunday 6).

    ``start < end`` on the same day (no overnight windows). Unless ``allow_outside_legal``, the
    window is clipped to ``[LEGAL_START, LEGAL_END)``; see ``effective_bounds``.
    """

    start: time
    end: time
    weekdays: frozenset[int]
    allow_outside_legal: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("calling window times are local wall-clock times; drop the tzinfo")
        if self.start >= self.end:
            raise ValueError(
                f"start {self.start} must be before end {self.end}; "
                "a calling window cannot cross midnight"
            )
        days = frozenset(self.weekdays)
        if bad := sorted(day for day in days if not 0 <= day <= 6):
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), got {bad}")
        object.__setattr__(self, "weekdays", days)

    @property
    def effective_bounds(self) -> tuple[time, time] | None:
        """The local ``(start, end)`` actually used, end exclusive; ``None`` when empty.

        That is ``[start, end)`` intersected with ``[08:00, 21:00)``, or ``[start, end)`` as is
        when ``allow_outside_legal``.
        """
        if self.allow_outside_legal:
            return self.start, self.end
        start = max(self.start, LEGAL_START)
        end = min(self.end, LEGAL_END)
        return (start, end) if start < end else None

    @property
    def never_opens(self) -> bool:
        """True when no weekday is allowed or the effective bounds are empty."""
        return not self.weekdays or self.effective_bounds is None


def is_open(window: CallingWindow, zones: Sequence[str], at: datetime) -> bool:
    """Whether the window is open at instant ``at`` in every one of ``zones``."""
    infos = _zone_infos(zones)
    instant = _as_utc(at, "at")
    bounds = window.effective_bounds
    if bounds is None or not window.weekdays:
        return False
    start, end = bounds
    for zone in infos:
        local = instant.astimezone(zone)
        if local.weekday() not in window.weekdays or not start <= local.time() < end:
            return False
    return True


def next_opening(window: CallingWindow, zones: Sequence[str], after: datetime) -> datetime | None:
    """The earliest instant ``t >= after`` at which the window is open in every zone.

    ``after`` itself (in UTC) when the window is open then; ``None`` when it does not open within
    ``SEARCH_HORIZON`` (no weekdays, empty effective bounds, zones whose windows never overlap).
    """
    found = _first_common(window, _zone_infos(zones), _as_utc(after, "after"))
    return None if found is None else found[0]


def open_until(window: CallingWindow, zones: Sequence[str], at: datetime) -> datetime | None:
    """When the window is open at ``at``, the instant it shuts (earliest close across zones).

    ``None`` when the window is shut at ``at``.
    """
    instant = _as_utc(at, "at")
    found = _first_common(window, _zone_infos(zones), instant)
    if found is None or found[0] != instant:
        return None
    return min(end for _, end in found[1])


# --- internals -------------------------------------------------------------------------------


def _zone_infos(zones: Sequence[str]) -> tuple[ZoneInfo, ...]:
    if isinstance(zones, str):
        raise TypeError("zones must be a sequence of zone names, not a single string")
    if not zones:
        raise ValueError("at least one candidate time zone is required")
    infos: dict[str, ZoneInfo] = {}
    for name in zones:
        if name in infos:
            continue
        try:
            infos[name] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{name!r} is not an IANA time zone") from exc
    return tuple(infos.values())


def _as_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a UTC offset), got {value!r}")
    return value.astimezone(UTC)


def _offset(zone: ZoneInfo, second: int) -> timedelta:
    """The zone's UTC offset at POSIX second ``second``."""
    offset = datetime.fromtimestamp(second, zone).utcoffset()
    if offset is None:  # pragma: no cover - ZoneInfo always has an offset
        raise ValueError(f"{zone.key} has no UTC offset")
    return offset


def _pieces(zone: ZoneInfo, lo: datetime, hi: datetime) -> Iterator[_Piece]:
    """``[lo, hi)`` cut into consecutive ``(start, end, offset)`` pieces of constant UTC offset.

    tzdata transitions fall on whole POSIX seconds, so the offset at ``floor(lo)`` is the offset
    at ``lo``, and a change between two probes is bisected to the exact second it happens.
    """
    start = lo
    second = (lo - _EPOCH) // _SECOND
    offset = _offset(zone, second)
    while start < hi:
        probe = second + _PROBE_SECONDS
        probe_offset = _offset(zone, probe)
        if probe_offset != offset:
            same, changed = second, probe  # offset(same) == offset != offset(changed)
            while changed - same > 1:
                middle = (same + changed) // 2
                if _offset(zone, middle) == offset:
                    same = middle
                else:
                    changed = middle
            probe, probe_offset = changed, _offset(zone, changed)
        end = min(_EPOCH + timedelta(seconds=probe), hi)
        yield start, end, offset
        start, second, offset = end, probe, probe_offset


def _piece_intervals(
    start: time,
    end: time,
    weekdays: frozenset[int],
    piece: _Piece,
) -> Iterator[_Interval]:
    """Open intervals inside one constant-offset piece: local ``[start, end)`` on allowed days."""
    lo, hi, offset = piece
    day = (lo + offset).date()
    last = (hi + offset - _TICK).date()
    while day <= last:
        if day.weekday() in weekdays:
            opens = max(lo, datetime.combine(day, start, UTC) - offset)
            shuts = min(hi, datetime.combine(day, end, UTC) - offset)
            if opens < shuts:
                yield opens, shuts
        day += _DAY


def _zone_intervals(
    window: CallingWindow, bounds: tuple[time, time], zone: ZoneInfo, lo: datetime, hi: datetime
) -> Iterator[_Interval]:
    """The zone's open intervals within ``[lo, hi)``: sorted, disjoint, adjacent ones merged."""
    start, end = bounds
    pending: _Interval | None = None
    for piece in _pieces(zone, lo, hi):
        for opens, shuts in _piece_intervals(start, end, window.weekdays, piece):
            if pending is not None and opens <= pending[1]:
                pending = (pending[0], max(pending[1], shuts))
                continue
            if pending is not None:
                yield pending
            pending = (opens, shuts)
    if pending is not None:
        yield pending


def _first_common(
    window: CallingWindow, zones: tuple[ZoneInfo, ...], after: datetime
) -> tuple[datetime, list[_Interval]] | None:
    """The first instant ``>= after`` open in every zone, with each zone's interval holding it."""
    bounds = window.effective_bounds
    if bounds is None or not window.weekdays:
        return None
    horizon = after + SEARCH_HORIZON
    streams = [_zone_intervals(window, bounds, zone, after, horizon) for zone in zones]
    current: list[_Interval] = []
    for stream in streams:
        first = next(stream, None)
        if first is None:
            return None
        current.append(first)
    candidate = after
    moved = True
    while moved:
        moved = False
        for index, stream in enumerate(streams):
            interval: _Interval | None = current[index]
            while interval is not None and interval[1] <= candidate:
                interval = next(stream, None)
            if interval is None:
                return None
            current[index] = interval
            if interval[0] > candidate:
                candidate = interval[0]
                moved = True
    return candidate, current
