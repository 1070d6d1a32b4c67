"""Pure (CPU only): HTML listing pages and Telegram channel previews into Entries. No I/O.

Many ministries publish no feed: an admin names the page and a CSS selector for its article
links (``kind: html``). Telegram's public preview (``https://t.me/s/<channel>``) lists the
newest messages oldest first, and ``?before=<id>`` pages back. lxml (with cssselect) parses
both: it is already here for trafilatura, it is fast, and its HTML parser never fetches
anything. Text goes through ``parse.html_to_text``, so scripts, styles and markup are gone.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from monitor.errors import ParseError
from monitor.models import Entry
from monitor.normalise import squash
from monitor.parse import MAX_ENTRIES, MAX_TEXT_CHARS, html_to_text, new_entry

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_TITLE_CHARS = 140


@dataclass(frozen=True, slots=True)
class Page:
    """What one page gave: its entries (page order) and the URL of the next older page."""

    entries: list[Entry]
    older: str | None = None


# lxml and cssselect are imported where pages are parsed (~11 ms): most configs have no
# listing or Telegram source, and every command and every start would pay for them.


def check_selector(selector: str) -> None:
    """Raise ValueError when ``selector`` is not a CSS selector we can run."""
    from cssselect import GenericTranslator, SelectorError

    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as e:
        raise ValueError(f"invalid CSS selector {selector!r}: {e}") from None


def decode_html(body: bytes, content_type: str = "") -> str:
    """Bytes to text: UTF-8 if it is valid UTF-8, else the declared charset, else cp1252."""
    declared = re.search(r"charset=([\w.:-]+)", content_type, re.I)
    meta = _META_CHARSET.search(body[:4096])
    candidates = ["utf-8"]
    for found in (declared.group(1) if declared else None, meta.group(1) if meta else None):
        if found:
            name = found.decode("ascii", "replace") if isinstance(found, bytes) else found
            try:
                candidates.append(codecs.lookup(name).name)
            except LookupError:
                continue
    for encoding in candidates:
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    # A wrong or missing label on broken bytes: salvage what can be read.
    return body.decode(candidates[1] if len(candidates) > 1 else "cp1252", errors="replace")


def _document(url: str, body: bytes, content_type: str) -> Any:
    text = _XML_DECL.sub("", decode_html(body, content_type), count=1)
    if not text.strip():
        raise ParseError(url, "empty body")
    import lxml.html
    from lxml import etree

    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as e:
        raise ParseError(url, f"not an HTML page: {e}") from e


def _base(url: str, doc: Any) -> str:
    for href in doc.xpath("//base/@href")[:1]:
        return urljoin(url, str(href).strip())
    return url


def _web(base: str, href: str | None) -> str | None:
    if not href or not href.strip():
        return None
    try:
        link = urljoin(base, href.strip())
        scheme = urlsplit(link).scheme
    except ValueError:
        return None
    return link.split("#", 1)[0] if scheme in ("http", "https") else None


def _text(el: Any) -> str:
    import lxml.html

    return html_to_text(lxml.html.tostring(el, encoding="unicode"))


def _time(el: Any) -> datetime | None:
    for value in el.xpath(".//time/@datetime")[:1]:
        try:
            when = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    return None


def parse_listing(
    url: str,
    body: bytes,
    selector: str,
    *,
    content_type: str = "",
    older_selector: str | None = None,
    max_entries: int = MAX_ENTRIES,
) -> Page:
    """Each element matching ``selector`` is an article: a link (the element or its first
    ``a[href]``), its text as title, the rest of the element as text when it is a card."""
    doc = _document(url, body, content_type)
    base = _base(url, doc)
    entries: list[Entry] = []
    seen: set[str] = set()
    for el in doc.cssselect(selector):
        anchor = el if el.tag == "a" else next(iter(el.cssselect("a[href]")), None)
        link = _web(base, anchor.get("href") if anchor is not None else None)
        if link is None or link in seen:
            continue
        seen.add(link)
        title = squash(anchor.text_content() if anchor is not None else "") or squash(
            anchor.get("title", "") if anchor is not None else ""
        )
        text = "" if el is anchor else _text(el)[:MAX_TEXT_CHARS]
        if text == title:
            text = ""
        entries.append(new_entry(None, link, title, text, _time(el)))
        if len(entries) >= max_entries:
            break
    older = None
    if older_selector:
        for el in doc.cssselect(older_selector)[:1]:
            anchor = el if el.tag == "a" else next(iter(el.cssselect("a[href]")), None)
            older = _web(base, anchor.get("href") if anchor is not None else None)
    return Page(entries, older)


def parse_telegram(
    url: str, body: bytes, *, content_type: str = "", max_entries: int = MAX_ENTRIES
) -> Page:
    """A t.me/s/<channel> page: one Entry per message with text; the permalink is the key."""
    doc = _document(url, body, content_type)
    messages = doc.cssselect(".tgme_widget_message[data-post]")
    if not messages and not doc.cssselect(".tgme_channel_info, .tgme_page"):
        raise ParseError(url, "not a Telegram channel preview page")
    entries: list[Entry] = []
    ids: list[int] = []
    for msg in messages:
        post = str(msg.get("data-post", "")).strip("/")
        channel, _, number = post.rpartition("/")
        if not channel or not number.isdigit():
            continue
        ids.append(int(number))
        body_el = next(iter(msg.cssselect(".js-message_text")), None)
        text = _text(body_el)[:MAX_TEXT_CHARS] if body_el is not None else ""
        if not text:
            continue  # a photo, sticker or poll without a caption: nothing to match
        permalink = f"https://t.me/{channel}/{number}"
        first_line = text.split("\n", 1)[0]
        title = first_line if len(first_line) <= _TITLE_CHARS else first_line[:_TITLE_CHARS] + "…"
        entries.append(new_entry(permalink, permalink, title, text, _time(msg)))
    older = _before(url, min(ids)) if ids and min(ids) > 1 else None
    return Page(entries[-max_entries:], older)


def _before(url: str, message_id: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "before"]
    query.append(("before", str(message_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))
