"""Pure: text normalisation applied identically to aliases and to article text. No I/O.

``fold`` keeps string length stable enough for matching but not for offsets; matchers
that need offsets into the original text use ``fold_with_map``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Arabic diacritics (tashkeel), Quranic marks and superscript alef; tatweel is U+0640.
_AR_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_AR_MAP = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        "ک": "ك",
        "ی": "ي",
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
        # typographic apostrophes and dashes fold to ASCII so "Syria’s" matches "Syria's"
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "‐": "-",
        "‑": "-",
        "–": "-",
        "—": "-",
    }
)


@functools.cache
def _fold_char(ch: str) -> str:
    ch = unicodedata.normalize("NFKC", ch)
    ch = _AR_MARKS.sub("", ch).translate(_AR_MAP)
    decomposed = unicodedata.normalize("NFKD", ch)
    ch = "".join(c for c in decomposed if not unicodedata.combining(c))
    return ch.casefold()


class _FoldTable(dict[int, str]):
    """A str.translate table filled on first sight of each character. Folding is per
    character, so caching it makes folding run at str.translate's C speed; the cache only
    grows with the alphabet, not with the text. ``irregular`` holds the characters that fold
    to anything but exactly one character (marks vanish, ß becomes ss)."""

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()

    def __missing__(self, key: int) -> str:
        folded = _fold_char(chr(key))
        if len(folded) != 1:
            self.irregular.add(chr(key))
        self[key] = folded
        return folded


_TABLE = _FoldTable()


class _WordTable(dict[int, str]):
    """``_TABLE`` with every folded character that is no part of a word turned into a space.
    A character is part of a word exactly when it is alphanumeric or "_" (what ``\\w``
    matches), a property of one character, so ``text.translate(_WORD_TABLE).split()`` gives
    the words of ``re.findall(r"\\w+", fold(text))`` at C speed instead of the regex
    engine's, each folded character at the same position."""

    def __missing__(self, key: int) -> str:
        spaced = "".join(c if c.isalnum() or c == "_" else " " for c in _TABLE[key])
        self[key] = spaced
        return spaced


_WORD_TABLE = _WordTable()


def fold(text: str) -> str:
    """NFKC, case fold, strip Latin diacritics and Arabic marks, unify Arabic letter forms."""
    return text.translate(_TABLE)


def fold_words(text: str) -> list[str]:
    """The words of ``fold(text)``: the same list as ``re.findall(r"\\w+", fold(text))``."""
    return text.translate(_WORD_TABLE).split()


def _with_map(text: str, table: dict[int, str]) -> tuple[str, list[int] | None]:
    folded = text.translate(table)
    # len() first: cheap, and it differs whenever some character folded to 0 or 2+
    if len(folded) == len(text) and _TABLE.irregular.isdisjoint(text):
        return folded, None
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        f = table[ord(ch)]
        out.append(f)
        index.extend([i] * len(f))
    return "".join(out), index


def fold_with_map(text: str) -> tuple[str, list[int] | None]:
    """Fold ``text`` and return, for each folded character, its index in ``text``; the map is
    None when every character folded to exactly one (index i is i)."""
    return _with_map(text, _TABLE)


def fold_spaced_with_map(text: str) -> tuple[str, list[int] | None]:
    """``fold_with_map`` with every character that is no part of a word a space: splitting
    the result on " " gives the words, and their positions come from the pieces' lengths."""
    return _with_map(text, _WORD_TABLE)


# C0 controls but tab and newline, DEL, and the C1 controls: no text needs them. PostgreSQL
# refuses NUL in a text column (one such character failed its feed's every poll there), and
# an escape sequence in a title would reach an admin's terminal through console alerts.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without control characters (tab and newline are kept)."""
    return _CONTROLS.sub("", text)


def squash(text: str) -> str:
    """Collapse runs of white space to one space and strip the ends. ``str.split()`` splits
    on exactly the characters ``\\s`` matches (``str.isspace``), several times faster than
    ``re.sub(r"\\s+", " ", text).strip()``."""
    return " ".join(text.split())
