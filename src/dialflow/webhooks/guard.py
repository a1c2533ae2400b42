"""Refuse deliveries to private networks (SSRF): a webhook URL is the client's input, and the
server must not be made to post to its own loopback, the cloud metadata address or the LAN."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class BlockedDestination(Exception):
    """The URL resolves to an address deliveries may not reach."""


def check_url_syntax(url: str) -> str | None:
    """Why a URL cannot be a webhook endpoint, or None."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        return "the URL must start with http:// or https://"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username or parts.password:
        return "credentials in the URL are not allowed; use the auth header fields"
    return None


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def ensure_public(url: str) -> None:
    """Raise BlockedDestination when the URL's host resolves to a non-public address.

    Every address the name resolves to is checked, so a name with one public and one private
    address is refused."""
    host = urlsplit(url).hostname or ""
    port = urlsplit(url).port or 443
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise BlockedDestination(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = str(info[4][0])
        if _forbidden(address):
            msg = f"{host} resolves to {address}, a private, loopback or link-local address"
            raise BlockedDestination(msg)
