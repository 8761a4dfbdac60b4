"""Run parameters: a name the policy does not declare is refused with a "did you mean" (exit
2 on the command line); the missing ones are all listed with their descriptions, in the
same words for the command line and the Python API, without Python in the CLI's words."""

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


def test_an_undeclared_param_is_refused_with_did_you_mean_and_exit_2(capsys):
    code, err = _med(capsys, "run", ZIYANG, CLAIMS, "--param", "avg_wge=80000")
    assert code == 2
    assert err == "med: the policy declares no parameter 'avg_wge' (did you mean avg_wage?)\n"
    code, err = _med(capsys, "run", SUIHUA, CLAIMS, "--param", "avg_wage=80000")
    assert (code, err) == (2, "med: the policy declares no parameter 'avg_wage' (it declares none)\n")
    code, err = _med(capsys, "explain", ZIYANG, CLAIMS, "--param", "avg_wage=80000", "--param", "zzz=1")
    assert (code, err) == (2, "med: the policy declares no parameter 'zzz' (it declares avg_wage)\n")


def test_the_api_refuses_an_undeclared_param_in_the_same_words():
    with pytest.raises(medpolicy.ParameterError) as info:
        medpolicy.load(ZIYANG).bind({"avg_wge": "80000"})
    assert info.value.message == "the policy declares no parameter 'avg_wge' (did you mean avg_wage?)"


def test_every_missing_param_is_listed_with_its_description(capsys):
    code, err = _med(capsys, "run", SHAOXING, CLAIMS, "--param", "b_prepay=10%")
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith('med: the policy needs parameters aid_rate_cat2 "第二类医疗救助对象救助比例, 80%-90%, '
                               'set by each county (第四十六条（一）)", aid_cap_cat2 "第二类医疗救助对象年度救助限额')
    for name in ("aid_rate_cat2", "aid_cap_cat2", "aid_rate_cat3", "aid_cap_cat3", "aid_rate_cat4", "aid_cap_cat4"):
        assert f"{name} \"" in lines[0] and f"--param {name}=VALUE" in lines[1]
    assert "b_prepay" not in err
    assert lines[0].endswith(": give a value for each")
    assert lines[1].startswith("  hint: --param aid_rate_cat2=VALUE --param aid_cap_cat2=VALUE")
    assert "params=" not in err and "{" not in err


def test_one_missing_param_is_named_in_the_singular(capsys):
    code, err = _med(capsys, "run", ZIYANG, CLAIMS)
    assert code == 1
    assert err == ('med: the policy needs parameter avg_wage "全市上年度城镇全部单位就业人员平均工资": give its value\n'
                   "  hint: --param avg_wage=VALUE\n")
    with pytest.raises(medpolicy.ParameterError) as info:
        medpolicy.load(ZIYANG).bind({})
    assert info.value.message == 'the policy needs parameter avg_wage "全市上年度城镇全部单位就业人员平均工资": give its value'
