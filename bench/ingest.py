"""End-to-end bulk intake over HTTP against `dialflow serve`, next to the driver's own bulk insert.

For each backend (SQLite, PostgreSQL) this:

1. pre-generates every request body (seeded, deterministic; valid and invalid records mixed) and
   the matching raw insert rows (all ``RECORD_COLUMNS``, JSON columns already encoded);
2. starts ``dialflow serve`` on a fresh database (its dialer loop off unless ``--dialer``),
   creates a workspace and key with the CLI, warms it up with one request;
3. per repeat: creates a fresh workflow, sends all bodies with ``--concurrency`` keep-alive
   connections and times only the sending; checks every response's counts;
4. per repeat, in between: inserts the same valid rows with the driver directly into a second,
   freshly migrated database that grows the same way (psycopg binary COPY ... FROM STDIN /
   sqlite3 executemany with the pragmas of the product's writer connection), one transaction
   per request's valid rows (the product's chunking), and times that;
5. optionally (``--memory-records``) sends that many records to a fresh server and samples its
   RSS (VmRSS / VmHWM from /proc) after the first request and at every tenth.

It prints a table, then one JSON object with every figure as the last line.

    .venv/bin/python bench/ingest.py --quick
    .venv/bin/python bench/ingest.py                      # 200,000 records x 3, both backends
    .venv/bin/python bench/ingest.py --backend sqlite --memory-records 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg
from psycopg.types.json import JsonbBinaryDumper

from bench_common import PG_ADMIN_URL, cpu_seconds
from bench_phones import LINES_PER_EXCHANGE, valid_prefixes
from dialflow.db.engine import SQLITE_PRAGMAS, SQLITE_WRITER_PRAGMAS
from dialflow.db.tables import RECORD_COLUMNS

HOST = "127.0.0.1"
SEED = 20240601
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 300.0
MIB = 1024 * 1024

# Real area codes; exchanges 200-999 minus N11 and 555, kept only where phonenumbers agrees.
ZIPS = ("10001", "60601", "94105", "02134", "77002", "98101", "33101", "30301", "97201", "85001")
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
CAR_MODELS = ("corolla", "civic", "model 3", "f-150", "golf", "outback", "mustang", "prius")
CAMPAIGNS = ("spring", "summer", "autumn", "winter")

_RESPONSE_DECODER = None  # built lazily (msgspec.json.Decoder of _Response)


class _Response(msgspec.Struct):
    counts: dict[str, int]


# --- data ------------------------------------------------------------------------------------


class PhoneSpace:
    """A deterministic bijection index -> unique valid 10-digit phone, scattered over the space."""

    def __init__(self, seed: int) -> None:
        self.prefixes = valid_prefixes()
        self.size = len(self.prefixes) * LINES_PER_EXCHANGE
        rng = random.Random(seed)
        step = rng.randrange(self.size // 3, self.size // 2)
        while _gcd(step, self.size) != 1:
            step += 1
        self.step = step
        self.offset = rng.randrange(self.size)

    def phone(self, index: int) -> str:
        slot = (index * self.step + self.offset) % self.size
        prefix, line = divmod(slot, LINES_PER_EXCHANGE)
        return f"{self.prefixes[prefix]}{line:04d}"


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


@dataclass(slots=True)
class Batch:
    body: bytes
    valid: int
    invalid: int
    rows: list[tuple[Any, ...]]  # raw insert rows of the valid records, minus the ids


@dataclass(slots=True)
class Dataset:
    batches: list[Batch]
    records: int
    valid: int
    invalid: int
    body_bytes: int


def _invalid_record(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
    kind = rng.randrange(3)
    if kind == 0:  # a phone that cannot be valid: area code starting with 1 or too short
        record["phone"] = rng.choice(("1125551234", "55512", "0005550000", "212-555"))
    elif kind == 1:  # ALL CAPS name
        record["first_name"] = record["first_name"].upper()
        record["last_name"] = record["last_name"].upper()
    else:  # the workflow's required placeholder is missing
        record["placeholders"] = {}
    return record


def build_dataset(
    phones: PhoneSpace,
    *,
    records: int,
    batch: int,
    invalid_ratio: float,
    seed: int,
    first_index: int = 0,
    with_rows: bool = True,
) -> Dataset:
    """Bodies for ``records`` records in requests of ``batch`` and the matching raw rows."""
    rng = random.Random(seed)
    encode = msgspec.json.encode
    batches: list[Batch] = []
    total_valid = total_invalid = total_bytes = 0
    for start in range(0, records, batch):
        items: list[dict[str, Any]] = []
        rows: list[tuple[Any, ...]] = []
        valid = invalid = 0
        for index in range(start, min(start + batch, records)):
            phone = phones.phone(first_index + index)
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            zip_code = rng.choice(ZIPS)
            placeholders = {"car_model": rng.choice(CAR_MODELS)}
            meta = {"crm_id": f"crm-{first_index + index:08d}", "campaign": rng.choice(CAMPAIGNS)}
            priority = rng.randint(1, 10) if rng.random() < 0.8 else None
            record: dict[str, Any] = {
                "phone": phone,
                "first_name": first,
                "last_name": last,
                "zip": zip_code,
                "placeholders": placeholders,
                "meta": meta,
            }
            if priority is not None:
                record["priority"] = priority
            if rng.random() < invalid_ratio:
                items.append(_invalid_record(rng, record))
                invalid += 1
                continue
            items.append(record)
            valid += 1
            if with_rows:
                e164 = "+1" + phone
                rows.append(
                    (  # in DATA_COLUMNS order
                        e164,
                        e164,
                        encode([{"number": e164, "type": "MOBILE"}]).decode(),
                        first,
                        last,
                        None,
                        zip_code,
                        "America/New_York",  # the zone is not what is measured
                        "zip",
                        None,
                        priority,
                        encode(placeholders).decode(),
                        encode(meta).decode(),
                        0 if priority is None else (11 - priority) * 2,
                    )
                )
        rows.sort(key=lambda row: row[0])  # the product sorts each chunk by dedup key
        body = encode({"records": items})
        batches.append(Batch(body, valid, invalid, rows))
        total_valid += valid
        total_invalid += invalid
        total_bytes += len(body)
    return Dataset(batches, records, total_valid, total_invalid, total_bytes)


# --- processes and databases -----------------------------------------------------------------


def _bin(name: str) -> str:
    sibling = Path(sys.executable).parent / name
    if sibling.exists():
        return str(sibling)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"cannot find the `{name}` command next to {sys.executable}")
    return found


def _cli(*args: str, timeout: float = 120.0) -> str:
    result = subprocess.run(  # noqa: PLW1510 - checked below, with the output shown
        [_bin("dialflow"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise SystemExit(f"dialflow {' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in bytes (0 when it is gone)."""
    values = {"VmRSS": 0, "VmHWM": 0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) * 1024
    return values


def _proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process and its live children (the worker
    processes of ``serve --workers``)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _postgres_cpu_seconds() -> float:
    """CPU seconds used so far by every local PostgreSQL process (0 when none is visible), each
    counted on its own: the postmaster's children are PostgreSQL processes themselves."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
    return total


class Server:
    """One ``dialflow serve`` process on a free local port."""

    def __init__(
        self, url: str, workdir: Path, name: str, *, dialer: bool = False, workers: int = 1
    ) -> None:
        self.url = url
        self.dialer = dialer
        self.workers = workers
        self.port = _free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = workdir / f"{name}-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALFLOW_")}
        # The dialer loop inside `serve` claims due records on a timer and its work depends on
        # the wall clock (calling hours): off unless asked for, so only intake is measured.
        env["DIALFLOW_DIALER"] = "true" if self.dialer else "false"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    _bin("dialflow"),
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--database-url",
                    self.url,
                    "--workers",
                    str(self.workers),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited at start:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"the server did not answer /health in {START_TIMEOUT_S:.0f}s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


class Backend:
    """Creates and drops the databases of one backend kind."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self._pg_databases: list[str] = []
        self._count = 0

    def new_database(self, label: str) -> str:
        """A fresh, migrated database URL."""
        self._count += 1
        if self.kind == "sqlite":
            path = self.workdir / f"{label}-{self._count}.db"
            url = f"sqlite:///{path}"
        else:
            name = f"dialflow_bench_{os.getpid()}_{label}_{self._count}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
            self._pg_databases.append(name)
            url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        _cli("db", "upgrade", "--database-url", url)
        return url

    def drop_all(self) -> None:
        if not self._pg_databases:
            return
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
            for name in self._pg_databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._pg_databases.clear()


# --- the HTTP client -------------------------------------------------------------------------


@dataclass(slots=True)
class HttpRun:
    seconds: float
    records: int
    accepted: int
    invalid: int
    server_cpu_s: float
    client_cpu_s: float
    postgres_cpu_s: float
    statuses: dict[int, int] = field(default_factory=dict)
    rps_by_decile: list[int] = field(default_factory=list)


def _check_counts(batch: Batch, status: int, content: bytes, where: str) -> dict[str, int]:
    global _RESPONSE_DECODER  # noqa: PLW0603 - one decoder, built on first use
    if _RESPONSE_DECODER is None:
        _RESPONSE_DECODER = msgspec.json.Decoder(_Response)
    if status not in (201, 207):
        raise SystemExit(f"{where}: HTTP {status}: {content[:500]!r}")
    counts = _RESPONSE_DECODER.decode(content).counts
    expected = {
        "accepted": batch.valid,
        "invalid": batch.invalid,
        "updated": 0,
        "duplicate": 0,
        "suppressed": 0,
        "failed": 0,
        "total": batch.valid + batch.invalid,
    }
    wrong = {k: (counts.get(k), v) for k, v in expected.items() if counts.get(k) != v}
    if wrong:
        raise SystemExit(f"{where}: unexpected counts (got, expected): {wrong}")
    return counts


@dataclass(slots=True)
class Sent:
    seconds: float
    requests: int  # requests answered (all of them unless the deadline stopped the run)
    records: int
    statuses: dict[int, int]
    finished_at: list[float]  # seconds from the start at which each answered request finished

    def rps_by_decile(self) -> list[int]:
        """Records/s in each tenth of the requests, to show whether the rate holds up."""
        n = len(self.finished_at)
        if n < 10:
            return []
        per_request = self.records / n
        rates, previous = [], 0.0
        for tenth in range(1, 11):
            last = self.finished_at[tenth * n // 10 - 1]
            count = tenth * n // 10 - (tenth - 1) * n // 10
            rates.append(round(count * per_request / max(last - previous, 1e-9)))
            previous = last
        return rates


async def _send_all(
    base: str,
    api_key: str,
    workflow_key: str,
    batches: list[Batch],
    concurrency: int,
    on_progress: Any = None,
    deadline: float | None = None,
) -> Sent:
    """POST every body; stop taking new ones after ``deadline`` (time.monotonic) if given."""
    url = f"{base}/v1/workflows/{workflow_key}/records/bulk"
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    statuses: dict[int, int] = {}
    finished: list[float] = []
    records = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, http1=True) as client:
        # Open the connections before the clock starts.
        await asyncio.gather(*(client.get(f"{base}/health") for _ in range(concurrency)))
        queue = iter(range(len(batches)))
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal records
            for position in queue:
                if deadline is not None and time.monotonic() > deadline:
                    return
                batch = batches[position]
                response = await client.post(url, content=batch.body, headers=headers)
                _check_counts(batch, response.status_code, response.content, f"request {position}")
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                finished.append(time.perf_counter() - started)
                records += batch.valid + batch.invalid
                if on_progress is not None:
                    on_progress(len(finished))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Sent(elapsed, len(finished), records, statuses, finished)


def _api(base: str, api_key: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=60.0)


def create_workflow(base: str, api_key: str, name: str) -> str:
    with _api(base, api_key) as client:
        response = client.post(
            "/v1/workflows",
            json={
                "name": name,
                "status": "active",
                "definition": {"variables": [{"name": "car_model"}]},
            },
        )
    if response.status_code != 201:
        raise SystemExit(f"creating workflow: HTTP {response.status_code}: {response.text[:500]}")
    return str(response.json()["key"])


def run_http(
    server: Server, api_key: str, data: Dataset, concurrency: int, name: str, *, postgres: bool
) -> HttpRun:
    workflow_key = create_workflow(server.base, api_key, name)
    cpu_before = _proc_cpu_seconds(server.pid)
    client_before = time.process_time()
    postgres_cpu = _postgres_cpu_seconds if postgres else (lambda: 0.0)
    postgres_before = postgres_cpu()
    sent = asyncio.run(_send_all(server.base, api_key, workflow_key, data.batches, concurrency))
    return HttpRun(
        seconds=sent.seconds,
        records=data.records,
        accepted=data.valid,
        invalid=data.invalid,
        server_cpu_s=_proc_cpu_seconds(server.pid) - cpu_before,
        client_cpu_s=time.process_time() - client_before,
        # Approximate: all local PostgreSQL processes; backends that exit meanwhile are lost.
        postgres_cpu_s=max(0.0, postgres_cpu() - postgres_before),
        statuses=sent.statuses,
        rps_by_decile=sent.rps_by_decile(),
    )


def start_server(
    backend: Backend, label: str, *, dialer: bool, workers: int = 1
) -> tuple[Server, str]:
    url = backend.new_database(label)
    created = json.loads(_cli("workspace", "create", "bench", "--json", "--database-url", url))
    server = Server(url, backend.workdir, f"{backend.kind}-{label}", dialer=dialer, workers=workers)
    server.start()
    return server, str(created["api_key"])


# --- the raw driver baseline -----------------------------------------------------------------


class _Ids:
    """Unique increasing 63-bit ids (the product draws time-ordered ids; same index behaviour)."""

    def __init__(self) -> None:
        self.next = (time.time_ns() // 1_000_000) << 22

    def take(self) -> int:
        self.next += 1
        return self.next


# What the bench generates per record, and what every other column of a new record holds.
DATA_COLUMNS = (
    "dedup_key",
    "phone",
    "phones",
    "first_name",
    "last_name",
    "email",
    "zip",
    "timezone",
    "timezone_source",
    "timezone_candidates",
    "priority",
    "placeholders",
    "meta",
    "dispatch_rank",
)
NULL_COLUMNS = frozenset(
    {"external_id", "case_id", "external_provider", "external_url", "profile_id", "transfer_number"}
)
NOW_COLUMNS = frozenset({"next_due_at", "created_at", "updated_at", "cycle_started_at"})
FIXED_COLUMNS = {"status": "pending", "cycle": 1, "step_id": "step_1", "attempts": 0}


def _row_builder(now: Any) -> Any:
    """A function (id, workspace, workflow, list, data row) -> a row in ``RECORD_COLUMNS`` order.

    Fails loudly on a column it does not know, so a schema change cannot skew the baseline."""
    sources: list[tuple[str, Any]] = []
    for name in RECORD_COLUMNS:
        if name in {"id", "workspace_id", "workflow_id", "list_id"}:
            sources.append(("key", ("id", "workspace_id", "workflow_id", "list_id").index(name)))
        elif name in DATA_COLUMNS:
            sources.append(("data", DATA_COLUMNS.index(name)))
        elif name in NULL_COLUMNS:
            sources.append(("fixed", None))
        elif name in NOW_COLUMNS:
            sources.append(("fixed", now))
        elif name in FIXED_COLUMNS:
            sources.append(("fixed", FIXED_COLUMNS[name]))
        else:
            raise SystemExit(
                f"RECORD_COLUMNS has a column this bench does not know: {name!r}; "
                "teach bench/ingest.py what a new record holds there"
            )

    def build(keys: tuple[Any, ...], data: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            keys[where] if kind == "key" else data[where] if kind == "data" else where
            for kind, where in sources
        )

    return build


def _full_rows(
    data: Dataset, ids: _Ids, workspace_id: int, workflow_id: int, list_ids: list[int], now: Any
) -> list[list[tuple[Any, ...]]]:
    """Rows in ``RECORD_COLUMNS`` order, one list per request (the product's chunks)."""
    build = _row_builder(now)
    return [
        [build((ids.take(), workspace_id, workflow_id, list_id), row) for row in batch.rows]
        for batch, list_id in zip(data.batches, list_ids, strict=True)
    ]


_SQLITE_INSERT = (
    f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in RECORD_COLUMNS)})"
)
_PG_COPY = f"COPY records ({', '.join(RECORD_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_DEFINITION = json.dumps({"variables": [{"name": "car_model"}]})


class RawSqlite:
    def __init__(self, url: str) -> None:
        self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        for pragma in SQLITE_PRAGMAS + SQLITE_WRITER_PRAGMAS:  # the product's writer's
            self.conn.execute(f"PRAGMA {pragma}")
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        self.now = now
        self.workspace_id = self.conn.execute(
            "INSERT INTO workspaces (name, timezone, created_at) VALUES ('raw', "
            "'America/New_York', ?) RETURNING id",
            (now,),
        ).fetchone()[0]

    def prepare(self, data: Dataset, ids: _Ids, key: str) -> list[list[tuple[Any, ...]]]:
        cur = self.conn
        workflow_id = cur.execute(
            "INSERT INTO workflows (workspace_id, key, name, status, definition, created_at, "
            "updated_at) VALUES (?, ?, 'raw', 'active', ?, ?, ?) RETURNING id",
            (self.workspace_id, key, _DEFINITION, self.now, self.now),
        ).fetchone()[0]
        list_ids = [ids.take() for _ in data.batches]
        cur.execute("BEGIN")
        cur.executemany(
            "INSERT INTO lists (id, workspace_id, workflow_id, source, status, created_at) "
            "VALUES (?, ?, ?, 'api', 'open', ?)",
            [(i, self.workspace_id, workflow_id, self.now) for i in list_ids],
        )
        cur.execute("COMMIT")
        return _full_rows(data, ids, self.workspace_id, workflow_id, list_ids, self.now)

    def insert(self, chunks: list[list[tuple[Any, ...]]]) -> float:
        conn = self.conn
        started = time.perf_counter()
        for rows in chunks:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_SQLITE_INSERT, rows)
            conn.execute("COMMIT")
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


class _JsonTextBinaryDumper(JsonbBinaryDumper):
    """jsonb for binary COPY from JSON text (the raw rows hold their JSON encoded)."""

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + obj.encode()


class RawPostgres:
    """psycopg's binary COPY, its cheapest bulk path: half the client CPU per row of text COPY
    and no more wall time (measured side by side, docs/benchmarks.md 2026-12-04)."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        self.conn.adapters.register_dumper(None, _JsonTextBinaryDumper)
        udt = dict(
            self.conn.execute(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_name = 'records'"
            ).fetchall()
        )
        self.types = [udt[name] for name in RECORD_COLUMNS]
        self.now = datetime.now(UTC)
        row = self.conn.execute(
            "INSERT INTO workspaces (name, timezone, created_at) VALUES ('raw', "
            "'America/New_York', %s) RETURNING id",
            (self.now,),
        ).fetchone()
        assert row is not None
        self.workspace_id = row[0]

    def prepare(self, data: Dataset, ids: _Ids, key: str) -> list[list[tuple[Any, ...]]]:
        row = self.conn.execute(
            "INSERT INTO workflows (workspace_id, key, name, status, definition, created_at, "
            "updated_at) VALUES (%s, %s, 'raw', 'active', %s::jsonb, %s, %s) RETURNING id",
            (self.workspace_id, key, _DEFINITION, self.now, self.now),
        ).fetchone()
        assert row is not None
        workflow_id = row[0]
        list_ids = [ids.take() for _ in data.batches]
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO lists (id, workspace_id, workflow_id, source, status, created_at) "
                "VALUES (%s, %s, %s, 'api', 'open', %s)",
                [(i, self.workspace_id, workflow_id, self.now) for i in list_ids],
            )
        return _full_rows(data, ids, self.workspace_id, workflow_id, list_ids, self.now)

    def insert(self, chunks: list[list[tuple[Any, ...]]]) -> float:
        conn = self.conn
        started = time.perf_counter()
        for rows in chunks:
            with conn.transaction(), conn.cursor() as cur, cur.copy(_PG_COPY) as copy:
                copy.set_types(self.types)
                for row in rows:
                    copy.write_row(row)
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


# --- phases ----------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def bench_backend(
    kind: str, workdir: Path, data: Dataset, warmup: Dataset, args: argparse.Namespace
) -> dict[str, Any]:
    backend = Backend(kind, workdir)
    server: Server | None = None
    raw: RawSqlite | RawPostgres | None = None
    runs: list[dict[str, Any]] = []
    try:
        server, api_key = start_server(
            backend, "http", dialer=args.dialer, workers=args.server_workers
        )
        raw_url = backend.new_database("raw")
        raw = RawSqlite(raw_url) if kind == "sqlite" else RawPostgres(raw_url)
        ids = _Ids()
        # Warm-up: the first request builds lookup tables; not timed, its own workflow.
        run_http(server, api_key, warmup, args.concurrency, "warm-up", postgres=False)
        for repeat in range(1, args.repeat + 1):
            http = run_http(
                server,
                api_key,
                data,
                args.concurrency,
                f"bench-{repeat}",
                postgres=kind == "postgres",
            )
            chunks = raw.prepare(data, ids, f"RAW{repeat:03d}")
            raw_s = raw.insert(chunks)
            del chunks
            run = {
                "repeat": repeat,
                "http_s": round(http.seconds, 3),
                "http_rps": round(http.records / http.seconds),
                "http_accepted_rps": round(http.accepted / http.seconds),
                "raw_s": round(raw_s, 3),
                "raw_rps": round(data.valid / raw_s),
                "server_cpu_pct": round(100 * http.server_cpu_s / http.seconds),
                "client_cpu_pct": round(100 * http.client_cpu_s / http.seconds),
                "postgres_cpu_pct": round(100 * http.postgres_cpu_s / http.seconds),
                "statuses": {str(k): v for k, v in sorted(http.statuses.items())},
                "http_rps_by_decile": http.rps_by_decile,
            }
            runs.append(run)
            pg_cpu = f", postgres {run['postgres_cpu_pct']}%" if kind == "postgres" else ""
            print(
                f"  {kind:8} run {repeat}: HTTP {run['http_rps']:>8,} rec/s "
                f"({run['http_s']:.2f} s; CPU: server {run['server_cpu_pct']}%, client "
                f"{run['client_cpu_pct']}%{pg_cpu})  raw {run['raw_rps']:>8,} rows/s "
                f"({run['raw_s']:.2f} s)",
                flush=True,
            )
        status = _proc_status(server.pid)
    finally:
        if raw is not None:
            raw.close()
        if server is not None:
            server.stop()
        backend.drop_all()
    http_median = _median([r["http_rps"] for r in runs])
    accepted_median = _median([r["http_accepted_rps"] for r in runs])
    raw_median = _median([r["raw_rps"] for r in runs])
    return {
        "http_rps_median": round(http_median),
        "http_accepted_rps_median": round(accepted_median),
        "raw_rps_median": round(raw_median),
        "ratio": round(accepted_median / raw_median, 3) if raw_median else None,
        "server_rss_mib": round(status["VmRSS"] / MIB, 1),
        "server_peak_rss_mib": round(status["VmHWM"] / MIB, 1),
        "runs": runs,
    }


def _rss_sample(pid: int, records: int) -> dict[str, float]:
    status = _proc_status(pid)
    return {
        "records": records,
        "rss_mib": round(status["VmRSS"] / MIB, 1),
        "peak_rss_mib": round(status["VmHWM"] / MIB, 1),
    }


def bench_memory(
    kind: str, workdir: Path, phones: PhoneSpace, args: argparse.Namespace
) -> dict[str, Any]:
    """Send ``--memory-records`` to a fresh server; sample its RSS at every tenth of the way."""
    total = args.memory_records
    print(f"  {kind:8} memory: generating {total:,} records ...", flush=True)
    data = build_dataset(
        phones,
        records=total,
        batch=args.batch,
        invalid_ratio=args.invalid_ratio,
        seed=SEED + 2,
        with_rows=False,
    )
    backend = Backend(kind, workdir)
    server: Server | None = None
    samples: dict[str, dict[str, float]] = {}
    try:
        server, api_key = start_server(backend, "mem", dialer=args.dialer)
        pid = server.pid
        requests_total = len(data.batches)
        marks: dict[int, str] = {1: "start"}
        for tenth in range(1, 11):
            marks.setdefault(max(1, tenth * requests_total // 10), f"{tenth * 10}%")
        samples["idle"] = _rss_sample(pid, 0)
        sent_records = 0

        def on_progress(done: int) -> None:
            nonlocal sent_records
            sent_records += args.batch
            label = marks.get(done)
            if label is not None:
                samples[label] = _rss_sample(pid, min(sent_records, total))

        workflow_key = create_workflow(server.base, api_key, "memory")
        sent = asyncio.run(
            _send_all(
                server.base,
                api_key,
                workflow_key,
                data.batches,
                args.concurrency,
                on_progress,
                deadline=time.monotonic() + args.memory_timeout,
            )
        )
        samples["end"] = _rss_sample(pid, sent.records)
    finally:
        if server is not None:
            server.stop()
        backend.drop_all()
    start = samples.get("start", {}).get("peak_rss_mib", 0.0)
    p10 = samples.get("10%", {}).get("peak_rss_mib", 0.0)
    end = samples["end"]["peak_rss_mib"]
    timed_out = sent.requests < len(data.batches)
    result = {
        "backend": kind,
        "records": total,
        "records_sent": sent.records,
        "timed_out": timed_out,
        "seconds": round(sent.seconds, 2),
        "rps": round(sent.records / sent.seconds),
        "rps_by_decile": sent.rps_by_decile(),
        "samples": samples,
        "peak_rss_mib_start": start,
        "peak_rss_mib_10pct": p10,
        "peak_rss_mib_end": end,
        "growth_10pct_to_end_mib": round(end - p10, 1) if p10 else None,
    }
    stopped = f" (stopped after {args.memory_timeout:.0f} s)" if timed_out else ""
    print(
        f"  {kind:8} memory: {sent.records:,} of {total:,} records in {sent.seconds:.1f} s"
        f"{stopped} ({result['rps']:,} rec/s; by tenths {result['rps_by_decile']}); server "
        f"peak RSS {start} MiB after the first request, {p10} MiB at 10 %, {end} MiB at the end",
        flush=True,
    )
    return result


# --- main ------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import version  # noqa: PLC0415

    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in ("psycopg", "sqlalchemy", "fastapi", "uvicorn", "msgspec", "phonenumbers", "httpx"):
        with contextlib.suppress(Exception):
            found[name] = version(name)
    return found


def _postgres_version() -> str | None:
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn,
    ):
        row = conn.execute("SHOW server_version").fetchone()
        return None if row is None else str(row[0])
    return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--records", type=int, default=None, help="records per timed run (200000)")
    parser.add_argument("--batch", type=int, default=1000, help="records per request")
    parser.add_argument("--concurrency", type=int, default=2, help="concurrent requests")
    parser.add_argument("--invalid-ratio", type=float, default=0.02)
    parser.add_argument(
        "--memory-records",
        type=int,
        default=None,
        help="records for the peak-memory phase (1000000; 0 skips it)",
    )
    parser.add_argument(
        "--memory-backend",
        choices=("sqlite", "postgres", "both"),
        default=None,
        help="where to run the memory phase (default: sqlite, or postgres with --backend postgres)",
    )
    parser.add_argument(
        "--memory-timeout",
        type=float,
        default=1200.0,
        help="stop the memory phase after this many seconds (reported as timed out)",
    )
    parser.add_argument(
        "--dialer",
        action="store_true",
        help="leave the dialer loop of `serve` on (DIALFLOW_DIALER); off by default",
    )
    parser.add_argument(
        "--server-workers",
        type=int,
        default=1,
        help="processes of `dialflow serve --workers N` for the timed runs",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the median is quoted")
    parser.add_argument(
        "--quick", action="store_true", help="a short run: 20,000 records, memory phase 100,000"
    )
    args = parser.parse_args(argv)
    if args.records is None:
        args.records = 20_000 if args.quick else 200_000
    if args.memory_records is None:
        args.memory_records = 100_000 if args.quick else 1_000_000
    if args.memory_backend is None:  # SQLite when it is benchmarked: the cheaper one to fill
        args.memory_backend = "postgres" if args.backend == "postgres" else "sqlite"
    if not 1 <= args.batch <= 10_000:
        parser.error("--batch must be 1..10000 (the API's per-request cap)")
    if args.records < args.batch or args.repeat < 1 or args.concurrency < 1:
        parser.error("need --records >= --batch, --repeat >= 1 and --concurrency >= 1")
    if not 0 <= args.invalid_ratio < 1:
        parser.error("--invalid-ratio must be in [0, 1)")
    return args


def _kinds(choice: str) -> list[str]:
    return ["sqlite", "postgres"] if choice == "both" else [choice]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = _kinds(args.backend)
    memory_kinds = _kinds(args.memory_backend) if args.memory_records > 0 else []
    pg_version = _postgres_version()
    if "postgres" in kinds + memory_kinds and pg_version is None:
        raise SystemExit(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")

    print(
        f"dialflow ingest bench: {args.records:,} records x {args.repeat} in requests of "
        f"{args.batch:,}, concurrency {args.concurrency}, {args.invalid_ratio:.0%} invalid; "
        f"backends {', '.join(kinds)}; dialer {'on' if args.dialer else 'off'}; "
        f"server processes {args.server_workers}",
        flush=True,
    )
    phones = PhoneSpace(SEED)
    started = time.perf_counter()
    data = build_dataset(
        phones, records=args.records, batch=args.batch, invalid_ratio=args.invalid_ratio, seed=SEED
    )
    warmup = Dataset(data.batches[:1], *_sizes(data.batches[:1]))
    print(
        f"  generated {len(data.batches)} bodies ({data.body_bytes / MIB:.1f} MiB, "
        f"{data.valid:,} valid, {data.invalid:,} invalid) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    workdir = Path(tempfile.mkdtemp(prefix="dialflow-bench-"))
    results: dict[str, Any] = {}
    try:
        for kind in kinds:
            results[kind] = bench_backend(kind, workdir, data, warmup, args)
        del data, warmup
        memory = {kind: bench_memory(kind, workdir, phones, args) for kind in memory_kinds}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"{'backend':10} {'HTTP rec/s':>12} {'accepted/s':>12} {'raw rows/s':>12} {'ratio':>7}")
    for kind in kinds:
        r = results[kind]
        print(
            f"{kind:10} {r['http_rps_median']:>12,} {r['http_accepted_rps_median']:>12,} "
            f"{r['raw_rps_median']:>12,} {r['ratio']:>7.3f}"
        )
    print("(medians of", args.repeat, "runs; ratio = accepted rows/s over HTTP / raw rows/s)")
    for kind, m in memory.items():
        print(
            f"memory {kind}: {m['records_sent']:,} records, server peak RSS "
            f"{m['peak_rss_mib_start']} "
            f"MiB (start) / {m['peak_rss_mib_10pct']} MiB (10 %) / {m['peak_rss_mib_end']} MiB "
            f"(end), growth after 10 %: {m['growth_10pct_to_end_mib']} MiB"
        )
    targets = {
        kind: {
            "http_50k": results[kind]["http_rps_median"] >= 50_000,
            # Unrounded: a ratio of 0.49976 prints as 0.5 but is below half.
            "half_of_raw": 2 * results[kind]["http_accepted_rps_median"]
            >= results[kind]["raw_rps_median"]
            > 0,
        }
        for kind in kinds
    }
    print("targets (>= 50,000 rec/s over HTTP, >= 0.5 of raw):", json.dumps(targets))
    summary = {
        "bench": "ingest",
        **results,
        "memory": memory,
        "targets": targets,
        "records": args.records,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "invalid_ratio": args.invalid_ratio,
        "repeat": args.repeat,
        "quick": args.quick,
        "dialer": args.dialer,
        "server_workers": args.server_workers,
        "versions": {**_versions(), "postgresql": pg_version},
        "cpus": os.cpu_count(),
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


def _sizes(batches: list[Batch]) -> tuple[int, int, int, int]:
    valid = sum(b.valid for b in batches)
    invalid = sum(b.invalid for b in batches)
    return valid + invalid, valid, invalid, sum(len(b.body) for b in batches)


if __name__ == "__main__":
    raise SystemExit(main())
