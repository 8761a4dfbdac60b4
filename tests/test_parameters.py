"""Run parameters: a name the policy does not declare is refused with a "did you mean" (exit
2 on the command line), in the same words for the command line and the Python API; a claim
whose terms reach parameters the run did not give is a row listing them all with their
descriptions (tests/test_parameter_reach.py covers the language side)."""

from __future__ import annotations

import pytest

import medpolicy
from medpolicy.cli import main
from med_strategies import ROOT

SHAOXING = str(ROOT / "policies" / "shaoxing.med")
ZIYANG = str(ROOT / "policies" / "ziyang.med")
SUIHUA = str(ROOT / "policies" / "suihua.med")
CLAIMS = str(ROOT / "examples" / "ziyang-claims.jsonl")


def _med(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.err


def test_an_undeclared_param_is_refused_with_did_you_mean_and_exit_2(capsys, tmp_path):
    code, err = _med(capsys, "run", ZIYANG, CLAIMS, "--param", "avg_wge=80000")
    assert code == 2
    assert err == "med: the policy declares no parameter 'avg_wge' (did you mean avg_wage?)\n"
    # Every shipped policy declares parameters now (their member rules' yearly figures).
    bare = tmp_path / "bare.med"
    bare.write_text('policy "bare"\nuse standard\nscheme employee\n  inpatient rate 80%\n', encoding="utf-8")
    code, err = _med(capsys, "run", str(bare), CLAIMS, "--param", "avg_wage=80000")
    assert (code, err) == (2, "med: the policy declares no parameter 'avg_wage' (it declares none)\n")
    code, err = _med(capsys, "explain", ZIYANG, CLAIMS, "--param", "avg_wage=80000", "--param", "zzz=1")
    assert (code, err) == (2, "med: the policy declares no parameter 'zzz' (it declares avg_wage, bed_markup, avg_pension_2022)\n")


def test_the_api_refuses_an_undeclared_param_in_the_same_words():
    with pytest.raises(medpolicy.ParameterError) as info:
        medpolicy.load(ZIYANG).bind({"avg_wge": "80000"})
    assert info.value.message == "the policy declares no parameter 'avg_wge' (did you mean avg_wage?)"


def _aid_claims(tmp_path):
    """Shaoxing's worked-example claims of members in aid categories (the aid parameters' claims)."""
    import json
    from medpolicy.tomlcompat import tomllib
    data = tomllib.loads((ROOT / "policies" / "shaoxing.test.toml").read_text(encoding="utf-8"))
    claims = [c for ex in data["example"] for c in ex["claim"] if {"low-income", "orphan"} & set(c.get("groups", []))]
    path = tmp_path / "aid.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in claims), encoding="utf-8")
    return path


def test_every_missing_param_is_listed_with_its_description(capsys, tmp_path):
    # A run needs only the parameters its claims reach (docs/language.md, Parameters): each claim
    # that reaches missing ones is a row naming every one with its description.
    import json
    code = main(["run", SHAOXING, str(_aid_claims(tmp_path)), "--param", "b_prepay=10%", "--no-trace"])
    out, err = capsys.readouterr()
    assert code == 1
    errors = [r["error"] for r in map(json.loads, out.splitlines()) if "error" in r]
    assert errors and all(e["code"] == "missing-parameter" for e in errors)
    assert errors[0]["message"] == (
        "this claim's terms need parameters the run did not give: aid_cap_cat2 (第二类医疗救助对象年度救助限额, not "
        "below 100000 (第四十六条（二）)), aid_rate_cat2 (第二类医疗救助对象救助比例, 80%-90%, set by each county "
        "(第四十六条（一）)); give them with --param aid_cap_cat2=VALUE (or params={'aid_cap_cat2': ...})")
    assert not any("b_prepay" in e["message"] for e in errors)
    assert "Traceback" not in err


def test_one_missing_param_is_named_in_the_singular():
    r = medpolicy.load(ZIYANG).settle({"id": "z", "person": "p", "date": "2026-03-05", "scheme": "employee",
                                       "status": "employed", "benefit": "inpatient", "facility": {"level": "level3"},
                                       "items": [{"class": "A", "amount": "100.00"}]})
    assert r["error"]["message"] == ("this claim's terms need parameter the run did not give: avg_wage "
                                     "(全市上年度城镇全部单位就业人员平均工资); give it with --param avg_wage=VALUE "
                                     "(or params={'avg_wage': ...})")
