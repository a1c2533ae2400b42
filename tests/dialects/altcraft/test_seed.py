"""Every example of seed 002 sent as printed (host, token and ids swapped), answered in the
documented shape, JSON for JSON and XML for XML."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from dialflow.app import create_app
from dialflow.db.engine import Database
from dialflow.settings import Settings
from tests.dialects.altcraft.conftest import Altcraft, xml_root
from tests.dialects.altcraft.seed import (
    CUSTOM_JSON,
    CUSTOM_XML,
    EMAIL_JSON,
    EMAIL_XML,
    TOO_LARGE_JSON,
    TOO_LARGE_XML,
    printed,
)

PROFILE_ID = re.compile(r"[0-9a-f]{24}")
BATCH = "workflows/import_and_start_batch"


def example(altcraft: Altcraft, text: str) -> str:
    return printed(text, altcraft.tenant.api_key, altcraft.workflow["id"])


def xml_result(response: httpx.Response) -> list[str]:
    """The profile ids of an XML answer, checking it is exactly the documented shape."""
    root = xml_root(response)
    assert root.tag == "xml"
    tags = [child.tag for child in root]
    assert tags[:2] == ["error", "error_text"]
    assert set(tags[2:]) == {"result"}
    assert root.findtext("error") == "0"
    assert root.findtext("error_text") == "Successful operation"
    ids = []
    for result in root.findall("result"):
        assert [child.tag for child in result] == ["profile_id"]
        ids.append(result.findtext("profile_id"))
    return ids


def json_result(body: dict[str, object], count: int) -> list[str]:
    assert list(body) == ["error", "error_text", "result"]
    assert body["error"] == 0
    assert body["error_text"] == "Successful operation"
    result = body["result"]
    assert isinstance(result, list)
    assert len(result) == count
    assert all(list(item) == ["profile_id"] for item in result)
    ids = [item["profile_id"] for item in result]
    assert all(PROFILE_ID.fullmatch(pid) for pid in ids)
    return ids


async def test_email_example_json_imports_one_profile_the_later_entry_winning(
    altcraft: Altcraft,
) -> None:
    response = await altcraft.send(BATCH, example(altcraft, EMAIL_JSON))
    first, second = json_result(response.json(), 2)
    assert first == second  # the same email: one profile, updated by the second entry
    [record] = await altcraft.records()
    assert record["profile_id"] == first
    assert (record["first_name"], record["last_name"]) == ("Alex", "Lambert")
    assert record["email"] == "example@example.com"
    assert record["phone"] == "+79000000000"
    assert record["status"] == "pending"


async def test_email_example_xml_updates_the_profile_the_json_example_made(
    altcraft: Altcraft,
) -> None:
    made = json_result((await altcraft.send(BATCH, example(altcraft, EMAIL_JSON))).json(), 2)
    response = await altcraft.send(BATCH, example(altcraft, EMAIL_XML), xml=True)
    assert xml_result(response) == made
    [record] = await altcraft.records()
    assert record["first_name"] == "Bert"
    assert record["phone"] == "+79000000000"  # kept: the XML profiles name no phone


async def test_email_example_xml_on_its_own_reports_the_missing_phone_per_profile(
    altcraft: Altcraft,
) -> None:
    response = await altcraft.send(BATCH, example(altcraft, EMAIL_XML), xml=True)
    root = xml_root(response)
    assert root.findtext("error") == "0"
    results = root.findall("result")
    assert len(results) == 2
    for result in results:
        assert [child.tag for child in result] == ["error", "error_debug", "error_text"]
        assert result.findtext("error") == "400"
        assert result.findtext("error_text") == "Invalid request"
        assert "phones: a record needs a phone number" in result.findtext("error_debug")
    assert await altcraft.records() == []


async def test_custom_example_json_matches_by_crm_id(altcraft: Altcraft) -> None:
    response = await altcraft.send(BATCH, example(altcraft, CUSTOM_JSON))
    alina, victor = json_result(response.json(), 2)
    assert alina != victor
    records = {r["profile_id"]: r for r in await altcraft.records()}
    assert records[alina]["meta"] == {"CRM_ID": "00066"}
    assert records[alina]["phone"] == "+79006574081"
    assert records[victor]["meta"] == {"CRM_ID": "00076"}
    again = await altcraft.send(BATCH, example(altcraft, CUSTOM_JSON))
    assert json_result(again.json(), 2) == [alina, victor]
    assert len(await altcraft.records()) == 2


async def test_custom_example_xml_matches_by_the_named_field(altcraft: Altcraft) -> None:
    response = await altcraft.send(BATCH, example(altcraft, CUSTOM_XML), xml=True)
    polina, dariya = xml_result(response)
    assert PROFILE_ID.fullmatch(polina)
    assert polina != dariya
    records = {r["profile_id"]: r for r in await altcraft.records()}
    assert records[polina]["meta"] == {"New_field_7": "00067"}
    assert records[polina]["first_name"] == "Polina"
    assert records[dariya]["meta"] == {"New_field_7": "00077"}
    assert records[dariya]["phone"] == "+79000005423"


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 256 + 1):
        yield b" " * 256


def is_too_large_answer(content_type: str, body: bytes) -> bool:
    """The seed's answer for an oversized body, in the format of ``content_type``."""
    if content_type == "application/xml":
        return body.decode() == TOO_LARGE_XML.replace("\n", "")
    return bool(json.loads(body) == TOO_LARGE_JSON)


@pytest.mark.parametrize("content_type", ["application/json", "application/xml"])
async def test_a_streamed_body_over_the_limit_gets_the_documented_answer(
    db: Database, settings: Settings, content_type: str
) -> None:
    """Without a Content-Length the route reads past the limit and answers itself."""
    limit = 1024
    app = create_app(settings.model_copy(update={"max_body_bytes": limit}), db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dialflow.test"
    ) as client:
        response = await client.post(
            f"/api/v1.1/{BATCH}", content=_chunks(limit), headers={"Content-Type": content_type}
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert is_too_large_answer(content_type, response.content), response.text


@pytest.mark.parametrize("content_type", ["application/json", "application/xml"])
async def test_a_declared_body_over_the_limit_gets_the_documented_answer(
    db: Database, settings: Settings, content_type: str
) -> None:
    """A Content-Length over the limit is refused before any route runs, in Altcraft's shape
    on Altcraft's paths (and in the native shape elsewhere)."""
    limit = 1024
    app = create_app(settings.model_copy(update={"max_body_bytes": limit}), db)
    body = b" " * (limit + 1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dialflow.test"
    ) as client:
        response = await client.post(
            f"/api/v1.1/{BATCH}", content=body, headers={"Content-Type": content_type}
        )
        native = await client.post("/v1/workflows", content=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert is_too_large_answer(content_type, response.content), response.text
    assert native.status_code == 413
    assert native.json()["error"]["code"] == "body_too_large"
