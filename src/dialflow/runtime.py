"""Runs the engine: inside ``dialflow serve`` (embedded) or alone as ``dialflow worker``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from datetime import timedelta

from dialflow.db.engine import Database
from dialflow.dialer.engine import Dialer, DialerConfig
from dialflow.providers import default_registry
from dialflow.providers.base import ProviderRegistry
from dialflow.settings import Settings
from dialflow.webhooks.delivery import Deliverer, DelivererConfig

log = logging.getLogger(__name__)

# Young-generation collections every 20,000 net allocations instead of 700 (the older
# generations keep their default ratios): a bulk request of 1,000 records allocates tens of
# thousands of objects, and at the default every few records ran a collection. Measured on
# SQLite intake (`bench/ingest.py --quick`, medians): 20,647 rec/s without tuning, 25,310 with
# the freeze alone, 27,493 with a 50,000 threshold; single runs with 10,000-50,000 gave
# 28,540-29,663. At 20,000 the server's memory stays flat (+2.7 MiB over 270,000 records).
GC_THRESHOLDS = (20_000, 10, 10)
_gc_tuned = False


def tune_gc() -> None:
    """Once per process, after start-up: freeze what start-up loaded (the app, phone and ZIP
    tables) so that collections skip it, and collect less often. Only garbage in reference
    cycles waits longer; everything else is freed when its last reference goes."""
    global _gc_tuned  # noqa: PLW0603 (a process-wide switch, set once)
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def public_url(settings: Settings) -> str:
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def build_registry(settings: Settings) -> ProviderRegistry:
    return default_registry(
        seed=settings.simulator_seed,
        time_scale=settings.simulator_time_scale,
        public_url=public_url(settings),
    )


def build_deliverer(db: Database, settings: Settings) -> Deliverer:
    return Deliverer(
        db,
        DelivererConfig(
            batch_size=settings.webhook_batch_size,
            max_in_flight=settings.webhook_max_in_flight,
            timeout_seconds=settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private,
        ),
    )


def build_dialer(db: Database, settings: Settings, registry: ProviderRegistry) -> Dialer:
    return Dialer(
        db,
        registry,
        DialerConfig(
            batch_size=settings.dialer_batch_size,
            max_in_flight=settings.dialer_max_in_flight,
            lease=timedelta(seconds=settings.dialer_lease_seconds),
            poll_seconds=settings.dialer_poll_seconds,
        ),
    )


async def run_worker(settings: Settings) -> None:
    """Run the engine and the webhook deliverer until SIGTERM or SIGINT, then stop
    gracefully."""
    db = Database(settings.database_url)
    dialer = build_dialer(db, settings, build_registry(settings))
    deliverer = build_deliverer(db, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tune_gc()
    await dialer.start()
    await deliverer.start()
    log.info("worker %s running", dialer.config.owner)
    try:
        await stop.wait()
    finally:
        await dialer.stop()
        await deliverer.stop()
        await db.dispose()
