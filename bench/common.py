"""Shared pieces of the benchmarks: synthetic officials and articles, RSS bodies, watchlists,
and generated monitor configs (measuring a child process: ``measure``).

Everything here is deterministic for a given seed, so the feed server (in its own processes),
the harness and the matcher benchmark build the same names and texts independently.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# ---------------------------------------------------------------- places

# (country, adjective): every one resolves in monitor's gazetteer, adjectives included.
PLACES: tuple[tuple[str, str], ...] = (
    ("Jordan", "Jordanian"),
    ("Pakistan", "Pakistani"),
    ("Turkey", "Turkish"),
    ("Russia", "Russian"),
    ("Qatar", "Qatari"),
    ("Saudi Arabia", "Saudi"),
    ("Italy", "Italian"),
    ("France", "French"),
    ("Germany", "German"),
    ("Japan", "Japanese"),
    ("India", "Indian"),
    ("Brazil", "Brazilian"),
    ("Egypt", "Egyptian"),
    ("Iraq", "Iraqi"),
    ("Lebanon", "Lebanese"),
    ("Greece", "Greek"),
    ("Poland", "Polish"),
    ("Spain", "Spanish"),
    ("Kenya", "Kenyan"),
    ("Indonesia", "Indonesian"),
    ("Norway", "Norwegian"),
    ("Algeria", "Algerian"),
    ("Morocco", "Moroccan"),
    ("Tunisia", "Tunisian"),
    ("Oman", "Omani"),
    ("Kuwait", "Kuwaiti"),
    ("Azerbaijan", "Azerbaijani"),
    ("Malaysia", "Malaysian"),
    ("Chile", "Chilean"),
    ("Canada", "Canadian"),
    ("Romania", "Romanian"),
    ("Hungary", "Hungarian"),
    ("Netherlands", "Dutch"),
    ("Sweden", "Swedish"),
    ("Portugal", "Portuguese"),
    ("South Korea", "South Korean"),
)
# Home countries of the synthetic watched officials.
HOMES: tuple[str, ...] = ("Syria", "Egypt", "Iraq", "Lebanon", "Algeria", "Libya", "Sudan", "Yemen")
CITIES = (
    "Damascus",
    "Cairo",
    "Amman",
    "Ankara",
    "Doha",
    "Riyadh",
    "Rome",
    "Paris",
    "Berlin",
    "Tokyo",
    "Islamabad",
    "Baghdad",
    "Beirut",
    "Athens",
    "Warsaw",
    "Madrid",
    "Nairobi",
    "Jakarta",
    "Oslo",
    "Algiers",
)
SYSTEMS = (
    "armoured personnel carriers",
    "air-defence batteries",
    "coastal patrol vessels",
    "transport helicopters",
    "reconnaissance drones",
    "self-propelled howitzers",
    "trainer aircraft",
    "counter-drone systems",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# ---------------------------------------------------------------- officials

_FIRST = [
    "Karim",
    "Omar",
    "Tariq",
    "Yusuf",
    "Samir",
    "Walid",
    "Farid",
    "Hassan",
    "Idris",
    "Nabil",
    "Rami",
    "Ziad",
    "Bassam",
    "Fadi",
    "Adnan",
    "Majid",
    "Khalil",
    "Hisham",
    "Marwan",
    "Osama",
    "Rashid",
    "Salim",
    "Jamal",
    "Anwar",
    "Fawzi",
    "Ghassan",
    "Haitham",
    "Imad",
    "Lutfi",
    "Mounir",
    "Naji",
    "Qasim",
    "Riad",
    "Sami",
    "Talal",
    "Wael",
    "Yasser",
    "Zuhair",
    "Mahmoud",
    "Mustafa",
]
_MIDDLE = [
    "Abdel",
    "Ali",
    "Nour",
    "Hadi",
    "Said",
    "Amin",
    "Aziz",
    "Karim",
    "Latif",
    "Hamid",
    "Rahim",
    "Salah",
    "Munir",
    "Fathi",
    "Jalil",
    "Badr",
    "Kamal",
    "Zaki",
    "Fuad",
    "Hakim",
]
_LAST = [
    "Haddad",
    "Mansour",
    "Khoury",
    "Nasser",
    "Saleh",
    "Darwish",
    "Rahman",
    "Qasimi",
    "Tamimi",
    "Jaber",
    "Halabi",
    "Shami",
    "Masri",
    "Baghdadi",
    "Hamdan",
    "Zoubi",
    "Kanaan",
    "Saadeh",
    "Barakat",
    "Obeidi",
    "Hariri",
    "Shaker",
    "Zayed",
    "Farouk",
    "Sabbagh",
    "Najjar",
    "Hijazi",
    "Ayoub",
    "Taha",
    "Suleiman",
    "Khatib",
    "Azzam",
    "Dabbagh",
    "Fakhoury",
    "Ghanem",
    "Habib",
    "Issa",
    "Jarrah",
    "Kassab",
    "Lahham",
]
TITLES = (
    "Defence Minister",
    "Defense Minister",
    "Minister of Defence",
    "Minister of Defense",
    "Chief of the General Staff",
)


@dataclass(frozen=True, slots=True)
class SynthOfficial:
    id: str
    name: str
    aliases: tuple[str, ...]
    country: str
    titles: tuple[str, ...] = TITLES

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _translit(word: str) -> str:
    """A plausible second romanisation: Yusuf → Youssef-like variants."""
    for a, b in (("ou", "u"), ("u", "ou"), ("q", "k"), ("a", "e"), ("i", "ee")):
        if a in word[1:]:
            return word[0] + word[1:].replace(a, b, 1)
    return word + "h"


def make_officials(count: int, forms_per_official: int = 5, seed: int = 7) -> list[SynthOfficial]:
    """``count`` officials with distinct three-word names and ``forms_per_official`` - 1
    aliases each (short form, transliteration, with "al-"), all distinct across officials."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[SynthOfficial] = []
    while len(out) < count:
        first, middle, last = rng.choice(_FIRST), rng.choice(_MIDDLE), rng.choice(_LAST)
        name = f"{first} {middle} {last}"
        candidates = [
            f"{first} {last}",
            f"{_translit(first)} {middle} {_translit(last)}",
            f"{first} {middle} al-{last}",
            f"{_translit(first)} {_translit(last)}",
            f"{first} {middle[0]}. {last}",
            f"{first} al-{last}",
            f"{_translit(first)} {middle} al-{_translit(last)}",
        ]
        forms = [name, *candidates][:forms_per_official]
        if any(f.lower() in seen for f in forms) or len({f.lower() for f in forms}) < len(forms):
            continue
        seen.update(f.lower() for f in forms)
        out.append(
            SynthOfficial(
                id=f"o{len(out):05d}",
                name=name,
                aliases=tuple(forms[1:]),
                country=HOMES[len(out) % len(HOMES)],
            )
        )
    return out


def watchlist_yaml(officials: Sequence[SynthOfficial], countries: Sequence[str] | None) -> str:
    """A watchlist file in monitor's schema (JSON is valid YAML and needs no dependency)."""
    lines = ["officials:"]
    for o in officials:
        lines.append(f"  - id: {o.id}")
        lines.append(f"    name: {json.dumps(o.name)}")
        lines.append(f"    aliases: {json.dumps(list(o.aliases))}")
        lines.append("    role: Minister of Defence")
        lines.append(f"    country: {json.dumps(o.country)}")
        lines.append(f"    titles: {json.dumps(list(o.titles))}")
    lines.append("countries: " + ("all" if countries is None else json.dumps(list(countries))))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- articles

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


# ---------------------------------------------------------------- monitor configs


def write_monitor_config(
    directory: Path,
    *,
    feed_urls: Sequence[str],
    database: Path | str,
    officials: Sequence[SynthOfficial],
    interval: str = "10m",
    tick: str | None = None,
    concurrency: int = 50,
    subscribers: Sequence[dict[str, Any]] = (),
    delivery_tick: str | None = None,
    delivery_min_interval: str | None = None,
) -> Path:
    """monitor.yaml + watchlists/bench.yaml in ``directory``; returns the monitor.yaml path.
    ``database``: a SQLite file, or a database URL."""
    (directory / "watchlists").mkdir(parents=True, exist_ok=True)
    (directory / "watchlists" / "bench.yaml").write_text(
        watchlist_yaml(officials, None), encoding="utf-8"
    )
    poll: dict[str, Any] = {"interval": interval, "concurrency": concurrency, "timeout": "30s"}
    if tick:
        poll["tick"] = tick
    doc: dict[str, Any] = {
        "database": database if isinstance(database, str) else f"sqlite:///{database}",
        "watchlists": ["watchlists/bench.yaml"],
        "poll": poll,
        # every bench feed is on one host:port; they stand for N hosts, so the per-host
        # politeness limit (default 4) must not hold monitor below the floor's concurrency
        "fetch": {"per_host": min(concurrency, 100)},
        "feeds": [{"name": f"Feed {i}", "url": u} for i, u in enumerate(feed_urls)],
    }
    if subscribers:
        doc["subscribers"] = list(subscribers)
    if delivery_tick:
        doc["delivery"] = {"tick": delivery_tick}
    if delivery_min_interval is not None:
        doc.setdefault("delivery", {})["min_interval"] = delivery_min_interval
    path = directory / "monitor.yaml"
    # one JSON document per top-level key keeps the file YAML and readable
    path.write_text(
        "\n".join(f"{k}: {json.dumps(v)}" for k, v in doc.items()) + "\n", encoding="utf-8"
    )
    return path
