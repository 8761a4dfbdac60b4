"""The built parser is cached on disk (interpreter/parser.py): under a name that hashes the
grammar, the build options and the versions; a file left by another grammar is never used;
a cache that cannot be written only costs the build."""

from __future__ import annotations

import shutil

import lark
import pytest
from lark.exceptions import UnexpectedInput

from medpolicy import parser

GUILLEMETS = '/«[^»\\n]*»/'  # a second spelling of STRING, so the two grammars parse differently
TEXT = 'policy «x» effective 2026-01-01 to 2026-12-31\n'


@pytest.fixture
def quick_build(monkeypatch):
    # These tests are about the cache, not the grammar: build as an install without interegular
    # does (0.3 s a build, not the 30 s of strict mode's collision check).
    monkeypatch.setattr(lark.lexer, "has_interegular", False)
    monkeypatch.setitem(parser._LARK_OPTIONS, "strict", False)


@pytest.fixture
def cache(tmp_path, monkeypatch, quick_build):
    monkeypatch.setenv("MEDPOLICY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _changed(text: str) -> str:
    old = 'STRING: /"[^"\\n]*"/'
    assert old in text
    return text.replace(old, f"{old} | {GUILLEMETS}")


def test_the_cache_file_names_the_grammar_options_and_versions(cache, monkeypatch):
    text = parser.grammar_text()
    name = parser.parser_cache_file(text)
    assert name.parent == cache and name.name.startswith("parser-") and name.suffix == ".lark"
    assert parser.parser_cache_file(text + "\n// a comment\n") != name
    monkeypatch.setattr(lark, "__version__", "0.0.0")
    assert parser.parser_cache_file(text) != name
    monkeypatch.setenv("MEDPOLICY_CACHE", "")
    assert parser.parser_cache_file(text) is None


def test_a_built_parser_is_cached_and_loaded(cache):
    text = parser.grammar_text()
    built = parser.load_parser(text)
    assert [p.name for p in cache.iterdir()] == [parser.parser_cache_file(text).name]  # no temporary left
    loaded = parser.load_parser(text)
    source = "policy \"x\" effective 2026-01-01 to 2026-12-31\nscheme employee\n  inpatient deductible 300 rate 90%\n"
    assert loaded.parse(source) == built.parse(source)


def test_a_changed_grammar_never_uses_the_old_parser(cache):
    text = parser.grammar_text()
    parser.load_parser(text)
    changed = _changed(text)
    # Even the old grammar's file under the new grammar's name is refused: lark checks the
    # hash written inside, rebuilds, and rewrites the file.
    shutil.copy(parser.parser_cache_file(text), parser.parser_cache_file(changed))
    assert parser.load_parser(changed).parse(TEXT)
    with pytest.raises(UnexpectedInput):
        parser.load_parser(text).parse(TEXT)
    assert parser.load_parser(changed).parse(TEXT)  # from the rewritten file


def test_a_cache_that_cannot_be_written_only_costs_the_build(tmp_path, monkeypatch, quick_build):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("MEDPOLICY_CACHE", str(tmp_path / "a-file" / "cache"))
    assert parser.load_parser(parser.grammar_text()).parse('policy "x" effective 2026-01-01 to 2026-12-31\n')


def test_the_suite_builds_the_grammar_strictly():
    # The test extra installs interegular, so every parser the suite builds is checked by lark's
    # strict mode: two terminals that can match the same text fail the suite, not a user.
    assert parser._LARK_OPTIONS["strict"] is True
    with pytest.raises(lark.exceptions.LexError, match="Collision"):
        lark.Lark('start: A | B\nA: /a+/\nB: /a/', parser="lalr", strict=True)


def test_an_install_without_interegular_builds_without_the_collision_check(monkeypatch):
    # ~30 s of CPU for the check on a user's first run; the shipped grammar passed it in the suite.
    monkeypatch.setattr(parser.importlib.util, "find_spec", lambda name: None)
    assert parser._interegular_installed() is False
