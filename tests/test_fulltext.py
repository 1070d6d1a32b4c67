"""Full text: items too short to judge get their article fetched, through the SSRF guard,
extracted with trafilatura and cached per URL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from monitor.fulltext import extract_text, needs_full_text
from monitor.models import Entry
from tests.site import Reply, Running, Site, poll_all, rss, serve_site, write_config

ARTICLE = (
    b"<!DOCTYPE html><html><head><title>MoD</title><script>track()</script></head><body>"
    b"<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/contact'>Contact</a></nav>"
    b"<article><h1>Minister receives ambassador</h1>"
    b"<p>Syria's Defence Minister Murhaf Abu Qasra received the Ambassador of Pakistan, "
    b"Air Marshal Saeed Afzal, on 25 November in Damascus to discuss training and air "
    b"defence cooperation between the two armies.</p>"
    b"<p>The two sides reviewed the programme of joint courses for the coming year and the "
    b"exchange of instructors between the academies of both countries.</p>"
    b"</article><footer>Copyright the ministry</footer></body></html>"
)


def test_needs_full_text() -> None:
    short = Entry("k", "Minister receives ambassador", "Read more", "https://x.example/a")
    assert needs_full_text(short, 200)
    assert not needs_full_text(Entry("k", "t", "x" * 200, "https://x.example/a"), 200)
    assert not needs_full_text(Entry("k", "t", "", None), 200), "nothing to fetch"


def test_extract_text_drops_navigation_and_scripts() -> None:
    text = extract_text(ARTICLE, "https://mod.example/a/1", "text/html; charset=utf-8")
    assert text is not None
    assert "received the Ambassador of Pakistan" in text
    assert "track()" not in text and "Copyright" not in text and "Contact" not in text
    assert extract_text(b"<html><body></body></html>", "https://x.example/") is None


def setup(site: Site, tmp_path: Path, *extra: str) -> Path:
    """Two feeds whose one short item each links the same article."""
    link = f"<link>{site.url('/article/1')}</link></item>".encode()
    wire = rss(("m1", "Minister receives ambassador", "Read more")).replace(b"</item>", link)
    other = rss(("m2", "Same story elsewhere", "More")).replace(b"</item>", link)
    site.serve("/feed", Reply(200, wire))
    site.serve("/other", Reply(200, other))
    site.serve("/article/1", Reply(200, ARTICLE, {"Content-Type": "text/html"}))
    feeds = [
        # backfill: alert, so the first poll alerts (it only records the backlog by default)
        f"{{name: Wire, url: '{site.url('/feed')}', backfill: alert}}",
        f"{{name: Other, url: '{site.url('/other')}', backfill: alert}}",
    ]
    return write_config(tmp_path, feeds, *extra)


def articles(store: object) -> list[tuple[str, str | None, str | None]]:
    from sqlalchemy import text

    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(text("SELECT url, error_kind, text FROM articles"))
        return [(r[0], r[1], r[2]) for r in rows]


def test_article_links_go_through_the_guard(tmp_path: Path) -> None:
    """The feed host was typed by an admin; its article links were not: 127.0.0.1 refused."""
    with serve_site() as site:
        path = setup(site, tmp_path)

        async def scenario() -> None:
            async with Running(path) as deps:
                summary = await poll_all(deps)
                assert (summary.failed, summary.new_items, summary.new_events) == (0, 2, 0)
                ((url, kind, text),) = articles(deps.store)
                assert (url, kind, text) == (site.url("/article/1"), "blocked", None)

        asyncio.run(scenario())
        assert site.hits("/article/1") == [], "no request reached the private address"


def test_allow_private_links_fetches_extracts_and_caches(tmp_path: Path) -> None:
    with serve_site() as site:
        # one feed at a time, so the second feed finds the first one's article in the cache
        path = setup(site, tmp_path, "fetch: {allow_private_links: true}", "poll: {concurrency: 1}")

        async def scenario() -> None:
            async with Running(path) as deps:
                deps.clock = lambda: datetime(2025, 11, 26, 12, tzinfo=UTC)
                await asyncio.to_thread(deps.store.make_all_due, deps.clock())
                from monitor.pipeline import poll_due

                summary = await poll_due(deps)
                assert (summary.failed, summary.new_items) == (0, 2)
                assert summary.new_events == 1, "the meeting was only in the article"
                ((_, kind, text),) = articles(deps.store)
                assert kind is None and text and "Saeed Afzal" in text

        asyncio.run(scenario())
        assert len(site.hits("/article/1")) == 1, "the second feed's link came from the cache"
