"""HTTP routes of the Talkdesk dialect: Talkdesk's Campaign Management API, translated.

Authentication is ``Authorization: Bearer <dialflow API key>`` (where Talkdesk takes an OAuth
token). Every error answers ``{code, message, description, fields[{name, description}]}``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import RowMapping

from dialflow.dialects.talkdesk import service
from dialflow.dialects.talkdesk.campaigns import Campaign
from dialflow.dialects.talkdesk.http import (
    TalkdeskRoute,
    error_json,
    from_validation,
    invalid,
    not_found,
)
from dialflow.dialects.talkdesk.records import DEDUP_TYPES, IDENTIFIER_TYPES, record_json
from dialflow.dialects.talkdesk.schemas import (
    RECORD_EXAMPLE,
    DncEntryIn,
    DncListIn,
    RecordListIn,
)
from dialflow.domain.errors import ErrorCode, FieldError, FieldErrors
from dialflow.domain.phones import normalize_phone
from dialflow.errors import ApiError, BadRequest
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
from dialflow.intake.service import GOOD, ResultStatus
from dialflow.pagination import parse_id

router = APIRouter(tags=["talkdesk"], route_class=TalkdeskRoute)

# Talkdesk's bulk answers count up to 100 records (total_created, total_errors: 0-100).
MAX_BULK = 100
_Model = TypeVar("_Model", bound=BaseModel)
_BULK_RECORD_PATH = re.compile(r"^/records/([^/]+)(/.*)?$")


class StorageFailed(ApiError):
    status_code = 503
    code = "write_failed"


def _id(value: str, kind: str) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise not_found(kind, value)
    return parsed


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _json(request: Request) -> Any:
    """The body of a request that is not records (intake checks records field by field)."""
    body = await read_body(request)
    if may_hold_nul(body):
        raise invalid(
            "text cannot hold NUL characters",
            [FieldError(ErrorCode.INVALID_VALUE, "", "remove the \\u0000 characters")],
        )
    return decode_json(body)


async def _model(request: Request, model: type[_Model]) -> _Model:
    try:
        return model.model_validate(await _json(request))
    except ValidationError as exc:
        raise from_validation(exc) from None


def _operations(body: object) -> object:
    """A JSON Patch as Talkdesk clients send it: also one bare operation, an upper-case ``op``
    and a ``path`` without its leading slash (``{"op": "REPLACE", "path": "status"}``)."""
    operations = [body] if isinstance(body, dict) else body
    if not isinstance(operations, list):
        return operations
    return [
        {
            **op,
            **({"op": op["op"].lower()} if isinstance(op.get("op"), str) else {}),
            **(
                {"path": "/" + op["path"]}
                if isinstance(op.get("path"), str) and not op["path"].startswith("/")
                else {}
            ),
        }
        if isinstance(op, dict)
        else op
        for op in operations
    ]


def _at_most_bulk(count: int) -> None:
    if count > MAX_BULK:
        raise BadRequest(
            f"too many records: {count}, at most {MAX_BULK} per request", code="too_many_records"
        )


def _links(**hrefs: str) -> dict[str, dict[str, str]]:
    return {name: {"href": href} for name, href in hrefs.items()}


# --- record lists ----------------------------------------------------------------------------


def _record_list_json(
    record_list: service.RecordList, base: str, records_count: int
) -> dict[str, Any]:
    href = f"{base}/record-lists/{record_list.id}"
    return {
        "id": str(record_list.id),
        "name": record_list.name,
        "unique_identifier_type": DEDUP_TYPES[record_list.dedup],
        "status": "ACCEPTED",
        "records_count": records_count,
        "campaign_id": None if record_list.campaign_id is None else str(record_list.campaign_id),
        "signed_url": None,
        "created_at": record_list.created_at,
        "updated_at": record_list.updated_at,
        "_links": _links(self=href, records=f"{href}/records"),
    }


@router.post("/record-lists", status_code=201, summary="Create a record list")
async def create_record_list(request: Request, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    body = await _model(request, RecordListIn)
    record_list = await service.create_record_list(
        db,
        workspace_id,
        name=body.name,
        dedup=IDENTIFIER_TYPES[body.unique_identifier_type],
    )
    return json_response(_record_list_json(record_list, _base(request), 0), 201)


@router.get("/record-lists/{list_id}", summary="Get a record list")
async def get_record_list(
    list_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    record_list = await service.get_record_list(db, workspace_id, _id(list_id, "record list"))
    count = await service.count_records(db, workspace_id, record_list)
    return json_response(_record_list_json(record_list, _base(request), count))


# --- records ---------------------------------------------------------------------------------


def _refusal(added: service.Added) -> ApiError:
    if added.status is ResultStatus.FAILED:
        return StorageFailed(
            "the record could not be stored (database error); it is safe to send it again"
        )
    code = "do_not_call" if added.status is ResultStatus.SUPPRESSED else "invalid_record"
    return BadRequest("; ".join(e.message for e in added.errors), code=code, details=added.errors)


def _stored(added: service.Added) -> RowMapping | None:
    return added.row if added.status in GOOD else None


def _bulk_json(
    record_list: service.RecordList,
    base: str,
    records: list[dict[str, Any]],
    errors: list[dict[str, Any]],
) -> dict[str, Any]:
    """The answer of a bulk create or update: the records written and the ones refused."""
    href = f"{base}/record-lists/{record_list.id}"
    return {
        "record_list_id": str(record_list.id),
        "has_errors": bool(errors),
        "total_errors": len(errors),
        "total_created": len(records),
        "_links": _links(self=f"{href}/records/bulks", record_list=href),
        "_embedded": {"records": records, "errors": errors},
    }


@router.post(
    "/record-lists/{list_id}/records/bulks",
    status_code=201,
    summary="Create records in bulk (at most 100)",
    openapi_extra=json_body_doc({"records": [RECORD_EXAMPLE]}),
)
async def create_records(
    list_id: str, request: Request, db: DbDep, settings: SettingsDep, workspace_id: WorkspaceDep
) -> Response:
    record_list = await service.get_record_list(db, workspace_id, _id(list_id, "record list"))
    body = await read_body(request)
    payload = decode_json(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise invalid(
            'the body must be an object with a "records" array',
            [FieldError(ErrorCode.REQUIRED, "records", '"records" must be an array')],
        )
    added = await service.add_records(
        db,
        workspace_id,
        record_list,
        payload["records"],
        max_records=MAX_BULK,
        meta_max_bytes=settings.meta_max_bytes,
        create_list=True,
        scan_nul=may_hold_nul(body),
    )
    base = _base(request)
    records = [record_json(row, record_list.id, base) for a in added if (row := _stored(a))]
    errors = [
        {"index": index, **error_json(_refusal(a))}
        for index, a in enumerate(added)
        if _stored(a) is None
    ]
    return json_response(_bulk_json(record_list, base, records, errors), 201)


def _per_record(operations: object) -> dict[str, list[Any]]:
    """A bulk JSON Patch (paths ``/records/{id}...``) split into one patch per record."""
    if not isinstance(operations, list):
        raise invalid(
            "a JSON Patch is an array of operations",
            [FieldError(ErrorCode.INVALID_TYPE, "", "the body must be an array of operations")],
        )
    patches: dict[str, list[Any]] = {}
    for position, op in enumerate(operations):
        path = op.get("path") if isinstance(op, dict) else None
        match = _BULK_RECORD_PATH.match(path) if isinstance(path, str) else None
        if match is None:
            raise invalid(
                "each operation must name a record",
                [
                    FieldError(
                        ErrorCode.INVALID_VALUE,
                        f"[{position}].path",
                        'the path must be "/records/{record_id}" or a path inside it',
                    )
                ],
            )
        record_id, inner = match.groups()
        target = patches.setdefault(record_id, [])
        if inner:
            target.append({**op, "path": inner})
        elif op.get("op") in {"add", "replace"} and isinstance(op.get("value"), dict):
            target.extend(
                {"op": "add", "path": "/" + name.replace("~", "~0").replace("/", "~1"), "value": v}
                for name, v in op["value"].items()
            )
        else:
            raise invalid(
                "an operation on a whole record must add or replace an object of fields",
                [
                    FieldError(
                        ErrorCode.INVALID_VALUE,
                        f"[{position}]",
                        'use "replace" with an object of the fields to change as "value"',
                    )
                ],
            )
    return patches


@router.patch("/record-lists/{list_id}/records/bulks", summary="Update records in bulk")
async def update_records(
    list_id: str, request: Request, db: DbDep, settings: SettingsDep, workspace_id: WorkspaceDep
) -> Response:
    record_list = await service.get_record_list(db, workspace_id, _id(list_id, "record list"))
    patches = _per_record(_operations(await _json(request)))
    _at_most_bulk(len(patches))
    base = _base(request)
    records: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for record_id, operations in patches.items():
        try:
            row = await service.patch_record(
                db,
                workspace_id,
                record_list,
                _id(record_id, "record"),
                operations,
                meta_max_bytes=settings.meta_max_bytes,
            )
        except ApiError as exc:
            errors.append({"id": record_id, **error_json(exc)})
            continue
        records.append(record_json(row, record_list.id, base))
    return json_response(_bulk_json(record_list, base, records, errors))


def _ref(item: object) -> service.RecordRef | str:
    """A deletion item as a reference, or why it names no record."""
    if not isinstance(item, dict):
        return "each item must be an object"
    if "id" in item:
        record_id = parse_id(str(item["id"]))
        return "record not found" if record_id is None else service.RecordRef(record_id=record_id)
    if "phone_number" in item:
        try:
            return service.RecordRef(phone=normalize_phone(item["phone_number"]))
        except FieldErrors as exc:
            return str(exc).replace('"phone"', '"phone_number"')
    provider, external_id = item.get("external_provider"), item.get("external_id")
    if isinstance(provider, str) and isinstance(external_id, str):
        return service.RecordRef(external=(provider, external_id))
    return 'an item needs "id", "phone_number", or "external_provider" and "external_id"'


@router.delete("/record-lists/{list_id}/records/bulks", summary="Delete records in bulk")
async def delete_records(
    list_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    record_list = await service.get_record_list(db, workspace_id, _id(list_id, "record list"))
    items = await _json(request)
    if not isinstance(items, list) or not items:
        raise invalid(
            "the body must be a non-empty array of records to delete",
            [
                FieldError(
                    ErrorCode.INVALID_TYPE,
                    "",
                    "send an array of {id} or {phone_number} or {external_provider, external_id}",
                )
            ],
        )
    _at_most_bulk(len(items))
    refs = [_ref(item) for item in items]
    deleted, found = await service.delete_records(
        db,
        workspace_id,
        record_list,
        [r if isinstance(r, service.RecordRef) else service.RecordRef() for r in refs],
    )
    failed = [
        {
            **(item if isinstance(item, dict) else {}),
            "description": ref if isinstance(ref, str) else "record not found",
        }
        for item, ref, ok in zip(items, refs, found, strict=True)
        if not ok
    ]
    return json_response(
        {
            "record_list_id": str(record_list.id),
            "has_errors": bool(failed),
            "total_deleted": len(deleted),
            "total_errors": len(failed),
            "_embedded": {"failed_records": failed},
        }
    )


@router.post(
    "/record-lists/{list_id}/records",
    status_code=201,
    summary="Create a record",
    openapi_extra=json_body_doc(RECORD_EXAMPLE),
)
async def create_record(
    list_id: str, request: Request, db: DbDep, settings: SettingsDep, workspace_id: WorkspaceDep
) -> Response:
    record_list = await service.get_record_list(db, workspace_id, _id(list_id, "record list"))
    body = await read_body(request)
    [added] = await service.add_records(
        db,
        workspace_id,
        record_list,
        [decode_json(body)],
        max_records=1,
        meta_max_bytes=settings.meta_max_bytes,
        create_list=False,
        scan_nul=may_hold_nul(body),
    )
    row = _stored(added)
    if row is None:
        raise _refusal(added)
    status = 201 if added.status is ResultStatus.ACCEPTED else 200
    return json_response(record_json(row, record_list.id, _base(request)), status)


@router.get("/record-lists/{list_id}/records/{record_id}", summary="Get a record")
async def get_record(
    list_id: str, record_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    record_list = await service.get_record_list(db, workspace_id, _id(list_id, "record list"))
    row = await service.get_record(db, workspace_id, record_list, _id(record_id, "record"))
    return json_response(record_json(row, record_list.id, _base(request)))


@router.patch("/record-lists/{list_id}/records/{record_id}", summary="Update a record")
async def update_record(
    list_id: str,
    record_id: str,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    workspace_id: WorkspaceDep,
) -> Response:
    record_list = await service.get_record_list(db, workspace_id, _id(list_id, "record list"))
    row = await service.patch_record(
        db,
        workspace_id,
        record_list,
        _id(record_id, "record"),
        _operations(await _json(request)),
        meta_max_bytes=settings.meta_max_bytes,
    )
    return json_response(record_json(row, record_list.id, _base(request)))


@router.delete(
    "/record-lists/{list_id}/records/{record_id}", status_code=204, summary="Delete a record"
)
async def delete_record(
    list_id: str, record_id: str, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    record_list = await service.get_record_list(db, workspace_id, _id(list_id, "record list"))
    ref = service.RecordRef(record_id=_id(record_id, "record"))
    _, [found] = await service.delete_records(db, workspace_id, record_list, [ref])
    if not found:
        raise not_found("record", record_id)
    return Response(status_code=204)


# --- campaigns -------------------------------------------------------------------------------


def _campaign_json(row: RowMapping, base: str) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        **service.campaign_document(row),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "_links": _links(self=f"{base}/campaigns/{row['id']}"),
    }


@router.post("/campaigns", status_code=201, summary="Create a campaign")
async def create_campaign(request: Request, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    campaign = await _model(request, Campaign)
    row = await service.create_campaign(db, workspace_id, campaign)
    return json_response(_campaign_json(row, _base(request)), 201)


@router.get("/campaigns/{campaign_id}", summary="Get a campaign")
async def get_campaign(
    campaign_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    row = await service.get_campaign(db, workspace_id, _id(campaign_id, "campaign"))
    return json_response(_campaign_json(row, _base(request)))


@router.patch(
    "/campaigns/{campaign_id}",
    summary="Update a campaign: start (RUNNING), pause (PAUSED or READY), or change it",
)
async def patch_campaign(
    campaign_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    row = await service.patch_campaign(
        db, workspace_id, _id(campaign_id, "campaign"), _operations(await _json(request))
    )
    return json_response(_campaign_json(row, _base(request)))


@router.put(
    "/campaigns/{campaign_id}/record-lists/{list_id}",
    summary="Attach a record list to a campaign (dialflow; Talkdesk does this in its UI)",
)
async def attach_record_list(
    campaign_id: str, list_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    record_list = await service.attach_record_list(
        db, workspace_id, _id(campaign_id, "campaign"), _id(list_id, "record list")
    )
    count = await service.count_records(db, workspace_id, record_list)
    return json_response(_record_list_json(record_list, _base(request), count))


@router.delete(
    "/campaigns/{campaign_id}/record-lists/{list_id}",
    status_code=204,
    summary="Detach a record list from a campaign (dialflow; Talkdesk does this in its UI)",
)
async def detach_record_list(
    campaign_id: str, list_id: str, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    await service.detach_record_list(
        db, workspace_id, _id(campaign_id, "campaign"), _id(list_id, "record list")
    )
    return Response(status_code=204)


# --- do-not-call lists -----------------------------------------------------------------------


def _dnc_list_json(row: RowMapping, base: str) -> dict[str, Any]:
    href = f"{base}/do-not-call-lists/{row['id']}"
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "status": "ACCEPTED",
        "signed_url": None,
        "created_at": row["created_at"],
        "_links": _links(self=href, entries=f"{href}/entries"),
    }


def _entry_json(entry: service.DncEntry, base: str) -> dict[str, Any]:
    href = f"{base}/do-not-call-lists/{entry.dnc_list_id}/entries/{entry.id}"
    return {
        "id": str(entry.id),
        "do_not_call_list_id": str(entry.dnc_list_id),
        **entry.document(),
        "created_at": entry.created_at,
        "_links": _links(self=href),
    }


@router.post("/do-not-call-lists", status_code=201, summary="Create a do-not-call list")
async def create_dnc_list(request: Request, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    body = await _model(request, DncListIn)
    row = await service.create_dnc_list(db, workspace_id, body.name)
    return json_response(_dnc_list_json(row, _base(request)), 201)


@router.get("/do-not-call-lists/{dnc_list_id}", summary="Get a do-not-call list")
async def get_dnc_list(
    dnc_list_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    row = await service.get_dnc_list(db, workspace_id, _id(dnc_list_id, "do-not-call list"))
    return json_response(_dnc_list_json(row, _base(request)))


@router.post(
    "/do-not-call-lists/{dnc_list_id}/entries",
    status_code=201,
    summary="Add a number to a do-not-call list",
)
async def add_dnc_entry(
    dnc_list_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    list_id = _id(dnc_list_id, "do-not-call list")
    body = await _model(request, DncEntryIn)
    entry = await service.add_dnc_entry(db, workspace_id, list_id, body)
    return json_response(_entry_json(entry, _base(request)), 201)


@router.get("/do-not-call-lists/{dnc_list_id}/entries", summary="List a do-not-call list")
async def list_dnc_entries(
    dnc_list_id: str,
    request: Request,
    db: DbDep,
    workspace_id: WorkspaceDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_BULK)] = 20,
) -> Response:
    list_id = _id(dnc_list_id, "do-not-call list")
    entries, total = await service.list_dnc_entries(
        db, workspace_id, list_id, offset=(page - 1) * per_page, limit=per_page
    )
    base = _base(request)
    pages = max(1, math.ceil(total / per_page))
    href = f"{base}/do-not-call-lists/{list_id}/entries?per_page={per_page}&page="
    links = {"self": page, "first": 1, "last": pages}
    if page > 1:
        links["prev"] = page - 1
    if page < pages:
        links["next"] = page + 1
    return json_response(
        {
            "total": total,
            "per_page": per_page,
            "count": len(entries),
            "page": page,
            "total_pages": pages,
            "_links": _links(**{name: f"{href}{number}" for name, number in links.items()}),
            "_embedded": {"entries": [_entry_json(entry, base) for entry in entries]},
        }
    )


@router.patch(
    "/do-not-call-lists/{dnc_list_id}/entries/{entry_id}",
    summary="Update an entry's reason or expiration date",
)
async def patch_dnc_entry(
    dnc_list_id: str, entry_id: str, request: Request, db: DbDep, workspace_id: WorkspaceDep
) -> Response:
    entry = await service.patch_dnc_entry(
        db,
        workspace_id,
        _id(dnc_list_id, "do-not-call list"),
        _id(entry_id, "entry"),
        _operations(await _json(request)),
    )
    return json_response(_entry_json(entry, _base(request)))
