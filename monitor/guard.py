"""I/O: the SSRF guard, an httpcore network backend that refuses non-public addresses.

Links found in feed content are third-party input: fetching them must never reach loopback,
private, link-local or metadata addresses. The check runs at connect time, after name
resolution, and the connection goes to the very address that was checked, so redirects and
DNS rebinding cannot slip past it (libraries.md §7). TLS still verifies the URL's hostname:
httpcore takes ``server_hostname`` from the request, not from the address we connect to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]

# Not "global" in spirit although ipaddress calls some of them global (RFC 6598 CGNAT,
# RFC 6890 IETF protocol assignments, RFC 2544 benchmarking).
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n) for n in ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15")
)
DEFAULT_PORTS = frozenset({80, 443})


class BlockedAddressError(httpcore.ConnectError):
    """The guard refused a connection; fetch maps it to FetchErrorKind.BLOCKED."""


def ip_allowed(address: str) -> bool:
    """True only for a public unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        return False
    return not any(ip in net for net in _EXTRA_BLOCKED)


# RFC 6761 / RFC 2606 names: loopback, or reserved so they can never be a real site.
_RESERVED_NAMES = (
    "localhost",
    "invalid",
    "test",
    "example",
    "example.org",
    "example.com",
    "example.net",
    "local",
)


def _is_local_name(host: str) -> bool:
    # refused without resolving: a DNS query for them is useless, and it would leave the host
    name = host.rstrip(".").lower()
    return any(name == r or name.endswith("." + r) for r in _RESERVED_NAMES)


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (an IP literal resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, refuse unless every address is public and the port allowed, connect to it."""

    def __init__(
        self,
        *,
        resolve: Resolver = system_resolve,
        ports: frozenset[int] | None = DEFAULT_PORTS,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolve = resolve
        self._ports = ports
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._ports is not None and port not in self._ports:
            raise BlockedAddressError(f"blocked {host}:{port}: port not allowed")
        if _is_local_name(host):
            raise BlockedAddressError(f"blocked {host}: local or reserved name")
        try:
            addresses = await self._resolve(host, port)
        except OSError as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
        # Refuse when *any* answer is private: a name that mixes public and private answers
        # is a rebinding attempt, not a site worth reading.
        if not addresses or not all(ip_allowed(a) for a in addresses):
            log.warning("connection blocked host=%s addresses=%s", host, ",".join(addresses))
            raise BlockedAddressError(f"blocked {host}: resolves to {', '.join(addresses)}")
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as e:
                last = e
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool rebuilt on a GuardedBackend.

    It replaces httpx's private ``_pool``, which is why httpx is pinned to 0.28.*;
    tests/test_guard.py fails loudly if a new httpx changes that.
    """

    def __init__(
        self,
        *,
        max_connections: int = 20,
        backend: httpcore.AsyncNetworkBackend | None = None,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        # one context for both pools: building one reads the CA bundle (~35 ms)
        verify = verify or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=verify, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=max_connections,
            max_keepalive_connections=max(1, max_connections // 2),
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=backend or GuardedBackend(),
        )
