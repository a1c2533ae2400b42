"""Run a request at most once per (workspace, Idempotency-Key).

The key is claimed in its own transaction before the work starts, so a concurrent repeat sees
it in progress (409) instead of running twice. The first response is stored and replayed to
repeats with the same body; a different body under the same key is a 409. Keys expire.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.errors import BadRequest, Conflict
from dialflow.idempotency import repository

MAX_KEY_LENGTH = 255
Response = tuple[int, bytes]


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


async def run_once(
    db: Database,
    *,
    workspace_id: int,
    key: str,
    fingerprint: str,
    ttl: timedelta,
    produce: Callable[[], Awaitable[Response]],
) -> Response:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
            code="invalid_idempotency_key",
        )
    now = utcnow()
    try:
        async with db.write() as conn:
            row = await repository.find(conn, workspace_id, key)
            if row is not None and row["created_at"] < now - ttl:
                await repository.remove(conn, workspace_id, key)
                row = None
            if row is None:
                await repository.claim(conn, workspace_id, key, fingerprint, now)
    except IntegrityError:
        raise Conflict(
            "a request with this Idempotency-Key is in progress; retry when it has finished",
            code="idempotency_in_progress",
        ) from None
    if row is not None:
        if row["request_hash"] != fingerprint:
            raise Conflict(
                "this Idempotency-Key was used with a different request body; "
                "use a new key for a new request",
                code="idempotency_key_reused",
            )
        if row["status_code"] is None:
            raise Conflict(
                "a request with this Idempotency-Key is in progress; retry when it has finished",
                code="idempotency_in_progress",
            )
        return int(row["status_code"]), bytes(row["response"])
    try:
        status_code, body = await produce()
    except BaseException:
        async with db.write() as conn:
            await repository.remove(conn, workspace_id, key)
        raise
    async with db.write() as conn:
        await repository.store_response(conn, workspace_id, key, status_code, body)
    return status_code, body
