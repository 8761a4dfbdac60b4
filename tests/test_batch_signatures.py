"""What a plan signature of the columnar engine may leave out of a claim: the facility types
and grades, groups, measures, statuses, places and events no clause the claim's scheme and
benefit can consult names (batch.py's `_signatures`, batch_plans' `benefit_reads`).
Each leaves claims apart that the plans would settle alike; each is sound only if the scalar
engine pays every generated claim of each city the same whatever the claim says there, which
these tests check, and each can fail (the test says how)."""

from pathlib import Path

import pytest

import medpolicy
from city_years import CITIES, generated_year, policy_params

ROOT = Path(__file__).resolve().parent.parent


# The groups each city's settlement clauses name (Binzhou names its groups only in contribution
# subsidies, 第七条（三）, which no claim reads).
SELECTED_GROUPS = {
    "binzhou": set(),
    "shaoxing": {"disabled", "extreme-poverty", "low-income", "low-income-edge", "orphan", "priority-care",
                 "unemployed-spouse"},
    "suihua": {"extreme-poverty", "low-income", "relapse-poverty", "veteran-worker"},
    "suizhou": {"disabled", "extreme-poverty", "low-income", "orphan", "planning-hardship", "relapse-poverty",
                "severe-mental", "state-funded"},
    "ziyang": {"state-funded"},
}


@pytest.mark.parametrize("city", CITIES)
def test_a_group_no_clause_names_changes_no_claims_settlement(city):
    """The columnar engine's signatures leave out the groups `selected_groups` does not find;
    sound only if such a group never changes what the scalar engine pays: every generated claim
    given every such group settles as before, field for field."""
    from medpolicy.batch_plans import selected_groups

    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)
    selected = selected_groups(policy.compiled)
    assert selected == SELECTED_GROUPS[city]
    others = sorted(set(policy.compiled.vocabulary.names_of("group")) - selected)
    assert others  # (every city's vocabulary has groups its settlement never names)
    claims = generated_year(policy, 80, seed=17)
    widened = [dict(c, groups=sorted(set(c.get("groups", ())) | set(others))) for c in claims]
    before = [r.to_json(trace=False) for r in policy.settle_all(claims, params=params)]
    after = [r.to_json(trace=False) for r in policy.settle_all(widened, params=params)]
    assert after == before
    # ... and a named group does change some claim's settlement (the test can fail).
    if selected:
        named = [dict(c, groups=sorted(selected)) for c in claims]
        assert [r.to_json(trace=False) for r in policy.settle_all(named, params=params)] != before


@pytest.mark.parametrize("city", CITIES)
def test_a_group_no_clause_of_the_claims_benefit_names_changes_no_claims_settlement(city):
    """The columnar engine's signatures keep, for a claim of one scheme and benefit, only the
    groups `benefit_reads` finds for them; sound only if any other group never changes what
    the scalar engine pays for such a claim: every generated claim given every such group
    settles as before, field for field."""
    from medpolicy.batch_plans import benefit_reads

    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)
    every = set(policy.compiled.vocabulary.names_of("group"))
    claims = generated_year(policy, 80, seed=19)
    widened = []
    for c in claims:
        rules = policy.compiled.schemes.get(c.get("scheme"))
        reads = benefit_reads(rules) if rules is not None else {}
        others = every - (reads.get(c.get("benefit"), reads[None]).groups if reads else frozenset())
        widened.append(dict(c, groups=sorted(set(c.get("groups", ())) | others)))
    before = [r.to_json(trace=False) for r in policy.settle_all(claims, params=params)]
    assert [r.to_json(trace=False) for r in policy.settle_all(widened, params=params)] == before


@pytest.mark.parametrize("city", ["shaoxing", "ziyang"])  # (the cities whose clauses compare an age)
def test_an_age_no_clause_of_the_claims_benefit_names_changes_no_claims_settlement(city):
    """The columnar engine's signatures leave out a measure the clauses of the claim's scheme
    and benefit never name (`benefit_reads`); sound only if such a claim's age, any or none,
    never changes what the scalar engine pays: every generated claim whose benefit reads no age
    settles as before with an age on either side of each bound the policy compares, and without
    one."""
    from medpolicy.batch_plans import benefit_reads

    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)
    bounds = policy.compiled.measure_breaks["age"]
    claims = generated_year(policy, 40, seed=31)

    def unread(c):
        rules = policy.compiled.schemes.get(c.get("scheme"))
        reads = benefit_reads(rules) if rules is not None else None
        return reads is not None and "age" not in reads.get(c.get("benefit"), reads[None]).words

    moved = sum(unread(c) for c in claims)
    assert 0 < moved < len(claims)  # (some claims' benefits read it, and some do not)
    before = [r.to_json(trace=False) for r in policy.settle_all(claims, params=params)]
    for age in [None, *sorted({*bounds, *(b - 1 for b in bounds)})]:
        aged = [(dict(c, age=age) if age is not None else {k: v for k, v in c.items() if k != "age"})
                if unread(c) else c for c in claims]
        assert [r.to_json(trace=False) for r in policy.settle_all(aged, params=params)] == before, age


# The facility types and grades each city's settlement names (Suizhou's daily caps at a village
# clinic and a health center, 第四十四条; Ziyang's grade-A hospitals' deductibles, 第十八条（一）1;
# its pharmacies, 第十六条（二）; Binzhou's TCM hospitals, 第十四条（三）; Shaoxing's pharmacies).
NAMED_FACILITY_WORDS = {
    "binzhou": {"tcm"},
    "shaoxing": {"pharmacy"},
    "suihua": set(),
    "suizhou": {"clinic", "health-center"},
    "ziyang": {"pharmacy", "grade-A"},
}


@pytest.mark.parametrize("city", CITIES)
def test_a_facility_word_no_clause_of_the_claims_benefit_names_changes_no_claims_settlement(city):
    """The columnar engine's signatures take every facility type, and every grade or none, that
    no clause of the claim's scheme and benefit names (`benefit_reads`) as one
    (`_Run._named_only`); sound only if moving a claim between such words never changes what the
    scalar engine pays: every generated claim at such a type moved to each other one, and at
    such a grade (or none) to each other one, settles as before; and the test can fail: moved
    to a word the policy names, some claim is paid otherwise."""
    from medpolicy.batch_columns import GRADES
    from medpolicy.batch_plans import benefit_reads, named_words

    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)
    named = named_words(policy.compiled)
    types = sorted(policy.compiled.vocabulary.names_of("type"))
    grades = [None, *GRADES]
    assert {w for w in [*types, *(f"grade-{g}" for g in GRADES)] if w in named} == NAMED_FACILITY_WORDS[city]
    claims = generated_year(policy, 80, seed=23)
    before = [r.to_json(trace=False) for r in policy.settle_all(claims, params=params)]

    def unread(c) -> set:
        rules = policy.compiled.schemes.get(c.get("scheme"))
        if rules is None:
            return set()
        reads = benefit_reads(rules)
        words = reads.get(c.get("benefit"), reads[None]).words
        return {t for t in types if t not in words} | {g for g in grades if g is None or f"grade-{g}" not in words}

    def moved(c, k: int) -> dict:
        free, facility = unread(c), dict(c.get("facility", {}))
        kinds, ranks = [t for t in types if t in free], [g for g in grades if g in free]
        if facility.get("type", "hospital") in kinds:
            facility["type"] = kinds[(kinds.index(facility.get("type", "hospital")) + k) % len(kinds)]
        if facility.get("grade") in ranks:
            facility["grade"] = ranks[(ranks.index(facility.get("grade")) + k) % len(ranks)]
        return dict(c, facility={f: v for f, v in facility.items() if v is not None})

    shifts = range(1, max(len(types), len(grades)))
    assert sum(moved(c, k) != c for c in claims for k in shifts) > len(claims)
    for k in shifts:
        after = [r.to_json(trace=False) for r in policy.settle_all([moved(c, k) for c in claims], params=params)]
        assert after == before, k
    for word in sorted(NAMED_FACILITY_WORDS[city]):
        kind = {"type": word} if not word.startswith("grade-") else {"grade": word.removeprefix("grade-")}
        at = [dict(c, facility={**c.get("facility", {}), **kind}) for c in claims]
        assert [r.to_json(trace=False) for r in policy.settle_all(at, params=params)] != before, word


@pytest.mark.parametrize("city", CITIES)
def test_groups_the_clauses_test_alike_settle_alike(city):
    """The columnar engine's signatures take a claim's groups as the tests of the clauses its
    scheme and benefit can consult (`benefit_reads(...).group_tests`: any of a clause's groups,
    or all of them); sound only if two sets of groups that pass and fail the same tests are
    paid the same: every generated claim given the first set (in a fixed order) that tests as
    its own settles as before."""
    from itertools import combinations

    from medpolicy.batch_plans import benefit_reads

    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)
    claims = generated_year(policy, 80, seed=37)

    def tested(groups, tests):
        return [bool(names <= groups) if every else not names.isdisjoint(groups) for every, names in tests]

    moved, alike = 0, []
    for c in claims:
        rules = policy.compiled.schemes.get(c.get("scheme"))
        reads = benefit_reads(rules) if rules is not None else None
        if reads is None:
            alike.append(c)
            continue
        read = reads.get(c.get("benefit"), reads[None])
        own, names = set(c.get("groups", ())), sorted(read.groups)
        outcome = tested(own, read.group_tests)
        first = next(set(s) for k in range(len(names) + 1) for s in combinations(names, k)
                     if tested(set(s), read.group_tests) == outcome)
        moved += first != own & read.groups
        alike.append(dict(c, groups=sorted(first | (own - read.groups))))
    # (Binzhou's settlement names no group; Ziyang's one test of one group leaves no other set alike)
    assert moved if city not in ("binzhou", "ziyang") else not moved
    before = [r.to_json(trace=False) for r in policy.settle_all(claims, params=params)]
    assert [r.to_json(trace=False) for r in policy.settle_all(alike, params=params)] == before


def _without_messages(results):
    """Results as the contract's JSON, an error row's message left out (it names the claim's
    own words: the columnar engine makes a failing plan for them, _Run._plans)."""
    return [dict(r, error={k: v for k, v in r["error"].items() if k != "message"}) if r.get("error") else r
            for r in results]


@pytest.mark.parametrize("city", CITIES)
@pytest.mark.parametrize("dim", ["status", "place"])
def test_a_status_or_place_no_clause_of_the_claims_benefit_names_changes_no_claims_settlement(city, dim):
    """The columnar engine's signatures take every status, and every place but `local`, that
    no clause of the claim's scheme and benefit names (`benefit_reads`) as one (`_Run._named_only`);
    sound only if moving a claim between such words never changes what the scalar engine pays:
    every generated claim at such a word moved to each other one settles as before (but the
    message of an error row, which names the word)."""
    from medpolicy.batch_plans import benefit_reads

    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)
    words = [w for w in policy.compiled.vocabulary.names_of(dim) if w != "local"]
    claims = generated_year(policy, 80, seed=41)
    before = _without_messages(r.to_json(trace=False) for r in policy.settle_all(claims, params=params))

    def unread(c):
        rules = policy.compiled.schemes.get(c.get("scheme"))
        if rules is None or (dim == "status" and c.get("scheme") != "employee"):  # (residents have none)
            return []
        read = benefit_reads(rules)
        return [w for w in words if w not in read.get(c.get("benefit"), read[None]).words]

    def moved(c, k):
        others = unread(c)
        if c.get(dim) not in others:
            return c
        return dict(c, **{dim: others[(others.index(c[dim]) + k) % len(others)]})

    shifts = range(1, len(words))
    changed = sum(moved(c, k).get(dim) != c.get(dim) for c in claims for k in shifts)
    # (Binzhou and Suihua name both statuses, employed and retired, wherever one is read)
    assert bool(changed) == ((city, dim) not in {("binzhou", "status"), ("suihua", "status")})
    if not changed:
        return
    for k in shifts:
        after = [r.to_json(trace=False) for r in policy.settle_all([moved(c, k) for c in claims], params=params)]
        assert _without_messages(after) == before, k
    # ... and the test can fail: moving every claim to the next word, named or not, does change
    # some claim's settlement.
    every = list(policy.compiled.vocabulary.names_of(dim))
    named = [dict(c, **{dim: every[(every.index(c[dim]) + 1) % len(every)]}) if c.get(dim) in every else c
             for c in claims]
    after = [r.to_json(trace=False) for r in policy.settle_all(named, params=params)]
    assert _without_messages(after) != before


@pytest.mark.parametrize("city", CITIES)
def test_maternity_events_no_clause_of_the_claims_benefit_names_count_only_by_number(city):
    """The columnar engine's signatures keep a claim's events that a clause of its scheme and
    benefit names (`benefit_reads`), and only how many others it has (`_Run._named_events`);
    sound only if trading such events for as many other such events never changes what the
    scalar engine pays: every generated claim's unnamed events traded so settles as before (and
    the test can fail: traded for a named event instead, some claim is paid otherwise)."""
    from medpolicy.batch_plans import benefit_reads

    policy = medpolicy.load(ROOT / "policies" / f"{city}.med")
    params = policy_params(policy)
    every = sorted(policy.compiled.vocabulary.names_of("event"))
    claims = generated_year(policy, 160, seed=43)

    def unnamed(c):
        rules = policy.compiled.schemes.get(c.get("scheme"))
        if rules is None:
            return []
        read = benefit_reads(rules)
        return [e for e in every if e not in read.get(c.get("benefit"), read[None]).words]

    def traded(c, k):
        others, own = unnamed(c), c.get("maternity", [])
        mine = [e for e in own if e in others]
        if not mine or len(others) <= len(mine):
            return c
        rest = [e for e in others if e not in mine]
        swap = {e: rest[(i + k) % len(rest)] for i, e in enumerate(mine)}
        return dict(c, maternity=[swap.get(e, e) for e in own])

    moved = sum(traded(c, 0) is not c for c in claims)
    # (Binzhou names no maternity event; Shaoxing's and Ziyang's employees name every one)
    assert moved > 0 if city in ("shaoxing", "suihua", "suizhou") else moved == 0
    if not moved:
        return
    before = [r.to_json(trace=False) for r in policy.settle_all(claims, params=params)]
    for k in range(3):
        after = [r.to_json(trace=False) for r in policy.settle_all([traded(c, k) for c in claims], params=params)]
        assert after == before, k
    named = [dict(c, maternity=[next(e for e in every if e not in unnamed(c)) if e in unnamed(c) else e
                                for e in c["maternity"]]) if traded(c, 0) is not c else c for c in claims]
    assert [r.to_json(trace=False) for r in policy.settle_all(named, params=params)] != before
