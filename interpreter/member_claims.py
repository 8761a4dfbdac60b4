"""Claims settled against member records (members API, docs/members.md): the claim's month.

A claim whose person has a record gets, from the record's month (`Policy.member_month`):
- whether benefits are payable that month: if not, the claim is not covered, citing the
  member rule's article (the engine's `not_covered` stage), and a month whose benefits are
  suspended (contributions lapsed or unpaid) has the flag `suspended` for the policy's
  clauses (Shaoxing 第二十一条（七）: no account in such months); a claim paid from another
  member's account (`account.owner`) whose benefits are suspended that month has the flag
  `payer-suspended`;
- the account's balance, when the claim gives none: the month's balance from the record
  (opening balance, credits, deductions) less what the member's earlier claims in the run
  took from it. What claims took is kept beside the person's years, under
  `spent_key(person, scheme)`, in the same map the run keeps years in, so `Run.forget`,
  `settle_all` and `State` carry it exactly as they carry a year.

A record that cannot be read makes each of its person's claims an error row naming the
record's field; the run goes on.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .errors import ClaimError
from .money import ZERO
from .settle import Year

SUSPENDED = ("lapsed", "not-paid")   # members' reasons meaning benefits were interrupted (待遇中断)


def spent_key(person: str, scheme: str) -> tuple:
    """Where what a member's claims took from their account is kept beside their years."""
    return (person, scheme, "account")


class MemberBook:
    """Member records by person id, read once, for one run and its parameters."""

    def __init__(self, policy, members: Any, params: Optional[Mapping] = None):
        from .members.records import MemberError, MemberRecord, read_member

        self._policy, self._params = policy, dict(params or {})
        self.records: dict = {}
        self.problems: dict = {}  # person -> MemberError
        items = members.values() if isinstance(members, Mapping) else members
        for obj in items if members is not None else ():
            try:
                rec = obj if isinstance(obj, MemberRecord) else read_member(obj)
            except MemberError as e:
                if e.member is not None:  # the id as read_member reads it: 5 is person "5"
                    self.problems[e.member] = e
                continue
            self.records[rec.id] = rec

    def __len__(self) -> int:
        return len(self.records)

    def prepare(self, facts, spent: Optional[Year]):
        """The claim's facts with its month's cover and balance (unchanged without a record)."""
        problem = self.problems.get(facts.person)
        if problem is not None:
            raise ClaimError("bad-member", f"the member record of {facts.person} cannot be used: {problem}",
                             "person")
        rec = self.records.get(facts.person)
        changes: dict = {}
        if rec is not None:
            self._cover(rec, facts, changes)
        acct = facts.account
        owner = (acct.get("owner") if acct else None) or facts.person
        if owner != facts.person and self._suspended(owner, facts.date):
            changes["flags"] = changes.get("flags", facts.flags) | {"payer-suspended"}
        stated = acct is not None and (acct.get("balance") is not None or acct.get("carried") is not None)
        if not stated:
            pots = self._pots(owner, facts, spent)
            if pots is not None:
                changes["account"] = dict(acct or {"owner": None, "relation": None},
                                          balance=pots[0], carried=pots[1], member_balance=True)
        return facts.replace(**changes) if changes else facts

    def _cover(self, rec, facts, changes: dict) -> None:
        """The claim's cover in its month: not covered (with the member rule's article), the flag
        `suspended` for an interrupted month, `pooled-only` for a month enrolled 单建统筹."""
        row = self._month(rec, facts.date)
        flags = facts.flags
        if row is None:
            changes["uncovered"] = ("not-enrolled", None, None)
        elif not row.payable:
            line = next((f.line for f in row.trace if f.figure == row.reason), None)  # the member rule's line
            changes["uncovered"] = (row.reason, row.article, line)
            if row.reason in SUSPENDED:
                flags = flags | {"suspended"}
        period = rec.period_on(facts.date)
        if period is not None and period.mode == "pooled-only" and "pooled-only" not in flags:
            flags = (flags - {"standard-enrolment"}) | {"pooled-only"}
        if flags is not facts.flags:
            changes["flags"] = flags

    def _suspended(self, owner: str, on) -> bool:
        """Whether the benefits of the account's owner (another member: 家庭共济) are suspended in
        the claim's month (Shaoxing 第二十一条（七）: 待遇中断期间个人账户不能使用)."""
        rec = self.records.get(owner)
        row = self._month(rec, on) if rec is not None else None
        return row is not None and not row.payable and row.reason in SUSPENDED

    def _month(self, rec, on):
        try:
            return self._policy.member_month(rec, on=on, params=self._params)
        except KeyError as e:  # a parameter the member rules need
            raise ClaimError("missing-parameter", f"the member rules need parameter {e.args[0]} for this claim's "
                                                  f"month; give it with --param {e.args[0]}=VALUE", None) from None

    def _pots(self, owner: str, facts, spent: Optional[Year]) -> Optional[tuple]:
        """(current, carried): the balance of the account of `owner`'s record in the claim's
        month, less what the claims settled before took. The current pot (当年账户) is this
        calendar year's credits less the contributions the account paid; the rest of the balance
        (the opening balance, earlier years') is the carried-over pot (历年结余账户). None: no
        record of the owner, no balance, or a pooled-only month (no account)."""
        if owner in self.problems:
            raise ClaimError("bad-member", f"the member record of {owner}, whose account the claim names, cannot "
                                           f"be used: {self.problems[owner]}", "account.owner")
        rec = self.records.get(owner)
        if rec is None:
            return None
        period = rec.period_on(facts.date)
        if period is not None and period.mode == "pooled-only":
            return None
        try:
            rows = self._policy.member_months(rec, until=facts.date, as_of=facts.date, params=self._params)
        except KeyError as e:
            raise ClaimError("missing-parameter", f"the member rules need parameter {e.args[0]} for the account of "
                                                  f"{owner}; give it with --param {e.args[0]}=VALUE", None) from None
        year, month = facts.date.year, facts.date.month
        if not rows or rows[-1].month != (year, month) or rows[-1].balance is None:
            return None
        opened = (rec.balance[0].year, rec.balance[0].month) if rec.balance is not None else None
        credited = sum((r.credit - r.deducted for r in rows
                        if r.month[0] == year and (opened is None or r.month >= opened)), ZERO)
        balance = rows[-1].balance
        current = min(max(credited, ZERO), balance)
        taken = spent.accounts if spent is not None else {}
        before = sum((v for (o, y, _), v in taken.items() if o == owner and y < year), ZERO)
        return (max(current - taken.get((owner, year, "current"), ZERO), ZERO),
                max(balance - current - before - taken.get((owner, year, "carried"), ZERO), ZERO))

    @staticmethod
    def record_spent(facts, year: Year, spent: Year) -> None:
        """After a claim settled: what it took from each pot of a record's balance, by calendar
        year, kept for later claims (a later year sees all of it gone from its carried pot)."""
        acct = facts.account
        if acct is None or not acct.get("member_balance"):
            return
        owner = acct.get("owner") or facts.person
        for pot, field in (("current", "balance"), ("carried", "carried")):
            took = acct[field] - year.accounts.get((owner, pot), acct[field])
            if took:
                key = (owner, facts.date.year, pot)
                spent.accounts[key] = spent.accounts.get(key, ZERO) + took


def book_of(policy, members: Any, params) -> Optional[MemberBook]:
    """A MemberBook from what a caller gave (records, a mapping, a book, or None)."""
    if members is None or isinstance(members, MemberBook):
        return members
    return MemberBook(policy, members, params)


def load_book(path: str, policy, params, report) -> MemberBook:
    """`med run --members FILE`: the member records of a file (JSON lines, JSON array or CSV,
    as `med members` reads them); each line that is not a record goes to `report`. Raises
    OSError when the file cannot be read at all."""
    from .inputs import InputProblem
    from .members.command import read_members

    records = []
    for line, obj in read_members(path):
        if isinstance(obj, InputProblem):
            report(f"{path}:{line}: {obj.message}; skipped")
        else:
            records.append(obj)
    return MemberBook(policy, records, params)
