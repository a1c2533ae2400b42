"""Wake-ups for workers: a hint that work is due, never a correctness mechanism.

In one process an ``asyncio.Event``; across processes on PostgreSQL, LISTEN/NOTIFY. Workers
always poll as well, so a lost notification only costs latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from sqlalchemy import text

from dialflow.db.engine import Database, sync_url

log = logging.getLogger(__name__)
CHANNEL = "dialflow_due"


class Wakeups:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._event = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def notify(self) -> None:
        """Wake local and (on PostgreSQL) remote workers."""
        self._event.set()
        if self._db.dialect == "postgresql":
            async with self._db.engine.connect() as conn:
                await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
                await conn.commit()

    async def wait(self, seconds: float) -> bool:
        """Sleep until woken or for ``seconds``; True when woken."""
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return False
        self._event.clear()
        return True

    async def start(self) -> None:
        if self._db.dialect == "postgresql" and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="dialflow-listen")

    async def stop(self) -> None:
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
                    await conn.execute(f"LISTEN {CHANNEL}")
                    async for _ in conn.notifies():
                        self._event.set()
            except psycopg.Error:
                log.warning("LISTEN connection lost; polling until it is back", exc_info=True)
                await asyncio.sleep(1.0)
