"""Compiled policies kept on disk: a process that loads a policy file it has loaded before
skips lark, parsing and compiling (most of `med run`'s and `med check`'s start-up).

An entry is found by a hash of the policy's path as given (diagnostics name it) and text,
its folder, and the identity of the code that compiles it: every file of the package, of
its grammar and of its standard library, by modification time and size (as Python's own
bytecode cache is kept), and the Python and lark versions. The entry records the modules
beside the policy that it `use`s, with their texts; a hit reads them again and is refused
if any changed, or if a module beside the policy now shadows a standard one it used. Only
policies that compile are kept. Entries live beside the parser's cache
(`files.cache_root`); they are written to a temporary file and renamed into place, and
one that cannot be read is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Optional

from .files import cache_root

_FORMAT = 2  # bumped when an entry's layout changes


def code_identity() -> str:
    """The package's files (code, grammar, standard library) by modification time and size.
    (About a hundred `stat`s, once per policy loaded: not memoised, so nothing is kept
    between loads and an edited package is seen at once.)"""
    here = Path(__file__).resolve().parent
    folders = [here]
    for package in ("medpolicy.grammar", "medpolicy.stdlib"):
        spec = find_spec(package)
        folders += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    lark_spec = find_spec("lark")
    if lark_spec is not None and lark_spec.origin:
        folders.append(Path(lark_spec.origin).parent)
    stamps = [_FORMAT, sys.version]
    for folder in folders:
        with os.scandir(folder) as entries:
            for e in sorted(entries, key=lambda e: e.name):
                if e.is_file() and e.name.endswith((".py", ".lark", ".med", ".toml")):
                    st = e.stat()
                    stamps.append((str(folder), e.name, st.st_mtime_ns, st.st_size))
    return hashlib.sha256(repr(stamps).encode("utf-8", "surrogatepass")).hexdigest()


def entry(name: str, text: str, base_dir: Optional[str]) -> Optional[Path]:
    """The file the policy of `name` with `text`, in `base_dir`, is kept in (None: no cache)."""
    root = cache_root()
    if root is None:
        return None
    key = "\0".join([code_identity(), name, base_dir or "", text])
    return Path(root) / f"policy-{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}.pickle"


def get(path: Optional[Path], base_dir: Optional[str]) -> Optional[tuple]:
    """(compiled, warnings, sources, keyword language) of the policy kept in `path` (from
    `entry`), or None."""
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f)
        compiled, warnings, sources, local, standard, language = entry
    except Exception:  # noqa: BLE001 - missing, half-written by another version, unreadable: compile
        return None
    for module, module_text in local.items():
        try:
            if Path(module).read_text(encoding="utf-8") != module_text:
                return None
        except (OSError, UnicodeError):
            return None
    if base_dir is not None and any((Path(base_dir) / f"{m}.med").exists() for m in standard):
        return None  # a module beside the policy now has a standard module's name: compile to say so
    return compiled, warnings, sources, language


def put(path: Optional[Path], name: str, policy) -> None:
    """Keep a compiled policy in `path` (from `entry`); a cache that cannot be written costs
    nothing but the next compile."""
    if path is None:
        return
    sources = dict(policy.sources)
    standard = [p[len("stdlib/"):-len(".med")] for p in sources if p.startswith("stdlib/")]
    local = {p: t for p, t in sources.items() if p != name and not p.startswith("stdlib/")}
    entry = (policy.compiled, tuple(policy.warnings), sources, local, standard, policy.keyword_language)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            pickle.dump(entry, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        try:
            tmp.unlink()
        except OSError:
            pass
