"""Fields of Airudder's JSON bodies, read by hand so a bad one is a 400 naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from dialflow.errors import BadRequest
from dialflow.pagination import MAX_PAGE_SIZE

DEFAULT_PAGE_SIZE: Final = 20
MAX_LIST_PAGE_SIZE: Final = 100
TIME_EXAMPLE: Final = "2024-05-28 10:37:36+08:00"


def text(body: Mapping[str, Any], name: str) -> str | None:
    """A non-blank string field, stripped; None when absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f'"{name}" must be a non-empty string', code="invalid_parameter")
    return value.strip()


def required_text(body: Mapping[str, Any], name: str) -> str:
    value = text(body, name)
    if value is None:
        raise BadRequest(f'"{name}" is required', code="missing_parameter")
    return value


def identifier(body: Mapping[str, Any], name: str) -> str:
    """A required id: a string, as Airudder shows ids (an integer is taken as its digits)."""
    value = body.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return required_text(body, name)


def integer(body: Mapping[str, Any], name: str, *, low: int, high: int, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(
            f'"{name}" must be a whole number from {low} to {high}', code="invalid_parameter"
        )
    return value


def parse_time(value: str, name: str) -> datetime:
    """``2024-05-28 10:37:36+08:00`` or ISO 8601; a time without an offset is UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f'"{name}" must be a time like "{TIME_EXAMPLE}", not "{value[:40]}"',
            code="invalid_time",
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def time_field(body: Mapping[str, Any], name: str) -> datetime:
    return parse_time(required_text(body, name), name)


@dataclass(frozen=True, slots=True)
class CallPage:
    """A page of calls: ``page_size`` of them after ``cursor`` (a previous ``next_cursor``)."""

    size: int
    cursor: str | None


def call_page(body: Mapping[str, Any]) -> CallPage:
    return CallPage(
        size=integer(body, "page_size", low=1, high=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE),
        cursor=text(body, "cursor"),
    )
