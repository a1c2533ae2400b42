"""Query parameters of the batch list and batch details, read by hand so that a bad value is
answered in Weya's envelope (400), not in the native error shape."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from dialflow.domain.errors import FieldErrors
from dialflow.domain.phones import normalize_phone
from dialflow.errors import BadRequest
from dialflow.records.repository import RecordSort
from dialflow.records.status import RecordStatus

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_SORTS: dict[str, RecordSort] = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "phoneNumber": "phone",
}
_ORDERS = {"asc": False, "desc": True}


def _integer(params: Mapping[str, str], name: str, default: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= high:
        raise BadRequest(
            f'"{name}" must be a whole number from 1 to {high}, not "{raw[:40]}"',
            code="invalid_request",
        )
    return int(raw)


@dataclass(frozen=True, slots=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def json(self, total: int) -> dict[str, int]:
        return {
            "page": self.page,
            "limit": self.limit,
            "total": total,
            "totalPages": math.ceil(total / self.limit),
        }


def page_of(params: Mapping[str, str]) -> Page:
    """``page`` (from 1) and ``limit`` (default 10, at most 100)."""
    return Page(
        page=_integer(params, "page", 1, 1_000_000),
        limit=_integer(params, "limit", DEFAULT_LIMIT, MAX_LIMIT),
    )


def search_of(params: Mapping[str, str]) -> str | None:
    return params.get("search", "").strip() or None


@dataclass(frozen=True, slots=True)
class CallQuery:
    """batch-details' ``filter``, ``sortBy``, ``sortOrder`` and ``search``."""

    status: RecordStatus | None = None
    phone: str | None = None
    text: str | None = None
    sort: RecordSort = "created_at"
    descending: bool = True


def _filter(raw: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        value = None
    if not isinstance(value, dict):
        raise BadRequest(
            '"filter" must be a JSON object, e.g. {"callStatus":"completed"}',
            code="invalid_request",
        )
    unknown = sorted(set(value) - {"callStatus", "phoneNumber"})
    if unknown:
        raise BadRequest(
            f'"filter" cannot use {", ".join(unknown)}: filter by callStatus or phoneNumber',
            code="invalid_request",
        )
    return value


def _status(value: object) -> RecordStatus:
    try:
        return RecordStatus(str(value))
    except ValueError:
        allowed = ", ".join(s.value for s in RecordStatus)
        raise BadRequest(
            f'"filter.callStatus" must be one of {allowed}', code="invalid_request"
        ) from None


def _choice(params: Mapping[str, str], name: str, choices: Mapping[str, T], default: str) -> T:
    raw = params.get(name) or default
    if raw not in choices:
        raise BadRequest(
            f'"{name}" must be one of {", ".join(choices)}, not "{raw[:40]}"',
            code="invalid_request",
        )
    return choices[raw]


def call_query_of(params: Mapping[str, str]) -> CallQuery:
    found = _filter(params["filter"]) if params.get("filter") else {}
    phone = None
    if found.get("phoneNumber") is not None:
        try:
            phone = normalize_phone(found["phoneNumber"], field="filter.phoneNumber")
        except FieldErrors as exc:
            raise BadRequest(exc.errors[0].message, code="invalid_request") from None
    return CallQuery(
        status=None if found.get("callStatus") is None else _status(found["callStatus"]),
        phone=phone,
        text=search_of(params),
        sort=_choice(params, "sortBy", _SORTS, "createdAt"),
        descending=_choice(params, "sortOrder", _ORDERS, "desc"),
    )
