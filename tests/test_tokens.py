"""Tokens and folding: the fast paths (translate + split, no regex engine) give exactly what
the plain regex definitions give, offsets included."""

from __future__ import annotations

import random
import re

import pytest

from monitor.normalise import fold, fold_spaced_with_map, fold_with_map, fold_words, squash
from monitor.tokens import (
    Hit,
    PhraseIndex,
    Token,
    arabic_forms,
    phrase_tokens,
    skeleton,
    tokenize,
    words_of,
)

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


def reference_tokens(text: str) -> list[Token]:
    """The definition: \\w+ runs of the folded text, offsets mapped back to ``text``."""
    folded, index = fold_with_map(text)
    out = []
    for m in _WORD.finditer(folded):
        start, end = m.start(), m.end()
        if index is not None:
            start, end = index[start], index[end - 1] + 1
        out.append(Token(skeleton(m.group()), start, end))
    return out


CASES = [
    pytest.param("", id="empty"),
    pytest.param("   \n\t ", id="only-space"),
    pytest.param("Syria’s Defence Minister met Jordan's envoy.", id="apostrophes"),
    pytest.param("Yunus-Bek Yevkurov, Deputy Defence Minister", id="hyphen"),
    pytest.param("Lloyd J. Austin III", id="initial"),
    pytest.param("Abū Qaṣrah and Abou Kasra", id="diacritics"),
    pytest.param("Straße, ﬁnance, Ⅳ, ①", id="folds-to-several"),
    pytest.param("وزيرُ الدفاعِ السوري يستقبلُ السفيرَ الأردني", id="arabic-tashkeel"),
    pytest.param("وزيـــر الدفاع ١٢ ۳", id="tatweel-digits"),
    pytest.param("e\u0301te\u0301 \u200bzero\u200bwidth", id="combining-zero-width"),
    pytest.param("a\u00a0b\u2003c_d", id="nbsp-em-space-underscore"),
    pytest.param("ministre syrien de la Défense a reçu l'ambassadeur", id="french"),
    pytest.param("Министр обороны встретился", id="cyrillic"),
    pytest.param("...!!! ,,, ", id="punctuation-only"),
]


@pytest.mark.parametrize("text", CASES)
def test_tokenize_matches_the_regex_definition(text: str) -> None:
    assert tokenize(text) == reference_tokens(text)


@pytest.mark.parametrize("text", CASES)
def test_word_helpers_match_the_regex_definition(text: str) -> None:
    assert fold_words(text) == _WORD.findall(fold(text))
    assert words_of(text) == {skeleton(w) for w in _WORD.findall(fold(text))}
    assert squash(text) == _SPACE.sub(" ", text).strip()


def test_spaced_fold_keeps_the_folded_alignment() -> None:
    text = "Straße: Abū-Qaṣrah’s وزيرُ"
    spaced, index = fold_spaced_with_map(text)
    folded, index2 = fold_with_map(text)
    assert index == index2
    assert len(spaced) == len(folded)
    assert all(s == f or s == " " for s, f in zip(spaced, folded, strict=True))


def test_tokenize_random_mixed_text() -> None:
    # letters, marks, digits, spaces, punctuation and characters that fold to 0 or 2+
    alphabet = "aZé ßﬁİıأإةىـًُ،؛'’-–\n\u00a0\u0301_0١.,ǅⅣ①" + "".join(
        chr(c) for c in range(0x370, 0x3A0)
    )
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        assert tokenize(text) == reference_tokens(text), repr(text)


def test_offsets_point_at_the_original_words() -> None:
    text = "Straße Abū Qaṣrah"
    assert [text[t.start : t.end] for t in tokenize(text)] == ["Straße", "Abū", "Qaṣrah"]
    assert [t.text for t in tokenize(text)] == ["strase", "abu", "qasra"]


def test_phrase_index_finds_longest_hits() -> None:
    index: PhraseIndex[str] = PhraseIndex(allow_initials=True)
    index.add(phrase_tokens("Lloyd Austin"), "austin")
    index.add(phrase_tokens("Lloyd"), "lloyd")
    toks = tokenize("US Secretary Lloyd J. Austin met Lloyd.")
    hits = list(index.find(toks))
    assert hits == [Hit(2, 4, 13, 28, ("austin",)), Hit(6, 6, 33, 38, ("lloyd",))]
    assert hits[0].values == ("austin",)


def test_word_sets_key_each_phrase_by_its_rarest_word() -> None:
    index: PhraseIndex[str] = PhraseIndex()
    for name in ("Mohammed bin Salman", "Mohammed Ali", "Mohammed Ali Hassan", "Ali"):
        index.add(phrase_tokens(name), name)
    sets = index.word_sets()
    every = [s for group in sets.values() for s in group]
    assert sorted(map(sorted, every)) == sorted(
        map(
            sorted,
            [
                {"mohamed", "bin", "salman"},
                {"mohamed", "ali"},
                {"mohamed", "ali", "hasan"},
                {"ali"},
            ],
        )
    )
    # each set sits under one of its own words, the one fewest phrases share
    assert all(key in s for key, group in sets.items() for s in group)
    assert frozenset({"mohamed", "bin", "salman"}) not in sets.get("mohamed", ())


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("US Secretary Lloyd J. Austin met Lloyd in Jordan.", id="latin"),
        pytest.param("استقبل وزير الدفاع السوري لويد أوستن والأردن", id="arabic"),
        pytest.param("Nothing to see here at all.", id="no-phrase"),
    ],
)
def test_find_reads_tokenize_output_as_any_token_list(text: str) -> None:
    # tokenize's list carries its texts for a C-speed first pass; a plain copy goes the slow
    # way; both must find the same
    index: PhraseIndex[str] = PhraseIndex(allow_initials=True)
    for phrase in ("Lloyd Austin", "Lloyd", "لويد أوستن", "الأردن", "Jordan", "وزير الدفاع"):
        index.add(phrase_tokens(phrase), phrase)
    toks = tokenize(text)
    assert list(index.find(toks)) == list(index.find(list(toks)))
    assert list(index.find(toks)) == list(index.find(toks[:]))


@pytest.mark.parametrize(
    ("word", "reading"),
    [
        pytest.param("والتقى", "التقي", id="and-before-the-article-of-a-verb"),
        pytest.param("وبحث", "بحث", id="and-before-a-b-word"),
        pytest.param("والأردن", "الاردن", id="and-the"),
        pytest.param("للأردن", "الاردن", id="for-the"),
        pytest.param("بالأردن", "اردن", id="in-the"),
    ],
)
def test_arabic_forms_try_every_proclitic_reading(word: str, reading: str) -> None:
    (token,) = tokenize(word)
    assert reading in arabic_forms(token.text)
