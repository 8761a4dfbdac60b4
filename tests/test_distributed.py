"""A real local Dask cluster (2 worker processes) settles a dataset exactly as one run does."""

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import medpolicy
from medpolicy.arrow import claims_table

from medpolicy.dask import read_results, settle_dataset  # the 'test' extra installs dask[distributed]


def generated_year(n_persons=60, seed=7):
    """Suihua stays of both schemes, several per person, large enough to cross caps."""
    rnd = random.Random(seed)
    claims = []
    for p in range(n_persons):
        scheme = rnd.choice(["employee", "resident"])
        for k in range(rnd.randint(1, 4)):
            c = {"id": f"c{p}-{k}", "person": f"p{p}", "date": f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                 "scheme": scheme, "benefit": "inpatient", "facility": {"level": rnd.choice(["level1", "level2", "level3"])},
                 "items": [{"class": "A", "amount": f"{rnd.randint(500, 9000000) / 100:.2f}"}]}
            if scheme == "employee":
                c["status"] = rnd.choice(["employed", "retired"])
            claims.append(c)
    rnd.shuffle(claims)
    return claims


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc) as client:
        yield client


def test_a_cluster_settles_a_dataset_as_one_run(tmp_path, cluster):
    claims = generated_year()
    (tmp_path / "in").mkdir()
    # Three input files, a person's claims spread over them.
    for i in range(3):
        pq.write_table(claims_table(claims[i::3]), tmp_path / "in" / f"claims-{i}.parquet")
    order = [c for i in range(3) for c in claims[i::3]]
    n = settle_dataset("policies/suihua.med", str(tmp_path / "in"), str(tmp_path / "out"), partitions=4, client=cluster)
    assert n == len(claims)
    got = read_results(str(tmp_path / "out"))
    assert got.column("row").to_pylist() == list(range(len(claims)))
    expected = [r.to_json(trace=False) for r in medpolicy.load("policies/suihua.med").settle_all(order)]
    for e, g in zip(expected, got.to_pylist()):
        assert g["id"] == e["id"]
        assert f"{g['patient']:.2f}" == e["patient"]
        assert {f: f"{v:.2f}" for f, v in g["paid"].items() if v is not None} == e["paid"]
    assert len({p.name for p in (tmp_path / "out").iterdir()}) == 4


def test_years_carried_from_an_earlier_run(tmp_path, cluster):
    first = {"id": "a", "person": "p", "date": "2026-02-01", "scheme": "employee", "status": "employed",
             "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "200000"}]}
    later = dict(first, id="b", date="2026-06-01", items=[{"class": "A", "amount": "10000"}])
    pq.write_table(claims_table([first]), tmp_path / "prior.parquet")
    pq.write_table(claims_table([later]), tmp_path / "now.parquet")
    settle_dataset("policies/suihua.med", str(tmp_path / "now.parquet"), str(tmp_path / "out"), partitions=2,
                   prior=str(tmp_path / "prior.parquet"), client=cluster)
    [row] = read_results(str(tmp_path / "out")).to_pylist()
    alone = medpolicy.load("policies/suihua.med").settle_all([first, later])[1].to_json()
    # The basic cap was used up by the earlier run's claim: the later stay is paid by the major layer.
    assert (f"{row['paid']['basic']:.2f}", f"{row['paid']['major']:.2f}") == (alone["paid"]["basic"], alone["paid"]["major"])
    assert row["paid"]["basic"] == 0


def test_two_spellings_of_one_person_share_a_bucket_and_a_person_that_is_not_text_has_one():
    from medpolicy.dask import bucket_of

    persons = pa.array([" p1", "p1", "p1\t", "e\u0301", "\u00e9", None])
    buckets = bucket_of(persons, 7).to_pylist()
    assert buckets[0] == buckets[1] == buckets[2] and buckets[3] == buckets[4] and buckets[5] == 0
    assert bucket_of(pa.array([7, 8]), 7).to_pylist() == [0, 0]  # (their claims are error rows)


def test_a_policy_edited_between_two_runs_on_one_cluster_settles_as_edited(tmp_path, cluster):
    # The workers live on between runs: a later run must not reuse an earlier run's policy. Eight
    # buckets a run, so that every worker has settled some bucket with the text before the edit.
    stay = {"id": "a", "person": "p", "date": "2026-03-01", "scheme": "employee", "status": "employed",
            "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "10900.00"}]}
    pq.write_table(claims_table([stay]), tmp_path / "claims.parquet")
    text = open("policies/suihua.med", encoding="utf-8").read()
    rule = "level3 deductible 900 rate employed 85% retired 87%"
    assert text.count(rule) == 1
    policy = tmp_path / "policy.med"
    paid = []
    for edited in [text, text.replace(rule, rule.replace("85%", "80%"))] * 2:
        policy.write_text(edited, encoding="utf-8")
        out = tmp_path / f"out{len(paid)}"
        settle_dataset(str(policy), str(tmp_path / "claims.parquet"), str(out), partitions=8, client=cluster)
        [row] = read_results(str(out)).to_pylist()
        paid.append(f"{row['paid']['basic']:.2f}")
    # (10,900 - 900) x 85%, then x 80% (第二十一条（一）3)
    assert paid == ["8500.00", "8000.00"] * 2


def test_a_policy_that_has_settled_claims_is_sent_to_the_cluster_as_compiled(tmp_path, cluster):
    policy = medpolicy.load("policies/suihua.med")
    claims = generated_year(n_persons=8, seed=3)
    expected = [r.to_json(trace=False) for r in policy.settle_all(claims)]  # its plans are made now
    pq.write_table(claims_table(claims), tmp_path / "claims.parquet")
    settle_dataset(policy, str(tmp_path / "claims.parquet"), str(tmp_path / "out"), partitions=3, client=cluster)
    got = read_results(str(tmp_path / "out")).to_pylist()
    assert [f"{g['patient']:.2f}" for g in got] == [e["patient"] for e in expected]


def test_a_policy_with_errors_is_refused_before_the_cluster_runs_anything(tmp_path, cluster):
    bad = tmp_path / "bad.med"
    bad.write_text("policy \"x\"\n  nonsense here\n", encoding="utf-8")
    pq.write_table(claims_table(generated_year(n_persons=2)), tmp_path / "claims.parquet")
    with pytest.raises(medpolicy.MedError) as e:
        settle_dataset(str(bad), str(tmp_path / "claims.parquet"), str(tmp_path / "out"), client=cluster)
    span = e.value.diagnostics[0].span
    assert (span.file, span.line, span.column) == (str(bad), 2, 1) and not (tmp_path / "out").exists()
