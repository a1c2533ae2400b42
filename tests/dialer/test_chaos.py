"""Chaos: worker processes killed with SIGKILL at random moments while they dial.

Every record must reach a terminal state, none may be lost, and no attempt may be dialed twice.
Each worker logs every provider dial to a shared append-only file, one line per call.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from dialflow.db import migrate
from dialflow.db.engine import Database
from dialflow.db.tables import attempts, records
from dialflow.dialer.engine import Dialer, DialerConfig
from dialflow.domain.outcomes import EndReason
from dialflow.intake.service import ingest
from dialflow.providers.base import CallRequest, CallStarted, ProviderRegistry
from dialflow.providers.simulator import Simulator, SimulatorConfig
from dialflow.workflows.definition import WorkflowCreate, WorkflowDefinition
from dialflow.workflows.service import create_workflow
from dialflow.workspaces.service import create_workspace
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.intake.test_bulk import phone


class LoggingSimulator(Simulator):
    """The simulator, writing one line per dial to a file shared by every process."""

    def __init__(self, config: SimulatorConfig, dial_log: Path) -> None:
        super().__init__(config)
        self._dial_log = dial_log

    async def start_call(self, request: CallRequest) -> CallStarted:
        started = await super().start_call(request)
        with self._dial_log.open("a") as log:  # O_APPEND: whole lines, no interleaving
            log.write(f"{request.attempt_id}\n")
        return started


def _worker_main(url: str, dial_log: str, seed: int) -> None:
    async def run() -> None:
        db = Database(url)
        registry = ProviderRegistry()
        registry.register(
            LoggingSimulator(
                SimulatorConfig(
                    seed=seed,
                    time_scale=0.01,
                    min_duration_seconds=1,
                    max_duration_seconds=8,
                ),
                Path(dial_log),
            )
        )
        dialer = Dialer(
            db,
            registry,
            DialerConfig(
                batch_size=100,
                max_in_flight=300,
                lease=timedelta(seconds=2),
                poll_seconds=0.05,
                reap_seconds=0.5,
            ),
        )
        await dialer.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await dialer.stop(grace_seconds=2)
        await db.dispose()

    asyncio.run(run())


async def _chaos(db: Database, url: str, tmp_path: Path, *, total: int, processes: int) -> None:
    workspace = await create_workspace(db, "chaos")
    definition = WorkflowDefinition.model_validate(
        {
            "calling_hours": {
                "start": "00:00",
                "end": "23:59",
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "allow_outside_legal_hours": True,
            },
            # One attempt per record: any retry would finish it with max_attempts, so a second
            # attempt for a record can only mean a double dial.
            "retry": {"max_attempts": 1, "daily_cap_per_phone": 50},
        }
    )
    workflow = await create_workflow(
        db,
        workspace.workspace_id,
        WorkflowCreate(name="chaos", status="active", definition=definition),
    )
    for start in range(0, total, 5000):
        await ingest(
            db,
            workspace_id=workspace.workspace_id,
            workflow_ref=workflow.id,
            records=[{"phone": phone(n)} for n in range(start, min(total, start + 5000))],
            max_records=10_000,
        )
    dial_log = tmp_path / "dials.log"
    dial_log.touch()
    context = multiprocessing.get_context("spawn")

    def spawn(seed: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker_main, args=(url, str(dial_log), seed))
        process.start()
        return process

    workers = [spawn(i) for i in range(processes)]
    rng = random.Random(11)
    kills = 0
    deadline = time.monotonic() + 600
    done = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        async with db.read() as conn:
            done = (
                await conn.execute(
                    select(func.count()).where(
                        records.c.workflow_id == workflow.id, records.c.status == "completed"
                    )
                )
            ).scalar_one()
        if done == total:
            break
        if kills < 8:
            victim = rng.choice([w for w in workers if w.is_alive()])
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            victim.join()
            kills += 1
            workers.remove(victim)
            workers.append(spawn(100 + kills))
    for worker in workers:
        if worker.pid is not None and worker.is_alive():
            os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=30)
    assert done == total, f"only {done} of {total} records finished"
    assert kills >= 2

    async with db.read() as conn:
        per_record = (
            await conn.execute(
                select(attempts.c.record_id, func.count())
                .where(attempts.c.workflow_id == workflow.id)
                .group_by(attempts.c.record_id)
            )
        ).all()
        live = (
            await conn.execute(
                select(func.count()).where(
                    attempts.c.workflow_id == workflow.id,
                    attempts.c.status.in_(("dialing", "in_progress")),
                )
            )
        ).scalar_one()
        attempt_ids = set(
            (
                await conn.execute(
                    select(attempts.c.id).where(attempts.c.workflow_id == workflow.id)
                )
            ).scalars()
        )
        with_call_id = set(
            (
                await conn.execute(
                    select(attempts.c.id).where(
                        attempts.c.workflow_id == workflow.id,
                        attempts.c.provider_call_id.is_not(None),
                    )
                )
            ).scalars()
        )
        outcomes = dict(
            (
                await conn.execute(
                    select(attempts.c.end_reason, func.count())
                    .where(attempts.c.workflow_id == workflow.id)
                    .group_by(attempts.c.end_reason)
                )
            ).all()
        )
    dials = Counter(int(line) for line in dial_log.read_text().split())
    assert live == 0, "no attempt may stay in progress"
    assert len(per_record) == total, "every record was attempted"
    assert {count for _, count in per_record} == {1}, "no record got a second attempt"
    assert max(dials.values()) == 1, "no attempt was dialed twice"
    assert set(dials) <= attempt_ids
    assert with_call_id <= set(dials)
    assert sum(outcomes.values()) == total
    assert EndReason.TIMEOUT.value not in outcomes or outcomes[EndReason.TIMEOUT.value] < total


async def test_chaos_on_postgres_three_workers(postgres_server: str, tmp_path: Path) -> None:
    url = create_postgres_database(postgres_server)
    try:
        migrate.upgrade(url)
        db = Database(url)
        try:
            await _chaos(db, url, tmp_path, total=20_000, processes=3)
        finally:
            await db.dispose()
    finally:
        drop_postgres_database(postgres_server, url)


async def test_chaos_on_sqlite_one_worker(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/chaos.db"
    migrate.upgrade(url)
    db = Database(url)
    try:
        await _chaos(db, url, tmp_path, total=20_000, processes=1)
    finally:
        await db.dispose()
