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


# The engine settles a claim by its plan's generated function (straight.py) and keeps its stages
# (engine.py) as the reference and for what the functions leave. The tests that assert exact
# amounts, notes and rows run through both: once as the engine chooses, once with the generated
# functions switched off, so a wrong amount in either is caught by the same hand-worked figures.
BOTH_PATHS = ("test_examples.py", "test_reference.py", "test_boundaries.py", "test_settlement.py")


def pytest_generate_tests(metafunc):
    name = Path(metafunc.module.__file__).name
    if "_settle_path" in metafunc.fixturenames and (name in BOTH_PATHS or name.startswith("test_mutants_")) \
            and not getattr(metafunc.module, "ONE_PATH", False):
        metafunc.parametrize("_settle_path", ["generated", "stages"], indirect=True)


@pytest.fixture(autouse=True)
def _settle_path(request, monkeypatch):
    """`stages`: every claim through the engine's stages (the generated functions give none)."""
    if getattr(request, "param", "generated") == "stages":
        import medpolicy.engine

        monkeypatch.setattr(medpolicy.engine.Engine, "_straight", lambda self, *args, **kwargs: None)
    return getattr(request, "param", "generated")


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


if os.environ.get("MED_FRESH_PLANS") and os.environ.get("MUTANT_UNDER_TEST") is not None:
    # Code that runs while the package and the test modules are imported (the claim field
    # table, `Exact`'s operators) ran in mutmut's parent process before the fork, unmutated.
    # The parent records the functions it called (in MED_AT_IMPORT: pytest imports this file
    # again in every session, and the forked sessions inherit the environment); a mutant of
    # one of them has its session import the package and the test modules again, with the
    # mutant in force.
    import sys

    _TESTS = str(Path(__file__).resolve().parent)
    _ORIG = "__mutmut_orig"

    if "MED_AT_IMPORT" not in os.environ:
        _called: set = set()

        def _record(frame, event, arg):
            if event == "call" and frame.f_code.co_name.endswith(_ORIG):
                module = frame.f_globals.get("__name__", "")
                if module.startswith("medpolicy."):
                    _called.add(f"{module}.{frame.f_code.co_name[:-len(_ORIG)]}")

        sys.setprofile(_record)

        def pytest_collection_finish(session):
            sys.setprofile(None)
            os.environ["MED_AT_IMPORT"] = " ".join(sorted(_called))

    def pytest_sessionstart(session):
        mutant = os.environ.get("MUTANT_UNDER_TEST", "")
        if mutant.rpartition("__mutmut_")[0] not in os.environ.get("MED_AT_IMPORT", "").split():
            return
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None) or ""
            if name == "medpolicy" or name.startswith("medpolicy.") or \
                    (file.startswith(_TESTS) and not file.endswith("conftest.py")):
                del sys.modules[name]

    def pytest_configure(config):
        # Tests written to kill survivors (tests/test_mutants_*.py) join the first tier of a
        # stage already running: mutmut resets every verdict when its test selection changes,
        # so they are added to the selection here (a mutant's own session names its tests).
        if not config.args or any("::" in a for a in config.args):
            return
        named = {Path(a).name for a in config.args}
        for extra in sorted(Path(_TESTS).glob("test_mutants_*.py")):
            if extra.name not in named:
                config.args.append(os.path.relpath(extra))
