"""The generated editor grammars: committed copies are up to date, generation is
deterministic, and the Vim syntax (run in a real, headless Vim) colours what it should."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medpolicy.highlight import lexicon
from medpolicy.keywords import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
EDITORS = ROOT / "editor-support"
FIXTURE = EDITORS / "vscode" / "test" / "fixture.med"
REAL_FILES = sorted((ROOT / "policies").glob("*.med")) + sorted((ROOT / "stdlib").glob("*.med"))
VIM = shutil.which("vim")


def _generator():
    spec = importlib.util.spec_from_file_location("generate", EDITORS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_grammars_are_up_to_date():
    generated = _generator().render()
    assert len(generated) == 2
    for path, text in generated.items():
        assert path.read_text(encoding="utf-8") == text, \
            f"{path.relative_to(ROOT)} is stale: run python editor-support/generate.py"


@pytest.mark.parametrize("seed", ["0", "4242"])
def test_generation_does_not_depend_on_the_hash_seed(seed):
    # Sets and dicts of strings iterate in an order that changes with PYTHONHASHSEED: a generator
    # that leaned on one would write other files in another process.
    done = subprocess.run([sys.executable, str(EDITORS / "generate.py"), "--check"], cwd=ROOT,
                          env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# ---- Vim, headless --------------------------------------------------------------------

DUMP = EDITORS / "vim" / "test" / "dump-syntax.vim"


def vim_tokens(vim: str, path: Path, tmp_path: Path) -> tuple[str, list[tuple[int, str, str]]]:
    """The file type Vim detects for `path`, and its (line, group, text) runs."""
    out = tmp_path / f"{path.stem}.tokens"
    subprocess.run([vim, "-N", "-u", "NONE", "-i", "NONE", "-n", "-es",
                    "--cmd", "set encoding=utf-8", "--cmd", f"set rtp^={EDITORS / 'vim'}",
                    "-c", "filetype on", "-c", "syntax on", "-c", f"edit {path}", "-c", f"source {DUMP}", "-c", "qa!"],
                   env={**os.environ, "MED_VIM_OUT": str(out)}, check=True, timeout=60)
    filetype, *rows = out.read_text(encoding="utf-8").splitlines()
    # `5个百分点`: a word straight after a number is its own group (medSettingAfterNumber)
    return filetype, [(int(n), group.replace("AfterNumber", ""), text)
                      for n, group, text in (r.split("\t", 2) for r in rows)]


@pytest.fixture(scope="module")
def vim() -> str:
    if VIM is None:
        pytest.fail("vim is not installed (apt-get install vim; .ci/run does it)")
    return VIM


def test_vim_detects_and_colours_the_fixture(vim, tmp_path):
    filetype, tokens = vim_tokens(vim, FIXTURE, tmp_path)
    assert filetype == "med"
    for expected in [
        (1, "medComment", "# A fixture for the TextMate grammar: one of everything, in both languages."),
        (2, "medDeclaration", "policy"), (2, "medDate", "2026-01-01"), (2, "medName", "绥化"),
        (2, "medCitation", '"第四十三条"'), (3, "medNamespace", "standard"), (4, "medParameter", "avg_wage"),
        (9, "medVocabulary", "三级"), (9, "medSetting", "起付线"), (9, "medNumber", "85%"),
        (7, "medNumber", "12万"), (7, "medHeadCite", "依据"),
        (11, "medName", "中人一档"), (11, "medNumber", "5"), (11, "medSetting", "个百分点"),
        (11, "medSetting", "not-covered"), (11, "medName", "notable"),
        (12, "medOperator", ">="), (12, "medFloat", "1.5"),
        (13, "medIllegal", "【"), (14, "medUnterminated", '"unterminated'),
    ]:
        assert expected in tokens


def test_vim_splits_words_as_the_grammar_does(vim, tmp_path):
    _, tokens = vim_tokens(vim, ROOT / "tests" / "golden" / "tokens" / "words.med", tmp_path)
    line = {n: [(g, t) for m, g, t in tokens if m == n and t.strip()] for n in (2, 3, 6, 7)}
    # 三级医院 is an alias (a whole word); 医院三级 is read as a run: two names, one colour
    assert line[2][:4] == [("medVocabulary", "三级"), ("medVocabulary", "三级医院"), ("medVocabularyInRun", "医院三级"),
                           ("medName", "中人一档")]
    assert line[3][:3] == [("medSetting", "not"), ("medSetting", "not-covered"), ("medName", "notable")]
    assert line[6] == [("medVocabulary", "level3"), ("medName", "level30"), ("medNumber", "5"),
                       ("medSetting", "个百分点"), ("medNumber", "5"), ("medSetting", "个百分点")]
    assert line[7][:3] == [("medNumber", "1.2万"), ("medNumber", "12万元"), ("medFloat", "0.5")]


def test_vim_colours_every_keyword_and_name(vim, tmp_path):
    keywords = [s for k in KEYWORDS for s in k.spellings]
    names = list(lexicon().vocabulary)
    words = tmp_path / "words.med"
    words.write_text("\n".join(keywords + names) + "\n", encoding="utf-8")
    _, tokens = vim_tokens(vim, words, tmp_path)
    groups = {"medDeclaration", "medHeadCite", "medHeadUse", "medHeadParameter", "medHeadDefine", "medSetting"}
    assert [(t, g in groups) for _, g, t in tokens[:len(keywords)]] == [(k, True) for k in keywords]
    assert [(t, g) for _, g, t in tokens[len(keywords):]] == [(n, "medVocabulary") for n in names]


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_vim_finds_nothing_illegal_in_real_files(vim, path, tmp_path):
    _, tokens = vim_tokens(vim, path, tmp_path)
    assert [t for t in tokens if t[1] in ("medIllegal", "medUnterminated")] == []
    assert any(g == "medVocabulary" for _, g, _ in tokens)


# ---- the VS Code extension's manifest --------------------------------------------------


def test_vscode_manifest_wires_language_grammar_and_server():
    vscode = EDITORS / "vscode"
    manifest = json.loads((vscode / "package.json").read_text(encoding="utf-8"))
    [language] = manifest["contributes"]["languages"]
    [grammar] = manifest["contributes"]["grammars"]
    assert language["id"] == grammar["language"] == "med" and language["extensions"] == [".med"]
    assert json.loads((vscode / grammar["path"]).read_text(encoding="utf-8"))["scopeName"] == grammar["scopeName"]
    config = json.loads((vscode / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"] == {"lineComment": "#"}
    assert {"open": '"', "close": '"', "notIn": ["string", "comment"]} in config["autoClosingPairs"]
    assert "vscode-languageclient" in manifest["dependencies"]
    assert (vscode / manifest["main"]).read_text(encoding="utf-8").count('args: ["lsp"]') == 1
    lock = json.loads((vscode / "package-lock.json").read_text(encoding="utf-8"))
    assert {"node_modules/vscode-textmate", "node_modules/vscode-oniguruma",
            "node_modules/vscode-languageclient"} <= set(lock["packages"])
