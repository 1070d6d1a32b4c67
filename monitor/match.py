"""Pure: find meetings of watched officials in an item's text. No I/O.

For each sentence (the body first, then the headline):

1. mentions: watched officials by name or alias (and, once named in full, by surname); by
   title when a country qualifies it ("Syria's Defence Minister", "وزير الدفاع السوري",
   "ministre syrien de la Défense") or the article names one official holding it (the one it
   names most, if several); "he"/"the minister" for the last official named;
2. cues (``kinds``): a meeting, call, visit or future phrase must be present; a contact
   recalled as background or called off is none;
3. parties (``parties``): the watched officials, countries that stand next to a party noun
   ("the Jordanian ambassador", "a delegation from Russia") or right after the meeting phrase,
   and offices no country qualifies, held in the country the official is visiting; a country
   that is only a topic ("to discuss the situation in Lebanon") is no party;
4. one event per pair of parties from different countries with a watched official on one
   side and per office on the other (the president and the defence minister are two
   meetings; two watched officials meeting is one event, a trilateral one per pair).

Then the article as a whole (``evidence``): one meeting per pair, office and date; a date the
article states for "the meeting" elsewhere; "a follow-up meeting" as the same pair's plan.
Each event carries the sentence, the spans that made it, and how its date was found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from monitor.dates import find_date
from monitor.evidence import (
    CONTACT,
    date_from_elsewhere,
    date_source,
    in_pair,
    is_word,
    keep,
    split_sentences,
)
from monitor.gazetteer import Gazetteer
from monitor.kinds import kind_of, no_contact_object, old_news
from monitor.lexicon import Cue, Lexicon, load_lexicon
from monitor.models import DateSource, EventKind, Meeting, Official, Span, Watchlist
from monitor.parties import counterpart_of, not_a_state, parties_of, qualifier, where_is
from monitor.tokens import Hit, PhraseIndex, Token, arabic_forms, phrase_tokens, tokenize, words_of

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
class _Article:
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


def _has_phrase(
    words: set[str], first: frozenset[str], sets: dict[str, tuple[frozenset[str], ...]]
) -> bool:
    """Whether all the words of some phrase (``PhraseIndex.word_sets``) are in ``words``; most
    texts share no word with ``first``, and the set intersection says so in C."""
    return any(words.issuperset(phrase) for w in words & first for phrase in sets[w])


class Matcher:
    """Compiled watchlists: call ``match`` once per item."""

    def __init__(
        self, watchlists: Sequence[Watchlist], gazetteer: Gazetteer, lexicon: Lexicon | None = None
    ) -> None:
        self._lex = lexicon or load_lexicon()
        self._watched = {
            w.name: (None if w.countries is None else set(w.countries)) for w in watchlists
        }
        self._officials = {o.id: o for w in watchlists for o in w.officials}
        self._names: PhraseIndex[str] = PhraseIndex(allow_initials=True)
        # titles map to a title key; holders are looked up by (key, country) so a title
        # that thousands of officials share costs one dict lookup, not a scan
        self._titles: PhraseIndex[tuple[str, ...]] = PhraseIndex()
        self._holders: dict[tuple[tuple[str, ...], str], list[Official]] = {}
        self._titles_of: dict[str, set[tuple[str, ...]]] = {}
        for o in self._officials.values():
            for name in (o.name, *o.aliases):
                self._names.add(phrase_tokens(name), o.id)
            for title in o.titles:
                words = phrase_tokens(title)
                self._titles.add(words, words)
                if (construct := _arabic_construct(words)) is not None:
                    self._titles.add(construct, words)
                self._holders.setdefault((words, o.country), []).append(o)
                self._titles_of.setdefault(o.id, set()).add(words)
        self._places: PhraseIndex[str] = PhraseIndex()
        for form, place in gazetteer.surface_forms():
            self._places.add(phrase_tokens(form), place.name)
        # an article that lacks a word of every watched name and title reports no meeting of
        # ours ("he" needs a name before it): most articles stop here, a cheap prefilter
        # A title alone names someone only with its country beside it ("Syria's Defence
        # Minister") or with the holder named elsewhere in the article.
        # Whole phrases, not first words: "air defence" starts "Defence Minister" but is none.
        homes = {o.country for o in self._officials.values()}
        home_places: PhraseIndex[str] = PhraseIndex()
        for form, place in gazetteer.surface_forms():
            if place.name in homes:
                home_places.add(phrase_tokens(form), place.name)
        self._name_sets = self._names.word_sets()
        self._title_sets = self._titles.word_sets()
        self._home_sets = home_places.word_sets()
        self._name_words = frozenset(self._name_sets)
        self._title_words = frozenset(self._title_sets)
        self._home_words = frozenset(self._home_sets)

    # ------------------------------------------------------------------ article

    def match(self, title: str, text: str, published: date | None) -> list[Meeting]:
        """Every meeting the item reports, one per (official, country, kind) and date."""
        body = text if not title or text.startswith(title) else f"{text}\n\n{title}"
        if not self._may_mention(body):
            return []
        sentences = split_sentences(body)
        article = _Article()
        tokenised = [tokenize(s) for s in sentences]
        counts: dict[str, int] = {}
        named = [list(self._names.find(toks)) for toks in tokenised]
        if any(named):
            named = self._surnames(tokenised, named)
        for hits in named:
            for hit in hits:
                article.named.update(hit.values)
                for oid in hit.values:
                    counts[oid] = counts.get(oid, 0) + 1
        if counts:
            article.protagonist = self._officials[max(counts, key=lambda k: counts[k])]
        found: list[Meeting] = []
        for n, (sentence, toks, hits) in enumerate(zip(sentences, tokenised, named, strict=True)):
            for meeting in self._sentence(n, sentence, toks, hits, published, article, found):
                keep(found, meeting)
        return date_from_elsewhere(found, article.loose_dates, published)

    def _surnames(
        self, tokenised: list[list[Token]], named: list[list[Hit[str]]]
    ) -> list[list[Hit[str]]]:
        """Once an article names an official in full, his surname alone names him too
        ("Defence Minister Rajnath Singh … Singh will co-chair …"), as outlets write."""
        index: PhraseIndex[str] = PhraseIndex()
        for hit in (h for hits in named for h in hits):
            for oid in hit.values:
                words = phrase_tokens(self._officials[oid].name)
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

    def _may_mention(self, body: str) -> bool:
        """A cheap prefilter: can this article name a watched official at all? Most articles
        stop here after one pass over their distinct words."""
        words = words_of(body)
        # only Arabic words have other forms; isascii() is a flag check, max() a pass
        if not body.isascii() and max(words, default="") >= "\u0600":
            for w in [w for w in words if w >= "\u0600"]:
                words.update(arabic_forms(w))
        if _has_phrase(words, self._name_words, self._name_sets):
            return True
        return _has_phrase(words, self._title_words, self._title_sets) and _has_phrase(
            words, self._home_words, self._home_sets
        )

    # ------------------------------------------------------------------ sentence

    def _sentence(
        self,
        n: int,
        sentence: str,
        toks: list[Token],
        names: list[Hit[str]],
        published: date | None,
        article: _Article,
        found_so_far: Sequence[Meeting],
    ) -> Iterable[Meeting]:
        # "host-nation", "meeting-room": the first half of a compound is no verb
        cues = [c for c in self._lex.cues.find(toks) if sentence[c.end : c.end + 1] != "-"]
        kind, trigger = kind_of(toks, cues, self._lex)
        if kind is None:
            # no contact reported here; only the subject is worth remembering for "he"
            for hit in names:
                article.recent.append((n, self._officials[hit.values[0]]))
                break
            return
        places = [p for p in self._places.find(toks) if not not_a_state(self._lex, p, toks)]
        article.location = (
            where_is(self._lex, sentence, toks, places, cues, names) or article.location
        )
        on = find_date(sentence, published, ahead=kind is EventKind.PLANNED)
        # "his deputy received …": someone else acts, and no earlier subject carries over
        mentions, stood_in = self._mentions(sentence, toks, names, places, on or published, article)
        if on is not None and not mentions and kind in CONTACT:
            article.loose_dates.append(on)
        if mentions:
            article.recent.append((n, mentions[0][1]))  # the first named is usually the subject
        if kind is None or trigger is None or any(Cue.CANCEL in c.values for c in cues):
            return
        if old_news(trigger, cues):
            return
        if on is not None and published is not None and on > published:
            kind = EventKind.PLANNED  # "during the meeting next Wednesday"
        if no_contact_object(self._lex, toks, trigger):
            return  # "received a letter from the king", "the first batch of drones"
        if not stood_in and self._subject_dropped(toks, cues, trigger, mentions):
            mentions = mentions + self._recent(n, article, mentions)
        found = list(
            self._events(
                sentence, toks, places, cues, mentions, trigger, kind, on, published, article
            )
        )
        if (
            not found
            and not stood_in
            and self._all_objects(toks, mentions)
            and (recent := self._recent(n, article, mentions))
        ):
            # "The visit included a meeting with the Russian Defence Minister": the sentence
            # names only the other side; its subject is the official of the sentences before
            found = list(
                self._events(
                    sentence,
                    toks,
                    places,
                    cues,
                    mentions + recent,
                    trigger,
                    kind,
                    on,
                    published,
                    article,
                )
            )
        if (
            not found
            and found_so_far
            and any(Cue.PAIR_ANAPHOR in c.values for c in cues)
            and all(in_pair(o.id, found_so_far) for _, o in mentions)
        ):
            # "They agreed to meet again in Riyadh", "a follow-up meeting …, Mr Menassa said":
            # the pair of the meeting just reported (a speaker from it changes nothing);
            # a follow-up "in Saudi Arabia" is not the pair with Saudi Arabia (the host)
            where = {p.values[0] for p in places}
            pairs = [
                m
                for m in found_so_far
                if not where & {m.country, m.official_country}
                and all(o.id in (m.official_id, m.counterpart_id) for _, o in mentions)
            ]
            found = [
                replace(
                    (pairs or list(found_so_far))[-1],
                    kind=kind,
                    evidence=sentence,
                    trigger=sentence[trigger.start : trigger.end],
                    spans=(Span(trigger.start, trigger.end, "trigger"),),
                    date=on or published,
                    date_source=date_source(on, published),
                )
            ]
        yield from found

    def _events(
        self,
        sentence: str,
        toks: list[Token],
        places: list[Hit[str]],
        cues: list[Hit[Cue]],
        mentions: list[tuple[Span | None, Official]],
        trigger: Hit[Cue],
        kind: EventKind,
        on: date | None,
        published: date | None,
        article: _Article,
    ) -> Iterable[Meeting]:
        if not mentions:
            return
        parties = parties_of(self._lex, toks, places, cues, mentions, trigger, article.location)
        if kind in (EventKind.VISIT, EventKind.PLANNED) and (
            len({p.values[0] for p in places if p.first > trigger.last}) >= 3
        ):
            return  # a tour of several countries is no identifiable meeting
        met: set[tuple[frozenset[str], str]] = set()
        for span, official in mentions:
            watched = self._watched.get(official.watchlist)
            for party in parties:
                sides = frozenset((official.country, party.country))
                # two watched officials meeting is one event, not two; "talks with the Syrian
                # defence minister and the Syrian chief of staff" are two
                counterpart, role = counterpart_of(
                    self._lex, sentence, toks, places, cues, party, official, trigger
                )
                key = (sides, "" if party.official else role)
                if party.country == official.country or key in met:
                    continue
                if watched is not None and party.country not in watched:
                    continue
                met.add(key)
                yield Meeting(
                    official_id=official.id,
                    official_name=official.name,
                    official_country=official.country,
                    watchlist=official.watchlist,
                    country=party.country,
                    kind=kind,
                    date=on or published,
                    date_source=DateSource.TEXT
                    if on
                    else (DateSource.PUBLISHED if published else DateSource.UNKNOWN),
                    evidence=sentence,
                    trigger=sentence[trigger.start : trigger.end],
                    counterpart=counterpart,
                    counterpart_office=role,
                    counterpart_id=party.official.id if party.official else "",
                    spans=tuple(
                        s
                        for s in (
                            span,
                            Span(trigger.start, trigger.end, "trigger"),
                            Span(party.start, party.end, "counterpart"),
                        )
                        if s is not None
                    ),
                )

    # ------------------------------------------------------------------ who

    def _mentions(
        self,
        sentence: str,
        toks: list[Token],
        names: list[Hit[str]],
        places: list[Hit[str]],
        on: date | None,
        article: _Article,
    ) -> tuple[list[tuple[Span | None, Official]], bool]:
        """The watched officials a sentence names, and whether it names someone acting for
        one ("نائب وزير الدفاع", "Abu Qasra's adviser"), who is not him."""
        out: dict[str, tuple[Span | None, Official]] = {}
        stood_in = False
        for hit in names:
            if self._stand_in(toks, hit.first, hit.last):
                stood_in = True
                continue
            for oid in hit.values:
                out.setdefault(oid, (Span(hit.start, hit.end, "official"), self._officials[oid]))
        # titles are searched with countries taken out, so "ministre syrien de la Défense"
        # reads as the title "ministre de la Défense" qualified by "syrien"
        in_place = {i for p in places for i in range(p.first, p.last + 1)}
        keep = [i for i in range(len(toks)) if i not in in_place]
        for title in self._titles.find([toks[i] for i in keep]):
            first, last = keep[title.first], keep[title.last]
            if any(first - 3 <= h.first <= last + 3 for h in names):
                continue  # "Defence Minister Rajnath Singh": the name says who
            if self._stand_in(toks, first, last):
                stood_in = True
                continue
            country = qualifier(self._lex, sentence, toks, places, first, last)
            official = self._resolve_title(title.values, country, on, article)
            if official is not None:
                out.setdefault(
                    official.id, (Span(toks[first].start, toks[last].end, "official"), official)
                )
        return list(out.values()), stood_in

    def _stand_in(self, toks: list[Token], first: int, last: int) -> bool:
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
        article: _Article,
    ) -> Official | None:
        """A title names one official: the holder from the qualifying country on that date,
        or, with no qualifier, the one holder the article names."""
        if country is not None:
            holders = [o for k in keys for o in self._holders.get((k, country), ())]
        else:
            holders = [
                self._officials[i]
                for i in sorted(article.named)
                if any(k in self._titles_of.get(i, ()) for k in keys)
            ]
        holders = [o for o in holders if o.holds_office(on)]
        if len(holders) > 1 and on is None:
            holders = [o for o in holders if o.until is None]  # an undated text: the incumbent
        if len(holders) > 1 and country is None and article.protagonist in holders:
            return article.protagonist  # "Defense Minister participates …": the article's own
        return holders[0] if len(holders) == 1 else None

    def _recent(
        self, n: int, article: _Article, mentions: list[tuple[Span | None, Official]]
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

    def _all_objects(self, toks: list[Token], mentions: list[tuple[Span | None, Official]]) -> bool:
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

    def _subject_dropped(
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
