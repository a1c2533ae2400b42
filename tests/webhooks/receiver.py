"""A real HTTP/1.1 receiver on loopback for webhook tests and benchmarks.

Small on purpose (asyncio streams, keep-alive, Content-Length bodies): it must not be the
bottleneck of the delivery benchmark, and tests need to script its answers and take it down."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.perf_counter() when the body was read


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Seconds between the body's bytes (a receiver that answers very slowly).
    trickle: float = 0.0


Responder = Callable[[Received], Reply]


class Receiver:
    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or (lambda _request: Reply())
        self.requests: list[Received] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        """Listen (on the same port again after ``stop``)."""
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Go down: stop listening and drop every open connection."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Received(path, headers, body, time.perf_counter())
                self.requests.append(request)
                reply = self.responder(request)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                body = b"" if reply.status in (204, 304) else reply.body  # bodiless by HTTP
                extra = "".join(f"{name}: {value}\r\n" for name, value in reply.headers.items())
                writer.write(
                    f"HTTP/1.1 {reply.status} X\r\ncontent-length: {len(body)}\r\n"
                    f"{extra}\r\n".encode()
                )
                for start in range(0, len(body), 1 if reply.trickle else len(body) or 1):
                    writer.write(body[start : start + (1 if reply.trickle else len(body))])
                    await writer.drain()
                    await asyncio.sleep(reply.trickle)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def ids(self) -> list[str]:
        return [request.headers["webhook-id"] for request in self.requests]
