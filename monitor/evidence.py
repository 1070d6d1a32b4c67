"""Pure: the evidence side of matching: sentences, the other party's words, how sure a
match is, and one meeting per pair in an article. No I/O."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from monitor.lexicon import Cue, Lexicon
from monitor.models import DateSource, EventKind, Meeting, Official
from monitor.normalise import squash
from monitor.tokens import Hit, Token, strip_proclitic, tokenize

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
AND_WORDS = frozenset(("and", "et", "or", "ou", "و"))  # between two conjuncts
PUNCT = re.compile(r"[,;:()\[\]،؛]")  # no phrase runs across these
_BOUNDARY = re.compile(r"(?<=[.!?؟])[\"”’»)]*\s+|\n+")
# words no sentence ends with: a newline after one breaks a line inside a sentence
_NO_END = frozenset(
    [
        *("the", "a", "an", "of", "with", "and", "to", "in", "on", "at", "by", "for", "his"),
        *("her", "their", "de", "la", "le", "les", "des", "du", "et", "avec", "au", "aux"),
    ]
)


def _join_broken_lines(text: str) -> str:
    """ "will co-chair the" + newline + "Annual Dialogue" is one sentence: a newline after a
    comma or a word that cannot end one joins two lines; headlines and paragraphs stay apart."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        prev = out[-1].rstrip(" \t")
        words = prev.rsplit(None, 1)
        if (
            words
            and (prev.endswith(",") or words[-1].lower() in _NO_END)
            and line.lstrip(" \t")[:1].isalnum()
        ):
            out[-1] = prev + " " + line.lstrip(" \t")
        else:
            out.append(line)
    return "\n".join(out)


def split_sentences(text: str) -> list[str]:
    """Sentences, keeping "U.S. Defense Secretary" and "Lloyd J. Austin" whole."""
    text = _join_broken_lines(text)
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
CONTACT = (EventKind.MEETING, EventKind.CALL)  # contacts held, not planned or trips


def in_pair(official_id: str, found: Sequence[Meeting]) -> bool:
    """Is the official on either side of one of these meetings?"""
    return any(official_id in (m.official_id, m.counterpart_id) for m in found)


def date_from_elsewhere(
    found: list[Meeting], loose: list[date], published: date | None
) -> list[Meeting]:
    """ "Minister X hosted Y in Jeddah. … The meeting on Thursday came after …": a meeting
    whose own sentence states no date takes the one date that the article's sentences about
    an unnamed meeting state; two such dates could be two meetings, so then none."""
    if len(set(loose)) != 1 or (published is not None and loose[0] > published):
        return found
    return [
        replace(m, date=loose[0], date_source=DateSource.TEXT)
        if m.kind in CONTACT and m.date_source is not DateSource.TEXT
        else m
        for m in found
    ]


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


def is_word(word: str, words: frozenset[str]) -> bool:
    """Is ``word`` one of ``words``, an Arabic proclitic aside (ونظيره → نظيره)?"""
    return word in words or strip_proclitic(word) in words


def office(counterpart: str | list[Token], lex: Lexicon, own: Official | None = None) -> str:
    """The office the counterpart's words name ("defence_minister", "head_of_state"), or ""
    when they name none a meeting can be told apart by ("the Syrian delegation"); "his
    counterpart" holds ``own``'s office. Tokens may come with the country taken out, so
    that "le ministre jordanien de la Défense" reads as "ministre de la Défense"."""
    if isinstance(counterpart, str) and own is None:
        return _office_of_text(counterpart, lex)  # titles: the same few strings, again and again
    return office_words(counterpart, lex, own)[0]


@functools.lru_cache(maxsize=4096)
def _office_of_text(text: str, lex: Lexicon) -> str:
    return office_words(text, lex)[0]


def office_words(
    counterpart: str | list[Token], lex: Lexicon, own: Official | None = None
) -> tuple[str, list[Token]]:
    """``office``, and the words that name it (none for "his counterpart" or no office)."""
    toks = tokenize(counterpart) if isinstance(counterpart, str) else counterpart
    if any(is_word(t.text, lex.group) for t in toks):
        return "", []  # "a delegation led by the foreign minister": whoever came
    for hit in lex.roles.find(toks):
        near = {toks[i].text for i in (hit.first - 1, hit.last + 1) if 0 <= i < len(toks)}
        if near.isdisjoint(lex.not_a_role):
            return hit.values[0], toks[hit.first : hit.last + 1]
    if own is not None and any(is_word(t.text, lex.same_office) for t in toks):
        return held_office(own, lex), []
    return "", []


def held_office(official: Official, lex: Lexicon) -> str:
    """The office a watched official holds, read from his role and titles."""
    return next((o for t in (official.role, *official.titles) if (o := office(t, lex))), "")


def other_person(a: Meeting, b: Meeting) -> bool:
    """Do two reports of one pair name different people on the other side: its defence
    minister in one, its president in the other? (Only reports from the same side say
    whom that side met.)"""
    first, second = a.counterpart_office, b.counterpart_office
    return a.official_id == b.official_id and bool(first and second and first != second)


def keep(found: list[Meeting], new: Meeting) -> None:
    """One meeting per pair of countries and kind in an article (either side may be named),
    unless two stated dates or two different offices on the other side set them apart; a
    stated date wins over a publication date, a named office over a vague one."""
    sides = frozenset((new.official_country, new.country))
    # a report naming the office joins the meeting with that office before a vaguer one
    order = sorted(range(len(found)), key=lambda i: not found[i].counterpart_office)
    for i in order:
        old = found[i]
        if other_person(old, new):
            continue
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
        if (
            old.official_id == new.official_id
            and new.counterpart_office
            and not old.counterpart_office
        ):
            # the sentence that names the office is the better evidence of this meeting
            found[i] = old = replace(
                new,
                kind=old.kind,
                date=old.date,
                date_source=old.date_source,
                counterpart_id=new.counterpart_id or old.counterpart_id,
            )
        if new.date_source is DateSource.TEXT and old.date_source is not DateSource.TEXT:
            found[i] = replace(old, date=new.date, date_source=new.date_source)
        return
    found.append(new)


def counterpart_span(
    sentence: str, toks: list[Token], party: Party, cues: list[Hit[Cue]], lexicon: Lexicon
) -> tuple[int, int]:
    """The tokens naming the other side: the country, its party nouns ("Chief of Staff of the
    Syrian Armed Forces"), and a following name."""
    glue = lexicon.qualifier_glue
    nouns = [c for c in cues if Cue.PARTY in c.values]
    first, last = party.first, party.last
    for c in nouns:
        lo, hi = (c.last, party.first) if c.last < party.first else (party.last, c.first)
        gap = sentence[toks[lo].end : toks[hi].start] if 0 <= lo < hi else ""
        if (
            0 <= lo < hi
            and hi - lo <= 3
            and not any(t.text in AND_WORDS for t in toks[lo + 1 : hi])
            and not PUNCT.search(gap)
        ):
            first, last = min(first, c.first), max(last, c.last)
    # then along a chain of nouns joined only by "of", "the" … (never "and" or a comma)
    grown = True
    while grown:
        grown = False
        for c in nouns:
            before = c.last < first and all(t.text in glue for t in toks[c.last + 1 : first])
            after = c.first > last and all(t.text in glue for t in toks[last + 1 : c.first])
            gap = sentence[toks[c.last].end : toks[first].start] if before else ""
            gap += sentence[toks[last].end : toks[c.first].start] if after else ""
            if (before or after) and not PUNCT.search(gap):
                first, last, grown = min(first, c.first), max(last, c.last), True
    # a following proper name ("Ambassador Sufyan al-Qudah"): capitalised words
    while last + 1 < len(toks) and last - party.last < 6:
        word = sentence[toks[last + 1].start : toks[last + 1].end]
        if not (word[:1].isupper() or word.lower() in ("al", "bin", "ibn", "el")):
            break
        last += 1
    return first, last
