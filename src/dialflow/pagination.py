"""Opaque cursors for keyset pagination over id-ordered rows."""

from __future__ import annotations

import base64
import binascii

from dialflow.errors import BadRequest

MAX_PAGE_SIZE = 500


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(
            "the cursor is not valid: pass back the next_cursor of a previous page",
            code="invalid_cursor",
        ) from None


def next_cursor(ids: list[int], limit: int) -> str | None:
    """A cursor to the next page, or None when this page was the last."""
    return encode_cursor(ids[-1]) if len(ids) == limit and ids else None
