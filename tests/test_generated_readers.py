"""The claim reader's generated straight-line functions (claim_compiler.compile_fed and
compile_dated) give what the table says, field by field: each flag set exactly when its
field has the value that sets it, each measure and dated fact from its field, computed
here independently by walking the table's paths."""

import datetime as dt

from medpolicy.claim_fields import walk
from medpolicy.claims import COUNTED, DATES_FED, _DATED, _FED, _FLAG_KEYS, _MEASURE_KEYS


def _values(overrides: dict) -> dict:
    """A values dict as the reader returns it: every path present, None unless overridden."""
    v: dict = {}
    for path, f in walk():
        if "[]" in path:
            continue
        *parents, name = path.split(".")
        at = v
        for p in parents:
            at = at.setdefault(p, {})
        if f.type != "object":
            at[name] = overrides.get(path)
        else:
            at.setdefault(name, {})
    return v


def test_each_flag_and_measure_is_fed_by_its_own_field_alone():
    assert len(_FLAG_KEYS) >= 10 and len(_MEASURE_KEYS) >= 5
    assert _FED(_values({})) == ([], {})  # no field given (None): no flag, not even one set by false
    for keys, flag, when in _FLAG_KEYS:
        found, measures = _FED(_values({".".join(keys): when}))
        assert flag in found and measures == {}, flag
        found, _ = _FED(_values({".".join(keys): not when}))
        assert flag not in found, flag
    for keys, measure in _MEASURE_KEYS:
        found, measures = _FED(_values({".".join(keys): 7}))
        assert measures == {measure: 7}, measure


def test_dated_facts_count_days_and_months_from_each_date_field():
    claim_date = dt.date(2026, 3, 5)
    day = dt.date(2025, 11, 20)
    expected = {"days": (claim_date - day).days, "months": 4, "filing-month": -12 + 11}
    for keys, fact in DATES_FED:
        measures: dict = {}
        _DATED(_values({".".join(keys): day}), claim_date, measures)
        assert measures == {fact: day.toordinal()}, fact
    for keys, measure, counts in COUNTED:
        measures = {}
        _DATED(_values({".".join(keys): day}), claim_date, measures)
        assert measures == {measure: expected[counts]}, measure
    measures = {}
    _DATED(_values({}), claim_date, measures)
    assert measures == {}
    assert "def dated(v, date, measures):" in _DATED.source and "def fed(v):" in _FED.source


def test_the_generated_source_holds_only_the_claim_tables_names():
    """No value from a policy or a claim is written into generated source: every string
    literal in it is a name from the claim table (claim_fields.py), a flag or measure it
    feeds, or a fixed piece of the reader's own."""
    import ast as pyast

    import medpolicy
    from medpolicy.claim_fields import walk
    from pathlib import Path

    policy = medpolicy.load(Path(__file__).resolve().parent.parent / "policies" / "shaoxing.med")
    policy.settle({"id": "c", "person": "p", "date": "2026-03-05", "scheme": "employee", "status": "employed",
                   "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1.00"}]})
    sources = [_FED.source, _DATED.source, *policy._reader._fast.sources, policy._reader._direct.source]
    assert len(sources) >= 2 + 5  # the claim, facility, enrolment, history, account, items ...
    table = {part for path, _ in walk() for part in path.replace("[]", "").split(".")}
    fed = {name for _, name, _ in _FLAG_KEYS} | {name for _, name in _MEASURE_KEYS} | \
        {fact for _, fact in DATES_FED} | {m for _, m, _ in COUNTED}
    literals = {n.value for src in sources for n in pyast.walk(pyast.parse(src))
                if isinstance(n, pyast.Constant) and isinstance(n.value, str)}
    assert literals and literals <= table | fed | {".", ""}, literals - table - fed
