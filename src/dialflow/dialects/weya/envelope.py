"""Weya's answer: ``{message, status, code, errorMessage, data}`` on every response, errors too.

Authentication and error handling happen inside each route (``answer``), so a missing key, a
malformed body or an unknown batch gets the envelope rather than the native error shape.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from dialflow.errors import ApiError
from dialflow.http import db_of, json_response, presented_key
from dialflow.workspaces.service import authenticate

log = logging.getLogger(__name__)


class Forbidden(ApiError):
    """Weya answers 403 for a bad key and for a batch of another workspace."""

    status_code = 403
    code = "forbidden"


# dialflow's status for a client's mistake -> Weya's, which knows only 400, 403, 404 and 422.
_WEYA_STATUS = {401: 403, 409: 400}


def envelope(code: int, message: str, *, data: Any = None, error: str = "") -> Response:
    """``status`` is true only for a complete success (a 207 is partial: false)."""
    body = {
        "message": message,
        "status": code in (200, 201),
        "code": code,
        "errorMessage": error,
        "data": data,
    }
    return json_response(body, code)


def error_response(exc: ApiError) -> Response:
    code = _WEYA_STATUS.get(exc.status_code, exc.status_code)
    return envelope(code, HTTPStatus(code).phrase, data=exc.details, error=exc.message)


Operation = Callable[[int], Awaitable[Response]]


async def answer(request: Request, operation: Operation) -> Response:
    """Authenticate (``x-api-key`` or Bearer), run ``operation`` for the key's workspace, and
    answer every outcome in the envelope."""
    try:
        workspace_id = await authenticate(db_of(request), presented_key(request))
        return await operation(workspace_id)
    except ApiError as exc:
        return error_response(exc)
    except Exception:
        log.exception("weya %s %s failed", request.method, request.url.path)
        return envelope(
            500,
            HTTPStatus.INTERNAL_SERVER_ERROR.phrase,
            error="the server failed while processing the request (it has been logged); "
            "retry with exponential backoff: calls already enqueued are updated, not duplicated",
        )
