"""HTTP routes of the ncol dialect."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ncol"], include_in_schema=True)
