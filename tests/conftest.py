"""Fixtures shared by test files."""

import shutil
import subprocess
from pathlib import Path

import pytest

VSCODE = Path(__file__).resolve().parent.parent / "editor-support" / "vscode"
NODE = shutil.which("node")
NPM = shutil.which("npm")


def _packages_present() -> bool:
    return all((VSCODE / "node_modules" / p).is_dir() for p in ("vscode-textmate", "vscode-oniguruma"))


@pytest.fixture(scope="module")
def node() -> str:
    """node, with the locked npm packages installed (on a fresh clone: `npm ci`, once)."""
    if NODE is None:
        pytest.fail("node is not installed (apt-get install nodejs npm; .ci/run does it)")
    if not _packages_present():
        if NPM is None:
            pytest.fail("the npm packages of editor-support/vscode are missing and npm is not installed")
        done = subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=VSCODE, capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0 or not _packages_present():
            pytest.fail(f"`npm ci` in editor-support/vscode failed ({done.returncode}): {done.stderr[-2000:]}")
    return NODE
