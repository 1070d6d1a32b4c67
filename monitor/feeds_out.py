"""Pure: events as Atom, JSON, iCalendar and CSV documents (issue 8). No I/O.

Every builder takes values (events, the URLs to link to, the time to stamp) and returns the
document as a string. Text from feeds goes through the XML, JSON, iCalendar and CSV writers'
own escaping, never into markup by hand; characters XML cannot carry are dropped.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar
from icalendar import Event as VEvent

from monitor import __version__
from monitor.models import Event, EventKind
from monitor.render import event_subject, render_html

ATOM = "http://www.w3.org/2005/Atom"
JSON_VERSION = 1
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Links:
    """Where the documents point: the web interface's base URL and this document's own URL."""

    base: str  # "http://127.0.0.1:8787", no trailing slash
    self_url: str  # without credentials

    def event(self, event_id: int) -> str:
        return f"{self.base}/events/{event_id}"


def is_web_link(url: str | None) -> bool:
    """Only http(s) links from feeds become links (never javascript: or data:)."""
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    # plain names under the root's xmlns: ElementTree's namespace options would either touch
    # its global prefix registry or refuse the (correctly) unqualified attributes
    el = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _xml_text(text)
    return el


def atom_feed(events: Sequence[Event], links: Links, *, title: str, now: datetime) -> str:
    """An Atom 1.0 feed (RFC 4287): one entry per event, its sources as related links."""
    feed = ET.Element("feed", xmlns=ATOM)
    _sub(feed, "id", links.self_url)
    _sub(feed, "title", title)
    _sub(feed, "updated", _iso(max((e.first_seen for e in events), default=now)))
    _sub(feed, "link", rel="self", href=links.self_url, type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=f"{links.base}/", type="text/html")
    author = _sub(feed, "author")
    _sub(author, "name", "monitor")
    _sub(feed, "generator", "monitor", version=__version__)
    for e in events:
        m = e.meeting
        entry = _sub(feed, "entry")
        _sub(entry, "id", links.event(e.id))
        _sub(entry, "title", event_subject(e), type="text")
        _sub(entry, "published", _iso(e.first_seen))
        _sub(entry, "updated", _iso(e.first_seen))
        _sub(entry, "link", rel="alternate", href=links.event(e.id), type="text/html")
        for s in e.sources:
            if s.link and is_web_link(s.link):
                _sub(entry, "link", rel="related", href=s.link, title=s.title)
        _sub(entry, "category", term=m.country, label=m.country, scheme=f"{links.base}/country")
        _sub(entry, "category", term=str(m.kind), scheme=f"{links.base}/kind")
        _sub(entry, "category", term=m.official_id, label=m.official_name, scheme="official")
        _sub(entry, "summary", m.evidence, type="text")
        _sub(entry, "content", render_html(e), type="html")
    body = ET.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def event_json(e: Event, links: Links) -> dict[str, Any]:
    """One event as the JSON schema in docs/events.schema.json describes it."""
    m = e.meeting
    return {
        "id": e.id,
        "url": links.event(e.id),
        "subject": event_subject(e),
        "official": {"id": m.official_id, "name": m.official_name, "country": m.official_country},
        "watchlist": m.watchlist,
        "country": m.country,
        "counterpart": m.counterpart,
        "peer": e.peer or None,
        "kind": str(m.kind),
        "date": m.date.isoformat() if m.date else None,
        "date_source": str(m.date_source),
        "late": e.late,
        "first_seen": _iso(e.first_seen),
        "evidence": m.evidence,
        "trigger": m.trigger,
        "spans": [{"start": s.start, "end": s.end, "role": s.role} for s in m.spans],
        "sources": [
            {
                "feed": s.feed_name,
                "title": s.title,
                "link": s.link,
                "published": _iso(s.published) if s.published else None,
            }
            for s in e.sources
        ],
    }


def events_json(
    events: Sequence[Event],
    links: Links,
    *,
    page: int,
    limit: int,
    total: int,
    next_url: str | None,
    prev_url: str | None,
) -> str:
    """One page of events with the links to the pages beside it."""
    doc = {
        "version": JSON_VERSION,
        "page": page,
        "limit": limit,
        "total": total,
        "next": next_url,
        "prev": prev_url,
        "events": [event_json(e, links) for e in events],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1)


def events_calendar(events: Sequence[Event], links: Links, *, name: str) -> str:
    """iCalendar (RFC 5545): one all-day VEVENT per event with a date; undated ones are left out."""
    cal = Calendar()
    cal.add("prodid", "-//monitor//defence-ministry meetings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for e in events:
        m = e.meeting
        if m.date is None:
            continue
        ve = VEvent()
        ve.add("uid", f"event-{e.id}@monitor")
        ve.add("dtstamp", e.first_seen)
        ve.add("dtstart", m.date)
        ve.add("dtend", m.date + timedelta(days=1))
        ve.add("summary", event_subject(e))
        sources = [f"- {s.feed_name}: {s.title} {s.link or ''}".rstrip() for s in e.sources]
        ve.add("description", "\n".join([m.evidence, "", "Sources:", *sources]))
        ve.add("url", links.event(e.id))
        ve.add("categories", [str(m.kind), m.country])
        ve.add("status", "TENTATIVE" if m.kind is EventKind.PLANNED else "CONFIRMED")
        ve.add("transp", "TRANSPARENT")
        cal.add_component(ve)
    return bytes(cal.to_ical()).decode("utf-8")


CSV_COLUMNS = (
    "id",
    "date",
    "date_source",
    "kind",
    "official_id",
    "official",
    "official_country",
    "country",
    "counterpart",
    "peer",
    "watchlist",
    "late",
    "first_seen",
    "sources",
    "first_link",
    "subject",
    "evidence",
)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # a cell starting with = + - @ is a formula to spreadsheets (CSV injection): quote it
    return "'" + text if text.startswith(_FORMULA) else text


def events_csv(events: Sequence[Event]) -> str:
    """One row per event under a header row (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in events:
        m = e.meeting
        link = next((s.link for s in e.sources if s.link), None)
        row = (
            e.id,
            m.date.isoformat() if m.date else "",
            m.date_source,
            m.kind,
            m.official_id,
            m.official_name,
            m.official_country,
            m.country,
            m.counterpart,
            e.peer,
            m.watchlist,
            "yes" if e.late else "no",
            _iso(e.first_seen),
            len(e.sources),
            link,
            event_subject(e),
            m.evidence,
        )
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
