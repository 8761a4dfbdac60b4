"""policies/suihua.zh.med's 参保人 blocks: the same member rules as suihua.med's `members` blocks,
in Chinese keywords written without spaces. Suihua's member examples pass on both, and
`med members` gives the same rows for every member of them."""

import subprocess
import sys
from pathlib import Path

import json
import pytest

import medpolicy
from medpolicy.members.examples import run_file
from medpolicy.tomlcompat import tomllib

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
EXAMPLES = POLICIES / "suihua.members.test.toml"


@pytest.fixture(scope="module")
def both():
    return medpolicy.load(POLICIES / "suihua.med"), medpolicy.load(POLICIES / "suihua.zh.med")


def test_the_chinese_file_has_a_members_block_for_each_scheme(both):
    english, chinese = both
    en, zh = english.compiled.members.schemes, chinese.compiled.members.schemes
    assert set(zh) == set(en) == {"employee", "resident"}
    assert {s: len(zh[s]) for s in zh} == {s: len(en[s]) for s in en} == {"employee": 21, "resident": 9}


def test_suihuas_member_examples_pass_on_the_chinese_file(both):
    outcomes = list(run_file(EXAMPLES, policy=both[1]))
    assert outcomes and all(o.passed for o in outcomes), [o for o in outcomes if not o.passed]


def test_med_members_gives_the_same_rows_on_both_files(tmp_path):
    data = tomllib.loads(EXAMPLES.read_text(encoding="utf-8"))
    records = {e["member"]["id"]: e["member"] for e in data["example"]}
    members = tmp_path / "members.jsonl"
    members.write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in records.values()), encoding="utf-8")
    params = [arg for k, v in data["params"].items() for arg in ("--param", f"{k}={v}")]
    outputs = []
    for name in ("suihua.med", "suihua.zh.med"):
        r = subprocess.run([sys.executable, "-m", "medpolicy.cli", "members", str(POLICIES / name), str(members),
                            "--as-of", "2027-12-31", *params], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        outputs.append(r.stdout)
    rows = [json.loads(line) for line in outputs[0].splitlines()]
    assert len({r["member"] for r in rows}) == len(records) and len(rows) > 100
    assert outputs[0] == outputs[1]
