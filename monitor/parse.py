"""Pure (CPU only): turn a fetched feed body (RSS, Atom, RDF, JSON Feed) into Entries. No I/O.

This is the only module that looks at feedparser's ``bozo`` flag; a body that is not a
feed leaves as a ParseError, a malformed but readable one as a warning. The body is sniffed
first, whatever the server's Content-Type says: JSON Feed goes to our own mapper (feedparser
6.0.x does not read it), an HTML page is refused as not a feed.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import io
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import feedparser.mixin
import feedparser.urls

from monitor.errors import ParseError
from monitor.models import Entry
from monitor.normalise import printable, squash

log = logging.getLogger(__name__)

MAX_ENTRIES = 500
MAX_TEXT_CHARS = 100_000

# Elements that start a new line of text; everything else is inline.
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt"),
        *("figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header"),
        *("hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th"),
        *("tr", "ul"),
    }
)
_SKIP_TAGS = frozenset({"script", "style", "template"})
# Headers that describe the wire, not the decoded body we hand to feedparser.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_CACHED_URL_CHARS = 2048  # longer arguments are joined afresh, so the cache stays small


def _remembered(join: Any) -> Any:
    """``join`` (a pure function of two URL strings) with its recent results kept."""
    cached = functools.lru_cache(maxsize=1024)(join)

    @functools.wraps(join)
    def call(base: Any, rel: Any = None) -> Any:
        if len(base or "") + len(rel or "") > _CACHED_URL_CHARS:
            return join(base, rel)
        return cached(base, rel)

    return call


# feedparser re-joins the document's base URI with itself at every start tag and resolves
# each link against it, through urllib.parse.urljoin: a quarter of its parse time on
# ordinary feeds, for a handful of distinct answers per feed. Both functions depend on their
# arguments alone, so their results are remembered (tests/test_parse.py compares the output
# with feedparser's own).
if not hasattr(feedparser.mixin.make_safe_absolute_uri, "__wrapped__"):
    feedparser.mixin.make_safe_absolute_uri = _remembered(feedparser.urls.make_safe_absolute_uri)
    feedparser.mixin._urljoin = _remembered(feedparser.urls._urljoin)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Strip tags and unescape entities; one line per paragraph, spaces squashed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (squash(line) for line in "".join(extractor.parts).split("\n"))
    return "\n".join(line for line in lines if line)


# Items are unique on (feed, key), and PostgreSQL's btree refuses an index entry over ~2,700
# bytes: a longer guid or link failed its feed's every poll there. Such keys are hashed;
# every shorter one stays as it was (only an item stored with a longer key, which SQLite
# allowed, is seen anew once).
MAX_KEY_BYTES = 2000


def entry_key(guid: str | None, link: str | None, title: str, text: str) -> str:
    """Stable per-feed key: the guid, else the link, else a hash of title and text; a guid
    or link over MAX_KEY_BYTES is replaced by its hash."""
    key = (guid or "").strip() or (link or "").strip()
    if not key:
        return "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    raw = key.encode()
    return key if len(raw) <= MAX_KEY_BYTES else "sha256:" + hashlib.sha256(raw).hexdigest()


def new_entry(
    guid: str | None, link: str | None, title: str, text: str, published: datetime | None
) -> Entry:
    """The one way parsing makes an Entry: its key (``entry_key``), and no control
    characters in any field (``printable``), whatever the source sent."""
    title, text = printable(title), printable(text)
    guid = printable(guid) if guid else None
    link = printable(link) if link else None
    return Entry(entry_key(guid, link, title, text), title, text, link, published)


class BodyFormat(StrEnum):
    XML = "xml"  # RSS, Atom, RDF, or something feedparser will judge
    JSON = "json"
    HTML = "html"


def sniff(body: bytes, content_type: str = "") -> BodyFormat:
    """What the body really is; servers label feeds text/html and HTML application/xml."""
    head = body[:1024].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith(b"{"):
        return BodyFormat.JSON
    if head.startswith((b"<!doctype html", b"<html")):
        return BodyFormat.HTML
    if not head.startswith(b"<") and "json" in content_type.lower():
        return BodyFormat.JSON
    return BodyFormat.XML


def parse_feed(
    url: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    max_entries: int = MAX_ENTRIES,
) -> list[Entry]:
    """Parse an RSS/Atom/RDF/JSON Feed body fetched from ``url`` into at most
    ``max_entries`` Entries."""
    if not body.strip():
        raise ParseError(url, "empty body")
    content_type = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), "")
    fmt = sniff(body, content_type)
    if fmt is BodyFormat.JSON:
        return parse_json_feed(url, body, max_entries=max_entries)
    if fmt is BodyFormat.HTML:
        raise ParseError(url, "not a feed: an HTML page")
    response_headers = {
        k.lower(): v for k, v in (headers or {}).items() if k.lower() not in _WIRE_HEADERS
    }
    # Without a content-type feedparser flags every feed bozo ("no Content-type specified");
    # application/xml makes it trust the XML declaration for the charset (RFC 7303 §3.2).
    response_headers.setdefault("content-type", "application/xml")
    # content-location is the base for relative links *and* relative guids: always pass the
    # same URL for a feed or its keys change (libraries.md §2).
    response_headers["content-location"] = url
    # A BytesIO, never the bytes or a str: feedparser opens strings as URLs or local paths.
    # No sanitising and no rebasing of URIs inside the HTML: html_to_text keeps only the
    # text (script, style and template contents dropped), and every output escapes it, so
    # both passes (feedparser's pure-Python sgmllib, ~20% of parse time) bought nothing.
    # The item's own link and guid are still resolved against ``url`` (not these flags).
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    raw_entries: list[Any] = list(parsed.get("entries") or [])
    version = parsed.get("version") or ""
    if parsed.get("bozo"):
        error = parsed.get("bozo_exception")
        if not raw_entries and not version:
            raise ParseError(url, f"not a feed: {error}")
        log.warning("feed malformed but readable url=%s error=%s", url, error)
    if not raw_entries:
        if not version:
            raise ParseError(url, "not a feed: no recognised format and no entries")
        return []
    if len(raw_entries) > max_entries:
        log.info("feed truncated url=%s entries=%d kept=%d", url, len(raw_entries), max_entries)
        raw_entries = raw_entries[:max_entries]
    return _convert_all(url, raw_entries)


def parse_json_feed(url: str, body: bytes, *, max_entries: int = MAX_ENTRIES) -> list[Entry]:
    """Map a JSON Feed 1.0/1.1 document (jsonfeed.org) to Entries."""
    try:
        doc = json.loads(body.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as e:
        raise ParseError(url, f"not a feed: invalid JSON ({type(e).__name__})") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/1"):
        raise ParseError(url, "not a feed: JSON without a JSON Feed version")
    raw = doc.get("items")
    if not isinstance(raw, list):
        raise ParseError(url, "not a feed: JSON Feed without items")
    if len(raw) > max_entries:
        log.info("feed truncated url=%s entries=%d kept=%d", url, len(raw), max_entries)
    items = [i for i in raw[:max_entries] if isinstance(i, dict)]
    return [_json_entry(url, item) for item in items]


def _json_entry(url: str, item: dict[str, Any]) -> Entry:
    def text_of(name: str) -> str:
        value = item.get(name)
        return value if isinstance(value, str) else ""

    title = squash(text_of("title"))
    plain = "\n".join(
        line for line in (squash(s) for s in text_of("content_text").split("\n")) if line
    )
    candidates = [plain, html_to_text(text_of("content_html")), squash(text_of("summary"))]
    text = max(candidates, key=len)[:MAX_TEXT_CHARS]
    link = None
    for name in ("url", "external_url"):
        if text_of(name):
            link = _web_link(urljoin(url, text_of(name).strip()))
            if link:
                break
    raw_id = item.get("id")
    guid = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
    published = _iso_date(text_of("date_published")) or _iso_date(text_of("date_modified"))
    return new_entry(guid, link, title, text, published)


def _iso_date(value: str) -> datetime | None:
    # RFC 3339, as JSON Feed requires; Python 3.11's fromisoformat reads "Z" too.
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _convert_all(url: str, raw_entries: list[Any]) -> list[Entry]:
    entries: list[Entry] = []
    last_error: Exception | None = None
    for index, raw in enumerate(raw_entries):
        try:
            entries.append(_to_entry(raw))
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            # One odd entry must not cost the feed its other entries.
            log.warning("entry skipped url=%s index=%d error=%r", url, index, e)
            last_error = e
    if not entries:
        raise ParseError(url, f"no readable entries: {last_error!r}")
    return entries


def _get(raw: Any, name: str) -> Any:
    # dict.get, not FeedParserDict.get: its key aliases emit DeprecationWarnings (e.g.
    # "updated_parsed" falling back to "published_parsed", feedparser issue 310).
    return dict.get(raw, name) if isinstance(raw, dict) else None


def _to_entry(raw: Any) -> Entry:
    title = _detail_text(_get(raw, "title_detail"), _get(raw, "title"))
    candidates = [_detail_text(c, _get(c, "value")) for c in _get(raw, "content") or []]
    candidates.append(_detail_text(_get(raw, "summary_detail"), _get(raw, "summary")))
    text = max(candidates, key=len)[:MAX_TEXT_CHARS]
    link = _web_link(_get(raw, "link"))
    guid = _get(raw, "id")
    return new_entry(guid if isinstance(guid, str) else None, link, title, text, _published(raw))


def _detail_text(detail: Any, value: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    # Atom type="text" arrives unescaped ("A <b> B" is literal text); only HTML is parsed.
    kind = _get(detail, "type") or "text/html"
    if kind == "text/plain":
        return "\n".join(line for line in (squash(s) for s in value.split("\n")) if line)
    return html_to_text(value)


def _web_link(link: Any) -> str | None:
    # feedparser copies an Atom id or permalink guid into link (urn:, tag:, javascript:...);
    # only http(s) is worth storing, fetching or showing to analysts.
    if not isinstance(link, str):
        return None
    link = link.strip()
    try:
        scheme = urlsplit(link).scheme
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    return link if scheme in ("http", "https") else None


def _published(raw: Any) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    for field in ("published_parsed", "updated_parsed"):
        parsed = _get(raw, field)
        if parsed is None:
            continue
        try:
            # timegm, not datetime(*parsed[:6]): it accepts a leap second (tm_sec=60).
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
        except (TypeError, ValueError, OverflowError):
            continue
    return None
