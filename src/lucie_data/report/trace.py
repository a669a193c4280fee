"""Lineage of one document: recipe and hash, input file and record, annotations, licence, fate.

Lookups are lazy polars scans filtered on ``id`` (predicate pushdown on Parquet statistics), so tracing
stays fast on large builds.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..buildfiles import damaged_shard_message, first_unreadable, read_manifest, read_source_file, rebuild_hint
from ..errors import BuildFileError, InputError


def _unfinished(shard: Path) -> bool:
    """Whether a shard belongs to a source no run has finished (no ``ledger.json``): a task stopped while writing it
    left it cut short, and the next `lucie-data build` resumes that task (rv53: `trace` called it damaged and said to
    delete the source's folder, finished tasks and all)."""
    sd = shard.parent
    while sd.parent.name != "sources" and sd.parent != sd:
        sd = sd.parent
    return not (sd / "ledger.json").exists()


def _scan_id(files: list[Path], doc_id: str):
    """Rows with this id in these files, with the file path and the row index inside that file; an unreadable shard
    of an unfinished source is passed over (see :func:`_unfinished`)."""
    import polars as pl

    hits = []
    for f in files:
        try:
            df = (pl.scan_parquet(f, glob=False).with_row_index("_row").filter(pl.col("id") == doc_id)
                  .drop("text").collect())
        except Exception as err:  # noqa: BLE001 -- whatever makes the file unreadable: name it and the fix
            if _unfinished(f):
                continue
            raise BuildFileError(damaged_shard_message(f, err)) from None
        for row in df.iter_rows(named=True):
            hits.append((f, row))
    return hits


def _all_ids(build_dir: Path):
    """A lazy frame of every distinct id of the build's shards (read once: a damaged file fails now, named)."""
    import polars as pl

    groups = [sorted((build_dir / "sources").glob(g)) for g in ("*/data/**/*.parquet", "*/removed/*/*.parquet")]
    while True:
        scans = [pl.scan_parquet(files, glob=False).select("id") for files in groups if files]  # (schemas differ)
        if not scans:
            return None
        try:
            return pl.concat(scans).unique().collect().lazy()
        except Exception:  # noqa: BLE001 -- re-raised when no single file is to blame
            bad = first_unreadable([f for files in groups for f in files], ["id"])
            if bad is None:
                raise
            if not _unfinished(bad[0]):
                raise BuildFileError(damaged_shard_message(*bad)) from None
            groups = [[f for f in files if f != bad[0]] for files in groups]  # (a stopped task's: passed over)


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


_COPY = re.compile(r"(.+)#([0-9]+)")  # copy k of a repeated document in a `repeat_ids: suffix` mix


def _source_dirs(build_dir: Path, doc_id: str) -> list[Path]:
    """The folder of the source an id names (``<source>/…``), or every source's when it names none."""
    source = doc_id.split("/", 1)[0]
    return [build_dir / "sources" / source] if (build_dir / "sources" / source).is_dir() else \
        sorted(p for p in (build_dir / "sources").glob("*") if p.is_dir())


def _locate(build_dir: Path, doc_id: str) -> tuple[str, list[Path], list, list]:
    """(source named by the id, source folders searched, kept hits, removed hits) of one id."""
    source = doc_id.split("/", 1)[0]
    sdirs = _source_dirs(build_dir, doc_id)
    kept, removed = [], []
    for sd in sdirs:
        kept += _scan_id(sorted(sd.glob("data/**/*.parquet")), doc_id)
        removed += _scan_id(sorted(sd.glob("removed/*/*.parquet")), doc_id)
    return source, sdirs, kept, removed


def _is_mix(folder: Path) -> bool:
    return folder.is_dir() and ((folder / "mix_plan.json").is_file() or any(folder.glob("**/*.parquet")))


def find_mix(build_dir: Path, mix: str | Path | None = None) -> Path | None:
    """The mix folder of a build: ``mix`` when given (it must be a mix), else ``BUILD/mix`` (``mix build``'s
    default), else the ``mix: output:`` of the build's pipeline when it holds a ``mix_plan.json``; None if none."""
    if mix is not None:
        folder = Path(mix)
        if not _is_mix(folder):
            raise InputError(f"--mix {folder}: not a mix folder (no mix_plan.json, no Parquet file)")
        return folder
    if _is_mix(build_dir / "mix"):
        return build_dir / "mix"
    try:  # a pipeline whose `mix: output:` puts the mix elsewhere
        from ..mix.build import load_mix_config

        out = load_mix_config(build_dir, require_weights=False).output
    except Exception:  # noqa: BLE001 -- no readable pipeline or mix block: only the default place counts
        return None
    return Path(out) if out is not None and (Path(out) / "mix_plan.json").is_file() else None


def _kept_ids(build_dir: Path, doc_id: str, ids: list[str]) -> set[str]:
    """Those of ``ids`` that are kept documents of the build, in one read of the kept shards of ``doc_id``'s source
    (all sources' when its id names none). Only kept ones: the mix never writes a removed document, and ``mix build``
    refuses a copy id that is a kept document's (code review: a removed ``s/a#2`` hid copy 2 of ``s/a``)."""
    import polars as pl

    files = [f for sd in _source_dirs(build_dir, doc_id) for f in sorted(sd.glob("data/**/*.parquet"))]
    if not files:
        return set()
    try:
        got = pl.scan_parquet(files, glob=False).select("id").filter(pl.col("id").is_in(ids)).collect()
    except Exception as err:  # noqa: BLE001 -- a damaged shard: name it (as _scan_id does)
        bad = first_unreadable(files, ["id"])
        raise BuildFileError(damaged_shard_message(*bad) if bad else str(err)) from None
    return set(got["id"].to_list())


def _mix_copies(mix_dir: Path, doc_id: str, build_dir: Path | None = None) -> tuple[bool, str, list[dict]]:
    """(plan found, repeat_ids mode, [{"id", "copy", "file"}]) of every row of ``doc_id``'s copies in the mix.

    ``copy`` is k for the row ``<id>#k`` (1 for ``<id>``) in a ``suffix`` mix, None in a ``keep`` mix (every copy
    has the same id); ``file`` is relative to the mix folder. Sorted by copy, then file. A repeat is ``<id>#k`` with
    k >= 2 written without a leading zero (the mix's own names), and never an id that is a document of the build
    itself (``build_dir``; auditor review: the documents ``y#1`` and ``a#3`` were counted as copies of ``y`` and
    ``a``)."""
    import polars as pl

    from ..mix.build import COPY_K

    mix_files = sorted(mix_dir.glob("**/*.parquet"))
    plan_file = mix_dir / "mix_plan.json"
    listed = None  # the shards the mix wrote (None: no readable plan, nothing to compare with)
    try:  # how the mix names repeats (mixes without the key: suffix)
        data = json.loads(plan_file.read_text(encoding="utf-8"))
        mode = data.get("repeat_ids", "suffix")
        shards = data.get("shards")  # (a plan without its list cannot say which files are the mix's)
        listed = {s["path"] for s in shards if isinstance(s, dict) and "path" in s} if isinstance(shards, list) else None
    except (OSError, ValueError, AttributeError, TypeError):
        mode = "suffix"
    if not mix_files:
        return plan_file.exists(), mode, []
    ids = pl.col("id")
    match = ids == doc_id
    if mode == "suffix":  # copy k >= 2 is `id#k` (mix_plan.json's id_scheme)
        tail = ids.str.strip_prefix(doc_id + "#")
        match = match | (ids.str.starts_with(doc_id + "#") & tail.str.contains(rf"^{COPY_K}$"))
    try:
        # files of other columns (a shard dropped in from elsewhere) are read for their ids too, not a crash
        rows = (pl.scan_parquet(mix_files, glob=False, include_file_paths="_file", hive_partitioning=False,
                                extra_columns="ignore", missing_columns="insert")
                .select("_file", "id").filter(match).collect())
    except Exception:  # noqa: BLE001 -- a damaged mix shard: name it and the fix
        bad = first_unreadable(mix_files, ["id"])
        if bad is not None:
            raise BuildFileError(damaged_shard_message(*bad)) from None
        raise
    if build_dir is not None:
        others = sorted({rid for rid in rows["id"].unique().to_list() if rid != doc_id})
        documents = _kept_ids(build_dir, doc_id, others) if others else set()
        if documents:
            rows = rows.filter(~pl.col("id").is_in(sorted(documents)))
    copies = []
    for f, rid in rows.iter_rows():
        k = None if mode != "suffix" else 1 if rid == doc_id else int(rid[len(doc_id) + 1:])
        rel = Path(f).relative_to(mix_dir).as_posix()
        copies.append({"id": rid, "copy": k, "file": rel, "listed": listed is None or rel in listed})
    # by copy, else (keep: every copy has the id) by epoch: a first copy before its repeats `_e<k>`, whatever the
    # names sort as (review: an older mix's `-e2` sorted first, and `trace <id>#1` named the repeat)
    from ..mix.build import shard_order

    copies.sort(key=lambda c: (c["copy"] or 0, shard_order(c["file"])))
    return plan_file.exists(), mode, copies


def trace(build_dir: str | Path, doc_id: str, mix: str | Path | None = None) -> dict:
    """Everything the build knows about ``doc_id``; raises InputError (with suggestions) if it is not there.

    ``<id>#<k>`` that is no id of the build names copy k of document ``<id>`` in the mix (``repeat_ids: suffix``):
    the document is traced and the copy located in the mix (found by :func:`find_mix`, or ``mix``)."""
    from ..mix.build import copy_of
    from .aggregate import require_build, source_entries

    build_dir = Path(build_dir)
    require_build(build_dir)
    from ..locks import holder

    writing = holder(build_dir / ".lock")
    if writing:  # rv57: mid-rebuild it called the build damaged and said to delete the folder the build was writing
        raise InputError(f"a lucie-data build is writing {build_dir} right now ({writing}): trace when it has finished "
                         "(its shards are being replaced)")
    requested, copy = doc_id, None
    source, sdirs, kept, removed = _locate(build_dir, doc_id)
    if not kept and not removed and (m := _COPY.fullmatch(doc_id)):
        located = _locate(build_dir, m.group(1))
        if located[2] or located[3]:  # `<id>#k`: copy k of a document of the build
            doc_id, copy = m.group(1), int(m.group(2))
            source, sdirs, kept, removed = located
    if not kept and not removed:
        own_source = len(sdirs) == 1 and sdirs[0].name == source
        from ..buildfiles import stopped_since_manifest

        stopped = stopped_since_manifest(build_dir)
        # a source a stopped rebuild was writing (rv59): its shards are not the manifest's, nor damaged
        damaged = None if own_source and source in stopped else _damage(
            build_dir, [sd for sd in sdirs if sd.name not in stopped], read_manifest(build_dir) or {})
        if damaged and own_source:  # its document may be in the missing shard: say so, not "did you mean"
            raise BuildFileError(_damage_message(build_dir, doc_id, *damaged))
        kind, sugg = _suggest(build_dir, doc_id)
        sugg = [visible(x) for x in sugg]  # the build's ids, as a record gave them (rv58 F4)
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
        if own_source and (not (sdirs[0] / "ledger.json").exists() or source in stopped):
            # rv56: a build stopped in this source answered "did you mean" as if the id were misspelt
            hint = (f": its source {source} is unfinished (the build stopped before the source ended, so its "
                    f"documents are not all written yet); rerun `lucie-data build` to finish it, then trace again"
                    + (hint.replace("; did you mean:", ". Written so far, did you mean:", 1)
                       if hint.startswith("; did you mean:") else ""))
        raise InputError(f"document {doc_id!r} is not in build {build_dir}{hint}")
    if copy is not None and not kept:
        r = removed[0][1]
        raise InputError(f"document {requested!r} is not in build {build_dir}: it would be copy {copy} of {doc_id} "
                         f"in the mix, but {doc_id} was removed by the build (stage {r['removal_stage']}: "
                         f"{r['removal_reason']}), so no copy of it is in the mix; "
                         f"`lucie-data trace {build_dir} {doc_id}` shows its lineage")
    f, row = (kept or removed)[0]
    sd = f.parent  # the source folder: the child of sources/ that holds this shard
    while sd.parent.name != "sources" and sd.parent != sd:
        sd = sd.parent
    # every document with this id, each on its own (review: two records of the input under one id, one kept and one
    # removed, were printed as one document, KEPT under the first one's licence and file, then "removed at stage …")
    documents = [_document(build_dir, "kept", p, r, n) for n, (p, r) in enumerate(kept, 1)]
    documents += [_document(build_dir, "removed", p, r, n) for n, (p, r) in enumerate(removed, len(kept) + 1)]
    if len(documents) > 1:
        _resolve_duplicate_of(documents, doc_id, sd)
    first = documents[0]
    manifest = read_manifest(build_dir) or {}
    msrc = next((s for s in manifest.get("sources", []) if s["name"] == sd.name), {})
    resolved = read_source_file(sd, "recipe.resolved.json") or {}
    out = {
        "id": doc_id, "source": row.get("source") or sd.name,
        "recipe_file": msrc.get("recipe_file") or resolved.get("recipe_file"),
        "recipe_sha256": msrc.get("recipe_sha256"), "resolved_recipe_sha256": msrc.get("resolved_recipe_sha256"),
        # the fields below are the first document's (a kept one first); `documents` has each document with this id
        **{k: first[k] for k in ("source_file", "source_record", "language", "license", "license_evidence",
                                 "license_raw", "license_detected", "title", "url", "date", "n_tokens", "metadata",
                                 "annotations")},
        "documents_with_id": len(documents),
        "documents": documents,
    }
    mix_dir = find_mix(build_dir, mix)  # (also for a removed document: it must not be in the mix)
    if kept:
        out["status"] = "kept"
        out["output"] = [{"shard": str(p.relative_to(build_dir)), "row": int(r["_row"])} for p, r in kept]
        if mix_dir is not None:
            has_plan, mode, copies = _mix_copies(mix_dir, doc_id, build_dir)
            out["mix"] = {"plan": has_plan, "times": len(copies)}
            out["mix_folder"] = str(mix_dir)
            out["mix_copies"] = copies
            if not copies:
                why = _left_out(mix_dir, out["source"], first, doc_id)
                if why:
                    out["mix"]["left_out"] = why
            else:  # how its fractional epoch went (trainer review: 1.5 epochs, "1 time(s)" and nothing more)
                draw = _draw(_read_plan(mix_dir), out["source"], first, doc_id)
                if draw:
                    out["mix"]["draw"] = draw
    else:
        out["status"] = "removed"
        if mix_dir is not None:  # review: a removed document dropped into the mix folder was not mentioned
            _has_plan, mode, copies = _mix_copies(mix_dir, doc_id, build_dir)
            base = (copy_of(doc_id) or (None,))[0]
            if copies and mode == "suffix" and base is not None and _kept_ids(build_dir, base, [base]):
                # a row of the mix with this id is copy k of the kept document <id> (code review: reported as this
                # removed document "in the mix, though removed")
                copies = [c for c in copies if c["id"] != doc_id]
            if copies:
                out["mix_folder"] = str(mix_dir)
                out["mix_copies"] = copies
    failed = next((f for f in manifest.get("failed_sources") or []
                   if isinstance(f, dict) and f.get("name") == sd.name), None)
    if failed is not None:  # (engineer review: its leftover shards were shown as KEPT output, exit 0)
        out["build_warning"] = (f"source {sd.name} failed in the last build ({str(failed.get('error'))[:400]}): its "
                                "folder holds what the failed run left, not output of the build (manifest.json does "
                                "not list its shards; a mix refuses the build). Fix it and rerun `lucie-data build`")
    listed = source_entries(manifest)
    orphan = manifest.get("sources") is not None and sd.name not in listed and failed is None
    if orphan:  # (auditor review: "added since the build? `lucie-data report` checks every shard", which leaves it out)
        out["build_warning"] = (f"source {sd.name} is not in the build's manifest.json (a source dropped from the "
                                "pipeline, or built by a run that stopped before writing the manifest): the report "
                                "leaves it out and a mix does not take it; rerun `lucie-data build` if it is in the "
                                "pipeline, else delete its folder")
    elif failed is None and not (sd / "ledger.json").exists():  # (auditor review: KEPT, exit 0, without a word)
        out["build_warning"] = (
            f"sources/{sd.name}/ledger.json is missing though manifest.json lists {sd.name} as built: the build folder "
            "is damaged (the report counts none of its documents, a mix refuses it); "
            f"{rebuild_hint(build_dir, sd.name)}"
            if sd.name in listed else  # (no manifest yet: a first build stopped early; code review)
            f"source {sd.name} did not finish (no ledger.json): this row is from a build still running or stopped; "
            "rerun `lucie-data build` to finish it (it resumes)")
    changed = _changed_shards(build_dir, manifest, sorted({d["shard"] for d in documents}))
    if changed and failed is None and not orphan:  # (a failed or dropped source's shards are unlisted: said above)
        # (review: a row appended to a shard after the build was traced as KEPT, exit 0, under a denied licence)
        out["build_warning"] = (f"{'; '.join(changed)}: this row may not be what the build wrote. `lucie-data "
                                "report` checks every shard; rerun `lucie-data build` to rebuild the source")
    from ..mix.build import made_from_another_manifest

    if mix_dir is not None and out.get("mix_copies") is not None and made_from_another_manifest(mix_dir, build_dir):
        # (new-user review: a removed document was "1 time(s) in the mix … though removed", exit 0, of a mix made
        # before its source was rebuilt)
        out["mix_warning"] = (f"the mix {mix_dir} was made from an earlier state of the build (its manifest.json has "
                              "changed since): what it holds may not be what the build keeps now; "
                              f"`lucie-data mix build {build_dir}` makes it again")
    unlisted = sorted({c["file"] for c in out.get("mix_copies") or [] if not c["listed"]})
    if unlisted:  # (after a stale-mix warning, not in its place: code review)
        out["mix_warning"] = ((out["mix_warning"] + "; ") if out.get("mix_warning") else "") + (
                              f"the mix folder holds this document in {len(unlisted)} file(s) its mix_plan.json does not "
                              f"list ({', '.join(unlisted[:5])}): `lucie-data mix build` did not write them, so they "
                              "never went through its licence check; `lucie-data push` refuses the folder. Remove them")
    if copy is not None:
        copies = out.get("mix_copies")
        if copies is None:
            raise InputError(f"document {requested!r} is not in build {build_dir}: it would be copy {copy} of "
                             f"{doc_id} in a mix, but the build has no mix (looked in {build_dir / 'mix'} and the "
                             "pipeline's `mix: output:`; pass --mix FOLDER)")
        held = [c for c in copies if c["copy"] == copy] if mode == "suffix" else \
            ([c for c in copies][copy - 1:copy] if copy >= 1 else [])
        if not held:
            raise InputError(f"document {requested!r} is not in the mix at {mix_dir}: {doc_id} is there "
                             f"{len(copies)} time(s)" + (f" (ids {', '.join(visible(c['id']) for c in copies)})" if copies
                                                          else ""))
        out["copy"] = {"requested": requested, "k": copy, "files": sorted({c["file"] for c in held})}
    if removed:  # each with the document it removed: its licence and input record, not the first document's
        out["removed"] = [{"stage": d["stage"], "reason": d["reason"], "shard": d["shard"], "row": d["row"],
                           "duplicate_of": d["duplicate_of"],
                           **({"duplicate_of_documents": d["duplicate_of_documents"]}
                              if "duplicate_of_documents" in d else {}),
                           "document": d["document"], "license": d["license"], "license_evidence": d["license_evidence"],
                           "source_file": d["source_file"], "source_record": d["source_record"]}
                          for d in documents if d["status"] == "removed"]
        for r in out["removed"]:  # what became of the copy it duplicated (auditor review: "duplicate of s/A" only,
            dup = r.get("duplicate_of")  # while s/A was itself removed afterwards, so no copy of the text is left)
            if dup and dup != doc_id:
                _src, _dirs, dup_kept, dup_removed = _locate(build_dir, dup)
                r["duplicate_of_status"] = (
                    {"status": "kept"} if dup_kept else
                    {"status": "removed", "stage": dup_removed[0][1].get("removal_stage"),
                     "reason": dup_removed[0][1].get("removal_reason")} if dup_removed else {"status": "not found"})
                chain = _duplicate_chain(build_dir, dup_removed)
                if chain:  # itself a duplicate of another: where the text is kept (dedup review: not followed)
                    r["duplicate_of_status"]["then"] = chain
                if r["duplicate_of_status"].get("reason") == "language_split_into_parts":
                    # its text lives on in its language parts (dedup review: "no copy of this text is kept")
                    parts = _kept_parts(_dirs, dup)
                    if parts:
                        r["duplicate_of_status"] = {"status": "split", "stage": r["duplicate_of_status"]["stage"],
                                                    "parts": parts}
    return out


def _duplicate_chain(build_dir: Path, removed: list, hops: int = 10) -> list[dict]:
    """Following ``duplicate_of`` from a removed duplicate: each document it leads to, with whether it is kept (the
    last one kept ends the chain). Empty when ``removed`` is not a dedup removal."""
    chain: list[dict] = []
    seen = set()
    while removed and hops > 0:
        meta = removed[0][1].get("metadata")
        try:
            nxt = json.loads(meta).get("duplicate_of") if isinstance(meta, str) else None
        except ValueError:
            nxt = None
        if not isinstance(nxt, str) or nxt in seen:
            break
        seen.add(nxt)
        _src, _dirs, kept, removed = _locate(build_dir, nxt)
        chain.append({"id": nxt, "status": "kept" if kept else "removed" if removed else "not found"})
        if kept:
            break
        hops -= 1
    return chain


def _kept_parts(source_dirs: list[Path], doc_id: str) -> list[str]:
    """The kept parts (``<id>#<language>``) a ``language_id`` split made of ``doc_id``."""
    import polars as pl

    files = [f for sd in source_dirs for f in sorted(sd.glob("data/**/*.parquet"))]
    if not files:
        return []
    ids = (pl.scan_parquet(files, glob=False).select("id", "metadata")
           .filter(pl.col("id").str.starts_with(doc_id + "#")
                   & (pl.col("metadata").str.json_path_match("$.split_from") == doc_id))
           .select("id").collect())
    return sorted(ids["id"].to_list())


def _left_out(mix_dir: Path, source: str, doc: dict, doc_id: str) -> str | None:
    """Why ``mix build`` left a kept document out (trainer review: "0 time(s) in the mix" said nothing more): a flag of
    a licence stage, a source not redistributable, a licence the mix's policy excluded (mix_plan.json
    ``license_check.excluded``), or the fractional draw of a subset with less than one epoch. None when no such
    reason holds."""
    from ..licenses import flag_reason

    flag = flag_reason(doc.get("metadata") or {})
    if flag:
        return (f"flagged by a licence stage ({flag}): a mix never takes such a document (mix_plan.json "
                "license_check.excluded.documents)")
    plan = _read_plan(mix_dir)
    try:
        excluded = plan["license_check"]["excluded"]
    except (KeyError, TypeError):
        return None
    why = _excluded_reason(excluded, source, doc)
    if why is not None:
        return why
    draw = _draw(plan, source, doc, doc_id)
    return draw if draw and draw.startswith("not drawn") else None


def _read_plan(mix_dir: Path) -> dict | None:
    try:
        plan = json.loads((mix_dir / "mix_plan.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return plan if isinstance(plan, dict) else None


def _draw(plan: dict | None, source: str, doc: dict, doc_id: str) -> str | None:
    """How the fractional part of its subset's epochs went for a document: drawn (one copy more than the whole epochs)
    or not drawn, with the rule and this document's key; None for whole epochs, or when the plan does not say
    (reviews: a document left out of a 0.5-epoch subset, then one copied once in a 1.5-epoch subset, said nothing)."""
    from ..mix.build import selection_key

    if not plan:
        return None
    subs = [(k, v) for k, v in (plan.get("subsets") or {}).items() if isinstance(v, dict) and v.get("source") == source]
    lang = doc.get("language")
    own = [kv for kv in subs if kv[1].get("language") == lang] or (subs if len(subs) == 1 else [])
    seed = plan.get("seed")
    if len(own) != 1 or not isinstance(seed, int):
        return None
    name, sub = own[0]
    epochs = sub.get("epochs")
    if not isinstance(epochs, (int, float)) or epochs == int(epochs):
        return None
    whole, frac = int(epochs), epochs - int(epochs)
    key = selection_key(doc_id, seed)
    enters = ("so a document enters when" if not whole else
              f"{whole} whole epoch(s), and a document enters once more when")
    rule = (f"subset {name} is planned for {epochs:g} epoch(s), {enters} xxh64(id, seed {seed}) / 2**64 < {frac:g}; "
            f"this one's is {key:.4f}")
    return f"drawn: {rule}" if key < frac else f"not drawn: {rule}"


def _excluded_reason(excluded: dict, source: str, doc: dict) -> str | None:
    """The reason mix_plan.json's ``license_check.excluded`` gives for a document's source or licence, or None."""
    src = (excluded.get("sources") or {}).get(source)
    if isinstance(src, dict):
        return f"its source is left out ({src.get('reason')}; mix_plan.json license_check.excluded.sources)"
    by_lic = (excluded.get("documents") or {}).get(source) or {}
    lic = str(doc.get("license"))
    # the licence's own entry, not one for flagged documents under it (keyed `<licence> (<reason>)` when a licence
    # has both; code review: an unflagged document was said to be left out for another document's flag)
    for key, e in by_lic.items():
        if (key == lic or (key.startswith(f"{lic} (") and key.endswith(")"))) and isinstance(e, dict) \
                and not e.get("flagged") and not _flag_reason(e.get("reason")):
            return (f"its licence {doc.get('license')} is left out ({e.get('reason')}; mix_plan.json "
                    "license_check.excluded.documents)")
    return None


def _flag_reason(reason) -> bool:
    """Whether an excluded entry's reason is a licence stage's flag (mix plans written before entries carried
    ``flagged``): the policy's own reasons are the ones :meth:`LicensePolicy.decide` gives."""
    from ..licenses import POLICY_REASONS

    return isinstance(reason, str) and reason not in POLICY_REASONS


_ANNOTATIONS = ("lang", "quality", "gopher", "c4", "fineweb", "license_rule", "modified", "license_warning", "perplexity")


def _changed_shards(build_dir: Path, manifest: dict, shards: list[str]) -> list[str]:
    """Of the shards (relative paths) holding the traced documents, those that are not the files manifest.json
    recorded (sha256; a shard it does not list), said in words. A manifest without shard entries (none, or an old
    one) gives nothing to compare with: nothing is said."""
    from ..manifest import sha256_file

    recorded = {e.get("path"): e for key in ("shards", "removed_shards")
                for e in manifest.get(key) or [] if isinstance(e, dict)}
    if not recorded:
        return []
    out = []
    for rel in shards:
        e = recorded.get(rel)
        if e is None:
            out.append(f"{rel} is not among the shards manifest.json lists (added since the build?)")
        elif (build_dir / rel).stat().st_size != e.get("bytes") or sha256_file(build_dir / rel) != e.get("sha256"):
            # (another size needs no hashing: a large shard is hashed only when its size still matches)
            out.append(f"{rel} is not the shard manifest.json recorded (sha256 {str(e.get('sha256'))[:12]}…): changed "
                       "since the build")
    return out


def _document(build_dir: Path, status: str, shard: Path, row: dict, n: int) -> dict:
    """One document (a row of a kept or removed shard) as trace shows it; ``n``: its number among those with its id."""
    meta = json.loads(row.get("metadata") or "{}")
    d = {"document": n, "status": status, "source_file": meta.get("source_file"),
         "source_record": meta.get("source_record"), "language": row.get("language"), "license": row.get("license"),
         "license_evidence": row.get("license_evidence"), "license_raw": meta.get("license_raw"),
         "license_detected": meta.get("license_detected"), "title": row.get("title"), "url": row.get("url"),
         "date": row.get("date"), "n_tokens": row.get("n_tokens"), "metadata": meta,
         "annotations": {k: v for k, v in sorted(meta.items()) if k.startswith(_ANNOTATIONS)},
         "shard": str(shard.relative_to(build_dir)), "row": int(row["_row"])}
    if status == "removed":
        d.update({"stage": row.get("removal_stage"), "reason": row.get("removal_reason"),
                  "duplicate_of": meta.get("duplicate_of")})
    return d


def _resolve_duplicate_of(documents: list[dict], doc_id: str, source_dir: Path) -> None:
    """A document removed as a duplicate of its own id is a duplicate of another document with that id: add
    ``duplicate_of_documents``, the ones it can be (dedup keeps the first copy; the one kept went on past that stage:
    kept, or removed by a later stage), with their input file and record (review: "KEPT … removed … minhash_duplicate
    (duplicate of probs/problem-001)", a document a duplicate of itself)."""
    try:
        ledger = read_source_file(source_dir, "ledger.json") or {}
    except BuildFileError:  # a damaged ledger: only the kept ones can be said to have gone past the stage
        ledger = {}
    order = {st.get("stage"): i for i, st in enumerate(ledger.get("stages") or [])}
    for d in documents:
        if d["status"] != "removed" or d.get("duplicate_of") != doc_id:
            continue
        at = order.get(d["stage"])
        cands = [o for o in documents if o is not d and (
            o["status"] == "kept" or (at is not None and order.get(o["stage"], -1) > at))]
        d["duplicate_of_documents"] = [{"document": o["document"], "status": o["status"],
                                        "source_file": o["source_file"], "source_record": o["source_record"]}
                                       for o in cands]


def _record(source_file, source_record) -> str | None:
    """``source_record`` as a person finds it: a JSON Lines file's line number (from 1), else a row or record index
    (from 0: a Parquet row, a dataset split's row, a WARC record). Auditor review: "record N" said neither."""
    if source_record is None or source_record == "":
        return None
    from ..ledger import without_compression

    name = without_compression(str(source_file or "").lower())
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return f"line {source_record}"
    return f"{source_record} (row index, from 0)"


# characters a terminal acts on rather than shows: C0 (ESC, CR, LF…), DEL and C1 (U+009B is a CSI), the Unicode line
# and paragraph separators, and the bidi marks, embeddings, overrides and isolates (U+202E shows text reversed)
_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escape_one(m: re.Match) -> str:
    # as JSON writes them (``\n``, ``\u001b``), the form the build's warnings quote record values in
    return json.dumps(m.group())[1:-1]


def visible(text) -> str:
    """``text`` with the characters a terminal acts on escaped visibly (see ``_UNSHOWN``): a record's licence, id,
    title or url cannot move the cursor, clear the screen or start a line of its own, so it cannot print a fake
    ``license CC-BY-4.0`` line over the real one (rv58 F4: the build's warnings escaped such values, `trace` did not)."""
    return _UNSHOWN.sub(_escape_one, str(text))


def _field(label: str, value, indent: str = "  ") -> list[str]:
    return [] if value is None or value == "" else [f"{indent}{label:<14} {value}"]


def _dup_text(r: dict) -> str:
    """`` (duplicate of X…)`` for a removal by a dedup stage, naming the document meant when X is its own id."""
    if not r.get("duplicate_of"):
        return ""
    if "duplicate_of_documents" not in r:
        fate = r.get("duplicate_of_status") or {}
        status, then = fate.get("status"), fate.get("then") or []
        if status == "removed" and then and then[-1]["status"] == "kept":  # its own duplicate_of leads to a kept copy
            follow = "; ".join(f"duplicate of {c['id']}" + (", kept" if c["status"] == "kept" else f" ({c['status']})")
                               for c in then)
            later = f", itself removed afterwards at stage {fate['stage']}: {fate['reason']}, as a {follow}"
        elif status == "removed":
            later = f", itself removed afterwards at stage {fate['stage']}: {fate['reason']}; no copy of this text is kept"
        elif status == "split":
            later = f", itself split into language parts afterwards at stage {fate['stage']}, kept as {', '.join(fate['parts'])}"
        elif status == "not found":
            later = ", which is not in the build (damaged?)"
        else:
            later = ""
        return f" (duplicate of {r['duplicate_of']}{later})"
    cands = [f"document {o['document']}" + (f", from {o['source_file']}" if o.get("source_file") else "")
             + (f" {_record(o.get('source_file'), o['source_record'])}" if o.get("source_record") is not None else "")
             for o in r["duplicate_of_documents"]]
    which = (f": {cands[0]}" if len(cands) == 1 else f": one of {'; '.join(cands)}" if cands else "")
    return f" (duplicate of {r['duplicate_of']}: another document with the same id{which})"


def _mix_lines(t: dict, whose: str = "") -> list[str]:
    L = []
    if t["status"] == "kept" and "mix" in t:
        L.append(f"mix       {t['mix']['times']} time(s) in the mix {t.get('mix_folder', '')}{whose}".rstrip()
                 + (f": left out, {t['mix']['left_out']}" if t["mix"].get("left_out") else "")
                 + (f" ({t['mix']['draw']})" if t["mix"].get("draw") else ""))
        files: dict[str, list[str]] = {}
        for c in t.get("mix_copies", []):
            files.setdefault(c["file"], []).append(c["id"] if c["copy"] is None else f"copy {c['copy']}")
        for f, what in files.items():  # in copy order
            L.append(f"          {f}: {', '.join(what)}")
    if t["status"] == "removed" and t.get("mix_copies"):
        L.append(f"mix       {len(t['mix_copies'])} time(s) in the mix {t.get('mix_folder', '')}, though removed:"
                 .rstrip())
        for f in sorted({c["file"] for c in t["mix_copies"]}):
            L.append(f"          {f}")
    if t.get("mix_warning"):
        L.append(f"WARNING   {t['mix_warning']}")
    return L


def format_trace(t: dict) -> str:
    """The human-readable trace; a field the document does not have (no title, url, date…) is left out, not
    printed as ``None``. Several documents with the id (two input records given one id) are shown one by one."""
    if len(t.get("documents") or []) > 1:
        return _format_several(t)
    field = _field
    L = [f"document  {t['id']}"]
    if t.get("copy"):
        c = t["copy"]
        L.append(f"copy      {c['requested']} is copy {c['k']} of this document in the mix: {', '.join(c['files'])}")
    L += [f"status    {t['status'].upper()}"] + ([f"WARNING   {t['build_warning']}"] if t.get("build_warning") else []) + [
        "", "lineage",
         *field("source", t["source"]), *field("recipe", t["recipe_file"]), *field("recipe sha256", t["recipe_sha256"]),
         *field("input file", t["source_file"]), *field("record", _record(t["source_file"], t["source_record"])), "",
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
    L += _mix_lines(t)
    for r in t.get("removed", []):
        L.append(f"removed   at stage {r['stage']}: {r['reason']}{_dup_text(r)}")
        L.append(f"          {r['shard']} row {r['row']}")
    return _lines(L)


def _lines(L: list[str]) -> str:
    """The lines of a trace, each with what a terminal would act on escaped (:func:`visible`): every value shown,
    ids, file names, reasons and warnings quoting them included, not only the `_field` ones (rv58 F4)."""
    return "".join(visible(line) + "\n" for line in L)


def _format_several(t: dict) -> str:
    """The trace of an id several documents share: what they have in common (source, recipe), then each document
    with its own status, input record, licence and evidence, fields, annotations and fate."""
    docs = t["documents"]
    n = len(docs)
    L = [f"document  {t['id']}",
         f"          {n} documents have this id (input records given the same id): each is shown on its own below"]
    if t.get("copy"):
        c = t["copy"]
        L.append(f"copy      {c['requested']} is copy {c['k']} of this id in the mix: {', '.join(c['files'])}")
    L += ["status    " + ", ".join(f"document {d['document']} {d['status'].upper()}" for d in docs)]
    L += [f"WARNING   {t['build_warning']}"] if t.get("build_warning") else []
    L += ["",
          "lineage", *_field("source", t["source"]), *_field("recipe", t["recipe_file"]),
          *_field("recipe sha256", t["recipe_sha256"])]
    for d in docs:
        L += ["", f"document {d['document']} of {n}: {d['status'].upper()}",
              *_field("input file", d["source_file"]), *_field("record", _record(d["source_file"], d["source_record"])),
              *_field("license", d["license"]), *_field("evidence", d["license_evidence"]),
              *_field("as written", d.get("license_raw")), *_field("detected", d.get("license_detected")),
              *_field("language", d["language"]), *_field("title", d["title"]), *_field("url", d["url"]),
              *_field("date", d.get("date")), *_field("tokens", d["n_tokens"])]
        if d["annotations"]:
            L += ["  annotations"] + [f"    {k:<14} {json.dumps(v, ensure_ascii=False)}"
                                      for k, v in d["annotations"].items()]
        L += ["  metadata"] + [f"    {k:<14} {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(d["metadata"].items())]
        if d["status"] == "kept":
            L.append(f"  output         {d['shard']} row {d['row']}")
        else:
            L.append(f"  removed        at stage {d['stage']}: {d['reason']}{_dup_text(d)}")
            L.append(f"                 {d['shard']} row {d['row']}")
    kept = [d["document"] for d in docs if d["status"] == "kept"]
    mix = _mix_lines(t, f" (copies of this id: the kept document{'s' if len(kept) > 1 else ''} "
                        f"{', '.join(map(str, kept))})" if kept else "")
    return _lines(L + ([""] + mix if mix else []))
