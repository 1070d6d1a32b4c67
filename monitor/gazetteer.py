"""Pure: the built-in gazetteer of countries and organisations. No I/O beyond reading packaged data.

Every ISO 3166-1 country (from pycountry, with its Arabic and French translations), Kosovo,
and the organisations that send delegations (EU, NATO, UN, ...). Each place carries the
surface forms that denote it in English, Arabic and French news: names, official names,
colloquial names and adjectives. ``monitor/data/places.yaml`` holds what pycountry lacks,
and the inflection rules below expand its adjectives.

Two uses:
- ``Gazetteer.lookup`` resolves what an admin writes in a watchlist ("PK", "Türkiye", "UK");
- ``Gazetteer.surface_forms`` feeds the matcher's automaton. Forms are as written; fold them
  with ``monitor.normalise.fold`` like the text they are matched against.

Forms that fold to a common word ("US" → "us", "UN" → French "un") are never surface forms,
only lookup keys; ``places.yaml`` lists the other omissions and why.
"""

from __future__ import annotations

import functools
import gettext
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from typing import Any

import pycountry  # type: ignore[import-untyped, unused-ignore]
import yaml

from monitor.normalise import fold, squash

__all__ = ["Gazetteer", "Place", "PlaceKind", "load_gazetteer"]


class PlaceKind(StrEnum):
    COUNTRY = "country"
    ORGANISATION = "organisation"


@dataclass(frozen=True, slots=True)
class Place:
    name: str  # canonical English short name shown to analysts: "Syria", "European Union"
    kind: PlaceKind
    code: str  # ISO 3166-1 alpha-2 for countries ("XK" for Kosovo); short code for organisations
    names: tuple[str, ...]  # surface forms in text, as written; distinct once folded


class Gazetteer:
    """Places, and an index from every folded name, code and alias to its place."""

    places: tuple[Place, ...]

    def __init__(self, places: Iterable[Place], aliases: Mapping[str, Place] | None = None) -> None:
        self.places = tuple(places)
        index: dict[str, Place] = {}
        # First writer wins: codes before names so that a code is never shadowed, and
        # countries before organisations so "AU" is Australia (ISO) before the African Union.
        for place in self.places:
            index.setdefault(_fold(place.code), place)
        for place in self.places:
            for form in (place.name, *place.names):
                index.setdefault(_fold(form), place)
        for alias, place in (aliases or {}).items():
            index.setdefault(_fold(alias), place)
        self._index = index

    def lookup(self, name: str) -> Place | None:
        """The place an admin means by ``name`` (any case, diacritics, code or alias)."""
        key = fold(squash(name))
        found = self._index.get(key)
        if found is None and key.startswith("the "):  # "the Netherlands", "The Gambia"
            found = self._index.get(key[4:])
        return found

    def surface_forms(self) -> Iterator[tuple[str, Place]]:
        """Every (form, place) pair, for building a matcher; forms are not yet folded."""
        for place in self.places:
            for form in place.names:
                yield form, place


@functools.cache
def load_gazetteer() -> Gazetteer:
    """The built-in gazetteer, built once per process from packaged data and pycountry."""
    data = _read_data()
    omit = {_fold(form) for form in data["omit"]}
    translations = {
        lang: gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        for lang in data["locales"]
    }
    entries: dict[str, Mapping[str, Any]] = {
        code: entry or {} for code, entry in data["countries"].items()
    }
    places: list[Place] = []
    aliases: dict[str, Place] = {}
    for record in pycountry.countries:
        entry = entries.pop(record.alpha_2, {})
        iso = [
            getattr(record, a)
            for a in ("name", "official_name", "common_name")
            if hasattr(record, a)
        ]
        translated = [t.gettext(n) for t in translations.values() for n in iso]
        name = str(entry.get("name") or getattr(record, "common_name", record.name))
        forms = _with_cases([_clean(n) for n in (*iso, *translated) if _usable(n)])
        drop = omit | {_fold(form) for form in entry.get("drop", ())}
        place = _place(PlaceKind.COUNTRY, record.alpha_2, name, [*forms, *_forms(entry)], drop)
        places.append(place)
        # pycountry's inverted names ("Korea, Republic of") are what admins may paste.
        for alias in (record.alpha_3, *iso, *entry.get("lookup", ())):
            aliases.setdefault(alias, place)
    groups = [(PlaceKind.COUNTRY, entries), (PlaceKind.ORGANISATION, data["organisations"])]
    for kind, extra in groups:  # countries pycountry lacks (Kosovo), then organisations
        for code, entry in extra.items():
            place = _place(kind, code, entry["name"], _forms(entry), omit)
            places.append(place)
            for alias in entry.get("lookup", ()):
                aliases.setdefault(alias, place)
    return Gazetteer(places, aliases)


def _read_data() -> dict[str, Any]:
    text = (files("monitor") / "data" / "places.yaml").read_text(encoding="utf-8")
    # CSafeLoader is as safe as yaml.safe_load and parses this file in 25 ms instead of 160.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load(text, Loader=loader)
    return data


def _place(kind: PlaceKind, code: str, name: str, forms: Iterable[str], omit: set[str]) -> Place:
    seen: set[str] = set()
    names: list[str] = []
    for form in (name, *forms):
        key = _fold(form)
        if key not in seen and key not in omit:
            seen.add(key)
            names.append(form)
    return Place(name=name, kind=kind, code=code, names=tuple(names))


def _forms(entry: Mapping[str, Any]) -> list[str]:
    """Names and inflected adjectives from one ``places.yaml`` entry, in file order."""
    out: list[str] = []
    for key, values in entry.items():
        if key in ("name", "lookup", "drop"):
            continue
        lang, _, part = key.partition("_")
        if part not in ("", "adj"):
            raise ValueError(f"places.yaml: unknown key {key!r}")
        for value in values:
            if "|" in value:  # an irregular word spelled out in full
                out.extend(v for v in value.split("|") if v)
            elif part == "adj":
                out.extend(_INFLECT.get(lang, _as_is)(value))
            elif lang == "ru":
                out.extend(_ru_cases(value))
            else:
                out.append(value)
    return out


def _usable(name: str) -> bool:
    # Inverted ISO names ("Iran, Islamic Republic of", "Russie, Fédération de") and
    # parenthesised ones never occur in running text; places.yaml supplies the real forms.
    return "," not in name and "(" not in name and "،" not in name


_LEADING_ARTICLE = re.compile(r"^(?:the |l['’])(?=\w)", re.IGNORECASE)
_AR_SPACED_WAW = re.compile(r" و (?=\S)")


def _clean(name: str) -> str:
    # "the State of Eritrea" / "L'État d'Érythrée": the article is not part of the name, and
    # pycountry's Arabic writes "و" (and) detached, which news never does.
    return _AR_SPACED_WAW.sub(" و", _LEADING_ARTICLE.sub("", name))


# --- inflection of adjectives ---------------------------------------------------------------

_EN_PLURAL = ("an", "i", "k", "ot")  # Pakistanis, Russians, Greeks, Cypriots; not British/Swiss


def _as_is(word: str) -> list[str]:
    return [word]


def _en_adj(word: str) -> list[str]:
    return [word, word + "s"] if word.endswith(_EN_PLURAL) else [word]


def _ar_adj(word: str) -> list[str]:
    """A nisba in masculine and feminine, singular and sound plural, with and without ال.

    Only the words ending in ي inflect, so "كوري جنوبي" gives "الكورية الجنوبية".
    """
    words = word.split()
    bases = [
        " ".join(w + suffix if w.endswith("ي") else w for w in words)
        for suffix in ("", "ة", "ون", "ين")
    ]
    return [*bases, *(" ".join("ال" + w for w in base.split()) for base in bases)]


def _fr_adj(word: str) -> list[str]:
    if word.endswith("e"):
        feminine = word
    elif word.endswith(("ien", "éen", "yen", "on")):  # libyenne, lettonne
        feminine = word + "ne"
    else:
        feminine = word + "e"
    forms = [word] if feminine == word else [word, feminine]
    return [*forms, *(f + "s" for f in forms if not f.endswith(("s", "x")))]


# Russian declines names: "в Сирии", "делегация Российской Федерации", "из Китая". Each word
# takes the ending of its case (nominative, genitive, dative, accusative, instrumental,
# prepositional) by how it ends; words ending otherwise ("Того", "Чили") do not decline.
_RU_ENDINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ая", ("ая", "ой", "ой", "ую", "ой", "ой")),
    ("ий", ("ий", "ого", "ому", "ий", "им", "ом")),
    ("ый", ("ый", "ого", "ому", "ый", "ым", "ом")),
    ("ое", ("ое", "ого", "ому", "ое", "ым", "ом")),
    ("ия", ("ия", "ии", "ии", "ию", "ией", "ии")),
    ("ка", ("ка", "ки", "ке", "ку", "кой", "ке")),
    ("а", ("а", "ы", "е", "у", "ой", "е")),
    ("я", ("я", "и", "е", "ю", "ей", "е")),
    ("ь", ("ь", "и", "и", "ь", "ью", "и")),
    ("й", ("й", "я", "ю", "й", "ем", "е")),
)
_RU_CONSONANT = re.compile(r"[бвгджзклмнпрстфхцчшщ]$", re.IGNORECASE)


def _ru_word(word: str) -> list[str]:
    if word.isupper():  # РФ, КНР, США: abbreviations do not decline
        return [word] * 6
    for ending, cases in _RU_ENDINGS:
        if word.lower().endswith(ending):
            stem = word[: -len(ending)]
            return [stem + c for c in cases]
    if _RU_CONSONANT.search(word):  # Ливан: Ливана, Ливану, Ливаном, Ливане
        return [word + c for c in ("", "а", "у", "", "ом", "е")]
    return [word] * 6


def _ru_cases(name: str) -> list[str]:
    """A Russian name in its six cases: every word declined ("Российской Федерации"), and only
    the first ("Республики Беларусь"); plural names ("Соединённые Штаты") stay as written."""
    words = name.split()
    if any(w.lower().endswith(("ые", "ы")) for w in words):
        return [name]
    declined = [_ru_word(w) for w in words]
    every = [" ".join(d[case] for d in declined) for case in range(6)]
    first = [" ".join([declined[0][case], *words[1:]]) for case in range(6)]
    return list(dict.fromkeys([*every, *first]))


def _ru_adj(word: str) -> list[str]:
    """сирийский: masculine, feminine, neuter and plural, in every case."""
    if not word.endswith("ий"):
        return [word]
    stem = word[:-2]
    endings = ("ий", "ого", "ому", "им", "ом", "ая", "ой", "ую", "ое", "ие", "их", "им", "ими")
    return [stem + e for e in endings]


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _with_cases(forms: list[str]) -> list[str]:
    return [f for form in forms for f in (_ru_cases(form) if _CYRILLIC.search(form) else [form])]


_INFLECT: dict[str, Callable[[str], list[str]]] = {
    "en": _en_adj,
    "ar": _ar_adj,
    "fr": _fr_adj,
    "ru": _ru_adj,
}


class _FoldTable(dict[int, str]):
    def __missing__(self, code: int) -> str:
        folded = self[code] = fold(chr(code))
        return folded


_FOLD_TABLE = _FoldTable()


def _fold(text: str) -> str:
    # ``fold`` works one character at a time, so memoising it per character gives the same
    # result about 20x faster; building the index folds ~8000 strings. A test holds the two
    # equal on every form.
    return text.translate(_FOLD_TABLE)
