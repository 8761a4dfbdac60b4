"""Another commit's medpolicy beside this one, for side-by-side figures in one run.

    path = export("main", folder)   # PYTHONPATH=path imports that commit's medpolicy

`git archive` of the commit's interpreter, grammar and stdlib, laid out as the installed
package (medpolicy, medpolicy.grammar, medpolicy.stdlib); the working tree is not touched.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export(ref: str, folder: Path) -> Path:
    """The folder to put on PYTHONPATH to import medpolicy as it is at `ref`."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "interpreter", "grammar", "stdlib"],
                          check=True, capture_output=True).stdout
    src = folder / "src"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(src)
    package = folder / "pkg" / "medpolicy"
    shutil.copytree(src / "interpreter", package)
    shutil.copytree(src / "grammar", package / "grammar")
    shutil.copytree(src / "stdlib", package / "stdlib")
    return folder / "pkg"
