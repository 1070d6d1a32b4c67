"""Pure: find meetings of watched officials in an item's text. No I/O.

For each sentence (the body first, then the headline):

1. mentions (``who``): watched officials by name or alias (and, once named in full, by
   surname); by title when a country qualifies it ("Syria's Defence Minister", "وزير الدفاع
   السوري", "ministre syrien de la Défense") or the article names one official holding it
   (the one it names most, if several); "he"/"the minister" for the last official named;
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
from dataclasses import replace
from datetime import date

from monitor.dates import find_date
from monitor.evidence import (
    CONTACT,
    date_from_elsewhere,
    date_source,
    in_pair,
    keep,
    split_sentences,
)
from monitor.gazetteer import Gazetteer
from monitor.kinds import kind_of, no_contact_object, old_news
from monitor.lexicon import Cue, Lexicon, load_lexicon
from monitor.models import DateSource, EventKind, Meeting, Official, Span, Watchlist
from monitor.parties import counterpart_of, not_a_state, parties_of, where_is
from monitor.tokens import Hit, PhraseIndex, Token, arabic_forms, phrase_tokens, tokenize, words_of
from monitor.who import Article, Who


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
        self._who = Who((o for w in watchlists for o in w.officials), self._lex)
        self._places: PhraseIndex[str] = PhraseIndex()
        for form, place in gazetteer.surface_forms():
            self._places.add(phrase_tokens(form), place.name)
        # an article that lacks a word of every watched name and title reports no meeting of
        # ours ("he" needs a name before it): most articles stop here, a cheap prefilter
        # A title alone names someone only with its country beside it ("Syria's Defence
        # Minister") or with the holder named elsewhere in the article.
        # Whole phrases, not first words: "air defence" starts "Defence Minister" but is none.
        homes = {o.country for o in self._who.by_id.values()}
        home_places: PhraseIndex[str] = PhraseIndex()
        for form, place in gazetteer.surface_forms():
            if place.name in homes:
                home_places.add(phrase_tokens(form), place.name)
        self._name_sets = self._who.names.word_sets()
        self._title_sets = self._who.titles.word_sets()
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
        article = Article()
        tokenised = [tokenize(s) for s in sentences]
        counts: dict[str, int] = {}
        named = self._who.named(tokenised)
        for hits in named:
            for hit in hits:
                article.named.update(hit.values)
                for oid in hit.values:
                    counts[oid] = counts.get(oid, 0) + 1
        if counts:
            article.protagonist = self._who.by_id[max(counts, key=lambda k: counts[k])]
        found: list[Meeting] = []
        for n, (sentence, toks, hits) in enumerate(zip(sentences, tokenised, named, strict=True)):
            for meeting in self._sentence(n, sentence, toks, hits, published, article, found):
                keep(found, meeting)
        return date_from_elsewhere(found, article.loose_dates, published)

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
        article: Article,
        found_so_far: Sequence[Meeting],
    ) -> Iterable[Meeting]:
        # "host-nation", "meeting-room": the first half of a compound is no verb
        cues = [c for c in self._lex.cues.find(toks) if sentence[c.end : c.end + 1] != "-"]
        kind, trigger = kind_of(toks, cues, self._lex)
        if kind is None:
            # no contact reported here; only the subject is worth remembering for "he"
            for hit in names:
                article.recent.append((n, self._who.by_id[hit.values[0]]))
                break
            return
        places = [p for p in self._places.find(toks) if not not_a_state(self._lex, p, toks)]
        article.location = (
            where_is(self._lex, sentence, toks, places, cues, names) or article.location
        )
        on = find_date(sentence, published, ahead=kind is EventKind.PLANNED)
        # "his deputy received …": someone else acts, and no earlier subject carries over
        mentions, stood_in = self._who.mentions(
            sentence, toks, names, places, on or published, article
        )
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
        if not stood_in and self._who.subject_dropped(toks, cues, trigger, mentions):
            mentions = mentions + self._who.recent(n, article, mentions)
        found = list(
            self._events(
                sentence, toks, places, cues, mentions, trigger, kind, on, published, article
            )
        )
        if (
            not found
            and not stood_in
            and self._who.all_objects(toks, mentions)
            and (recent := self._who.recent(n, article, mentions))
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
        article: Article,
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
