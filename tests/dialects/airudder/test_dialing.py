"""Entries added through the dialect are dialed by the simulator; their calls can be queried the
Airudder way and their notifications arrive at a real receiver in Airudder's shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from dialflow.clock import utcnow
from tests.dialects.airudder.conftest import ALWAYS_OPEN, CALLEE, Airudder, expect
from tests.dialects.airudder.test_webhooks import SEED_LIST_COMPLETION, shape
from tests.dialer.test_engine import DialerFactory, always, drain
from tests.webhooks.conftest import DelivererFactory, deliver_all
from tests.webhooks.receiver import Receiver, Reply

WORKFLOW = "/service/cloud/workflow"
#: The nodes of the seed's example: a voicebot call, then a text, then a mail.
SEED_NODES = [
    {"id": "voicebot-call1", "type": "call", "next": {"call_transferred": "sms1"}},
    {"id": "sms1", "type": "sms", "message": "Terima kasih, {{ name }}."},
    {"id": "mail1", "type": "email", "subject": "Tagihan", "body": "Jumlah: {{ amount }}"},
]
CASE = {"callee": CALLEE, "case_id": "test-caseid11", "email": "budi@example.com"}
VARIABLES = {"name": "Budi", "amount": "150000"}


@dataclass(frozen=True)
class Dialed:
    task: str
    call_id: str


async def dialed_task(airudder: Airudder, make_dialer: DialerFactory) -> Dialed:
    """A task made of the seed's nodes, its case added and dialed (the call transferred)."""
    template_id = await airudder.template(steps=SEED_NODES, calling_hours=ALWAYS_OPEN)
    task = await airudder.task(template_id)
    added = await airudder.upload(task, [CASE | VARIABLES])
    assert added["success"] == 1, added
    await drain(make_dialer(always("call_transferred")))
    [call] = expect(await airudder.post(f"{WORKFLOW}/taskdetail", {"task_id": task}))["list"]
    return Dialed(task, call["call_id"])


async def test_the_seeds_notifications_arrive_in_airudders_shapes(
    airudder: Airudder,
    make_dialer: DialerFactory,
    make_deliverer: DelivererFactory,
    receiver: Receiver,
) -> None:
    receiver.responder = lambda _request: Reply(body=b"{}")  # the seed's 200 answer, "{}"
    # Airudder posts with "User-Agent: Airudder": the airudder format sends it.
    await airudder.native(
        "POST", "/v1/webhook-endpoints", {"url": receiver.url, "format": "airudder"}
    )
    dialed = await dialed_task(airudder, make_dialer)
    expect(await airudder.post(f"{WORKFLOW}/stopinstance", {"workflow_id": dialed.task}))
    await deliver_all(make_deliverer())

    bodies = [json.loads(request.body) for request in receiver.requests]
    for request in receiver.requests:
        assert request.headers["user-agent"] == "Airudder"
        assert request.headers["content-type"] == "application/json"
    [list_completion] = [body for body in bodies if "rows" in body]
    [call_completion] = [body for body in bodies if "call_id" in body]
    [status_change] = [body for body in bodies if "actions" in body]
    assert len(bodies) == 3  # sms and email attempts have no Airudder notification

    task = dialed.task
    assert shape(list_completion) == shape(SEED_LIST_COMPLETION)
    assert list_completion == {
        "case_id": "test-caseid11",
        "callee_number": CALLEE,
        "workflow_id": task,
        "workflow_name": "test-544-0001",
        "rows": [
            {
                "nodetask_id": f"{task}.voicebot-call1",
                "task_id": task,
                "nodetask_name": "voicebot-call1",
                "node_type": "call",
            },
            {"nodetask_id": f"{task}.sms1", "nodetask_name": "sms1", "node_type": "sms"},
            {"nodetask_id": f"{task}.mail1", "nodetask_name": "mail1", "node_type": "email"},
        ],
    }
    call = expect(await airudder.get(f"{WORKFLOW}/call", call_id=dialed.call_id))
    assert call_completion == call | {"is_last_attempt": False}
    assert (call_completion["status"], call_completion["end_reason"]) == (
        "answered",
        "call_transferred",
    )
    assert status_change["status"] == "stopped"
    assert [action["nodetask_name"] for action in status_change["actions"]] == [
        row["nodetask_name"] for row in list_completion["rows"]
    ]


async def test_the_calls_of_a_task_are_shown_with_their_case(
    airudder: Airudder, make_dialer: DialerFactory
) -> None:
    dialed = await dialed_task(airudder, make_dialer)
    task = dialed.task
    detail = expect(await airudder.post(f"{WORKFLOW}/taskdetail", {"task_id": task}))
    assert detail["task_id"] == task
    assert detail["next_cursor"] is None
    [call] = detail["list"]
    assert call["call_id"] == dialed.call_id
    assert (call["workflow_id"], call["task_id"], call["nodetask_id"]) == (
        task,
        task,
        f"{task}.voicebot-call1",
    )
    assert (call["case_id"], call["callee"], call["status"]) == (
        "test-caseid11",
        CALLEE,
        "answered",
    )
    assert call["duration"] > 0
    assert call["recording_url"].endswith(".wav")
    assert call["dialog"][0]["role"] == "Assistant"
    assert call["variables"] == VARIABLES
    assert call["start_time"].endswith("Z")

    for params in (
        {"callee": CALLEE, "workflow_id": task},
        {"case_id": "test-caseid11", "task_id": task},
        {"callee": CALLEE, "case_id": "test-caseid11", "task_id": task, "workflow_id": task},
    ):
        info = expect(await airudder.get(f"{WORKFLOW}/callinfo", **params))
        assert info == {"list": [call], "next_cursor": None}
    nobody = {"callee": "+6281234567899", "workflow_id": task}
    assert expect(await airudder.get(f"{WORKFLOW}/callinfo", **nobody))["list"] == []

    assert expect(await airudder.get(f"{WORKFLOW}/call", call_id=dialed.call_id)) == call
    recorded = expect(await airudder.get(f"{WORKFLOW}/recordings", workflow_id=task, callee=CALLEE))
    assert recorded == {"list": [call], "next_cursor": None}


async def test_task_details_come_a_page_at_a_time(
    airudder: Airudder, make_dialer: DialerFactory
) -> None:
    task = await airudder.task(await airudder.template(calling_hours=ALWAYS_OPEN))
    await airudder.upload(task, [{"callee": f"+62812345678{n:02d}"} for n in range(3)])
    await drain(make_dialer(always("no_answer")))
    seen: list[str] = []
    body: dict[str, Any] = {"task_id": task, "page_size": 2}
    while True:
        page = expect(await airudder.post(f"{WORKFLOW}/taskdetail", body))
        seen += [call["call_id"] for call in page["list"]]
        if page["next_cursor"] is None:
            break
        body["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 3


async def test_detailinstances_finds_the_tasks_of_a_case_or_number_in_a_time_range(
    airudder: Airudder,
) -> None:
    first = await airudder.task()
    second = await airudder.task()
    await airudder.upload(first, [{"callee": CALLEE, "case_id": "case-7"}])
    await airudder.upload(second, [{"callee": "+6281234567891", "case_id": "case-7"}])
    await airudder.upload(second, [{"callee": CALLEE}])
    now = utcnow()
    window = {
        "start_time": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
        "end_time": (now + timedelta(hours=1)).isoformat(),
    }

    by_case = expect(
        await airudder.post(f"{WORKFLOW}/detailinstances", window | {"case_id": "case-7"})
    )
    assert [(item["workflow_id"], item["callee"]) for item in by_case["list"]] == [
        (second, "+6281234567891"),
        (first, CALLEE),
    ]
    assert set(by_case["list"][0]) == {
        "workflow_id",
        "workflow_name",
        "case_id",
        "callee",
        "create_time",
    }
    by_callee = expect(
        await airudder.post(f"{WORKFLOW}/detailinstances", window | {"callee": CALLEE})
    )
    assert [(item["workflow_id"], item["case_id"]) for item in by_callee["list"]] == [
        (second, ""),
        (first, "case-7"),
    ]
    earlier = {
        "callee": CALLEE,
        "start_time": "2024-01-01 00:00:00+08:00",
        "end_time": "2024-02-01 00:00:00+08:00",
    }
    assert expect(await airudder.post(f"{WORKFLOW}/detailinstances", earlier)) == {"list": []}


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"workflow_id": "task"}, 400, '"callee" or "case_id"'),
        ({"callee": CALLEE}, 400, '"task_id" or "workflow_id"'),
        ({"callee": CALLEE, "task_id": "task", "workflow_id": "ZZZZZZ"}, 400, "different"),
        ({"callee": CALLEE, "task_id": "ZZZZZZ"}, 404, "ZZZZZZ not found"),
        ({"callee": "12", "task_id": "task"}, 400, "phone"),
        ({"callee": CALLEE, "task_id": "task", "page_size": 0}, 400, "page_size"),
        ({"callee": CALLEE, "task_id": "task", "cursor": "bogus"}, 400, "cursor"),
    ],
)
async def test_a_bad_call_information_query_is_refused(
    airudder: Airudder, params: dict[str, Any], status: int, words: str
) -> None:
    task = await airudder.task()
    params = {name: task if value == "task" else value for name, value in params.items()}
    assert words in expect(await airudder.get(f"{WORKFLOW}/callinfo", **params), status)


@pytest.mark.parametrize("call_id", ["123", "not-a-call", "9" * 30])
async def test_an_unknown_call_is_a_404(airudder: Airudder, call_id: str) -> None:
    assert "not found" in expect(await airudder.get(f"{WORKFLOW}/call", call_id=call_id), 404)


async def test_bad_task_detail_and_recordings_queries_are_refused(airudder: Airudder) -> None:
    task = await airudder.task()
    expect(await airudder.post(f"{WORKFLOW}/taskdetail", {"task_id": "ZZZZZZ"}), 404)
    expect(await airudder.post(f"{WORKFLOW}/taskdetail", {}), 400)
    bad_page = {"task_id": task, "page_size": 501}
    assert '"page_size"' in expect(await airudder.post(f"{WORKFLOW}/taskdetail", bad_page), 400)
    expect(await airudder.get(f"{WORKFLOW}/recordings", workflow_id=task), 400)
    expect(await airudder.get(f"{WORKFLOW}/recordings", workflow_id="ZZZZZZ", callee=CALLEE), 404)
    expect(await airudder.get(f"{WORKFLOW}/call"), 400)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"start_time": "2024-01-01 00:00:00", "end_time": "2024-02-01 00:00:00"}, "case_id"),
        ({"case_id": "c", "end_time": "2024-02-01 00:00:00"}, '"start_time" is required'),
        ({"case_id": "c", "start_time": "2024-01-01", "end_time": "soon"}, '"end_time" must'),
        ({"case_id": "c", "start_time": "2024-02-01", "end_time": "2024-01-01"}, "before"),
        ({"callee": "12", "start_time": "2024-01-01", "end_time": "2024-02-01"}, "phone"),
        ({"case_id": 7, "start_time": "2024-01-01", "end_time": "2024-02-01"}, '"case_id"'),
    ],
)
async def test_a_bad_detailinstances_query_is_a_400(
    airudder: Airudder, body: dict[str, Any], words: str
) -> None:
    assert words in expect(await airudder.post(f"{WORKFLOW}/detailinstances", body), 400)
