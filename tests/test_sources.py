"""Sources beyond RSS: sniffing, JSON Feed, HTML listings, Telegram previews (pure tables)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError, ParseError
from monitor.models import Entry, FeedKind, FeedSpec
from monitor.pages import Page, check_selector, decode_html, parse_listing, parse_telegram
from monitor.parse import BodyFormat, parse_feed, parse_json_feed, sniff
from monitor.sources import Seen, body_digest, fetch_url_of, trusted_host
from tests.conftest import write
from tests.pages_data import listing_page, tg_page

URL = "https://mod.example/feed.json"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"version": "x"}', "", BodyFormat.JSON),
        (b'\xef\xbb\xbf  {"a": 1}', "text/html", BodyFormat.JSON),
        (b"<?xml version='1.0'?><rss/>", "application/json", BodyFormat.XML),
        (b"<!DOCTYPE html><html></html>", "application/rss+xml", BodyFormat.HTML),
        (b"\n  <HTML><body>", "", BodyFormat.HTML),
        (b"<rss version='2.0'/>", "text/html", BodyFormat.XML),
        (b"[1, 2]", "application/feed+json", BodyFormat.JSON),
        (b"\xff\xfe<\x00r\x00", "", BodyFormat.XML),  # UTF-16: feedparser decides
    ],
)
def test_sniff(body: bytes, content_type: str, expected: BodyFormat) -> None:
    assert sniff(body, content_type) is expected


JSON_FEED = b"""{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "Ministry",
  "items": [
    {"id": "1", "url": "/news/1", "title": "Minister receives envoy",
     "content_html": "<p>The minister <b>received</b> the envoy.</p><script>x()</script>",
     "date_published": "2025-11-26T09:30:00+03:00"},
    {"id": 2, "external_url": "https://other.example/a", "content_text": "Plain  text\\nline",
     "date_modified": "2025-11-26T10:00:00Z"},
    {"url": "javascript:alert(1)", "title": "No id", "summary": "S"},
    "not an object"
  ]
}"""


def test_json_feed_maps_items() -> None:
    entries = parse_feed(URL, JSON_FEED, {"content-type": "application/feed+json"})
    assert entries == [
        Entry(
            "1",
            "Minister receives envoy",
            "The minister received the envoy.",
            "https://mod.example/news/1",
            datetime(2025, 11, 26, 6, 30, tzinfo=UTC),
        ),
        Entry(
            "2",
            "",
            "Plain text\nline",
            "https://other.example/a",
            datetime(2025, 11, 26, 10, 0, tzinfo=UTC),
        ),
        Entry(entries[2].key, "No id", "S", None, None),
    ]
    assert entries[2].key.startswith("sha256:")


def test_json_feed_10_and_caps() -> None:
    items = ",".join(f'{{"id": "{i}", "content_text": "t{i}"}}' for i in range(10))
    body = f'{{"version": "https://jsonfeed.org/version/1", "items": [{items}]}}'.encode()
    assert [e.key for e in parse_json_feed(URL, body, max_entries=3)] == ["0", "1", "2"]


def test_json_feed_without_version_is_not_a_feed() -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(URL, b'{"items": []}', {})


LIST_URL = "https://mod.example/news/"


def test_listing_cards_with_selector() -> None:
    body = listing_page(
        [("/news/1", "Minister meets envoy"), ("https://mod.example/news/2#top", "Second")],
        older="?page=2",
        extra='<div class="news-item"><a href="javascript:x()">bad</a></div>'
        '<div class="news-item"><a href="/news/1">duplicate</a></div>',
    )
    page = parse_listing(LIST_URL, body, ".news-item", older_selector="a.next")
    assert page.older == "https://mod.example/news/?page=2"
    assert [(e.key, e.title, e.link) for e in page.entries] == [
        ("https://mod.example/news/1", "Minister meets envoy", "https://mod.example/news/1"),
        ("https://mod.example/news/2", "Second", "https://mod.example/news/2"),
    ]
    first = page.entries[0]
    assert first.published == datetime(2025, 11, 26, 8, 0, tzinfo=UTC)
    assert "Summary of Minister meets envoy." in first.text


def test_listing_anchor_selector_and_base_href() -> None:
    body = listing_page([("a/1", "One"), ("a/2", "Two")]).replace(
        b"<head>", b'<head><base href="https://cdn.mod.example/ar/">'
    )
    page = parse_listing(LIST_URL, body, ".news-item h3 a")
    assert [(e.link, e.title, e.text) for e in page.entries] == [
        ("https://cdn.mod.example/ar/a/1", "One", ""),
        ("https://cdn.mod.example/ar/a/2", "Two", ""),
    ]
    assert page.older is None


META_1256 = b'<meta charset="windows-1256">'


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("وزير الدفاع".encode(), "", "وزير الدفاع"),
        ("وزير الدفاع".encode("cp1256"), "text/html; charset=windows-1256", "وزير الدفاع"),
        # the header lies, the page's own meta tells the truth
        (META_1256 + "وزير".encode("cp1256"), "text/html; charset=utf-8", "وزير"),
        (META_1256 + "وزير".encode("cp1256"), "", "وزير"),
        ("café".encode("latin-1"), "", "café"),
        ("café".encode("latin-1"), "text/html; charset=nonsense", "café"),
    ],
)
def test_decode_html(body: bytes, content_type: str, expected: str) -> None:
    assert decode_html(body, content_type).endswith(expected)


def test_decode_html_salvages_what_no_label_explains() -> None:
    # windows-1256 bytes labelled UTF-8 and nothing else to go by: replaced, never raised
    text = decode_html("وزير الدفاع".encode("cp1256"), "text/html; charset=utf-8")
    assert "\ufffd" in text and len(text) == len("وزير الدفاع")


def test_listing_wrong_charset_is_salvaged() -> None:
    page = listing_page([("/1", "وزير الدفاع يستقبل")]).replace(b"<head>", b"<head>" + META_1256)
    body = page.decode().encode("cp1256", "replace")
    listing = parse_listing(LIST_URL, body, ".news-item", content_type="text/html; charset=utf-8")
    assert listing.entries[0].title == "وزير الدفاع يستقبل"


@pytest.mark.parametrize("selector", ["a[href", "div >> p", ":nth-child(", "a::text-content"])
def test_bad_selectors_are_rejected(selector: str) -> None:
    with pytest.raises(ValueError, match="invalid CSS selector"):
        check_selector(selector)


TG_URL = "https://t.me/s/mod_test"


def test_telegram_messages() -> None:
    body = tg_page(
        "mod_test",
        [
            (101, "Minister received the envoy<br/>of <b>Jordan</b> today."),
            (102, ""),  # a photo without caption
            (103, "x" * 300),
        ],
        when="2025-11-26T10:15:00+00:00",
    )
    page = parse_telegram(TG_URL, body)
    assert [e.key for e in page.entries] == [
        "https://t.me/mod_test/101",
        "https://t.me/mod_test/103",
    ]
    first = page.entries[0]
    assert first.title == "Minister received the envoy"
    assert first.text == "Minister received the envoy\nof Jordan today."
    assert "quoted" not in first.text, "the reply quote is not the message"
    assert first.link == "https://t.me/mod_test/101"
    assert first.published == datetime(2025, 11, 26, 10, 15, tzinfo=UTC)
    assert len(page.entries[1].title) == 141
    assert page.older == "https://t.me/s/mod_test?before=101"


def test_telegram_paging_url_replaces_before() -> None:
    page = parse_telegram(TG_URL + "?before=500", tg_page("mod_test", [(450, "a"), (460, "b")]))
    assert page.older == "https://t.me/s/mod_test?before=450"
    assert parse_telegram(TG_URL, tg_page("mod_test", [(1, "first ever")])).older is None


def test_telegram_rejects_other_pages() -> None:
    with pytest.raises(ParseError, match="not a Telegram"):
        parse_telegram(TG_URL, b"<html><body><p>Login</p></body></html>")
    with pytest.raises(ParseError, match="empty"):
        parse_telegram(TG_URL, b"   ")
    assert parse_telegram(TG_URL, tg_page("mod_test", [])) == Page([], None)


def test_scripts_and_markup_never_reach_text() -> None:
    text = '<script>alert(1)</script><img src=x onerror="evil()">Hello <i>there</i>'
    (entry,) = parse_telegram(TG_URL, tg_page("c", [(5, text)])).entries
    assert entry.text == "Hello there"


# ---------------------------------------------------------------- config and spec helpers


def test_feed_kinds_in_config(config_dir: Path) -> None:
    write(
        config_dir / "monitor.yaml",
        """\
        watchlists: [watchlists/syria.yaml]
        fetch: {allow_private_links: true, per_host: 2, max_pages: 3}
        health: {failing_after: 2h}
        feeds:
          - {name: List, url: "https://mod.example/news/", kind: html, selector: ".item a",
             next_page: "a.next", silent_after: 3d}
          - {name: TG, url: "https://t.me/s/mod_test", kind: telegram, failing_after: 30m}
          - {name: Search, url: "https://news.example/rss?q={query}&hl=en", kind: search}
          - {name: Plain, url: "https://mod.example/feed"}
        """,
    )
    config = load_config(config_dir / "monitor.yaml")
    html, tg, search, plain = config.feeds
    assert (html.kind, html.selector, html.next_page) == (FeedKind.HTML, ".item a", "a.next")
    assert html.silent_after == timedelta(days=3) and html.failing_after == timedelta(hours=2)
    assert tg.kind is FeedKind.TELEGRAM and tg.failing_after == timedelta(minutes=30)
    assert search.query == '"Murhaf Abu Qasra"'
    assert search.source_url == "https://news.example/rss?q=%22Murhaf+Abu+Qasra%22&hl=en"
    assert plain.kind is FeedKind.FEED and plain.silent_after is None
    assert config.fetch.allow_private_links and config.fetch.per_host == 2
    assert config.fetch.max_pages == 3
    assert trusted_host(search) == "news.example"


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        ("{name: L, url: 'https://x.example/', kind: html}", "needs a selector"),
        ("{name: L, url: 'https://x.example/', kind: html, selector: 'a['}", "invalid CSS"),
        ("{name: L, url: 'https://x.example/', selector: 'a'}", "only for kind html"),
        ("{name: L, url: 'https://x.example/', kind: search}", "{query} placeholder"),
        ("{name: L, url: 'https://x.example/?q={query}', query: x}", "only for kind search"),
        ("{name: L, url: 'https://x.example/', kind: rss}", "Input should be"),
        ("{name: L, url: 'https://x.example/', silent_after: soon}", "expected a duration"),
    ],
)
def test_feed_kind_errors(config_dir: Path, feed: str, message: str) -> None:
    write(
        config_dir / "monitor.yaml",
        f"watchlists: [watchlists/syria.yaml]\nfeeds:\n  - {feed}\n",
    )
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(config_dir / "monitor.yaml")
    assert caught.value.line == 3


def test_unknown_fetch_key_is_an_error(config_dir: Path) -> None:
    write(
        config_dir / "monitor.yaml",
        "watchlists: [watchlists/syria.yaml]\nfetch:\n  allow_private: true\n",
    )
    with pytest.raises(ConfigError, match="unknown key") as caught:
        load_config(config_dir / "monitor.yaml")
    assert caught.value.key == "fetch.allow_private" and caught.value.line == 3


def test_fetch_url_and_digest() -> None:
    spec = FeedSpec("F", "https://a.example/feed", timedelta(minutes=5))
    assert fetch_url_of(spec, Seen()) == "https://a.example/feed"
    assert fetch_url_of(spec, Seen(fetch_url="https://b.example/f")) == "https://b.example/f"
    search = FeedSpec(
        "S", "https://n.example/?q={query}", timedelta(minutes=5), kind=FeedKind.SEARCH, query="a b"
    )
    assert fetch_url_of(search, Seen(fetch_url="https://old/")) == "https://n.example/?q=a+b"
    html = FeedSpec("H", spec.url, spec.interval, kind=FeedKind.HTML, selector="a")
    assert body_digest(spec, b"x") != body_digest(html, b"x"), "a new selector re-reads"
    assert body_digest(spec, b"x") == body_digest(spec, b"x")
