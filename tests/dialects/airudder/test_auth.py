"""POST /service/cloud/auth: APPKey (the key's prefix) and APPSecret (the whole key) for a
24-hour token, stored hashed; calls carry it as ``Authorization: Token …`` (or Bearer)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.db.tables import airudder_tokens
from dialflow.workspaces.service import create_workspace, revoke_key
from tests.dialects.airudder.conftest import Airudder, expect, prefix_of

TEMPLATES = "/service/cloud/workflow/templates"


async def _expiry(db: Database, token: str) -> object:
    async with db.read() as conn:
        return (
            await conn.execute(
                select(airudder_tokens.c.expires_at).where(
                    airudder_tokens.c.token_hash == hashlib.sha256(token.encode()).hexdigest()
                )
            )
        ).scalar_one()


async def _expire(db: Database, token: str, **delta: float) -> None:
    async with db.write() as conn:
        await conn.execute(
            update(airudder_tokens)
            .where(airudder_tokens.c.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(expires_at=utcnow() + timedelta(**delta))
        )


async def test_the_auth_example_returns_a_token_for_24_hours(
    airudder: Airudder, db: Database
) -> None:
    # The request sample of "Token Authentication and Obtain", with our APPKey and APPSecret.
    response = await airudder.client.post(
        "/service/cloud/auth",
        headers={"User-Agent": "Airudder", "Content-Type": "application/json"},
        json={"APPKey": airudder.app_key, "APPSecret": airudder.api_key},
    )
    data = expect(response)
    assert set(data) == {"token"}
    token = data["token"]
    assert isinstance(token, str)
    assert len(token) >= 40
    before = utcnow()
    expires_at = await _expiry(db, token)
    assert isinstance(expires_at, type(before))
    assert timedelta(hours=23, minutes=59) < expires_at - before <= timedelta(hours=24)


async def test_the_token_works_as_token_and_as_bearer(airudder: Airudder) -> None:
    assert expect(await airudder.get(TEMPLATES))["list"] == []
    response = await airudder.client.get(
        TEMPLATES, headers={"Authorization": f"Bearer {airudder.token}"}
    )
    assert expect(response)["total"] == 0


async def test_only_the_tokens_hash_is_stored(airudder: Airudder, db: Database) -> None:
    async with db.read() as conn:
        stored = set((await conn.execute(select(airudder_tokens.c.token_hash))).scalars())
    assert airudder.token not in stored
    assert hashlib.sha256(airudder.token.encode()).hexdigest() in stored


@pytest.mark.parametrize(
    ("app_key", "app_secret"),
    [
        pytest.param("dfk_wrongkey", None, id="wrong APPKey"),
        pytest.param(None, "dfk_wrongkey_secret", id="wrong APPSecret"),
    ],
)
async def test_a_wrong_app_key_or_secret_is_a_403(
    airudder: Airudder, app_key: str | None, app_secret: str | None
) -> None:
    response = await airudder.auth(app_key=app_key, app_secret=app_secret)
    assert "APPKey or APPSecret is wrong" in expect(response, 403)


async def test_the_prefix_alone_is_never_accepted_as_the_secret(airudder: Airudder) -> None:
    response = await airudder.auth(app_key=airudder.app_key, app_secret=airudder.app_key)
    expect(response, 403)


async def test_another_workspaces_key_does_not_match_this_prefix(
    airudder: Airudder, db: Database
) -> None:
    other = await create_workspace(db, "other")
    response = await airudder.auth(app_key=airudder.app_key, app_secret=other.api_key)
    expect(response, 403)
    expect(await airudder.auth(app_key=prefix_of(other.api_key), app_secret=other.api_key))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"APPKey": "dfk_x"},
        {"APPSecret": "dfk_x_y"},
        {"APPKey": "", "APPSecret": "dfk_x_y"},
        {"APPKey": 1, "APPSecret": 2},
    ],
)
async def test_missing_or_malformed_credentials_are_a_400(
    airudder: Airudder, body: dict[str, object]
) -> None:
    assert "APP" in expect(await airudder.client.post("/service/cloud/auth", json=body), 400)


async def test_a_body_that_is_not_json_is_a_400(airudder: Airudder) -> None:
    response = await airudder.client.post("/service/cloud/auth", content=b"APPKey=x")
    assert "JSON" in expect(response, 400)


@pytest.mark.parametrize(
    "header",
    [None, "Token", "Token not-a-token", "Basic abc", "not-a-token"],
)
async def test_a_missing_or_unknown_token_is_a_401(airudder: Airudder, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await airudder.client.get(TEMPLATES, headers=headers)
    assert "token" in expect(response, 401)


async def test_an_expired_token_is_a_401(airudder: Airudder, db: Database) -> None:
    await _expire(db, airudder.token, seconds=-1)
    assert "expired" in expect(await airudder.get(TEMPLATES), 401)


async def test_applying_again_gives_the_original_token_another_24_hours(
    airudder: Airudder, db: Database
) -> None:
    original = airudder.token
    await _expire(db, original, hours=1)
    renewed = await airudder.login()
    assert renewed != original
    before = utcnow()
    for token in (original, renewed):
        expires_at = await _expiry(db, token)
        assert isinstance(expires_at, type(before))
        assert expires_at - before > timedelta(hours=23, minutes=59)
        expect(await airudder.get(TEMPLATES, token=token))


async def test_an_expired_token_is_not_revived_by_applying_again(
    airudder: Airudder, db: Database
) -> None:
    expired = airudder.token
    await _expire(db, expired, seconds=-1)
    await airudder.login()
    expect(await airudder.get(TEMPLATES, token=expired), 401)
    expect(await airudder.get(TEMPLATES))


async def test_revoking_the_api_key_ends_its_tokens(airudder: Airudder, db: Database) -> None:
    await revoke_key(db, airudder.app_key)
    expect(await airudder.get(TEMPLATES), 401)
    expect(await airudder.auth(), 403)
