"""The engine end to end on both databases, with the simulator and an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.db.tables import attempts, records
from dialflow.dialer.engine import Dialer, DialerConfig
from dialflow.domain.outcomes import EndReason
from dialflow.providers import default_registry
from dialflow.providers.simulator import Simulator, SimulatorConfig
from tests.conftest import Tenant, make_workflow
from tests.intake.test_bulk import phone

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ALWAYS_OPEN = {
    "start": "00:00",
    "end": "23:59",
    "weekdays": EVERY_DAY,
    "allow_outside_legal_hours": True,
}


class Clock:
    """A settable clock that starts at the real now (records are due from intake time)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def always(reason: str, *, time_scale: float = 0.0, **durations: int) -> Simulator:
    return Simulator(
        SimulatorConfig(
            seed=1,
            time_scale=time_scale,
            outcome_weights={EndReason(reason): 1.0},
            **durations,  # type: ignore[arg-type]
        )
    )


DialerFactory = Callable[..., Dialer]


@pytest.fixture
async def make_dialer(db: Database, tenant: Tenant) -> AsyncIterator[DialerFactory]:
    """Dialers serving only this test's workspace (other tests' records stay untouched)."""
    made: list[Dialer] = []

    def make(sim: Simulator, clock: Callable[[], datetime] = utcnow, **config: Any) -> Dialer:
        config.setdefault("workspaces", frozenset({tenant.workspace_id}))
        dialer = Dialer(db, default_registry(sim), DialerConfig(**config), clock=clock)
        made.append(dialer)
        return dialer

    yield make
    for dialer in made:
        await dialer.stop(grace_seconds=5)


async def drain(dialer: Dialer, rounds: int = 100) -> None:
    """Scheduling passes until nothing more starts and nothing runs."""
    for _ in range(rounds):
        started = await dialer.run_once()
        await dialer.settle()
        if started == 0:
            return
    raise AssertionError("the dialer did not settle")


async def statuses(db: Database, workflow_id: object) -> dict[str, int]:
    async with db.read() as conn:
        result = await conn.execute(
            select(records.c.status, func.count())
            .where(records.c.workflow_id == workflow_id)
            .group_by(records.c.status)
        )
        return dict(result.all())


async def retrying_workflow(
    client: httpx.AsyncClient, *, max_attempts: int = 3, period_minutes: int = 30
) -> dict[str, Any]:
    """An always-open workflow that calls an unanswered record again ``period_minutes`` later,
    up to ``max_attempts`` calls."""
    return await make_workflow(
        client,
        calling_hours=ALWAYS_OPEN,
        retry={
            "max_attempts": max_attempts,
            "outcomes": {"no_answer": {"action": "RETRY", "period_minutes": period_minutes}},
        },
    )


async def workflow_attempts(db: Database, workflow_id: object, *columns: Any) -> list[Any]:
    """These columns of every attempt of the workflow."""
    async with db.read() as conn:
        result = await conn.execute(select(*columns).where(attempts.c.workflow_id == workflow_id))
        return list(result.all())


async def add(tenant: Tenant, workflow: dict[str, Any], *numbers: int, **fields: Any) -> list[str]:
    response = await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records/bulk",
        json={"records": [{"phone": phone(n), "first_name": "Ada", **fields} for n in numbers]},
    )
    assert response.status_code == 201, response.text
    return [r["record_id"] for r in response.json()["results"]]


async def test_records_are_dialed_once_and_finish_with_their_outcome(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await make_workflow(
        tenant.client,
        calling_hours=ALWAYS_OPEN,
        variables=[{"name": "car"}],
        steps=[
            {"id": "call-1", "type": "call", "script": "Hi {{ first_name }}, about your {{ car }}"}
        ],
    )
    ids = await add(tenant, workflow, *range(40), placeholders={"car": "corolla"})
    dialer = make_dialer(always("call_transferred"))
    await drain(dialer)
    assert await statuses(db, workflow["id"]) == {"completed": 40}
    async with db.read() as conn:
        per_record = (
            await conn.execute(
                select(attempts.c.record_id, func.count())
                .where(attempts.c.workflow_id == workflow["id"])
                .group_by(attempts.c.record_id)
            )
        ).all()
    assert len(per_record) == 40
    assert {count for _, count in per_record} == {1}

    record = (await tenant.client.get(f"/v1/records/{ids[0]}")).json()
    assert record["final_outcome"] == "call_transferred"
    assert record["workflow_ended"] is True
    kinds = [entry["kind"] for entry in record["timeline"]]
    assert kinds == ["created", "attempt"]
    attempt = record["timeline"][1]["data"]
    assert attempt["note"].startswith("call_transferred")
    assert attempt["end_reason"] == "call_transferred"
    assert attempt["answered"] is True
    assert attempt["provider_call_id"]
    recording = await tenant.client.get(attempt["recording_url"].split("http://127.0.0.1:8000")[-1])
    assert recording.status_code == 200
    assert recording.content[:4] == b"RIFF"


async def test_retries_follow_the_policy_and_stop_at_the_cap(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await retrying_workflow(tenant.client)
    [record_id] = await add(tenant, workflow, 1)
    clock = Clock()
    dialer = make_dialer(always("no_answer"), clock=clock)
    await drain(dialer)
    record = (await tenant.client.get(f"/v1/records/{record_id}")).json()
    assert record["status"] == "pending"
    assert record["attempts"] == 1
    due = datetime.fromisoformat(record["next_due_at"])
    assert due == clock.now + timedelta(minutes=30)

    await drain(dialer)  # nothing is due yet
    assert (await tenant.client.get(f"/v1/records/{record_id}")).json()["attempts"] == 1
    for _ in range(2):
        clock.advance(minutes=31)
        await drain(dialer)
    record = (await tenant.client.get(f"/v1/records/{record_id}")).json()
    assert record["attempts"] == 3
    assert record["status"] == "completed"
    assert record["final_outcome"] == "max_attempts"


async def test_shut_window_defers_to_the_next_opening(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await make_workflow(
        tenant.client,
        calling_hours={"start": "09:00", "end": "17:00", "weekdays": EVERY_DAY},
    )
    [record_id] = await add(tenant, workflow, 1, timezone="America/New_York")
    clock = Clock()
    # 03:00 in New York tomorrow: the window is shut.
    local = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    three_am = (local + timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)
    clock.now = three_am.astimezone(UTC)
    dialer = make_dialer(always("call_transferred"), clock=clock)
    await drain(dialer)
    record = (await tenant.client.get(f"/v1/records/{record_id}")).json()
    assert record["status"] == "pending"
    assert record["attempts"] == 0
    opening = datetime.fromisoformat(record["next_due_at"])
    assert opening == three_am.replace(hour=9).astimezone(UTC)
    assert record["timeline"][-1]["kind"] == "deferred"
    clock.now = opening
    await drain(dialer)
    record = (await tenant.client.get(f"/v1/records/{record_id}")).json()
    assert record["final_outcome"] == "call_transferred"


async def test_number_added_to_dnc_while_queued_is_never_dialed(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await make_workflow(tenant.client, calling_hours=ALWAYS_OPEN)
    ids = await add(tenant, workflow, 1, 2)
    await tenant.client.post("/v1/dnc", json={"phone": phone(1), "reason": "asked"})
    await drain(make_dialer(always("call_transferred")))
    skipped = (await tenant.client.get(f"/v1/records/{ids[0]}")).json()
    assert skipped["final_outcome"] == "no_phone_left"
    assert all(entry["kind"] != "attempt" for entry in skipped["timeline"])
    assert "do-not-call" in skipped["timeline"][-1]["message"]
    dialed = (await tenant.client.get(f"/v1/records/{ids[1]}")).json()
    assert dialed["final_outcome"] == "call_transferred"


async def test_do_not_call_outcome_adds_the_number_to_the_list(
    tenant: Tenant, make_dialer: DialerFactory
) -> None:
    workflow = await make_workflow(tenant.client, calling_hours=ALWAYS_OPEN)
    await add(tenant, workflow, 1)
    await drain(make_dialer(always("do_not_call")))
    listed = (await tenant.client.get("/v1/dnc")).json()["items"]
    assert [entry["phone"] for entry in listed] == [f"+1{phone(1)}"]
    other = await make_workflow(tenant.client, calling_hours=ALWAYS_OPEN)
    again = await tenant.client.post(
        f"/v1/workflows/{other['key']}/records", json={"phone": phone(1)}
    )
    assert again.json()["status"] == "suppressed"


async def test_concurrency_cap_is_never_exceeded(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await make_workflow(
        tenant.client, calling_hours=ALWAYS_OPEN, caps={"max_concurrent_calls": 4}
    )
    await add(tenant, workflow, *range(30))
    sim = always(
        "call_transferred", time_scale=0.002, min_duration_seconds=20, max_duration_seconds=30
    )
    dialer = make_dialer(sim, poll_seconds=0.01)
    await dialer.start()
    peak = 0
    for _ in range(2000):
        async with db.read() as conn:
            live = (
                await conn.execute(
                    select(func.count())
                    .select_from(records)
                    .where(
                        records.c.workflow_id == workflow["id"], records.c.status == "in_progress"
                    )
                )
            ).scalar_one()
        peak = max(peak, live)
        assert live <= 4
        if (await statuses(db, workflow["id"])) == {"completed": 30}:
            break
        await asyncio.sleep(0.005)
    assert await statuses(db, workflow["id"]) == {"completed": 30}
    assert peak >= 2  # the cap was actually exercised


async def test_paused_workflow_starts_nothing(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await make_workflow(tenant.client, calling_hours=ALWAYS_OPEN)
    await add(tenant, workflow, 1, 2)
    await tenant.client.post(f"/v1/workflows/{workflow['key']}/pause")
    dialer = make_dialer(always("call_transferred"))
    await drain(dialer)
    assert await statuses(db, workflow["id"]) == {"pending": 2}
    await tenant.client.post(f"/v1/workflows/{workflow['key']}/resume")
    await drain(dialer)
    assert await statuses(db, workflow["id"]) == {"completed": 2}


async def test_stats_add_up(tenant: Tenant, make_dialer: DialerFactory) -> None:
    workflow = await make_workflow(
        tenant.client, calling_hours=ALWAYS_OPEN, retry={"max_attempts": 1}
    )
    await add(tenant, workflow, *range(60))
    await tenant.client.post(f"/v1/workflows/{workflow['key']}/records", json={"phone": phone(99)})
    sim = Simulator(SimulatorConfig(seed=3, time_scale=0.0))
    await drain(make_dialer(sim))
    await add(tenant, workflow, 100)  # one still open
    stats = (await tenant.client.get(f"/v1/workflows/{workflow['key']}/stats")).json()
    assert stats["total"] == 62
    assert sum(stats["by_status"].values()) == 62
    assert sum(stats["by_outcome"].values()) == 62
    assert stats["by_outcome"]["open"] == stats["by_status"].get("pending", 0) == 1
    assert len(stats["by_outcome"]) > 2  # a real mix of outcomes


async def test_graceful_stop_returns_unstarted_claims(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await make_workflow(tenant.client, calling_hours=ALWAYS_OPEN)
    await add(tenant, workflow, *range(5))
    sim = always("call_transferred")
    dialer = make_dialer(sim)
    assert await dialer.run_once() == 5  # claimed and launched, not yet started
    await dialer.stop(grace_seconds=5)
    assert sim.started_calls == 0
    assert await statuses(db, workflow["id"]) == {"pending": 5}
    async with db.read() as conn:
        ended = dict(
            (
                await conn.execute(
                    select(attempts.c.status, func.count())
                    .where(attempts.c.workflow_id == workflow["id"])
                    .group_by(attempts.c.status)
                )
            ).all()
        )
    assert ended == {"cancelled": 5}
    again = make_dialer(sim)
    await drain(again)
    assert await statuses(db, workflow["id"]) == {"completed": 5}
    assert sim.started_calls == 5


async def test_workflow_with_an_end_time_stops_by_itself(
    tenant: Tenant, make_dialer: DialerFactory
) -> None:
    clock = Clock()
    ends_at = (clock.now + timedelta(hours=1)).isoformat()
    workflow = await make_workflow(tenant.client, calling_hours=ALWAYS_OPEN, ends_at=ends_at)
    dialer = make_dialer(always("call_transferred"), clock=clock)
    await dialer.reap_once()
    assert (await tenant.client.get(f"/v1/workflows/{workflow['key']}")).json()[
        "status"
    ] == "active"
    clock.advance(hours=2)
    await dialer.reap_once()
    assert (await tenant.client.get(f"/v1/workflows/{workflow['key']}")).json()[
        "status"
    ] == "stopped"


async def test_a_record_finished_during_its_call_stays_finished(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await retrying_workflow(tenant.client, max_attempts=5, period_minutes=1)
    [record_id] = await add(tenant, workflow, 3)
    sim = always("no_answer", time_scale=0.01, min_duration_seconds=30, max_duration_seconds=30)
    dialer = make_dialer(sim)
    assert await dialer.run_once() == 1  # the call is now ringing for ~0.3 s
    done = await tenant.client.post(f"/v1/records/{record_id}/complete")
    assert done.status_code == 200, done.text
    await dialer.settle()
    record = (await tenant.client.get(f"/v1/records/{record_id}")).json()
    assert record["status"] == "completed"
    assert record["final_outcome"] == "marked_complete"
    [ended] = await workflow_attempts(
        db, workflow["id"], attempts.c.status, attempts.c.end_reason, attempts.c.note
    )
    assert ended.status == "completed"
    assert ended.end_reason == "no_answer"
    assert "completed while this attempt ran" in ended.note
    await drain(dialer)
    async with db.read() as conn:
        count = (
            await conn.execute(
                select(func.count())
                .select_from(attempts)
                .where(attempts.c.workflow_id == workflow["id"])
            )
        ).scalar_one()
    assert count == 1  # never dialed again


async def test_the_watchdog_ends_an_attempt_whose_record_was_finished(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
    workflow = await make_workflow(tenant.client, calling_hours=ALWAYS_OPEN)
    [record_id] = await add(tenant, workflow, 4)
    # The call never ends by itself within the test (a 10-minute call in real time).
    sim = always("no_answer", time_scale=1.0, min_duration_seconds=600, max_duration_seconds=600)
    clock = Clock()
    first = make_dialer(sim, clock=clock)
    assert await first.run_once() == 1
    await tenant.client.post(f"/v1/records/{record_id}/complete")
    clock.advance(hours=2)  # past the attempt's deadline
    watchdog = make_dialer(always("no_answer"), clock=clock)
    await watchdog.reap_once()
    [ended] = await workflow_attempts(db, workflow["id"], attempts.c.status, attempts.c.end_reason)
    assert tuple(ended) == ("failed", "timeout")
    record = (await tenant.client.get(f"/v1/records/{record_id}")).json()
    assert record["status"] == "completed"
    await first.stop(grace_seconds=0)
