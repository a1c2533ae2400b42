"""HTTP routes of the weya dialect."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["weya"], include_in_schema=True)
