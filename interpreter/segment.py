"""Chinese runs into words (分词): the one segmentation rule of the language.

Chinese is written without spaces, so a run of Han characters (`三级医院起付线`) says
nothing about where its words end. The parser, the scanner behind the formatter and the
language server, and the Pygments lexer all read a run the same way: left to right, taking
at each point the LONGEST known word that starts there (maximal munch, no backtracking),
so `三级医院起付线` is `三级医院` `起付线`. The editor grammars (TextMate, Vim) do the same
with the same word list, longest first.

Known words are the keyword spellings (keywords.py), the standard vocabulary's names and
aliases (stdlib/standard.med) and the names the file itself defines (`define` entries) or
declares (`parameter`). A run that cannot be read through to its end is one word as a
whole: an unknown name, which the parser refuses when it touches other text
(`比例提咼5个百分点`) and the compiler reports with a "did you mean" when it stands alone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Optional

import attrs

from .files import stdlib_text
from .keywords import KEYWORDS

# CJK Unified Ideographs with extension A, the compatibility block and the supplementary planes.
HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
HAN_RUN = re.compile(f"[{HAN_CHARS}]+")
# Chinese punctuation separates words as a space does (the parser ignores it).
SEPARATORS = "，、；：。（）"

_DEFINE = frozenset(s for k in KEYWORDS if k.terminal == "DEFINE" for s in k.spellings)
_PARAMETER = tuple(sorted((s for k in KEYWORDS if k.terminal == "PARAMETER" for s in k.spellings), key=len, reverse=True))
_STRING = re.compile(r'"[^"\n]*"?')
_SPLIT = re.compile(f"[\\s{SEPARATORS}]+")


def is_han(ch: str) -> bool:
    return bool(HAN_RUN.fullmatch(ch))


@attrs.frozen
class Words:
    """The known words a Han run is read against."""

    known: frozenset[str]
    longest: int

    @staticmethod
    def of(words: Iterable[str]) -> "Words":
        han = frozenset(w for w in words if HAN_RUN.fullmatch(w))
        return Words(han, max(map(len, han), default=1))

    def with_names(self, names: Iterable[str]) -> "Words":
        extra = {n for n in names if HAN_RUN.fullmatch(n)} - self.known
        return Words.of(self.known | extra) if extra else self

    def word_at(self, run: str, i: int) -> Optional[str]:
        """The longest known word starting at `run[i]`, or None."""
        for end in range(min(len(run), i + self.longest), i, -1):
            if run[i:end] in self.known:
                return run[i:end]
        return None

    def split(self, run: str) -> Optional[list[tuple[int, str]]]:
        """(offset, word) of each word of a Han run, longest match first; None if some
        point of the run starts no known word."""
        out, i = [], 0
        while i < len(run):
            word = self.word_at(run, i)
            if word is None:
                return None
            out.append((i, word))
            i += len(word)
        return out

    def unknown_part(self, run: str) -> tuple[int, str]:
        """Where reading `run` stops, and the stretch from there to the next point a known
        word starts (or the run's end): the part no word covers."""
        i = 0
        while i < len(run):
            word = self.word_at(run, i)
            if word is None:
                break
            i += len(word)
        j = i + 1
        while j < len(run) and self.word_at(run, j) is None:
            j += 1
        return i, run[i:j]


def segments(text: str, words: Words) -> list[tuple[int, str]]:
    """(offset, word) of `text`, a Han run: its words, or the whole run as one word."""
    return words.split(text) or [(0, text)]


def defined_names(text: str) -> set[str]:
    """The names a .med text defines or declares, found without parsing it: every word of a
    `define` block's entries, and the name after `parameter`. (The parser needs them to read
    the file's Chinese runs, so they are read from the plain lines first.)"""
    names: set[str] = set()
    define_indent = None
    for raw in text.split("\n"):
        code = _STRING.sub(" ", raw.split("#", 1)[0] if '"' not in raw else _strip_comment(raw))
        words = [w for w in _SPLIT.split(code) if w]
        if not words:
            continue
        indent = len(raw) - len(raw.lstrip("\t \u3000"))
        if define_indent is not None and indent > define_indent:
            names.update(words)
            continue
        # `define` blocks are top-level items; `定义group` is `定义` `group`.
        define_indent = indent if indent == 0 and any(words[0].startswith(d) for d in _DEFINE) else None
        head = next((p for p in _PARAMETER if words[0].startswith(p)), None) if indent == 0 else None
        if head is not None:
            rest = words[0][len(head):] or (words[1] if len(words) > 1 else "")
            if rest:
                names.add(rest)
    return names


def _strip_comment(raw: str) -> str:
    # A '#' inside a quoted text is no comment.
    out, quoted = [], False
    for ch in raw:
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            break
        out.append(ch)
    return "".join(out)


@lru_cache(maxsize=1)
def standard_words() -> Words:
    """The keyword spellings and the standard vocabulary (read once per process)."""
    return Words.of({s for k in KEYWORDS for s in k.spellings} | defined_names(stdlib_text()))


def words_for(text: str) -> Words:
    """The words a file's Chinese runs are read against: the standard ones and its own."""
    return standard_words().with_names(defined_names(text))
