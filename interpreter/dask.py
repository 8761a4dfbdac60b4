"""A city's years on a cluster: settle a partitioned Parquet dataset with Dask (the `dask` extra).

Why Dask: it is Python all the way down, so a worker runs the same `medpolicy` package as
`med run` with no JVM and no serialisation of the policy into another language; it scales from
a laptop's cores (`LocalCluster`) to Kubernetes or YARN (dask-kubernetes, dask-yarn) with the
same code, and its scheduler moves Arrow tables between workers as they are.

The job, in two stages of tasks:
1. *split*: each input file is read and its rows dealt into `partitions` buckets by a stable hash
   of the person (CRC-32 of the UTF-8 id: the same on every worker and every run), each row
   keeping its position in the input;
2. *settle*: each bucket gathers its rows from every file, puts them back in input order, and
   settles them as one run through the columnar engine (`medpolicy.batch`: each person's claims
   by date, years accumulating); its results go to `part-NNNNN.parquet` in the output folder,
   with the input position as column `row`.

The policy is compiled once, on the client, and reaches each worker as one object of the graph
(no worker keeps a policy between runs: an edited policy file is always read afresh).

A person's claims all land in one bucket, so a person's year is settled whole, exactly as one
`med run` would: reading the output folder and sorting by `row` gives `med run`'s rows.
Years that continue from an earlier run are carried by giving that run's claims as `prior`:
each bucket settles its share of them first, and writes no result for them.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Optional

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROW = "row"


def bucket_of(persons: pa.Array, partitions: int) -> pa.Array:
    """The bucket of each person: CRC-32 of the id as the claim reader reads it (two spellings
    of one person, one bucket), modulo the number of buckets; a person that is not text (an
    error row, whatever its year) in bucket 0."""
    from .batch_columns import normal_persons

    return pa.array([zlib.crc32(p.encode("utf-8")) % partitions if isinstance(p, str) else 0
                     for p in normal_persons(persons).to_pylist()], type=pa.int32())


def split(path: str, offset: int, partitions: int) -> list[pa.Table]:
    """One input file dealt into buckets; each row keeps its position in the whole input."""
    table = pq.read_table(path)
    table = table.append_column(ROW, pa.array(range(offset, offset + table.num_rows), type=pa.int64()))
    buckets = bucket_of(table.column("person").combine_chunks(), partitions)
    return [table.filter(pc.equal(buckets, b)) for b in range(partitions)]


def settle_bucket(policy, pieces: list[pa.Table], prior: list[pa.Table], out: str, number: int,
                  params: Optional[dict], trace: bool) -> int:
    """Settle one bucket's rows as one run, through the columnar engine (medpolicy.batch), and write
    them; returns the number of results. `policy`: the compiled Policy, as the scheduler hands it."""
    from .arrow import all_funds, claims_from_table, claims_table, result_schema
    from .batch import settle_batch
    tables = [p for p in pieces if p.num_rows]
    earlier = [t.drop_columns([ROW]) if ROW in t.column_names else t for t in prior if t.num_rows]
    path = str(Path(out) / f"part-{number:05d}.parquet")
    schema = result_schema(all_funds(policy), trace).append(pa.field(ROW, pa.int64()))
    if not tables:
        pq.write_table(schema.empty_table(), path)
        return 0
    rows = pa.concat_tables(tables, promote_options="default").sort_by(ROW)
    parts = [*earlier, rows.drop_columns([ROW])]
    if all(t.schema == parts[0].schema for t in parts):
        claims = pa.concat_tables(parts)
    else:  # files of different columns (a field only some carry): one table of every field
        claims = claims_table([c for t in parts for c in claims_from_table(t)])
    if trace:  # only the scalar engine keeps a trace
        results = policy.settle_table(claims, params=params, trace=True)
    else:
        results = settle_batch(policy, claims, params=params)
    results = results.slice(claims.num_rows - rows.num_rows).replace_schema_metadata(None)
    pq.write_table(results.append_column(ROW, rows.column(ROW)).cast(schema), path)
    return rows.num_rows


def settle_dataset(policy, claims: str, out: str, *, partitions: int = 8, params: Optional[dict] = None,
                   prior: Optional[str] = None, trace: bool = False, client=None) -> int:
    """Settle every claim of a Parquet file or folder of files on a Dask cluster (`client`, or the
    default one); results go to `out` as part files. Returns the number of claims settled.

    `policy`: a .med file's path or a compiled Policy. A path is compiled here, once, before any
    task runs (a policy with errors raises MedError here, not on a worker); the compiled policy
    goes to the workers as one object of the graph, so each worker that settles a bucket receives
    it once and a policy edited between two runs on the same cluster is always the new one."""
    import uuid

    import dask
    from dask import delayed

    import medpolicy

    compiled = policy if isinstance(policy, medpolicy.Policy) else medpolicy.load(policy)
    # A name of its own: the policy object is not hashed into a key (its caches fill as it settles).
    policy_task = delayed(compiled, name=f"medpolicy-policy-{uuid.uuid4().hex}")
    files = _files(claims)
    offsets, total = [], 0
    for f in files:
        offsets.append(total)
        total += pq.ParquetFile(f).metadata.num_rows
    Path(out).mkdir(parents=True, exist_ok=True)
    splits = [delayed(split, pure=True)(f, o, partitions) for f, o in zip(files, offsets)]
    prior_splits = [delayed(split, pure=True)(f, 0, partitions) for f in _files(prior)] if prior else []
    tasks = [delayed(settle_bucket)(policy_task, [s[b] for s in splits], [s[b] for s in prior_splits], out, b, params, trace)
             for b in range(partitions)]
    counts = (client.compute(tasks, sync=True) if client is not None else dask.compute(*tasks))
    return sum(counts)


def _files(path: str) -> list[str]:
    p = Path(path)
    if p.is_dir():
        return sorted(str(f) for f in p.rglob("*.parquet"))
    return [str(p)]


def read_results(out: str) -> pa.Table:
    """A settled dataset's results in input order (what `med run` writes, as a table)."""
    return pq.read_table(out).sort_by(ROW)
