"""Pure: who a sentence names, the first stage of matching (``match``). No I/O.

A watched official is named by his name or an alias; once an article names him in full, by
his surname alone; by a title when a country qualifies it ("Syria's Defence Minister",
"وزير الدفاع السوري", "ministre syrien de la Défense") or the article names one official
holding it (the one it names most, if several). "He", "the minister" and an Arabic verb with
no subject of its own stand for the official of a recent sentence. Someone acting for him
("his deputy", "نائب وزير الدفاع") is not him.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from monitor.evidence import is_word
from monitor.lexicon import Cue, Lexicon
from monitor.models import Official, Span
from monitor.parties import qualifier
from monitor.tokens import Hit, PhraseIndex, Token, phrase_tokens

ANAPHOR_REACH = 3  # sentences back that "he" may reach
_PATRONYMIC = frozenset(("bin", "ibn", "bint", "ben", "bn", "بن", "ابن", "بنت"))
_WITH = {"with", "مع", "avec", "by", "بنظيره", "نظيره", "counterpart", "homologue"}
# words that may open a sentence whose subject is an earlier sentence's official
_CONNECTIVES = {
    "حيث",
    "كما",
    "ثم",
    "كذلك",
    "وقد",
    "قد",
    "also",
    "and",
    "then",
    "later",
    "et",
    "puis",
    "عقب",
    "اثر",
    "خلال",
}


@dataclass
class Article:
    """What matching learns of an article as it reads its sentences in order."""

    named: set[str] = field(default_factory=set)
    recent: list[tuple[int, Official]] = field(default_factory=list)  # (sentence no, subject)
    protagonist: Official | None = None  # the official the article names most
    # dates of sentences that report a meeting but name nobody: "The meeting on Thursday…"
    loose_dates: list[date] = field(default_factory=list)
    location: str | None = None  # the country the official was last reported in


def _arabic_construct(tokens: tuple[str, ...]) -> tuple[str, ...] | None:
    """وزير الدفاع → وزير دفاع: the form a title takes before a country (وزير دفاع السعودية)."""
    if len(tokens) >= 2 and tokens[-1].startswith("ال") and len(tokens[-1]) > 3:
        return (*tokens[:-1], tokens[-1][2:])
    return None


class Who:
    """The watched officials' names and titles, compiled once per watchlist set."""

    def __init__(self, officials: Iterable[Official], lexicon: Lexicon) -> None:
        self._lex = lexicon
        self.by_id = {o.id: o for o in officials}
        self.names: PhraseIndex[str] = PhraseIndex(allow_initials=True)
        # titles map to a title key; holders are looked up by (key, country) so a title
        # that thousands of officials share costs one dict lookup, not a scan
        self.titles: PhraseIndex[tuple[str, ...]] = PhraseIndex()
        self._holders: dict[tuple[tuple[str, ...], str], list[Official]] = {}
        self._titles_of: dict[str, set[tuple[str, ...]]] = {}
        for o in self.by_id.values():
            for name in (o.name, *o.aliases):
                self.names.add(phrase_tokens(name), o.id)
            for title in o.titles:
                words = phrase_tokens(title)
                self.titles.add(words, words)
                if (construct := _arabic_construct(words)) is not None:
                    self.titles.add(construct, words)
                self._holders.setdefault((words, o.country), []).append(o)
                self._titles_of.setdefault(o.id, set()).add(words)

    def named(self, tokenised: list[list[Token]]) -> list[list[Hit[str]]]:
        """Each sentence's officials named by name or alias, then by surname."""
        named = [list(self.names.find(toks)) for toks in tokenised]
        return self._surnames(tokenised, named) if any(named) else named

    def _surnames(
        self, tokenised: list[list[Token]], named: list[list[Hit[str]]]
    ) -> list[list[Hit[str]]]:
        """Once an article names an official in full, his surname alone names him too
        ("Defence Minister Rajnath Singh … Singh will co-chair …"), as outlets write."""
        index: PhraseIndex[str] = PhraseIndex()
        for hit in (h for hits in named for h in hits):
            for oid in hit.values:
                words = phrase_tokens(self.by_id[oid].name)
                # "Khalid bin Salman": the last word is his father's name, not a surname
                if len(words) >= 2 and len(words[-1]) >= 4 and _PATRONYMIC.isdisjoint(words):
                    index.add(words[-1:], oid)
        if not index.size:
            return named
        out = []
        for toks, hits in zip(tokenised, named, strict=True):
            taken = {i for h in hits for i in range(h.first, h.last + 1)}
            extra = [h for h in index.find(toks) if h.first not in taken]
            out.append(sorted([*hits, *extra], key=lambda h: h.first) if extra else hits)
        return out

    def mentions(
        self,
        sentence: str,
        toks: list[Token],
        names: list[Hit[str]],
        places: list[Hit[str]],
        on: date | None,
        article: Article,
    ) -> tuple[list[tuple[Span | None, Official]], bool]:
        """The watched officials a sentence names, and whether it names someone acting for
        one ("نائب وزير الدفاع", "Abu Qasra's adviser"), who is not him."""
        out: dict[str, tuple[Span | None, Official]] = {}
        stood_in = False
        for hit in names:
            if self.stand_in(toks, hit.first, hit.last):
                stood_in = True
                continue
            for oid in hit.values:
                out.setdefault(oid, (Span(hit.start, hit.end, "official"), self.by_id[oid]))
        # titles are searched with countries taken out, so "ministre syrien de la Défense"
        # reads as the title "ministre de la Défense" qualified by "syrien"
        in_place = {i for p in places for i in range(p.first, p.last + 1)}
        keep = [i for i in range(len(toks)) if i not in in_place]
        for title in self.titles.find([toks[i] for i in keep]):
            first, last = keep[title.first], keep[title.last]
            if any(first - 3 <= h.first <= last + 3 for h in names):
                continue  # "Defence Minister Rajnath Singh": the name says who
            if self.stand_in(toks, first, last):
                stood_in = True
                continue
            country = qualifier(self._lex, sentence, toks, places, first, last)
            official = self._resolve_title(title.values, country, on, article)
            if official is not None:
                out.setdefault(
                    official.id, (Span(toks[first].start, toks[last].end, "official"), official)
                )
        return list(out.values()), stood_in

    def stand_in(self, toks: list[Token], first: int, last: int) -> bool:
        """ "نائب وزير الدفاع", "le vice-ministre", "Abu Qasra's adviser": someone else."""
        stand_in = self._lex.stand_in
        before = first > 0 and is_word(toks[first - 1].text, stand_in)
        after = (
            last + 2 < len(toks) and toks[last + 1].text == "s" and toks[last + 2].text in stand_in
        )
        return before or after

    def _resolve_title(
        self,
        keys: tuple[tuple[str, ...], ...],
        country: str | None,
        on: date | None,
        article: Article,
    ) -> Official | None:
        """A title names one official: the holder from the qualifying country on that date,
        or, with no qualifier, the one holder the article names."""
        if country is not None:
            holders = [o for k in keys for o in self._holders.get((k, country), ())]
        else:
            holders = [
                self.by_id[i]
                for i in sorted(article.named)
                if any(k in self._titles_of.get(i, ()) for k in keys)
            ]
        holders = [o for o in holders if o.holds_office(on)]
        if len(holders) > 1 and on is None:
            holders = [o for o in holders if o.until is None]  # an undated text: the incumbent
        if len(holders) > 1 and country is None and article.protagonist in holders:
            return article.protagonist  # "Defense Minister participates …": the article's own
        return holders[0] if len(holders) == 1 else None

    def recent(
        self, n: int, article: Article, mentions: list[tuple[Span | None, Official]]
    ) -> list[tuple[Span | None, Official]]:
        """The official of a recent sentence, as the unnamed subject of this one."""
        here = {o.id for _, o in mentions}
        lead = article.protagonist
        if (
            lead is not None
            and lead.id not in here
            and any(0 < n - when <= ANAPHOR_REACH and o.id == lead.id for when, o in article.recent)
        ):
            return [(None, lead)]
        for when, official in reversed(article.recent):
            if n - when > ANAPHOR_REACH:
                return []
            if when < n and official.id not in here:
                return [(None, official)]
        return []

    def all_objects(self, toks: list[Token], mentions: list[tuple[Span | None, Official]]) -> bool:
        """Every official named here is the object of "with"/"مع"/"avec" (the other side)."""
        if not mentions:
            return False
        for span, _ in mentions:
            if span is None:
                return False
            first = next((i for i, t in enumerate(toks) if t.start >= span.start), 0)
            if not any(t.text in _WITH for t in toks[max(0, first - 4) : first]):
                return False
        return True

    def subject_dropped(
        self,
        toks: list[Token],
        cues: list[Hit[Cue]],
        trigger: Hit[Cue],
        mentions: list[tuple[Span | None, Official]],
    ) -> bool:
        """ "He also met …", "The Minister hosted …", or an Arabic verb with no subject of its
        own (حيث التقى بنظيره …): the sentence continues an earlier one's official."""
        named_before = any(s is not None and s.start < trigger.start for s, _ in mentions)
        if named_before:
            return False
        spans = [s for s, _ in mentions if s is not None]
        if any(
            Cue.ANAPHOR in c.values and not any(s.start <= c.start < s.end for s in spans)
            for c in cues
        ):
            return True  # "he", "the minister": resolved to the article's protagonist
        return all(t.text in _CONNECTIVES for t in toks[: trigger.first])
