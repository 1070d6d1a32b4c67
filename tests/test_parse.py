"""Table-driven tests for monitor.parse: small hand-written feeds in, Entries out."""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import monitor.parse as parse_module
from monitor.errors import ParseError
from monitor.models import Entry
from monitor.parse import MAX_KEY_BYTES, entry_key, html_to_text, parse_feed

URL = "https://mod.example/feeds/news.xml"
XML_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def _sha(title: str, text: str) -> str:
    return "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()


RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Ministry news</title><link>https://mod.example/</link>
<item>
  <title>Minister receives delegation</title>
  <link>https://mod.example/news/1</link>
  <guid isPermaLink="false">mod-news-1</guid>
  <pubDate>Wed, 26 Nov 2025 09:30:00 +0300</pubDate>
  <description>The minister received a delegation.</description>
</item>
<item>
  <title>Second item</title>
  <link>/news/2</link>
  <guid>https://mod.example/news/2</guid>
  <description>Relative link.</description>
</item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom news</title><id>urn:feed</id>
<updated>2025-11-26T10:00:00Z</updated>
<entry>
  <title type="html">Talks &amp;amp; lunch</title>
  <id>tag:mod.example,2025:7</id>
  <link rel="alternate" href="https://mod.example/a/7"/>
  <updated>2025-11-26T10:00:00+02:00</updated>
  <summary>Short.</summary>
  <content type="html">&lt;p&gt;Longer content wins.&lt;/p&gt;
    &lt;p&gt;Second paragraph.&lt;/p&gt;</content>
</entry>
<entry>
  <title type="text">A &lt;b&gt; is literal</title>
  <id>urn:uuid:2</id>
  <summary type="text">Plain   text</summary>
</entry>
</feed>"""

RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://mod.example/rdf"><title>RDF news</title>
  <link>https://mod.example/</link><description>d</description></channel>
<item rdf:about="https://mod.example/r/1">
  <title>RDF item</title><link>https://mod.example/r/1</link>
  <description>RDF body.</description><dc:date>2025-11-25T08:00:00Z</dc:date>
</item>
</rdf:RDF>"""

# A bare "&" and no closing </channel></rss>: the loose parser still recovers the item.
BOZO = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>
<item><title>Guns & roses</title><link>https://mod.example/b/1</link>
<description>Still readable</description></item>"""

SCRIPTED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid isPermaLink="false">s1</guid><title>Scripted</title>
<description><![CDATA[<p>First   paragraph.</p><script>alert("x")</script>
<p onclick="evil()">Second &amp; <b>last</b>.</p><style>p{color:red}</style>]]></description>
</item></channel></rss>"""

NO_GUID = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>No guid</title><link>https://mod.example/n/9</link><description>Body</description>
</item></channel></rss>"""

NO_GUID_NO_LINK = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Orphan</title><description>Only text</description></item></channel></rss>"""

# Control characters as character references (feedparser keeps them) and in JSON strings
CONTROLS_RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid isPermaLink="false">c&#0;1</guid><title>Abu Qasra&#0; receives&#27;[31m the envoy</title>
<description>Text&#127; here</description><link>https://mod.example/c&#0;/1</link></item>
</channel></rss>"""
CONTROLS_JSON = (
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "j\\u00001",'
    b' "url": "https://mod.example/j/1\\u0000", "title": "Abu\\u0000 Qasra\\u001b[2J\\u009b",'
    b' "content_text": "line one\\u0007\\nline two"}]}'
)
ARABIC_TITLE = "وزير الدفاع يستقبل السفير"
ARABIC_TEXT = "استقبل وزير الدفاع اليوم سفير الأردن"
CP1256 = (
    '<?xml version="1.0" encoding="windows-1256"?><rss version="2.0"><channel><title>ar</title>'
    f'<item><guid isPermaLink="false">ar-1</guid><title>{ARABIC_TITLE}</title>'
    f"<description>{ARABIC_TEXT}</description></item></channel></rss>"
).encode("cp1256")

ENTRY_CASES = [
    pytest.param(
        RSS,
        XML_HEADERS,
        [
            Entry(
                key="mod-news-1",
                title="Minister receives delegation",
                text="The minister received a delegation.",
                link="https://mod.example/news/1",
                published=datetime(2025, 11, 26, 6, 30, tzinfo=UTC),
            ),
            Entry(
                key="https://mod.example/news/2",
                title="Second item",
                text="Relative link.",
                link="https://mod.example/news/2",  # resolved against the feed URL
            ),
        ],
        id="rss20",
    ),
    pytest.param(
        ATOM,
        {"content-type": "application/atom+xml"},
        [
            Entry(
                key="tag:mod.example,2025:7",
                title="Talks & lunch",
                text="Longer content wins.\nSecond paragraph.",
                link="https://mod.example/a/7",
                published=datetime(2025, 11, 26, 8, 0, tzinfo=UTC),
            ),
            # feedparser copies the urn: id into link; only http(s) links are kept.
            Entry(key="urn:uuid:2", title="A <b> is literal", text="Plain text"),
        ],
        id="atom10",
    ),
    pytest.param(
        RDF,
        None,
        [
            Entry(
                key="https://mod.example/r/1",
                title="RDF item",
                text="RDF body.",
                link="https://mod.example/r/1",
                published=datetime(2025, 11, 25, 8, 0, tzinfo=UTC),
            )
        ],
        id="rdf",
    ),
    pytest.param(
        BOZO,
        XML_HEADERS,
        [
            Entry(
                key="https://mod.example/b/1",
                title="Guns & roses",
                text="Still readable",
                link="https://mod.example/b/1",
            )
        ],
        id="bozo-bare-ampersand-unclosed",
    ),
    pytest.param(
        SCRIPTED,
        XML_HEADERS,
        [Entry(key="s1", title="Scripted", text="First paragraph.\nSecond & last.")],
        id="html-script-and-paragraphs",
    ),
    pytest.param(
        NO_GUID,
        XML_HEADERS,
        [
            Entry(
                key="https://mod.example/n/9",
                title="No guid",
                text="Body",
                link="https://mod.example/n/9",
            )
        ],
        id="no-guid-key-is-link",
    ),
    pytest.param(
        NO_GUID_NO_LINK,
        XML_HEADERS,
        [Entry(key=_sha("Orphan", "Only text"), title="Orphan", text="Only text")],
        id="no-guid-no-link-key-is-hash",
    ),
    pytest.param(
        CP1256,
        {"content-type": "application/rss+xml"},
        [Entry(key="ar-1", title=ARABIC_TITLE, text=ARABIC_TEXT)],
        id="windows-1256-declared",
    ),
    pytest.param(
        CP1256,
        None,
        [Entry(key="ar-1", title=ARABIC_TITLE, text=ARABIC_TEXT)],
        id="windows-1256-no-headers",
    ),
    pytest.param(
        CONTROLS_RSS,
        XML_HEADERS,
        [
            Entry(
                key="c1",
                title="Abu Qasra receives[31m the envoy",
                text="Text here",
                link="https://mod.example/c/1",
            )
        ],
        id="control-characters-dropped-rss",
    ),
    pytest.param(
        CONTROLS_JSON,
        {"content-type": "application/feed+json"},
        [
            Entry(
                key="j1",
                title="Abu Qasra[2J",
                text="line one\nline two",
                link="https://mod.example/j/1",
            )
        ],
        id="control-characters-dropped-json",
    ),
    pytest.param(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>empty</title></channel></rss>',
        XML_HEADERS,
        [],
        id="valid-feed-without-items",
    ),
]


@pytest.mark.parametrize(("body", "headers", "expected"), ENTRY_CASES)
def test_parse_feed(body: bytes, headers: dict[str, str] | None, expected: list[Entry]) -> None:
    assert parse_feed(URL, body, headers) == expected


def test_bozo_feed_logs_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="monitor.parse"):
        parse_feed(URL, BOZO, XML_HEADERS)
    assert any("feed malformed but readable" in r.getMessage() for r in caplog.records)


ERROR_CASES = [
    pytest.param(b"", id="empty"),
    pytest.param(b"  \n\t ", id="whitespace-only"),
    pytest.param(
        b"<!DOCTYPE html><html><head><title>Ministry</title></head>"
        b"<body><p>Welcome</p><a href='/news'>News</a></body></html>",
        id="html-page",
    ),
    pytest.param(
        b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        id="well-formed-xhtml-page",
    ),
    pytest.param(b'{"title": "some API", "items": []}', id="json-but-not-json-feed"),
    pytest.param(
        b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', id="json-feed-bad"
    ),
    pytest.param(b'{"version": "https://jsonfeed.org/version/1.1", "items": [', id="json-cut"),
    pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="json-deep-nesting"),
    pytest.param(b"\x00\xff\xfe garbage \x01", id="binary"),
]


@pytest.mark.parametrize("body", ERROR_CASES)
def test_parse_feed_rejects_non_feeds(body: bytes) -> None:
    with pytest.raises(ParseError, match=r"^https://mod\.example/feeds/news\.xml: "):
        parse_feed(URL, body, {"content-type": "text/html"})


def test_body_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    # feedparser.parse(bytes) would open() a body that happens to be a path.
    local = tmp_path / "feed.xml"
    local.write_bytes(RSS)
    with pytest.raises(ParseError):
        parse_feed(URL, str(local).encode(), XML_HEADERS)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>lol</title>
<item><guid isPermaLink="false">l1</guid><title>&lol9;</title>
<description>&lol9;</description></item>
</channel></rss>"""


def test_billion_laughs_is_not_expanded() -> None:
    started = time.monotonic()
    try:
        entries = parse_feed(URL, BILLION_LAUGHS, XML_HEADERS)
    except ParseError:
        entries = []
    # A hang guard, not a benchmark: expansion would take minutes and gigabytes.
    assert time.monotonic() - started < 1.0
    assert all(len(e.title) + len(e.text) < 1000 for e in entries)


def test_caps_entries_and_text() -> None:
    items = "".join(
        f'<item><guid isPermaLink="false">g{i}</guid><title>t{i}</title>'
        f"<description>{'x' * 200}</description></item>"
        for i in range(12)
    )
    body = f'<rss version="2.0"><channel><title>big</title>{items}</channel></rss>'.encode()
    entries = parse_feed(URL, body, XML_HEADERS, max_entries=5)
    assert [e.key for e in entries] == [f"g{i}" for i in range(5)]

    huge = "word " * 30_000
    body = (
        '<rss version="2.0"><channel><title>t</title><item><guid isPermaLink="false">h</guid>'
        f"<title>h</title><description>{huge}</description></item></channel></rss>"
    ).encode()
    (entry,) = parse_feed(URL, body, XML_HEADERS)
    assert len(entry.text) == 100_000


def test_unparseable_date_leaves_published_empty() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><guid isPermaLink="false">d</guid>'
        b"<title>d</title><pubDate>the day after tomorrow</pubDate></item></channel></rss>"
    )
    (entry,) = parse_feed(URL, body, XML_HEADERS)
    assert entry.published is None


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("<p>a</p><p>b</p>", "a\nb", id="paragraphs"),
        pytest.param("one<br>two<br/>three", "one\ntwo\nthree", id="br"),
        pytest.param("  lots \t of\n\n  space ", "lots of\nspace", id="whitespace"),
        pytest.param("x<script>var a = '<p>';</script>y", "xy", id="script-dropped"),
        pytest.param("<style>b{}</style><b>bold</b>", "bold", id="style-dropped"),
        pytest.param("<script>never closed", "", id="unclosed-script"),
        pytest.param(
            "Tom &amp; Jerry &lt;3 &eacute;&#233;&#x645;", "Tom & Jerry <3 ééم", id="ents"
        ),
        pytest.param("a&nbsp;&nbsp;b", "a b", id="nbsp-squashed"),
        pytest.param("&lol9; stays", "&lol9; stays", id="unknown-entity-kept"),
        pytest.param("<ul><li>one</li><li>two</li></ul>", "one\ntwo", id="list"),
        pytest.param("<p>وزير <b>الدفاع</b></p>", "وزير الدفاع", id="arabic-inline"),
        pytest.param("", "", id="empty"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("guid", "link", "title", "text", "expected"),
    [
        pytest.param("g1", "https://x/1", "t", "b", "g1", id="guid-wins"),
        pytest.param("  g1 ", None, "t", "b", "g1", id="guid-stripped"),
        pytest.param(None, "https://x/1", "t", "b", "https://x/1", id="link-fallback"),
        pytest.param("   ", "https://x/1", "t", "b", "https://x/1", id="blank-guid"),
        pytest.param(None, None, "t", "b", _sha("t", "b"), id="hash"),
        pytest.param("", "", "", "", _sha("", ""), id="all-empty"),
        pytest.param("g" * MAX_KEY_BYTES, None, "t", "b", "g" * MAX_KEY_BYTES, id="long-kept"),
        pytest.param(
            "g" * (MAX_KEY_BYTES + 1),
            "https://x/1",
            "t",
            "b",
            "sha256:" + hashlib.sha256(b"g" * (MAX_KEY_BYTES + 1)).hexdigest(),
            id="too-long-hashed",
        ),
        pytest.param(
            None,
            "https://x/" + "م" * MAX_KEY_BYTES,  # two bytes each in UTF-8
            "t",
            "b",
            "sha256:" + hashlib.sha256(("https://x/" + "م" * MAX_KEY_BYTES).encode()).hexdigest(),
            id="too-long-in-bytes-hashed",
        ),
    ],
)
def test_entry_key(
    guid: str | None, link: str | None, title: str, text: str, expected: str
) -> None:
    assert entry_key(guid, link, title, text) == expected


def test_hash_key_separates_title_from_text() -> None:
    assert entry_key(None, None, "ab", "c") != entry_key(None, None, "a", "bc")


def test_one_bad_entry_is_skipped_all_bad_raise(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = parse_module._to_entry

    def flaky(raw: Any) -> Entry:
        if "Second" in raw["title"]:
            raise ValueError("odd entry")
        return real(raw)

    monkeypatch.setattr(parse_module, "_to_entry", flaky)
    with caplog.at_level(logging.WARNING, logger="monitor.parse"):
        assert [e.key for e in parse_feed(URL, RSS, XML_HEADERS)] == ["mod-news-1"]
    assert any("entry skipped" in r.getMessage() for r in caplog.records)

    def broken(raw: Any) -> Entry:
        raise ValueError("odd entry")

    monkeypatch.setattr(parse_module, "_to_entry", broken)
    with pytest.raises(ParseError, match="no readable entries"):
        parse_feed(URL, RSS, XML_HEADERS)


HOSTILE_HTML = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title><![CDATA[Talks <img src=x onerror="alert(1)"> held]]></title>
<link>news/5</link><guid>g/5</guid>
<description><![CDATA[<p>Met <a href="javascript:alert(1)">envoy</a>.</p>
<iframe src="https://evil.example/"></iframe><img src="/x.png" onerror="alert(2)">
<style>p{}</style><script>document.write('<p>injected</p>')</script><p>End.</p>]]></description>
</item></channel></rss>"""


def test_unsanitised_html_still_leaves_only_text_and_rebased_link_and_guid() -> None:
    """feedparser runs without its sanitiser and URI rebasing (issue 7): the text is still
    only text, and the item's own link and relative guid still resolve against the feed."""
    [entry] = parse_feed("https://mod.example/feeds/rss.xml", HOSTILE_HTML, XML_HEADERS)
    assert entry.title == 'Talks <img src=x onerror="alert(1)"> held'  # RSS title: plain text
    assert entry.text == "Met envoy.\nEnd."
    assert entry.link == "https://mod.example/feeds/news/5"
    assert entry.key == "https://mod.example/feeds/g/5"


BASES = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://mod.example/a/">
<title>Bases</title>
<entry xml:base="sub/"><title>One</title><link href="one.html"/><id>tag:mod,1</id>
  <summary>First.</summary></entry>
<entry xml:base="javascript:alert(1)//"><title>Two</title><link href="two.html"/>
  <id>two</id><summary>Second.</summary></entry>
<entry xml:base="https://other.example/LONG/"><title>Three</title>
  <link href="../three.html?q=1#f"/><id>/ids/3</id><summary>Third.</summary></entry>
<entry><title>Four</title><link href="https://mod.example/four"/><id>four</id></entry>
</feed>""".replace(b"LONG", b"x" * 3000)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("https://mod.example/feeds/news.xml", RSS),
        ("https://mod.example/feeds/rss.xml", HOSTILE_HTML),
        ("https://mod.example/feeds/atom.xml", BASES),
    ],
    ids=["rss", "hostile-html", "xml-base"],
)
def test_remembered_url_joins_give_feedparsers_own_answers(
    url: str, body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """monitor.parse keeps feedparser's URL joins (issue 7); the entries are the same as with
    feedparser's functions, a second parse (answers from the cache) included, and long
    arguments go around the cache."""
    import feedparser.mixin
    import feedparser.urls

    remembered = [parse_feed(url, body, XML_HEADERS) for _ in range(2)]
    monkeypatch.setattr(
        feedparser.mixin, "make_safe_absolute_uri", feedparser.urls.make_safe_absolute_uri
    )
    monkeypatch.setattr(feedparser.mixin, "_urljoin", feedparser.urls._urljoin)
    own = parse_feed(url, body, XML_HEADERS)
    assert remembered == [own, own]
    assert own  # the table's feeds all have entries
