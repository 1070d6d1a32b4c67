"""Pure: the meeting vocabulary (monitor/data/lexicon.yaml) compiled into phrase indexes.
No I/O beyond reading that packaged file once."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files

import yaml

from monitor.tokens import PhraseIndex, phrase_tokens


class Cue(StrEnum):
    MEETING = "meeting"
    CALL = "call"
    FUTURE = "future"
    VISIT = "visit"
    PARTY = "party"
    NOT_PLACE_AFTER = "not_place_after"
    ANAPHOR = "anaphor"
    CANCEL = "cancel"
    PAIR_ANAPHOR = "pair_anaphor"
    BACKGROUND = "background"


@dataclass(frozen=True, slots=True)
class Lexicon:
    cues: PhraseIndex[Cue]
    not_place_after: frozenset[str]
    qualifier_glue: frozenset[str]
    locative: frozenset[str]
    roles: PhraseIndex[str]  # office phrases → the office ("defence_minister")
    not_a_role: frozenset[str]  # "deputy defence minister" holds no such office
    same_office: frozenset[str]  # "his counterpart": the watched official's own office
    ahead_only: frozenset[str]  # "upcoming": a future word that governs only what follows
    group: frozenset[str]  # "delegation": the other side may hold several offices
    not_contact_object: frozenset[str]  # "received a letter": no meeting
    stand_in: frozenset[str]  # "his deputy", "نائب وزير الدفاع": someone else acts
    starts: frozenset[str]  # words that start a cue or an office phrase, as written


def _words(raw: object) -> list[str]:
    if isinstance(raw, dict):
        return [str(w) for lang in raw.values() for w in (lang or [])]
    return [str(w) for w in (raw or [])]  # type: ignore[attr-defined]


_KINDS = (Cue.MEETING, Cue.CALL, Cue.VISIT, Cue.FUTURE, Cue.PARTY)


def _inner_kinds(words: tuple[str, ...], found: dict[tuple[str, ...], list[Cue]]) -> list[Cue]:
    """The kind and party cues of shorter phrases inside this one: the index takes the
    longest match, so "follow-up meeting" (the same pair again) must still say "meeting" and
    "le ministre" (he) still names a minister."""
    out: list[Cue] = []
    for n in range(1, len(words)):
        for i in range(len(words) - n + 1):
            out += [c for c in found.get(words[i : i + n], ()) if c in _KINDS]
    return out


@functools.cache
def load_lexicon() -> Lexicon:
    data = yaml.load(
        (files("monitor") / "data" / "lexicon.yaml").read_text(encoding="utf-8"),
        Loader=yaml.CSafeLoader,
    )
    found: dict[tuple[str, ...], list[Cue]] = {}
    for cue in Cue:
        if cue is Cue.NOT_PLACE_AFTER:
            continue
        for phrase in _words(data[str(cue)]):
            found.setdefault(phrase_tokens(phrase), []).append(cue)
    cues: PhraseIndex[Cue] = PhraseIndex()
    for words, kinds in found.items():
        for cue in dict.fromkeys([*kinds, *_inner_kinds(words, found)]):
            cues.add(words, cue)
    roles: PhraseIndex[str] = PhraseIndex()
    for office, phrases in data["roles"].items():
        for phrase in _words(phrases):
            roles.add(phrase_tokens(phrase), str(office))

    def word_set(key: str) -> frozenset[str]:
        return frozenset(t for p in _words(data[key]) for t in phrase_tokens(p))

    return Lexicon(
        cues=cues,
        not_place_after=word_set("not_place_after"),
        qualifier_glue=word_set("qualifier_glue"),
        locative=word_set("locative"),
        roles=roles,
        not_a_role=word_set("not_a_role_next_to"),
        same_office=word_set("same_office"),
        ahead_only=word_set("future_ahead_only"),
        group=word_set("group"),
        not_contact_object=frozenset(
            p[0] for p in map(phrase_tokens, _words(data["not_contact_object"])) if p
        ),
        stand_in=word_set("stand_in"),
        starts=frozenset([*cues.first_words(), *roles.first_words()]),
    )
