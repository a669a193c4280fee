"""The per-source ledger: documents and characters in, kept and removed (per reason) at every stage.

Entries and exits are counted by the pipeline (datatrove stats of ``StageEnter``/``StageExit``); removals
are counted from the removed shards on disk and kept documents from the data shards. The three are
independent, so ``in = kept + removed`` is a real check, not an identity.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path


class LedgerUnreadable(ValueError):
    """A ``ledger.json`` that exists but is not a ledger (cut short, edited by hand, another format)."""


LEDGER_FIX = "rerun `lucie-data build`: it rebuilds a source whose ledger is damaged"


def read_ledger(path: Path) -> dict | None:
    """A finished source's ledger: None when there is no ``ledger.json`` (the source did not finish), the
    parsed ledger when it is one, :class:`LedgerUnreadable` (what is wrong, where) otherwise.

    Why not ``json.loads`` at each reader: the build, the manifest and the mix each read it, and a damaged file
    gave each a traceback (rule 3). The build rebuilds such a source; the mix names the file and the fix.
    """
    try:
        raw = Path(path).read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return parse_ledger(raw, path)


def parse_ledger(raw: bytes | str, path: str | Path) -> dict:
    """The ledger in ``raw`` (read from ``path``), checked for what the build and the mix read of it
    (:class:`lucie_data.buildfiles.LedgerHead`), or :class:`LedgerUnreadable`."""
    from .buildfiles import LedgerHead, parse_json_text

    return parse_json_text(raw, path, "a lucie-data ledger", LEDGER_FIX, LedgerHead, LedgerUnreadable)


def _stat_total(v) -> int:
    return int(v["total"]) if isinstance(v, dict) else int(v)


def read_stage_counts(source_dir: Path) -> dict[str, dict[str, int]]:
    """Sum ``enter:<stage>``/``exit:<stage>`` counters over every task of every segment."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in sorted((source_dir / "logs").glob("seg*/stats/*.json")):
        for step in json.loads(f.read_text()):
            name = step.get("name", "").split(": ", 1)[-1]
            if name.startswith(("enter:", "exit:")):
                side, sid = name.split(":", 1)
                for key in ("docs", "chars"):
                    if key in step.get("stats", {}):
                        counts[sid][f"{side}_{key}"] += _stat_total(step["stats"][key])
            # a step that turns one document into several (language_id chunk split) counts the new ones
            # as `created:<stage>`; the stage then balances as in + created = kept + removed
            for key, v in step.get("stats", {}).items():
                if key.startswith("created:"):
                    counts[key.split(":", 1)[1]]["created_docs"] += _stat_total(v)
    return counts


def removed_counts(source_dir: Path):
    """(stage, reason) -> docs, chars, read from the removed shards; plus file-level read errors."""
    import polars as pl

    files = sorted((source_dir / "removed").glob("*/*.parquet"))
    per: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    quarantined: list[dict] = []
    if not files:
        return per, quarantined
    # one lazy scan over all shards (read in parallel, text decoded once for both queries): about half
    # the time of reading them one by one (measured); same rows in the same order
    lf = pl.scan_parquet([str(f) for f in files], glob=False).select("text", "metadata", "removal_stage",
                                                                    "removal_reason")
    agg = (lf.group_by("removal_stage", "removal_reason")
           .agg(pl.len().alias("docs"), pl.col("text").str.len_chars().sum().alias("chars"))
           .sort("removal_stage", "removal_reason"))
    from .steps.readers import FILE_LEVEL_REASONS  # here: the mix reads ledgers without importing datatrove

    q = lf.filter(pl.col("removal_reason").is_in(list(FILE_LEVEL_REASONS))).select("metadata", "removal_reason")
    agg, q = pl.collect_all([agg, q])
    for row in agg.iter_rows(named=True):
        per[row["removal_stage"]][row["removal_reason"]] = {"docs": int(row["docs"]), "chars": int(row["chars"] or 0)}
    for row in q.iter_rows(named=True):
        meta = json.loads(row["metadata"])
        quarantined.append({"file": meta.get("source_file"), "reason": row["removal_reason"],
                            "detail": meta.get("read_error_detail")})
    quarantined.sort(key=lambda d: (str(d["file"]), d["reason"]))
    return per, quarantined


def kept_counts(source_dir: Path) -> dict:
    import polars as pl

    files = sorted((source_dir / "data").glob("**/*.parquet"))
    if not files:
        return {"docs": 0, "chars": 0, "by_language": {}, "shards": 0, "duplicate_ids": 0}
    df = pl.scan_parquet([str(f) for f in files], glob=False).select("id", "text", "language").collect()
    by_lang = (df.group_by("language").agg(pl.len().alias("docs"), pl.col("text").str.len_chars().sum().alias("chars"))
               .sort("language"))
    return {"docs": df.height, "chars": int(df["text"].str.len_chars().sum() or 0), "shards": len(files),
            "duplicate_ids": df.height - df["id"].n_unique(),
            "by_language": {str(r["language"]): {"docs": int(r["docs"]), "chars": int(r["chars"])}
                            for r in by_lang.iter_rows(named=True)}}


def compute_ledger(source_dir: Path, src, stage_ids: list[str]) -> dict:
    counts = read_stage_counts(source_dir)
    removed, quarantined = removed_counts(source_dir)
    kept = kept_counts(source_dir)
    stages = []
    imbalances = []
    prev_kept = None
    # stage_ids: ids (typed from the recipe) or (id, type) pairs, which include the implicit licence gate
    pairs = list(stage_ids) if stage_ids and isinstance(stage_ids[0], tuple) \
        else [(s, t.type) for s, t in zip(stage_ids, src.recipe.stages)]
    for sid, stype in [("read", "read")] + pairs:
        c = counts.get(sid, {})
        rem = removed.get(sid, {})
        entry = {"stage": sid, "type": stype,
                 "docs_in": c.get("enter_docs", 0), "chars_in": c.get("enter_chars", 0),
                 "docs_kept": c.get("exit_docs", 0), "chars_kept": c.get("exit_chars", 0),
                 "docs_removed": sum(r["docs"] for r in rem.values()),
                 "chars_removed": sum(r["chars"] for r in rem.values()),
                 "removed": rem}
        created = c.get("created_docs", 0)
        if created:
            entry["docs_created"] = created
        if entry["docs_in"] + created != entry["docs_kept"] + entry["docs_removed"]:
            imbalances.append(f"stage {sid}: in {entry['docs_in']}{f' + created {created}' if created else ''} "
                              f"!= kept {entry['docs_kept']} + removed {entry['docs_removed']}")
        if prev_kept is not None and prev_kept != entry["docs_in"]:
            imbalances.append(f"stage {sid}: in {entry['docs_in']} != previous stage's kept {prev_kept}")
        prev_kept = entry["docs_kept"]
        stages.append(entry)
    if prev_kept is not None and prev_kept != kept["docs"]:
        imbalances.append(f"output: {kept['docs']} rows in data/ != last stage's kept {prev_kept}")
    unknown_stages = set(removed) - {s["stage"] for s in stages}
    for s in sorted(unknown_stages):
        imbalances.append(f"removed/{s}/ does not belong to any stage of the recipe")
    records_read = stages[0]["docs_in"]
    total_removed = sum(s["docs_removed"] for s in stages)
    total_created = sum(s.get("docs_created", 0) for s in stages)
    return {
        "source": src.name,
        "records_read": records_read,
        "docs_kept": kept["docs"],
        "chars_kept": kept["chars"],
        "docs_removed": total_removed,
        "kept_by_language": kept["by_language"],
        "data_shards": kept["shards"],
        "stages": stages,
        "read_removed": {k: v["docs"] for k, v in removed.get("read", {}).items()},
        "quarantined_files": quarantined,
        # the same input id on two different records: both are kept (texts differ), ids are not unique
        "duplicate_ids": kept["duplicate_ids"],
        **({"docs_created": total_created} if total_created else {}),
        "balanced": not imbalances and records_read + total_created == kept["docs"] + total_removed,
        "imbalances": imbalances,
    }
