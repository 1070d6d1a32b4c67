"""Pure: the other side of a meeting: which countries in a sentence are parties to it, the
words and the office that name the counterpart, and the country the official is in. No I/O."""

from __future__ import annotations

from monitor.evidence import (
    AND_WORDS,
    PUNCT,
    Party,
    counterpart_span,
    held_office,
    is_word,
    office_words,
)
from monitor.lexicon import Cue, Lexicon
from monitor.models import Official, Span
from monitor.tokens import Hit, Token, phrase_tokens

PARTY_REACH = 4  # tokens between a country and the party noun it qualifies
_IN = frozenset(phrase_tokens("in في en au a dans"))
_TOWARDS = frozenset(phrase_tokens("to in into the capital إلى الى في العاصمة a en au"))
_POSTED_TO = frozenset(("to", "in", "لدى", "في", "aupres", "a", "en", "au"))


def counterpart_of(
    lex: Lexicon,
    sentence: str,
    toks: list[Token],
    places: list[Hit[str]],
    cues: list[Hit[Cue]],
    party: Party,
    official: Official,
    trigger: Hit[Cue],
) -> tuple[str, str]:
    """The other side's words as written, and the office they name (never across the
    meeting phrase: the words on its other side name the official)."""
    if party.official is not None:
        return sentence[party.start : party.end], held_office(party.official, lex)
    if Cue.VISIT in trigger.values and Cue.MEETING not in trigger.values:
        return sentence[party.start : party.end], ""  # a trip: the other side is the country
    first, last = counterpart_span(sentence, toks, party, cues, lex)
    # the office may run on past the country ("le ministre jordanien de la Défense") or stand
    # a few words before it ("le chef d'état-major jordanien"), within the same conjunct
    start, end = first, last
    low = max(trigger.last + 1 if party.first > trigger.last else 0, party.first - 5)
    high = min(len(toks) - 1, party.last + 4)
    if party.last < trigger.first:
        high = min(high, trigger.first - 1)
    while start > low and not _breaks(sentence, toks, start - 1, start, lex):
        start -= 1
    while end < high and not _breaks(sentence, toks, end, end + 1, lex):
        end += 1
    in_place = {i for p in places for i in range(p.first, p.last + 1)}
    words = [toks[i] for i in range(start, end + 1) if i not in in_place]
    role, named = office_words(words, lex, official)
    # the words shown name the office too: "chef d'état-major jordanien", not "jordanien"
    begin = min([toks[first].start, *(t.start for t in named)])
    finish = max([toks[last].end, *(t.end for t in named)])
    return sentence[begin:finish], role


def _breaks(sentence: str, toks: list[Token], left: int, right: int, lex: Lexicon) -> bool:
    """Do two neighbouring words belong to different conjuncts ("and", a comma, or Arabic
    و stuck to the next noun: "وزير الدفاع الأردني ورئيس الأركان")?"""
    word = toks[right].text
    return (
        toks[left].text in AND_WORDS
        or word in AND_WORDS
        or (word.startswith("و") and word not in lex.starts and word[1:] in lex.starts)
        or bool(PUNCT.search(sentence[toks[left].end : toks[right].start]))
    )


def not_a_state(lex: Lexicon, place: Hit[str], toks: list[Token]) -> bool:
    """ "Greek Orthodox", "Armenian Catholic": a church or a people, not a state; "the
    Jordanian decision": a state's act, a topic."""
    nxt = place.last + 1
    return nxt < len(toks) and is_word(toks[nxt].text, lex.not_place_after)


def parties_of(
    lex: Lexicon,
    toks: list[Token],
    places: list[Hit[str]],
    cues: list[Hit[Cue]],
    mentions: list[tuple[Span | None, Official]],
    trigger: Hit[Cue],
    where: str | None,
) -> list[Party]:
    """The sides of the meeting a sentence reports: the watched officials it names, countries
    next to a party noun ("the Jordanian ambassador") or right after the meeting phrase, and
    offices no country qualifies held where the official is (``where``)."""
    parties = [Party(o.country, 0, 0, s.start, s.end, o) for s, o in mentions if s is not None]
    if where is not None:
        parties += unqualified(lex, toks, places, mentions, trigger, where)
    party_nouns = [c for c in cues if Cue.PARTY in c.values]
    subject: set[int] = set()
    if Cue.VISIT in trigger.values:  # only a trip's destination needs the subject's words
        named = [s for s, _ in mentions if s is not None]
        subject = {i for q in places for i in range(q.first, q.last + 1)}
        subject |= {i for i, t in enumerate(toks) if any(s.start <= t.start < s.end for s in named)}
    for p in places:
        # "US Ambassador to India", "سفير فرنسا لدى سوريا": where the envoy is posted
        posted = p.first > 0 and toks[p.first - 1].text in _POSTED_TO
        near_noun = any(
            0 <= c.first - p.last <= PARTY_REACH  # "the Jordanian ambassador"
            or (0 <= p.first - c.last <= PARTY_REACH and not posted)  # "envoy of Jordan"
            or (c.first <= p.first and p.last <= c.last)
            for c in party_nouns
        )
        between = [t.text for t in toks[trigger.last + 1 : p.first]]
        right_after = 0 < p.first - trigger.last <= 2 and not any(
            w in lex.locative for w in between
        )
        # the subject may stand between a verb and where it goes: "زار وزير الدفاع السوري
        # العاصمة الأردنية"
        visit_to = (
            Cue.VISIT in trigger.values
            and p.first > trigger.last
            and sum(i not in subject for i in range(trigger.last + 1, p.first)) <= 2
        )
        if Cue.VISIT in trigger.values and Cue.MEETING not in trigger.values:
            near_noun = right_after = False  # a trip's other side is where it goes
        if near_noun or right_after or visit_to:
            parties.append(Party(p.values[0], p.first, p.last, p.start, p.end))
    # a watched official named on a side is that side's counterpart ("Lebanon's Menassa")
    watched = {p.country for p in parties if p.official is not None}
    return [p for p in parties if p.official is not None or p.country not in watched]


def unqualified(
    lex: Lexicon,
    toks: list[Token],
    places: list[Hit[str]],
    mentions: list[tuple[Span | None, Official]],
    trigger: Hit[Cue],
    where: str,
) -> list[Party]:
    """ "During his visit to Japan … he will also call on the Prime Minister": an office
    that no country qualifies is held in the country the official is visiting."""
    out = []
    own = [s for s, _ in mentions if s is not None]
    offices = [*lex.roles.find(toks)]
    offices += [
        Hit(i, i, t.start, t.end, ("",))
        for i, t in enumerate(toks)
        if is_word(t.text, lex.same_office)
    ]
    for h in offices:
        if h.last < trigger.first or any(s.start < h.end and h.start < s.end for s in own):
            continue  # the subject's own title, not the other side
        if any(
            -PARTY_REACH <= p.first - h.last <= PARTY_REACH
            or -PARTY_REACH <= h.first - p.last <= PARTY_REACH
            for p in places
        ):
            continue  # "the Jordanian Prime Minister": qualified, handled above
        out.append(Party(where, h.first, h.last, h.start, h.end))
    return out


def where_is(
    lex: Lexicon,
    sentence: str,
    toks: list[Token],
    places: list[Hit[str]],
    cues: list[Hit[Cue]],
    names: list[Hit[str]],
) -> str | None:
    """The country a sentence puts the official in: "his visit to Japan", "arrived in
    the Syrian capital", "In South Korea, …", "وصل أبو قصرة إلى الأردن"."""
    named = {i for h in names for i in range(h.first, h.last + 1)}
    for p in places:
        if p.first == 1 and toks[0].text in _IN and sentence[p.end : p.end + 1] == ",":
            return p.values[0]
        for c in cues:
            if (
                Cue.VISIT in c.values
                and 0 < p.first - c.last <= 6
                and all(
                    t.text in _TOWARDS or i in named
                    for i, t in enumerate(toks[c.last + 1 : p.first], c.last + 1)
                )
            ):
                return p.values[0]
    return None


def qualifier(
    lex: Lexicon, sentence: str, toks: list[Token], places: list[Hit[str]], first: int, last: int
) -> str | None:
    """The country a title belongs to: inside it ("ministre syrien de la Défense"), just
    before it ("Syria's Defence Minister", "the Saudi Defence Minister"), or just after it
    ("Minister of Defence of Jordan", "وزير الدفاع السوري"); never across punctuation."""
    glue = lex.qualifier_glue
    for p in places:
        if first <= p.first and p.last <= last:
            return p.values[0]
        if p.last < first:
            between, gap = range(p.last + 1, first), sentence[p.end : toks[first].start]
            if (
                len(between) <= 1
                and all(toks[i].text == "s" for i in between)
                and not PUNCT.search(gap.replace("'", "").replace("’", ""))
            ):
                return p.values[0]
        elif p.first > last:
            between, gap = range(last + 1, p.first), sentence[toks[last].end : p.start]
            if (
                len(between) <= 2
                and all(toks[i].text in glue for i in between)
                and not PUNCT.search(gap)
            ):
                return p.values[0]
    return None
