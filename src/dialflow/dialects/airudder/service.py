"""Airudder's app-key tokens: ``APPKey``/``APPSecret`` in, a 24-hour token out.

``APPSecret`` is a dialflow API key (the whole key, never its prefix alone) and ``APPKey`` that
key's visible prefix (``dfk_…``, as ``dialflow key list`` shows it): both must match. The token
is random; only its SHA-256 is stored, tied to the API key, so revoking the key ends its tokens.
"Token will be expired after 24 hours. If you applied again within validation period, the
original token will be expired after another 24 hours": a new application issues a new token and
moves the expiry of the key's tokens still valid to 24 hours from then.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Final

from dialflow.auth.keys import hash_key
from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.dialects.airudder import repository
from dialflow.dialects.airudder.envelope import Forbidden
from dialflow.errors import Unauthorized
from dialflow.workspaces import repository as workspaces_repo

TOKEN_LIFETIME: Final = timedelta(hours=24)
_TOKEN_BYTES: Final = 36


async def issue_token(db: Database, app_key: str, app_secret: str) -> str:
    """A new token for the API key ``app_secret`` whose prefix is ``app_key``."""
    now = utcnow()
    expires_at = now + TOKEN_LIFETIME
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    async with db.write() as conn:
        key = await workspaces_repo.find_active_key(conn, hash_key(app_secret))
        if key is None or key["prefix"] != app_key:
            raise Forbidden(
                "APPKey or APPSecret is wrong: APPSecret is a dialflow API key of the workspace "
                "and APPKey its prefix (dfk_…, as `dialflow key list` shows it)",
                code="invalid_app_key",
            )
        await repository.delete_expired(conn, key["id"], now)
        await repository.extend_live(conn, key["id"], now=now, expires_at=expires_at)
        await repository.insert_token(
            conn, token_hash=hash_key(token), api_key_id=key["id"], now=now, expires_at=expires_at
        )
    return token


async def token_workspace(db: Database, token: str) -> int:
    """The workspace a valid token belongs to; an unknown, expired or revoked one is a 401."""
    async with db.read() as conn:
        workspace_id = await repository.token_workspace(conn, hash_key(token), utcnow())
    if workspace_id is None:
        raise Unauthorized(
            "the token is unknown or has expired: get a new one from POST /service/cloud/auth",
            code="invalid_token",
        )
    return workspace_id
