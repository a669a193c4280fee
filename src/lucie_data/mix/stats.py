"""Measured counts of a build: tokens and documents per source x language x category.

Why: Lucie's weighting (``mix/plan.py``) needs one raw token count per subset. A subset here is one
(source, mix language) of a build -- ``<source>--<language>`` -- so a source spanning languages
(web_cc: en + de) gives one row per language, as Lucie's per-language tokenized files did.
Tokens are the sum of the ``n_tokens`` column the build already wrote for every kept document
(counted with the pipeline's ``tokenizer:``, or the regex fallback of :mod:`lucie_data.tokens`),
so planning never re-tokenizes.

Mix languages follow Lucie's stats table: ``code:<lang>`` documents count as ``code`` (one weight
key ``code--programming`` for all programming languages) and a pair ``fr,en`` as ``fr-en``.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from pathlib import Path

from ..buildfiles import (MANIFEST_FIX, MANIFEST_WHAT, ManifestHead, RecipeFile, parse_json_text, rebuild_hint,
                          unreadable_message, validate)
from ..ledger import LedgerUnreadable, parse_ledger
from .plan import MixPlanError, SubsetStats

__all__ = ["SourceInfo", "check_kept_shards", "SubsetCount", "mix_language", "code_language", "subset_name", "read_sources",
           "iter_shards", "build_counts"]


@lru_cache(maxsize=4096)  # called per shard and per group (~10^4 times for 1,320 shards) on a few distinct values
def mix_language(lang: str | None, pairs: tuple[str, ...] = ()) -> str:
    """The language a document is weighted under: ``code:python`` -> ``code``; ``fr,en`` -> ``fr-en``.

    ``pairs``: the language pairs its source declares (:attr:`SourceInfo.pairs`). A document whose pair is the
    reverse of a declared one (``en,fr`` in a ``fr,en`` source) is weighted and filed under the declared pair:
    Lucie writes the pair in text order, ``en,fr`` when its recombination put the English text first, and
    weighted every document of the subset under one key (``fr-en--aligned``, notes: lucie-dataset.md 1b, 4).
    """
    lang = (lang or "").strip().lower()
    if lang == "code" or lang.startswith("code:") or lang.startswith("code-"):
        return "code"
    if "," in lang:
        parts = [p.strip() for p in lang.split(",")]
        if len(parts) == 2 and ",".join(parts) not in pairs and f"{parts[1]},{parts[0]}" in pairs:
            parts.reverse()
        return "-".join(parts)
    return lang or "und"


@lru_cache(maxsize=4096)
def code_language(lang: str | None) -> str:
    """The programming language of a code document (``code:python`` -> ``python``; bare ``code`` -> ``other``)."""
    lang = (lang or "").strip().lower()
    for prefix in ("code:", "code-"):
        if lang.startswith(prefix) and lang[len(prefix):]:
            return lang[len(prefix):]
    return "other"


def subset_name(source: str, language: str) -> str:
    """Subset names follow Lucie's file naming ``<Source>--<language>``."""
    return f"{source}--{language}"


@dataclass
class SourceInfo:
    """What the mix needs to know about one built source (from ``recipe.resolved.json``)."""

    name: str
    folder: Path
    category: str
    languages: list[str]
    license: str
    redistributable: bool
    provenance: dict
    description: str = ""
    kept_shards: int | None = None  # data shards its ledger counted (``data_shards``); None: an older ledger
    duplicate_ids: int = 0  # kept documents sharing an id with another (the ledger's count): ids not unique
    # kept documents a stage changed, per stage (the ledger's `modified_by`); None: a ledger written before it
    modified_by: dict | None = None
    docs_modified: int | None = None

    @cached_property
    def pairs(self) -> tuple[str, ...]:
        """The language pairs the recipe declares (``fr,en``), lower case: what :func:`mix_language` files a
        reversed pair under."""
        return tuple(sorted({",".join(p.strip() for p in lang.lower().split(",")) for lang in self.languages
                             if "," in lang}))

    @cached_property
    def shards(self) -> list[Path]:
        """Kept shards (``data/<language>/*.parquet``) in sorted path order, listed once per SourceInfo (the mix
        asks several times)."""
        return [Path(p) for p in self.shard_paths]

    @cached_property
    def shard_paths(self) -> list[str]:
        """:attr:`shards` as strings (``os.fspath``): what the mix keys its per-shard work by. Why: ~7,000 ``Path``
        objects (parsing, hashing) were ~30 % of the Python time of a mix of 1,320 small shards (cProfile)."""
        return _parquet_paths(os.path.join(os.fspath(self.folder), "data"), depth=2)


def parquet_files(root: Path, depth: int | None = None) -> list[Path]:
    """``sorted(root.glob("**/*.parquet"))``, or with ``depth`` the entries ``depth`` levels down
    (``sorted(root.glob("*/" * (depth - 1) + "*.parquet"))``), listed with ``os.scandir``.

    Why: pathlib's globs were ~15 % of a mix of 1,320 small shards (py-spy). As pathlib does, ``**`` does not
    enter linked folders while ``*/`` does, and every entry named ``*.parquet`` is listed; [] without ``root``.
    """
    return [Path(p) for p in _parquet_paths(os.fspath(root), depth)]


def _parquet_paths(root: str, depth: int | None = None) -> list[str]:
    """:func:`parquet_files` as ``os.fspath`` strings (no ``Path`` per file), same entries, same order."""
    if depth == 2:
        return _shard_paths(root)
    out: list[str] = []

    def walk(folder: str, level: int) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted((e.name, e) for e in it)  # names are unique in a folder: entries never compared
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return
        for _name, e in entries:
            if e.name.endswith(".parquet") and (depth is None or level == depth):
                out.append(e.path)
            if depth is None or level < depth:
                try:
                    is_dir = e.is_dir(follow_symlinks=depth is not None)
                except OSError:
                    is_dir = False
                if is_dir:
                    walk(e.path, level + 1)

    walk(root, 1)  # depth first, each folder's entries by name, an entry before what is inside it: the order
    return out     # of sorted(Path), part by part, without sorting the whole list at the end


def _shard_paths(root: str) -> list[str]:
    """``*/*.parquet`` under ``root`` (a source's ``data/<language>/`` files), sorted: folders by name, then files by
    name within each, which is the part-by-part order. The walk of :func:`_parquet_paths` for the one layout a
    build has, without its per-entry bookkeeping (1,100 folders of a build of 1,320 shards)."""
    # a folder the user may not list is an error naming it (review 49: its shards were said to be missing, with advice
    # to delete the source and rebuild it)
    try:
        with os.scandir(root) as it:
            folders = sorted((e.name, e.path) for e in it if _is_dir(e))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise MixPlanError(unreadable_message(root, err, action="listed")) from None
    out: list[str] = []
    for _name, folder in folders:
        try:
            with os.scandir(folder) as it:
                names = sorted(e.name for e in it if e.name.endswith(".parquet"))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as err:
            raise MixPlanError(unreadable_message(folder, err, action="listed")) from None
        out += [os.path.join(folder, n) for n in names]
    return out


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows links, as pathlib's "*/" does
    except OSError:
        return False


@dataclass
class SubsetCount:
    source: str
    language: str
    category: str
    tokens: int = 0
    docs: int = 0
    code_languages: dict[str, int] = field(default_factory=dict)  # code docs per programming language

    @property
    def subset(self) -> str:
        return subset_name(self.source, self.language)

    def to_stats(self) -> SubsetStats:
        return SubsetStats(self.subset, self.language, self.category, self.tokens)


def no_manifest_error(build: Path) -> MixPlanError:
    """A build without manifest.json (stopped before its end): nothing says which sources, recipes and shards it made
    (licence review: a resolved recipe edited to `redistributable: true` was mixed and pushed), nor its pipeline."""
    return MixPlanError(f"{build} has no manifest.json, so what it built cannot be checked (its sources, recipes and "
                        "shards): rerun `lucie-data build` with the same pipeline and --output (it resumes, and "
                        "writes the manifest at the end), then mix")


def read_sources(build: str | Path, manifest=None) -> list[SourceInfo]:
    """Every built source of ``build``, sorted by name; a clear error if ``build`` is not a build folder.

    ``manifest``: ``BUILD/manifest.json`` already read by the caller (an object with its parsed JSON as ``data``),
    so a mix reads it once; else it is read here.
    """
    build = Path(build)
    root = build / "sources"
    if not root.is_dir():
        from ..buildfiles import no_build_message

        raise MixPlanError(no_build_message(build))
    out = []
    mpath = build / "manifest.json"
    if manifest is None and not mpath.is_file():
        # licence review: without it nothing says which sources, recipes and shards the build made (a resolved recipe
        # edited to `redistributable: true` was mixed and pushed)
        raise no_manifest_error(build)
    from ..buildfiles import stopped_message, stopped_since_manifest

    stopped = stopped_since_manifest(build)
    if stopped:  # rv59: said "(edited since the build?)" of a source a stopped rebuild had finished
        raise MixPlanError(stopped_message(build, stopped) + ", then mix")
    # checked for what is read here and by load_mix_config; the shard entries are hints, checked one by one
    try:
        data = manifest.data if manifest is not None else json.loads(mpath.read_text(encoding="utf-8"))
    except (ValueError, OSError):  # not UTF-8, not JSON, a folder: read again for the message (file, line, fix)
        data = parse_json_text(manifest.raw if manifest is not None else mpath.read_bytes(), mpath, MANIFEST_WHAT,
                               MANIFEST_FIX, None, MixPlanError)
    validate(data, mpath, MANIFEST_WHAT, MANIFEST_FIX, ManifestHead, MixPlanError)
    in_build = {s["name"] for s in data.get("sources", [])}
    recorded = {s["name"]: s for s in data.get("sources", [])}
    with os.scandir(root) as it:  # one listing, no stat per entry (pathlib's iterdir + is_dir: ~2x slower)
        names = sorted(e.name for e in it if _is_dir(e))
    gone = sorted(in_build - set(names))
    if gone:  # review: a source folder renamed away was left out of the mix without a word (rule 1)
        raise MixPlanError(f"{mpath} lists source(s) {', '.join(gone)} but {root} has no folder for "
                           f"{'them' if len(gone) > 1 else 'it'}: their documents would be left out of the mix. Put "
                           f"the folder back, or {rebuild_hint(build, gone[0])}")
    for name in names:
        if name not in in_build:
            continue
        folder = root / name
        sfolder = os.fspath(folder)
        lpath = os.path.join(sfolder, "ledger.json")
        try:
            raw = _read_bytes(lpath)
            led = parse_ledger(raw, lpath) if raw is not None else None
        except LedgerUnreadable as err:  # says what is wrong and the fix
            raise MixPlanError(str(err)) from None
        if led is None:
            raise MixPlanError(f"source {name} did not finish building (no ledger.json): its documents are "
                               "not accounted for; rerun `lucie-data build` (it resumes)")
        if not led["balanced"]:
            raise MixPlanError(f"source {name}: its ledger does not balance; rebuild it before mixing")
        if led.get("complete") is False:  # a dataset not read whole (runner.RETRY_REASONS): not a source to publish
            why = "; ".join(f"{q.get('file')}: {q.get('reason')}" for q in led.get("incomplete") or [])
            raise MixPlanError(f"source {name} is incomplete: its input could not be read whole ({why}); rerun "
                               "`lucie-data build` with the same pipeline and --output (it retries it), or drop the "
                               "source from the pipeline, then mix")
        resolved = os.path.join(sfolder, "recipe.resolved.json")
        hint = partial(rebuild_hint, build, name)  # worded only on an error (it reads the manifest)
        raw = _read_bytes(resolved)
        if raw is None:  # its ledger is there: the build finished it and would skip it, hence the hint
            raise MixPlanError(f"{folder} has no recipe.resolved.json; {hint()}")
        parsed = parse_json_text(raw, resolved, "a resolved recipe", hint, RecipeFile, MixPlanError)
        recipe = parsed["recipe"]
        if (recorded.get(name) or {}).get("as_built_unknown"):  # (review: refused as "edited since the build?")
            raise MixPlanError(f"source {name} was built by a run that stopped before writing {mpath}, and the builds "
                               "since (--only) left it out: the recipe, licence policy and gate it was built with are "
                               "not recorded, so the mix cannot check them; rerun `lucie-data build` with the same "
                               "pipeline and --output, without --only (it records the source, and rebuilds it if it "
                               "is out of date), then mix")
        if not _resolved_as_built(raw, recipe, recorded.get(name) or {}):
            raise MixPlanError(f"{resolved} is not the recipe the build recorded in {mpath} (edited since the build?): "
                               "the licence and the redistributable flag the mix takes from it cannot be trusted. "
                               "Rerun `lucie-data build` with the same pipeline and --output (it writes the file "
                               "again from the recipe), then mix")
        out.append(SourceInfo(
            name=recipe["name"], folder=folder, category=recipe["category"], languages=list(recipe["languages"]),
            license=recipe["license"], redistributable=bool(recipe.get("redistributable", True)),
            provenance=recipe.get("provenance") or {}, description=recipe.get("description") or "",
            kept_shards=led.get("data_shards"), duplicate_ids=int(led.get("duplicate_ids") or 0),
            modified_by=led.get("modified_by"), docs_modified=led.get("docs_modified"),
        ))
    if not out and names:  # folders there, none listed: the manifest is not this build's (or was emptied)
        raise MixPlanError(f"{mpath} lists none of the sources under {root} ({', '.join(names[:5])}); rerun "
                           "`lucie-data build` with the same pipeline and --output: it rewrites manifest.json")
    if not out:
        raise MixPlanError(f"{build}/sources is empty: the build has no source")
    return out


def _resolved_as_built(raw: bytes, recipe: dict, entry: dict) -> bool:
    """Whether ``recipe.resolved.json`` (``raw``, parsed ``recipe``) is what the build recorded in the manifest
    ``entry`` of its source: the file's sha256 (builds since review 10); for older builds, the licence and the
    redistributable flag the manifest recorded beside it (what the mix decides on; the resolved recipe's own hash
    cannot be recomputed reliably: a file written by an older version need not validate as a recipe today)."""
    want = entry.get("resolved_recipe_file_sha256")
    if isinstance(want, str):
        return hashlib.sha256(raw).hexdigest() == want
    if "license" in entry and recipe.get("license") != entry["license"]:
        return False
    return not ("redistributable" in entry
                and bool(recipe.get("redistributable", True)) != bool(entry["redistributable"]))


def check_kept_shards(src: SourceInfo, recorded) -> None:
    """MixPlanError when ``data/`` holds fewer shards than the source's ledger counted (rule 1: a deleted shard
    must not leave its documents out of a mix silently). ``recorded``: the manifest's shard paths, to name the
    missing ones. Only a count: no file is opened."""
    listed = src.shard_paths
    if src.kept_shards is None or len(listed) >= src.kept_shards:
        return
    have = set(listed)
    prefix = os.path.join(os.fspath(src.folder), "data") + os.sep
    missing = sorted(p for p in recorded if p.startswith(prefix) and p not in have)
    named = f" (missing: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''})" if missing else ""
    raise MixPlanError(f"source {src.name}: {prefix} holds {len(listed)} shard(s), its ledger.json counts "
                       f"{src.kept_shards}{named}: their documents would be left out of the mix; "
                       f"{rebuild_hint(src.folder.parent.parent, src.name)}")


_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _read_bytes(path: str) -> bytes | None:
    """A small file's bytes, or None where ``Path.is_file()`` is false (missing, a folder, a broken link); the
    caller decodes them (:func:`lucie_data.buildfiles.parse_json_text` names a file that is not UTF-8).

    Why: one ``open`` instead of ``is_file`` (stat) + ``read_text`` (stat, text layer) for the two small JSON
    files of each source; a mix of 360 sources read 720 of them (benchmarks/results/mix.md). And ``os.read``
    until end of file, not a buffered ``open``: 4 system calls instead of 9 (``fstat`` twice, ``ioctl``, two
    ``lseek``), about half the time of a small file (~3 us less each, 38 files in the mix of
    benchmarks/results/mix_corpora.md).
    """
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:  # (review 49: a ledger.json the user may not read was a PermissionError traceback)
        raise MixPlanError(unreadable_message(path, err)) from None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except IsADirectoryError:  # a folder opens read-only; reading it fails, as open() would have
        return None
    except OSError as err:
        raise MixPlanError(unreadable_message(path, err)) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def iter_shards(src: SourceInfo, columns: list[str] | None = None) -> Iterator[tuple[Path, "object"]]:
    """(shard path, pyarrow table) for each kept shard of a source, in sorted path order."""
    import pyarrow.parquet as pq

    for shard in src.shards:
        yield shard, pq.read_table(shard, columns=columns)


def build_counts(build: str | Path, keep: Callable[[SourceInfo, str | None], str | None] | None = None,
                 sources: list[SourceInfo] | None = None) -> tuple[list[SubsetCount], dict]:
    """Counts per (source, mix language) of the kept documents, sorted by subset name, and what ``keep`` excluded.

    ``keep(source, license)`` returns None for a document that may enter the mix, else the reason it may
    not (``license_not_allowed``, ``not_redistributable``...). Excluded documents are tallied as
    ``{source: {license: {"reason", "docs", "tokens"}}}``. Only the small columns are read (no text), and
    not even those for shards the build manifest summarises (``shards[].summary``, checked by size and mtime).
    """
    from .build import _count_subsets, _described_shards  # one implementation, grouped per shard

    sources = sources if sources is not None else read_sources(build)
    # the build manifest's per-shard summaries stand for shards it still describes; the rest are scanned
    _entries, described = _described_shards(Path(build), sources)
    counts, excluded, _, _ = _count_subsets(sources, keep if keep is not None else (lambda _src, _lic: None),
                                         {p: e[3] for p, e in described.items() if e[3] is not None})
    return counts, excluded


def excluded_notes(excluded: dict[str, dict[str, dict]]) -> list[str]:
    """One line per source x licence the mix leaves out (``build_counts``' tally), as ``mix plan`` and ``mix build``
    both say them (review: ``mix build`` dropped two sources under a stricter policy without a word)."""
    return [f"note: {name}: {e['docs']:,} document(s) under {lic} left out ({e['reason']})"
            for name, by_lic in sorted(excluded.items()) for lic, e in sorted(by_lic.items())]
