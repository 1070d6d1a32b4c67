"""Sources beyond RSS, end to end on 127.0.0.1: Telegram and listing pages catch up after
downtime (page back until a seen item, bounded), search feeds carry the officials' names,
JSON Feed is read."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from monitor.store import FeedState
from tests.pages_data import listing_page, tg_page
from tests.site import Reply, Request, Running, poll_all, rss, serve_site, write_config

PER_PAGE = 3


class Channel:
    """Telegram's preview: the newest PER_PAGE messages, or those before ?before=<id>."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __call__(self, req: Request) -> Reply:
        before = int(req.query.get("before", self.count + 1))
        ids = [n for n in range(1, self.count + 1) if n < before][-PER_PAGE:]
        body = tg_page("chan", [(n, f"Message number {n} from the ministry.") for n in ids])
        return Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})


def items_of(store: object, feed_id: int) -> set[str]:
    from sqlalchemy import text

    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(text("SELECT key FROM items WHERE feed_id = :f"), {"f": feed_id})
        return {r[0] for r in rows}


def keys(*numbers: int) -> set[str]:
    return {f"https://t.me/chan/{n}" for n in numbers}


def test_telegram_pages_back_until_a_seen_message(tmp_path: Path) -> None:
    with serve_site() as site:
        channel = Channel(5)
        site.serve("/s/chan", channel)
        feed = f"{{name: TG, url: '{site.url('/s/chan')}', kind: telegram}}"
        path = write_config(tmp_path, [feed], "fetch: {max_pages: 3}")

        async def scenario() -> None:
            async with Running(path) as deps:
                (state,) = await asyncio.to_thread(deps.store.feeds)
                # first poll: the newest page only; there is nothing to catch up with
                assert (await poll_all(deps)).new_items == 3
                assert [r.query for r in site.hits("/s/chan")] == [{}]
                assert items_of(deps.store, state.id) == keys(3, 4, 5)

                # downtime: 7 new messages, more than two pages
                channel.count = 12
                assert (await poll_all(deps)).new_items == 7
                assert [r.query.get("before") for r in site.log[1:]] == [None, "10", "7"]
                assert items_of(deps.store, state.id) == keys(*range(3, 13))

                # a long outage: paging stops at max_pages, the daemon does not crawl forever
                channel.count = 40
                assert (await poll_all(deps)).new_items == 9
                assert len(site.log) == 1 + 3 + 3

                # nothing new: one request, and the same body is not even parsed
                assert (await poll_all(deps)).new_items == 0
                assert len(site.log) == 8

        asyncio.run(scenario())


def test_listing_pages_back_with_next_page_selector(tmp_path: Path) -> None:
    articles = [(f"/news/{n}", f"Ministry news item {n}") for n in range(20, 0, -1)]

    def listing(req: Request) -> Reply:
        page = int(req.query.get("page", "1"))
        chunk = articles[(page - 1) * 4 : page * 4]
        older = f"/list?page={page + 1}" if page * 4 < len(articles) else None
        return Reply(200, listing_page(chunk, older=older), {"Content-Type": "text/html"})

    with serve_site() as site:
        site.serve("/list", listing)
        feed = (
            f"{{name: L, url: '{site.url('/list')}', kind: html, selector: '.news-item',"
            " next_page: a.next}"
        )
        path = write_config(tmp_path, [feed], "fetch: {full_text: false}")

        async def scenario() -> None:
            async with Running(path) as deps:
                assert (await poll_all(deps)).new_items == 4
                # six newer articles appear on top: page 1 and 2 are new, page 3 has seen ones
                articles[:0] = [
                    (f"/news/{n}", f"Ministry news item {n}") for n in range(26, 20, -1)
                ]
                assert (await poll_all(deps)).new_items == 6
                pages = [r.query.get("page") for r in site.hits("/list")]
                assert pages == [None, None, "2"]

        asyncio.run(scenario())


def test_search_feed_queries_the_officials(tmp_path: Path) -> None:
    with serve_site() as site:
        site.serve("/search", Reply(200, rss(("s1", "Abu Qasra in the news", "Text."))))
        feed = (
            f"{{name: News search, url: '{site.url('/search')}?q={{query}}&hl=en', kind: search}}"
        )
        path = write_config(tmp_path, [feed], "fetch: {full_text: false}")

        async def scenario() -> list[FeedState]:
            async with Running(path) as deps:
                assert (await poll_all(deps)).new_items == 1
                return await asyncio.to_thread(deps.store.feeds)

        (state,) = asyncio.run(scenario())
        (req,) = site.hits("/search")
        assert req.query == {"q": '"Murhaf Abu Qasra"', "hl": "en"}
        assert "{query}" in state.url, "the template is the feed's identity"


def test_json_feed_source(tmp_path: Path) -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "MoD",
        "items": [{"id": "j1", "title": "Statement", "content_text": "x" * 300}],
    }
    with serve_site() as site:
        body = json.dumps(doc).encode()
        site.serve("/feed.json", Reply(200, body, {"Content-Type": "application/feed+json"}))
        path = write_config(tmp_path, [f"{{name: J, url: '{site.url('/feed.json')}'}}"])

        async def scenario() -> None:
            async with Running(path) as deps:
                summary = await poll_all(deps)
                assert (summary.failed, summary.new_items) == (0, 1)

        asyncio.run(scenario())
