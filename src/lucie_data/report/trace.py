"""Lineage of one document: recipe and hash, input file and record, annotations, licence, fate.

Lookups are lazy polars scans filtered on ``id`` (predicate pushdown on Parquet statistics), so tracing
stays fast on large builds.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..buildfiles import damaged_shard_message, first_unreadable, read_manifest, read_source_file, rebuild_hint
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


def _all_ids(build_dir: Path):
    """A lazy frame of every distinct id of the build's shards (read once: a damaged file fails now, named)."""
    import polars as pl

    groups = [sorted((build_dir / "sources").glob(g)) for g in ("*/data/**/*.parquet", "*/removed/*/*.parquet")]
    scans = [pl.scan_parquet(files).select("id") for files in groups if files]  # kept/removed schemas differ
    if not scans:
        return None
    try:
        return pl.concat(scans).unique().collect().lazy()
    except Exception:  # noqa: BLE001 -- re-raised when no single file is to blame
        bad = first_unreadable([f for files in groups for f in files], ["id"])
        if bad is not None:
            raise BuildFileError(damaged_shard_message(*bad)) from None
        raise


def _suggest(build_dir: Path, doc_id: str, limit: int = 5) -> tuple[str, list[str]]:
    """(kind, ids) for a did-you-mean: ``"suffix"`` when ``doc_id`` is an original id (the build's ids are
    ``<source>/<original id>``: ids ending ``/<doc_id>``, or ``<source>/<doc_id>…``), else ``"prefix"``: ids
    sharing the longest prefix with ``doc_id``."""
    import polars as pl

    ids = _all_ids(build_dir)
    if ids is None:
        return "prefix", []
    col = pl.col("id")
    for match in (col.str.ends_with("/" + doc_id),
                  col.str.split_exact("/", 1).struct.field("field_1").str.starts_with(doc_id)):
        got = ids.filter(match).sort("id").head(limit).collect()["id"].to_list()
        if got:
            return "suffix", got
    for n in range(len(doc_id), 0, -1):
        prefix = doc_id[:n]
        got = ids.filter(col.str.starts_with(prefix)).sort("id").head(limit).collect()["id"].to_list()
        if got:
            return "prefix", got
        if n < len(doc_id) - 40:  # nothing shares a meaningful prefix
            break
    return "prefix", []


def _damage(build_dir: Path, sdirs: list[Path], manifest: dict) -> tuple[str, str] | None:
    """(source, why) of the first finished source among ``sdirs`` with a shard missing on disk, else None."""
    from .aggregate import missing_shards

    for sd in sdirs:
        ledger = read_source_file(sd, "ledger.json")
        if ledger is None and not any(e["path"].startswith(f"sources/{sd.name}/") for e in manifest.get("shards") or []):
            continue  # an unfinished source: nothing to compare with
        why = missing_shards(build_dir, sd.name, manifest, ledger)
        if why:
            return sd.name, why
    return None


def _damage_message(build_dir: Path, doc_id: str, source: str, why: str) -> str:
    return (f"document {doc_id!r} is not in the shards left of build {build_dir}, which is damaged: {why} "
            f"(the document may be there); {rebuild_hint(build_dir, source)}")


def trace(build_dir: str | Path, doc_id: str) -> dict:
    """Everything the build knows about ``doc_id``; raises InputError (with suggestions) if it is not there."""
    import polars as pl

    from .aggregate import require_build

    build_dir = Path(build_dir)
    require_build(build_dir)
    source = doc_id.split("/", 1)[0]
    sdirs = [build_dir / "sources" / source] if (build_dir / "sources" / source).is_dir() else \
        sorted(p for p in (build_dir / "sources").glob("*") if p.is_dir())
    kept, removed = [], []
    for sd in sdirs:
        kept += _scan_id(sorted(sd.glob("data/**/*.parquet")), doc_id)
        removed += _scan_id(sorted(sd.glob("removed/*/*.parquet")), doc_id)
    if not kept and not removed:
        own_source = len(sdirs) == 1 and sdirs[0].name == source
        damaged = _damage(build_dir, sdirs, read_manifest(build_dir) or {})
        if damaged and own_source:  # its document may be in the missing shard: say so, not "did you mean"
            raise BuildFileError(_damage_message(build_dir, doc_id, *damaged))
        kind, sugg = _suggest(build_dir, doc_id)
        if kind == "suffix":
            hint = (f"; ids are <source>/<original id>: the full id is {sugg[0]}" if len(sugg) == 1 else
                    "; ids are <source>/<original id>: did you mean " + ", ".join(sugg))
            if damaged:  # others may be in the missing shard
                hint += f". Note: the build is damaged: {damaged[1]}; {rebuild_hint(build_dir, damaged[0])}"
        elif damaged:
            raise BuildFileError(_damage_message(build_dir, doc_id, *damaged))
        else:
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
    """The human-readable trace; a field the document does not have (no title, url, date…) is left out, not
    printed as ``None``."""
    def field(label: str, value) -> list[str]:
        return [] if value is None or value == "" else [f"  {label:<14} {value}"]

    L = [f"document  {t['id']}", f"status    {t['status'].upper()}", "", "lineage",
         *field("source", t["source"]), *field("recipe", t["recipe_file"]), *field("recipe sha256", t["recipe_sha256"]),
         *field("input file", t["source_file"]), *field("record", t["source_record"]), "",
         "licence", *field("license", t["license"]), *field("evidence", t["license_evidence"]),
         *field("as written", t.get("license_raw")), *field("detected", t.get("license_detected")),
         "", "document", *field("language", t["language"]), *field("title", t["title"]), *field("url", t["url"]),
         *field("date", t.get("date")), *field("tokens", t["n_tokens"])]
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
