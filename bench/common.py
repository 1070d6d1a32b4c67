"""Shared pieces of the benchmarks: synthetic places and officials, watchlists, and generated
monitor configs (the articles and RSS bodies: ``articles``; measuring a child process:
``measuring``).

Everything here is deterministic for a given seed, so the feed server (in its own processes),
the harness and the matcher benchmark build the same names and texts independently.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
