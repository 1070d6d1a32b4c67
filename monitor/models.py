"""Pure: the value types that flow between stages. No I/O.

ORM rows stay inside ``store``; everything else works on these frozen dataclasses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum


class EventKind(StrEnum):
    MEETING = "meeting"  # in person
    CALL = "call"  # phone or video
    PLANNED = "planned"  # announced for the future
    VISIT = "visit"  # a trip abroad with no identifiable meeting


class DateSource(StrEnum):
    """How an event's date was resolved, shown to analysts."""

    TEXT = "text"  # an explicit date or "today"/"yesterday" in the sentence
    PUBLISHED = "published"  # no time expression: the item's publication date
    UNKNOWN = "unknown"


# What a subscriber gets unless its `kinds` filter says otherwise: plans are not alerts.
DEFAULT_KINDS: tuple[EventKind, ...] = (EventKind.MEETING, EventKind.CALL, EventKind.VISIT)


class Backfill(StrEnum):
    """What the first successful poll of a feed does with the items already in it."""

    RECORD = "record"  # store them and their meetings, alert nobody (no flood of old news)
    ALERT = "alert"


class DeliveryMode(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class Batch(StrEnum):
    """Deliveries of one subscriber channel that go out together as one message."""

    DIGEST = "digest"
    HELD = "held"  # held back by quiet hours


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after max attempts


@dataclass(frozen=True, slots=True)
class Official:
    id: str
    name: str
    country: str
    role: str = ""
    aliases: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    watchlist: str = ""

    def holds_office(self, on: date | None) -> bool:
        """True when the term covers ``on`` (an unknown date is given the benefit)."""
        if on is None:
            return True
        if self.since is not None and on < self.since:
            return False
        return not (self.until is not None and on > self.until)


@dataclass(frozen=True, slots=True)
class Watchlist:
    name: str
    officials: tuple[Official, ...]
    countries: tuple[str, ...] | None  # canonical place names; None means all


class FeedKind(StrEnum):
    """What a feed URL serves (monitor.yaml ``kind``)."""

    FEED = "feed"  # RSS, Atom, RDF or JSON Feed, sniffed from the body
    HTML = "html"  # a listing page; ``selector`` picks the article links
    TELEGRAM = "telegram"  # a public channel preview, https://t.me/s/<channel>
    SEARCH = "search"  # a news-search feed; {query} is made from the watchlist officials


@dataclass(frozen=True, slots=True)
class FeedSpec:
    name: str
    url: str  # as typed in monitor.yaml: the feed's identity (a search feed's URL template)
    interval: timedelta
    lang: str | None = None
    kind: FeedKind = FeedKind.FEED
    selector: str | None = None  # kind html: CSS selector for article links
    next_page: str | None = None  # kind html: CSS selector for the link to the older page
    query: str | None = None  # kind search: the query put into ``url``'s {query}
    failing_after: timedelta | None = None  # admin alert when failing longer than this
    silent_after: timedelta | None = None  # admin alert when no new item for longer than this
    backfill: Backfill = Backfill.RECORD  # first poll: alert on the backlog, or only record it

    @property
    def source_url(self) -> str:
        """The URL to fetch: ``url``, with a search feed's {query} filled in."""
        if self.kind is FeedKind.SEARCH and self.query is not None:
            from urllib.parse import quote_plus

            return self.url.replace("{query}", quote_plus(self.query))
        return self.url


@dataclass(frozen=True, slots=True)
class SubscriberSpec:
    name: str
    notify: tuple[str, ...]  # apprise URLs with ${ENV} already substituted
    watchlists: tuple[str, ...] = ()
    officials: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    kinds: tuple[EventKind, ...] = DEFAULT_KINDS
    mode: DeliveryMode = DeliveryMode.IMMEDIATE
    digest_at: str = "08:00"  # "HH:MM" or cron (minute hour day month weekday)
    timezone: str = "UTC"  # of digest_at and quiet_hours
    quiet_hours: tuple[time, time] | None = None  # (start, end); may wrap midnight

    def wants(
        self, *, watchlist: str, official_id: str, country: str, kind: EventKind | None = None
    ) -> bool:
        """Empty filters accept everything; each given filter must accept."""
        return (
            (not self.watchlists or watchlist in self.watchlists)
            and (not self.officials or official_id in self.officials)
            and (not self.countries or country in self.countries)
            and (kind is None or kind in self.kinds)
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, parsed and flattened to plain text."""

    key: str  # stable per feed: guid, else link, else hash of title+text
    title: str
    text: str
    link: str | None = None
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    role: str  # official | trigger | counterpart


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting found in one item: who, whom, which country, when, and why we think so."""

    official_id: str
    official_name: str
    official_country: str
    watchlist: str
    country: str  # canonical counterpart country or organisation
    kind: EventKind
    date: date | None
    date_source: DateSource
    evidence: str  # the sentence, in the original language
    trigger: str
    counterpart: str = ""  # the counterpart's words as written, e.g. "Jordanian Ambassador"
    spans: tuple[Span, ...] = ()
    counterpart_id: str = ""  # the watched official on the other side, when there is one
    # the office the counterpart's words name ("defence_minister"), "" when they name none
    counterpart_office: str = ""

    @property
    def pair(self) -> tuple[str, str, EventKind]:
        return (self.official_id, self.country, self.kind)


@dataclass(frozen=True, slots=True)
class Source:
    feed_name: str
    title: str
    link: str | None
    published: datetime | None


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event, as rendering and the CLI see it."""

    id: int
    meeting: Meeting
    first_seen: datetime
    sources: tuple[Source, ...] = field(default=())
    late: bool = False  # alerted days after it was held (a roundup reported it first)
    peer: str = ""  # the counterpart, when a watched official reports the meeting too


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    html: str
    slack: str = ""  # Slack mrkdwn with & < > escaped; empty: send ``text`` escaped


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    retryable: bool = True
    detail: str = ""


CONSOLE = "console://"


def channel_id(url: str) -> str:
    """A short stable name for a channel URL that reveals none of its secrets."""
    if url == CONSOLE:
        return "console"
    return "ch-" + hashlib.sha256(url.encode()).hexdigest()[:16]
