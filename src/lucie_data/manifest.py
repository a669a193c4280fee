"""``<out>/manifest.json``: what went in and what came out, with content hashes, for audits and rebuilds."""
from __future__ import annotations

import hashlib
import json
import re
import os
from pathlib import Path

from . import __version__


def sha256_file(path: Path, bufsize: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            h.update(chunk)
    return h.hexdigest()


# The digest `mix build` records for the bytes it writes itself (spliced repeats, re-encoded shards): XXH3-128
# (xxhash), ~15x faster than SHA-256 here (2.0 GB/s against 29 GB/s, benchmarks/results/mix_large.md). It only
# has to tell that a file changed between the mix's licence check and `push`; whoever can rewrite a shard can
# rewrite mix_plan.json too, and push reads every row again anyway. The Hub's LFS oid is the SHA-256, which push
# computes in the same pass. Byte copies of build shards keep the SHA-256 the build's manifest recorded (free).
FAST_DIGEST = "xxh3_128"
DIGESTS = ("sha256", FAST_DIGEST)  # the keys a mix_plan.json shard entry may carry its digest under


def fast_digest(data) -> tuple[str, str]:
    """(:data:`FAST_DIGEST`, hex) of bytes in memory."""
    import xxhash

    return FAST_DIGEST, xxhash.xxh3_128(data).hexdigest()


def file_digests(path: Path | str, sha256: bool = True, fast: bool = False,
                 bufsize: int = 1 << 20) -> tuple[str | None, str | None]:
    """(SHA-256, XXH3-128) of a file, each or None as asked, read once: push needs the SHA-256 of every shard
    (the LFS oid) and, for a shard whose plan entry records the fast digest, that one to compare."""
    import xxhash

    h, x = hashlib.sha256() if sha256 else None, xxhash.xxh3_128() if fast else None
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            if h is not None:
                h.update(chunk)
            if x is not None:
                x.update(chunk)
    return h.hexdigest() if h is not None else None, x.hexdigest() if x is not None else None


def sha256_files(paths: list[Path], hasher=None) -> list:
    """:func:`sha256_file` (or ``hasher``) of each path, a few at a time: hashlib releases the GIL on large reads,
    and the cores are idle when the manifest is written (half the hashing time on 2 cores, measured)."""
    hasher = hasher or sha256_file  # (looked up at each call, not bound once)
    if len(paths) < 2:
        return [hasher(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, len(paths), os.cpu_count() or 1)) as ex:
        return list(ex.map(hasher, paths))


def _sha256_or_error(path: Path) -> str | OSError:
    try:
        return sha256_file(path)
    except OSError as e:
        return e


_SHA256_HEX = re.compile(r"[0-9a-f]{64}").fullmatch  # (a regex: 4x faster than a test per character on 1 M entries)


def is_sha256(v) -> bool:
    """``v`` is a SHA-256 as lucie-data writes it: 64 lower-case hex digits."""
    return isinstance(v, str) and _SHA256_HEX(v) is not None


class HashCache:
    """SHA-256 of inputs cached by (path, size, mtime) so resumed builds don't re-hash terabytes.

    An input that cannot be read (no permission, gone since the build read it) has no digest: the reader quarantined
    it, and the manifest says why in its entry (:meth:`input_entry`; review 29: a PermissionError here was a
    traceback and no manifest, on every rerun)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        # only a cache: anything but an object of digests (`[]`, a digest that is not 64 hex digits) is dropped, as a
        # cut or invalid file is, and rewritten by save() (review 49: `[]` was a TypeError at the end of every rerun)
        self.data: dict[str, str] = ({k: v for k, v in data.items() if isinstance(k, str) and is_sha256(v)}
                                     if isinstance(data, dict) else {})
        self.errors: dict[str, str] = {}  # path -> why it could not be hashed (not saved: tried again next time)

    @staticmethod
    def key(p: Path) -> str:
        st = p.stat()
        return f"{p}|{st.st_size}|{st.st_mtime_ns}"

    def get(self, p: Path) -> str | None:
        """The file's SHA-256, None when it cannot be read (``errors`` says why)."""
        try:
            key = self.key(p)
            if key not in self.data:
                self.data[key] = sha256_file(p)
            return self.data[key]
        except OSError as e:
            self.errors[str(p)] = e.strerror or str(e)
            return None

    def prefetch(self, paths: list[Path]) -> None:
        """Hash the paths not cached yet, in parallel (:func:`sha256_files`); unreadable ones are left to
        :meth:`get`."""
        todo = {}
        for p in paths:
            try:
                key = self.key(p)
            except OSError:
                continue
            if key not in self.data:
                todo.setdefault(key, p)
        for key, digest in zip(todo, sha256_files(list(todo.values()), _sha256_or_error)):
            if not isinstance(digest, OSError):
                self.data[key] = digest

    def input_entry(self, p: Path) -> dict:
        """A manifest entry of an input file: path, size, sha256; ``unreadable`` (why) and null sha256 (and size,
        when even that is unknown) for a file the build could not read."""
        digest = self.get(p)
        try:
            size = p.stat().st_size
        except OSError as e:
            size = None
            self.errors.setdefault(str(p), e.strerror or str(e))
        entry = {"path": str(p), "size": size, "sha256": digest}
        if digest is None:
            entry["unreadable"] = self.errors.get(str(p), "unknown error")
        return entry

    def save(self) -> None:
        """Written whole or not at all (rv57: a full disk left it empty, in place)."""
        from .writes import replace_files

        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_files({self.path: json.dumps(self.data, sort_keys=True)})


_PREVIOUS: dict[str, tuple[tuple[int, int, int], tuple[dict[str, dict], int]]] = {}  # path -> (stat key, entries)


def previous_entries(out: Path) -> tuple[dict[str, dict], int]:
    """The shard entries (kept and removed) of the ``manifest.json`` an earlier run wrote, by path, and that
    file's mtime; ``({}, 0)`` when there is none, when it does not read as one, or when another version of
    lucie-data wrote it (its summaries may differ): every shard is then hashed and summarised. Read once per
    file version (the build checks every finished source against it, then writes the new manifest from it)."""
    path = out / "manifest.json"
    try:
        st = path.stat()
        key = (st.st_ino, st.st_mtime_ns, st.st_size)  # a rewrite is a new inode (os.replace), whatever the clock
        cached = _PREVIOUS.get(str(path))
        if cached is not None and cached[0] == key:
            return cached[1]
        got = _previous_entries(path, st.st_mtime_ns)
        _PREVIOUS.clear()  # one build folder at a time: the cache never grows with the folders a process sees
        _PREVIOUS[str(path)] = (key, got)
        return got
    except OSError:
        return {}, 0


def manifest_damage(out: Path) -> str | None:
    """Why the build's ``manifest.json``, present, does not read as one (not JSON, not an object, its shard lists
    not lists), or None (absent, or readable). The file is written whole (os.replace): such a file was edited or
    damaged since, and the shards it recorded cannot be checked against it (review 49: a cut manifest made every
    finished source "up to date", an edited shard with it, and the rewritten manifest recorded the edited file)."""
    path = out / "manifest.json"
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        return f"{e.strerror or e}"
    try:
        data = json.loads(raw)
    except ValueError as e:
        return f"not JSON: {e}"
    if not isinstance(data, dict):
        return "not a JSON object"
    for key in ("shards", "removed_shards"):
        if not isinstance(data.get(key, []), list):
            return f"its `{key}` is not a list"
    return None


def _previous_entries(path: Path, mtime: int) -> tuple[dict[str, dict], int]:
    try:
        data = json.loads(path.read_bytes())
        if data.get("lucie_data_version") != __version__ or data.get("layout_version") != 1:
            return {}, 0
        found = {}
        for e in [*data.get("shards", []), *data.get("removed_shards", [])]:
            if isinstance(e, dict) and isinstance(e.get("path"), str):
                found[e["path"]] = e
        return found, mtime
    except (OSError, ValueError, AttributeError, TypeError):
        return {}, 0


def _reusable(entry: dict | None, path: Path, since_ns: int, summaries: bool) -> bool:
    """Whether an earlier manifest's entry still describes ``path``: the mix's rule (same size, not modified
    after that manifest, same Parquet footer digest: :func:`lucie_data.mix.build._still_describes`), on an
    entry of the expected shape. Why: a rerun of a finished build rewrites its manifest; hashing and
    summarising every shard again cost ~0.5 s per GB (benchmarks/results/manifest_rerun.md) for files that
    did not change."""
    from .mix.build import _still_describes, _valid_summary

    if entry is None:
        return False
    try:
        sha, size, rows = entry["sha256"], entry["bytes"], entry["rows"]
        footer = entry["summary"]["footer"] if summaries else entry["footer"]
    except (KeyError, TypeError):
        return False
    if not (isinstance(sha, str) and len(sha) == 64 and type(size) is int and type(rows) is int
            and isinstance(footer, str) and (not summaries or _valid_summary(entry["summary"]))):
        return False
    return _still_describes((size, sha, since_ns, {"footer": footer}), path)


def shard_entries(out: Path, folder_glob: str, summaries: bool = False,
                  previous: tuple[dict[str, dict], int] = ({}, 0), sources: set[str] | None = None) -> list[dict]:
    """One entry per shard: path, rows, bytes, sha256; with ``summaries``, also the ``summary`` the mix uses,
    else the ``footer`` digest (removed shards).

    Why a summary (kept shards only): ``lucie-data mix`` plans from rows and tokens per language x licence and
    checks licences on what it writes; recording them here, once, spares every mix a scan of every shard
    and a read-back of the shards it copies byte for byte (:func:`lucie_data.mix.build.shard_summaries`).
    The mix trusts an entry only while the shard keeps this size and is not modified after the manifest.
    ``previous`` (:func:`previous_entries`): an earlier manifest's entries, reused for shards they still
    describe (:func:`_reusable`) instead of hashing and summarising them again. ``sources``: only the shards of
    these sources (``sources/<name>/…``; a folder left by a source renamed or dropped from the pipeline is not the
    build's: third review, its shards made the report say the build's shards were rewritten).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(f for f in out.glob(folder_glob)
                   if sources is None or f.relative_to(out).parts[1] in sources)
    rels = [f.relative_to(out).as_posix() for f in files]
    old, since = previous
    kept = {rel: dict(old[rel]) for f, rel in zip(files, rels)  # copies: the cached entries stay as read
            if _reusable(old.get(rel), f, since, summaries)}
    todo = [f for f, rel in zip(files, rels) if rel not in kept]
    fresh: dict[str, dict] = {}
    for f, digest in zip(todo, sha256_files(todo)):
        try:
            rows = pq.ParquetFile(f).metadata.num_rows
        except (pa.ArrowException, OSError) as err:  # damaged since its source was built (--only of another)
            from .buildfiles import damaged_shard_message
            from .errors import BuildFileError

            raise BuildFileError(damaged_shard_message(f, err)) from None
        fresh[f.relative_to(out).as_posix()] = {"path": f.relative_to(out).as_posix(), "rows": rows,
                                                "bytes": f.stat().st_size, "sha256": digest}
    if todo:
        from .mix.build import footer_digest, shard_summaries

        if summaries:
            for f, summary in zip(todo, shard_summaries(todo)):
                fresh[f.relative_to(out).as_posix()]["summary"] = summary
        else:
            for f in todo:
                fresh[f.relative_to(out).as_posix()]["footer"] = footer_digest(f)
    return [kept[rel] if rel in kept else fresh[rel] for rel in rels]


def models_used(pipe) -> list[dict]:
    """Models and tool data the build's stages load, with licences (stages declare them via ``models()``)."""
    seen: dict[tuple, dict] = {}
    for src in pipe.sources:
        for st in src.recipe.stages:
            for m in getattr(st, "models", lambda: [])():
                seen.setdefault(model_key(m), m)
    return [seen[k] for k in sorted(seen)]


def model_key(m: dict) -> tuple[str, str]:
    """A model entry's identity: its name and its file or Hub id (two files of one name are two models)."""
    return str(m.get("name")), str(m.get("path") or m.get("id") or "")


def token_counter_entry(tokenizer: str | None) -> dict:
    """What counted ``n_tokens``: the regex fallback, or a tokenizer with the sha256 of its tokenizer.json and, for a
    Hub id, the commit its revision resolved to (the counts a mix is weighted on depend on it; the tokens.py docstring
    said the manifest records it, and it did not)."""
    from .tokens import FALLBACK, hub_tokenizer_file, split_hub_id

    if not tokenizer:
        return {"name": FALLBACK}
    entry: dict = {"name": tokenizer}
    try:
        path = tokenizer if os.path.exists(tokenizer) else hub_tokenizer_file(tokenizer)  # in the HF cache by now
    except Exception:  # noqa: BLE001 -- a cache emptied since the build: the name is all that is known
        return entry
    entry["sha256"] = sha256_file(Path(path))
    if not os.path.exists(tokenizer):
        parts = Path(path).parts
        entry["revision"] = split_hub_id(tokenizer)[1]
        if "snapshots" in parts:  # <cache>/models--org--name/snapshots/<commit>/tokenizer.json
            entry["commit"] = parts[parts.index("snapshots") + 1]
    return entry


def _previous_sources(out: Path) -> tuple[dict[str, dict], set[str], dict[str, str]]:
    """The source entries of the manifest an earlier run wrote, by name, its ``lost_sources`` and its
    ``failed_sources`` (name -> error) (({}, set(), {}) when there is none or it does not read)."""
    try:
        data = json.loads((out / "manifest.json").read_bytes())
        entries = {s["name"]: s for s in data.get("sources") or [] if isinstance(s, dict) and isinstance(s.get("name"), str)}
        # a manifest from before per-source `license_policy` / `token_counter` recorded them for the whole run only:
        # that run's values are what its sources were built under (code review: an --only run recorded its own
        # counter for them, and the mix's different-tokenizers warning stayed silent)
        for key in _RUN_WIDE:
            if key in data:
                for e in entries.values():
                    e.setdefault(key, data[key])
        return (entries,
                {n for n in data.get("lost_sources") or [] if isinstance(n, str)},
                {f["name"]: str(f.get("error")) for f in data.get("failed_sources") or []
                 if isinstance(f, dict) and isinstance(f.get("name"), str)})
    except (OSError, ValueError, AttributeError, TypeError):
        return {}, set(), {}


# what a source entry says about the recipe and inputs it was built from: for a source this run did not build
# (--only), the entry of the run that built it is kept, not the recipe as it is now (review: an edited recipe, or
# an edited recipe.resolved.json, recorded as if built, passed the mix's checks)
# (not `recipe_file`: the recipe's path now, so that a copied project's edited recipe is compared with what was built)
_AS_BUILT = ("recipe_sha256", "resolved_recipe_sha256", "resolved_recipe_file_sha256", "license",
             "redistributable", "inputs", "sidecar", "license_policy", "token_counter", "license_gate",
             "as_built_unknown")  # (review: lost at the second --only, the source then looked tampered with)
_RUN_WIDE = ("license_policy", "token_counter")  # recorded per source since 2026-11; older manifests: top level only


def _build_key_of(out: Path, source: str) -> str | None:
    from .buildfiles import read_build_key

    return read_build_key(out / "sources" / source / ".build_key")


def _newer(path: Path, mtime_ns: int | None) -> bool:
    """Whether ``path`` was modified after ``mtime_ns`` (False when either is unknown)."""
    try:
        return mtime_ns is not None and path.stat().st_mtime_ns > mtime_ns
    except OSError:
        return False


def write_manifest(out: Path, pipe, result) -> dict:
    from .runner import resolved_recipe_text  # (runner imports this module)
    from .stages.licence import final_gate

    previous = previous_entries(out)  # read before anything is written: its mtime bounds what it describes
    try:
        previous_mtime: int | None = (out / "manifest.json").stat().st_mtime_ns
    except OSError:
        previous_mtime = None
    built_names = {s.name for s in result.sources}
    # parsed again only when this run left sources out (--only): a full build never needs it (a rerun's cost)
    previous_sources, previous_lost, previous_failed = (
        _previous_sources(out) if any(s.name not in built_names for s in pipe.sources) else ({}, set(), {}))
    lost = []  # sources an earlier run built (its manifest lists them, or listed them as lost) whose build is gone
    policy = json.loads(pipe.recipe.license_policy.model_dump_json()) if pipe.recipe.license_policy else None
    cache = HashCache(out / ".cache" / "sha256.json")
    sources = []
    unbuilt = []  # sources of the pipeline never built (only ever left out by --only)
    built = {s.name: s for s in result.sources}
    cache.prefetch([p for src in pipe.sources for p in [*src.inputs, *([src.sidecar] if src.sidecar else [])]
                    if src.name in built or (out / "sources" / src.name / "ledger.json").exists()])
    counter = getattr(result, "token_counter", None) or token_counter_entry(pipe.recipe.tokenizer)
    failed = dict(getattr(result, "failed", {}) or {})
    # a source that failed in an earlier run and was left out of this one (--only) is still failed, with its error
    # (code review: it turned into a "lost" source, its error gone, and the build said nothing of it)
    for name, err in previous_failed.items():
        if name not in built and name not in failed and any(src.name == name for src in pipe.sources) \
                and not (out / "sources" / name / "ledger.json").exists():
            failed[name] = err
    for src in pipe.sources:
        if src.name in failed:  # failed this run: no build of it stands (a mix refuses the build)
            continue
        if src.name in built:
            led = built[src.name].ledger
        else:  # not part of this run (--only): describe it if an earlier run built it
            from .ledger import LedgerUnreadable, read_ledger

            try:
                led = read_ledger(out / "sources" / src.name / "ledger.json")
            except LedgerUnreadable:  # as if unfinished: the next build of that source rebuilds it
                led = None
            if led is None:
                # (a folder holding a build, ledger gone: built once too; review: a second --only made it "unbuilt")
                once = (src.name in previous_sources or src.name in previous_lost
                        or (out / "sources" / src.name / ".build_key").exists())
                (lost if once else unbuilt).append(src.name)
                continue
        sources.append({
            "name": src.name,
            "recipe_file": str(src.file),
            "recipe_sha256": sha256_file(src.file),
            "resolved_recipe_sha256": src.recipe_hash(),
            # the bytes of sources/<name>/recipe.resolved.json, which the mix reads the licence and the
            # redistributable flag from: checked there (review: an edited copy published a private source). For a
            # source this run built, the file it wrote; for one it did not, the text the recipe gives (an edited
            # file, or one of another recipe, then differs), unless the run that built it recorded its own
            "resolved_recipe_file_sha256": (  # (a small file: hashed here, not through the shards' sha256_file)
                hashlib.sha256((out / "sources" / src.name / "recipe.resolved.json").read_bytes()).hexdigest()
                if src.name in built else hashlib.sha256(resolved_recipe_text(src).encode()).hexdigest()),
            "license_policy": policy,  # the policy its shards were built under (a later --only keeps it)
            # the licence gate that ran last in its stages, if one did (the mix's no-derivatives check reads it)
            "license_gate": final_gate(list(zip(map(str, range(len(src.recipe.stages))), src.recipe.stages)),
                                       pipe.recipe.license_policy),
            # what counted its n_tokens (a later --only keeps it: the Hub tokenizer's main may have moved since;
            # engineer review: the manifest named only the last run's, and a mix summed counts of two tokenizers)
            "token_counter": counter,
            "license": src.recipe.license,
            "redistributable": src.recipe.redistributable,
            "inputs": [cache.input_entry(p) for p in src.inputs],
            **({"sidecar": cache.input_entry(src.sidecar)} if src.sidecar is not None else {}),
            "records_read": led["records_read"], "docs_kept": led["docs_kept"], "docs_removed": led["docs_removed"],
            **({"complete": False} if led.get("complete") is False else {}),  # an input not read whole: see runner
            # left out by --only though this pipeline would rebuild it: its shards are an earlier run's
            **({"out_of_date": True} if src.name in getattr(result, "stale", ()) else {}),
            # the key its folder was built under: a later run that rebuilds it and stops before its own manifest
            # leaves another (buildfiles.stopped_since_manifest)
            **({"build_key": key} if (key := _build_key_of(out, src.name)) else {}),
        })
        # the earlier manifest describes a source left out of this run only if that source was not rebuilt after it
        # was written: a run that rebuilt it and stopped before its own manifest left a ledger newer than the
        # manifest (last review: the report and the mix then called the rebuilt folder "edited since the build")
        recorded = src.name not in built and src.name in previous_sources and not _newer(
            out / "sources" / src.name / "ledger.json", previous_mtime)
        if recorded:
            sources[-1].update({k: previous_sources[src.name][k] for k in _AS_BUILT if k in previous_sources[src.name]})
        if src.name not in built and not recorded:
            # (the same case: the policy its shards were built under is not known; review: today's `unverified: deny`
            # was recorded for a source built under `allow`, and the mix published its unverified documents)
            sources[-1]["license_policy"] = None
            # built by a run that wrote no manifest: what it was built with is not recorded, and the entries above
            # describe its recipe as it reads now; said so (the report took a recipe edited since for a tampered
            # recipe.resolved.json, and its null policy for a build without one; adversary review)
            sources[-1]["as_built_unknown"] = True
        if src.name not in built and (not recorded or "license_gate" not in previous_sources.get(src.name, {})):
            # left out of this run and recorded by no earlier manifest (none, or from before the record; review: a first
            # run stopped after a source finished, then --only under a new policy, recorded that policy's gate for it)
            del sources[-1]["license_gate"]
    cache.save()
    manifest = {
        "lucie_data_version": __version__,
        "layout_version": 1,
        "pipeline": {"name": pipe.recipe.name, "file": str(pipe.file) if pipe.file else None,
                     "sha256": sha256_file(pipe.file) if pipe.file else None,
                     "resolved_sha256": pipe.pipeline_hash()},
        "seed": pipe.recipe.seed,
        "tasks": pipe.recipe.executor.tasks,
        "license_policy": policy,
        "sources": sources,
        **({"unbuilt_sources": unbuilt} if unbuilt else {}),  # never built (--only from the start): a mix warns
        **({"lost_sources": lost} if lost else {}),  # built once, their folder gone since: a mix refuses
        # failed in this run (the others were built), with why: a mix refuses, the report says it
        **({"failed_sources": [{"name": n, "error": failed[n]} for n in sorted(failed)]} if failed else {}),
        "models": models_used(pipe),
        "token_counter": counter,
        "shards": shard_entries(out, "sources/*/data/**/*.parquet", summaries=True, previous=previous,
                                sources={s["name"] for s in sources}),
        "removed_shards": shard_entries(out, "sources/*/removed/*/*.parquet", previous=previous,
                                        sources={s["name"] for s in sources}),
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False))
    os.replace(tmp, out / "manifest.json")
    return manifest
