"""Hypothesis strategies shared by the property, thread and fuzz tests (and `fuzz/`).

`claims_for(policy)` draws contract-valid claims over the policy's own vocabulary and
effective period; `runs_for(policy)` draws a run: several persons, each with claims in one
scheme. `hostile_claims()` draws anything JSON can hold, shaped like a claim, to feed the
claim reader. Amounts are decimal strings, as real systems send them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from hypothesis import strategies as st

import medpolicy

from city_years import policy_params  # noqa: F401  (re-exported: the tests import it from here)

ROOT = Path(__file__).resolve().parent.parent
POLICY_FILES = sorted((ROOT / "policies").glob("*.med"))

# Item classes that need more than class and amount (contract: material/partial carry a
# unit price, beds carry days and a kind).
_PRICED = ("material", "partial")


def compiled_policies() -> list[tuple[str, "medpolicy.Policy | None", str]]:
    """Every shipped policy: (name, policy or None, why not). A policy that does not compile
    fails test_properties.py::test_every_shipped_policy_compiles with its reason."""
    out = []
    for path in POLICY_FILES:
        try:
            out.append((path.stem, medpolicy.load(path), ""))
        except medpolicy.MedError as e:
            out.append((path.stem, None, str(e).splitlines()[0]))
    return out


def params_for(policy) -> st.SearchStrategy[dict]:
    """Any valid parameters: shares from 0% to 100%, amounts from 0 to 300,000 yuan."""
    shares = policy.share_parameters
    return st.fixed_dictionaries({
        name: st.integers(0, 100).map(lambda n: f"{n}%") if name in shares else money_text(0, 300_000)
        for name in policy.parameters})


def _period(policy) -> tuple[dt.date, dt.date]:
    lo, hi = policy.compiled.effective
    start = dt.date.fromordinal(lo) if lo else dt.date(2026, 1, 1)
    end = dt.date.fromordinal(hi) if hi else start + dt.timedelta(days=3 * 365)
    # Keep the drawn years few, so claims of a person meet in one year and accumulate.
    return start, min(end, start + dt.timedelta(days=2 * 366))


def money_text(lo: int = 0, hi: int = 150_000) -> st.SearchStrategy[str]:
    """A decimal amount in yuan with two decimals, as a string."""
    return st.integers(lo * 100, hi * 100).map(lambda fen: f"{Decimal(fen) / 100:.2f}")


def _names(policy, kind: str) -> list[str]:
    return sorted(policy.compiled.vocabulary.names_of(kind))


@st.composite
def items(draw, policy) -> list[dict]:
    classes = _names(policy, "class")
    out = []
    for _ in range(draw(st.integers(1, 4))):
        cls = draw(st.sampled_from(classes))
        item = {"class": cls, "amount": draw(st.one_of(money_text(0, 60_000), money_text(0, 400_000)))}
        if cls in _PRICED:
            item["unit_price"] = draw(money_text(1, 80_000))
        if cls == "bed":
            item["days"] = draw(st.integers(1, 60))
            item["kind"] = draw(st.sampled_from(_names(policy, "bed-kind")))
        out.append(item)
    return out


@st.composite
def claim_for(draw, policy, *, scheme: str, person: str, date: dt.date, cid: str) -> dict:
    """One valid claim of a person in a scheme."""
    s = policy.compiled.schemes[scheme]
    benefits = sorted(s.benefits) or _names(policy, "benefit")
    benefit = draw(st.sampled_from(benefits))
    claim: dict = {
        "id": cid, "person": person, "date": date.isoformat(), "scheme": scheme, "benefit": benefit,
        "facility": {"level": draw(st.sampled_from(_names(policy, "level")))},
        "place": draw(st.sampled_from(_names(policy, "place"))),
        "items": draw(items(policy)),
    }
    if scheme == "employee":
        claim["status"] = draw(st.sampled_from(_names(policy, "status")))
    if draw(st.booleans()):
        claim["facility"]["type"] = draw(st.sampled_from(_names(policy, "type")))
    if draw(st.booleans()):
        claim["facility"]["grade"] = draw(st.sampled_from(["A", "B"]))
    if draw(st.integers(0, 4)) == 0:
        claim["facility"]["private"] = True
        claim["facility"]["beds"] = draw(st.integers(10, 800))
    if draw(st.integers(0, 3)) == 0:
        claim["groups"] = draw(st.lists(st.sampled_from(_names(policy, "group")), max_size=2, unique=True))
    if draw(st.booleans()):
        claim["age"] = draw(st.integers(0, 100))
    conditions = _names(policy, "condition")
    if benefit == "two-diseases" and {"hypertension", "diabetes"} <= set(conditions):
        # 两病 care is for hypertension and diabetes (contract); other conditions may come along.
        claim["conditions"] = draw(st.lists(st.sampled_from(["hypertension", "diabetes"]), min_size=1,
                                            max_size=2, unique=True))
        claim["conditions"] += draw(st.lists(st.sampled_from(conditions), max_size=1))
        claim["conditions"] = sorted(set(claim["conditions"]))
    elif draw(st.integers(0, 5)) == 0:
        claim["conditions"] = draw(st.lists(st.sampled_from(conditions), min_size=1, max_size=2, unique=True))
    if benefit == "maternity":
        claim["maternity"] = draw(st.sampled_from(_names(policy, "event")))
        claim["pregnancy_months"] = draw(st.integers(0, 10))
        if draw(st.booleans()):
            claim["babies"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            claim["wage"] = draw(money_text(0, 20_000))
    if draw(st.integers(0, 3)) == 0:
        claim["disease_class"] = draw(st.sampled_from([1, 2, 3]))
    if draw(st.integers(0, 2)) == 0:
        since = date - dt.timedelta(days=draw(st.integers(0, 800)))
        enrolment = {"mode": draw(st.sampled_from(["standard", "pooled-only"])), "since": since.isoformat()}
        for flag in ("late", "supplement", "flexible"):
            if draw(st.booleans()):
                enrolment[flag] = draw(st.booleans())
        if enrolment.get("late"):
            enrolment["paid_on"] = (date - dt.timedelta(days=draw(st.integers(0, 200)))).isoformat()
        claim["enrolment"] = enrolment
    if draw(st.integers(0, 4)) == 0:
        claim["contracted"] = draw(st.booleans())
    if draw(st.integers(0, 4)) == 0:
        claim["history"] = {"outpatient_last_year": draw(st.booleans()), "chronic_diseases": draw(st.integers(0, 3))}
    if draw(st.integers(0, 5)) == 0:
        claim["referred_from"] = draw(st.sampled_from(_names(policy, "level")))
    return claim


@st.composite
def runs_for(draw, policy, max_persons: int = 3, max_claims: int = 8) -> list[dict]:
    """A run's claims: a few persons, each in one scheme, dates spread over one or two years,
    persons interleaved in input order."""
    start, end = _period(policy)
    schemes = sorted(policy.compiled.schemes)
    persons = [(f"p{i}", draw(st.sampled_from(schemes))) for i in range(draw(st.integers(1, max_persons)))]
    claims = []
    for n in range(draw(st.integers(1, max_claims))):
        person, scheme = draw(st.sampled_from(persons))
        date = start + dt.timedelta(days=draw(st.integers(0, (end - start).days)))
        claims.append(draw(claim_for(policy, scheme=scheme, person=person, date=date, cid=f"c{n}")))
    return claims


# ---- hostile input: any JSON, shaped more or less like a claim -------------------------

_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(10 ** 20), 10 ** 20), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "-1", "NaN", "Infinity", "1e999", "-0", "1e-999", "2026-02-30", "2026-13-01",
                     "0001-01-01", "9999-12-31", "2026-6-1", "１２３", "1_000", " 12.5 ", "0x10", "1,000.00",
                     "level3", "A", "B", "inpatient", "employee", "retired", "local", "2026-06-01"]),
    # What an outside tester found escaping: lone surrogates, ints too long to print, digits
    # other than ASCII, dates fromisoformat takes but YYYY-MM-DD does not.
    st.sampled_from(["\ud83d", "p\udc00", "\udfff\ud800", "８０００", "٨٠٠٠", "8_000", "８０００.00", "٣", "１２",
                     "2026-W10-4", "2026-065", "20260305", "２０２６-03-05", "2026-03-05T00:00", " 2026-03-05",
                     "p1 ", "Zoe\u0308", "\u3000"]),
    st.sampled_from([4301, 5000, 30, 19]).map(lambda digits: 10 ** digits),  # built when drawn: never printed
)
json_values = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)

_FIELDS = ("id", "person", "date", "scheme", "status", "age", "groups", "benefit", "facility", "place", "items",
           "conditions", "disease_class", "enrolment", "contracted", "history", "maternity", "babies",
           "pregnancy_months", "wage", "referred_from")


@st.composite
def hostile_claims(draw, policy) -> object:
    """A valid claim with some fields replaced, removed or added; or anything at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    start, _ = _period(policy)
    scheme = draw(st.sampled_from(sorted(policy.compiled.schemes)))
    claim = draw(claim_for(policy, scheme=scheme, person="p", date=start, cid=draw(st.sampled_from(["h1", "h2"]))))
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(_FIELDS + ("facility.level", "facility.beds", "items.0.amount",
                                                "items.0.class", "items.0.unit_price", "items.0.days",
                                                "enrolment.since", "enrolment.paid_on")))
        value = draw(st.one_of(json_values, st.just(KeyError)))
        _put(claim, field, value)
    if draw(st.integers(0, 4)) == 0:  # a field the table does not know, misspelt or odd
        _put(claim, draw(st.sampled_from(["stauts", "facility.levle", "items.0.clas", "enrolment.lates", "\ud83d",
                                          "history.x", "age "])), draw(json_values))
    return claim


def _put(claim: dict, path: str, value) -> None:
    """Set (or, for KeyError, remove) the field at a dotted path, if the path still exists."""
    target = claim
    *parents, last = path.split(".")
    for part in parents + [last]:
        if isinstance(target, list) != part.isdigit() or not isinstance(target, (dict, list)):
            return
        key = int(part) if part.isdigit() else part
        if part is last:
            break
        if isinstance(target, list) and key >= len(target):
            return
        target = target[key] if isinstance(target, list) else target.get(key)
    if isinstance(target, list) and key >= len(target):
        return
    if value is KeyError:
        if isinstance(target, dict):
            target.pop(key, None)
        return
    target[key] = value


# ---- policy texts: grammar-aware and mutated -------------------------------------------

def _keyword_spellings() -> list[str]:
    from medpolicy.keywords import KEYWORDS

    return sorted(s for k in KEYWORDS for s in k.spellings)


_VOCAB = ["employee", "resident", "inpatient", "outpatient", "maternity", "two-diseases", "special", "level1",
          "level2", "level3", "primary", "employed", "retired", "veteran-worker", "extreme-poverty", "local",
          "remote-self", "remote-referred", "A", "B", "material", "bed", "delivery", "antenatal", "hypertension",
          "class-1", "age", "pregnancy-months", "beds", "basic", "major", "aid", "supplement", "flexible",
          "住院", "三级", "退休", "在职", "特困", "avg_wage", "wage_x", "nosuch", "level4"]
_LITERALS = ["900", "0", "85%", "100%", "101%", "0.5%", "1.2万", "12000", "2026-01-01", "2030-12-31",
             "2026-02-30", '"第二十一条"', '""', ",", "+", "-", "×", ">=", "<", "≤", "5", "1.5", "3",
             "99999999999999", "%", "#", '"', "（", "：", "“x”"]


@st.composite
def _clause(draw) -> str:
    words = _keyword_spellings() + _VOCAB + _LITERALS
    tokens = draw(st.lists(st.sampled_from(words), min_size=1, max_size=9))
    line = " ".join(tokens)
    if draw(st.booleans()):
        line += ' cite "第' + draw(st.sampled_from(["一", "二十", "四十三"])) + '条"'
    return line


@st.composite
def policy_texts(draw) -> str:
    """Texts shaped like a policy: a header, uses, parameters and nested blocks of token soup
    drawn from the keyword table, the vocabulary and literals, with good and bad indentation."""
    lines = []
    if draw(st.integers(0, 4)):
        lines.append('policy "测试办法" region 测试 effective ' + draw(st.sampled_from(
            ["2026-01-01 to 2030-12-31", "2026-01-01", "2030-01-01 to 2026-01-01", "2026-13-01 to 2027-01-01"])))
    if draw(st.integers(0, 5)):
        lines.append(draw(st.sampled_from(["use standard", "引用 standard", "use nosuch", "use ../standard"])))
    if draw(st.booleans()):
        lines.append("parameter " + draw(st.sampled_from(["avg_wage", "wage_x", "level3"])))
    for _ in range(draw(st.integers(0, 3))):
        lines.append("scheme " + draw(st.sampled_from(["employee", "resident", "职工", "bogus"])))
        depth = 1
        for _ in range(draw(st.integers(0, 8))):
            depth = max(1, min(depth + draw(st.integers(-2, 1)), 5))
            indent = draw(st.sampled_from(["  ", "    ", "\t", "\u3000", " "]))
            lines.append(indent * depth + draw(_clause()))
            if draw(st.integers(0, 9)) == 0:
                lines.append(draw(st.sampled_from(["", "# comment", "   # indented comment", "\r"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n", "\r\n"]))


_SOURCES = {p.stem: p.read_text(encoding="utf-8") for p in POLICY_FILES}
_SOURCES["standard"] = (ROOT / "stdlib" / "standard.med").read_text(encoding="utf-8")


@st.composite
def mutated_policies(draw) -> str:
    """A shipped policy (or the standard library) with a few edits: characters and lines
    deleted, duplicated, moved or re-indented, tokens swapped for others."""
    text = _SOURCES[draw(st.sampled_from(sorted(_SOURCES)))]
    words = _keyword_spellings() + _VOCAB + _LITERALS + ["\n", "\n  ", "\t", "\x00", "\ufeff", "\u3000", "\\"]
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.integers(0, 6))
        if op == 0 and text:  # delete a run of characters
            i = draw(st.integers(0, len(text) - 1))
            text = text[:i] + text[i + draw(st.integers(1, 12)):]
        elif op == 1:  # insert a word
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(st.sampled_from(words)) + text[i:]
        elif op == 2:  # replace a space-separated token
            toks = text.split(" ")
            toks[draw(st.integers(0, len(toks) - 1))] = draw(st.sampled_from(words))
            text = " ".join(toks)
        elif op == 3:  # duplicate or move a line
            lines = text.split("\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines)))
            line = lines[i] if draw(st.booleans()) else lines.pop(i)
            lines.insert(min(j, len(lines)), line)
            text = "\n".join(lines)
        elif op == 4:  # re-indent a line
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = " " * draw(st.integers(0, 9)) + lines[i].lstrip()
            text = "\n".join(lines)
        elif op == 5:  # any character
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(st.characters(codec="utf-8")) + text[i:]
        else:  # cut the file short
            text = text[:draw(st.integers(0, len(text)))]
    return text


def check_compile(text: str, name: str = "fuzz.med"):
    """Compile `text`; returns the policy, or the MedError after checking that every diagnostic
    names this file (or a module it uses), a line and column inside it, and a message.
    Any other exception propagates: that is a crash."""
    try:
        return medpolicy.compile(text, name)
    except medpolicy.MedError as e:
        assert e.diagnostics, "a MedError without diagnostics"
        lines = max(1, text.count("\n") + text.count("\r") + 1)
        for d in e.diagnostics:
            assert d.message and isinstance(d.message, str)
            assert d.span.line >= 1 and d.span.column >= 1, d
            if d.span.file == name:
                assert d.span.line <= lines + 1, (d, lines)
            else:
                assert d.span.file.startswith("stdlib/"), d
            d.format(text)  # the CLI's rendering works on it
        return e
