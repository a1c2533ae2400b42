"""Chunked writes: a failing chunk leaves nothing behind; concurrent writers never duplicate."""

from __future__ import annotations

import asyncio
import multiprocessing
import random

import pytest
from sqlalchemy import func, select, text

from dialflow.db.engine import WAKEUP_CHANNEL, Database, Wakeups
from dialflow.db.tables import lists, records
from dialflow.intake.service import IntakeOutcome, ResultStatus, ingest
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


async def _active_workflow(db: Database, name: str) -> tuple[int, int]:
    """A new workspace and an active workflow in it: (workspace id, workflow id)."""
    workspace = await create_workspace(db, name)
    workflow = await create_workflow(
        db, workspace.workspace_id, WorkflowCreate(name="w", status="active")
    )
    return workspace.workspace_id, workflow.id


def _shuffled(count: int, seed: int) -> list[int]:
    numbers = list(range(count))
    random.Random(seed).shuffle(numbers)
    return numbers


def _ingest_in_process(url: str, workspace_id: int, workflow_id: int, seed: int) -> list[str]:
    """One client process sending the shared phones in its own order, in several requests."""

    async def run() -> list[str]:
        db = Database(url)
        try:
            numbers = _shuffled(300, seed)
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
    workspace_id, workflow_id = await _active_workflow(db, "race")
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        runs = [
            pool.apply_async(_ingest_in_process, (database_url, workspace_id, workflow_id, seed))
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
                    records.c.workflow_id == workflow_id
                )
            )
        ).one()
    assert (count, distinct) == (300, 300)


async def _ingest_shuffled(
    db: Database, workspace_id: int, workflow_id: int, count: int, seed: int, *, chunk_size: int
) -> IntakeOutcome:
    """One request of ``count`` phones in the order ``_shuffled(count, seed)`` gives."""
    return await ingest(
        db,
        workspace_id=workspace_id,
        workflow_ref=workflow_id,
        records=[{"phone": phone(n)} for n in _shuffled(count, seed)],
        max_records=1000,
        chunk_size=chunk_size,
    )


async def test_concurrent_requests_in_one_process(db: Database) -> None:
    workspace_id, workflow_id = await _active_workflow(db, "race-async")

    async def send(seed: int) -> list[str]:
        outcome = await _ingest_shuffled(db, workspace_id, workflow_id, 200, seed, chunk_size=20)
        return [r.status.value for r in outcome.results]

    statuses = [s for run in await asyncio.gather(*(send(seed) for seed in range(5))) for s in run]
    assert statuses.count("accepted") == 200
    assert statuses.count("updated") == 800
    async with db.read() as conn:
        query = text("SELECT count(*) FROM records WHERE workflow_id = :w")
        assert (await conn.execute(query, {"w": workflow_id})).scalar_one() == 200


async def _list_row(db: Database, list_id: int | None) -> dict[str, object]:
    async with db.read() as conn:
        rows = (await conn.execute(select(lists).where(lists.c.id == list_id))).mappings().all()
    assert len(rows) == 1
    return dict(rows[0])


@pytest.mark.usefixtures("poisoned")
@pytest.mark.parametrize("poisoned_at", [[15], [0], [0, 10, 20]])
async def test_a_failed_chunk_leaves_no_rows_and_the_list_stands(
    db: Database, poisoned_at: list[int]
) -> None:
    """A chunk that fails is rolled back whole and its records are reported failed; the other
    chunks are stored. The list row goes in with the first chunk; when that chunk is the one
    that fails, the list is written alone and the later chunks add their counts to it."""
    workspace_id, workflow_id = await _active_workflow(db, "chunks")
    submitted: list[object] = [{"phone": phone(i), "first_name": "Ada"} for i in range(30)]
    for index in poisoned_at:
        submitted[index] = {"phone": phone(index), "first_name": POISON}
    submitted.append({"phone": "12345"})  # invalid, counted on the list from the start
    outcome = await ingest(
        db,
        workspace_id=workspace_id,
        workflow_ref=workflow_id,
        records=submitted,
        max_records=100,
        chunk_size=10,
    )
    failed = {i for at in poisoned_at for i in range(at - at % 10, at - at % 10 + 10)}
    for result in outcome.results[:30]:
        if result.index in failed:
            assert result.status is ResultStatus.FAILED, result
            assert result.errors[0].code == "write_failed"
        else:
            assert result.status is ResultStatus.ACCEPTED, result
    assert outcome.results[30].status is ResultStatus.INVALID
    assert outcome.http_status == (422 if len(failed) == 30 else 207)
    async with db.read() as conn:
        stored = set(
            (
                await conn.execute(
                    select(records.c.phone).where(records.c.workflow_id == workflow_id)
                )
            )
            .scalars()
            .all()
        )
    assert stored == {f"+1{phone(i)}" for i in range(30) if i not in failed}
    list_row = await _list_row(db, outcome.list_id)
    assert (list_row["total"], list_row["accepted"], list_row["invalid"]) == (
        31,
        30 - len(failed),
        1,
    )
    assert list_row["workflow_id"] == workflow_id


async def test_record_ids_follow_the_request_order_whatever_the_keys(db: Database) -> None:
    """Rows are written in dedup-key order, but ids are drawn in the order records were sent,
    so a workflow's records list in that order, across chunks too."""
    workspace_id, workflow_id = await _active_workflow(db, "id-order")
    outcome = await _ingest_shuffled(db, workspace_id, workflow_id, 25, 7, chunk_size=10)
    assert [r.status for r in outcome.results] == [ResultStatus.ACCEPTED] * 25
    record_ids = [r.record_id for r in outcome.results]
    assert record_ids == sorted(record_ids)  # type: ignore[type-var]
    async with db.read() as conn:
        stored = (
            (
                await conn.execute(
                    select(records.c.phone)
                    .where(records.c.workflow_id == workflow_id)
                    .order_by(records.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert stored == ["+1" + phone(n) for n in _shuffled(25, 7)]


async def test_a_request_with_no_valid_record_still_gets_its_list(db: Database) -> None:
    workspace_id, workflow_id = await _active_workflow(db, "list-no-chunk")
    outcome = await ingest(
        db,
        workspace_id=workspace_id,
        workflow_ref=workflow_id,
        records=[{"phone": "12345"}, {"phone": phone(1), "first_name": "ADA"}],
        max_records=100,
        list_name="nothing good",
    )
    assert outcome.http_status == 422
    list_row = await _list_row(db, outcome.list_id)
    assert (list_row["total"], list_row["invalid"], list_row["accepted"]) == (2, 2, 0)
    assert list_row["name"] == "nothing good"


async def test_stored_records_wake_the_dialer_and_failed_ones_do_not(
    db: Database, fail_inserts: FailInserts
) -> None:
    workspace_id, workflow_id = await _active_workflow(db, "wake")
    wakeups = Wakeups(db, WAKEUP_CHANNEL)
    await wakeups.start()
    try:
        await wakeups.wait(0.05)  # whatever earlier tests left set
        await fail_inserts("records", f"NEW.first_name = '{POISON}'")
        failed = await ingest(
            db,
            workspace_id=workspace_id,
            workflow_ref=workflow_id,
            records=[{"phone": phone(40), "first_name": POISON}],
            max_records=10,
        )
        assert failed.results[0].status is ResultStatus.FAILED
        assert not await wakeups.wait(0.3)
        stored = await ingest(
            db,
            workspace_id=workspace_id,
            workflow_ref=workflow_id,
            records=[{"phone": phone(41)}],
            max_records=10,
        )
        assert stored.results[0].status is ResultStatus.ACCEPTED
        assert await wakeups.wait(5)
    finally:
        await wakeups.stop()
