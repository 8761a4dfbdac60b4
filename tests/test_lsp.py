"""`med lsp`, driven as a real client drives it: a separate process over stdio (pytest-lsp)."""

import asyncio
import sys
from importlib import resources
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from medpolicy.formatter import format_text

ROOT = Path(__file__).resolve().parent.parent
# The server points into the installed package's standard library (site-packages in CI,
# the repository's stdlib/ in an editable install).
STDLIB_FILE = Path(str(resources.files("medpolicy.stdlib").joinpath("standard.med"))).resolve()
STDLIB = STDLIB_FILE.as_uri()
FOLDER = ROOT / "tests"  # documents live here (never written): `use` looks beside them

pytestmark = pytest.mark.asyncio(loop_scope="module")

GOOD = """\
policy "测试办法" region 某市 effective 2026-01-01 to 2030-12-31
use standard
parameter avg_wage "上年度平均工资"

scheme employee
  fund basic cap 6 × avg_wage yearly                            cite "第二条"
  住院 比例 80%                                                 依据 "第三条"
    三级 起付线 900 比例 在职 85% 退休 87%                      依据 "第四条"
    retired deductible - 200
"""
# line 10 (1-based), columns 5-10: a name the vocabulary does not have
UNKNOWN_NAME = GOOD + "    level9 deductible 500\n"
# line 8, columns 16-18: a number where a setting should be
SYNTAX_ERROR = GOOD.replace("起付线 900 比例", "起付线 900 900 比例")


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "medpolicy.cli", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=FOLDER.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def open_(client: LanguageClient, name: str, text: str) -> str:
    uri = (FOLDER / name).as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="med", version=1, text=text)))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


def rng(line, start, end_line, end):
    return lsp.Range(start=lsp.Position(line=line, character=start), end=lsp.Position(line=end_line, character=end))


# ---- diagnostics ---------------------------------------------------------------------

async def test_an_unknown_name_is_reported_at_its_place_with_a_suggestion(client):
    uri = await open_(client, "unknown.med", UNKNOWN_NAME)
    [d] = client.diagnostics[uri]
    assert d.range == rng(9, 4, 9, 10)
    assert d.message == "unknown name `level9`\nhint: did you mean `level3`?"
    assert d.severity == lsp.DiagnosticSeverity.Error
    assert d.source == "med"


async def test_a_syntax_error_is_reported_at_the_token(client):
    uri = await open_(client, "syntax.med", SYNTAX_ERROR)
    [d] = client.diagnostics[uri]
    assert d.range == rng(7, 15, 7, 18)
    assert d.message.startswith("unexpected whole number `900`; expected `account`, `allowance`, `as`, `cap`")


async def test_fixing_the_text_clears_the_diagnostics(client):
    uri = await open_(client, "fixed.med", UNKNOWN_NAME)
    assert len(client.diagnostics[uri]) == 1
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=GOOD)]))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []


async def test_a_burst_of_edits_ends_with_the_diagnostics_of_the_last_text(client):
    # No wait after a keystroke: each change is compiled when the worker is free, a queued
    # compile of a text that is no longer the document's is skipped, and nothing stale is
    # published after the last version's diagnostics.
    uri = await open_(client, "burst.med", GOOD)
    # Every publication is recorded as it arrives (waiting for "the next one" in a loop could
    # miss one published between two waits, and then wait forever).
    features = client.protocol.fm.features
    record = features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]
    versions = []

    def recording(params):
        if params.uri == uri:
            versions.append(params.version)
        return record(params)

    features[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = recording
    texts = [UNKNOWN_NAME, GOOD, UNKNOWN_NAME.replace("level9", "level8"), GOOD, SYNTAX_ERROR]
    for version, text in enumerate(texts, 2):
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
    for _ in range(1200):  # up to 60 s on a loaded machine
        if versions and versions[-1] == len(texts) + 1:
            break
        await asyncio.sleep(0.05)
    assert versions and versions[-1] == len(texts) + 1, versions
    assert versions == sorted(versions)  # never an older version after a newer one
    [d] = client.diagnostics[uri]
    assert d.range == rng(7, 15, 7, 18)


# ---- hover ---------------------------------------------------------------------------

async def hover(client, uri, line, character):
    h = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=line, character=character)))
    return h


async def test_hover_on_a_chinese_keyword_gives_both_spellings_its_meaning_and_the_article(client):
    uri = await open_(client, "hover.med", GOOD)
    h = await hover(client, uri, 7, 8)  # 起付线
    assert h.range == rng(7, 7, 7, 10)
    assert h.contents.value == (
        "**deductible** · threshold · 起付线 · 起付标准 — keyword\n\n"
        "Deductible (起付线): the eligible cost the patient bears before the fund pays; in a layer, its threshold."
        "\n\n---\n\nCites **第四条**")


async def test_hover_on_a_vocabulary_name_gives_its_kind_aliases_and_meaning(client):
    uri = await open_(client, "hover-name.med", GOOD)
    h = await hover(client, uri, 8, 6)  # retired, in a block citing 第三条
    assert h.contents.value == (
        "**retired** · 退休 · 退休人员 — status\n\nretired member (退休人员)\n\n`define status` at stdlib/standard.med:41"
        "\n\n---\n\nCites **第三条** (the block at line 7)")


async def test_hover_on_a_parameter_gives_its_description(client):
    uri = await open_(client, "hover-param.med", GOOD)
    h = await hover(client, uri, 5, 22)  # avg_wage
    assert h.range == rng(5, 21, 5, 29)
    assert h.contents.value.startswith(
        "**avg_wage** — parameter\n\n上年度平均工资\n\nA run supplies it: `--param avg_wage=VALUE` (declared at line 3).")


async def test_hover_on_a_number_gives_the_article_the_clause_cites(client):
    uri = await open_(client, "hover-cite.med", GOOD)
    h = await hover(client, uri, 5, 17)  # the 6 in `cap 6 × avg_wage`
    assert h.contents.value == "Cites **第二条**"


async def test_hover_keeps_working_while_the_line_is_broken(client):
    uri = await open_(client, "hover-broken.med", SYNTAX_ERROR)
    h = await hover(client, uri, 7, 4)  # 三级
    assert h.contents.value.startswith("**level3** · 三级 · 三级医院 · 三级医疗机构 — level\n\nlevel-3 hospital (三级医疗机构)")


# ---- completion ----------------------------------------------------------------------

async def complete(client, uri, line, character):
    result = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=line, character=character)))
    return {i.label: i for i in result.items}


async def test_completion_of_english_keywords_and_names(client):
    uri = await open_(client, "complete-en.med", GOOD + "    retired de\n")
    items = await complete(client, uri, 9, 14)
    assert set(items) == {"deductible", "delivery"}  # not `define`: it only starts a file's line
    assert items["deductible"].kind == lsp.CompletionItemKind.Keyword
    assert items["delivery"].detail == "event"
    assert items["deductible"].text_edit.range == rng(9, 12, 9, 14)


async def test_completion_of_chinese_keywords_and_names(client):
    uri = await open_(client, "complete-zh.med", GOOD + "    退休 起\n    三\n")
    items = await complete(client, uri, 9, 8)
    assert set(items) == {"起付线", "起付标准"}
    assert items["起付线"].detail == "keyword = deductible"
    names = await complete(client, uri, 10, 5)
    assert set(names) == {"三级", "三级医院", "三级医疗机构"}  # the aliases of level3 (stdlib/standard.med)
    assert names["三级"].detail == "level level3"
    assert names["三级"].documentation.value == "level-3 hospital (三级医疗机构)"


async def test_completion_offers_the_parameters_in_scope(client):
    uri = await open_(client, "complete-param.med", GOOD + "    cap 6 × avg\n")
    items = await complete(client, uri, 9, 15)
    assert list(items) == ["avg_wage"]
    assert items["avg_wage"].kind == lsp.CompletionItemKind.Variable


async def test_completion_after_fund_offers_only_funds(client):
    uri = await open_(client, "complete-fund.med", GOOD + "  fund \n")
    items = await complete(client, uri, 9, 7)
    assert {"basic", "major", "supplement", "aid", "maternity", "大额", "统筹基金"} <= set(items)
    assert "deductible" not in items and "inpatient" not in items


async def test_no_completion_inside_a_comment_or_quotes(client):
    uri = await open_(client, "complete-comment.med", GOOD + "    # de\n" + '    rate 80% cite "第de\n')
    assert await complete(client, uri, 9, 8) == {}
    assert await complete(client, uri, 10, 23) == {}


# ---- definition ----------------------------------------------------------------------

async def definition(client, uri, line, character):
    return await client.text_document_definition_async(lsp.DefinitionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=line, character=character)))


async def test_a_chinese_name_goes_to_its_define_entry_in_the_standard_library(client):
    uri = await open_(client, "define.med", GOOD)
    loc = await definition(client, uri, 7, 5)  # 三级
    assert loc.uri == STDLIB
    assert loc.range == rng(25, 2, 25, 8)
    stdlib_lines = STDLIB_FILE.read_text(encoding="utf-8").splitlines()
    assert stdlib_lines[25][2:8] == "level3"


async def test_a_parameter_goes_to_its_declaration(client):
    uri = await open_(client, "define-param.med", GOOD)
    loc = await definition(client, uri, 5, 22)  # avg_wage
    assert loc.uri == uri
    assert loc.range == rng(2, 10, 2, 18)


async def test_a_name_the_policy_defines_goes_to_the_policy(client):
    text = GOOD.replace("scheme employee", 'define group\n  elder 高龄 "over 80"\n\nscheme employee') + "    exception 高龄 deductible none\n"
    uri = await open_(client, "define-own.med", text)
    assert list(client.diagnostics[uri]) == []
    loc = await definition(client, uri, 12, 15)
    assert loc.uri == uri
    assert loc.range == rng(5, 2, 5, 7)


async def test_use_goes_to_the_module(client):
    uri = await open_(client, "define-use.med", GOOD)
    loc = await definition(client, uri, 1, 6)  # standard
    assert loc.uri == STDLIB
    assert loc.range == rng(0, 0, 0, 0)


# ---- formatting and outline ----------------------------------------------------------

async def test_formatting_returns_the_canonical_layout(client):
    messy = GOOD.replace("    三级 起付线 900", "      三级  起付线   900").replace("  住院 比例", "  住院  比例")
    messy = messy.replace("    retired", "      retired")
    uri = await open_(client, "format.med", messy)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)))
    [edit] = edits
    assert edit.new_text == GOOD == format_text(messy, "format.med")
    assert edit.range == rng(0, 0, 9, 0)


async def test_formatting_a_formatted_document_changes_nothing(client):
    uri = await open_(client, "format-done.med", GOOD)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert edits is not None and list(edits) == []


async def test_the_outline_has_the_policy_schemes_funds_blocks_and_clauses(client):
    uri = await open_(client, "outline.med", GOOD)
    result = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))

    def tree(symbols):
        return [(s.name, s.kind, s.detail, tree(s.children or [])) for s in symbols]

    K = lsp.SymbolKind
    assert tree(result) == [
        ("测试办法", K.File, None, []),
        ("use standard", K.Module, None, []),
        ("avg_wage", K.Variable, "上年度平均工资", []),
        ("scheme employee", K.Namespace, None, [
            ("fund basic cap 6 × avg_wage yearly", K.Object, "第二条", []),
            ("住院 比例 80%", K.Class, "第三条", [
                ("三级 起付线 900 比例 在职 85% 退休 87%", K.Property, "第四条", []),
                ("retired deductible - 200", K.Property, None, []),
            ]),
        ]),
    ]
    scheme = result[3]
    assert scheme.range == rng(4, 0, 8, 28)
    assert scheme.selection_range == rng(4, 0, 4, 15)
