"""Altcraft's wire format: JSON or XML bodies in, the ``{error, error_text, ...}`` envelope out.

Altcraft answers HTTP 200 whenever the request reached its API and reports the outcome in
``error`` (0 = success). The XML form nests elements the way the JSON nests keys; a repeated
element (or one marked ``array="true"``) is a list. XML is parsed with ``defusedxml`` and any
DTD is refused, which rules out entity expansion bombs and external entities.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import defusedxml.ElementTree as SafeXml
import msgspec
from defusedxml import DefusedXmlException
from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.types import Scope

from dialflow.errors import ApiError, BadRequest, PayloadTooLarge
from dialflow.http import decode_json, read_body

OK = 0
INVALID_REQUEST = 400
TOKEN_REQUIRED = 401
NO_ACCESS = 403
INTERNAL = 500
ERROR_TEXT = {
    OK: "Successful operation",
    INVALID_REQUEST: "Invalid request",
    TOKEN_REQUIRED: "API token required",
    NO_ACCESS: "No access",
    INTERNAL: "Internal error",
}
BODY_TOO_LARGE = "http: request body too large"
MAX_XML_DEPTH = 32
_encode_json = msgspec.json.Encoder().encode
_XML_START = re.compile(rb"\s*<")


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


def request_format(headers: Headers, body: bytes = b"") -> Format:
    """XML when the Content-Type says so or the body is an XML document, else JSON."""
    if "xml" in headers.get("content-type", "").lower() or _XML_START.match(body):
        return Format.XML
    return Format.JSON


async def read_altcraft_body(request: Request) -> bytes:
    """The raw body; one over the size limit is Altcraft's 400."""
    try:
        return await read_body(request)
    except PayloadTooLarge:
        raise BadRequest(BODY_TOO_LARGE) from None


def decode(body: bytes, fmt: Format) -> dict[str, Any]:
    """The request's parameters, from a JSON object or an XML document."""
    params = decode_xml(body) if fmt is Format.XML else decode_json(body)
    if not isinstance(params, dict):
        raise BadRequest("the request body must be an object of parameters")
    return params


def decode_xml(body: bytes) -> dict[str, Any]:
    try:
        root = SafeXml.fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise BadRequest(
            "the XML declares a DTD or entities, which are refused (entity expansion and "
            "external entities are not allowed)"
        ) from None
    except (SafeXml.ParseError, ValueError) as exc:
        raise BadRequest(f"the request body is not valid XML: {exc}") from None
    value = _xml_value(root, 0)
    if not isinstance(value, dict):
        raise BadRequest("the XML root element must hold the parameters as child elements")
    return value


def _xml_value(element: Any, depth: int) -> object:
    if depth > MAX_XML_DEPTH:
        raise BadRequest(f"the XML is nested more than {MAX_XML_DEPTH} levels deep")
    children = list(element)
    if not children:
        text = (element.text or "").strip()
        return text or None
    values: dict[str, Any] = {}
    lists: set[str] = set()
    for child in children:
        tag, value = child.tag, _xml_value(child, depth + 1)
        if tag in lists:
            values[tag].append(value)
        elif tag in values or child.get("array") == "true":
            values[tag] = [values[tag], value] if tag in values else [value]
            lists.add(tag)
        else:
            values[tag] = value
    return values


def _xml(name: str, value: object) -> str:
    if isinstance(value, list):
        return "".join(_xml(name, item) for item in value)
    if isinstance(value, Mapping):
        inner = "".join(_xml(str(key), item) for key, item in value.items())
    elif value is None:
        inner = ""
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    else:
        inner = html.escape(str(value), quote=False)
    return f"<{name}>{inner}</{name}>"


def render(content: Mapping[str, object], fmt: Format) -> Response:
    """The envelope in the request's format, always with HTTP 200 (Altcraft's transport code)."""
    if fmt is Format.XML:
        return Response(_xml("xml", content), 200, media_type="application/xml")
    return Response(_encode_json(content), 200, media_type="application/json")


def ok(**payload: object) -> dict[str, object]:
    """A successful answer's envelope."""
    return {"error": OK, "error_text": ERROR_TEXT[OK], **payload}


def error_body(code: int, debug: str) -> dict[str, object]:
    return {"error": code, "error_debug": debug, "error_text": ERROR_TEXT[code]}


def error_code(exc: ApiError) -> int:
    """Altcraft's code for a dialflow error: 401/403 as they are, any other mistake 400."""
    return exc.status_code if exc.status_code in (TOKEN_REQUIRED, NO_ACCESS) else INVALID_REQUEST


def failure(exc: ApiError, fmt: Format) -> Response:
    return render(error_body(error_code(exc), exc.message), fmt)


def body_too_large_response(scope: Scope) -> Response:
    """What an Altcraft route answers for a body over the size limit, in the request's format
    (for the app's body-limit middleware, which answers before any route runs)."""
    return render(error_body(INVALID_REQUEST, BODY_TOO_LARGE), request_format(Headers(scope=scope)))
