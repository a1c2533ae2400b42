"""The intake operation behind every way in: validate, dedup, write in chunks, answer per record.

Each chunk is one transaction written with the driver's fast path. A chunk that fails is rolled
back whole and its records are reported ``failed``; the other chunks are unaffected. A conflict
with a concurrent writer (the unique dedup index) makes the chunk retry, after which it sees the
other request's rows and updates them, so concurrent requests end with one record per key.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec
import psycopg
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow.clock import utcnow
from dialflow.db.engine import WAKEUP_CHANNEL, Database, wake_on_commit
from dialflow.dnc import repository as dnc_repo
from dialflow.domain.dispatch import priority_rank
from dialflow.domain.errors import ErrorCode, FieldError
from dialflow.domain.workflows import WorkflowStatus, accepts_records
from dialflow.errors import BadRequest, Conflict
from dialflow.ids import ids, next_id
from dialflow.intake.validate import CleanRecord, IntakeRules, clean_record
from dialflow.lists import repository as lists_repo
from dialflow.records import repository as records_repo
from dialflow.records.service import log_entries
from dialflow.records.status import LIVE_STATUSES, RecordStatus
from dialflow.workflows.definition import WorkflowDefinition
from dialflow.workflows.service import get_workflow_row

log = logging.getLogger(__name__)

CHUNK_TRIES = 8
# A retry waits a random moment up to this many seconds, doubled per try, so writers racing
# for the same keys fall out of step instead of colliding again.
RETRY_PAUSE = 0.002
_encode = msgspec.json.encode


class ResultStatus(StrEnum):
    ACCEPTED = "accepted"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


GOOD = (ResultStatus.ACCEPTED, ResultStatus.UPDATED)


@dataclass(slots=True)
class RecordResult:
    index: int
    status: ResultStatus
    record_id: int | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass(slots=True)
class IntakeOutcome:
    workflow_id: int
    workflow_key: str
    list_id: int | None
    results: list[RecordResult]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((s.value for s in ResultStatus), 0)
        for result in self.results:
            counts[result.status.value] += 1
        counts["total"] = len(self.results)
        return counts

    @property
    def http_status(self) -> int:
        """201 all good (something created), 200 all good (only updates), 207 mixed, 422 none."""
        good = sum(1 for r in self.results if r.status in GOOD)
        if good == 0:
            return 422
        if good < len(self.results):
            return 207
        created = any(r.status is ResultStatus.ACCEPTED for r in self.results)
        return 201 if created else 200


def rules_for(definition: WorkflowDefinition, *, meta_max_bytes: int) -> IntakeRules:
    return IntakeRules(
        region=definition.default_region,
        default_timezone=definition.timezone,
        variables=definition.variable_specs(),
        dedup=definition.dedup,
        meta_max_bytes=meta_max_bytes,
    )


@dataclass(frozen=True, slots=True)
class _Target:
    workspace_id: int
    workflow_id: int
    list_id: int | None
    first_step: str


MAX_LIST_NAME = 200  # lists.name


async def ingest(
    db: Database,
    *,
    workspace_id: int,
    workflow_ref: str | int,
    records: Sequence[object],
    max_records: int,
    chunk_size: int = 1_000,
    meta_max_bytes: int = 16_384,
    list_name: str | None = None,
    source: str = "api",
    create_list: bool = True,
    required_fields: frozenset[str] = frozenset(),
    scan_nul: bool = True,
) -> IntakeOutcome:
    if len(records) > max_records:
        raise BadRequest(
            f"too many records: {len(records)} sent, at most {max_records} per request",
            code="too_many_records",
        )
    if not records:
        raise BadRequest("no records: send at least one record", code="no_records")
    if list_name is not None and (len(list_name) > MAX_LIST_NAME or "\x00" in list_name):
        raise BadRequest(
            f"list_name: at most {MAX_LIST_NAME} characters, and no U+0000",
            code="invalid_list_name",
        )
    workflow = await get_workflow_row(db, workspace_id, workflow_ref)
    if not accepts_records(WorkflowStatus(workflow["status"])):
        raise Conflict(
            f"workflow {workflow['key']} is {workflow['status']} and takes no new records",
            code="workflow_closed",
        )
    definition = WorkflowDefinition.model_validate(workflow["definition"])
    rules = rules_for(definition, meta_max_bytes=meta_max_bytes)
    rules = replace(rules, required_fields=required_fields, scan_nul=scan_nul)

    results: list[RecordResult] = []
    clean: list[tuple[int, CleanRecord]] = []
    first_with_key: dict[str, int] = {}
    for index, raw in enumerate(records):
        checked = clean_record(raw, rules)
        if isinstance(checked, list):
            results.append(RecordResult(index, ResultStatus.INVALID, errors=checked))
            continue
        key = checked.dedup_key
        if key is not None:
            earlier = first_with_key.setdefault(key, index)
            if earlier != index:
                results.append(
                    RecordResult(
                        index,
                        ResultStatus.DUPLICATE,
                        errors=[
                            FieldError(
                                ErrorCode.DUPLICATE_IN_REQUEST,
                                "external_id" if rules.dedup == "external_id" else "phone",
                                f"same {rules.dedup.replace('_', ' ')} as record {earlier} "
                                "of this request, which is kept",
                            )
                        ],
                    )
                )
                continue
        results.append(RecordResult(index, ResultStatus.ACCEPTED))
        clean.append((index, checked))

    list_id = None
    new_list: dict[str, Any] | None = None  # the list row, until a transaction has written it
    if create_list:
        list_id = next_id()
        new_list = {
            "id": list_id,
            "workspace_id": workspace_id,
            "workflow_id": workflow["id"],
            "name": list_name,
            "source": source,
            "status": "open",
            "total": len(records),
            "invalid": sum(r.status is ResultStatus.INVALID for r in results),
            "duplicate": sum(r.status is ResultStatus.DUPLICATE for r in results),
            "created_at": utcnow(),
        }
    target = _Target(workspace_id, workflow["id"], list_id, definition.steps[0].id)
    for start in range(0, len(clean), chunk_size):
        # The list goes in with the first chunk, counts and all: one transaction less per
        # request. A chunk that fails takes it back with its rows, so it is then written alone.
        chunk = clean[start : start + chunk_size]
        stored = await _write_chunk_with_retry(db, target, chunk, results, new_list)
        if new_list is not None and not stored:
            await _insert_list(db, new_list)
        new_list = None
    if new_list is not None:  # no record to write
        await _insert_list(db, new_list)
    return IntakeOutcome(workflow["id"], workflow["key"], list_id, results)


async def _insert_list(db: Database, values: dict[str, Any]) -> None:
    async with db.write() as conn:
        await lists_repo.insert_list(conn, values)


def _is_retryable(exc: BaseException) -> bool:
    """A unique-index race with a concurrent writer, an id collision, a lock not taken, or a
    deadlock."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    return isinstance(
        exc,
        sqlite3.IntegrityError
        | psycopg.errors.UniqueViolation
        | psycopg.errors.DeadlockDetected
        | psycopg.errors.LockNotAvailable
        | psycopg.errors.SerializationFailure,
    ) or (isinstance(exc, DBAPIError) and "UNIQUE constraint failed" in str(exc))


async def _write_chunk_with_retry(
    db: Database,
    target: _Target,
    chunk: list[tuple[int, CleanRecord]],
    results: list[RecordResult],
    new_list: dict[str, Any] | None,
) -> bool:
    """Write one chunk (and ``new_list``, the request's list row, when given) in one
    transaction, retried on races; answer whether it committed."""
    failure: BaseException | None = None
    for attempt in range(1, CHUNK_TRIES + 1):
        prepared = _prepare(chunk, target, db.dialect)  # fresh ids and time for every try
        try:
            async with db.write() as conn:
                outcome = await _write_chunk(
                    conn, target, prepared, new_list, conflict_safe=attempt > 1
                )
                if any(result.status in GOOD for result in outcome.values()):
                    await wake_on_commit(conn, WAKEUP_CHANNEL)  # new work is due: tell the dialer
        except (SQLAlchemyError, sqlite3.Error, psycopg.Error) as exc:
            if not (_is_retryable(exc) and attempt < CHUNK_TRIES):
                failure = exc
                break
            ids.reseed()  # in case the conflict was an id drawn by another process
            pause = random.uniform(0, RETRY_PAUSE * 2**attempt)  # noqa: S311 (jitter)
            await asyncio.sleep(pause)
            continue
        for index, result in outcome.items():
            results[index] = result
        return True
    log.error("intake chunk of %d records failed", len(chunk), exc_info=failure)
    for index, _ in chunk:
        results[index] = RecordResult(
            index,
            ResultStatus.FAILED,
            errors=[
                FieldError(
                    ErrorCode.WRITE_FAILED,
                    "",
                    "the record could not be stored (database error); nothing of it "
                    "was written, so it is safe to send again",
                )
            ],
        )
    return False


_PENDING = RecordStatus.PENDING.value  # read once: an enum member's .value costs a call


def _row(record: CleanRecord, record_id: int, target: _Target, now: datetime) -> tuple[Any, ...]:
    """A full insert row in ``RECORD_COLUMNS`` order, JSON columns already encoded."""
    return (
        record_id,
        target.workspace_id,
        target.workflow_id,
        target.list_id,
        record.dedup_key,
        record.phone,
        _encode(record.phones).decode(),
        record.first_name,
        record.last_name,
        record.email,
        record.zip,
        record.timezone,
        record.timezone_source,
        None
        if record.timezone_candidates is None
        else _encode(record.timezone_candidates).decode(),
        record.priority,
        _encode(record.placeholders).decode(),
        None if record.meta is None else _encode(record.meta).decode(),
        record.external_id,
        record.case_id,
        record.external_provider,
        record.external_url,
        record.profile_id,
        record.transfer_number,
        _PENDING,
        1,
        target.first_step,
        0,
        priority_rank(record.priority),
        now,
        now,
        now,
        now,
    )


def _changes(record: CleanRecord, record_id: int, target: _Target, now: datetime) -> dict[str, Any]:
    return {
        "_id": record_id,
        "list_id": target.list_id,
        "phone": record.phone,
        "phones": record.phones,
        "first_name": record.first_name,
        "last_name": record.last_name,
        "email": record.email,
        "zip": record.zip,
        "timezone": record.timezone,
        "timezone_source": record.timezone_source,
        "timezone_candidates": record.timezone_candidates,
        "priority": record.priority,
        "placeholders": record.placeholders,
        "meta": record.meta,
        "external_id": record.external_id,
        "case_id": record.case_id,
        "external_provider": record.external_provider,
        "external_url": record.external_url,
        "profile_id": record.profile_id,
        "transfer_number": record.transfer_number,
        "priority_rank": priority_rank(record.priority),
        "updated_at": now,
    }


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A chunk as its write transaction needs it, made before the transaction starts: on
    SQLite the write lock, one for all writers, is then held for the writing alone."""

    records: list[tuple[int, CleanRecord]]  # in dedup-key order: writers lock keys in order
    keys: list[str]
    numbers: list[str]
    now: datetime
    new_rows: dict[int, tuple[int, tuple[Any, ...]]]  # by index: (record id, insert row)


def _prepare(chunk: list[tuple[int, CleanRecord]], target: _Target, dialect: str) -> _Prepared:
    """Each record's insert row, with an id of its own: most records are new, and the few
    that turn out to exist already leave their ids unused."""
    now = utcnow()
    # Ids follow the request's order (a workflow's records list in the order they were sent);
    # the writes go in key order.
    numbered = sorted(
        zip(chunk, ids.take(len(chunk)), strict=True),
        key=lambda item: item[0][1].dedup_key or "",
    )
    rows = records_repo.storable_record_rows(
        dialect, [_row(record, record_id, target, now) for (_, record), record_id in numbered]
    )
    records = [item for item, _ in numbered]
    return _Prepared(
        records=records,
        keys=[r.dedup_key for _, r in records if r.dedup_key is not None],
        numbers=sorted({p["number"] for _, r in records for p in r.phones}),
        now=now,
        new_rows={
            index: (record_id, row)
            for ((index, _), record_id), row in zip(numbered, rows, strict=True)
        },
    )


@dataclass(slots=True)
class _Plan:
    """What one chunk will write, decided before any write is made."""

    outcome: dict[int, RecordResult] = field(default_factory=dict)
    new_rows: list[tuple[Any, ...]] = field(default_factory=list)
    new_records: dict[int, tuple[int, CleanRecord]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    restarts: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)


def _plan(
    chunk: list[tuple[int, CleanRecord]],
    existing: dict[str, Any],
    blocked: set[str],
    prepared: _Prepared,
    target: _Target,
    plan: _Plan,
) -> None:
    now = prepared.now
    for index, record in chunk:
        if blocked and all(p["number"] in blocked for p in record.phones):
            plan.outcome[index] = RecordResult(
                index,
                ResultStatus.SUPPRESSED,
                errors=[
                    FieldError(
                        ErrorCode.DO_NOT_CALL,
                        "phone",
                        f"{record.phone} is on the workspace's do-not-call list",
                    )
                ],
            )
            continue
        found = existing.get(record.dedup_key) if record.dedup_key is not None else None
        if found is None:
            record_id, row = prepared.new_rows[index]
            plan.new_rows.append(row)
            plan.new_records[record_id] = (index, record)
            plan.outcome[index] = RecordResult(index, ResultStatus.ACCEPTED, record_id)
        elif found["status"] in LIVE_STATUSES:
            plan.updates.append(_changes(record, found["id"], target, now))
            plan.logs += log_entries(
                [found["id"]], now, "updated", "data updated by a new submission"
            )
            plan.outcome[index] = RecordResult(index, ResultStatus.UPDATED, found["id"])
        else:
            restart = _changes(record, found["id"], target, now)
            restart.update(step_id=target.first_step, next_due_at=now)
            plan.restarts.append(restart)
            plan.logs += log_entries(
                [found["id"]],
                now,
                "restarted",
                f"submitted again after it finished: cycle {found['cycle'] + 1} starts",
            )
            plan.outcome[index] = RecordResult(index, ResultStatus.ACCEPTED, found["id"])


async def _write_chunk(
    conn: AsyncConnection,
    target: _Target,
    prepared: _Prepared,
    new_list: dict[str, Any] | None,
    *,
    conflict_safe: bool,
) -> dict[int, RecordResult]:
    """Write one chunk, and the request's list row with the chunk's counts when ``new_list``
    is given (else add them to the list). The fast path inserts optimistically and fails whole
    on a key race; the conflict-safe path (used on retries) skips rows a concurrent writer has
    just inserted and updates those instead."""
    existing = await records_repo.find_by_dedup_keys(conn, target.workflow_id, prepared.keys)
    blocked = await dnc_repo.blocked_numbers(
        conn, target.workspace_id, prepared.numbers, prepared.now
    )
    plan = _Plan()
    _plan(prepared.records, existing, blocked, prepared, target, plan)
    if conflict_safe:
        inserted = await records_repo.insert_records_skipping_conflicts(conn, plan.new_rows)
        raced = [plan.new_records[i] for i in plan.new_records if i not in inserted]
        if raced:
            # These locks come after this chunk's inserts, out of key order: waiting for them
            # could close a cycle with a writer waiting on one of those inserts (a deadlock,
            # found only after deadlock_timeout). Not waiting makes the chunk retry instead,
            # and the retry finds the raced rows up front, in order.
            raced_keys = sorted({r.dedup_key for _, r in raced if r.dedup_key is not None})
            existing = await records_repo.find_by_dedup_keys(
                conn, target.workflow_id, raced_keys, nowait=True
            )
            _plan(raced, existing, set(), prepared, target, plan)
    else:
        await records_repo.insert_records_bulk(conn, plan.new_rows)
    await records_repo.update_records_fields(conn, plan.updates)
    await records_repo.restart_records(conn, plan.restarts)
    await records_repo.insert_logs(conn, plan.logs)
    if target.list_id is not None:
        counts = {"accepted": 0, "updated": 0, "suppressed": 0}
        for result in plan.outcome.values():
            counts[result.status.value] += 1
        if new_list is None:
            await lists_repo.add_counts(conn, target.list_id, counts)
        else:
            await lists_repo.insert_list(conn, new_list | counts)
    return plan.outcome
