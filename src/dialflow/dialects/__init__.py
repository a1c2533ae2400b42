"""The vendor dialects: each translates one vendor's API onto dialflow's own services.

A dialect authenticates the vendor's way, calls the same intake and service functions as the
native API, and answers in the vendor's envelope. No business rule lives here."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Response
from starlette.types import Scope

from dialflow.db.engine import Database
from dialflow.settings import Settings


def dialect_routers() -> list[APIRouter]:
    from dialflow.dialects import airudder, altcraft, ncol, talkdesk, weya  # noqa: PLC0415

    return [ncol.router, weya.router, altcraft.router, airudder.router, talkdesk.router]


def body_limit_refusals() -> dict[str, Callable[[Scope], Response]]:
    """How each dialect answers a body declared over the size limit (before any route runs)."""
    from dialflow.dialects.altcraft.codec import body_too_large_response  # noqa: PLC0415

    return {"/api/v1.1/": body_too_large_response}


async def resume_dialect_work(db: Database, settings: Settings) -> None:
    """Restart the background work a dialect left unfinished when its process stopped (the
    Altcraft batch tasks)."""
    from dialflow.dialects.altcraft.service import resume_import_tasks  # noqa: PLC0415

    await resume_import_tasks(db, settings)
