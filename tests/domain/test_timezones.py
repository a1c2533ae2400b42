from __future__ import annotations

import zoneinfo

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from phonenumbers.timezone import time_zones_for_number

from dialflow.domain.errors import ErrorCode, FieldErrors
from dialflow.domain.timezones import (
    ResolvedTimezone,
    TimezoneSource,
    is_valid_zone,
    resolve_timezone,
    validate_zip,
)

NY = "America/New_York"
LA = "America/Los_Angeles"
CHICAGO = "America/Chicago"
ZONES = sorted(z for z in zoneinfo.available_timezones() if is_valid_zone(z))
US_ZONES = [NY, CHICAGO, "America/Denver", LA, "America/Anchorage", "Pacific/Honolulu"]


def _resolve(
    *,
    explicit: object = None,
    zip_code: str | None = None,
    phone: str | None = None,
    default: str = NY,
) -> ResolvedTimezone:
    return resolve_timezone(explicit=explicit, zip_code=zip_code, phone_e164=phone, default=default)


def _error(exc: pytest.ExceptionInfo[FieldErrors]) -> tuple[ErrorCode, str, str]:
    assert len(exc.value.errors) == 1
    e = exc.value.errors[0]
    return e.code, e.field, e.message


# --- is_valid_zone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (NY, True),
        ("UTC", True),
        ("Europe/London", True),
        ("America/Argentina/ComodRivadavia", True),
        ("America/New_Yrok", False),
        ("america/new_york", False),
        ("Etc/Unknown", False),
        ("localtime", False),
        ("", False),
        ("../etc/passwd", False),
    ],
)
def test_is_valid_zone(name: str, expected: bool) -> None:
    assert is_valid_zone(name) is expected


@given(name=st.sampled_from(ZONES))
def test_every_valid_zone_loads(name: str) -> None:
    assert zoneinfo.ZoneInfo(name).key == name


# --- explicit --------------------------------------------------------------------------------


def test_explicit_zone_is_certain() -> None:
    assert _resolve(explicit=" America/Chicago ", zip_code="10001", phone="+13105551234") == (
        ResolvedTimezone(CHICAGO, TimezoneSource.EXPLICIT, (CHICAGO,))
    )


def test_invalid_explicit_zone_is_an_error_not_a_fallback() -> None:
    with pytest.raises(FieldErrors) as exc:
        _resolve(explicit="America/New_Yrok", zip_code="10001")
    code, field, message = _error(exc)
    assert (code, field) == (ErrorCode.INVALID_TIMEZONE, "timezone")
    assert '"America/New_Yrok"' in message
    assert "IANA" in message


def test_overlong_explicit_zone_is_invalid_timezone() -> None:
    with pytest.raises(FieldErrors) as exc:
        _resolve(explicit="America/" + "X" * 200)
    code, _, message = _error(exc)
    assert code is ErrorCode.INVALID_TIMEZONE
    assert len(message) < 150  # the echoed value is clipped


@pytest.mark.parametrize("explicit", [5, -5.0, True, ["America/New_York"], {"tz": NY}])
def test_non_string_explicit_zone_is_invalid_type(explicit: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        resolve_timezone(explicit=explicit, zip_code=None, phone_e164=None, default=NY, field="tz")
    code, field, _ = _error(exc)
    assert (code, field) == (ErrorCode.INVALID_TYPE, "tz")


@pytest.mark.parametrize("explicit", [None, "", "   "])
def test_blank_explicit_zone_falls_through(explicit: object) -> None:
    assert _resolve(explicit=explicit, zip_code="90210").source is TimezoneSource.ZIP


# --- ZIP -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zip_code", "zone"),
    [
        ("10001", NY),
        ("90210", LA),
        ("90210-1234", LA),
        ("902101234", LA),
        (" 60601 ", CHICAGO),
        ("99501", "America/Anchorage"),
        ("96813", "Pacific/Honolulu"),
    ],
)
def test_zip_resolves_certainly(zip_code: str, zone: str) -> None:
    assert _resolve(zip_code=zip_code, phone="+12125551234") == ResolvedTimezone(
        zone, TimezoneSource.ZIP, (zone,)
    )


@pytest.mark.parametrize("zip_code", ["00000", "1000", "10001-12", "1000a", "SW1A 1AA", ""])
def test_unknown_or_malformed_zip_falls_through_to_area_code(zip_code: str) -> None:
    resolved = _resolve(zip_code=zip_code, phone="+13105551234")
    assert resolved == ResolvedTimezone(LA, TimezoneSource.AREA_CODE, (LA,))


# --- area code -------------------------------------------------------------------------------


def test_single_zone_area_code_is_certain() -> None:
    assert _resolve(phone="+13105551234") == ResolvedTimezone(LA, TimezoneSource.AREA_CODE, (LA,))


def test_ambiguous_area_code_lists_every_candidate() -> None:
    candidates = ("America/Adak", "America/Anchorage")
    alaska = _resolve(phone="+19075551234", default="America/Anchorage")
    assert alaska == ResolvedTimezone("America/Anchorage", TimezoneSource.AREA_CODE, candidates)
    # The default is not a candidate: the first candidate is used, the list kept.
    elsewhere = _resolve(phone="+19075551234", default=NY)
    assert elsewhere == ResolvedTimezone("America/Adak", TimezoneSource.AREA_CODE, candidates)


def test_area_codes_split_by_exchange_resolve_per_exchange() -> None:
    # Idaho's 208 spans Mountain and Pacific time; phonenumbers splits it by exchange.
    north = _resolve(phone="+12082631234")
    south = _resolve(phone="+12082011234")
    assert north.zone == LA
    assert south.zone == "America/Denver"
    assert north.candidates == (LA,)


@pytest.mark.parametrize("phone", ["+18005551234", "+18885551234", "+19005551234"])
def test_whole_country_numbers_give_no_information(phone: str) -> None:
    assert _resolve(phone=phone, default=CHICAGO) == ResolvedTimezone(
        CHICAGO, TimezoneSource.DEFAULT, (CHICAGO,)
    )


def test_international_numbers_resolve_through_the_library() -> None:
    assert _resolve(phone="+442079460958").zone == "Europe/London"
    assert _resolve(phone="+61291234567").zone == "Australia/Sydney"


@pytest.mark.parametrize("phone", ["+999", "12125551234", "+1212", "garbage", "+1012555123"])
def test_unusable_phone_falls_back_to_default(phone: str) -> None:
    assert _resolve(phone=phone).source is TimezoneSource.DEFAULT


def test_nothing_known_uses_the_default() -> None:
    assert _resolve(default="Europe/Berlin") == ResolvedTimezone(
        "Europe/Berlin", TimezoneSource.DEFAULT, ("Europe/Berlin",)
    )


# --- properties ------------------------------------------------------------------------------


@st.composite
def valid_us_ca_numbers(draw: st.DrawFn) -> str:
    nsn = draw(st.integers(min_value=2_000_000_000, max_value=9_999_999_999))
    number = phonenumbers.PhoneNumber(country_code=1, national_number=nsn)
    assume(phonenumbers.is_valid_number(number))
    assume(phonenumbers.region_code_for_number(number) in {"US", "CA"})
    return f"+1{nsn}"


@given(phone=valid_us_ca_numbers(), default=st.sampled_from(US_ZONES))
def test_area_code_lookup_agrees_with_phonenumbers(phone: str, default: str) -> None:
    zones = time_zones_for_number(phonenumbers.parse(phone))
    resolved = _resolve(phone=phone, default=default)
    if len(zones) > 6 or "Etc/Unknown" in zones:
        assert resolved == ResolvedTimezone(default, TimezoneSource.DEFAULT, (default,))
    else:
        assert resolved.source is TimezoneSource.AREA_CODE
        assert resolved.candidates == zones
        assert resolved.zone == (default if default in zones else zones[0])


_zip_codes = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=99999).map(lambda n: f"{n:05d}"),
    st.sampled_from(["10001", "90210-1234", "60601", "bogus"]),
)
_phones = st.one_of(
    st.none(),
    st.integers(min_value=2_000_000_000, max_value=9_999_999_999).map(lambda n: f"+1{n}"),
    st.sampled_from(["+18005551234", "+19075551234", "+442079460958", "+12082631234"]),
)


@given(
    explicit=st.one_of(st.none(), st.just(""), st.sampled_from(ZONES)),
    zip_code=_zip_codes,
    phone=_phones,
    default=st.sampled_from(US_ZONES),
)
def test_resolution_always_yields_a_valid_zone_in_source_order(
    explicit: str | None, zip_code: str | None, phone: str | None, default: str
) -> None:
    resolved = _resolve(explicit=explicit, zip_code=zip_code, phone=phone, default=default)
    assert is_valid_zone(resolved.zone)
    assert resolved.zone in resolved.candidates
    assert all(is_valid_zone(z) for z in resolved.candidates)
    if explicit:
        assert resolved == ResolvedTimezone(explicit, TimezoneSource.EXPLICIT, (explicit,))
        return
    by_zip = _resolve(zip_code=zip_code, default=default)
    if by_zip.source is TimezoneSource.ZIP:
        assert resolved == by_zip
        return
    assert resolved.source in {TimezoneSource.AREA_CODE, TimezoneSource.DEFAULT}
    assert resolved == _resolve(phone=phone, default=default)
    if resolved.source is TimezoneSource.DEFAULT:
        assert resolved.candidates == (default,)
    elif len(resolved.candidates) == 1:
        assert resolved.zone == resolved.candidates[0]


@given(zone=st.sampled_from(ZONES), zip_code=_zip_codes, phone=_phones)
def test_a_valid_explicit_zone_always_wins(
    zone: str, zip_code: str | None, phone: str | None
) -> None:
    resolved = _resolve(explicit=zone, zip_code=zip_code, phone=phone)
    assert resolved.source is TimezoneSource.EXPLICIT
    assert resolved.zone == zone
    assert resolved.candidates == (zone,)


@given(name=st.text(max_size=40))
def test_explicit_text_is_accepted_exactly_when_it_is_a_zone(name: str) -> None:
    stripped = name.strip()
    if stripped and not is_valid_zone(stripped):
        with pytest.raises(FieldErrors) as exc:
            _resolve(explicit=name)
        assert _error(exc)[0] is ErrorCode.INVALID_TIMEZONE
        return
    resolved = _resolve(explicit=name)
    if stripped:
        assert resolved == ResolvedTimezone(stripped, TimezoneSource.EXPLICIT, (stripped,))
    else:
        assert resolved.source is TimezoneSource.DEFAULT


# --- validate_zip ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("10001", "10001"),
        (" 02134 ", "02134"),
        ("90210-1234", "90210-1234"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("K1A 0B1", "K1A 0B1"),
    ],
)
def test_validate_zip_accepts_free_text(raw: object, expected: str | None) -> None:
    assert validate_zip(raw) == expected


def test_validate_zip_rejects_long_and_non_strings() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_zip("12345-67890")
    code, field, message = _error(exc)
    assert (code, field) == (ErrorCode.TOO_LONG, "zip")
    assert "10" in message
    with pytest.raises(FieldErrors) as exc:
        validate_zip(2134, field="postal_code")
    code, field, message = _error(exc)
    assert (code, field) == (ErrorCode.INVALID_TYPE, "postal_code")
    assert "leading zeros" in message


@given(raw=st.text(max_size=20))
def test_validate_zip_property(raw: str) -> None:
    stripped = raw.strip()
    if len(stripped) > 10:
        with pytest.raises(FieldErrors):
            validate_zip(raw)
    else:
        assert validate_zip(raw) == (stripped or None)
