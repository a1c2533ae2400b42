"""Deliveries end to end: a real receiver on loopback, both databases, an injected clock."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from dialflow.app import create_app
from dialflow.db.engine import Database
from dialflow.db.tables import deliveries, events
from dialflow.domain.retries import RETRY_SCHEDULE
from dialflow.settings import Settings
from dialflow.webhooks.events import EventType, NewEvent, emit
from tests.conftest import Tenant, make_workflow
from tests.dialer.test_engine import Clock
from tests.webhooks.conftest import DelivererFactory, add_endpoint, deliver_all
from tests.webhooks.receiver import Receiver, Reply


async def _pause(tenant: Tenant) -> str:
    workflow = await make_workflow(tenant.client, steps=[{"id": "call-1", "type": "call"}])
    response = await tenant.client.post(f"/v1/workflows/{workflow['key']}/pause")
    assert response.status_code == 200, response.text
    return str(workflow["key"])


async def _delivery(db: Database, workspace_id: int) -> dict[str, object]:
    async with db.read() as conn:
        row = (
            (
                await conn.execute(
                    select(deliveries)
                    .where(deliveries.c.workspace_id == workspace_id)
                    .order_by(deliveries.c.id.desc())
                )
            )
            .mappings()
            .first()
        )
    assert row is not None
    return dict(row)


async def test_signed_delivery_verifies_with_the_reference_verifier(
    tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    endpoint = await add_endpoint(
        tenant,
        receiver.url,
        event_types=["workflow.status_changed"],
        auth_header_name="X-Crm-Token",
        auth_header_value="s3cret",
    )
    key = await _pause(tenant)
    await deliver_all(make_deliverer())

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "workflow.status_changed"
    assert payload["id"] == request.headers["webhook-id"]
    assert payload["data"]["workflow_key"] == key
    assert (payload["data"]["previous_status"], payload["data"]["status"]) == ("active", "paused")
    assert request.headers["x-crm-token"] == "s3cret"
    # The body is the stored event, byte for byte.
    event = await tenant.client.get(f"/v1/events/{payload['id']}")
    assert event.json()["payload"] == json.loads(request.body)
    assert event.json()["deliveries"][0]["status"] == "succeeded"
    assert event.json()["deliveries"][0]["log"][0]["status_code"] == 200


async def test_rotation_signs_with_both_secrets_while_the_old_one_lasts(
    tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    endpoint = await add_endpoint(tenant, receiver.url)
    rotated = await tenant.client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"keep_old_hours": 1}
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]
    await _pause(tenant)
    await deliver_all(make_deliverer())
    request = receiver.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (endpoint["secret"], new_secret):
        Webhook(secret).verify(request.body, request.headers)


async def test_failures_follow_the_schedule_then_give_up(
    db: Database, tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    receiver.responder = lambda _request: Reply(status=500, body=b"boom")
    await add_endpoint(tenant, receiver.url)
    await _pause(tenant)
    clock = Clock()
    deliverer = make_deliverer(clock=clock)
    for attempt, delay in enumerate(RETRY_SCHEDULE[1:], start=1):
        await deliver_all(deliverer)
        row = await _delivery(db, tenant.workspace_id)
        assert row["attempts"] == attempt
        assert row["status"] == "pending"
        due = row["next_due_at"]
        assert isinstance(due, type(clock.now))
        wait = due - clock.now
        assert delay * 0.9 <= wait <= delay * 1.1, (attempt, wait)
        await deliver_all(deliverer)  # not due yet: nothing is sent
        assert len(receiver.requests) == attempt
        clock.now = due
    await deliver_all(deliverer)
    row = await _delivery(db, tenant.workspace_id)
    assert row["status"] == "failed"
    assert row["attempts"] == len(RETRY_SCHEDULE)
    assert row["last_error"] == "HTTP 500"
    assert len(receiver.requests) == len(RETRY_SCHEDULE)


async def test_429_retry_after_is_honoured(
    db: Database, tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    receiver.responder = lambda _request: Reply(status=429, headers={"Retry-After": "120"})
    await add_endpoint(tenant, receiver.url)
    await _pause(tenant)
    clock = Clock()
    await deliver_all(make_deliverer(clock=clock))
    row = await _delivery(db, tenant.workspace_id)
    assert row["status"] == "pending"
    assert row["next_due_at"] - clock.now >= timedelta(seconds=120)  # type: ignore[operator]


async def test_410_disables_the_endpoint_and_says_so(
    db: Database, tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    watcher = Receiver()
    await watcher.start()
    try:
        gone = await add_endpoint(tenant, receiver.url, event_types=["workflow.status_changed"])
        await add_endpoint(tenant, watcher.url, event_types=["endpoint.disabled"])
        receiver.responder = lambda _request: Reply(status=410)
        await _pause(tenant)
        await deliver_all(make_deliverer())
        state = (await tenant.client.get(f"/v1/webhook-endpoints/{gone['id']}")).json()
        assert state["status"] == "disabled"
        assert "410" in state["disabled_reason"]
        assert len(watcher.requests) == 1
        notice = json.loads(watcher.requests[0].body)
        assert notice["type"] == "endpoint.disabled"
        assert notice["data"]["endpoint_id"] == gone["id"]
        # Nothing more goes to a disabled endpoint.
        await tenant.client.post("/v1/workflows")  # noise: a bad request changes nothing
        assert len(receiver.requests) == 1
    finally:
        await watcher.stop()


async def test_an_endpoint_failing_for_five_days_is_disabled(
    db: Database, tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    receiver.responder = lambda _request: Reply(status=503)
    endpoint = await add_endpoint(tenant, receiver.url)
    await _pause(tenant)
    clock = Clock()
    deliverer = make_deliverer(clock=clock)
    await deliver_all(deliverer)
    state = (await tenant.client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert state["failing_since"] is not None
    assert state["status"] == "enabled"
    clock.advance(days=5, minutes=1)
    await deliver_all(deliverer)
    state = (await tenant.client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert state["status"] == "disabled"
    assert "every delivery failed since" in state["disabled_reason"]


async def test_a_success_clears_the_failure_streak(
    tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    answers = iter([Reply(status=500), Reply()])
    receiver.responder = lambda _request: next(answers)
    endpoint = await add_endpoint(tenant, receiver.url)
    await _pause(tenant)
    clock = Clock()
    deliverer = make_deliverer(clock=clock)
    await deliver_all(deliverer)
    clock.advance(seconds=6)
    await deliver_all(deliverer)
    state = (await tenant.client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert state["failing_since"] is None
    assert [r.headers["webhook-id"] for r in receiver.requests] == [receiver.ids()[0]] * 2


async def test_replay_keeps_the_webhook_id_and_body(
    tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    await add_endpoint(tenant, receiver.url)
    await _pause(tenant)
    deliverer = make_deliverer()
    await deliver_all(deliverer)
    first = receiver.requests[0]
    replayed = await tenant.client.post(f"/v1/events/{first.headers['webhook-id']}/replay", json={})
    assert replayed.json() == {"queued": 1}
    await deliver_all(deliverer)
    assert len(receiver.requests) == 2
    second = receiver.requests[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body


async def test_replay_failed_since_resends_what_failed(
    db: Database, tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    receiver.responder = lambda _request: Reply(status=500)
    endpoint = await add_endpoint(tenant, receiver.url)
    started = Clock().now - timedelta(minutes=1)
    await _pause(tenant)
    clock = Clock()
    deliverer = make_deliverer(clock=clock)
    for _ in RETRY_SCHEDULE:
        await deliver_all(deliverer)
        clock.advance(hours=11)
    assert (await _delivery(db, tenant.workspace_id))["status"] == "failed"
    receiver.responder = lambda _request: Reply()
    replay = await tenant.client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/replay", json={"since": started.isoformat()}
    )
    assert replay.json() == {"queued": 1}
    await deliver_all(deliverer)
    assert (await _delivery(db, tenant.workspace_id))["status"] == "succeeded"
    assert len(set(receiver.ids())) == 1


async def test_no_event_for_a_change_that_rolled_back(
    db: Database, tenant: Tenant, receiver: Receiver
) -> None:
    await add_endpoint(tenant, receiver.url)

    class Boom(Exception):
        pass

    async def count() -> int:
        async with db.read() as conn:
            found = await conn.execute(
                select(func.count())
                .select_from(events)
                .where(events.c.workspace_id == tenant.workspace_id)
            )
            return int(found.scalar_one())

    async def emit_then_fail() -> None:
        async with db.write() as conn:
            queued = await emit(
                conn,
                [NewEvent(tenant.workspace_id, EventType.WORKFLOW_STATUS_CHANGED, {"x": 1})],
                Clock().now,
            )
            assert queued == 1
            raise Boom

    with pytest.raises(Boom):
        await emit_then_fail()
    assert await count() == 0
    # A workflow action refused by the state machine emits nothing either.
    key = await _pause(tenant)
    stopped = await tenant.client.post(f"/v1/workflows/{key}/stop")
    assert stopped.status_code == 200
    refused = await tenant.client.post(f"/v1/workflows/{key}/activate")
    assert refused.status_code == 409
    assert await count() == 2  # the pause and the stop


async def test_private_addresses_are_refused_unless_allowed(
    db: Database, tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    await add_endpoint(tenant, receiver.url)
    await _pause(tenant)
    await deliver_all(make_deliverer(allow_private=False))
    row = await _delivery(db, tenant.workspace_id)
    assert row["status"] == "pending"
    assert str(row["last_error"]).startswith("refused: 127.0.0.1 resolves to 127.0.0.1")
    assert receiver.requests == []


async def test_creating_an_endpoint_on_a_private_address_is_refused(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    strict = create_app(settings.model_copy(update={"webhook_allow_private": False}), db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=strict),
        base_url="http://dialflow.test",
        headers={"Authorization": f"Bearer {tenant.api_key}"},
    ) as client:
        for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/latest", "http://10.0.0.1/"):
            response = await client.post("/v1/webhook-endpoints", json={"url": url})
            assert response.status_code == 422, url
            assert response.json()["error"]["code"] == "invalid_url"
        bad = await client.post("/v1/webhook-endpoints", json={"url": "ftp://example.com/"})
        assert bad.status_code == 422


async def test_the_timeout_bounds_the_whole_exchange(
    db: Database, tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    # Each byte comes well within a read timeout, the whole answer far beyond the deadline.
    receiver.responder = lambda _request: Reply(body=b"x" * 40, trickle=0.1)
    await add_endpoint(tenant, receiver.url)
    await _pause(tenant)
    started = time.perf_counter()
    await deliver_all(make_deliverer(timeout_seconds=0.5), rounds=1)
    assert time.perf_counter() - started < 2.5
    row = await _delivery(db, tenant.workspace_id)
    assert row["last_error"] == "timed out after 0.5 s", row


async def test_replay_to_another_endpoint_follows_its_format_and_filters(
    tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    await add_endpoint(tenant, receiver.url)
    await _pause(tenant)
    deliverer = make_deliverer()
    await deliver_all(deliverer)
    event_id = receiver.ids()[0]
    late = Receiver()
    await late.start()
    try:
        vendor = await add_endpoint(tenant, late.url, format="2x")
        filtered = await add_endpoint(tenant, late.url, event_types=["call.completed"])
        standard = await add_endpoint(tenant, late.url)
        for endpoint, queued in ((vendor, 0), (filtered, 0), (standard, 1)):
            replay = await tenant.client.post(
                f"/v1/events/{event_id}/replay", json={"endpoint_id": endpoint["id"]}
            )
            assert replay.json() == {"queued": queued}, endpoint
        await deliver_all(deliverer)
        assert late.ids() == [event_id]
        assert late.requests[0].body == receiver.requests[0].body
    finally:
        await late.stop()
