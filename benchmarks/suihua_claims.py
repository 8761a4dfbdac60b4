"""Generated Suihua inpatient claims, for the benchmarks: JSON lines in no particular order.

    python benchmarks/suihua_claims.py 100000 claims.jsonl [--seed 7]

Each claim picks its person at random (about four claims a person, in random date order),
so a file is as unordered as a city's export can be and written without holding it. A
person keeps their scheme, status and groups (a few change scheme during the year); amounts
are heavy-tailed, so many persons cross the employees' 120,000 basic cap into the major
layer and the residents' 15,000 burden threshold into the critical-illness bands.
"""

from __future__ import annotations

import argparse
import random
from typing import Iterator, TextIO

LEVELS = ("primary", "level1", "level2", "level3")
PLACES = ("local",) * 12 + ("remote-referred", "remote-emergency", "remote-self", "remote-resident")
RESIDENT_GROUPS = ("extreme-poverty", "low-income", "relapse-poverty")


def _person(k: int, seed: int) -> tuple[str, str, str]:
    """A person's scheme, status and groups (JSON text), fixed by their number."""
    h = ((k + 1) * 0x9E3779B1 + seed * 0x85EBCA6B) & 0xFFFFFFFF
    scheme = "resident" if h % 5 < 2 else "employee"
    status = "retired" if (h >> 3) % 3 == 0 else "employed"
    g = (h >> 7) % 100
    if g < 2:
        groups = '["veteran-worker"]'
    elif g < 6 and scheme == "resident":
        groups = f'["{RESIDENT_GROUPS[(h >> 13) % 3]}"]'
    else:
        groups = ""
    changes = (h >> 17) % 50 == 0  # changes scheme during the year: two years, one per scheme
    return scheme + ("*" if changes else ""), status, groups


def _amount(rng: random.Random) -> str:
    r = rng.random()
    top = 20_000 if r < 0.7 else 80_000 if r < 0.9 else 250_000
    return f"{rng.randint(200, top)}.{rng.randint(0, 99):02d}"


def claims(n: int, seed: int = 7) -> Iterator[str]:
    """n claims as JSON lines (no newline), about four a person."""
    rng = random.Random(seed)
    persons = max(1, n // 4)
    for i in range(n):
        k = rng.randrange(persons)
        scheme, status, groups = _person(k, seed)
        if scheme.endswith("*"):
            scheme = rng.choice(("employee", "resident"))
        items = [f'{{"class": "A", "amount": "{_amount(rng)}"}}']
        if rng.random() < 0.6:
            items.append(f'{{"class": "B", "amount": "{rng.randint(0, 8_000)}.{rng.randint(0, 99):02d}"}}')
        if rng.random() < 0.4:
            items.append(f'{{"class": "excluded", "amount": "{rng.randint(0, 3_000)}.00"}}')
        parts = [f'"id": "c{i}"', f'"person": "p{k}"', f'"date": "2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"',
                 f'"scheme": "{scheme}"']
        if scheme == "employee":
            parts.append(f'"status": "{status}"')
        parts += ['"benefit": "inpatient"', f'"facility": {{"level": "{rng.choice(LEVELS)}"}}',
                  f'"place": "{rng.choice(PLACES)}"']
        if groups:
            parts.append(f'"groups": {groups}')
        parts.append(f'"items": [{", ".join(items)}]')
        yield "{" + ", ".join(parts) + "}"


def write(n: int, out: TextIO, seed: int = 7) -> None:
    for line in claims(n, seed):
        out.write(line + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with open(args.out, "w", encoding="utf-8") as f:
        write(args.n, f, args.seed)


if __name__ == "__main__":
    main()
