"""滨州市城乡居民基本医疗保险办法 (seeds/003_c00b9131a8dd293c.decoded.txt): residents, by hand.

Covered: inpatient stays in the city at every level (第十四条（一）（二）: 200 / 500 / 1,000 a
stay; 90% / 75% / 50%; below level 1 on level-1 terms), TCM hospitals (+5 points, 第十四条（三）),
no deductible from the third stay at level 2 or 3 (第十四条（一）), ordinary outpatient care
(第十三条（一）: no deductible, 50% — 70% for a member with no outpatient cost last year — of
the year's eligible cost up to 400: domain.md, "the 400 outpatient figure limits the cost
reimbursed, not the payment"), and the one 20万 yearly cap over both (第十二条).
Not covered: the late-payment period, private hospitals, care out of the city, two-diseases.
"""

from __future__ import annotations

from .common import ZERO, Year, bill, in_bands, pct, yuan

F = yuan
EFFECTIVE = ("2021-02-03", "2026-02-02")     # 第四十一条
SCHEMES = ("resident",)
LEVELS = ("primary", "level1", "level2", "level3")
GROUPS = ()
DATED = ()

INPATIENT = {"primary": (200, 90), "level1": (200, 90), "level2": (500, 75), "level3": (1000, 50)}
TCM_POINTS = 5
WAIVED_FROM_STAY = 3                          # 在二、三级医院第三次住院起，取消起付线
CAP = F(200000)                               # 第十二条: 20万元
OUTPATIENT_LIMIT = F(400)                     # 第十三条（一）: 每年限额400元
OUTPATIENT_RATE, OUTPATIENT_RATE_NO_HISTORY = 50, 70

LIMITS = [("resident", "basic", CAP, ())]
# The outpatient payments of a year: at most 50% (70%) of 400.
OUTPATIENT_PAID_LIMIT = {50: F(200), 70: F(280)}
EDGES = [("resident", "basic", CAP), ("resident", "outpatient", OUTPATIENT_LIMIT)]


def settle(claim: dict, year: Year, params: dict) -> dict:
    b = bill(claim)                           # 第十六条 sets no class-B share
    room = CAP - year.exact.get("basic", ZERO)
    if claim["benefit"] == "outpatient":
        rate = OUTPATIENT_RATE
        if claim.get("history", {}).get("outpatient_last_year") is False:
            rate = OUTPATIENT_RATE_NO_HISTORY
        before = year.eligible.get("outpatient", ZERO)
        after = before + b.eligible
        year.eligible["outpatient"] = after
        wanted = in_bands(before, after, [(OUTPATIENT_LIMIT, pct(rate)), (None, ZERO)])
        basic = max(min(wanted, room), ZERO)
        return {"deductible": ZERO, "paid": {"basic": year.pay("basic", basic, cumulative=True)}}
    level = claim["facility"]["level"]
    ded, rate = INPATIENT[level]
    if claim["facility"].get("type") == "tcm":
        rate += TCM_POINTS
    due = F(ded)
    if level in ("level2", "level3"):
        year.stays += 1                       # stays at level 2 or 3, this one included
        if year.stays >= WAIVED_FROM_STAY:
            due = ZERO
    charged = min(due, b.eligible)
    basic = max(min((b.eligible - charged) * pct(rate), room), ZERO)
    return {"deductible": charged, "paid": {"basic": year.pay("basic", basic, cumulative=True)}}
