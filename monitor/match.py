"""Pure: find meetings of watched officials in an item's text. No I/O.

Matcher v0: within one sentence, a watched official (by name, alias, or by title when the
official's country or name is in the article), a meeting phrase, and a foreign country or
organisation from the gazetteer that the watchlist watches. The sentence is the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from monitor.dates import find_date
from monitor.gazetteer import Gazetteer
from monitor.models import DateSource, EventKind, Meeting, Official, Span, Watchlist
from monitor.normalise import fold, fold_with_map, squash

# Folded meeting phrases (English, Arabic, French). Folding removed accents and hamza forms.
_TRIGGERS = [
    r"met(?: with)?",
    r"meets(?: with)?",
    r"meeting with",
    r"(?:held|holds|hold|holding) talks",
    r"talks with",
    r"received",
    r"receives",
    r"receiving",
    r"hosted",
    r"hosts",
    r"hosting",
    r"welcomed",
    r"welcomes",
    r"called on",
    r"calls on",
    r"discussed with",
    r"discusses with",
    r"conferred with",
    r"(?:tele)?phone (?:call|conversation)",
    r"spoke by (?:tele)?phone",
    r"spoke with",
    r"video call",
    r"bilateral meeting",
    r"استقبل",
    r"يستقبل",
    r"التقي",
    r"يلتقي",
    r"بحث مع",
    r"يبحث مع",
    r"اجتمع",
    r"يجتمع",
    r"لقاء",
    r"مباحثات",
    r"محادثات",
    r"اتصالا هاتفيا",
    r"اتصال هاتفي",
    r"a recu",
    r"recoit",
    r"s'est entretenu(?:e)?",
    r"s'entretient",
    r"a rencontre",
    r"rencontre",
    r"entretien avec",
    r"a accueilli",
    r"accueille",
    r"entretien telephonique",
]
_TRIGGER = re.compile(r"(?<!\w)(?:" + "|".join(_TRIGGERS) + r")(?!\w)")
_CALL = re.compile(
    r"(?<!\w)(?:phone|telephone|video call|videoconference|هاتف\w*|telephonique)(?!\w)"
)
# Sentence ends: Latin and Arabic full stops, question marks, line breaks.
_SENTENCE = re.compile(r"[^.!?؟\n]+(?:[.!?؟]+|$)", re.MULTILINE)
# Arabic proclitics (and, so, by, to, like, the) may stick to a name: والأردن, بالاتحاد.
_AR_PREFIX = r"(?:[وفبلك]?(?:ال)?)"


def _alternation(forms: Iterable[str]) -> str:
    return "|".join(re.escape(f) for f in sorted(set(forms), key=len, reverse=True) if f)


def _compile(forms: Iterable[str]) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){_AR_PREFIX}({_alternation(forms)})(?!\w)")


def _better(new: Meeting, old: Meeting) -> bool:
    """A sentence that states its date beats one dated only by publication."""
    return new.date_source is DateSource.TEXT and old.date_source is not DateSource.TEXT


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    value: str  # folded surface form


class Matcher:
    """Compiled watchlists: call ``match`` once per item."""

    def __init__(self, watchlists: Sequence[Watchlist], gazetteer: Gazetteer) -> None:
        self._watchlists = {w.name: w for w in watchlists}
        self._officials = {o.id: o for w in watchlists for o in w.officials}
        self._names: dict[str, set[str]] = {}  # folded name/alias → official ids
        self._titles: dict[str, set[str]] = {}  # folded title → official ids
        for o in self._officials.values():
            for n in (o.name, *o.aliases):
                self._names.setdefault(fold(n), set()).add(o.id)
            for t in o.titles:
                self._titles.setdefault(fold(t), set()).add(o.id)
        self._places: dict[str, str] = {}
        for form, place in gazetteer.surface_forms():
            self._places.setdefault(fold(form), place.name)
        self._country_forms: dict[str, set[str]] = {}  # canonical country → folded forms
        for form, name in self._places.items():
            self._country_forms.setdefault(name, set()).add(form)
        self._name_re = _compile(self._names)
        self._title_re = _compile(self._titles)
        self._place_re = _compile(self._places)

    def match(self, title: str, text: str, published: date | None) -> list[Meeting]:
        """Every meeting the item reports, one per (official, country, kind, date)."""
        # The body comes first: its sentences carry dates and names a headline leaves out,
        # so a headline only adds meetings the body does not state.
        body = text if not title or text.startswith(title) else f"{text}\n{title}"
        folded_body = fold(body)
        named_here = {
            oid for m in self._name_re.finditer(folded_body) for oid in self._names[m.group(1)]
        }
        found: dict[tuple[str, str, EventKind, date | None], Meeting] = {}
        for sm in _SENTENCE.finditer(body):
            sentence = squash(sm.group(0))
            if len(sentence) < 12:
                continue
            for meeting in self._match_sentence(sentence, published, named_here, folded_body):
                key = (*meeting.pair, meeting.date)
                known = found.get(key)
                if known is None or _better(meeting, known):
                    found[key] = meeting
        return list(found.values())

    def _match_sentence(
        self, sentence: str, published: date | None, named_here: set[str], folded_body: str
    ) -> Iterable[Meeting]:
        folded, index = fold_with_map(sentence)
        trigger = _TRIGGER.search(folded)
        if trigger is None:
            return
        on = find_date(sentence, published)
        officials = self._officials_in(folded, on or published, named_here, folded_body)
        if not officials:
            return
        places = [
            _Hit(m.start(1), m.end(1), self._places[m.group(1)])
            for m in self._place_re.finditer(folded)
        ]
        kind = EventKind.CALL if _CALL.search(folded) else EventKind.MEETING
        for official, ohit in officials:
            place = self._counterpart(official, places, trigger.end())
            if place is None:
                continue
            counterpart = self._counterpart_words(
                sentence, folded, index, max(trigger.end(), ohit.end), place
            )
            yield Meeting(
                official_id=official.id,
                official_name=official.name,
                official_country=official.country,
                watchlist=official.watchlist,
                country=place.value,
                kind=kind,
                date=on or published,
                date_source=DateSource.TEXT
                if on
                else (DateSource.PUBLISHED if published else DateSource.UNKNOWN),
                evidence=sentence,
                trigger=sentence[index[trigger.start()] : index[trigger.end() - 1] + 1],
                counterpart=counterpart,
                spans=(
                    Span(index[ohit.start], index[ohit.end - 1] + 1, "official"),
                    Span(index[trigger.start()], index[trigger.end() - 1] + 1, "trigger"),
                    Span(index[place.start], index[place.end - 1] + 1, "counterpart"),
                ),
            )

    def _officials_in(
        self, folded: str, on: date | None, named_here: set[str], folded_body: str
    ) -> list[tuple[Official, _Hit]]:
        out: dict[str, tuple[Official, _Hit]] = {}
        for m in self._name_re.finditer(folded):
            for oid in self._names[m.group(1)]:
                out.setdefault(oid, (self._officials[oid], _Hit(m.start(1), m.end(1), m.group(1))))
        for m in self._title_re.finditer(folded):
            for oid in self._titles[m.group(1)]:
                official = self._officials[oid]
                # A bare title names whoever held it: the article must place it in the
                # official's country (or name the official) and the date must fall in the term.
                in_context = oid in named_here or self._mentions(folded, official.country)
                if in_context and official.holds_office(on):
                    out.setdefault(oid, (official, _Hit(m.start(1), m.end(1), m.group(1))))
        return list(out.values())

    def _mentions(self, folded: str, country: str) -> bool:
        return any(
            m.group(1) in self._country_forms.get(country, ())
            for m in self._place_re.finditer(folded)
        )

    def _counterpart(self, official: Official, places: list[_Hit], after: int) -> _Hit | None:
        watched = (
            self._watchlists[official.watchlist].countries
            if official.watchlist in self._watchlists
            else None
        )
        candidates = [
            p
            for p in places
            if p.value != official.country and (watched is None or p.value in watched)
        ]
        if not candidates:
            return None
        # the counterpart usually follows the meeting phrase ("received the Jordanian ...")
        later = [p for p in candidates if p.start >= after]
        return (later or candidates)[0]

    @staticmethod
    def _counterpart_words(
        sentence: str, folded: str, index: list[int], bound: int, place: _Hit
    ) -> str:
        """The phrase naming the counterpart around its country: a few words before it
        (Arabic heads come first: سفير باكستان; English ones may too: Ambassador of
        Pakistan), the words after it up to a comma or a clause connector."""
        lo = bound if bound <= place.start else 0
        lo = max(lo, *(folded.rfind(sep, lo, place.start) + 1 for sep in (",", "،", ";")))
        head = folded[lo : place.start].split()
        arabic = any("\u0600" <= c <= "\u06ff" for c in folded[place.start : place.end])
        head = head[-(1 if arabic else 5) :]
        for i, word in enumerate(head):
            if word in _HEAD_STOPS:
                head = head[i + 1 :]
        start = place.start - len(" ".join(head)) - (1 if head else 0)
        stop = len(folded)
        for sep in _TAIL_STOPS:
            pos = folded.find(sep, place.end)
            if pos != -1:
                stop = min(stop, pos)
        start = max(start, 0)
        words = sentence[index[start] : index[max(stop, place.end) - 1] + 1].strip(" .")
        words = re.sub(r"^(?:with|the|a|an)\s+", "", words, flags=re.IGNORECASE)
        return " ".join(words.split()[:12])


_HEAD_STOPS = {"in", "at", "on", "with", "في", "مع", "a", "à", "en", "avec", "today", "اليوم"}
_TAIL_STOPS = (
    ",",
    ";",
    "،",
    " to ",
    " on ",
    " in ",
    " at ",
    " and ",
    " who ",
    " for ",
    " في ",
    " و",
    " لبحث",
    " a ",
    " pour ",
    " le ",
    " et ",
)
