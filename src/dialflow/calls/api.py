"""Native HTTP endpoints for calls (attempts) and their recordings."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime
from sqlalchemy.engine import RowMapping

from dialflow.calls import repository, service
from dialflow.calls.schemas import (
    ERROR_RESPONSES,
    CallChannel,
    CallOut,
    CallPageOut,
    CallSort,
    CallStatus,
)
from dialflow.domain.outcomes import EndReason
from dialflow.errors import BadRequest, NotFound
from dialflow.http import DbDep, WorkspaceDep
from dialflow.pagination import MAX_PAGE_SIZE, Page, parse_id
from dialflow.providers.simulator import simulated_recording

router = APIRouter(tags=["calls"])

_PAGING = (
    "Newest first unless `sort=created_at`. Answers `{items, next_cursor}`: pass `next_cursor` "
    "back as `cursor` for the next page (null on the last one)."
)

SortQuery = Annotated[
    CallSort,
    Query(description="`-created_at` (newest first, the default) or `created_at`."),
]
CursorQuery = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")]


def recording_link(provider_call_id: str) -> str:
    return f"/v1/recordings/{quote(provider_call_id, safe='')}.wav"


def call_out(row: RowMapping) -> CallOut:
    provider_call_id = row["provider_call_id"]
    return CallOut.model_validate(
        {
            "id": str(row["id"]),
            "record_id": str(row["record_id"]),
            "workflow_id": row["workflow_id"],
            "workflow_key": row["workflow_key"],
            "cycle": row["cycle"],
            "step_id": row["step_id"],
            "day": row["day"],
            "call": row["call"],
            "channel": row["channel"],
            "to": row["to_address"],
            "from": row["from_address"],
            "phone_type": row["phone_type"],
            "provider": row["provider"],
            "provider_call_id": provider_call_id,
            "status": row["status"],
            "end_reason": row["end_reason"],
            "answered": row["answered"],
            "duration_seconds": row["duration_seconds"],
            "message_left": row["message_left"],
            "transcript": row["transcript"],
            "recording_url": row["recording_url"],
            "recording": (
                recording_link(provider_call_id)
                if row["recording_url"] and provider_call_id
                else None
            ),
            "collected_fields": row["collected_fields"],
            "note": row["note"],
            "error": row["error"],
            "created_at": row["created_at"],
            "started_at": row["started_at"],
            "ended_at": row["ended_at"],
        }
    )


def page_out(page: Page[RowMapping]) -> CallPageOut:
    return CallPageOut(items=[call_out(r) for r in page.items], next_cursor=page.next_cursor)


def _id(value: str, kind: str) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound(f"{kind} {value} not found", code=f"{kind}_not_found")
    return parsed


@router.get(
    "/v1/calls/{call_id}",
    summary="Get a call",
    description="One call (attempt) by id, with every field: channel, to, from, provider and "
    "its call id, status, end reason, answered, duration, message left, transcript, collected "
    "fields, what it meant for the record (`note`), timestamps, and `recording`, dialflow's "
    "link to the recording when the call has one.",
    response_model=CallOut,
    responses={404: ERROR_RESPONSES[404]},
)
async def get_call(call_id: str, db: DbDep, workspace_id: WorkspaceDep) -> CallOut:
    return call_out(await service.get_call(db, workspace_id, _id(call_id, "call")))


@router.get(
    "/v1/records/{record_id}/calls",
    summary="List a record's calls",
    description="Every call (attempt) made for a record, across its cycles. " + _PAGING,
    response_model=CallPageOut,
    responses=ERROR_RESPONSES,
)
async def record_calls(
    record_id: str,
    db: DbDep,
    workspace_id: WorkspaceDep,
    sort: SortQuery = service.DEFAULT_SORT,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> CallPageOut:
    page = await service.calls_of_record(
        db, workspace_id, _id(record_id, "record"), sort=sort, cursor=cursor, limit=limit
    )
    return page_out(page)


@router.get(
    "/v1/calls",
    summary="Search calls",
    description="Calls of the workspace, filtered: by `phone` (the number dialed, any format, "
    "matched as E.164), by the record's `case_id` or `external_id`, by `workflow` (id or key), "
    "`record_id`, `channel`, `status`, `end_reason`, and a `since` (inclusive) / `until` "
    "(exclusive) range on `created_at`; filters combine with AND. " + _PAGING,
    response_model=CallPageOut,
    responses=ERROR_RESPONSES,
)
async def search_calls(
    db: DbDep,
    workspace_id: WorkspaceDep,
    phone: Annotated[
        str | None, Query(description="The number called, any format (10-digit US or E.164).")
    ] = None,
    case_id: Annotated[str | None, Query(description="The record's case id.")] = None,
    external_id: Annotated[str | None, Query(description="The record's external id.")] = None,
    workflow: Annotated[str | None, Query(description="Workflow id or key.")] = None,
    record_id: str | None = None,
    channel: CallChannel | None = None,
    status: CallStatus | None = None,
    end_reason: EndReason | None = None,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Created at or after (ISO 8601 with a zone, e.g. `...Z`)."),
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Created before (ISO 8601 with a zone).")
    ] = None,
    sort: SortQuery = service.DEFAULT_SORT,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> CallPageOut:
    parsed_record_id = None
    if record_id is not None:
        parsed_record_id = parse_id(record_id)
        if parsed_record_id is None:
            raise BadRequest(
                f'"record_id" must be a record id (digits), not "{record_id[:40]}"',
                code="invalid_request",
            )
    search = service.CallSearch(
        phone=phone,
        case_id=case_id,
        external_id=external_id,
        workflow=workflow,
        record_id=parsed_record_id,
        channel=None if channel is None else channel.value,
        status=None if status is None else status.value,
        end_reason=None if end_reason is None else end_reason.value,
        since=since,
        until=until,
    )
    page = await service.search_calls(
        db, workspace_id, search, sort=sort, cursor=cursor, limit=limit
    )
    return page_out(page)


@router.get(
    "/v1/workflows/{workflow}/recordings",
    summary="List a number's recordings in a workflow",
    description="The calls to one number (`phone`, any format) in a workflow that have a "
    "recording, each with its `recording` link. " + _PAGING,
    response_model=CallPageOut,
    responses=ERROR_RESPONSES,
)
async def workflow_recordings(
    workflow: str,
    db: DbDep,
    workspace_id: WorkspaceDep,
    phone: Annotated[str, Query(description="The number called, any format.")],
    sort: SortQuery = service.DEFAULT_SORT,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> CallPageOut:
    page = await service.recordings(
        db, workspace_id, workflow, phone, sort=sort, cursor=cursor, limit=limit
    )
    return page_out(page)


@router.get(
    "/v1/recordings/{provider_call_id}.wav",
    summary="A call's recording (WAV)",
    description="The recording URL a call.completed event carries. Simulated calls get a short "
    "generated WAV; real providers link to their own storage.",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}, 404: ERROR_RESPONSES[404]},
)
async def recording(provider_call_id: str, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    async with db.read() as conn:
        attempt = await repository.by_provider_call_id(conn, workspace_id, provider_call_id)
    if attempt is None or not attempt["recording_url"]:
        raise NotFound(f"no recording for call {provider_call_id}", code="recording_not_found")
    audio = simulated_recording(provider_call_id, attempt["duration_seconds"] or 1)
    return Response(audio, media_type="audio/wav")
