"""One ``Database`` per process: an async engine with the right setup for each dialect.

SQLite: WAL, a busy timeout, foreign keys on, and a single writer — an in-process lock plus
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing — on one connection of its
own, whose page cache therefore stays warm. PostgreSQL: psycopg 3.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import msgspec
import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Every connection's pragmas. A WAL of up to 64 MiB before a checkpoint: bulk intake dirties
# index pages all over the dedup and phone indexes, and at SQLite's default (4 MiB) nearly every
# 1,000-row commit paid a checkpoint with its two fsyncs, and wrote pages that the next commit
# dirtied again back to the database (the raw insert ran 1.6x faster with this alone).
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "foreign_keys=ON",
    "synchronous=NORMAL",
    "wal_autocheckpoint=16384",
)
# The writer's page cache (KiB; SQLite's default is 2 MiB). It keeps the indexes' inner and hot
# pages between commits; readers do not need it, and a connection drops its cache whenever
# another one wrote, which is why the writer has a connection of its own.
SQLITE_WRITER_PRAGMAS = ("cache_size=-65536",)
WAKEUP_CHANNEL = "dialflow_due"
WEBHOOK_CHANNEL = "dialflow_webhooks"
log = logging.getLogger(__name__)


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def async_url(url: str) -> URL:
    """Map a user-facing URL to the async driver we use for it."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    msg = f"unsupported database URL {url!r}: use sqlite:///path or postgresql://..."
    raise ValueError(msg)


def sync_url(url: str) -> URL:
    """The synchronous twin of ``async_url``, for Alembic."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")
    return parsed.set(drivername="postgresql+psycopg")


def configure_sqlite(engine_sync: Any, *, writer: bool = False) -> None:
    """Pragmas on connect, and explicit BEGIN so writers can ask for BEGIN IMMEDIATE."""
    pragmas = SQLITE_PRAGMAS + SQLITE_WRITER_PRAGMAS if writer else SQLITE_PRAGMAS

    @event.listens_for(engine_sync, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine_sync, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        target = async_url(url)
        self.dialect = target.get_backend_name()
        kwargs: dict[str, Any] = {
            "echo": echo,
            "json_serializer": _json_dumps,
            "json_deserializer": msgspec.json.decode,
        }
        if self.dialect == "postgresql":
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(target, **kwargs)
        # SQLite has one writer at a time: the lock queues them, on one connection.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        self._write_engine = self.engine
        if self.dialect == "sqlite":
            configure_sqlite(self.engine.sync_engine)
            self._write_engine = create_async_engine(target, pool_size=1, max_overflow=0, **kwargs)
            configure_sqlite(self._write_engine.sync_engine, writer=True)
        self.wakeups = Wakeups(self, WAKEUP_CHANNEL)
        self.webhook_wakeups = Wakeups(self, WEBHOOK_CHANNEL)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read transaction (a consistent snapshot; never blocks writers on SQLite WAL)."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed on exit, rolled back on any exception.

        Callbacks registered with ``after_commit`` run once the commit succeeded."""
        if self._write_lock is None:
            async with self.engine.connect() as conn:
                async with conn.begin():
                    yield conn
                _run_after_commit(conn)
            return
        async with self._write_lock, self._write_engine.connect() as conn:
            await conn.execution_options(sqlite_write=True)
            async with conn.begin():
                yield conn
            _run_after_commit(conn)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._write_engine is not self.engine:
            await self._write_engine.dispose()


def after_commit(conn: AsyncConnection, callback: Callable[[], None]) -> None:
    """Run ``callback`` after this write transaction commits (never if it rolls back)."""
    callbacks: list[Callable[[], None]] = conn.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


async def wake_on_commit(conn: AsyncConnection, channel: str) -> None:
    """Wake the workers of ``channel`` once this write transaction commits, and never if it
    rolls back: this process's at once, other processes' on PostgreSQL by a NOTIFY, which is
    delivered at the commit. It rides on the transaction instead of a connection of its own."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
    after_commit(conn, _local_poke(channel))


@functools.cache
def _local_poke(channel: str) -> Callable[[], None]:
    """One callable per channel, so that ``after_commit`` keeps one per transaction."""
    return functools.partial(Wakeups.poke_local, channel)


def _run_after_commit(conn: AsyncConnection) -> None:
    for callback in conn.info.pop(_AFTER_COMMIT, []):
        callback()


_AFTER_COMMIT = "dialflow_after_commit"


class Wakeups:
    """Wake-ups for workers: a hint that work is due, never a correctness mechanism.

    In one process an ``asyncio.Event``; across processes on PostgreSQL, LISTEN/NOTIFY.
    Workers always poll as well, so a lost notification only costs latency.
    """

    # Started wake-ups of this process, by channel: a commit anywhere in the process can poke
    # them without holding a reference to the worker.
    _started: ClassVar[dict[str, weakref.WeakSet[Wakeups]]] = {}

    def __init__(self, db: Database, channel: str) -> None:
        self._db = db
        self.channel = channel
        self._event = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Wake this process's workers only (capacity freed up, nothing new in the database)."""
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        """Sleep until woken or for ``seconds``; True when woken."""
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return False
        self._event.clear()
        return True

    @classmethod
    def poke_local(cls, channel: str) -> None:
        """Wake this process's started workers of ``channel``."""
        for wakeups in list(cls._started.get(channel, ())):
            wakeups.poke()

    async def start(self) -> None:
        self._started.setdefault(self.channel, weakref.WeakSet()).add(self)
        if self._db.dialect == "postgresql" and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="dialflow-listen")

    async def stop(self) -> None:
        self._started.get(self.channel, weakref.WeakSet()).discard(self)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        url = sync_url(self._db.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    async for _ in conn.notifies():
                        self._event.set()
            except psycopg.Error:
                log.warning("LISTEN connection lost; polling until it is back", exc_info=True)
                await asyncio.sleep(1.0)
