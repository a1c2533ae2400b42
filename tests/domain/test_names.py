from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dialflow.domain.errors import ErrorCode, FieldErrors
from dialflow.domain.names import is_all_caps, validate_name


def _error(exc: pytest.ExceptionInfo[FieldErrors]) -> tuple[ErrorCode, str, str]:
    assert len(exc.value.errors) == 1
    e = exc.value.errors[0]
    return e.code, e.field, e.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("John", "John"),
        ("  Mary Ann  ", "Mary Ann"),
        ("McDONALD", "McDONALD"),
        ("O'Neil", "O'Neil"),
        ("J", "J"),
        ("J.", "J."),
        ("José", "José"),
        ("van der Berg", "van der Berg"),
        ("李小龙", "李小龙"),
        ("محمد", "محمد"),
        ("José-ÉMILE", "José-ÉMILE"),
    ],
)
def test_proper_names_pass_stripped(raw: str, expected: str) -> None:
    assert validate_name(raw, field="first_name", required=True) == expected


@pytest.mark.parametrize("raw", ["JOHN", "O'NEIL", "JOHN DOE", "ÉMILE", "MC DONALD", "J.R."])
def test_all_caps_names_fail(raw: str) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_name(raw, field="last_name", required=False)
    assert _error(exc)[0] is ErrorCode.ALL_CAPS_NAME


def test_all_caps_message_suggests_proper_case() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_name(" JOHN ", field="first_name", required=True)
    code, field, message = _error(exc)
    assert code is ErrorCode.ALL_CAPS_NAME
    assert field == "first_name"
    assert message.startswith('"first_name" must be in proper case ("John"), not all capitals')
    assert '"JOHN"' in message


def test_all_caps_suggestion_handles_apostrophes_and_spaces() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_name("O'NEIL", field="last_name", required=True)
    assert '("O\'Neil")' in _error(exc)[2]


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_missing_name_required_or_none(raw: object) -> None:
    assert validate_name(raw, field="last_name", required=False) is None
    with pytest.raises(FieldErrors) as exc:
        validate_name(raw, field="first_name", required=True)
    assert _error(exc) == (ErrorCode.REQUIRED, "first_name", '"first_name" is required')


@pytest.mark.parametrize("raw", [1, 1.5, True, ["John"], {"n": "John"}, b"John"])
def test_non_string_is_invalid_type(raw: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_name(raw, field="first_name", required=False)
    code, _, message = _error(exc)
    assert code is ErrorCode.INVALID_TYPE
    assert type(raw).__name__ in message


def test_too_long_names_fail_after_stripping() -> None:
    assert validate_name("  " + "a" * 80 + "  ", field="first_name", required=True) == "a" * 80
    with pytest.raises(FieldErrors) as exc:
        validate_name("a" * 81, field="first_name", required=True)
    code, field, message = _error(exc)
    assert (code, field) == (ErrorCode.TOO_LONG, "first_name")
    assert "80" in message
    with pytest.raises(FieldErrors):
        validate_name("Abc", field="first_name", required=True, max_length=2)


# --- properties ------------------------------------------------------------------------------


@given(
    before=st.text(max_size=30),
    lower=st.characters(categories=["Ll"]),
    after=st.text(max_size=30),
)
def test_a_name_with_a_lowercase_letter_is_never_all_caps(
    before: str, lower: str, after: str
) -> None:
    name = before + lower + after
    assume(lower.islower())
    assert not is_all_caps(name)
    codes: list[ErrorCode] = []
    try:
        validate_name(name, field="n", required=False, max_length=1000)
    except FieldErrors as exc:
        codes = [e.code for e in exc.errors]
    assert ErrorCode.ALL_CAPS_NAME not in codes


_LATIN_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÖØÙÚÛÜÝŁŃŚŹŻ"


@given(
    letters=st.lists(st.sampled_from(_LATIN_UPPER), min_size=2, max_size=30),
    separators=st.lists(st.sampled_from(["", "", "", " ", "-", "'", "."]), min_size=30),
)
def test_upper_cased_names_of_two_or_more_letters_fail(
    letters: list[str], separators: list[str]
) -> None:
    name = "".join(c + s for c, s in zip(letters, separators, strict=False))
    with pytest.raises(FieldErrors) as exc:
        validate_name(name, field="first_name", required=True)
    assert exc.value.errors[0].code is ErrorCode.ALL_CAPS_NAME


@given(name=st.text(min_size=1, max_size=40).map(str.lower))
def test_upper_casing_a_name_flags_it_exactly_when_it_has_two_cased_letters(name: str) -> None:
    upper = name.upper()
    cased = sum(1 for c in upper if c.isupper())
    has_lower = any(c.islower() for c in upper)
    assert is_all_caps(upper) is (cased >= 2 and not has_lower)


@given(letter=st.sampled_from(_LATIN_UPPER), pad=st.sampled_from(["", " ", ". "]))
def test_single_initials_pass(letter: str, pad: str) -> None:
    assert validate_name(letter + pad, field="middle_name", required=True) == (letter + pad).strip()


@given(name=st.text(alphabet=st.characters(categories=["Lo"]), min_size=1, max_size=30))
def test_caseless_scripts_pass(name: str) -> None:
    assume(name.strip())
    assert validate_name(name, field="first_name", required=True) == name.strip()
