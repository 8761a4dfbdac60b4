"""The TextMate grammar (VS Code), run by the engine VS Code uses: vscode-textmate with
vscode-oniguruma, through editor-support/vscode/test/grammar.test.js.

Needs node and the npm packages; the `node` fixture runs `npm ci` in editor-support/vscode once
when they are missing (.ci/run installs node and npm). Without them the tests fail, saying why.
"""

import json
import subprocess
from pathlib import Path

import pytest

from medpolicy.highlight import lexicon
from medpolicy.keywords import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editor-support" / "vscode"
SCRIPT = VSCODE / "test" / "grammar.test.js"


def run(node: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([node, str(SCRIPT), *args], cwd=VSCODE, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_textmate_grammar_scopes_every_file_fixture_and_word(node, tmp_path):
    words = tmp_path / "words.json"
    words.write_text(json.dumps({
        "keywords": [s for k in KEYWORDS for s in k.spellings],
        "vocabulary": list(lexicon().vocabulary),
    }, ensure_ascii=False), encoding="utf-8")
    result = run(node, "--words", str(words))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(" 0 failed")


def test_dump_shows_scopes_of_each_token(node):
    out = run(node, "--dump", str(VSCODE / "test" / "fixture.med")).stdout.splitlines()
    assert '9: "起付线"  keyword.control.med' in out
    assert '9: "85%"  constant.numeric.percentage.med' in out
    assert '2: "\\"第四十三条\\""  string.quoted.double.citation.med' in out
    assert '11: "中人一档"  variable.other.name.med' in out


def test_extension_script_is_valid_javascript_and_its_client_resolves(node):
    assert subprocess.run([node, "--check", "extension.js"], cwd=VSCODE).returncode == 0
    resolved = subprocess.run([node, "-e", "console.log(require.resolve('vscode-languageclient/node'))"],
                              cwd=VSCODE, capture_output=True, text=True)
    assert resolved.returncode == 0 and "vscode-languageclient" in resolved.stdout
