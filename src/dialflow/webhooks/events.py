"""The events dialflow emits, and ``emit``: the transactional outbox.

An event is written in the same transaction as the state change that causes it, so it exists
exactly when the change committed. Its envelope is serialised once; every delivery (and every
replay) sends those bytes under the same ``webhook-id``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.db.engine import WEBHOOK_CHANNEL, wake_on_commit
from dialflow.ids import next_id
from dialflow.webhooks import repository as repo
from dialflow.webhooks.formats import STANDARD, vendor_body


class EventType(StrEnum):
    CALL_COMPLETED = "call.completed"
    ATTEMPT_COMPLETED = "attempt.completed"
    SMS_COMPLETED = "sms.completed"
    EMAIL_COMPLETED = "email.completed"
    RECORD_COMPLETED = "record.completed"
    RECORD_OPTED_OUT = "record.opted_out"
    LIST_COMPLETED = "list.completed"
    WORKFLOW_STATUS_CHANGED = "workflow.status_changed"
    ENDPOINT_DISABLED = "endpoint.disabled"


EVENT_TYPES = frozenset(EventType)
_PREFIX = "msg_"


def msg_id(event_id: int) -> str:
    """The event's public id, sent as ``webhook-id``: stable across retries and replays."""
    return f"{_PREFIX}{event_id}"


def parse_msg_id(value: str) -> int | None:
    digits = value.removeprefix(_PREFIX)
    return int(digits) if digits.isdigit() and len(digits) < 20 else None


def timestamp(value: datetime | None) -> str | None:
    """Event timestamps: UTC, ISO 8601 with a Z."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class NewEvent:
    workspace_id: int
    type: EventType
    data: Mapping[str, Any]
    workflow_id: int | None = None
    record_id: int | None = None


def subscribed(endpoint: Mapping[Any, Any], workflow_id: int | None, event_type: str) -> bool:
    """Whether the endpoint's workflow and type filters let this event through."""
    if endpoint["workflow_id"] is not None and endpoint["workflow_id"] != workflow_id:
        return False
    types = endpoint["event_types"]
    return types is None or event_type in types


async def emit(
    conn: AsyncConnection,
    new_events: Sequence[NewEvent],
    now: datetime,
    *,
    endpoints: Mapping[int, Sequence[RowMapping]] | None = None,
) -> int:
    """Write events and one pending delivery per subscribed endpoint, in the caller's
    transaction; answer how many deliveries were queued. ``endpoints`` (workspace id → its
    enabled endpoints) saves the look-up when the caller already made it.

    An event no endpoint subscribes to is not stored: there is nobody to deliver it to, and the
    engine's hot path stays free of writes nobody reads."""
    if not new_events:
        return 0
    if endpoints is None:
        endpoints = await repo.enabled_endpoints(conn, {event.workspace_id for event in new_events})
    if not endpoints:
        return 0
    event_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    for event in new_events:
        targets = [
            endpoint
            for endpoint in endpoints.get(event.workspace_id, ())
            if subscribed(endpoint, event.workflow_id, event.type.value)
        ]
        if not targets:
            continue
        event_id = next_id()
        envelope = {
            "id": msg_id(event_id),
            "type": event.type.value,
            "timestamp": timestamp(now),
            "data": event.data,
        }
        event_rows.append(
            {
                "id": event_id,
                "workspace_id": event.workspace_id,
                "workflow_id": event.workflow_id,
                "record_id": event.record_id,
                "type": event.type.value,
                "payload": msgspec.json.encode(envelope),
                "created_at": now,
            }
        )
        for endpoint in targets:
            rendered = body_for(endpoint["format"], event.type.value, event.data)
            if rendered == SKIP:
                continue  # that vendor has no such webhook
            delivery_rows.append(
                {
                    "id": next_id(),
                    "workspace_id": event.workspace_id,
                    "event_id": event_id,
                    "endpoint_id": endpoint["id"],
                    "body": rendered,
                    "status": "pending",
                    "attempts": 0,
                    "next_due_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    await repo.insert_events(conn, event_rows, delivery_rows)
    if delivery_rows:
        await wake_on_commit(conn, WEBHOOK_CHANNEL)
    return len(delivery_rows)


SKIP = b""  # body_for: this format has no such event


def body_for(format_: str, event_type: str, data: Mapping[str, Any]) -> bytes | None:
    """What a delivery to an endpoint of this format sends: None for the event's own envelope,
    a vendor body rendered once, or SKIP when the vendor has no such webhook."""
    if format_ == STANDARD:
        return None
    vendor = vendor_body(format_, event_type, data)
    return SKIP if vendor is None else msgspec.json.encode(vendor)
