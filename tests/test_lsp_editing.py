"""Rename, references, quick fixes, semantic tokens, folding, links and workspace symbols,
each through a real client session with `med lsp` over stdio (pytest-lsp)."""

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from medpolicy.editing import TOKEN_MODIFIERS, TOKEN_TYPES

FOLDER = Path(__file__).resolve().parent  # documents live here (never written)
pytestmark = pytest.mark.asyncio(loop_scope="module")

# Line numbers (0-based) are noted where tests point at them.
POLICY = """\
policy "测试办法" region 某市 effective 2026-01-01 to 2030-12-31
use standard
parameter avg_wage "上年度平均工资"

define group "本地人群"
  miner             矿工                 "a miner (矿工)"

scheme employee
  fund basic cap 6 × avg_wage yearly                            cite "第二条"
  住院 比例 80%                                                 依据 "第三条"
    三级 起付线 900 比例 在职 85% 退休 87%                      依据 "第四条"
    retired deductible - 200
    miner rate + 5 points                                       cite "第五条"
  fund major on burden cap 4 × avg_wage yearly                  cite "第二条"
"""
# 0 policy · 2 parameter · 5 miner entry · 8 fund basic · 9 住院 · 10 三级 · 11 retired · 12 miner · 13 fund major


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "medpolicy.cli", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=FOLDER.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def open_(client: LanguageClient, name, text: str) -> str:
    uri = (FOLDER / name).as_uri()  # an absolute path stays itself
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="med", version=1, text=text)))
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


def at(uri, line, character):
    return dict(text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=line, character=character))


def spans(locations_or_edits):
    return sorted((x.range.start.line, x.range.start.character, x.range.end.character) for x in locations_or_edits)


# ---- references ---------------------------------------------------------------------

async def test_references_to_a_parameter_list_every_use_and_its_declaration(client):
    uri = await open_(client, "refs.med", POLICY)
    found = await client.text_document_references_async(lsp.ReferenceParams(
        **at(uri, 8, 24), context=lsp.ReferenceContext(include_declaration=True)))
    assert spans(found) == [(2, 10, 18), (8, 21, 29), (13, 31, 39)]


async def test_references_to_a_name_find_it_in_either_language(client):
    uri = await open_(client, "refs2.med", POLICY)
    found = await client.text_document_references_async(lsp.ReferenceParams(
        **at(uri, 10, 19), context=lsp.ReferenceContext(include_declaration=False)))
    assert spans(found) == [(10, 18, 20)]  # 在职 = employed, once
    found = await client.text_document_references_async(lsp.ReferenceParams(
        **at(uri, 5, 2), context=lsp.ReferenceContext(include_declaration=True)))
    assert spans(found) == [(5, 2, 7), (5, 20, 22), (12, 4, 9)]  # miner, its alias 矿工, its clause


async def test_references_from_an_article_list_the_clauses_that_cite_it(client):
    uri = await open_(client, "refs3.med", POLICY)
    found = await client.text_document_references_async(lsp.ReferenceParams(
        **at(uri, 9, 64), context=lsp.ReferenceContext(include_declaration=True)))
    # 第三条 is cited by the 住院 block; its unlabelled clause (line 11) inherits it
    assert [s[0] for s in spans(found)] == [9, 11]
    found = await client.text_document_references_async(lsp.ReferenceParams(
        **at(uri, 8, 70), context=lsp.ReferenceContext(include_declaration=True)))
    assert [s[0] for s in spans(found)] == [8, 13]  # 第二条: both funds


# ---- rename --------------------------------------------------------------------------

async def test_renaming_a_parameter_rewrites_its_declaration_and_every_use(client):
    uri = await open_(client, "rename.med", POLICY)
    edit = await client.text_document_rename_async(lsp.RenameParams(**at(uri, 13, 33), new_name="wage"))
    assert spans(edit.changes[uri]) == [(2, 10, 18), (8, 21, 29), (13, 31, 39)]
    assert {e.new_text for e in edit.changes[uri]} == {"wage"}


async def test_renaming_a_defined_name_rewrites_its_entry_and_its_clauses(client):
    uri = await open_(client, "rename2.med", POLICY)
    prepared = await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(**at(uri, 12, 5)))
    assert (prepared.start.line, prepared.start.character, prepared.end.character) == (12, 4, 9)
    edit = await client.text_document_rename_async(lsp.RenameParams(**at(uri, 12, 5), new_name="coal-miner"))
    assert spans(edit.changes[uri]) == [(5, 2, 7), (12, 4, 9)]


async def test_a_standard_name_cannot_be_renamed_from_a_policy(client):
    uri = await open_(client, "rename3.med", POLICY)
    assert await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(**at(uri, 11, 5))) is None


async def test_renaming_a_name_in_a_module_reaches_the_open_files_that_use_it(client, tmp_path):
    module = '''policy "共用词汇" effective 2026-01-01 to 2030-12-31\ndefine group "人群"\n  miner  矿工  "a miner"\n'''
    user = POLICY.replace('define group "本地人群"\n  miner             矿工                 "a miner (矿工)"\n', "") \
        .replace("use standard\n", "use standard\nuse shared\n")
    (tmp_path / "shared.med").write_text(module, encoding="utf-8")  # `use` reads it from disk
    (tmp_path / "unopened.med").write_text(user, encoding="utf-8")  # on disk, never opened
    (tmp_path / "other.med").write_text(POLICY, encoding="utf-8")   # does not `use shared`
    shared = await open_(client, tmp_path / "shared.med", module)
    user_uri = await open_(client, tmp_path / "user.med", user)
    edit = await client.text_document_rename_async(lsp.RenameParams(**at(shared, 2, 3), new_name="collier"))
    assert spans(edit.changes[shared]) == [(2, 2, 7)]
    assert [e.range.start.line for e in edit.changes[user_uri]] == [11]
    assert [e.range.start.line for e in edit.changes[(tmp_path / "unopened.med").as_uri()]] == [11]
    assert set(edit.changes) == {shared, user_uri, (tmp_path / "unopened.med").as_uri()}


# ---- quick fixes ---------------------------------------------------------------------

async def test_a_did_you_mean_comes_with_a_quick_fix_that_replaces_the_word(client):
    uri = await open_(client, "fix.med", POLICY + "    level9 deductible 500\n")
    [d] = client.diagnostics[uri]
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=d.range,
        context=lsp.CodeActionContext(diagnostics=[d])))
    [action] = actions
    assert action.title == "Replace with `level3`" and action.kind == lsp.CodeActionKind.QuickFix
    [edit] = action.edit.changes[uri]
    assert (edit.range.start.line, edit.range.start.character, edit.range.end.character, edit.new_text) == (14, 4, 10, "level3")


async def test_a_coverage_gap_comes_with_a_quick_fix_that_adds_the_missing_clauses(client):
    text = POLICY.replace("    三级 起付线 900 比例 在职 85% 退休 87%                      依据 \"第四条\"\n",
                          "    三级 起付线 900 比例 在职 85% 退休 87%                      依据 \"第四条\"\n"
                          "    level2 rate employed 80% retired 82%\n")
    text = text.replace("  住院 比例 80%  ", "  住院 起付线 100").replace("    retired deductible - 200\n", "") \
        .replace("    miner rate + 5 points                                       cite \"第五条\"\n", "")
    uri = await open_(client, "gap.med", text)
    [d] = [d for d in client.diagnostics[uri] if "has no rate" in d.message]
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=d.range, context=lsp.CodeActionContext(diagnostics=[d])))
    [add] = [a for a in actions if a.title.startswith("Add the missing clauses")]
    [edit] = add.edit.changes[uri]
    assert edit.range.start.line == 12  # after the block's last clause
    assert edit.new_text.splitlines() == [
        "    primary rate employed 0% retired 0%   # TODO: the rate the article sets for primary",
        "    level1 rate employed 0% retired 0%   # TODO: the rate the article sets for level1",
    ]


# ---- semantic tokens, folding, links, workspace symbols ----------------------------------

def decode(data):
    out, line, start = [], 0, 0
    for i in range(0, len(data), 5):
        dl, ds, length, kind, bits = data[i:i + 5]
        line += dl
        start = start + ds if dl == 0 else ds
        mods = tuple(m for k, m in enumerate(TOKEN_MODIFIERS) if bits & (1 << k))
        out.append((line, start, length, TOKEN_TYPES[kind], mods))
    return out


async def test_semantic_tokens_colour_keywords_names_by_kind_numbers_percentages_and_citations(client):
    uri = await open_(client, "tokens.med", POLICY)
    tokens = decode((await client.text_document_semantic_tokens_full_async(
        lsp.SemanticTokensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))).data)
    line10 = [t for t in tokens if t[0] == 10]
    assert line10 == [
        (10, 4, 2, "enumMember", ("level",)),     # 三级
        (10, 7, 3, "keyword", ()),                # 起付线
        (10, 11, 3, "number", ()),                # 900
        (10, 15, 2, "keyword", ()),               # 比例
        (10, 18, 2, "enumMember", ("status",)),   # 在职
        (10, 21, 3, "number", ("percentage",)),   # 85%
        (10, 25, 2, "enumMember", ("status",)),   # 退休
        (10, 28, 3, "number", ("percentage",)),   # 87%
        (10, 53, 2, "keyword", ()),               # 依据
        (10, 56, 5, "string", ("citation",)),     # "第四条"
    ]
    assert (2, 10, 8, "parameter", ("definition",)) in tokens
    assert (8, 21, 8, "parameter", ()) in tokens
    assert (1, 4, 8, "namespace", ()) in tokens
    assert (5, 2, 5, "enumMember", ("group",)) in tokens


async def test_folding_ranges_cover_every_block(client):
    uri = await open_(client, "fold.med", POLICY)
    ranges = await client.text_document_folding_range_async(lsp.FoldingRangeParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))
    assert sorted((r.start_line, r.end_line) for r in ranges) == [(4, 5), (7, 13), (9, 12)]


async def test_a_use_line_links_to_the_module(client):
    uri = await open_(client, "links.med", POLICY)
    [link] = await client.text_document_document_link_async(lsp.DocumentLinkParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri)))
    assert (link.range.start.line, link.range.start.character, link.range.end.character) == (1, 4, 12)
    assert link.target.endswith("/standard.med") and Path(link.target[len("file://"):]).is_file()


async def test_workspace_symbols_find_blocks_and_names_in_open_files(client):
    await open_(client, "ws.med", POLICY)
    found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="miner"))
    assert {(s.name, s.container_name) for s in found} >= {("miner", "ws.med")}
    found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="fund major"))
    assert [s.location.range.start.line for s in found if s.container_name == "ws.med"] == [13]


async def test_completion_keeps_the_regulations_usual_word_first_whatever_the_client_sorts_by(client):
    uri = await open_(client, "order.med", POLICY + "    三级 起\n")
    result = await client.text_document_completion_async(lsp.CompletionParams(**at(uri, 14, 8)))
    ordered = [i.label for i in sorted(result.items, key=lambda i: i.sort_text)]
    assert ordered[:2] == ["起付线", "起付标准"]


async def test_inlay_hints_show_what_a_relative_rate_comes_to(client):
    text = POLICY.replace("  fund major", "    exception remote-self rate as 三级 - 20 points\n  fund major")
    uri = await open_(client, "hints.med", text)
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=rng(0, 0, 20, 0)))
    # line 12 (miner + 5 points) gets none: its siblings set rates, so its base depends on the claim
    assert [(h.position.line, h.position.character, h.label) for h in hints] == [(13, 48, "= 在职 65% · 退休 67%")]


def rng(line, start, end_line, end):
    return lsp.Range(start=lsp.Position(line=line, character=start), end=lsp.Position(line=end_line, character=end))


# ---- messages: Chinese for a Chinese policy, positions in UTF-16 ---------------------------

CHINESE = """\
办法 "某市办法" 地区 某市 施行 2026-01-01 至 2030-12-31
引用 standard

险种 职工
  基金 basic
  住院 比例 80%
    三级 起付线 900 比例 在职 85% 退休 87%
    在值 比例 50%
"""


async def test_an_all_chinese_policy_gets_its_diagnostics_in_chinese(client):
    uri = await open_(client, "zh.med", CHINESE)
    [d] = [d for d in client.diagnostics[uri] if "在值" in d.message]
    assert d.message == "未定义的名称 `在值`\nhint: 是否应为 `在职`？"
    assert d.range == rng(7, 4, 7, 6)


async def test_a_misspelt_keyword_after_astral_characters_is_placed_in_utf16_units(client):
    text = 'policy "𠮷𠮷" region 某市 effectiv 2026-01-01 to 2030-12-31\nuse standard\n'
    uri = await open_(client, "astral.med", text)
    [d] = client.diagnostics[uri]
    assert d.message == "unknown word `effectiv`\nhint: did you mean `effective`?"
    assert d.range == rng(0, 24, 0, 32)  # code points 22-30; each 𠮷 is two UTF-16 units
