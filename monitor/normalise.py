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


def fold(text: str) -> str:
    """NFKC, case fold, strip Latin diacritics and Arabic marks, unify Arabic letter forms."""
    return text.translate(_TABLE)


def fold_with_map(text: str) -> tuple[str, list[int] | None]:
    """Fold ``text`` and return, for each folded character, its index in ``text``; the map is
    None when every character folded to exactly one (index i is i)."""
    folded = text.translate(_TABLE)
    if len(folded) == len(text) and _TABLE.irregular.isdisjoint(set(text)):
        return folded, None
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        f = _TABLE[ord(ch)]
        out.append(f)
        index.extend([i] * len(f))
    return "".join(out), index


_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Collapse runs of white space to one space and strip the ends."""
    return _SPACE.sub(" ", text).strip()
