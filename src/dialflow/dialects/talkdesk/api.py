"""HTTP routes of the talkdesk dialect."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["talkdesk"], include_in_schema=True)
