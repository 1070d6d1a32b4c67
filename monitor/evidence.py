"""Pure: the evidence side of matching: sentences, the other party's words, how sure a
match is, and one meeting per pair in an article. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from monitor.lexicon import Cue
from monitor.models import DateSource, EventKind, Meeting, Official
from monitor.normalise import squash
from monitor.tokens import Hit, Token

_ABBREV = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "gen",
    "lt",
    "col",
    "maj",
    "capt",
    "st",
    "no",
    "jr",
    "sr",
    "u.s",
    "u.k",
    "u.n",
    "adm",
    "brig",
    "sgt",
    "gov",
    "sen",
    "rep",
    "prof",
    "vs",
    "etc",
}
_BOUNDARY = re.compile(r"(?<=[.!?؟])[\"”’»)]*\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences, keeping "U.S. Defense Secretary" and "Lloyd J. Austin" whole."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        piece = text[start : m.start()]
        last = piece.rsplit(None, 1)[-1].rstrip(".").lower() if piece.strip() else ""
        if "\n" not in m.group() and (len(last) == 1 or last in _ABBREV):
            continue
        out.append(piece)
        start = m.end()
    out.append(text[start:])
    return [s for s in (squash(p) for p in out) if len(s) >= 12]


@dataclass(frozen=True, slots=True)
class Party:
    country: str
    first: int
    last: int
    start: int
    end: int
    official: Official | None = None


_CALL_OR_MEETING = {EventKind.CALL, EventKind.MEETING}


def confidence(m: Meeting) -> float:
    """How sure the rules are, from what the evidence holds: the official named in the
    sentence (or only carried over from an earlier one), a stated date, a reported contact
    (plans and trips are softer)."""
    score = 0.95
    if not any(s.role == "official" for s in m.spans):
        score -= 0.15  # the subject came from an earlier sentence
    if m.date_source is not DateSource.TEXT:
        score -= 0.05
    if m.kind in (EventKind.PLANNED, EventKind.VISIT):
        score -= 0.05
    return round(score, 2)


def date_source(on: date | None, published: date | None) -> DateSource:
    if on is not None:
        return DateSource.TEXT
    return DateSource.PUBLISHED if published is not None else DateSource.UNKNOWN


def keep(found: list[Meeting], new: Meeting) -> None:
    """One meeting per pair of countries and kind in an article (either side may be named),
    unless two stated dates set them apart; a stated date wins over a publication date."""
    sides = frozenset((new.official_country, new.country))
    for i, old in enumerate(found):
        kinds = {old.kind, new.kind}
        if len(kinds) > 1 and EventKind.VISIT not in kinds and kinds != _CALL_OR_MEETING:
            continue
        if frozenset((old.official_country, old.country)) != sides:
            continue
        if (
            old.official_id != new.official_id
            and old.counterpart_id
            and new.counterpart_id
            and new.official_id != old.counterpart_id
            and old.official_id != new.counterpart_id
        ):
            continue  # two officials of one country, each meeting a different official
        both_stated = DateSource.TEXT == old.date_source == new.date_source
        if both_stated and old.date and new.date and abs((old.date - new.date).days) > 1:
            continue
        if old.kind is EventKind.VISIT and new.kind is not EventKind.VISIT:
            found[i] = old = new  # a visit in which a meeting is reported is that meeting
        elif old.kind is EventKind.MEETING and new.kind is EventKind.CALL:
            found[i] = old = new  # "talks" in one sentence, "phone call" in another: a call
        if new.date_source is DateSource.TEXT and old.date_source is not DateSource.TEXT:
            found[i] = replace(old, date=new.date, date_source=new.date_source)
        return
    found.append(new)


def counterpart_words(sentence: str, toks: list[Token], party: Party, cues: list[Hit[Cue]]) -> str:
    """The words naming the other side: the country, its party noun, and a following name."""
    if party.official is not None:
        return sentence[party.start : party.end]
    first, last = party.first, party.last
    for c in cues:
        if Cue.PARTY in c.values and (0 <= first - c.last <= 3 or 0 <= c.first - last <= 3):
            first, last = min(first, c.first), max(last, c.last)
    # a following proper name ("Ambassador Sufyan al-Qudah"): capitalised words
    while last + 1 < len(toks) and last - party.last < 6:
        word = sentence[toks[last + 1].start : toks[last + 1].end]
        if not (word[:1].isupper() or word.lower() in ("al", "bin", "ibn", "el")):
            break
        last += 1
    return sentence[toks[first].start : toks[last].end]
