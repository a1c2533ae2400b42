"""Which IANA time zone a contact lives in: explicit name, then US ZIP, then phone area code.

Every lookup table is built once (lazily, on first use) and every per-record step is a dict or
``lru_cache`` hit, so bulk intake never calls ``zipcodes`` or ``phonenumbers`` per record once the
caches are warm. Results are shared immutable ``ResolvedTimezone`` instances.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
import zipcodes
from phonenumbers.timezone import (
    UNKNOWN_TIMEZONE,
    time_zones_for_geographical_number,
    time_zones_for_number,
)
from phonenumbers.tzdata import TIMEZONE_DATA

from dialflow.domain.errors import ErrorCode, FieldErrors
from dialflow.domain.text import clip, optional_text

__all__ = [
    "ResolvedTimezone",
    "TimezoneSource",
    "is_valid_zone",
    "resolve_timezone",
    "validate_zip",
]


class TimezoneSource(StrEnum):
    EXPLICIT = "explicit"
    ZIP = "zip"
    AREA_CODE = "area_code"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class ResolvedTimezone:
    """The zone to schedule in, where it came from, and every zone it might really be.

    ``candidates`` is ``(zone,)`` when the source was certain; for an ambiguous area code it lists
    every zone the code spans, and only hours legal in all of them may be used.
    """

    zone: str
    source: TimezoneSource
    candidates: tuple[str, ...]


# More candidate zones than this means "somewhere in the country" (e.g. +1 800 toll-free): no
# information. The largest genuine NANP area-code ambiguity has two zones.
_MAX_CANDIDATES = 6
# Zone-like names that are not places a contact can live in.
_EXCLUDED_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_MAX_ZIP_LENGTH = 10
_NANP_KEY = 4  # "1" + 3-digit area code
_AREA_CACHE = 65_536
_INTL_CACHE = 16_384


# --- zone names ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _EXCLUDED_ZONES)


def is_valid_zone(name: str) -> bool:
    """True for an IANA zone name zoneinfo can load (exact spelling, e.g. ``America/New_York``)."""
    return name in _zone_names()


@lru_cache(maxsize=1)
def _explicit_table() -> dict[str, ResolvedTimezone]:
    return {z: ResolvedTimezone(z, TimezoneSource.EXPLICIT, (z,)) for z in _zone_names()}


@lru_cache(maxsize=256)
def _default_resolution(default: str) -> ResolvedTimezone:
    return ResolvedTimezone(default, TimezoneSource.DEFAULT, (default,))


# --- ZIP codes -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zip_table() -> dict[str, ResolvedTimezone]:
    """zip5 -> resolution, from the ``zipcodes`` data set (built once, ~0.5 s)."""
    zones = _zone_names()
    shared: dict[str, ResolvedTimezone] = {}
    table: dict[str, ResolvedTimezone] = {}
    list_all: Callable[[], list[dict[str, object]]] = zipcodes.list_all
    for record in list_all():
        zone = record.get("timezone")
        code = record.get("zip_code")
        if isinstance(zone, str) and isinstance(code, str) and zone in zones:
            resolved = shared.get(zone)
            if resolved is None:
                resolved = shared[zone] = ResolvedTimezone(zone, TimezoneSource.ZIP, (zone,))
            table[code] = resolved
    # The package keeps every ZIP's full record (~150 MiB) cached; we need only the zones.
    if hasattr(zipcodes, "_zips_cache"):
        zipcodes._zips_cache = None
    return table


def _zip_resolution(zip_code: str) -> ResolvedTimezone | None:
    """Resolution for a US ZIP (``12345``, ``12345-6789`` or ``123456789``), None if unknown."""
    code = zip_code.strip()
    n = len(code)
    if n == 5:
        return _zip_table().get(code)
    if (n == 10 and code[5] == "-") or n == 9:
        plus4 = code[-4:]
        if plus4.isdigit() and plus4.isascii():
            return _zip_table().get(code[:5])
    return None


# --- phone area codes ------------------------------------------------------------------------


def _nanp_depths() -> dict[str, int]:
    """For the few NANP area codes whose zone data is split by exchange, how deep the keys go.

    phonenumbers keys its zone data by E.164 digit prefix; for most area codes the key is "1" +
    area code, but e.g. 208 (Idaho) is split per exchange ("1208201"). Those area codes are cached
    per key of this depth, every other one per area code.
    """
    depths: dict[str, int] = {}
    for key in TIMEZONE_DATA:
        if key.startswith("1") and len(key) > _NANP_KEY:
            area = key[:_NANP_KEY]
            depths[area] = max(depths.get(area, _NANP_KEY), len(key))
    return depths


_NANP_DEPTHS = _nanp_depths()


def _usable(zones: tuple[str, ...]) -> tuple[str, ...] | None:
    """The zones as candidates, or None when they carry no information."""
    if not zones or len(zones) > _MAX_CANDIDATES or UNKNOWN_TIMEZONE in zones:
        return None
    known = tuple(z for z in zones if is_valid_zone(z))
    return known or None


def _resolution(zones: tuple[str, ...] | None, default: str) -> ResolvedTimezone | None:
    if zones is None:
        return None
    if len(zones) == 1:
        return ResolvedTimezone(zones[0], TimezoneSource.AREA_CODE, zones)
    zone = default if default in zones else zones[0]
    return ResolvedTimezone(zone, TimezoneSource.AREA_CODE, zones)


@lru_cache(maxsize=_AREA_CACHE)
def _nanp_resolution(prefix: str, default: str) -> ResolvedTimezone | None:
    """Resolution for NANP numbers starting with digit prefix ``prefix`` ("1" + area code...).

    No phonenumbers key under this prefix is longer than it, so any number padded out from it
    gets the same longest-prefix match as every real number sharing the prefix.
    """
    padded = int(prefix[1:].ljust(10, "0"))
    number = phonenumbers.PhoneNumber(country_code=1, national_number=padded)
    return _resolution(_usable(time_zones_for_geographical_number(number)), default)


@lru_cache(maxsize=_INTL_CACHE)
def _intl_resolution(e164: str, default: str) -> ResolvedTimezone | None:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return _resolution(_usable(time_zones_for_number(number)), default)


def _area_code_resolution(e164: str, default: str) -> ResolvedTimezone | None:
    if len(e164) == 12 and e164.startswith("+1") and e164[2] not in "01":
        digits = e164[1:]
        if not (digits.isdigit() and digits.isascii()):
            return None
        depth = _NANP_DEPTHS.get(digits[:_NANP_KEY], _NANP_KEY)
        return _nanp_resolution(digits[:depth], default)
    if e164.startswith("+") and not e164.startswith("+1"):
        return _intl_resolution(e164, default)
    return None


# --- public API ------------------------------------------------------------------------------


def resolve_timezone(
    *,
    explicit: object,
    zip_code: str | None,
    phone_e164: str | None,
    default: str,
    field: str = "timezone",
) -> ResolvedTimezone:
    """Resolve a contact's zone: explicit IANA name > US ZIP > phone area code > ``default``.

    An explicit name that is not a known IANA zone raises ``FieldErrors`` (INVALID_TIMEZONE, or
    INVALID_TYPE for a non-string) rather than silently falling back. ``phone_e164`` is expected to
    come from ``normalize_phone``. ``default`` must itself be a valid zone name.
    """
    if explicit is not None:
        if not isinstance(explicit, str):
            raise FieldErrors.one(
                ErrorCode.INVALID_TYPE,
                field,
                f'"{field}" must be an IANA time zone name string, not {type(explicit).__name__}',
            )
        name = explicit.strip()
        if name:
            resolved = _explicit_table().get(name)
            if resolved is None:
                raise FieldErrors.one(
                    ErrorCode.INVALID_TIMEZONE,
                    field,
                    f'"{field}" is not a known IANA time zone name (like "America/New_York"): '
                    f'"{clip(name)}"',
                )
            return resolved
    if zip_code:
        resolved = _zip_resolution(zip_code)
        if resolved is not None:
            return resolved
    if phone_e164:
        resolved = _area_code_resolution(phone_e164, default)
        if resolved is not None:
            return resolved
    return _default_resolution(default)


def validate_zip(value: object, *, field: str = "zip") -> str | None:
    """A free-text postal code of up to 10 characters, stripped; None when absent."""
    return optional_text(
        value,
        field=field,
        max_length=_MAX_ZIP_LENGTH,
        type_hint=' (keep leading zeros: "02134")',
    )
