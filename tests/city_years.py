"""Generated years of claims for the five cities, shared by the differential test of the two
engines (`test_batch.py`) and its benchmark (`benchmarks/batch_cities.py`).

Plain Python (no Hypothesis), so the benchmark needs nothing the `data` extra lacks. It lives
beside the tests because the tests and their copies (the mutation stages copy `tests/`, not
`benchmarks/`) must import it; the benchmark puts this folder on `sys.path`, as `fuzz/` does.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Callable, Iterator

CITIES = ["binzhou", "shaoxing", "suihua", "suizhou", "ziyang"]


def policy_params(policy) -> dict:
    """Plausible values for the parameters a policy declares (a city's yearly figures):
    a share for those it uses as a rate or pre-payment, an amount of yuan for the rest."""
    shares = policy.share_parameters  # what `bind` checks against 100%
    return {name: "10%" if name in shares else "80000" for name in policy.parameters}


def _names(policy, kind: str) -> list[str]:
    return sorted(policy.compiled.vocabulary.names_of(kind))


def generated_year(policy, n_persons: int, seed: int) -> list[dict]:
    """Persons with several claims in one or both schemes: every benefit, level, status, group and
    place of the policy, facility types and ages, bed items (days and kind), maternity events (with
    the months and babies some clauses compare), amounts from a few yuan to past the caps; some
    claims of other shapes (a unit price, a grade)."""
    return _shuffled(policy, seed, lambda persons, _claims: persons >= n_persons)


def generated_claims(policy, n_claims: int, seed: int) -> list[dict]:
    """Whole persons of `generated_year` until there are at least `n_claims` claims: the same
    claims as `generated_year(policy, k, seed)` for the k persons it took."""
    return _shuffled(policy, seed, lambda _persons, claims: claims >= n_claims)


def _shuffled(policy, seed: int, enough: Callable[[int, int], bool]) -> list[dict]:
    """Persons' claims drawn one person at a time until `enough(persons, claims)`, then shuffled."""
    rnd = random.Random(seed)
    persons = _persons(policy, rnd)
    claims: list[dict] = []
    taken = 0
    while not enough(taken, len(claims)):
        claims += next(persons)
        taken += 1
    rnd.shuffle(claims)
    return claims


def _persons(policy, rnd: random.Random) -> Iterator[list[dict]]:
    """Each person's claims in turn (p0, p1, ...), drawn from `rnd`."""
    lo, _ = policy.compiled.effective
    start = dt.date.fromordinal(lo) if lo else dt.date(2026, 1, 1)
    schemes = sorted(policy.compiled.schemes)
    classes = [c for c in _names(policy, "class") if c != "bed"]
    p = 0
    while True:
        mine = rnd.sample(schemes, 2) if len(schemes) > 1 and rnd.random() < 0.2 else [rnd.choice(schemes)]
        status = rnd.choice(_names(policy, "status"))
        yield [_claim(policy, rnd, f"c{p}-{k}", f"p{p}", rnd.choice(mine), status, start, classes)
               for k in range(rnd.choice([1, 1, 2, 3, 5, 8]))]
        p += 1


def _claim(policy, rnd: random.Random, cid: str, person: str, scheme: str, status: str, start: dt.date,
           classes: list[str]) -> dict:
    """One claim of a person in `scheme`: 15% of them big (up to 300,000 yuan an item)."""
    benefit = rnd.choice(sorted(policy.compiled.schemes[scheme].benefits))
    big = rnd.random() < 0.15
    items = [{"class": rnd.choice(classes), "amount": f"{rnd.randint(0, 30_000_000 if big else 1_500_000) / 100:.2f}"}
             for _ in range(rnd.randint(1, 3))]
    c = {"id": cid, "person": person,
         "date": (start + dt.timedelta(days=rnd.randint(0, 420))).isoformat(),
         "scheme": scheme, "benefit": benefit,
         "facility": {"level": rnd.choice(_names(policy, "level"))},
         "place": rnd.choice(_names(policy, "place")), "items": items}
    if scheme == "employee":
        c["status"] = status
    if rnd.random() < 0.2:
        c["groups"] = rnd.sample(_names(policy, "group"), rnd.randint(1, 2))
    # A facility type (a clinic's daily cap) and an age (the clauses' age bounds) on some claims, from
    # a stream of the claim's own: the claims drawn from `rnd` stay the ones the tests count on.
    side = random.Random(cid)
    if side.random() < 0.15:
        c["facility"]["type"] = side.choice(_names(policy, "type"))
    if side.random() < 0.1:
        c["age"] = side.randint(0, 100)
    if "bed" in _names(policy, "class") and side.random() < 0.1:  # 床位费: days at a daily ceiling, by kind
        bed = {"class": "bed", "amount": f"{side.randint(0, 200_000) / 100:.2f}", "days": side.randint(0, 40)}
        if side.random() < 0.5:
            bed["kind"] = side.choice(_names(policy, "bed-kind"))
        items.append(bed)  # (always with days: test_batch's bed test has the error row without them)
    if benefit == "maternity" and _names(policy, "event") and side.random() < 0.8:  # 生育: the event(s) done
        c["maternity"] = side.sample(_names(policy, "event"), 1 if side.random() < 0.9 else 2)
        if side.random() < 0.3:
            c["pregnancy_months"] = side.randint(1, 10)
    if rnd.random() < 0.03:  # another shape: the scalar engine's, for the whole person
        rnd.choice([lambda: c.update(age=40), lambda: items.append({"class": "A", "amount": "10.00",
                                                                      "unit_price": "5.00"}),
                    lambda: c["facility"].update(grade="A")])()
    return c
