"""Webhook fixtures: a loopback receiver, deliverers scoped to the test's workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import pytest

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.webhooks.delivery import Deliverer, DelivererConfig
from tests.conftest import Tenant
from tests.dialer.test_engine import make_dialer
from tests.webhooks.receiver import Receiver

DelivererFactory = Callable[..., Deliverer]
__all__ = ["make_dialer"]  # the dialer fixture, for the event tests


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_deliverer(db: Database, tenant: Tenant) -> AsyncIterator[DelivererFactory]:
    made: list[Deliverer] = []

    def make(clock: Callable[[], datetime] = utcnow, **config: Any) -> Deliverer:
        config.setdefault("workspaces", frozenset({tenant.workspace_id}))
        config.setdefault("allow_private", True)
        config.setdefault("timeout_seconds", 5.0)
        deliverer = Deliverer(db, DelivererConfig(**config), clock=clock)
        made.append(deliverer)
        return deliverer

    yield make
    for deliverer in made:
        await deliverer.settle()
        await deliverer.aclose()


async def add_endpoint(tenant: Tenant, url: str, **fields: Any) -> dict[str, Any]:
    response = await tenant.client.post("/v1/webhook-endpoints", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliver_all(deliverer: Deliverer, rounds: int = 20) -> None:
    """Claim and post until nothing is due."""
    for _ in range(rounds):
        claimed = await deliverer.run_once()
        await deliverer.settle()
        if claimed == 0:
            return
