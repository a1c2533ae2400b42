"""Process tuning done once at start-up."""

from __future__ import annotations

import gc

from dialflow.runtime import GC_THRESHOLDS, tune_gc


def test_gc_is_tuned_once_per_process() -> None:
    tune_gc()  # the app's start-up may have done it already: it is a process-wide switch
    assert gc.get_threshold() == GC_THRESHOLDS
    frozen = gc.get_freeze_count()
    assert frozen > 0  # start-up objects are out of the collector's way
    garbage = [object() for _ in range(1_000)]
    tune_gc()
    assert gc.get_freeze_count() == frozen  # a second call freezes nothing more
    del garbage
