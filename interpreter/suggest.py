"""'Did you mean': the nearest known spelling to a misspelt word, in either language.

English and Chinese typos differ. An English one is a letter off (`deductable`), so
spellings are compared by characters (difflib). A Chinese one made on a pinyin keyboard is
a character of the same sound (`在值` for `在职`, `起付限` for `起付线`): compared by
characters the two share half their text, by sound they are the same word. So a Chinese
word is also compared by its pinyin (toneless, via pypinyin), and a same-sound match wins.
"""

from __future__ import annotations

import difflib
from typing import Iterable, Optional


CUTOFF = 0.6


def _has_han(word: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in word)


def sound(word: str) -> str:
    """The toneless pinyin of a Chinese word, syllables apart ("在职" -> "zai zhi")."""
    # pypinyin loads its dictionaries on import (about 0.18 s): only a misspelt Chinese word pays it.
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(word))


def did_you_mean(word: str, known: Iterable[str]) -> Optional[str]:
    """The known spelling nearest to `word`, or None when nothing is near enough."""
    pool = [k for k in dict.fromkeys(known) if k != word]
    if _has_han(word):
        same_length = [k for k in pool if _has_han(k) and len(k) == len(word)]
        heard = [k for k in same_length if sound(k) == sound(word)]
        if heard:
            return heard[0]
        by_sound = difflib.get_close_matches(sound(word), [sound(k) for k in same_length], n=1, cutoff=0.8)
        if by_sound:
            return next(k for k in same_length if sound(k) == by_sound[0])
    close = difflib.get_close_matches(word, pool, n=1, cutoff=CUTOFF)
    return close[0] if close else None
