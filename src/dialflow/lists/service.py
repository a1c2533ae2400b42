"""List operations: read with counts, list a workflow's lists, cancel."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import RowMapping

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.errors import Conflict, NotFound
from dialflow.lists import repository
from dialflow.pagination import Page, decode_cursor, rows_page
from dialflow.records import repository as records_repo
from dialflow.records.service import log_entries
from dialflow.records.status import LIVE_STATUSES, RecordStatus
from dialflow.webhooks.record_events import emit_finished
from dialflow.workflows.service import OPEN_OUTCOME, require_workflow

LIST_CANCELLED = "list_cancelled"


async def get_list(db: Database, workspace_id: int, list_id: int) -> RowMapping:
    async with db.read() as conn:
        row = await repository.get_list(conn, workspace_id, list_id)
    if row is None:
        raise NotFound(f"list {list_id} not found", code="list_not_found")
    return row


async def list_lists(
    db: Database, workspace_id: int, workflow_ref: str, *, cursor: str | None, limit: int
) -> Page[RowMapping]:
    async with db.read() as conn:
        workflow = await require_workflow(conn, workspace_id, workflow_ref)
        rows = await repository.list_lists(
            conn, workflow["id"], after_id=decode_cursor(cursor), limit=limit
        )
    return rows_page(rows, limit)


async def cancel_list(db: Database, workspace_id: int, list_id: int) -> tuple[RowMapping, int]:
    """Cancel every live record of the list; answers the list and how many were cancelled."""
    now = utcnow()
    async with db.write() as conn:
        row = await repository.get_list(conn, workspace_id, list_id)
        if row is None:
            raise NotFound(f"list {list_id} not found", code="list_not_found")
        if row["status"] == "cancelled":
            raise Conflict(f"list {list_id} is already cancelled", code="list_cancelled")
        live = await records_repo.live_ids(conn, "list_id", list_id)
        cancelled = await records_repo.set_status(
            conn,
            live,
            status=RecordStatus.CANCELLED,
            now=now,
            final_outcome=LIST_CANCELLED,
            only_live=True,
        )
        await records_repo.insert_logs(
            conn, log_entries(live, now, "cancelled", f"list {list_id} was cancelled")
        )
        await repository.set_status(conn, list_id, status="cancelled", cancelled_at=now)
        await emit_finished(conn, workspace_id, live, now)
        updated = await repository.get_list(conn, workspace_id, list_id)
    assert updated is not None
    return updated, cancelled


@dataclass(frozen=True, slots=True)
class ListStatus:
    list: RowMapping
    total: int
    by_status: dict[str, int]
    by_outcome: dict[str, int]

    @property
    def completed(self) -> bool:
        """Every record of the list is terminal (true for a list with no records)."""
        return all(self.by_status.get(s, 0) == 0 for s in LIVE_STATUSES)


async def list_status(db: Database, workspace_id: int, list_id: int) -> ListStatus:
    """The list's records counted by status and by final outcome (``open`` while unfinished),
    from one snapshot, so each breakdown adds up to ``total``."""
    async with db.read() as conn:
        row = await repository.get_list(conn, workspace_id, list_id)
        if row is None:
            raise NotFound(f"list {list_id} not found", code="list_not_found")
        counts = await repository.count_records_by_status_and_outcome(conn, workspace_id, list_id)
    by_status = {status.value: 0 for status in RecordStatus}
    by_outcome: dict[str, int] = {}
    for status, outcome, count in counts:
        by_status[status] = by_status.get(status, 0) + count
        key = outcome or OPEN_OUTCOME
        by_outcome[key] = by_outcome.get(key, 0) + count
    return ListStatus(row, sum(by_status.values()), by_status, by_outcome)
