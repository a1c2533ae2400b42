"""Helpers shared by the PostgreSQL benchmarks (``dispatch.py``, ``webhooks.py``, ``ingest.py``):
the local server's URLs, CPU accounting from /proc, throwaway databases, ``dialflow worker``
processes, latency summaries and the machine description in the report."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BASE_URL = "postgresql://postgres@127.0.0.1:5432"
READY_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 20.0


# --- processes and CPU time ------------------------------------------------------------------


def bin_path(name: str) -> str:
    """The command ``name`` next to this Python, else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found next to {sys.executable} or on PATH")
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time spent by everything on the machine (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def backend_cpu_seconds(conn: psycopg.Connection[Any], url: str, *, exclude_own: bool) -> float:
    """CPU time of the PostgreSQL backends connected to this database right now; with
    ``exclude_own``, not counting the backend of ``conn`` itself."""
    name = url.rsplit("/", 1)[1]
    sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
    if exclude_own:
        sql += " AND pid <> pg_backend_pid()"
    pids = conn.execute(sql, (name,)).fetchall()
    return sum(cpu_seconds(int(pid)) for (pid,) in pids)


# --- databases and workers -------------------------------------------------------------------


class Cluster:
    """Creates uniquely named databases and drops every one of them at the end.

    ``name_prefix`` starts every database's name; ``migrate`` brings a new database (its URL)
    to the current schema."""

    def __init__(self, name_prefix: str, migrate: Callable[[str], None]) -> None:
        self.name_prefix = name_prefix
        self.migrate = migrate
        self.names: list[str] = []

    def new_database(self, label: str) -> str:
        name = f"{self.name_prefix}_{os.getpid()}_{len(self.names)}_{label}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        url = f"{PG_BASE_URL}/{name}"
        self.migrate(url)
        return url

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with contextlib.suppress(ValueError):
            self.names.remove(name)

    def drop_all(self) -> None:
        for name in list(self.names):
            try:
                self.drop(f"{PG_BASE_URL}/{name}")
            except psycopg.Error as exc:
                print(f"warning: could not drop {name}: {exc}", file=sys.stderr)


class Workers:
    """W ``dialflow worker`` processes on one database."""

    def __init__(self, url: str, count: int, env: dict[str, str], logdir: Path, label: str):
        self.url = url
        self.count = count
        self.env = env
        self.logs = [logdir / f"{label}-worker{i}.log" for i in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for path in self.logs:
            with path.open("wb") as log:
                self.procs.append(
                    subprocess.Popen(
                        [bin_path("dialflow"), "worker", "--database-url", self.url],
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )

    def check_alive(self) -> None:
        for proc, path in zip(self.procs, self.logs, strict=False):
            if proc.poll() is not None:
                tail = path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"worker {proc.pid} exited with {proc.returncode}:\n{tail}")

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(proc.pid) for proc in self.procs if proc.poll() is None)

    def stop(self) -> list[int | None]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        deadline = time.monotonic() + WORKER_STOP_TIMEOUT_S
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"warning: worker {proc.pid} ignored SIGTERM; killing it", file=sys.stderr)
                proc.kill()
                proc.wait(timeout=10)
            codes.append(proc.returncode)
        self.procs = []
        return codes

    def wait_listening(self, query_like: str, poll_s: float) -> None:
        """Until each worker has a connection whose query is ``LIKE query_like`` (e.g. its
        LISTEN is up), polling every ``poll_s`` seconds."""
        name = self.url.rsplit("/", 1)[1]
        deadline = time.monotonic() + READY_TIMEOUT_S
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            while True:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE %s",
                    (name, query_like),
                ).fetchone()
                assert row is not None
                if int(row[0]) >= self.count:
                    return
                self.check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError("workers did not start listening in time")
                time.sleep(poll_s)


# --- report ----------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def summary_ms(values: list[float]) -> dict[str, float | int]:
    """p50 / p99 / max (milliseconds, 2 decimals) and the count; only the count when empty."""
    values = sorted(values)
    if not values:
        return {"count": 0}
    return {
        "p50_ms": round(percentile(values, 0.50), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(values[-1], 2),
        "count": len(values),
    }


def machine_info() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": model or platform.processor(),
    }


def base_versions() -> dict[str, str]:
    """dialflow's, Python's and the PostgreSQL server's versions (in that order)."""
    with psycopg.connect(PG_ADMIN_URL, connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    assert row is not None
    return {
        "dialflow": metadata.version("dialflow"),
        "python": platform.python_version(),
        "postgresql": str(row[0]),
    }


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"
