"""Dispatch: dials started per second and intake-to-first-dial latency, on PostgreSQL.

The simulator answers at once (``DIALFLOW_SIMULATOR_TIME_SCALE=0``), so what is measured is the
engine itself: claim, checks, attempt rows, provider bookkeeping and outcomes. For each worker
count W (default 1 and 2) this:

1. **throughput**, ``--repeat`` times: creates a fresh database (``dialflow db upgrade``), loads
   N due records into an active workflow through the product's own ``ingest`` (requests of
   10,000), runs ``ANALYZE records``, then starts W ``dialflow worker`` processes and polls
   the database every 0.2 s until every record is completed. Dials/s = N / (last attempt's
   ``created_at`` - first attempt's ``created_at``); the wall time from starting the workers and
   the CPU time of the workers, of their PostgreSQL backends and of the rest of the machine
   are reported too;
2. **raw baseline**, in the last throughput database: loads the same N records into a fresh
   (draft, so no worker could touch it) workflow and runs a bare psycopg loop in W processes:
   claim a batch (the product's claim statement: materialized CTE, ``FOR UPDATE SKIP LOCKED``),
   commit, complete it, commit; batch size = the workers' batch size. Rate = N / elapsed;
   ratio = the product's dials/s / the raw rate;
3. **latency with idle workers**: a fresh database with an empty active workflow, W workers
   started and left idle, then records added through ``ingest`` one every 20 ms and then in
   bursts of 100 every 200 ms (``--latency-seconds`` each). Latency per record = its first
   attempt's ``created_at`` - its ``created_at`` (both written by the product, Python UTC
   clocks on this machine); p50 / p99 / max. Also reported: each ``ingest`` call's duration and
   the first dial measured from when the call returned (the engine's own share).

It prints a table, then one JSON object with every figure as the last line.

    .venv/bin/python bench/dispatch.py --quick
    .venv/bin/python bench/dispatch.py                       # 50,000 records x 3, W = 1 and 2
    .venv/bin/python bench/dispatch.py --batch 200                # DIALFLOW_DIALER_BATCH_SIZE
    .venv/bin/python bench/dispatch.py --workers 1 --skip-latency --poll-seconds 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

from bench_common import (
    READY_TIMEOUT_S,
    Cluster,
    Workers,
    backend_cpu_seconds,
    base_versions,
    bin_path,
    cpu_seconds,
    fmt,
    machine_busy_seconds,
    machine_info,
    summary_ms,
)
from bench_phones import LINES_PER_EXCHANGE, valid_prefixes
from dialflow.settings import Settings

REQUEST_RECORDS = 10_000  # the product's per-request maximum
POLL_S = 0.2
CLI_TIMEOUT_S = 180.0
IDLE_SETTLE_S = 2.0
TARGET_DIALS_PER_S = 5_000.0
TARGET_P99_MS = 250.0

# Idle-latency load shapes: (name, records per request, seconds between requests).
SHAPES = (("single", 1, 0.020), ("burst100", 100, 0.200))

CLAIM_SQL = """
WITH due AS MATERIALIZED (
    SELECT id FROM records
    WHERE workflow_id = %s AND status = 'pending' AND next_due_at <= now()
    ORDER BY dispatch_rank, next_due_at, id
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
UPDATE records r
SET status = 'in_progress', lease_owner = %s, lease_expires_at = now() + interval '30 seconds'
FROM due WHERE r.id = due.id
RETURNING r.id
"""
COMPLETE_SQL = (
    "UPDATE records SET status = 'completed', lease_owner = NULL "
    "WHERE id = ANY(%s) AND lease_owner = %s"
)


def _definition() -> dict[str, Any]:
    return {
        "calling_hours": {
            "start": "00:00",
            "end": "23:59",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "allow_outside_legal_hours": True,
        },
        "retry": {"max_attempts": 1, "daily_cap_per_phone": 50},
    }


# --- phones ----------------------------------------------------------------------------------


class Phones:
    """Distinct valid NANP numbers, handed out in order (never twice in one run)."""

    def __init__(self) -> None:
        self.prefixes = valid_prefixes()
        self.used = 0

    def take(self, count: int) -> list[dict[str, str]]:
        start, self.used = self.used, self.used + count
        if self.used > len(self.prefixes) * LINES_PER_EXCHANGE:
            raise RuntimeError("phone space exhausted")
        out = []
        for n in range(start, start + count):
            prefix, line = divmod(n, LINES_PER_EXCHANGE)
            out.append({"phone": f"{self.prefixes[prefix]}{line:04d}"})
        return out


# --- processes and databases -----------------------------------------------------------------


def _migrate(url: str) -> None:
    subprocess.run(
        [bin_path("dialflow"), "db", "upgrade", "--database-url", url],
        check=True,
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
    )


def worker_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALFLOW_")}
    env.update(
        DIALFLOW_SIMULATOR_TIME_SCALE="0",
        DIALFLOW_SIMULATOR_SEED="1",
        DIALFLOW_DIALER_BATCH_SIZE=str(args.batch),
    )
    if args.max_in_flight is not None:
        env["DIALFLOW_DIALER_MAX_IN_FLIGHT"] = str(args.max_in_flight)
    if args.poll_seconds is not None:
        env["DIALFLOW_DIALER_POLL_SECONDS"] = str(args.poll_seconds)
    return env


# --- product setup (its own Python API) ------------------------------------------------------


async def _setup(url: str, status: str, records: list[dict[str, str]]) -> tuple[int, int, float]:
    """Workspace + workflow (+ records through ``ingest``); answers ids and load seconds."""
    from dialflow.db.engine import Database  # noqa: PLC0415
    from dialflow.intake.service import ingest  # noqa: PLC0415
    from dialflow.workflows.definition import WorkflowCreate, WorkflowDefinition  # noqa: PLC0415
    from dialflow.workflows.service import create_workflow  # noqa: PLC0415
    from dialflow.workspaces.service import create_workspace  # noqa: PLC0415

    db = Database(url)
    try:
        workspace = await create_workspace(db, "bench")
        definition = WorkflowDefinition.model_validate(_definition())
        workflow = await create_workflow(
            db,
            workspace.workspace_id,
            WorkflowCreate(name="bench", status=status, definition=definition),
        )
        started = time.perf_counter()
        await _ingest_all(db, workspace.workspace_id, workflow.id, records, ingest)
        return workspace.workspace_id, int(workflow.id), time.perf_counter() - started
    finally:
        await db.dispose()


async def _ingest_all(
    db: Any, workspace_id: int, workflow_id: int, records: list[dict[str, str]], ingest: Any
) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(records), REQUEST_RECORDS):
        outcome = await ingest(
            db,
            workspace_id=workspace_id,
            workflow_ref=workflow_id,
            records=records[start : start + REQUEST_RECORDS],
            max_records=REQUEST_RECORDS,
            chunk_size=1000,
        )
        counts = outcome.counts()
        if counts["accepted"] != counts["total"]:
            raise RuntimeError(f"ingest did not accept every record: {counts}")
        ids += [r.record_id for r in outcome.results if r.record_id is not None]
    return ids


def analyze(url: str) -> None:
    """Fresh statistics for the loaded records (the claim's plan), so runs do not depend on
    when autovacuum gets to the table. ``attempts`` is left alone: analyzing it while empty
    records reltuples = 0, which drops the planner's 10-page floor for never-analyzed tables
    and turns the engine's per-attempt updates into sequential scans."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("ANALYZE records")


def _remaining(conn: psycopg.Connection[Any], workflow_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM records "
        "WHERE workflow_id = %s AND status IN ('pending', 'in_progress')",
        (workflow_id,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _unfinished(conn: psycopg.Connection[Any], workflow_id: int) -> bool:
    """Whether any record of the workflow is still pending or claimed: index probes that stop
    at the first row, cheap enough to ask every 0.2 s during a run (a count scans the table:
    ~35 ms of PostgreSQL CPU per poll at 50,000 records, taken from the engine)."""
    conn.execute("SET enable_seqscan = off")  # this session only: stale stats say "seq scan"
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM records WHERE workflow_id = %s AND status = 'pending') "
        "OR EXISTS (SELECT 1 FROM records WHERE workflow_id = %s AND status = 'in_progress')",
        (workflow_id, workflow_id),
    ).fetchone()
    assert row is not None
    return bool(row[0])


def wait_completed(
    conn: psycopg.Connection[Any], workflow_id: int, workers: Workers | None, timeout: float
) -> float:
    """Poll every 0.2 s until no record of the workflow is left; answers monotonic time."""
    deadline = time.monotonic() + timeout
    while True:
        busy = _unfinished(conn, workflow_id)
        now = time.monotonic()
        if not busy:
            left = _remaining(conn, workflow_id)
            if left == 0:
                return now
        if workers is not None:
            workers.check_alive()
        if now > deadline:
            left = _remaining(conn, workflow_id)
            raise TimeoutError(f"{left} records still not completed after {timeout:.0f} s")
        time.sleep(POLL_S)


# --- 1. throughput ---------------------------------------------------------------------------


@dataclass
class Throughput:
    dials_per_s: float
    wall_s: float
    span_s: float
    attempts: int
    batches: int
    per_worker: list[int]
    load_s: float
    worker_cpu_s: float
    postgres_cpu_s: float
    other_cpu_s: float  # everything else on the machine during the run (other users' load)


def run_throughput(
    args: argparse.Namespace,
    cluster: Cluster,
    phones: Phones,
    count: int,
    label: str,
    logdir: Path,
) -> tuple[Throughput, str]:
    url = cluster.new_database(label)
    _ws, workflow_id, load_s = asyncio.run(_setup(url, "active", phones.take(args.records)))
    analyze(url)
    workers = Workers(url, count, worker_env(args), logdir, label)
    busy0, own0 = machine_busy_seconds(), cpu_seconds(os.getpid())
    started = time.monotonic()
    try:
        workers.start()
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            done = wait_completed(conn, workflow_id, workers, args.timeout)
            # Before stopping: a process's CPU time leaves /proc with it.
            worker_cpu = workers.cpu_seconds()
            pg_cpu = backend_cpu_seconds(conn, url, exclude_own=False)
        other_cpu = (
            machine_busy_seconds() - busy0 - worker_cpu - pg_cpu - cpu_seconds(os.getpid()) + own0
        )
    finally:
        workers.stop()
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT record_id), "
            "EXTRACT(EPOCH FROM max(created_at) - min(created_at)), "
            "count(DISTINCT (worker, created_at)) FROM attempts WHERE workflow_id = %s",
            (workflow_id,),
        ).fetchone()
        per_worker = [
            int(r[0])
            for r in conn.execute(
                "SELECT count(*) FROM attempts WHERE workflow_id = %s GROUP BY worker "
                "ORDER BY 1 DESC",
                (workflow_id,),
            )
        ]
    assert row is not None
    attempts, distinct, span, batches = int(row[0]), int(row[1]), float(row[2] or 0.0), row[3]
    if attempts != args.records or distinct != args.records:
        raise RuntimeError(
            f"expected {args.records} attempts on distinct records, got {attempts} ({distinct})"
        )
    result = Throughput(
        dials_per_s=args.records / span if span > 0 else math.inf,
        wall_s=done - started,
        span_s=span,
        attempts=attempts,
        batches=int(batches),
        per_worker=per_worker,
        load_s=load_s,
        worker_cpu_s=worker_cpu,
        postgres_cpu_s=pg_cpu,
        other_cpu_s=max(0.0, other_cpu),
    )
    return result, url


# --- 2. raw baseline -------------------------------------------------------------------------


def _raw_child(
    url: str, workflow_id: int, batch: int, owner: str, go: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    done = 0
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
            conn.commit()
            results.put(("ready", owner, 0, 0.0))
            if not go.wait(READY_TIMEOUT_S):
                raise TimeoutError("no start signal")
            while True:
                with conn.transaction():
                    ids = [r[0] for r in conn.execute(CLAIM_SQL, (workflow_id, batch, owner))]
                if not ids:
                    break
                with conn.transaction():
                    conn.execute(COMPLETE_SQL, (ids, owner))
                done += len(ids)
        results.put(("done", owner, done, time.time()))
    except Exception as exc:
        results.put(("error", owner, done, repr(exc)))


def run_raw(
    args: argparse.Namespace, url: str, phones: Phones, count: int
) -> dict[str, float | int]:
    _ws, workflow_id, _load = asyncio.run(_setup(url, "draft", phones.take(args.records)))
    analyze(url)
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    results = ctx.Queue()
    children = [
        ctx.Process(
            target=_raw_child,
            args=(url, workflow_id, args.batch, f"raw-{i}", go, results),
            daemon=True,
        )
        for i in range(count)
    ]
    try:
        for child in children:
            child.start()
        for _ in range(count):
            kind, owner, _n, info = results.get(timeout=READY_TIMEOUT_S)
            if kind != "ready":
                raise RuntimeError(f"raw worker {owner} failed to start: {info}")
        started = time.time()
        go.set()
        ends: list[float] = []
        total = 0
        deadline = time.monotonic() + args.timeout
        while len(ends) < count:
            try:
                kind, owner, n, info = results.get(timeout=1.0)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError("raw loop did not finish in time") from None
                continue
            if kind != "done":
                raise RuntimeError(f"raw worker {owner} failed: {info}")
            ends.append(float(info))
            total += int(n)
        for child in children:
            child.join(timeout=10)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join(timeout=5)
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        left = _remaining(conn, workflow_id)
    if total != args.records or left != 0:
        raise RuntimeError(f"raw loop completed {total} of {args.records}, {left} left")
    elapsed = max(ends) - started
    return {"raw_per_s": args.records / elapsed, "elapsed_s": elapsed}


# --- 3. latency with idle workers ------------------------------------------------------------


async def _inject(
    url: str, workspace_id: int, workflow_id: int, phones: Phones, seconds: float
) -> dict[str, Any]:
    from dialflow.db.engine import Database  # noqa: PLC0415
    from dialflow.intake.service import ingest  # noqa: PLC0415

    db = Database(url)
    shapes: dict[str, Any] = {}
    try:
        loop = asyncio.get_running_loop()
        for name, size, interval in SHAPES:
            ids: list[int] = []
            returned: dict[int, datetime] = {}  # record id -> when its ingest() call returned
            calls_ms: list[float] = []
            requests = 0
            begin = loop.time()
            tick = begin
            while loop.time() - begin < seconds:
                call_started = time.perf_counter()
                new = await _ingest_all(db, workspace_id, workflow_id, phones.take(size), ingest)
                calls_ms.append((time.perf_counter() - call_started) * 1000)
                now = datetime.now(UTC)
                returned.update(dict.fromkeys(new, now))
                ids += new
                requests += 1
                tick += interval
                pause = tick - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                else:  # behind schedule: do not catch up with a burst
                    tick = loop.time()
            elapsed = loop.time() - begin
            shapes[name] = {
                "ids": ids,
                "returned": returned,
                "calls_ms": calls_ms,
                "requests": requests,
                "records_per_s": len(ids) / elapsed,
            }
            await asyncio.sleep(IDLE_SETTLE_S)  # let the workers go idle again
    finally:
        await db.dispose()
    return shapes


def run_latency(
    args: argparse.Namespace,
    cluster: Cluster,
    phones: Phones,
    count: int,
    label: str,
    logdir: Path,
) -> dict[str, Any]:
    url = cluster.new_database(label)
    try:
        workspace_id, workflow_id, _ = asyncio.run(_setup(url, "active", []))
        workers = Workers(url, count, worker_env(args), logdir, label)
        try:
            workers.start()
            workers.wait_listening("LISTEN%", POLL_S)
            time.sleep(IDLE_SETTLE_S)
            shapes = asyncio.run(
                _inject(url, workspace_id, workflow_id, phones, args.latency_seconds)
            )
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                wait_completed(conn, workflow_id, workers, args.timeout)
        finally:
            workers.stop()
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT r.id, EXTRACT(EPOCH FROM min(a.created_at) - r.created_at) * 1000, "
                "min(a.created_at) "
                "FROM records r JOIN attempts a ON a.record_id = r.id "
                "WHERE r.workflow_id = %s GROUP BY r.id, r.created_at",
                (workflow_id,),
            ).fetchall()
    finally:
        cluster.drop(url)
    latency = {int(record_id): float(ms) for record_id, ms, _ in rows}
    first_dial = {int(record_id): dialed for record_id, _, dialed in rows}
    out: dict[str, Any] = {}
    every: list[float] = []
    for name, shape in shapes.items():
        values = [latency[i] for i in shape["ids"] if i in latency]
        if len(values) != len(shape["ids"]):
            raise RuntimeError(f"{name}: {len(shape['ids']) - len(values)} records never dialed")
        every += values
        # The same records, measured from when ingest() returned to the bench (its records
        # committed and the NOTIFY sent): the engine's own share of the latency. Negative when
        # a worker dialed before the call got back to the bench.
        after_return = [
            (first_dial[i] - shape["returned"][i]).total_seconds() * 1000 for i in shape["ids"]
        ]
        out[name] = {
            **summary_ms(values),
            "offered_records_per_s": round(shape["records_per_s"]),
            "ingest_call_ms": summary_ms(shape["calls_ms"]),
            "after_ingest_returned_ms": summary_ms(after_return),
        }
    out["all"] = summary_ms(every)
    return out


# --- report ----------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    return {
        **base_versions(),
        "psycopg": metadata.version("psycopg"),
        "sqlalchemy": metadata.version("sqlalchemy"),
    }


def print_table(report: dict[str, Any]) -> None:
    print()
    print(
        f"dispatch: N={report['records']:,} batch={report['batch_size']} "
        f"repeat={report['repeat']} quick={report['quick']}"
    )
    header = (
        f"{'W':>2} {'dials/s (median)':>17} {'runs':>24} {'wall s':>7} {'raw/s':>9} "
        f"{'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'n':>6}"
    )
    print(header)
    print("-" * len(header))
    for w, item in report["workers"].items():
        lat = item["latency_ms"]["all"]
        runs = "/".join(f"{v:,.0f}" for v in item["dials_per_s_runs"])
        print(
            f"{w:>2} {fmt(item['dials_per_s']):>17} {runs:>24} "
            f"{fmt(item['wall_s'], 1):>7} {fmt(item['raw_per_s']):>9} "
            f"{fmt(item['ratio'], 3):>6} {fmt(lat.get('p50_ms'), 1):>7} "
            f"{fmt(lat.get('p99_ms'), 1):>7} {fmt(lat.get('max_ms'), 1):>7} "
            f"{lat.get('count', 0):>6}"
        )
    print()
    for w, item in report["workers"].items():
        for name, lat in item["latency_ms"].items():
            if name == "all":
                continue
            print(
                f"W={w} latency {name:<9} offered {lat['offered_records_per_s']:>5} rec/s: "
                f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms, "
                f"max {lat['max_ms']:.1f} ms (n={lat['count']}); the ingest() call itself "
                f"p50 {lat['ingest_call_ms']['p50_ms']:.1f} / p99 "
                f"{lat['ingest_call_ms']['p99_ms']:.1f} ms; dial after the call returned "
                f"p50 {lat['after_ingest_returned_ms']['p50_ms']:.1f} / p99 "
                f"{lat['after_ingest_returned_ms']['p99_ms']:.1f} ms"
            )
        cpu, per_dial = item["cpu_s_median"], item["cpu_us_per_dial"]
        print(
            f"W={w} throughput CPU per run (median): workers {cpu['workers']:.1f} s "
            f"({per_dial['workers']} us/dial), their postgres backends {cpu['postgres']:.1f} s "
            f"({per_dial['postgres']} us/dial), rest of the machine {cpu['other']:.1f} s "
            f"({item['other_load_cores']} cores busy with other work); "
            f"claim batches {item['batches_median']}"
        )
    print()
    for w, met in report["targets"]["met_per_workers"].items():
        print(
            f"targets W={w}: >= {TARGET_DIALS_PER_S:,.0f} dials/s "
            f"{'met' if met['dials_per_s'] else 'MISSED'}; intake-to-dial p99 <= "
            f"{TARGET_P99_MS:.0f} ms {'met' if met['p99_ms'] else 'MISSED'}"
        )


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="10,000 records, 1 repeat, 3 s")
    parser.add_argument("--records", type=int, help="records per run (default 50,000)")
    parser.add_argument("--repeat", type=int, help="throughput runs per W (default 3)")
    parser.add_argument(
        "--batch",
        type=int,
        default=Settings.model_fields["dialer_batch_size"].default,
        help="DIALFLOW_DIALER_BATCH_SIZE (default: the product's)",
    )
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--latency-seconds", type=float, help="seconds per latency shape")
    parser.add_argument("--max-in-flight", type=int, help="DIALFLOW_DIALER_MAX_IN_FLIGHT")
    parser.add_argument("--poll-seconds", type=float, help="DIALFLOW_DIALER_POLL_SECONDS")
    parser.add_argument("--timeout", type=float, help="seconds to wait for a run to finish")
    parser.add_argument("--skip-raw", action="store_true", help="no bare-SQL baseline")
    parser.add_argument("--skip-latency", action="store_true", help="no idle-latency phase")
    args = parser.parse_args(argv)
    args.records = args.records or (10_000 if args.quick else 50_000)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.latency_seconds = args.latency_seconds or (3.0 if args.quick else 10.0)
    args.timeout = args.timeout or 60.0 + args.records / 200
    args.worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    if args.records <= 0 or args.repeat <= 0 or args.batch <= 0 or not args.worker_counts:
        parser.error("records, repeat, batch and workers must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cluster = Cluster("dfbench_dispatch", _migrate)
    logdir = Path(tempfile.mkdtemp(prefix="dfbench-dispatch-"))
    phones = Phones()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    per_w: dict[str, Any] = {}
    ok = False
    try:
        for count in args.worker_counts:
            runs: list[Throughput] = []
            last_url = ""
            for i in range(args.repeat):
                if last_url:
                    cluster.drop(last_url)
                result, last_url = run_throughput(
                    args, cluster, phones, count, f"tp_w{count}_r{i}", logdir
                )
                runs.append(result)
                print(
                    f"W={count} run {i + 1}/{args.repeat}: {result.dials_per_s:,.0f} dials/s "
                    f"(span {result.span_s:.2f} s, wall {result.wall_s:.2f} s, "
                    f"{result.batches} batches, per worker {result.per_worker}, "
                    f"load {result.load_s:.1f} s; CPU s: workers {result.worker_cpu_s:.1f}, "
                    f"their postgres backends {result.postgres_cpu_s:.1f}, "
                    f"rest of the machine {result.other_cpu_s:.1f})",
                    flush=True,
                )
            raw: dict[str, float | int] = {}
            if not args.skip_raw:
                raw = run_raw(args, last_url, phones, count)
                print(
                    f"W={count} raw claim+complete: {raw['raw_per_s']:,.0f} rows/s "
                    f"({raw['elapsed_s']:.2f} s)",
                    flush=True,
                )
            cluster.drop(last_url)
            latency: dict[str, Any] = {"all": {"count": 0}}
            if not args.skip_latency:
                latency = run_latency(args, cluster, phones, count, f"lat_w{count}", logdir)
                print(f"W={count} idle latency: {json.dumps(latency)}", flush=True)
            median = statistics.median(r.dials_per_s for r in runs)
            per_w[str(count)] = {
                "dials_per_s": round(median),
                "dials_per_s_runs": [round(r.dials_per_s) for r in runs],
                "wall_s": round(statistics.median(r.wall_s for r in runs), 2),
                "wall_s_runs": [round(r.wall_s, 2) for r in runs],
                "span_s_runs": [round(r.span_s, 3) for r in runs],
                "batches_median": statistics.median(r.batches for r in runs),
                "cpu_s_median": {
                    "workers": round(statistics.median(r.worker_cpu_s for r in runs), 2),
                    "postgres": round(statistics.median(r.postgres_cpu_s for r in runs), 2),
                    "other": round(statistics.median(r.other_cpu_s for r in runs), 2),
                },
                # CPU per dial barely depends on what else runs on the machine: with C cores
                # the engine cannot exceed C / (workers + postgres) dials per second.
                "cpu_us_per_dial": {
                    "workers": round(
                        statistics.median(r.worker_cpu_s for r in runs) / args.records * 1e6
                    ),
                    "postgres": round(
                        statistics.median(r.postgres_cpu_s for r in runs) / args.records * 1e6
                    ),
                },
                "other_load_cores": round(
                    statistics.median(r.other_cpu_s / r.wall_s for r in runs), 2
                ),
                "raw_per_s": round(raw["raw_per_s"]) if raw else None,
                "ratio": round(median / raw["raw_per_s"], 3) if raw else None,
                "latency_ms": latency,
            }
        met = {
            w: {
                "dials_per_s": item["dials_per_s"] >= TARGET_DIALS_PER_S,
                "p99_ms": item["latency_ms"]["all"].get("p99_ms", math.inf) <= TARGET_P99_MS,
            }
            for w, item in per_w.items()
        }
        report = {
            "bench": "dispatch",
            "started_at": started_at,
            "quick": args.quick,
            "records": args.records,
            "repeat": args.repeat,
            "batch_size": args.batch,
            "max_in_flight": args.max_in_flight,
            "latency_seconds": args.latency_seconds,
            "workers": per_w,
            "targets": {
                "dials_per_s": TARGET_DIALS_PER_S,
                "p99_ms": TARGET_P99_MS,
                "met_per_workers": met,
                "met": all(all(m.values()) for m in met.values()),
            },
            "machine": machine_info(),
            "versions": _versions(),
        }
        print_table(report)
        print(json.dumps(report, separators=(",", ":")))
        ok = True
    finally:
        cluster.drop_all()
        if ok:
            shutil.rmtree(logdir, ignore_errors=True)
        else:
            print(f"worker logs kept in {logdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
