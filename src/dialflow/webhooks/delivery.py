"""The deliverer: claims due deliveries with the claim kit, posts them signed, and records
every attempt; failures are retried on the schedule of ``domain.retries``.

Delivery is at least once: a worker killed mid-post leaves its deliveries leased, the reaper
returns them when the lease runs out, and another worker sends them again with the same
``webhook-id`` — receivers deduplicate by it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import certifi
import httpx
from sqlalchemy import ColumnElement
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dialflow import __version__
from dialflow.clock import utcnow
from dialflow.db import claims
from dialflow.db.engine import Database
from dialflow.db.sql import one_of
from dialflow.db.tables import deliveries
from dialflow.dialer.batching import Batcher
from dialflow.dialer.engine import worker_name
from dialflow.domain.retries import DISABLE_AFTER, next_attempt_at, parse_retry_after
from dialflow.ids import next_id
from dialflow.webhooks import repository as repo
from dialflow.webhooks.events import EventType, NewEvent, emit, msg_id, timestamp
from dialflow.webhooks.formats import format_headers
from dialflow.webhooks.guard import BlockedDestination, ensure_public
from dialflow.webhooks.signing import headers as signature_headers
from dialflow.webhooks.transport import LeanTransport

log = logging.getLogger(__name__)

RESPONSE_KEEP_BYTES = 2000
_DISABLED = "cancelled: the endpoint is disabled"
ERROR_KEEP_CHARS = 1000
_USER_AGENT = f"dialflow-webhooks/{__version__}"


@dataclass(frozen=True)
class DelivererConfig:
    owner: str = field(default_factory=worker_name)
    batch_size: int = 200
    max_in_flight: int = 128
    lease: timedelta = timedelta(seconds=60)
    poll_seconds: float = 1.0
    reap_seconds: float = 5.0
    timeout_seconds: float = 10.0
    # Tests and local development post to loopback; production refuses private addresses.
    allow_private: bool = False
    # Deliver only these workspaces' events (None: all), e.g. a dedicated worker per tenant.
    workspaces: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    delivery: RowMapping
    endpoint: RowMapping
    body: bytes


@dataclass(frozen=True, slots=True)
class _Result:
    job: _Job
    status_code: int | None
    duration_ms: int
    response: str | None
    error: str | None
    retry_after: str | None
    ended_at: datetime
    # Not sent: the endpoint was disabled after the delivery was queued.
    cancelled: bool = False


class Deliverer:
    def __init__(
        self,
        db: Database,
        config: DelivererConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        self.wakeups = db.webhook_wakeups
        self._http: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        # Outcomes wait up to 20 ms to share a write transaction with others.
        self._results: Batcher[_Result, None] = Batcher(
            self._flush_results, max_items=500, max_delay=0.02
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._client()  # build the client now, not on the first delivery's clock
        await self.wakeups.start()
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="dialflow-deliver"),
            asyncio.create_task(self._reap_loop(), name="dialflow-deliver-reap"),
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming; let posts in flight finish (their leases run out if they don't)."""
        self._stopping.set()
        self.wakeups.poke()
        for loop in self._loops:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        await self.wakeups.stop()
        await self.aclose()

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # One TLS context for all connections: building one loads the CA bundle.
            tls = ssl.create_default_context(cafile=certifi.where())
            self._http = httpx.AsyncClient(
                transport=LeanTransport(
                    ssl_context=tls,
                    max_idle_per_origin=self.config.max_in_flight,
                    max_response_bytes=RESPONSE_KEEP_BYTES,
                ),
                timeout=httpx.Timeout(self.config.timeout_seconds),
                follow_redirects=False,
                # The kept response text is read raw: ask for it uncompressed.
                headers={
                    "user-agent": _USER_AGENT,
                    "content-type": "application/json",
                    "accept-encoding": "identity",
                },
            )
        return self._http

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def settle(self) -> None:
        """Wait until every delivery this worker started has its outcome written."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    # -- claiming ----------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("claiming deliveries failed")
                claimed = 0
            if claimed == 0 or self.in_flight >= self.config.max_in_flight:
                await self.wakeups.wait(self.config.poll_seconds)

    async def run_once(self) -> int:
        """Claim due deliveries (as many as there is room for) and start posting them."""
        room = min(self.config.batch_size, self.config.max_in_flight - self.in_flight)
        if room <= 0:
            return 0
        now = self.clock()
        async with self.db.write() as conn:
            claimed = await claims.claim(
                conn,
                repo.DELIVERY_CLAIMS,
                owner=self.config.owner,
                now=now,
                lease=self.config.lease,
                limit=room,
                where=self._scope(conn),
            )
            if not claimed:
                return 0
            jobs = await self._jobs(conn, claimed)
        for job in jobs:
            task = asyncio.create_task(self._deliver(job))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return len(jobs)

    def _scope(self, conn: AsyncConnection) -> list[ColumnElement[bool]]:
        if self.config.workspaces is None:
            return []
        return [one_of(conn, deliveries.c.workspace_id, sorted(self.config.workspaces))]

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())
        self.wakeups.poke()  # room for more

    async def _jobs(self, conn: AsyncConnection, claimed: list[RowMapping]) -> list[_Job]:
        payloads = await repo.payloads(
            conn, [row["event_id"] for row in claimed if row["body"] is None]
        )
        endpoints = await repo.endpoints_by_id(
            conn, sorted({row["endpoint_id"] for row in claimed})
        )
        return [
            _Job(
                row,
                endpoints[row["endpoint_id"]],
                bytes(row["body"]) if row["body"] is not None else payloads[row["event_id"]],
            )
            for row in claimed
        ]

    # -- posting -----------------------------------------------------------------------------

    async def _deliver(self, job: _Job) -> None:
        result = await self.post(job)
        await self._results.submit(result)

    def _secrets(self, endpoint: Mapping[Any, Any], now: datetime) -> list[str]:
        secrets_ = [endpoint["secret"]]
        expires = endpoint["previous_secret_expires_at"]
        if endpoint["previous_secret"] and expires is not None and expires > now:
            secrets_.append(endpoint["previous_secret"])
        return secrets_

    async def post(self, job: _Job) -> _Result:
        endpoint = job.endpoint
        now = self.clock()
        headers = {
            **format_headers(endpoint["format"]),
            **signature_headers(
                msg_id(job.delivery["event_id"]), now, job.body, self._secrets(endpoint, now)
            ),
        }
        if endpoint["auth_header_name"]:
            headers[endpoint["auth_header_name"]] = endpoint["auth_header_value"] or ""
        if endpoint["status"] != "enabled":
            return _Result(job, None, 0, None, _DISABLED, None, self.clock(), cancelled=True)
        started = time.perf_counter()
        status: int | None = None
        response_text: str | None = None
        retry_after: str | None = None
        error: str | None = None
        try:
            if not self.config.allow_private:
                await ensure_public(endpoint["url"])
            # A hard deadline for the whole exchange: httpx's timeout bounds each read alone,
            # and a receiver trickling bytes must not hold a delivery past its lease.
            async with (
                asyncio.timeout(self.config.timeout_seconds),
                self._client().stream(
                    "POST", endpoint["url"], content=job.body, headers=headers
                ) as response,
            ):
                status = response.status_code
                retry_after = response.headers.get("retry-after")
                response_text = await _read_capped(response, RESPONSE_KEEP_BYTES)
        except BlockedDestination as exc:
            error = f"refused: {exc}"
        except (httpx.TimeoutException, TimeoutError):
            error = f"timed out after {self.config.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:ERROR_KEEP_CHARS]
        duration_ms = int((time.perf_counter() - started) * 1000)
        return _Result(job, status, duration_ms, response_text, error, retry_after, self.clock())

    # -- outcomes ----------------------------------------------------------------------------

    async def _flush_results(self, batch: list[_Result]) -> list[None]:
        now = self.clock()
        async with self.db.write() as conn:
            attempt_rows: list[dict[str, Any]] = []
            changes: list[dict[str, Any]] = []
            succeeded: set[int] = set()
            recovered: set[int] = set()
            failing: set[int] = set()
            to_disable: dict[int, tuple[RowMapping, str]] = {}
            for result in batch:
                delivery, endpoint = result.job.delivery, result.job.endpoint
                change = _outcome(result, now, self.rng)
                changes.append({**change, "_id": delivery["id"], "_owner": self.config.owner})
                if change["status"] == "cancelled":
                    continue
                attempt_rows.append(
                    {
                        "id": next_id(),
                        "delivery_id": delivery["id"],
                        "workspace_id": delivery["workspace_id"],
                        "attempt": change["attempts"],
                        "status_code": result.status_code,
                        "duration_ms": result.duration_ms,
                        "response_body": result.response,
                        "error": result.error,
                        "created_at": result.ended_at,
                    }
                )
                if change["status"] == "succeeded":
                    succeeded.add(endpoint["id"])
                    if endpoint["failing_since"] is not None:
                        recovered.add(endpoint["id"])
                    continue
                failing.add(endpoint["id"])
                if result.status_code == 410:
                    to_disable[endpoint["id"]] = (endpoint, "the endpoint answered 410 Gone")
                elif (
                    endpoint["failing_since"] is not None
                    and now - endpoint["failing_since"] >= DISABLE_AFTER
                ):
                    reason = f"every delivery failed since {timestamp(endpoint['failing_since'])}"
                    to_disable[endpoint["id"]] = (endpoint, reason)
            await repo.insert_delivery_attempts(conn, attempt_rows)
            await claims.fenced_updates(conn, repo.DELIVERY_CLAIMS, changes)
            # Only endpoints that were failing need their streak cleared.
            await repo.mark_endpoints_healthy(conn, sorted(recovered - failing))
            await repo.mark_endpoints_failing(conn, sorted(failing - succeeded), now)
            for endpoint, reason in to_disable.values():
                await disable_endpoint(conn, endpoint, reason, now)
        return [None] * len(batch)

    # -- recovery ----------------------------------------------------------------------------

    async def _reap_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.reap_once()
            except Exception:
                log.exception("delivery recovery failed")
            await asyncio.sleep(self.config.reap_seconds)

    async def reap_once(self) -> int:
        """Return deliveries whose worker died mid-post to the queue, due now."""
        now = self.clock()
        async with self.db.write() as conn:
            taken = await claims.take_over_expired(
                conn,
                repo.DELIVERY_CLAIMS,
                owner=self.config.owner,
                now=now,
                lease=self.config.lease,
                limit=self.config.batch_size,
            )
            await claims.release(
                conn,
                repo.DELIVERY_CLAIMS,
                [row["id"] for row in taken],
                owner=self.config.owner,
                values={"next_due_at": now, "updated_at": now},
            )
        if taken:
            self.wakeups.poke()
        return len(taken)


async def _read_capped(response: httpx.Response, limit: int) -> str:
    """At most ``limit`` bytes of the body: a receiver cannot make us buffer a huge answer."""
    kept = bytearray()
    async for chunk in response.aiter_raw():
        kept += chunk[: limit - len(kept)]
        if len(kept) >= limit:
            break
    return kept.decode("utf-8", errors="replace")


def _outcome(result: _Result, now: datetime, rng: random.Random) -> dict[str, Any]:
    """The delivery's new columns after one attempt."""
    delivery = result.job.delivery
    base: dict[str, Any] = {
        "attempts": delivery["attempts"],
        "next_due_at": None,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "delivered_at": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
    }
    if result.cancelled:
        return {**base, "status": "cancelled"}
    attempts = delivery["attempts"] + 1
    base["attempts"] = attempts
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return {**base, "status": "succeeded", "delivered_at": result.ended_at}
    if code is not None and base["last_error"] is None:
        base["last_error"] = f"HTTP {code}"
    if code == 410:
        return {**base, "status": "failed"}
    retry_after = parse_retry_after(result.retry_after, now) if code in (429, 503) else None
    due = next_attempt_at(attempts, now, retry_after=retry_after, rng=rng)
    if due is None:
        return {**base, "status": "failed"}
    return {**base, "status": "pending", "next_due_at": due}


async def disable_endpoint(
    conn: AsyncConnection, endpoint: Mapping[Any, Any], reason: str, now: datetime
) -> None:
    """Disable an endpoint, cancel what it still had queued, and say so with an event."""
    await repo.update_endpoint(
        conn, endpoint["id"], {"status": "disabled", "disabled_reason": reason, "updated_at": now}
    )
    await repo.cancel_pending(conn, endpoint["id"], now, f"cancelled: {reason}")
    await emit(
        conn,
        [
            NewEvent(
                endpoint["workspace_id"],
                EventType.ENDPOINT_DISABLED,
                {
                    "endpoint_id": str(endpoint["id"]),
                    "url": endpoint["url"],
                    "reason": reason,
                    "disabled_at": timestamp(now),
                },
                workflow_id=endpoint["workflow_id"],
            )
        ],
        now,
    )
