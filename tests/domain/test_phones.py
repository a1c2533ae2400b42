from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dialflow.domain import phones
from dialflow.domain.errors import ErrorCode, FieldErrors
from dialflow.domain.phones import (
    NANP_REGIONS,
    PhoneType,
    is_ten_digits,
    normalize_phone,
    parse_phone_type,
)


def _error(exc: pytest.ExceptionInfo[FieldErrors]) -> tuple[ErrorCode, str, str]:
    assert len(exc.value.errors) == 1
    e = exc.value.errors[0]
    return e.code, e.field, e.message


def _reference(raw: str, region: str) -> str | None:
    """What phonenumbers alone says: the E.164 form, or None when invalid."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ours(raw: str, region: str) -> str | None:
    try:
        return normalize_phone(raw, region=region)
    except FieldErrors as exc:
        codes = [e.code for e in exc.errors]
    assert codes == [ErrorCode.INVALID_PHONE]
    return None


# --- examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "2125551234",
        "212-555-1234",
        "212.555.1234",
        "(212) 555-1234",
        "(212)555-1234",
        " 212 555 1234 ",
        "12125551234",
        "1-212-555-1234",
        "1 (212) 555-1234",
        "+12125551234",
        "+1 212 555 1234",
        "+1 (212) 555-1234",
        "+1-212-555-1234",
        "+1.212.555.1234",
    ],
)
def test_common_us_formats_normalise_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+12125551234"


def test_canadian_and_caribbean_numbers_normalise() -> None:
    assert normalize_phone("613-555-1234") == "+16135551234"
    assert normalize_phone("(613) 555-1234", region="CA") == "+16135551234"
    assert normalize_phone("+1 876 927 1234") == "+18769271234"


def test_non_nanp_numbers_use_the_library() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


def test_fast_path_does_not_call_phonenumbers_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: object, **_kwargs: object) -> phonenumbers.PhoneNumber:
        raise AssertionError("phonenumbers.parse called on the fast path")

    monkeypatch.setattr(phonenumbers, "parse", boom)
    assert normalize_phone("(212) 555-1234") == "+12125551234"
    assert normalize_phone("+1 212 555 1234", region="GB") == "+12125551234"
    with pytest.raises(FieldErrors):
        normalize_phone("212-111-1234")  # exchange may not start with 1: invalid, still fast


def test_invalid_number_message_is_actionable() -> None:
    with pytest.raises(FieldErrors) as exc:
        normalize_phone("12345")
    assert _error(exc) == (
        ErrorCode.INVALID_PHONE,
        "phone",
        '"phone" is not a valid phone number: "12345"',
    )


def test_error_uses_the_given_field_name() -> None:
    with pytest.raises(FieldErrors) as exc:
        normalize_phone("not a phone", field="phones[1].number")
    code, field, message = _error(exc)
    assert code is ErrorCode.INVALID_PHONE
    assert field == "phones[1].number"
    assert message.startswith('"phones[1].number" is not a valid phone number')


@pytest.mark.parametrize(
    "raw", ["000-000-0000", "212-555-123", "212-555-12345", "+1 212 555 12", "hello"]
)
def test_invalid_numbers_are_rejected(raw: str) -> None:
    with pytest.raises(FieldErrors) as exc:
        normalize_phone(raw)
    assert _error(exc)[0] is ErrorCode.INVALID_PHONE


@pytest.mark.parametrize("raw", [2125551234, 2.5, b"2125551234", ["2125551234"]])
def test_non_string_is_invalid_type(raw: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        normalize_phone(raw)
    code, _, message = _error(exc)
    assert code is ErrorCode.INVALID_TYPE
    assert type(raw).__name__ in message


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_is_required(raw: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        normalize_phone(raw)
    assert _error(exc) == (ErrorCode.REQUIRED, "phone", '"phone" is required')


def test_long_garbage_is_echoed_truncated() -> None:
    with pytest.raises(FieldErrors) as exc:
        normalize_phone("9" * 300)
    message = _error(exc)[2]
    assert message.endswith('…"')
    assert len(message) < 100


# --- properties ------------------------------------------------------------------------------

_national_numbers = st.integers(min_value=2_000_000_000, max_value=9_999_999_999).map(str)


@given(nsn=_national_numbers)
def test_fast_validity_matches_phonenumbers(nsn: str) -> None:
    expected = phonenumbers.is_valid_number(
        phonenumbers.PhoneNumber(country_code=1, national_number=int(nsn))
    )
    assert phones._nanp_is_valid(nsn) is expected


@given(
    digits=st.text(alphabet="0123456789", min_size=9, max_size=12),
    prefix=st.sampled_from(["", "1", "+1", "+", "1 ", "+1 "]),
    region=st.sampled_from(sorted(NANP_REGIONS)),
)
def test_normalize_matches_phonenumbers_for_random_digits(
    digits: str, prefix: str, region: str
) -> None:
    raw = prefix + digits
    assert _ours(raw, region) == _reference(raw, region)


@st.composite
def valid_us_numbers(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["212", "310", "415", "512", "617", "702", "713", "206", "305"]))
    exchange = draw(st.integers(min_value=200, max_value=999))
    line = draw(st.integers(min_value=0, max_value=9999))
    nsn = f"{area}{exchange:03d}{line:04d}"
    assume(
        phonenumbers.is_valid_number(
            phonenumbers.PhoneNumber(country_code=1, national_number=int(nsn))
        )
    )
    return nsn


_FORMATS = [
    "{a}{e}{l}",
    "{a}-{e}-{l}",
    "{a}.{e}.{l}",
    "({a}) {e}-{l}",
    "({a}){e}-{l}",
    "{a} {e} {l}",
    "1{a}{e}{l}",
    "1-{a}-{e}-{l}",
    "1 ({a}) {e}-{l}",
    "+1{a}{e}{l}",
    "+1 {a} {e} {l}",
    "+1 ({a}) {e}-{l}",
    "+1-{a}-{e}-{l}",
    "+1.{a}.{e}.{l}",
]


@given(nsn=valid_us_numbers(), formats=st.lists(st.sampled_from(_FORMATS), min_size=2))
def test_every_punctuation_of_a_valid_number_gives_one_e164(nsn: str, formats: list[str]) -> None:
    a, e, line = nsn[:3], nsn[3:6], nsn[6:]
    results = {normalize_phone("  " + f.format(a=a, e=e, l=line) + " ") for f in formats}
    assert results == {"+1" + nsn}


@given(nsn=valid_us_numbers(), region=st.sampled_from(["US", "CA"]))
def test_fast_path_equals_slow_path_on_valid_numbers(nsn: str, region: str) -> None:
    for raw in (nsn, f"({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}", "1" + nsn, "+1" + nsn):
        assert normalize_phone(raw, region=region) == _reference(raw, region) == "+1" + nsn


# --- is_ten_digits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2125551234", True),
        ("0000000000", True),
        ("12125551234", False),
        ("+12125551234", False),
        ("212-555-1234", False),
        ("212555123", False),
        ("٢١٢٥٥٥١٢٣٤", False),  # Arabic-Indic digits are digits, but not ASCII
        ("", False),
    ],
)
def test_is_ten_digits_examples(raw: str, expected: bool) -> None:
    assert is_ten_digits(raw) is expected


@given(raw=st.text(max_size=14))
def test_is_ten_digits_means_exactly_ten_ascii_digits(raw: str) -> None:
    expected = len(raw) == 10 and all(c in "0123456789" for c in raw)
    assert is_ten_digits(raw) is expected


@given(raw=st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_any_ten_ascii_digits_pass(raw: str) -> None:
    assert is_ten_digits(raw)


# --- phone types -----------------------------------------------------------------------------


@pytest.mark.parametrize("member", list(PhoneType))
def test_phone_type_values_equal_names(member: PhoneType) -> None:
    assert member.value == member.name


@given(
    member=st.sampled_from(list(PhoneType)),
    spelling=st.sampled_from([str.upper, str.lower, str.title]),
    pad=st.sampled_from(["", " ", "\t"]),
)
def test_parse_phone_type_accepts_any_case(member: PhoneType, spelling: object, pad: str) -> None:
    assert callable(spelling)
    raw = pad + spelling(member.value) + pad
    assert parse_phone_type(raw, field="phones[0].type") is member


@pytest.mark.parametrize("raw", ["FAX", "", "WORK", None, 1, PhoneType])
def test_parse_phone_type_rejects_others_listing_allowed(raw: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        parse_phone_type(raw, field="phones[0].type")
    code, field, message = _error(exc)
    assert code is ErrorCode.INVALID_PHONE_TYPE
    assert field == "phones[0].type"
    assert "HOME, OFFICE, MOBILE, EXTRA_1, EXTRA_2, EXTRA_3" in message
