"""List entries (``details``): added to a task as a list, updated by case id or callee, and a
list's processes cancelled."""

from __future__ import annotations

from typing import Any

import pytest

from dialflow.db.engine import Database
from tests.conftest import workflow_records
from tests.dialects.airudder.conftest import CALLEE, Airudder, expect

WORKFLOW = "/service/cloud/workflow"
AMOUNT = [{"name": "amount"}]


def callee(n: int) -> str:
    return f"+62812345678{n:02d}"


async def test_details_are_added_as_one_list(airudder: Airudder, db: Database) -> None:
    task = await airudder.task(await airudder.template(variables=AMOUNT))
    data = await airudder.upload(
        task,
        [
            {"callee": CALLEE, "case_id": "test-caseid11", "amount": "150000", "name": "Budi"},
            {"callee": "+62 812-3456-7891", "amount": 90000, "email": "siti@example.com"},
        ],
    )
    assert data == {
        "workflow_id": task,
        "list_id": data["list_id"],
        "total": 2,
        "success": 2,
        "failed": 0,
        "errors": [],
    }
    first, second = await workflow_records(db, task)
    assert str(first["list_id"]) == data["list_id"] == str(second["list_id"])
    assert (first["phone"], first["case_id"]) == (CALLEE, "test-caseid11")
    assert first["placeholders"] == {"amount": "150000", "name": "Budi"}
    assert first["timezone"] == "Asia/Jakarta"
    assert (second["phone"], second["case_id"], second["email"]) == (
        "+6281234567891",
        None,
        "siti@example.com",
    )


async def test_invalid_details_are_listed_and_the_others_added(
    airudder: Airudder, db: Database
) -> None:
    task = await airudder.task(await airudder.template(variables=AMOUNT))
    data = await airudder.upload(
        task,
        [
            {"callee": callee(1), "case_id": "ok", "amount": "1"},
            {"callee": "12", "case_id": "bad-number", "amount": "1"},
            {"callee": callee(2), "case_id": "no-amount"},
            "not an entry",
            {"callee": callee(1), "case_id": "again", "amount": "1"},
            {"case_id": "no-callee", "amount": "1"},
        ],
    )
    assert (data["total"], data["success"], data["failed"]) == (6, 1, 5)
    errors = {error["index"]: error for error in data["errors"]}
    assert sorted(errors) == [1, 2, 3, 4, 5]
    assert errors[1] == {
        "index": 1,
        "callee": "12",
        "case_id": "bad-number",
        "message": '"callee" is not a valid phone number: "12"',
    }
    assert errors[2]["message"] == 'missing required variable field "amount"'
    assert errors[3] == {
        "index": 3,
        "callee": None,
        "case_id": None,
        "message": "a list entry must be a JSON object",
    }
    assert "same phone as record 0" in errors[4]["message"]
    assert "callee" in errors[5]["message"]
    assert [row["case_id"] for row in await workflow_records(db, task)] == ["ok"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"details": [{"callee": CALLEE}]}, 400, '"workflow_id" is required'),
        ({"workflow_id": "ZZZZZZ", "details": [{"callee": CALLEE}]}, 404, "ZZZZZZ not found"),
        ({"workflow_id": "task"}, 400, '"details"'),
        ({"workflow_id": "task", "details": []}, 400, '"details"'),
        ({"workflow_id": "task", "details": "x"}, 400, '"details"'),
    ],
)
async def test_a_bad_upload_is_refused(
    airudder: Airudder, body: dict[str, Any], status: int, words: str
) -> None:
    task = await airudder.task()
    if body.get("workflow_id") == "task":
        body = {**body, "workflow_id": task}
    assert words in expect(await airudder.post(f"{WORKFLOW}/uploaddetails", body), status)


async def test_a_stopped_task_takes_no_details(airudder: Airudder) -> None:
    task = await airudder.task()
    expect(await airudder.post(f"{WORKFLOW}/stopinstance", {"workflow_id": task}))
    body = {"workflow_id": task, "details": [{"callee": CALLEE}]}
    assert "takes no new records" in expect(
        await airudder.post(f"{WORKFLOW}/uploaddetails", body), 400
    )


async def test_malformed_json_is_a_400(airudder: Airudder) -> None:
    response = await airudder.client.post(
        f"{WORKFLOW}/uploaddetails",
        content=b'{"workflow_id": ',
        headers={"Authorization": f"Token {airudder.token}"},
    )
    assert "not valid JSON" in expect(response, 400)
    response = await airudder.post(f"{WORKFLOW}/uploaddetails", ["a list"])
    assert "JSON object" in expect(response, 400)


async def test_details_are_updated_by_case_id_or_callee(airudder: Airudder, db: Database) -> None:
    task = await airudder.task(await airudder.template(variables=AMOUNT))
    await airudder.upload(
        task,
        [
            {"callee": callee(1), "case_id": "case-1", "amount": "100", "name": "Budi"},
            {"callee": callee(2), "amount": "200"},
        ],
    )
    body = {
        "workflow_id": task,
        "details": [
            {"case_id": "case-1", "callee": callee(3), "amount": "90"},
            {"callee": callee(2), "amount": "150", "email": "siti@example.com"},
        ],
    }
    data = expect(await airudder.post(f"{WORKFLOW}/updatedetails", body))
    assert data == {"workflow_id": task, "total": 2, "success": 2, "failed": 0, "errors": []}
    first, second = await workflow_records(db, task)
    assert (first["phone"], first["case_id"]) == (callee(3), "case-1")
    assert first["placeholders"] == {"amount": "90", "name": "Budi"}
    assert (second["phone"], second["email"], second["placeholders"]) == (
        callee(2),
        "siti@example.com",
        {"amount": "150"},
    )


async def test_updates_naming_nothing_or_invalid_are_listed(
    airudder: Airudder, db: Database
) -> None:
    task = await airudder.task(await airudder.template(variables=AMOUNT))
    await airudder.upload(
        task,
        [
            {"callee": callee(1), "case_id": "case-1", "amount": "1"},
            {"callee": callee(2), "case_id": "case-2", "amount": "2"},
        ],
    )
    body = {
        "workflow_id": task,
        "details": [
            {"case_id": "unknown", "amount": "3"},
            {"callee": callee(9), "amount": "3"},
            {"case_id": "case-1", "callee": "12"},
            {"case_id": "case-1", "callee": callee(2)},
            "not an entry",
            {"case_id": "case-2", "amount": "20"},
        ],
    }
    data = expect(await airudder.post(f"{WORKFLOW}/updatedetails", body))
    assert (data["total"], data["success"], data["failed"]) == (6, 1, 5)
    messages = {error["index"]: error["message"] for error in data["errors"]}
    assert messages[0] == messages[1] == "no entry of the task has this case_id or callee"
    assert messages[2] == '"callee" is not a valid phone number: "12"'
    assert "already has the same dedup key" in messages[3]
    assert messages[4] == "a list entry must be a JSON object"
    assert [row["placeholders"]["amount"] for row in await workflow_records(db, task)] == [
        "1",
        "20",
    ]


async def test_an_update_of_an_unknown_task_is_a_404(airudder: Airudder) -> None:
    body = {"workflow_id": "ZZZZZZ", "details": [{"case_id": "c"}]}
    expect(await airudder.post(f"{WORKFLOW}/updatedetails", body), 404)


async def test_cancelling_a_list_cancels_its_unfinished_entries(
    airudder: Airudder, db: Database
) -> None:
    task = await airudder.task()
    cancelled = await airudder.upload(task, [{"callee": callee(1)}, {"callee": callee(2)}])
    kept = await airudder.upload(task, [{"callee": callee(3)}])
    body = {"workflow_id": task, "list_id": cancelled["list_id"]}
    data = expect(await airudder.post(f"{WORKFLOW}/canceldetails", body))
    assert data == {"workflow_id": task, "list_id": cancelled["list_id"], "cancelled": 2}
    statuses = {str(row["list_id"]): row["status"] for row in await workflow_records(db, task)}
    assert statuses == {cancelled["list_id"]: "cancelled", kept["list_id"]: "pending"}
    assert "already cancelled" in expect(
        await airudder.post(f"{WORKFLOW}/canceldetails", body), 400
    )


async def test_a_list_id_may_be_sent_as_a_number(airudder: Airudder) -> None:
    task = await airudder.task()
    added = await airudder.upload(task, [{"callee": callee(1)}])
    body = {"workflow_id": task, "list_id": int(added["list_id"])}
    assert expect(await airudder.post(f"{WORKFLOW}/canceldetails", body))["cancelled"] == 1


async def test_an_unknown_list_or_one_of_another_task_is_a_404(airudder: Airudder) -> None:
    task = await airudder.task()
    other = await airudder.task()
    other_list = (await airudder.upload(other, [{"callee": callee(1)}]))["list_id"]
    for list_id in (other_list, "123", "not-a-list", "9" * 30):
        body = {"workflow_id": task, "list_id": list_id}
        assert f"list {list_id} of workflow task {task} not found" in expect(
            await airudder.post(f"{WORKFLOW}/canceldetails", body), 404
        )
    assert '"list_id" is required' in expect(
        await airudder.post(f"{WORKFLOW}/canceldetails", {"workflow_id": task}), 400
    )
