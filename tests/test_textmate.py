"""The TextMate grammar (VS Code), run by the engine VS Code uses: vscode-textmate with
vscode-oniguruma, through editor-support/vscode/test/grammar.test.js.

Needs node and the npm packages: `cd editor-support/vscode && npm ci`.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from medpolicy.highlight import lexicon
from medpolicy.keywords import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editor-support" / "vscode"
SCRIPT = VSCODE / "test" / "grammar.test.js"
NODE = shutil.which("node")
NPM = shutil.which("npm")


def _packages_present() -> bool:
    return all((VSCODE / "node_modules" / p).is_dir() for p in ("vscode-textmate", "vscode-oniguruma"))


def _install_packages() -> bool:
    """On a fresh clone (CI), install the locked npm packages once, from the registry."""
    if _packages_present():
        return True
    if NPM is None:
        return False
    done = subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=VSCODE, capture_output=True, timeout=600)
    return done.returncode == 0 and _packages_present()


pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(NODE is not None and not _install_packages(),
                       reason="npm packages missing and `npm ci` in editor-support/vscode failed"),
]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([NODE, str(SCRIPT), *args], cwd=VSCODE, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_textmate_grammar_scopes_every_file_fixture_and_word(tmp_path):
    words = tmp_path / "words.json"
    words.write_text(json.dumps({
        "keywords": [s for k in KEYWORDS for s in k.spellings],
        "vocabulary": list(lexicon().vocabulary),
    }, ensure_ascii=False), encoding="utf-8")
    result = run("--words", str(words))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(" 0 failed")


def test_dump_shows_scopes_of_each_token():
    out = run("--dump", str(VSCODE / "test" / "fixture.med")).stdout.splitlines()
    assert '9: "起付线"  keyword.control.med' in out
    assert '9: "85%"  constant.numeric.percentage.med' in out
    assert '2: "\\"第四十三条\\""  string.quoted.double.citation.med' in out
    assert '11: "三级医院"  variable.other.name.med' in out


def test_extension_script_is_valid_javascript_and_its_client_resolves():
    assert subprocess.run([NODE, "--check", "extension.js"], cwd=VSCODE).returncode == 0
    resolved = subprocess.run([NODE, "-e", "console.log(require.resolve('vscode-languageclient/node'))"],
                              cwd=VSCODE, capture_output=True, text=True)
    assert resolved.returncode == 0 and "vscode-languageclient" in resolved.stdout
