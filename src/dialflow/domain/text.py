"""Shared pieces of the field validators: quoting values in messages, optional short text."""

from __future__ import annotations

from dialflow.domain.errors import ErrorCode, FieldErrors

MAX_ECHO = 40


def clip(text: str) -> str:
    """A value short enough to quote back in an error message."""
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 1] + "…"


def type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def optional_text(
    value: object,
    *,
    field: str,
    max_length: int,
    required: bool = False,
    accept_int: bool = False,
    type_hint: str = "",
) -> str | None:
    """A stripped string of at most ``max_length`` characters; None when absent or blank
    (REQUIRED when ``required``). Raises ``FieldErrors``: REQUIRED, INVALID_TYPE, TOO_LONG."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    elif accept_int and type(value) is int:
        text = str(value)
    else:
        raise FieldErrors.one(
            ErrorCode.INVALID_TYPE,
            field,
            f'"{field}" must be a string{type_hint}, not {type_name(value)}',
        )
    if not text:
        if required:
            raise FieldErrors.one(ErrorCode.REQUIRED, field, f'"{field}" is required')
        return None
    if len(text) > max_length:
        raise FieldErrors.one(
            ErrorCode.TOO_LONG,
            field,
            f'"{field}" must be at most {max_length} characters long, not {len(text)}',
        )
    return text
