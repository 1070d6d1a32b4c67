"""I/O: the shared HTTP clients and the per-host politeness limit.

Two clients, two connection pools: ``trusted`` for the hosts an admin typed in monitor.yaml,
``guarded`` (monitor.guard) for everything else. One pool for both would let a connection
opened to a trusted 127.0.0.1 feed be reused for a link in content that names the same
address. Both follow no redirects on their own: fetch follows them hop by hop.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import httpx

from monitor.guard import GuardedBackend, GuardedTransport, Resolver
from monitor.inflate import ACCEPT_ENCODING

DEFAULT_USER_AGENT = "monitor/0.1 (+defence-meeting watcher)"
# Connections per trusted client: httpcore scans every connection of a pool on each request
# (encode/httpx#3215), so poll.concurrency is spread over clients of a few connections each.
SHARD_CONNECTIONS = 2
MAX_SHARDS = 64


class HostLimiter:
    """At most ``per_host`` requests in flight to one host:port at a time (this process)."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold one of ``key``'s slots; the entry is dropped when nobody uses it."""
        sem, users = self._slots.get(key) or (asyncio.Semaphore(self.per_host), 0)
        self._slots[key] = (sem, users + 1)
        try:
            async with sem:
                yield
        finally:
            sem, users = self._slots[key]
            if users <= 1:
                del self._slots[key]
            else:
                self._slots[key] = (sem, users - 1)

    def __len__(self) -> int:
        return len(self._slots)


@dataclass(slots=True)
class Http:
    """The shared clients: one for admin-typed feed hosts, one guarded for everything else.

    Two pools, not one: a connection opened for a trusted 127.0.0.1 feed must never be
    reused for a link in content that points at the same address.
    """

    trusted: httpx.AsyncClient
    guarded: httpx.AsyncClient
    hosts: HostLimiter = field(default_factory=lambda: HostLimiter(4))
    # more clients like ``trusted`` (same settings, own small pools), used with it
    shards: tuple[httpx.AsyncClient, ...] = ()
    _busy: list[int] = field(init=False)  # requests in flight: trusted, *shards

    def __post_init__(self) -> None:
        self._busy = [0] * (1 + len(self.shards))

    @classmethod
    def single(cls, client: httpx.AsyncClient, per_host: int = 4) -> Http:
        """Use one client for every hop (tests, and ``allow_private_links`` setups)."""
        return cls(client, client, HostLimiter(per_host))

    @contextmanager
    def client_for(self, url: httpx.URL, trusted_host: str | None) -> Iterator[httpx.AsyncClient]:
        """The trusted client on the host typed in monitor.yaml, the guarded one elsewhere;
        held for one request. Of the trusted clients, the one with the fewest requests in
        flight: taken in turn, two slow feeds could fill one client's small pool and every
        feed whose turn fell on it would wait behind them."""
        if trusted_host is None or url.host.lower() != trusted_host.lower():
            yield self.guarded
            return
        busy = self._busy
        i = busy.index(min(busy))
        busy[i] += 1
        try:
            yield self.shards[i - 1] if i else self.trusted
        finally:
            busy[i] -= 1

    async def aclose(self) -> None:
        await self.trusted.aclose()
        for shard in self.shards:
            await shard.aclose()
        if self.guarded is not self.trusted:
            await self.guarded.aclose()


def make_client(
    *,
    timeout: float = 10.0,
    user_agent: str = DEFAULT_USER_AGENT,
    max_connections: int = 20,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """Build one AsyncClient; fetch_feed follows redirects itself, hop by hop. Pass one
    ``verify`` context to many clients: building one costs ~30 ms (the CA bundle)."""
    return httpx.AsyncClient(
        follow_redirects=False,
        # Proxy variables from the environment must not bypass the SSRF guard (libraries.md §7).
        trust_env=False,
        # Per-read timeouts only; fetch_feed adds an overall deadline (slow-loris).
        timeout=httpx.Timeout(timeout, connect=5.0),
        # Ignored by httpx when a custom transport is given: that transport owns its pool.
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        # Only what monitor.inflate decodes with a size bound (no br/zstd even if installed).
        headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        transport=transport,
        verify=verify,
    )


def make_http(
    *,
    allow_private_links: bool = False,
    max_connections: int = 20,
    per_host: int = 4,
    user_agent: str = DEFAULT_USER_AGENT,
    resolve: Resolver | None = None,
) -> Http:
    """The daemon's clients; ``allow_private_links`` turns the guard off for content links.
    Feed hosts get ``max_connections`` spread over clients of SHARD_CONNECTIONS each."""
    verify = httpx.create_ssl_context(trust_env=False)  # as the clients: no SSL_CERT_* env
    n = max(1, min(MAX_SHARDS, -(-max_connections // SHARD_CONNECTIONS)))
    size = -(-max_connections // n)
    trusted, *shards = (
        make_client(user_agent=user_agent, max_connections=size, verify=verify) for _ in range(n)
    )
    if allow_private_links:
        return Http(trusted, trusted, HostLimiter(per_host), tuple(shards))
    backend = GuardedBackend(resolve=resolve) if resolve else GuardedBackend()
    transport = GuardedTransport(max_connections=max_connections, backend=backend, verify=verify)
    guarded = make_client(user_agent=user_agent, transport=transport)
    return Http(trusted, guarded, HostLimiter(per_host), tuple(shards))


def host_key(url: str) -> str:
    """host:port, the unit of politeness (per-host limits)."""
    try:
        u = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    return f"{u.host}:{u.port or (443 if u.scheme == 'https' else 80)}"
