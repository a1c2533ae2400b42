"""Native HTTP endpoints for adding and reading records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import RowMapping

from dialflow.domain.errors import FieldErrors
from dialflow.domain.phones import normalize_phone
from dialflow.errors import BadRequest, NotFound
from dialflow.http import (
    DbDep,
    SettingsDep,
    WorkspaceDep,
    decode_json,
    json_body_doc,
    json_response,
    may_hold_nul,
    read_body,
)
from dialflow.idempotency.service import request_fingerprint, run_once
from dialflow.intake.service import IntakeOutcome, RecordResult, ingest
from dialflow.pagination import MAX_PAGE_SIZE, parse_id
from dialflow.records import service
from dialflow.records.schemas import (
    ActionOut,
    BulkIn,
    BulkOut,
    RecordIn,
    RecordOut,
    RecordPageOut,
    RecordResultOut,
    RecordSelector,
    TimelineEntry,
)
from dialflow.records.status import RecordStatus
from dialflow.settings import Settings

router = APIRouter(tags=["records"])

_IDEMPOTENCY_DOC = (
    "Send an `Idempotency-Key` header to make retries safe: a repeat with the same key and body "
    "returns the first response and writes nothing; the same key with another body is a 409."
)


def result_json(result: RecordResult) -> dict[str, Any]:
    return {
        "index": result.index,
        "status": result.status.value,
        "record_id": None if result.record_id is None else str(result.record_id),
        "errors": [
            {"code": e.code.value, "field": e.field, "message": e.message} for e in result.errors
        ],
    }


def outcome_json(outcome: IntakeOutcome) -> dict[str, Any]:
    return {
        "workflow_id": outcome.workflow_id,
        "workflow_key": outcome.workflow_key,
        "list_id": None if outcome.list_id is None else str(outcome.list_id),
        "counts": outcome.counts(),
        "results": [result_json(r) for r in outcome.results],
    }


async def _respond(
    request: Request,
    db: DbDep,
    settings: Settings,
    workspace_id: int,
    body: bytes,
    produce: Callable[[], Awaitable[tuple[int, bytes]]],
) -> Response:
    key = request.headers.get("idempotency-key")
    if key is None:
        status_code, content = await produce()
    else:
        status_code, content = await run_once(
            db,
            workspace_id=workspace_id,
            key=key,
            fingerprint=request_fingerprint(request.method, request.url.path, body),
            ttl=timedelta(hours=settings.idempotency_ttl_hours),
            produce=produce,
        )
    return Response(content, status_code, media_type="application/json")


@router.post(
    "/v1/workflows/{workflow}/records",
    summary="Add one record",
    description="Adds one record to a workflow; it is dialed as soon as the rules allow. "
    "201 accepted, 200 updated (a pending record with the same phone), 422 with per-field "
    "errors otherwise. " + _IDEMPOTENCY_DOC,
    openapi_extra=json_body_doc(schema=RecordIn.model_json_schema()),
    responses={201: {"model": RecordResultOut}, 422: {"model": RecordResultOut}},
)
async def add_record(
    workflow: str, request: Request, db: DbDep, settings: SettingsDep, workspace_id: WorkspaceDep
) -> Response:
    body = await read_body(request)

    async def produce() -> tuple[int, bytes]:
        outcome = await ingest(
            db,
            workspace_id=workspace_id,
            workflow_ref=workflow,
            records=[decode_json(body)],
            max_records=1,
            meta_max_bytes=settings.meta_max_bytes,
            create_list=False,
            scan_nul=may_hold_nul(body),
        )
        response = json_response(result_json(outcome.results[0]), outcome.http_status)
        return response.status_code, bytes(response.body)

    return await _respond(request, db, settings, workspace_id, body, produce)


@router.post(
    "/v1/workflows/{workflow}/records/bulk",
    summary="Add many records",
    description="Adds up to 10,000 records (10 MB) in one request, as one list. Every record "
    "gets its own result in request order. 201/200 all stored, 207 some failed, 422 none "
    "stored; 400 names the cap when there are too many records, 413 when the body is too "
    "large. " + _IDEMPOTENCY_DOC,
    openapi_extra=json_body_doc(schema=BulkIn.model_json_schema()),
    responses={201: {"model": BulkOut}, 207: {"model": BulkOut}, 422: {"model": BulkOut}},
)
async def add_records_bulk(
    workflow: str, request: Request, db: DbDep, settings: SettingsDep, workspace_id: WorkspaceDep
) -> Response:
    body = await read_body(request)

    async def produce() -> tuple[int, bytes]:
        payload = decode_json(body)
        if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
            raise BadRequest(
                'the body must be an object with a "records" array', code="invalid_request"
            )
        list_name = payload.get("list_name")
        if list_name is not None and not isinstance(list_name, str):
            raise BadRequest('"list_name" must be a string', code="invalid_request")
        outcome = await ingest(
            db,
            workspace_id=workspace_id,
            workflow_ref=workflow,
            records=payload["records"],
            max_records=settings.max_records_per_request,
            chunk_size=settings.chunk_size,
            meta_max_bytes=settings.meta_max_bytes,
            list_name=list_name,
            scan_nul=may_hold_nul(body),
        )
        response = json_response(outcome_json(outcome), outcome.http_status)
        return response.status_code, bytes(response.body)

    return await _respond(request, db, settings, workspace_id, body, produce)


_COPIED_FIELDS = tuple(
    name for name in RecordOut.model_fields if name not in {"id", "list_id", "hot", "timeline"}
)


def _attempt_entry(attempt: RowMapping) -> TimelineEntry:
    outcome = attempt["end_reason"] or attempt["status"]
    duration = attempt["duration_seconds"]
    message = f"{attempt['channel']} to {attempt['to_address']}: {outcome}"
    if duration:
        message += f" ({duration} s)"
    if attempt["note"]:
        message += f" — {attempt['note']}"
    return TimelineEntry(
        at=attempt["created_at"],
        kind="attempt",
        message=message,
        data={
            "attempt_id": str(attempt["id"]),
            "step_id": attempt["step_id"],
            "status": attempt["status"],
            "end_reason": attempt["end_reason"],
            "answered": attempt["answered"],
            "duration_seconds": duration,
            "provider": attempt["provider"],
            "provider_call_id": attempt["provider_call_id"],
            "recording_url": attempt["recording_url"],
            "error": attempt["error"],
            "note": attempt["note"],
        },
    )


def timeline(view: service.RecordView) -> list[TimelineEntry]:
    """Logs and attempts in time order, after the record's creation."""
    entries = [TimelineEntry(at=e["at"], kind=e["kind"], message=e["message"]) for e in view.logs]
    entries += [_attempt_entry(a) for a in view.attempts]
    entries.sort(key=lambda entry: entry.at)
    created = TimelineEntry(at=view.record["created_at"], kind="created", message="record added")
    return [created, *entries]


def record_out(row: RowMapping, entries: list[TimelineEntry] | None = None) -> RecordOut:
    return RecordOut(
        **{name: row[name] for name in _COPIED_FIELDS},
        id=str(row["id"]),
        list_id=None if row["list_id"] is None else str(row["list_id"]),
        hot=row["priority"] is None,
        timeline=entries,
    )


def _record_id(value: str) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound(f"record {value} not found", code="record_not_found")
    return parsed


@router.get("/v1/records/{record_id}", summary="Get a record with its timeline")
async def get_record(record_id: str, db: DbDep, workspace_id: WorkspaceDep) -> RecordOut:
    view = await service.get_record(db, workspace_id, _record_id(record_id))
    return record_out(view.record, timeline(view))


@router.get("/v1/workflows/{workflow}/records", summary="List a workflow's records")
async def list_records(
    workflow: str,
    db: DbDep,
    workspace_id: WorkspaceDep,
    status: RecordStatus | None = None,
    phone: Annotated[str | None, Query(description="Any format; matched as E.164.")] = None,
    external_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> RecordPageOut:
    page = await service.list_records(
        db,
        workspace_id,
        workflow,
        status=status,
        phone=None if phone is None else _phone(phone),
        external_id=external_id,
        cursor=cursor,
        limit=limit,
    )
    return RecordPageOut(items=[record_out(r) for r in page.items], next_cursor=page.next_cursor)


def _phone(value: str) -> str:
    try:
        return normalize_phone(value)
    except FieldErrors as exc:
        raise BadRequest(str(exc), code="invalid_phone") from None


def _action_out(outcome: service.ActionOutcome) -> ActionOut:
    if not outcome.found:
        raise NotFound("no matching record found", code="record_not_found")
    return ActionOut(
        changed=[str(i) for i in outcome.changed], unchanged=[str(i) for i in outcome.unchanged]
    )


def _phones(selector: RecordSelector) -> list[str]:
    phones = [selector.phone] if selector.phone else []
    phones += selector.phones or []
    if not phones:
        raise BadRequest('name the records with "phone" or "phones"', code="invalid_request")
    return [_phone(p) for p in phones]


@router.post("/v1/records/{record_id}/complete", summary="Mark a record complete")
async def complete_record(record_id: str, db: DbDep, workspace_id: WorkspaceDep) -> ActionOut:
    return _action_out(
        await service.complete_records(db, workspace_id, record_id=_record_id(record_id))
    )


@router.post("/v1/records/{record_id}/resume", summary="Resume a record at the step it was on")
async def resume_record(record_id: str, db: DbDep, workspace_id: WorkspaceDep) -> ActionOut:
    return _action_out(
        await service.resume_records(db, workspace_id, record_id=_record_id(record_id))
    )


@router.post(
    "/v1/records/complete",
    summary="Mark records complete by phone",
    description="In one workflow, or with no `workflow` across every workflow of the workspace.",
)
async def complete_by_phone(
    selector: RecordSelector, db: DbDep, workspace_id: WorkspaceDep
) -> ActionOut:
    return _action_out(
        await service.complete_records(
            db, workspace_id, workflow_ref=selector.workflow, phones=_phones(selector)
        )
    )


@router.post("/v1/records/resume", summary="Resume records by phone")
async def resume_by_phone(
    selector: RecordSelector, db: DbDep, workspace_id: WorkspaceDep
) -> ActionOut:
    return _action_out(
        await service.resume_records(
            db, workspace_id, workflow_ref=selector.workflow, phones=_phones(selector)
        )
    )
