"""绥化市医疗保险管理办法 (seeds/000_310305001826a4d9.txt): inpatient stays in the city, by hand.

Covered: both schemes; employed and retired; every level; veteran workers; the yearly
basic caps (第二十一条 12万, 第二十三条 10万); the employees' major layer above the cap point
(第二十八条（二）, 90%, 30万) and the residents' critical-illness bands on the cumulative
burden (第二十九条（二）: 15,000; 65% to 20,000, 70% to 50,000, 75% above; 30万; groups
7,500, +5 points, no cap). Class B counts like class A (Suihua sets no pre-payment share).
Not covered: outpatient, maternity, two-diseases, care out of the region.
"""

from __future__ import annotations

from .common import ZERO, Year, above, bill, in_bands, pct, yuan

F = yuan
EFFECTIVE = ("2026-01-01", "2030-12-31")     # 第四十三条
SCHEMES = ("employee", "resident")
LEVELS = ("primary", "level1", "level2", "level3")
GROUPS = ("veteran-worker", "extreme-poverty", "low-income", "relapse-poverty")
DATED = ()                                    # no clause of this subset has a from/until day

# 第二十一条（一）1-3: deductible per stay, rate employed / retired.
EMPLOYEE = {"primary": (300, 90, 95), "level1": (300, 90, 95), "level2": (600, 87, 90), "level3": (900, 85, 87)}
EMPLOYEE_CAP = F(120000)                      # 第二十一条: 12万元
MAJOR_RATE, MAJOR_CAP = pct(90), F(300000)    # 第二十八条（二）
# 第二十三条（一）1-4: "基层" is primary.
RESIDENT = {"primary": (100, 85), "level1": (300, 85), "level2": (500, 75), "level3": (800, 65)}
RESIDENT_CAP = F(100000)                      # 第二十三条: 10万元
VETERAN_RATE = pct(90)                        # 第二十一条（一）4, 第二十三条（一）5: no deductible, 90%
# 第二十九条（二）
ILLNESS_THRESHOLD, ILLNESS_GROUP_THRESHOLD = F(15000), F(7500)
ILLNESS_BANDS = [(F(20000), 65), (F(50000), 70), (None, 75)]
ILLNESS_CAP = F(300000)
ILLNESS_GROUPS = {"extreme-poverty", "low-income", "relapse-poverty"}

# Yearly limits a run must never pass: (scheme, fund, limit, unless a group has none).
LIMITS = [("employee", "basic", EMPLOYEE_CAP, ()), ("employee", "major", MAJOR_CAP, ()),
          ("resident", "basic", RESIDENT_CAP, ()), ("resident", "major", ILLNESS_CAP, tuple(ILLNESS_GROUPS))]
# The figures a year should land on exactly: (scheme, measure of the year, value).
EDGES = [("employee", "basic", EMPLOYEE_CAP), ("employee", "major", MAJOR_CAP),
         ("resident", "basic", RESIDENT_CAP), ("resident", "burden", ILLNESS_THRESHOLD),
         ("resident", "burden", ILLNESS_GROUP_THRESHOLD), ("resident", "burden", F(20000)),
         ("resident", "burden", F(50000)), ("resident", "major", ILLNESS_CAP)]


def settle(claim: dict, year: Year, params: dict) -> dict:
    b = bill(claim)                           # no pre-payment share in Suihua
    groups = set(claim.get("groups", ()))
    level = claim["facility"]["level"]
    if claim["scheme"] == "employee":
        return _employee(claim, b, year, level, groups)
    return _resident(b, year, level, groups)


def _employee(claim, b, year: Year, level, groups) -> dict:
    ded, employed, retired = EMPLOYEE[level]
    rate = pct(employed if claim["status"] == "employed" else retired)
    due = F(ded)
    if "veteran-worker" in groups:
        due, rate = ZERO, VETERAN_RATE
    room = EMPLOYEE_CAP - year.exact.get("basic", ZERO)
    if room <= 0:
        # domain.md: once the cap is reached, a later stay gets 90% of its whole eligible cost
        # from the major layer, with no deductible.
        due = ZERO
    charged = min(due, b.eligible)
    wanted = (b.eligible - charged) * rate
    basic = min(wanted, room) if room > 0 else ZERO
    # The cap point: the eligible cost at which the basic fund reaches the cap, kept exact.
    if room <= 0:
        above_cap = b.eligible
    elif wanted > room:
        above_cap = b.eligible - (charged + room / rate)
    else:
        above_cap = ZERO
    major = min(above_cap * MAJOR_RATE, MAJOR_CAP - year.exact.get("major", ZERO))
    paid_basic = year.pay("basic", basic, cumulative=True)
    paid_major = year.pay("major", major, cumulative=True)
    year.burden += b.eligible - paid_basic
    return {"deductible": charged, "paid": {"basic": paid_basic, "major": paid_major, "maternity": ZERO}}


def _resident(b, year: Year, level, groups) -> dict:
    ded, rate = RESIDENT[level]
    due, rate = F(ded), pct(rate)
    if "veteran-worker" in groups:
        due, rate = ZERO, VETERAN_RATE
    charged = min(due, b.eligible)
    room = RESIDENT_CAP - year.exact.get("basic", ZERO)
    basic = max(min((b.eligible - charged) * rate, room), ZERO)
    paid_basic = year.pay("basic", basic, cumulative=True)
    before = year.burden
    year.burden += b.eligible - paid_basic
    grouped = bool(groups & ILLNESS_GROUPS)
    points = 5 if grouped else 0
    threshold = ILLNESS_GROUP_THRESHOLD if grouped else ILLNESS_THRESHOLD
    bands = above(threshold, [(u, pct(r + points)) for u, r in ILLNESS_BANDS])
    major = in_bands(before, year.burden, bands)
    if not grouped:
        major = min(major, ILLNESS_CAP - year.exact.get("major", ZERO))
    paid_major = year.pay("major", major, cumulative=True)
    return {"deductible": charged, "paid": {"basic": paid_basic, "major": paid_major}}
