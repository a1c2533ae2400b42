"""Calls added through the Weya dialect are dialed by the engine and show in the phone logs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.dialects.weya.conftest import EVERY_DAY, Weya, expect
from tests.dialer.test_engine import Clock, DialerFactory, always, drain
from tests.intake.test_bulk import phone
from tests.webhooks.conftest import DelivererFactory, deliver_all
from tests.webhooks.receiver import Receiver

NEW_YORK = ZoneInfo("America/New_York")


def noon_tomorrow_in_new_york() -> Clock:
    """A clock inside the batch's calling hours (10:00-17:00 New York, every day)."""
    clock = Clock()
    local = datetime.now(UTC).astimezone(NEW_YORK) + timedelta(days=1)
    clock.now = local.replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)
    return clock


async def new_york_batch(weya: Weya) -> str:
    return await weya.create_batch(
        timezone="America/New_York",
        callingHour={"start": "10:00", "end": "17:00"},
        allowedDays=EVERY_DAY,
        agentVariables=[{"name": "account_id"}],
    )


async def test_an_added_call_is_dialed_and_its_phone_log_shows_it(
    weya: Weya,
    receiver: Receiver,
    make_dialer: DialerFactory,
    make_deliverer: DelivererFactory,
) -> None:
    # Weya documents no call webhook: calls are reported by dialflow's own events.
    made = await weya.client.post(
        "/v1/webhook-endpoints",
        json={"url": receiver.url, "event_types": ["call.completed"]},
        headers={"x-api-key": weya.api_key},
    )
    assert made.status_code == 201, made.text
    batch_id = await new_york_batch(weya)
    added = await weya.add_calls(batch_id, [{"phoneNumber": "12125551001", "account_id": "A-1"}])
    clock = noon_tomorrow_in_new_york()
    await drain(make_dialer(always("call_transferred"), clock=clock))
    await deliver_all(make_deliverer(clock=clock))
    [report] = [json.loads(request.body)["data"] for request in receiver.requests]
    assert report["workflow_key"] == batch_id
    assert report["placeholders"] == {"account_id": "A-1"}
    assert report["end_reason"] == "call_transferred"

    [call] = (await weya.details(batch_id))["data"]
    assert call["_id"] == added["callIds"][0]
    assert call["callStatus"] == "completed"
    [log] = call["phoneLogs"]
    assert set(log) == {
        "callStatus",
        "endReason",
        "callDuration",
        "recordingUrl",
        "transcript",
        "createdAt",
    }
    assert log["callStatus"] == "completed"
    assert log["endReason"] == "call_transferred"
    assert log["callDuration"] > 0
    assert log["recordingUrl"].endswith(".wav")
    assert log["transcript"][0]["role"] == "Assistant"
    assert datetime.fromisoformat(log["createdAt"]) > datetime.fromisoformat(call["createdAt"])

    [batch] = expect(await weya.get("/api/call/batches/user-1"), 200)["batches"]
    assert (batch["totalCalls"], batch["pickedUpCalls"], batch["completedCalls"]) == (1, 1, 1)


async def test_a_completed_call_sent_again_gets_a_new_phone_log(
    weya: Weya, make_dialer: DialerFactory
) -> None:
    batch_id = await new_york_batch(weya)
    sent = {"phoneNumber": "12125551001", "account_id": "A-1"}
    first = await weya.add_calls(batch_id, [sent])
    dialer = make_dialer(always("not_interested"), clock=noon_tomorrow_in_new_york())
    await drain(dialer)
    [call] = (await weya.details(batch_id))["data"]
    assert (call["callStatus"], len(call["phoneLogs"])) == ("completed", 1)

    again = await weya.add_calls(batch_id, [{**sent, "account_id": "A-2"}])
    assert again == first  # the same call, started again
    [call] = (await weya.details(batch_id))["data"]
    assert (call["callStatus"], call["account_id"]) == ("pending", "A-2")
    await drain(dialer)
    [call] = (await weya.details(batch_id))["data"]
    assert call["callStatus"] == "completed"
    assert [log["endReason"] for log in call["phoneLogs"]] == ["not_interested", "not_interested"]


async def test_stop_calling_lets_calls_in_flight_finish_and_starts_no_more(
    weya: Weya, make_dialer: DialerFactory
) -> None:
    batch_id = await new_york_batch(weya)
    await weya.add_calls(batch_id, [{"phoneNumber": "1" + phone(1), "account_id": "A-1"}])
    sim = always(
        "call_transferred", time_scale=0.01, min_duration_seconds=30, max_duration_seconds=30
    )
    dialer = make_dialer(sim, clock=noon_tomorrow_in_new_york())
    assert await dialer.run_once() == 1  # a call is now in flight (0.3 s of wall time)
    expect(await weya.post("/api/call/stop-calling", {"batchId": batch_id}), 200)
    await weya.add_calls(batch_id, [{"phoneNumber": "1" + phone(2), "account_id": "A-2"}])
    await dialer.settle()
    await drain(dialer)

    details = await weya.details(batch_id, sortBy="phoneNumber", sortOrder="asc")
    assert details["batchStatus"] == "paused"
    in_flight, added_later = details["data"]
    assert [log["callStatus"] for log in in_flight["phoneLogs"]] == ["completed"]
    assert (added_later["callStatus"], added_later["phoneLogs"]) == ("pending", [])

    expect(await weya.post("/api/call/start-calling", {"batchId": batch_id}), 200)
    await drain(dialer)
    details = await weya.details(batch_id)
    assert {call["callStatus"] for call in details["data"]} == {"completed"}
