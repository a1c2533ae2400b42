"""Body formats of webhook endpoints: dialflow's own envelope, or a vendor's shape so that a
client's existing receiver keeps working (the dialects provide the translations)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

STANDARD = "standard"

# (event type, event data) -> the vendor's body, or None when the vendor has no such webhook.
VendorRenderer = Callable[[str, Mapping[str, Any]], Mapping[str, Any] | None]


def _two_x(event_type: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    from dialflow.dialects.ncol.webhooks import post_call_body  # noqa: PLC0415 (no import cycle)

    return post_call_body(data) if event_type == "call.completed" else None


def _airudder(event_type: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    from dialflow.dialects.airudder.webhooks import airudder_body  # noqa: PLC0415 (no import cycle)

    return airudder_body(event_type, data)


@cache
def vendor_renderers() -> dict[str, VendorRenderer]:
    return {"2x": _two_x, "airudder": _airudder}


def known_formats() -> frozenset[str]:
    return frozenset({STANDARD, *vendor_renderers()})


def vendor_body(format_: str, event_type: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The vendor-format body of an event; None when that format has no such event."""
    return vendor_renderers()[format_](event_type, data)


# Headers a vendor's own webhooks carry, which receivers written for it may check.
_FORMAT_HEADERS: dict[str, dict[str, str]] = {"airudder": {"user-agent": "Airudder"}}


def format_headers(format_: str) -> dict[str, str]:
    return _FORMAT_HEADERS.get(format_, {})
