"""Webhook endpoints, the event log and replays: one function per operation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy.engine import RowMapping

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.errors import NotFound, Unprocessable
from dialflow.ids import next_id
from dialflow.pagination import Page, decode_cursor, rows_page
from dialflow.webhooks import repository as repo
from dialflow.webhooks.events import EVENT_TYPES, SKIP, body_for, parse_msg_id, subscribed
from dialflow.webhooks.formats import known_formats
from dialflow.webhooks.guard import BlockedDestination, check_url_syntax, ensure_public
from dialflow.webhooks.signing import SECRET_PREFIX, new_secret
from dialflow.workflows.service import get_workflow_row


@dataclass(frozen=True)
class EndpointChanges:
    """What a create or update sets; ``None`` leaves a field as it is (on update)."""

    url: str | None = None
    description: str | None = None
    workflow: str | None = None
    event_types: Sequence[str] | None = None
    format: str | None = None
    auth_header_name: str | None = None
    auth_header_value: str | None = None
    secret: str | None = None
    enabled: bool | None = None


async def _check(changes: EndpointChanges, *, allow_private: bool) -> None:
    if changes.url is not None:
        problem = check_url_syntax(changes.url)
        if problem is None and not allow_private:
            try:
                await ensure_public(changes.url)
            except BlockedDestination as exc:
                problem = f"{exc}; deliveries there are refused"
        if problem is not None:
            raise Unprocessable(f"url: {problem}", code="invalid_url")
    if changes.event_types is not None:
        unknown = sorted(set(changes.event_types) - EVENT_TYPES)
        if unknown:
            raise Unprocessable(
                f"event_types: unknown {', '.join(unknown)}; "
                f"known: {', '.join(sorted(EVENT_TYPES))}",
                code="invalid_event_type",
            )
    if changes.format is not None and changes.format not in known_formats():
        raise Unprocessable(
            f"format: unknown {changes.format!r}; known: {', '.join(sorted(known_formats()))}",
            code="invalid_format",
        )
    if changes.secret is not None and not (
        changes.secret.startswith(SECRET_PREFIX) and len(changes.secret) >= len(SECRET_PREFIX) + 24
    ):
        raise Unprocessable(
            "secret: must start with whsec_ followed by at least 24 base64 characters",
            code="invalid_secret",
        )
    if (changes.auth_header_name is None) != (changes.auth_header_value is None):
        raise Unprocessable(
            "auth_header_name and auth_header_value go together", code="invalid_auth_header"
        )


async def _workflow_id(db: Database, workspace_id: int, ref: str | None) -> int | None:
    if ref is None:
        return None
    row = await get_workflow_row(db, workspace_id, ref)
    return int(row["id"])


async def create_endpoint(
    db: Database, workspace_id: int, changes: EndpointChanges, *, allow_private: bool
) -> RowMapping:
    if changes.url is None:
        raise Unprocessable("url: required", code="invalid_url")
    await _check(changes, allow_private=allow_private)
    workflow_id = await _workflow_id(db, workspace_id, changes.workflow)
    now = utcnow()
    endpoint_id = next_id()
    async with db.write() as conn:
        await repo.insert_endpoint(
            conn,
            {
                "id": endpoint_id,
                "workspace_id": workspace_id,
                "workflow_id": workflow_id,
                "url": changes.url,
                "description": changes.description,
                "event_types": None
                if changes.event_types is None
                else sorted(set(changes.event_types)),
                "format": changes.format or "standard",
                "secret": changes.secret or new_secret(),
                "auth_header_name": changes.auth_header_name,
                "auth_header_value": changes.auth_header_value,
                "status": "enabled" if changes.enabled is not False else "disabled",
                "created_at": now,
                "updated_at": now,
            },
        )
        row = await repo.get_endpoint(conn, workspace_id, endpoint_id)
    assert row is not None
    return row


async def get_endpoint(db: Database, workspace_id: int, endpoint_id: int) -> RowMapping:
    async with db.read() as conn:
        row = await repo.get_endpoint(conn, workspace_id, endpoint_id)
    if row is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found", code="endpoint_not_found")
    return row


async def list_endpoints(
    db: Database, workspace_id: int, *, cursor: str | None, limit: int
) -> Page[RowMapping]:
    async with db.read() as conn:
        rows = await repo.list_endpoints(
            conn, workspace_id, after=decode_cursor(cursor), limit=limit
        )
    return rows_page(rows, limit)


async def update_endpoint(
    db: Database,
    workspace_id: int,
    endpoint_id: int,
    changes: EndpointChanges,
    *,
    allow_private: bool,
    clear: frozenset[str] = frozenset(),
) -> RowMapping:
    """Change the given fields; names in ``clear`` are set back to their default (null)."""
    await _check(changes, allow_private=allow_private)
    workflow_id = await _workflow_id(db, workspace_id, changes.workflow)
    now = utcnow()
    async with db.write() as conn:
        row = await repo.get_endpoint(conn, workspace_id, endpoint_id, lock=True)
        if row is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found", code="endpoint_not_found")
        values: dict[str, Any] = {"updated_at": now}
        for name in ("url", "description", "format", "auth_header_name", "auth_header_value"):
            value = getattr(changes, name)
            if value is not None:
                values[name] = value
        if changes.event_types is not None:
            values["event_types"] = sorted(set(changes.event_types))
        if workflow_id is not None:
            values["workflow_id"] = workflow_id
        for name in clear & {
            "description",
            "event_types",
            "workflow_id",
            "auth_header_name",
            "auth_header_value",
        }:
            values[name] = None
        if changes.enabled is True and row["status"] != "enabled":
            values.update(status="enabled", disabled_reason=None, failing_since=None)
        elif changes.enabled is False:
            values.update(status="disabled", disabled_reason="disabled by the API")
        await repo.update_endpoint(conn, endpoint_id, values)
        updated = await repo.get_endpoint(conn, workspace_id, endpoint_id)
    assert updated is not None
    return updated


async def delete_endpoint(db: Database, workspace_id: int, endpoint_id: int) -> None:
    """Stop sending to the endpoint and cancel what it had queued (its log stays)."""
    now = utcnow()
    async with db.write() as conn:
        row = await repo.get_endpoint(conn, workspace_id, endpoint_id, lock=True)
        if row is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found", code="endpoint_not_found")
        await repo.cancel_pending(conn, endpoint_id, now, "cancelled: the endpoint was deleted")
        await repo.update_endpoint(conn, endpoint_id, {"status": "deleted", "updated_at": now})


async def rotate_secret(
    db: Database, workspace_id: int, endpoint_id: int, *, keep_old_for: timedelta
) -> RowMapping:
    """A new signing secret; the old one keeps signing alongside it for ``keep_old_for``."""
    now = utcnow()
    async with db.write() as conn:
        row = await repo.get_endpoint(conn, workspace_id, endpoint_id, lock=True)
        if row is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found", code="endpoint_not_found")
        await repo.update_endpoint(
            conn,
            endpoint_id,
            {
                "secret": new_secret(),
                "previous_secret": row["secret"],
                "previous_secret_expires_at": now + keep_old_for,
                "updated_at": now,
            },
        )
        updated = await repo.get_endpoint(conn, workspace_id, endpoint_id)
    assert updated is not None
    return updated


# -- events --------------------------------------------------------------------------------------


def _event_id(value: str) -> int:
    event_id = parse_msg_id(value)
    if event_id is None:
        raise NotFound(f"event {value} not found", code="event_not_found")
    return event_id


@dataclass(frozen=True)
class EventDetail:
    event: RowMapping
    deliveries: list[RowMapping]
    attempts: dict[int, list[RowMapping]]


async def get_event(db: Database, workspace_id: int, msg_id: str) -> EventDetail:
    async with db.read() as conn:
        event = await repo.get_event(conn, workspace_id, _event_id(msg_id))
        if event is None:
            raise NotFound(f"event {msg_id} not found", code="event_not_found")
        sent = await repo.deliveries_of_event(conn, event["id"])
        attempts = await repo.attempts_of_deliveries(conn, [row["id"] for row in sent])
    return EventDetail(event, sent, attempts)


async def list_events(
    db: Database,
    workspace_id: int,
    *,
    event_type: str | None,
    record_id: int | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[RowMapping]:
    async with db.read() as conn:
        rows = await repo.list_events(
            conn,
            workspace_id,
            event_type=event_type,
            record_id=record_id,
            since=since,
            before=decode_cursor(cursor),
            limit=limit,
        )
    return rows_page(rows, limit)


async def _requeue(
    db: Database, workspace_id: int, endpoint_id: int, event_ids: Sequence[int]
) -> int:
    """New deliveries of these events to the endpoint, with the same ``webhook-id``: the body
    each was sent to it with before, or, for an event it never had, the body its format gives
    (events its filters or its format leave out are not sent)."""
    now = utcnow()
    async with db.write() as conn:
        endpoint = await repo.get_endpoint(conn, workspace_id, endpoint_id)
        if endpoint is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found", code="endpoint_not_found")
        if endpoint["status"] != "enabled":
            raise Unprocessable(
                f"webhook endpoint {endpoint_id} is disabled: enable it before replaying",
                code="endpoint_disabled",
            )
        sent_before = await repo.latest_bodies(conn, endpoint_id, event_ids)
        rows = []
        for event in await repo.events_by_id(conn, event_ids):
            if event["id"] in sent_before:
                body = sent_before[event["id"]]
            elif subscribed(endpoint, event["workflow_id"], event["type"]):
                data = msgspec.json.decode(event["payload"])["data"]
                body = body_for(endpoint["format"], event["type"], data)
                if body == SKIP:
                    continue
            else:
                continue
            rows.append(
                {
                    "id": next_id(),
                    "workspace_id": workspace_id,
                    "event_id": event["id"],
                    "endpoint_id": endpoint_id,
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_due_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await repo.insert_events(conn, [], rows)
    db.webhook_wakeups.poke()
    return len(rows)


async def replay_event(
    db: Database, workspace_id: int, msg_id: str, *, endpoint_id: int | None
) -> int:
    """Send one event again: to one endpoint, or to every endpoint it was sent to."""
    detail = await get_event(db, workspace_id, msg_id)
    targets = (
        [endpoint_id]
        if endpoint_id is not None
        else sorted({row["endpoint_id"] for row in detail.deliveries})
    )
    return sum(
        [await _requeue(db, workspace_id, target, [detail.event["id"]]) for target in targets]
    )


async def replay_failed(
    db: Database, workspace_id: int, endpoint_id: int, *, since: datetime
) -> int:
    """Send again every event whose delivery to the endpoint failed since ``since``."""
    async with db.read() as conn:
        event_ids = await repo.failed_event_ids(conn, workspace_id, endpoint_id, since)
    return await _requeue(db, workspace_id, endpoint_id, event_ids)
