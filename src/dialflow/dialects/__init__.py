"""The vendor dialects: each translates one vendor's API onto dialflow's own services.

A dialect authenticates the vendor's way, calls the same intake and service functions as the
native API, and answers in the vendor's envelope. No business rule lives here."""

from __future__ import annotations

from fastapi import APIRouter


def dialect_routers() -> list[APIRouter]:
    from dialflow.dialects import airudder, altcraft, ncol, talkdesk, weya  # noqa: PLC0415

    return [ncol.router, weya.router, altcraft.router, airudder.router, talkdesk.router]
