"""``<out>/manifest.json``: what went in and what came out, with content hashes, for audits and rebuilds."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import __version__


def sha256_file(path: Path, bufsize: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            h.update(chunk)
    return h.hexdigest()


def sha256_files(paths: list[Path]) -> list[str]:
    """:func:`sha256_file` of each path, a few at a time: hashlib releases the GIL on large reads, and
    the cores are idle when the manifest is written (half the hashing time on 2 cores, measured)."""
    if len(paths) < 2:
        return [sha256_file(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, len(paths), os.cpu_count() or 1)) as ex:
        return list(ex.map(sha256_file, paths))


class HashCache:
    """SHA-256 of inputs cached by (path, size, mtime) so resumed builds don't re-hash terabytes."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}

    @staticmethod
    def key(p: Path) -> str:
        st = p.stat()
        return f"{p}|{st.st_size}|{st.st_mtime_ns}"

    def get(self, p: Path) -> str:
        key = self.key(p)
        if key not in self.data:
            self.data[key] = sha256_file(p)
        return self.data[key]

    def prefetch(self, paths: list[Path]) -> None:
        """Hash the paths not cached yet, in parallel (:func:`sha256_files`)."""
        todo = {}
        for p in paths:
            key = self.key(p)
            if key not in self.data:
                todo.setdefault(key, p)
        for key, digest in zip(todo, sha256_files(list(todo.values()))):
            self.data[key] = digest

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, sort_keys=True))


def shard_entries(out: Path, folder_glob: str, summaries: bool = False) -> list[dict]:
    """One entry per shard: path, rows, bytes, sha256; with ``summaries``, also the ``summary`` the mix uses.

    Why a summary (kept shards only): ``lucie-data mix`` plans from rows and tokens per language x licence and
    checks licences on what it writes; recording them here, once, spares every mix a scan of every shard
    and a read-back of the shards it copies byte for byte (:func:`lucie_data.mix.build.shard_summaries`).
    The mix trusts an entry only while the shard keeps this size and is not modified after the manifest.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(out.glob(folder_glob))
    entries = []
    for f, digest in zip(files, sha256_files(files)):
        try:
            rows = pq.ParquetFile(f).metadata.num_rows
        except (pa.ArrowException, OSError) as err:  # damaged since its source was built (--only of another)
            from .buildfiles import damaged_shard_message
            from .errors import BuildFileError

            raise BuildFileError(damaged_shard_message(f, err)) from None
        entries.append({"path": f.relative_to(out).as_posix(), "rows": rows, "bytes": f.stat().st_size,
                        "sha256": digest})
    if summaries and files:
        from .mix.build import shard_summaries

        for e, summary in zip(entries, shard_summaries(files)):
            e["summary"] = summary
    return entries


def models_used(pipe) -> list[dict]:
    """Models and tool data the build's stages load, with licences (stages declare them via ``models()``)."""
    seen: dict[str, dict] = {}
    for src in pipe.sources:
        for st in src.recipe.stages:
            for m in getattr(st, "models", lambda: [])():
                seen.setdefault(m["name"], m)
    return [seen[k] for k in sorted(seen)]


def write_manifest(out: Path, pipe, result) -> dict:
    cache = HashCache(out / ".cache" / "sha256.json")
    sources = []
    built = {s.name: s for s in result.sources}
    cache.prefetch([p for src in pipe.sources for p in src.inputs
                    if src.name in built or (out / "sources" / src.name / "ledger.json").exists()])
    for src in pipe.sources:
        if src.name in built:
            led = built[src.name].ledger
        else:  # not part of this run (--only): describe it if an earlier run built it
            from .ledger import LedgerUnreadable, read_ledger

            try:
                led = read_ledger(out / "sources" / src.name / "ledger.json")
            except LedgerUnreadable:  # as if unfinished: the next build of that source rebuilds it
                led = None
            if led is None:
                continue
        sources.append({
            "name": src.name,
            "recipe_file": str(src.file),
            "recipe_sha256": sha256_file(src.file),
            "resolved_recipe_sha256": src.recipe_hash(),
            "license": src.recipe.license,
            "redistributable": src.recipe.redistributable,
            "inputs": [{"path": str(p), "size": p.stat().st_size, "sha256": cache.get(p)} for p in src.inputs],
            "records_read": led["records_read"], "docs_kept": led["docs_kept"], "docs_removed": led["docs_removed"],
        })
    cache.save()
    manifest = {
        "lucie_data_version": __version__,
        "layout_version": 1,
        "pipeline": {"name": pipe.recipe.name, "file": str(pipe.file) if pipe.file else None,
                     "sha256": sha256_file(pipe.file) if pipe.file else None,
                     "resolved_sha256": pipe.pipeline_hash()},
        "seed": pipe.recipe.seed,
        "tasks": pipe.recipe.executor.tasks,
        "license_policy": json.loads(pipe.recipe.license_policy.model_dump_json()) if pipe.recipe.license_policy else None,
        "sources": sources,
        "models": models_used(pipe),
        "shards": shard_entries(out, "sources/*/data/**/*.parquet", summaries=True),
        "removed_shards": shard_entries(out, "sources/*/removed/*/*.parquet"),
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False))
    os.replace(tmp, out / "manifest.json")
    return manifest
