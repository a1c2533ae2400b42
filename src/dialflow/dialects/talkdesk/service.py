"""The Talkdesk dialect's operations: its own objects on top of the core's.

- A **record list** is backed by a workflow of its own: the list's records are the workflow's,
  its ``unique_identifier_type`` is the workflow's dedup mode, and records go in through intake.
- A **campaign** keeps Talkdesk's configuration and status; the workflow of every record list
  attached to it follows them (``definition_for``; RUNNING = active, READY/PAUSED = not dialing).
- A **do-not-call list** names entries of the workspace's do-not-call list (``dnc_entries``),
  which the engine checks before every dial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.engine import RowMapping

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.dialects.talkdesk import repository
from dialflow.dialects.talkdesk.campaigns import (
    Campaign,
    CampaignStatus,
    definition_for,
    parse_status,
)
from dialflow.dialects.talkdesk.http import (
    Forbidden,
    field_errors,
    from_validation,
    invalid,
    not_found,
)
from dialflow.dialects.talkdesk.jsonpatch import JsonPatchError, apply_patch
from dialflow.dialects.talkdesk.records import document, required_fields, to_intake
from dialflow.dialects.talkdesk.schemas import DncEntryIn
from dialflow.dnc import service as dnc_service
from dialflow.domain.errors import ErrorCode, FieldError
from dialflow.domain.workflows import WorkflowAction, WorkflowStatus
from dialflow.errors import ApiError, Conflict, NotFound, Unprocessable
from dialflow.ids import next_id
from dialflow.intake.service import ResultStatus, ingest
from dialflow.records import repository as records_repo
from dialflow.records import service as records_service
from dialflow.workflows import service as workflows_service
from dialflow.workflows.definition import WorkflowCreate, WorkflowDefinition, WorkflowUpdate
from dialflow.workspaces import repository as workspaces_repo


def _owned(row: RowMapping | None, workspace_id: int, kind: str, object_id: int) -> RowMapping:
    if row is None:
        raise not_found(kind, object_id)
    if row["workspace_id"] != workspace_id:
        raise Forbidden(f"{kind} {object_id} belongs to another account")
    return row


def _patched(current: dict[str, Any], operations: object) -> dict[str, Any]:
    try:
        patched = apply_patch(current, operations)
    except JsonPatchError as exc:
        raise invalid(
            "the JSON Patch cannot be applied",
            [FieldError(ErrorCode.INVALID_VALUE, exc.field, exc.message)],
        ) from None
    if not isinstance(patched, dict):
        raise invalid(
            "the JSON Patch must leave an object",
            [FieldError(ErrorCode.INVALID_TYPE, "", "the patched document is not an object")],
        )
    return patched


# --- record lists ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordList:
    id: int
    workflow_id: int
    campaign_id: int | None
    name: str
    dedup: str
    created_at: datetime
    updated_at: datetime


def _record_list(row: RowMapping) -> RecordList:
    return RecordList(
        id=row["id"],
        workflow_id=row["workflow_id"],
        campaign_id=row["campaign_id"],
        name=row["name"],
        dedup=WorkflowDefinition.model_validate(row["definition"]).dedup,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def create_record_list(
    db: Database, workspace_id: int, *, name: str, dedup: str
) -> RecordList:
    """A record list and its workflow (a draft: nothing is dialed before a campaign runs it)."""
    workflow = await workflows_service.create_workflow(
        db,
        workspace_id,
        WorkflowCreate(name=name, definition=WorkflowDefinition.model_validate({"dedup": dedup})),
    )
    list_id = next_id()
    async with db.write() as conn:
        await repository.insert_record_list(
            conn,
            {
                "id": list_id,
                "workspace_id": workspace_id,
                "workflow_id": workflow.id,
                "created_at": workflow.created_at,
            },
        )
        row = await repository.get_record_list(conn, list_id)
    assert row is not None
    return _record_list(row)


async def get_record_list(db: Database, workspace_id: int, list_id: int) -> RecordList:
    async with db.read() as conn:
        row = await repository.get_record_list(conn, list_id)
    return _record_list(_owned(row, workspace_id, "record list", list_id))


async def count_records(db: Database, workspace_id: int, record_list: RecordList) -> int:
    """The list's records, deleted ones left out."""
    stats = await workflows_service.workflow_stats(db, workspace_id, str(record_list.workflow_id))
    return stats.total - stats.by_outcome.get(records_service.DELETED, 0)


@dataclass(frozen=True, slots=True)
class Added:
    """What became of one submitted record: the stored row, or the errors."""

    status: ResultStatus
    row: RowMapping | None
    errors: list[FieldError]


async def add_records(
    db: Database,
    workspace_id: int,
    record_list: RecordList,
    raws: Sequence[object],
    *,
    max_records: int,
    meta_max_bytes: int,
    create_list: bool,
    scan_nul: bool,
) -> list[Added]:
    """Talkdesk records into the list's workflow through intake, one result per record in order.

    A record whose Talkdesk shape is wrong goes to intake as nothing (intake reports it invalid
    and counts it) and keeps the errors of its shape."""
    translated = [to_intake(raw) for raw in raws]
    outcome = await ingest(
        db,
        workspace_id=workspace_id,
        workflow_ref=record_list.workflow_id,
        records=[None if errors else record for record, errors in translated],
        max_records=max_records,
        meta_max_bytes=meta_max_bytes,
        list_name=record_list.name,
        source="talkdesk",
        create_list=create_list,
        required_fields=required_fields(record_list.dedup),
        scan_nul=scan_nul,
    )
    rows = await records_service.get_records_by_id(
        db, workspace_id, [r.record_id for r in outcome.results if r.record_id is not None]
    )
    return [
        Added(
            result.status,
            None if result.record_id is None else rows.get(result.record_id),
            errors or result.errors,
        )
        for result, (_, errors) in zip(outcome.results, translated, strict=True)
    ]


def _in_list(row: RowMapping | None, record_list: RecordList, record_id: int) -> RowMapping:
    if (
        row is None
        or row["workflow_id"] != record_list.workflow_id
        or row["final_outcome"] == records_service.DELETED
    ):
        raise not_found("record", record_id)
    return row


async def get_record(
    db: Database, workspace_id: int, record_list: RecordList, record_id: int
) -> RowMapping:
    async with db.read() as conn:
        row = await records_repo.get_record(conn, workspace_id, record_id)
    return _in_list(row, record_list, record_id)


async def patch_record(
    db: Database,
    workspace_id: int,
    record_list: RecordList,
    record_id: int,
    operations: object,
    *,
    meta_max_bytes: int,
) -> RowMapping:
    """Apply a JSON Patch to the record as Talkdesk shows it; intake's rules check the result."""

    def edit(row: RowMapping) -> object:
        patched = _patched(document(_in_list(row, record_list, record_id)), operations)
        record, errors = to_intake(patched)
        if errors:
            raise invalid("the patched record is not valid", errors, code="invalid_record")
        return record

    try:
        return await records_service.update_record(
            db,
            workspace_id,
            record_id,
            edit,
            meta_max_bytes=meta_max_bytes,
            required_fields=required_fields(record_list.dedup),
        )
    except Unprocessable as exc:  # intake's verdict, answered like Talkdesk's other field errors
        raise invalid(exc.message, field_errors(exc.details), code=exc.code) from None


@dataclass(frozen=True, slots=True)
class RecordRef:
    """One record named for deletion: by id, phone (E.164) or external provider and id."""

    record_id: int | None = None
    phone: str | None = None
    external: tuple[str, str] | None = None


async def delete_records(
    db: Database, workspace_id: int, record_list: RecordList, refs: Sequence[RecordRef]
) -> tuple[list[RowMapping], list[bool]]:
    """Delete the named records; answers the records deleted and, per ref, whether it found any."""
    deleted = await records_service.delete_records(
        db,
        workspace_id,
        record_list.workflow_id,
        record_ids=[r.record_id for r in refs if r.record_id is not None],
        phones=[r.phone for r in refs if r.phone is not None],
        externals=[r.external for r in refs if r.external is not None],
    )
    ids = {row["id"] for row in deleted}
    phones = {row["phone"] for row in deleted}
    externals = {(row["external_provider"], row["external_id"]) for row in deleted}
    found = [r.record_id in ids or r.phone in phones or r.external in externals for r in refs]
    return deleted, found


# --- campaigns -------------------------------------------------------------------------------


def campaign_of(row: RowMapping) -> Campaign:
    return Campaign.model_validate({**row["settings"], "name": row["name"]})


async def _follow_status(
    db: Database, workspace_id: int, workflow_id: int, *, running: bool
) -> None:
    """RUNNING: the list's workflow is active; READY or PAUSED: it dials nothing."""
    workflow = await workflows_service.get_workflow(db, workspace_id, workflow_id)
    if running and workflow.status in (WorkflowStatus.DRAFT, WorkflowStatus.PAUSED):
        await workflows_service.apply_action(db, workspace_id, workflow_id, WorkflowAction.ACTIVATE)
    elif not running and workflow.status is WorkflowStatus.ACTIVE:
        await workflows_service.apply_action(db, workspace_id, workflow_id, WorkflowAction.PAUSE)


async def _follow_campaign(
    db: Database,
    workspace_id: int,
    record_list: RecordList,
    campaign: Campaign,
    status: CampaignStatus,
) -> None:
    await workflows_service.update_workflow(
        db,
        workspace_id,
        str(record_list.workflow_id),
        WorkflowUpdate(definition=definition_for(campaign, dedup=record_list.dedup)),
    )
    await _follow_status(
        db, workspace_id, record_list.workflow_id, running=status is CampaignStatus.RUNNING
    )


async def create_campaign(db: Database, workspace_id: int, campaign: Campaign) -> RowMapping:
    definition_for(campaign, dedup="none")  # refuse a strategy no workflow could follow
    campaign_id = next_id()
    now = utcnow()
    async with db.write() as conn:
        await repository.insert_campaign(
            conn,
            {
                "id": campaign_id,
                "workspace_id": workspace_id,
                "name": campaign.name,
                "status": CampaignStatus.READY.value,
                "settings": campaign.model_dump(mode="json", by_alias=True, exclude={"name"}),
                "created_at": now,
                "updated_at": now,
            },
        )
        row = await repository.get_campaign(conn, campaign_id)
    assert row is not None
    return row


async def get_campaign(db: Database, workspace_id: int, campaign_id: int) -> RowMapping:
    async with db.read() as conn:
        row = await repository.get_campaign(conn, campaign_id)
    return _owned(row, workspace_id, "campaign", campaign_id)


def campaign_document(row: RowMapping) -> dict[str, Any]:
    """The writable fields of a campaign as Talkdesk shows them (what JSON Patch edits)."""
    return {"name": row["name"], "status": row["status"], **row["settings"]}


async def patch_campaign(
    db: Database, workspace_id: int, campaign_id: int, operations: object
) -> RowMapping:
    """Apply a JSON Patch (status, name or configuration); the campaign's record lists follow."""
    row = await get_campaign(db, workspace_id, campaign_id)
    patched = _patched(campaign_document(row), operations)
    status = parse_status(patched.pop("status", None))
    try:
        campaign = Campaign.model_validate(patched)
    except ValidationError as exc:
        raise from_validation(exc) from None
    definition_for(campaign, dedup="none")
    async with db.read() as conn:
        lists = await repository.record_lists_of_campaign(conn, campaign_id)
    for record_list in lists:
        await _follow_campaign(db, workspace_id, _record_list(record_list), campaign, status)
    async with db.write() as conn:
        await repository.update_campaign(
            conn,
            campaign_id,
            {
                "name": campaign.name,
                "status": status.value,
                "settings": campaign.model_dump(mode="json", by_alias=True, exclude={"name"}),
                "updated_at": utcnow(),
            },
        )
        updated = await repository.get_campaign(conn, campaign_id)
    assert updated is not None
    return updated


async def attach_record_list(
    db: Database, workspace_id: int, campaign_id: int, list_id: int
) -> RecordList:
    """The list's workflow takes the campaign's configuration and status from now on."""
    row = await get_campaign(db, workspace_id, campaign_id)
    record_list = await get_record_list(db, workspace_id, list_id)
    if record_list.campaign_id not in (None, campaign_id):
        raise Conflict(
            f"record list {list_id} belongs to campaign {record_list.campaign_id}; "
            "detach it from that campaign first",
            code="record_list_attached",
        )
    await _follow_campaign(
        db, workspace_id, record_list, campaign_of(row), CampaignStatus(row["status"])
    )
    async with db.write() as conn:
        await repository.set_campaign(conn, list_id, campaign_id)
    return await get_record_list(db, workspace_id, list_id)


async def detach_record_list(
    db: Database, workspace_id: int, campaign_id: int, list_id: int
) -> None:
    """The list's workflow stops dialing; its records stay."""
    await get_campaign(db, workspace_id, campaign_id)
    record_list = await get_record_list(db, workspace_id, list_id)
    if record_list.campaign_id != campaign_id:
        raise NotFound(
            f"record list {list_id} is not attached to campaign {campaign_id}",
            code="record_list_not_attached",
        )
    await _follow_status(db, workspace_id, record_list.workflow_id, running=False)
    async with db.write() as conn:
        await repository.set_campaign(conn, list_id, None)


# --- do-not-call lists -----------------------------------------------------------------------


async def create_dnc_list(db: Database, workspace_id: int, name: str) -> RowMapping:
    dnc_list_id = next_id()
    async with db.write() as conn:
        await repository.insert_dnc_list(
            conn,
            {"id": dnc_list_id, "workspace_id": workspace_id, "name": name, "created_at": utcnow()},
        )
        row = await repository.get_dnc_list(conn, dnc_list_id)
    assert row is not None
    return row


async def get_dnc_list(db: Database, workspace_id: int, dnc_list_id: int) -> RowMapping:
    async with db.read() as conn:
        row = await repository.get_dnc_list(conn, dnc_list_id)
    return _owned(row, workspace_id, "do-not-call list", dnc_list_id)


@dataclass(frozen=True, slots=True)
class DncEntry:
    id: int
    dnc_list_id: int
    phone_number: str
    reason: str | None
    expiration_date: date | None
    created_at: datetime

    def document(self) -> dict[str, Any]:
        """The writable fields, as JSON Patch edits them."""
        return {
            "phone_number": self.phone_number,
            "reason": self.reason,
            "expiration_date": None
            if self.expiration_date is None
            else self.expiration_date.isoformat(),
        }


async def _zone(db: Database, workspace_id: int) -> ZoneInfo:
    """Expiration dates are days of the workspace's time zone."""
    async with db.read() as conn:
        workspace = await workspaces_repo.get_workspace(conn, workspace_id)
    assert workspace is not None
    return ZoneInfo(workspace["timezone"])


def _expires_at(expiration_date: date | None, zone: ZoneInfo) -> datetime | None:
    """The entry blocks through its expiration date: it ends when the next day starts."""
    if expiration_date is None:
        return None
    return datetime.combine(expiration_date + timedelta(days=1), time(), zone)


def _entry(row: RowMapping, zone: ZoneInfo) -> DncEntry:
    expires_at = row["expires_at"]
    return DncEntry(
        id=row["id"],
        dnc_list_id=row["dnc_list_id"],
        phone_number=row["phone"],
        reason=row["reason"],
        expiration_date=None
        if expires_at is None
        else (expires_at.astimezone(zone) - timedelta(microseconds=1)).date(),
        created_at=row["created_at"],
    )


async def _put_entry(db: Database, workspace_id: int, dnc_list_id: int, body: DncEntryIn) -> int:
    zone = await _zone(db, workspace_id)
    try:
        entry = await dnc_service.add_number(
            db,
            workspace_id,
            body.phone_number,
            reason=body.reason,
            expires_at=_expires_at(body.expiration_date, zone),
        )
    except ApiError as exc:
        if exc.code != "invalid_phone":
            raise
        raise invalid(
            exc.message, [FieldError(ErrorCode.INVALID_PHONE, "phone_number", exc.message)]
        ) from None
    async with db.write() as conn:
        await repository.add_to_dnc_list(conn, dnc_list_id, entry["id"])
    return int(entry["id"])


async def get_dnc_entry(
    db: Database, workspace_id: int, dnc_list_id: int, entry_id: int
) -> DncEntry:
    await get_dnc_list(db, workspace_id, dnc_list_id)
    zone = await _zone(db, workspace_id)
    async with db.read() as conn:
        row = await repository.dnc_list_entry(conn, dnc_list_id, entry_id)
    if row is None:
        raise not_found("entry", entry_id)
    return _entry(row, zone)


async def add_dnc_entry(
    db: Database, workspace_id: int, dnc_list_id: int, body: DncEntryIn
) -> DncEntry:
    """Put the number on the workspace's do-not-call list (a number already there takes the new
    reason and expiry) and name it in this list."""
    await get_dnc_list(db, workspace_id, dnc_list_id)
    entry_id = await _put_entry(db, workspace_id, dnc_list_id, body)
    return await get_dnc_entry(db, workspace_id, dnc_list_id, entry_id)


async def list_dnc_entries(
    db: Database, workspace_id: int, dnc_list_id: int, *, offset: int, limit: int
) -> tuple[list[DncEntry], int]:
    await get_dnc_list(db, workspace_id, dnc_list_id)
    zone = await _zone(db, workspace_id)
    async with db.read() as conn:
        rows, total = await repository.dnc_list_entries(
            conn, dnc_list_id, offset=offset, limit=limit
        )
    return [_entry(row, zone) for row in rows], total


async def patch_dnc_entry(
    db: Database, workspace_id: int, dnc_list_id: int, entry_id: int, operations: object
) -> DncEntry:
    """Apply a JSON Patch to the entry's reason or expiration date (its number stays)."""
    current = await get_dnc_entry(db, workspace_id, dnc_list_id, entry_id)
    patched = _patched(current.document(), operations)
    if patched.get("phone_number") != current.phone_number:
        raise Unprocessable(
            "an entry's phone_number cannot change; add an entry for the new number",
            code="phone_number_immutable",
            details=[
                FieldError(
                    ErrorCode.INVALID_VALUE, "phone_number", "the phone number cannot change"
                )
            ],
        )
    try:
        body = DncEntryIn.model_validate(patched)
    except ValidationError as exc:
        raise from_validation(exc) from None
    await _put_entry(db, workspace_id, dnc_list_id, body)
    return await get_dnc_entry(db, workspace_id, dnc_list_id, entry_id)
