"""Start-up: `med check` and `med run` import only what they use. The language server,
highlighting, plotting, Arrow, Dask, the service and the progress bar are imported by the
commands that need them."""

from __future__ import annotations

import subprocess
from pathlib import Path
import sys

LAZY = ("pygls", "lsprotocol", "pygments", "matplotlib", "tqdm", "pypinyin", "numpy", "pandas", "pyarrow", "dask",
        "starlette", "uvicorn")


def test_the_command_line_imports_no_editor_plot_or_progress_libraries():
    code = ("import sys, medpolicy.cli; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({LAZY!r})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout.strip()) == (0, "[]"), proc.stderr


def test_med_check_compiles_without_importing_the_settling_half_or_the_sheet():
    # The engine, plans, claim reader and explanation sheet load on the first claim or sheet.
    policy = str(Path(__file__).resolve().parent.parent / "policies" / "suihua.med")
    code = ("import sys, contextlib, io, medpolicy.cli as cli\n"
            "with contextlib.redirect_stderr(io.StringIO()):\n"
            f"    status = cli.main(['check', {policy!r}])\n"
            "names = ('engine', 'plan', 'claims', 'claim_compiler', 'sheet')\n"
            "print(status, sorted(n for n in names if 'medpolicy.' + n in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout.strip()) == (0, "0 []"), proc.stderr
