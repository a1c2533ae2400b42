"""Opaque cursors for keyset pagination over id-ordered rows."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.engine import RowMapping

from dialflow.errors import BadRequest

MAX_PAGE_SIZE = 500
_MAX_ID = 2**63 - 1
ItemT = TypeVar("ItemT")


@dataclass(frozen=True, slots=True)
class Page(Generic[ItemT]):
    """One page of a listing, and the cursor to the next (None on the last page)."""

    items: list[ItemT]
    next_cursor: str | None


def parse_id(value: str) -> int | None:
    """A database id from a path or cursor: ASCII digits within BIGINT, else None."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if number <= _MAX_ID else None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        last_id = parse_id(value)
        if kind != "id" or last_id is None:
            raise ValueError(kind)
        return last_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(
            "the cursor is not valid: pass back the next_cursor of a previous page",
            code="invalid_cursor",
        ) from None


def next_cursor(ids: list[int], limit: int) -> str | None:
    """A cursor to the next page, or None when this page was the last."""
    return encode_cursor(ids[-1]) if len(ids) == limit and ids else None


def rows_page(rows: list[RowMapping], limit: int) -> Page[RowMapping]:
    """A page of rows read in id order, at most ``limit`` of them."""
    return Page(rows, next_cursor([row["id"] for row in rows], limit))
