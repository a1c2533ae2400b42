"""Validators for the remaining contact-record fields: priority, placeholders, meta, email, ids."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import msgspec

from dialflow.domain.errors import ErrorCode, FieldError, FieldErrors
from dialflow.domain.text import clip, optional_text, type_name
from dialflow.domain.variables import VariableSpec, VariableType

__all__ = [
    "validate_email",
    "validate_meta",
    "validate_placeholders",
    "validate_priority",
    "validate_text",
]

_MIN_PRIORITY = 1
_MAX_PRIORITY = 10
_MAX_EMAIL_LENGTH = 254
# One "@", a non-empty local part, a domain of non-empty dot-separated labels (at least two), and
# no whitespace anywhere. Deliberately simple: deliverability is not decidable here.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_JSON_ENCODER = msgspec.json.Encoder()


def _shown(value: object) -> str:
    """A value as quoted in a message: strings in double quotes, anything else by type/JSON."""
    if isinstance(value, str):
        return f'"{clip(value)}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return clip(repr(value))
    return f"a {type(value).__name__}"


# --- priority --------------------------------------------------------------------------------


def validate_priority(value: object, *, field: str = "priority") -> int | None:
    """An integer 1..10, or None for a hot lead. Strings, floats and booleans are rejected."""
    if value is None:
        return None
    if type(value) is int and _MIN_PRIORITY <= value <= _MAX_PRIORITY:
        return value
    raise FieldErrors.one(
        ErrorCode.INVALID_PRIORITY,
        field,
        f'"{field}" must be an integer from {_MIN_PRIORITY} to {_MAX_PRIORITY}, '
        f"or null for a hot lead",
    )


# --- placeholders ----------------------------------------------------------------------------

# A coercer returns the coerced value, or _INVALID.
_INVALID = object()


def _to_string(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return _INVALID


def _to_integer(value: object) -> object:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            try:
                return int(text)
            except ValueError:  # beyond int()'s digit limit
                return _INVALID
    return _INVALID


def _to_number(value: object) -> object:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _INVALID
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            try:
                return int(text)
            except ValueError:
                return _INVALID
        if text.isascii():  # float() also takes non-ASCII digits
            try:
                number = float(text)
            except ValueError:
                return _INVALID
            if math.isfinite(number) and "_" not in text:
                return number
    return _INVALID


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _to_boolean(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _BOOLEANS.get(value.strip().lower(), _INVALID)
    return _INVALID


_COERCERS: dict[VariableType, tuple[Callable[[object], object], str]] = {
    VariableType.STRING: (_to_string, "a string"),
    VariableType.INTEGER: (_to_integer, "an integer"),
    VariableType.NUMBER: (_to_number, "a number"),
    VariableType.BOOLEAN: (
        _to_boolean,
        'a boolean (true/false, or one of "true", "false", "yes", "no", "1", "0")',
    ),
}


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_placeholders(
    values: object, specs: Sequence[VariableSpec], *, field: str = "placeholders"
) -> dict[str, object]:
    """Check a record's placeholders against the workflow's variable schema; return them coerced.

    None counts as an empty object. Every missing required placeholder (absent, null or blank) and
    every value of the wrong type is reported, in one ``FieldErrors``. Keys the schema does not
    declare are kept verbatim.
    """
    if values is None:
        values = {}
    elif not isinstance(values, dict):
        raise FieldErrors.one(
            ErrorCode.INVALID_TYPE,
            field,
            f'"{field}" must be an object, not {type_name(values)}',
        )
    result: dict[str, object] = dict(values)
    errors: list[FieldError] | None = None
    for spec in specs:
        name = spec.name
        value = result.get(name)
        if _is_missing(value):
            if spec.required:
                errors = errors or []
                errors.append(
                    FieldError(
                        ErrorCode.MISSING_PLACEHOLDER,
                        f"{field}.{name}",
                        f'missing required placeholder field "{name}"',
                    )
                )
            continue
        coerce, expected = _COERCERS[spec.type]
        coerced = coerce(value)
        if coerced is _INVALID:
            errors = errors or []
            errors.append(
                FieldError(
                    ErrorCode.INVALID_PLACEHOLDER,
                    f"{field}.{name}",
                    f'placeholder "{name}" must be {expected}, not {_shown(value)}',
                )
            )
        else:
            result[name] = coerced
    if errors:
        raise FieldErrors(errors)
    return result


# --- meta ------------------------------------------------------------------------------------


def validate_meta(
    value: object, *, field: str = "meta", max_bytes: int = 16_384
) -> dict[str, object] | None:
    """An arbitrary JSON object of at most ``max_bytes`` serialised, returned unchanged."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FieldErrors.one(
            ErrorCode.INVALID_TYPE,
            field,
            f'"{field}" must be an object, not {type_name(value)}',
        )
    try:
        size = len(_JSON_ENCODER.encode(value))
    except (TypeError, ValueError, msgspec.EncodeError):
        raise FieldErrors.one(
            ErrorCode.INVALID_TYPE,
            field,
            f'"{field}" must contain only JSON values (objects with string keys, arrays, '
            f"strings, numbers, booleans, null)",
        ) from None
    if size > max_bytes:
        raise FieldErrors.one(
            ErrorCode.META_TOO_LARGE,
            field,
            f'"{field}" is {size:,} bytes as JSON; the limit is {max_bytes:,} bytes',
        )
    return value


# --- email and free text ---------------------------------------------------------------------


def validate_email(value: object, *, field: str = "email") -> str | None:
    """A stripped, plausibly well-formed email address, or None when absent."""
    text = optional_text(value, field=field, max_length=_MAX_EMAIL_LENGTH)
    if text is not None and _EMAIL.fullmatch(text) is None:
        raise FieldErrors.one(
            ErrorCode.INVALID_EMAIL,
            field,
            f'"{field}" is not a valid email address (like "name@example.com"): "{clip(text)}"',
        )
    return text


def validate_text(value: object, *, field: str, max_length: int) -> str | None:
    """A free-text identifier (external_id etc.), stripped; integers are accepted as text."""
    return optional_text(value, field=field, max_length=max_length, accept_int=True)
