"""Workflow templates (draft workflows), workflow tasks made from them, their node tasks,
outbound task, list and stop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialflow.db.engine import Database
from dialflow.workspaces.service import create_workspace
from tests.dialects.airudder.conftest import END_TIME, Airudder, expect

WORKFLOW = "/service/cloud/workflow"
STEPS = [
    {"id": "voicebot-call1", "type": "call"},
    {"id": "sms1", "type": "sms", "message": "Hi {{ name }}"},
    {"id": "mail1", "type": "email", "subject": "Bill", "body": "Pay {{ amount }}"},
]


async def test_the_templates_are_the_draft_workflows_newest_first(airudder: Airudder) -> None:
    first = await airudder.template("First", steps=STEPS)
    second = await airudder.template("Second")
    await airudder.task(first)  # a task is not a template

    data = expect(await airudder.get(f"{WORKFLOW}/templates"))
    assert (data["total"], data["page"], data["page_size"]) == (2, 1, 20)
    assert [t["workflow_template_id"] for t in data["list"]] == [second, first]
    assert data["list"][1]["workflow_template_name"] == "First"
    assert data["list"][1]["nodes"] == [
        {"node_name": "voicebot-call1", "node_type": "call"},
        {"node_name": "sms1", "node_type": "sms"},
        {"node_name": "mail1", "node_type": "email"},
    ]
    paged = expect(await airudder.get(f"{WORKFLOW}/templates", page=2, page_size=1))
    assert (paged["total"], [t["workflow_template_id"] for t in paged["list"]]) == (2, [first])


async def test_a_task_copies_its_template_and_ends_at_end_time(airudder: Airudder) -> None:
    template_id = await airudder.template(steps=STEPS, variables=[{"name": "amount"}])
    body = {
        "workflow_template_id": template_id,
        "workflow_template_name": "Collection",
        "name": "test-544-0001",
        "workflow_name": "test-544-0001",
        "auto_finish": 2,
        "end_time": END_TIME,
    }
    data = expect(await airudder.post(f"{WORKFLOW}/createinstance", body))
    assert set(data) == {"workflow_id"}
    workflow = await airudder.native("GET", f"/v1/workflows/{data['workflow_id']}")
    assert workflow["name"] == "test-544-0001"
    assert workflow["status"] == "active"
    assert [s["id"] for s in workflow["definition"]["steps"]] == [s["id"] for s in STEPS]
    assert workflow["definition"]["variables"][0]["name"] == "amount"
    assert datetime.fromisoformat(workflow["definition"]["ends_at"]) == datetime(
        2099, 12, 31, 15, 59, 59, tzinfo=UTC
    )
    template = await airudder.native("GET", f"/v1/workflows/{template_id}")
    assert template["status"] == "draft"  # the template stays a template


async def test_a_task_can_start_with_details(airudder: Airudder) -> None:
    body = {
        "workflow_template_id": await airudder.template(),
        "name": "with details",
        "end_time": "2099-01-01T00:00:00Z",
        "details": [{"callee": "+6281234567890", "case_id": "c-1"}],
    }
    data = expect(await airudder.post(f"{WORKFLOW}/createinstance", body))
    assert (data["total"], data["success"], data["failed"]) == (1, 1, 0)
    assert data["list_id"].isdigit()


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"workflow_template_id": None}, 400, "workflow_template_id"),
        ({"workflow_template_id": "abc"}, 400, "workflow_template_id"),
        ({"workflow_template_id": True}, 400, "workflow_template_id"),
        ({"workflow_template_id": 999_999_999}, 404, "template 999999999 not found"),
        ({"name": None}, 400, '"name" is required'),
        ({"name": "  "}, 400, '"name"'),
        ({"name": "x" * 201}, 400, "name"),
        ({"end_time": None}, 400, '"end_time" is required'),
        ({"end_time": "tomorrow"}, 400, '"end_time" must be a time'),
        ({"end_time": "2001-01-01 00:00:00"}, 400, "in the future"),
        ({"auto_finish": 3}, 400, '"auto_finish"'),
        ({"details": []}, 400, '"details"'),
        ({"details": {"callee": "+6281234567890"}}, 400, '"details"'),
    ],
)
async def test_a_bad_create_request_is_refused(
    airudder: Airudder, change: dict[str, object], status: int, words: str
) -> None:
    body = {"workflow_template_id": await airudder.template(), "name": "x", "end_time": END_TIME}
    body.update(change)
    assert words in expect(await airudder.post(f"{WORKFLOW}/createinstance", body), status)


async def test_a_workflow_that_is_not_a_draft_is_no_template(airudder: Airudder) -> None:
    task = await airudder.task()
    workflow = await airudder.native("GET", f"/v1/workflows/{task}")
    body = {"workflow_template_id": workflow["id"], "name": "x", "end_time": END_TIME}
    assert "not found" in expect(await airudder.post(f"{WORKFLOW}/createinstance", body), 404)


async def test_another_workspaces_template_and_task_are_not_found(
    airudder: Airudder, db: Database
) -> None:
    template_id = await airudder.template()
    task = await airudder.task(template_id)
    other = await create_workspace(db, "other")
    response = await airudder.client.post(
        "/service/cloud/auth",
        json={"APPKey": "_".join(other.api_key.split("_")[:2]), "APPSecret": other.api_key},
    )
    token = expect(response)["token"]
    body = {"workflow_template_id": template_id, "name": "x", "end_time": END_TIME}
    expect(await airudder.post(f"{WORKFLOW}/createinstance", body, token=token), 404)
    expect(await airudder.get(f"{WORKFLOW}/subtasks", token=token, workflow_id=task), 404)


async def test_the_task_list_shows_tasks_with_their_counts(airudder: Airudder) -> None:
    await airudder.template()  # templates are not tasks
    older = await airudder.task()
    newer = await airudder.task()
    await airudder.upload(newer, [{"callee": "+6281234567890"}, {"callee": "+6281234567891"}])

    data = expect(await airudder.get(f"{WORKFLOW}/instances"))
    assert data["total"] == 2
    assert [t["workflow_id"] for t in data["list"]] == [newer, older]
    task = data["list"][0]
    assert set(task) == {
        "workflow_id",
        "workflow_name",
        "status",
        "create_time",
        "update_time",
        "end_time",
        "total",
        "finished",
        "connected",
    }
    assert (task["status"], task["total"], task["finished"], task["connected"]) == (
        "running",
        2,
        0,
        0,
    )
    assert task["end_time"] == "2099-12-31T15:59:59Z"


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 101}, {"page": "x"}])
async def test_bad_paging_is_a_400(airudder: Airudder, params: dict[str, object]) -> None:
    expect(await airudder.get(f"{WORKFLOW}/instances", **params), 400)


async def test_subtasks_are_the_steps_and_the_outbound_task_holds_the_calls(
    airudder: Airudder,
) -> None:
    task = await airudder.task(await airudder.template(steps=STEPS))
    data = expect(await airudder.get(f"{WORKFLOW}/subtasks", workflow_id=task))
    assert data == {
        "workflow_id": task,
        "workflow_name": "test-544-0001",
        "list": [
            {
                "nodetask_id": f"{task}.voicebot-call1",
                "task_id": task,
                "nodetask_name": "voicebot-call1",
                "node_type": "call",
                "status": "running",
            },
            {
                "nodetask_id": f"{task}.sms1",
                "nodetask_name": "sms1",
                "node_type": "sms",
                "status": "running",
            },
            {
                "nodetask_id": f"{task}.mail1",
                "nodetask_name": "mail1",
                "node_type": "email",
                "status": "running",
            },
        ],
    }
    [outbound] = expect(await airudder.post(f"{WORKFLOW}/tasklist", {"workflow_id": task}))["list"]
    assert outbound["task_id"] == task
    assert outbound["status"] == "running"
    assert outbound["nodetasks"] == [
        {name: value for name, value in data["list"][0].items() if name != "status"}
    ]


async def test_a_task_without_call_steps_has_no_outbound_task(airudder: Airudder) -> None:
    task = await airudder.task(await airudder.template(steps=[STEPS[1]]))
    assert expect(await airudder.post(f"{WORKFLOW}/tasklist", {"workflow_id": task})) == {
        "list": []
    }


async def test_stopping_a_task_stops_its_workflow(airudder: Airudder) -> None:
    task = await airudder.task()
    for _ in range(2):  # stopping a stopped task answers the same
        data = expect(await airudder.post(f"{WORKFLOW}/stopinstance", {"workflow_id": task}))
        assert data == {"workflow_id": task, "status": "stopped"}
    assert (await airudder.native("GET", f"/v1/workflows/{task}"))["status"] == "stopped"
    [listed] = expect(await airudder.get(f"{WORKFLOW}/instances"))["list"]
    assert listed["status"] == "stopped"


async def test_a_finished_task_cannot_be_stopped(airudder: Airudder) -> None:
    task = await airudder.task()
    await airudder.native("POST", f"/v1/workflows/{task}/complete")
    assert "cannot stop" in expect(
        await airudder.post(f"{WORKFLOW}/stopinstance", {"workflow_id": task}), 400
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "stopinstance"),
        ("post", "tasklist"),
        ("get", "subtasks"),
    ],
)
async def test_unknown_and_template_ids_are_no_task(
    airudder: Airudder, method: str, path: str
) -> None:
    template_id = await airudder.template()
    template = await airudder.native("GET", f"/v1/workflows/{template_id}")
    for workflow_id in ("ZZZZZZ", template["key"]):
        if method == "post":
            response = await airudder.post(f"{WORKFLOW}/{path}", {"workflow_id": workflow_id})
        else:
            response = await airudder.get(f"{WORKFLOW}/{path}", workflow_id=workflow_id)
        assert f"workflow task {workflow_id} not found" in expect(response, 404)


async def test_a_missing_workflow_id_is_a_400(airudder: Airudder) -> None:
    assert '"workflow_id" is required' in expect(
        await airudder.post(f"{WORKFLOW}/stopinstance", {}), 400
    )
    expect(await airudder.get(f"{WORKFLOW}/subtasks"), 400)
