"""HTTP routes of the airudder dialect."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["airudder"], include_in_schema=True)
