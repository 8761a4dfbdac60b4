"""绍兴市医疗保障办法 (seeds/002_b826523bdd7c866f.txt): stays in the city, by hand.

Covered: both schemes, employed and retired, every level; class-B pre-payment (the run's
b_prepay, 第五十四条); one inpatient deductible a year at the highest level used (第四十九条
（一）: 1,200 / 800 / 300, a later stay at a higher level pays the difference); the employees'
rates banded over the year's eligible cost (第二十三条: to 5万, 10万, 25万, above; a claim's
deductible takes the lowest positions of its slice); the residents' 75% / 85% and 28万 cap
(第三十条); the critical-illness layer (第三十五条, 第三十六条（一）: the burden counts the class-B
pre-payment; 70% above 18,000, 40万 cap; the disabled: threshold halved, 80%, no cap).
Not covered: outpatient care, special diseases, special drugs, care out of the city, aid.
"""

from __future__ import annotations

from .common import ZERO, Year, bill, pct, yuan

F = yuan
EFFECTIVE = ("2025-01-01", None)         # 第九十五条: no end date
SCHEMES = ("employee", "resident")
LEVELS = ("primary", "level1", "level2", "level3")
GROUPS = ("disabled",)
DATED = ()

DEDUCTIBLE = {"primary": 300, "level1": 800, "level2": 800, "level3": 1200}   # 第四十九条
# 第二十三条: (upper edge of the cumulative eligible cost, rate) for (primary?, retired?).
EMPLOYEE_BANDS = {
    (True, False): [(F(50000), 85), (F(100000), 90), (F(250000), 90), (None, 90)],
    (True, True): [(F(50000), 90), (F(100000), 95), (F(250000), 95), (None, 90)],
    (False, False): [(F(50000), 80), (F(100000), 85), (F(250000), 90), (None, 90)],
    (False, True): [(F(50000), 85), (F(100000), 90), (F(250000), 95), (None, 90)],
}
RESIDENT_RATE = {True: 85, False: 75}         # 第三十条: 基层 85%, other 75%
RESIDENT_CAP = F(280000)                      # 第三十条: 28万元
ILLNESS_THRESHOLD, ILLNESS_RATE, ILLNESS_CAP = F(18000), pct(70), F(400000)   # 第三十六条（一）
GROUP_THRESHOLD, GROUP_RATE = F(9000), pct(80)                               # 降低一半, 80%, 不设限额

LIMITS = [("resident", "basic", RESIDENT_CAP, ()), ("employee", "major", ILLNESS_CAP, ("disabled",)),
          ("resident", "major", ILLNESS_CAP, ("disabled",))]
EDGES = [("employee", "eligible", F(50000)), ("employee", "eligible", F(100000)),
         ("employee", "eligible", F(250000)), ("resident", "basic", RESIDENT_CAP),
         ("employee", "burden", ILLNESS_THRESHOLD), ("resident", "burden", ILLNESS_THRESHOLD),
         ("employee", "burden", GROUP_THRESHOLD), ("resident", "major", ILLNESS_CAP)]


def settle(claim: dict, year: Year, params: dict) -> dict:
    level = claim["facility"]["level"]
    primary = level == "primary"
    b = bill(claim, pct(params["b_prepay"].rstrip("%")))
    # 第四十九条（一）: the year owes the highest level's deductible; each stay pays what is left.
    year.deductible_level = max(year.deductible_level, F(DEDUCTIBLE[level]))
    charged = min(year.deductible_level - year.deductibles, b.eligible)
    year.deductibles += charged
    e0 = year.eligible.get("inpatient", ZERO)
    year.eligible["inpatient"] = e0 + b.eligible
    if claim["scheme"] == "employee":
        bands = EMPLOYEE_BANDS[(primary, claim["status"] == "retired")]
        basic, start = ZERO, ZERO
        lo, hi = e0 + charged, e0 + b.eligible
        for upper, rate in bands:
            top = upper if upper is not None else max(hi, start)
            if min(hi, top) > max(lo, start):
                basic += (min(hi, top) - max(lo, start)) * pct(rate)
            start = top
    else:
        room = RESIDENT_CAP - year.exact.get("basic", ZERO)
        basic = max(min((b.eligible - charged) * pct(RESIDENT_RATE[primary]), room), ZERO)
    paid_basic = year.pay("basic", basic, cumulative=True)
    before = year.burden
    year.burden += b.eligible - paid_basic + b.prepay      # 第三十五条（四）: 乙类先行自付 counts
    if "disabled" in claim.get("groups", ()):
        threshold, rate, cap = GROUP_THRESHOLD, GROUP_RATE, None
    else:
        threshold, rate, cap = ILLNESS_THRESHOLD, ILLNESS_RATE, ILLNESS_CAP
    major = (max(year.burden - threshold, ZERO) - max(before - threshold, ZERO)) * rate
    if cap is not None:
        major = min(major, cap - year.exact.get("major", ZERO))
    paid_major = year.pay("major", major, cumulative=True)
    return {"deductible": charged, "paid": {"basic": paid_basic, "major": paid_major, "aid": ZERO}}
