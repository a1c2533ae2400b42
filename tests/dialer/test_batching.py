"""The batcher: items flush together, each caller gets its own result, withdrawn items never
reach the flush."""

from __future__ import annotations

import asyncio

import pytest

from dialflow.dialer.batching import Batcher


class _Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def flush(self, batch: list[int]) -> list[int]:
        self.batches.append(batch)
        await asyncio.sleep(0)
        return [item * 10 for item in batch]


async def test_items_within_the_delay_flush_together_in_order() -> None:
    recorder = _Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_delay=0.01)
    results = await asyncio.gather(*(batcher.submit(item) for item in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert recorder.batches == [[0, 1, 2, 3, 4]]


async def test_a_full_batch_flushes_at_once() -> None:
    recorder = _Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_items=3, max_delay=60)
    results = await asyncio.wait_for(
        asyncio.gather(*(batcher.submit(item) for item in range(6))), timeout=5
    )
    assert results == [0, 10, 20, 30, 40, 50]
    assert recorder.batches == [[0, 1, 2], [3, 4, 5]]


async def test_a_withdrawn_item_is_not_flushed() -> None:
    recorder = _Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_delay=0.01)
    kept = batcher.add(1)
    taken_back = batcher.add(2)
    assert batcher.withdraw(taken_back)
    assert taken_back.cancelled()
    assert await kept == 10
    assert recorder.batches == [[1]]


async def test_an_item_being_flushed_cannot_be_withdrawn() -> None:
    recorder = _Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.flush, max_items=1)
    future = batcher.add(7)  # a full batch: its flush has started
    assert not batcher.withdraw(future)
    assert await future == 70
    assert not batcher.withdraw(future)


async def test_a_failed_flush_fails_every_caller_of_the_batch() -> None:
    async def broken(batch: list[int]) -> list[int]:
        raise RuntimeError("database gone")

    batcher: Batcher[int, int] = Batcher(broken, max_delay=0.001)
    results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert [str(result) for result in results] == ["database gone", "database gone"]
    with pytest.raises(RuntimeError, match="database gone"):
        await batcher.submit(3)
