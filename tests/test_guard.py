"""SSRF guard: links in content never reach loopback, private, link-local or metadata
addresses, checked at connect time, redirects included. Only 127.0.0.1/::1 ever see a
packet here: the guard refuses before connecting, and a recording backend proves it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest

from monitor.clients import HostLimiter, Http, make_client, make_http
from monitor.errors import FetchError, FetchErrorKind
from monitor.fetch import FetchResult, fetch_configured, fetch_feed
from monitor.guard import GuardedBackend, GuardedTransport, ip_allowed
from tests.test_fetch import FEED, FeedServer, Handler


class Recording(httpcore.AsyncNetworkBackend):
    """The real backend, recording every address it is asked to connect to."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.connects.append((host, port))
        if not (host.startswith("127.") or host == "::1"):
            raise AssertionError(f"would have sent packets to {host}")
        return await self.inner.connect_tcp(host, port, *args, **kwargs)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


FAKE_DNS = {
    "rebind.example": ["127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
    "public.news": ["93.184.216.34"],
}


async def fake_resolve(host: str, port: int) -> list[str]:
    """A resolver that never asks the network: IP literals resolve to themselves."""
    if host in FAKE_DNS:
        return FAKE_DNS[host]
    if host.replace(".", "").isdigit() or ":" in host:
        return [host]
    raise OSError(f"no such host {host}")


class Route(Handler):
    def route_ok(self) -> None:
        self.reply(200, FEED, {"Content-Type": "application/rss+xml"})

    def route_to_localhost(self) -> None:
        port = self.server.server_address[1]
        self.reply(302, headers={"Location": f"http://localhost:{port}/ok"})

    def route_to_private(self) -> None:
        self.reply(301, headers={"Location": "http://10.0.0.1/feed"})

    def route_to_metadata(self) -> None:
        self.reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    def route_to_rebind(self) -> None:
        port = self.server.server_address[1]
        self.reply(307, headers={"Location": f"http://rebind.example:{port}/ok"})

    def route_to_v6(self) -> None:
        port = self.server.server_address[1]
        self.reply(302, headers={"Location": f"http://[::1]:{port}/ok"})

    def route_same_host(self) -> None:
        self.reply(302, headers={"Location": "/ok"})


@pytest.fixture
def server() -> Iterator[FeedServer]:
    import threading

    srv = FeedServer()
    srv.RequestHandlerClass = Route
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join()


def guarded_http(backend: Recording) -> Http:
    # ports=None: the local test server is on a high port; the *address* must block it.
    guard = GuardedBackend(resolve=fake_resolve, ports=None, inner=backend)
    guarded = make_client(transport=GuardedTransport(backend=guard))
    return Http(make_client(), guarded, HostLimiter(4))


def run_fetch(url: str, *, trusted_host: str | None) -> tuple[FetchResult | FetchError, Recording]:
    backend = Recording()

    async def go() -> FetchResult | FetchError:
        http = guarded_http(backend)
        try:
            return await fetch_feed(http, url, trusted_host=trusted_host, deadline=5)
        except FetchError as e:
            return e
        finally:
            await http.aclose()

    return asyncio.run(go()), backend


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("127.1.2.3", False),
        ("::1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # CGNAT
        ("198.18.0.1", False),  # benchmarking
        ("0.0.0.0", False),
        ("224.0.0.1", False),  # multicast
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.0.0.1", False),
        ("fe80::1%eth0", False),
        ("not-an-ip", False),
    ],
)
def test_ip_allowed(address: str, allowed: bool) -> None:
    assert ip_allowed(address) is allowed


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:{port}/ok", id="ipv4-loopback"),
        pytest.param("http://[::1]:{port}/ok", id="ipv6-loopback"),
        pytest.param("http://localhost:{port}/ok", id="localhost-name"),
        pytest.param("http://rebind.example:{port}/ok", id="name-resolving-to-loopback"),
        pytest.param("http://10.0.0.1/feed", id="private-10"),
        pytest.param("http://169.254.169.254/latest/meta-data/", id="metadata"),
        pytest.param("http://metadata.example/", id="name-resolving-to-metadata"),
        pytest.param("http://mixed.example/", id="rebinding-mixed-answers"),
    ],
)
def test_links_in_content_are_refused(server: FeedServer, url: str) -> None:
    port = server.server_address[1]
    outcome, backend = run_fetch(url.format(port=port), trusted_host=None)
    assert isinstance(outcome, FetchError)
    assert outcome.kind is FetchErrorKind.BLOCKED
    assert backend.connects == [], "refused before any connection"
    assert server.requests == []


@pytest.mark.parametrize(
    "path",
    ["to_localhost", "to_private", "to_metadata", "to_rebind", "to_v6"],
)
def test_redirects_off_the_configured_host_are_refused(server: FeedServer, path: str) -> None:
    # The admin typed 127.0.0.1: that host is trusted, the redirect target is not.
    outcome, backend = run_fetch(server.base + "/" + path, trusted_host="127.0.0.1")
    assert isinstance(outcome, FetchError), outcome
    assert outcome.kind is FetchErrorKind.BLOCKED
    assert backend.connects == [], "the first hop used the trusted client, the second none"
    assert [p for p, _ in server.requests] == ["/" + path]


def test_same_host_redirect_of_a_configured_feed_is_trusted(server: FeedServer) -> None:
    outcome, backend = run_fetch(server.base + "/same_host", trusted_host="127.0.0.1")
    assert isinstance(outcome, FetchResult) and outcome.body == FEED
    assert backend.connects == []
    assert [p for p, _ in server.requests] == ["/same_host", "/ok"]


def test_fetch_configured_trusts_the_typed_host(server: FeedServer) -> None:
    async def go() -> tuple[FetchResult, FetchError]:
        http = guarded_http(Recording())
        try:
            ok = await fetch_configured(http, server.base + "/same_host")
            with pytest.raises(FetchError) as caught:
                await fetch_configured(http, server.base + "/to_localhost")
            return ok, caught.value
        finally:
            await http.aclose()

    ok, refused = asyncio.run(go())
    assert ok.body == FEED
    assert refused.kind is FetchErrorKind.BLOCKED


def test_a_trusted_connection_is_never_reused_for_a_content_link(server: FeedServer) -> None:
    async def go() -> FetchError:
        http = guarded_http(Recording())
        try:
            await fetch_feed(http, server.base + "/ok", trusted_host="127.0.0.1")
            with pytest.raises(FetchError) as caught:
                await fetch_feed(http, server.base + "/ok", trusted_host=None)
            return caught.value
        finally:
            await http.aclose()

    assert asyncio.run(go()).kind is FetchErrorKind.BLOCKED
    assert [p for p, _ in server.requests] == ["/ok"]


def test_allow_private_links_lets_content_links_through(server: FeedServer) -> None:
    async def go() -> FetchResult:
        http = make_http(allow_private_links=True)
        try:
            return await fetch_feed(http, server.base + "/ok", trusted_host=None)
        finally:
            await http.aclose()

    assert asyncio.run(go()).body == FEED


def test_default_guard_refuses_loopback_and_odd_ports(server: FeedServer) -> None:
    async def go(url: str) -> FetchError:
        http = make_http()
        try:
            with pytest.raises(FetchError) as caught:
                await fetch_feed(http, url, trusted_host=None)
            return caught.value
        finally:
            await http.aclose()

    assert asyncio.run(go(server.base + "/ok")).kind is FetchErrorKind.BLOCKED
    assert asyncio.run(go("http://localhost/ok")).kind is FetchErrorKind.BLOCKED
    assert asyncio.run(go("http://127.0.0.1/ok")).kind is FetchErrorKind.BLOCKED
    assert server.requests == []


def test_public_address_is_connected_to_as_checked() -> None:
    """The connection goes to the address that was checked, never re-resolved."""
    asked: list[tuple[str, int]] = []

    class Refuse(Recording):
        async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            asked.append((host, port))
            raise httpcore.ConnectError("test: no packets leave this machine")

    backend = GuardedBackend(resolve=fake_resolve, inner=Refuse())
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(backend.connect_tcp("public.news", 443))
    assert asked == [("93.184.216.34", 443)]


def test_unix_sockets_refused() -> None:
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(GuardedBackend().connect_unix_socket("/run/docker.sock"))


def test_guarded_transport_replaces_httpx_pool() -> None:
    """The guard lives in httpx's private ``_pool``: this fails if httpx changes that."""
    transport = GuardedTransport()
    pool = transport._pool
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert isinstance(pool._network_backend, GuardedBackend)
    assert httpx.__version__.startswith("0.28.")


@pytest.mark.parametrize("host", ["news.example.org", "x.invalid", "site.test", "LOCALHOST."])
def test_reserved_names_refused_without_resolving(host: str) -> None:
    async def resolve(h: str, port: int) -> list[str]:
        raise AssertionError(f"resolved {h}: reserved names must not reach DNS")

    with pytest.raises(httpcore.ConnectError):
        asyncio.run(GuardedBackend(resolve=resolve).connect_tcp(host, 443))
