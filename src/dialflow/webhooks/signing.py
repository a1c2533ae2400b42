"""Standard Webhooks signatures (https://www.standardwebhooks.com): ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` headers, HMAC-SHA256 with ``whsec_`` secrets."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the scheme's prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


@lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def signature(msg_id: str, timestamp: datetime, body: bytes, secrets_: Sequence[str]) -> str:
    """The ``webhook-signature`` value: one ``v1,<base64>`` per secret, space separated (during
    a rotation both the new and the old secret sign, so either verifies)."""
    data = body.decode()
    return " ".join(_signer(secret).sign(msg_id, timestamp, data) for secret in secrets_)


def headers(
    msg_id: str, timestamp: datetime, body: bytes, secrets_: Sequence[str]
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature(msg_id, timestamp, body, secrets_),
    }
