"""The columnar engine (medpolicy.batch) against the scalar engine: every field of every row equal."""

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pytest

import medpolicy
from medpolicy.arrow import claims_table
from medpolicy.batch import _Run, fallback_count, settle_batch

from med_strategies import policy_params

ROOT = Path(__file__).resolve().parent.parent
CITIES = ["binzhou", "shaoxing", "suihua", "suizhou", "ziyang"]


def _names(policy, kind):
    return sorted(policy.compiled.vocabulary.names_of(kind))


def generated_year(policy, n_persons, seed):
    """Persons with several claims in one or both schemes: every benefit, level, status, group and
    place of the policy, amounts from a few yuan to past the caps; some claims of other shapes
    (a unit price, a bed, an age) that the scalar engine settles."""
    rnd = random.Random(seed)
    lo, _ = policy.compiled.effective
    start = dt.date.fromordinal(lo) if lo else dt.date(2026, 1, 1)
    schemes = sorted(policy.compiled.schemes)
    classes = [c for c in _names(policy, "class") if c != "bed"]
    claims = []
    for p in range(n_persons):
        mine = rnd.sample(schemes, 2) if len(schemes) > 1 and rnd.random() < 0.2 else [rnd.choice(schemes)]
        status = rnd.choice(_names(policy, "status"))
        for k in range(rnd.choice([1, 1, 2, 3, 5, 8])):
            scheme = rnd.choice(mine)
            benefit = rnd.choice(sorted(policy.compiled.schemes[scheme].benefits))
            big = rnd.random() < 0.15
            items = [{"class": rnd.choice(classes), "amount": f"{rnd.randint(0, 30_000_000 if big else 1_500_000) / 100:.2f}"}
                     for _ in range(rnd.randint(1, 3))]
            c = {"id": f"c{p}-{k}", "person": f"p{p}",
                 "date": (start + dt.timedelta(days=rnd.randint(0, 420))).isoformat(),
                 "scheme": scheme, "benefit": benefit,
                 "facility": {"level": rnd.choice(_names(policy, "level"))},
                 "place": rnd.choice(_names(policy, "place")), "items": items}
            if scheme == "employee":
                c["status"] = status
            if rnd.random() < 0.2:
                c["groups"] = rnd.sample(_names(policy, "group"), rnd.randint(1, 2))
            if rnd.random() < 0.03:  # another shape: the scalar engine's, for the whole person
                rnd.choice([lambda: c.update(age=40), lambda: items.append({"class": "A", "amount": "10.00",
                                                                              "unit_price": "5.00"}),
                            lambda: c["facility"].update(grade="A")])()
            claims.append(c)
    rnd.shuffle(claims)
    return claims


@pytest.mark.parametrize("city", CITIES)
def test_both_engines_agree_on_every_field(city):
    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)
    claims = generated_year(policy, 250, seed=len(city))
    table = claims_table(claims)
    batch = settle_batch(policy, table, params=params)
    scalar = policy.settle_table(table, params=params)
    assert batch.schema == scalar.schema.remove_metadata() or batch.schema.remove_metadata() == scalar.schema
    got, expected = batch.to_pylist(), scalar.to_pylist()
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g == e
    # The columnar engine settled a real share of the claims itself.
    assert fallback_count(batch) < len(claims)
