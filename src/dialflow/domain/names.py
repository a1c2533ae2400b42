"""Person-name validation: presence, length and the proper-case rule."""

from __future__ import annotations

from dialflow.domain.errors import ErrorCode, FieldErrors

__all__ = ["is_all_caps", "validate_name"]

_MAX_ECHO = 40


def is_all_caps(name: str) -> bool:
    """True for a name written in capitals: at least two cased letters and no lowercase one.

    ``"JOHN"``, ``"O'NEIL"`` and ``"JOHN DOE"`` are; ``"J"``, ``"McDONALD"`` and names in scripts
    without case are not.
    """
    # str.isupper(): at least one cased character and every cased one upper case. The per-letter
    # count only runs for that (rare) case, so the common proper-case name costs one C call.
    if not name.isupper():
        return False
    cased = 0
    for ch in name:
        if ch.isupper():
            cased += 1
            if cased >= 2:
                return True
    return False


def _echo(value: str) -> str:
    return value if len(value) <= _MAX_ECHO else value[: _MAX_ECHO - 1] + "…"


def validate_name(value: object, *, field: str, required: bool, max_length: int = 80) -> str | None:
    """Return the stripped name, or None when it is absent and optional.

    Raises ``FieldErrors``: REQUIRED, INVALID_TYPE, TOO_LONG or ALL_CAPS_NAME.
    """
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise FieldErrors.one(
            ErrorCode.INVALID_TYPE,
            field,
            f'"{field}" must be a string, not {type(value).__name__}',
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
    if is_all_caps(text):
        raise FieldErrors.one(
            ErrorCode.ALL_CAPS_NAME,
            field,
            f'"{field}" must be in proper case ("{_echo(text.title())}"), '
            f'not all capitals: "{_echo(text)}"',
        )
    return text
