"""State chaining (a persistent map) and settle_all's per-person years, on a small policy
with hand-worked amounts: a deductible of 1,000 a year, 80%, a yearly cap of 10,000."""

import medpolicy

POLICY = ('policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\nscheme employee\n  fund basic cap 10000 yearly\n'
          "  inpatient\n    primary level1 level2 level3 deductible 1000 yearly\n    rate 80%\n")


def claim(cid, person, date, amount):
    return {"id": cid, "person": person, "date": date, "scheme": "employee", "benefit": "inpatient",
            "facility": {"level": "level3"}, "items": [{"class": "A", "amount": amount}]}


def test_an_older_state_stays_valid_and_states_share_nothing_they_change():
    p = medpolicy.compile(POLICY, "t.med")
    first = p.settle(claim("a", "p1", "2026-01-05", "6000"))
    assert first["paid"]["basic"] == "4000.00"  # (6000 - 1000) x 80%
    later = claim("b", "p1", "2026-02-05", "10000")
    twice = [p.settle(later, state=first.state) for _ in range(2)]
    # The deductible is paid; 8,000 is due and the cap leaves 6,000; settled twice from the same state.
    assert [r["paid"]["basic"] for r in twice] == ["6000.00", "6000.00"]
    assert p.settle(later)["paid"]["basic"] == "7200.00"  # a fresh year: (10000 - 1000) x 80%
    other = p.settle(claim("c", "p2", "2026-02-05", "2000"), state=twice[0].state)
    assert other["paid"]["basic"] == "800.00"
    assert (len(first.state), len(twice[0].state), len(other.state)) == (1, 1, 2)


def test_settle_all_keeps_each_persons_years_apart_whatever_the_input_order():
    p = medpolicy.compile(POLICY, "t.med")
    claims = [claim("a2", "a", "2026-05-01", "10000"), claim("b1", "b", "2026-01-01", "3000"),
              claim("a1", "a", "2026-02-01", "6000"), claim("b2", "b", "2026-06-01", "20000")]
    rs = p.settle_all(claims)
    # a: 4,000 then min(8,000, 10,000 - 4,000) = 6,000; b: 1,600 then min(16,000, 8,400) = 8,400.
    assert [r["paid"]["basic"] for r in rs] == ["6000.00", "1600.00", "4000.00", "8400.00"]
