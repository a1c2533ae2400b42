from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialflow.domain.contact_fields import (
    validate_email,
    validate_meta,
    validate_placeholders,
    validate_priority,
    validate_text,
)
from dialflow.domain.errors import ErrorCode, FieldErrors
from dialflow.domain.variables import VariableSpec, VariableType


def _error(exc: pytest.ExceptionInfo[FieldErrors]) -> tuple[ErrorCode, str, str]:
    assert len(exc.value.errors) == 1
    e = exc.value.errors[0]
    return e.code, e.field, e.message


# --- priority --------------------------------------------------------------------------------

PRIORITY_MESSAGE = '"priority" must be an integer from 1 to 10, or null for a hot lead'


def test_priority_none_is_a_hot_lead() -> None:
    assert validate_priority(None) is None


@given(value=st.integers())
def test_priority_accepts_exactly_one_to_ten(value: int) -> None:
    if 1 <= value <= 10:
        assert validate_priority(value) == value
    else:
        with pytest.raises(FieldErrors) as exc:
            validate_priority(value)
        assert _error(exc) == (ErrorCode.INVALID_PRIORITY, "priority", PRIORITY_MESSAGE)


@given(
    value=st.one_of(
        st.booleans(),
        st.floats(allow_nan=True),
        st.text(),
        st.lists(st.integers(min_value=1, max_value=10), max_size=2),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    )
)
def test_priority_rejects_every_non_integer(value: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_priority(value, field="records[3].priority")
    code, field, _ = _error(exc)
    assert (code, field) == (ErrorCode.INVALID_PRIORITY, "records[3].priority")


@pytest.mark.parametrize("value", ["", "5", 0, 11, 5.0, True, False])
def test_priority_named_rejections(value: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_priority(value)
    assert _error(exc) == (ErrorCode.INVALID_PRIORITY, "priority", PRIORITY_MESSAGE)


# --- placeholders ----------------------------------------------------------------------------

SPECS = (
    VariableSpec("name"),
    VariableSpec("age", VariableType.INTEGER),
    VariableSpec("balance", VariableType.NUMBER),
    VariableSpec("vip", VariableType.BOOLEAN),
    VariableSpec("note", required=False),
)


def test_placeholders_coerce_by_type_and_keep_extras() -> None:
    values = {
        "name": 42,
        "age": " 37 ",
        "balance": "12.50",
        "vip": "Yes",
        "extra": {"nested": [1, 2]},
    }
    result = validate_placeholders(values, SPECS)
    assert result == {
        "name": "42",
        "age": 37,
        "balance": 12.5,
        "vip": True,
        "extra": {"nested": [1, 2]},
    }
    assert values["age"] == " 37 "  # the input is not mutated


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (VariableSpec("s"), "text", "text"),
        (VariableSpec("s"), 1.5, "1.5"),
        (VariableSpec("s"), True, "true"),
        (VariableSpec("i", VariableType.INTEGER), 7, 7),
        (VariableSpec("i", VariableType.INTEGER), "-12", -12),
        (VariableSpec("i", VariableType.INTEGER), "+3", 3),
        (VariableSpec("n", VariableType.NUMBER), 3, 3),
        (VariableSpec("n", VariableType.NUMBER), 2.25, 2.25),
        (VariableSpec("n", VariableType.NUMBER), "10", 10),
        (VariableSpec("n", VariableType.NUMBER), "1e3", 1000.0),
        (VariableSpec("b", VariableType.BOOLEAN), False, False),
        (VariableSpec("b", VariableType.BOOLEAN), "TRUE", True),
        (VariableSpec("b", VariableType.BOOLEAN), "no", False),
        (VariableSpec("b", VariableType.BOOLEAN), "1", True),
        (VariableSpec("b", VariableType.BOOLEAN), " 0 ", False),
    ],
)
def test_placeholder_coercions(spec: VariableSpec, raw: object, expected: object) -> None:
    result = validate_placeholders({spec.name: raw}, [spec])
    assert result[spec.name] == expected
    assert type(result[spec.name]) is type(expected)


@pytest.mark.parametrize(
    ("spec", "raw"),
    [
        (VariableSpec("s"), ["a"]),
        (VariableSpec("s"), {"a": 1}),
        (VariableSpec("i", VariableType.INTEGER), True),
        (VariableSpec("i", VariableType.INTEGER), 1.5),
        (VariableSpec("i", VariableType.INTEGER), "1.5"),
        (VariableSpec("i", VariableType.INTEGER), "٣"),
        (VariableSpec("i", VariableType.INTEGER), "1_000"),
        (VariableSpec("n", VariableType.NUMBER), "abc"),
        (VariableSpec("n", VariableType.NUMBER), "nan"),
        (VariableSpec("n", VariableType.NUMBER), "inf"),
        (VariableSpec("n", VariableType.NUMBER), math.inf),
        (VariableSpec("n", VariableType.NUMBER), False),
        (VariableSpec("b", VariableType.BOOLEAN), "maybe"),
        (VariableSpec("b", VariableType.BOOLEAN), 1),
    ],
)
def test_placeholder_type_errors_name_the_path(spec: VariableSpec, raw: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_placeholders({spec.name: raw}, [spec], field="records[0].placeholders")
    code, field, message = _error(exc)
    assert code is ErrorCode.INVALID_PLACEHOLDER
    assert field == f"records[0].placeholders.{spec.name}"
    article = "an" if spec.type is VariableType.INTEGER else "a"
    assert message.startswith(f'placeholder "{spec.name}" must be {article} {spec.type.value}')


def test_invalid_placeholder_message_shows_the_value() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_placeholders({"age": "abc"}, [VariableSpec("age", VariableType.INTEGER)])
    assert _error(exc)[2] == 'placeholder "age" must be an integer, not "abc"'


def test_every_missing_placeholder_is_reported() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_placeholders({"name": "", "age": None, "vip": "  "}, SPECS)
    assert [(e.code, e.field, e.message) for e in exc.value.errors] == [
        (
            ErrorCode.MISSING_PLACEHOLDER,
            f"placeholders.{n}",
            f'missing required placeholder field "{n}"',
        )
        for n in ("name", "age", "balance", "vip")
    ]


def test_missing_and_invalid_are_reported_together() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_placeholders({"name": "Ann", "age": "old", "vip": "yes"}, SPECS)
    assert [(e.code, e.field) for e in exc.value.errors] == [
        (ErrorCode.INVALID_PLACEHOLDER, "placeholders.age"),
        (ErrorCode.MISSING_PLACEHOLDER, "placeholders.balance"),
    ]


def test_none_placeholders_are_an_empty_object() -> None:
    assert validate_placeholders(None, []) == {}
    assert validate_placeholders(None, [VariableSpec("x", required=False)]) == {}
    with pytest.raises(FieldErrors) as exc:
        validate_placeholders(None, [VariableSpec("x")])
    assert _error(exc)[:2] == (ErrorCode.MISSING_PLACEHOLDER, "placeholders.x")


@pytest.mark.parametrize("values", [[], "x=1", 3, True])
def test_non_object_placeholders_are_invalid_type(values: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_placeholders(values, SPECS)
    assert _error(exc)[:2] == (ErrorCode.INVALID_TYPE, "placeholders")


def test_optional_placeholders_may_be_absent_or_null() -> None:
    spec = VariableSpec("note", required=False)
    assert validate_placeholders({}, [spec]) == {}
    assert validate_placeholders({"note": None}, [spec]) == {"note": None}


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@given(
    required=st.lists(_names, unique=True, max_size=6),
    present=st.data(),
    extras=st.dictionaries(
        st.text(alphabet="ABCDEFGHIJ", min_size=1, max_size=5),
        st.one_of(
            st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)
        ),
        max_size=4,
    ),
)
def test_every_missing_required_placeholder_is_named_and_extras_kept(
    required: list[str], present: st.DataObject, extras: dict[str, object]
) -> None:
    given_names = present.draw(
        st.lists(st.sampled_from(required), unique=True) if required else st.just([])
    )
    values: dict[str, object] = {**extras, **{n: f"v-{n}" for n in given_names}}
    specs = [VariableSpec(n) for n in required]
    missing = [n for n in required if n not in given_names]
    if missing:
        with pytest.raises(FieldErrors) as exc:
            validate_placeholders(values, specs)
        assert [e.field for e in exc.value.errors] == [f"placeholders.{n}" for n in missing]
        assert all(e.code is ErrorCode.MISSING_PLACEHOLDER for e in exc.value.errors)
        assert all(f'"{n}"' in e.message for n, e in zip(missing, exc.value.errors, strict=True))
    else:
        result = validate_placeholders(values, specs)
        assert result == values
        for key, value in extras.items():
            assert result[key] is value


@given(value=st.integers(min_value=-(10**18), max_value=10**18))
def test_integer_placeholders_round_trip_through_strings(value: int) -> None:
    spec = [VariableSpec("n", VariableType.INTEGER)]
    assert validate_placeholders({"n": str(value)}, spec) == {"n": value}
    assert validate_placeholders({"n": value}, spec) == {"n": value}


@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_number_placeholders_round_trip_through_strings(value: float) -> None:
    result = validate_placeholders({"x": repr(value)}, [VariableSpec("x", VariableType.NUMBER)])
    assert result["x"] == value


# --- meta ------------------------------------------------------------------------------------


def test_meta_is_returned_verbatim() -> None:
    meta = {"crm": {"id": 7, "tags": ["a", "b"]}, "note": None}
    assert validate_meta(meta) is meta
    assert validate_meta(None) is None
    assert validate_meta({}) == {}


@pytest.mark.parametrize("value", [[], "x", 1, True])
def test_meta_must_be_an_object(value: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_meta(value)
    assert _error(exc)[:2] == (ErrorCode.INVALID_TYPE, "meta")


def test_meta_over_the_limit_names_the_limit() -> None:
    validate_meta({"k": "x" * 100}, max_bytes=110)  # {"k":"x..."} is 108 bytes
    with pytest.raises(FieldErrors) as exc:
        validate_meta({"k": "x" * 20_000})
    code, field, message = _error(exc)
    assert (code, field) == (ErrorCode.META_TOO_LARGE, "meta")
    assert "16,384 bytes" in message
    assert "20,008" in message


def test_meta_with_non_json_values_is_invalid_type() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_meta({"when": object()})
    assert _error(exc)[0] is ErrorCode.INVALID_TYPE


@given(size=st.integers(min_value=0, max_value=400), limit=st.integers(min_value=8, max_value=400))
def test_meta_limit_is_exact(size: int, limit: int) -> None:
    meta = {"k": "x" * size}
    encoded = len('{"k":""}') + size
    if encoded <= limit:
        assert validate_meta(meta, max_bytes=limit) is meta
    else:
        with pytest.raises(FieldErrors) as exc:
            validate_meta(meta, max_bytes=limit)
        assert _error(exc)[0] is ErrorCode.META_TOO_LARGE


# --- email -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("john@example.com", "john@example.com"),
        (" John.Doe+tag@mail.example.co.uk ", "John.Doe+tag@mail.example.co.uk"),
        ("o'neil@example.org", "o'neil@example.org"),
    ],
)
def test_valid_emails(raw: object, expected: str | None) -> None:
    assert validate_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "john",
        "john@",
        "@example.com",
        "john@example",
        "john@@example.com",
        "jo hn@example.com",
        "john@exa mple.com",
        "john@example.",
        "john@.example.com",
        "john@example..com",
        "a@b@example.com",
    ],
)
def test_invalid_emails(raw: str) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_email(raw, field="contact.email")
    code, field, message = _error(exc)
    assert (code, field) == (ErrorCode.INVALID_EMAIL, "contact.email")
    assert message.startswith('"contact.email" is not a valid email address')


def test_overlong_email_is_too_long() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_email("x" * 250 + "@example.com", field="contact.email")
    code, field, message = _error(exc)
    assert (code, field) == (ErrorCode.TOO_LONG, "contact.email")
    assert "at most 254 characters" in message


def test_non_string_email_is_invalid_type() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_email(42)
    assert _error(exc)[:2] == (ErrorCode.INVALID_TYPE, "email")


@given(
    local=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.+_-", min_size=1, max_size=30),
    labels=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10),
        min_size=2,
        max_size=4,
    ),
)
def test_well_formed_emails_pass(local: str, labels: list[str]) -> None:
    address = f"{local}@{'.'.join(labels)}"
    assert validate_email(address) == address


@given(
    address=st.text(max_size=40),
    space=st.sampled_from([" ", "\t", "\u00a0"]),
    at=st.integers(min_value=0, max_value=40),
)
def test_emails_with_inner_whitespace_fail(address: str, space: str, at: int) -> None:
    candidate = "a" + address[:at] + space + address[at:] + "a"
    with pytest.raises(FieldErrors):
        validate_email(candidate)


# --- free text -------------------------------------------------------------------------------


def test_text_fields() -> None:
    assert validate_text(None, field="external_id", max_length=5) is None
    assert validate_text("  ", field="external_id", max_length=5) is None
    assert validate_text(" ab1 ", field="external_id", max_length=5) == "ab1"
    assert validate_text(12345, field="external_id", max_length=5) == "12345"


def test_text_too_long() -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_text("abcdef", field="external_id", max_length=5)
    code, field, message = _error(exc)
    assert (code, field) == (ErrorCode.TOO_LONG, "external_id")
    assert "at most 5" in message
    with pytest.raises(FieldErrors) as exc:
        validate_text(123456, field="external_id", max_length=5)
    assert _error(exc)[0] is ErrorCode.TOO_LONG


@pytest.mark.parametrize("value", [True, 1.5, ["a"], {"a": 1}, b"a"])
def test_text_rejects_non_text(value: object) -> None:
    with pytest.raises(FieldErrors) as exc:
        validate_text(value, field="external_id", max_length=64)
    assert _error(exc)[:2] == (ErrorCode.INVALID_TYPE, "external_id")


@given(value=st.text(max_size=20), limit=st.integers(min_value=1, max_value=20))
def test_text_property(value: str, limit: int) -> None:
    stripped = value.strip()
    if len(stripped) > limit:
        with pytest.raises(FieldErrors):
            validate_text(value, field="t", max_length=limit)
    else:
        assert validate_text(value, field="t", max_length=limit) == (stripped or None)
