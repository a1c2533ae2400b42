"""Bad input gets a clear error, never a 500.

Every error that is not a per-record intake result is ``{"error": {"code", "message"}}`` with a
stable ``code`` and a message a person can act on; per-record problems come back as results.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dialflow.app import create_app
from dialflow.db.engine import Database
from dialflow.intake.validate import NATIVE_FIELDS
from dialflow.pagination import encode_cursor
from dialflow.settings import Settings
from dialflow.workspaces.service import create_key, revoke_key
from tests.conftest import Tenant, make_workflow

BASE_URL = "http://dialflow.test"
PHONE = "2125551234"


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> str:
    """The response is ``status`` with the JSON error shape; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str), body
    assert error["code"], body
    if code is not None:
        assert error["code"] == code, body
    assert isinstance(error["message"], str), body
    assert error["message"].strip(), body
    return str(error["message"])


def key_prefix(api_key: str) -> str:
    """``dfk_<prefix>_<secret>``: the secret may itself contain underscores."""
    scheme, prefix, _secret = api_key.split("_", 2)
    return f"{scheme}_{prefix}"


def client_for(app: Any, api_key: str | None = None) -> httpx.AsyncClient:
    headers = {} if api_key is None else {"Authorization": f"Bearer {api_key}"}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers
    )


@pytest.fixture
async def anon(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same app that sends no API key."""
    async with client_for(create_app(settings, db)) as client:
        yield client


async def _workflow_key(tenant: Tenant) -> str:
    return str((await make_workflow(tenant.client))["key"])


# --- malformed bodies -------------------------------------------------------------------------

MALFORMED = [
    pytest.param(b"{not json", id="broken-object"),
    pytest.param(b'{"records": [', id="truncated"),
    pytest.param(b"{'phone': '2125551234'}", id="single-quotes"),
    pytest.param(b"\xff\xfe\x00garbage", id="binary"),
    pytest.param(b'{"phone": "2125551234"} trailing', id="trailing-data"),
    pytest.param(b"   ", id="whitespace-only"),
]


@pytest.mark.parametrize("suffix", ["records", "records/bulk"])
@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_json_is_400_invalid_json(tenant: Tenant, suffix: str, body: bytes) -> None:
    key = await _workflow_key(tenant)
    response = await tenant.client.post(
        f"/v1/workflows/{key}/{suffix}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    message = assert_error(response, 400, "invalid_json")
    assert "JSON" in message


@pytest.mark.parametrize("suffix", ["records", "records/bulk"])
async def test_empty_body_is_400(tenant: Tenant, suffix: str) -> None:
    key = await _workflow_key(tenant)
    response = await tenant.client.post(f"/v1/workflows/{key}/{suffix}", content=b"")
    message = assert_error(response, 400, "invalid_json")
    assert "empty" in message


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([], id="array"),
        pytest.param([{"phone": PHONE}], id="array-of-records"),
        pytest.param(42, id="number"),
        pytest.param("records", id="string"),
        pytest.param(None, id="null"),
        pytest.param({}, id="no-records"),
        pytest.param({"records": {"phone": PHONE}}, id="records-object"),
        pytest.param({"records": "x"}, id="records-string"),
        pytest.param({"records": None}, id="records-null"),
    ],
)
async def test_bulk_body_must_be_an_object_with_a_records_list(
    tenant: Tenant, payload: object
) -> None:
    key = await _workflow_key(tenant)
    response = await tenant.client.post(
        f"/v1/workflows/{key}/records/bulk", content=json.dumps(payload)
    )
    message = assert_error(response, 400, "invalid_request")
    assert '"records"' in message


async def test_bulk_list_name_must_be_a_string(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    response = await tenant.client.post(
        f"/v1/workflows/{key}/records/bulk",
        json={"records": [{"phone": PHONE}], "list_name": 7},
    )
    message = assert_error(response, 400, "invalid_request")
    assert "list_name" in message


async def test_bulk_without_any_record_is_400(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    response = await tenant.client.post(f"/v1/workflows/{key}/records/bulk", json={"records": []})
    assert_error(response, 400, "no_records")


@pytest.mark.parametrize("payload", [[], 42, "x", None, [{"phone": PHONE}]])
async def test_single_record_that_is_not_an_object_is_a_per_record_422(
    tenant: Tenant, payload: object
) -> None:
    """POST /records answers per record (documented): a non-object is one invalid_type error."""
    key = await _workflow_key(tenant)
    response = await tenant.client.post(f"/v1/workflows/{key}/records", content=json.dumps(payload))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == "invalid"
    assert body["record_id"] is None
    assert [e["code"] for e in body["errors"]] == ["invalid_type"]
    assert body["errors"][0]["message"]


# --- workflow definitions -----------------------------------------------------------------------


def _steps_with_missing_target() -> dict[str, Any]:
    return {"steps": [{"id": "call-1", "type": "call", "next": {"default": "call-9"}}]}


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        pytest.param({"name": 123}, "name", "string", id="name-int"),
        pytest.param({}, "name", "required", id="name-missing"),
        pytest.param({"name": "   "}, "name", "blank", id="name-blank"),
        pytest.param(
            {"name": "x", "definition": {"calling_hours": {"start": "25:00"}}},
            "definition.calling_hours.start",
            "'25:00' is not a time of day",
            id="start-25h",
        ),
        pytest.param(
            {"name": "x", "definition": {"calling_hours": {"start": "18:00", "end": "10:00"}}},
            "definition.calling_hours",
            "must be before end",
            id="window-backwards",
        ),
        pytest.param({"name": "x", "colour": "red"}, "colour", "not permitted", id="unknown-field"),
        pytest.param(
            {"name": "x", "definition": {"steps": [], "bogus": True}},
            "definition.bogus",
            "not permitted",
            id="unknown-definition-field",
        ),
        pytest.param(
            {"name": "x", "definition": _steps_with_missing_target()},
            "definition.steps",
            "'call-9', which is not a step",
            id="next-missing-step",
        ),
        pytest.param(
            {"name": "x", "definition": {"timezone": "Mars/Olympus"}},
            "definition.timezone",
            "IANA",
            id="bad-timezone",
        ),
        pytest.param({"name": "x", "key": "abc"}, "key", "6 letters", id="short-key"),
        pytest.param({"name": "x", "status": "paused"}, "status", "draft", id="bad-status"),
        pytest.param({"name": "x", "definition": "calls"}, "definition", "", id="definition-str"),
    ],
)
async def test_invalid_workflow_is_400_naming_the_field(
    tenant: Tenant, body: dict[str, Any], field: str, fragment: str
) -> None:
    response = await tenant.client.post("/v1/workflows", json=body)
    message = assert_error(response, 400, "invalid_request")
    assert field in message
    assert "Value error, " not in message
    details = response.json()["error"]["details"]
    assert any(d["field"] == field for d in details), details
    for detail in details:
        assert detail["message"]
        assert not detail["message"].startswith("Value error")
    assert fragment in message


async def test_invalid_workflow_patch_is_400(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    response = await tenant.client.patch(
        f"/v1/workflows/{key}", json={"definition": {"calling_hours": {"end": "7pm"}}}
    )
    message = assert_error(response, 400, "invalid_request")
    assert "definition.calling_hours.end" in message
    assert "Value error, " not in message


async def test_workflow_body_that_is_not_json_is_400(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/v1/workflows", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=abc", "limit=100000", "status=sleeping"],
)
async def test_bad_query_parameters_are_400(tenant: Tenant, query: str) -> None:
    response = await tenant.client.get(f"/v1/workflows?{query}")
    assert_error(response, 400, "invalid_request")


async def test_bad_record_filter_is_400(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    response = await tenant.client.get(f"/v1/workflows/{key}/records?phone=not-a-phone")
    assert_error(response, 400, "invalid_phone")
    response = await tenant.client.get(f"/v1/workflows/{key}/records?status=lost")
    assert_error(response, 400, "invalid_request")


# --- not found ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["999999999", "ZZZZZZ", "zzzzzz", "not-a-key"])
async def test_unknown_workflow_is_404(tenant: Tenant, ref: str) -> None:
    client = tenant.client
    for response in (
        await client.get(f"/v1/workflows/{ref}"),
        await client.patch(f"/v1/workflows/{ref}", json={"name": "renamed"}),
        await client.post(f"/v1/workflows/{ref}/pause"),
        await client.get(f"/v1/workflows/{ref}/records"),
        await client.get(f"/v1/workflows/{ref}/lists"),
        await client.post(f"/v1/workflows/{ref}/records", json={"phone": PHONE}),
        await client.post(
            f"/v1/workflows/{ref}/records/bulk", json={"records": [{"phone": PHONE}]}
        ),
        await client.post("/v1/records/complete", json={"phone": PHONE, "workflow": ref}),
    ):
        assert_error(response, 404, "workflow_not_found")


@pytest.mark.parametrize("record_id", ["1", "999999999999", "abc", "12ab", "-5"])
async def test_unknown_record_is_404(tenant: Tenant, record_id: str) -> None:
    client = tenant.client
    for response in (
        await client.get(f"/v1/records/{record_id}"),
        await client.post(f"/v1/records/{record_id}/complete"),
        await client.post(f"/v1/records/{record_id}/resume"),
    ):
        assert_error(response, 404, "record_not_found")


@pytest.mark.parametrize("list_id", ["1", "999999999999", "abc", "-5"])
async def test_unknown_list_is_404(tenant: Tenant, list_id: str) -> None:
    assert_error(await tenant.client.get(f"/v1/lists/{list_id}"), 404, "list_not_found")
    assert_error(await tenant.client.post(f"/v1/lists/{list_id}/cancel"), 404, "list_not_found")


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("9" * 30, id="id-beyond-64-bits"),
        pytest.param("9223372036854775808", id="int64-max-plus-one"),
        pytest.param("%C2%B2", id="superscript-two"),
    ],
)
async def test_out_of_range_or_odd_digit_ids_are_404(tenant: Tenant, ref: str) -> None:
    """Ids that are digits to ``str.isdigit`` but not a storable integer are simply not found."""
    client = tenant.client
    assert_error(await client.get(f"/v1/workflows/{ref}"), 404, "workflow_not_found")
    assert_error(await client.get(f"/v1/records/{ref}"), 404, "record_not_found")
    assert_error(await client.get(f"/v1/lists/{ref}"), 404, "list_not_found")


async def test_cursor_beyond_int64_is_400(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    cursor = encode_cursor(10**30)
    for path in (
        f"/v1/workflows?cursor={cursor}",
        f"/v1/workflows/{key}/records?cursor={cursor}",
        f"/v1/workflows/{key}/lists?cursor={cursor}",
    ):
        assert_error(await tenant.client.get(path), 400, "invalid_cursor")


async def test_garbage_cursor_is_400(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    for path in (
        "/v1/workflows?cursor=abc",
        f"/v1/workflows/{key}/records?cursor=%C2%B2",
        f"/v1/workflows/{key}/lists?cursor={base64.urlsafe_b64encode(b'page:2').decode()}",
        f"/v1/workflows/{key}/lists?cursor={base64.urlsafe_b64encode(b'id:two').decode()}",
    ):
        assert_error(await tenant.client.get(path), 400, "invalid_cursor")


async def test_phone_action_that_matches_nothing_is_404(tenant: Tenant) -> None:
    await _workflow_key(tenant)
    response = await tenant.client.post("/v1/records/complete", json={"phone": PHONE})
    assert_error(response, 404, "record_not_found")
    response = await tenant.client.post("/v1/records/resume", json={"phones": [PHONE]})
    assert_error(response, 404, "record_not_found")


async def test_phone_action_without_phone_is_400(tenant: Tenant) -> None:
    response = await tenant.client.post("/v1/records/complete", json={})
    message = assert_error(response, 400, "invalid_request")
    assert "phone" in message
    response = await tenant.client.post("/v1/records/complete", json={"phone": "nope"})
    assert_error(response, 400, "invalid_phone")


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"Authorization": "Bearer "}, id="empty-bearer"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-scheme"),
        pytest.param({"x-api-key": ""}, id="empty-x-api-key"),
    ],
)
async def test_missing_key_is_401(anon: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for response in (
        await anon.get("/v1/workflows", headers=headers),
        await anon.post("/v1/workflows/ABCDEF/records", json={"phone": PHONE}, headers=headers),
        await anon.get("/v1/records/1", headers=headers),
    ):
        message = assert_error(response, 401, "missing_api_key")
        assert "x-api-key" in message


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer dfk_aaaaaaaa_wrong"}, id="bearer"),
        pytest.param({"x-api-key": "dfk_aaaaaaaa_wrong"}, id="x-api-key"),
        pytest.param({"Authorization": "Bearer not-even-a-key"}, id="garbage"),
    ],
)
async def test_wrong_key_is_401(anon: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert_error(await anon.get("/v1/workflows", headers=headers), 401, "invalid_api_key")


async def test_key_works_as_bearer_and_as_x_api_key(
    tenant: Tenant, anon: httpx.AsyncClient
) -> None:
    created = await make_workflow(tenant.client)
    for headers in (
        {"Authorization": f"Bearer {tenant.api_key}"},
        {"Authorization": f"bearer {tenant.api_key}"},
        {"x-api-key": tenant.api_key},
    ):
        response = await anon.get(f"/v1/workflows/{created['key']}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["id"] == created["id"]


async def test_revoked_key_is_401(tenant: Tenant, anon: httpx.AsyncClient, db: Database) -> None:
    second = await create_key(db, tenant.workspace_id, "to revoke")
    assert (await anon.get("/v1/workflows", headers={"x-api-key": second})).status_code == 200
    await revoke_key(db, key_prefix(second))
    for headers in ({"x-api-key": second}, {"Authorization": f"Bearer {second}"}):
        message = assert_error(
            await anon.get("/v1/workflows", headers=headers), 401, "invalid_api_key"
        )
        assert "revoked" in message
    # the workspace's other key is untouched
    assert (await tenant.client.get("/v1/workflows")).status_code == 200


async def test_auth_is_checked_before_the_body(anon: httpx.AsyncClient) -> None:
    """A request without a key learns nothing about its body or the workflow."""
    response = await anon.post("/v1/workflows/ABCDEF/records/bulk", content=b"{broken")
    assert_error(response, 401, "missing_api_key")


# --- limits -----------------------------------------------------------------------------------


@pytest.fixture
async def small_limits(
    database_url: str, db: Database, tenant: Tenant
) -> AsyncIterator[httpx.AsyncClient]:
    """The tenant's key against an app with a 1,000-byte body and 3-record limit."""
    small = Settings(database_url=database_url, max_body_bytes=1000, max_records_per_request=3)
    async with client_for(create_app(small, db), tenant.api_key) as client:
        yield client


@pytest.mark.parametrize("suffix", ["records", "records/bulk"])
async def test_body_over_the_limit_is_413(
    tenant: Tenant, small_limits: httpx.AsyncClient, suffix: str
) -> None:
    key = await _workflow_key(tenant)
    big = {"records": [{"phone": PHONE, "meta": {"note": "x" * 2000}}]}
    response = await small_limits.post(f"/v1/workflows/{key}/{suffix}", json=big)
    message = assert_error(response, 413, "body_too_large")
    assert "1,000 bytes" in message


async def test_streamed_body_over_the_limit_is_413(
    tenant: Tenant, small_limits: httpx.AsyncClient
) -> None:
    """No Content-Length: the limit still holds while reading."""
    key = await _workflow_key(tenant)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"records": ['
        for _ in range(50):
            yield b'{"phone": "2125551234"},'
        yield b'{"phone": "2125551234"}]}'

    response = await small_limits.post(f"/v1/workflows/{key}/records/bulk", content=chunks())
    assert_error(response, 413, "body_too_large")


async def test_body_under_the_limit_passes(tenant: Tenant, small_limits: httpx.AsyncClient) -> None:
    key = await _workflow_key(tenant)
    response = await small_limits.post(f"/v1/workflows/{key}/records", json={"phone": PHONE})
    assert response.status_code == 201, response.text


async def test_more_records_than_the_cap_is_400(
    tenant: Tenant, small_limits: httpx.AsyncClient
) -> None:
    key = await _workflow_key(tenant)
    records = [{"phone": f"212555{n:04d}"} for n in range(4)]
    response = await small_limits.post(
        f"/v1/workflows/{key}/records/bulk", json={"records": records}
    )
    message = assert_error(response, 400, "too_many_records")
    assert "at most 3" in message
    assert "4 sent" in message
    # nothing was written
    listed = await tenant.client.get(f"/v1/workflows/{key}/records")
    assert listed.json()["items"] == []
    # exactly the cap is fine
    response = await small_limits.post(
        f"/v1/workflows/{key}/records/bulk", json={"records": records[:3]}
    )
    assert response.status_code == 201, response.text


# --- lifecycle --------------------------------------------------------------------------------


async def test_pausing_a_draft_is_409_naming_allowed_actions(tenant: Tenant) -> None:
    created = await tenant.client.post("/v1/workflows", json={"name": "Draft"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    response = await tenant.client.post(f"/v1/workflows/{created.json()['key']}/pause")
    message = assert_error(response, 409, "illegal_transition")
    assert "pause" in message
    assert "activate" in message
    assert "stop" in message
    # and the workflow is unchanged
    again = await tenant.client.get(f"/v1/workflows/{created.json()['id']}")
    assert again.json()["status"] == "draft"


async def test_actions_on_a_stopped_workflow_are_409(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    assert (await tenant.client.post(f"/v1/workflows/{key}/stop")).status_code == 200
    message = assert_error(
        await tenant.client.post(f"/v1/workflows/{key}/activate"), 409, "illegal_transition"
    )
    assert "final" in message
    assert_error(
        await tenant.client.patch(f"/v1/workflows/{key}", json={"name": "again"}),
        409,
        "workflow_closed",
    )


@pytest.mark.parametrize("action", ["stop", "complete"])
async def test_adding_records_to_a_closed_workflow_is_409(tenant: Tenant, action: str) -> None:
    key = await _workflow_key(tenant)
    assert (await tenant.client.post(f"/v1/workflows/{key}/{action}")).status_code == 200
    single = await tenant.client.post(f"/v1/workflows/{key}/records", json={"phone": PHONE})
    message = assert_error(single, 409, "workflow_closed")
    assert key in message
    bulk = await tenant.client.post(
        f"/v1/workflows/{key}/records/bulk", json={"records": [{"phone": PHONE}]}
    )
    assert_error(bulk, 409, "workflow_closed")


async def test_cancelling_a_list_twice_is_409(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    bulk = await tenant.client.post(
        f"/v1/workflows/{key}/records/bulk", json={"records": [{"phone": PHONE}]}
    )
    list_id = bulk.json()["list_id"]
    assert (await tenant.client.post(f"/v1/lists/{list_id}/cancel")).status_code == 200
    assert_error(await tenant.client.post(f"/v1/lists/{list_id}/cancel"), 409, "list_cancelled")


# --- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/v1", "/v1/workflow", "/v1/records/1/explode"])
async def test_unknown_route_is_404_json(anon: httpx.AsyncClient, path: str) -> None:
    assert_error(await anon.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/workflows"),
        ("PUT", "/v1/workflows/ABCDEF"),
        ("GET", "/v1/workflows/ABCDEF/records/bulk"),
        ("GET", "/v1/workflows/ABCDEF/pause"),
        ("DELETE", "/v1/records/1"),
        ("POST", "/health"),
    ],
)
async def test_wrong_method_is_405_json(anon: httpx.AsyncClient, method: str, path: str) -> None:
    assert_error(await anon.request(method, path), 405, "method_not_allowed")


# --- per-record problems ----------------------------------------------------------------------


async def test_one_record_with_several_problems_gets_one_error_each(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    record = {
        "phone": "12",
        "email": "not-an-email",
        "priority": 42,
        "zip": 2134,
        "meta": "not an object",
        "favourite_colour": "blue",
    }
    response = await tenant.client.post(f"/v1/workflows/{key}/records", json=record)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["index"] == 0
    assert body["status"] == "invalid"
    assert body["record_id"] is None
    by_field = {e["field"]: e["code"] for e in body["errors"]}
    assert by_field == {
        "phone": "invalid_phone",
        "email": "invalid_email",
        "priority": "invalid_priority",
        "zip": "invalid_type",
        "meta": "invalid_type",
        "favourite_colour": "unknown_field",
    }, body["errors"]
    assert len(body["errors"]) == len(by_field)
    assert all(e["message"] for e in body["errors"])
    # nothing was stored
    listed = await tenant.client.get(f"/v1/workflows/{key}/records")
    assert listed.json()["items"] == []


async def test_bulk_with_only_bad_records_is_422_per_record(tenant: Tenant) -> None:
    key = await _workflow_key(tenant)
    response = await tenant.client.post(
        f"/v1/workflows/{key}/records/bulk",
        json={"records": [{"phone": "12"}, "not a record", {}]},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["counts"]["invalid"] == 3
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert [[e["code"] for e in r["errors"]] for r in body["results"]] == [
        ["invalid_phone"],
        ["invalid_type"],
        ["required"],
    ]


async def test_a_nul_character_fails_only_its_own_record(tenant: Tenant) -> None:
    """U+0000 cannot be stored (PostgreSQL): it is a per-field error on both databases, and the
    records beside it are stored as usual."""
    key = await _workflow_key(tenant)
    response = await tenant.client.post(
        f"/v1/workflows/{key}/records/bulk",
        json={
            "records": [
                {"phone": "2125550101", "first_name": "Ada"},
                {"phone": "2125550102", "first_name": "Nul\u0000Byte"},
                {"phone": "2125550103", "meta": {"note": "\u0000"}},
                {"phone": "2125550104", "last_name": "Lovelace"},
            ]
        },
    )
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "invalid", "invalid", "accepted"]
    assert [(e["code"], e["field"]) for e in results[1]["errors"]] == [
        ("invalid_value", "first_name")
    ]
    assert [(e["code"], e["field"]) for e in results[2]["errors"]] == [
        ("invalid_value", "meta.note")
    ]
    assert all("NUL" in e["message"] for r in results[1:3] for e in r["errors"])
    single = await tenant.client.post(
        f"/v1/workflows/{key}/records", json={"phone": "2125550105", "external_id": "a\u0000"}
    )
    assert single.status_code == 422, single.text
    assert [e["field"] for e in single.json()["errors"]] == ["external_id"]


# --- fuzz -------------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["2125551234", "+442071838750", "", "MOBILE", "HOME", "10001", "a@b.co"])
)
_keys = st.sampled_from(sorted(NATIVE_FIELDS)) | st.text(max_size=10)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=25,
)
records = st.dictionaries(_keys, json_values, max_size=8)

FUZZ = hypothesis_settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
async def fuzz_key(tenant: Tenant) -> str:
    return await _workflow_key(tenant)


def _assert_not_5xx(response: httpx.Response) -> None:
    """No 5xx; errors have the error shape; no input makes the database refuse a write."""
    assert response.status_code < 500, response.text
    body = response.json()
    if response.status_code in (400, 401, 404, 409, 413):
        assert_error(response, response.status_code)
        return
    assert isinstance(body, dict)
    results = body.get("results", [body])
    assert all(r["status"] != "failed" for r in results), body


@FUZZ
@given(payload=json_values)
async def test_fuzz_bulk_body_never_5xx(tenant: Tenant, fuzz_key: str, payload: Any) -> None:
    response = await tenant.client.post(
        f"/v1/workflows/{fuzz_key}/records/bulk", content=json.dumps(payload)
    )
    _assert_not_5xx(response)


@FUZZ
@given(batch=st.lists(records | json_values, max_size=6), list_name=json_values)
async def test_fuzz_bulk_records_never_5xx(
    tenant: Tenant, fuzz_key: str, batch: list[Any], list_name: Any
) -> None:
    response = await tenant.client.post(
        f"/v1/workflows/{fuzz_key}/records/bulk",
        content=json.dumps({"records": batch, "list_name": list_name}),
    )
    _assert_not_5xx(response)
    if response.status_code in (200, 201, 207, 422):
        assert len(response.json()["results"]) == len(batch)


@FUZZ
@given(payload=records | json_values)
async def test_fuzz_single_record_never_5xx(tenant: Tenant, fuzz_key: str, payload: Any) -> None:
    response = await tenant.client.post(
        f"/v1/workflows/{fuzz_key}/records", content=json.dumps(payload)
    )
    _assert_not_5xx(response)
    if response.status_code in (200, 201, 422):
        assert response.json()["index"] == 0
