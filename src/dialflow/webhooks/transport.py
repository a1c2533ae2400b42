"""A lean HTTP/1.1 transport for httpx: keep-alive connections as asyncio protocols, responses
parsed by httptools (llhttp, the parser uvicorn uses).

Why not httpx's default transport: on this project's machines httpcore costs ~1 ms of CPU per
POST (its pool re-scans every connection on each request and response, and every lock it makes
looks up the async library), which caps one deliverer near 900 posts/s; httpx's own client
layer is ~0.1 ms. Webhook delivery needs only a small part of HTTP: one POST of bytes already in
memory, a status, headers and the first bytes of the answer. This transport does that part:

- a connection per request in flight, kept alive per origin for the next one (up to
  ``max_idle_per_origin`` idle connections; a stale one the receiver closed is replaced and the
  request sent once more on a fresh connection, only if nothing of the answer had arrived);
- the response body is read up to ``max_response_bytes``; past that the connection is dropped
  rather than drained, so a receiver cannot make us read or buffer a huge answer;
- the request's httpx timeouts bound the connect and the whole exchange (the caller may add a
  deadline of its own; a cancelled exchange closes its connection);
- header values carrying CR or LF are refused (no header injection through endpoint tokens).

No proxies, no HTTP/2, no request streaming: a webhook POST needs none of them."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import cast

import httptools
import httpx

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _ConnectionClosed(Exception):
    """The peer closed the connection before the response was complete."""

    def __init__(self, *, answered: bool, reason: Exception | None) -> None:
        because = f" ({reason})" if reason else ""
        super().__init__(
            f"the server closed the connection before the response was complete{because}"
        )
        self.answered = answered  # some of the response had arrived


@dataclass
class _Response:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    truncated: bool = False


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: sends a request, parses its response, then waits for the
    next one."""

    def __init__(self, max_response_bytes: int) -> None:
        self.max_response_bytes = max_response_bytes
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.response = _Response()
        self.answered = False
        self.waiter: asyncio.Future[None] | None = None
        self.keep_alive = False
        self._drained = asyncio.Event()
        self._drained.set()

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"invalid HTTP response: {exc}"))
            self.close()
            return
        if self.response.truncated:
            self.close()  # done reading: drop the rest rather than drain it

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._drained.set()
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.response.status and not self.parser.should_keep_alive():
            # A response without a length ends when the connection does.
            waiter.set_result(None)
        else:
            waiter.set_exception(_ConnectionClosed(answered=self.answered, reason=exc))

    def pause_writing(self) -> None:
        self._drained.clear()

    def resume_writing(self) -> None:
        self._drained.set()

    # -- httptools callbacks ------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.response.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.response.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        response = self.response
        room = self.max_response_bytes - len(response.body)
        response.body += body[:room]
        if len(body) > room:
            response.truncated = True
            self.keep_alive = False
            self._finish()

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        self._finish()

    # -- use ----------------------------------------------------------------------------------

    async def exchange(self, request: bytes) -> _Response:
        """Send one request and wait for its whole (or capped) response."""
        assert self.transport is not None
        self.response = _Response()
        self.answered = False
        self.keep_alive = False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        await self._drained.wait()
        await self.waiter
        return self.response

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    def _finish(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_idle_per_origin: int = 64,
        max_response_bytes: int = 64 * 1024,
    ) -> None:
        self.ssl_context = ssl_context
        self.max_idle_per_origin = max_idle_per_origin
        self.max_response_bytes = max_response_bytes
        self._idle: dict[Origin, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])
        payload = _serialize(request, await request.aread())
        timeouts = request.extensions.get("timeout", {})
        connection = self._take_idle(origin)
        while True:
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin, timeouts.get("connect"))
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    response = await connection.exchange(payload)
            except _ConnectionClosed as exc:
                connection.close()
                if reused and not exc.answered:
                    connection = None  # a stale keep-alive connection: once more, on a new one
                    continue
                raise httpx.RemoteProtocolError(str(exc), request=request) from None
            except TimeoutError:
                connection.close()
                raise httpx.ReadTimeout("timed out waiting for the response") from None
            except BaseException:
                connection.close()  # cancelled or failed mid-exchange: its state is unknown
                raise
            break
        self._put_idle(origin, connection)
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=httpx.ByteStream(bytes(response.body)),
            extensions={"http_version": b"HTTP/1.1"},
            request=request,
        )

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _take_idle(self, origin: Origin) -> _Connection | None:
        connections = self._idle.get(origin)
        while connections:
            connection = connections.pop()
            if not connection.closed:
                return connection
        return None

    def _put_idle(self, origin: Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if connection.keep_alive and not connection.closed and len(idle) < self.max_idle_per_origin:
            idle.append(connection)
        else:
            connection.close()

    async def _connect(self, origin: Origin, limit_seconds: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(limit_seconds):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self.max_response_bytes),
                    host,
                    port,
                    ssl=self.ssl_context if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{host}:{port}: {exc}") from None
        return connection


def _serialize(request: httpx.Request, body: bytes) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
    for name, value in request.headers.raw:
        if any(char in value or char in name for char in (b"\r", b"\n", b"\0")):
            raise httpx.LocalProtocolError(f"invalid character in header {name!r}")
        lines.append(name + b": " + value)
    lines.extend((b"", body))
    return b"\r\n".join(lines)
