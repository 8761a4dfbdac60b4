"""The claim fuzzer (fuzz/fuzz_claims.py) runs briefly in every suite run: valid runs keep
the settlement invariants; hostile claims (lone surrogates, huge ints, odd digits and dates,
unknown fields) end in a result or a clear error row that every output format can write;
corrupted JSONL gives one row per line. `python fuzz/fuzz_claims.py --minutes 5` runs it long."""

from __future__ import annotations

import sys

from med_strategies import ROOT

sys.path.insert(0, str(ROOT / "fuzz"))

import fuzz_claims  # noqa: E402


def test_the_claim_fuzzer_finds_nothing_in_a_short_run(capsys):
    status = fuzz_claims.main(["--minutes", "0.1"])
    out = capsys.readouterr().out
    assert status == 0, out
    tried = int(out.split("claims: ")[1].split(" inputs")[0])
    assert tried >= 20, out  # it really ran
