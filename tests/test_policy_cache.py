"""Compiled policies are kept on disk (interpreter/policy_cache.py): a policy loaded before
comes back without lark, parsing or compiling, and never stale: a changed policy, a changed
module beside it, a module that now shadows a standard one, or a broken entry all compile."""

from __future__ import annotations

import subprocess
import sys

import pytest

import medpolicy
from medpolicy import policy_cache

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\nuse local\n'
BODY = "scheme employee\n  inpatient deductible 300 rate 90%\n"
CLAIM = {"id": "c", "person": "p", "date": "2026-03-05", "scheme": "employee", "benefit": "inpatient",
         "facility": {"level": "level1"}, "items": [{"class": "A", "amount": "1300.00"}]}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDPOLICY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _policy(tmp_path, local: str = "") -> str:
    (tmp_path / "local.med").write_text(local or 'define group "x"\n  local-heroes "local heroes"\n')
    path = tmp_path / "t.med"
    path.write_text(HEAD + BODY)
    return str(path)


def _entries(cache) -> list[str]:
    return sorted(p.name for p in cache.glob("policy-*.pickle"))


def test_a_policy_loaded_again_comes_from_the_cache_and_settles_the_same(tmp_path, cache):
    path = _policy(tmp_path)
    first = medpolicy.load(path)
    assert len(_entries(cache)) == 1
    again = medpolicy.load(path)
    assert again.compiled is not first.compiled  # read back, not the same object
    assert again.settle(CLAIM).to_json() == first.settle(CLAIM).to_json()
    assert again.sources == first.sources and again.warnings == first.warnings


def test_a_cached_load_imports_neither_lark_nor_the_parser(tmp_path, cache):
    path = _policy(tmp_path)
    medpolicy.load(path)
    code = (f"import sys, medpolicy; p = medpolicy.load({path!r}); "
            "print(sorted(m for m in ('lark', 'medpolicy.parser') if m in sys.modules))")
    env = {"MEDPOLICY_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert (proc.returncode, proc.stdout.strip()) == (0, "[]"), proc.stderr


def test_the_language_of_a_policys_keywords_comes_back_with_it_and_the_run_scans_nothing(tmp_path, cache):
    # The CLI words its messages in the language of the policy's keywords when neither --lang nor
    # the locale says (messages.choose); a cached policy brings that language along, so a run
    # neither reads the policy again nor loads the scanner to count its keywords.
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "policies"
    for name, language in (("suihua.med", "en"), ("suihua.zh.med", "zh")):
        assert medpolicy.load(root / name).keyword_language == language  # compiled
        assert medpolicy.load(root / name).keyword_language == language  # from the cache
    claims = tmp_path / "c.jsonl"
    claims.write_text('{"id": "c1"}\n', encoding="utf-8")
    code = ("import sys, medpolicy.cli as c\n"
            f"code = c.main(['run', {str(root / 'suihua.zh.med')!r}, {str(claims)!r}, '--no-trace'])\n"
            "print(code, 'medpolicy.scanner' in sys.modules)")
    env = {"MEDPOLICY_CACHE": str(cache), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.stdout.strip().splitlines()[-1] == "1 False", proc.stderr
    assert proc.stderr.strip().splitlines() == [  # worded in Chinese all the same
        "med：1 条就医记录中有 1 条未能结算", "med：  1 条 missing-field (person)，首条为 c1：the claim has no person"]


def test_a_changed_module_beside_the_policy_is_compiled_again(tmp_path, cache):
    path = _policy(tmp_path)
    assert "local-heroes" in medpolicy.load(path).compiled.vocabulary.names_of("group")
    (tmp_path / "local.med").write_text('define group "x"\n  local-veterans "local veterans"\n')
    groups = medpolicy.load(path).compiled.vocabulary.names_of("group")
    assert "local-veterans" in groups and "local-heroes" not in groups


def test_a_module_that_now_shadows_a_standard_one_is_reported_not_served_from_the_cache(tmp_path, cache):
    path = _policy(tmp_path)
    medpolicy.load(path)
    (tmp_path / "standard.med").write_text('define group "x"\n  others "others"\n')
    with pytest.raises(medpolicy.MedLoadError) as e:
        medpolicy.load(path)
    assert "means the standard library" in str(e.value)


def test_a_broken_entry_is_compiled_over_and_no_cache_writes_nothing(tmp_path, cache, monkeypatch):
    path = _policy(tmp_path)
    medpolicy.load(path)
    [entry] = cache.glob("policy-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert medpolicy.load(path).settle(CLAIM).ok
    assert entry.read_bytes() != b"not a pickle"  # rewritten
    monkeypatch.setenv("MEDPOLICY_CACHE", "")
    assert policy_cache.entry(path, "x", str(tmp_path)) is None
    other = tmp_path / "o.med"
    other.write_text(HEAD.replace("use local\n", "") + BODY)
    medpolicy.load(str(other))
    assert len(_entries(cache)) == 1


def test_a_policy_that_does_not_compile_is_never_kept(tmp_path, cache):
    path = tmp_path / "bad.med"
    path.write_text(HEAD.replace("use local\n", "") + "scheme employee\n  inpatient rate 90% deductible\n")
    for _ in range(2):
        with pytest.raises(medpolicy.MedError):
            medpolicy.load(str(path))
    assert _entries(cache) == []
