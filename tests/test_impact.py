"""`med diff` and `med plot`: what an edit does, with amounts worked out by hand."""

import json
import warnings
from decimal import Decimal as D

import pytest

import medpolicy
from medpolicy.cli import main
from medpolicy.impact import clause_changes, diff, render

OLD = """policy "t" effective 2026-01-01 to 2030-12-31
use standard

scheme employee
  fund basic cap 10000 yearly                                  cite "第一条"
  inpatient
    primary level1 level2 level3 deductible 1000 rate 80%      cite "第二条"
"""
NEW = OLD.replace("rate 80%", "rate 90%")


def claim(cid, person, amount, date="2026-03-01"):
    return {"id": cid, "person": person, "date": date, "scheme": "employee", "benefit": "inpatient",
            "facility": {"level": "level3"}, "items": [{"class": "A", "amount": amount}]}


@pytest.fixture(scope="module")
def report():
    old, new = medpolicy.compile(OLD, "old.med"), medpolicy.compile(NEW, "new.med")
    # p1: 5,000 then 2,000; p2: 20,000. Old: (5000-1000)x80% = 3200, (2000-1000)x80% = 800,
    # p2 capped at 10,000. New: 3600, 900, 10,000.
    claims = [claim("a", "p1", "5000"), claim("b", "p2", "20000"), claim("c", "p1", "2000", "2026-04-01")]
    return diff(old, new, claims)


def test_the_changed_clause_is_named_with_its_line_and_article(report):
    [change] = report.clauses
    assert (change.kind, change.old.span.line, change.new.span.line, change.clause.cite) == ("changed", 7, 7, "第二条")
    assert change.describe().endswith("deductible 1000, rate 80% -> deductible 1000, rate 90%")


def test_the_effect_on_a_first_claim_is_exact_interval_kinks_and_slopes(report):
    first = next(e for e in report.effects if not e.second and e.case.status == "employed")
    basic = next(s for s in first.stretches if s.fund == "basic")
    # Both pay nothing up to the 1,000 deductible. The new 90% reaches the 10,000 cap at
    # 1000 + 10000/0.9 = 12,111.11, the old 80% at 1000 + 10000/0.8 = 13,500.00.
    assert (basic.lo, basic.hi) == (D("1000.00"), D("13500.00"))
    assert basic.kinks == (D("12111.11"),)
    assert [(x, a, b) for x, a, b in basic.slopes] == [(D("1000.00"), D("0.8"), D("0.9")), (D("12111.11"), D("0.8"), D("0"))]
    # Largest where the new curve reaches the cap: 10,000.00 - 0.8 x 11,111.11 (8,888.89) = 1,111.11.
    assert basic.largest == D("1111.11")
    # The example claim shows it: settled under both, the payments differ by exactly that much.
    paid = [D(medpolicy.compile(t, "t.med").settle(basic.example)["paid"]["basic"]) for t in (OLD, NEW)]
    assert paid[1] - paid[0] == basic.largest


def test_a_second_claim_shows_the_cap_reached_sooner(report):
    second = next(e for e in report.effects if e.second and e.case.status == "employed")
    basic = next(s for s in second.stretches if s.fund == "basic")
    # After a first claim of 10,000 (old pays 7,200, new 8,100), 2,800 and 1,900 of the cap are
    # left: reached at 1000 + 2800/0.8 = 4,500.00 and 1000 + 1900/0.9 = 3,111.11.
    assert basic.kinks == (D("3111.11"), D("4500.00"))
    assert basic.largest == D("-900.00")  # from 4,500 on: 1,900 instead of 2,800


def test_a_grade_or_a_disease_class_is_probed_as_a_claim_gives_it():
    # The vocabulary's grade-A is a claim's facility.grade "A", its class-1 a disease_class 1: the
    # cases once wrote the names, every probe failed in both versions (unknown-value) and an edit
    # of such a clause had no effect on claims.
    edits = ('    grade-A level3 rate 85%                                     cite "第三条"\n'
             '  special\n    class-1 primary level1 level2 level3 rate 50%              cite "第四条"\n')
    old = medpolicy.compile(OLD + edits, "old.med")
    new = medpolicy.compile(OLD + edits.replace("85%", "90%").replace("50%", "60%"), "new.med")
    first = [e for e in diff(old, new).effects if not e.second]
    assert [e.title() for e in first] == ["employee inpatient level3 employed local facility.grade=A (and 1 case alike)",
                                          "employee special level3 employed local disease_class=1 (and 1 case alike)"]
    graded = next(s for s in first[0].stretches if s.fund == "basic")
    # 10,000 of cap at 90% from the 1,000 deductible: reached at 12,111.11, where 85% paid 9,444.44.
    assert (graded.lo, graded.kinks, graded.largest) == (D("1000.00"), (D("12111.11"),), D("555.56"))
    assert first[0].stretches[0].example["facility"] == {"level": "level3", "grade": "A"}
    assert first[1].stretches[0].example["disease_class"] == "1"


def test_a_replay_gives_totals_per_fund_and_who_is_better_off(report):
    data = report.to_json()
    assert data["funds"]["basic"] == {"old": "14000.00", "new": "14500.00", "change": "500.00"}
    assert data["persons"]["better_off"] == 1 and data["persons"]["worse_off"] == 0
    assert data["persons"]["unchanged"] == 1
    assert {"range": "less by 100–1,000", "persons": 1} in data["persons"]["patient_change"]
    assert [c["id"] for c in data["top_claims"]] == ["a", "c"]
    assert data["top_claims"][0] == {"id": "a", "person": "p1", "patient_old": "1800.00", "patient_new": "1400.00"}


def test_an_unchanged_policy_has_no_difference():
    p = medpolicy.load("policies/suihua.med")
    r = diff(p, p)
    assert r.clauses == () and r.effects == ()
    assert "none changed" in render(r) and "settles the same at every cost" in render(r)


def test_a_shipped_policy_edit_is_found_at_its_clause():
    text = open("policies/suihua.med", encoding="utf-8").read()
    edited = text.replace("level2 deductible 600 rate employed 87% retired 90%",
                          "level2 deductible 500 rate employed 88% retired 90%")
    old = medpolicy.load("policies/suihua.med")
    new = medpolicy.compile(edited, "policies/suihua-edit.med", base_dir="policies")
    changes = clause_changes(old, new)
    assert sorted(c.describe().split(": ", 1)[1] for c in changes) == ["deductible 600 -> deductible 500",
                                                                        "rate 87% -> rate 88%"]
    effects = diff(old, new).effects
    employed = next(e for e in effects if not e.second and e.case.status == "employed")
    assert employed.case.level == "level2"
    basic = next(s for s in employed.stretches if s.fund == "basic")
    # New: 500 deductible, 88%: the 120,000 cap at 500 + 120000/0.88 = 136,863.64.
    assert basic.lo == D("500.00") and D("600.00") in basic.kinks and D("136863.64") in basic.kinks


def _edited(path: str, *edits: tuple[str, str]) -> list[str]:
    """The clause changes of a shipped policy after `edits` (old text, new text), described."""
    text = open(path, encoding="utf-8").read()
    for before, after in edits:
        assert before in text
        text = text.replace(before, after)
    new = medpolicy.compile(text, path.replace(".med", "-edit.med"), base_dir="policies")
    return [c.describe() for c in clause_changes(medpolicy.load(path), new)]


def test_caps_thresholds_and_adjustments_are_described_as_written():
    # The basic fund's yearly cap is one clause (its line counts with the benefit clauses too),
    # listed once, and a cap reads as the author wrote it, not as the pool it counts in.
    assert _edited("policies/suihua.med", ("fund basic cap 120000 yearly", "fund basic cap 130000 yearly"),
                   ("    cap 2000 yearly  ", "    cap 2500 yearly  ")) == [
        "every claim: cap 120000 yearly -> cap 130000 yearly", "outpatient: cap 2000 yearly -> cap 2500 yearly"]
    assert _edited("policies/suihua.med", ("rate as level3 - 10 points", "rate as level3 - 15 points")) == [
        "inpatient, remote-emergency remote-referred: deductible 900, rate as level3 - 10 points"
        " -> deductible 900, rate as level3 - 15 points"]
    # (the major layer's threshold over the stays' burden, in both schemes: 第三十六条（一）)
    assert _edited("policies/shaoxing.med", ("    threshold 18000 for inpatient special family-bed   ",
                                             "    threshold 19000 for inpatient special family-bed   ")) == [
        "family-bed inpatient outpatient special special-drug [major]: threshold 18000 for family-bed inpatient "
        "special -> threshold 19000 for family-bed inpatient special"] * 2
    assert _edited("policies/ziyang.med", ("cap + 20% each-extra diseases", "cap + 25% each-extra diseases")) == [
        "special, class-2 class-3: cap + 20% each-extra diseases -> cap + 25% each-extra diseases"]
    assert _edited("policies/shaoxing.med", ("allowance + 15 days each-extra babies",
                                             "allowance + 16 days each-extra babies")) == [
        "maternity, caesarean delivery difficult-delivery, employed: allowance.adjust + 15 days each-extra babies"
        " -> allowance.adjust + 16 days each-extra babies"]


def test_med_diff_json_and_chart(tmp_path, capsys):
    (tmp_path / "old.med").write_text(OLD, encoding="utf-8")
    (tmp_path / "new.med").write_text(NEW, encoding="utf-8")
    claims = tmp_path / "claims.jsonl"
    claims.write_text("\n".join(json.dumps(c) for c in [claim("a", "p1", "5000")]) + "\n", encoding="utf-8")
    chart = tmp_path / "diff.png"
    assert main(["diff", str(tmp_path / "old.med"), str(tmp_path / "new.med"), str(claims),
                 "--format", "json", "--chart", str(chart)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["funds"]["basic"] == {"old": "3200.00", "new": "3600.00", "change": "400.00"}
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {chart}" in err


def test_med_diff_replays_parquet_claims_and_says_what_it_skips(tmp_path, capsys):
    # The replay reads every format `med run` reads: a Parquet year was once read as JSON lines,
    # every row a bad line dropped unsaid, and the replay was of 0 claims. p1: 5,000 then 2,000,
    # p2: 20,000 (the report fixture): basic 3200 + 800 + 10000 -> 3600 + 900 + 10000.
    import pyarrow.parquet as pq
    from medpolicy.arrow import claims_table

    (tmp_path / "old.med").write_text(OLD, encoding="utf-8")
    (tmp_path / "new.med").write_text(NEW, encoding="utf-8")
    claims = [claim("a", "p1", "5000"), claim("b", "p2", "20000"), claim("c", "p1", "2000", "2026-04-01")]
    pq.write_table(claims_table(claims), tmp_path / "claims.parquet")
    versions = [str(tmp_path / "old.med"), str(tmp_path / "new.med")]
    assert main(["diff", *versions, str(tmp_path / "claims.parquet"), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert (json.loads(out)["claims"], json.loads(out)["funds"]["basic"]) == \
        (3, {"old": "14000.00", "new": "14500.00", "change": "500.00"})
    # A line that is not a claim is said, with its line, and the rest replayed.
    text = tmp_path / "claims.jsonl"
    text.write_text("\n".join([json.dumps(claims[0]), "{not json", json.dumps(claims[1])]) + "\n", encoding="utf-8")
    assert main(["diff", *versions, str(text), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["claims"] == 2
    assert err.splitlines() == [f"{text}:2: bad JSON: Expecting property name enclosed in double quotes (column 2); skipped"]
    # A file of another kind, or a damaged Parquet file: refused, nothing replayed.
    (tmp_path / "claims.txt").write_text(json.dumps(claims[0]) + "\n", encoding="utf-8")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "claims.parquet").read_bytes()[:200])
    assert main(["diff", *versions, str(tmp_path / "claims.txt")]) == 2
    assert capsys.readouterr() == ("", f"med: {tmp_path / 'claims.txt'}: claims are read from .jsonl, .ndjson, .json, "
                                       ".csv, .parquet, .arrow, .feather files (or - for JSON lines on stdin), not .txt\n")
    assert main(["diff", *versions, str(tmp_path / "cut.parquet")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"med: cannot read {tmp_path / 'cut.parquet'}: not a Parquet file, or a damaged one: ")


def test_med_diff_with_a_version_that_settles_nothing(tmp_path, capsys):
    # An empty file settles no claim (no scheme): every probe of that version fails. The curves
    # once fitted a line through no probe (IndexError); then the failed probes were drawn as
    # stretches where no fund pays and the patient pays all ("slope 0% -> 80%"), as if a refused
    # claim were paid nothing. The case is now said to be refused, and why.
    (tmp_path / "empty.med").write_text("", encoding="utf-8")
    (tmp_path / "old.med").write_text(OLD, encoding="utf-8")
    claims = tmp_path / "claims.jsonl"
    claims.write_text(json.dumps(claim("a", "p1", "5000")) + "\n", encoding="utf-8")
    assert main(["diff", str(tmp_path / "empty.med"), str(tmp_path / "old.med")]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.split("effect on claims: ")[1] == (
        "1 case settles differently\n"
        "  employee inpatient level3 employed local (and 1 case alike)\n"
        "    the old version cannot settle it: scheme 'employee': the policy names no scheme\n")
    assert main(["diff", str(tmp_path / "old.med"), str(tmp_path / "empty.med"), str(claims), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert (err, data["errors"], data["funds"]["basic"]) == \
        ("", {"old": 0, "new": 1}, {"old": "3200.00", "new": "0.00", "change": "-3200.00"})
    assert [(c["case"], c["alike"], c["differences"], c["refused"]) for c in data["cases"]] == [
        ("employee inpatient level3 employed local", ["employee inpatient level3 retired local"], [],
         {"by": "new", "message": "scheme 'employee': the policy names no scheme"})]
    # ... and its chart draws the curves of the version that settles it (no legend without lines)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["diff", str(tmp_path / "old.med"), str(tmp_path / "empty.med"), "--chart", str(tmp_path / "d.svg")]) == 0
    svg = (tmp_path / "d.svg").read_text(encoding="utf-8")
    assert "basic old" in svg and "basic new" not in svg and "the new version cannot settle it" in svg


def test_med_diff_refuses_a_chart_of_another_kind(tmp_path, capsys):
    (tmp_path / "old.med").write_text(OLD, encoding="utf-8")
    assert main(["diff", str(tmp_path / "old.med"), str(tmp_path / "old.med"), "--chart", str(tmp_path / "x.pdf")]) == 2
    assert ".png or .svg" in capsys.readouterr().err


def _plot(tmp_path, text: str, *options: str) -> int:
    (tmp_path / "t.med").write_text(text, encoding="utf-8")
    return main(["plot", str(tmp_path / "t.med"), "-o", str(tmp_path / "t.png"), *options])


def test_med_plot_leaves_out_a_case_no_claim_of_which_settles(tmp_path, capsys):
    # No clause rates an employed member's special claim, whatever its disease class: every probe
    # of the case and of its variants fails. The curves once fitted a line through no probe (an
    # IndexError); the case is left out of the chart, and said once, with the plain claim's reason.
    text = OLD + '  special\n    class-1 retired primary level1 level2 level3 rate 50%      cite "第三条"\n'
    left_out = ["med: left out of the chart: employee special level3 employed local: no clause gives a rate for this "
                "special claim (level3, employed, local)"]
    assert _plot(tmp_path, text) == 0
    assert capsys.readouterr() == ("", "\n".join([*left_out, f"med: wrote {tmp_path / 't.png'} (2 panels)"]) + "\n")
    assert _plot(tmp_path, text, "--benefit", "special", "--status", "employed") == 1
    refusal = "med: there is no curve to draw: no case selected settles"
    assert capsys.readouterr() == ("", "\n".join([*left_out, refusal]) + "\n")


def test_med_plot_draws_a_benefit_paid_by_disease_class_with_the_first_class_that_settles(tmp_path, capsys):
    # Ziyang's special diseases are rated by disease class only: the plain claim settles nothing,
    # and `med plot --benefit special` once drew no curve at all. Each line is now the first of
    # its case's variants that settles, and the panel's title says which.
    from medpolicy.plot import _drawn_cases, _title
    text = OLD + '  special\n    class-1 primary level1 level2 level3 rate 50%              cite "第三条"\n'
    assert _plot(tmp_path, text, "--benefit", "special") == 0
    assert capsys.readouterr() == ("", f"med: wrote {tmp_path / 't.png'} (1 panel)\n")
    p = medpolicy.load("policies/ziyang.med")
    line = _drawn_cases(p)[("employee", "special", "level3", "employed")]
    assert [c.label() for c in line[:2]] == ["employee special level3 employed local",
                                            "employee special level3 employed local disease_class=1"]
    assert _title(p, line[1], chinese=False) == "employee · special · level3\ndisease_class 1"


def test_med_plot_names_a_parameter_the_curves_need(tmp_path, capsys):
    text = OLD.replace("use standard\n", 'use standard\nparameter avg_wage "平均工资"\n') \
              .replace("cap 10000 yearly", "cap 2 × avg_wage yearly")
    assert _plot(tmp_path, text) == 1
    assert capsys.readouterr() == ("", "med: employee inpatient level3 employed local: this claim's terms need "
                                       "parameter the run did not give: avg_wage (平均工资); give it with --param "
                                       "avg_wage=VALUE (or params={'avg_wage': ...})\n")
    assert _plot(tmp_path, text, "--param", "avg_wage=5000") == 0
    assert capsys.readouterr().err == f"med: wrote {tmp_path / 't.png'} (1 panel)\n"


@pytest.mark.parametrize("options, refusal", [
    (["--scheme", "nosuch"], "--scheme nosuch (its schemes: employee, resident)"),
    (["--benefit", "nosuch"], "--benefit nosuch (its benefits: inpatient, maternity, outpatient, two-diseases)"),
    (["--scheme", "employee", "--benefit", "two-diseases"],
     "--benefit two-diseases (its benefits with --scheme employee: inpatient, maternity, outpatient)"),
    (["--level", "level9"], "--level level9 (its levels: primary, level1, level2, level3)"),
    (["--scheme", "resident", "--status", "retired"], "--status retired (its statuses with --scheme resident: none)"),
    (["--status", "nosuch"], "--status nosuch (its statuses: employed, retired)"),
])
def test_med_plot_names_a_selection_no_case_has_and_the_values_there_are(capsys, options, refusal):
    assert main(["plot", "policies/suihua.med", "-o", "never.png", *options]) == 1
    assert capsys.readouterr() == ("", f"med: no case of the policy matches {refusal}\n")


def test_med_plot_lays_out_a_maternity_panel_without_a_warning(tmp_path):
    # A maternity panel once drew every event's curves, all of one label: its legend ran past the
    # panel and matplotlib said "Tight layout not applied" (with its source path) on stderr.
    from medpolicy.plot import plot_policy
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panels = plot_policy(medpolicy.load("policies/suihua.med"), str(tmp_path / "m.png"), scheme="employee",
                             benefit="maternity", level="level3")
    assert (panels, [str(w.message) for w in caught]) == (1, [])


def test_med_plot_draws_a_shipped_policy_whose_special_claims_need_a_disease_class(tmp_path, capsys):
    # Ziyang rates special claims only by disease class: the case without one was left out, said;
    # its first disease class is drawn instead (the test above).
    chart = tmp_path / "ziyang.png"
    params = ["--param", "avg_wage=60000", "--param", "bed_markup=1.2", "--param", "avg_pension_2022=3000"]
    assert main(["plot", "policies/ziyang.med", "--level", "level3", *params, "-o", str(chart)]) == 0
    assert capsys.readouterr().err.splitlines() == [f"med: wrote {chart} (7 panels)"]


def test_med_plot_probes_a_case_to_a_fraction_of_a_pixel_not_to_the_fen():
    # Shaoxing's chart took 20 s: every case probed some 330 times, from a grid of each amount the
    # policy names and a fen above it, its kinks pinned to the fen. A panel is some 330 pixels wide.
    from medpolicy.curves import Prober, first_date, probe_grid, trace_curve
    from medpolicy.plot import CHART_STEPS, _chart_grid, _drawn_cases
    p = medpolicy.load("policies/shaoxing.med")
    case = _drawn_cases(p)[("employee", "inpatient", "level3", "employed")][0]
    fine = probe_grid(*p.sources.values())
    grid = _chart_grid(fine)
    assert (len(fine), len(grid), grid[-1] / CHART_STEPS) == (93, 27, 800)
    assert all(b - a >= 800 for a, b in zip(grid, grid[1:]))
    exact, chart = Prober(p, case, {}, date=first_date(p)), Prober(p, case, {}, date=first_date(p))
    trace_curve(exact, fine)
    drawn = trace_curve(chart, grid, grid[-1] / CHART_STEPS)
    assert len(chart.points) * 2 < len(exact.points)
    # Every exact probe lies on the drawn line, give or take a kink's slope over 800 (a third of a pixel).
    for x, point in exact.points.items():
        assert all(abs(drawn.at(x, f) - point.value(f)) <= 800 for f in (*drawn.funds, "patient")), x


def test_med_plot_draws_chinese_labels_with_a_cjk_font(tmp_path):
    from medpolicy.plot import cjk_font, plot_policy
    assert cjk_font() is not None, "no CJK font: install Debian's fonts-wqy-microhei (.ci/run does)"
    out = tmp_path / "curves.svg"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panels = plot_policy(medpolicy.load("policies/suihua.med"), str(out), benefit="inpatient", scheme="resident")
    assert panels == 4  # primary, level1, level2, level3
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    assert out.read_text(encoding="utf-8").startswith("<?xml")
