"""The enumerated per-field error vocabulary shared by every way in.

Every rejected field becomes one ``FieldError`` with a stable ``code`` a client can branch on,
the ``field`` path it concerns and a ``message`` a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    REQUIRED = "required"
    INVALID_TYPE = "invalid_type"
    INVALID_VALUE = "invalid_value"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    INVALID_PHONE = "invalid_phone"
    INVALID_PHONE_TYPE = "invalid_phone_type"
    DUPLICATE_PHONE_TYPE = "duplicate_phone_type"
    ALL_CAPS_NAME = "all_caps_name"
    MISSING_PLACEHOLDER = "missing_placeholder"
    INVALID_PLACEHOLDER = "invalid_placeholder"
    INVALID_PRIORITY = "invalid_priority"
    INVALID_TIMEZONE = "invalid_timezone"
    INVALID_ZIP = "invalid_zip"
    INVALID_EMAIL = "invalid_email"
    META_TOO_LARGE = "meta_too_large"
    MISSING_EXTERNAL_ID = "missing_external_id"
    DUPLICATE_IN_REQUEST = "duplicate_in_request"
    DO_NOT_CALL = "do_not_call"
    WRITE_FAILED = "write_failed"
    UNKNOWN_FIELD = "unknown_field"


@dataclass(frozen=True, slots=True)
class FieldError:
    code: ErrorCode
    field: str
    message: str


class FieldErrors(Exception):
    """Raised by validators that found one or more problems with a value."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, code: ErrorCode, field: str, message: str) -> FieldErrors:
        return cls([FieldError(code, field, message)])
