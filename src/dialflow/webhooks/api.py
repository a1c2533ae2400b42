"""Native HTTP endpoints: webhook endpoints, the event log, deliveries and replays."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.engine import RowMapping

from dialflow.errors import NotFound
from dialflow.http import DbDep, SettingsDep, WorkspaceDep
from dialflow.pagination import MAX_PAGE_SIZE, parse_id
from dialflow.webhooks import service
from dialflow.webhooks.events import EventType, msg_id

router = APIRouter(tags=["webhooks"])

_TYPES_DESCRIPTION = "Event types to receive; absent or null: every type. " + ", ".join(
    f"`{event_type.value}`" for event_type in EventType
)


class EndpointIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://crm.example.com/hooks/dialflow",
                    "description": "CRM post-call sync",
                    "event_types": ["call.completed", "record.completed"],
                }
            ]
        },
    )

    url: str = Field(max_length=2000, description="http or https URL that receives POSTs.")
    description: str | None = Field(None, max_length=200)
    workflow: str | None = Field(
        None, description="Only events of this workflow (id or key); absent: every workflow."
    )
    event_types: list[str] | None = Field(None, description=_TYPES_DESCRIPTION)
    format: str = Field(
        "standard",
        max_length=16,
        description="`standard` (the event envelope) or a vendor dialect's body shape, e.g. `2x`.",
    )
    secret: str | None = Field(
        None, max_length=100, description="A `whsec_…` secret to sign with; absent: generated."
    )
    auth_header_name: str | None = Field(
        None, max_length=100, description="A static header sent with every delivery (2X style)."
    )
    auth_header_value: str | None = Field(None, max_length=1000)
    enabled: bool = True


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=200)
    workflow: str | None = None
    event_types: list[str] | None = Field(None, description=_TYPES_DESCRIPTION)
    format: str | None = Field(None, max_length=16)
    auth_header_name: str | None = Field(None, max_length=100)
    auth_header_value: str | None = Field(None, max_length=1000)
    enabled: bool | None = Field(
        None, description="true re-enables a disabled endpoint (and clears its failure streak)."
    )


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str | None
    workflow_id: str | None
    event_types: list[str] | None
    format: str
    auth_header_name: str | None
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointSecretOut(BaseModel):
    secret: str = Field(description="The `whsec_…` secret deliveries are signed with.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the previous secret also signs every delivery."
    )


class EndpointCreatedOut(EndpointOut):
    secret: str


class EndpointPageOut(BaseModel):
    items: list[EndpointOut]
    next_cursor: str | None


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_old_hours: float = Field(
        24, ge=0, le=24 * 7, description="How long the old secret keeps signing as well."
    )


class DeliveryAttemptOut(BaseModel):
    attempt: int
    status_code: int | None
    duration_ms: int
    response_body: str | None
    error: str | None
    at: datetime


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    status: Literal["pending", "in_progress", "succeeded", "failed", "cancelled"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    log: list[DeliveryAttemptOut]


class EventOut(BaseModel):
    id: str = Field(description="The `webhook-id` every delivery of this event carries.")
    type: str
    workflow_id: str | None
    record_id: str | None
    created_at: datetime
    payload: dict[str, Any] = Field(description="The envelope exactly as delivered.")


class EventDetailOut(EventOut):
    deliveries: list[DeliveryOut]


class EventPageOut(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_id: str | None = Field(
        None, description="Replay to this endpoint only; absent: every endpoint it went to."
    )


class ReplayFailedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime = Field(description="Replay events whose delivery failed since then.")


class ReplayOut(BaseModel):
    queued: int = Field(description="New deliveries queued; they keep the original webhook-id.")


def _endpoint_out(row: RowMapping) -> EndpointOut:
    return EndpointOut(
        id=str(row["id"]),
        url=row["url"],
        description=row["description"],
        workflow_id=None if row["workflow_id"] is None else str(row["workflow_id"]),
        event_types=row["event_types"],
        format=row["format"],
        auth_header_name=row["auth_header_name"],
        status=row["status"],
        disabled_reason=row["disabled_reason"],
        failing_since=row["failing_since"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _secret_out(row: RowMapping) -> EndpointSecretOut:
    return EndpointSecretOut(
        secret=row["secret"], previous_secret_expires_at=row["previous_secret_expires_at"]
    )


def _endpoint_id(value: str) -> int:
    endpoint_id = parse_id(value)
    if endpoint_id is None:
        raise NotFound(f"webhook endpoint {value} not found", code="endpoint_not_found")
    return endpoint_id


def _changes(body: EndpointIn | EndpointPatch) -> service.EndpointChanges:
    return service.EndpointChanges(
        url=body.url,
        description=body.description,
        workflow=body.workflow,
        event_types=body.event_types,
        format=body.format,
        auth_header_name=body.auth_header_name,
        auth_header_value=body.auth_header_value,
        secret=body.secret if isinstance(body, EndpointIn) else None,
        enabled=body.enabled,
    )


@router.post(
    "/v1/webhook-endpoints",
    status_code=201,
    summary="Add a webhook endpoint",
    description="Events of the workspace (or of one workflow) are POSTed here, signed with the "
    "Standard Webhooks scheme: `webhook-id`, `webhook-timestamp`, `webhook-signature` "
    "(HMAC-SHA256 with the `whsec_` secret returned once here). Failed deliveries are retried "
    "for about 27.5 hours (immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and "
    "10 h). See docs/webhooks.md for payloads and a verifying receiver.",
)
async def create_endpoint(
    body: EndpointIn, db: DbDep, workspace_id: WorkspaceDep, settings: SettingsDep
) -> EndpointCreatedOut:
    row = await service.create_endpoint(
        db, workspace_id, _changes(body), allow_private=settings.webhook_allow_private
    )
    return EndpointCreatedOut(**_endpoint_out(row).model_dump(), secret=row["secret"])


@router.get("/v1/webhook-endpoints", summary="List webhook endpoints")
async def list_endpoints(
    db: DbDep,
    workspace_id: WorkspaceDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> EndpointPageOut:
    page = await service.list_endpoints(db, workspace_id, cursor=cursor, limit=limit)
    return EndpointPageOut(
        items=[_endpoint_out(row) for row in page.items], next_cursor=page.next_cursor
    )


@router.get("/v1/webhook-endpoints/{endpoint_id}", summary="Get a webhook endpoint")
async def get_endpoint(endpoint_id: str, db: DbDep, workspace_id: WorkspaceDep) -> EndpointOut:
    return _endpoint_out(await service.get_endpoint(db, workspace_id, _endpoint_id(endpoint_id)))


@router.patch(
    "/v1/webhook-endpoints/{endpoint_id}",
    summary="Change a webhook endpoint",
    description="Only the fields sent change. `enabled: true` re-enables a disabled endpoint; "
    "events it missed meanwhile can be sent with the replay endpoint.",
)
async def update_endpoint(
    endpoint_id: str,
    body: EndpointPatch,
    db: DbDep,
    workspace_id: WorkspaceDep,
    settings: SettingsDep,
) -> EndpointOut:
    clear = frozenset(
        name
        for name in ("description", "event_types", "auth_header_name", "auth_header_value")
        if name in body.model_fields_set and getattr(body, name) is None
    )
    row = await service.update_endpoint(
        db,
        workspace_id,
        _endpoint_id(endpoint_id),
        _changes(body),
        allow_private=settings.webhook_allow_private,
        clear=clear,
    )
    return _endpoint_out(row)


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint",
    description="Nothing more is sent to it; its queued deliveries are cancelled.",
)
async def delete_endpoint(endpoint_id: str, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    await service.delete_endpoint(db, workspace_id, _endpoint_id(endpoint_id))
    return Response(status_code=204)


@router.get("/v1/webhook-endpoints/{endpoint_id}/secret", summary="Read the signing secret")
async def get_secret(endpoint_id: str, db: DbDep, workspace_id: WorkspaceDep) -> EndpointSecretOut:
    return _secret_out(await service.get_endpoint(db, workspace_id, _endpoint_id(endpoint_id)))


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    summary="Rotate the signing secret",
    description="A new secret signs from now on; the old one keeps signing alongside it "
    "(two signatures in `webhook-signature`) for `keep_old_hours`, so receivers can switch.",
)
async def rotate_secret(
    endpoint_id: str, body: RotateIn, db: DbDep, workspace_id: WorkspaceDep
) -> EndpointSecretOut:
    row = await service.rotate_secret(
        db,
        workspace_id,
        _endpoint_id(endpoint_id),
        keep_old_for=timedelta(hours=body.keep_old_hours),
    )
    return _secret_out(row)


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/replay",
    summary="Replay failed events to an endpoint",
    description="Queues again every event whose delivery to this endpoint failed (or was "
    "cancelled) since `since`. Each keeps its original `webhook-id`.",
)
async def replay_failed(
    endpoint_id: str, body: ReplayFailedIn, db: DbDep, workspace_id: WorkspaceDep
) -> ReplayOut:
    queued = await service.replay_failed(
        db, workspace_id, _endpoint_id(endpoint_id), since=body.since
    )
    return ReplayOut(queued=queued)


def _deliveries_out(detail: service.EventDetail) -> list[DeliveryOut]:
    return [
        DeliveryOut(
            id=str(row["id"]),
            endpoint_id=str(row["endpoint_id"]),
            status=row["status"],
            attempts=row["attempts"],
            next_attempt_at=row["next_due_at"],
            last_status_code=row["last_status_code"],
            last_error=row["last_error"],
            delivered_at=row["delivered_at"],
            log=[
                DeliveryAttemptOut(
                    attempt=attempt["attempt"],
                    status_code=attempt["status_code"],
                    duration_ms=attempt["duration_ms"],
                    response_body=attempt["response_body"],
                    error=attempt["error"],
                    at=attempt["created_at"],
                )
                for attempt in detail.attempts.get(row["id"], [])
            ],
        )
        for row in detail.deliveries
    ]


def _event_out(row: RowMapping) -> EventOut:
    return EventOut(
        id=msg_id(row["id"]),
        type=row["type"],
        workflow_id=None if row["workflow_id"] is None else str(row["workflow_id"]),
        record_id=None if row["record_id"] is None else str(row["record_id"]),
        created_at=row["created_at"],
        payload=msgspec.json.decode(row["payload"]),
    )


@router.get(
    "/v1/events",
    summary="List events (newest first)",
    description="Events that were sent to at least one endpoint.",
)
async def list_events(
    db: DbDep,
    workspace_id: WorkspaceDep,
    type: Annotated[EventType | None, Query(description="Only this event type.")] = None,
    record_id: str | None = None,
    since: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> EventPageOut:
    record = None if record_id is None else parse_id(record_id)
    if record_id is not None and record is None:
        return EventPageOut(items=[], next_cursor=None)
    page = await service.list_events(
        db,
        workspace_id,
        event_type=None if type is None else type.value,
        record_id=record,
        since=since,
        cursor=cursor,
        limit=limit,
    )
    return EventPageOut(items=[_event_out(row) for row in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/events/{event_id}",
    summary="An event with its deliveries",
    description="The envelope as sent, and each delivery with its log of attempts (status, "
    "duration, response truncated to 2,000 bytes, error).",
)
async def get_event(event_id: str, db: DbDep, workspace_id: WorkspaceDep) -> EventDetailOut:
    detail = await service.get_event(db, workspace_id, event_id)
    return EventDetailOut(
        **_event_out(detail.event).model_dump(), deliveries=_deliveries_out(detail)
    )


@router.post(
    "/v1/events/{event_id}/replay",
    summary="Replay one event",
    description="Queues the event again, with the same `webhook-id` and body.",
)
async def replay_event(
    event_id: str, body: ReplayIn, db: DbDep, workspace_id: WorkspaceDep
) -> ReplayOut:
    endpoint = None if body.endpoint_id is None else _endpoint_id(body.endpoint_id)
    queued = await service.replay_event(db, workspace_id, event_id, endpoint_id=endpoint)
    return ReplayOut(queued=queued)
