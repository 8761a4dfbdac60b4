"""What the national platform's shape costs: the same settlements as contract claims and as
platform requests answered with setlinfo/setldetail.

    python benchmarks/nhsa.py [--requests 20000] [--seed 7]

Prints requests per second for each of: contract claims → contract results; requests →
contract results (--from nhsa); requests → platform answers (--from nhsa --to nhsa),
JSON text in and out, and the ratios to the first.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medpolicy  # noqa: E402
from medpolicy import nhsa  # noqa: E402


def requests(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        insutype = rnd.choice(["310", "390"])
        lines = [{"feedetl_sn": str(k + 1), "chrgitm_lv": rnd.choice(["01", "01", "02", "03"]),
                  "det_item_fee_sumamt": f"{rnd.randint(100, 2_000_000) / 100:.2f}"} for k in range(rnd.randint(1, 6))]
        out.append(json.dumps({"mdtrt_id": f"M{i}", "psn_no": f"P{rnd.randint(1, n // 4 + 1)}", "insutype": insutype,
                               "psn_type": "1101" if insutype == "310" else "1501", "med_type": rnd.choice(["11", "21"]),
                               "hosp_lv": rnd.choice(["02", "05", "08", "11"]), "insuplc_admdvs": "231202",
                               "setl_time": f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d} 10:00:00",
                               "feedetail": lines}))
    return out


def timed(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    path = str(ROOT / "policies" / "suihua.med")
    policy = medpolicy.load(path)
    cm = nhsa.load_mapping(path, policy)
    texts = requests(args.requests, args.seed)
    parsed = [json.loads(t, parse_float=Decimal) for t in texts]
    claim_texts = [json.dumps(nhsa.to_claim(r, cm)[0]) for r in parsed]

    def contract():
        claims = [json.loads(t, parse_float=Decimal) for t in claim_texts]
        for r in policy.settle_all(claims):
            json.dumps(r.to_json(trace=False), ensure_ascii=False)

    def platform(to_nhsa: bool):
        items = [json.loads(t, parse_float=Decimal) for t in texts]
        rows = nhsa.settle_requests(policy, cm, items, {}, to_nhsa=to_nhsa, trace=False)
        for row in rows:
            nhsa.dumps(row) if to_nhsa else json.dumps(row, ensure_ascii=False)

    n = args.requests
    base = timed(contract)
    rows = [("contract claims → results", base), ("requests → results (--from nhsa)", timed(lambda: platform(False))),
            ("requests → answers (--to nhsa)", timed(lambda: platform(True)))]
    print(f"{n} Suihua settlements, JSON text in and out")
    for name, seconds in rows:
        print(f"  {name:36} {n / seconds:9,.0f} /s   {seconds / base:5.2f} × the contract's time")


if __name__ == "__main__":
    main()
