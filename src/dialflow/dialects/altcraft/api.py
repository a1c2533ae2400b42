"""HTTP routes of the altcraft dialect."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["altcraft"], include_in_schema=True)
