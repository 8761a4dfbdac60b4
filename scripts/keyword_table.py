"""Write the two-language tables of docs/language.md from the keyword table and the standard vocabulary.

    python scripts/keyword_table.py           # rewrite the tables in docs/language.md
    python scripts/keyword_table.py --check   # exit 1 if the committed tables are stale

The tables sit between `<!-- generated: keywords -->` / `<!-- generated: vocabulary -->` and
`<!-- end generated -->` markers; the rest of the document is left as it is. The keywords
come from `medpolicy.keywords.KEYWORDS` (the table the grammar, the highlighters and the
language server use), the vocabulary from stdlib/standard.med, so the doc never lists a
spelling the parser does not read.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import resources
from pathlib import Path

from medpolicy import ast
from medpolicy.keywords import KEYWORDS
from medpolicy.parser import parse

DOC = Path(__file__).resolve().parent.parent / "docs" / "language.md"
END = "<!-- end generated -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def keywords_table() -> str:
    rows = ["| English | 中文 | meaning |", "|---|---|---|"]
    for k in KEYWORDS:
        rows.append(f"| {', '.join(f'`{s}`' for s in k.english)} | {'、'.join(f'`{s}`' for s in k.chinese)} "
                    f"| {_cell(k.meaning)} |")
    return "\n".join(rows)


def vocabulary_table() -> str:
    text = resources.files("medpolicy.stdlib").joinpath("standard.med").read_text(encoding="utf-8")
    defines = [i for i in parse(text, "stdlib/standard.med").items if isinstance(i, ast.Define)]
    rows = ["| kind | name | 中文 | meaning |", "|---|---|---|---|"]
    for d in defines:
        for e in d.entries:
            rows.append(f"| {d.kind} | `{e.name}` | {'、'.join(f'`{a}`' for a in e.aliases)} | {_cell(e.description or '')} |")
    return "\n".join(rows)


def render(doc: str) -> str:
    """`doc` with each generated block replaced by the current table."""
    for name, table in (("keywords", keywords_table()), ("vocabulary", vocabulary_table())):
        start = f"<!-- generated: {name} (scripts/keyword_table.py; do not edit) -->"
        pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(END), re.S)
        if not pattern.search(doc):
            raise SystemExit(f"{DOC}: no `{start}` ... `{END}` block")
        doc = pattern.sub(lambda _: f"{start}\n{table}\n{END}", doc, count=1)
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/language.md's tables are out of date")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if current == wanted:
        return 0
    if args.check:
        print("docs/language.md: the keyword tables are out of date; run: python scripts/keyword_table.py",
              file=sys.stderr)
        return 1
    DOC.write_text(wanted, encoding="utf-8")
    print("wrote: docs/language.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
