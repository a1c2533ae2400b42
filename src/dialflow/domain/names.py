"""Person-name validation: presence, length and the proper-case rule."""

from __future__ import annotations

from dialflow.domain.errors import ErrorCode, FieldErrors
from dialflow.domain.text import clip, optional_text

__all__ = ["is_all_caps", "validate_name"]


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


def validate_name(value: object, *, field: str, required: bool, max_length: int = 80) -> str | None:
    """Return the stripped name, or None when it is absent and optional.

    Raises ``FieldErrors``: REQUIRED, INVALID_TYPE, TOO_LONG or ALL_CAPS_NAME.
    """
    text = optional_text(value, field=field, max_length=max_length, required=required)
    if text is None:
        return None
    if is_all_caps(text):
        raise FieldErrors.one(
            ErrorCode.ALL_CAPS_NAME,
            field,
            f'"{field}" must be in proper case ("{clip(text.title())}"), '
            f'not all capitals: "{clip(text)}"',
        )
    return text
