"""The claim reader's fast path: the field table (`claim_fields.py`) compiled, once per
vocabulary, into one plain Python function.

The detailed reader (`claims.ClaimReader._object`) walks the table for every claim, one
method call per field, and knows how to word every error. The compiled function does the
same checks as straight-line code with the table's names, ranges and allowed values as
constants, for the common case only: a value it is not sure of (a number written as a JSON
number, a name it does not know, a non-ASCII amount…) makes it give up (`Bail`, or any
exception), and the detailed reader then reads the claim from scratch and raises the error
it always raised. So the fast path never words an error and never accepts what the detailed
one refuses; where it accepts, it returns exactly the values the detailed reader would.

It is generated from the table: a field added to `claim_fields.py` goes through it with no
change here (a field of a type this module has no fast check for is checked by the detailed
reader's own `_value`, inside the compiled function).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Optional

from .claim_fields import CLAIM_FIELDS, Field
from .errors import ClaimError

# Dates seen, per reader: a year of claims has a few hundred distinct dates.
_DATE_MEMO = 4096


class Bail(Exception):
    """The compiled reader is not sure of a value: the detailed reader reads the claim."""


def compile_reader(reader, make_item: Callable[[dict], Any], check_date: Callable,
                   fields: tuple[Field, ...] = CLAIM_FIELDS) -> Callable[[Any], dict]:
    """The fast reader of `reader` (a ClaimReader): claim -> the values dict `reader._object`
    returns, or an exception when it is not sure (then use the detailed reader)."""
    gen = _Generator(reader, make_item, check_date)
    lines = ["def read(claim):", "    if claim.__class__ is not dict: raise Bail"]
    lines += gen.object(fields, "claim", "", 1)
    lines.append(f"    return {gen.last}")
    source = "\n".join(gen.functions + lines) + "\n"
    namespace = dict(gen.constants)
    exec(compile(source, "<compiled claim reader>", "exec"), namespace)  # noqa: S102 - our own table
    read = namespace["read"]
    read.source = source  # for a curious reader
    return read


class _Generator:
    def __init__(self, reader, make_item, check_date):
        self.reader = reader
        self.constants: dict[str, Any] = {"Bail": Bail, "Decimal": Decimal, "make_item": make_item,
                                          "check_date": check_date, "slow": reader._value, "DATES": {},
                                          "DATE_MEMO": _DATE_MEMO}
        self.functions: list[str] = []
        self.n = 0
        self.last = ""

    def const(self, value: Any) -> str:
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def var(self) -> str:
        self.n += 1
        return f"x{self.n}"

    def object(self, fields: tuple[Field, ...], obj: str, prefix: str, depth: int) -> list[str]:
        """Lines checking the dict in variable `obj`; `self.last` names the values dict built.

        A claim names few of the optional fields: the values start as a copy of the table's
        values for absent fields, the fields every claim has are checked in line, and only
        the optional fields the claim names are looked at, each by a function of its own."""
        pad = "    " * depth
        absent: dict[str, Any] = {}
        for f in fields:
            if not f.required:
                try:  # what the detailed reader makes of the field's absence, when not an error
                    absent[f.name] = self.reader._value(f, None, prefix + f.name)
                except ClaimError:
                    pass
        always = [f for f in fields if f.name not in absent]
        names = self.const(frozenset(f.name for f in fields))
        out = [f"{pad}if not {names}.issuperset({obj}): raise Bail", f"{pad}g = {obj}.get"]
        values = []
        for f in always:
            x = self.var()
            out += self.field(f, x, prefix + f.name, depth)
            values.append((f.name, x))
            if f.type == "object":
                out.append(f"{pad}g = {obj}.get")  # the nested object rebound it
        v = self.var()
        template = self.const({f.name: absent.get(f.name) for f in fields})
        out.append(f"{pad}{v} = {template}.copy()")
        out += [f"{pad}{v}[{name!r}] = {x}" for name, x in values]
        if absent:
            readers = self.optional_functions([f for f in fields if f.name in absent], absent, prefix)
            out += [f"{pad}if {obj}.__len__() != {len(always)}:",
                    f"{pad}    for k in {obj}.keys() - {self.const(frozenset(f.name for f in always))}:",
                    f"{pad}        {v}[k] = {readers}[k]({obj}[k])"]
        self.last = v
        return out

    def optional_functions(self, fields: list[Field], absent: dict, prefix: str) -> str:
        """One function per optional field (value -> checked value); returns the name of the
        dict of them, by field name."""
        table = f"OPTIONAL{len(self.functions)}"
        entries = []
        for f in fields:
            name = self.var().replace("x", "read_", 1)
            x = self.var()
            none = f"{x} is None" + (f" or {x}.__class__ is str and {x} == ''" if f.default is not None else "")
            body = [f"def {name}({x}):", f"    if {none}: return {self.const(absent[f.name])}"]
            body += self.check(f, x, prefix + f.name, 1)
            body += [f"    return {x}", ""]
            self.functions += body
            entries.append(f"{f.name!r}: {name}")
        self.functions += [f"{table} = {{{', '.join(entries)}}}", ""]
        return table

    def field(self, f: Field, x: str, path: str, depth: int) -> list[str]:
        pad = "    " * depth
        out = [f"{pad}{x} = g({f.name!r})"]
        absent = f"{x} is None" + (f" or {x}.__class__ is str and {x} == ''" if f.default is not None else "")
        try:  # what the detailed reader makes of the field's absence: a constant, or an error
            when_absent = f"{pad}    {x} = {self.const(self.reader._value(f, None, path))}"
        except ClaimError:
            when_absent = f"{pad}    raise Bail"
        out += [f"{pad}if {absent}:", when_absent, f"{pad}else:"]
        out += self.check(f, x, path, depth + 1)
        return out

    def check(self, f: Field, x: str, path: str, depth: int) -> list[str]:
        """Lines that leave the checked value of a present field in `x`, or raise."""
        pad = "    " * depth
        t = f.type
        slow = f"{pad}{x} = slow({self.const(f)}, {x}, {path!r})"
        if t == "name":
            allowed = self.const(self.reader.allowed[f.kind])
            return [f"{pad}if {x}.__class__ is not str or {x} not in {allowed}: raise Bail"]
        if t == "names":
            allowed = self.const(self.reader.allowed[f.kind])
            return [f"{pad}{x} = frozenset(({x},) if {x}.__class__ is str else {x}) "
                    f"if {x}.__class__ is str or {x}.__class__ is list else None",
                    f"{pad}if {x} is None or not {x} <= {allowed}: raise Bail"]
        if t == "choice":
            return [f"{pad}if {x}.__class__ is not str or {x} not in {self.const(frozenset(f.values))}: raise Bail"]
        if t == "whole":
            return [f"{pad}if {x}.__class__ is not int or not {f.low} <= {x} <= {f.high}: raise Bail"]
        if t == "bool":
            return [f"{pad}if {x} is not True and {x} is not False: raise Bail"]
        if t == "text":
            return [f"{pad}if {x}.__class__ is not str or not {x}.isascii() or not {x}: {slow.strip()}"]
        if t == "person":  # ASCII: NFC changes nothing, so stripping is all the detailed reader does
            return [f"{pad}if {x}.__class__ is str and {x}.isascii() and {x}.strip():",
                    f"{pad}    {x} = {x}.strip()",
                    f"{pad}else:", "    " + slow]
        if t == "date":
            return [f"{pad}d = DATES.get({x}) if {x}.__class__ is str else None",
                    f"{pad}if d is None:",
                    f"{pad}    d = check_date({x}, {path!r})",
                    f"{pad}    if len(DATES) < DATE_MEMO: DATES[{x}] = d",
                    f"{pad}{x} = d"]
        if t == "amount" and f.fen:
            # Digits, at most one point, at most two decimals and 16 whole digits: a fen amount
            # within range that Decimal reads exactly (the detailed reader's own checks agree).
            return [f"{pad}i = {x}.find('.') if {x}.__class__ is str else -2",
                    f"{pad}if (0 < {x}.__len__() <= 16 if i == -1 else 0 < i <= 16 and {x}.__len__() - i <= 3) "
                    f"and {x}.isascii() and {x}.replace('.', '', 1).isdigit():",
                    f"{pad}    {x} = Decimal({x})",
                    f"{pad}else:", "    " + slow]
        if t == "object":
            lines = [f"{pad}if {x}.__class__ is not dict: raise Bail"]
            lines += self.object(f.fields, x, path + ".", depth)
            lines.append(f"{pad}{x} = {self.last}")
            return lines
        if t == "list":
            item = self.item_function(f, path)
            return [f"{pad}if {x}.__class__ is not list: raise Bail",
                    f"{pad}{x} = tuple([{item}(e) for e in {x}])"]
        return [slow]  # any other type (amount with a finer grain, a type added later): the detailed check

    def item_function(self, f: Field, path: str) -> str:
        """A function reading one element of a list of objects (`items[]`) into what the
        detailed reader makes of it (`make_item`)."""
        name = f"read_{f.name}"
        saved_last = self.last
        body = [f"def {name}(e):", "    if e.__class__ is not dict: raise Bail"]
        body += self.object(f.fields, "e", path + "[].", 1)
        body.append(f"    return make_item({self.last})")
        self.functions += body + [""]
        self.last = saved_last
        return name


def compile_fed(flags: tuple, measures: tuple) -> Callable[[dict], tuple[list, dict]]:
    """values -> (the flags, the measures) the claim's bool and whole-number fields feed:
    `flags` are (keys, flag, the value that sets it), `measures` (keys, measure), each keys
    the path to the field in the values dict. Straight-line lookups, no loop over the table."""
    def at(keys):
        return "v" + "".join(f"[{k!r}]" for k in keys)
    lines = ["def fed(v):", "    flags = []", "    measures = {}"]
    lines += [f"    if {at(keys)} is {when!r}: flags.append({flag!r})" for keys, flag, when in flags]
    for keys, measure in measures:
        lines += [f"    x = {at(keys)}", f"    if x is not None: measures[{measure!r}] = x"]
    lines.append("    return flags, measures")
    namespace: dict = {}
    exec(compile("\n".join(lines) + "\n", "<compiled claim facts>", "exec"), namespace)  # noqa: S102
    return namespace["fed"]


def fast_or_none(read: Optional[Callable], claim: Any) -> Optional[dict]:
    """The compiled reader's values for `claim`, or None when it gave up."""
    if read is None:
        return None
    try:
        return read(claim)
    except Exception:  # noqa: BLE001 - any doubt: the detailed reader decides and words the error
        return None
