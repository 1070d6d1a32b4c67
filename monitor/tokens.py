"""Pure: word tokens with offsets, transliteration skeletons, and a phrase index that finds
multi-word names in token streams. No I/O.

Matching on tokens rather than characters makes the awkward cases simple: hyphens and spaces
are the same ("Yunus-Bek"), a middle initial may sit inside a name ("Lloyd J. Austin"),
Arabic proclitics may stick to a word (والأردن, بالاتحاد), and Latin spellings of one Arabic
name fold to one skeleton (Abu Qasra, Abou Kasra, Abū Qaṣrah).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import accumulate, compress, repeat
from operator import add
from typing import Generic, NamedTuple, TypeVar

from monitor.normalise import fold_spaced_with_map, fold_words

T = TypeVar("T")

_ARABIC = re.compile(r"[\u0600-\u06ff]")
# و ف ب ل ك and the article ال, in the orders they stack: وبال، فلل، كال …
_DOUBLED = re.compile(r"(.)\1+")
_PROCLITIC = re.compile(r"^(?:[وف]?(?:[بلك]|ال|لل|بال|كال)?|[وف])(?=..)")


class Token(NamedTuple):
    """A NamedTuple rather than a frozen dataclass: articles make thousands of these, and a
    tuple is several times cheaper to build."""

    text: str  # folded and skeletonised
    start: int  # offsets into the original (unfolded) string
    end: int


class TokenList(list[Token]):
    """``tokenize``'s tokens, with their texts as a list of their own so each ``PhraseIndex``
    that searches the sentence can scan them at C speed; never changed after ``tokenize``
    (slices and copies are plain lists, which ``find`` handles the slow way)."""

    __slots__ = ("arabic", "texts")
    texts: list[str]
    arabic: bool  # a word may be Arabic, with proclitic forms to try


def _skeleton(word: str) -> str:
    """``skeleton`` without the cache."""
    if not word.isascii() or word.isdigit():
        return word
    if word in ("el", "al", "ul"):
        return "al"
    w = word.replace("abou", "abu").replace("ou", "u").replace("k", "q").replace("ph", "f")
    w = _DOUBLED.sub(r"\1", w)
    if len(w) > 3 and w.endswith("h") and w[-2] in "aeiou":
        w = w[:-1]
    return w


class _Skeletons(dict[str, str]):
    """word → skeleton, filled on first sight. A plain dict lookup (``__missing__`` only for
    new words) costs less than ``lru_cache``'s bookkeeping on every hit, and the matcher
    looks up every word of every article; cleared when full, so a stream of new words
    cannot grow it without bound."""

    limit = 200_000

    def __missing__(self, word: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        folded = self[word] = _skeleton(word)
        return folded


_SKELETONS = _Skeletons()
_skeleton_of = _SKELETONS.__getitem__


def skeleton(word: str) -> str:
    """Fold Latin transliteration variants of one folded word: abou→abu, ou→u, k→q,
    a final h after a vowel dropped, doubled letters single, el→al."""
    return _skeleton_of(word)


def tokenize(text: str) -> list[Token]:
    """Word tokens of ``text`` with offsets into it; apostrophes and hyphens split words.

    The words are ``re.finditer(r"\\w+", fold(text))``'s, found without the regex engine:
    the folded text has every character that is no part of a word turned into a space, so
    splitting it on " " gives the words and empty pieces, and piece k starts after the k
    pieces before it and their k spaces. Every step is a C loop (this is the matcher's
    hottest function)."""
    spaced, index = fold_spaced_with_map(text)
    pieces = spaced.split(" ")
    starts = list(compress(accumulate(map(add, map(len, pieces), repeat(1)), initial=0), pieces))
    words = list(filter(None, pieces))
    ends = list(map(add, starts, map(len, words)))
    if index is not None:  # some character folded to more or fewer than one
        starts = [index[s] for s in starts]
        ends = [index[e - 1] + 1 for e in ends]
    texts = list(map(_skeleton_of, words))
    # tuple.__new__ builds the NamedTuple without its Python-level __new__
    out = TokenList(map(tuple.__new__, repeat(Token), zip(texts, starts, ends, strict=True)))
    out.texts = texts
    # only words from U+0600 on may take other (Arabic) forms; isascii() is a flag check
    out.arabic = not text.isascii() and max(texts, default="") >= "\u0600"
    return out


def words_of(text: str) -> set[str]:
    """The distinct token texts of ``text``, without offsets: the cheap pass of a prefilter."""
    return set(map(_skeleton_of, set(fold_words(text))))


@functools.lru_cache(maxsize=50_000)
def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """The token texts of a name, title or trigger as the index stores them."""
    return tuple(t.text for t in tokenize(phrase))


@functools.lru_cache(maxsize=100_000)
def arabic_forms(word: str) -> tuple[str, ...]:
    """Other forms an Arabic word may stand for: without proclitics (والأردن → الأردن,
    أردن) and without the accusative ending of an indefinite word (وفدا → وفد)."""
    if not _ARABIC.match(word):
        return ()
    forms = _unstuck(word)
    if len(word) > 4 and word.endswith("ا"):
        forms += [word[:-1], *_unstuck(word[:-1])]
    return tuple(dict.fromkeys(forms))


_ATTACHED = ("بال", "كال", "لل", "ال", "ب", "ل", "ك")


def _unstuck(word: str) -> list[str]:
    """Every reading of ``word`` without its proclitics, least stripped first: والتقى is
    "and" + التقى (not و + ال + تقى), وبحث is "and" + بحث, للأردن is "for" + الأردن."""
    out = []
    base = word
    if word[0] in "وف" and len(word) > 3:
        base = word[1:]
        out.append(base)
    for p in _ATTACHED:
        if base.startswith(p) and len(base) - len(p) >= 2:
            out.append(base[len(p) :])
            if p == "لل":
                out.append("ال" + base[2:])
    return out


def strip_proclitic(word: str) -> str | None:
    """An Arabic word without its leading و ف ب ل ك ال, or None when nothing sticks to it."""
    if not _ARABIC.match(word):
        return None
    bare = _PROCLITIC.sub("", word, count=1)
    return bare if bare != word and len(bare) >= 2 else None


class Hit(NamedTuple, Generic[T]):
    """A NamedTuple for the same reason as ``Token``: a frozen dataclass's ``__init__`` sets
    each field through ``object.__setattr__``, and matching builds many hits per article."""

    first: int  # token index of the first word
    last: int  # token index of the last word (inclusive)
    start: int  # character offsets into the original text
    end: int
    values: tuple[T, ...]


class PhraseIndex(Generic[T]):
    """Multi-word phrases → values, found longest-first in a token stream."""

    def __init__(self, allow_initials: bool = False) -> None:
        self._root: dict[str, object] = {}
        self._allow_initials = allow_initials
        self.size = 0

    def add(self, phrase: Iterable[str], value: T) -> None:
        node = self._root
        words = tuple(phrase)
        if not words:
            return
        for w in words:
            node = node.setdefault(w, {})  # type: ignore[assignment]
        values: list[T] = node.setdefault("", [])  # type: ignore[assignment]
        if value not in values:
            values.append(value)
            self.size += 1

    def first_words(self) -> list[str]:
        """Words that can start a phrase of this index."""
        return [w for w in self._root if w]

    def word_sets(self) -> dict[str, tuple[frozenset[str], ...]]:
        """The word set of every phrase, keyed by its rarest word. ``find`` reports a phrase
        only where all its words occur (as words or, for Arabic, as one of ``arabic_forms``),
        so a text that lacks a key word holds none of its phrases, and one that has it holds
        one only if it has all the words of one of its sets: a prefilter's test that needs
        no token order. Rarest, not first: "mohammed" starts hundreds of names, the surname
        few, so a text with the key word has few sets to check."""
        phrases: set[frozenset[str]] = set()
        stack: list[tuple[dict[str, object], tuple[str, ...]]] = [(self._root, ())]
        while stack:
            node, path = stack.pop()
            if "" in node and path:
                phrases.add(frozenset(path))
            stack.extend((child, (*path, w)) for w, child in node.items() if w)  # type: ignore[misc]
        counts = Counter(w for phrase in phrases for w in phrase)
        out: dict[str, list[frozenset[str]]] = {}
        for phrase in phrases:
            key = min(phrase, key=lambda w: (counts[w], w))
            out.setdefault(key, []).append(phrase)
        return {w: tuple(sets) for w, sets in out.items()}

    @staticmethod
    def _step(node: dict[str, object], word: str) -> dict[str, object] | None:
        child = node.get(word)
        if child is None and word >= "\u0600":  # only Arabic words take these detours
            for form in arabic_forms(word):
                child = node.get(form)
                if child is not None:
                    break
        return child  # type: ignore[return-value]

    def find(self, tokens: list[Token]) -> Iterator[Hit[T]]:
        """Non-overlapping hits, each the longest phrase starting at its first token."""
        if type(tokens) is TokenList:
            texts = tokens.texts
            # most sentences hold no word that starts a name (or a title, a place): one C
            # pass says so; a word that is not Arabic starts a phrase only as a root key
            if not tokens.arabic and self._root.keys().isdisjoint(texts):
                return
        else:
            texts = [t.text for t in tokens]
        n = len(texts)
        root = self._root
        first = root.get  # bound once: this loop runs for every word of every sentence
        step = self._step
        resume = 0
        for i, word in enumerate(texts):
            if i < resume:
                continue  # inside the last hit
            node: dict[str, object] | None = first(word)  # type: ignore[assignment]
            if node is None:
                if word < "\u0600":  # only Arabic words take other forms
                    continue
                node = step(root, word)
            best: tuple[int, list[T]] | None = None
            j = i
            while node is not None:
                if "" in node:
                    best = (j, node[""])  # type: ignore[assignment]
                j += 1
                if j >= n:
                    break
                nxt = step(node, texts[j])
                if nxt is None and self._allow_initials and len(texts[j]) == 1 and j + 1 < n:
                    # a middle initial inside a name: "Lloyd J. Austin"
                    nxt = step(node, texts[j + 1])
                    j += nxt is not None
                node = nxt
            if best is None:
                continue
            last, values = best
            # tuple.__new__: as in ``tokenize``, without the NamedTuple's Python-level __new__
            yield tuple.__new__(Hit, (i, last, tokens[i].start, tokens[last].end, tuple(values)))
            resume = last + 1
