"""The trace note of a layer with several thresholds (绍兴 第三十六条（一）: 18,000 over the
stays' burden, 25,000 over the stays' and outpatient burden): the burden against each
threshold the claim counts in, then the excess the layer pays on. Worked by hand from the
policy: a 60,000 level-3 stay pays the 1,200 deductible (第四十九条（一）) and is paid 47,540
by the basic fund (第二十三条), so the burden is 12,460 — below both thresholds."""

from pathlib import Path

import medpolicy
from medpolicy.sheet_text import note_zh

ROOT = Path(__file__).resolve().parent.parent


def _stay(cid: str, amount: str) -> dict:
    return {"id": cid, "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
            "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": amount}]}


def _major_base(result):
    return next(s for s in result.to_json()["trace"] if s["step"] == "major base")


def test_below_both_thresholds_the_note_shows_the_burden_against_each():
    policy = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    first = policy.settle(_stay("sx1", "60000.00"))
    assert first.to_json()["paid"]["basic"] == "47540.00" and first.to_json()["paid"]["major"] == "0.00"
    step = _major_base(first)
    assert step["amount"] == "12460.00"
    assert step["detail"] == ("burden this year 0.00 -> 12460.00, threshold 18000.00; "
                              "burden this year 0.00 -> 12460.00, threshold 25000.00; "
                              "excess over the thresholds 0.00 -> 0.00")
    assert note_zh(step["detail"], str) == ("本年度个人负担 0.00 → 12460.00，起付标准 18000.00；"
                                            "本年度个人负担 0.00 → 12460.00，起付标准 25000.00；"
                                            "超过起付标准部分 0.00 → 0.00")
    # A second stay of 50,000 (the year's deductible is paid): the basic fund pays 85% of the
    # year's eligible cost 60,000 -> 100,000 and 90% of 100,000 -> 110,000: 34,000 + 9,000 =
    # 43,000; the burden rises by 7,000 to 19,460, 1,460 over 18,000; the layer pays 70%: 1,022.
    second = policy.settle(_stay("sx2", "50000.00"), state=first.state)
    assert second.to_json()["paid"] == {"basic": "43000.00", "major": "1022.00", "aid": "0.00"}
    assert _major_base(second)["detail"] == ("burden this year 12460.00 -> 19460.00, threshold 18000.00; "
                                             "burden this year 12460.00 -> 19460.00, threshold 25000.00; "
                                             "excess over the thresholds 0.00 -> 1460.00")
