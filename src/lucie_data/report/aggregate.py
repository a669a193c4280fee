"""The provenance report as data: pure aggregations over a build's shards, ledgers and manifest → dict.

Everything here reads the build folder (public contract, CONTRIBUTING.md "Build folder") and nothing
else. Counts come from the shards; the ``reconciliation`` section checks them against the ledgers
and the manifest so that a report that disagrees with its build says so instead of being printed.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pydantic

from ..buildfiles import (damaged_shard_message, first_unreadable, is_file_checked, read_manifest, read_source_file,
                          rebuild_hint, unreadable_message)
from ..errors import BuildFileError
from ..licenses import (
    UNKNOWN,
    UNVERIFIED_EVIDENCE,
    LicensePolicy,
    flagged_expr,
    is_no_derivatives,
    license_class,
    license_from_statement,
    mix_license,
    needs_attribution,
    normalize_license,
    share_alike_obligations,
    unknown_license_hint,
)
from ..languages import UNKNOWN as UNKNOWN_LANGUAGE

REPORT_VERSION = 1
GROUP_KEYS = ("status", "license", "language", "source")
#: fastText's lid.176 model: CC-BY-SA-3.0 (https://fasttext.cc/docs/en/language-identification.html)
#: libraries whose code touches the documents, by the stage/input types that use them
TOOLS = {"lucie-data": None, "datatrove": None, "pyarrow": None, "polars": None, "tokenizers": None,
         "ftfy": "normalize", "trafilatura": "html"}
MAX_IDS = 20  # ids listed per warning; the counts are complete


# ------------------------------------------------------------------------------------------- loading
def source_dirs(build_dir: Path) -> list[Path]:
    """Finished sources of the build: those its manifest lists (a folder left by a source dropped from the pipeline
    is not the build's: review, the report counted it), or every finished folder of a build without a manifest."""
    listed = listed_sources(Path(build_dir))
    return sorted(p for p in (Path(build_dir) / "sources").glob("*")
                  if (p / "ledger.json").exists() and (listed is None or p.name in listed))


def listed_sources(build_dir: Path) -> set[str] | None:
    """The source names ``manifest.json`` lists, None without a manifest (read once per file version)."""
    f = build_dir / "manifest.json"
    try:
        st = f.stat()
    except OSError:
        return None
    return _listed(str(f), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _listed(path: str, _mtime: int, _size: int) -> set[str] | None:
    m = read_manifest(Path(path).parent) or {}
    names = {s.get("name") for s in m.get("sources") or [] if isinstance(s, dict) and s.get("name")}
    return names if m.get("sources") is not None else None


def redistributable_sources(build_dir: str | Path) -> dict[str, bool]:
    """``{source: redistributable}`` from each source's ``recipe.resolved.json`` (what the mix must honour)."""
    out: dict[str, bool] = {}
    for p in sorted((Path(build_dir) / "sources").glob("*/recipe.resolved.json")):
        rec = read_source_file(p.parent, p.name)["recipe"]
        out[rec["name"]] = bool(rec.get("redistributable", True))
    return out


def is_build(build_dir: str | Path) -> bool:
    """A folder ``lucie-data build`` wrote: it has ``manifest.json`` or at least one finished source."""
    build_dir = Path(build_dir)
    return (build_dir / "manifest.json").is_file() or bool(source_dirs(build_dir))


def require_build(build_dir: str | Path) -> None:
    """InputError (exit 2) unless ``build_dir`` is a build folder: a recipes folder or a mix also has a
    ``sources/`` or ``data/`` folder, and nothing must be written into it."""
    from ..errors import InputError

    build_dir = Path(build_dir)
    if not build_dir.is_dir():
        raise InputError(f"{build_dir}: no such folder, expected a build folder (the output_dir of a pipeline); "
                         "give the folder `lucie-data build` wrote, or run `lucie-data build PIPELINE` first")
    if not is_build(build_dir) and (build_dir / "mix_plan.json").is_file():
        # (trainer review: a mix was answered with `lucie-data build PIPELINE --output <the mix>`)
        from ..buildfiles import mix_folder_message

        raise InputError(mix_folder_message(build_dir, is_build(build_dir.resolve().parent)))
    if not is_build(build_dir):
        raise InputError(f"{build_dir}: not a build folder (no manifest.json and no sources/*/ledger.json), "
                         "expected the output_dir of a pipeline that `lucie-data build` wrote; give that folder "
                         "(the pipeline's output_dir, `build/demo` for the demo), or run `lucie-data build PIPELINE "
                         f"--output {build_dir}` first")


def missing_shards(build_dir: str | Path, source: str, manifest: dict, ledger: dict | None) -> str | None:
    """Why the shards of a finished ``source`` are incomplete on disk, or None when they are all there.

    A kept or removed shard the manifest lists that is no longer a file, or fewer kept shards under ``data/``
    than the source's ledger counted (``data_shards``: builds without a manifest). Only file names are
    checked (no file is opened); unreadable files are named when they are read."""
    build_dir = Path(build_dir)
    prefix = f"sources/{source}/"
    # (a shard under a folder the command may not search is said so, not called missing: review 49, a traceback)
    gone = [(e["path"], e.get("rows"), what) for key, what in (("shards", "kept"), ("removed_shards", "removed"))
            for e in manifest.get(key) or [] if e["path"].startswith(prefix) and not is_file_checked(build_dir / e["path"])]
    if gone:
        path, rows, what = gone[0]
        more = f" (and {len(gone) - 1} more: {', '.join(str(build_dir / p) for p, _, _ in gone[1:4])}" \
               f"{' …' if len(gone) > 4 else ''})" if len(gone) > 1 else ""
        return (f"{build_dir / path} is missing{more}: manifest.json lists it as a {what} shard"
                f"{f' of {rows:,} document(s)' if isinstance(rows, int) else ''}")
    counted = (ledger or {}).get("data_shards")
    if isinstance(counted, int):
        have = _count_parquet(build_dir / "sources" / source / "data")
        if have < counted:
            return (f"{build_dir / 'sources' / source / 'data'} holds {have} kept shard(s), "
                    f"its ledger.json counts {counted}: a kept shard is missing")
    return None


def _count_parquet(folder: Path) -> int:
    """``len(list(folder.glob("**/*.parquet")))``, but a folder under it the command may not list is a BuildFileError
    naming it (the glob skips it without a word, and its shards were then said to be missing, with advice to delete
    the source)."""
    import os

    def refuse(err: OSError) -> None:
        if not isinstance(err, FileNotFoundError):
            raise BuildFileError(unreadable_message(err.filename or folder, err, action="listed"))
    return sum(f.endswith(".parquet") for _root, _dirs, files in os.walk(folder, onerror=refuse) for f in files)


def check_shards(build_dir: str | Path, manifest: dict, ledgers: dict[str, dict]) -> None:
    """BuildFileError (exit 2) naming the first missing shard of a finished source and the command that gets it
    back: a report without it would count less than the build and blame the ledgers (rule 1)."""
    for name, led in sorted(ledgers.items()):
        why = missing_shards(build_dir, name, manifest, led)
        if why:
            raise BuildFileError(f"the build is damaged: {why}; the report would leave its documents out; "
                                 f"{rebuild_hint(build_dir, name)}")


def load_documents(build_dir: str | Path, tokenizer: str | None = None):
    """One row per document of the build (kept and removed), without the text: a polars DataFrame with
    ``status, id, source, language, license, license_evidence, chars, tokens, removal_stage,
    removal_reason, modified, license_detected, license_warning, duplicate_of, license_raw, title``.
    ``language`` is ``und`` (``languages.UNKNOWN``, README "A source recipe") where a shard holds null.

    ``tokens`` is the shards' ``n_tokens`` (the build's counter) unless ``tokenizer`` is given, in
    which case the texts are recounted with it.
    """
    import polars as pl

    frames = []
    for sd in source_dirs(Path(build_dir)):
        for status, pattern in (("kept", "data/**/*.parquet"), ("removed", "removed/*/*.parquet")):
            files = sorted(sd.glob(pattern))
            if not files:
                continue
            lf = pl.scan_parquet(files, glob=False)  # (a build path holding `[` is not a pattern)
            extra = ([pl.col("removal_stage"), pl.col("removal_reason")] if status == "removed"
                     else [pl.lit(None, pl.String).alias("removal_stage"), pl.lit(None, pl.String).alias("removal_reason")])
            meta = pl.col("metadata")
            cols = [
                pl.lit(status).alias("status"), pl.col("id"), pl.col("source"),
                pl.col("language").fill_null(UNKNOWN_LANGUAGE), pl.col("license").fill_null(UNKNOWN),
                pl.col("license_evidence").fill_null("none"), pl.col("text").str.len_chars().cast(pl.Int64).alias("chars"),
                pl.col("n_tokens").cast(pl.Int64).fill_null(0).alias("tokens"), *extra,
                meta.str.contains('"modified_by":[', literal=True).fill_null(False).alias("modified"),
                meta.str.json_path_match("$.license_detected").alias("license_detected"),
                meta.str.json_path_match("$.license_warning").alias("license_warning"),
                meta.str.json_path_match("$.license_rule_verdict").alias("license_rule_verdict"),
                meta.str.json_path_match("$.duplicate_of").alias("duplicate_of"),
                meta.str.json_path_match("$.license_raw").alias("license_raw"),
                pl.col("title"),
            ]
            if tokenizer:
                cols.append(pl.col("text"))
            try:
                df = lf.select(cols).collect()
            except Exception as err:  # noqa: BLE001 -- polars often does not say which file: find it, name it, say the fix
                bad = first_unreadable(files, ["id", "text", "metadata", "n_tokens"])
                if bad is not None:
                    raise BuildFileError(damaged_shard_message(*bad)) from None
                raise BuildFileError(f"the {status} shards of {sd} do not read together ({err}); "
                                     f"{rebuild_hint(build_dir, sd.name)}") from None
            if tokenizer:
                from ..tokens import TokenCounter

                tc = TokenCounter(tokenizer)
                df = df.with_columns(pl.Series("tokens", tc.count_batch(df["text"].to_list()), pl.Int64)).drop("text")
            frames.append(df)
    if not frames:
        return pl.DataFrame(schema={"status": pl.String, "id": pl.String, "source": pl.String, "language": pl.String,
                                    "license": pl.String, "license_evidence": pl.String, "chars": pl.Int64,
                                    "tokens": pl.Int64, "removal_stage": pl.String, "removal_reason": pl.String,
                                    "modified": pl.Boolean, "license_detected": pl.String,
                                    "license_warning": pl.String, "license_rule_verdict": pl.String,
                                    "duplicate_of": pl.String, "license_raw": pl.String, "title": pl.String})
    return pl.concat(frames, how="vertical_relaxed").sort("status", "source", "id")


def load_ledgers(build_dir: str | Path) -> dict[str, dict]:
    return {sd.name: read_source_file(sd, "ledger.json") for sd in source_dirs(Path(build_dir))}


def load_recipes(build_dir: str | Path) -> dict[str, dict]:
    out = {}
    for sd in source_dirs(Path(build_dir)):
        rec = read_source_file(sd, "recipe.resolved.json")
        if rec is not None:
            out[sd.name] = rec
    return out


# ------------------------------------------------------------------------------------------- sections
def _sum(df) -> dict:
    return {"docs": int(df.height), "chars": int(df["chars"].sum() or 0), "tokens": int(df["tokens"].sum() or 0)}


def composition(docs) -> list[dict]:
    """Documents, characters and tokens per status × licence × language × source (sorted rows)."""
    import polars as pl

    agg = (docs.group_by(*GROUP_KEYS)
           .agg(pl.len().alias("docs"), pl.col("chars").sum().alias("chars"), pl.col("tokens").sum().alias("tokens"))
           .sort(*GROUP_KEYS))
    return [{**r, "docs": int(r["docs"]), "chars": int(r["chars"]), "tokens": int(r["tokens"]),
             "license_class": license_class(r["license"])} for r in agg.iter_rows(named=True)]


def totals(docs, ledgers: dict[str, dict] | None = None) -> dict:
    """Documents, characters and tokens kept, removed and in all. ``all`` also says how its documents relate to the
    records read (``records_read``, ``docs_created``: the parts a ``language_id`` split adds, so that
    ``all.docs = records_read + docs_created`` on a build that reconciles; review: "all" showed 179 documents where
    177 records were read, unexplained)."""
    import polars as pl

    out = {"all": _sum(docs), "kept": _sum(docs.filter(pl.col("status") == "kept")),
           "removed": _sum(docs.filter(pl.col("status") == "removed"))}
    if ledgers is not None:
        out["all"]["records_read"] = sum(int(led.get("records_read") or 0) for led in ledgers.values())
        out["all"]["docs_created"] = sum(_created(led) for led in ledgers.values())
        if out["all"]["docs_created"]:  # their text is in their parts too (auditor review: removed volume overstated)
            from ..steps.langid import SPLIT_REASON

            out["all"]["split_into_parts"] = _sum(docs.filter((pl.col("status") == "removed")
                                                              & (pl.col("removal_reason") == SPLIT_REASON)))
    return out


def _created(ledger: dict) -> int:
    """Documents a source's stages added (the parts of a ``language_id`` split: ledger ``docs_created``)."""
    return sum(int(st.get("docs_created") or 0) for st in ledger.get("stages") or [])


def licenses_summary(docs) -> list[dict]:
    """Per licence: class, attribution, and kept/removed counts."""
    import polars as pl

    out = []
    for lic in sorted(docs["license"].unique().to_list()):
        sub = docs.filter(pl.col("license") == lic)
        out.append({"license": lic, "class": license_class(lic), "needs_attribution": needs_attribution(lic),
                    "kept": _sum(sub.filter(pl.col("status") == "kept")),
                    "removed": _sum(sub.filter(pl.col("status") == "removed"))})
    return out


def funnel(ledgers: dict[str, dict], docs) -> dict[str, list[dict]]:
    """Per source, per stage: in, created, kept, removed (documents, characters, tokens) and removal reasons.
    ``docs_created``: the parts a ``language_id`` split adds (its input document is removed as
    ``language_split_into_parts``), so every row adds up: in + created = kept + removed (review: "in 31, kept 32,
    removed 1" did not, and the ledger's ``docs_created`` was not shown)."""
    import polars as pl

    rem = docs.filter(pl.col("status") == "removed")
    tok = {(r["source"], r["removal_stage"]): int(r["tokens"]) for r in
           rem.group_by("source", "removal_stage").agg(pl.col("tokens").sum()).iter_rows(named=True)}
    out = {}
    for name, led in sorted(ledgers.items()):
        out[name] = [{"stage": st["stage"], "type": st["type"], "docs_in": st["docs_in"],
                      "docs_created": int(st.get("docs_created") or 0), "docs_kept": st["docs_kept"],
                      "docs_removed": st["docs_removed"], "chars_in": st["chars_in"], "chars_removed": st["chars_removed"],
                      "tokens_removed": tok.get((name, st["stage"]), 0),
                      # code a prose filter let through unjudged (`language: auto`): kept, but not checked
                      "docs_skipped_code": int(st.get("docs_skipped_code") or 0),
                      # kept by a minhash_dedup that could not compare them (fewer words than a shingle)
                      "docs_no_signature": int(st.get("docs_no_signature") or 0),
                      "reasons": {k: v["docs"] for k, v in sorted(st["removed"].items())}}
                     for st in led["stages"]]
    return out


def _shown(tokenizer: str) -> str:
    from ..tokens import shown_name

    return shown_name(tokenizer)


def _build_counter(manifest: dict) -> str:
    """The report's token counter when it reads the shards' ``n_tokens``: named as the manifest records it, per source
    when the sources were counted by different counters (trainer review: "the build's counter" read as a model's
    tokenizer; code review: a `build --only` after a tokenizer change leaves sources counted by another)."""
    from ..tokens import shown_name

    def named(counter) -> str | None:
        name = counter.get("name") if isinstance(counter, dict) else None
        return shown_name(str(name)) if name else None

    per: dict[str, list[str]] = {}
    for e in manifest.get("sources") or []:
        if isinstance(e, dict) and named(e.get("token_counter")):
            per.setdefault(named(e["token_counter"]), []).append(str(e.get("name")))
    if len(per) > 1:
        return "n_tokens column, counted by the build with " + "; ".join(
            f"{name} ({', '.join(sorted(srcs))})" for name, srcs in sorted(per.items()))
    name = next(iter(per), None) or named(manifest.get("token_counter"))
    return f"n_tokens column, counted by the build with {name}" if name else "n_tokens column (the build's counter)"


def attribution(docs, recipes: dict[str, dict]) -> list[dict]:
    """Every (source, licence) of the output whose licence requires credit, with citation and URL, and how many of
    those documents a stage changed."""
    import polars as pl

    kept = docs.filter(pl.col("status") == "kept")
    out = []
    for name in sorted(kept["source"].unique().to_list()):
        rec = recipes.get(name, {}).get("recipe", {})
        prov = rec.get("provenance") or {}
        sub = kept.filter(pl.col("source") == name)
        lic_rows = sub.group_by("license").agg(pl.len().alias("docs"), pl.col("license_evidence").unique().sort())
        needing = [r for r in lic_rows.sort("license").iter_rows(named=True) if needs_attribution(r["license"])]
        if not needing:
            continue
        lics = [r["license"] for r in needing]
        out.append({"source": name, "licenses": lics,
                    "docs": int(sum(r["docs"] for r in needing)),
                    # of these, the documents a stage changed: a CC attribution says the material was modified (CC
                    # BY 4.0 §3(a)(1)(B); trainer review: 3,000 joined parallel texts credited as published)
                    "modified": int(sub.filter(pl.col("license").is_in(lics) & pl.col("modified")).height),
                    # `recipe` and `recipe:no_…` are the recipe's licence; anything else is per document
                    "per_document": any(e.split(":", 1)[0] != "recipe" for r in needing for e in r["license_evidence"]),
                    "citation": prov.get("citation") or "", "url": prov.get("url") or "",
                    "recipe_license": rec.get("license")})
    return out


def share_alike(docs, redistributable: dict[str, bool], policy: dict | None = None) -> dict:
    """Obligations and the implied licence of the publishable mix: kept documents of redistributable sources whose
    licence the pipeline's current ``policy`` allows (``mix build`` applies it: a source built under an earlier
    policy, left out of the last build by --only, may hold documents the mix leaves out)."""
    import polars as pl

    pub = docs.filter((pl.col("status") == "kept")
                      & pl.col("source").is_in([s for s, ok in redistributable.items() if ok])
                      & ~flagged_expr())  # flagged documents never enter a mix (licenses.flag_reason)
    allowed = _policy_decider(policy)
    if allowed is not None and pub.height:
        ok = {lic: allowed(lic) for lic in pub["license"].unique().to_list()}
        pub = pub.filter(pl.col("license").is_in([lic for lic, v in ok.items() if v]))
    lics = sorted(pub["license"].unique().to_list())
    readable = policy if allowed is not None else None  # (a policy this version cannot read: _policy_decider)
    return {"licenses": lics, "obligations": share_alike_obligations(lics, readable),
            "mix_license": mix_license(lics, readable),
            "excluded_sources": sorted(s for s, ok in redistributable.items() if not ok)}


#: trove classifiers (``License :: OSI Approved :: <name>``) whose name the SPDX normaliser does not read; the
#: unversioned Apache classifier is Apache-2.0 as PyPI's own licence metadata tools read it. "BSD License" says
#: no clause count: it stays unknown rather than guessed
TROVE_LICENSES = {
    "Apache Software License": "Apache-2.0", "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0", "Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "zlib/libpng License": "Zlib", "MIT No Attribution License (MIT-0)": "MIT-0",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0", "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
}


def _classifier_license(classifier: str) -> str:
    """SPDX of one ``License :: …`` trove classifier, or ``LicenseRef-unknown``."""
    name = classifier.rsplit("::", 1)[-1].strip()
    if name in TROVE_LICENSES:
        return normalize_license(TROVE_LICENSES[name])
    lic = normalize_license(name)
    if lic == UNKNOWN and name.endswith(")") and "(" in name:  # "Foo License (FOO-1.0)": the id in brackets
        lic = normalize_license(name[name.rindex("(") + 1:-1])
    return lic


def _package_license(dist: str) -> tuple[str, str]:
    """(SPDX, version) of an installed distribution, from its metadata: ``License-Expression``, then ``License``
    (skipped when it is a whole licence text), then the ``License ::`` trove classifiers (tokenizers declares
    Apache-2.0 only there); each normalised with :func:`lucie_data.licenses.normalize_license`."""
    from importlib import metadata

    try:
        md = metadata.metadata(dist)
    except metadata.PackageNotFoundError:
        return UNKNOWN, ""
    version = md.get("Version", "")
    for c in (md.get("License-Expression"), md.get("License")):
        if c and len(c) < 200:
            n = normalize_license(c)
            if n != UNKNOWN:
                return n, version
    found = sorted({_classifier_license(c) for c in md.get_all("Classifier") or [] if c.startswith("License ::")}
                   - {UNKNOWN})
    if len(found) == 1:
        return found[0], version
    if found:  # several licence classifiers: the package is offered under each (PyPA's reading)
        return normalize_license(" OR ".join(found)), version
    return UNKNOWN, version


def tools_and_models(manifest: dict, ledgers: dict[str, dict], recipes: dict[str, dict]) -> dict:
    """Licences of the models (the manifest's ``models``, and those the stages of each source's recipe as built load:
    a source left out of the last build by ``--only`` keeps the recipe it was built with, while the manifest's list
    comes from today's recipes; code review) and of the libraries used. Not lid.176 for any language ID (auditor
    review: listed, with its CC-BY-SA-3.0, for a build that used langdetect only)."""
    from ..manifest import model_key

    models = {model_key(m): dict(m) for m in manifest.get("models", []) if m.get("name")}
    for m in _built_models(recipes):
        models.setdefault(model_key(m), m)
    types = {st["type"] for led in ledgers.values() for st in led["stages"]}
    inputs = {r.get("recipe", {}).get("input", {}).get("type") for r in recipes.values()}
    dists = [dist for dist, needed in TOOLS.items()
             if not needed or needed in types or (needed == "html" and inputs & {"html", "warc"})]
    dists += [d for d in _stage_tools(recipes, inputs) if d not in dists]
    tools = []
    for dist in dists:
        lic, ver = _package_license(dist)
        tools.append({"name": dist, "version": ver, "license": lic,
                      "note": "" if lic != UNKNOWN else "no licence declared in the installed package's metadata"})
    return {"models": [models[k] for k in sorted(models)], "tools": tools}


# the package each language ID backend runs (stages.langid)
_LANGID_DISTS = {"fasttext": "fasttext-numpy2-wheel", "langdetect": "langdetect", "lingua": "lingua-language-detector"}


def _stage_tools(recipes: dict[str, dict], inputs: set) -> list[str]:
    """Libraries the recipes as built ran on the documents beyond :data:`TOOLS`: a language ID stage's backend,
    KenLM (and SentencePiece when a perplexity stage sets `sp_model_path`), warcio for WARC inputs, datasets for
    Hub datasets (rv47: none of them was listed)."""
    out: list[str] = []
    for rec in recipes.values():
        for st in (rec.get("recipe") or {}).get("stages") or []:
            if not isinstance(st, dict):
                continue
            if st.get("type") == "language_id":
                out += [_LANGID_DISTS.get(str(b), "fasttext-numpy2-wheel")
                        for b in (st.get("backend") or "fasttext", st.get("second_opinion")) if b]
            elif st.get("type") == "perplexity":
                out += ["kenlm"] + (["sentencepiece"] if st.get("sp_model_path") else [])
    out += ["warcio"] * ("warc" in inputs) + ["datasets"] * ("hf_dataset" in inputs)
    return list(dict.fromkeys(out))


def _built_models(recipes: dict[str, dict]) -> list[dict]:
    """The models each source's stages load, read from its ``recipe.resolved.json`` (the recipe as built): each stage
    spec's ``models()``, as the manifest's list is made. The file holds every argument with its default; those are
    left out before the spec is read again (a spec refuses some arguments given without others: `model_file` without
    `model`). A stage this version cannot read gives none."""
    from pydantic import ValidationError

    from ..stages import stage_table

    table = stage_table()
    out = []
    for rec in recipes.values():
        for st in (rec.get("recipe") or {}).get("stages") or []:
            cls = table.get(st.get("type")) if isinstance(st, dict) else None
            if cls is None:
                continue
            given = {k: v for k, v in st.items()
                     if k == "type" or k not in cls.model_fields or v != cls.model_fields[k].get_default(
                         call_default_factory=True)}
            try:
                spec = cls.model_validate(given)
            except (ValidationError, TypeError, ValueError):
                continue
            out += getattr(spec, "models", lambda: [])()
    return out


def _ids(df, n: int = MAX_IDS) -> list[str]:
    """Up to ``n`` distinct ids, in order (the documents sharing an id listed it twice; auditor review)."""
    return df["id"].unique(maintain_order=True).head(n).to_list()


def _unknown_hints(df, n: int = 5) -> str:
    """Why the licences as written (metadata ``license_raw``) of these unknown-licence documents are unknown, for
    those that name a family without its version ("CC-BY", "BSD": ``licenses.unknown_license_hint``); "" if none."""
    raws = sorted({r for r in df["license_raw"].to_list() if r} if "license_raw" in df.columns else ())
    hints = [h for h in map(unknown_license_hint, raws) if h]
    return f" — {'; '.join(hints[:n])}{f' (and {len(hints) - n} more)' if len(hints) > n else ''}" if hints else ""


def _unknown_kept_reason(policy: dict | None):
    """licence -> why a kept document under this licence of unknown class passed the pipeline's policy, worded by
    the policy's actual rule: allowed by name (``allow:``), or by ``unknown: allow``; never a rule it does not have."""
    if policy is None:
        return lambda _lic: "the pipeline has no license_policy, so none was enforced"
    try:
        strict = LicensePolicy(**{**policy, "unknown": "deny"})
    except (TypeError, ValueError):  # a manifest this version cannot read the policy of: claim nothing
        return lambda _lic: f"the build's license_policy let it through ({json.dumps(policy, sort_keys=True)})"

    def why(lic: str) -> str:
        if strict.decide(lic)[0]:
            return "allowed by name in the policy's `allow:` list"
        if policy.get("unknown") == "allow":
            return "the policy allows unknown licences (`unknown: allow`)"
        return ("kept although the pipeline's policy (`unknown: deny`, not in `allow:`) does not allow it: "
                "rebuild the source")
    return why


# ------------------------------------------------------------------------------------------- licence policy
_POLICY_KEYS = ("allow_classes", "allow", "deny", "unknown", "unverified")


def _canonical_policy(policy):
    """A policy as compared: defaults filled in, lists as sorted sets (their order means nothing)."""
    if not isinstance(policy, dict):
        return policy
    try:
        full = LicensePolicy(**policy).model_dump(mode="json")
    except (TypeError, ValueError):  # a policy this version cannot read: compared as written
        full = dict(policy)
    return {k: sorted(map(str, v)) if isinstance(v, list) else v for k, v in sorted(full.items())}


def _policy_decider(policy):
    """licence -> whether ``policy`` allows it; None without a policy, or one this version cannot read."""
    if not isinstance(policy, dict):
        return None
    try:
        lp = LicensePolicy(**policy)
    except (TypeError, ValueError):
        return None
    return lambda lic: lp.decide(lic)[0]


def policy_problem(policy) -> str | None:
    """Why a recorded licence policy cannot be read (by this version), or None: no policy (null) or one that parses.
    :func:`_policy_decider` answers None for both, so the report tells them apart here (review 49: a manifest whose
    policy said ``allow_classes: [everything]`` had the "kept documents are under licences its recorded policy
    allows" check left out, "0 failed")."""
    if policy is None:
        return None
    if not isinstance(policy, dict):
        return f"it is {json.dumps(policy)[:80]}, not an object"
    try:
        LicensePolicy(**policy)
    except pydantic.ValidationError as err:
        e = err.errors()[0]
        where = ".".join(map(str, e["loc"]))
        if e["type"] == "extra_forbidden":
            return f"unknown key {where!r} (allowed: {', '.join(LicensePolicy.model_fields)})"
        return f"{where + ': ' if where else ''}{e['msg']} (found {json.dumps(e.get('input'), default=str)[:80]})"
    except (TypeError, ValueError) as e:
        return str(e)
    return None


def policy_brief(policy) -> str:
    """A licence policy in one line: ``allow classes public-domain, permissive; deny CC-BY-4.0; unknown deny; …``."""
    if policy is None:  # (rv47: a recipe's own gate, or its license_rules' gate, enforces all the same)
        return "none (licences recorded; enforced only by a recipe's own licence gate or licence rules)"
    if not isinstance(policy, dict):
        return json.dumps(policy, sort_keys=True)

    def ids(v) -> str:
        return ", ".join(map(str, v)) if v else "none"
    parts = [f"allow classes {ids(policy.get('allow_classes') or [])}"]
    if policy.get("allow"):
        parts.append(f"allow {ids(policy['allow'])}")
    parts += [f"deny {ids(policy.get('deny') or [])}", f"unknown {policy.get('unknown', 'deny')}",
              f"unverified {policy.get('unverified', 'allow')}"]
    parts += [f"{k} {json.dumps(policy[k], sort_keys=True)}" for k in sorted(set(policy) - set(_POLICY_KEYS))]
    return "; ".join(parts)


def _policy_settings(policy) -> dict[str, str]:
    """setting -> its value as the brief shows it (``deny`` -> ``CC-BY-4.0, CC-BY-NC-4.0`` or ``none``)."""
    p = _canonical_policy(policy)

    def show(v) -> str:
        return (", ".join(v) or "none") if isinstance(v, list) else str(v)
    keys = [k for k in _POLICY_KEYS if k in p] + sorted(set(p) - set(_POLICY_KEYS))
    return {k: show(p[k]) for k in keys}


def policy_changes(old, new) -> str:
    """Both policies briefly, by what differs: ``built under `deny: none`; the pipeline's policy now says `deny:
    CC-BY-4.0` (the rest is the same: …)``."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return f"built under: {policy_brief(old)}; the pipeline's policy now: {policy_brief(new)}"
    a, b = _policy_settings(old), _policy_settings(new)
    keys = list(dict.fromkeys([*a, *b]))
    diff = [k for k in keys if a.get(k) != b.get(k)]
    same = [f"{k} {a[k]}" for k in keys if k not in diff]
    was = "; ".join(f"{k}: {a.get(k, 'unset')}" for k in diff)
    now = "; ".join(f"{k}: {b.get(k, 'unset')}" for k in diff)
    return (f"built under `{was}`; the pipeline's policy now says `{now}`"
            + (f" (the rest is the same: {'; '.join(same)})" if same else ""))


def source_entries(manifest: dict) -> dict[str, dict]:
    """The manifest's source entries by name (entries that are not objects left out)."""
    return {e.get("name"): e for e in manifest.get("sources") or [] if isinstance(e, dict)}


def built_policies(manifest: dict, names) -> dict[str, dict | None]:
    """source -> the licence policy its shards were built under: its manifest entry's ``license_policy`` (a later
    ``build --only`` of other sources keeps the entry as built, manifest ``_AS_BUILT``); an entry without one (an
    older lucie-data) or no entry: the manifest's own policy (as ``mix build`` reads it)."""
    top = manifest.get("license_policy")
    entries = source_entries(manifest)
    return {n: entries[n]["license_policy"] if "license_policy" in entries.get(n, {}) else top for n in names}


def policy_groups(manifest: dict, names) -> list[dict]:
    """The sources per licence policy they were built under, the pipeline's current one (``manifest.json``'s, written
    by the last build) first: ``[{"current", "policy", "brief", "sources"}]``."""
    top = _canonical_policy(manifest.get("license_policy"))
    groups: list[dict] = []
    for name, pol in sorted(built_policies(manifest, names).items()):
        key = _canonical_policy(pol)
        g = next((g for g in groups if g["_key"] == key), None)
        if g is None:
            g = {"_key": key, "current": key == top, "policy": pol, "brief": policy_brief(pol), "sources": []}
            groups.append(g)
        g["sources"].append(name)
    groups.sort(key=lambda g: not g["current"])
    return [{k: v for k, v in g.items() if k != "_key"} for g in groups]


def _by_license(df) -> str:
    counts = df.group_by("license").len().sort("license")
    return ", ".join(f"{r['license']} × {r['len']}" for r in counts.iter_rows(named=True))


def out_of_date_sources(docs, ledgers: dict[str, dict], manifest: dict) -> list[dict]:
    """Sources whose shards are not what the pipeline, as its last build read it, would build: built under another
    licence policy (``policy_changed``), or marked ``out_of_date`` in ``manifest.json`` (``source_out_of_date``):
    both left out of that build by ``--only``. Review: after a policy change and ``build --only`` of one source, the
    report stated the new policy over the others' documents, kept under the old one, and warned of nothing, while
    the build and ``mix build`` did."""
    import polars as pl

    top = manifest.get("license_policy")
    allowed = _policy_decider(top)
    built = built_policies(manifest, ledgers)
    entries = source_entries(manifest)
    marked = {n for n, e in entries.items() if e.get("out_of_date")}
    pfile = (manifest.get("pipeline") or {}).get("file") or "PIPELINE.yaml"
    fix = f"rebuild it: `lucie-data build {pfile}` without --only"
    out: list[dict] = []
    unrecorded = {n for n, e in entries.items() if e.get("as_built_unknown")}
    for name in sorted(ledgers):
        if name in unrecorded:  # (its null policy means "not recorded", not "built without one")
            out.append({"kind": "source_not_recorded", "severity": "warning", "source": name, "count": 0, "ids": [],
                        "message": f"source {name} was built by a run that stopped before writing manifest.json, and "
                        "the last build (--only) left it out: the recipe, licence policy and gate it was built with "
                        "are not recorded, so this report cannot check its documents against them and `mix build` "
                        "refuses it; " + fix})
            continue
        old = built[name]
        if _canonical_policy(old) == _canonical_policy(top):
            if name in marked:
                out.append({"kind": "source_out_of_date", "severity": "warning", "source": name, "count": 0, "ids": [],
                            "message": f"source {name} was left out of the last build (--only) though out of date with "
                            "its pipeline (its recipe, inputs or the pipeline's options changed since it was built): its "
                            "documents are as an earlier run built them, and `mix build` mixes them as built; " + fix})
            continue
        sub = docs.filter(pl.col("source") == name)
        kept = sub.filter(pl.col("status") == "kept")
        bad = kept.head(0)
        if allowed is not None:
            denied = [lic for lic in kept["license"].unique().to_list() if not allowed(lic)]
            unverified = (pl.col("license_evidence").is_in(list(UNVERIFIED_EVIDENCE))
                          if top.get("unverified") == "deny" else pl.lit(False))
            bad = kept.filter(pl.col("license").is_in(denied) | unverified)
        refused = (isinstance(top, dict) and top.get("unverified") == "deny"
                   and (old or {}).get("unverified", "allow") != "deny")
        if bad.height:
            effect = (f"{bad.height} of its {kept.height} kept document(s) would not pass the current policy "
                      f"({_by_license(bad)}): they are counted as kept in this report, and `mix build`, which applies "
                      "the pipeline's policy, " + ("refuses the build until the source is rebuilt (`unverified: deny`: "
                                                   "only the build's gate can remove them)" if refused else
                                                   "leaves them out"))
        else:
            effect = f"Its {kept.height} kept document(s) pass the current policy too" + (
                " (`mix build` refuses a source built without `unverified: deny` all the same)" if refused else "")
        lic_removed = sub.filter((pl.col("status") == "removed") & pl.col("removal_reason").is_in(
            ["license_not_allowed", "license_unknown", "license_unverified"]))
        if allowed is not None and lic_removed.height:
            freed = lic_removed.filter(pl.col("license").is_in(
                [lic for lic in lic_removed["license"].unique().to_list() if allowed(lic)]))
            if top.get("unverified") == "deny":
                freed = freed.filter(pl.col("removal_reason") != "license_unverified")
            if freed.height:
                effect += (f"; {freed.height} document(s) the old policy removed would be kept by the current one "
                           f"({_by_license(freed)})")
        elif allowed is None and lic_removed.height:
            effect += f"; {lic_removed.height} document(s) were removed by the old policy"
        out.append({"kind": "policy_changed", "severity": "warning", "source": name, "count": bad.height,
                    "ids": _ids(bad),
                    "message": f"source {name} was built under another licence policy than the pipeline's current one "
                    f"(the last build ran with --only and left it out): {policy_changes(old, top)}. {effect}; {fix}"})
    return out


def warnings(docs, ledgers: dict[str, dict], redistributable: dict[str, bool], manifest: dict,
             finished: bool = True) -> list[dict]:
    """Everything an auditor must look at. ``severity``: ``warning`` (acts needed) or ``info``. ``finished``: the build
    has a manifest.json (without one, whether it has a licence policy is not known: ``build_unfinished`` says so)."""
    import polars as pl

    out: list[dict] = []
    kept = docs.filter(pl.col("status") == "kept")
    removed = docs.filter(pl.col("status") == "removed")
    if finished and manifest.get("license_policy") is None:
        # a recipe's own gate, and the gate its license_rules get (with the default policy, so that their verdicts
        # act: stages.licence.with_policy_gate), remove documents all the same (rv47: "not enforced" above a funnel
        # that showed `license_not_allowed` removals)
        gated = sorted(s["name"] for s in manifest.get("sources") or [] if isinstance(s, dict) and s.get("license_gate"))
        out.append({"kind": "no_license_policy", "severity": "warning", "source": None, "count": 0, "ids": [],
                    "message": "the pipeline has no license_policy: licences were recorded but not enforced" + (
                        f", except by the licence gates of source(s) {', '.join(gated)} (a recipe's own "
                        "`license_gate`, or the one added after its `license_rules`, with the default policy unless "
                        "the recipe's gate sets one)" if gated else "")})
    unk = kept.filter(pl.col("license").map_elements(lambda s: license_class(s) == "unknown", return_dtype=pl.Boolean))
    why_kept = _unknown_kept_reason(manifest.get("license_policy"))
    for name in sorted(unk["source"].unique().to_list()):
        sub = unk.filter(pl.col("source") == name)
        by_reason: dict[str, list[str]] = {}
        for lic in sorted(set(sub["license"].to_list())):
            by_reason.setdefault(why_kept(lic), []).append(lic)
        reasons = "; ".join(f"{', '.join(lics)}: {why}" for why, lics in by_reason.items())
        out.append({"kind": "unknown_license_kept", "severity": "warning", "source": name, "count": sub.height,
                    "ids": _ids(sub), "message": f"{sub.height} kept document(s) with a licence of unknown class "
                    f"({reasons}){_unknown_hints(sub)}"})
    unk_rm = removed.filter(pl.col("removal_reason") == "license_unknown")
    for name in sorted(unk_rm["source"].unique().to_list()):
        sub = unk_rm.filter(pl.col("source") == name)
        out.append({"kind": "unknown_license_removed", "severity": "info", "source": name, "count": sub.height,
                    "ids": _ids(sub), "message": f"{sub.height} document(s) removed because their licence is unknown"
                    f"{_unknown_hints(sub)}"})
    nc = kept.filter(pl.col("license").map_elements(lambda s: license_class(s) == "non-commercial", return_dtype=pl.Boolean))
    if nc.height:
        out.append({"kind": "non_commercial_kept", "severity": "warning", "source": None, "count": nc.height,
                    "ids": _ids(nc), "message": f"{nc.height} kept document(s) do not grant commercial use"})
    # modified under a no-derivatives licence, or flagged so by the gate (which judges by the policy: `CC-BY-4.0 OR
    # CC-BY-ND-4.0` under `deny: [CC-BY-4.0]` is no-derivatives, though its least restrictive reading is not; review)
    nd = docs.filter(pl.col("modified") & (
        pl.col("license").map_elements(is_no_derivatives, return_dtype=pl.Boolean)
        | (pl.col("license_warning") == "no_derivatives_modified").fill_null(False)))
    nd_kept = nd.filter(pl.col("status") == "kept")
    if nd_kept.height:
        out.append({"kind": "no_derivatives_modified_kept", "severity": "warning", "source": None,
                    "count": nd_kept.height, "ids": _ids(nd_kept),
                    "message": f"{nd_kept.height} no-derivatives document(s) were modified by a stage and kept "
                    "(flagged): they must not be published"})
    nd_rm = removed.filter(pl.col("removal_reason") == "license_no_derivatives_modified")
    if nd_rm.height:
        out.append({"kind": "no_derivatives_modified_removed", "severity": "info", "source": None,
                    "count": nd_rm.height, "ids": _ids(nd_rm),
                    "message": f"{nd_rm.height} no-derivatives document(s) modified by a stage were removed"})
    for name, ok in sorted(redistributable.items()):
        if not ok:
            n = kept.filter(pl.col("source") == name).height
            out.append({"kind": "not_redistributable", "severity": "warning", "source": name, "count": n, "ids": [],
                        "message": f"source {name} may be used for training but not redistributed: "
                        f"its {n} kept document(s) are excluded from any published mix"})
    why_unchecked = {"recipe:no_sidecar_row": "whose input file has no row in the recipe's sidecar",
                     "recipe:no_license_field": "whose record has no value in the recipe's license_field",
                     "recipe:no_rights_data": "in which license_rules found no licence or rights statement where "
                                              "told to look"}
    unchecked = kept.filter(pl.col("license_evidence").is_in(list(UNVERIFIED_EVIDENCE)))
    for (name, ev), sub in sorted(unchecked.group_by(["source", "license_evidence"]), key=lambda g: g[0]):
        out.append({"kind": "license_unchecked_kept", "severity": "warning", "source": name, "count": sub.height,
                    "ids": _ids(sub), "message": f"{sub.height} kept document(s) {why_unchecked.get(ev, 'without a licence of their own')}: their licence "
                    f"is the recipe's, unchecked (license_evidence {ev}; a policy with `unverified: deny` removes "
                    "them)"})
    for name, led in sorted(ledgers.items()):
        for q in led.get("quarantined_files", []):
            out.append({"kind": "quarantined_file", "severity": "warning", "source": name, "count": 1, "ids": [],
                        "message": f"{q['file']}: {q['reason']} ({q.get('detail')})"})
        # what the build printed at its end, said again here (review: the report showed "0 warning(s)" over a build
        # that warned of shared ids and of records given the recipe's licence for want of their own)
        dup = int(led.get("duplicate_ids") or 0)
        if dup:
            sub = kept.filter(pl.col("source") == name)
            ids = sub.filter(pl.col("id").is_duplicated())
            out.append({"kind": "duplicate_ids_kept", "severity": "warning", "source": name, "count": dup,
                        "ids": _ids(ids), "message": f"{dup} kept document(s) share an id with another (input records "
                        "with one id: copies of one record, e.g. a file given twice or in two formats, or different "
                        "records): ids are not unique in this source; an `exact_dedup` stage removes copies, the "
                        "recipe's `id_field` set to a unique field tells different records apart"})
        shared = int(led.get("removed_sharing_ids") or 0)
        if shared:  # (ledger: two input records with one id, one of them removed, e.g. by a dedup)
            ex = [str(i) for i in led.get("removed_sharing_ids_examples") or []]
            out.append({"kind": "duplicate_ids_removed", "severity": "warning", "source": name, "count": shared,
                        "ids": ex, "message": f"{shared} removed document(s) have the id of another document of the "
                        "source (input records sharing an id, at least one of them removed): `trace` of such an id "
                        "shows each; set the recipe's `id_field` to a unique field"})
        for w in led.get("warnings", []):
            out.append({"kind": "build_warning", "severity": "warning", "source": name, "count": 0, "ids": [],
                        "message": str(w)})
    det = docs.filter(pl.col("license_detected").is_not_null())
    rows = []
    for r in det.select("id", "source", "license", "license_detected", "status").iter_rows(named=True):
        d = normalize_license(r["license_detected"])
        if d == UNKNOWN:
            d = license_from_statement(r["license_detected"])
        if d != r["license"]:
            kind = ("unrecognised" if d == UNKNOWN else
                    "same_class" if license_class(d) == license_class(r["license"]) else "different_class")
            rows.append({**r, "detected_spdx": d, "kind": kind})
    labels = {"different_class": ("warning", "states a licence of another class than the recorded one"),
              "same_class": ("info", "states a variant of the recorded licence (same class)"),
              "unrecognised": ("info", "carries a licence mention the normaliser does not recognise")}
    for kind, (sev, text) in labels.items():
        sub = [r for r in rows if r["kind"] == kind]
        if sub:
            pairs = sorted({f"{r['license']} vs detected {r['license_detected']!r}" for r in sub})
            out.append({"kind": f"license_detected_{kind}", "severity": sev, "source": None, "count": len(sub),
                        "ids": [r["id"] for r in sub][:MAX_IDS],
                        "message": f"{len(sub)} document(s) whose page {text}: " + "; ".join(pairs[:10])})
    return out


def unfinished_sources(build_dir: Path, ledgers: dict[str, dict], manifest: dict) -> list[dict]:
    """Sources the build started (a folder under ``sources/``) or lists (manifest) but did not finish.

    They have no ledger, so their documents are in none of the report's totals: an auditor must know
    the report covers less than the build was asked to produce (rerun ``lucie-data build`` to finish).
    """
    started = {p.name for p in (build_dir / "sources").glob("*") if p.is_dir()}
    listed = {s.get("name") for s in manifest.get("sources", []) if isinstance(s, dict) and s.get("name")}
    orphans = sorted(n for n in started if manifest.get("sources") is not None and n not in listed
                     and (build_dir / "sources" / n / "ledger.json").exists())
    out = [{"kind": "source_not_in_manifest", "severity": "warning", "source": name, "count": 0, "ids": [],
            "message": f"sources/{name} is not in the build's manifest.json (a source dropped from the pipeline, or "
            "one built by a run that stopped before writing the manifest): left out of this report; rerun "
            "`lucie-data build` if it is in the pipeline, else delete the folder"} for name in orphans]
    failed = {f["name"]: str(f.get("error")) for f in manifest.get("failed_sources") or []
              if isinstance(f, dict) and isinstance(f.get("name"), str)}
    out += [{"kind": "failed_source", "severity": "warning", "source": name, "count": 0, "ids": [],
             "message": f"source {name} failed in the last build ({why}): none of its documents are in this report "
             "or in a mix; fix it and rerun `lucie-data build`"} for name, why in sorted(failed.items())]
    # a source whose input could not be read whole (runner.RETRY_REASONS; auditor review: shown as a finished source,
    # its placeholder counted as a record read, while the build exited 1 and the mix refuses it)
    for name, led in sorted(ledgers.items()):
        if led.get("complete") is False:
            why = "; ".join(f"{q.get('file')}: {q.get('reason')}" for q in led.get("incomplete") or []) or "unsaid"
            out.append({"kind": "incomplete_source", "severity": "warning", "source": name, "count": 0, "ids": [],
                        "message": f"source {name} is incomplete: its input could not be read whole ({why}); its "
                        "counts here are what was read, a mix refuses it; rerun `lucie-data build` with the same "
                        "pipeline and --output (it retries the input)"})
    unfinished = sorted(((started - set(orphans)) | listed) - set(ledgers) - set(failed))
    # a source the manifest lists as built whose ledger is gone is damaged, not unfinished (auditor review)
    built_once = set(source_entries(manifest))
    out += [{"kind": "unfinished_source", "severity": "warning", "source": name, "count": 0, "ids": [],
             "message": (f"source {name}: its ledger.json is missing though manifest.json lists it as built (deleted "
                         "since the build?): none of its documents are in this report; "
                         f"{rebuild_hint(build_dir, name)}") if name in built_once and name in started else
             f"source {name} did not finish (no ledger.json): none of its documents are in this "
             "report; rerun `lucie-data build` to finish it"} for name in unfinished]
    # pipeline sources the manifest says have no build (third review: the report was silent, the mix refused)
    for kind, key, what in (("lost_source", "lost_sources", "was built once but its build is gone (folder deleted, or "
                             "a rebuild interrupted)"),
                            ("unbuilt_source", "unbuilt_sources", "was never built (the builds ran with --only)")):
        for name in sorted(n for n in manifest.get(key) or [] if isinstance(n, str) and n not in unfinished):
            out.append({"kind": kind, "severity": "warning", "source": name, "count": 0, "ids": [],
                        "message": f"source {name} of the pipeline {what}: none of its documents are in this report "
                        "or in a mix; rerun `lucie-data build` without --only"})
    return out


def removed_examples(docs, per_group: int = 10) -> list[dict]:
    """Up to ``per_group`` removed documents per (source, stage, reason), with titles, for a human to check."""
    import polars as pl

    rem = docs.filter(pl.col("status") == "removed").sort("source", "removal_stage", "removal_reason", "id")
    rows = rem.group_by("source", "removal_stage", "removal_reason", maintain_order=True).head(per_group)
    return [{"source": r["source"], "stage": r["removal_stage"], "reason": r["removal_reason"], "id": r["id"],
             "title": r["title"], "license": r["license"], "duplicate_of": r["duplicate_of"]}
            for r in rows.iter_rows(named=True)]


def recipes_as_built(build_dir: Path, manifest: dict, names) -> dict[str, str | None]:
    """Source -> why its ``recipe.resolved.json`` is not the file the build recorded in manifest.json, or None.

    The report reads a source's licence, redistributable flag and citation from that file; ``mix build`` refuses an
    edited one, and so must the report's reconciliation (auditor review: a private source edited to
    ``redistributable: true`` with a forged citation was reported as such, "Reconciliation: OK"). Sources without a
    manifest entry are not judged here (``unfinished_sources`` and the manifest checks say why)."""
    from ..mix.stats import _resolved_as_built

    entries = source_entries(manifest)
    out: dict[str, str | None] = {}
    for name in sorted(names):
        entry = entries.get(name)
        if entry is None or entry.get("as_built_unknown"):  # (nothing recorded to compare with: a warning says so)
            continue
        path = build_dir / "sources" / name / "recipe.resolved.json"
        try:
            raw = path.read_bytes()
            recipe = (json.loads(raw) or {}).get("recipe") or {}
        except (OSError, ValueError, AttributeError):
            out[name] = f"{path} cannot be read"
            continue
        out[name] = None if _resolved_as_built(raw, recipe, entry) else (
            f"sources/{name}/recipe.resolved.json is not the file the build recorded (its sha256 differs from "
            "manifest.json's): edited since the build; rerun `lucie-data build` to write it again")
    return out


def reconciliation(docs, ledgers: dict[str, dict], manifest: dict, changed: dict[str, str | None] | None = None,
                   recipes_changed: dict[str, str | None] | None = None, finished: bool = True) -> dict:
    """Checks that the report's counts equal the ledgers' and the manifest's; ``ok`` only if all hold.
    ``changed``: source -> the first of its shards that is not the file manifest.json recorded (None: all are);
    ``recipes_changed``: the same for its ``recipe.resolved.json`` (:func:`recipes_as_built`).

    Besides the counts: each ledger's funnel adds up (:func:`~lucie_data.ledger.stage_imbalances`, run again on the
    ledger read here), and every kept document a licence stage did not flag is under a licence the policy recorded
    for its source allows (the report states that policy; an edited manifest.json stated one the documents break)."""
    import polars as pl

    from ..ledger import stage_imbalances

    checks = []

    def check(what: str, report_value, other_value, rerun_build: bool = False) -> None:
        checks.append({"check": what, "report": report_value, "expected": other_value, "ok": report_value == other_value,
                       # fixed by rerunning the build, which writes manifest.json again (no source to delete)
                       **({"rerun_build": True} if rerun_build else {})})

    # nothing to reconcile the shards and the policy with: not "OK" (new-user review)
    check("manifest.json: the build finished", "yes" if finished else "stopped before writing it", "yes")

    for name, why in sorted((changed or {}).items()):  # review: a licence rewritten with as many rows passed
        check(f"{name}: shards are the files manifest.json recorded", why or "yes", "yes")
    for name, why in sorted((recipes_changed or {}).items()):
        check(f"{name}: recipe.resolved.json is the file manifest.json recorded", why or "yes", "yes")
    policies = built_policies(manifest, ledgers)
    # a recorded policy this version cannot read: the check of kept licences cannot run, and says so rather than
    # being left out (an edited manifest.json; `mix build` refuses it too)
    edited = ("edited since the build, or written by another lucie-data version; rerun `lucie-data build` with the "
              "same pipeline and --output to write manifest.json again")
    top_problem = policy_problem(manifest.get("license_policy"))
    if top_problem:
        check("manifest.json `license_policy`: the pipeline's recorded licence policy can be read",
              f"cannot be read: {top_problem}; {edited}", "yes", rerun_build=True)
    entry_index = {e.get("name"): i for i, e in enumerate(manifest.get("sources") or [])
                   if isinstance(e, dict) and "license_policy" in e}
    for name, led in sorted(ledgers.items()):
        problems = stage_imbalances(led["stages"], led["docs_kept"])
        check(f"{name}: every stage's in (+ created) = kept + removed, with a reason for each removal, and its in = "
              "the previous stage's kept", "; ".join(problems) or "yes", "yes")
        allows = _policy_decider(policies.get(name))
        problem = policy_problem(policies.get(name))
        if problem:
            key = f"sources[{entry_index[name]}].license_policy" if name in entry_index else "license_policy"
            check(f"{name}: kept documents are under licences its recorded policy allows",
                  f"not checked: the policy it was built under, manifest.json `{key}`, cannot be read: {problem}",
                  "yes", rerun_build=True)
        if allows is not None:
            kept = docs.filter((pl.col("source") == name) & (pl.col("status") == "kept") & ~flagged_expr())
            denied = sorted(lic for lic in kept["license"].unique().to_list() if not allows(lic))
            # (adversary review: a recorded `unverified: deny` over kept documents of unverified licence passed)
            unverified = (kept.filter(pl.col("license_evidence").is_in(list(UNVERIFIED_EVIDENCE))).height
                          if (policies.get(name) or {}).get("unverified") == "deny" else 0)
            found = ([f"not allowed: {', '.join(denied[:5])}"] if denied else []) + (
                [f"{unverified} of unverified licence under `unverified: deny`"] if unverified else [])
            check(f"{name}: kept documents are under licences its recorded policy allows",
                  "; ".join(found) or "yes", "yes")
    for name, led in sorted(ledgers.items()):
        sub = docs.filter(pl.col("source") == name)
        k = sub.filter(pl.col("status") == "kept")
        r = sub.filter(pl.col("status") == "removed")
        created = sum(int(st.get("docs_created") or 0) for st in led["stages"])  # parts of a language_id split
        check(f"{name}: documents = records read" + (" + parts created by splits" if created else ""), sub.height,
              led["records_read"] + created)
        check(f"{name}: kept documents", k.height, led["docs_kept"])
        check(f"{name}: kept characters", int(k["chars"].sum() or 0), led["chars_kept"])
        check(f"{name}: removed documents", r.height, led["docs_removed"])
        by = {(x["removal_stage"], x["removal_reason"]): int(x["len"]) for x in
              r.group_by("removal_stage", "removal_reason").len().iter_rows(named=True)}
        led_by = {(st["stage"], reason): v["docs"] for st in led["stages"] for reason, v in st["removed"].items()}
        check(f"{name}: removals per stage and reason", dict(sorted((f"{a}/{b}", v) for (a, b), v in by.items())),
              dict(sorted((f"{a}/{b}", v) for (a, b), v in led_by.items())))
    if manifest.get("shards") is not None:
        check("kept documents = rows of manifest shards", int(docs.filter(pl.col("status") == "kept").height),
              sum(s["rows"] for s in manifest["shards"]))
    if manifest.get("removed_shards") is not None:
        check("removed documents = rows of manifest removed shards",
              int(docs.filter(pl.col("status") == "removed").height), sum(s["rows"] for s in manifest["removed_shards"]))
    return {"ok": all(c["ok"] for c in checks), "checks": checks}


def build_report(build_dir: str | Path, tokenizer: str | None = None) -> dict:
    """The whole report as a JSON-able dict (deterministic: sorted rows, no timestamps)."""
    from ..buildfiles import stopped_since_manifest

    build_dir = Path(build_dir)
    manifest = read_manifest(build_dir)
    stopped = stopped_since_manifest(build_dir) if manifest is not None else []
    if stopped:  # an earlier build's manifest, under a rebuild that stopped: reported as any unfinished build (rv59)
        manifest = None
    finished = manifest is not None  # manifest.json is the build's last write: without it, the build stopped early
    manifest = manifest or {}
    ledgers = load_ledgers(build_dir)
    check_shards(build_dir, manifest, ledgers)  # before any shard is read: a missing one is named, not miscounted
    recipes = load_recipes(build_dir)
    redis = redistributable_sources(build_dir)
    docs = load_documents(build_dir, tokenizer)
    policies = built_policies(manifest, ledgers)
    current = _canonical_policy(manifest.get("license_policy"))
    sources = []
    for name, led in sorted(ledgers.items()):
        rec = recipes.get(name, {})
        r = rec.get("recipe", {})
        msrc = next((s for s in manifest.get("sources", []) if s["name"] == name), {})
        sources.append({"name": name, "recipe_file": rec.get("recipe_file"), "recipe_sha256": msrc.get("recipe_sha256"),
                        "license": r.get("license"), "category": r.get("category"), "languages": r.get("languages"),
                        "redistributable": redis.get(name, True), "records_read": led["records_read"],
                        "docs_created": _created(led), "docs_kept": led["docs_kept"], "docs_removed": led["docs_removed"],
                        "complete": led.get("complete") is not False,
                        "license_policy": policies[name],
                        "built_under_current_policy": _canonical_policy(policies[name]) == current,
                        "out_of_date": bool(msrc.get("out_of_date")) or _canonical_policy(policies[name]) != current,
                        "provenance": r.get("provenance") or {}})
    return {
        "report_version": REPORT_VERSION,
        "build": {"finished": finished,
                  "pipeline": (manifest.get("pipeline") or {}).get("name"),
                  "pipeline_file": (manifest.get("pipeline") or {}).get("file"),
                  "lucie_data_version": manifest.get("lucie_data_version"), "seed": manifest.get("seed"),
                  # the pipeline's policy as its last build read it; a source that build left out (--only) may
                  # have been built under another: license_policy_groups says which sources under which
                  "license_policy": manifest.get("license_policy"),
                  "license_policy_groups": policy_groups(manifest, ledgers),
                  # (rv54: `--tokenizer` given as a path showed the auditor's absolute path, the build's by its name)
                  "token_counter": _shown(tokenizer) if tokenizer else _build_counter(manifest)},
        "totals": totals(docs, ledgers),
        "sources": sources,
        "licenses": licenses_summary(docs),
        "composition": composition(docs),
        "funnel": funnel(ledgers, docs),
        "attribution": attribution(docs, recipes),
        "share_alike": share_alike(docs, redis, manifest.get("license_policy")),
        "tools_and_models": tools_and_models(manifest, ledgers, recipes),
        "warnings": (([] if finished else [unfinished_build(build_dir, ledgers, stopped)])
                     + unfinished_sources(build_dir, ledgers, manifest) + out_of_date_sources(docs, ledgers, manifest)
                     + warnings(docs, ledgers, redis, manifest, finished)),
        "removed_examples": removed_examples(docs),
        "reconciliation": reconciliation(docs, ledgers, manifest, changed_shards(build_dir, ledgers),
                                         recipes_as_built(build_dir, manifest, ledgers), finished),
    }


def unfinished_build(build_dir: Path, ledgers: dict[str, dict], stopped: list[str] = ()) -> dict:
    """The warning of a build without manifest.json (new-user review: such a report said "licences recorded, not
    enforced", "Reconciliation: OK", of a pipeline with a policy whose gates ran, and nothing of unstarted sources),
    or whose manifest.json is an earlier build's, under a rebuild of ``stopped`` that stopped (rv59)."""
    why = (f"{build_dir}'s manifest.json is an earlier build's: the last build, rebuilding {', '.join(stopped)}, "
           "stopped before its end (interrupted or failed)" if stopped else
           f"{build_dir} has no manifest.json: the build stopped before its end (interrupted or failed)")
    return {"kind": "build_unfinished", "severity": "warning", "source": None, "count": 0, "ids": [],
            "message": f"{why}. "
                       f"This report covers only the {len(ledgers)} source(s) it wrote a ledger for (finished or incomplete); the pipeline's licence policy, "
                       "the models and the sources not started are recorded in manifest.json, so nothing is said of "
                       "them. Rerun `lucie-data build` with the same pipeline and --output to finish the build (it "
                       "resumes), then `lucie-data report` again."}


def changed_shards(build_dir: Path, ledgers: dict[str, dict]) -> dict[str, str | None]:
    """Source -> why its shards are not (or cannot be shown to be) the files manifest.json recorded, or None.

    Where the rebuild check (``runner._changed_since_manifest``: size, footer digest, then sha256) judges, its answer.
    It does not judge a manifest another lucie-data version wrote, a source whose ledger is newer than the manifest,
    or a shard the manifest does not list: a rebuild then redoes the work, but an auditor was shown "yes" without
    anything being looked at (read-through). Here those shards are compared by sha256 with the manifest's entries,
    whatever version wrote them, and a shard it does not list is said. Without a readable manifest (a build not
    finished yet) there is nothing to compare with: no claim either way ({})."""
    from ..manifest import previous_entries, sha256_file
    from ..runner import _changed_since_manifest

    try:
        data = json.loads((build_dir / "manifest.json").read_bytes())
        recorded = {e["path"]: e for e in [*data.get("shards", []), *data.get("removed_shards", [])]
                    if isinstance(e, dict) and isinstance(e.get("path"), str)}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}
    entries, since = previous_entries(build_dir)  # ({}, 0) for another version's manifest
    out: dict[str, str | None] = {}
    for name in sorted(ledgers):
        source_dir = build_dir / "sources" / name
        files = sorted(source_dir.glob("data/**/*.parquet")) + sorted(source_dir.glob("removed/*/*.parquet"))
        rels = {f.relative_to(build_dir).as_posix(): f for f in files}
        prefix = f"sources/{name}/"
        why = next((f"{rel} is not listed in manifest.json" for rel in rels if rel not in recorded), None)
        why = why or next((f"{rel}, listed in manifest.json, is missing" for rel in recorded
                           if rel.startswith(prefix) and rel not in rels), None)
        if why is None:
            try:
                judged = bool(entries) and (source_dir / "ledger.json").stat().st_mtime_ns <= since
            except OSError:
                judged = False
            if judged:
                why = _changed_since_manifest(build_dir, source_dir)
            else:
                why = next((f"{rel} is not the shard manifest.json recorded (sha256 "
                            f"{str(recorded[rel].get('sha256'))[:12]}…): changed since" for rel, f in rels.items()
                            if sha256_file(f) != recorded[rel].get("sha256")), None)
        out[name] = why
    return out