"""Polite polling end to end: real SQLite, real HTTP on 127.0.0.1, the daemon's Deps.

Conditional GET and unchanged bodies cost no parsing, permanent redirects move the fetch
URL (the configured URL stays the identity), Retry-After holds one URL back, per-host
limits hold, and the most overdue feeds are polled first after downtime.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import monitor.sources as sources
from monitor.clients import HostLimiter
from monitor.pipeline import poll_due
from monitor.store import FeedState
from tests.site import Reply, Request, Running, poll_all, rss, serve_site, write_config

FEED = rss(("g1", "Speech at the academy", "The minister spoke to cadets."))


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every body parsed, by URL: the proof that a 304 or an unchanged body is free."""
    seen: list[str] = []
    real = sources.parse_page

    def counting(spec: Any, url: str, body: bytes, headers: Any) -> Any:
        seen.append(url)
        return real(spec, url, body, headers)

    monkeypatch.setattr(sources, "parse_page", counting)
    return seen


def by_name(feeds: list[FeedState]) -> dict[str, FeedState]:
    return {f.name: f for f in feeds}


def test_conditional_get_sends_validators_and_304_costs_no_parsing(
    tmp_path: Path, parses: list[str]
) -> None:
    with serve_site() as site:

        def feed(req: Request) -> Reply:
            if req.headers.get("if-none-match") == '"v1"':
                return Reply(304)
            headers = {"ETag": '"v1"', "Last-Modified": "Wed, 26 Nov 2025 08:00:00 GMT"}
            return Reply(200, FEED, {**headers, "Content-Type": "application/rss+xml"})

        site.serve("/feed", feed)
        path = write_config(tmp_path, [f"{{name: F, url: '{site.url('/feed')}'}}"])

        async def scenario() -> list[FeedState]:
            async with Running(path) as deps:
                first = await poll_all(deps)
                second = await poll_all(deps)
                assert (first.feeds, first.failed, first.new_items) == (1, 0, 1)
                assert (second.feeds, second.failed, second.new_items) == (1, 0, 0)
                return await asyncio.to_thread(deps.store.feeds)

        (state,) = asyncio.run(scenario())
        first, second = site.hits("/feed")
        assert "if-none-match" not in first.headers
        assert second.headers["if-none-match"] == '"v1"'
        assert second.headers["if-modified-since"] == "Wed, 26 Nov 2025 08:00:00 GMT"
        assert parses == [site.url("/feed")], "the 304 was not parsed"
        assert state.failures == 0 and state.etag == '"v1"'


def test_unchanged_body_without_validators_is_not_parsed_again(
    tmp_path: Path, parses: list[str]
) -> None:
    with serve_site() as site:
        site.serve("/feed", Reply(200, FEED, {"Content-Type": "application/rss+xml"}))
        path = write_config(tmp_path, [f"{{name: F, url: '{site.url('/feed')}'}}"])

        async def scenario() -> None:
            async with Running(path) as deps:
                await poll_all(deps)
                await poll_all(deps)
                assert len(parses) == 1
                site.serve("/feed", Reply(200, rss(("g2", "New", "New item."))))
                assert (await poll_all(deps)).new_items == 1
                assert len(parses) == 2

        asyncio.run(scenario())
        assert len(site.hits("/feed")) == 3


def test_permanent_redirect_moves_fetch_url_temporary_does_not(tmp_path: Path) -> None:
    with serve_site() as site:
        site.serve("/old", Reply(301, headers={"Location": "/new"}))
        site.serve("/new", Reply(200, FEED))
        site.serve("/away", Reply(302, headers={"Location": "/elsewhere"}))
        site.serve("/elsewhere", Reply(200, FEED))
        site.serve("/mixed", Reply(308, headers={"Location": "/away"}))
        feeds = [
            f"{{name: Moved, url: '{site.url('/old')}'}}",
            f"{{name: Temp, url: '{site.url('/away')}'}}",
            f"{{name: Mixed, url: '{site.url('/mixed')}'}}",
        ]
        path = write_config(tmp_path, feeds)

        async def scenario() -> dict[str, FeedState]:
            async with Running(path) as deps:
                await poll_all(deps)
                await poll_all(deps)
                # a reload matches feeds on the configured URL: the move survives it
                await asyncio.to_thread(deps.store.sync_feeds, deps.config.feeds, deps.clock())
                await poll_all(deps)
                return by_name(await asyncio.to_thread(deps.store.feeds))

        state = asyncio.run(scenario())
        assert state["Moved"].url == site.url("/old")
        assert state["Moved"].fetch_url == site.url("/new")
        assert len(site.hits("/old")) == 1 and len(site.hits("/new")) == 3
        assert state["Temp"].fetch_url is None and len(site.hits("/away")) == 6  # Temp + Mixed
        assert state["Mixed"].fetch_url is None, "a chain with a temporary hop does not move"
        assert all(f.failures == 0 for f in state.values())


def test_retry_after_holds_back_that_url_only(tmp_path: Path) -> None:
    with serve_site() as site:
        site.serve("/limited", Reply(429, b"slow down", {"Retry-After": "120"}))
        site.serve("/unavailable", Reply(503, b"", {"Retry-After": "31536000"}))
        site.serve("/fine", Reply(200, FEED))
        feeds = [
            f"{{name: Limited, url: '{site.url('/limited')}', interval: 1m}}",
            f"{{name: Unavailable, url: '{site.url('/unavailable')}', interval: 1m}}",
            f"{{name: Fine, url: '{site.url('/fine')}', interval: 1m}}",
        ]
        path = write_config(tmp_path, feeds, "fetch: {backoff_max: 1h}")

        async def scenario() -> tuple[dict[str, FeedState], Any]:
            async with Running(path) as deps:
                before = deps.clock()
                await poll_all(deps)
                return by_name(await asyncio.to_thread(deps.store.feeds)), before

        state, before = asyncio.run(scenario())
        limited, unavailable, fine = state["Limited"], state["Unavailable"], state["Fine"]
        assert limited.last_error_kind == "http_429"
        assert limited.next_poll_at - before >= timedelta(seconds=120)
        assert unavailable.last_error_kind == "http_5xx"
        # a year's Retry-After is capped at the backoff ceiling: the feed is never parked
        assert timedelta(hours=1) <= unavailable.next_poll_at - before <= timedelta(minutes=67)
        assert fine.next_poll_at - before < timedelta(seconds=70), "same host, not held back"


def test_overdue_feeds_are_polled_first(tmp_path: Path) -> None:
    with serve_site() as site:
        for name in "abcd":
            site.serve(f"/{name}", Reply(200, FEED))
        feeds = [f"{{name: {n}, url: '{site.url('/' + n)}'}}" for n in "abcd"]
        path = write_config(tmp_path, feeds, "poll: {concurrency: 1}")

        async def scenario() -> list[str]:
            async with Running(path) as deps:
                store, now = deps.store, deps.clock()
                ids = {f.name: f.id for f in await asyncio.to_thread(store.feeds)}
                # after downtime: c has waited longest, then a, then d; b is not due yet
                overdue = {"c": timedelta(hours=5), "a": timedelta(hours=1), "d": timedelta(0)}
                for name, late in overdue.items():
                    await asyncio.to_thread(store.save_poll, ids[name], now, now - late)
                await asyncio.to_thread(store.save_poll, ids["b"], now, now + timedelta(hours=1))
                claimed = await asyncio.to_thread(
                    store.claim_due_feeds, now, 1, "probe", timedelta(seconds=1)
                )
                assert [f.name for f in claimed] == ["c"]
                await asyncio.to_thread(store.save_poll, ids["c"], now, now - overdue["c"])
                summary = await poll_due(deps)
                assert summary.feeds == 3
                return site.paths()

        assert asyncio.run(scenario()) == ["/c", "/a", "/d"]


def test_per_host_limit(tmp_path: Path) -> None:
    with serve_site() as site:
        for n in range(4):
            site.serve(f"/slow{n}", Reply(200, FEED, delay=0.2))
        feeds = [f"{{name: s{n}, url: '{site.url(f'/slow{n}')}'}}" for n in range(4)]
        path = write_config(tmp_path, feeds, "fetch: {per_host: 1}", "poll: {concurrency: 10}")

        async def scenario() -> None:
            async with Running(path) as deps:
                assert (await poll_all(deps)).feeds == 4

        asyncio.run(scenario())
        assert len(site.log) == 4
        assert site.max_active == 1


def test_host_limiter_counts_per_host_and_forgets_idle_hosts() -> None:
    limiter = HostLimiter(2)
    active: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}

    async def use(host: str) -> None:
        async with limiter.slot(host):
            active[host] += 1
            peak[host] = max(peak[host], active[host])
            await asyncio.sleep(0.01)
            active[host] -= 1

    async def scenario() -> None:
        await asyncio.gather(*(use(h) for h in "aaaaabbbbb"))

    asyncio.run(scenario())
    assert peak == {"a": 2, "b": 2}
    assert len(limiter) == 0


def test_slow_feed_does_not_hold_up_the_next_tick(tmp_path: Path) -> None:
    """Ticks overlap: while one tick waits on a slow feed, the next polls the due ones."""
    with serve_site() as site:
        site.serve("/slow", Reply(200, FEED, delay=1.5))
        site.serve("/quick", Reply(200, FEED))
        feeds = [
            f"{{name: Slow, url: '{site.url('/slow')}', interval: 1h}}",
            f"{{name: Quick, url: '{site.url('/quick')}', interval: 0.1s}}",
        ]
        path = write_config(tmp_path, feeds)

        async def scenario() -> None:
            async with Running(path) as deps:
                ticks = []
                for _ in range(8):  # the daemon's poll tick, every 0.1 s, allowed to overlap
                    ticks.append(asyncio.create_task(poll_due(deps)))
                    await asyncio.sleep(0.1)
                await asyncio.gather(*ticks)
                assert deps.busy == 0

        asyncio.run(scenario())
        assert len(site.hits("/slow")) == 1
        assert len(site.hits("/quick")) >= 4, site.paths()
