"""Reading calls (attempts): by id, of a record, searched, and a number's recordings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.calls import repository
from dialflow.calls.repository import CallFilter
from dialflow.calls.schemas import CallSort
from dialflow.db.engine import Database
from dialflow.domain.errors import FieldErrors
from dialflow.domain.phones import normalize_phone
from dialflow.errors import BadRequest, NotFound
from dialflow.pagination import Page, decode_cursor, encode_cursor
from dialflow.workflows.service import require_workflow

DEFAULT_SORT: CallSort = "-created_at"


@dataclass(frozen=True, slots=True)
class CallSearch:
    """What a client searches calls by. ``phone`` is as given (normalised here), ``workflow``
    an id or key; ``record_id`` is already parsed."""

    phone: str | None = None
    case_id: str | None = None
    external_id: str | None = None
    workflow: str | None = None
    record_id: int | None = None
    channel: str | None = None
    status: str | None = None
    end_reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _phone(value: str, region: str = "US") -> str:
    try:
        return normalize_phone(value, region=region)
    except FieldErrors as exc:
        raise BadRequest(str(exc), code="invalid_phone") from None


def _region(workflow: RowMapping | None) -> str:
    """The workflow's region for numbers without a country code, as intake parses them."""
    definition = workflow["definition"] if workflow is not None else None
    region = definition.get("default_region") if isinstance(definition, dict) else None
    return region if isinstance(region, str) and region else "US"


async def _page(
    conn: AsyncConnection,
    workspace_id: int,
    where: CallFilter,
    *,
    sort: CallSort,
    cursor: str | None,
    limit: int,
) -> Page[RowMapping]:
    after = None
    after_id = decode_cursor(cursor)
    if after_id is not None:
        after = await repository.position(conn, workspace_id, after_id)
        if after is None:
            raise BadRequest(
                "the cursor is not valid: pass back the next_cursor of a previous page",
                code="invalid_cursor",
            )
    rows = await repository.find_calls(
        conn,
        workspace_id,
        where,
        newest_first=sort == "-created_at",
        after=after,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1]["id"]) if more else None)


async def get_call(db: Database, workspace_id: int, call_id: int) -> RowMapping:
    async with db.read() as conn:
        row = await repository.get_call(conn, workspace_id, call_id)
    if row is None:
        raise NotFound(f"call {call_id} not found", code="call_not_found")
    return row


async def calls_of_record(
    db: Database,
    workspace_id: int,
    record_id: int,
    *,
    sort: CallSort = DEFAULT_SORT,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[RowMapping]:
    async with db.read() as conn:
        if not await repository.record_exists(conn, workspace_id, record_id):
            raise NotFound(f"record {record_id} not found", code="record_not_found")
        return await _page(
            conn,
            workspace_id,
            CallFilter(record_id=record_id),
            sort=sort,
            cursor=cursor,
            limit=limit,
        )


async def search_calls(
    db: Database,
    workspace_id: int,
    search: CallSearch,
    *,
    sort: CallSort = DEFAULT_SORT,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[RowMapping]:
    if search.since is not None and search.until is not None and search.since >= search.until:
        raise BadRequest('"since" must be before "until"', code="invalid_time_range")
    async with db.read() as conn:
        workflow = None
        if search.workflow is not None:
            workflow = await require_workflow(conn, workspace_id, search.workflow)
        where = CallFilter(
            workflow_id=None if workflow is None else int(workflow["id"]),
            record_id=search.record_id,
            to_address=None if search.phone is None else _phone(search.phone, _region(workflow)),
            case_id=search.case_id,
            external_id=search.external_id,
            channel=search.channel,
            status=search.status,
            end_reason=search.end_reason,
            since=search.since,
            until=search.until,
        )
        return await _page(conn, workspace_id, where, sort=sort, cursor=cursor, limit=limit)


async def recordings(
    db: Database,
    workspace_id: int,
    workflow_ref: str,
    phone: str,
    *,
    sort: CallSort = DEFAULT_SORT,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[RowMapping]:
    """The calls to one number in one workflow that have a recording."""
    async with db.read() as conn:
        workflow = await require_workflow(conn, workspace_id, workflow_ref)
        where = CallFilter(
            workflow_id=int(workflow["id"]),
            to_address=_phone(phone, _region(workflow)),
            with_recording=True,
        )
        return await _page(conn, workspace_id, where, sort=sort, cursor=cursor, limit=limit)
