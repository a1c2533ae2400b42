"""The 2X / NCOL API: the seed's examples as printed, and every documented error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant, make_workflow
from tests.intake.test_bulk import phone

# The seed's two example requests, verbatim (000_2cfcab87f6cfef0c.txt).
SINGLE_EXAMPLE = """{
"api_key": "...",
"workflow_key": "A1B2C3",
"record_phone_number": "9876543210",
"record_first_name": "John",
"record_last_name": "Doe",
"record_zip_code": "12345",
"transfer_number": "5556667777",
"placeholders": {
"car_color": "blue",
"car_model": "corolla"
},
"meta": {
"campaign": "fall2024"
}
}"""
BULK_EXAMPLE = """{
"api_key": "...",
"workflow_key": "A1B2C3",
"records": [
{
"record_phone_number": "9876543210",
"placeholders": {
"car_color": "green",
},
"record_first_name": "Ben",
"record_last_name": "Jones",
},
{
"record_phone_number": "9876543211",
"transfer_number": "5556667777",
"placeholders": {
"car_color": "red",
},
"record_first_name": "Sally",
"record_last_name": "Smith",
},
...
]
}"""
#: The seed's numbers are fictitious (area codes 987 and 555 do not exist); these can be dialed.
DIALABLE = {"9876543210": phone(1), "9876543211": phone(2), "5556667777": phone(99)}
CAR_VARIABLES = [{"name": "car_color"}, {"name": "car_model", "required": False}]


def example(
    text: str, tenant: Tenant, workflow: Mapping[str, Any], numbers: Mapping[str, str] = {}
) -> str:
    """A printed example with the host's key and workflow key put in; the "..." that stands for
    more records dropped; and the numbers replaced as given."""
    text = text.replace('"api_key": "..."', f'"api_key": "{tenant.api_key}"')
    text = text.replace('"A1B2C3"', f'"{workflow["key"]}"').replace("\n...\n", "\n")
    for printed, replacement in numbers.items():
        text = text.replace(printed, replacement)
    return text


async def post(tenant: Tenant, path: str, body: str | object) -> httpx.Response:
    """POST as a 2X client does: a JSON body, no authentication header."""
    return await tenant.client.post(
        path,
        content=body if isinstance(body, str) else json.dumps(body),
        headers={"Authorization": "", "Content-Type": "application/json"},
    )


async def records_of(tenant: Tenant, workflow: Mapping[str, Any], **params: str) -> list[Any]:
    response = await tenant.client.get(f"/v1/workflows/{workflow['key']}/records", params=params)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def record(tenant: Tenant, workflow: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A single-add body: John Doe at phone(1) unless told otherwise."""
    return {
        "api_key": tenant.api_key,
        "workflow_key": workflow["key"],
        "record_phone_number": phone(1),
        "record_first_name": "John",
        **fields,
    }


def bulk(tenant: Tenant, workflow: Mapping[str, Any], records: object) -> dict[str, Any]:
    return {"api_key": tenant.api_key, "workflow_key": workflow["key"], "records": records}


# --- the seed's examples ----------------------------------------------------------------------


async def test_single_example_adds_the_record_with_every_field_mapped(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client, variables=CAR_VARIABLES)
    response = await post(tenant, "/api/call/", example(SINGLE_EXAMPLE, tenant, workflow, DIALABLE))
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Successfully added record."}
    [added] = await records_of(tenant, workflow)
    assert added["status"] == "pending"
    assert added["phone"] == f"+1{phone(1)}"
    assert (added["first_name"], added["last_name"], added["zip"]) == ("John", "Doe", "12345")
    assert added["transfer_number"] == f"+1{phone(99)}"
    assert added["placeholders"] == {"car_color": "blue", "car_model": "corolla"}
    assert added["meta"] == {"campaign": "fall2024"}
    assert added["list_id"] is None


async def test_single_example_as_printed_refuses_its_fictitious_numbers(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client, variables=CAR_VARIABLES)
    response = await post(tenant, "/api/call/", example(SINGLE_EXAMPLE, tenant, workflow))
    assert response.status_code == 400
    assert response.json() == {
        "message": 'Record has an invalid "record_phone_number": it is not a valid phone number. '
        'Record has an invalid "transfer_number": it is not a valid phone number.'
    }
    assert await records_of(tenant, workflow) == []


async def test_bulk_example_imports_both_records(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client, variables=CAR_VARIABLES)
    response = await post(
        tenant, "/api/bulk-call/", example(BULK_EXAMPLE, tenant, workflow, DIALABLE)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Successfully imported 2 records. Failed to import 0 records.",
        "errors": [],
    }
    added = {r["first_name"]: r for r in await records_of(tenant, workflow)}
    assert added["Ben"]["placeholders"] == {"car_color": "green"}
    assert added["Ben"]["transfer_number"] is None
    assert added["Sally"]["phone"] == f"+1{phone(2)}"
    assert added["Sally"]["transfer_number"] == f"+1{phone(99)}"
    assert added["Sally"]["list_id"] == added["Ben"]["list_id"] is not None


async def test_bulk_example_as_printed_reports_its_fictitious_numbers(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client, variables=CAR_VARIABLES)
    response = await post(tenant, "/api/bulk-call/", example(BULK_EXAMPLE, tenant, workflow))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Successfully imported 0 records. Failed to import 2 records.",
        "errors": [
            {
                "index": 0,
                "error": 'Record 1 has an invalid "record_phone_number": '
                "it is not a valid phone number.",
            },
            {
                "index": 1,
                "error": 'Record 2 has an invalid "record_phone_number": '
                'it is not a valid phone number. Record 2 has an invalid "transfer_number": '
                "it is not a valid phone number.",
            },
        ],
    }


async def test_bulk_error_example_is_answered_as_the_seed_shows(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client, variables=[{"name": "car"}])
    records = [
        {
            "record_phone_number": phone(n),
            "record_first_name": "Ben",
            "placeholders": {} if n in (1, 5) else {"car": "corolla"},
        }
        for n in range(100)
    ]
    response = await post(tenant, "/api/bulk-call/", bulk(tenant, workflow, records))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Successfully imported 98 records. Failed to import 2 records.",
        "errors": [
            {"index": 1, "error": 'Record 2 is missing required placeholder field "car".'},
            {"index": 5, "error": 'Record 6 is missing required placeholder field "car".'},
        ],
    }
    assert len(await records_of(tenant, workflow)) == 98


# --- errors of records ------------------------------------------------------------------------


async def test_all_capital_names_are_refused(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    single = await post(tenant, "/api/call/", record(tenant, workflow, record_first_name="JOHN"))
    assert single.status_code == 400
    assert single.json() == {
        "message": 'Record has "record_first_name" in all capital letters; names must be in '
        'proper case (e.g. "John Doe", not "JOHN DOE").'
    }
    records = [
        {"record_phone_number": phone(1), "record_first_name": "John", "record_last_name": "Doe"},
        {"record_phone_number": phone(2), "record_first_name": "Jane", "record_last_name": "DOE"},
    ]
    response = await post(tenant, "/api/bulk-call/", bulk(tenant, workflow, records))
    assert response.json() == {
        "message": "Successfully imported 1 records. Failed to import 1 records.",
        "errors": [
            {
                "index": 1,
                "error": 'Record 2 has "record_last_name" in all capital letters; names must be '
                'in proper case (e.g. "John Doe", not "JOHN DOE").',
            }
        ],
    }


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("record_phone_number", f"+1{phone(1)}", f'"+1{phone(1)}"'),
        ("record_phone_number", f"1{phone(1)}", f'"1{phone(1)}"'),
        ("record_phone_number", "212-200-0001", '"212-200-0001"'),
        ("record_phone_number", phone(1)[:9], f'"{phone(1)[:9]}"'),
        ("record_phone_number", int(phone(1)), "int"),
        ("transfer_number", f"+1{phone(99)}", f'"+1{phone(99)}"'),
    ],
)
async def test_numbers_must_be_exactly_ten_digits(
    tenant: Tenant, field: str, value: object, shown: str
) -> None:
    workflow = await make_workflow(tenant.client)
    response = await post(tenant, "/api/call/", record(tenant, workflow, **{field: value}))
    assert response.status_code == 400
    assert response.json() == {
        "message": f'Record is invalid: "{field}" must be exactly 10 digits, without the "+1" '
        f'country code (like "2125551234"), not {shown}.'
    }
    assert await records_of(tenant, workflow) == []


async def test_each_kind_of_record_error_has_its_sentence(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client, variables=[{"name": "age", "type": "integer"}])
    await tenant.client.post("/v1/dnc", json={"phone": phone(7)})
    ok = {"record_first_name": "Ann", "placeholders": {"age": 30}}
    records: list[Any] = [
        {"record_phone_number": phone(1), **ok},
        {"record_phone_number": phone(1), **ok},
        {"record_phone_number": phone(2), "placeholders": {"age": 30}},
        {"record_phone_number": phone(3), "record_first_name": "Ann", "placeholders": {"age": "x"}},
        {"record_phone_number": phone(4), "record_email": "ann@example.com", **ok},
        "Ann, 2122000005",
        {**ok},
        {"record_phone_number": phone(7), **ok},
        {"record_phone_number": phone(8), "record_zip_code": 12345, **ok},
    ]
    response = await post(tenant, "/api/bulk-call/", bulk(tenant, workflow, records))
    assert response.status_code == 200
    assert response.json() == {
        "message": "Successfully imported 1 records. Failed to import 8 records.",
        "errors": [
            {
                "index": 1,
                "error": "Record 2 has the same phone number as an earlier record of this call; "
                "only the first one is imported.",
            },
            {"index": 2, "error": 'Record 3 is missing required field "record_first_name".'},
            {
                "index": 3,
                "error": 'Record 4 is invalid: placeholder "age" must be an integer, not "x".',
            },
            {"index": 4, "error": 'Record 5 has unknown field "record_email".'},
            {"index": 5, "error": "Record 6 must be a JSON object."},
            {"index": 6, "error": 'Record 7 is missing required field "record_phone_number".'},
            {
                "index": 7,
                "error": "Record 8 was not imported: its phone number is on the do-not-call list.",
            },
            {
                "index": 8,
                "error": 'Record 9 is invalid: "record_zip_code" must be a string '
                '(keep leading zeros: "02134"), not int.',
            },
        ],
    }


async def test_trailing_commas_are_tolerated_and_strings_kept_intact(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client, variables=[{"name": "note"}])
    body = (
        f'{{"api_key": "{tenant.api_key}", "workflow_key": "{workflow["key"]}",'
        f'"record_phone_number": "{phone(1)}", "record_first_name": "Ann",'
        '"placeholders": {"note": "a \\"quoted\\", text,}",},}'
    )
    response = await post(tenant, "/api/call/", body)
    assert response.status_code == 200, response.text
    [added] = await records_of(tenant, workflow)
    assert added["placeholders"] == {"note": 'a "quoted", text,}'}
    over_a_megabyte = body.replace("text,}", "x" * 1024 * 1024)
    refused = await post(tenant, "/api/call/", over_a_megabyte)
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("The request body is not valid JSON")


# --- errors of requests -----------------------------------------------------------------------


async def test_more_than_1000_records_are_refused_naming_the_limit(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    records = [{"record_phone_number": phone(n), "record_first_name": "Ann"} for n in range(1001)]
    response = await post(tenant, "/api/bulk-call/", bulk(tenant, workflow, records))
    assert response.status_code == 400
    assert response.json() == {
        "message": "Too many records in one call. There is currently a limit of 1,000 records "
        "per call."
    }
    assert await records_of(tenant, workflow) == []
    exactly = await post(tenant, "/api/bulk-call/", bulk(tenant, workflow, records[:1000]))
    assert exactly.json()["message"] == (
        "Successfully imported 1000 records. Failed to import 0 records."
    )


async def test_api_key_in_the_body_or_a_header(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    wrong = await post(tenant, "/api/call/", record(tenant, workflow, api_key="df_nope"))
    assert wrong.status_code == 401
    assert wrong.json() == {"message": "Invalid API key."}
    body = record(tenant, workflow)
    del body["api_key"]
    missing = await post(tenant, "/api/call/", body)
    assert missing.status_code == 401
    assert missing.json() == {"message": 'Missing required field "api_key".'}
    with_header = await tenant.client.post("/api/call/", json=body)
    assert with_header.status_code == 200, with_header.text


async def test_workflow_key_must_name_a_workflow_of_the_key_owner(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    unknown = await post(tenant, "/api/call/", record(tenant, workflow, workflow_key="ZZ9ZZ9"))
    assert unknown.status_code == 400
    assert unknown.json() == {"message": "Workflow ZZ9ZZ9 not found."}
    body = record(tenant, workflow)
    del body["workflow_key"]
    missing = await post(tenant, "/api/call/", body)
    assert missing.status_code == 400
    assert missing.json() == {"message": 'Missing required field "workflow_key".'}
    for bad in ("", 12):
        wrong_type = await post(
            tenant, "/api/bulk-call/", {**bulk(tenant, workflow, [{}]), "workflow_key": bad}
        )
        assert wrong_type.status_code == 400
        assert wrong_type.json() == {
            "message": '"workflow_key" must be the workflow\'s key, like "A1B2C3".'
        }
    await tenant.client.post(f"/v1/workflows/{workflow['key']}/stop")
    stopped = await post(tenant, "/api/call/", record(tenant, workflow))
    assert stopped.status_code == 400
    assert stopped.json() == {
        "message": f"Workflow {workflow['key']} is stopped and takes no new records."
    }


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/call/", '{"api_key": "x",', "The request body is not valid JSON"),
        ("/api/bulk-call/", "", "The request body is empty; send a JSON object."),
        ("/api/complete-record/", "[1, 2]", "The request body must be a JSON object."),
        ("/api/resume-record", "null", "The request body must be a JSON object."),
    ],
)
async def test_malformed_bodies_are_400(tenant: Tenant, path: str, body: str, message: str) -> None:
    response = await post(tenant, path, body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


async def test_records_must_be_an_array(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    for records in (None, {"record_phone_number": phone(1)}):
        response = await post(tenant, "/api/bulk-call/", bulk(tenant, workflow, records))
        assert response.status_code == 400
        assert response.json() == {"message": '"records" must be an array of records.'}
    empty = await post(tenant, "/api/bulk-call/", bulk(tenant, workflow, []))
    assert empty.status_code == 400
    assert empty.json() == {"message": "No records: send at least one record."}


# --- complete and resume ----------------------------------------------------------------------


async def add(tenant: Tenant, workflow: Mapping[str, Any], *numbers: int) -> None:
    records = [{"record_phone_number": phone(n), "record_first_name": "Ann"} for n in numbers]
    response = await post(tenant, "/api/bulk-call/", bulk(tenant, workflow, records))
    assert response.json()["errors"] == [], response.text


def by_phone(tenant: Tenant, workflow: Mapping[str, Any] | None, n: int) -> dict[str, Any]:
    body = {"api_key": tenant.api_key, "record_phone_number": phone(n)}
    return body if workflow is None else {**body, "workflow_key": workflow["key"]}


async def test_complete_then_resume_one_record(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    await add(tenant, workflow, 1)
    done = await post(tenant, "/api/complete-record/", by_phone(tenant, workflow, 1))
    assert (done.status_code, done.json()) == (
        200,
        {"message": "Successfully marked record as completed."},
    )
    [completed] = await records_of(tenant, workflow)
    assert (completed["status"], completed["final_outcome"]) == ("completed", "marked_complete")
    again = await post(tenant, "/api/complete-record", by_phone(tenant, workflow, 1))
    assert (again.status_code, again.json()) == (200, {"message": "Record is already completed."})

    for path in ("/api/resume-record", "/api/resume-record/"):  # resumed, then already live
        resumed = await post(tenant, path, by_phone(tenant, workflow, 1))
        assert (resumed.status_code, resumed.json()) == (
            200,
            {"message": "Successfully resumed record."},
        )
        [live] = await records_of(tenant, workflow)
        assert live["status"] == "pending"


async def test_complete_and_resume_of_an_unknown_record_are_400(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    await add(tenant, workflow, 1)
    for path in ("/api/complete-record/", "/api/resume-record"):
        missing = await post(tenant, path, by_phone(tenant, workflow, 2))
        assert (missing.status_code, missing.json()) == (
            400,
            {"message": "Record not found in the workflow."},
        )
        anywhere = await post(tenant, path, by_phone(tenant, None, 2))
        assert anywhere.json() == {"message": "Record not found in any of your workflows."}
        other = await post(tenant, path, {**by_phone(tenant, workflow, 1), "workflow_key": "QQ9"})
        assert (other.status_code, other.json()) == (400, {"message": "Workflow QQ9 not found."})
        plus_one = await post(
            tenant, path, {**by_phone(tenant, workflow, 1), "record_phone_number": f"+1{phone(1)}"}
        )
        assert plus_one.status_code == 400
        assert plus_one.json()["message"].startswith(
            '"record_phone_number" must be exactly 10 digits'
        )
        no_number = await post(tenant, path, {"api_key": tenant.api_key})
        assert no_number.json() == {"message": 'Missing required field "record_phone_number".'}
    [untouched] = await records_of(tenant, workflow)
    assert untouched["status"] == "pending"


async def test_complete_without_workflow_key_reaches_every_workflow(tenant: Tenant) -> None:
    first = await make_workflow(tenant.client)
    second = await make_workflow(tenant.client)
    await add(tenant, first, 1, 2)
    await add(tenant, second, 1)
    done = await post(tenant, "/api/complete-record/", by_phone(tenant, None, 1))
    assert done.json() == {"message": "Successfully marked record as completed."}
    for workflow in (first, second):
        completed = await records_of(tenant, workflow, status="completed")
        assert [r["phone"] for r in completed] == [f"+1{phone(1)}"]
    assert [r["phone"] for r in await records_of(tenant, first, status="pending")] == [
        f"+1{phone(2)}"
    ]


async def test_bulk_complete_and_resume_ignore_numbers_they_cannot_act_on(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    other = await make_workflow(tenant.client)
    await add(tenant, workflow, 1, 2, 3)
    await add(tenant, other, 1)
    numbers = [phone(1), phone(2), phone(50), f"+1{phone(3)}", 2122000003, None]
    body = {"api_key": tenant.api_key, "workflow_key": workflow["key"]}
    done = await post(
        tenant, "/api/bulk-complete-record/", {**body, "record_phone_numbers": numbers}
    )
    assert (done.status_code, done.json()) == (
        200,
        {"message": "Successfully marked 2 records as completed."},
    )
    pending = await records_of(tenant, workflow, status="pending")
    assert [r["phone"] for r in pending] == [f"+1{phone(3)}"]
    assert [r["status"] for r in await records_of(tenant, other)] == ["pending"]
    again = await post(
        tenant, "/api/bulk-complete-record", {**body, "record_phone_numbers": numbers}
    )
    assert again.json() == {"message": "Successfully marked 0 records as completed."}

    resumed = await post(
        tenant, "/api/bulk-resume-record/", {**body, "record_phone_numbers": [*numbers, phone(3)]}
    )
    assert resumed.json() == {"message": "Successfully resumed 2 records."}
    assert len(await records_of(tenant, workflow, status="pending")) == 3
    nothing = await post(tenant, "/api/bulk-resume-record/", {**body, "record_phone_numbers": []})
    assert nothing.json() == {"message": "Successfully resumed 0 records."}
    assert len(await records_of(tenant, workflow, status="pending")) == 3


@pytest.mark.parametrize("path", ["/api/bulk-complete-record/", "/api/bulk-resume-record/"])
async def test_bulk_actions_take_an_array_of_at_most_1000_numbers(
    tenant: Tenant, path: str
) -> None:
    workflow = await make_workflow(tenant.client)
    await add(tenant, workflow, 1)
    body = {"api_key": tenant.api_key, "workflow_key": workflow["key"]}
    too_many = await post(tenant, path, {**body, "record_phone_numbers": [phone(1)] * 1001})
    assert (too_many.status_code, too_many.json()) == (
        400,
        {
            "message": "Too many records in one call. There is currently a limit of 1,000 "
            "records per call."
        },
    )
    not_a_list = await post(tenant, path, {**body, "record_phone_numbers": phone(1)})
    assert (not_a_list.status_code, not_a_list.json()) == (
        400,
        {"message": '"record_phone_numbers" must be an array of 10-digit phone numbers.'},
    )
    assert [r["status"] for r in await records_of(tenant, workflow)] == ["pending"]
