"""A plan's settlement as one straight-line function: the engine's stages generated as Python
source from a `Plan` and compiled once per plan, in two variants: without the trace, and one
that also records the trace steps (the stages' own tuples, in their order; `trace=True`).

engine.py's stages read the plan's fields on every claim and ask at each step whether a term
applies. For a given plan most answers never change: this module asks them once, writes the
source of a function in which every stage that cannot apply to the plan is absent and every
amount is a constant (bound as a keyword default, so the source shows its value), and compiles
it. The arithmetic is the stages' own, operation for operation (the same Decimal and `Exact`
operations in the same order), so every amount and every trace step is identical; the stage
path stays the reference. tests/test_straight.py settles generated years of every city
through both and compares every field, every accumulator and every trace step.

The function takes (facts, year) and returns the result dict (the traced variant: the result
and its steps), applying the year's changes at its end only; it returns None, before changing anything, for a claim it does not take (one
whose items have rates of their own, a month without benefits, an account the plan says
nothing of): the engine then settles that claim by the stages. A plan it does not take at all
(`generate` gives None, with the reason in `Straight.why`) settles by the stages too.

The engine runs it inside the library's decimal context, like the stages. `.source` on the
function (and `source(plan)`) is its text, for a developer reading what a plan does.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Optional

from . import accounts
from .money import CENT, ONE, ZERO, Exact, div, q, to_fen
from .settle import banded, banded_pieces, cost_above_cap, deductible_due, position_paying, trace_step


class Straight:
    """A plan's generated function, made on first use: `fn` (None until made, or when the plan is
    not taken; then `why` says why). Filling it twice (two threads at once) gives equal functions."""

    __slots__ = ("fn", "why", "made", "left", "traced", "traced_made", "_counting")

    def __init__(self) -> None:
        self.fn = None
        self.why: Optional[str] = None
        self.made = False
        self.left = 0  # claims the function left to the stages (a count for tests and benchmarks)
        self.traced = None  # the variant that also records the trace steps
        self.traced_made = False
        self._counting = threading.Lock()  # (threads settling with one policy share its plans)

    def leave(self) -> None:
        """Count a claim the function left to the stages (rare: the count is exact under threads)."""
        with self._counting:
            self.left += 1

    def get(self, plan, codes: Optional[dict] = None, trace: bool = False):
        """The function (None: the plan settles by the stages); with `trace`, the variant that
        returns (result, trace steps). `codes`: compiled sources by shape, shared by the plans
        of one policy (plans that differ only in amounts share one)."""
        if trace:
            if not self.traced_made:
                self.traced, why = _made(plan, codes, True)
                self.why = self.why or why  # the same reasons as the plain variant's
                self.traced_made = True
            return self.traced
        if not self.made:
            self.fn, self.why = _made(plan, codes, False)
            self.made = True
        return self.fn


def _made(plan, codes: Optional[dict], trace: bool) -> tuple:
    try:
        return generate(plan, {} if codes is None else codes, trace)
    except Exception as e:  # a bug here must never stop a claim: the stages settle it
        return None, f"the generator failed: {e!r}"


class _Source:
    """The function's text and its constants (keyword arguments, the plan's values their defaults)."""

    def __init__(self, tracing: bool = False) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, object] = {}
        self.cached: dict[tuple, str] = {}
        self.depth = 1
        self.tracing = tracing  # the variant that records the trace steps, as the stages do
        self.paid: list[str] = []  # the funds' payments, as source, in the result's order

    def step(self, name: str, amount: str, ref, detail: str = "None") -> None:
        """A trace step (the stages' tuple): `amount` and `detail` are source text, `ref` the
        plan's Ref (or None); nothing without the trace."""
        if self.tracing:
            self(f"steps.append(({name!r}, {amount}, {self.at(ref)}, {detail}))")

    def at(self, ref) -> str:
        """A Ref's line and article as constants (None, None for no clause)."""
        if ref is None:
            return "None, None"
        return f"{self.const(_name(self, 'LINE', ref.line), ref.line)}, {self.const(_name(self, 'CITE', ref.cite), ref.cite)}"

    def note(self, text: str) -> str:
        """A constant note (a policy's names are in it): its repr, by a name."""
        return self.const(_name(self, "NOTE", text), text)

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def read(self, table: str, key: str) -> str:
        """`year.<table>.get(key, ZERO)` of a constant key: read once where the function always
        passes (the year changes only at the end), a local variable from then on."""
        var = self.cached.get((table, key))
        if var is None:
            var = f"{table}_{key.lower()}"
            self(f"{var} = year.{table}.get({key}, ZERO)")
            if self.depth == 1:
                self.cached[(table, key)] = var
        return var

    def const(self, name: str, value) -> str:
        """A constant of the plan, by a name that says what it is."""
        assert self.consts.get(name, value) is value or self.consts[name] == value, name
        self.consts[name] = value
        return name

    def shape(self, comment: str) -> str:
        """The text without the constants' values: the same for plans that differ only in amounts."""
        return "\n".join([f"# {comment}", f"def settle(facts, year, *, {', '.join(self.consts)}):"] + self.lines) + "\n"

    def text(self, comment: str) -> str:
        """The text a developer reads: each constant with its value."""
        head = [f"# {comment}", "def settle(facts, year, *,"]
        for name, value in self.consts.items():
            big = callable(value) or type(value).__name__ in ("Plan", "Layer")
            shown = f"<{type(value).__name__}>" if big else repr(value)  # the plan and its layers: too long
            head.append(f"        {name}={shown},")
        head.append("):")
        return "\n".join(head + self.lines) + "\n"


class _NotTaken(Exception):
    """A plan this generator leaves to the stages."""


def generate(plan, codes: dict, trace: bool = False) -> tuple[Optional[object], Optional[str]]:
    """The plan's function, or (None, why) for a plan left to the stages. The source is compiled
    once per shape (`codes`, shape text -> code); the plan's constants are its keyword defaults.
    With `trace`, the variant that returns (result, trace steps): the stages' steps, equal."""
    try:
        s = _generated(plan, trace)
    except _NotTaken as e:
        return None, str(e)
    comment = _comment(plan, trace)
    shape = s.shape(comment)
    code = codes.get(shape)
    if code is None:
        code = codes[shape] = compile(shape, "<settle plan>", "exec")
    ns = {"Decimal": Decimal, "Exact": Exact, "ZERO": ZERO, "ONE": ONE, "CENT": CENT, "q": q, "to_fen": to_fen,
          "div": div, "banded": banded,
          "banded_pieces": banded_pieces, "position_paying": position_paying, "deductible_due": deductible_due,
          "cost_above_cap": cost_above_cap, "accounts": accounts, "_shell": _shell, "_item_costs": _item_costs,
          "_burden_positions": _burden_positions, "pct": pct}
    exec(code, ns)  # noqa: S102 - the package's own generated source: a plan's stages, no values in it
    fn = ns["settle"]
    fn.__kwdefaults__ = dict(s.consts)
    fn.source = s.text(comment)
    return fn, None


def source(plan, trace: bool = False) -> str:
    """The text of a plan's function (or why the plan settles by the stages); with `trace`, of
    the variant that records the trace."""
    try:
        return _generated(plan, trace).text(_comment(plan, trace))
    except _NotTaken as e:
        return f"# settled by the stages: {e}\n"


def sources_of(policy, claims: list, params=None) -> str:
    """`med explain --settle-source`: for each claim, the source of its plan's function (or why
    its plan settles by the stages, or the claim's error)."""
    from .errors import ClaimError

    bound = policy.bind(params)
    out = []
    for claim in claims:
        cid = claim.get("id") if isinstance(claim, dict) else None
        try:
            facts = policy._read(claim)
            text = source(policy._engine.plan(facts, bound))
        except ClaimError as e:
            text = f"# not settled: {e.code}: {e}\n"
        out.append(f"# ---- claim {cid}\n{text}")
    return "\n".join(out)


def _generated(plan, trace: bool = False) -> _Source:
    s = _Source(trace)
    if plan.no_rate is not None:
        raise _NotTaken("no rate: the stages raise the claim's error")
    if plan.account is not None and plan.account.first:
        raise _NotTaken("`account first`: a segment before the deductible")
    layers = ()
    if plan.payer == "basic" and not plan.fixed_settles:
        try:
            layers = plan.layers()
        except Exception as e:
            raise _NotTaken("its layers raise: the stages raise the claim's error") from e
    for layer in layers:
        if layer.fund not in plan.funds:
            raise _NotTaken(f"the {layer.fund} layer is not one of the scheme's funds")
    _guards(s, plan)
    _costs(s, plan)
    _first_share(s, plan)
    if plan.not_covered is not None:
        _not_covered(s, plan)
        return s
    _deductible(s, plan)
    _paying_fund(s, plan)
    _layers(s, plan, layers)
    _patient(s, plan)
    _account(s, plan)
    _commit(s, plan, layers)
    return s


def _comment(plan, trace: bool = False) -> str:
    return f"a plan's settlement, paid by {plan.payer!r} ({'with the trace' if trace else 'no trace'})"


# ---- the stages, as source ------------------------------------------------------------

def _guards(s: _Source, plan) -> None:
    s("if facts.uncovered is not None:  # a month without benefits: the stages")
    s("    return None")


def _costs(s: _Source, plan) -> None:
    s("# costs: the total, excluded items" + (", item rules (ceilings, pre-payments)" if plan.item_rule else ""))
    # the trace's head, as engine.costs orders it: the total, the parameters taken from the
    # policy's defaults, the `as`/`terms` redirect, the items' steps, the excluded cost
    head = [("parameter", None, ref.line, ref.cite, note) for ref, note in plan.defaults]
    if plan.redirect is not None:
        head.append(("terms", None, plan.redirect[0].line, plan.redirect[0].cite, plan.redirect[1]))
    if plan.item_rule is None:
        s("total = excluded = ZERO")
        s("for it in facts.items:")
        s("    total += it.amount")
        s("    if it.cls == 'excluded':")
        s("        excluded += it.amount")
        s("prepay = ZERO")
        if s.tracing:
            s(f"steps = [('total', total, None, None, None), *{s.const('HEAD', tuple(head))}]")
    elif not s.tracing:
        s(f"total, excluded, prepay, portions = _item_costs(facts.items, {s.const('ITEM_RULE', plan.item_rule)})")
    else:
        s("steps = []")
        s(f"total, excluded, prepay, portions = _item_costs(facts.items, {s.const('ITEM_RULE', plan.item_rule)}, "
          f"steps, {s.const('DEFAULTS', plan.defaults)}, {s.const('REDIRECT', tuple(head[len(plan.defaults):]))})")
    if plan.item_rule is not None:
        s("if portions:  # classes with rates of their own: the stages")
        s("    return None")
    s.step("excluded", "excluded", None, repr("outside the catalogue or over a price ceiling"))
    if s.tracing:
        s.lines[-1] = s.lines[-1].replace("steps.append", "if excluded: steps.append")
    s("eligible = total - excluded - prepay")


def pct(share) -> str:
    """plan.pct (imported on use: plan.py imports this module)."""
    from .plan import pct as percent

    return percent(share)


def _item_costs(items, item_rule, steps: Optional[list] = None, defaults: tuple = (), redirect: tuple = ()) -> tuple:
    """engine.costs: (total, excluded, pre-payments, portions); with `steps`, its trace's head
    in them, in the stages' order."""
    from .engine import _over_ceiling, _prepay_share

    total = excluded = prepay = ZERO
    portions: dict = {}
    notes = None if steps is None else list(defaults)
    items_steps = []
    for it in items:
        total += it.amount
        if it.cls == "excluded":
            excluded += it.amount
            continue
        rule = item_rule(it.cls, it.kind)
        if rule.defaults and notes is not None:
            notes += [n for n in rule.defaults if n not in notes]
        amount = it.amount
        ceiling = rule.ceiling
        if ceiling is not None:
            over = _over_ceiling(it, ceiling)
            if over:
                excluded += over
                amount -= over
                if notes is not None:
                    items_steps.append(trace_step("over ceiling", over, ceiling.ref,
                                                  f"{it.cls} above {q(ceiling.limit)}"))
        if rule.prepay is not None:
            share = _prepay_share(rule, it)
            pre = q(amount * share)
            if pre:
                prepay += pre
                amount -= pre
                if notes is not None:
                    items_steps.append(trace_step("prepay", pre, rule.prepay_ref, f"class {it.cls}: {pct(share)}"))
        if rule.rate is not None:
            portions[it.cls] = portions.get(it.cls, ZERO) + amount
    if notes is not None:
        steps.append(("total", total, None, None, None))
        steps += [("parameter", None, ref.line, ref.cite, note) for ref, note in notes]
        steps += redirect
        steps += items_steps
    return total, excluded, prepay, portions


def _first_share(s: _Source, plan) -> None:
    s("first_share = ZERO")
    if plan.first_share is not None:
        s("# the first personal share (先行自付)")
        s(f"first_share = q(eligible * {s.const('FIRST_SHARE', plan.first_share[0])})")
        s.step("prepay", "first_share", plan.first_share[1], s.note(f"first personal share {pct(plan.first_share[0])}"))
        s("eligible -= first_share")
        s("prepay += first_share")
    s.step("eligible", "eligible", None)
    s("result = {'id': facts.id, 'person': facts.person, 'year': facts.year, 'benefit': facts.benefit,")
    s("          'total': total, 'excluded': excluded, 'prepay': prepay, 'eligible': eligible,")
    s("          'deductible': ZERO, 'paid': None}")


def _funds(plan) -> list:
    """The result's funds in the stages' order: the scheme's, then the payer if it is not one."""
    return list(plan.funds) + ([plan.payer] if plan.payer not in plan.funds else [])


def _funds_dict(plan, values: dict, payer: bool = True) -> str:
    funds = _funds(plan) if payer else plan.funds
    return "{" + ", ".join(f"{f!r}: {values.get(f, 'ZERO')}" for f in funds) + "}"


def _not_covered(s: _Source, plan) -> None:
    s("# not covered: the patient pays it all")
    s.step("not covered", "None", plan.not_covered, repr("no fund pays this claim"))
    s(f"result['paid'] = {_funds_dict(plan, {}, payer=False)}")
    _allowance(s, plan)
    s("result['patient'] = total")
    _account(s, plan)
    _account_commit(s, plan)
    s("return (result, steps)" if s.tracing else "return result")


def _deductible(s: _Source, plan) -> None:
    s("# the deductible")
    d, b = plan.deductible, plan.benefit
    rule = d.rule
    simple = d.source is None and d.none_from is None and not (rule.steps or rule.halvings or rule.repeat)
    B = s.const("BENEFIT", b)
    ref, note = "None, None" if rule.ref is None else s.at(rule.ref), "None"
    if rule.amount == 0:
        s("due, target = ZERO, None")
        note = repr("no deductible")
    elif simple and not d.yearly:
        s(f"due, target = {s.const('DEDUCTIBLE', rule.amount)}, None")
    elif simple:
        s(f"already = year.deductibles.get({B}, ZERO)")
        s(f"target = max({s.const('DEDUCTIBLE', rule.amount)}, year.deductible_levels.get({B}, ZERO))")
        s("due = max(target - already, ZERO)")
        note = "f'yearly deductible {q(target)}, {q(already)} already paid'"
    elif s.tracing:
        s(f"due, ref, note, target = deductible_due({s.const('PLAN', plan)}, year, True)")
        ref, note = "*((None, None) if ref is None else (ref.line, ref.cite))", "note"
    else:
        s(f"due, _, _, target = deductible_due({s.const('PLAN', plan)}, year, False)")
    if s.tracing and note != "note":
        s(f"note = {note}")
    if plan.fixed_settles:
        s("if due:")
        s("    due = ZERO  # a fixed amount (定额) settles the claim")
        if s.tracing:
            s(f"    note = {'a fixed amount (定额) settles the claim: no deductible'!r}")
    elif plan.cap_reached_caps:
        tests = [f"{s.read('pools', _key(s, plan.payer, cap, 'None'))} >= {_limit(s, cap)}"
                 for cap in plan.cap_reached_caps]
        s(f"if due and ({' or '.join(tests)}):")
        s("    due = ZERO  # the basic fund's yearly cap is reached")
        if s.tracing:
            s(f"    note = {'the basic fund' + chr(39) + 's yearly cap is reached: no deductible'!r}")
    s("charged = min(due, eligible)")
    s("result['deductible'] = charged")
    if s.tracing:
        s(f"steps.append(('deductible', charged, {ref}, note or None))")


def _key(s: _Source, fund: str, cap, day: str) -> str:
    if cap.daily and day == "facts.ordinal":
        return f"({s.const(_name(s, 'POOL', (fund, cap.key)), (fund, cap.key))} + (facts.ordinal,))"
    return s.const(_name(s, "POOL", (fund, cap.key, None)), (fund, cap.key, None))


def _name(s: _Source, prefix: str, value) -> str:
    """A constant's name: PREFIX_n, the same for the same value."""
    for name, v in s.consts.items():
        if name.startswith(prefix + "_") and v == value and type(v) is type(value):
            return name
    n = sum(1 for name in s.consts if name.startswith(prefix + "_"))
    return f"{prefix}_{n}"


def _limit(s: _Source, cap) -> str:
    if cap.per_extra:
        return f"{s.const(_name(s, 'CAP', cap), cap)}.limit(facts.measures)"
    return s.const(_name(s, "LIMIT", cap.amount), cap.amount)


def _paying_fund(s: _Source, plan) -> None:
    rate = plan.rate
    s(f"# the paying fund ({plan.payer!r})")
    if rate is not None and rate.banded:
        terms = " + ".join(f"year.eligible.get({b!r}, ZERO)" for b in rate.scope)
        s(f"e0 = 0 + {terms}")
    else:
        s(f"e0 = year.eligible.get({s.const('BENEFIT', plan.benefit)}, ZERO)")
    s("lo, hi = e0 + charged, e0 + eligible")
    if rate is not None:
        if rate.banded:
            s(f"pay = banded(lo, hi, {s.const('BANDS', rate.bands)})")
            s.step("rate", "None", rate.ref, "f\"banded over the year's eligible cost {q(lo)} -> {q(hi)}\"")
        else:
            s(f"pay = (hi - lo) * {s.const('RATE', rate.share)} if hi > lo else ZERO")
            s.step("rate", "None", rate.ref, s.note(rate.note))
    else:
        s("pay = eligible - charged")
    if any(x.excludes_above_cap for x in _layers_of(plan)) and plan.own_caps:
        # the cost above the deductible by the share the fund pays of it, for the layers
        # that leave the cost above the benefit's own cap out of their burden
        if rate is None:
            s("pieces = [(pay, ONE)]")
        else:
            s(f"pieces = banded_pieces(lo, hi, {s.const('BANDS', rate.bands)})")
    if plan.limit is not None:
        L = s.const("PAY_LIMIT", plan.limit[0])
        s(f"if pay > {L}:")
        s(f"    pay = {L}  # 限额")
        s.depth += 1
        s.step("limit", L, plan.limit[1], repr("限额: the actual cost up to the limit"))
        s.depth -= 1
    if plan.fixed is not None:
        s(f"pay = min({s.const('FIXED', plan.fixed[0])}, eligible)  # 定额")
        s.step("fixed", "FIXED", plan.fixed[1], repr("定额: the fixed amount"))
    s("uncapped = pay")
    if any(x.base == "above-cap" for x in _layers_of(plan)):
        s("rooms, fund_rooms = [], []  # the rooms left under the caps that bound the payment")
        _caps(s, plan.payer, plan.caps, "pay", "rooms", "fund_rooms")
    else:
        _caps(s, plan.payer, plan.caps, "pay", None, None)
    s("payer_pay = pay")
    s(f"payer_keys = {_pool_keys(s, plan.pools, 'PAYER_KEYS', True)}")
    _paid(s, "payer_paid", "pay", plan.pools, "payer_keys")
    s("paid_so_far = payer_paid")
    s.step(plan.payer, "payer_paid", rate.ref if rate is not None else (plan.limit or plan.fixed)[1])


def _caps(s: _Source, fund: str, caps, pay: str, rooms: Optional[str], fund_rooms: Optional[str]) -> None:
    for cap in caps:
        if cap.daily:
            used = f"year.pools.get({_key(s, fund, cap, 'facts.ordinal')}, ZERO)"
        else:
            used = s.read("pools", _key(s, fund, cap, "None"))
        limit = _limit(s, cap)
        if s.tracing and cap.per_extra:
            s(f"limit = {limit}")
            limit = "limit"
        s(f"room = max({limit} - {used}, ZERO)  # {'daily' if cap.daily else 'yearly'} cap")
        s(f"if {pay} > room:")
        s(f"    {pay} = room")
        s.depth += 1
        s.step(f"{fund} cap", limit, cap.ref, f"f'{'daily' if cap.daily else 'yearly'} cap {{q({limit})}} leaves {{q(room)}}'")
        s.depth -= 1
        if rooms is not None:
            s(f"    {rooms}.append(room)")
            if cap.fund_wide:
                s(f"    {fund_rooms}.append(room)")


def _pool_keys(s: _Source, pools, name: str, banded: bool) -> str:
    if not pools.daily:
        keys = pools.yearly if not banded or pools.band is None else pools.yearly + (pools.band,)
        return s.const(name, keys)
    return f"{s.const(name + '_POOLS', pools)}.keys(facts.ordinal)"


def _paid(s: _Source, target: str, pay: str, pools, keys: str) -> None:
    """settle.paid: rounded once, as the increase of each cumulative's rounded exact total
    (q inline for a Decimal: the usual case)."""
    static = _static_keys(pools)
    if static is not None:
        if not static:
            s(f"{target} = to_fen({pay}, CENT) if {pay}.__class__ is Decimal else q({pay})")
            return
        each = []  # several cumulatives: the least increase, in the keys' order (as min() takes it)
        for i, k in enumerate(static):
            key = s.const(_name(s, "POOL", k), k)
            s(f"exact = {s.read('pools', key)} + {pay}")
            each.append(target if len(static) == 1 else f"{target}_{i}")
            s(f"{each[-1]} = (to_fen(exact, CENT) if exact.__class__ is Decimal else q(exact)) - "
              f"{s.read('rounded', key)}")
        if len(static) > 1:
            s(f"{target} = min({', '.join(each)})")
        return
    s(f"{target} = min(q(year.pools.get(k, ZERO) + {pay}) - year.rounded.get(k, ZERO) for k in {keys}) "
      f"if {keys} else q({pay})")


def _static_keys(pools) -> Optional[tuple]:
    """The keys of a fund's cumulatives when they are the same for every claim (no daily pool)."""
    if pools.daily:
        return None
    return pools.yearly + ((pools.band,) if pools.band is not None else ())


def _layers(s: _Source, plan, layers) -> None:
    payer = plan.payer
    values = {payer: "payer_paid"}
    for i, layer in enumerate(layers):
        values.setdefault(layer.fund, "ZERO")
    s("layer_updates = []")
    if not layers:
        s(f"funds = {_funds_dict(plan, values)}")
        s.paid = list({f: values.get(f, "ZERO") for f in _funds(plan)}.values())  # (a fund named twice: once)
        return
    s(f"# further layers: {', '.join(f'{x.fund!r} ({x.base!r})' for x in layers)}")
    funds = {f: f"paid_{i}" for i, f in enumerate(plan.funds)}
    for f in plan.funds:
        s(f"{funds[f]} = {values.get(f, 'ZERO')}")
    if any(x.base == "above-cap" for x in layers):
        _above(s, plan)
    if any(x.base == "burden" for x in layers):
        s(f"burden_claim = eligible - {funds[payer]}")
    for i, layer in enumerate(layers):
        s(f"# the {layer.fund!r} layer, on {layer.base!r}")
        if layer.base == "burden":
            _on_burden(s, plan, layer)
        elif layer.base == "above-cap":
            if layer.rate is None:
                s("pay = ZERO")
            else:
                above = "above_any_cap" if layer.above_any_cap else "above_fund_cap"
                s(f"if {above} > 0:")
                s.depth += 1
                s(f"pay = {above} * {s.const(_name(s, 'RATE', layer.rate.share), layer.rate.share)}")
                s.step(f"{layer.fund} base", above, layer.rate.ref, repr("eligible cost above the basic fund's cap"))
                _layer_paid(s, layer, "None")
                s.depth -= 1
                s("else:")
                s("    pay = ZERO")
        else:
            if layer.rate is None or layer.not_covered:
                s("pay = ZERO")
            else:
                extra = (" - charged" if layer.above_deductible else " - ZERO") + \
                    (" + first_share" if layer.includes_first_share else " + ZERO")
                s(f"remaining = max(eligible - paid_so_far{extra}, ZERO)")
                s(f"pay = remaining * {s.const(_name(s, 'RATE', layer.rate.share), layer.rate.share)}")
                s.step(f"{layer.fund} base", "remaining", layer.rate.ref, repr("what the earlier funds left"))
                _layer_paid(s, layer, "None")
        s(f"{funds[layer.fund]} += pay")
        if any(x.base not in ("burden", "above-cap") for x in layers[i + 1:]):  # a later layer on what remains
            s("paid_so_far += pay")
    s(f"funds = {{{', '.join(f'{f!r}: {funds[f]}' for f in plan.funds)}}}")
    s.paid = list({f: funds[f] for f in plan.funds}.values())  # (a fund named twice: once)


def _above(s: _Source, plan) -> None:
    """The eligible cost above the point where a cap stopped the basic fund (engine._above)."""
    rate = plan.rate
    s("above_fund_cap = above_any_cap = ZERO")
    if rate is None or plan.payer != "basic":
        return
    bands = s.const("BANDS", rate.bands)
    for rooms, name in (("fund_rooms", "above_fund_cap"), ("rooms", "above_any_cap")):
        s(f"if {rooms}:")
        s(f"    room = min({rooms})")
        s("    if room <= 0:")
        s(f"        {name} = eligible")
        s("    elif uncapped > room:")
        s(f"        {name} = hi - position_paying(lo, hi, {bands}, room)")


def _layers_of(plan) -> tuple:
    return plan.layers() if plan.payer == "basic" and not plan.fixed_settles else ()


def _on_burden(s: _Source, plan, layer) -> None:
    extra = "prepay" if layer.counts_prepay else "first_share" if layer.includes_first_share else "ZERO"
    s(f"counted = burden_claim + {extra}")
    rated = "[]"
    if layer.excludes_above_cap and plan.own_caps:
        limits = [_limit(s, cap) for cap in plan.own_caps]
        s(f"own_cap = {limits[0] if len(limits) == 1 else 'min(' + ', '.join(limits) + ')'}")
        s(f"above, rated = cost_above_cap(year, {layer.fund!r}, pieces, own_cap)  # no burden above the cap")
        s("if above > 0:")
        s("    counted -= above")
        s.depth += 1
        before = s.note(f"cost above the {plan.benefit} cap ")
        after = s.note(f": no {layer.fund} burden")
        s.step("above cap", "above", None, f"f'{{{before}}}{{q(own_cap)}}{{{after}}}'")
        s.depth -= 1
        rated = "rated"
    key = s.const(_name(s, "BURDEN", (layer.fund, plan.benefit)), (layer.fund, plan.benefit))
    s(f"burden = ({key}, year.burden.get({key}, ZERO) + counted, {rated})")
    if layer.rate is None or layer.not_covered:
        s("layer_updates.append((burden, (), ZERO, ZERO))")
        s("pay = ZERO")
        return
    if len(layer.thresholds) > 1:
        s(f"lo_b, hi_b, note = _burden_positions(facts, year, {s.const('PLAN', plan)}, "
          f"{s.const(_name(s, 'LAYER', layer), layer)}, counted, {s.tracing})  # several thresholds")
        note = "note"
    else:
        _one_threshold(s, plan, layer)
        note = f"f'burden this year {{q(b0)}} -> {{q(b0 + counted)}}, threshold {{q({_threshold(s, layer)})}}'"
    s(f"pay = banded(lo_b, hi_b, {s.const(_name(s, 'BANDS', layer.rate.bands), layer.rate.bands)}) "
      f"if hi_b > lo_b else ZERO")
    s.step(f"{layer.fund} base", "counted", layer.thresholds[0].ref, note)
    _layer_paid(s, layer, "burden")


def _burden_positions(facts, year, plan, layer, counted, tracing: bool) -> tuple:
    """engine._burden_positions (several thresholds), the note only for the trace."""
    from .engine import _burden_positions as positions

    lo, hi, _, note = positions(_shell(facts, year, plan, None, None), layer, counted)
    return lo, hi, note() if tracing else None


def _threshold(s: _Source, layer) -> str:
    th = layer.thresholds[0]
    return s.const(_name(s, "THRESHOLD", th.amount), th.amount)


def _one_threshold(s: _Source, plan, layer) -> None:
    """One threshold N: the scale is the year's burden itself, and payment starts at N."""
    th = layer.thresholds[0]
    benefits = th.benefits
    s("b0 = ZERO")
    s("for (f, b), v in year.burden.items():")
    if benefits is None:
        s(f"    if f == {layer.fund!r}:")
    else:
        s(f"    if f == {layer.fund!r} and b in {s.const(_name(s, 'BENEFITS', benefits), benefits)}:")
    s("        b0 += v")
    counts = benefits is None or plan.benefit in benefits
    first = _threshold(s, layer)
    s(f"lo_b, hi_b = max(b0, {first}), max({'b0 + counted' if counts else 'b0'}, {first})")


def _layer_paid(s: _Source, layer, burden: str) -> None:
    _caps(s, layer.fund, layer.caps, "pay", None, None)
    name = _name(s, "KEYS", None)
    s(f"keys = {_pool_keys(s, layer.pools, name, True)}")
    _paid(s, "p", "pay", layer.pools, "keys")
    s(f"layer_updates.append(({burden}, keys, pay, p))")
    s.step(layer.fund, "p", layer.rate.ref)
    s("pay = p")


def _allowance(s: _Source, plan) -> None:
    a = plan.allowance
    if a is None:
        return
    s("# the maternity allowance (生育津贴)")
    if a.per_extra:
        s(f"days = {s.const('DAYS', a.days)}")
        for delta, measure in a.per_extra:
            more = s.const(_name(s, "DAYS_MORE", delta), delta)
            s(f"days += {more} * max((facts.measures.get({measure!r}) or 1) - 1, 0)")
        s("if days <= 0:")
        s("    result['allowance'] = ZERO")
        s.depth += 1
        s.step("allowance", "ZERO", a.ref, repr("no allowance"))
        s.depth -= 1
        s("elif facts.wage is not None:")
        days = "days"
    elif a.days <= 0:
        s("result['allowance'] = ZERO")
        s.step("allowance", "ZERO", a.ref, repr("no allowance"))
        return
    else:
        s("if facts.wage is not None:")
        days = s.const('DAYS', a.days)
    s(f"    result['allowance'] = q(div(facts.wage * {days}, 30))")
    if s.tracing:
        s.depth += 1
        s.step("allowance", "result['allowance']", a.ref, f"f'{{{days}}} days × {{q(facts.wage)}} / 30'")
        s.depth -= 1
        s("else:")
        s.depth += 1
        s.step("allowance", "None", a.ref, f"f'{{{days}}} days, not computed: the claim gives no wage'")
        s.depth -= 1


def _patient(s: _Source, plan) -> None:
    s("result['paid'] = funds")
    # sum(funds.values()) without the call: 0 + each fund's payment, in the same order
    s(f"result['patient'] = total - ({' + '.join(['ZERO'] + [v for v in s.paid if v != 'ZERO'])})")
    _allowance(s, plan)
    s.step("patient", "result['patient']", None)


def _account(s: _Source, plan) -> None:
    s("# the personal account (个人账户): accounts.py, as the stages call it")
    shell = f"w = _shell(facts, year, {s.const('PLAN', plan)}, result, excluded{', steps' if s.tracing else ''})"
    if plan.account is None:
        s("if facts.account is None and not year.accounts:  # no account anywhere: all cash")
        s("    w = None")
        s("    result['account'] = ZERO")
        s("    result['cash'] = result['patient']")
        s("else:")
        s("    " + shell)
        s("    accounts.pay(w)")
    else:
        s(shell)
        s("accounts.pay(w)")


def _account_commit(s: _Source, plan) -> None:
    if plan.account is None:
        s("if w is not None:")
        s("    accounts.commit(w, year)")
    else:
        s("accounts.commit(w, year)")


def _commit(s: _Source, plan, layers) -> None:
    s("# the year's changes, once the claim has settled")
    _account_commit(s, plan)
    B = s.const("BENEFIT", plan.benefit)
    if plan.counts_stay:
        s(f"k = {s.const('STAY', (plan.benefit, plan.level))}")
        s("year.stays[k] = year.stays.get(k, 0) + 1")
        s(f"year.benefit_stays[{B}] = year.benefit_stays.get({B}, 0) + 1")
    s(f"year.deductibles[{B}] = year.deductibles.get({B}, ZERO) + charged")
    s("if target is not None:")
    s(f"    year.deductible_levels[{B}] = target")
    s(f"year.eligible[{B}] = year.eligible.get({B}, ZERO) + eligible")
    s("pools, rounded = year.pools, year.rounded")
    static = _static_keys(plan.pools)
    if static is None:
        s("for k in payer_keys:")
        s("    pools[k] = pools.get(k, ZERO) + payer_pay")
        s(f"    rounded[k] = rounded.get(k, ZERO) + funds[{plan.payer!r}]")
    else:  # the payer's cumulatives come first: what was read of them is what the year holds
        for key in static:
            name = s.const(_name(s, "POOL", key), key)
            s(f"pools[{name}] = {s.cached.get(('pools', name), f'pools.get({name}, ZERO)')} + payer_pay")
            s(f"rounded[{name}] = {s.cached.get(('rounded', name), f'rounded.get({name}, ZERO)')} "
              f"+ funds[{plan.payer!r}]")
    if layers:
        s("for burden, keys, pay, p in layer_updates:")
        s("    if burden is not None:")
        s("        key, total, rated = burden")
        s("        year.burden[key] = total")
        s("        for share, cost in rated:")
        s("            k = (key[0], share)")
        s("            year.rated_costs[k] = year.rated_costs.get(k, ZERO) + cost")
        s("    for k in keys:")
        s("        pools[k] = pools.get(k, ZERO) + pay")
        s("        rounded[k] = rounded.get(k, ZERO) + p")
    s("return (result, steps)" if s.tracing else "return result")


def _shell(facts, year, plan, result, excluded, steps: Optional[list] = None):
    """The working record accounts.py reads, filled as the stages would have left it (`steps`:
    the trace it adds its steps to)."""
    from .engine import Work

    w = Work(facts, year, steps)
    w.plan, w.result, w.excluded = plan, result, excluded
    return w
