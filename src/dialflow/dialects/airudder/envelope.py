"""Airudder's answer: ``{"data": ..., "status": "OK", "code": 200}``, and errors in the same
envelope: ``{"data": null, "status": <HTTP phrase>, "code": <HTTP status>, "message": ...}``.

``AirudderRoute`` answers every outcome of a route in it: the services' refusals, FastAPI's
parameter validation and any unexpected failure (logged, 500), so an Airudder client never sees
dialflow's native error shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from dialflow.errors import ApiError
from dialflow.http import EnvelopeRoute, json_response

log = logging.getLogger(__name__)

OK: Final = "OK"
#: dialflow's statuses that Airudder's documented codes (200, 400, 401, 403, 404, 500) lack.
_AIRUDDER_STATUS: Final[Mapping[int, int]] = {409: 400, 422: 400}


class Forbidden(ApiError):
    """APPKey and APPSecret that do not name an API key (the auth call's 403)."""

    status_code = 403
    code = "forbidden"


def envelope(data: Any) -> Response:
    return json_response({"data": data, "status": OK, "code": 200})


def failure(status: int, message: str) -> Response:
    body = {"data": None, "status": HTTPStatus(status).phrase, "code": status, "message": message}
    return json_response(body, status)


def _invalid_parameters(exc: RequestValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][1:]) or 'body'}: {error['msg']}"
        for error in exc.errors()
    )


class AirudderRoute(EnvelopeRoute):
    def refusal(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, ApiError):
            return failure(_AIRUDDER_STATUS.get(exc.status_code, exc.status_code), exc.message)
        if isinstance(exc, RequestValidationError):
            return failure(400, _invalid_parameters(exc))
        log.exception("airudder %s %s failed", request.method, request.url.path)
        return failure(500, "the server failed (it has been logged); try again later")
