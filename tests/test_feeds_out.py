"""The pure builders behind the web interface: timeline layout, Atom/JSON/iCalendar/CSV text."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import feedparser
import icalendar
import pytest

from monitor.feeds_out import Links, atom_feed, events_calendar, events_csv, events_json
from monitor.models import DateSource, Event, EventKind, Meeting, Source, Span
from monitor.timeline import COL_W, PER_LINE, STEP, build_timeline, monday
from tests import test_layers

NOW = datetime(2025, 12, 1, 9, tzinfo=UTC)
LINKS = Links("http://127.0.0.1:8787", "http://127.0.0.1:8787/events.atom")


def event(
    event_id: int,
    country: str = "Jordan",
    day: date | None = date(2025, 11, 24),
    kind: EventKind = EventKind.MEETING,
    evidence: str = "Abu Qasra met the Jordanian ambassador.",
    seen: datetime = NOW,
) -> Event:
    meeting = Meeting(
        official_id="abu-qasra",
        official_name="Murhaf Abu Qasra",
        official_country="Syria",
        watchlist="syria",
        country=country,
        kind=kind,
        date=day,
        date_source=DateSource.TEXT if day else DateSource.UNKNOWN,
        evidence=evidence,
        trigger="met",
        counterpart=f"{country} envoy",
        spans=(Span(0, 9, "official"),),
    )
    source = Source("Wire", "A title", "https://news.example.org/1", seen)
    return Event(event_id, meeting, seen, (source,))


@pytest.mark.parametrize("module", ["feeds_out", "timeline"])
def test_builders_are_pure(module: str) -> None:
    test_layers.test_pure_module_has_no_io(module)


# ---------------------------------------------------------------- timeline


def test_empty_timeline() -> None:
    t = build_timeline([])
    assert t.marks == () and t.rows == () and t.weeks == () and t.width > 0


def test_one_mark_per_event_in_its_country_row_and_week_column() -> None:
    events = [
        event(1, "Jordan", date(2025, 11, 3)),
        event(2, "Jordan", date(2025, 11, 24)),
        event(3, "Russia", date(2025, 11, 26)),
        event(4, "Russia", date(2025, 11, 27), EventKind.CALL),
        event(5, "Pakistan", date(2025, 11, 12)),
    ]
    t = build_timeline(events)
    assert [w.start for w in t.weeks] == [date(2025, 11, 3) + timedelta(weeks=i) for i in range(4)]
    assert all(w.start.weekday() == 0 for w in t.weeks)
    assert [(r.country, r.count) for r in t.rows] == [("Jordan", 2), ("Russia", 2), ("Pakistan", 1)]
    assert sorted(m.event_id for m in t.marks) == [1, 2, 3, 4, 5]
    row_of = {r.country: r for r in t.rows}
    for m in t.marks:
        e = events[m.event_id - 1]
        row = row_of[e.meeting.country]
        assert row.y <= m.y < row.y + row.height
        week = next(w for w in t.weeks if w.start == monday(e.meeting.date or NOW.date()))
        assert week.x <= m.x < week.x + COL_W
        assert m.kind is e.meeting.kind and m.dated
    same_cell = [m for m in t.marks if m.event_id in (3, 4)]
    assert same_cell[0].y == same_cell[1].y and same_cell[1].x - same_cell[0].x == STEP


def test_a_busy_week_makes_its_row_taller() -> None:
    busy = [event(i, "Jordan", date(2025, 11, 24)) for i in range(1, PER_LINE + 2)]
    t = build_timeline([*busy, event(99, "Russia", date(2025, 11, 24))])
    jordan, russia = t.rows
    assert jordan.height == russia.height + STEP
    assert len({(m.x, m.y) for m in t.marks}) == len(t.marks), "no two marks on one spot"


def test_undated_events_sit_on_the_day_first_seen() -> None:
    t = build_timeline([event(1, day=None, seen=datetime(2025, 11, 20, tzinfo=UTC))])
    (mark,) = t.marks
    assert mark.day == date(2025, 11, 20) and not mark.dated


def test_a_long_range_keeps_the_latest_weeks() -> None:
    old = event(1, "Jordan", date(2020, 1, 1))
    new = event(2, "Jordan", date(2025, 11, 24))
    t = build_timeline([old, new], max_weeks=10)
    assert len(t.weeks) == 10 and t.hidden == 1
    assert [m.event_id for m in t.marks] == [2]


# ---------------------------------------------------------------- documents


def test_atom_drops_characters_xml_cannot_carry() -> None:
    nasty = event(1, evidence="Abu Qasra met\x00 the\x0b envoy \ud800 <b>&amp;")
    parsed = feedparser.parse(atom_feed([nasty], LINKS, title="t", now=NOW).encode())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries[0].summary == "Abu Qasra met the envoy  <b>&amp;"


def test_empty_atom_feed_is_valid_and_dated_now() -> None:
    parsed = feedparser.parse(atom_feed([], LINKS, title="t", now=NOW).encode())
    assert not parsed.bozo and parsed.entries == []
    assert parsed.feed.updated_parsed[:4] == (2025, 12, 1, 9)


def test_calendar_leaves_out_undated_and_marks_plans_tentative() -> None:
    events = [event(1), event(2, day=None), event(3, kind=EventKind.PLANNED)]
    cal = icalendar.Calendar.from_ical(events_calendar(events, LINKS, name="m"))
    vevents = cal.walk("VEVENT")
    assert [str(v["uid"]) for v in vevents] == ["event-1@monitor", "event-3@monitor"]
    assert [str(v["status"]) for v in vevents] == ["CONFIRMED", "TENTATIVE"]


def test_json_page() -> None:
    doc = json.loads(
        events_json([event(7)], LINKS, page=2, limit=1, total=3, next_url="n", prev_url="p")
    )
    assert (doc["page"], doc["limit"], doc["total"], doc["next"], doc["prev"]) == (
        2,
        1,
        3,
        "n",
        "p",
    )
    (e,) = doc["events"]
    assert e["url"] == "http://127.0.0.1:8787/events/7" and e["peer"] is None
    assert e["spans"] == [{"start": 0, "end": 9, "role": "official"}]


@pytest.mark.parametrize(
    ("evidence", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 talks", "'+1 talks"),
        ("-1 talks", "'-1 talks"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ('Abu Qasra met, "quoted"\nnext line', 'Abu Qasra met, "quoted"\nnext line'),
    ],
)
def test_csv_quotes_and_defuses_formulas(evidence: str, cell: str) -> None:
    text = events_csv([event(1, evidence=evidence)])
    assert text.endswith("\r\n")
    (row,) = list(csv.DictReader(io.StringIO(text, newline="")))
    assert row["evidence"] == cell
    assert row["id"] == "1" and row["date"] == "2025-11-24" and row["sources"] == "1"
