"""The minhash dedup's plan (the barrier between signatures and removals, run once per source in the main process):
time and peak memory on synthetic hand-off files, this version against the one before 2026-11-28, whose union-find
held a Python list over every row and listed every row's id, rank and position.

    .venv/bin/python benchmarks/dedup_plan_bench.py [--rows 1000000] [--tasks 8] [--dup 0.01]

Each variant runs in a fresh process (its peak RSS is the process's); both must write the same plan. Results:
benchmarks/results/dedup_plan.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work" / "dedup_plan"
BUCKETS = 14  # Lucie's / datatrove's default: 14 bands of 8 hashes


def make_handoff(rows: int, tasks: int, dup: float, seed: int = 0) -> Path:
    """``tasks`` hand-off files of ``rows`` rows in all: random band hashes, a fraction ``dup`` of rows an exact copy of
    an earlier row's signature, as many sharing a single band with one (near-duplicates), 1 % unsigned."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = WORK / f"work-{rows}-{tasks}-{dup}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bands = rng.integers(0, 2**63, size=(rows, BUCKETS), dtype=np.int64)
    n_dup = int(rows * dup)
    copies = rng.choice(np.arange(1, rows), size=n_dup, replace=False)
    bands[copies] = bands[rng.integers(0, copies)]  # whole signature of an earlier row
    near = rng.choice(np.arange(1, rows), size=n_dup, replace=False)
    which = rng.integers(0, BUCKETS, size=n_dup)
    bands[near, which] = bands[rng.integers(0, near), which]  # one band of an earlier row
    sig = ["".join(f"{v:016x}" for v in row) for row in bands.tolist()]
    unsigned = set(rng.choice(rows, size=rows // 100, replace=False).tolist())
    sig = [None if i in unsigned else s for i, s in enumerate(sig)]
    per = -(-rows // tasks)
    for t in range(tasks):
        lo, hi = t * per, min(rows, (t + 1) * per)
        pq.write_table(pa.table({
            "id": [f"src/doc-{i}" for i in range(lo, hi)],
            "sig": sig[lo:hi],
            "gate": pa.array([0] * (hi - lo), pa.int64()),
            "in_file": [f"part-{i // 10000:05d}.jsonl" for i in range(lo, hi)],
            "in_record": pa.array([i % 10000 for i in range(lo, hi)], pa.int64()),
        }), folder / f"{t:05d}.parquet")
    (folder / "done").write_text("")
    return folder


def reference_plan(work_folder: str, plan_path: str, num_buckets: int) -> int:
    """The plan as written before 2026-11-28 (src/lucie_data/steps/dedup.py at 5e3b7e4), for comparison."""
    import polars as pl

    from lucie_data.steps.dedup import INPUT_ORDER, _handoff_rows, _write_plan

    frames = _handoff_rows(work_folder)
    schema = {"rank": pl.Int64, "pos": pl.Int64, "duplicate_of": pl.Utf8}
    dups = pl.DataFrame({k: [] for k in schema}, schema=schema)
    if frames:
        rows = pl.concat(frames).sort(INPUT_ORDER, nulls_last=True).with_row_index("idx")
        signed = rows.filter(pl.col("sig").is_not_null())
        parent = list(range(rows.height))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for b in range(num_buckets):
            groups = (signed.group_by(pl.col("sig").str.slice(16 * b, 16).alias("band"))
                      .agg(pl.col("idx")).filter(pl.col("idx").list.len() > 1))
            for members in groups["idx"].to_list():
                root = find(min(members))
                for m in members:
                    r = find(m)
                    if r != root:
                        root, r = min(root, r), max(root, r)
                        parent[r] = root
        roots = [find(i) for i in range(rows.height)]
        in_cluster = sorted({j for i, r in enumerate(roots) if r != i for j in (i, r)})
        ranks_of = dict(zip(in_cluster, rows["gate"].gather(in_cluster).to_list()))
        keeper: dict[int, int] = {}
        for i in in_cluster:
            k = keeper.get(roots[i])
            if k is None or (ranks_of[i], i) < (ranks_of[k], k):
                keeper[roots[i]] = i
        ids, ranks, poss = rows["id"].to_list(), rows["rank"].to_list(), rows["pos"].to_list()
        out = [(ranks[i], poss[i], ids[keeper[roots[i]]]) for i in in_cluster if keeper[roots[i]] != i]
        if out:
            dups = pl.DataFrame(out, schema=schema, orient="row")
    _write_plan(dups, plan_path)
    return dups.height


def _child(variant: str, folder: str, plan: str) -> None:
    import polars as pl  # imported before the clock and the memory baseline: both variants need it

    from lucie_data.steps.dedup import plan_minhash_duplicates

    def hwm_kib() -> int:  # the process's peak RSS (VmHWM); ru_maxrss would carry the parent's over the fork
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

    fn = plan_minhash_duplicates if variant == "current" else reference_plan
    with open("/proc/self/clear_refs", "w") as fh:  # "5": reset the peak RSS to the current RSS (proc(5))
        fh.write("5")
    base = hwm_kib()
    t = time.perf_counter()
    n = fn(folder, plan, BUCKETS)
    seconds = time.perf_counter() - t
    peak = hwm_kib()
    print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024, "above_start_mib": (peak - base) / 1024,
                      "dups": n, "plan_rows": pl.read_parquet(plan).height}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--dup", type=float, default=0.01)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    folder = make_handoff(args.rows, args.tasks, args.dup)
    results: dict[str, list[dict]] = {"reference": [], "current": []}
    for _ in range(args.repeat):  # alternating, each in a fresh process
        for variant in results:
            plan = WORK / f"plan-{variant}.parquet"
            out = subprocess.run([sys.executable, __file__, "--child", variant, str(folder), str(plan)],
                                 capture_output=True, text=True, check=True)
            results[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
    import polars as pl

    same = pl.read_parquet(WORK / "plan-reference.parquet").equals(pl.read_parquet(WORK / "plan-current.parquet"))
    med = {v: {k: sorted(r[k] for r in rs)[len(rs) // 2] for k in ("seconds", "peak_mib", "above_start_mib")}
           for v, rs in results.items()}
    ref, cur = med["reference"], med["current"]
    lines = [
        "# Minhash dedup plan: time and memory",
        "",
        f"`.venv/bin/python benchmarks/dedup_plan_bench.py --rows {args.rows} --tasks {args.tasks} --dup {args.dup} "
        f"--repeat {args.repeat}` ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, polars {pl.__version__}; median of {args.repeat}, alternating, each "
        "run in a fresh process).",
        "",
        f"Input: {args.rows:,} synthetic hand-off rows in {args.tasks} files, {BUCKETS} bands; {args.dup:.0%} of the "
        f"rows copy an earlier row's whole signature, as many share one band with an earlier row, 1 % unsigned. "
        f"Plan: {results['current'][0]['dups']:,} duplicates; both versions write the same plan: "
        f"**{'yes' if same else 'NO'}**.",
        "",
        "| version | seconds | peak RSS MiB | RSS added by the plan MiB |",
        "|---|---:|---:|---:|",
        f"| before 2026-11-28 (a list over every row) | {ref['seconds']:.2f} | {ref['peak_mib']:,.0f} "
        f"| {ref['above_start_mib']:,.0f} |",
        f"| now (a dict over the rows in a cluster) | {cur['seconds']:.2f} | {cur['peak_mib']:,.0f} "
        f"| {cur['above_start_mib']:,.0f} |",
        "",
        f"Ratio: {ref['seconds'] / cur['seconds']:.1f}x faster, {ref['above_start_mib'] / max(cur['above_start_mib'], 1):.1f}x "
        "less memory added (same run).",
    ]
    out = ROOT / "benchmarks" / "results" / "dedup_plan.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    assert same, "the two versions wrote different plans"


if __name__ == "__main__":
    main()
