"""Claims settled against member records (members API, docs/members.md): the claim's month.

A claim whose person has a record gets, from the record's month (`Policy.member_month`):
- whether benefits are payable that month: if not, the claim is not covered, citing the
  member rule's article (the engine's `not_covered` stage), and a month whose benefits are
  suspended (contributions lapsed or unpaid) has the flag `suspended` for the policy's
  clauses (Shaoxing 第二十一条（七）: no account in such months);
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
_SPENT = ("member", "spent")         # the key in the spent-Year's accounts


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
                mid = obj.get("id") if isinstance(obj, Mapping) else None
                if isinstance(mid, str):
                    self.problems[mid] = e
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
        if rec is None:
            return facts
        try:
            row = self._policy.member_month(rec, on=facts.date, params=self._params)
        except KeyError as e:  # a parameter the member rules need
            raise ClaimError("missing-parameter", f"the member rules need parameter {e.args[0]} for this claim's "
                                                  f"month; give it with --param {e.args[0]}=VALUE", None) from None
        changes: dict = {}
        if row is None:
            changes["uncovered"] = ("not-enrolled", None, None)
        elif not row.payable:
            line = next((f.line for f in row.trace if f.figure == row.reason), None)  # the member rule's line
            changes["uncovered"] = (row.reason, row.article, line)
            if row.reason in SUSPENDED:
                changes["flags"] = facts.flags | {"suspended"}
        acct = facts.account
        if row is not None and row.balance is not None and (acct is None or acct.get("balance") is None) \
                and (acct is None or acct.get("owner") in (None, facts.person)):
            taken = spent.accounts.get(_SPENT, ZERO) if spent is not None else ZERO
            changes["account"] = dict(acct or {"carried": None, "owner": None, "relation": None},
                                      balance=max(row.balance - taken, ZERO), member_balance=True)
        return facts.replace(**changes) if changes else facts

    @staticmethod
    def record_spent(facts, year: Year, spent: Year) -> None:
        """After a claim settled: what it took from the record's balance, kept for later claims."""
        acct = facts.account
        if acct is None or not acct.get("member_balance"):
            return
        left = year.accounts.get((facts.person, "current"), acct["balance"])
        spent.accounts[_SPENT] = spent.accounts.get(_SPENT, ZERO) + acct["balance"] - left


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
