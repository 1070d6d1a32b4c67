"""Synthetic defence news for the benchmarks: articles that name no watched official (some
of them hard negatives), reports of a watched official's meetings, a feed's items, and its
RSS body. Deterministic for a given feed and item, so the feed server's processes and the
matcher benchmark build the same texts independently.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from common import CITIES, PLACES, SYSTEMS, WEEKDAYS, SynthOfficial

_FILLER = (
    "The statement did not give further details.",
    "Officials said the programme would be reviewed at the end of the year.",
    "The ministry said the talks took place in a cordial atmosphere.",
    "Analysts expect the budget debate to continue into the spring session.",
    "Both sides agreed to form a joint committee to follow up.",
    "The announcement comes amid growing concern about regional stability.",
    "A spokesperson declined to comment on the cost of the contract.",
    "Local media reported that the delegation would stay for three days.",
    "The agreement is expected to be signed before the end of the quarter.",
    "Training courses for officers will start next month, the statement added.",
)


@dataclass(frozen=True, slots=True)
class Article:
    guid: str
    title: str
    html: str
    published: datetime
    mentions: bool  # names a watched official in a meeting


def _filler(rng: random.Random, n: int) -> str:
    return " ".join(rng.sample(_FILLER, n))


def no_mention_article(rng: random.Random) -> tuple[str, str]:
    """Defence news naming no watched official; some are hard negatives that have a meeting
    phrase, a title and foreign countries (but not a watched name or title in context)."""
    c1, a1 = rng.choice(PLACES)
    c2, a2 = rng.choice(PLACES)
    city, system = rng.choice(CITIES), rng.choice(SYSTEMS)
    day, n = rng.choice(WEEKDAYS), rng.randint(3, 60)
    kinds = [
        (
            f"{a1} army concludes joint exercise near {city}",
            f"<p>Units of the {a1} armed forces concluded a {n}-day joint exercise with "
            f"{a2} troops near {city}, the general command said on {day}.</p><p>The drills "
            "included live-fire training, air defence and logistics. {f}</p>",
        ),
        (
            f"{c1} signs deal for {n} {system}",
            f"<p>{c1} has signed a contract for {n} {system}, with deliveries due to start "
            f"in two years.</p><p>The purchase is part of a modernisation plan. {{f}}</p>",
        ),
        (
            f"{c1} parliament approves higher defence budget",
            f"<p>Lawmakers in {c1} approved a {n} percent increase in military spending on "
            f"{day}.</p><p>The opposition criticised the vote. {{f}}</p>",
        ),
        (
            f"{a1} chief of staff receives {a2} delegation",
            f"<p>The {a1} Chief of Staff received a military delegation from {c2} on {day} "
            f"to discuss training and border security.</p><p>{{f}}</p>",
        ),
        (
            f"{a1} navy frigate docks in {city}",
            f"<p>A frigate of the {a1} navy arrived in {city} for a {n}-day port call.</p><p>The "
            f"crew will hold exercises with the {a2} coast guard. {{f}}</p>",
        ),
        (
            f"{c1} opens cyber defence centre",
            f"<p>The interior minister of {c1} opened a cyber defence centre in {city}, "
            f"staffed by {n * 10} specialists.</p><p>{{f}}</p>",
        ),
        (
            f"{n * 10} {a1} peacekeepers rotate home",
            f"<p>A contingent of {n * 10} {a1} peacekeepers returned home after a year-long "
            f"mission.</p><p>They were replaced by a unit from {c2}. {{f}}</p>",
        ),
        (
            f"{c1} launches military communications satellite",
            f"<p>{c1} launched a military communications satellite on {day}.</p><p>The "
            f"navy commander said the system would link ships across the region. {{f}}</p>",
        ),
    ]
    title, html = rng.choice(kinds)
    return title, html.replace("{f}", _filler(rng, rng.randint(2, 4)))


def mention_article(
    rng: random.Random, official: SynthOfficial, place: tuple[str, str], form: int = 0
) -> tuple[str, str]:
    """A report of ``official`` meeting someone from ``place``, in one of three shapes."""
    name = official.forms[form % len(official.forms)]
    country, adj = place
    city, day = rng.choice(CITIES), rng.choice(WEEKDAYS)
    kinds = [
        (
            f"{name} meets {adj} ambassador",
            f"<p>{official.country}'s Defence Minister {name} met the {adj} Ambassador in "
            f"{city} on {day} to discuss military cooperation and regional security.</p>"
            "<p>{f}</p>",
        ),
        (
            f"Defence minister receives delegation from {country}",
            f"<p>Minister of Defence {name} received a military delegation from {country} "
            f"headed by its deputy chief of staff.</p><p>The two sides reviewed training "
            f"programmes. {{f}}</p>",
        ),
        (
            f"{name} holds phone call with {adj} counterpart",
            f"<p>{name} held a phone call with the {adj} Minister of Defence, the ministry "
            f"said.</p><p>They discussed the situation in the region. {{f}}</p>",
        ),
    ]
    title, html = rng.choice(kinds)
    return title, html.replace("{f}", _filler(rng, rng.randint(2, 3)))


# A fixed pool of real-world-like meetings: many feeds report the same few meetings, so most
# mentions attach to a known event as further sources, as in the news.
MEETING_POOL = 30
BASE_TIME = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def feed_article(
    feed: int, j: int, officials: Sequence[SynthOfficial], mention_every: int = 10
) -> Article:
    """Item ``j`` of feed ``feed``: deterministic; every ``mention_every``-th names a meeting."""
    rng = random.Random(feed * 1_000_003 + j)
    published = BASE_TIME + timedelta(minutes=37 * j + feed % 37)
    guid = f"https://news{feed % 97}.example.org/{feed}/article-{j}"
    mentions = bool(officials) and mention_every > 0 and (feed + j) % mention_every == 0
    if mentions:
        k = rng.randrange(MEETING_POOL)
        official = officials[k % len(officials)]
        title, html = mention_article(rng, official, PLACES[k % len(PLACES)], form=j)
    else:
        title, html = no_mention_article(rng)
    return Article(guid, title, html, published, mentions)


def rss_document(feed: int, articles: Sequence[Article]) -> bytes:
    items = "".join(
        f"<item><title>{escape(a.title)}</title><link>{a.guid}</link>"
        f'<guid isPermaLink="true">{a.guid}</guid>'
        f"<pubDate>{format_datetime(a.published, usegmt=True)}</pubDate>"
        f"<category>Defence</category>"
        f"<description>{escape(a.html)}</description></item>\n"
        for a in articles
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>Defence wire {feed}</title><link>https://news{feed % 97}.example.org/</link>\n"
        f"<description>Synthetic defence news, feed {feed}</description><language>en</language>\n"
        f"{items}</channel>\n</rss>\n"
    ).encode()
