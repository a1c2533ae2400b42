"""Shared HTTP plumbing: JSON errors, raw body reading, auth and database dependencies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialflow.db.engine import Database
from dialflow.errors import ApiError, BadRequest, PayloadTooLarge
from dialflow.settings import Settings
from dialflow.workspaces.service import authenticate

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(_encoder.encode(content), status_code, media_type="application/json")


def json_body_doc(example: object = None, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra`` documenting a required JSON body by its example and/or its schema (for
    routes that read the body raw, so FastAPI cannot document it)."""
    content: dict[str, Any] = {}
    if example is not None:
        content["example"] = example
    if schema is not None:
        content["schema"] = schema
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


class EnvelopeRoute(APIRoute):
    """A route that answers what its handler raises in a vendor's envelope (``refusal``),
    instead of in dialflow's native error shape."""

    def refusal(self, request: Request, exc: Exception) -> Response | None:
        """The answer to ``exc``; None lets it through to the app's own handlers."""
        raise NotImplementedError

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = self.refusal(request, exc)
                if response is None:
                    raise
                return response

        return answer


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _message(err: Any) -> str:
    """Pydantic's message, without the "Value error, " prefix our validators would get."""
    context = err.get("ctx") or {}
    if err.get("type") == "value_error" and "error" in context:
        return str(context["error"])
    return str(err["msg"])


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return json_response(error_body(exc.code, exc.message, exc.details), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "field": ".".join(str(part) for part in err["loc"] if part != "body"),
                "message": _message(err),
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        message = "; ".join(f"{d['field'] or 'body'}: {d['message']}" for d in details)
        return json_response(error_body("invalid_request", message, details), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return json_response(error_body(code, str(exc.detail)), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return json_response(
            error_body("internal_error", "an unexpected error occurred; it has been logged"), 500
        )


def db_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# The dependencies are coroutines although they do no I/O: FastAPI runs a plain function in its
# thread pool, and every request waited for that hop (seen sampling the tasks of a busy server).
async def _db_dependency(request: Request) -> Database:
    return db_of(request)


async def _settings_dependency(request: Request) -> Settings:
    return settings_of(request)


def presented_key(request: Request) -> str | None:
    """The API key from ``Authorization: Bearer`` or ``x-api-key``."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() in {"bearer", "token"} and value.strip():
            return value.strip()
    return request.headers.get("x-api-key")


# Declared for the OpenAPI "Authorize" button; the key itself is read by presented_key.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key_header = APIKeyHeader(name="x-api-key", auto_error=False, description="The API key.")


async def current_workspace(
    request: Request,
    db: Annotated[Database, Depends(_db_dependency)],
    _bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _header_key: Annotated[str | None, Depends(_api_key_header)],
) -> int:
    return await authenticate(db, presented_key(request))


DbDep = Annotated[Database, Depends(_db_dependency)]
SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
WorkspaceDep = Annotated[int, Depends(current_workspace)]


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than {limit:,} bytes; split it into smaller requests",
        code="body_too_large",
    )


class BodyLimitMiddleware:
    """Refuse bodies over the limit on every route: at once when Content-Length says so,
    else as soon as the streamed body passes it, so an oversized body is never held whole.

    With ``close_after``, a request whose body reached that many bytes is answered with
    ``Connection: close``. ``serve`` sets it when it runs several processes: they split the
    load only as they accept connections, so a client's few keep-alive connections can all end
    up on one process while another idles (seen in ``bench/ingest.py``: all 8 on one of two).
    After a heavy request (bulk intake) the client connects again, and no connection stays
    on a busy process; light requests keep their connections."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        refusals: Mapping[str, Callable[[Scope], Response]] | None = None,
        close_after: int | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        # Path prefix -> the answer of that API's own envelope (a dialect's), else the native one.
        self.refusals = dict(refusals or {})
        self.close_after = close_after

    def _refusal(self, scope: Scope) -> Response:
        for prefix, refuse in self.refusals.items():
            if str(scope["path"]).startswith(prefix):
                return refuse(scope)
        error = _too_large(self.limit)
        return json_response(error_body(error.code, error.message), 413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refusal(scope)(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _too_large(self.limit)
            return message

        close_after = self.close_after
        if close_after is None:
            await self.app(scope, limited_receive, send)
            return

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and received >= close_after:
                message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
            await send(message)

        await self.app(scope, limited_receive, closing_send)


async def read_body(request: Request) -> bytes:
    """The raw body (its size is capped by ``BodyLimitMiddleware``)."""
    return await request.body()


def may_hold_nul(body: bytes) -> bool:
    """JSON can carry U+0000 only as an escape; without one, no string needs scanning."""
    return b"\\u0000" in body


def decode_json(body: bytes) -> Any:
    if not body:
        raise BadRequest("the request body is empty; send a JSON object", code="invalid_json")
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequest(
            f"the request body is not valid JSON: {exc}", code="invalid_json"
        ) from None


async def read_json_object(request: Request) -> tuple[dict[str, Any], bytes]:
    """The body, which must be a JSON object, decoded and raw."""
    raw = await read_body(request)
    body = decode_json(raw)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object", code="invalid_json")
    return body, raw
