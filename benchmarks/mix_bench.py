"""Mix build throughput against copying the same Parquet bytes (target: mix >= 50 % of the copy).

Run by hand:  .venv/bin/python benchmarks/mix_bench.py [--layout replicas|corpora|large] [--replicas 60] [--repeat 3]

``--layout replicas`` (default; results in benchmarks/results/mix.md), an artificial many-small-files input:
1. builds the demo once into benchmarks/work/demo (skipped when it exists);
2. enlarges it by copying every source ``--replicas`` times under a new name (ids prefixed, same text), written
   under benchmarks/work/big-N (gitignored), with a manifest listing its sources and shards like a real build's.

``--layout corpora`` (results in benchmarks/results/mix_corpora.md), a realistic build: a real ``lucie-data build``
of the distinct text of /work/shared/corpora (every *.jsonl but problematic/ and html_pages.jsonl, one source per
file, stage ``normalize`` only, per-record licences, ``max_rows_per_shard: 100000``) into
benchmarks/work/corpora/build (pipeline and recipes written next to it; skipped when the build exists).

``--layout large`` (results in benchmarks/results/mix_large.md): the corpora build with 36 variants of every
document in the same shard (letters permuted per variant, so zstd finds no repeats): ~220 MiB in 24 shards of up
to ~40 MiB, where throughput, not per-file overhead, is measured.

Then, for every layout, times, on the same input shards (median of ``--repeat`` runs, page cache warm):
   - ``copy``: shutil.copyfile of every kept shard (the raw bytes, no decoding);
   - ``copy (mix's files)``: the files of a Lucie-factor mix made once, untimed, copied the same way into the
     same names and folders: what writing the mix's output costs without the mix's own work;
   - ``rewrite``: pyarrow read_table + write_table(zstd) of every shard (the least a Parquet-to-Parquet
     tool can do);
   - ``mix x1``: ``build_mix`` with every factor 1 (same rows out as in);
   - ``mix demo`` (replicas) / ``mix lucie`` (corpora): ``build_mix`` with Lucie-like factors (the demo's,
     epochs 1-3; for corpora: book 2, en--web 1.5, code 2, the rest 1): more rows out than in;
   - ``mix demo (keep)`` / ``mix lucie (keep)``: the same with ``repeat_ids: keep`` (whole-epoch repeats of a
     shard copied whole are byte copies, ids unchanged; fractions still re-encoded);
   throughput = input Parquet bytes / wall second, and output bytes / wall second (a mix with repeats writes more).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
sys.path.insert(0, str(ROOT / "src"))

from lucie_data.cli import main as cli  # noqa: E402
from lucie_data.mix.build import build_mix, load_mix_config  # noqa: E402
from lucie_data.mix.plan import Weights  # noqa: E402


def current_manifest(mpath: Path, layout: int | None = None) -> bool:
    """A manifest whose shard summaries carry everything this version records (the footer digest the mix's
    trust check reads, the `url` and unverified-licence counts its card states) and, if given, written by this ``BENCH_LAYOUT``: folders built by an older version
    are rebuilt, so the mix is timed on what a build writes today (without a footer digest the check is one
    ``stat`` instead of an open and a read)."""
    if not mpath.exists():
        return False
    manifest = json.loads(mpath.read_text())
    return (all({"footer", "url_rows", "suffixed_ids", "unverified"} <= set(e.get("summary") or {}) for e in manifest["shards"])
            and (layout is None or manifest.get("bench_layout") == layout))


def demo_build() -> Path:
    out = WORK / "demo"
    if not current_manifest(out / "manifest.json"):
        shutil.rmtree(out, ignore_errors=True)
        assert cli(["build", str(ROOT / "pipelines" / "demo.yaml"), "--output", str(out)]) == 0
    return out


BENCH_LAYOUT = 5  # bump when enlarge() changes what it writes: older folders are rebuilt


def enlarge(demo: "Callable[[], Path]", replicas: int) -> Path:
    """Every source copied ``replicas`` times under a new name (ids prefixed ``rNNN/``, same text).

    Copies are separate sources, not repeated rows inside one shard: zstd would compress repeated rows
    of one file to almost nothing and the byte throughput would mean nothing. Each copy gets the
    source's ledger and the folder a manifest listing its sources and shards (path, rows, bytes,
    sha256), as ``lucie-data build`` writes them: the mix reads both.
    """
    from lucie_data.manifest import shard_entries

    big = WORK / f"big-{replicas}"
    mpath = big / "manifest.json"
    if current_manifest(mpath, BENCH_LAYOUT):
        return big
    demo = demo()  # built only when the enlarged folder must be (re)written
    if big.exists():
        shutil.rmtree(big)
    manifest = json.loads((demo / "manifest.json").read_text())
    by_name = {s["name"]: s for s in manifest["sources"]}
    sources = []
    for src in sorted((demo / "sources").iterdir()):
        resolved = json.loads((src / "recipe.resolved.json").read_text())
        ledger = json.loads((src / "ledger.json").read_text())
        for r in range(replicas):
            name = f"{src.name}_r{r:03d}"
            dst = big / "sources" / name
            for shard in sorted((src / "data").glob("*/*.parquet")):
                t = pq.read_table(shard)
                t = t.set_column(0, "id", pc.binary_join_element_wise(pa.scalar(f"r{r:03d}/"), t.column("id"), ""))
                t = t.set_column(t.schema.get_field_index("source"), "source", pa.array([name] * t.num_rows))
                (dst / "data" / shard.parent.name).mkdir(parents=True, exist_ok=True)
                pq.write_table(t, dst / "data" / shard.parent.name / shard.name, compression="zstd")
            res = json.loads(json.dumps(resolved))
            res["recipe"]["name"] = name
            text = json.dumps(res)
            (dst / "recipe.resolved.json").write_text(text)
            (dst / "ledger.json").write_text(json.dumps({**ledger, "source": name}))
            # the manifest records the sha256 of the file a source's licence is read from (the mix checks it)
            sources.append({**by_name[src.name], "name": name,
                            "resolved_recipe_file_sha256": hashlib.sha256(text.encode()).hexdigest()})
    manifest["pipeline"]["file"] = str(ROOT / "pipelines" / "demo.yaml")
    manifest["sources"] = sources
    manifest["shards"] = shard_entries(big, "sources/*/data/**/*.parquet", summaries=True)
    manifest["removed_shards"] = []
    manifest["bench_layout"] = BENCH_LAYOUT
    mpath.write_text(json.dumps(manifest))
    return big


CORPORA = Path("/work/shared/corpora")

# Lucie-like factors for the corpora layout (Lucie's dataset_weights.yaml uses 1-3; here 2 and 1.5):
# books twice, English web 1.5 times, code twice, everything else once.
CORPORA_FACTORS = {"fr--book": 2, "en--book": 2, "de--book": 2, "es--book": 2, "it--book": 2,
                   "en--web": 1.5, "code--programming": 2}


def _corpus_recipe(f: Path) -> dict:
    """A one-file source of the corpora: category from the file name, licence per record (`license`)."""
    first = json.loads(f.open(encoding="utf-8").readline())
    stem = f.stem
    if stem.startswith("code_"):
        category, languages, lang_field = "programming", ["code"], "programming_language"
    else:
        category = "book" if "eltec" in stem else "newspaper" if "_ocr_" in stem else \
            "aligned" if stem.startswith("parallel_") else "web"
        languages, lang_field = [first["language"]], None
    return {
        "name": stem, "description": f"{f.name} of /work/shared/corpora (mix benchmark)",
        "category": category, "languages": languages, "license": first["license"],
        "provenance": {"url": str(first.get("url") or f)},
        "input": {"type": "jsonl", "paths": [str(f)], "license_field": "license", "language_field": lang_field},
        "stages": [{"type": "normalize"}],
        "output": {"max_rows_per_shard": 100_000},
    }


def corpora_build() -> Path:
    """A real `lucie-data build` of the corpora's distinct text (one source per file), built once."""
    import yaml

    base = WORK / "corpora"
    out = base / "build"
    mpath = out / "manifest.json"
    if current_manifest(mpath):
        return out  # (a build from before the manifest had today's per-shard summaries is rebuilt)
    shutil.rmtree(base, ignore_errors=True)
    (base / "sources").mkdir(parents=True)
    for f in sorted(CORPORA.glob("*.jsonl")):
        if f.name == "html_pages.jsonl":  # pointers to HTML files, not text
            continue
        (base / "sources" / f"{f.stem}.yaml").write_text(yaml.safe_dump(_corpus_recipe(f), sort_keys=False))
    pipeline = {
        "name": "corpora_bench", "description": "every JSONL corpus of /work/shared/corpora (mix benchmark)",
        "sources": ["sources/*.yaml"], "output_dir": "build",
        "executor": {"tasks": 1, "workers": 2}, "seed": 0,
        "license_policy": {"allow_classes": ["public-domain", "permissive", "share-alike"], "unknown": "deny"},
        "mix": {"factors": CORPORA_FACTORS, "default_factor": 1, "seed": 0},
    }
    (base / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    assert cli(["build", str(base / "pipeline.yaml"), "--output", str(out)]) == 0
    return out


LARGE_COPIES = 36  # 36 x the corpora's 6.2 MiB of Parquet: ~220 MiB, the biggest shards ~40 MiB


def _cipher(r: int) -> dict:
    """A letter permutation (a-z and A-Z separately) drawn from seed ``r``: same letter statistics, other bytes."""
    import random
    import string

    rng = random.Random(r)
    lo, up = list(string.ascii_lowercase), list(string.ascii_uppercase)
    return str.maketrans("".join(lo + up), "".join(rng.sample(lo, 26) + rng.sample(up, 26)))


def large_build(copies: int = LARGE_COPIES) -> Path:
    """The corpora build with every shard holding ``copies`` variants of its documents (tens of MiB per shard).

    Variant k of a document has id ``kNN/<id>`` and its text with letters permuted by a permutation of its
    own (k = 0 keeps the text): as compressible as the original, but not a repeat zstd could find, so the
    bytes are what a build of that much distinct text would write. One shard per source and language, as
    the build wrote it (same paths, schema and zstd), and a manifest like the build's (with summaries).
    """
    from lucie_data.manifest import shard_entries

    src_build = corpora_build()
    big = WORK / f"large-{copies}"
    mpath = big / "manifest.json"
    if current_manifest(mpath, BENCH_LAYOUT):
        return big
    shutil.rmtree(big, ignore_errors=True)
    ciphers = [None] + [_cipher(k) for k in range(1, copies)]
    for shard in sorted(src_build.glob("sources/*/data/*/*.parquet")):
        t = pq.read_table(shard)
        ids, texts = t.column("id").to_pylist(), t.column("text").to_pylist()
        parts = []
        for k, c in enumerate(ciphers):
            v = t.set_column(0, "id", pa.array([f"k{k:02d}/{i}" for i in ids], pa.string()))
            if c is not None:
                i = v.schema.get_field_index("text")
                v = v.set_column(i, "text", pa.array([x.translate(c) for x in texts], pa.string()))
            parts.append(v)
        dst = big / shard.relative_to(src_build)
        dst.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.concat_tables(parts), dst, compression="zstd")
    for src in (src_build / "sources").iterdir():
        for f in ("recipe.resolved.json", "ledger.json"):
            shutil.copyfile(src / f, big / "sources" / src.name / f)
    manifest = json.loads((src_build / "manifest.json").read_text())
    manifest["shards"] = shard_entries(big, "sources/*/data/**/*.parquet", summaries=True)
    manifest["removed_shards"] = []
    manifest["bench_layout"] = BENCH_LAYOUT
    mpath.write_text(json.dumps(manifest))
    return big


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved(fns: dict, repeat: int) -> dict:
    """Median seconds of each operation, run round-robin (copy, rewrite, mix, ... copy, ...), each round
    starting one operation later (round 2: rewrite, mix, ..., copy).

    Why: this VM's disk speed drifts several-fold within a minute; timing each operation in its own
    block compared different machines. Round-robin puts every ratio on the same conditions; the rotation
    keeps one operation from always running after the others' writes.
    """
    times = {k: [] for k in fns}
    keys = list(fns)
    for r in range(repeat):
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            fn = fns[k]
            setup, fn = fn if isinstance(fn, tuple) else (None, fn)
            if setup is not None:  # untimed: e.g. delete the previous run's output
                setup()
            c = os.times()
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
            c2 = os.times()
            CPU.setdefault(k, []).append((c2.user - c.user, c2.system - c.system))
    return {k: statistics.median(v) for k, v in times.items()}


# operation -> [(user, system) CPU seconds of this process, all threads] per run: the user time is the Python and
# Parquet work, the system time mostly the kernel creating files and folders (see the note in the results)
CPU: dict[str, list[tuple[float, float]]] = {}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", choices=["replicas", "corpora", "large"], default="replicas",
                    help="replicas: the demo copied N times (many ~37 KiB shards); corpora: a real build of "
                         "/work/shared/corpora (shards of 7 KiB to 1 MiB); large: that build with 36 variants "
                         "of every document (~220 MiB, shards up to ~40 MiB)")
    ap.add_argument("--replicas", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    large = args.layout == "large"
    corpora = args.layout in ("corpora", "large")  # large is the corpora build enlarged: same pipeline, factors
    big = large_build() if large else corpora_build() if corpora else enlarge(demo_build, args.replicas)
    load_before = os.getloadavg()
    lucie = "mix lucie" if corpora else "mix demo"  # the run with Lucie-like factors (> 1: repeats)
    shards = sorted(big.glob("sources/*/data/*/*.parquet"))
    in_bytes = sum(p.stat().st_size for p in shards)
    in_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in shards)
    out = WORK / "out"

    trash = WORK / "trash"  # previous outputs, moved aside untimed and deleted after the last timing
    shutil.rmtree(trash, ignore_errors=True)
    trash.mkdir()

    def clear(folder: Path):
        """Move the previous output aside instead of deleting it: deleting ~2,000 files and folders right before
        a timed run makes every file that run creates slower on this VM's ext4 (inode allocation scans past
        inodes freed in the last ~30 s), which is not what a user's mix build meets."""
        def move() -> None:
            if folder.exists():
                if large:  # a few dozen files: deleting them costs the next run little, and moved-aside
                    # outputs of ~400 MiB each filled the page cache until the input shards were evicted and
                    # every operation late in a round read them from disk (sendfile copies 4-6x slower)
                    shutil.rmtree(folder)
                else:
                    os.replace(folder, trash / f"{len(list(trash.iterdir())):04d}")
            os.sync()  # earlier runs' written bytes flushed now, not while the next run is timed
            if large:
                for p in shards:  # the page cache warm for the input, as the results say
                    with open(p, "rb") as fh:
                        while fh.read(1 << 24):
                            pass
        return move

    def copy():
        out.mkdir(parents=True)
        for i, p in enumerate(shards):
            shutil.copyfile(p, out / f"{i:05d}.parquet")

    def copy_tree():  # the same files into the build's own folder tree (one folder per source and language)
        for p in shards:
            d = out / p.relative_to(big)
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, d)

    def copy_mix_files():  # the mix's own output files (same names, folders and bytes) copied: its layout's floor
        for rel in ref_files:
            d = out / rel
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ref / rel, d)

    def rewrite():
        out.mkdir(parents=True)
        for i, p in enumerate(shards):
            pq.write_table(pq.read_table(p), out / f"{i:05d}.parquet", compression="zstd")

    tag = "large-" if large else "corpora-" if corpora else ""
    cfg_demo = load_mix_config(big, output=WORK / f"mix-{tag}demo")
    ones = Weights(factors={}, default_factor=1)
    cfg_one = cfg_demo.model_copy(update={"weights": ones, "output": WORK / f"mix-{tag}one"})
    cfg_keep = cfg_demo.model_copy(update={"repeat_ids": "keep", "output": WORK / f"mix-{tag}demo-keep"})
    keep = f"{lucie} (keep)"
    # the Lucie-factor mix made once, untimed: `copy (mix's files)` copies its files, the bytes and file system work
    # of the mix's output without the mix's own work (planning, splicing, re-encoding, checking)
    ref = WORK / f"mix-{tag}demo-ref"
    shutil.rmtree(ref, ignore_errors=True)
    build_mix(big, cfg_demo.model_copy(update={"output": ref}))
    ref_files = sorted(p.relative_to(ref) for p in ref.rglob("*.parquet"))
    ref_bytes = sum((ref / p).stat().st_size for p in ref_files)
    mix_files = "copy (mix's files)"
    # every operation starts from a missing output (its previous output is deleted untimed: on this VM's
    # disk removing a folder costs 2-4 ms); "mix x1, replacing" times the CLI's rerun case, which deletes
    # the previous mix (after swapping the new one in) inside build_mix
    results = interleaved({
        "copy": (clear(out), copy), "copy (folders)": (clear(out), copy_tree),
        mix_files: (clear(out), copy_mix_files), "rewrite": (clear(out), rewrite),
        "mix x1": (clear(cfg_one.output), lambda: build_mix(big, cfg_one)),
        "mix x1, replacing": lambda: build_mix(big, cfg_one),
        lucie: (clear(cfg_demo.output), lambda: build_mix(big, cfg_demo)),
        keep: (clear(cfg_keep.output), lambda: build_mix(big, cfg_keep))}, args.repeat)

    # the physical floor of any Parquet -> Parquet rewrite: zstd-decode the input's bytes and
    # zstd-encode them again, on one in-memory buffer (no Parquet, no files, no per-file overhead)
    codec = pa.Codec("zstd")
    tables = [pq.ParquetFile(p).read() for p in shards]
    raw = b"".join(t.column("text").combine_chunks().buffers()[2].to_pybytes() for t in tables)
    del tables
    packed = codec.compress(raw)
    results["zstd decode"] = timed(lambda: codec.decompress(packed, decompressed_size=len(raw)), args.repeat)
    results["zstd encode"] = timed(lambda: codec.compress(raw), args.repeat)
    floor = results["zstd decode"] + results["zstd encode"]
    # what a spliced repeat adds to a copy: hashing its bytes (mix_plan.json lists every shard's digest: xxh3_128
    # for bytes the mix made since 2026-11-28, sha256 before; sha256 timed for comparison)
    import hashlib

    import xxhash

    blobs = [p.read_bytes() for p in shards]
    results["sha256"] = timed(lambda: [hashlib.sha256(b).digest() for b in blobs], args.repeat)
    results["xxh3_128"] = timed(lambda: [xxhash.xxh3_128(b).digest() for b in blobs], args.repeat)
    del blobs
    runs = (("mix x1", f"mix-{tag}one"), ("mix x1, replacing", f"mix-{tag}one"), (lucie, f"mix-{tag}demo"),
            (keep, f"mix-{tag}demo-keep"))
    out_rows = {k: json.loads((WORK / d / "mix_plan.json").read_text())["totals"]["docs"] for k, d in runs}
    out_bytes = {k: sum(p.stat().st_size for p in (WORK / d).glob("data/**/*.parquet")) for k, d in runs}
    shutil.rmtree(out, ignore_errors=True)
    load_after = os.getloadavg()
    shutil.rmtree(trash, ignore_errors=True)

    mib = in_bytes / 2**20
    sizes = sorted(p.stat().st_size for p in shards)
    if large:
        command = f"--layout large --repeat {args.repeat}"
        what = (f"Input: the corpora build (`--layout corpora`) with {LARGE_COPIES} variants of every document "
                f"in the same shard (variant k: id `kNN/<id>`, letters of the text permuted by a permutation of "
                f"its own, so zstd finds no repeats; same paths, schema and zstd as the build wrote): "
                f"{len(shards):,} shards of {sizes[0] / 2**20:,.1f} MiB to {sizes[-1] / 2**20:,.1f} MiB "
                f"(median {sizes[len(sizes) // 2] / 2**20:,.1f} MiB), {in_rows:,} documents, "
                f"{mib:,.1f} MiB of Parquet (zstd).")
        lucie_what = ("`mix lucie`: Lucie-like factors " + ", ".join(f"{k} {v}" for k, v in CORPORA_FACTORS.items())
                      + ", every other key 1.")
    elif corpora:
        command = f"--layout corpora --repeat {args.repeat}"
        what = (f"Input: a real `lucie-data build` of the distinct text of /work/shared/corpora (every *.jsonl but "
                f"problematic/ and html_pages.jsonl, one source per file, `normalize` only, tasks 1, "
                f"max_rows_per_shard 100000; pipeline {(big.parent / 'pipeline.yaml').relative_to(ROOT)}): "
                f"{len(shards):,} shards of {sizes[0] / 2**10:,.0f} KiB to {sizes[-1] / 2**10:,.0f} KiB "
                f"(median {sizes[len(sizes) // 2] / 2**10:,.0f} KiB), {in_rows:,} documents, "
                f"{mib:,.1f} MiB of Parquet (zstd).")
        lucie_what = ("`mix lucie`: Lucie-like factors " + ", ".join(f"{k} {v}" for k, v in CORPORA_FACTORS.items())
                      + ", every other key 1.")
    else:
        command = f"--replicas {args.replicas} --repeat {args.repeat}"
        what = (f"Input: the demo build with every source copied {args.replicas}x: {len(shards):,} shards, "
                f"{in_rows:,} documents, {mib:,.1f} MiB of Parquet (zstd).")
        lucie_what = "`mix demo`: the demo's Lucie factors (epochs 1-3)."
    lucie_what += (f" `{keep}`: the same factors with `repeat_ids: keep` (ids unchanged, so a whole-epoch repeat of a "
                   "shard copied whole is a byte copy `…_e<k>.parquet` of its first copy; fractional selections "
                   "and shards not copied whole still re-encoded); same rows out as with `repeat_ids: suffix`.")
    lines = [
        "# Mix build throughput" + (" (large shards: the corpora build x36)" if large else
                                     " (realistic build: /work/shared/corpora)" if corpora else ""),
        "",
        f"`.venv/bin/python benchmarks/mix_bench.py {command}` "
        f"({time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, pyarrow {pa.__version__}; median of {args.repeat}, warm page cache, "
        f"noisy shared VM; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after).",
        "",
        what,
        "",
        "| operation | seconds | MiB in | MiB out | MiB/s of input | MiB/s of output | vs copy (input bytes) "
        "| vs copy (output bytes) | vs rewrite | rows out | CPU user s | CPU sys s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    copy_rate = in_bytes / results["copy"]  # the copy writes what it reads: one rate for both
    for k, s in results.items():
        if k.startswith("zstd") or k in ("sha256", "xxh3_128"):
            continue
        rows = out_rows[lucie] if k == mix_files else out_rows.get(k, in_rows)
        assert k != keep or rows == out_rows[lucie], (rows, out_rows[lucie])  # same rows, other ids
        ib = ref_bytes if k == mix_files else in_bytes
        ob = ref_bytes if k == mix_files else out_bytes.get(k, in_bytes)
        lines.append(f"| {k} | {s:.3f} | {ib / 2**20:,.1f} | {ob / 2**20:,.1f} | {ib / 2**20 / s:,.1f} "
                     f"| {ob / 2**20 / s:,.1f} | {ib / s / copy_rate * 100:.0f} % | {ob / s / copy_rate * 100:.0f} % "
                     f"| {results['rewrite'] / s * 100:.0f} % | {rows:,} "
                     f"| {statistics.median(u for u, _ in CPU[k]):.2f} | {statistics.median(x for _, x in CPU[k]):.2f} |")
    lines += [
        "",
        "- `copy`: shutil.copyfile of the input shards into one folder (no decoding); the reference of every "
        "ratio. `copy (folders)`: the same into the build's folder tree (a folder per source and language, as a mix "
        f"has). `{mix_files}`: the files of the `{lucie}` mix (made once, untimed), copied the same way into the "
        "same names and folders: the bytes and file-system work of the mix's output alone (its `MiB in` is that "
        "output). `rewrite`: pyarrow read + zstd write of each shard. `mix x1`: `build_mix` with every factor 1 (same "
        f"rows out). {lucie_what} Each of these starts with its previous output moved aside, untimed (the moved "
        "folders are deleted after the last timing: deleting them just before a timed run slowed that run's file "
        "creation, see the CPU note) and `sync` run, so no earlier run's bytes are written back during it"
        + ("; here, with a few dozen large files, the previous output is deleted instead (moved-aside outputs of "
           "~400 MiB filled the page cache until the input was evicted) and the input shards are read once more, "
           "untimed, so the page cache is warm. " if large else ". ") +
        "`mix x1, replacing`: `mix x1` over the previous mix, as a rerun of `lucie-data mix build` does: the "
        "new folder is swapped in, then the old one deleted, timed (this VM's disk takes 2-4 ms per folder "
        "removed, so this row is mostly the folder count).",
        "- `build_mix` copies bytes where the output rows equal the input rows: a build shard whose rows are all "
        "allowed and in one output folder is copied whole as the first copy of its subset, with `sendfile` "
        "and the sha256 the build's manifest.json recorded (size and mtime checked; hashed while copying "
        "otherwise); its whole-epoch repeats (copies k >= 2) are `…_e<k>.parquet` files made from that first copy: "
        "with `repeat_ids: suffix` (default) spliced (the first copy mapped, its `id` column alone re-encoded as "
        "`id#k`, every other column chunk copied byte for byte, its xxh3_128 computed while writing; "
        "src/lucie_data/mix/splice.py), with `repeat_ids: keep` byte copies of it (same hash); a repeat of a "
        "trusted first copy is checked from the same summary. Fractional selections and mixed-licence shards are "
        "re-encoded (zstd Parquet, in a second thread) and read back. Counts and licence decisions come from the per-shard "
        "summaries the build's manifest.json records (rows and tokens per source x language x licence, flagged "
        "documents, schema fingerprint; trusted only while a shard keeps its size and is not newer than the "
        "manifest, else the shard is scanned); the licence check reads back every re-encoded file and takes a "
        "byte copy's rows from the summary of the shard it copied; then mix_plan.json and the card. "
        f"Times run round-robin (copy, copy (folders), {mix_files}, rewrite, mix x1, mix x1 replacing, "
        f"{lucie}, {keep}, repeat) because this VM's disk speed drifts several-fold within a minute.",
        "- The mix's own Python (the `CPU user s` above, on the main thread but for the copies) runs before the "
        "copies (sources, listing, manifest trust checks, plan) and after them (listing and checking the written "
        "folder, mix_plan.json, card); it keys every shard by its path string, not a `pathlib.Path` (~7,000 "
        "`Path` objects were ~30 % of it) and writes mix_plan.json with the C JSON encoder (one line per shard, "
        "subset and source; `indent=` forces the pure-Python encoder). Tried and dropped (no gain measured on "
        "this VM): listing the shards in a second thread while the sources are read, and encoding mix_plan.json's "
        "fixed parts and the card's front matter while the last copies run (the GIL: a thread in Python makes "
        "the copying threads wait up to 5 ms each time they leave a system call).",
        "- `CPU user s` / `CPU sys s`: median CPU seconds of this process (all threads) per run. On this VM the "
        "system time is mostly ext4 allocating inodes: `perf` shows `ext4_create` -> `recently_deleted` scanning "
        "past inodes freed in the last ~30 s (by this benchmark's deletions and by every other process on the "
        "disk), so creating a file or a folder costs from ~20 us to ~1 ms depending on what was deleted just "
        "before; that is the drift. A mix creates one inode per file and one per output folder (1,320 + 720 for "
        "`--replicas 60`), the flat copy one per file only; the user time is what the mix's own code costs.",
        f"- Floor of a re-encode, same run: zstd-decoding the {len(raw) / 2**20:,.1f} MiB of text held in these "
        f"shards takes {results['zstd decode']:.3f} s and encoding it again {results['zstd encode']:.3f} s "
        f"({floor:.3f} s = {results['copy'] / floor * 100:.0f} % of the copy, before any Parquet or file work): "
        "the bound of the fractional selections, which must be re-encoded. A spliced repeat costs about a copy "
        f"plus a hash of its bytes: hashing the input shards' {mib:,.1f} MiB in memory took "
        f"{results['xxh3_128']:.3f} s with xxh3_128 ({results['copy'] / results['xxh3_128'] * 100:.0f} % of the copy's "
        f"throughput), {results['sha256']:.3f} s with sha256 ({results['copy'] / results['sha256'] * 100:.0f} %), what "
        "mixes before 2026-11-28 recorded.",
        "- Throughput ratios: `vs copy (input bytes)` = (input bytes / mix seconds) / (input bytes / copy seconds), "
        "the strict reading of the target (the same Parquet bytes in); `vs copy (output bytes)` = (bytes the mix "
        "wrote / mix seconds) / copy throughput, which credits a mix with repeats for writing more than it read "
        "(for `mix x1` both are the same up to the few bytes re-encoded files differ by).",
        "- Target (>= 50 % of the copy's throughput): "
        + "; ".join(f"{k} {'MEETS it' if results[k] <= results['copy'] * 2 else 'does NOT meet it'} on input bytes "
                    f"({results['copy'] / results[k] * 100:.0f} %) and "
                    f"{'MEETS it' if out_bytes[k] / results[k] >= 0.5 * copy_rate else 'does NOT meet it'} on output "
                    f"bytes ({out_bytes[k] / results[k] / copy_rate * 100:.0f} %)"
                    for k in ("mix x1", "mix x1, replacing", lucie, keep)) + ".",
        f"- Against `{mix_files}` (the same output, copied): `{lucie}` runs at "
        f"{results[mix_files] / results[lucie] * 100:.0f} % of its throughput and `{keep}` at "
        f"{results[mix_files] / results[keep] * 100:.0f} %; that copy itself runs at "
        f"{ref_bytes / results[mix_files] / copy_rate * 100:.0f} % of the flat copy's throughput (output bytes), "
        "the part of the gap that the output's layout (its files and folders) makes, whatever the mix does.",
        "",
    ]
    text = "\n".join(lines)
    name = "mix_large.md" if large else "mix_corpora.md" if corpora else "mix.md"
    (ROOT / "benchmarks" / "results" / name).write_text(text, encoding="utf-8")
    print(text)

if __name__ == "__main__":
    main()
