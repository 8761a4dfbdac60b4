"""The VS Code extension, end to end: the packaged .vsix installed into a real VS Code
workbench (code-server from npm), driven by headless Chromium (puppeteer-core), starts
`med lsp` and shows a problem, a hover and a completion, and draws no ambiguous-character
boxes in a .med file (editor-support/vscode/test/e2e/run.js).

The npm side installs itself on first run (setup.sh: exact versions from the lockfiles,
from the npm registry; code-server once per machine in ~/.cache/medpolicy-e2e, which every
checkout links to, so a new worktree costs about a minute, not six). The system side must be there: `apt-get install chromium ripgrep
libkrb5-dev` (.ci/run does it); without it the test fails saying so, never skips.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editor-support" / "vscode"
E2E = VSCODE / "test" / "e2e"
PORT = "28417"  # the editor helper's range, 28000-28999


def _med_command() -> str:
    med = Path(sys.executable).with_name("med")
    return str(med) if med.exists() else shutil.which("med") or "med"


def _set_up() -> None:
    missing = [tool for tool in ("node", "npm", "chromium", "rg") if shutil.which(tool) is None]
    assert not missing, f"missing {missing}: apt-get install nodejs npm chromium ripgrep libkrb5-dev (see .ci/run)"
    if not (E2E / "node_modules" / ".bin" / "code-server").exists() or not (VSCODE / "medpolicy.vsix").exists():
        done = subprocess.run(["sh", str(E2E / "setup.sh")], capture_output=True, text=True)
        assert done.returncode == 0, f"setup.sh failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    sources = [VSCODE / "package.json", VSCODE / "extension.js", VSCODE / "language-configuration.json",
               *(VSCODE / "syntaxes").glob("*.json")]
    if max(p.stat().st_mtime for p in sources) > (VSCODE / "medpolicy.vsix").stat().st_mtime:  # stale
        done = subprocess.run(["npm", "run", "package"], cwd=VSCODE, capture_output=True, text=True)
        assert done.returncode == 0, f"npm run package failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def test_the_packaged_extension_in_a_real_workbench_shows_the_problem_a_hover_and_a_completion():
    _set_up()
    done = subprocess.run(["node", "run.js", str(VSCODE / "medpolicy.vsix"), _med_command(), PORT],
                          cwd=E2E, capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert done.returncode == 0, f"{out[-3000:]}\n{done.stderr[-3000:]}"
    problem = next(line for line in out.splitlines() if line.startswith("PROBLEM: "))
    assert "unknown name `level9`" in problem and "[Ln 8, Col 5]" in problem and "did you mean `level3`?" in problem
    hover = next(line for line in out.splitlines() if line.startswith("HOVER: "))
    assert hover.startswith("HOVER: level3 · 三级 · 三级医院 · 三级医疗机构 — level") and "level-3 hospital (三级医疗机构)" in hover
    assert "Cites 第四条（一）" in out
    completion = next(line for line in out.splitlines() if line.startswith("COMPLETION: "))
    labels = completion[len("COMPLETION: "):].split(", ")
    # after `fund`, funds only (the widget draws the rows it has room for: ~12 of the 15)
    funds = {s for w in _standard_funds() for s in (w.name, *w.aliases)}
    assert "basic" in labels and len(labels) >= 10 and set(labels) <= funds, labels
    # the [med] editor defaults take effect: the full-width （一） of the citations gets
    # ambiguous-character boxes in a copy of the policy as a .py file, none in the .med file
    boxes = next(line for line in out.splitlines() if line.startswith("AMBIGUOUS-BOXES: "))
    in_text, in_med = (int(part.split()[-1]) for part in boxes[len("AMBIGUOUS-BOXES: "):].split(", "))
    assert in_text > 0 and in_med == 0, boxes


def _standard_funds():
    from medpolicy.document import _fallback_vocabulary, standard_library

    vocabulary = _fallback_vocabulary(standard_library(), None)
    return [w for (kind, _), w in vocabulary.words.items() if kind == "fund"]
