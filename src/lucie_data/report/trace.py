"""Lineage of one document: recipe and hash, input file and record, annotations, licence, fate.

Lookups are lazy polars scans filtered on ``id`` (predicate pushdown on Parquet statistics), so tracing
stays fast on large builds.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..buildfiles import damaged_shard_message, first_unreadable, read_manifest, read_source_file
from ..errors import BuildFileError, InputError


def _scan_id(files: list[Path], doc_id: str):
    """Rows with this id in these files, with the file path and the row index inside that file."""
    import polars as pl

    hits = []
    for f in files:
        try:
            df = (pl.scan_parquet(f).with_row_index("_row").filter(pl.col("id") == doc_id)
                  .drop("text").collect())
        except Exception as err:  # noqa: BLE001 -- whatever makes the file unreadable: name it and the fix
            raise BuildFileError(damaged_shard_message(f, err)) from None
        for row in df.iter_rows(named=True):
            hits.append((f, row))
    return hits


def _suggest(build_dir: Path, doc_id: str, limit: int = 5) -> list[str]:
    """Ids sharing the longest prefix with ``doc_id`` (did-you-mean)."""
    import polars as pl

    groups = [sorted((build_dir / "sources").glob(g)) for g in ("*/data/**/*.parquet", "*/removed/*/*.parquet")]
    scans = [pl.scan_parquet(files).select("id") for files in groups if files]  # kept/removed schemas differ
    if not scans:
        return []
    ids = pl.concat(scans)
    try:
        ids = ids.unique().collect().lazy()  # read once here: a damaged file fails now, with its name
    except Exception:  # noqa: BLE001 -- re-raised when no single file is to blame
        bad = first_unreadable([f for files in groups for f in files], ["id"])
        if bad is not None:
            raise BuildFileError(damaged_shard_message(*bad)) from None
        raise
    for n in range(len(doc_id), 0, -1):
        prefix = doc_id[:n]
        got = ids.filter(pl.col("id").str.starts_with(prefix)).unique().sort("id").head(limit).collect()["id"].to_list()
        if got:
            return got
        if n < len(doc_id) - 40:  # nothing shares a meaningful prefix
            break
    return []


def trace(build_dir: str | Path, doc_id: str) -> dict:
    """Everything the build knows about ``doc_id``; raises InputError (with suggestions) if it is not there."""
    import polars as pl

    build_dir = Path(build_dir)
    if not (build_dir / "sources").is_dir():
        raise InputError(f"{build_dir}: not a build folder (no sources/); run `lucie-data build` first")
    source = doc_id.split("/", 1)[0]
    sdirs = [build_dir / "sources" / source] if (build_dir / "sources" / source).is_dir() else \
        sorted(p for p in (build_dir / "sources").iterdir() if p.is_dir())
    kept, removed = [], []
    for sd in sdirs:
        kept += _scan_id(sorted(sd.glob("data/**/*.parquet")), doc_id)
        removed += _scan_id(sorted(sd.glob("removed/*/*.parquet")), doc_id)
    if not kept and not removed:
        sugg = _suggest(build_dir, doc_id)
        hint = ("; did you mean: " + ", ".join(sugg)) if sugg else \
            "; ids look like <source>/<original id> (see the `id` column of the shards)"
        raise InputError(f"document {doc_id!r} is not in build {build_dir}{hint}")
    f, row = (kept or removed)[0]
    sd = f.parent  # the source folder: the child of sources/ that holds this shard
    while sd.parent.name != "sources" and sd.parent != sd:
        sd = sd.parent
    meta = json.loads(row.get("metadata") or "{}")
    manifest = read_manifest(build_dir) or {}
    msrc = next((s for s in manifest.get("sources", []) if s["name"] == sd.name), {})
    resolved = read_source_file(sd, "recipe.resolved.json") or {}
    out = {
        "id": doc_id, "source": row.get("source") or sd.name,
        "recipe_file": msrc.get("recipe_file") or resolved.get("recipe_file"),
        "recipe_sha256": msrc.get("recipe_sha256"), "resolved_recipe_sha256": msrc.get("resolved_recipe_sha256"),
        "source_file": meta.get("source_file"), "source_record": meta.get("source_record"),
        "language": row.get("language"), "license": row.get("license"), "license_evidence": row.get("license_evidence"),
        "license_raw": meta.get("license_raw"), "license_detected": meta.get("license_detected"),
        "title": row.get("title"), "url": row.get("url"), "date": row.get("date"), "n_tokens": row.get("n_tokens"),
        "metadata": meta,
        "annotations": {k: v for k, v in sorted(meta.items()) if k.startswith(("lang", "quality", "gopher", "c4",
                                                                              "fineweb", "license_rule", "modified",
                                                                              "license_warning", "perplexity"))},
        "copies": len(kept) + len(removed),
    }
    if kept:
        out["status"] = "kept"
        out["output"] = [{"shard": str(p.relative_to(build_dir)), "row": int(r["_row"])} for p, r in kept]
        mix_files = sorted((build_dir / "mix").glob("**/*.parquet")) if (build_dir / "mix").is_dir() else []
        if mix_files:
            plan_file = build_dir / "mix" / "mix_plan.json"
            try:  # how the mix names repeats (mixes without the key: suffix)
                mode = json.loads(plan_file.read_text(encoding="utf-8")).get("repeat_ids", "suffix")
            except (OSError, ValueError, AttributeError):
                mode = "suffix"
            ids = pl.col("id")
            match = ids == doc_id
            if mode == "suffix":  # copy k >= 2 is `id#k` (mix_plan.json's id_scheme)
                tail = ids.str.strip_prefix(doc_id + "#")
                match = match | (ids.str.starts_with(doc_id + "#") & tail.str.contains(r"^[0-9]+$"))
            try:
                n = pl.scan_parquet(mix_files).filter(match).select(pl.len()).collect().item()
            except Exception:  # noqa: BLE001 -- a damaged mix shard: name it and the fix
                bad = first_unreadable(mix_files, ["id"])
                if bad is not None:
                    raise BuildFileError(damaged_shard_message(*bad)) from None
                raise
            out["mix"] = {"plan": plan_file.exists(), "times": int(n)}
    else:
        out["status"] = "removed"
    if removed:
        out["removed"] = [{"stage": r["removal_stage"], "reason": r["removal_reason"],
                           "shard": str(p.relative_to(build_dir)), "row": int(r["_row"]),
                           "duplicate_of": json.loads(r.get("metadata") or "{}").get("duplicate_of")} for p, r in removed]
    return out


def format_trace(t: dict) -> str:
    L = [f"document  {t['id']}", f"status    {t['status'].upper()}", "",
         "lineage",
         f"  source         {t['source']}",
         f"  recipe         {t['recipe_file']}",
         f"  recipe sha256  {t['recipe_sha256']}",
         f"  input file     {t['source_file']}",
         f"  record         {t['source_record']}", "",
         "licence",
         f"  license        {t['license']}",
         f"  evidence       {t['license_evidence']}"]
    if t.get("license_raw") is not None:
        L.append(f"  as written     {t['license_raw']}")
    if t.get("license_detected"):
        L.append(f"  detected       {t['license_detected']}")
    L += ["", "document",
          f"  language       {t['language']}", f"  title          {t['title']}", f"  url            {t['url']}",
          f"  tokens         {t['n_tokens']}"]
    if t["annotations"]:
        L += ["", "annotations"] + [f"  {k:<14} {json.dumps(v, ensure_ascii=False)}" for k, v in t["annotations"].items()]
    L += ["", "metadata"] + [f"  {k:<14} {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(t["metadata"].items())]
    L.append("")
    if t["status"] == "kept":
        for o in t["output"]:
            L.append(f"output    {o['shard']} row {o['row']}")
        if "mix" in t:
            L.append(f"mix       {t['mix']['times']} time(s) in the mix")
    for r in t.get("removed", []):
        dup = f" (duplicate of {r['duplicate_of']})" if r.get("duplicate_of") else ""
        L.append(f"removed   at stage {r['stage']}: {r['reason']}{dup}")
        L.append(f"          {r['shard']} row {r['row']}")
    return "\n".join(L) + "\n"
