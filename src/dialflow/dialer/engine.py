"""The dialer: schedule due records, run their steps, record outcomes, recover from crashes.

One ``Dialer`` per process (``dialflow serve`` or ``dialflow worker``); any number of them share
one database. Work is claimed with the claim kit under a lease, every state change is fenced by
that lease, and every check that decides whether a number may be dialed (calling window, DNC,
caps) is made in the same transaction that creates the attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.clock import utcnow
from dialflow.db import claims
from dialflow.db.engine import Database
from dialflow.dialer import repository as repo
from dialflow.dialer.batching import Batcher
from dialflow.dialer.repository import RECORD_CLAIMS
from dialflow.dnc import repository as dnc_repo
from dialflow.domain.dispatch import dispatch_rank
from dialflow.domain.outcomes import EndReason
from dialflow.domain.progress import (
    MAX_ATTEMPTS,
    NO_CALLING_WINDOW,
    NO_PHONE_LEFT,
    Decision,
    RecordProgress,
    StepOutcome,
    choose_phone,
    decide,
    wait_until,
)
from dialflow.domain.windows import is_open, next_opening
from dialflow.ids import next_id
from dialflow.providers.base import (
    CallRequest,
    CallResult,
    MessageRequest,
    ProviderRegistry,
)
from dialflow.records.repository import insert_logs
from dialflow.records.service import log_entries
from dialflow.templates import TemplateError, render
from dialflow.webhooks import payloads
from dialflow.webhooks import repository as webhooks_repo
from dialflow.webhooks.events import EventType, NewEvent, emit
from dialflow.webhooks.record_events import emit_workflow_status, finished_records
from dialflow.workflows.definition import (
    CallStep,
    EmailStep,
    SmsStep,
    Step,
    WaitStep,
    WebhookStep,
    WorkflowDefinition,
)

log = logging.getLogger(__name__)

# Calls end by themselves; this margin lets the provider report before the watchdog steps in.
WATCHDOG_MARGIN = timedelta(seconds=60)
ROLLING_CAP_WINDOW = timedelta(hours=24)


class LostLease(Exception):
    """Another worker took this record over; this worker's write must not land."""


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class DialerConfig:
    owner: str = field(default_factory=worker_name)
    batch_size: int = 500
    max_in_flight: int = 2_000
    lease: timedelta = timedelta(seconds=30)
    poll_seconds: float = 1.0
    reap_seconds: float = 5.0
    # Serve only these workspaces (dedicated capacity for a tenant); None = all of them.
    workspaces: frozenset[int] | None = None


@dataclass
class _Job:
    """A claimed record whose attempt was created and is ready to run."""

    record: RowMapping
    definition: WorkflowDefinition
    step: Step
    attempt: dict[str, Any]
    progress: RecordProgress


def _zones(record: Mapping[Any, Any]) -> tuple[str, ...]:
    candidates = record["timezone_candidates"]
    return tuple(candidates) if candidates else (record["timezone"],)


def progress_of(record: Mapping[Any, Any]) -> RecordProgress:
    return RecordProgress(
        step_id=record["step_id"],
        day=record["day"],
        call=record["call"],
        attempts=record["attempts"],
        phone_attempts=dict(record["phone_attempts"] or {}),
        cycle_started_at=record["cycle_started_at"] or record["created_at"],
        zones=_zones(record),
    )


def _variables(record: Mapping[Any, Any]) -> dict[str, object]:
    return {
        **(record["placeholders"] or {}),
        "first_name": record["first_name"] or "",
        "last_name": record["last_name"] or "",
        "phone": record["phone"],
        "email": record["email"] or "",
    }


def _windowed(step: Step) -> bool:
    """Calls and texts are bound by calling hours; email, waits and webhooks are not."""
    return isinstance(step, CallStep | SmsStep)


class Dialer:
    def __init__(
        self,
        db: Database,
        registry: ProviderRegistry,
        config: DialerConfig | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.clock = clock
        self.registry = registry
        self.config = config or DialerConfig()
        self.wakeups = db.wakeups
        self._running: dict[int, asyncio.Task[None]] = {}  # record id -> its task
        self._waiting: dict[int, _Job] = {}  # claimed, step not started yet
        self._full = False  # a pass stopped at max_in_flight
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._http: httpx.AsyncClient | None = None
        self._outcomes: Batcher[_Outcome, bool] = Batcher(self._flush_outcomes)
        self._starts: Batcher[_Started, None] = Batcher(self._flush_starts)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        await self.wakeups.start()
        self._tasks = [
            asyncio.create_task(self._schedule_loop(), name="dialer-schedule"),
            asyncio.create_task(self._reap_loop(), name="dialer-reap"),
            asyncio.create_task(self._heartbeat_loop(), name="dialer-heartbeat"),
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let calls in flight finish for a while; the rest are recovered later
        by any worker (their leases expire), never dialed again."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._return_unstarted()
        running = list(self._running.values())
        if running:
            _done, pending = await asyncio.wait(running, timeout=grace_seconds)
            for task in pending:
                task.cancel()
        await self.wakeups.stop()
        if self._http is not None:
            await self._http.aclose()

    async def _return_unstarted(self) -> None:
        """Give back claimed records whose step had not started: their attempts are cancelled
        (nothing was dialed) and the records go back to the queue for any worker."""
        jobs = list(self._waiting.values())
        self._waiting.clear()
        for job in jobs:
            task = self._running.get(job.record["id"])
            if task is not None:
                task.cancel()
        if not jobs:
            return
        now = self.clock()
        async with self.db.write() as conn:
            await repo.end_attempts(
                conn,
                [
                    {
                        **_ATTEMPT_END_DEFAULTS,
                        "status": "cancelled",
                        "error": "the worker stopped before this step started; nothing was sent",
                        "ended_at": now,
                        "note": None,
                        "_id": job.attempt["id"],
                    }
                    for job in jobs
                ],
            )
            await claims.release(
                conn, RECORD_CLAIMS, [job.record["id"] for job in jobs], owner=self.config.owner
            )

    async def settle(self) -> None:
        """Wait until every step this dialer started has finished."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    # -- scheduling --------------------------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                started = await self.run_once()
            except Exception:
                log.exception("scheduling pass failed")
                started = 0
            if started == 0:
                await self.wakeups.wait(self.config.poll_seconds)

    async def run_once(self) -> int:
        """One scheduling pass over the active workflows; answers how many steps it started."""
        async with self.db.read() as conn:
            active = await repo.active_workflows(conn, self.config.workspaces)
        started = 0
        for workflow in active:
            room = min(self.config.batch_size, self.config.max_in_flight - self.in_flight)
            if room <= 0:
                self._full = True  # the next finished step wakes the scheduler
                break
            jobs = await self._schedule_workflow(workflow, room)
            for job in jobs:
                self._launch(job)
            started += len(jobs)
        return started

    def _launch(self, job: _Job) -> None:
        self._waiting[job.record["id"]] = job
        self._track(job.record["id"], self._run_job(job))

    def _track(self, record_id: int, work: Coroutine[Any, Any, None]) -> None:
        """Run work for a record we hold; its lease is renewed while the task lives."""
        task = asyncio.create_task(work)  # unnamed: naming costs ~2 % of a dial's CPU
        self._running[record_id] = task

        def forget(_task: asyncio.Task[None]) -> None:
            self._running.pop(record_id, None)
            if self._full:
                self._full = False
                self.wakeups.poke()

        task.add_done_callback(forget)

    async def _room(
        self, conn: AsyncConnection, workflow: RowMapping, definition: Any, room: int
    ) -> int:
        caps = definition.caps
        now = self.clock()
        if caps.max_concurrent_calls is not None:
            busy = await repo.in_flight(
                conn, workflow_id=workflow["id"], workspace_id=workflow["workspace_id"]
            )
            room = min(room, caps.max_concurrent_calls - busy)
        if workflow["max_concurrent_calls"] is not None:
            busy = await repo.in_flight(
                conn, workflow_id=None, workspace_id=workflow["workspace_id"]
            )
            room = min(room, workflow["max_concurrent_calls"] - busy)
        if caps.max_calls_per_second is not None:
            recent = await repo.started_since(conn, workflow["id"], now - timedelta(seconds=1))
            room = min(room, int(caps.max_calls_per_second) - recent)
        return room

    async def _schedule_workflow(self, workflow: RowMapping, room: int) -> list[_Job]:
        definition = WorkflowDefinition.model_validate(workflow["definition"])
        async with self.db.write() as conn:
            await repo.lock_workspace(conn, workflow["workspace_id"])
            room = await self._room(conn, workflow, definition, room)
            if room <= 0:
                return []
            now = self.clock()
            rows = await claims.claim(
                conn,
                RECORD_CLAIMS,
                owner=self.config.owner,
                now=now,
                lease=self.config.lease,
                limit=room,
                where=[RECORD_CLAIMS.table.c.workflow_id == workflow["id"]],
                columns=repo.CLAIMED_COLUMNS,
            )
            if not rows:
                return []
            numbers = sorted({p["number"] for row in rows for p in row["phones"]})
            blocked = await dnc_repo.blocked_numbers(conn, workflow["workspace_id"], numbers, now)
            recent = await repo.recent_call_times(
                conn, workflow["workspace_id"], numbers, now - ROLLING_CAP_WINDOW
            )
            jobs: list[_Job] = []
            for row in rows:
                job = await self._prepare(conn, row, definition, now, blocked, recent)
                if job is not None:
                    jobs.append(job)
                    if isinstance(job.step, CallStep):
                        recent.setdefault(job.attempt["to_address"], []).append(now)
            await repo.insert_attempts(conn, [job.attempt for job in jobs])
        return jobs

    async def _prepare(
        self,
        conn: AsyncConnection,
        record: RowMapping,
        definition: WorkflowDefinition,
        now: datetime,
        blocked: set[str],
        recent: dict[str, list[datetime]],
    ) -> _Job | None:
        """Check a claimed record at the moment of dialing; answer its job, or defer, skip or
        finish it (logging why) and answer None."""
        progress = progress_of(record)
        try:
            step = definition.get_step(progress.step_id)
        except KeyError:
            step = definition.steps[0]
            progress = RecordProgress(
                step_id=step.id,
                day=progress.day,
                call=progress.call,
                attempts=progress.attempts,
                phone_attempts=progress.phone_attempts,
                cycle_started_at=progress.cycle_started_at,
                zones=progress.zones,
            )
        if isinstance(step, WaitStep):
            decision = decide(
                definition,
                progress,
                StepOutcome(EndReason.DELIVERED),
                now,
                phones=record["phones"],
                blocked=blocked,
            )
            await self._apply(conn, record, definition, progress, decision, now)
            return None
        window = definition.calling_hours.window()
        if _windowed(step) and not is_open(window, progress.zones, now):
            opening = next_opening(window, progress.zones, now)
            if opening is None:
                await self._finish_record(
                    conn,
                    record,
                    NO_CALLING_WINDOW,
                    now,
                    "finished: the calling hours never open in the record's time zone(s)",
                )
            else:
                await self._defer(
                    conn,
                    record,
                    opening,
                    now,
                    f"deferred: calling window shut ({', '.join(progress.zones)}); "
                    f"next opening {opening.isoformat(timespec='minutes')}",
                )
            return None
        to_address: str | None
        phone_type: str | None = None
        if isinstance(step, CallStep):
            if progress.attempts >= definition.retry.max_attempts:
                await self._finish_record(
                    conn,
                    record,
                    MAX_ATTEMPTS,
                    now,
                    f"finished: {progress.attempts} attempts made "
                    f"(max {definition.retry.max_attempts})",
                )
                return None
            cap = definition.retry.daily_cap_per_phone
            # Only this record's numbers matter (the batch may hold thousands).
            capped = {
                p["number"] for p in record["phones"] if len(recent.get(p["number"], ())) >= cap
            }
            phone = choose_phone(
                step,
                record["phones"],
                progress.phone_attempts,
                {str(k): v for k, v in definition.retry.max_attempts_per_phone_type.items()},
                blocked | capped,
            )
            if phone is None:
                waiting = [
                    min(recent[p["number"]]) + ROLLING_CAP_WINDOW
                    for p in record["phones"]
                    if p["number"] in capped and p["number"] not in blocked
                ]
                if waiting:
                    await self._defer(
                        conn,
                        record,
                        min(waiting),
                        now,
                        f"deferred: {cap} calls in 24 h already made to this number",
                    )
                else:
                    reason = (
                        "on the do-not-call list"
                        if blocked & {p["number"] for p in record["phones"]}
                        else "exhausted"
                    )
                    await self._finish_record(
                        conn,
                        record,
                        NO_PHONE_LEFT,
                        now,
                        f"skipped: every number is {reason}",
                    )
                return None
            to_address, phone_type = phone["number"], phone["type"]
        elif isinstance(step, SmsStep):
            allowed = [p for p in record["phones"] if p["number"] not in blocked]
            if not allowed:
                await self._finish_record(
                    conn,
                    record,
                    NO_PHONE_LEFT,
                    now,
                    "skipped: every number is on the do-not-call list",
                )
                return None
            mobile = [p for p in allowed if p["type"] == "MOBILE"]
            to_address = (mobile or allowed)[0]["number"]
        elif isinstance(step, EmailStep):
            to_address = record["email"]
        else:
            assert isinstance(step, WebhookStep)
            to_address = step.url
        caller_ids = definition.caller_ids
        attempt = {
            "id": next_id(),
            "workspace_id": record["workspace_id"],
            "workflow_id": record["workflow_id"],
            "record_id": record["id"],
            "cycle": record["cycle"],
            "step_id": step.id,
            "channel": step.type,
            "day": progress.day,
            "call": progress.call,
            "phone_type": phone_type,
            "to_address": to_address or "",
            "from_address": caller_ids[progress.attempts % len(caller_ids)] if caller_ids else None,
            "provider": definition.provider,
            "status": "dialing",
            "worker": self.config.owner,
            "deadline_at": now
            + timedelta(seconds=getattr(step, "max_duration_seconds", 60))
            + WATCHDOG_MARGIN,
            "created_at": now,
        }
        return _Job(record, definition, step, attempt, progress)

    # -- running a step ------------------------------------------------------------------------

    async def _run_job(self, job: _Job) -> None:
        # No semaphore: a pass claims no more than max_in_flight minus the steps running.
        if self._stopping.is_set():
            return  # left in _waiting: stop() gives it back
        self._waiting.pop(job.record["id"], None)
        try:
            if isinstance(job.step, CallStep):
                await self._run_call(job)
            else:
                await self._run_message(job)
        except Exception:
            log.exception("attempt %s failed to run", job.attempt["id"])

    async def _run_call(self, job: _Job) -> None:
        step = job.step
        assert isinstance(step, CallStep)
        provider = self.registry.get_voice(job.definition.provider)
        variables = _variables(job.record)
        try:
            script = render(step.script, variables) if step.script else None
        except TemplateError as exc:
            await self._complete(job, _failed_call("", f"script could not be rendered: {exc}"))
            return
        request = CallRequest(
            attempt_id=job.attempt["id"],
            to=job.attempt["to_address"],
            from_=job.attempt["from_address"],
            script=script,
            variables=variables,
            max_duration_seconds=step.max_duration_seconds,
        )
        try:
            started = await provider.start_call(request)
        except Exception as exc:
            log.warning("provider refused attempt %s: %s", job.attempt["id"], exc)
            await self._complete(job, _failed_call("", f"the provider refused the call: {exc}"))
            return
        # Saved while the call runs, so that a recovered attempt is reconciled from the
        # provider. A call that ends before the save was flushed takes it back: its end writes
        # the same columns.
        accepted_at = self.clock()
        saving = self._starts.add(
            _Started(job.attempt["id"], started.provider_call_id, accepted_at)
        )
        result = await provider.wait_result(
            started.provider_call_id, timeout_seconds=float(step.max_duration_seconds)
        )
        if result is None:
            result = CallResult(
                provider_call_id=started.provider_call_id,
                end_reason=EndReason.TIMEOUT,
                answered=False,
                duration_seconds=step.max_duration_seconds,
                failure_reason="no result within the step's maximum duration",
            )
        if not self._starts.withdraw(saving):
            try:
                await saving
            except Exception:
                # The end below writes the call id as well; only a crash before it loses it.
                log.warning("saving the start of attempt %s failed", job.attempt["id"])
        await self._complete(job, result, started_at=accepted_at)

    async def _flush_starts(self, batch: list[_Started]) -> list[None]:
        async with self.db.write() as conn:
            await repo.attempts_started(
                conn, [(item.attempt_id, item.provider_call_id, item.at) for item in batch]
            )
        return [None] * len(batch)

    async def _run_message(self, job: _Job) -> None:
        step = job.step
        variables = _variables(job.record)
        if isinstance(step, WebhookStep):
            reason, error = await self._post_webhook(step, job.record)
            await self._complete_message(job, reason, error, provider_id=None)
            return
        if not job.attempt["to_address"]:
            await self._complete_message(
                job, EndReason.UNDELIVERED, "the record has no address for this step", None
            )
            return
        try:
            if isinstance(step, SmsStep):
                body, subject = render(step.message, variables), None
            else:
                assert isinstance(step, EmailStep)
                body, subject = render(step.body, variables), render(step.subject, variables)
        except TemplateError as exc:
            await self._complete_message(job, EndReason.FAILED, str(exc), None)
            return
        provider = self.registry.get_message(job.definition.provider)
        result = await provider.send(
            MessageRequest(
                attempt_id=job.attempt["id"],
                channel="sms" if isinstance(step, SmsStep) else "email",
                to=job.attempt["to_address"],
                from_=job.attempt["from_address"],
                subject=subject,
                body=body,
            )
        )
        await self._complete_message(
            job, result.end_reason, result.error, result.provider_message_id
        )

    async def _post_webhook(
        self, step: WebhookStep, record: Mapping[Any, Any]
    ) -> tuple[EndReason, str | None]:
        assert self._http is not None
        payload = {
            "event": step.event or "workflow.step",
            "record_id": str(record["id"]),
            "phone": record["phone"],
            "placeholders": record["placeholders"],
            "meta": record["meta"],
        }
        try:
            response = await self._http.post(step.url, json=payload)
        except httpx.HTTPError as exc:
            return EndReason.UNDELIVERED, f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return EndReason.DELIVERED, None
        return EndReason.UNDELIVERED, f"HTTP {response.status_code}"

    # -- recording outcomes ----------------------------------------------------------------------

    async def _complete_message(
        self, job: _Job, reason: EndReason, error: str | None, provider_id: str | None
    ) -> None:
        await self._record_outcome(
            job.record["id"],
            job.attempt["id"],
            job.definition,
            {
                "status": "completed" if reason is EndReason.DELIVERED else "failed",
                "end_reason": reason.value,
                "provider_call_id": provider_id,
                "error": error,
                "ended_at": self.clock(),
            },
            StepOutcome(reason),
            owner=self.config.owner,
        )

    async def _complete(
        self, job: _Job, result: CallResult, *, started_at: datetime | None = None
    ) -> None:
        await self._record_outcome(
            job.record["id"],
            job.attempt["id"],
            job.definition,
            _call_values(result, self.clock(), started_at),
            StepOutcome(result.end_reason, phone_type=job.attempt["phone_type"]),
            owner=self.config.owner,
        )

    async def _record_outcome(
        self,
        record_id: int,
        attempt_id: int,
        definition: WorkflowDefinition,
        attempt_values: dict[str, Any],
        outcome: StepOutcome,
        *,
        owner: str,
    ) -> bool:
        """End the attempt and move the record on; batched with other outcomes into one
        transaction, fenced by the record's lease. False when another worker took over."""
        return await self._outcomes.submit(
            _Outcome(record_id, attempt_id, definition, attempt_values, outcome, owner)
        )

    async def _flush_outcomes(self, batch: list[_Outcome]) -> list[bool]:
        now = self.clock()
        async with self.db.write() as conn:
            live = await repo.live_attempts(conn, [item.attempt_id for item in batch])
            held = await repo.records_held(conn, [item.record_id for item in batch])
            accepted: list[bool] = []
            record_updates: list[dict[str, Any]] = []
            opted_out: list[dict[str, Any]] = []
            ended: list[_Ended] = []
            for item in batch:
                record = held.get(item.record_id)
                ok = (
                    item.attempt_id in live
                    and record is not None
                    and record["lease_owner"] == item.owner
                )
                accepted.append(ok)
                if not ok:
                    continue
                assert record is not None
                if record["status"] != "in_progress":
                    # Finished (completed, cancelled, deleted) through the API while the call
                    # ran: the attempt ends, the record stays as the API left it.
                    ended.append(
                        _Ended.of(
                            item,
                            record,
                            live[item.attempt_id],
                            f"the record was {record['status']} while this attempt ran",
                            {
                                "day": record["day"],
                                "call": record["call"],
                                "workflow_ended": True,
                                "final_outcome": record["final_outcome"],
                            },
                            opted_out=False,
                            finished_before=True,
                        )
                    )
                    continue
                progress = progress_of(record)
                decision = decide(
                    item.definition, progress, item.outcome, now, phones=record["phones"]
                )
                if decision.add_to_dnc:
                    opted_out.append(
                        {
                            "workspace_id": record["workspace_id"],
                            "phone": record["phone"],
                            "reason": "do_not_call outcome",
                            "created_at": now,
                        }
                    )
                values, _kind, note = _record_values(
                    record, item.definition, progress, decision, now
                )
                record_updates.append({**values, "_id": item.record_id, "_owner": item.owner})
                ended.append(
                    _Ended.of(
                        item,
                        record,
                        live[item.attempt_id],
                        note,
                        values,
                        opted_out=decision.add_to_dnc,
                        finished_before=False,
                    )
                )
            await repo.end_attempts(
                conn, [{**end.attempt_values, "_id": end.attempt["id"]} for end in ended]
            )
            await dnc_repo.add_missing(conn, opted_out)
            await claims.fenced_updates(conn, RECORD_CLAIMS, record_updates)
            await _emit_outcome_events(conn, ended, now)
        return accepted

    async def _apply(
        self,
        conn: AsyncConnection,
        record: Mapping[Any, Any],
        definition: WorkflowDefinition,
        progress: RecordProgress,
        decision: Decision,
        now: datetime,
    ) -> None:
        """Apply a decision to a record this worker holds, inside the caller's transaction."""
        values, kind, note = _record_values(record, definition, progress, decision, now)
        await self._write_record(conn, record["id"], values)
        await insert_logs(conn, log_entries([record["id"]], now, kind, note))

    async def _write_record(
        self, conn: AsyncConnection, record_id: int, values: dict[str, Any]
    ) -> None:
        done = await claims.fenced_update(
            conn, RECORD_CLAIMS, [record_id], owner=self.config.owner, values=values
        )
        if not done:
            raise LostLease

    async def _defer(
        self,
        conn: AsyncConnection,
        record: Mapping[Any, Any],
        until: datetime,
        now: datetime,
        note: str,
    ) -> None:
        await claims.release(
            conn,
            RECORD_CLAIMS,
            [record["id"]],
            owner=self.config.owner,
            values={"next_due_at": until, "updated_at": now},
        )
        await insert_logs(conn, log_entries([record["id"]], now, "deferred", note))

    async def _finish_record(
        self,
        conn: AsyncConnection,
        record: Mapping[Any, Any],
        final_outcome: str,
        now: datetime,
        note: str,
    ) -> None:
        values = {
            "status": "completed",
            "final_outcome": final_outcome,
            "workflow_ended": True,
            "completed_at": now,
            "next_due_at": None,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now,
        }
        await self._write_record(conn, record["id"], values)
        await insert_logs(conn, log_entries([record["id"]], now, "finished", note))

    # -- recovery ----------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        interval = self.config.lease.total_seconds() / 3
        while not self._stopping.is_set():
            await asyncio.sleep(interval)
            ids = list(self._running)
            if not ids:
                continue
            try:
                async with self.db.write() as conn:
                    await claims.extend(
                        conn,
                        RECORD_CLAIMS,
                        ids,
                        owner=self.config.owner,
                        until=self.clock() + self.config.lease,
                    )
            except Exception:
                log.exception("lease heartbeat failed")

    async def _reap_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.reap_once()
            except Exception:
                log.exception("recovery pass failed")
            await asyncio.sleep(self.config.reap_seconds)

    async def reap_once(self) -> int:
        """Stop workflows past their end time, recover records of dead workers, and end
        attempts past their deadline."""
        now = self.clock()
        async with self.db.write() as conn:
            for workflow in await repo.stop_ended_workflows(conn, now):
                await emit_workflow_status(
                    conn, workflow, workflow["status"], "stopped", "its end time passed", now
                )
        async with self.db.write() as conn:
            taken = await claims.take_over_expired(
                conn,
                RECORD_CLAIMS,
                owner=self.config.owner,
                now=now,
                lease=self.config.lease,
                limit=self.config.batch_size,
            )
            live = {row["id"]: await repo.live_attempt(conn, row["id"]) for row in taken}
            idle = [row["id"] for row in taken if live[row["id"]] is None]
            await claims.release(conn, RECORD_CLAIMS, idle, owner=self.config.owner)
            await insert_logs(
                conn,
                log_entries(idle, now, "recovered", "returned to the queue after a worker stopped"),
            )
        for row in taken:
            attempt = live[row["id"]]
            if attempt is not None:
                self._track(row["id"], self._reconcile(row, attempt))
        async with self.db.read() as conn:
            overdue = await repo.overdue_attempts(conn, now, self.config.batch_size)
        for attempt in overdue:
            await self._end_overdue(attempt)
        return len(taken) + len(overdue)

    async def _reconcile(self, record: RowMapping, attempt: RowMapping) -> None:
        """Finish an attempt a dead worker left behind — from the provider, never by redialing."""
        definition = await self._definition(record["workflow_id"])
        outcome_values: dict[str, Any]
        if attempt["channel"] != "call":
            outcome = StepOutcome(EndReason.UNDELIVERED)
            outcome_values = {
                "status": "failed",
                "end_reason": EndReason.UNDELIVERED.value,
                "error": "the worker stopped before the message was confirmed; not resent",
                "ended_at": self.clock(),
            }
        elif attempt["provider_call_id"] is None:
            result = _failed_call(
                "", "the worker stopped before the provider confirmed the call; not redialed"
            )
            outcome = StepOutcome(result.end_reason, phone_type=attempt["phone_type"])
            outcome_values = _call_values(result, self.clock(), None)
        else:
            provider = self.registry.get_voice(attempt["provider"])
            call_id = attempt["provider_call_id"]
            result_or_none = await provider.fetch_result(call_id)
            if result_or_none is None:
                remaining = (attempt["deadline_at"] - self.clock()).total_seconds()
                result_or_none = await provider.wait_result(call_id, max(remaining, 0.0))
            result = result_or_none or CallResult(
                provider_call_id=call_id,
                end_reason=EndReason.TIMEOUT,
                answered=False,
                duration_seconds=0,
                failure_reason="no result from the provider in time",
            )
            outcome = StepOutcome(result.end_reason, phone_type=attempt["phone_type"])
            outcome_values = _call_values(result, self.clock(), attempt["started_at"])
        await self._record_outcome(
            record["id"],
            attempt["id"],
            definition,
            outcome_values,
            outcome,
            owner=self.config.owner,
        )

    async def _end_overdue(self, attempt: RowMapping) -> None:
        """The watchdog: an attempt past its deadline ends as failed/timeout, whoever ran it."""
        result = CallResult(
            provider_call_id=attempt["provider_call_id"] or "",
            end_reason=EndReason.TIMEOUT,
            answered=False,
            duration_seconds=0,
            failure_reason="ended by the watchdog: no result before the attempt's deadline",
        )
        async with self.db.write() as conn:
            if not await repo.take_record(
                conn,
                attempt["record_id"],
                owner=self.config.owner,
                until=self.clock() + self.config.lease,
            ):
                # The record already finished (through the API): end the attempt alone.
                if not await repo.live_attempts(conn, [attempt["id"]]):
                    return  # its worker ended it meanwhile
                values = {
                    **_call_values(result, self.clock(), attempt["started_at"]),
                    "status": "failed",
                }
                await repo.end_attempts(
                    conn,
                    [
                        {
                            **_ATTEMPT_END_DEFAULTS,
                            **values,
                            "note": "ended by the watchdog after the record finished",
                            "_id": attempt["id"],
                        }
                    ],
                )
                return
        definition = await self._definition(attempt["workflow_id"])
        await self._record_outcome(
            attempt["record_id"],
            attempt["id"],
            definition,
            {**_call_values(result, self.clock(), attempt["started_at"]), "status": "failed"},
            StepOutcome(EndReason.TIMEOUT, phone_type=attempt["phone_type"]),
            owner=self.config.owner,
        )

    async def _definition(self, workflow_id: int) -> WorkflowDefinition:
        async with self.db.read() as conn:
            definition = await repo.workflow_definition(conn, workflow_id)
        return WorkflowDefinition.model_validate(definition)


@dataclass(frozen=True, slots=True)
class _Started:
    """The provider accepted an attempt's call."""

    attempt_id: int
    provider_call_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class _Outcome:
    record_id: int
    attempt_id: int
    definition: WorkflowDefinition
    values: dict[str, Any]
    outcome: StepOutcome
    owner: str


@dataclass(frozen=True, slots=True)
class _Ended:
    """An attempt ended in a flush: what its events are built from."""

    workspace_id: int
    record_id: int
    attempt: RowMapping
    attempt_values: dict[str, Any]
    record_values: dict[str, Any]
    opted_out: bool
    # The record had already finished (its record.completed was sent then).
    finished_before: bool

    @classmethod
    def of(
        cls,
        outcome: _Outcome,
        record: RowMapping,
        attempt: RowMapping,
        note: str,
        record_values: dict[str, Any],
        *,
        opted_out: bool,
        finished_before: bool,
    ) -> _Ended:
        """The end of ``outcome``'s attempt, its values completed with ``note``."""
        return cls(
            record["workspace_id"],
            outcome.record_id,
            attempt,
            {**_ATTEMPT_END_DEFAULTS, **outcome.values, "note": note},
            record_values,
            opted_out=opted_out,
            finished_before=finished_before,
        )


_CHANNEL_EVENTS = {
    "call": EventType.CALL_COMPLETED,
    "sms": EventType.SMS_COMPLETED,
    "email": EventType.EMAIL_COMPLETED,
}


async def _emit_outcome_events(
    conn: AsyncConnection, ended: Sequence[_Ended], now: datetime
) -> None:
    """The events of a flush's ended attempts, in the flush's transaction (only built when an
    endpoint of the workspace listens: the hot path stays lean otherwise)."""
    endpoints = await webhooks_repo.enabled_endpoints(conn, {item.workspace_id for item in ended})
    ended = [item for item in ended if item.workspace_id in endpoints]
    if not ended:
        return
    record_ids = [item.record_id for item in ended]
    records = await webhooks_repo.payload_records(conn, record_ids)
    workflows = await webhooks_repo.workflow_names(
        conn, {record["workflow_id"] for record in records.values()}
    )
    found: list[NewEvent] = []
    finished: dict[int, RowMapping] = {}
    for item in ended:
        record = records[item.record_id]
        workflow = workflows[record["workflow_id"]]
        data = payloads.attempt_completed(
            item.attempt,
            item.attempt_values,
            record,
            {
                "day": item.record_values["day"],
                "call": item.record_values["call"],
                "workflow_ended": item.record_values["workflow_ended"],
                "final_outcome": item.record_values["final_outcome"],
            },
            workflow,
            now,
        )
        scope = {"workflow_id": record["workflow_id"], "record_id": record["id"]}
        channel_event = _CHANNEL_EVENTS.get(item.attempt["channel"])
        if channel_event is not None:
            found.append(NewEvent(item.workspace_id, channel_event, data, **scope))
        found.append(NewEvent(item.workspace_id, EventType.ATTEMPT_COMPLETED, data, **scope))
        if item.opted_out:
            reason = "do_not_call outcome"
            found.append(
                NewEvent(
                    item.workspace_id,
                    EventType.RECORD_OPTED_OUT,
                    payloads.record_opted_out(record, workflow, reason, now),
                    **scope,
                )
            )
        if item.record_values["workflow_ended"] and not item.finished_before:
            finished[record["id"]] = record
    found += await finished_records(conn, finished, workflows, now)
    await emit(conn, found, now, endpoints=endpoints)


# Every ended attempt sets the same columns, so one executemany can end a whole batch.
_ATTEMPT_END_DEFAULTS: dict[str, Any] = {
    "status": "completed",
    "provider_call_id": None,
    "end_reason": None,
    "answered": None,
    "duration_seconds": None,
    "message_left": None,
    "transcript": None,
    "recording_url": None,
    "collected_fields": None,
    "error": None,
    "started_at": None,
    "ended_at": None,
}


def _record_values(
    record: Mapping[Any, Any],
    definition: WorkflowDefinition,
    progress: RecordProgress,
    decision: Decision,
    now: datetime,
) -> tuple[dict[str, Any], str, str]:
    """The record's new columns after a decision, with its timeline entry (kind, note).

    The next step's time is moved past any wait and into the calling window; a window that
    never opens finishes the record instead."""
    values: dict[str, Any] = {
        "attempts": decision.attempts,
        "phone_attempts": decision.phone_attempts,
        "dispatch_rank": dispatch_rank(record["priority"], attempted=decision.attempts > 0),
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
        "step_id": record["step_id"],
        "day": decision.day,
        "call": decision.call,
    }
    note = decision.note
    final = decision.final_outcome or "completed"
    if not decision.finished:
        assert decision.step_id is not None
        assert decision.due_at is not None
        step = definition.get_step(decision.step_id)
        earliest = decision.due_at
        if isinstance(step, WaitStep):
            earliest = wait_until(step, earliest)
        due = (
            next_opening(definition.calling_hours.window(), progress.zones, earliest)
            if _windowed(step)
            else earliest
        )
        if due is not None:
            values.update(
                status="pending",
                step_id=decision.step_id,
                next_due_at=due,
                final_outcome=None,
                workflow_ended=False,
                completed_at=None,
            )
            return values, "progress", note
        final = NO_CALLING_WINDOW
        note = f"{note}; finished: the calling hours never open"
    values.update(
        status="completed",
        final_outcome=final,
        workflow_ended=True,
        completed_at=now,
        next_due_at=None,
    )
    return values, "finished", note


def _failed_call(call_id: str, reason: str) -> CallResult:
    return CallResult(
        provider_call_id=call_id,
        end_reason=EndReason.FAILED,
        answered=False,
        duration_seconds=0,
        failure_reason=reason,
    )


def _call_values(
    result: CallResult, ended_at: datetime, started_at: datetime | None
) -> dict[str, Any]:
    """An ended call's attempt columns; ``started_at``: when the provider accepted it (None
    when it never did, or nobody knows)."""
    failed = result.end_reason in (EndReason.FAILED, EndReason.TIMEOUT)
    return {
        "status": "failed" if failed else "completed",
        "provider_call_id": result.provider_call_id or None,
        "end_reason": result.end_reason.value,
        "answered": result.answered,
        "duration_seconds": result.duration_seconds,
        "message_left": result.message_left,
        "transcript": result.transcript,
        "recording_url": result.recording_url,
        "collected_fields": result.collected_fields,
        "error": result.failure_reason,
        "started_at": started_at,
        "ended_at": ended_at,
    }


__all__: Sequence[str] = ("Dialer", "DialerConfig", "worker_name")
