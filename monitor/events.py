"""Pure: decide whether a detected meeting is a new event or another report of a known one.

No I/O; the time a report was published (or fetched) is passed in. The rules:

- Identity: same official + same counterpart country or organisation + same kind. When both
  sides are watched officials, the detections from each side are one event (its ``peer``)
  when one sentence names both officials; later reports from either side join it.
- Dates stated by the text: within one day of each other (outlets' time zones, "yesterday").
- A report whose text states no date (dated only by its publication, or not at all) joins an
  event of its pair held up to ``REPORT_LAG`` before it was published; two such reports join
  when published within ``REPORT_LAG`` of each other. A report with no time at all (only in
  corpora: the daemon always knows when it fetched one) was fetched when the corpus was
  collected: it joins an event whose reports have no time either, never one placed in time.
- The other side: a report by the counterpart's watched official joins the event when one
  names the other (evidence, counterpart phrase, or the counterpart resolved to that official).
- Distinct dates further apart stay distinct events; so do different kinds (a plan, a call).

``merge_all`` replays these rules over a corpus exactly as the daemon applies them;
``score_merges`` compares the result with gold meeting keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby

from monitor.models import DateSource, EventKind, Meeting
from monitor.normalise import fold

SAME_DAY = timedelta(days=1)
REPORT_LAG = timedelta(days=3)  # how long after a meeting outlets still report it as news
PLAN_AHEAD = timedelta(days=14)  # how far ahead an undated report may announce a plan
LATE_AFTER = timedelta(days=2)  # first alerted later than this after the meeting: "late"

Pair = tuple[str, str]  # (official id, counterpart country)


def stated(m: Meeting) -> date | None:
    """The meeting's date when its text states one; publication dates are only a hint."""
    return m.date if m.date_source is DateSource.TEXT else None


@dataclass(frozen=True, slots=True)
class Report:
    """One meeting as one item reports it: ``peer`` is the same meeting detected from the
    counterpart's side; ``repeats`` are the item's other undated mentions of the pair."""

    meeting: Meeting
    peer: Meeting | None = None
    repeats: tuple[Meeting, ...] = ()

    @property
    def meetings(self) -> tuple[Meeting, ...]:
        return (self.meeting, *((self.peer,) if self.peer else ()), *self.repeats)

    @property
    def kind(self) -> EventKind:
        return self.meeting.kind

    @property
    def date(self) -> date | None:
        return stated(self.meeting) or (stated(self.peer) if self.peer else None)

    def pairs(self) -> set[Pair]:
        return {(m.official_id, m.country) for m in (self.meeting, self.peer) if m}

    def sides(self) -> dict[str, str]:
        """Country → the watched official on that side."""
        return {m.official_country: m.official_id for m in (self.meeting, self.peer) if m}


def _reverse(a: Meeting, b: Meeting) -> bool:
    da, db = stated(a), stated(b)
    return (
        a.official_country == b.country
        and b.official_country == a.country
        and a.kind == b.kind
        and a.evidence == b.evidence
        and (da is None or db is None or abs(da - db) <= SAME_DAY)
    )


def reports_of(meetings: Sequence[Meeting]) -> list[Report]:
    """Group one item's meetings: both sides of one sentence, and the undated mentions of a
    pair the item also reports with a date (a headline and its body)."""
    dated = {m.pair for m in meetings if stated(m)}
    mains = [m for m in meetings if stated(m) or m.pair not in dated]
    repeats = [m for m in meetings if not stated(m) and m.pair in dated]
    out: list[Report] = []
    used: set[int] = set()
    for i, m in enumerate(mains):
        if i in used:
            continue
        j = next(
            (j for j in range(i + 1, len(mains)) if j not in used and _reverse(m, mains[j])), None
        )
        if j is not None:
            used.add(j)
        mine = tuple(r for r in repeats if r.pair == m.pair)
        out.append(Report(m, mains[j] if j is not None else None, mine))
    return out


@dataclass(frozen=True, slots=True)
class KnownEvent:
    """What the merge rules need to know about a stored event."""

    id: int
    official_id: str
    official_country: str
    country: str
    kind: EventKind
    date: date | None  # stated by some report's text; None when none states it
    anchor: datetime | None  # when its first report was published (or fetched)
    peer: str = ""  # the counterpart's official id when they are watched too
    counterpart: str = ""
    official_name: str = ""
    evidence: str = ""

    def pairs(self) -> set[Pair]:
        own = {(self.official_id, self.country)}
        return own | {(self.peer, self.official_country)} if self.peer else own

    def sides(self) -> dict[str, str]:
        own = {self.official_country: self.official_id}
        return own | {self.country: self.peer} if self.peer else own


def _days(a: date, b: date) -> int:
    return abs((a - b).days)


def _held_near(held: date, reported: datetime, kind: EventKind) -> bool:
    """Could a report made at ``reported`` that states no date be about a meeting held on
    ``held``? News follows meetings by a few days; only plans are announced ahead."""
    ahead = PLAN_AHEAD if kind is EventKind.PLANNED else SAME_DAY
    return reported.date() - REPORT_LAG <= held <= reported.date() + ahead


def _near(report: Report, ev: KnownEvent, seen: datetime | None) -> bool:
    d = report.date
    if d is not None and ev.date is not None:
        return abs(d - ev.date) <= SAME_DAY
    if d is None and ev.date is not None:
        return seen is not None and _held_near(ev.date, seen, ev.kind)
    if d is not None:
        return ev.anchor is not None and _held_near(d, ev.anchor, ev.kind)
    if seen is None or ev.anchor is None:
        # Only in corpora (the daemon always knows when it fetched a report): what nothing
        # places in time was fetched together, when the corpus was collected, as one poll's
        # undated entries are; it joins the like of it, never an event placed in time.
        return seen is None and ev.anchor is None
    return abs(seen - ev.anchor) <= REPORT_LAG


def _conflict(report: Report, ev: KnownEvent) -> bool:
    """A different watched official on one side: another meeting of the same countries."""
    mine = ev.sides()
    return any(mine.get(c, o) != o for c, o in report.sides().items())


_PARTICLES = {"abu", "abou", "bin", "ibn", "bint", "al", "el", "de", "da", "van", "von", "der"}


def surname(name: str) -> str:
    """The part of an official's name outlets repeat: its last word, folded, without al-."""
    words = [w for w in re.findall(r"[\w'’-]+", fold(name)) if w not in _PARTICLES]
    return re.sub(r"^(?:al|el)-", "", words[-1]) if words else ""


def names(text: str, official_name: str) -> bool:
    """Does ``text`` name the official (by surname, any case and accents)?"""
    last = surname(official_name)
    return bool(last) and re.search(rf"(?<!\w){re.escape(last)}(?!\w)", fold(text)) is not None


def _other_side(report: Report, ev: KnownEvent) -> bool:
    """The report is the event's meeting seen from its counterpart: the event's country's
    watched official met the event's official's country, and one of them names the other,
    as its evidence, its counterpart phrase or the watched official its counterpart is."""
    if ev.peer:
        return False  # the other side is known; a direct pair match finds it
    return any(
        m is not None
        and (m.official_country, m.country) == (ev.country, ev.official_country)
        and (
            m.counterpart_id == ev.official_id
            or names(m.evidence, ev.official_name)
            or names(ev.evidence, m.official_name)
            or names(ev.counterpart, m.official_name)
        )
        for m in (report.meeting, report.peer)
    )


def find_same(
    report: Report,
    known: Iterable[KnownEvent],
    seen: datetime | None,
    exclude: Collection[int] = (),
) -> KnownEvent | None:
    """The known event this report is about, or None when it is a new one. ``seen`` is when
    the report was published (else fetched); None only for corpus articles with no date.
    ``exclude``: events this report's item already fed; the matcher kept one report per
    meeting in an item, so what it kept apart (the president, then the defence minister)
    stays apart."""
    best: tuple[tuple[int, int, int], KnownEvent] | None = None
    pairs = report.pairs()
    for ev in known:
        if ev.kind != report.kind or ev.id in exclude or _conflict(report, ev):
            continue
        if not (ev.pairs() & pairs or _other_side(report, ev)) or not _near(report, ev, seen):
            continue
        d = report.date
        gap = _days(d, ev.date) if d is not None and ev.date is not None else REPORT_LAG.days
        rank = (0 if (ev.official_id, ev.country) in pairs else 1, gap, ev.id)
        if best is None or rank < best[0]:
            best = (rank, ev)
    return best[1] if best else None


_CAPITALISED = re.compile(r"(?<!^)\b[A-Z][\w'’-]+")


def specificity(counterpart: str) -> tuple[int, int]:
    """How much a counterpart phrase says: named words (a person, a title), then length."""
    return (min(len(_CAPITALISED.findall(counterpart)), 4), min(len(counterpart.split()), 12))


def view(report: Report, ev: KnownEvent) -> Meeting | None:
    """The report's meeting seen from the event's official, if it reports that side."""
    return next(
        (m for m in (report.meeting, report.peer) if m and m.official_id == ev.official_id), None
    )


def absorb(ev: KnownEvent, report: Report) -> KnownEvent:
    """The event once this report is attached: a stated date and the other side fill in, and
    a counterpart phrase that says more replaces a vaguer one."""
    mine = view(report, ev)
    date_ = ev.date or report.date
    peer = ev.peer or next(
        (
            m.official_id
            for m in (report.meeting, report.peer)
            if m and m.official_id != ev.official_id
        ),
        "",
    )
    counterpart = ev.counterpart
    if mine is not None and specificity(mine.counterpart) > specificity(ev.counterpart):
        counterpart = mine.counterpart
    return replace(ev, date=date_, peer=peer, counterpart=counterpart)


def new_event(event_id: int, report: Report, seen: datetime | None) -> KnownEvent:
    m = report.meeting
    return KnownEvent(
        event_id,
        m.official_id,
        m.official_country,
        m.country,
        m.kind,
        report.date,
        seen,
        report.peer.official_id if report.peer else "",
        m.counterpart,
        m.official_name,
        m.evidence,
    )


def event_key(m: Meeting, anchor: datetime | None = None) -> str:
    """A stable identity for the database's unique constraint."""
    day = stated(m)
    when = day.isoformat() if day else f"~{anchor.date().isoformat()}" if anchor else "undated"
    return f"{m.official_id}|{m.country}|{m.kind}|{when}"


def window(report: Report, seen: datetime) -> tuple[date, date]:
    """Dates (held, or first reported) a store must load to decide with ``find_same``."""
    centre = report.date or seen.date()
    span = REPORT_LAG + PLAN_AHEAD + SAME_DAY
    return centre - span, centre + span


def is_late(held: date | None, now: datetime) -> bool:
    """An alert about a meeting held days ago: a roundup reported it, or a backfill did."""
    return held is not None and held < (now - LATE_AFTER).date()


# ---------------------------------------------------------------- measuring on a corpus

Member = tuple[str, Meeting]  # (article id, meeting)


def merge_all(
    meetings_in_publication_order: Sequence[Member],
    now_for: Callable[[str], datetime | None],
) -> list[list[Member]]:
    """Replay the daemon's merging over a corpus: the groups of (article id, meeting) that
    became one event. ``now_for(article_id)`` is when the daemon would have seen the article
    (its publication time; None when unknown, and then, as a daemon fetching it soon after it
    appeared would, the latest date its text states). Consecutive meetings of one article
    are one item, as one feed entry is in the daemon."""
    events: dict[int, KnownEvent] = {}
    groups: dict[int, list[Member]] = {}
    for article, run in groupby(meetings_in_publication_order, key=lambda x: x[0]):
        meetings = [m for _, m in run]
        seen = now_for(article)
        if seen is None and (days := [d for d in map(stated, meetings) if d]):
            seen = datetime.combine(max(days), time(12), tzinfo=UTC)
        fed: set[int] = set()
        for report in reports_of(meetings):
            same = find_same(report, events.values(), seen, fed)
            if same is None:
                same = new_event(len(events) + 1, report, seen)
                groups[same.id] = []
            fed.add(same.id)
            events[same.id] = absorb(same, report)
            groups[same.id] += [(article, m) for m in report.meetings]
    return list(groups.values())


@dataclass(frozen=True, slots=True)
class MergeReport:
    """``over_merges``: (gold keys, members) of events that hold different real meetings;
    ``splits``: (gold key, the events holding it) of real meetings left as several events.
    Splits count per kind and pair of countries: a plan and the meeting, or the two pairs of
    a trilateral meeting, are separate events by rule."""

    over_merges: list[tuple[tuple[str, ...], list[Member]]]
    splits: list[tuple[str, list[list[Member]]]]
    multi_article_meetings: int  # real meetings detected in more than one article


def score_merges(
    groups: Sequence[Sequence[Member]], gold_key_of: Callable[[str, Meeting], str | None]
) -> MergeReport:
    """Compare merged groups with gold meeting keys (None: no real meeting, ignored)."""
    over: list[tuple[tuple[str, ...], list[Member]]] = []
    where: dict[tuple[str, EventKind, str], dict[int, list[Member]]] = {}
    articles: dict[str, set[str]] = {}
    for i, group in enumerate(groups):
        keyed = [(gold_key_of(a, m), (a, m)) for a, m in group]
        keys = sorted({k for k, _ in keyed if k is not None})
        if len(keys) > 1:
            over.append((tuple(keys), list(group)))
        for k, (a, m) in keyed:
            if k is not None:
                sides = " & ".join(sorted({m.official_country, m.country}))
                where.setdefault((k, m.kind, sides), {}).setdefault(i, []).append((a, m))
                articles.setdefault(k, set()).add(a)
    splits = [
        (f"{k} ({kind}, {sides})", list(by_group.values()))
        for (k, kind, sides), by_group in sorted(where.items())
        if len(by_group) > 1
    ]
    multi = sum(1 for arts in articles.values() if len(arts) > 1)
    return MergeReport(over, splits, multi)
