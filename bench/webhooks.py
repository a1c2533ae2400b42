"""Webhook delivery: deliveries per second, event-to-delivery latency and a receiver outage.

On PostgreSQL, with a real HTTP/1.1 receiver on loopback (``tests/webhooks/receiver.py``) running
in a process of its own (uvloop), so it does not compete with the deliverer's event loop. It
records, per ``webhook-id``, the first arrival (``time.time()``), the signature headers and a hash
of the body, and counts duplicates; the bench asks it over a pipe. Every phase uses a fresh
database (created, migrated with ``dialflow.db.migrate.upgrade``, dropped), one workspace and one
webhook endpoint pointing at the receiver (``webhooks.service.create_endpoint``,
``allow_private=True``); every event is a ``call.completed`` of ~1.5 KB built by
``payloads.attempt_completed`` and written by the product's own ``emit()`` inside
``db.write()`` transactions.

1. **throughput**, for each W (default 1 and 2): W ``dialflow worker`` processes
   (``DIALFLOW_WEBHOOK_ALLOW_PRIVATE=true``, the product's deliverer settings) are started and
   left idle until they LISTEN; then N events (``emit()`` calls of 500) are written in **one**
   transaction, so the whole backlog appears at once when it commits. Deliveries/s = N / (the
   receiver's last first-arrival - the commit). Every event must arrive; each first arrival's
   body must hash to the stored payload and its signature must verify (raw HMAC recipe).
   The time until every delivery's outcome is written, and the CPU of the workers, of their
   PostgreSQL backends, of the receiver and of the rest of the machine are reported too;
2. **raw baseline**, right after each throughput run: W processes with a bare
   ``httpx.AsyncClient`` on uvloop (like the worker) post the same N payload bytes to the same
   receiver, with headers of the same size (precomputed; no database, no signing), in each
   ``--raw`` configuration ``TRANSPORT:CONCURRENCY``: by default ``lean:128``, the product's
   own transport (``webhooks/transport.py``) with the deliverer's 128 posts in flight: the
   raw limit of the path the deliverer posts through, and the ratio's baseline; then
   ``httpx:10``, httpx's default transport (httpcore) at its best concurrency here, for
   comparison with the earlier runs. Rate = N / (last first-arrival - start signal);
   ratio = deliveries/s / the first configuration's rate;
3. **latency**: one idle ``dialflow worker``; events emitted at ``--rate`` for
   ``--latency-seconds`` (20; quick 5) in a transaction every 10 ms (the batch is sized so the
   offered rate holds even when a transaction is late). The rate must stay below capacity or
   latency only measures the growing queue: by default 1,000/s, or half the slowest measured
   throughput when that is lower. Latency per event = the receiver's first arrival - the time
   the emitting transaction's commit returned (both ``time.time()`` on this machine); also
   reported from the start of the transaction;
4. **outage**: one deliverer (``Deliverer`` in a child process) with an **accelerated clock**
   (``--speedup``, 20x: the 5 s / 5 min / 30 min retries come after 0.25 / 15 / 90 s; its lease
   is scaled by the same factor so it stays 60 real seconds; the product's schedule itself is
   unchanged); events at ``--outage-rate`` (200/s, or half the slowest measured throughput when
   that is lower) for ``--outage-before`` s, then the receiver goes down (stops listening, drops
   every connection) for ``--outage-seconds`` (60; quick 10) while events keep coming, then
   comes back; events keep coming for ``--outage-after`` s. Then the bench waits until every
   event arrived. Reported: emitted, distinct ``webhook-id``s received, missing (must be 0),
   duplicates (allowed: at least once), time to full recovery after the receiver came back
   (real seconds, and what that is on the product's clock), attempts per delivery.

It prints a table, then one JSON object with every figure as the last line.

    .venv/bin/python bench/webhooks.py --quick       # 3,000 events, latency 5 s, outage 10 s
    .venv/bin/python bench/webhooks.py               # 20,000 events, latency 20 s, outage 60 s
    .venv/bin/python bench/webhooks.py --workers 1 --skip-outage
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import queue
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

from bench_common import (
    READY_TIMEOUT_S,
    WORKER_STOP_TIMEOUT_S,
    Cluster,
    Workers,
    backend_cpu_seconds,
    base_versions,
    cpu_seconds,
    fmt,
    machine_busy_seconds,
    machine_info,
    summary_ms,
)

ROOT = Path(__file__).resolve().parent.parent
BACKLOG_CHUNK = 500  # events per emit() call when writing the throughput backlog
TICK_S = 0.010  # the latency and outage phases emit one transaction per tick
POLL_S = 0.1
PIPE_TIMEOUT_S = 60.0
TARGET_DELIVERIES_PER_S = 2_000.0
TARGET_P99_MS = 250.0
USER_AGENT = "dialflow-webhooks/bench-raw"
# A worker's webhook LISTEN connection (its deliverer has started).
WEBHOOK_LISTEN = "LISTEN dialflow_webhooks%"


# --- the event ---------------------------------------------------------------------------------


def _rows(n: int, now: datetime) -> tuple[dict[str, Any], ...]:
    """An attempt, its end, its record and workflow as the engine would hand them over."""
    attempt = {
        "id": 700_000_000_000_000_000 + n,
        "step_id": "call_1",
        "channel": "call",
        "to_address": "+12125551234",
        "from_address": "+13105550000",
        "phone_type": "mobile",
        "provider": "simulator",
        "provider_call_id": None,
        "started_at": now - timedelta(seconds=95),
        "created_at": now - timedelta(seconds=96),
    }
    ended = {
        "status": "completed",
        "provider_call_id": f"sim_{n:012x}",
        "end_reason": "voicemail",
        "answered": False,
        "duration_seconds": 42,
        "message_left": True,
        "transcript": "Agent: Hi Ada, this is Maya from Acme Motors about the service plan for "
        "your Corolla. Please call us back at 310 555 0000. Thank you!",
        "recording_url": f"https://dialflow.example.com/v1/calls/{attempt['id']}/recording",
        "collected_fields": {"callback_requested": True, "best_time": "evening"},
        "ended_at": now,
        "error": None,
    }
    record = {
        "id": 600_000_000_000_000_000 + n,
        "list_id": 500_000_000_000_000_001,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+12125551234",
        "phones": [{"number": "+12125551234", "type": "mobile"}],
        "email": "ada@example.com",
        "zip": "10001",
        "timezone": "America/New_York",
        "external_id": f"0030O0000{n:08d}",
        "case_id": f"CASE-{n:08d}",
        "external_provider": "salesforce",
        "external_url": f"https://acme.my.salesforce.com/0030O0000{n:08d}",
        "profile_id": None,
        "transfer_number": "+13105550100",
        "priority": 5,
        "placeholders": {"car_model": "corolla", "dealer_name": "Acme Motors"},
        "meta": {"crm_id": f"0030O0000{n:08d}", "campaign": "renewals-2026-q4"},
    }
    workflow = {"id": 400_000_000_000_000_001, "key": "RENEWALS", "name": "Renewals"}
    progress = {"day": 1, "call": 2, "workflow_ended": False, "final_outcome": None}
    return attempt, ended, record, progress, workflow


class Events:
    """``call.completed`` events for ``emit()``, numbered across the run."""

    def __init__(self, workspace_id: int) -> None:
        from dialflow.webhooks import payloads  # noqa: PLC0415
        from dialflow.webhooks.events import EventType, NewEvent  # noqa: PLC0415

        self.workspace_id = workspace_id
        self.n = 0
        self._payloads = payloads
        self._type = EventType.CALL_COMPLETED
        self._new = NewEvent

    def take(self, count: int, now: datetime) -> list[Any]:
        out = []
        for _ in range(count):
            self.n += 1
            attempt, ended, record, progress, workflow = _rows(self.n, now)
            data = self._payloads.attempt_completed(attempt, ended, record, progress, workflow, now)
            out.append(
                self._new(
                    self.workspace_id,
                    self._type,
                    data,
                    workflow_id=workflow["id"],
                    record_id=record["id"],
                )
            )
        return out


# --- processes and databases -------------------------------------------------------------------


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _migrate(url: str) -> None:
    from dialflow.db.migrate import upgrade  # noqa: PLC0415

    upgrade(url)


def worker_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALFLOW_")}
    env["DIALFLOW_WEBHOOK_ALLOW_PRIVATE"] = "true"
    if args.batch is not None:
        env["DIALFLOW_WEBHOOK_BATCH_SIZE"] = str(args.batch)
    if args.max_in_flight is not None:
        env["DIALFLOW_WEBHOOK_MAX_IN_FLIGHT"] = str(args.max_in_flight)
    return env


def _unsettled(conn: psycopg.Connection[Any]) -> bool:
    """Whether a delivery is still pending or claimed (probes of the partial indexes)."""
    conn.execute("SET enable_seqscan = off")  # this session only: there are no statistics
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = 'pending') "
        "OR EXISTS (SELECT 1 FROM deliveries WHERE status = 'in_progress')"
    ).fetchone()
    assert row is not None
    return bool(row[0])


def wait_settled(url: str, timeout: float, check: Callable[[], None] | None = None) -> float:
    """Poll until every delivery has its outcome written; answers time.time()."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        while _unsettled(conn):
            if check is not None:
                check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"deliveries still unsettled after {timeout:.0f} s")
            time.sleep(POLL_S)
    return time.time()


def delivery_summary(url: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        statuses = dict(
            conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
        )
        attempts = dict(
            conn.execute("SELECT attempts, count(*) FROM deliveries GROUP BY attempts").fetchall()
        )
        row = conn.execute("SELECT count(*) FROM delivery_attempts").fetchone()
        assert row is not None
        codes = conn.execute(
            "SELECT coalesce(status_code::text, 'error'), count(*) FROM delivery_attempts "
            "GROUP BY 1"
        ).fetchall()
    return {
        "statuses": {str(k): int(v) for k, v in statuses.items()},
        "attempts_per_delivery": {str(k): int(v) for k, v in sorted(attempts.items())},
        "attempt_rows": int(row[0]),
        "attempt_outcomes": {str(k): int(v) for k, v in codes},
    }


def stored_events(url: str) -> dict[str, tuple[bytes, datetime]]:
    """webhook-id -> (the stored envelope, the event's created_at)."""
    from dialflow.webhooks.events import msg_id  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        rows = conn.execute("SELECT id, payload, created_at FROM events").fetchall()
    return {msg_id(int(i)): (bytes(payload), created) for i, payload, created in rows}


# --- the receiver (a process of its own) -------------------------------------------------------


def _receiver_child(conn: Any) -> None:  # pragma: no cover - runs in a child process
    sys.path.insert(0, str(ROOT))
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        asyncio.run(_receive(conn))
    else:
        uvloop.run(_receive(conn))


async def _receive(conn: Any) -> None:  # pragma: no cover - runs in a child process
    from tests.webhooks.receiver import Received, Receiver, Reply  # noqa: PLC0415

    ok = Reply()
    # webhook-id -> (first arrival, webhook-timestamp, webhook-signature, sha256 of the body)
    first: dict[str, tuple[float, str, str, str]] = {}
    counts = {"total": 0}

    def responder(request: Received) -> Reply:
        at = time.time()
        counts["total"] += 1
        headers = request.headers
        webhook_id = headers.get("webhook-id", "")
        if webhook_id not in first:
            first[webhook_id] = (
                at,
                headers.get("webhook-timestamp", ""),
                headers.get("webhook-signature", ""),
                hashlib.sha256(request.body).hexdigest(),
            )
        receiver.requests.clear()  # keep nothing else: the figures above are all we need
        return ok

    receiver = Receiver(responder)
    await receiver.start()

    async def control(command: str) -> Any:
        if command == "count":
            return counts["total"], len(first)
        if command == "stats":
            return {"total": counts["total"], "first": dict(first)}
        if command == "reset":
            first.clear()
            counts["total"] = 0
            return "ok"
        if command == "down":
            await receiver.stop()
            return time.time()
        if command == "up":
            await receiver.start()
            return time.time()
        await receiver.stop()  # quit
        return "ok"

    # The pipe is read and written in threads (it stays blocking, and a big answer does not
    # stall the receiver); one command at a time.
    await asyncio.to_thread(conn.send, receiver.port)
    while True:
        command = await asyncio.to_thread(conn.recv)
        await asyncio.to_thread(conn.send, await control(command))
        if command == "quit":
            return


class ReceiverProcess:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_receiver_child, args=(child,), daemon=True)
        self.proc.start()
        self.port = int(self._recv())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _recv(self) -> Any:
        if not self._conn.poll(PIPE_TIMEOUT_S):
            raise TimeoutError("the receiver process does not answer")
        return self._conn.recv()

    def ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._recv()

    def count(self) -> tuple[int, int]:
        """(requests received, distinct webhook-ids)."""
        total, distinct = self.ask("count")
        return int(total), int(distinct)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid or 0)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("quit")
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)


def wait_received(
    receiver: ReceiverProcess, expected: int, timeout: float, check: Callable[[], None]
) -> float:
    """Poll until the receiver saw ``expected`` distinct ids; answers time.time()."""
    deadline = time.monotonic() + timeout
    while True:
        _total, distinct = receiver.count()
        if distinct >= expected:
            return time.time()
        check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"receiver has {distinct} of {expected} events after {timeout} s")
        time.sleep(POLL_S)


def verify(
    stats: dict[str, Any], stored: dict[str, tuple[bytes, datetime]], secret: str
) -> dict[str, int]:
    """Check every first arrival: body == the stored envelope, signature valid (raw HMAC)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    bad_body = bad_signature = 0
    for webhook_id, (_at, stamp, signature, digest) in stats["first"].items():
        body = stored[webhook_id][0]
        if hashlib.sha256(body).hexdigest() != digest:
            bad_body += 1
        mac = hmac.new(key, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        if "v1," + base64.b64encode(mac).decode() not in signature.split(" "):
            bad_signature += 1
    return {"bodies_wrong": bad_body, "signatures_invalid": bad_signature}


# --- product setup and emission (its own Python API) -------------------------------------------


@dataclass
class Setup:
    workspace_id: int
    endpoint_id: int
    secret: str


async def _setup(url: str, receiver_url: str) -> Setup:
    from dialflow.db.engine import Database  # noqa: PLC0415
    from dialflow.webhooks.service import EndpointChanges, create_endpoint  # noqa: PLC0415
    from dialflow.workspaces.service import create_workspace  # noqa: PLC0415

    db = Database(url)
    try:
        workspace = await create_workspace(db, "bench")
        row = await create_endpoint(
            db,
            workspace.workspace_id,
            EndpointChanges(url=receiver_url, description="bench receiver"),
            allow_private=True,
        )
        return Setup(workspace.workspace_id, int(row["id"]), str(row["secret"]))
    finally:
        await db.dispose()


def setup(url: str, receiver_url: str) -> Setup:
    return asyncio.run(_setup(url, receiver_url))


async def _backlog(
    url: str, workspace_id: int, count: int, ready: Callable[[], None]
) -> tuple[float, float]:
    """Emit ``count`` events in one transaction; ``ready()`` runs before it commits.
    Answers (seconds spent in emit(), time.time() when the commit returned)."""
    from dialflow.clock import utcnow  # noqa: PLC0415
    from dialflow.db.engine import Database  # noqa: PLC0415
    from dialflow.webhooks.events import emit  # noqa: PLC0415

    db = Database(url)
    events = Events(workspace_id)
    try:
        async with db.write() as conn:
            spent = 0.0
            for start in range(0, count, BACKLOG_CHUNK):
                now = utcnow()
                batch = events.take(min(BACKLOG_CHUNK, count - start), now)
                began = time.perf_counter()
                queued = await emit(conn, batch, now)
                spent += time.perf_counter() - began
                if queued != len(batch):
                    raise RuntimeError(f"emit() queued {queued} deliveries for {len(batch)}")
            ready()
        return spent, time.time()
    finally:
        await db.dispose()


@dataclass
class Batch:
    now: datetime  # the emit() time: every event of the batch has it as created_at
    began: float  # time.time() before the transaction
    committed: float  # time.time() when the commit returned
    count: int


async def _steady(
    url: str,
    workspace_id: int,
    rate: float,
    seconds: float,
    hooks: list[tuple[float, Callable[[], float]]],
) -> tuple[list[Batch], list[float], float]:
    """Emit ``rate`` events/s for ``seconds``, one transaction per tick; at each hook's offset
    its function runs in a thread (the emitting goes on) and its answer is kept.
    Answers the batches, the hooks' answers and the achieved rate."""
    from dialflow.db.engine import Database  # noqa: PLC0415
    from dialflow.webhooks.events import emit  # noqa: PLC0415

    db = Database(url)
    events = Events(workspace_id)
    batches: list[Batch] = []
    pending = sorted(hooks, key=lambda hook: hook[0])
    started: list[asyncio.Task[float]] = []
    last = datetime.min.replace(tzinfo=UTC)
    try:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        tick = begin
        emitted = 0
        while (elapsed := loop.time() - begin) < seconds:
            while pending and elapsed >= pending[0][0]:
                started.append(asyncio.create_task(asyncio.to_thread(pending.pop(0)[1])))
            due = int(rate * elapsed) - emitted
            if due > 0:
                now = max(datetime.now(UTC), last + timedelta(microseconds=1))
                last = now
                batch = events.take(due, now)
                began = time.time()
                async with db.write() as conn:
                    queued = await emit(conn, batch, now)
                batches.append(Batch(now, began, time.time(), due))
                if queued != due:
                    raise RuntimeError(f"emit() queued {queued} deliveries for {due}")
                emitted += due
            tick += TICK_S
            pause = tick - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            else:  # late: the next batch is bigger, the offered rate holds
                tick = loop.time()
        elapsed = loop.time() - begin
        for _offset, hook in pending:  # hooks past the end run now
            started.append(asyncio.create_task(asyncio.to_thread(hook)))
        answers = [await task for task in started]
        return batches, answers, emitted / elapsed
    finally:
        await db.dispose()


def _commit_times(
    stored: dict[str, tuple[bytes, datetime]], batches: list[Batch]
) -> dict[str, Batch]:
    by_now = {batch.now: batch for batch in batches}
    return {webhook_id: by_now[created] for webhook_id, (_body, created) in stored.items()}


# --- statistics --------------------------------------------------------------------------------


# --- 1. throughput -----------------------------------------------------------------------------


def run_throughput(
    args: argparse.Namespace,
    cluster: Cluster,
    receiver: ReceiverProcess,
    count: int,
    logdir: Path,
) -> tuple[dict[str, Any], list[bytes]]:
    label = f"tp_w{count}"
    url = cluster.new_database(label)
    try:
        ids = setup(url, receiver.url)
        receiver.ask("reset")
        workers = Workers(url, count, worker_env(args), logdir, label)
        marks: dict[str, float] = {}
        load_before = _load()
        try:
            workers.start()
            workers.wait_listening(WEBHOOK_LISTEN, POLL_S)
            time.sleep(0.5)  # the first claim loop has gone idle

            def ready() -> None:
                marks["busy0"] = machine_busy_seconds()
                marks["own0"] = cpu_seconds(os.getpid())
                marks["workers0"] = workers.cpu_seconds()
                marks["receiver0"] = receiver.cpu_seconds()

            emit_s, committed = asyncio.run(_backlog(url, ids.workspace_id, args.events, ready))
            wait_received(receiver, args.events, args.timeout, workers.check_alive)
            settled = wait_settled(url, args.timeout, workers.check_alive)
            # Before stopping: a process's CPU time leaves /proc with it.
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                pg_cpu = backend_cpu_seconds(conn, url, exclude_own=True)
            worker_cpu = workers.cpu_seconds() - marks["workers0"]
            receiver_cpu = receiver.cpu_seconds() - marks["receiver0"]
            own_cpu = cpu_seconds(os.getpid()) - marks["own0"]
            busy = machine_busy_seconds() - marks["busy0"]
        finally:
            workers.stop()
        stats = receiver.ask("stats")
        stored = stored_events(url)
        summary = delivery_summary(url)
    finally:
        cluster.drop(url)
    arrivals = sorted(entry[0] for entry in stats["first"].values())
    missing = len(set(stored) - set(stats["first"]))
    if len(stored) != args.events or missing:
        raise RuntimeError(f"{len(stored)} events stored, {missing} never arrived")
    checks = verify(stats, stored, ids.secret)
    wall = settled - committed
    other = busy - worker_cpu - pg_cpu - receiver_cpu - own_cpu
    result = {
        "deliveries_per_s": round(args.events / (arrivals[-1] - committed)),
        "to_last_arrival_s": round(arrivals[-1] - committed, 3),
        "first_arrival_after_commit_ms": round((arrivals[0] - committed) * 1000, 1),
        "span_first_to_last_s": round(arrivals[-1] - arrivals[0], 3),
        "settled_s": round(wall, 3),
        "received": stats["total"],
        "duplicates": stats["total"] - len(stats["first"]),
        **checks,
        "deliveries": summary,
        "emit_events_per_s": round(args.events / emit_s),
        "cpu_s": {
            "workers": round(worker_cpu, 2),
            "postgres": round(pg_cpu, 2),
            "receiver": round(receiver_cpu, 2),
            "other": round(max(0.0, other), 2),
        },
        "cpu_us_per_delivery": {
            "workers": round(worker_cpu / args.events * 1e6),
            "postgres": round(pg_cpu / args.events * 1e6),
            "receiver": round(receiver_cpu / args.events * 1e6),
        },
        "other_load_cores": round(max(0.0, other) / wall, 2),
        "load_before": load_before,
        "load_after": _load(),
    }
    bodies = [stored[webhook_id][0] for webhook_id in sorted(stored)]
    ok = summary["statuses"] == {"succeeded": args.events}
    if not ok:
        raise RuntimeError(f"deliveries not all succeeded: {summary['statuses']}")
    return result, bodies


# --- 2. raw baseline ---------------------------------------------------------------------------


def _raw_child(
    url: str, bodies: list[bytes], prefix: str, spec: str, go: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    import uvloop  # noqa: PLC0415

    try:
        uvloop.run(_raw_post(url, bodies, prefix, spec, go, results))
    except Exception as exc:
        results.put(("error", prefix, 0, repr(exc)))


async def _raw_post(
    url: str, bodies: list[bytes], prefix: str, spec: str, go: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    import ssl  # noqa: PLC0415

    import httpx  # noqa: PLC0415

    from dialflow.webhooks.transport import LeanTransport  # noqa: PLC0415

    kind, concurrency = _raw_spec(spec)

    stamp = str(int(time.time()))
    signature = "v1," + base64.b64encode(bytes(32)).decode()  # the size of a real one
    headers = [
        {
            "webhook-id": f"{prefix}{i:018d}",
            "webhook-timestamp": stamp,
            "webhook-signature": signature,
        }
        for i in range(len(bodies))
    ]
    failed = 0
    transport = (
        LeanTransport(ssl_context=ssl.create_default_context(), max_idle_per_origin=concurrency)
        if kind == "lean"
        else None
    )
    async with httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(10.0),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        headers={"user-agent": USER_AGENT, "content-type": "application/json"},
    ) as client:
        results.put(("ready", prefix, 0, ""))
        if not go.wait(READY_TIMEOUT_S):
            raise TimeoutError("no start signal")
        started = time.process_time()
        order = iter(range(len(bodies)))

        async def lane() -> None:
            nonlocal failed
            for i in order:
                response = await client.post(url, content=bodies[i], headers=headers[i])
                if response.status_code != 200:
                    failed += 1

        await asyncio.gather(*(lane() for _ in range(concurrency)))
        cpu = time.process_time() - started
    results.put(("done", prefix, failed, str(cpu)))


def _raw_spec(spec: str) -> tuple[str, int]:
    """``lean:128`` -> ("lean", 128): which transport, how many posts at a time."""
    kind, _, concurrency = spec.partition(":")
    if kind not in ("lean", "httpx") or not concurrency.isdigit():
        raise ValueError(f"--raw takes TRANSPORT:CONCURRENCY (lean or httpx), not {spec!r}")
    return kind, int(concurrency)


def run_raw(
    args: argparse.Namespace,
    receiver: ReceiverProcess,
    bodies: list[bytes],
    count: int,
    spec: str,
) -> dict[str, Any]:
    receiver.ask("reset")
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    results = ctx.Queue()
    children = [
        ctx.Process(
            target=_raw_child,
            args=(
                receiver.url,
                bodies[i::count],
                f"raw_{i}_",
                spec,
                go,
                results,
            ),
            daemon=True,
        )
        for i in range(count)
    ]
    cpu = 0.0
    try:
        for child in children:
            child.start()
        for _ in range(count):
            kind, owner, _n, info = results.get(timeout=READY_TIMEOUT_S)
            if kind != "ready":
                raise RuntimeError(f"raw poster {owner} failed to start: {info}")
        receiver0 = receiver.cpu_seconds()
        started = time.time()
        go.set()
        finished = 0
        deadline = time.monotonic() + args.timeout
        while finished < count:
            try:
                kind, owner, failed, info = results.get(timeout=1.0)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError("the raw loop did not finish in time") from None
                continue
            if kind != "done" or failed:
                raise RuntimeError(f"raw poster {owner} failed: {failed} {info}")
            cpu += float(info)
            finished += 1
        receiver_cpu = receiver.cpu_seconds() - receiver0
        for child in children:
            child.join(timeout=10)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join(timeout=5)
    stats = receiver.ask("stats")
    if len(stats["first"]) != len(bodies):
        raise RuntimeError(f"raw: receiver has {len(stats['first'])} of {len(bodies)}")
    last = max(entry[0] for entry in stats["first"].values())
    return {
        "raw_per_s": round(len(bodies) / (last - started)),
        "elapsed_s": round(last - started, 3),
        "cpu_us_per_post": {
            "posters": round(cpu / len(bodies) * 1e6),
            "receiver": round(receiver_cpu / len(bodies) * 1e6),
        },
    }


# --- 3. latency --------------------------------------------------------------------------------


def run_latency(
    args: argparse.Namespace, cluster: Cluster, receiver: ReceiverProcess, logdir: Path
) -> dict[str, Any]:
    from standardwebhooks.webhooks import Webhook  # noqa: PLC0415

    url = cluster.new_database("lat")
    try:
        ids = setup(url, receiver.url)
        receiver.ask("reset")
        workers = Workers(url, args.latency_workers, worker_env(args), logdir, "lat")
        load_before = _load()
        try:
            workers.start()
            workers.wait_listening(WEBHOOK_LISTEN, POLL_S)
            time.sleep(1.0)
            batches, _answers, offered = asyncio.run(
                _steady(url, ids.workspace_id, args.latency_rate, args.latency_seconds, [])
            )
            emitted = sum(batch.count for batch in batches)
            wait_received(receiver, emitted, args.timeout, workers.check_alive)
            wait_settled(url, args.timeout, workers.check_alive)
        finally:
            workers.stop()
        stats = receiver.ask("stats")
        stored = stored_events(url)
        summary = delivery_summary(url)
    finally:
        cluster.drop(url)
    if len(stored) != emitted or set(stored) != set(stats["first"]):
        raise RuntimeError(f"latency: {emitted} emitted, {len(stats['first'])} received")
    checks = verify(stats, stored, ids.secret)
    # The reference verifier too, on a sample (it checks the timestamp against the clock).
    verifier = Webhook(ids.secret)
    for webhook_id in sorted(stats["first"])[:: max(1, len(stored) // 100)]:
        _at, stamp, signature, _digest = stats["first"][webhook_id]
        verifier.verify(
            stored[webhook_id][0],
            {
                "webhook-id": webhook_id,
                "webhook-timestamp": stamp,
                "webhook-signature": signature,
            },
        )
    batch_of = _commit_times(stored, batches)
    after_commit = [
        (entry[0] - batch_of[webhook_id].committed) * 1000
        for webhook_id, entry in stats["first"].items()
    ]
    from_start = [
        (entry[0] - batch_of[webhook_id].began) * 1000
        for webhook_id, entry in stats["first"].items()
    ]
    emit_ms = [(batch.committed - batch.began) * 1000 for batch in batches]
    return {
        "workers": args.latency_workers,
        "offered_events_per_s": round(offered),
        "seconds": args.latency_seconds,
        "transactions": len(batches),
        "events_per_transaction_median": statistics.median(b.count for b in batches),
        "after_commit_ms": summary_ms(after_commit),
        "from_transaction_start_ms": summary_ms(from_start),
        "emit_transaction_ms": summary_ms(emit_ms),
        "duplicates": stats["total"] - len(stats["first"]),
        **checks,
        "reference_verifier_checked": len(range(0, len(stored), max(1, len(stored) // 100))),
        "deliveries": summary,
        "load_before": load_before,
        "load_after": _load(),
    }


# --- 4. outage ---------------------------------------------------------------------------------


def _deliverer_child(
    url: str, speedup: float, stop: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    try:
        asyncio.run(_deliver(url, speedup, stop, results))
    except Exception as exc:
        results.put(("error", repr(exc)))


async def _deliver(
    url: str, speedup: float, stop: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    from dialflow.db.engine import Database  # noqa: PLC0415
    from dialflow.webhooks.delivery import Deliverer, DelivererConfig  # noqa: PLC0415

    origin, origin_s = datetime.now(UTC), time.monotonic()

    def clock() -> datetime:
        """Wall time that runs ``speedup`` times faster from the moment the child started."""
        return origin + timedelta(seconds=(time.monotonic() - origin_s) * speedup)

    db = Database(url)
    defaults = DelivererConfig()
    deliverer = Deliverer(
        db,
        DelivererConfig(
            allow_private=True,
            # The lease is measured on the same clock: scaled, it stays 60 real seconds.
            lease=defaults.lease * speedup,
        ),
        clock=clock,
    )
    await deliverer.start()
    results.put(("ready", ""))
    await asyncio.to_thread(stop.wait)
    cpu = time.process_time()
    await deliverer.stop()
    await db.dispose()
    results.put(("done", str(cpu)))


def run_outage(
    args: argparse.Namespace, cluster: Cluster, receiver: ReceiverProcess
) -> dict[str, Any]:
    url = cluster.new_database("outage")
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    results = ctx.Queue()
    child = ctx.Process(
        target=_deliverer_child, args=(url, args.speedup, stop, results), daemon=True
    )

    def alive() -> None:
        if not child.is_alive():
            raise RuntimeError(f"the deliverer process exited with {child.exitcode}")

    total_s = args.outage_before + args.outage_seconds + args.outage_after
    cpu = 0.0
    try:
        ids = setup(url, receiver.url)
        receiver.ask("reset")
        load_before = _load()
        child.start()
        kind, info = results.get(timeout=READY_TIMEOUT_S)
        if kind != "ready":
            raise RuntimeError(f"the deliverer did not start: {info}")
        hooks = [
            (args.outage_before, lambda: float(receiver.ask("down"))),
            (args.outage_before + args.outage_seconds, lambda: float(receiver.ask("up"))),
        ]
        batches, (down_at, up_at), offered = asyncio.run(
            _steady(url, ids.workspace_id, args.outage_events_per_s, total_s, hooks)
        )
        emitted = sum(batch.count for batch in batches)
        received = wait_received(receiver, emitted, args.outage_timeout, alive)
        settled = wait_settled(url, args.timeout, alive)
        stop.set()
        kind, info = results.get(timeout=WORKER_STOP_TIMEOUT_S + 10)
        if kind != "done":
            raise RuntimeError(f"the deliverer failed: {info}")
        cpu = float(info)
        child.join(timeout=10)
        stats = receiver.ask("stats")
        stored = stored_events(url)
        summary = delivery_summary(url)
    finally:
        stop.set()
        if child.is_alive():
            child.join(timeout=WORKER_STOP_TIMEOUT_S)
        if child.is_alive():
            child.terminate()
            child.join(timeout=5)
        cluster.drop(url)
    got = set(stats["first"])
    missing = len(set(stored) - got)
    unknown = len(got - set(stored))
    checks = verify(
        {"first": {k: v for k, v in stats["first"].items() if k in stored}}, stored, ids.secret
    )
    batch_of = _commit_times(stored, batches)
    during = [w for w, batch in batch_of.items() if down_at <= batch.committed < up_at]
    last = max(entry[0] for entry in stats["first"].values())
    recovery = last - up_at
    return {
        "speedup": args.speedup,
        "offered_events_per_s": round(offered),
        "down_s": round(up_at - down_at, 2),
        "emitted": emitted,
        "emitted_while_down": len(during),
        "received_distinct": len(got),
        "missing": missing,
        "unknown": unknown,
        "requests": stats["total"],
        "duplicates": stats["total"] - len(got),
        **checks,
        "recovery_s": round(recovery, 2),
        "recovery_on_product_clock_min": round(recovery * args.speedup / 60, 1),
        "all_received_after_up_s": round(received - up_at, 2),
        "settled_after_up_s": round(settled - up_at, 2),
        "deliverer_cpu_s": round(cpu, 2),
        "deliveries": summary,
        "load_before": load_before,
        "load_after": _load(),
    }


# --- report ------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    versions = base_versions()
    for name in ("psycopg", "sqlalchemy", "httpx", "httpcore", "standardwebhooks", "uvloop"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def print_table(report: dict[str, Any]) -> None:
    print()
    machine, versions = report["machine"], report["versions"]
    print(
        f"{report['started_at']}: {machine['nproc']} CPUs ({machine['cpu']}), "
        f"{machine['memory_gib']} GiB; load average at the end {report['load_end']}; "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
    )
    print(
        f"webhooks: N={report['events']:,} events of {report['payload_bytes']:,} B, "
        f"deliverer batch {report['batch_size']} / max in flight {report['max_in_flight']} / "
        f"raw loops (transport:posts at a time, per process) {report['raw']}, "
        f"quick={report['quick']}"
    )
    header = (
        f"{'W':>2} {'deliveries/s':>12} {'to last s':>9} {'settled s':>9} {'raw/s':>7} "
        f"{'ratio':>6} {'dups':>5} {'CPU us/delivery: workers':>25} {'postgres':>9} "
        f"{'receiver':>9} {'other cores':>11}"
    )
    print(header)
    print("-" * len(header))
    for w, item in report["throughput"].items():
        per = item["cpu_us_per_delivery"]
        print(
            f"{w:>2} {fmt(item['deliveries_per_s']):>12} {item['to_last_arrival_s']:>9.2f} "
            f"{item['settled_s']:>9.2f} {fmt(item['raw_per_s']):>7} "
            f"{fmt(item['ratio'], 3):>6} {item['duplicates']:>5} {per['workers']:>25} "
            f"{per['postgres']:>9} {per['receiver']:>9} {item['other_load_cores']:>11}"
        )
    for w, item in report["throughput"].items():
        raws = "; ".join(
            f"{spec}: {raw['raw_per_s']:,} posts/s, {raw['cpu_us_per_post']['posters']}"
            f" us/post in the posters, {raw['cpu_us_per_post']['receiver']} in the receiver"
            for spec, raw in item["raw"].items()
        )
        print(
            f"W={w}: bodies wrong {item['bodies_wrong']}, signatures invalid "
            f"{item['signatures_invalid']}; emit() wrote {item['emit_events_per_s']:,} events/s; "
            f"load {item['load_before']} -> {item['load_after']}; raw loops: {raws or '-'}"
        )
    lat = report.get("latency")
    if lat:
        a, s, e = (
            lat["after_commit_ms"],
            lat["from_transaction_start_ms"],
            lat["emit_transaction_ms"],
        )
        print()
        print(
            f"latency (W={lat['workers']}, offered {lat['offered_events_per_s']:,} events/s for "
            f"{lat['seconds']:g} s, {lat['transactions']} transactions of "
            f"{lat['events_per_transaction_median']:g}): after commit p50 {a['p50_ms']:.1f} / "
            f"p99 {a['p99_ms']:.1f} / max {a['max_ms']:.1f} ms (n={a['count']}); from the "
            f"transaction's start p50 {s['p50_ms']:.1f} / p99 {s['p99_ms']:.1f} ms; the emit "
            f"transaction p50 {e['p50_ms']:.1f} / p99 {e['p99_ms']:.1f} ms; duplicates "
            f"{lat['duplicates']}, signatures invalid {lat['signatures_invalid']}; load "
            f"{lat['load_before']} -> {lat['load_after']}"
        )
    out = report.get("outage")
    if out:
        print()
        print(
            f"outage (one in-process Deliverer, its clock ACCELERATED x{out['speedup']:g}; "
            f"{out['offered_events_per_s']} events/s; receiver down {out['down_s']:.1f} s): "
            f"emitted {out['emitted']:,} ({out['emitted_while_down']:,} while down), received "
            f"{out['received_distinct']:,} distinct, missing {out['missing']}, duplicates "
            f"{out['duplicates']}, unknown {out['unknown']}; every event arrived "
            f"{out['recovery_s']:.1f} s after the receiver came back (on the product's clock "
            f"{out['recovery_on_product_clock_min']:.1f} min); attempts per delivery "
            f"{out['deliveries']['attempts_per_delivery']}; load {out['load_before']} -> "
            f"{out['load_after']}"
        )
    print()
    met = report["targets"]
    for w, ok in met["deliveries_per_s_met"].items():
        print(
            f"target W={w}: >= {TARGET_DELIVERIES_PER_S:,.0f} deliveries/s "
            f"{'met' if ok else 'MISSED'}"
        )
    if met["p99_met"] is not None:
        print(
            f"target: p99 <= {TARGET_P99_MS:.0f} ms at {lat['offered_events_per_s']:,} events/s "
            f"{'met' if met['p99_met'] else 'MISSED'}"
        )
    if met["nothing_missing"] is not None:
        print(f"outage: nothing missing: {'yes' if met['nothing_missing'] else 'NO'}")


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="3,000 events, 5 s, outage 10 s")
    parser.add_argument("--events", type=int, help="throughput backlog (default 20,000)")
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--batch", type=int, help="DIALFLOW_WEBHOOK_BATCH_SIZE")
    parser.add_argument("--max-in-flight", type=int, help="DIALFLOW_WEBHOOK_MAX_IN_FLIGHT")
    parser.add_argument(
        "--raw",
        default="lean:128,httpx:10",
        help="raw loops as TRANSPORT:POSTS_AT_A_TIME per process (lean = the product's "
        "transport, httpx = httpx's default one); the first is the ratio's baseline",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="latency: events/s (default 1,000, or half the W=1 throughput when lower)",
    )
    parser.add_argument("--latency-seconds", type=float, help="latency: seconds (default 20)")
    parser.add_argument("--latency-workers", type=int, default=1)
    parser.add_argument(
        "--outage-rate",
        type=float,
        help="outage: events/s (default 200, or half the W=1 throughput when lower)",
    )
    parser.add_argument("--outage-seconds", type=float, help="receiver down (default 60)")
    parser.add_argument("--outage-before", type=float, help="seconds before (default 5)")
    parser.add_argument("--outage-after", type=float, help="seconds after (default 5)")
    parser.add_argument("--speedup", type=float, default=20.0, help="outage deliverer's clock")
    parser.add_argument("--outage-timeout", type=float, default=900.0)
    parser.add_argument("--timeout", type=float, help="seconds to wait for a phase")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-outage", action="store_true")
    args = parser.parse_args(argv)
    args.events = args.events or (3_000 if args.quick else 20_000)
    args.latency_seconds = args.latency_seconds or (5.0 if args.quick else 20.0)
    args.outage_seconds = args.outage_seconds or (10.0 if args.quick else 60.0)
    args.outage_before = args.outage_before or (2.0 if args.quick else 5.0)
    args.outage_after = args.outage_after or (2.0 if args.quick else 5.0)
    args.timeout = args.timeout or 300.0 + args.events / 20
    args.worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    args.raw_specs = [spec.strip() for spec in args.raw.split(",") if spec.strip()]
    for spec in args.raw_specs:
        _raw_spec(spec)
    if args.events <= 0 or args.speedup < 1 or not args.worker_counts:
        parser.error("events and workers must be positive, speedup at least 1")
    return args


def _below_capacity(asked: float | None, default: float, throughput: dict[str, Any]) -> float:
    """The rate asked for, or the default capped at half the slowest measured throughput."""
    if asked is not None:
        return asked
    rates = [item["deliveries_per_s"] for item in throughput.values()]
    return min([default, *(0.5 * rate for rate in rates)])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from dialflow.webhooks.delivery import DelivererConfig  # noqa: PLC0415

    defaults = DelivererConfig()
    cluster = Cluster("dfbench_webhooks", _migrate)
    logdir = Path(tempfile.mkdtemp(prefix="dfbench-webhooks-"))
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    receiver = ReceiverProcess()
    ok = False
    try:
        throughput: dict[str, Any] = {}
        payload_bytes = 0
        for count in args.worker_counts:
            result, bodies = run_throughput(args, cluster, receiver, count, logdir)
            payload_bytes = round(statistics.mean(len(body) for body in bodies))
            print(
                f"W={count}: {result['deliveries_per_s']:,} deliveries/s "
                f"(last arrival {result['to_last_arrival_s']:.2f} s after the commit, settled "
                f"{result['settled_s']:.2f} s; CPU s {result['cpu_s']}; load "
                f"{result['load_after']})",
                flush=True,
            )
            raws: dict[str, Any] = {}
            for spec in [] if args.skip_raw else args.raw_specs:
                raw = run_raw(args, receiver, bodies, count, spec)
                raws[spec] = raw
                print(
                    f"W={count} raw loop {spec}: {raw['raw_per_s']:,} posts/s {raw}",
                    flush=True,
                )
            baseline = next(iter(raws.values()), None)
            result["raw"] = raws
            result["raw_per_s"] = baseline["raw_per_s"] if baseline else None
            result["ratio"] = (
                round(result["deliveries_per_s"] / baseline["raw_per_s"], 3) if baseline else None
            )
            throughput[str(count)] = result
        args.latency_rate = _below_capacity(args.rate, 1000.0, throughput)
        args.outage_events_per_s = _below_capacity(args.outage_rate, 200.0, throughput)
        latency: dict[str, Any] = {}
        if not args.skip_latency:
            latency = run_latency(args, cluster, receiver, logdir)
            print(f"latency: {json.dumps(latency)}", flush=True)
        outage: dict[str, Any] = {}
        if not args.skip_outage:
            outage = run_outage(args, cluster, receiver)
            print(f"outage: {json.dumps(outage)}", flush=True)
        report = {
            "bench": "webhooks",
            "started_at": started_at,
            "quick": args.quick,
            "events": args.events,
            "payload_bytes": payload_bytes,
            "batch_size": args.batch or defaults.batch_size,
            "max_in_flight": args.max_in_flight or defaults.max_in_flight,
            "raw": args.raw_specs,
            "throughput": throughput,
            "latency": latency,
            "outage": outage,
            "targets": {
                "deliveries_per_s": TARGET_DELIVERIES_PER_S,
                "p99_ms": TARGET_P99_MS,
                "deliveries_per_s_met": {
                    w: item["deliveries_per_s"] >= TARGET_DELIVERIES_PER_S
                    for w, item in throughput.items()
                },
                "p99_met": latency["after_commit_ms"]["p99_ms"] <= TARGET_P99_MS
                if latency
                else None,
                "nothing_missing": outage["missing"] == 0 if outage else None,
            },
            "load_end": _load(),
            "machine": machine_info(),
            "versions": _versions(),
        }
        print_table(report)
        print(json.dumps(report, separators=(",", ":")))
        ok = True
    finally:
        receiver.close()
        cluster.drop_all()
        if ok:
            shutil.rmtree(logdir, ignore_errors=True)
        else:
            print(f"worker logs kept in {logdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
