"""Talkdesk's error envelope on every route of the dialect, and the field names it speaks.

Errors answer ``{code, message, description, fields[{name, description}]}``. Services raise the
core's ``ApiError``; field errors (``details``) come back under Talkdesk's field names.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from dialflow.domain.errors import ErrorCode, FieldError
from dialflow.errors import ApiError, BadRequest, NotFound
from dialflow.http import EnvelopeRoute, json_response


class Forbidden(ApiError):
    """The object exists but belongs to another workspace (Talkdesk's 403)."""

    status_code = 403
    code = "forbidden"


_NOT_FOUND_CODES = {
    "record list": "record_list_not_found",
    "record": "record_not_found",
    "campaign": "campaign_not_found",
    "do-not-call list": "dnc_list_not_found",
    "entry": "entry_not_found",
}


def not_found(kind: str, object_id: object) -> NotFound:
    return NotFound(f"{kind} {object_id} not found", code=_NOT_FOUND_CODES[kind])


# Intake's field paths -> Talkdesk's (first match wins).
_PATHS = (
    (re.compile(r"^phones\[(\d+)\]\.number"), r"phone_numbers[\1].phone_number"),
    (re.compile(r"^phones\[(\d+)\]\.type"), r"phone_numbers[\1].phone_type"),
    (re.compile(r"^phones"), "phone_numbers"),
    (re.compile(r"^phone$"), "phone_number"),
    (re.compile(r"^placeholders"), "extra_data"),
    (re.compile(r"^meta$"), "sync_external_id"),
)
_QUOTED = re.compile(r'"([A-Za-z_][\w.\[\]]*)"')


def talkdesk_path(field: str) -> str:
    for pattern, replacement in _PATHS:
        if pattern.search(field):
            return pattern.sub(replacement, field, count=1)
    return field


def talkdesk_text(message: str) -> str:
    """A core message with the field names it quotes in Talkdesk's terms."""
    return _QUOTED.sub(lambda m: f'"{talkdesk_path(m.group(1))}"', message)


def fields_json(errors: list[FieldError]) -> list[dict[str, str]]:
    return [
        {"name": talkdesk_path(e.field), "description": talkdesk_text(e.message)} for e in errors
    ]


def field_errors(details: object) -> list[FieldError]:
    if isinstance(details, list) and all(isinstance(d, FieldError) for d in details):
        return details
    return []


# Talkdesk's words for each status (the seed's); the specific reason goes in "description".
_MESSAGES = {
    400: "errors found in the submitted data",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    409: "the request conflicts with the current state",
    413: "payload too large",
    422: "the request cannot be processed",
    503: "service unavailable",
}


def error_json(error: ApiError) -> dict[str, Any]:
    return {
        "code": error.code,
        "message": _MESSAGES.get(error.status_code, "error"),
        "description": talkdesk_text(error.message),
        "fields": fields_json(field_errors(error.details)),
    }


def error_response(error: ApiError) -> Response:
    return json_response(error_json(error), error.status_code)


def invalid(message: str, errors: list[FieldError], *, code: str = "invalid_request") -> BadRequest:
    return BadRequest(message, code=code, details=errors)


def from_validation(exc: ValidationError | RequestValidationError) -> BadRequest:
    """Pydantic's errors as field errors, named by their location (dotted)."""
    errors = [
        FieldError(
            ErrorCode.INVALID_VALUE,
            ".".join(str(part) for part in err["loc"] if part not in {"body", "query"}),
            str(err["msg"]),
        )
        for err in exc.errors()
    ]
    return invalid("the request has invalid fields", errors)


class TalkdeskRoute(EnvelopeRoute):
    """Renders every client error raised while serving the route in Talkdesk's envelope."""

    def refusal(self, _request: Request, exc: Exception) -> Response | None:
        if isinstance(exc, RequestValidationError):
            return error_response(from_validation(exc))
        if isinstance(exc, ApiError):
            return error_response(exc)
        return None
