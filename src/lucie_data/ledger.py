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
                elif key.startswith("skipped_code:"):  # code a prose quality filter kept unjudged (language: auto)
                    counts[key.split(":", 1)[1]]["skipped_code"] += _stat_total(v)
                elif key.startswith("no_signature:"):  # a minhash_dedup compared with nothing (shorter than a shingle)
                    counts[key.split(":", 1)[1]]["no_signature"] += _stat_total(v)
    return counts


def removed_counts(source_dir: Path):
    """(stage, reason) -> docs, chars, read from the removed shards; plus file-level read errors."""
    import polars as pl

    files = sorted((source_dir / "removed").glob("*/*.parquet"))
    per: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    quarantined: list[dict] = []
    if not files:
        return per, quarantined
    # one lazy scan over all shards (read in parallel): about half the time of reading them one by one (measured)
    lf = pl.scan_parquet([str(f) for f in files], glob=False).select("text", "metadata", "removal_stage",
                                                                    "removal_reason")
    agg = (lf.group_by("removal_stage", "removal_reason")
           .agg(pl.len().alias("docs"), pl.col("text").str.len_chars().sum().alias("chars"))
           .sort("removal_stage", "removal_reason"))
    from .steps.readers import FILE_LEVEL_REASONS  # here: the mix reads ledgers without importing datatrove

    # once per file and reason, with the first row's detail: a corrupt Parquet row group removes each of its rows, and
    # two corrupt row groups (two details) listed the file twice (code review); read in polars, not one json.loads
    # per removed row (a large corrupt row group)
    meta = pl.col("metadata")
    q = (lf.filter(pl.col("removal_reason").is_in(list(FILE_LEVEL_REASONS)))
         .select(meta.str.json_path_match("$.source_file").alias("file"), pl.col("removal_reason").alias("reason"),
                 meta.str.json_path_match("$.read_error_detail").alias("detail"))
         .unique(subset=["file", "reason"], keep="first", maintain_order=True))
    # the counts row group by row group, as kept_counts; the quarantined files (no text read) in memory, where "the
    # first row's detail" is the first in file order
    agg, q = agg.collect(engine="streaming"), q.collect()
    for row in agg.iter_rows(named=True):
        per[row["removal_stage"]][row["removal_reason"]] = {"docs": int(row["docs"]), "chars": int(row["chars"] or 0)}
    quarantined.extend(q.iter_rows(named=True))
    quarantined.sort(key=lambda d: (str(d["file"]), d["reason"]))
    return per, quarantined


def kept_counts(source_dir: Path) -> dict:
    import polars as pl

    files = sorted((source_dir / "data").glob("**/*.parquet"))
    if not files:
        return {"docs": 0, "chars": 0, "by_language": {}, "shards": 0, "duplicate_ids": 0,
                "modified": {"docs": 0, "by_stage": {}}}
    # the text's length only, row group by row group (polars' streaming engine): collecting the text column held
    # a source's whole text in the main process (scale review: 744 MB for 690 MB of kept text; a source of tens
    # of GB would fail after all its compute); 892 -> 334 MB peak on 8 shards of 98 M characters, and faster
    scan = pl.scan_parquet([str(f) for f in files], glob=False)
    lf = scan.select("id", "language", pl.col("text").str.len_chars().alias("chars"))
    # the stages that changed a kept text (`modified_by`, as each combination's JSON list): the attribution a CC
    # licence asks for says the material was modified (trainer review: 3,000 joined parallel texts were credited as
    # published)
    meta = pl.col("metadata") if "metadata" in scan.collect_schema().names() else pl.lit(None, pl.String)
    mods = (scan.select(meta.str.json_path_match("$.modified_by").alias("by"))
            .filter(pl.col("by").is_not_null()).group_by("by").agg(pl.len().alias("docs")))
    by_lang, ids, mods = pl.collect_all(
        [lf.group_by("language").agg(pl.len().alias("docs"), pl.col("chars").sum()),
         lf.select(pl.len().alias("docs"), pl.col("id").n_unique().alias("unique")), mods], engine="streaming")
    by_lang = by_lang.sort("language")
    docs = int(ids["docs"][0])
    by_stage: dict[str, int] = defaultdict(int)
    for row in mods.iter_rows(named=True):
        for stage in json.loads(row["by"]) if row["by"].startswith("[") else [row["by"]]:
            by_stage[str(stage)] += int(row["docs"])
    return {"docs": docs, "chars": int(by_lang["chars"].sum() or 0), "shards": len(files),
            "duplicate_ids": docs - int(ids["unique"][0]),
            "modified": {"docs": int(mods["docs"].sum() or 0), "by_stage": dict(sorted(by_stage.items()))},
            # a null language (unknown) is `und`, its data folder's name; it was the Python repr "None" (review)
            "by_language": {("und" if r["language"] is None else str(r["language"])):
                            {"docs": int(r["docs"]), "chars": int(r["chars"])}
                            for r in by_lang.iter_rows(named=True)}}


# ------------------------------------------------------------------------------------------ reader checks
#: a mapped field absent from at least this share of records is reported: an optional field missing on some
#: records is normal in real corpora (a date on some pages only), one missing on most of them is a wrong field
#: name or a corpus that calls it otherwise. `license_field` is stricter: see :func:`read_checks_problems`.
FIELD_MISSING_WARN_SHARE = 0.5
_FALLBACK = {"text_field": "the record is removed at `read` (read_missing_text)",
             "id_field": "its id is `<file>:<position>`",
             "license_field": "it gets the recipe's licence ({license}, evidence `recipe:no_license_field`; a policy with `unverified: deny` removes it)",
             "language_field": "it gets the recipe's language ({language})",
             "url_field": "its url is null", "title_field": "its title is null", "date_field": "its date is null"}


def reader_stats(source_dir: Path) -> dict[str, int]:
    """The reader's datatrove stats (``logs/seg0/stats/<task>.json``) summed over every task."""
    total: dict[str, int] = defaultdict(int)
    for f in sorted((source_dir / "logs" / "seg0" / "stats").glob("*.json")):
        for step in json.loads(f.read_text()):
            if str(step.get("name", "")).endswith("Lucie reader"):
                for k, v in step.get("stats", {}).items():
                    total[k] += _stat_total(v)
    return dict(total)


def read_checks(source_dir: Path, src) -> dict:
    """What the reader found about the recipe's field mapping (ledger key ``read_checks``): per recipe option
    naming a field (``url_field``/``title_field``/``date_field`` only when the recipe sets them), the records
    without a value there; the field names of the first records; record language values that name no language;
    the input files a sidecar has no row for, the input files that held no record (0 bytes, blank lines only), and
    the text files cut inside a UTF-8 sequence (first names per task, complete counts)."""
    from .steps.readers import MAPPED_FIELD_OPTIONS, TRUNCATED_UTF8

    st = reader_stats(source_dir)
    inp = src.recipe.input
    explicit = inp.model_fields_set

    def named(prefix: str) -> dict[str, int]:
        return {k.split(":", 1)[1]: v for k, v in sorted(st.items()) if k.startswith(prefix + ":")}

    missing = {}
    for opt in MAPPED_FIELD_OPTIONS:
        field = getattr(inp, opt, None)
        if not field or (opt in ("url_field", "title_field", "date_field") and opt not in explicit):
            continue
        if st.get(f"field_missing:{opt}", 0):
            missing[opt] = {"field": field, "records": st[f"field_missing:{opt}"]}
    out: dict = {"records": st.get("records_mapped", 0), "fields_missing": missing,
                 "record_fields": sorted(named("record_fields"))}
    meta_missing = named("metadata_missing")  # metadata_fields entries (dotted paths too) a record did not have
    if meta_missing:
        out["metadata_missing"] = meta_missing
    if st.get("license_page_conflict"):  # html pages whose own licence statement contradicts the licence they get
        out["license_page_conflicts"] = {"pages": st["license_page_conflict"],
                                         "first": sorted(named("license_page_conflict"))}
    said = named("record_license")  # "field=value" of the sampled records, when the recipe reads no licence field
    if said:
        out["record_licenses"] = said
    if st.get("language_unmapped"):
        out["language_unmapped"] = {"records": st["language_unmapped"], "values": named("language_unmapped")}
    if st.get("no_sidecar_row"):
        out["no_sidecar_row"] = {"files": st["no_sidecar_row"], "of_files": len(src.inputs),
                                 "first": sorted(named("no_sidecar_row"))}
    if st.get("no_record"):
        out["no_record"] = {"files": st["no_record"], "of_files": len(src.inputs), "first": sorted(named("no_record"))}
    if st.get(TRUNCATED_UTF8):
        out[TRUNCATED_UTF8] = {"files": st[TRUNCATED_UTF8], "of_files": len(src.inputs),
                               "first": sorted(named(TRUNCATED_UTF8))}
    return out


def _did_you_mean(field: str, fields: list[str], cutoff: float = 0.6) -> str:
    import difflib

    close = difflib.get_close_matches(field, [f for f in fields if f != field], n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close and field not in fields else ""


# what a file name says it holds, by its suffixes (a compression suffix read through)
_TYPE_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".html": "html", ".htm": "html",
                   ".warc": "warc", ".txt": "text"}
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz", ".lzma")  # what the readers decompress


def without_compression(name: str) -> str:
    """A file name without the compression suffixes the readers read through (``x.jsonl.gz`` -> ``x.jsonl``)."""
    for c in COMPRESSED_SUFFIXES:
        name = name.removesuffix(c)
    return name


def input_type_mismatch(src) -> str | None:
    """A warning when input files are named as another type than the recipe's ``input.type`` says: `type: text` on
    a .jsonl file read the whole file as one document, `type: parquet` on one quarantined every file, and the
    build said the source finished (new-user review). Names are a hint only: said, not refused."""
    given = src.recipe.input.type
    odd: dict[str, list[str]] = {}
    for p in src.inputs:
        kind = _TYPE_BY_SUFFIX.get(Path(without_compression(p.name.lower())).suffix)
        if kind is not None and kind != given:
            odd.setdefault(kind, []).append(p.name)
    if not odd:
        return None
    kind, files = max(odd.items(), key=lambda kv: len(kv[1]))
    return (f"{len(files):,} of {len(src.inputs):,} input file(s) are named as {kind} ({', '.join(files[:3])}"
            f"{' …' if len(files) > 3 else ''}) but `input.type` is {given}"
            + (": each was read as one text document" if given == "text" else "")
            + f"; did you mean `type: {kind}`? (fix it in {src.file})")


def _record_licenses_unlike(said: dict[str, int], recipe_license: str) -> list[tuple[str, str, int]]:
    """(field, value, records) of the sampled records' licence fields whose value names another licence than the
    recipe's (compared as SPDX ids; a value naming none is left out: a note, not a licence)."""
    from .licenses import UNKNOWN, normalize_license

    mine = normalize_license(recipe_license)
    out = []
    for key, c in sorted(said.items()):
        field, _, value = key.partition("=")
        spdx = normalize_license(value)
        if spdx != UNKNOWN and spdx != mine:
            out.append((field, value, c))
    return sorted(out, key=lambda t: (-t[2], t[0], t[1]))


def read_checks_problems(checks: dict, src) -> tuple[list[str], list[str]]:
    """(warnings, errors) of :func:`read_checks`, in words with the fix.

    Errors (the source fails): ``license_field`` names a field that no record fills (absent, or null/empty in
    every record; the message says which); ``text_field`` names a field that no record has. A licence that is never read
    gives every document the recipe's licence as if it had been checked record by record; the typo
    ``license_field: licence`` put 62 Apache/BSD/dual-licensed files under one licence. There is no reading of
    such a recipe that is right, so the build stops (rule 2) instead of writing documents the policy would judge
    on a wrong label. Warnings: ``license_field`` absent from some records (each such document has the recipe's
    licence, evidence ``recipe:no_license_field``); any other mapped field absent from at least FIELD_MISSING_WARN_SHARE of the
    records, and so is a ``metadata_fields`` entry (a dotted path too) missing from that share (one a rule reads
    says so: the rule checked nothing there); language values that name no language; input files without a
    sidecar row; input files that held no record; text files cut inside a UTF-8 sequence."""
    warnings: list[str] = []
    errors: list[str] = []
    n = checks.get("records", 0)
    fields = checks.get("record_fields", [])
    have = f"the records have: {', '.join(fields[:25])}{' …' if len(fields) > 25 else ''}"
    rec = src.recipe
    for opt, m in checks.get("fields_missing", {}).items():
        c, field = m["records"], m["field"]
        if not n:
            continue
        share = c / n
        fallback = _FALLBACK[opt].format(license=rec.license, language=rec.languages[0] if len(rec.languages) == 1
                                         else "unknown: `und`")
        head = (f"`{opt}: {field}` has no value in {c:,} of {n:,} records ({share:.0%}): for each, {fallback}; "
                f"{have}{_did_you_mean(field, fields)}")
        if opt == "license_field" and c == n:
            present = field in fields  # in the records, but null or empty in every one (second review)
            what = (f"is null or empty in every one of the {n:,} records" if present
                    else f"names a field that none of the {n:,} records has")
            fix = ("Fill it in the input, point `license_field` at the field that holds the licences" if present
                   else "Fix `license_field`")
            errors.append(f"`license_field: {field}` {what}, so every document would get the recipe's licence "
                          f"({rec.license}) as if it had been read from the record; {have}"
                          f"{_did_you_mean(field, fields)}. {fix} in {src.file} (or remove it to give every record "
                          "the recipe's licence)")
        elif opt == "text_field" and c == n and field not in fields:
            # a name no record has: every record removed at `read`, and the source "finished" with 0 documents,
            # exit 0 (new-user review); a typo, as for license_field, so the source fails with the fix
            errors.append(f"`text_field: {field}` names a field that none of the {n:,} records has, so every record "
                          f"would be removed at `read` (read_missing_text); {have}{_did_you_mean(field, fields)}. Fix "
                          f"`text_field` in {src.file}")
        elif opt == "license_field" or share >= FIELD_MISSING_WARN_SHARE:
            warnings.append(head + f"; fix `{opt}` in {src.file} if the records call it otherwise")
    pc = checks.get("license_page_conflicts")
    if pc:  # (web review: a sidecar's CC-BY kept on a page saying CC BY-NC-SA, under a policy denying NC, silently)
        warnings.append(f"{pc['pages']:,} html page(s) state another licence than the one they get, e.g. "
                        + "; ".join(pc["first"][:3]) + f": check the sidecar or the recipe's licence in {src.file} "
                        "(the report lists them under license_detected_different_class)")
    # (a license_rules stage reading a record field gives each document its record's licence: nothing to say; code
    # review: `metadata_fields: [doc_license]` read by such a stage was warned about)
    by_rule = any(getattr(s, "license_field", None) or getattr(s, "statement_field", None)
                  for s in getattr(rec, "stages", None) or [] if getattr(s, "type", None) == "license_rules")
    other = [] if by_rule else _record_licenses_unlike(checks.get("record_licenses") or {}, rec.license)
    if other:  # trainer review: 134 ELTeC records saying CC-BY-4.0 became public domain, "no attribution required"
        field = other[0][0]
        seen = ", ".join(f"`{f}: {v}` × {c:,}" for f, v, c in other[:5])
        warnings.append(f"the records say a licence the recipe does not read: {seen} in the first records of the "
                        f"tasks, while every document gets the recipe's licence ({rec.license}); set "
                        f"`license_field: {field}` in {src.file} to take each record's, or leave it if the recipe's "
                        "licence is the one that applies")
    rule_fields = {name: f"the Gutenberg rule's {key}" for _i, key, name in src.recipe.rule_fields()}
    for path, c in checks.get("metadata_missing", {}).items():
        if not n or c / n < FIELD_MISSING_WARN_SHARE:
            continue
        used = f" (read by {rule_fields[path]})" if path in rule_fields else ""
        found = "none" if c == n else f"{n - c:,}"
        base = path.split(".")[0]
        hint = _did_you_mean(base, fields, cutoff=0.8) if base not in fields else ""
        warnings.append(f"`metadata_fields` entry `{path}`{used} has a value in {found} of {n:,} records ({c / n:.0%} "
                        f"without it{'; the rule had nothing to check on those' if used else ''}); {have}{hint}; fix "
                        f"the entry in {src.file} if the records call it otherwise (a dotted path reads a key inside "
                        "a JSON field)")
    lu = checks.get("language_unmapped")
    if lu:
        vals = ", ".join(f"{v} × {k}" for v, k in list(lu["values"].items())[:5])
        use = ("use ISO 639-1 codes (fr), names (French), pairs (fr,en) or code:<lang>" if not rec.is_code else
               "in a recipe of prose and code languages a value is a language (fr, French, fr,en), else a "
               "programming language's name (Python, C++); `mul`, `zxx` and a pair of one language (fr,fr) name none"
               if rec.mixes_code_and_prose else
               "in a code recipe a value is a programming language's name (Python, C++, objective-c): letters, "
               "digits, spaces and # + - _ . ' ( ), at most 64 bytes, no control character or path separator")
        warnings.append(f"{lu['records']:,} record(s) have a `{rec.input.language_field}` value that names no "
                        f"language ({vals}): filed under `und` with `language` null and the value in metadata "
                        f"`language_raw`; {use}")
    ns = checks.get("no_sidecar_row")
    if ns:
        first = ", ".join(ns["first"][:5])
        warnings.append(f"{ns['files']:,} of {ns['of_files']:,} input files have no row in sidecar "
                        f"{rec.input.sidecar} (first: {first}): their documents have the recipe's licence "
                        f"({rec.license}) unchecked, license_evidence `recipe:no_sidecar_row`; add their rows "
                        "(keyed by `sidecar_key`) or drop them from `paths:`")
    nr = checks.get("no_record")
    if nr:  # an empty .txt is a removed record (read_empty_text); an empty .jsonl has no record to remove
        first = ", ".join(nr["first"][:5])
        warnings.append(f"{nr['files']:,} of {nr['of_files']:,} input file(s) held no record (first: {first}): "
                        "0 bytes, blank lines only, no rows or no responses; check that they were copied whole, "
                        "or drop them from `paths:`")
    cut = checks.get("truncated_utf8_sequence_dropped")
    if cut:  # kept without the cut character: the file itself is damaged (a copy or download stopped short)
        first = ", ".join(cut["first"][:5])
        warnings.append(f"{cut['files']:,} of {cut['of_files']:,} input text file(s) end inside a UTF-8 sequence "
                        f"(truncated_utf8_sequence_dropped; first: {first}): cut short, their documents are kept "
                        "without the partial character (metadata `read_note`) and may lack the rest of the text; "
                        "fetch or copy them again whole")
    return warnings, errors


def _removed_licences(folder: Path) -> list[tuple[str, int]]:
    """(licence, documents) of a stage's removed shards, most frequent first."""
    import polars as pl

    files = sorted(folder.glob("*.parquet"))
    if not files:
        return []
    df = pl.scan_parquet([str(f) for f in files], glob=False).group_by("license").len().collect()
    return sorted(((str(r[0]), int(r[1])) for r in df.iter_rows()), key=lambda kv: (-kv[1], kv[0]))


def removed_sharing_ids(source_dir: Path) -> tuple[int, list[str]]:
    """(removed documents whose id another document of the source, kept or removed, also has; up to 5 such ids).

    ``duplicate_ids`` counts kept documents only: when a dedup stage removed the second record of an id, the kept
    ids were unique and nothing warned, though two input records had one id and ``trace`` of that id finds two
    documents (auditor review; README: the input giving two records one id is warned about)."""
    import polars as pl

    kept = sorted((source_dir / "data").glob("**/*.parquet"))
    removed = sorted((source_dir / "removed").glob("*/*.parquet"))
    if not removed:
        return 0, []
    ids = pl.concat([pl.scan_parquet([str(f) for f in files], glob=False).select("id", pl.lit(k).alias("removed"))
                     for k, files in ((False, kept), (True, removed)) if files]).collect()
    shared = ids.filter(pl.col("id").is_duplicated())
    rem = shared.filter(pl.col("removed"))
    return rem.height, sorted(rem["id"].unique().to_list())[:5]


def stage_imbalances(stages: list[dict], kept_docs: int) -> list[str]:
    """What breaks rule 1 in a ledger's ``stages``: a stage whose in (+ created) is not kept + removed, whose removed
    is not the sum of its reasons, or whose in is not the previous stage's kept; the last stage's kept not the rows
    of ``data/`` (``kept_docs``). Empty when the funnel adds up. The report runs it again on the ledger it reads
    (auditor review: an edited ledger's funnel, `in 60, kept 60, removed 5`, was shown with "Reconciliation: OK")."""
    out = []
    prev_kept = None
    for entry in stages:
        sid, created = entry.get("stage"), int(entry.get("docs_created") or 0)
        if entry["docs_in"] + created != entry["docs_kept"] + entry["docs_removed"]:
            out.append(f"stage {sid}: in {entry['docs_in']}{f' + created {created}' if created else ''} "
                       f"!= kept {entry['docs_kept']} + removed {entry['docs_removed']}")
        reasons = sum(int((v or {}).get("docs") or 0) for v in (entry.get("removed") or {}).values())
        if reasons != entry["docs_removed"]:
            out.append(f"stage {sid}: removed {entry['docs_removed']} != {reasons} removed with a reason")
        if prev_kept is not None and prev_kept != entry["docs_in"]:
            out.append(f"stage {sid}: in {entry['docs_in']} != previous stage's kept {prev_kept}")
        prev_kept = entry["docs_kept"]
    if prev_kept is not None and prev_kept != kept_docs:
        out.append(f"output: {kept_docs} rows in data/ != last stage's kept {prev_kept}")
    return out


def compute_ledger(source_dir: Path, src, stage_ids: list[str]) -> dict:
    counts = read_stage_counts(source_dir)
    removed, quarantined = removed_counts(source_dir)
    kept = kept_counts(source_dir)
    shared_removed, shared_examples = removed_sharing_ids(source_dir)
    checks = read_checks(source_dir, src)
    warnings, _ = read_checks_problems(checks, src)
    mismatch = input_type_mismatch(src)
    if mismatch:
        warnings.append(mismatch)
    stages = []
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
        if c.get("skipped_code"):
            entry["docs_skipped_code"] = c["skipped_code"]
        if c.get("no_signature"):
            entry["docs_no_signature"] = c["no_signature"]
        stages.append(entry)
    imbalances = stage_imbalances(stages, kept["docs"])
    for st in stages:  # a stage that removed every document it received: accounted for, but said, with its reasons,
        # most frequent first (new-user reviews: a licence gate, 105 read -> 0 kept, exit 0, no warning, for a recipe
        # licence the policy denies; then any stage, `min_length` with `min_chars: 1000000`)
        if not st["docs_in"] or st["docs_kept"]:  # (after such a stage, nothing comes in: said once)
            continue
        reasons = ", ".join(f"{r} × {v['docs']:,}" for r, v in sorted(st["removed"].items(),
                                                                         key=lambda kv: (-kv[1]["docs"], kv[0])))
        gone = (st["removed"].get("url_missing") or {}).get("docs", 0)
        if st["type"] == "url_filter" and gone == st["docs_in"]:  # for a field the records lack (review 9:
            # url_filter with `missing_url: drop` on records without the default `url` field)
            fields = checks.get("record_fields") or []
            warnings.append(f"stage {st['stage']} removed every document ({gone:,}) as url_missing: no record has a "
                            f"url in `{src.recipe.input.url_field or 'url'}` (the records' fields: "
                            f"{', '.join(fields[:12]) or 'none seen'}); set `input.url_field` to the field holding the "
                            "url, or `missing_url: keep`")
        elif st["type"] in ("license_gate", "license_policy"):
            lics = _removed_licences(source_dir / "removed" / st["stage"])
            warnings.append(f"stage {st['stage']} removed every document ({st['docs_in']:,}: {reasons}); their "
                            f"licences: {', '.join(f'{k} × {v:,}' for k, v in lics[:5])}. If they may be used, allow "
                            "them in the pipeline's `license_policy` (`allow: [...]`, or `unknown: allow`) and, if "
                            "this source's `license_gate` has a `policy:` of its own, there too; else drop the source "
                            "from the pipeline")
        else:
            kind = f" ({st['type']})" if st["type"] != st["stage"] else ""
            fix = (f"Check the input files and `input:` in {src.file}" if st["type"] == "read" else
                   f"Check that stage's settings in {src.file}, or drop the stage")
            warnings.append(f"stage {st['stage']}{kind} removed every document it received ({st['docs_in']:,}: "
                            f"{reasons}): nothing of this source is kept. {fix}")
    # several languages listed and nothing to tell them apart per document (review: 794 documents went to `und`,
    # no warning, and the mix's factors then matched no subset of theirs)
    und = (kept["by_language"].get("und") or {}).get("docs", 0)
    langs = [x for x in (src.recipe.languages or []) if x != "und"]
    if und and len(langs) > 1 and not src.recipe.input.language_field \
            and not any(getattr(st, "type", None) == "language_id" for st in src.recipe.stages):
        warnings.append(f"{und:,} kept document(s) have no language (`und`): the recipe lists {', '.join(langs)}, and "
                        "nothing assigns one per document; set `input.language_field` to the records' language field, "
                        "add a `language_id` stage, or list one language")
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
        # kept documents a stage changed, and by which stages (a document changed by two counts under both)
        "docs_modified": kept["modified"]["docs"], "modified_by": kept["modified"]["by_stage"],
        "stages": stages,
        "read_removed": {k: v["docs"] for k, v in removed.get("read", {}).items()},
        "quarantined_files": quarantined,
        # the same input id on two different records: both are kept (texts differ), ids are not unique
        "duplicate_ids": kept["duplicate_ids"],
        # removed documents under an id another document also has (a dedup removed the second record of an id)
        **({"removed_sharing_ids": shared_removed, "removed_sharing_ids_examples": shared_examples}
           if shared_removed else {}),
        **({"docs_created": total_created} if total_created else {}),
        "read_checks": checks,
        "warnings": warnings,
        "balanced": not imbalances and records_read + total_created == kept["docs"] + total_removed,
        "imbalances": imbalances,
    }
