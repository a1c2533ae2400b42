"""The deliverer's HTTP/1.1 transport against real sockets on loopback: servers scripted byte
by byte, so keep-alive, capped reads, odd framings and broken peers are each exercised."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from dialflow.webhooks.transport import LeanTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Writer = asyncio.StreamWriter
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class Server:
    """A loopback TCP server running ``handler`` per connection; counts connections."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}/hook?x=1"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        request = head + await reader.readexactly(length)
        self.requests.append(request)
        return request


Answer = Callable[[Server, asyncio.StreamReader, Writer], Awaitable[None]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    servers: list[Server] = []

    async def start(
        answer: Answer,
        tls: ssl.SSLContext | None = None,
    ) -> Server:
        server: Server

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await answer(server, reader, writer)

        server = Server(handler, tls)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = LeanTransport(ssl_context=ssl.create_default_context(), max_response_bytes=100)
    async with httpx.AsyncClient(transport=transport, timeout=2.0) as http:
        yield http


def keep_replying(answer: bytes = OK, *, delay: float = 0.0) -> Answer:
    """Answer every request on the connection with ``answer``, ``delay`` seconds late."""

    async def reply(server: Server, reader: asyncio.StreamReader, writer: Writer) -> None:
        while True:
            await server.read_request(reader)
            await asyncio.sleep(delay)
            writer.write(answer)
            await writer.drain()

    return reply


keep_answering = keep_replying()


def reply_once(answer: bytes, *, linger: float = 0.0) -> Answer:
    """Read one request, send ``answer``, keep the connection ``linger`` seconds, hang up."""

    async def reply(server: Server, reader: asyncio.StreamReader, writer: Writer) -> None:
        await server.read_request(reader)
        writer.write(answer)
        await writer.drain()
        await asyncio.sleep(linger)

    return reply


async def test_posts_the_exact_request_and_reuses_the_connection(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    server = await serve(keep_answering)
    for i in range(20):
        response = await client.post(server.url, content=b'{"n":%d}' % i, headers={"x-a": "b"})
        assert (response.status_code, response.read()) == (200, b"ok")
        assert response.headers["content-length"] == "2"
    assert server.connections == 1
    assert len(server.requests) == 20
    first = server.requests[0]
    assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert b"\r\nx-a: b\r\n" in first
    assert b"\r\nContent-Length: 7\r\n" in first
    assert first.endswith(b'\r\n\r\n{"n":0}')


async def test_concurrent_posts_each_get_their_own_answer(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    async def echo(server: Server, reader: asyncio.StreamReader, writer: Writer) -> None:
        while True:
            request = await server.read_request(reader)
            body = request.split(b"\r\n\r\n", 1)[1]
            await asyncio.sleep(0.01)
            writer.write(b"HTTP/1.1 201 X\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))

    server = await serve(echo)
    responses = await asyncio.gather(
        *(client.post(server.url, content=str(i).encode()) for i in range(30))
    )
    assert [response.content for response in responses] == [str(i).encode() for i in range(30)]
    assert {response.status_code for response in responses} == {201}
    assert server.connections == 30  # one per request in flight, none shared mid-exchange


async def test_a_stale_keep_alive_connection_is_replaced(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    # Answers once per connection, then reads the next request and hangs up without a word.
    async def once(server: Server, reader: asyncio.StreamReader, writer: Writer) -> None:
        await server.read_request(reader)
        writer.write(OK)
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")

    server = await serve(once)
    assert (await client.post(server.url, content=b"1")).status_code == 200
    assert (await client.post(server.url, content=b"2")).status_code == 200
    assert server.connections == 2
    assert [request.rsplit(b"\r\n", 1)[1] for request in server.requests] == [b"1", b"2"]


async def test_a_peer_that_hangs_up_mid_answer_is_a_protocol_error(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    server = await serve(reply_once(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nonly part"))
    with pytest.raises(httpx.RemoteProtocolError, match="closed the connection"):
        await client.post(server.url, content=b"x")
    assert len(server.requests) == 1  # an answered request is not sent again


async def test_the_body_read_is_capped_and_the_connection_dropped(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    head = b"HTTP/1.1 500 X\r\ncontent-length: 10000000\r\n\r\n"
    server = await serve(keep_replying(head + b"y" * 1_000_000))
    for _ in range(2):
        response = await client.post(server.url, content=b"x")
        assert response.status_code == 500
        assert response.content == b"y" * 100  # max_response_bytes
    assert server.connections == 2  # never reused: its unread rest was dropped


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            id="chunked",
        ),
        pytest.param(b"HTTP/1.0 200 OK\r\n\r\nabcde", id="until-close"),
        pytest.param(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabcde", id="connection-close"),
    ],
)
async def test_framings(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient, answer: bytes
) -> None:
    async def framed(server: Server, reader: asyncio.StreamReader, writer: Writer) -> None:
        while True:
            await server.read_request(reader)
            writer.write(answer)
            await writer.drain()
            if b"chunked" not in answer:
                return  # the body ends with the connection

    server = await serve(framed)
    for _ in range(2):
        response = await client.post(server.url, content=b"x")
        assert (response.status_code, response.content) == (200, b"abcde")
    assert server.connections == (1 if b"chunked" in answer else 2)


async def test_garbage_is_a_protocol_error(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    server = await serve(reply_once(b"SMTP ready\r\n\r\n", linger=1.0))
    with pytest.raises(httpx.RemoteProtocolError, match="invalid HTTP response"):
        await client.post(server.url, content=b"x")


async def test_a_silent_server_times_out_and_its_connection_is_closed(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    closed = asyncio.Event()

    async def silent(server: Server, reader: asyncio.StreamReader, writer: Writer) -> None:
        await server.read_request(reader)
        await reader.read()  # returns when the client closes
        closed.set()

    server = await serve(silent)
    transport = LeanTransport(ssl_context=ssl.create_default_context())
    async with httpx.AsyncClient(transport=transport, timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(server.url, content=b"x")
    await asyncio.wait_for(closed.wait(), 2)


async def test_cancelling_mid_exchange_closes_the_connection(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    server = await serve(keep_replying(delay=0.3))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await client.post(server.url, content=b"late")
    # The late answer must not be taken for the next request's.
    response = await client.post(server.url, content=b"next")
    assert response.status_code == 200
    assert server.connections == 2


async def test_header_injection_is_refused_before_sending(
    serve: Callable[..., Awaitable[Server]], client: httpx.AsyncClient
) -> None:
    server = await serve(keep_answering)
    with pytest.raises(httpx.LocalProtocolError, match="invalid character"):
        await client.post(server.url, content=b"x", headers={"x-token": "a\r\nx-evil: 1"})
    assert server.requests == []


async def test_refused_connections_and_unknown_schemes(client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ConnectError):
        await client.post("http://127.0.0.1:9/hook", content=b"x")  # discard port: closed
    with pytest.raises(httpx.UnsupportedProtocol):
        await client.post("ftp://127.0.0.1/hook", content=b"x")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed: no certificate for the TLS test")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_verifies_the_server(
    serve: Callable[..., Awaitable[Server]], certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    tls_server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_server.load_cert_chain(cert, key)
    server = await serve(keep_answering, tls_server)

    trusting = LeanTransport(ssl_context=ssl.create_default_context(cafile=str(cert)))
    async with httpx.AsyncClient(transport=trusting) as http:
        for _ in range(2):
            assert (await http.post(server.url, content=b"x")).status_code == 200
    assert server.connections == 1

    strangers = LeanTransport(ssl_context=ssl.create_default_context())
    async with httpx.AsyncClient(transport=strangers) as http:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.post(server.url, content=b"x")
