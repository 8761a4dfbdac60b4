"""The national platform's shape (国家医保信息平台): settlement requests in, setlinfo and setldetail out.

A request is one JSON object: the 2207/2304 `input.data` fields with its fee lines under
`feedetail` (docs/nhsa.md). The city's code mapping (`CITY.nhsa.toml` beside the policy, over
the national defaults in `nhsa_national.toml`) turns its codes into a contract claim; the
claim's result becomes the platform's answer: `setlinfo` (one figure per quantity and per fund
family), `setldetail` (one line per fund_pay_type) and the fee lines' split (`feedetail`).
"""

from __future__ import annotations

import datetime as dt
import json
from .tomlcompat import tomllib
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Optional

from .errors import ClaimError
from .money import q
from .settle import step_dict

ZERO = Decimal(0)

# Request fields whose value is a code, in the order their tables apply (a later one wins).
CODE_FIELDS = ("insutype", "med_type", "psn_type", "psn_idet_type", "hosp_lv", "place_type",
               "matn_type", "birctrl_type", "dise_codg")
REQUIRED_CODES = ("insutype", "med_type", "hosp_lv")
# Claim fields a code may set, and the vocabulary kind each value must be (None: not a name).
CLAIM_KEYS = {"scheme": "scheme", "benefit": "benefit", "status": "status", "groups": "group",
              "maternity": "event", "facility.level": "level", "facility.grade": None,
              "facility.type": "type", "place": "place", "conditions": "condition",
              "disease_class": None, "enrolment.flexible": None}
LIST_KEYS = ("groups", "conditions")
# Item classes a fee line may have: the ones a line's amount alone settles (no unit price or days).
LINE_CLASSES = ("A", "B", "excluded", "herbal")
FUND_FIELDS = ("hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")
SETLINFO_MONEY = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                  "act_pay_dedc", *FUND_FIELDS, "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay",
                  "hosp_part_amt")
ACCOUNT_MONEY = ("balc", "acct_mulaid_pay")  # after SETLINFO_MONEY; balc null when no balance is known
ECHOED = ("mdtrt_id", "psn_no", "insutype", "psn_type", "med_type", "medins_setl_id", "setl_time")


class MappingError(Exception):
    """A mapping file that cannot be used: the message names the file and the entry."""


# ---- the mapping ---------------------------------------------------------------------

class CodeMap:
    """One city's codes: request codes → claim fields, fund names → fund_pay_type, fund_pay_type →
    setlinfo figure. Immutable after loading."""

    def __init__(self, data: dict, source: str):
        self.source = source
        self.name = str(data.get("name", ""))
        self.admdvs = tuple(str(a) for a in data.get("admdvs", ()))
        self.outside = data.get("outside", "remote-referred")
        self.codes: dict = data.get("codes", {})
        self.funds: dict = data.get("fund_pay_type", {})
        self.fund_names: dict = data.get("fund_pay_type_name", {})
        self.rollup = sorted(data.get("setlinfo", {}).items(), key=lambda kv: -len(kv[0]))
        self.account_code = str(data.get("account_fund_pay_type", "310200"))

    def fund_code(self, scheme: str, fund: str) -> str:
        return self.funds[scheme][fund]

    def setlinfo_field(self, code: str) -> str:
        """The setlinfo figure a fund_pay_type adds to: the longest matching prefix, else oth_pay."""
        for prefix, field in self.rollup:
            if code.startswith(prefix):
                return field
        return "oth_pay"


def _national() -> dict:
    text = resources.files("medpolicy").joinpath("nhsa_national.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _overlay(base: dict, city: dict) -> dict:
    """The city's file over the national defaults: tables merge entry by entry; `false` drops a code."""
    out = dict(base)
    for key, value in city.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _overlay(base[key], value)
        else:
            out[key] = value
    return {k: v for k, v in out.items() if v is not False}


def mapping_path(policy_path: str) -> Path:
    """`policies/suihua.med` → `policies/suihua.nhsa.toml`."""
    p = Path(policy_path)
    return p.with_name(p.stem + ".nhsa.toml")


def load_mapping(policy_path: str, policy) -> CodeMap:
    """The mapping beside the policy over the national defaults, checked against the policy's
    vocabulary and funds. Raises MappingError naming the file and the entry."""
    path = mapping_path(policy_path)
    city: dict = {}
    if path.is_file():
        try:
            city = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise MappingError(f"{path}: {e}") from None
    cm = CodeMap(_overlay(_national(), city), str(path) if city else "the national defaults")
    _check(cm, policy)
    return cm


def _check(cm: CodeMap, policy) -> None:
    vocab = policy.compiled.vocabulary
    where = cm.source
    for field, table in cm.codes.items():
        if field not in CODE_FIELDS and field != "chrgitm_lv":
            raise MappingError(f"{where}: codes.{field}: not a request field with codes ({', '.join(CODE_FIELDS)}, chrgitm_lv)")
        for code, value in table.items():
            at = f"{where}: codes.{field}.{code}"
            if field == "chrgitm_lv":
                if value not in LINE_CLASSES or value not in vocab.names_of("class"):
                    raise MappingError(f"{at}: {value!r} is not a class a fee line can have ({', '.join(LINE_CLASSES)})")
                continue
            if not isinstance(value, dict):
                raise MappingError(f"{at}: give the claim fields the code sets, e.g. {{ benefit = \"inpatient\" }}")
            for key, v in value.items():
                if key not in CLAIM_KEYS:
                    raise MappingError(f"{at}: {key!r} is not a claim field a code may set ({', '.join(CLAIM_KEYS)})")
                kind = CLAIM_KEYS[key]
                names = v if isinstance(v, list) else [v]
                if kind and any(n not in vocab.names_of(kind) for n in names):
                    raise MappingError(f"{at}: {key} {v!r} is not a {kind} of this policy")
    if cm.outside not in vocab.names_of("place"):
        raise MappingError(f"{where}: outside {cm.outside!r} is not a place")
    for scheme in policy.compiled.schemes:
        for fund in policy.funds(scheme):
            if not isinstance(cm.funds.get(scheme, {}).get(fund), str):
                raise MappingError(f"{where}: fund_pay_type.{scheme}.{fund}: the policy's {fund} fund has no code")


# ---- request → claim -----------------------------------------------------------------

class Line:
    """A fee line as the claim sees it: its class and the item(s) it became."""

    __slots__ = ("index", "sn", "lv", "det", "over", "cls", "selfpay_prop")

    def __init__(self, index, sn, lv, det, over, cls, selfpay_prop):
        self.index, self.sn, self.lv, self.det, self.over = index, sn, lv, det, over
        self.cls, self.selfpay_prop = cls, selfpay_prop

    @property
    def fulamt(self) -> Decimal:
        return self.det if self.cls == "excluded" else ZERO


def request_id(req: Any) -> Optional[str]:
    if not isinstance(req, dict):
        return None
    cid = req.get("medins_setl_id") or req.get("mdtrt_id")
    return cid if isinstance(cid, str) else None


def to_claim(req: Any, cm: CodeMap) -> tuple[dict, list[Line]]:
    """A settlement request as a contract claim, and its fee lines. Raises ClaimError naming the
    request field (`feedetail[2].chrgitm_lv`) and the code."""
    if not isinstance(req, dict):
        raise ClaimError("bad-claim", "a settlement request must be a JSON object", None)
    cid = request_id(req)
    if cid is None:
        raise ClaimError("missing-field", "the request has no mdtrt_id (or medins_setl_id)", "mdtrt_id")
    person = req.get("psn_no")
    if not isinstance(person, str) or not person:
        raise ClaimError("missing-field", "the request has no psn_no", "psn_no")
    claim: dict = {"id": cid, "person": person}
    for field in CODE_FIELDS:
        _apply_code(claim, req, field, cm)
    _place(claim, req, cm)
    lines = _lines(req, cm)
    claim["date"] = _date(req, lines)
    _measures(claim, req)
    _account(claim, req)
    claim["items"] = [it for line in lines for it in _items(line)]
    return claim, lines


def _account(claim: dict, req: dict) -> None:
    """`acct_used_flag` 1: a personal account may pay (0 or absent: it pays nothing, `account.used`
    false); `balc`, the balance the person query (1101
    insuinfo.balc) returned, is the account's whole balance before this settlement: the current
    pot, the carried pot stated empty (so nothing the run kept is added to it). Without `balc`
    the balance the person's earlier settlements in the run left is used. 家庭共济 (medpolicy's
    extension): `acct_mulaid_psn_no` names the relative whose account pays and `acct_mulaid_rltn`
    the patient's relation to them (`spouse`, 配偶, …); `balc` is then that account's balance, as
    the carried-over pot, the one relatives' care is paid from (Shaoxing 第二十二条（四）)."""
    acct: dict = {}
    if str(req.get("acct_used_flag", "0")) != "1":
        acct["used"] = False  # the account pays nothing, whatever the run kept of it
    owner = req.get("acct_mulaid_psn_no") if "used" not in acct else None
    if owner not in (None, ""):
        if not isinstance(owner, str):
            raise ClaimError("bad-value", "acct_mulaid_psn_no must be the paying relative's psn_no, a string",
                             "acct_mulaid_psn_no")
        relation = req.get("acct_mulaid_rltn")
        if not isinstance(relation, str) or not relation:
            raise ClaimError("missing-field", "a settlement paid from a relative's account (acct_mulaid_psn_no) "
                                              "names the relation in acct_mulaid_rltn", "acct_mulaid_rltn")
        acct.update(owner=owner, relation=relation)
    balc = req.get("balc")
    if balc not in (None, ""):
        whole, other = ("carried", "balance") if acct else ("balance", "carried")
        acct.update({whole: balc if isinstance(balc, str) else str(balc), other: "0.00"})
    if acct:
        claim["account"] = acct


def _apply_code(claim: dict, req: dict, field: str, cm: CodeMap) -> None:
    code = req.get(field)
    if code is None or code == "":
        if field in REQUIRED_CODES:
            raise ClaimError("missing-field", f"the request has no {field}", field)
        return
    table = cm.codes.get(field)
    if table is None:  # a field the city gives no codes for is not read
        return
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(code, str) or code not in table:
        raise ClaimError("unknown-code", f"{field} {code!r} is not a code of the {cm.name or 'national'} mapping "
                                         f"(known: {', '.join(sorted(table))})", field)
    for key, value in table[code].items():
        if key in LIST_KEYS:
            claim[key] = sorted(set(claim.get(key, [])) | set(value if isinstance(value, list) else [value]))
            continue
        target = claim
        *outer, last = key.split(".")
        for part in outer:
            target = target.setdefault(part, {})
        target[last] = value


def _place(claim: dict, req: dict, cm: CodeMap) -> None:
    """Insured here (insuplc_admdvs) and treated here (mdtrtarea_admvs) is local; treated elsewhere
    is place_type's place, else the mapping's `outside`."""
    insured, treated = req.get("insuplc_admdvs"), req.get("mdtrtarea_admvs")
    if not cm.admdvs:
        return
    if insured not in (None, "") and not _inside(insured, cm):
        raise ClaimError("unknown-code", f"insuplc_admdvs {insured!r} is not in {cm.name}'s region "
                                         f"({', '.join(cm.admdvs)}…): not insured under this policy", "insuplc_admdvs")
    if treated not in (None, "") and not _inside(treated, cm) and req.get("place_type") in (None, ""):
        claim.setdefault("place", cm.outside)
    if isinstance(treated, str) and treated and not _inside(treated, cm):
        claim["region_code"] = treated
        if claim.get("place", "local") != "local":
            # The first two digits of a 医保区划 code are the province (省内 / 跨省).
            claim["area"] = "in-province" if any(treated[:2] == a[:2] for a in cm.admdvs) else "out-of-province"


def _inside(code: Any, cm: CodeMap) -> bool:
    return isinstance(code, str) and any(code.startswith(a) for a in cm.admdvs)


def _lines(req: dict, cm: CodeMap) -> list[Line]:
    fee = req.get("feedetail")
    if not isinstance(fee, list) or not fee:
        raise ClaimError("missing-field", "the request has no feedetail lines", "feedetail")
    classes = cm.codes.get("chrgitm_lv", {})
    lines = []
    for i, raw in enumerate(fee):
        at = f"feedetail[{i}]"
        if not isinstance(raw, dict):
            raise ClaimError("bad-value", f"{at} must be an object", at)
        lv = raw.get("chrgitm_lv")
        if lv is None or lv == "":
            raise ClaimError("missing-field", f"{at} has no chrgitm_lv", f"{at}.chrgitm_lv")
        if not isinstance(lv, str) or lv not in classes:
            raise ClaimError("unknown-code", f"{at}.chrgitm_lv {lv!r} is not a code of the {cm.name or 'national'} "
                                             f"mapping (known: {', '.join(sorted(classes))})", f"{at}.chrgitm_lv")
        cls = classes[lv]
        if raw.get("hosp_appr_flag") == "2":  # 审批不通过 / 转自费: the fund pays none of it
            cls = "excluded"
        det = _amount(raw.get("det_item_fee_sumamt"), f"{at}.det_item_fee_sumamt", places=2)
        over = ZERO if cls == "excluded" else _over_ceiling(raw, det, at)
        prop = raw.get("selfpay_prop")
        prop = None if prop in (None, "") else _amount(prop, f"{at}.selfpay_prop", places=4, most=Decimal(1))
        sn = raw.get("feedetl_sn")
        lines.append(Line(i, sn if isinstance(sn, str) else str(i + 1), lv, det, over, cls, prop))
    return lines


def _over_ceiling(raw: dict, det: Decimal, at: str) -> Decimal:
    """The part above the unit-price ceiling: (pric − pric_uplmt_amt) × cnt, half-up to the fen,
    never more than the line (mapping.md §1 and §7)."""
    ceiling = raw.get("pric_uplmt_amt")
    if ceiling in (None, ""):
        return ZERO
    ceiling = _amount(ceiling, f"{at}.pric_uplmt_amt", places=6)
    if raw.get("pric") in (None, "") or raw.get("cnt") in (None, ""):
        raise ClaimError("missing-field", f"{at} has pric_uplmt_amt but no pric and cnt", f"{at}.pric")
    price = _amount(raw["pric"], f"{at}.pric", places=6)
    count = _amount(raw["cnt"], f"{at}.cnt", places=4)
    if price <= ceiling:
        return ZERO
    return min(q((price - ceiling) * count), det)


def _amount(value: Any, field: str, *, places: int, most: Optional[Decimal] = None) -> Decimal:
    """A non-negative decimal of the platform's type (16,places): a JSON number or string."""
    if isinstance(value, bool) or value is None:
        raise ClaimError("bad-amount", f"{field} must be a decimal number", field)
    try:
        d = Decimal(value) if isinstance(value, (str, Decimal, int)) else None
    except (InvalidOperation, ValueError):
        d = None
    if d is None or not d.is_finite():
        raise ClaimError("bad-amount", f"{field} must be a decimal number, not {value!r}", field)
    if d < 0:
        raise ClaimError("bad-amount", f"{field} must not be negative ({value}): refunds are not settled here", field)
    if d != d.quantize(Decimal(1).scaleb(-places)) or d.adjusted() >= 16 - places:
        raise ClaimError("bad-amount", f"{field} {value} does not fit the platform's decimal(16,{places})", field)
    if most is not None and d > most:
        raise ClaimError("bad-amount", f"{field} {value} is above {most}", field)
    return d


def _date(req: dict, lines: list[Line]) -> str:
    """The settlement's date: setl_time, else endtime (出院时间), else the last fee_ocur_time."""
    for field in ("setl_time", "endtime"):
        value = req.get(field)
        if value not in (None, ""):
            return _day(value, field)
    days = [_day(raw["fee_ocur_time"], f"feedetail[{i}].fee_ocur_time")
            for i, raw in enumerate(req["feedetail"]) if raw.get("fee_ocur_time") not in (None, "")]
    if not days:
        raise ClaimError("missing-field", "the request has no setl_time (nor endtime, nor fee_ocur_time on a line)", "setl_time")
    return max(days)


def _day(value: Any, field: str) -> str:
    try:
        if not isinstance(value, str) or len(value) not in (10, 19):
            raise ValueError
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise ClaimError("bad-date", f"{field} must be yyyy-MM-dd[ HH:mm:ss], not {value!r}", field) from None


def _measures(claim: dict, req: dict) -> None:
    """Numbers the platform carries under its own names."""
    for field, key in (("age", "age"), ("fetus_cnt", "babies"), ("fetts", "birth_order")):
        value = req.get(field)
        if value not in (None, ""):
            claim[key] = _whole(value, field)
    if req.get("age") in (None, "") and req.get("brdy") not in (None, ""):
        born = dt.date.fromisoformat(_day(req["brdy"], "brdy"))
        day = dt.date.fromisoformat(claim["date"])
        claim["age"] = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    if req.get("geso_val") not in (None, ""):
        # 孕周 → whole months of pregnancy: the obstetric month is 4 weeks (40 weeks = 10 months).
        claim["pregnancy_months"] = _whole(req["geso_val"], "geso_val") // 4


def _whole(value: Any, field: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value == int(value) and value >= 0:
        return int(value)
    raise ClaimError("bad-value", f"{field} must be a whole number, not {value!r}", field)


def _items(line: Line) -> list[dict]:
    """A line is one item of its class; the part over the price ceiling is an excluded item after it."""
    items = [{"class": line.cls, "amount": str(line.det - line.over)}]
    if line.over:
        items.append({"class": "excluded", "amount": str(line.over)})
    return items


# ---- result → response -----------------------------------------------------------------

def response(req: dict, claim: dict, lines: list[Line], result, cm: CodeMap) -> dict:
    """The platform's answer to one settled request: `{"infcode": 0, "output": {setlinfo,
    setldetail, feedetail}}`, money as Decimal (written by `dumps`)."""
    if not result.ok:
        return error_response(req, result.data["error"])
    data = result.data
    split, warnings = _line_split(lines, result.trace, data)
    fulamt = sum((ln.fulamt for ln in lines), ZERO)
    info: dict = {k: req[k] for k in ECHOED if req.get(k) not in (None, "")}
    info.update(dict.fromkeys(SETLINFO_MONEY, ZERO))
    # Every amount in fen, as the contract shows it (an exact quotient becomes its rounded figure).
    info.update(medfee_sumamt=q(data["total"]), fulamt_ownpay_amt=fulamt, overlmt_selfpay=q(data["excluded"]) - fulamt,
                preselfpay_amt=q(data["prepay"]), inscp_scp_amt=q(data["eligible"]), act_pay_dedc=q(data["deductible"]))
    detail = []
    for fund, paid in data["paid"].items():
        code = cm.fund_code(claim["scheme"], fund)
        info[cm.setlinfo_field(code)] += q(paid)
        if paid:
            detail.append({"fund_pay_type": code, "fund_pay_type_name": cm.fund_names.get(code, fund),
                           "inscp_scp_amt": info["inscp_scp_amt"], "crt_payb_lmt_amt": None, "fund_payamt": q(paid),
                           "setl_proc_info": _proc_info(fund, result.trace, data["paid"])})
    info["fund_pay_sumamt"] = sum((info[f] for f in FUND_FIELDS), ZERO)
    info["psn_part_amt"] = info["medfee_sumamt"] - info["fund_pay_sumamt"] - info["hosp_part_amt"]
    info["acct_pay"] = q(data["account"])  # 个人账户支出, a family member's account (共济) included
    info["psn_cash_pay"] = info["psn_part_amt"] - info["acct_pay"]
    _account_figures(info, detail, req, claim, data, result.trace, cm)
    return {"infcode": 0, "err_msg": "", "warn_msg": "; ".join(warnings),
            "output": {"setlinfo": info, "setldetail": detail, "feedetail": split}}


def _account_figures(info: dict, detail: list, req: dict, claim: dict, data: dict, trace: list, cm: CodeMap) -> None:
    """The account's part of the answer: `balc` (the balance after the settlement, null when none
    is known), `acct_mulaid_pay` (the part of
    acct_pay from a relative's account, 共济: I8) and the account's setldetail line (310200)."""
    owner = (claim.get("account") or {}).get("owner")
    info["acct_mulaid_pay"] = info["acct_pay"] if owner not in (None, claim["person"]) else ZERO
    info["balc"] = q(data["account_balance"]) if "account_balance" in data else None
    if info["acct_pay"]:
        steps = [{k: v for k, v in step_dict(s).items() if k != "line"} for s in trace
                 if s[0] in ("account first", "account") and s[1]]
        detail.append({"fund_pay_type": cm.account_code,
                       "fund_pay_type_name": cm.fund_names.get(cm.account_code, "职工基本医疗保险个人账户基金"),
                       "inscp_scp_amt": info["inscp_scp_amt"], "crt_payb_lmt_amt": None, "fund_payamt": info["acct_pay"],
                       "setl_proc_info": json.dumps(steps, ensure_ascii=False)})


def error_response(req: Any, error: dict) -> dict:
    """A request that cannot be settled, as the platform says so: infcode -1 and err_msg; the
    contract's error object rides along for programs."""
    return {"infcode": -1, "err_msg": error["message"], "warn_msg": "", "output": None,
            "id": request_id(req), "error": error}


def _proc_info(fund: str, trace: list, funds) -> str:
    """Why the fund paid what it paid, as JSON text of its trace steps (mapping.md §5): for the
    fund that settles the claim, from the deductible to its payment; for a layer, its own steps."""
    at = {s[0]: i for i, s in reversed(list(enumerate(trace)))}  # first index of each step name
    ded, mine = at.get("deductible"), at.get(fund)
    payer = next((i for i, s in enumerate(trace) if ded is not None and i > ded and s[0] in funds), None)
    if payer is not None and payer == mine:
        steps = trace[ded:mine + 1]
    else:
        steps = [s for s in trace if s[0] == fund or s[0].startswith(fund + " ")]
    # The article, not the policy's line: the answer stays the same when a policy is re-laid out.
    return json.dumps([{k: v for k, v in step_dict(s).items() if k != "line"} for s in steps], ensure_ascii=False)


def _line_split(lines: list[Line], trace: list, data: dict) -> tuple[list[dict], list[str]]:
    """Each fee line split into the platform's four parts (I1). The class pre-payments are the
    engine's own per item (its trace steps, in item order, one per item that pre-pays); the
    first personal share of care elsewhere is spread over the lines by their in-scope part."""
    pre = {ln.index: ZERO for ln in lines}
    for cls in {ln.cls for ln in lines if ln.cls != "excluded"}:
        steps = [s[1] for s in trace if s[0] == "prepay" and (s[4] or "").startswith(f"class {cls}:")]
        mine = [ln for ln in lines if ln.cls == cls]
        # An item whose share rounds to no fen has no step: those are the smallest items.
        paying = sorted(mine, key=lambda ln: ln.det - ln.over)[len(mine) - len(steps):]
        paying_idx = {ln.index for ln in paying}
        for ln, amount in zip([ln for ln in mine if ln.index in paying_idx], steps):
            pre[ln.index] = amount
    class_pre = dict(pre)
    first = sum((s[1] for s in trace if s[0] == "prepay" and (s[4] or "").startswith("first personal share")), ZERO)
    base = {ln.index: ln.det - ln.fulamt - ln.over - pre[ln.index] for ln in lines}
    for index, share in _spread(first, base).items():
        pre[index] += share
    split, warnings = [], []
    for ln in lines:
        inscp = ln.det - ln.fulamt - ln.over - pre[ln.index]
        row = {"feedetl_sn": ln.sn, "chrgitm_lv": ln.lv, "det_item_fee_sumamt": ln.det, "fulamt_ownpay_amt": ln.fulamt,
               "overlmt_amt": ln.over, "preselfpay_amt": pre[ln.index], "inscp_scp_amt": inscp}
        if ln.selfpay_prop is not None:
            row["selfpay_prop"] = ln.selfpay_prop
            said = q((ln.det - ln.over) * ln.selfpay_prop) if ln.cls != "excluded" else ZERO
            own = class_pre[ln.index]
            if ln.cls != "excluded" and said != own:
                warnings.append(f"feedetail[{ln.index}].selfpay_prop {ln.selfpay_prop} would pre-pay {said}; "
                                f"the policy pre-pays {q(own)} (its class-{ln.cls} share), which is applied")
        split.append(row)
    if sum((r["inscp_scp_amt"] for r in split), ZERO) != data["eligible"] or \
            sum((r["preselfpay_amt"] for r in split), ZERO) != data["prepay"]:
        raise ClaimError("internal", "the fee lines' split does not add up to the settlement", None)
    return split, warnings


def _spread(amount: Decimal, weights: dict) -> dict:
    """`amount` in fen over the keys in proportion to their weights; leftover fen to the largest
    remainders (ties: the earlier key). Exact: the parts add up to `amount`."""
    total = sum(weights.values(), ZERO)
    if not amount or not total:
        return {k: ZERO for k in weights}
    fen = int(amount * 100)
    exact = {k: fen * w / total for k, w in weights.items()}
    parts = {k: int(v) for k, v in exact.items()}
    left = fen - sum(parts.values())
    for k in sorted(weights, key=lambda k: -(exact[k] - parts[k]))[:left]:
        parts[k] += 1
    return {k: Decimal(v) / 100 for k, v in parts.items()}


# ---- identities ------------------------------------------------------------------------

def _d(x: Any) -> Decimal:
    return ZERO if x in (None, "") else Decimal(str(x))


def identity_failures(setlinfo: dict, lines: Iterable[dict] = (), detail: Optional[Iterable[dict]] = None) -> list[str]:
    """Which of mapping.md's identities fail on a settlement (empty: all hold). I5 is not
    checked where psn_part_amt is null (the platform's cancel outputs). I8: acct_mulaid_pay is
    part of acct_pay (same sign, no larger). I9′, with `detail` (the setldetail lines): the lines
    add up to the funds, the account and the hospital-borne part (as Hebei's 2207 and
    Chongqing's 2304 do: mapping.md I9)."""
    s = setlinfo
    med = _d(s.get("medfee_sumamt"))
    bad = []
    for ln in lines:
        parts = sum(_d(ln.get(f)) for f in ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt"))
        if parts != _d(ln.get("det_item_fee_sumamt")):
            bad.append(f"I1 {ln.get('feedetl_sn')}")
    if med != sum(_d(s.get(f)) for f in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")):
        bad.append("I3")
    hosp = s.get("hosp_part_amt") if s.get("hosp_part_amt") is not None else s.get("ownpay_hosp_part")
    if med != _d(s.get("fund_pay_sumamt")) + _d(s.get("acct_pay")) + _d(s.get("psn_cash_pay")) + _d(hosp):
        bad.append("I4'")
    if s.get("psn_part_amt") is not None and _d(s["psn_part_amt"]) != _d(s.get("acct_pay")) + _d(s.get("psn_cash_pay")):
        bad.append("I5")
    if _d(s.get("fund_pay_sumamt")) != sum(_d(s.get(f)) for f in (*FUND_FIELDS, "hifdm_pay")):
        bad.append("I6")
    mulaid, acct = _d(s.get("acct_mulaid_pay")), _d(s.get("acct_pay"))
    if abs(mulaid) > abs(acct) or mulaid * acct < 0:
        bad.append("I8")
    if detail is not None and sum(_d(d.get("fund_payamt")) for d in detail) != \
            _d(s.get("fund_pay_sumamt")) + acct + _d(hosp):
        bad.append("I9'")
    return bad


# ---- writing ---------------------------------------------------------------------------

RATIOS = ("selfpay_prop",)  # echoed as given; every other Decimal is money


def dumps(obj: Any, key: str = "") -> str:
    """JSON with money as the platform writes it: a number with two decimals (Decimal kept exact)."""
    if isinstance(obj, Decimal):
        return str(obj) if key in RATIOS else str(q(obj))
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {dumps(v, k)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(dumps(v) for v in obj) + "]"
    return json.dumps(obj, ensure_ascii=False)


# ---- a run ------------------------------------------------------------------------------

def settle_requests(policy, cm: CodeMap, items: list, params: dict, *, to_nhsa: bool, trace: bool) -> list:
    """Settle every request in `items` (JSON values, or the reader's input problems, which have
    `as_result`). Rows in input order: platform responses (`to_nhsa`) or contract results."""
    prepared: list = []
    for it in items:
        if hasattr(it, "as_result"):
            prepared.append(("problem", it, None, None))
            continue
        try:
            claim, lines = to_claim(it, cm)
            prepared.append(("claim", it, claim, lines))
        except ClaimError as e:
            prepared.append(("error", it, {"id": request_id(it), "error": e.as_dict()}, None))
    results = iter(policy.settle_all([p[2] for p in prepared if p[0] == "claim"], params=params))
    rows = []
    for kind, req, claim, lines in prepared:
        if kind == "problem":
            row = req.as_result()
            rows.append(error_response(None, row["error"]) if to_nhsa else row)
        elif kind == "error":
            rows.append(error_response(req, claim["error"]) if to_nhsa else claim)
        else:
            result = next(results)
            if not to_nhsa:
                rows.append(result.to_json(trace=trace))
                continue
            try:
                rows.append(response(req, claim, lines, result, cm))
            except ClaimError as e:
                rows.append(error_response(req, e.as_dict()))
    return rows


def cli_rows(args, policy, params: dict, items: list):
    """`med run --from nhsa [--to nhsa]`: the rows to write, or an exit code (2 wrong usage, 1 a
    mapping that cannot be used). The warnings go to stderr."""
    import sys

    if args.source != "nhsa":
        print("med: --to nhsa needs --from nhsa (a contract claim carries no platform codes)", file=sys.stderr)
        return 2
    if args.target == "nhsa" and args.format not in (None, "jsonl"):
        print("med: --to nhsa writes JSONL (one platform answer a line)", file=sys.stderr)
        return 2
    try:
        cm = load_mapping(args.policy, policy)
    except MappingError as e:
        print(f"med: {e}", file=sys.stderr)
        return 1
    policy.bind(params)  # a missing parameter is the run's problem, not each request's
    rows = settle_requests(policy, cm, items, params, to_nhsa=args.target == "nhsa", trace=not args.no_trace)
    for n, row in enumerate(rows, 1):
        if row.get("warn_msg"):
            print(f"{args.claims}: request {n} ({row['output']['setlinfo'].get('mdtrt_id')}): {row['warn_msg']}",
                  file=sys.stderr)
    return rows
