"""Fixtures shared by test files."""

import os
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


if os.environ.get("MED_FRESH_PLANS"):
    # The mutation run (scripts/mutation.py) forks each mutant, one pytest session each, from a
    # process that has already settled claims; policies loaded at a test module's import would
    # keep the plans built there, unmutated, so a mutant of plan building would never run.
    # In a mutant's session each module starts once with none (and its cached loaders emptied):
    # the mutant never changes within the session, so what its first test builds is the
    # mutant's own. mutmut's stats run (which tests reach which function) starts every test
    # with none, so that every test that builds a plan is counted as reaching the builder.
    # Resetting before every test in a mutant's session too cost about twice the CPU.
    _RESET = pytest.StashKey[set]()

    @pytest.fixture(autouse=True)
    def _fresh_plans(request):
        done = request.session.stash.setdefault(_RESET, set())
        if request.module.__name__ in done and os.environ.get("MUTANT_UNDER_TEST") != "stats":
            return
        done.add(request.module.__name__)
        import medpolicy

        def policies(value, depth=0):
            if isinstance(value, medpolicy.Policy):
                yield value
            elif depth < 2 and isinstance(value, dict):
                for v in value.values():
                    yield from policies(v, depth + 1)
            elif depth < 2 and isinstance(value, (list, tuple)):
                for v in value:
                    yield from policies(v, depth + 1)

        for value in list(vars(request.module).values()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()  # a module's cached loader: its policies are loaded again
            for policy in policies(value):
                policy._engine._plans.clear()
