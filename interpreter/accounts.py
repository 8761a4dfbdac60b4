"""The personal account (个人账户) in settlement: what it pays of the patient's share.

A policy says, per claim signature like any other term, what the account may pay:

    account self-pay own-expense family spouse parent child     cite "第十一条（一）"
    account current self-pay                                    cite "第二十二条（一）"
    account carried self-pay own-expense family spouse ...      cite "第二十二条（二）（四）"
    outpatient account first                                    cite "..."   (账户先付, before the deductible)

`self-pay` (自付) is the patient's share of covered care: pre-payments, the deductible and the
co-payment (total - excluded - what the funds paid); `own-expense` (自费) is what lies outside the
catalogue or over a price ceiling (`excluded`). An account has up to two pots, paid in order:
`current` (当年账户, the claim's `account.balance`) and `carried` (历年结余账户, `account.carried`);
a clause that names no pot is about both. `family` names the relatives (家庭共济) whose claims the
pot may pay: a claim paid from another member's account says whose (`account.owner`) and how they
are related (`account.relation`).

The claim carries each pot's balance before it; a claim that gives none uses what the person's
earlier claims in the run left of that account (kept in the person's year, `Year.accounts`),
so a second claim sees the reduced balance. Nothing here rounds: balances and bills are in whole
fen, and the account pays whole fen of them.

Stages (engine.py): `account_first` after the eligible cost is known and before the deductible;
`account` after the patient's share, splitting it into `account` and `cash`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

import attrs

from .errors import ClaimError
from .money import ZERO, q

POTS = ("current", "carried")          # the order the pots pay in
POT_FIELDS = {"current": "balance", "carried": "carried"}   # the claim's account field of each pot
NO_ACCOUNT_SCHEMES = ("resident",)    # schemes without personal accounts (see _no_account)
_POT_WORDS = {"current": "current-year account (当年账户)", "carried": "carried-over account (历年结余账户)"}


@attrs.frozen
class AccountUse:
    """A clause's value for one pot: the parts of the patient's share it pays, and for whom."""

    parts: frozenset        # "self-pay", "own-expense"; empty: the pot pays nothing (`account none`)
    family: frozenset       # relations whose claims it may also pay (家庭共济)
    whole: bool = True      # the clause names no pot: it is about the whole account


@attrs.frozen
class PotTerms:
    """What one pot pays on claims of a plan's signature, and the clause that says so."""

    pot: str
    parts: frozenset
    family: frozenset
    line: int
    cite: Optional[str]
    whole: bool = True      # the clause names no pot (the trace says "the account")


@attrs.frozen
class AccountTerms:
    """The account's terms for a claim signature: the pots that pay, in order, and the pots
    that pay a first segment before the deductible (with the clause)."""

    pots: tuple[PotTerms, ...]
    first: tuple[str, ...] = ()
    first_line: Optional[int] = None
    first_cite: Optional[str] = None


def settings_of(node, relations) -> list[tuple[str, str, object]]:
    """A clause's account setting as (quantity, mode, value) triples: one per pot it is about.
    `relations`: the canonical relation names of `family` (already checked)."""
    from . import ast  # the compiler's AST; imported here to keep this module's imports light

    if isinstance(node, ast.AccountNone):
        return [(f"account:{pot}", "abs", AccountUse(frozenset(), frozenset())) for pot in POTS] + \
            [("account.first", "abs", ())]
    pots = POTS if node.pot is None else (node.pot,)
    if isinstance(node, ast.AccountFirst):
        return [("account.first", "abs", pots)]
    use = AccountUse(frozenset(node.parts), frozenset(relations), node.pot is None)
    return [(f"account:{pot}", "abs", use) for pot in pots]


def terms_of(picks: dict) -> Optional[AccountTerms]:
    """The account's terms from the winning clauses of a claim (None when no clause speaks of it)."""
    pots = []
    for pot in POTS:
        p = picks.get(f"account:{pot}")
        if p is not None and p.value.parts:
            c = p.clause
            pots.append(PotTerms(pot, p.value.parts, p.value.family, c.span.line, c.cite, p.value.whole))
    first = picks.get("account.first")
    if not pots and (first is None or not first.value):
        return None
    if first is None or not first.value:
        return AccountTerms(tuple(pots))
    return AccountTerms(tuple(pots), tuple(first.value), first.clause.span.line, first.clause.cite)


# ---- settling ---------------------------------------------------------------------------

class Balances:
    """The account's pots as one claim sees them: the balance before the claim (None: not known),
    what the claim takes from each, and whose account it is."""

    __slots__ = ("owner", "relation", "before", "taken", "no_account")

    def __init__(self, facts, year):
        acct = facts.account
        self.owner = acct.get("owner") or facts.person if acct else facts.person
        self.relation = acct.get("relation") if acct else None
        given = {pot: acct.get(POT_FIELDS[pot]) for pot in POTS} if acct else dict.fromkeys(POTS)
        # A pot the claim gives replaces the kept one (the caller's figure is the newer); a pot it
        # leaves out is what the person's earlier claims left, or last year's (next_year).
        self.before = {pot: year.accounts.get((self.owner, pot)) if v is None else v for pot, v in given.items()}
        self.taken = dict.fromkeys(POTS, ZERO)
        self.no_account = _no_account(facts) if self.owner == facts.person else None
        if acct is not None and acct.get("used") is False:  # not used this time: nothing paid, balance kept
            self.no_account = "the account is not used for this claim (account.used false)"
        elif self.no_account:
            _refuse_own_account(acct, given, self.no_account)
            self.before = dict.fromkeys(POTS)

    def left(self, pot: str) -> Decimal:
        b = self.before[pot]
        return ZERO if b is None else b - self.taken[pot]

    def updates(self) -> list:
        """The pots' balances after the claim, for the year: only pots whose balance is known."""
        return [((self.owner, pot), self.before[pot] - self.taken[pot]) for pot in POTS if self.before[pot] is not None]


def _no_account(facts) -> Optional[str]:
    """Why the claim's person has no personal account of their own (None: they may have one).
    A pooled-only member (单建统筹: Suizhou 第二十条（四）, Ziyang 第十条) has none, and neither has
    a member of the resident scheme (城乡居民医保: no seed credits one; Shaoxing 第二十二条（四）
    pays a resident's care from a relative's carried-over account only)."""
    if "pooled-only" in facts.flags:
        return "the member is enrolled pooled-only (单建统筹, enrolment.mode) and has no personal account"
    if facts.scheme in NO_ACCOUNT_SCHEMES:
        return f"a member of the {facts.scheme} scheme has no personal account of their own"
    return None


def _refuse_own_account(acct, given: dict, why: str) -> None:
    """A claim that gives a balance for an account its person does not have contradicts itself: a
    bureau refuses it (the error row names the field) rather than settle money from an account
    that does not exist. A relative's account (家庭共济, `account.owner`) may still pay where the
    policy allows; a balance a member record supplied is never refused (the record said so)."""
    if acct is not None and acct.get("member_balance"):
        return
    for pot in POTS:
        if given[pot] is not None:
            field = f"account.{POT_FIELDS[pot]}"
            raise ClaimError("bad-value", f"{field}: {why}; settle without it, or name a relative's account "
                                          "with account.owner and account.relation (家庭共济)", field)


def next_year(previous):
    """A person's first claim of a new calendar year: each account's balance their latest earlier
    year left, both pots together, is the new year's carried-over pot (历年结余账户; Shaoxing
    第二十一条（四）: 年度结转后，当年个人账户余额转入历年结余账户). The current pot is the new
    year's own (the claim's `account.balance`, or the member's record)."""
    from .settle import Year

    year = Year()
    for (owner, _pot), left in previous.accounts.items():
        year.accounts[(owner, "carried")] = year.accounts.get((owner, "carried"), ZERO) + left
    return year


def _word(t: PotTerms) -> str:
    return "account (个人账户)" if t.whole and t.pot == "current" else _POT_WORDS[t.pot]


def _may_pay(pot_owner_relation, family: frozenset) -> Optional[str]:
    """Why a pot may not pay this claim (a note), or None when it may."""
    owner, person, relation = pot_owner_relation
    if owner == person:
        return None
    if relation in family:
        return None
    allowed = ", ".join(sorted(family)) if family else "no relative"
    return f"家庭共济: this pot pays for {allowed}, not for the owner's {relation or 'unnamed relation'}"


def first_segment(w) -> None:
    """`account first`: the pots named pay the eligible cost from its start, before the deductible;
    the funds then settle only what is left of it (the segment counts for no deductible)."""
    terms = w.plan.account
    w.account = bal = Balances(w.facts, w.year)
    if terms is None or not terms.first:
        return
    who = (bal.owner, w.facts.person, bal.relation)
    for pot in terms.first:
        if bal.before[pot] is None or w.eligible <= 0 or bal.no_account:
            continue
        family = next((t.family for t in terms.pots if t.pot == pot), frozenset())
        if _may_pay(who, family) is not None:
            continue
        take = min(bal.left(pot), w.eligible)
        if take <= 0:
            continue
        bal.taken[pot] += take
        w.eligible -= take
        if w.trace is not None:
            w.trace.append(("account first", take, terms.first_line, terms.first_cite,
                            f"{_POT_WORDS[pot]} pays the first {q(take)} of the eligible cost, before the deductible"))


def pay(w) -> None:
    """Split the patient's share into what the account pays and cash (个人账户支付 / 现金支付)."""
    result, terms, bal = w.result, w.plan.account, w.account
    if bal is None:  # a claim settled before the account stage ran (not covered early)
        w.account = bal = Balances(w.facts, w.year)
    patient = result["patient"]
    own_expense = min(w.excluded, patient)
    due = {"own-expense": own_expense,
           "self-pay": max(patient - own_expense - sum(bal.taken.values()), ZERO)}
    who = (bal.owner, w.facts.person, bal.relation)
    pots = terms.pots if terms is not None else ()
    notes: list = []
    for t in pots:
        left = bal.left(t.pot)
        why_not = _may_pay(who, t.family)
        if why_not is None and bal.no_account:
            why_not = bal.no_account
        if why_not is None and bal.before[t.pot] is None:
            # A pot the claim says nothing of (Ziyang's account has one): silent, unless none is known.
            if any(bal.before[o.pot] is not None for o in pots):
                continue
            why_not = "the claim gives no account balance (account.balance)" if t.whole else \
                f"the claim gives no account.{POT_FIELDS[t.pot]} for the {_POT_WORDS[t.pot]}"
        if why_not is None and left <= 0:
            why_not = f"the {_word(t)} is empty"
        if why_not is not None:
            seen = (None if bal.no_account else t.line, why_not)  # no account: one note, not one per pot
            if w.trace is not None and patient > 0 and seen not in notes:
                notes.append(seen)
                w.trace.append(("account", ZERO, t.line, t.cite, why_not))
            continue
        take = ZERO
        for part in ("self-pay", "own-expense"):  # the covered share first: it is what every pot may pay
            if part in t.parts and due[part] > 0:
                amount = min(due[part], left - take)
                due[part] -= amount
                take += amount
        take = q(take)
        bal.taken[t.pot] += take
        if w.trace is not None:
            paid_parts = " and ".join(p for p in ("self-pay", "own-expense") if p in t.parts)
            w.trace.append(("account", take, t.line, t.cite,
                            f"{_word(t)} pays {paid_parts}: balance {q(left)} -> {q(left - take)}"))
    paid = sum(bal.taken.values(), ZERO)
    result["account"] = paid
    result["cash"] = patient - paid
    known = [bal.left(pot) for pot in POTS if bal.before[pot] is not None]
    if known:  # the account's balance after the claim (the platform's `balc`)
        result["account_balance"] = sum(known, ZERO)
    if w.trace is not None and paid:
        w.trace.append(("cash", result["cash"], None, None, None))


def commit(w, year) -> None:
    """The account's balances after the claim, kept in the person's year for their next claim."""
    bal = w.account
    if bal is None:
        return
    for key, left in bal.updates():
        year.accounts[key] = left
