"""Start-up: `med check` and `med run` import only what they use. The language server,
highlighting, plotting, Arrow, Dask, the service and the progress bar are imported by the
commands that need them."""

from __future__ import annotations

import subprocess
import sys

LAZY = ("pygls", "lsprotocol", "pygments", "matplotlib", "tqdm", "pypinyin", "numpy", "pandas", "pyarrow", "dask",
        "starlette", "uvicorn")


def test_the_command_line_imports_no_editor_plot_or_progress_libraries():
    code = ("import sys, medpolicy.cli; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({LAZY!r})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout.strip()) == (0, "[]"), proc.stderr
