"""资阳市职工医疗（生育）保险实施办法 (seeds/004_98b1981641b34ce7.txt): employees' stays, by hand.

Covered: inpatient stays in the city at every level, grade A and ungraded (乙等) hospitals;
employed and retired, ages 70 and 80 (第十八条); class-B pre-payment (10%, 第十二条（一）1);
the deductible (第十八条（一）: the level's amount, −200 retired, −50 a repeat stay, not below
100; from the second stay none at 80 and over); the yearly basic cap of 6 × avg_wage
(第十二条（四）); the major layer on the cumulative burden (第二十七条: above 50% of avg_wage;
70% to 50,000, 80% to 100,000, 90% above; no cap); the supplement for members who joined it
(第三十一条（二）: 60% of eligible − deductible − basic − major).
Not covered: care out of the region, referrals, special diseases, materials, beds, maternity.
"""

from __future__ import annotations

from .common import ZERO, Year, above, bill, in_bands, pct, yuan

F = yuan
EFFECTIVE = ("2023-01-01", "2027-12-31")     # 第四十三条
SCHEMES = ("employee",)
LEVELS = ("primary", "level1", "level2", "level3")
GROUPS = ()
DATED = ()
B_SHARE = pct(10)

# 第十八条（一）1, local column: (乙等 or ungraded, 甲等).
DEDUCTIBLE = {"primary": (100, 100), "level1": (200, 200), "level2": (400, 600), "level3": (800, 1000)}
RETIRED_LESS, REPEAT_LESS, FLOOR = F(200), F(50), F(100)
RATE = {"primary": 95, "level1": 90, "level2": 85, "level3": 80}   # 第十八条（二）1, 本地
RETIRED_POINTS, AGE_70_POINTS = 5, 5                               # 第十八条（二）2
MAJOR_BANDS = [(F(50000), 70), (F(100000), 80), (None, 90)]        # 第二十七条（二）, 本地
SUPPLEMENT_RATE = pct(60)                                          # 第三十一条（二）, 本地


def cap(params) -> F:
    return 6 * yuan(params["avg_wage"])       # 第十二条（四）


def threshold(params) -> F:
    return yuan(params["avg_wage"]) / 2      # 第二十七条（一）


def limits(params):
    return [("employee", "basic", cap(params), ())]


def edges(params):
    return [("employee", "basic", cap(params)), ("employee", "burden", threshold(params)),
            ("employee", "burden", F(50000)), ("employee", "burden", F(100000))]


def settle(claim: dict, year: Year, params: dict) -> dict:
    level = claim["facility"]["level"]
    retired = claim["status"] == "retired"
    age = claim.get("age", 0)
    b = bill(claim, B_SHARE)
    due = F(DEDUCTIBLE[level][1 if claim["facility"].get("grade") == "A" else 0])
    if retired:
        due -= RETIRED_LESS
    due = max(due - REPEAT_LESS * year.stays, FLOOR)   # 经降低或递减后不得低于100元
    if age >= 80 and year.stays >= 1:
        due = ZERO                            # 只计算年度第一次住院起付线
    charged = min(due, b.eligible)
    year.stays += 1
    rate = RATE[level] + (RETIRED_POINTS if retired else 0) + (AGE_70_POINTS if retired and age >= 70 else 0)
    room = cap(params) - year.exact.get("basic", ZERO)
    basic = max(min((b.eligible - charged) * pct(min(rate, 100)), room), ZERO)
    paid_basic = year.pay("basic", basic, cumulative=True)
    before = year.burden
    year.burden += b.eligible - paid_basic
    major = in_bands(before, year.burden, above(threshold(params), [(u, pct(r)) for u, r in MAJOR_BANDS]))
    paid_major = year.pay("major", major, cumulative=True)
    supplement = ZERO
    if claim.get("enrolment", {}).get("supplement"):
        supplement = max(b.eligible - charged - paid_basic - paid_major, ZERO) * SUPPLEMENT_RATE
    paid_supplement = year.pay("supplement", supplement, cumulative=False)
    return {"deductible": charged,
            "paid": {"basic": paid_basic, "major": paid_major, "supplement": paid_supplement, "maternity": ZERO}}
