"""Chunked writes: a failing chunk leaves nothing behind; concurrent writers never duplicate."""

from __future__ import annotations

import asyncio
import multiprocessing
import random

import pytest
from sqlalchemy import func, select, text

from dialflow.db.engine import Database
from dialflow.db.tables import lists, records
from dialflow.intake.service import ResultStatus, ingest
from dialflow.workflows.definition import WorkflowCreate
from dialflow.workflows.service import create_workflow
from dialflow.workspaces.service import create_workspace
from tests.conftest import FailInserts
from tests.intake.test_bulk import phone

POISON = "Poison"


@pytest.fixture
async def poisoned(fail_inserts: FailInserts) -> None:
    """A real database trigger that makes inserting a record named Poison fail."""
    await fail_inserts("records", f"NEW.first_name = '{POISON}'")


@pytest.mark.usefixtures("poisoned")
async def test_failed_chunk_leaves_no_rows_and_reports_its_records(db: Database) -> None:
    workspace = await create_workspace(db, "chunks")
    workflow = await create_workflow(
        db, workspace.workspace_id, WorkflowCreate(name="w", status="active")
    )
    submitted: list[object] = [{"phone": phone(i), "first_name": "Ada"} for i in range(30)]
    submitted[15] = {"phone": phone(15), "first_name": POISON}  # in the second chunk of 10
    outcome = await ingest(
        db,
        workspace_id=workspace.workspace_id,
        workflow_ref=workflow.id,
        records=submitted,
        max_records=100,
        chunk_size=10,
    )
    statuses = [r.status for r in outcome.results]
    assert statuses[:10] == [ResultStatus.ACCEPTED] * 10
    assert statuses[10:20] == [ResultStatus.FAILED] * 10
    assert statuses[20:] == [ResultStatus.ACCEPTED] * 10
    assert all(r.errors[0].code == "write_failed" for r in outcome.results[10:20])
    assert outcome.http_status == 207
    async with db.read() as conn:
        stored = set(
            (
                await conn.execute(
                    select(records.c.phone).where(records.c.workflow_id == workflow.id)
                )
            )
            .scalars()
            .all()
        )
        list_row = (
            (await conn.execute(select(lists).where(lists.c.id == outcome.list_id)))
            .mappings()
            .one()
        )
    assert stored == {f"+1{phone(i)}" for i in [*range(10), *range(20, 30)]}
    assert list_row["accepted"] == 20
    assert list_row["total"] == 30


def _ingest_in_process(url: str, workspace_id: int, workflow_id: int, seed: int) -> list[str]:
    """One client process sending the shared phones in its own order, in several requests."""

    async def run() -> list[str]:
        db = Database(url)
        try:
            numbers = list(range(300))
            random.Random(seed).shuffle(numbers)
            statuses: list[str] = []
            for start in range(0, 300, 100):
                outcome = await ingest(
                    db,
                    workspace_id=workspace_id,
                    workflow_ref=workflow_id,
                    records=[{"phone": phone(n)} for n in numbers[start : start + 100]],
                    max_records=1000,
                    chunk_size=25,
                )
                statuses += [r.status.value for r in outcome.results]
            return statuses
        finally:
            await db.dispose()

    return asyncio.run(run())


async def test_concurrent_processes_adding_the_same_phones_keep_one_record_each(
    db: Database, database_url: str
) -> None:
    workspace = await create_workspace(db, "race")
    workflow = await create_workflow(
        db, workspace.workspace_id, WorkflowCreate(name="w", status="active")
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        runs = [
            pool.apply_async(
                _ingest_in_process, (database_url, workspace.workspace_id, workflow.id, seed)
            )
            for seed in range(4)
        ]
        all_statuses = [status for run in runs for status in run.get(timeout=120)]
    assert len(all_statuses) == 4 * 300
    assert set(all_statuses) <= {"accepted", "updated"}
    assert all_statuses.count("accepted") == 300  # each phone created exactly once
    async with db.read() as conn:
        count, distinct = (
            await conn.execute(
                select(func.count(), func.count(records.c.phone.distinct())).where(
                    records.c.workflow_id == workflow.id
                )
            )
        ).one()
    assert (count, distinct) == (300, 300)


async def test_concurrent_requests_in_one_process(db: Database) -> None:
    workspace = await create_workspace(db, "race-async")
    workflow = await create_workflow(
        db, workspace.workspace_id, WorkflowCreate(name="w", status="active")
    )

    async def send(seed: int) -> list[str]:
        numbers = list(range(200))
        random.Random(seed).shuffle(numbers)
        outcome = await ingest(
            db,
            workspace_id=workspace.workspace_id,
            workflow_ref=workflow.id,
            records=[{"phone": phone(n)} for n in numbers],
            max_records=1000,
            chunk_size=20,
        )
        return [r.status.value for r in outcome.results]

    statuses = [s for run in await asyncio.gather(*(send(seed) for seed in range(5))) for s in run]
    assert statuses.count("accepted") == 200
    assert statuses.count("updated") == 800
    async with db.read() as conn:
        query = text("SELECT count(*) FROM records WHERE workflow_id = :w")
        assert (await conn.execute(query, {"w": workflow.id})).scalar_one() == 200
