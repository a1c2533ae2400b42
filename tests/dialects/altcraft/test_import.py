"""import_and_start(_batch): authentication, matching modes, per-profile results and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dialflow.db.engine import Database
from dialflow.workspaces.service import create_workspace
from tests.conftest import Tenant, make_workflow
from tests.dialects.altcraft.conftest import Altcraft, xml_root

BATCH = "workflows/import_and_start_batch"
SINGLE = "workflows/import_and_start"
ADA = {"_fname": "Ada", "_lname": "Lovelace", "email": "ada@example.com", "phones": "+12125551234"}


def error(body: dict[str, Any]) -> tuple[int, str, str]:
    assert set(body) == {"error", "error_text", "error_debug"}, body
    return body["error"], body["error_text"], body["error_debug"]


# --- authentication -----------------------------------------------------------------------


async def test_the_token_can_be_a_bearer_header_or_in_the_query(altcraft: Altcraft) -> None:
    body = json.dumps({"workflow_id": altcraft.workflow["id"], "data": [{"data": ADA}]})
    by_header = await altcraft.send(BATCH, body, bearer=True)
    assert by_header.json()["error"] == 0
    by_query = await altcraft.send(f"{BATCH}?token={altcraft.tenant.api_key}", body)
    assert by_query.json()["result"] == by_header.json()["result"]


async def test_a_bad_or_missing_token_is_error_401(altcraft: Altcraft) -> None:
    bad = await altcraft.call(BATCH, token="dfk_nope_nope", workflow_id=1, data=[{"data": ADA}])
    assert error(bad) == (401, "API token required", "the API key is unknown or has been revoked")
    missing = await altcraft.send(BATCH, json.dumps({"workflow_id": 1, "data": [{"data": ADA}]}))
    code, _text, debug = error(missing.json())
    assert code == 401
    assert '"token" is required' in debug
    xml = await altcraft.send(BATCH, "<xml><workflow_id>1</workflow_id></xml>", xml=True)
    assert xml_root(xml).findtext("error") == "401"


async def test_an_xml_body_is_answered_in_xml_whatever_its_content_type(
    altcraft: Altcraft,
) -> None:
    body = (
        f"  <xml><token>{altcraft.tenant.api_key}</token>"
        f"<workflow_id>{altcraft.workflow['id']}</workflow_id>"
        "<data><email>ada@example.com</email><phones>+12125551234</phones></data></xml>"
    )
    response = await altcraft.send(BATCH, body, headers={"Content-Type": "text/plain"})
    assert xml_root(response).findtext("error") == "0"
    broken = await altcraft.send(BATCH, "<xml><token>", headers={"Content-Type": "text/plain"})
    assert xml_root(broken).findtext("error") == "400"


# --- request errors -----------------------------------------------------------------------


async def test_an_unknown_workflow_is_error_400(altcraft: Altcraft) -> None:
    body = await altcraft.call(BATCH, workflow_id=987654321, data=[{"data": ADA}])
    assert error(body) == (400, "Invalid request", "workflow 987654321 not found")


async def test_another_workspaces_workflow_is_not_found(altcraft: Altcraft, db: Database) -> None:
    other = await create_workspace(db, "other")
    created = await altcraft.tenant.client.post(
        "/v1/workflows",
        json={"name": "Theirs", "status": "active"},
        headers={"Authorization": f"Bearer {other.api_key}"},
    )
    theirs = created.json()["id"]
    body = await altcraft.call(BATCH, workflow_id=theirs, data=[{"data": ADA}])
    assert error(body) == (400, "Invalid request", f"workflow {theirs} not found")


async def test_a_stopped_workflow_takes_no_profiles(altcraft: Altcraft) -> None:
    stopped = await altcraft.tenant.client.post(f"/v1/workflows/{altcraft.workflow['key']}/stop")
    assert stopped.status_code == 200, stopped.text
    body = await altcraft.call(BATCH, workflow_id=altcraft.workflow["id"], data=[{"data": ADA}])
    code, _text, debug = error(body)
    assert code == 400
    assert "is stopped and takes no new records" in debug


@pytest.mark.parametrize(
    ("params", "debug"),
    [
        ({"matching": "mongo"}, "matching: Input should be 'email', 'email_profile'"),
        ({"matching": "custom"}, 'matching "custom" needs "field_name", the profile field'),
        ({"workflow_id": "twelve"}, "workflow_id: Input should be a valid integer"),
        ({"data": "profiles"}, '"data" must list the profiles to import'),
        ({"data": []}, '"data" must list the profiles to import'),
        ({"custom_request": {"email": "a@b.c"}}, "custom_request (a MongoDB query)"),
        ({"content": ["car"]}, "content: Input should be a valid dictionary"),
    ],
)
async def test_invalid_parameters_are_error_400(
    altcraft: Altcraft, params: dict[str, Any], debug: str
) -> None:
    params = {"workflow_id": altcraft.workflow["id"], "data": [{"data": ADA}]} | params
    code, text, message = error(await altcraft.call(BATCH, **params))
    assert (code, text) == (400, "Invalid request")
    assert message.startswith(debug)
    assert await altcraft.records() == []


@pytest.mark.parametrize(
    ("body", "xml", "debug"),
    [
        ('{"token": ', False, "the request body is not valid JSON"),
        ("", False, "the request body is empty"),
        ("[1, 2]", False, "the request body must be an object of parameters"),
        ("<xml><token>abc</xml>", True, "the request body is not valid XML: mismatched tag"),
        ("<xml>text only</xml>", True, "the XML root element must hold the parameters"),
        ("<a>" * 40 + "</a>" * 40, True, "the XML is nested more than 32 levels deep"),
    ],
)
async def test_malformed_bodies_are_error_400(
    altcraft: Altcraft, body: str, xml: bool, debug: str
) -> None:
    response = await altcraft.send(BATCH, body, xml=xml)
    if xml:
        root = xml_root(response)
        assert root.findtext("error") == "400"
        assert debug in root.findtext("error_debug")
    else:
        code, _text, message = error(response.json())
        assert code == 400
        assert debug in message


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><token>TOKEN</token><workflow_id>1</workflow_id><data><_fname>&lol4;</_fname></data></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><token>TOKEN</token><workflow_id>1</workflow_id><data><_fname>&secret;</_fname></data></xml>"""


@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, EXTERNAL_ENTITY])
async def test_xml_bombs_and_external_entities_are_refused(altcraft: Altcraft, bomb: str) -> None:
    body = bomb.replace("TOKEN", altcraft.tenant.api_key)
    root = xml_root(await altcraft.send(BATCH, body, xml=True))
    assert root.findtext("error") == "400"
    assert root.findtext("error_text") == "Invalid request"
    assert "DTD or entities, which are refused" in root.findtext("error_debug")
    assert await altcraft.records() == []


# --- per-profile results ------------------------------------------------------------------


async def test_each_profile_gets_its_own_result(altcraft: Altcraft, tenant: Tenant) -> None:
    listed = await tenant.client.post("/v1/dnc", json={"phone": "+12125550000"})
    assert listed.status_code == 201, listed.text
    result = await altcraft.import_batch(
        [
            {"data": ADA},
            {"data": {**ADA, "email": "bad@example.com", "phones": "12345"}},
            {"data": {"_fname": "Nobody", "phones": "+12125559999"}},
            {"data": {**ADA, "email": "caps@example.com", "_fname": "JOHN"}},
            {"data": {**ADA, "email": "dnc@example.com", "phones": "+12125550000"}},
            {
                "data": {
                    **ADA,
                    "email": "many@example.com",
                    "phones": [f"+1212555{n:04}" for n in range(7)],
                }
            },
            {"data": "Ada"},
            "Ada",
        ]
    )
    assert list(result[0]) == ["profile_id"]
    errors = [error(item) for item in result[1:]]
    assert [(code, text) for code, text, _ in errors] == [
        (400, "Invalid request"),
        (400, "Invalid request"),
        (400, "Invalid request"),
        (403, "No access"),
        (400, "Invalid request"),
        (400, "Invalid request"),
        (400, "Invalid request"),
    ]
    debugs = [debug for _, _, debug in errors]
    assert debugs[0].startswith("phones[0].number: ")
    assert debugs[1] == 'the profile has no email to match by (matching "email")'
    assert debugs[2].startswith("_fname: ")
    assert debugs[3] == "phones: +12125550000 is on the workspace's do-not-call list"
    assert debugs[4] == "a profile has at most 6 phone numbers"
    assert debugs[5] == '"data" must be an object of profile fields'
    assert debugs[6] == "each profile must be an object"
    [record] = await altcraft.records()
    assert record["profile_id"] == result[0]["profile_id"]


async def test_two_profiles_with_one_phone_keep_the_first(altcraft: Altcraft) -> None:
    result = await altcraft.import_batch(
        [{"data": ADA}, {"data": {**ADA, "email": "grace@example.com", "_fname": "Grace"}}]
    )
    assert "profile_id" in result[0]
    assert error(result[1]) == (
        400,
        "Invalid request",
        "phones: another profile of this request has the same value; the first one is kept",
    )


async def test_content_fills_the_workflows_placeholders(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client, variables=[{"name": "car"}])
    altcraft = Altcraft(tenant, workflow)
    [missing] = await altcraft.import_batch([{"data": ADA}])
    assert error(missing)[2] == 'content.car: missing required placeholder field "car"'
    result = await altcraft.import_batch(
        [{"data": ADA, "content": {"color": "red"}}],
        content={"car": "corolla", "color": "blue"},
        skip_triggers=True,
        skip_invalid_subscriptions=True,
        detect_geo=True,
    )
    assert list(result[0]) == ["profile_id"]
    [record] = await altcraft.records()
    assert record["placeholders"] == {"car": "corolla", "color": "red"}


# --- matching: a known profile is updated, never duplicated -------------------------------


async def reimported(
    altcraft: Altcraft, entry: dict[str, Any], **params: Any
) -> tuple[str, dict[str, Any]]:
    """Import Ada, then ``entry`` with ``params``: the profile id both got, and the record."""
    [first] = await altcraft.import_batch([{"data": {**ADA, "CRM_ID": "C-1"}}])
    [second] = await altcraft.import_batch([entry], **params)
    assert second == first, second
    [record] = await altcraft.records()
    assert record["profile_id"] == first["profile_id"]
    return first["profile_id"], record


async def test_matching_email_updates_the_profile_even_its_phone(altcraft: Altcraft) -> None:
    _, record = await reimported(
        altcraft,
        {"data": {"email": "ada@example.com", "_fname": "Augusta", "phones": "+13125550100"}},
        matching="email",
    )
    assert (record["first_name"], record["last_name"]) == ("Augusta", "Lovelace")
    assert record["phone"] == "+13125550100"
    assert record["meta"] == {"CRM_ID": "C-1"}


async def test_matching_email_reads_subscriptions_and_email_profile_does_not(
    altcraft: Altcraft,
) -> None:
    subscribed = {"data": {"_fname": "Augusta", "subscriptions": [{"email": "ada@example.com"}]}}
    _, record = await reimported(altcraft, subscribed, matching="email")
    assert record["first_name"] == "Augusta"
    [only_profile] = await altcraft.import_batch([subscribed], matching="email_profile")
    assert (
        error(only_profile)[2] == 'the profile has no email to match by (matching "email_profile")'
    )
    [by_profile] = await altcraft.import_batch(
        [{"data": {"email": "ada@example.com", "_lname": "King"}}], matching="email_profile"
    )
    assert by_profile["profile_id"] == record["profile_id"]
    [record] = await altcraft.records()
    assert (record["first_name"], record["last_name"]) == ("Augusta", "King")


async def test_matching_phone_updates_the_profile(altcraft: Altcraft) -> None:
    _, record = await reimported(
        altcraft,
        {"phone": "+1 (212) 555-1234", "data": {"_fname": "Augusta", "email": "new@example.com"}},
        matching="phone",
    )
    assert record["first_name"] == "Augusta"
    assert record["email"] == "new@example.com"


async def test_matching_profile_id_updates_the_profile(altcraft: Altcraft) -> None:
    [first] = await altcraft.import_batch([{"data": ADA}])
    [second] = await altcraft.import_batch(
        [{"profile_id": first["profile_id"], "data": {"_fname": "Augusta"}}],
        matching="profile_id",
    )
    assert second == first
    [record] = await altcraft.records()
    assert (record["first_name"], record["phone"]) == ("Augusta", "+12125551234")
    [unknown] = await altcraft.import_batch(
        [{"profile_id": "5f19953a03e4227216278ba4", "data": ADA}], matching="profile_id"
    )
    assert error(unknown)[2] == "profile 5f19953a03e4227216278ba4 not found"


async def test_matching_custom_updates_the_profile_even_its_phone(altcraft: Altcraft) -> None:
    _, record = await reimported(
        altcraft,
        {
            "data": {
                "CRM_ID": "C-1",
                "_fname": "Augusta",
                "phones": ["+13125550100", "+13125550101"],
            }
        },
        matching="custom",
        field_name="CRM_ID",
    )
    assert record["first_name"] == "Augusta"
    assert record["email"] == "ada@example.com"
    assert record["phones"] == [
        {"number": "+13125550100", "type": "MOBILE"},
        {"number": "+13125550101", "type": "HOME"},
    ]


async def test_a_custom_field_value_beside_the_data_and_tags_match_as_text(
    altcraft: Altcraft,
) -> None:
    [first] = await altcraft.import_batch(
        [{"field_value": ["vip", "b2c"], "data": ADA}], matching="custom", field_name="tags"
    )
    [record] = await altcraft.records()
    assert record["meta"] == {"tags": "vip, b2c"}
    [again] = await altcraft.import_batch(
        [{"data": {"tags": "vip, b2c", "_fname": "Augusta"}}], matching="custom", field_name="tags"
    )
    assert again == first


async def test_a_phone_taken_by_another_profile_is_refused(altcraft: Altcraft) -> None:
    await altcraft.import_batch(
        [{"data": ADA}, {"data": {**ADA, "email": "b@example.com", "phones": "+13125550100"}}]
    )
    [moved] = await altcraft.import_batch(
        [{"data": {"email": "ada@example.com", "phones": "+13125550100"}}]
    )
    code, _text, debug = error(moved)
    assert code == 400
    assert "another record of the workflow already has the same" in debug
    assert len(await altcraft.records()) == 2


async def test_a_finished_profile_enters_the_workflow_again(altcraft: Altcraft) -> None:
    [first] = await altcraft.import_batch([{"data": ADA}])
    [record] = await altcraft.records()
    done = await altcraft.tenant.client.post(f"/v1/records/{record['id']}/complete")
    assert done.status_code == 200, done.text
    [again] = await altcraft.import_batch([{"data": {"email": "ada@example.com"}}])
    assert again == first
    [record] = await altcraft.records()
    assert (record["status"], record["cycle"]) == ("pending", 2)


async def test_a_profile_of_another_workflow_enters_this_one_with_its_data(
    altcraft: Altcraft,
) -> None:
    [first] = await altcraft.import_batch([{"data": ADA}])
    other = await make_workflow(altcraft.tenant.client)
    [second] = await altcraft.import_batch(
        [{"profile_id": first["profile_id"]}], matching="profile_id", workflow_id=other["id"]
    )
    assert second == first
    [record] = await altcraft.records(other)
    assert (record["first_name"], record["email"], record["phone"]) == (
        "Ada",
        "ada@example.com",
        "+12125551234",
    )
    assert len(await altcraft.records()) == 1


# --- one profile --------------------------------------------------------------------------


async def test_import_and_start_answers_the_profile_id(altcraft: Altcraft) -> None:
    body = await altcraft.call(
        SINGLE,
        workflow_id=altcraft.workflow["id"],
        matching="email",
        email="ada@example.com",
        data={"_fname": "Ada", "phones": "+12125551234"},
        content={"one": "My email = ada@example.com"},
    )
    assert list(body) == ["error", "error_text", "profile_id"]
    assert (body["error"], body["error_text"]) == (0, "Successful operation")
    [record] = await altcraft.records()
    assert record["profile_id"] == body["profile_id"]
    assert record["email"] == "ada@example.com"
    assert record["placeholders"] == {"one": "My email = ada@example.com"}
    xml = (
        f"<xml><token>{altcraft.tenant.api_key}</token>"
        f"<workflow_id>{altcraft.workflow['id']}</workflow_id><matching>phone</matching>"
        "<phone>+12125551234</phone><data><_fname>Augusta</_fname></data></xml>"
    )
    root = xml_root(await altcraft.send(SINGLE, xml, xml=True))
    assert [child.tag for child in root] == ["error", "error_text", "profile_id"]
    assert root.findtext("profile_id") == body["profile_id"]
    [record] = await altcraft.records()
    assert record["first_name"] == "Augusta"


async def test_import_and_start_answers_a_profile_error_as_the_request_error(
    altcraft: Altcraft,
) -> None:
    body = await altcraft.call(
        SINGLE, workflow_id=altcraft.workflow["id"], email="ada@example.com", data={"_fname": "A"}
    )
    assert error(body) == (
        400,
        "Invalid request",
        'phones: a record needs a phone number ("phone" or "phones")',
    )
