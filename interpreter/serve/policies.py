"""The policies a server settles with, reloaded when their files change.

Each loaded policy is one immutable `Loaded` value; the registry swaps the whole table in one
assignment, so a request that took a policy settles with it to the end (the old version or
the new, never half of each). A file edited into a broken state keeps the last good version
serving; the problem is logged and shown on `/v1/policies` until the file is fixed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Mapping, Optional

import attrs

from .. import nhsa
from ..errors import MedError
from ..policy import Policy, load

log = logging.getLogger("medpolicy.serve")


@attrs.frozen
class Loaded:
    """One compiled policy as served: its name (the file's stem), version (a hash of every
    source text it was compiled from), the start-up parameters it declares, and the files
    whose change reloads it."""

    name: str
    path: str
    policy: Policy = attrs.field(eq=False)
    version: str
    params: Mapping[str, str]
    loaded_at: str
    signature: tuple
    codes: Optional[nhsa.CodeMap] = attrs.field(default=None, eq=False)  # the platform mapping (docs/nhsa.md)
    codes_problem: Optional[str] = None  # why there is none: the mapping file cannot be used

    @property
    def missing_parameters(self) -> list[str]:
        return [p for p in self.policy.parameters if p not in self.params]


@attrs.frozen
class Table:
    """Everything the registry knows at one moment; replaced whole, never changed."""

    loaded: Mapping[str, Loaded]
    problems: Mapping[str, tuple]  # name -> (files' signature, diagnostics) of the last failed reload


def version_of(policy: Policy) -> str:
    """A policy's version: the SHA-256 of its source texts (itself and what it uses)."""
    h = hashlib.sha256()
    for name in sorted(policy.sources):
        h.update(name.encode("utf-8") + b"\0" + policy.sources[name].encode("utf-8") + b"\0")
    return h.hexdigest()[:16]


def compile_sources(main: str, sources: Mapping[str, str]) -> Policy:
    """A policy compiled again from its kept source texts (`Policy.sources`; `main` names the
    policy's own): its modules are written beside it in a temporary folder, so `use` finds
    them as it did. The standard library is the one installed now."""
    with tempfile.TemporaryDirectory(prefix="medpolicy-version-") as tmp:
        for name, text in sources.items():
            if not name.startswith("stdlib/"):
                Path(tmp, Path(name).name).write_text(text, encoding="utf-8")
        return load(Path(tmp, Path(main).name))


def _signature(path: str, policy: Optional[Policy]) -> tuple:
    """(file, mtime, size) of the policy file, the files beside it that it uses, and its
    platform mapping (`CITY.nhsa.toml`)."""
    files = [path] + [f for f in (policy.sources if policy else ()) if f != path and not f.startswith("stdlib/")]
    files.append(str(nhsa.mapping_path(path)))
    out = []
    for f in files:
        try:
            st = os.stat(f)
            out.append((f, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((f, None, None))
    return tuple(out)


def diagnostics_json(e: MedError) -> tuple:
    return tuple({"file": d.span.file, "line": d.span.line, "column": d.span.column,
                  "end_line": d.span.end_line, "end_column": d.span.end_column,
                  "severity": d.severity, "message": d.message, "hint": d.hint} for d in e.diagnostics)


class Registry:
    """The served policies by name; one of them is the default when only one is loaded."""

    def __init__(self, paths: list[str], params: Mapping[str, str]):
        """Load every policy; a MedError (with its diagnostics) if one does not load."""
        self._params = dict(params)
        loaded = {}
        for path in paths:
            name = Path(path).stem
            if name in loaded:
                raise ValueError(f"two policies are named {name!r} ({loaded[name].path} and {path})")
            loaded[name] = self._load(name, path)
        unused = sorted(set(self._params) - {p for e in loaded.values() for p in e.policy.parameters})
        if unused:
            log.warning("no policy declares parameter %s", ", ".join(unused))
        self._table = Table(loaded, {})

    def _load(self, name: str, path: str) -> Loaded:
        before = _signature(path, None)
        policy = load(path)
        declared = {k: v for k, v in self._params.items() if k in policy.parameters}
        policy.bind({**{p: "0" for p in policy.parameters}, **declared})  # a bad value stops here
        sig = _signature(path, policy)
        if sig[0] != before[0]:  # written while we read it: read again on the next poll
            sig = ((path, None, None),) + sig[1:]
        try:
            codes, problem = nhsa.load_mapping(path, policy), None
        except nhsa.MappingError as e:  # the contract's endpoints still serve; /v1/nhsa/... say why not
            log.error("policy %s: the platform mapping cannot be used: %s", name, e)
            codes, problem = None, str(e)
        return Loaded(name, path, policy, version_of(policy), declared,
                      dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), sig, codes, problem)

    @property
    def table(self) -> Table:
        return self._table

    def get(self, name: Optional[str]) -> Loaded:
        """The policy named `name`, or the only one; LookupError with a message otherwise."""
        loaded = self._table.loaded
        if name is None:
            if len(loaded) == 1:
                return next(iter(loaded.values()))
            raise LookupError(f"several policies are loaded ({', '.join(sorted(loaded))}): name one in \"policy\"")
        try:
            return loaded[name]
        except KeyError:
            raise LookupError(f"no policy {name!r} is loaded (loaded: {', '.join(sorted(loaded))})") from None

    def poll(self) -> list[str]:
        """Reload every policy whose files changed; returns the names whose version changed."""
        table = self._table
        loaded, problems = dict(table.loaded), dict(table.problems)
        changed = []
        for name, old in table.loaded.items():
            sig = _signature(old.path, old.policy)
            if sig == old.signature and name not in problems or name in problems and problems[name][0] == sig:
                continue
            try:
                new = self._load(name, old.path)
            except MedError as e:
                log.error("policy %s: the edit does not load; still serving version %s:\n%s",
                          name, old.version, "\n".join(d.format() for d in e.diagnostics))
                problems[name] = (sig, diagnostics_json(e))
                continue
            problems.pop(name, None)
            if new.version != old.version:
                log.info("policy %s: reloaded, version %s (was %s)", name, new.version, old.version)
                changed.append(name)
            loaded[name] = new
        self._table = Table(loaded, problems)  # one assignment: readers see all or nothing
        return changed

    def describe(self) -> dict:
        """What `/v1/policies` shows."""
        table = self._table
        out = []
        for name, e in sorted(table.loaded.items()):
            p = e.policy
            out.append({
                "name": name, "title": p.title, "file": e.path, "version": e.version, "loaded_at": e.loaded_at,
                "parameters": {k: e.params.get(k) for k in p.parameters},
                "missing_parameters": e.missing_parameters,
                "schemes": {s: list(p.funds(s)) for s in p.compiled.schemes},
                "problem": list(table.problems[name][1]) if name in table.problems else None,
                "nhsa": {"mapping": e.codes.source if e.codes else None, "problem": e.codes_problem},
            })
        return {"default": out[0]["name"] if len(out) == 1 else None, "policies": out}
