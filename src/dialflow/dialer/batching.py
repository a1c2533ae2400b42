"""Group many small writes into one transaction (River's "batch completer").

Each caller awaits its own item; items arriving within ``max_delay`` (or until ``max_items``)
are flushed together by one call of ``flush``, which answers one result per item. An item not
flushed yet can be taken back (``withdraw``): a later write that makes it redundant saves the
statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_items: int = 500,
        max_delay: float = 0.005,
    ) -> None:
        self._flush = flush
        self._max_items = max_items
        self._max_delay = max_delay
        # Insertion-ordered: a batch is flushed in the order its items came.
        self._pending: dict[asyncio.Future[R], T] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        return await self.add(item)

    def add(self, item: T) -> asyncio.Future[R]:
        """Queue ``item``; its future answers once its batch is flushed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending[future] = item
        if len(self._pending) >= self._max_items:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._max_delay, self._start_flush)
        return future

    def withdraw(self, future: asyncio.Future[R]) -> bool:
        """Take back the item of ``future`` if its batch has not started flushing (the future is
        then cancelled); False when it is being flushed or was."""
        if self._pending.pop(future, None) is None:
            return False
        future.cancel()
        return True

    def _start_flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, {}
        if batch:
            task = asyncio.create_task(self._run(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _run(self, batch: dict[asyncio.Future[R], T]) -> None:
        try:
            results = await self._flush(list(batch.values()))
        except BaseException as exc:
            for future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for future, result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
