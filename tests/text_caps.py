"""The yearly limits of the five regulations, as their texts print them — never read from the
compiled policy — and a check that a settled run stays within them.

Each entry: (city, scheme, fund, which claims count, limit). "Which claims count" names the
benefits the claim was settled as (its own, or the one of an `as` clause, from the trace) or
the maternity events; None counts every claim the fund paid. The limit is a function of the
run's parameters and the claims of the person's year that count: it returns None where the
text sets no limit for that member (`cap none`: groups of the critical-illness layers, aid
category 1), and, where the text's figure depends on the claim (a condition, an age), the
largest figure any of those claims is entitled to.
"""

from __future__ import annotations

from decimal import Decimal

D = Decimal


def _groups(claims) -> set:
    return {g for c in claims for g in c.get("groups") or ()}


def _fixed(n):
    return lambda params, claims: D(n)


def _unless(groups, n):
    return lambda params, claims: None if _groups(claims) & set(groups) else D(n)


def _per_claim(figure):
    return lambda params, claims: max(D(figure(c)) for c in claims)


def _param(expr):
    return lambda params, claims: expr({k: D(str(v).rstrip("%")) for k, v in params.items()})


def _diseases(both, hypertension, diabetes, neither):
    def figure(c):
        conds = set(c.get("conditions") or ())
        if {"hypertension", "diabetes"} <= conds:
            return both
        return hypertension if "hypertension" in conds else diabetes if "diabetes" in conds else neither
    return figure


def _aid_cap(params, claims):
    # 绍兴 第四十六条（二）: a yearly aid limit per category (run parameters); category 1 has none.
    groups = _groups(claims)
    if "extreme-poverty" in groups:
        return None
    caps = [D(params[p]) for g, p in (("low-income", "aid_cap_cat2"), ("orphan", "aid_cap_cat2"),
                                      ("low-income-edge", "aid_cap_cat3"), ("priority-care", "aid_cap_cat4"))
            if g in groups]
    return max(caps) if caps else D(0)


SUIHUA_ILLNESS = ("extreme-poverty", "low-income", "relapse-poverty")      # 第二十九条（二）
SUIZHOU_ILLNESS = ("extreme-poverty", "orphan", "low-income", "relapse-poverty")   # 第五十条（四）
SHAOXING_ILLNESS = ("extreme-poverty", "orphan", "low-income", "low-income-edge", "priority-care", "disabled")

TEXT_CAPS = [
    # 绥化 第二十一条, 第二十一条（二）, 第二十二条（一）1, 第二十八条（二）, 第二十三条, 第二十三条（二）（三）, 第二十九条（二）
    ("suihua", "employee", "basic", None, _fixed(120000)),
    ("suihua", "employee", "basic", {"outpatient"}, _fixed(2000)),
    ("suihua", "employee", "maternity", {"event:antenatal"}, _fixed(1000)),
    ("suihua", "employee", "major", None, _fixed(300000)),
    ("suihua", "resident", "basic", None, _fixed(100000)),
    ("suihua", "resident", "basic", {"outpatient"}, _fixed(200)),
    ("suihua", "resident", "basic", {"two-diseases"}, _per_claim(_diseases(1000, 400, 600, 0))),
    ("suihua", "resident", "major", None, _unless(SUIHUA_ILLNESS, 300000)),
    # 随州 第二十四条, 第二十七条（一）, 第四十四条, 第四十五条, 第四十九条, 第五十条（三）（四）
    ("suizhou", "employee", "basic", None, _fixed(200000)),
    ("suizhou", "employee", "maternity", {"event:antenatal"}, _fixed(800)),
    ("suizhou", "resident", "basic", None, _fixed(150000)),
    ("suizhou", "resident", "basic", {"outpatient"}, _fixed(350)),
    ("suizhou", "resident", "basic", {"outpatient", "two-diseases"}, _per_claim(_diseases(550, 450, 500, 350))),
    ("suizhou", "resident", "major", None, _unless(SUIZHOU_ILLNESS, 350000)),
    # 滨州 第十二条; 第十三条（一）（三）: 50% (70%) of at most 400 of outpatient cost a year
    ("binzhou", "resident", "basic", None, _fixed(200000)),
    ("binzhou", "resident", "basic", {"outpatient", "two-diseases"},
     _per_claim(lambda c: 280 if (c.get("history") or {}).get("outpatient_last_year") is False else 200)),
    # 资阳 第十二条（四）: 6 × avg_wage; 第十六条（三）; 第二十条（一）; 第三十一条（一）
    ("ziyang", "employee", "basic", None, _param(lambda p: 6 * p["avg_wage"])),
    ("ziyang", "employee", "basic", {"outpatient"}, _per_claim(
        lambda c: {("standard", "employed"): 2000, ("standard", "retired"): 2500, ("pooled-only", "employed"): 800,
                   ("pooled-only", "retired"): 1000}[((c.get("enrolment") or {}).get("mode", "standard"), c["status"])])),
    ("ziyang", "employee", "basic", {"single-pay-drug"}, _fixed(200000)),
    ("ziyang", "employee", "supplement", {"special"}, _fixed(1000)),
    # 绍兴 第二十四条（一）, 第三十条, 第三十二条（一）, 第三十六条（一）, 第四十六条（二）
    ("shaoxing", "employee", "basic", {"outpatient"}, _per_claim(
        lambda c: 7000 if c.get("age", 0) >= 60 and (c.get("history") or {}).get("chronic_diseases", 0) >= 2 else 6000)),
    ("shaoxing", "employee", "major", None, _unless(SHAOXING_ILLNESS, 400000)),
    ("shaoxing", "employee", "aid", None, _aid_cap),
    ("shaoxing", "resident", "basic", {"inpatient", "special", "family-bed"}, _fixed(280000)),
    ("shaoxing", "resident", "basic", {"outpatient"}, _per_claim(
        lambda c: 1000 if c.get("age", 99) < 18 or c.get("contracted") else 800)),
    ("shaoxing", "resident", "major", None, _unless(SHAOXING_ILLNESS, 400000)),
    ("shaoxing", "resident", "aid", None, _aid_cap),
]


def settled_as(row: dict) -> str:
    """The benefit whose terms settled the claim (an `as` clause moves it into that benefit's pools)."""
    for step in row.get("trace", ()):
        detail = step.get("detail") or ""
        if step["step"] == "terms" and detail.startswith("settled as "):
            return detail[len("settled as "):].split(",")[0]
    return row["benefit"]


def _counts(row: dict, claim: dict, which) -> bool:
    if which is None:
        return True
    events = claim.get("maternity")
    events = {events} if isinstance(events, str) else set(events or ())
    return settled_as(row) in which or any(f"event:{e}" in which for e in events)


def over_caps(city: str, rows: list[dict], claims: list[dict], params: dict) -> list[str]:
    """Every (person, scheme, year) total that passes its text's limit, as a message.
    `rows` need their trace (`to_json()`), for the benefit a claim was settled as."""
    by_id = {c["id"]: c for c in claims}
    out = []
    for name, scheme, fund, which, limit in TEXT_CAPS:
        if name != city:
            continue
        totals: dict = {}
        for row in rows:
            claim = by_id[row["id"]]
            if "error" in row or claim["scheme"] != scheme or not _counts(row, claim, which):
                continue
            key = (row["person"], row["year"])
            total, members = totals.get(key, (D(0), []))
            totals[key] = (total + D(row["paid"].get(fund, "0")), members + [claim])
        for key, (total, members) in totals.items():
            cap = limit(params, members)
            if cap is not None and total > cap:
                out.append(f"{city} {scheme} {fund} {sorted(which or ['all'])} {key}: paid {total}, the text's limit {cap}")
    return out
