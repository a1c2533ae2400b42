"""The claim kit under concurrency: several processes, forced kills, nothing lost or done twice."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import time
from datetime import timedelta

from sqlalchemy import func, select

from dialflow.clock import utcnow
from dialflow.db import claims
from dialflow.db.engine import Database
from dialflow.db.tables import record_logs, records
from dialflow.ids import next_id
from dialflow.intake.service import ingest
from dialflow.workflows.definition import WorkflowCreate
from dialflow.workflows.service import create_workflow
from dialflow.workspaces.service import create_workspace
from tests.intake.test_bulk import phone

RECORDS = claims.Claimable(
    table=records,
    ready="pending",
    claimed="in_progress",
    due=records.c.next_due_at,
    order_by=(records.c.dispatch_rank, records.c.next_due_at, records.c.id),
)
LEASE = timedelta(seconds=1)


async def _seed(db: Database, count: int, **record: object) -> int:
    workspace = await create_workspace(db, "claims")
    workflow = await create_workflow(
        db, workspace.workspace_id, WorkflowCreate(name="w", status="active")
    )
    await ingest(
        db,
        workspace_id=workspace.workspace_id,
        workflow_ref=workflow.id,
        records=[{"phone": phone(n), **record} for n in range(count)],
        max_records=100_000,
    )
    return workflow.id


async def _complete(db: Database, ids: list[int], owner: str) -> None:
    """Finish work fenced by the lease; the audit row is written only if the fence held."""
    async with db.write() as conn:
        done = await claims.fenced_update(
            conn,
            RECORDS,
            ids,
            owner=owner,
            values={"status": "completed", "lease_owner": None, "final_outcome": owner},
        )
        if done:
            now = utcnow()
            await conn.execute(
                record_logs.insert(),
                [
                    {"id": next_id(), "record_id": i, "at": now, "kind": "done", "message": owner}
                    for i in done
                ],
            )


def _worker(url: str, workflow_id: int, name: str, seed: int) -> None:
    """Claim, work a little, complete; also take over expired leases of dead workers."""

    async def run() -> None:
        db = Database(url)
        rng = random.Random(seed)
        owner = f"{name}-{os.getpid()}"
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 3:
            async with db.write() as conn:
                rows = await claims.claim(
                    conn,
                    RECORDS,
                    owner=owner,
                    now=utcnow(),
                    lease=LEASE,
                    limit=rng.randint(1, 20),
                    where=[records.c.workflow_id == workflow_id],
                )
                rows += await claims.take_over_expired(
                    conn, RECORDS, owner=owner, now=utcnow(), lease=LEASE, limit=20
                )
            if not rows:
                await asyncio.sleep(0.05)
                continue
            idle_since = time.monotonic()
            await asyncio.sleep(rng.random() * 0.05)
            await _complete(db, [r["id"] for r in rows], owner)
        await db.dispose()

    asyncio.run(run())


async def test_claim_order_hot_first_then_priority(db: Database) -> None:
    workspace = await create_workspace(db, "order")
    workflow = await create_workflow(
        db, workspace.workspace_id, WorkflowCreate(name="w", status="active")
    )
    await ingest(
        db,
        workspace_id=workspace.workspace_id,
        workflow_ref=workflow.id,
        records=[
            {"phone": phone(1), "priority": 1},
            {"phone": phone(2), "priority": 10},
            {"phone": phone(3)},
            {"phone": phone(4), "priority": 5},
        ],
        max_records=10,
    )
    async with db.write() as conn:
        rows = await claims.claim(
            conn,
            RECORDS,
            owner="t",
            now=utcnow(),
            lease=LEASE,
            limit=10,
            where=[records.c.workflow_id == workflow.id],
        )
    assert [r["phone"][-4:] for r in rows] == [phone(n)[-4:] for n in (3, 2, 4, 1)]
    assert {r["status"] for r in rows} == {"in_progress"}
    async with db.write() as conn:
        again = await claims.claim(
            conn,
            RECORDS,
            owner="u",
            now=utcnow(),
            lease=LEASE,
            limit=10,
            where=[records.c.workflow_id == workflow.id],
        )
        assert again == []
        stolen = await claims.fenced_update(
            conn, RECORDS, [r["id"] for r in rows], owner="u", values={"status": "completed"}
        )
        assert stolen == []
        released = await claims.release(conn, RECORDS, [rows[0]["id"]], owner="t")
        assert released == [rows[0]["id"]]


async def test_processes_with_forced_kills_lose_nothing_and_do_nothing_twice(
    db: Database, database_url: str
) -> None:
    total = 600 if db.is_sqlite else 1500
    workflow_id = await _seed(db, total)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_worker, args=(database_url, workflow_id, f"w{i}", i))
        for i in range(3)
    ]
    for worker in workers:
        worker.start()
    rng = random.Random(7)
    kills = 0
    deadline = time.monotonic() + 90
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        await asyncio.sleep(rng.uniform(0.3, 0.8))
        alive = [w for w in workers if w.is_alive()]
        if alive and kills < 4:
            victim = rng.choice(alive)
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            kills += 1
            replacement = context.Process(
                target=_worker, args=(database_url, workflow_id, f"r{kills}", 100 + kills)
            )
            replacement.start()
            workers.append(replacement)
    for worker in workers:
        worker.join(timeout=60)
    assert kills >= 1
    async with db.read() as conn:
        result = await conn.execute(
            select(records.c.status, func.count())
            .where(records.c.workflow_id == workflow_id)
            .group_by(records.c.status)
        )
        statuses = dict(result.all())
        per_record = (
            await conn.execute(
                select(record_logs.c.record_id, func.count())
                .join(records, records.c.id == record_logs.c.record_id)
                .where(records.c.workflow_id == workflow_id, record_logs.c.kind == "done")
                .group_by(record_logs.c.record_id)
            )
        ).all()
    assert statuses == {"completed": total}, statuses
    assert len(per_record) == total
    assert {count for _, count in per_record} == {1}
