"""The claim reader's fast path: the field table (`claim_fields.py`) compiled, once per
vocabulary, into small specialised functions: each object's reader is Python source generated
from the table (its checks inline) and compiled once; the checks it calls are closures.

The detailed reader (`claims.ClaimReader._object`) walks the table for every claim, one
method call per field, and knows how to word every error. The compiled readers do the
same checks with the table's names, ranges and allowed values bound in, for the common
case only: a value it is not sure of (a number written as a JSON
number, a name it does not know, a non-ASCII amount…) makes it give up (`Bail`, or any
exception), and the detailed reader then reads the claim from scratch and raises the error
it always raised. So the fast path never words an error and never accepts what the detailed
one refuses; where it accepts, it returns exactly the values the detailed reader would.

It is generated from the table: a field added to `claim_fields.py` goes through it with no
change here (a field of a type this module has no fast check for is checked by the detailed
reader's own `_value`, inside the compiled reader).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Callable, Optional

from .claim_fields import CLAIM_FIELDS, Field
from .errors import ClaimError

# Dates seen, per reader: a year of claims has a few hundred distinct dates.
_DATE_MEMO = 4096
# A fen amount Decimal reads exactly: at most 16 whole digits, one point, two decimals (ASCII
# digits only; one C call where the inline test took five).
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,16}(?:\.[0-9]{0,2})?").fullmatch


class Bail(Exception):
    """The compiled reader is not sure of a value: the detailed reader reads the claim."""


def compile_reader(reader, make_item: Callable[[dict], Any], check_date: Callable,
                   fields: tuple[Field, ...] = CLAIM_FIELDS) -> Callable[[Any], dict]:
    """The fast reader of `reader` (a ClaimReader): claim -> the values dict `reader._object`
    returns, or an exception when it is not sure (then use the detailed reader)."""
    compiler = _Compiler(reader, make_item, check_date)
    read = compiler.object(fields, "")
    read.sources = tuple(compiler.sources)  # every object reader's generated source, the claim's last
    return read


class _Compiler:
    def __init__(self, reader, make_item, check_date):
        self.reader, self.make_item, self.check_date = reader, make_item, check_date
        self.dates: dict = {}  # date text -> date, shared by every date field of the reader
        self.sources: list[str] = []

    def object(self, fields: tuple[Field, ...], prefix: str) -> Callable[[Any], dict]:
        """A reader of one object of the table. A claim names few of the optional fields: its
        values start as a copy of the table's values for absent fields, the fields every
        object must have are checked one by one, and only the optional ones it names after.

        The reader is Python source generated from the table and compiled once (`source`
        shows it): the checks of names, choices and fen amounts written inline, any other
        type a call to its check; the same checks as one closure per field, without the calls."""
        absent: dict[str, Any] = {}
        for f in fields:
            if not f.required:
                try:  # what the detailed reader makes of the field's absence, when not an error
                    absent[f.name] = self.reader._value(f, None, prefix + f.name)
                except ClaimError:
                    pass
        always = [f for f in fields if f.name not in absent]
        env: dict[str, Any] = {
            "Bail": Bail, "Decimal": Decimal, "names": frozenset(f.name for f in fields),
            "always_names": frozenset(f.name for f in always), "count": len(always),
            "template": {f.name: absent.get(f.name) for f in fields},
            "optional": {f.name: self.optional(f, prefix + f.name, absent[f.name]) for f in fields if f.name in absent}}
        lines = ["def read(obj):",
                 "    if obj.__class__ is not dict or not names.issuperset(obj):",
                 "        raise Bail",
                 "    v = template.copy()",
                 "    get = obj.get"]
        for i, f in enumerate(always):
            lines += [f"    x = get({f.name!r})", "    if x is None:", "        raise Bail"]
            lines += self.inline(f, prefix + f.name, f"_{i}", env)
            lines.append(f"    v[{f.name!r}] = x")
        lines += ["    if len(obj) != count:",
                  "        for k in obj.keys() - always_names:",
                  "            v[k] = optional[k](obj[k])",
                  "    return v"]
        text = "\n".join(lines) + "\n"
        exec(compile(text, f"<claim reader: {prefix or 'claim'}>", "exec"), env)  # noqa: S102 - our own source
        read = env["read"]
        read.source = text
        read.absent = absent  # what each optional field's absence reads as
        self.sources.append(text)
        return read

    def inline(self, f: Field, path: str, tag: str, env: dict) -> list[str]:
        """Source lines that check `x` (not None) as `check` does, leaving the value in `x`."""
        if f.type in ("name", "choice"):
            env["allowed" + tag] = self.reader.allowed[f.kind] if f.type == "name" else frozenset(f.values)
            return [f"    if x.__class__ is not str or x not in allowed{tag}:", "        raise Bail"]
        if f.type == "amount" and f.fen:  # _fen_amount's test, inline; anything else: its detailed check
            env["slow" + tag] = _fen_amount(f, path, self.reader._value)
            env["plain_amount"] = _PLAIN_AMOUNT
            return ["    if x.__class__ is str and plain_amount(x):",
                    "        x = Decimal(x)",
                    "    else:",
                    f"        x = slow{tag}(x)"]
        env["check" + tag] = self.check(f, path)
        # The common text, person and date, tested inline; anything else: the check's own call.
        if f.type == "text":
            return ["    if x.__class__ is not str or not x or not x.isascii():", f"        x = check{tag}(x)"]
        if f.type == "person":
            return ["    if x.__class__ is str and x.isascii() and (y := x.strip()):", "        x = y", "    else:",
                    f"        x = check{tag}(x)"]
        if f.type == "date":
            env["dates"] = self.dates  # the memo the check fills
            return ["    y = dates.get(x) if x.__class__ is str else None", f"    x = check{tag}(x) if y is None else y"]
        return [f"    x = check{tag}(x)"]

    def field(self, f: Field, path: str, tag: str, get: str, env: dict, left: str = "", obj: str = "") -> list[str]:
        """Source lines (4 columns in) reading field `f` with `get` into the local `a{tag}`: a
        required field must be there, an absent optional one takes `absent{tag}`. `left`: the
        local counting the object's keys not yet read; at 0 an optional field is not looked up.
        `obj`: the object's local, a required field subscripted from it (a missing one's
        KeyError is a doubt like Bail: the caller's `except Exception` gives up)."""
        lines = [f"    x = {get}({f.name!r})"]
        if f.required or env.get("absent" + tag) is REFUSED:
            if obj:
                lines = [f"    x = {obj}[{f.name!r}]"]
            return lines + ["    if x is None:", "        raise Bail", *self.inline(f, path, tag, env), f"    a{tag} = x"]
        read = [*([f"    {left} -= 1"] if left else []), *self.inline(f, path, tag, env), f"    a{tag} = x"]
        if f.default is not None:  # "" is the default, like null
            read = [*read[:1 if left else 0], "    if x.__class__ is str and x == '':", f"        a{tag} = absent{tag}",
                    "    else:", *_indent(read[1 if left else 0:], 4)]
        lines += ["    if x is None:", f"        a{tag} = absent{tag}", "    else:", *_indent(read, 4)]
        if not left:
            return lines
        return [f"    if {left}:", *_indent(lines, 4), "    else:", f"        a{tag} = absent{tag}"]

    def elements(self, f: Field, tag: str, make_item: Callable, env: dict) -> list[str]:
        """Source lines reading a list of objects into the local `a{tag}`, a tuple of
        `make_item(*the element's fields in table order)`: an element naming only the fields it
        must have is read inline, any other through its values reader. The list is the claim's
        (`obj`, compile_direct's), a required one subscripted from it."""
        required = [g for g in f.fields if g.required]
        element = self.object(f.fields, f.name + "[].")
        env["make" + tag], env["element" + tag] = make_item, element
        env["of_values" + tag] = lambda v: make_item(*[v[g.name] for g in f.fields])
        inline = all(g.required or g.name in element.absent for g in f.fields)  # else every element by its values
        lines = [f"    x = obj[{f.name!r}]" if f.required else f"    x = get({f.name!r})", "    if x is None:",
                 "        raise Bail" if f.required or env.get("absent" + tag) is REFUSED else f"        x = absent{tag}",
                 "    elif x.__class__ is not list:", "        raise Bail", "    else:", "        out = []",
                 "        put = out.append", "        for e in x:",
                 f"            if {inline} and e.__class__ is dict and len(e) == {len(required)}:"]
        args = []
        for j, g in enumerate(f.fields):
            if g.required:
                lines += _indent(self.field(g, f"{f.name}[].{g.name}", f"{tag}_{j}", "eget", env, obj="e"), 12)
                args.append(f"a{tag}_{j}")
            else:
                env[f"absent{tag}_{j}"] = element.absent.get(g.name)
                args.append(f"absent{tag}_{j}")
        lines += [f"                put(make{tag}({', '.join(args)}))", "            else:",
                  f"                put(of_values{tag}(element{tag}(e)))", "        x = tuple(out)", f"    a{tag} = x"]
        return lines

    def present(self, f: Field, path: str) -> Callable:
        """A field every object must have (or that has no value when absent)."""
        check = self.check(f, path)

        def read(x):
            if x is None:
                raise Bail
            return check(x)
        return read

    def optional(self, f: Field, path: str, when_absent: Any) -> Callable:
        check = self.check(f, path)
        if f.default is None:
            def read(x):
                return when_absent if x is None else check(x)
        else:
            def read(x):
                return when_absent if x is None or x.__class__ is str and x == "" else check(x)
        return read

    def check(self, f: Field, path: str) -> Callable:
        """value (not None) -> the checked value, or raise."""
        slow = self.reader._value
        t = f.type
        if t in ("name", "choice"):
            allowed = self.reader.allowed[f.kind] if t == "name" else frozenset(f.values)

            def one(x):
                if x.__class__ is str and x in allowed:
                    return x
                raise Bail
            return one
        if t == "names":
            allowed = self.reader.allowed[f.kind]

            def many(x):
                cls = x.__class__
                s = frozenset((x,)) if cls is str else frozenset(x) if cls is list else None
                if s is None or not s <= allowed:
                    raise Bail
                return s
            return many
        if t == "whole":
            lo, hi = f.low, f.high

            def whole(x):
                if x.__class__ is int and lo <= x <= hi:
                    return x
                raise Bail
            return whole
        if t == "bool":
            def flag(x):
                if x is True or x is False:
                    return x
                raise Bail
            return flag
        if t == "text":
            def text(x):
                return x if x.__class__ is str and x and x.isascii() else slow(f, x, path)
            return text
        if t == "person":  # ASCII: NFC changes nothing, so stripping is all the detailed reader does
            def person(x):
                if x.__class__ is str and x.isascii():
                    s = x.strip()
                    if s:
                        return s
                return slow(f, x, path)
            return person
        if t == "date":
            return self.date(path)
        if t == "amount" and f.fen:
            return _fen_amount(f, path, slow)
        if t == "object":
            return self.object(f.fields, path + ".")
        if t == "list":
            element, make = self.object(f.fields, path + "[]."), self.make_item

            def elements(x):
                if x.__class__ is not list:
                    raise Bail
                return tuple([make(element(e)) for e in x])
            return elements
        return lambda x: slow(f, x, path)  # any other type (a finer amount, a type added later)

    def date(self, path: str) -> Callable:
        dates, check_date = self.dates, self.check_date

        def date(x):
            d = dates.get(x) if x.__class__ is str else None
            if d is None:
                d = check_date(x, path)
                if len(dates) < _DATE_MEMO:
                    dates[x] = d
            return d
        return date


def _fen_amount(f: Field, path: str, slow: Callable) -> Callable:
    """Digits, at most one point, at most two decimals and 16 whole digits: a fen amount within
    range that Decimal reads exactly (the detailed reader's own checks agree); anything else
    goes through the detailed check."""
    def amount(x):
        if x.__class__ is str:
            i = x.find(".")
            n = len(x)
            if (0 < n <= 16 if i == -1 else 0 < i <= 16 and n - i <= 3) and x.isascii() \
                    and x.replace(".", "", 1).isdigit():
                return Decimal(x)
        return slow(f, x, path)
    return amount


# An optional field whose absence the detailed reader refuses (its default is not in the
# vocabulary): the compiled readers give up on a claim without it.
REFUSED = object()


def absent_values(reader, fields: tuple[Field, ...] = CLAIM_FIELDS, prefix: str = "") -> dict:
    """What the detailed reader makes of each field's absence (a required field: None, a required
    object: its own fields' absence, a refused absence: REFUSED): the values a claim naming none
    of them would have."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.required:
            out[f.name] = absent_values(reader, f.fields, prefix + f.name + ".") if f.type == "object" else None
            continue
        try:
            out[f.name] = reader._value(f, None, prefix + f.name)
        except ClaimError:
            out[f.name] = REFUSED
    return out


def compile_direct(reader, direct: tuple[str, ...], unread: tuple[str, ...], facts_of: Callable,
                   make_item: Callable, flags: frozenset, through_values: Callable, check_date: Callable,
                   fields: tuple[Field, ...] = CLAIM_FIELDS) -> Callable[[Any], Any]:
    """claim -> its facts, read straight from the claim for a claim naming only the `direct`
    fields (dotted paths, `facts_of`'s arguments in its order) and `unread` ones (checked only):
    no values dict, the absent fields' values as constants, `flags` (what the absent fields
    feed) as the flags. A claim naming any other field goes to `through_values` (the values
    reader, then the facts); a value it is not sure of gives None (the detailed reader reads
    the claim and words the error). Only `facts_of`'s own refusals (an area that contradicts
    the place) are raised. Python source generated from the table, like `compile_reader`'s."""
    compiler = _Compiler(reader, None, check_date)
    absent = absent_values(reader, fields)
    wanted = {path.split(".")[0] for path in direct + unread}
    env: dict[str, Any] = {"Bail": Bail, "Decimal": Decimal, "facts_of": facts_of, "flags": flags,
                           "through_values": through_values, "names": frozenset(wanted)}
    local: dict[str, str] = {}  # a direct path -> the local holding its value
    guard: list[str] = []       # objects naming a field beyond the direct ones go through the values
    body: list[str] = []
    for i, f in enumerate(x for x in fields if x.name in wanted):
        if f.type == "object":
            inner = [g for g in f.fields if f"{f.name}.{g.name}" in direct]
            env[f"names_{i}"] = frozenset(g.name for g in inner)
            guard += [f"    o_{i} = obj.get({f.name!r})",  # looked up once: the body reads it too
                      f"    if o_{i}.__class__ is dict and not names_{i}.issuperset(o_{i}):",
                      "        return through_values(obj)"]
            body += [f"        o = o_{i}", "        if o is None:"]
            if f.required or absent[f.name] is REFUSED:
                body.append("            raise Bail")
            else:
                body += [f"            a_{i}_{j} = absent_{i}_{j}" for j, _ in enumerate(inner)]
                body.append("        else:")
            inside = "        " if f.required or absent[f.name] is REFUSED else "            "
            inner_absent = absent_values(reader, f.fields, f.name + ".")
            body += [inside + "if o.__class__ is not dict:", inside + "    raise Bail", inside + "oget = o.get",
                     inside + f"oleft = len(o) - {sum(1 for g in inner if g.required)}"]
            for j, g in enumerate(inner):
                env[f"absent_{i}_{j}"] = inner_absent[g.name]
                body += _indent(compiler.field(g, f"{f.name}.{g.name}", f"_{i}_{j}", "oget", env, "oleft", "o"),
                                len(inside) - 4)
                local[f"{f.name}.{g.name}"] = f"a_{i}_{j}"
            continue
        env[f"absent_{i}"] = absent.get(f.name)
        if f.type == "list" and f.fields:
            body += _indent(compiler.elements(f, f"_{i}", make_item, env), 4)
        else:
            body += _indent(compiler.field(f, f.name, f"_{i}", "get", env, "left", "obj"), 4)
        local[f.name] = f"a_{i}"
    args = ", ".join(local[path] for path in direct)
    lines = ["def read(obj):",
             "    if obj.__class__ is not dict or not names.issuperset(obj):",
             "        return through_values(obj)",
             *guard,
             "    try:",
             "        get = obj.get",
             f"        left = len(obj) - {sum(1 for f in fields if f.name in wanted and f.required)}",
             *body,
             "    except Exception:  # any doubt: the detailed reader decides and words the error",
             "        return None",
             f"    return facts_of(obj, {args}, flags, {{}})"]
    text = "\n".join(lines) + "\n"
    exec(compile(text, "<claim reader: facts>", "exec"), env)  # noqa: S102 - our own source
    read = env["read"]
    read.source = text
    return read


def _indent(lines: list[str], by: int) -> list[str]:
    return [" " * by + line for line in lines]


def compile_fed(flags: tuple, measures: tuple) -> Callable[[dict], tuple[list, dict]]:
    """values -> (the flags, the measures) the claim's bool and whole-number fields feed:
    `flags` are (keys, flag, the value that sets it), `measures` (keys, measure), each keys
    the path to the field in the values dict. Generated as straight-line source (`source`),
    one test per field, a nested object looked up once."""
    env: dict[str, Any] = {}
    lines = ["def fed(v):", "    found = []", "    values = {}"]

    def grouped(items, emit):
        groups: dict = {}
        for keys, *rest in items:
            groups.setdefault(keys[0], []).append((keys[1:], *rest))
        for first, members in groups.items():
            lines.append(f"    sub = v[{first!r}]")
            for rest_keys, *rest in members:
                emit("sub" + _path(rest_keys), *rest)

    def flag(at, name, when):
        lines.extend([f"    if {at} is {when!r}:", f"        found.append({name!r})"])  # when: True or False

    def measure(at, name):
        lines.extend([f"    x = {at}", "    if x is not None:", f"        values[{name!r}] = x"])

    grouped(flags, flag)
    grouped(measures, measure)
    lines.append("    return found, values")
    text = "\n".join(lines) + "\n"
    exec(compile(text, "<claim reader: fed>", "exec"), env)  # noqa: S102 - our own source
    fed = env["fed"]
    fed.source = text
    return fed


def compile_dated(dates: tuple, counted: tuple) -> Callable[[dict, Any, dict], None]:
    """(values, the claim's date, measures) -> None, adding the dated facts to `measures`: `dates`
    are (keys, fact), each date as its day number; `counted` (keys, measure, counts), the months
    or days from the date to the claim's (or its filing month). Straight-line source (`source`)."""
    lines = ["def dated(v, date, measures):"]
    for keys, fact in dates:
        lines += [f"    day = v{_path(keys)}", "    if day is not None:", f"        measures[{fact!r}] = day.toordinal()"]
    counts_as = {"days": "(date - day).days", "months": "(date.year - day.year) * 12 + date.month - day.month",
                 "filing-month": "(day.year - date.year) * 12 + day.month"}
    for keys, measure, counts in counted:
        lines += [f"    day = v{_path(keys)}", "    if day is not None:", f"        measures[{measure!r}] = {counts_as[counts]}"]
    text = "\n".join(lines + ["    return None"]) + "\n"
    env: dict[str, Any] = {}
    exec(compile(text, "<claim reader: dated facts>", "exec"), env)  # noqa: S102 - our own source
    dated = env["dated"]
    dated.source = text
    return dated


def _path(keys: tuple) -> str:
    return "".join(f"[{k!r}]" for k in keys)


def fast_or_none(read: Optional[Callable], claim: Any) -> Optional[dict]:
    """The compiled reader's values for `claim`, or None when it gave up."""
    if read is None:
        return None
    try:
        return read(claim)
    except Exception:  # noqa: BLE001 - any doubt: the detailed reader decides and words the error
        return None
