"""随州市基本医疗保险实施细则 (seeds/001_ed9836a7e493e18c.txt): inpatient stays in the city, by hand.

Covered: both schemes, every level, class-B pre-payment (10%, 第二十三条（三）/第四十七条（二）),
repeat-stay deductibles (−200 a stay, floors 400 / 200), the yearly basic caps (20万 / 15万,
第二十四条 / 第四十九条), the employees' major layer (第二十五条: 6,000; 85% to 10万, 90% above;
no cap), the residents' critical illness (第五十条: 1.2万; 60% to 3万, 65% to 10万, 75% above;
35万; groups: threshold halved, +5 points, no cap), and the transition waiver of 第四十七条（一）
(groups: no inpatient deductible up to 2025-12-31, the deductible from 2026).
Not covered: referrals, care out of the city, outpatient, maternity, day surgery.
"""

from __future__ import annotations

import datetime as dt

from .common import ZERO, Year, above, bill, in_bands, pct, yuan

F = yuan
EFFECTIVE = ("2024-01-01", "2028-12-31")     # 第七十九条
SCHEMES = ("employee", "resident")
LEVELS = ("primary", "level1", "level2", "level3")
GROUPS = ("extreme-poverty", "orphan", "low-income", "relapse-poverty", "disabled")
B_SHARE = pct(10)
# 第四十七条（一）: 过渡期内住院不设起付标准, 2026年起执行城乡居民住院起付标准 — the last day of the
# transition is 2025-12-31 (domain.md: the waiver applies to claims dated before 2026).
WAIVER_UNTIL = dt.date(2025, 12, 31)
WAIVER_GROUPS = {"extreme-poverty", "orphan", "low-income", "disabled", "severe-mental", "planning-hardship"}
DATED = ("2025-12-31", "2026-01-01")          # the until day and the day after it

SCHEME = {
    # deductible by level, floor of the repeat-stay reduction, rate by level, cap
    "employee": ({"primary": 400, "level1": 400, "level2": 600, "level3": 800}, F(400),
                 {"primary": 95, "level1": 95, "level2": 93, "level3": 91}, F(200000)),
    "resident": ({"primary": 200, "level1": 200, "level2": 500, "level3": 900}, F(200),
                 {"primary": 90, "level1": 90, "level2": 80, "level3": 70}, F(150000)),
}
REPEAT_STEP = F(200)                          # 每增加一次住院，起付标准递减200元
# Second layers on the cumulative burden: threshold, bands, cap (None: no cap).
EMPLOYEE_MAJOR = (F(6000), [(F(100000), 85), (None, 90)], None)                    # 第二十五条
RESIDENT_MAJOR = (F(12000), [(F(30000), 60), (F(100000), 65), (None, 75)], F(350000))  # 第五十条
ILLNESS_GROUPS = {"extreme-poverty", "orphan", "low-income", "relapse-poverty"}  # 第五十条（四）

LIMITS = [("employee", "basic", F(200000), ()), ("resident", "basic", F(150000), ()),
          ("resident", "major", F(350000), tuple(ILLNESS_GROUPS))]
EDGES = [("employee", "basic", F(200000)), ("employee", "burden", F(6000)), ("employee", "burden", F(100000)),
         ("resident", "basic", F(150000)), ("resident", "burden", F(12000)), ("resident", "burden", F(6000)),
         ("resident", "burden", F(30000)), ("resident", "burden", F(100000)), ("resident", "major", F(350000))]


def settle(claim: dict, year: Year, params: dict) -> dict:
    scheme = claim["scheme"]
    deductibles, floor, rates, cap = SCHEME[scheme]
    level = claim["facility"]["level"]
    groups = set(claim.get("groups", ()))
    b = bill(claim, B_SHARE)
    # 第二十三条（二）/第四十七条（一）: the Nth stay's deductible is the level's − 200 × (N−1), not below the floor.
    due = max(F(deductibles[level]) - REPEAT_STEP * year.stays, floor)
    if scheme == "resident" and groups & WAIVER_GROUPS and dt.date.fromisoformat(claim["date"]) <= WAIVER_UNTIL:
        due = ZERO
    charged = min(due, b.eligible)
    year.stays += 1
    room = cap - year.exact.get("basic", ZERO)
    basic = max(min((b.eligible - charged) * pct(rates[level]), room), ZERO)
    paid_basic = year.pay("basic", basic, cumulative=True)
    before = year.burden
    year.burden += b.eligible - paid_basic
    threshold, bands, layer_cap = EMPLOYEE_MAJOR if scheme == "employee" else RESIDENT_MAJOR
    points = 0
    if scheme == "resident" and groups & ILLNESS_GROUPS:
        threshold, points, layer_cap = threshold / 2, 5, None   # 起付标准减半, +5, 取消最高支付限额
    major = in_bands(before, year.burden, above(threshold, [(u, pct(r + points)) for u, r in bands]))
    if layer_cap is not None:
        major = min(major, layer_cap - year.exact.get("major", ZERO))
    paid_major = year.pay("major", major, cumulative=True)
    paid = {"basic": paid_basic, "major": paid_major}
    if scheme == "employee":
        paid["maternity"] = ZERO
    return {"deductible": charged, "paid": paid}
