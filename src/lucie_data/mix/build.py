"""Materialise a mix from a build: Lucie's epochs applied to documents, in a Hub-ready folder.

How documents are repeated (documented in the dataset card too):

* a subset (``<source>--<language>``) with ``e`` epochs contributes every allowed document
  ``floor(e)`` times, plus once more for the documents whose ``xxh64(id, seed) / 2**64`` falls
  below ``e - floor(e)`` -- the way dolma's mixer and datatrove's ``SamplerFilter`` sample, but
  seeded by the document id instead of a stream position, so the selection does not depend on
  shard layout, worker count or reruns, and raising the fraction only adds documents;
* ids (``repeat_ids``, :data:`ID_SCHEMES`): ``suffix`` (default): the first copy keeps its ``id``; copy
  ``k >= 2`` gets ``id#k``. There is no ``epoch`` column: the copy number is ``k`` when the id ends in ``#k``
  (k >= 2), else 1, and stripping ``#k`` recovers the build id. ``keep``: every copy keeps the build's ``id``
  (an id appears once per epoch, by design), so a whole-epoch repeat of a shard copied whole is one more byte
  copy of it, named after its first copy with the epoch (``<Source>--<lang>--NNN_e2.parquet``).
  Mix shards therefore have exactly the build's schema (:data:`lucie_data.steps.rows.KEPT_SCHEMA`), so
  every config of the folder has one schema (``datasets.load_dataset`` needs it).

Speed: where a mix shard's rows are exactly a build shard's rows, its bytes are copied, not re-encoded.
A build shard whose rows are all allowed by the policy and all fall in one output folder (the build
partitions shards by language, so this is the normal case) is copied whole as the first copy of its
subset (when its epochs are >= 1), by the kernel (``sendfile``, :func:`_copy_bytes`) with the sha256 the build's
manifest recorded (hashed while copying when the manifest lacks it or the file changed since).
Its whole-epoch repeats (copies ``k >= 2``) are files of their own, ``<first copy>_e<k>.parquet`` (``_`` sorts after ``.``: a
first copy is listed, and loaded, before its repeats), made from the
first copy: with ``repeat_ids: suffix`` (default) its ids are renamed ``id#k``, to keep every ``id`` of the mix
unique (a Hub dataset's key; an auditor finds copy k by ``id#k``; a downstream dedup by id cannot silently undo
the epochs), by splicing: only the ``id`` column is encoded, every other column chunk is the first copy's bytes
(:mod:`.splice`; re-encoding the text was what bounded a mix with repeats, benchmarks/results/mix_large.md).
With ``repeat_ids: keep`` a repeat is a byte copy of its first copy, with the same hash. Either way a repeat
of a trusted first copy is checked from the same summary. Bytes the mix makes itself (spliced repeats, re-encoded
files) are recorded by their XXH3-128, not a SHA-256 (:data:`~lucie_data.manifest.FAST_DIGEST`: hashing a spliced
repeat with SHA-256 was about half of its cost; push computes the SHA-256, the Hub's oid, anyway). Fractional
selections and shards mixing allowed and
forbidden rows are re-encoded (ids ``id#k`` or unchanged), grouped per output folder up to
``max_rows_per_shard`` rows a file, and read back. Files are numbered in input order, so the folder stays
deterministic.

The build's manifest records a summary of every kept shard (:func:`shard_summaries`: rows and tokens per
source x language x licence, flagged documents, schema fingerprint). While a shard keeps the recorded size
and is not newer than the manifest, the plan is made from that summary instead of scanning the shard,
and a byte copy of it is not read back: its rows are the summarised rows. A build without summaries
(older version) or a shard changed since is scanned and its copy read back, as before.

Licences (rule 2 of the product): the pipeline's ``license_policy`` (or the default policy when
the pipeline has none) is applied again here; a source whose recipe says ``redistributable: false``
never enters. What was left out, and why, is written to ``mix_plan.json["license_check"]["excluded"]``.
The check is then redone on the written shards (not assumed): ``passed`` is true only if no shard
holds a document from a non-redistributable source or under a licence the policy forbids; every
re-encoded shard is read back, a byte copy is checked from the summary of the (unchanged) build shard
it copies. :func:`verify_mix` (and ``push``) read every shard of the folder, trusting nothing.

Layout (Lucie's): ``data/{natural|code}/{language}/{Source}/{Source}--{language}--NNN.parquet``
(language pairs as ``fr-en``; code as ``data/code/<programming language>/...``), ``mix_plan.json``
and ``README.md`` (the dataset card, :mod:`lucie_data.mix.card`). The output is written next to
its final place and swapped in at the end, so an interrupted build never leaves half a mix.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..buildfiles import (NAME_RE, ManifestHead, damaged_shard_message, first_unreadable, read_manifest, shard_fix,
                          unreadable_message)
from ..licenses import UNKNOWN, UNVERIFIED_EVIDENCE
from ..manifest import FAST_DIGEST, fast_digest, file_digests, is_sha256
from ..manifest import sha256_file as _sha256
from ..models import YamlModel
from .plan import (DamagedShardError, Factor, MixPlanError, Weights, format_tokens, keys_and_values, load_weights_yaml,
                   parse_weights, plan_mix, solve_factors)
from .stats import (SourceInfo, _parquet_paths, check_kept_shards, code_language, excluded_notes, mix_language, read_sources,
                    subset_name)

__all__ = ["MixSpec", "MixConfig", "load_mix_config", "build_mix", "scan_mix", "verify_mix", "recheck_mix", "ID_SCHEME",
           "ID_SCHEMES", "REPEAT_IDS", "selection_key"]

_FRACTION = "Fractional epochs select documents with xxh64(id, seed) / 2**64 < fraction."
ID_SCHEMES = {
    "suffix": ("first copy keeps `id`; copy k >= 2 is `id#k` (no epoch column: the copy number is k when the id "
               "ends in `#k`, else 1; strip `#k` to get the build id). A whole-epoch repeat of a build shard copied "
               "whole is `<first copy>_e<k>.parquet`: the first copy with its ids renamed, every other column "
               "unchanged. " + _FRACTION),
    "keep": ("every copy keeps the build's `id`: a document repeated for e epochs appears e times with the same id, "
             "by design (a deduplication by id would undo the weighting). A whole-epoch repeat of a build shard "
             "copied whole is a byte copy of its first copy, named `<first copy>_e<k>.parquet` for epoch k. "
             + _FRACTION),
}
ID_SCHEME = ID_SCHEMES["suffix"]  # the default (older mix_plan.json files have no `repeat_ids`)
REPEAT_IDS = tuple(ID_SCHEMES)
RepeatIds = Literal["suffix", "keep"]
PLAN_FILE = "mix_plan.json"


class MixSpec(YamlModel):
    """The pipeline's ``mix:`` block: how to weight and materialise the mix of a build."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    factors: dict[str, Factor] | None = Field(
        None, description="language--category -> epochs (Lucie's dataset_weights.yaml); or use weights_file")
    languages: dict[str, Factor] = Field(default_factory=dict, description="per-language multiplier")
    sources: dict[str, Factor] = Field(default_factory=dict, description="per-subset (<source>--<lang>) multiplier")
    default_factor: Factor | None = Field(None, description="factor of keys absent from `factors` (null: error)")
    weights_file: str | None = Field(None, description="weights YAML (same format as `factors:` & co), "
                                     "relative to the pipeline file")
    seed: int | None = Field(None, ge=0, lt=2**64, description="selection seed; default: the pipeline's seed")
    targets: dict[str, float] | None = Field(
        None, description="language -> target share of tokens seen; per-language multipliers are solved")
    max_epochs: float = Field(5.0, gt=0, description="cap on epochs per subset when solving `targets`")
    output: str | None = Field(None, description="mix folder; default <build>/mix; relative to the build folder")
    max_rows_per_shard: int = Field(100_000, ge=1, le=50_000_000)
    repeat_ids: RepeatIds = Field(
        "suffix", description="ids of whole-epoch repeats: `suffix` renames copy k >= 2 `id#k` (ids unique; only "
        "the id column is re-encoded); `keep` keeps the id (repeats of a shard copied whole are byte copies; ids "
        "repeat per epoch)")
    publish_as: dict[str, Annotated[str, Field(pattern=NAME_RE)]] = Field(
        default_factory=dict, description="source (recipe name) -> the source folder and config it is published "
        "under, e.g. Gutenberg-fr: Gutenberg (Lucie's data/natural/fr/Gutenberg/); several sources may share one")

    @field_validator("factors", "languages", "sources", mode="wrap")
    @classmethod
    def _weight_keys(cls, v: Any, handler, info) -> Any:
        """Bad keys named with the bad values beside them, each at its line (as in a weights file)."""
        return keys_and_values(v, handler, info.field_name)

    @model_validator(mode="after")
    def _one_source_of_weights(self) -> "MixSpec":
        if self.factors is not None and self.weights_file is not None:
            raise ValueError("give either `factors:` or `weights_file:`, not both")
        if self.factors is None and self.weights_file is None and self.targets is None and self.default_factor is None:
            raise ValueError("the mix needs `factors:` (language--category -> epochs), `weights_file:`, `targets:` "
                             "or `default_factor:` (the same epochs for every subset)")
        if self.weights_file is not None:
            # (they were ignored without a word: the file's weights are all the weights)
            inline = [k for k in ("languages", "sources", "default_factor") if k in self.model_fields_set]
            if inline:
                raise ValueError(f"`{'`, `'.join(inline)}` next to `weights_file:` would be ignored: the weights "
                                 f"file holds all the weights; move {'them' if len(inline) > 1 else 'it'} into "
                                 f"{self.weights_file}, or give `factors:` here instead of the file")
        if self.targets is not None:
            for lang, p in self.targets.items():
                if not 0 <= p <= 1:
                    raise ValueError(f"targets.{lang}: a share must be in [0, 1] (got {p})")
        return self

    def inline_weights(self) -> Weights | None:
        if self.factors is None and self.default_factor is None:
            return None
        return parse_weights({"factors": self.factors or {}, "languages": self.languages, "sources": self.sources,
                              "default_factor": self.default_factor}, origin=" in the pipeline's mix: block")


class MixConfig(BaseModel):
    """Everything a mix build needs besides the build folder, resolved from the pipeline and the CLI."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    weights: Weights | None = None
    targets: dict[str, float] | None = None
    max_epochs: float = 5.0
    seed: int = 0
    policy: Any = None  # LicensePolicy
    policy_origin: str = "default"
    output: Path | None = None
    max_rows_per_shard: int = 100_000
    repeat_ids: RepeatIds = "suffix"
    pipeline_name: str | None = None
    publish_as: dict[str, str] = Field(default_factory=dict)
    pipeline_file: Path | None = None  # the pipeline read (--pipeline, or the one the manifest records)
    pipeline_missing: str | None = None  # the manifest's pipeline when that file is gone


def _format_spec_error(err: ValidationError, where: str) -> str:
    lines = [f"invalid mix: block in {where}:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown key (allowed: {', '.join(MixSpec.model_fields)})"
        elif e["type"] == "string_pattern_mismatch":  # (a publish_as folder) said in words, as `validate` says it
            msg = (f"a name must be usable as a folder name: letters, digits, `_`, `.` and `-`, starting with a "
                   f"letter or a digit (got {e['input']!r})")
        elif e["type"] == "literal_error":
            msg += f" (got {e['input']!r})"
        lines.append(f"  - mix{'.' + loc if loc else ''}: {msg}")
    return "\n".join(lines)


def parse_mix_spec(data: Any, where: str = "the pipeline") -> MixSpec:
    if isinstance(data, MixSpec):
        return data
    try:
        return MixSpec.model_validate(data)
    except ValidationError as err:
        raise MixPlanError(_format_spec_error(err, where)) from None


def _pipeline_yaml(path: Path) -> dict:
    import yaml

    from ..recipe import _yaml_with_lines  # (recipe imports this module)

    dups: list = []
    try:
        data, _lines = _yaml_with_lines(path.read_text(encoding="utf-8"), dups)
    except yaml.YAMLError as err:
        from ..recipe import yaml_problem

        line, text = yaml_problem(err)
        raise MixPlanError(f"cannot read the pipeline {path}{f':{line}' if line else ''}: {text}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MixPlanError(f"cannot read the pipeline {path}: {err}") from None
    if not isinstance(data, dict):
        raise MixPlanError(f"{path}: expected a pipeline mapping at the top")
    from ..recipe import PipelineRecipe

    unknown = [str(k) for k in data if k not in PipelineRecipe.model_fields]
    if unknown:  # review: a misspelt `licence_policy:` was ignored and the manifest's policy applied instead
        import difflib

        key = unknown[0]
        close = difflib.get_close_matches(key, list(PipelineRecipe.model_fields), n=1, cutoff=0.6)
        raise MixPlanError(f"{path}: unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                           + f"; a pipeline's keys are {', '.join(PipelineRecipe.model_fields)} "
                           "(`lucie-data validate` lists every problem)")
    if dups:  # review: `deny:` given twice, the second (empty) list silently won and CC0 rows entered the mix
        where, first, second = dups[0]
        raise MixPlanError(f"{path}: {'.'.join(map(str, where))} is given twice (lines {first} and {second}); YAML "
                           "would keep the second silently: remove one (`lucie-data validate` lists every problem)")
    return data


def _spec_weights(spec: MixSpec, pfile: Path) -> Weights | None:
    """The weights of a pipeline's ``mix:`` block: its ``weights_file`` (relative to the pipeline) or its inline
    ``factors:``; None when it only sets ``targets``."""
    if spec.weights_file:
        wf = Path(spec.weights_file)
        return load_weights_yaml(wf if wf.is_absolute() else pfile.parent / wf)
    return spec.inline_weights()


def pipeline_weights(pipeline: str | Path) -> Weights | None:
    """The weights a pipeline file's ``mix:`` block gives (None without a block or with ``targets`` only): what
    ``lucie-data mix plan --stats CSV --pipeline P`` plans with when no ``--weights`` is given."""
    pfile = Path(pipeline)
    if not pfile.is_file():
        raise MixPlanError(f"pipeline file not found: {pipeline}")
    pdata = _pipeline_yaml(pfile)
    if pdata.get("mix") is None:
        return None
    return _spec_weights(parse_mix_spec(pdata["mix"], str(pfile)), pfile)


def load_mix_config(build: str | Path, *, pipeline: str | Path | None = None, weights: str | Path | None = None,
                    seed: int | None = None, output: str | Path | None = None,
                    require_weights: bool = True, repeat_ids: str | None = None) -> MixConfig:
    """Resolve weights, seed, licence policy and output: CLI arguments beat the pipeline's ``mix:`` block.

    The pipeline is ``pipeline`` or the one recorded in ``BUILD/manifest.json``; its ``license_policy``
    (else the one the manifest recorded, else :class:`LicensePolicy`'s default, which denies
    non-commercial, no-derivatives and unknown licences) decides which documents may enter.
    """
    from ..licenses import LicensePolicy

    build = Path(build)
    if not (build / "sources").is_dir():  # review: a folder that is no build was told "no mix weights"
        from ..buildfiles import no_build_message

        raise MixPlanError(no_build_message(build))
    # checked for what is read here (pipeline, policy, seed, sources): a damaged manifest names the key and the fix
    manifest: dict = read_manifest(build, error=MixPlanError, model=ManifestHead) or {}
    pfile = Path(pipeline) if pipeline else None
    missing = None
    if pfile is None and (manifest.get("pipeline") or {}).get("file"):
        candidate = Path(manifest["pipeline"]["file"])
        pfile = candidate if candidate.is_file() else None
        missing = None if pfile else str(candidate)
    if pipeline and not Path(pipeline).is_file():
        raise MixPlanError(f"pipeline file not found: {pipeline}")
    pdata = _pipeline_yaml(pfile) if pfile else {}

    spec = parse_mix_spec(pdata["mix"], str(pfile)) if pdata.get("mix") is not None else None
    cfg = MixConfig(pipeline_name=pdata.get("name") or (manifest.get("pipeline") or {}).get("name"),
                    pipeline_file=pfile, pipeline_missing=missing)

    # licence policy
    raw_policy, origin = None, "default (no license_policy in the pipeline)"
    if pdata.get("license_policy") is not None:
        raw_policy, origin = pdata["license_policy"], f"pipeline {pfile.name}"
    elif manifest.get("license_policy") is not None:
        raw_policy, origin = manifest["license_policy"], "build manifest"
    try:
        cfg.policy = LicensePolicy.model_validate(raw_policy) if raw_policy is not None else LicensePolicy()
    except ValidationError as err:
        e = err.errors()[0]
        where = ".".join(map(str, e["loc"]))
        msg = (f"unknown key {where!r} (allowed: {', '.join(LicensePolicy.model_fields)})" if e["type"] == "extra_forbidden"
               else f"{where + ': ' if where else ''}{e['msg']}")
        raise MixPlanError(f"invalid license_policy ({origin}): {msg}") from None
    cfg.policy_origin = origin

    # weights
    if weights is not None:
        cfg.weights = load_weights_yaml(weights)
    elif spec is not None:
        cfg.weights = _spec_weights(spec, pfile)
    if spec is not None:
        cfg.targets = dict(spec.targets) if spec.targets is not None else None
        cfg.max_epochs = spec.max_epochs
        cfg.max_rows_per_shard = spec.max_rows_per_shard
        cfg.repeat_ids = spec.repeat_ids
        cfg.publish_as = dict(spec.publish_as)
    if repeat_ids is not None:
        if repeat_ids not in REPEAT_IDS:
            raise MixPlanError(f"repeat_ids must be one of {', '.join(REPEAT_IDS)} (got {repeat_ids!r})")
        cfg.repeat_ids = repeat_ids
    if cfg.weights is None and cfg.targets is None and require_weights:
        if pfile is None and not (build / "manifest.json").is_file():
            # new-user review: an interrupted build was told "no mix weights" though its pipeline has a mix: block
            from .stats import no_manifest_error

            raise no_manifest_error(build)
        where = (f"the pipeline {pfile}" if pfile else f"the build's pipeline {missing} (recorded in its manifest.json), "
                 "which is not there any more (pass --pipeline)" if missing else "the build's pipeline")
        raise MixPlanError(f"no mix weights: pass --weights WEIGHTS.yaml or add a `mix:` block with `factors:` to {where}")

    # seed and output
    if seed is not None:
        cfg.seed = seed
    elif spec is not None and spec.seed is not None:
        cfg.seed = spec.seed
    else:
        cfg.seed = int(pdata.get("seed", manifest.get("seed", 0)) or 0)
    if not 0 <= cfg.seed < 2**64:
        said = ("--seed" if seed is not None else "the pipeline's mix.seed" if spec is not None and spec.seed is not None
                else "the pipeline's seed (manifest.json)")
        raise MixPlanError(f"{said} is {cfg.seed}: a mix's selection seed must be in [0, 2**64): give one in that range")
    if output is not None:
        cfg.output = Path(output)
    elif spec is not None and spec.output:
        o = Path(spec.output)
        cfg.output = o if o.is_absolute() else build / o
    else:
        cfg.output = build / "mix"
    return cfg


# --------------------------------------------------------------------------------------------- selection


def selection_key(doc_id: str, seed: int) -> float:
    """A document's uniform draw in [0, 1): xxh64 of its id, seeded."""
    import xxhash

    return xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=seed) / 2.0**64


def _copies(ids: list[str], epochs: float, seed: int):
    """Copies of each document for ``epochs``: floor(epochs), +1 where the draw is below the fraction."""
    import numpy as np
    import xxhash

    whole = math.floor(epochs)
    frac = epochs - whole
    copies = np.full(len(ids), whole, dtype=np.int64)
    if frac > 0:
        h = xxhash.xxh64_intdigest
        threshold = frac * 2.0**64
        extra = np.fromiter((h(i.encode("utf-8"), seed=seed) < threshold for i in ids), dtype=bool, count=len(ids))
        copies += extra
    return copies


# --------------------------------------------------------------------------------------------- writing


# A file the mix writes holds ``max_rows_per_shard`` rows, or fewer when those rows' strings (UTF-8 bytes) would pass
# this: the rows waiting for a file are bounded by bytes, not only rows (scale review: 100,000 rows of long books per
# (source, language) were held before the first file, 6.5 GiB for a mix of 2.2 GB of text). Below it, files are the
# ones rows alone cut. Also keeps each written string column under Parquet's 2 GiB and each row group under the
# 286 MiB the Hugging Face dataset viewer reads; the build's row groups have the same bound
# (``steps.base.MAX_BATCH_BYTES``). Tests set it small.
MIX_FILE_BYTES = 256 << 20
# The shards read ahead of the one being selected from (at most two, as before) are at most this many bytes of
# Parquet; a larger shard is read at its turn (scale review: three whole shards of 220 MB were held at once, and
# pyarrow needs ~3.5x a shard's text while it decodes one). Shards of up to ~40 MiB are still read two ahead.
# Files the mix encodes wait for a writing thread up to four at a time, but only one while they hold more than
# MIX_FILE_BYTES of rows. Neither changes what is written, only when.
MIX_READ_AHEAD_BYTES = 128 << 20


def _row_bytes(table):
    """UTF-8 bytes of each row's strings (numpy int64), as :data:`MIX_FILE_BYTES` counts them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    sizes = np.zeros(table.num_rows, dtype=np.int64)
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_binary(col.type):
            sizes += np.asarray(pc.fill_null(pc.binary_length(col), 0).to_numpy(), dtype=np.int64)
    return sizes


class _BucketWriter:
    """Rows of one (kind, language, source) folder, cut into shards of ``max_rows`` rows, or of fewer when their
    strings would pass :data:`MIX_FILE_BYTES` (as many as fit, at least one).

    The rows waiting for a file are counted cheaply first (``Table.nbytes``, which is at least their strings' bytes);
    they are counted row by row only when that passes the limit, so files of ordinary rows are cut as before.
    The folder is not created here: whoever writes a file into it does (:class:`_Folders`), in the writing thread.
    """

    def __init__(self, folder: str, stem: str, max_rows: int, schema,
                 write: Callable[[Any, str], None] | None = None):
        self.folder, self.stem, self.max_rows, self.schema = os.fspath(folder), stem, max_rows, schema
        self.write = write or (lambda table, path: _write_shard(table, path, {}, _Folders().ensure))
        self.pending: list = []
        self.sizes: list = []  # per pending table: its rows' string bytes, or None (not counted)
        self.n_pending = 0
        self.bytes = 0  # of the pending rows: their strings' bytes where counted, else Table.nbytes (more)
        self.index = 0

    def add(self, table) -> None:
        if table.num_rows == 0:
            return
        self.pending.append(table)
        self.sizes.append(None)
        self.n_pending += table.num_rows
        self.bytes += table.nbytes
        while self.n_pending >= self.max_rows or self.bytes > MIX_FILE_BYTES:
            n = self.max_rows if self.n_pending >= self.max_rows else self.n_pending
            if self.bytes > MIX_FILE_BYTES:  # may be too many bytes: count them, and cut where they fit
                fit = self._fit()
                if fit >= self.n_pending and self.n_pending < self.max_rows:
                    break  # (Table.nbytes said more than the strings hold)
                n = min(n, fit)
            self._flush(n)

    def _fit(self) -> int:
        """How many of the pending rows fit in a file (at least 1); counts the rows not counted yet."""
        import numpy as np

        for k, table in enumerate(self.pending):
            if self.sizes[k] is None:
                self.sizes[k] = _row_bytes(table)
        sizes = np.concatenate(self.sizes)
        self.bytes = int(sizes.sum())
        return max(1, int(np.searchsorted(np.cumsum(sizes), MIX_FILE_BYTES, side="right")))

    def reserve(self) -> str:
        """The next file name of this folder (numbered in input order), a string like every path the mix keys by."""
        path = f"{self.folder}{os.sep}{self.stem}--{self.index:03d}.parquet"
        self.index += 1
        return path

    def _flush(self, n: int) -> None:
        import numpy as np
        import pyarrow as pa

        table = pa.concat_tables(self.pending)
        out, rest = table.slice(0, n), table.slice(n)
        counted = all(s is not None for s in self.sizes)
        sizes = np.concatenate(self.sizes)[n:] if counted and self.sizes else None
        self.pending = [rest] if rest.num_rows else []
        self.sizes = [sizes] if rest.num_rows else []
        self.n_pending = rest.num_rows
        self.bytes = int(sizes.sum()) if sizes is not None else rest.nbytes
        self.write(out, self.reserve())

    def close(self) -> None:
        if self.n_pending:
            self._flush(self.n_pending)


class _Folders:
    """The output folders made so far: each is created once, by the first thread that writes a file into it.

    Why not in the main thread: on this VM's ext4 a ``mkdir`` costs as much kernel time as creating a file
    (inode allocation); made by the copying threads, the ~720 folders of a mix of 1,320 small shards no longer
    hold up the main thread (benchmarks/results/mix.md). ``Path.mkdir(exist_ok=True)`` makes a race between
    two threads harmless; a set's ``in`` and ``add`` are atomic under the GIL.
    """

    def __init__(self):
        self.made: set[str] = set()

    def ensure(self, folder: str) -> None:
        if folder not in self.made:
            _mkdir(folder)
            self.made.add(folder)


def _mkdir(folder: str) -> None:
    """``Path(folder).mkdir(parents=True, exist_ok=True)`` on a string: ``mkdir`` first (``os.makedirs`` stats
    the parent first), the parents only when it is missing."""
    try:
        os.mkdir(folder)
    except FileNotFoundError:
        parent = os.path.dirname(folder)
        if not parent or parent == folder:
            raise
        _mkdir(parent)
        try:
            os.mkdir(folder)
        except OSError:
            if not os.path.isdir(folder):
                raise
    except OSError:  # as pathlib: any error is fine when the folder is there
        if not os.path.isdir(folder):
            raise


def _write_shard(table, path: str, hashes: dict, ensure: Callable[[str], None] | None = None) -> None:
    """Encode one shard in memory, hash those bytes, then write them: each file is hashed once, never re-read."""
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    # fixed options, no timestamps: the same input gives the same bytes (rule 4)
    sizes = None if table.nbytes <= MIX_FILE_BYTES else _row_bytes(table)
    if sizes is None or int(sizes.sum()) <= MIX_FILE_BYTES:
        pq.write_table(table.combine_chunks(), buf, compression="zstd", row_group_size=10_000, write_statistics=True)
    else:
        # a whole build shard re-encoded (another version's schema, a repeat the splice cannot make) may hold more:
        # one table of it would pass pa.string()'s 2 GiB ("offset overflow while concatenating arrays"), so each row
        # group (10,000 rows, fewer past MIX_FILE_BYTES of strings, as the mix's own files) is combined on its own
        import numpy as np

        with pq.ParquetWriter(buf, table.schema, compression="zstd", write_statistics=True) as writer:
            start = 0
            while start < table.num_rows:
                fit = np.searchsorted(np.cumsum(sizes[start:start + 10_000]), MIX_FILE_BYTES, side="right")
                n = max(1, min(int(fit), table.num_rows - start))
                writer.write_table(table.slice(start, n).combine_chunks(), row_group_size=n)
                start += n
    data = buf.getbuffer()
    hashes[path] = fast_digest(data)
    if ensure is not None:
        ensure(os.path.dirname(path))
    with open(path, "wb") as fh:
        fh.write(data)


_LINUX = sys.platform.startswith("linux")
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _copy_bytes(src: Path, dst: Path) -> None:
    """Copy a file's bytes to a new file ``dst``, in the kernel (``sendfile``), like ``shutil.copyfile``.

    Why not ``shutil.copyfile``: on a ~37 KiB shard its same-file check and special-file checks (four
    ``stat`` calls), its buffered ``open`` (``fstat``, ``isatty``, ``lseek``) cost more than the copy itself:
    this is ~25 % faster on 1,320 small shards (benchmarks/results/mix.md). Same bytes, same ``0o666 & ~umask``
    mode as ``open(dst, "wb")``. Elsewhere than Linux, or if the kernel refuses, ``shutil.copyfile``.
    """
    if not _LINUX:
        shutil.copyfile(src, dst)
        return
    fi = os.open(src, os.O_RDONLY | _O_CLOEXEC)
    try:
        fo = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_CLOEXEC, 0o666)
        try:
            while os.sendfile(fo, fi, None, 1 << 30):  # until end of file (0 bytes sent)
                pass
            return
        except OSError:  # e.g. a file system without sendfile: the portable copy below (it truncates dst)
            pass
        finally:
            os.close(fo)
    finally:
        os.close(fi)
    shutil.copyfile(src, dst)


def _copy_shard(src: str, dst: str, hashes: dict, schema, schema_fp: str,
                entry: tuple[int, str, int, dict | None] | None, described: bool,
                trusted: dict[str, tuple[int, dict]], repeats: list[str] = (),
                ensure: Callable[[str], None] | None = None, rename: bool = False) -> None:
    """Copy a build shard's bytes to the mix (``dst``), then its whole-epoch ``repeats`` (copies 2, 3...):
    byte copies of ``dst`` (:func:`_copy_repeats`) or, with ``rename`` (``repeat_ids: suffix``), ``dst`` with
    its ids renamed ``id#k`` and every other column's bytes copied (:func:`_splice_repeats`)."""
    if ensure is not None:
        ensure(os.path.dirname(dst))
    _copy_first(src, dst, hashes, schema, schema_fp, entry, described, trusted)
    if rename:
        _splice_repeats(dst, repeats, hashes, trusted)
    else:
        _copy_repeats(dst, repeats, hashes, trusted)


def _mapped(path: str):
    """A file's bytes, mapped rather than read: no copy into a fresh allocation (whose page faults made reading
    a 40 MiB shard cost as much as hashing it); the map is released with its last reference. ``read`` where
    mapping fails (an empty file, a file system without mmap)."""
    import mmap

    with open(path, "rb") as fh:
        try:
            return memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
        except (ValueError, OSError):
            return fh.read()


_REPEAT_FILE = re.compile(r"(.*)[-_]e([0-9]+)\.parquet")  # `<first copy>_e<k>.parquet` (`-e<k>` before 2026-11-28)


# k of a repeat's id `<id>#k` as a `repeat_ids: suffix` mix writes it: 2 or more, ASCII digits, no leading zero
# (`b#02` is no copy of `b`; a Unicode digit `#²` is none either)
COPY_K = r"(?:[2-9]|[1-9][0-9]+)"
_COPY_ID = re.compile(rf"(.+)#({COPY_K})")


def copy_of(doc_id: str) -> tuple[str, int] | None:
    """(``<id>``, k) when ``doc_id`` is named as copy k of ``<id>`` in a ``repeat_ids: suffix`` mix, else None."""
    m = _COPY_ID.fullmatch(doc_id)
    return (m.group(1), int(m.group(2))) if m else None


def shard_order(path: str) -> tuple[str, int]:
    """A mix shard's place in epoch order: (its first copy's path, k); k = 1 for a first copy or a fraction, k for a
    whole-epoch repeat ``<first copy>_e<k>.parquet`` (``-e<k>`` in mixes written before 2026-11-28)."""
    m = _REPEAT_FILE.fullmatch(path)
    return (m.group(1) + ".parquet", int(m.group(2))) if m else (path, 1)


def _splice_repeats(first: str, repeats: list[str], hashes: dict, trusted: dict[str, tuple[int, dict]]) -> None:
    """Whole-epoch repeats (``repeat_ids: suffix``): the first copy with ``id`` renamed ``id#k``, spliced.

    Only the ``id`` column is encoded; every other column chunk is the first copy's bytes (:mod:`.splice`),
    so a repeat costs about a copy and an XXH3 instead of decoding and zstd-encoding its text again
    (benchmarks/results/mix_corpora.md). A repeat has its first copy's rows but for the ids, so it inherits
    its trust: when the first copy is checked from its build shard's summary, so is the repeat (the licence,
    source and language columns are the same bytes); otherwise it is read back (:func:`scan_mix`). A file the
    splice cannot handle (:class:`~.splice.SpliceUnsupported`) is re-encoded, under the same name.
    """
    if not repeats:
        return
    import pyarrow as pa
    import pyarrow.compute as pc

    from .splice import ColumnSplicer, SpliceUnsupported

    data = _mapped(first)
    try:
        splicer = ColumnSplicer(data, "id")
    except SpliceUnsupported:
        splicer = None
    for dst in repeats:
        suffix = pa.scalar(f"#{shard_order(dst)[1]}")
        if splicer is not None:
            try:
                parts = splicer.splice(pc.binary_join_element_wise(splicer.column, suffix, ""))
            except SpliceUnsupported:
                parts = None
            if parts is not None:
                import xxhash

                h = xxhash.xxh3_128()
                size = 0
                with open(dst, "wb") as fh:
                    for part in parts:
                        h.update(part)
                        fh.write(part)
                        size += len(part)
                hashes[dst] = (FAST_DIGEST, h.hexdigest())
                if first in trusted:
                    trusted[dst] = (size, trusted[first][1])
                continue
        table = _read_buffer(data)
        at = table.schema.get_field_index("id")
        _write_shard(table.set_column(at, "id", pc.binary_join_element_wise(table.column(at), suffix, "")),
                     dst, hashes)


_COPY_BATCH = 16  # byte copies per pool task, at most...
_COPY_BATCH_BYTES = 1 << 20  # ...and about this many bytes: large shards go one per task, shared by both threads


def _copy_shards(jobs: list[tuple]) -> None:
    """:func:`_copy_shard` of each job in turn: one pool task per batch of small files, not per file (a task
    costs ~50 us of Python in the main thread, comparable to copying a 37 KiB shard). Batches are cut at
    ``_COPY_BATCH`` files or ``_COPY_BATCH_BYTES`` bytes, so a few large shards are still spread over both threads."""
    for job in jobs:
        _copy_shard(*job)


def _copy_repeats(first: str, repeats: list[str], hashes: dict, trusted: dict[str, tuple[int, dict]]) -> None:
    """Whole-epoch repeats (``repeat_ids: keep``) as byte copies of the first copy just written.

    Copied from ``first`` (not the build shard again) so every repeat is exactly the first copy's bytes,
    whichever way that was made; each inherits its sha256 and its trust: a repeat of a trusted copy is
    checked from the same summary, a repeat of a copy that is read back (no summary, a shard changed since
    the build, a re-encoded schema) is read back too (:func:`scan_mix`).
    """
    for dst in repeats:
        _copy_bytes(first, dst)
        hashes[dst] = hashes[first]
        if first in trusted:
            trusted[dst] = trusted[first]


def _copy_first(src: str, dst: str, hashes: dict, schema, schema_fp: str,
                entry: tuple[int, str, int, dict | None] | None, described: bool,
                trusted: dict[str, tuple[int, dict]]) -> None:
    """Copy a build shard's bytes to the mix, with the sha256 the build's manifest already holds.

    ``entry`` is (bytes, sha256, mtime_ns of manifest.json, summary) of ``src`` as the build recorded it and
    ``described`` whether it still describes the file (:func:`_describes`). Then the bytes are copied by the
    kernel (:func:`_copy_bytes`), that hash is reused (hashing was ~1/3 of the copy's cost,
    benchmarks/results/mix_corpora.md) and the summary's schema fingerprint stands for reading the schema;
    the copy goes into ``trusted`` so the licence check takes its rows from the summary instead of reading
    it back. Otherwise (no entry, another size, a newer file) the bytes are read once, hashed and written,
    and the copy is read back like a re-encoded file (the plan scanned that shard too).
    A file whose schema is not exactly ``schema`` (a build from another version) is re-encoded to it
    instead, under the same name (and read back): every shard of a config must share one schema.
    """
    import pyarrow.parquet as pq

    if described:
        summary = entry[3]
        size, sha = entry[0], entry[1]
        same_schema = (summary["schema"] == schema_fp if summary is not None
                       else pq.read_schema(src).equals(schema, check_metadata=True))
        if not same_schema:
            _write_shard(_read(src).select(schema.names).cast(schema), dst, hashes)
            return
        _copy_bytes(src, dst)
        hashes[dst] = ("sha256", sha)
        if summary is not None:
            trusted[dst] = (size, summary)
        return
    import pyarrow as pa

    data = Path(src).read_bytes()
    buf = pa.py_buffer(data)
    if not pq.read_schema(pa.BufferReader(buf)).equals(schema, check_metadata=True):
        table = pq.ParquetFile(pa.BufferReader(buf)).read(use_threads=False).select(schema.names).cast(schema)
        _write_shard(table, dst, hashes)
        return
    hashes[dst] = ("sha256", hashlib.sha256(data).hexdigest())  # a byte copy records its sha256 either way
    with open(dst, "wb") as fh:
        fh.write(data)


def _token_counters(mdata: dict, names: list[str]) -> dict:
    """``{"token_counter": …}`` for mix_plan.json: the counter the mixed sources share (the manifest's per-source
    ``token_counter``, else its run-wide one), or ``{"name": "several", "by_source": …}``; {} when none is recorded."""
    per = {e.get("name"): e.get("token_counter") for e in mdata.get("sources") or []
           if isinstance(e, dict) and e.get("name") in names and isinstance(e.get("token_counter"), dict)}
    if not per:
        top = mdata.get("token_counter")
        return {"token_counter": top} if isinstance(top, dict) else {}
    distinct = {json.dumps(v, sort_keys=True) for v in per.values()}
    if len(distinct) == 1:
        return {"token_counter": next(iter(per.values()))}
    return {"token_counter": {"name": "several", "by_source": dict(sorted(per.items()))}}


def made_from_another_manifest(mix_dir: Path, build: Path) -> bool:
    """Whether ``mix_dir``'s ``mix_plan.json`` records another ``manifest.json`` of ``build`` than the one there now
    (``build.manifest_sha256``; a no-op rebuild rewrites the same bytes): the build changed since the mix was made.
    False when either file is missing or unreadable (whoever reads them names that)."""
    try:
        plan = json.loads((Path(mix_dir) / "mix_plan.json").read_text(encoding="utf-8"))
        recorded = (plan.get("build") or {}).get("manifest_sha256")
        current = hashlib.sha256((Path(build) / "manifest.json").read_bytes()).hexdigest()
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(recorded, str) and recorded != current


class _ManifestFile:
    """``BUILD/manifest.json`` read once: its sha256 (recorded in mix_plan.json), parsed content, mtime.

    Why: a mix used to read it three times (sources, shard entries, hash); 0.8 MB for a build of 1,320 shards.
    """

    def __init__(self, raw: bytes, mtime_ns: int):
        self.raw, self.mtime_ns = raw, mtime_ns
        self.sha256 = hashlib.sha256(raw).hexdigest()
        self._data: Any = None

    @classmethod
    def read(cls, path: Path) -> "_ManifestFile | None":
        """None when there is no such file (an unreadable one raises, as reading it later would).

        ``os.read`` until end of file rather than a buffered ``open``: 5 system calls instead of 10.
        """
        try:
            fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            mtime_ns = os.fstat(fd).st_mtime_ns
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        except IsADirectoryError:
            return None
        finally:
            os.close(fd)
        return cls(b"".join(chunks), mtime_ns)

    @property
    def data(self) -> Any:
        """The parsed JSON (``json.JSONDecodeError`` if it is not JSON, as ``json.loads`` of its text)."""
        if self._data is None:
            self._data = json.loads(self.raw.decode("utf-8"))
        return self._data


def _manifest_shards(build: Path, manifest: "_ManifestFile | None" = None) -> dict[str, tuple[int, str, int, dict | None]]:
    """Data shard (``os.fspath(build / path)``) -> (bytes, sha256, manifest mtime_ns, summary or None) from
    ``BUILD/manifest.json``.

    A hint, checked before use: an entry describes a shard only while the file still has that size and
    was not modified after the manifest was written (:func:`_describes`); otherwise the shard is read
    (counted, hashed, read back) as if the manifest had no entry. {} when there is no manifest (the mix refuses
    such a build before). An entry without its path, size or SHA-256 is refused, naming its key: the entries are
    also what tells a shard the build wrote from one dropped beside them, and what a rewritten shard is compared
    with (review 49: one `bytes: null` made this {}, which turned both checks off: a foreign shard and a shard
    rewritten under its old licence label were mixed, "licence check passed").
    ``manifest``: the file already read (else it is read here).
    """
    if manifest is None:
        manifest = _ManifestFile.read(build / "manifest.json")
        if manifest is None:
            return {}
    mtime = manifest.mtime_ns
    data = manifest.data  # (parsed and its head validated by read_sources before: a dict)
    entries = data.get("shards") if isinstance(data, dict) else None
    mpath = build / "manifest.json"

    def refuse(where: str, value: object, expected: str):
        from ..buildfiles import MANIFEST_FIX

        raise MixPlanError(f"{mpath}: {where} is {json.dumps(value)[:80]}, expected {expected}: the manifest was "
                           f"edited or damaged, and its shard entries are what the mix checks the shards against; "
                           f"{MANIFEST_FIX}")

    if not isinstance(entries, list):
        refuse("shards", entries, "the list of the build's shards")
    out = {}
    prefix = os.fspath(build / "x")[:-1]  # what pathlib puts before a child's name ("" for the folder ".")
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            refuse(f"shards[{i}]", e, "an object")
        rel, size, sha = e.get("path"), e.get("bytes"), e.get("sha256")
        if not isinstance(rel, str) or not rel:
            refuse(f"shards[{i}].path", rel, "the shard's path in the build folder")
        if not rel.startswith("sources/") or "/data/" not in rel:
            continue  # (not a kept shard: nothing the mix reads)
        if type(size) is not int or size < 0:
            refuse(f"shards[{i}].bytes", size, "the shard's size in bytes")
        if not is_sha256(sha):
            refuse(f"shards[{i}].sha256", sha, "the shard's SHA-256 (64 hex digits)")
        summary = e.get("summary")
        out[_joined(build, prefix, rel)] = (size, sha, mtime, summary if _valid_summary(summary) else None)
    return out


def _joined(build: Path, prefix: str, rel: str) -> str:
    """``os.fspath(build / rel)`` for a manifest's relative path, by concatenation when ``rel`` is already in the
    form pathlib gives (no ``.`` part, no doubled or trailing separator, not absolute), else by pathlib itself."""
    if (os.sep == "/" and isinstance(rel, str) and rel and not rel.startswith(("/", "./")) and "//" not in rel
            and "/./" not in rel and not rel.endswith(("/", "/.")) and rel != "."):
        return prefix + rel
    return os.fspath(build / rel)


def _described_shards(build: Path, sources: list[SourceInfo], manifest: "_ManifestFile | None" = None):
    """(every manifest entry, the entries of the shards the manifest still describes) of a build's sources,
    keyed by the shard's path string (:attr:`SourceInfo.shard_paths`)."""
    entries = _manifest_shards(build, manifest)
    described: dict[str, tuple[int, str, int, dict | None]] = {}
    for src in sources:
        check_kept_shards(src, entries)  # a shard deleted since the build: refused, not left out silently
        extra = [p for p in src.shard_paths if entries and p not in entries]
        if extra:  # review: a copy of a shard dropped beside it was mixed (23 ids twice), "licence check passed"
            raise MixPlanError(f"{extra[0]} is not a shard the build wrote (manifest.json does not list it"
                               f"{f'; {len(extra) - 1} more' if len(extra) > 1 else ''}): its documents are accounted "
                               f"for nowhere. Remove it, or rebuild source {src.name} (delete {src.folder}, rerun "
                               "`lucie-data build`)")
        changed = []
        for shard in src.shard_paths:
            e = entries.get(shard)
            if e is not None:
                if _still_describes(e, shard):
                    described[shard] = e
                elif _shard_sha256(shard) != e[1] and footer_digest(shard) is not None:
                    changed.append(shard)  # (touched, same bytes: scanned; not Parquet: reported as damaged)
        if changed:  # review: an NC text pasted into a kept row (its CC-BY-SA label kept) was published
            from ..buildfiles import rebuild_hint

            raise MixPlanError(
                f"{changed[0]}{f' and {len(changed) - 1} more shard(s) of {src.name}' if len(changed) > 1 else ''} "
                "changed since the build (sha256 not the one manifest.json records): its rows are not the ones the "
                "build accounted for and licence-checked. Put the build's file back, or "
                f"{rebuild_hint(build, src.name)}; then mix")
    return entries, described


def _shard_sha256(shard: str) -> str:
    """A build shard's sha256; a shard the user may not read is a MixPlanError naming it (review 49: a traceback),
    another read error names it and how to rebuild it."""
    try:
        return _sha256(shard)
    except OSError as err:
        raise MixPlanError(unreadable_message(shard, err, shard_fix(shard))) from None


def _still_describes(entry: tuple[int, str, int, dict | None], path: Path) -> bool:
    """Whether a manifest entry still describes a shard: :func:`_describes` (size, mtime) and, when its summary
    records a footer digest, the same footer (a summary describes the file only while the footer is unchanged).
    One ``open``: ``fstat`` for size and mtime, then one ``pread`` of the file's tail for the footer.

    Why: the same checks as ``os.stat`` + :func:`footer_digest` with 4 system calls instead of 9 per shard; one
    ``stat`` when the summary records no footer digest (a build from an older version).
    """
    want = entry[3].get("footer") if entry[3] is not None else None
    if want is None:
        try:
            return _describes(entry, os.stat(path))
        except OSError:
            return False
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        return _describes(entry, st) and _footer_digest_fd(fd, st.st_size) == want
    finally:
        os.close(fd)


_TAIL = 64 * 1024  # one read covers the footer of a shard of up to ~10^3 row groups (a few KiB each)


def _footer_digest_fd(fd: int, size: int) -> str | None:
    """:func:`footer_digest` of an open file of ``size`` bytes: the tail read once, a second read only
    for a footer longer than ``_TAIL``."""
    try:
        if size < 8:
            return None
        tail = os.pread(fd, min(size, _TAIL), size - min(size, _TAIL))
        if tail[-4:] != b"PAR1":
            return None
        n = int.from_bytes(tail[-8:-4], "little")
        if n + 8 > size:
            return None
        if n + 8 <= len(tail):
            return hashlib.sha256(tail[len(tail) - 8 - n:len(tail) - 8]).hexdigest()
        footer = os.pread(fd, n, size - 8 - n)
        return hashlib.sha256(footer).hexdigest() if len(footer) == n else None
    except OSError:
        return None


def footer_digest(path: Path) -> str | None:
    """sha256 of a Parquet file's footer (its FileMetaData: row groups, offsets, sizes, column statistics).

    One read of the file's tail (:func:`_footer_digest_fd`). Any rewrite of a shard's rows changes the page sizes, offsets
    or min/max statistics the footer records, so a same-size edit with the old mtime put back (which
    size + mtime cannot see) is caught without hashing the whole file. None if it is not Parquet.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except OSError:
        return None
    try:
        return _footer_digest_fd(fd, os.fstat(fd).st_size)
    except OSError:
        return None
    finally:
        os.close(fd)


def _valid_summary(summary: Any) -> bool:
    """A shard summary as :func:`shard_summaries` writes it (anything else is ignored: the shard is read)."""
    try:
        return (isinstance(summary, dict) and isinstance(summary["schema"], str)
                and isinstance(summary["null_tokens"], int)
                and all(len(g) == 5 and isinstance(g[3], int) and isinstance(g[4], int) for g in summary["groups"])
                and all(len(f) == 3 for f in summary["flagged"]) and isinstance(summary["suffixed_ids"], int))
    except (KeyError, TypeError):
        return False


def _describes(entry: tuple[int, str, int, dict | None] | None, st: os.stat_result) -> bool:
    """Whether a manifest entry still describes the file: same size, not modified after the manifest.

    The same check ``make`` and ``rsync`` use; it cannot see a same-size edit made with the old mtime put
    back, so the summary's footer digest is compared too (:func:`_still_describes`); a forger who keeps the
    footer byte-identical is still caught by ``verify_mix`` and ``push``, which read every written shard.
    """
    return entry is not None and st.st_size == entry[0] and st.st_mtime_ns <= entry[2]


def schema_fingerprint(schema) -> str:
    """sha256 of a pyarrow schema's IPC serialisation (field names, types, nullability, metadata)."""
    return hashlib.sha256(schema.serialize().to_pybytes()).hexdigest()


def shard_summaries(paths: list[Path]) -> list[dict]:
    """What the mix needs to know of each Parquet shard, without its text: recorded once in the build manifest.

    ``{"schema": fingerprint, "groups": [[source, language, license, n_tokens, rows], ...] (order of first
    appearance), "null_tokens": rows without n_tokens, "flagged": [[source, license, reason], ...] (sorted)}``.
    The mix plans from the groups and, for a shard it copies byte for byte, takes the licence check of the
    copy from them instead of reading the copy back (:func:`scan_mix` reads the same fields the same way).
    """
    import pyarrow.parquet as pq

    if not paths:
        return []
    from .card import rows_with_url

    grouped = _grouped_many(paths, ["source", "language", "license"])
    flagged = _flagged_per_file(paths)
    with_url = rows_with_url([str(p) for p in paths])  # the card's `url` claim, recorded once here (footers)
    suffixed = _suffixed_ids(paths)
    unverified = _unverified_per_file(paths)
    out = []
    for p, (_rows, nulls, groups), urls in zip(paths, grouped, with_url):
        out.append({"schema": schema_fingerprint(pq.read_schema(p)), "footer": footer_digest(p), "null_tokens": int(nulls),
                    "groups": [[s, lang, lic, int(n or 0), int(docs)] for s, lang, lic, n, docs in groups],
                    "flagged": flagged.get(str(p), []), "url_rows": urls, "suffixed_ids": suffixed.get(str(p), 0),
                    "unverified": unverified.get(str(p), {})})
    return out


def _unverified_per_file(paths: list) -> dict[str, dict[str, int]]:
    """Shard path string -> {source: rows whose licence is the recipe's for want of their own} (``license_evidence``
    in UNVERIFIED_EVIDENCE; a policy with ``unverified: allow`` lets them in, and the card says how many)."""
    if not paths:
        return {}
    import polars as pl

    try:
        df = (pl.scan_parquet([str(p) for p in paths], glob=False, include_file_paths="__path", hive_partitioning=False)
              .select("__path", "source", "license_evidence")
              .filter(pl.col("license_evidence").is_in(list(UNVERIFIED_EVIDENCE)))
              .group_by("__path", "source").len().collect())
    except Exception:  # noqa: BLE001 -- files polars cannot scan together: one by one (a damaged one is named)
        import pyarrow as pa
        import pyarrow.compute as pc

        out: dict[str, dict[str, int]] = {}
        for p in paths:
            t = _read(p, ["source", "license_evidence"])
            t = t.filter(pc.is_in(t.column("license_evidence"), value_set=pa.array(sorted(UNVERIFIED_EVIDENCE))))
            for src in t.column("source").to_pylist():
                by = out.setdefault(str(p), {})
                by[src] = by.get(src, 0) + 1
        return out
    out = {}
    for path, src, n in df.iter_rows():
        out.setdefault(path, {})[src] = int(n)
    return out


_SUFFIXED = r"#[0-9]+$"  # an id that looks like copy k of another in a `repeat_ids: suffix` mix


def _suffixed_ids(paths: list[Path]) -> dict[str, int]:
    """Shard path string -> how many of its ids end in ``#<digits>`` (0 for most shards: then the mix need not read
    their ids to know that no copy ``<id>#k`` can take the id of another document, :func:`_suffix_collisions`)."""
    import polars as pl

    try:
        df = (pl.scan_parquet([str(p) for p in paths], glob=False, include_file_paths="__path", hive_partitioning=False)
              .select("__path", "id").filter(pl.col("id").str.contains(_SUFFIXED)).group_by("__path").len().collect())
        return dict(df.iter_rows())
    except Exception:  # noqa: BLE001 -- files polars cannot scan together: one by one (a damaged one is named)
        import pyarrow.compute as pc

        return {str(p): int(pc.sum(pc.match_substring_regex(_read(p, ["id"]).column("id"), _SUFFIXED)).as_py() or 0)
                for p in paths}


def _suffix_collisions(sources: list[SourceInfo], described: dict, keep: Callable[[SourceInfo, str | None], str | None],
                       epochs: dict[str, float], seed: int) -> list[tuple[str, str, int, str]]:
    """(source, id, k, other id) for every copy ``<id>#k`` a ``repeat_ids: suffix`` mix would write whose id is
    already the id of another document of the mix (review: `http://x.org/p` repeated 3 times and a page
    `http://x.org/p#2` gave 18 rows with 16 ids, and `trace` counted 4 copies of the page).

    Ids are ``<source>/…``, so a clash is within one source. Only sources with a repeated subset and an id ending
    in ``#<digits>`` (the build manifest's ``suffixed_ids``; unknown without a summary) are read (ids, languages,
    licences); the copies of a document are counted as the writer counts them (:func:`_copies`)."""
    found = []
    for src in sources:
        if not src.redistributable or not src.shard_paths:
            continue
        if all((e := described.get(p)) is not None and e[3] is not None and e[3].get("suffixed_ids") == 0
               for p in src.shard_paths):
            continue
        if max((e for sub, e in epochs.items() if sub.startswith(f"{src.name}--")), default=0) <= 1:
            continue
        import pyarrow as pa  # (a mix of byte copies with no such id imports neither pyarrow nor polars here)

        t = pa.concat_tables([_read(p, ["id", "language", "license", "metadata"]) for p in src.shard_paths])
        # documents the mix leaves out (a licence the policy excludes, a licence stage's flag) are no clash
        # (code review: a flagged `<id>#2` refused the mix of its source for nothing)
        rows = [(i, lang) for i, lang, lic, flag in zip(*(t.column(c).to_pylist() for c in ("id", "language", "license")),
                                                        _flag_reasons(t.column("metadata")))
                if keep(src, lic) is None and flag is None]
        lang_of = dict(rows)
        for doc_id, _lang in rows:
            copy = copy_of(doc_id)
            if copy is None or copy[0] not in lang_of:
                continue
            base, k = copy
            e = epochs.get(subset_name(src.name, mix_language(lang_of[base], src.pairs)), 0)
            if int(_copies([base], e, seed)[0]) >= k:
                found.append((src.name, base, k, doc_id))
    return found


def _read_buffer(data):
    """A whole Parquet file held in memory, as a table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.ParquetFile(pa.BufferReader(pa.py_buffer(data))).read(use_threads=False)


def _read_ahead(shards: list[str], wanted: Callable[[str], bool], size_of: Callable[[str], int],
                submit: Callable[[str], Any], check: Callable[[], None] = lambda: None):
    """(shard, its table, or None when not ``wanted``) in order, each read by ``submit`` (a future) ahead of its turn:
    at most two shards ahead, whose files total at most :data:`MIX_READ_AHEAD_BYTES`; a larger one is read at its
    turn. Nothing here holds a table once it is handed over (its future is dropped), so a mix of large shards holds
    about one at a time (scale review: three whole shards of 220 MB)."""
    ahead: deque = deque()  # (shard, future or None, bytes of its file): submitted, not handed over
    reading = [0]  # bytes of those files

    def pop() -> tuple[str, Any]:
        s_, f_, n_ = ahead.popleft()
        reading[0] -= n_
        return s_, (f_.result() if f_ is not None else None)

    for shard in shards:
        check()
        want = wanted(shard)
        size = size_of(shard) if want else 0
        while ahead and reading[0] + size > MIX_READ_AHEAD_BYTES:
            yield pop()
        ahead.append((shard, submit(shard) if want else None, size))
        reading[0] += size
        if len(ahead) > 2:
            yield pop()
    while ahead:
        yield pop()


def _take(table, idx):
    """The rows ``idx`` (sorted row numbers) of ``table``, as tables to add in turn: the table itself when it is all
    of them, else ``table.take(idx)``; when the table holds more than :data:`MIX_FILE_BYTES` of strings, from one run
    of rows holding at most that much at a time. Why: pyarrow's take on a chunked table concatenates its chunks into
    one array per column, so a fraction of a build shard of 1,000 books of 2.2 MB failed the mix with a traceback,
    "offset overflow while concatenating arrays" (scale review); a folder's writer then also receives 256 MiB of
    rows at a time, not a shard's. The rows in order, and so the files written (cut where the same rows cut them),
    are the same either way."""
    import numpy as np
    import pyarrow as pa

    if table.nbytes <= MIX_FILE_BYTES:
        yield table if len(idx) == table.num_rows else table.take(pa.array(idx))
        return
    ends = np.cumsum(_row_bytes(table))
    start = 0
    while start < table.num_rows:  # (one piece at a time: it is handed over before the next is taken)
        end = max(start + 1, int(np.searchsorted(ends, (ends[start - 1] if start else 0) + MIX_FILE_BYTES,
                                                 side="right")))
        lo, hi = (int(x) for x in np.searchsorted(idx, [start, end]))
        if hi > lo:
            rows = table.slice(start, end - start)
            yield rows if hi - lo == end - start else rows.take(pa.array(idx[lo:hi] - start))
        start = end


def _file_size(path: str, described: dict) -> int:
    """A build shard's bytes: as its manifest describes it, else from the file system (0 if it is gone: _read
    names it)."""
    entry = described.get(path)
    if entry is not None:
        return entry[0]
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _read(path: Path, columns: list[str] | None = None):
    """One Parquet file, without ``pq.read_table``'s dataset layer (3x its cost on small shards); a file that does
    not read is a :class:`DamagedShardError` naming it and the fix (rebuild its source, or the mix)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).read(columns=columns, use_threads=False)
    except (pa.ArrowException, OSError) as err:  # ArrowInvalid (not Parquet, cut short), ArrowIOError, a missing file
        raise DamagedShardError(damaged_shard_message(path, err)) from None


def _grouped(path: Path, keys: list[str]) -> tuple[int, int, list[tuple]]:
    """(rows, null n_tokens, [(*keys, sum of n_tokens, rows)] in order of first appearance) of one shard.

    Grouped with dictionary codes and numpy, not ``Table.group_by``: Acero's per-call set-up cost ~0.8 ms,
    4x the read itself on the small shards of a build (benchmarks/results/mix.md).
    """
    import numpy as np
    import pyarrow.compute as pc

    t = _read(path, keys + ["n_tokens"])
    if t.num_rows == 0:
        return 0, 0, []
    tokens = t.column("n_tokens")
    coded = [_codes(t.column(k)) for k in keys]
    if all(len(values) == 1 for values, _ in coded):  # the usual shard: one language, one licence
        total = pc.sum(tokens).as_py()
        return t.num_rows, tokens.null_count, [(*(values[0] for values, _ in coded), total, t.num_rows)]
    key = np.zeros(t.num_rows, dtype=np.int64)
    for values, idx in coded:
        key = key * len(values) + idx
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq))
    tok = np.asarray(tokens.combine_chunks().fill_null(0).to_numpy(), dtype=np.int64) if tokens.null_count \
        else np.asarray(tokens.to_numpy(), dtype=np.int64)
    sums = np.zeros(len(uniq), dtype=np.int64)
    np.add.at(sums, inverse, tok)
    groups = []
    for g in np.argsort(first, kind="stable"):
        row = int(first[g])
        groups.append((*(values[idx[row]] for values, idx in coded), int(sums[g]), int(counts[g])))
    return t.num_rows, tokens.null_count, groups


def _grouped_many(paths: list[Path], keys: list[str]) -> list[tuple[int, int, list[tuple]]]:
    """:func:`_grouped` of every file, in one multi-threaded polars scan of the small columns.

    Why: opening ~1,000 small Parquet files one by one from Python costs more than copying them; polars
    reads them all in one query (~0.1 s for 1,320 shards, benchmarks/results/mix.md). Files polars cannot
    scan together (other column types, a column missing: e.g. a file dropped into a mix by hand) fall
    back to reading each one with pyarrow, so the result never depends on which path was taken.
    """
    if not paths:
        return []
    import polars as pl  # only when there is something to read (~0.15 s to import)

    try:
        df = (pl.scan_parquet([str(p) for p in paths], glob=False, include_file_paths="__path", hive_partitioning=False)
              .select(["__path", *keys, "n_tokens"])
              .group_by(["__path", *keys], maintain_order=True)
              .agg(pl.col("n_tokens").sum().alias("__sum"), pl.col("n_tokens").null_count().alias("__nulls"),
                   pl.len().alias("__rows"))
              .collect())
    except Exception:  # noqa: BLE001 -- any polars refusal: the per-file pyarrow path gives the same answer
        return _pool_map(lambda p: _grouped(p, keys), paths)  # (and names a damaged file: _read)
    out = {str(p): [0, 0, []] for p in paths}
    for row in df.iter_rows():
        path, *vals, total, nulls, rows = row
        o = out[path]
        o[0] += rows
        o[1] += nulls
        o[2].append((*vals, int(total or 0), rows))
    return [tuple(out[str(p)]) for p in paths]


def _pool_map(fn, items: list) -> list:
    """``map`` over two threads (pyarrow releases the GIL), results in input order: deterministic."""
    if len(items) < 2 or (os.cpu_count() or 1) < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(fn, items))


def _codes(column) -> tuple[list, "object"]:
    """(distinct values, numpy index of each row into them) of a column; null is a value of its own.

    Why: per-row decisions (licence, bucket, subset) are taken once per distinct value, then spread
    over the rows with numpy, instead of a Python call per row.
    """
    import numpy as np
    import pyarrow as pa

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    enc = column.dictionary_encode(null_encoding="encode")
    return enc.dictionary.to_pylist(), np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _mix_schema():
    """The build's kept schema, unchanged: copied and re-encoded shards of one config share it."""
    from ..steps.rows import KEPT_SCHEMA

    return KEPT_SCHEMA


def _bucket_of(source: str, lang: str | None, pairs: tuple[str, ...] = ()) -> tuple[str, str, str]:
    """(kind, language folder, source) of a document: Lucie's data/{natural|code}/{language}/{Source}; ``pairs``:
    the source's declared pairs (:func:`~.stats.mix_language`)."""
    ml = mix_language(lang, pairs)
    if ml == "code":
        return "code", code_language(lang), source
    return "natural", ml, source




def _lic(lic: str | None) -> str:
    return lic if lic else UNKNOWN


class PolicyDecisions:
    """A policy's verdicts on licences, each licence decided once (a mix asks per shard and per row group): the one
    rule the mix, `mix plan --build` and the mix's refusals share for what may enter."""

    def __init__(self, policy):
        self.policy = policy
        self.decisions: dict[str, tuple[bool, str | None]] = {}

    def decide(self, lic: str | None) -> tuple[bool, str | None]:
        key = _lic(lic)
        if key not in self.decisions:
            self.decisions[key] = self.policy.decide(key)
        return self.decisions[key]

    def keep(self, src: SourceInfo, lic: str | None) -> str | None:
        """Why a source's document under ``lic`` stays out of the mix, or None when it may enter."""
        if not src.redistributable:
            return "not_redistributable"
        ok, reason = self.decide(lic)
        return None if ok else (reason or "license_not_allowed")


def scan_mix(folder: Path, sources: dict[str, SourceInfo], decide: Callable[[str | None], tuple[bool, str | None]],
             hashes: dict[str, tuple[str, str]] | None = None, known: dict[str, tuple[int, dict]] | None = None,
             per_source: dict[str, dict[str, int]] | None = None, unverified: dict[str, int] | None = None):
    """Read back every shard of a mix folder: (shards, achieved per subset, rows per licence, violations).
    ``per_source``, when given, is filled with rows per licence of each source (the card's attribution lines);
    ``unverified`` with the rows per source whose licence is unverified (the recipe's, for want of their own).

    A violation is a shard holding a document of a non-redistributable or unknown source, or under a
    licence ``decide`` forbids, or a flagged document; one entry per (source, licence, reason), with the
    first shard seen. ``hashes`` (path -> (digest name, hex) of the bytes just written: the build's sha256 of
    a byte copy, :data:`~lucie_data.manifest.FAST_DIGEST` of bytes the mix made) saves re-hashing files this
    process wrote; a file without one gets the fast digest, under its name, in its entry. ``known`` (path -> (bytes,
    summary)) is for files this process byte-copied from a build
    shard its manifest describes (:func:`_describes`, sha256 equal to the recorded one): their summary is
    exactly what reading them back would give, so only the other files are read. Every file found in the
    folder is accounted for either way; a file without an entry is read. Both are keyed by the path string
    ``os.fspath(folder / "data" / ...)`` (the mix keys every file by its string, not a ``Path``).
    """
    folder = Path(folder)
    hashes = hashes or {}
    known = known or {}
    shards, achieved, violations = [], {}, []
    lic_docs: dict[str, int] = {}
    seen: set[tuple[str, str, str]] = set()
    paths = _parquet_paths(os.fspath(folder / "data"))
    read = [p for p in paths if p not in known]
    grouped = dict(zip(read, _grouped_many(read, ["source", "language", "license"])))
    flagged = _flagged_per_file(read)
    from .card import rows_with_url  # the card's per-source `url` count: footer statistics, no column read

    # a byte copy of a described build shard takes it from the build manifest's summary (an older build's summary
    # has none: its footer is read), so a mix of copies opens no file for it (benchmarks/results/mix.md)
    with_url = {p: e[1]["url_rows"] for p, e in known.items() if isinstance(e[1].get("url_rows"), int)}
    rest = [p for p in paths if p not in with_url]
    with_url.update(zip(rest, rows_with_url(rest)))
    prefix = len(os.fspath(folder / "x")) - 1  # a listed path is this prefix + its path relative to the folder
    subset_of: dict[tuple[str, str | None], str] = {}  # (source, language) -> subset, once per pair
    flags_of = []
    for path in paths:
        entry = known.get(path)
        if entry is not None:
            size, summary = entry
            groups = summary["groups"]
            rows, flags = sum(g[4] for g in groups), summary["flagged"]
        else:
            size = os.stat(path).st_size
            rows, _nulls, groups = grouped[path]
            flags = flagged.get(path, [])
        rel = path[prefix:].replace(os.sep, "/")  # Path(path).relative_to(folder).as_posix(), cheaper
        if flags:
            flags_of.append((rel, flags))
        parts = rel.split("/")
        kind, lang_dir, src_name = (parts[1:4] if len(parts) == 5 else ("?", "?", "?"))
        in_rows = {g[0] for g in groups}
        if len(in_rows) == 1:  # the source whose rows it holds (its folder may be the name it is published under)
            src_name = next(iter(in_rows))
        algo, digest = hashes.get(path) or (FAST_DIGEST, file_digests(path, sha256=False, fast=True)[1])
        shards.append({"path": rel, "rows": rows, "bytes": size, algo: digest,
                       "source": src_name, "kind": kind, "language": lang_dir, "url_rows": with_url[path]})
        for s, lang, lic, n, docs in groups:
            sub = subset_of.get((s, lang))
            info = sources.get(s)
            if sub is None:
                sub = subset_of[(s, lang)] = subset_name(s, mix_language(lang, info.pairs if info else ()))
            a = achieved.get(sub)
            if a is None:
                a = achieved[sub] = {"docs": 0, "tokens": 0}
            a["docs"] += docs
            a["tokens"] += int(n or 0)
            lic = _lic(lic)
            lic_docs[lic] = lic_docs.get(lic, 0) + docs
            if per_source is not None:
                by = per_source.setdefault(s, {})
                by[lic] = by.get(lic, 0) + docs
            if info is None or not info.redistributable:
                why = "not_redistributable" if info else "unknown_source"
            else:
                ok, why = decide(lic)
                if ok:
                    continue
            if (s, lic, why) not in seen:
                seen.add((s, lic, why))
                violations.append({"source": s, "license": lic, "reason": why, "shard": rel})
    if unverified is not None:  # a byte copy's count from its build summary (older builds: read), the rest read
        need = [p for p in paths if not (p in known and isinstance(known[p][1].get("unverified"), dict))]
        counted = _unverified_per_file(need)
        for p in paths:
            for s, n in (counted.get(p, {}) if p in counted or p in need else known[p][1]["unverified"]).items():
                unverified[s] = unverified.get(s, 0) + int(n)
    flag_seen: set[tuple] = set()
    for rel, flags in flags_of:
        for s, lic, why in flags:
            if (s, lic, why) not in flag_seen:
                flag_seen.add((s, lic, why))
                violations.append({"source": s, "license": lic, "reason": why, "shard": rel})
    return shards, achieved, lic_docs, violations


def _flag_reasons(metadata) -> list[str | None]:
    """Per row of a ``metadata`` column (JSON text): why a licence stage flagged the document
    (:func:`~lucie_data.licenses.flag_reason`), or None. The same rows as :func:`_flagged_per_file` finds: a mix
    leaves them out (README: flagged documents never enter)."""
    import pyarrow.compute as pc

    from ..licenses import FLAG_MARKERS, flag_reason

    meta = metadata.combine_chunks() if hasattr(metadata, "combine_chunks") else metadata
    hit = pc.or_(*(pc.match_substring(meta, m) for m in FLAG_MARKERS)).fill_null(False).to_pylist()
    return [flag_reason(json.loads(meta[i].as_py())) if h else None for i, h in enumerate(hit)]


def _flagged_per_file(paths: list[Path]) -> dict[str, list[list]]:
    """File -> sorted distinct [source, license, reason] of the documents a licence stage kept but flagged
    (:func:`~lucie_data.licenses.flag_reason`: a modified no-derivatives text, a failed licence rule): never
    publishable."""
    if not paths:
        return {}
    import polars as pl  # only when there is something to read

    from ..licenses import FLAG_MARKERS, flag_reason

    query = (pl.scan_parquet([str(p) for p in paths], glob=False, include_file_paths="_file", missing_columns="insert",
                             extra_columns="ignore", hive_partitioning=False)
             .select("_file", "source", "license", "metadata")
             .filter(pl.any_horizontal(*(pl.col("metadata").str.contains(m, literal=True) for m in FLAG_MARKERS))))
    try:
        flagged = query.collect()
    except Exception:  # a file polars cannot read: name it (the check itself is never skipped)
        bad = first_unreadable(paths, ["source", "license", "metadata"])
        if bad is not None:
            raise DamagedShardError(damaged_shard_message(*bad)) from None
        raise
    out: dict[str, set] = {}
    for row in flagged.iter_rows(named=True):
        why = flag_reason(json.loads(row["metadata"]))
        if why is not None:
            out.setdefault(row["_file"], set()).add((row["source"], _lic(row["license"]), why))
    return {f: [list(t) for t in sorted(v, key=lambda t: tuple(str(x) for x in t))] for f, v in out.items()}


def _summary_groups(summary: dict) -> tuple[int, int, list[tuple]]:
    """(rows, null n_tokens, [(language, license, n_tokens, rows)]) of a shard from its manifest summary:
    what :func:`_grouped` returns for the keys language and license, without reading the shard."""
    groups = summary["groups"]
    if len(groups) == 1:  # the usual shard: one language, one licence
        _src, lang, lic, n, docs = groups[0]
        return docs, summary["null_tokens"], [(lang, lic, n, docs)]
    merged: dict[tuple, list[int]] = {}
    for _src, lang, lic, n, docs in groups:
        m = merged.setdefault((lang, lic), [0, 0])
        m[0] += n
        m[1] += docs
    return (sum(d for _n, d in merged.values()), summary["null_tokens"],
            [(lang, lic, n, d) for (lang, lic), (n, d) in merged.items()])


def _check_no_derivatives_gated(sources: list[SourceInfo], per_shard: dict, keep, policy, mdata: dict,
                                origin: str) -> None:
    problem = _no_derivatives_problem(sources, per_shard, keep, policy, mdata, origin)
    if problem:
        raise MixPlanError(problem)


def _no_derivatives_problem(sources: list[SourceInfo], per_shard: dict, keep, policy, mdata: dict,
                            origin: str) -> str | None:
    """Why to refuse a mix whose policy allows a licence only unmodified (a no-derivatives member binds every way of use it
    allows) in a source whose build may have kept modified documents under it.

    The build's last licence gate removes (or flags) them by its own policies, which the manifest records per source
    (``license_gate``); the shards' summaries do not say which documents a stage modified. Kept unchecked: no gate
    ran last (no pipeline `license_policy`, a recipe gate before a stage that changes the text), or its policies
    allowed the modified ones (licence and code reviews: a CC-BY-ND-4.0 text changed by `normalize` was mixed and
    pushed once a policy allowing no-derivatives came after the build; `CC-BY-4.0 OR CC-BY-ND-4.0` built under a
    policy allowing CC-BY-4.0, mixed under one denying it). A manifest from before it was recorded: not known."""
    from ..licenses import LicensePolicy

    entries = {s.get("name"): s for s in mdata.get("sources") or [] if isinstance(s, dict)}
    gates = {n: e.get("license_gate") for n, e in entries.items()}
    bad: dict[str, set[str]] = {}
    for src in sources:
        if not src.redistributable:
            continue
        gate = gates.get(src.name)
        try:
            pols = [LicensePolicy.model_validate(p) for p in gate["policies"]] if isinstance(gate, dict) else None
        except (KeyError, TypeError, ValueError):
            pols = None
        for shard in src.shard_paths:
            for _, lic, _, _ in (per_shard.get(shard) or (0, []))[1]:
                if keep(src, lic) is not None or policy.allows_modified(lic or ""):
                    continue
                if pols and any(not p.allows_modified(lic or "") for p in pols):
                    continue  # its build's last gate removed or flagged them (flagged ones never enter a mix)
                bad.setdefault(src.name, set()).add(lic)
    if not bad:
        return None
    unrecorded = sorted(n for n in bad if "license_gate" not in entries.get(n, {}))
    return (f"the licence policy ({origin}) allows these licences only for unmodified documents (no-derivatives), and "
            "the build of these sources did not remove the documents a stage modified under them: "
            + "; ".join(f"{n} ({', '.join(sorted(lics))})" for n, lics in sorted(bad.items()))
            + " (no licence gate ran last in their stages, or its policy allowed them modified"
            + (f"; for {', '.join(unrecorded)}, manifest.json does not record which gate ran last: built before "
               "lucie-data recorded it, or left out by --only since" if unrecorded else "")
            + "). Rerun `lucie-data build` with this policy in the pipeline, without --only (its gate, run last, "
            "removes them, and the manifest records it), then mix")


def _count_subsets(sources: list[SourceInfo], keep: Callable[[SourceInfo, str | None], str | None],
                   summaries: dict[str, dict] | None = None):
    """Counts per subset and excluded tallies (what :func:`lucie_data.mix.stats.build_counts` returns), plus the
    per-shard groups the writer reuses; grouped per shard instead of a Python step per row; small columns only.

    ``summaries`` (shard path string -> the build manifest's summary, only for shards the manifest still
    describes) replace reading those shards; the others (an older build, a shard changed since) are scanned.
    Shards are keyed by :attr:`SourceInfo.shard_paths` strings.
    """
    from .stats import SubsetCount

    summaries = summaries or {}
    counts: dict[tuple[str, str], SubsetCount] = {}
    excluded: dict[str, dict[str, dict]] = {}
    per_shard: dict[str, tuple[int, list[tuple]]] = {}
    partial: set[str] = set()  # shards some of whose allowed documents are flagged: never copied whole
    work = [(src, shard) for src in sources for shard in src.shard_paths]
    to_read = [shard for _src, shard in work if shard not in summaries]
    scanned = dict(zip(to_read, _grouped_many(to_read, ["language", "license"])))
    # shards holding documents a licence stage flagged (rare): counted row by row, the flagged ones excluded
    flagged_in = {shard for shard in summaries if summaries[shard].get("flagged")}
    flagged_in.update(_flagged_per_file(to_read))

    def exclude(src: SourceInfo, lic, reason: str, docs: int, n: int, flagged: bool = False) -> None:
        by_lic = excluded.setdefault(src.name, {})
        key = str(lic) if by_lic.get(str(lic), {}).get("reason", reason) == reason else f"{lic} ({reason})"
        # `flagged`: documents a licence stage flagged, not the licence itself (trace tells the two apart)
        e = by_lic.setdefault(key, {"reason": reason, "docs": 0, "tokens": 0, **({"flagged": True} if flagged else {})})
        e["docs"] += docs
        e["tokens"] += n

    for src, shard in work:
        rows, nulls, groups = _summary_groups(summaries[shard]) if shard in summaries else scanned[shard]
        if nulls:
            raise MixPlanError(f"{shard}: a document has no n_tokens; rebuild with this lucie-data version")
        if shard in flagged_in:
            groups, flags = _unflagged_groups(shard, src, keep)
            for (lic, why), (docs, n) in sorted(flags.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
                exclude(src, lic, why, docs, n, flagged=True)
            rows = sum(g[3] for g in groups)
            partial.add(shard)
        per_shard[shard] = (rows, groups)
        for lang, lic, n, docs in groups:
            n = int(n or 0)
            reason = keep(src, lic)
            if reason is not None:
                exclude(src, lic, reason, docs, n)
                continue
            ml = mix_language(lang, src.pairs)
            sc = counts.get((src.name, ml))
            if sc is None:
                sc = counts[(src.name, ml)] = SubsetCount(src.name, ml, src.category)
            sc.tokens += n
            sc.docs += docs
            if ml == "code":
                cl = code_language(lang)
                sc.code_languages[cl] = sc.code_languages.get(cl, 0) + docs
    return [counts[k] for k in sorted(counts, key=lambda k: subset_name(*k))], excluded, per_shard, partial


def _unflagged_groups(shard: str, src: SourceInfo, keep) -> tuple[list[tuple], dict[tuple, list[int]]]:
    """([(language, license, n_tokens, rows)] of a shard's documents no licence stage flagged, {(license, flag):
    [docs, tokens]} of the flagged ones a licence alone would have let in). A document the policy or source
    excludes stays counted under that reason (in the groups), as in every other shard."""
    t = _read(shard, ["language", "license", "n_tokens", "metadata"])
    why = _flag_reasons(t.column("metadata"))
    langs, lics, toks = (t.column(c).to_pylist() for c in ("language", "license", "n_tokens"))
    groups: dict[tuple, list[int]] = {}
    flags: dict[tuple, list[int]] = {}
    for lang, lic, n, w in zip(langs, lics, toks, why):
        if w is not None and keep(src, lic) is None:
            f = flags.setdefault((lic, w), [0, 0])
            f[0] += 1
            f[1] += int(n or 0)
            continue
        g = groups.setdefault((lang, lic), [0, 0])
        g[0] += int(n or 0)
        g[1] += 1
    return [(lang, lic, n, d) for (lang, lic), (n, d) in groups.items()], flags


_JSON_LINE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": ")).encode  # C encoder
_RECORDS = {("shards",), ("subsets",), ("sources",), ("plan", "subsets")}  # one line per element or entry
_OPENED = {(), ("plan",)}  # the objects above them: one line per key


def plan_json(mix_plan: dict) -> str:
    """The text of ``mix_plan.json``: ``json.dumps(mix_plan, indent=2, sort_keys=True, ensure_ascii=False)`` (same
    object for ``json.load``), except that each shard, subset, source and planned subset is one line.

    Why: ``indent`` makes ``json`` use its pure-Python encoder, ~13 ms for the 1,320 shards and 720 subsets of a
    mix of small shards (benchmarks/results/mix.md); one line per record is encoded by the C encoder (no indent)
    in half of that, and still reads and diffs one shard per line.
    """
    return _json_layout(mix_plan, (), "") + "\n"


def _json_layout(obj: Any, where: tuple, indent: str) -> str:
    inner = indent + "  "
    if where in _RECORDS and obj:
        if isinstance(obj, dict):
            items = [f"{inner}{_JSON_LINE(k)}: {_JSON_LINE(v)}" for k, v in sorted(obj.items())]
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        return "[\n" + ",\n".join(inner + _JSON_LINE(v) for v in obj) + "\n" + indent + "]"
    if where in _OPENED and isinstance(obj, dict) and obj:
        items = [f"{inner}{_JSON_LINE(k)}: {_json_layout(v, (*where, k), inner)}" for k, v in sorted(obj.items())]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    # the small rest, as json.dumps(indent=2) writes it (JSON text holds no raw newline: re-indenting is safe)
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).replace("\n", "\n" + indent)


def verify_mix(folder: str | Path, build: str | Path, policy) -> list[dict]:
    """Re-check a mix folder against a build's sources and a licence policy; returns the violations."""
    by_name = {s.name: s for s in read_sources(build)}
    return scan_mix(Path(folder), by_name, lambda lic: policy.decide(_lic(lic)))[3]


def recheck_mix(folder: str | Path, plan: dict,
                hashes: dict[str, tuple[str, str]] | None = None) -> tuple[list[dict], dict[str, int]]:
    """(violations, rows per licence) found by reading every shard of a built mix against the policy and the
    sources its own ``mix_plan.json`` (``plan``) records, trusting no count or hash in it: what ``push`` runs before
    publishing (auditor review: rows relabelled after the build, their hashes recomputed in the plan, were pushed;
    the rows per licence are compared with the plan's, which the card's licence is derived from). ``hashes``: the
    digests the caller already verified (:func:`scan_mix`), by ``os.fspath(folder / path)`` (push hashed them once)."""
    from types import SimpleNamespace

    from ..licenses import LicensePolicy

    policy = LicensePolicy.model_validate(plan["license_check"]["policy"])
    sources = {name: SimpleNamespace(redistributable=s.get("redistributable") is True, pairs=())
               for name, s in (plan.get("sources") or {}).items() if isinstance(s, dict)}
    _shards, _achieved, lic_docs, violations = scan_mix(Path(folder), sources, lambda lic: policy.decide(_lic(lic)),
                                                        hashes)
    return violations, lic_docs


def build_mix(build: str | Path, config: MixConfig, *, log: Callable[[str], Any] = lambda _m: None,
              on_written: Callable[[Path], Any] | None = None) -> dict:
    """Materialise the mix of ``build`` into ``config.output``; returns the ``mix_plan.json`` content.

    Python's cyclic garbage collector is paused meanwhile (and restored after, error or not): the manifest, the
    plan and the per-shard bookkeeping allocate ~10^5 containers, and the full collections they trigger walk
    every object of the process (pyarrow, polars...): ~12 % of the CPU time of a mix of 1,320 small shards
    (perf). Nothing here relies on collecting cycles; they are collected once the collector resumes.
    """
    import gc

    target = Path(config.output).resolve()
    locks: list[int] = []  # the output's lock, once _build_mix has checked the output and takes it
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build_mix(build, config, log, locks, on_written)
    except KeyboardInterrupt:  # what was written of this mix goes (review: every interrupt left <out>.partial)
        if locks:
            shutil.rmtree(partial_folder(target), ignore_errors=True)
        raise
    except OSError as err:
        from ..errors import disk_full

        if not disk_full(err):
            raise
        # rv57: a traceback, exit 1 (the code of a failed licence check), and the half-written mix left filling the
        # disk; the earlier mix, if any, is untouched (the new one replaces it only once whole)
        shutil.rmtree(partial_folder(target), ignore_errors=True)
        raise MixPlanError(f"no space is left on the file system of {target}: the mix was not written (what it had "
                           "written is removed; an earlier mix there is as it was). Free space there, or give another "
                           "--output, then run `mix build` again") from None
    finally:
        if paused:
            gc.enable()
        if locks:
            from ..locks import release

            release(locks[0])


class _DeferredInterrupt:
    """While the mix's threads write, a first Ctrl-C (or SIGTERM) is taken at the next safe point (:meth:`check`,
    between two tasks handed to the pool), not wherever the main thread happens to be; a second one goes to the
    handler this replaced (Python's raises KeyboardInterrupt at once; the command's stops the program at once).

    Why: a KeyboardInterrupt raised inside an import left a module half-imported (pyarrow imports pandas on its first
    ``pa.array`` of a list), so a thread then failed on it (a traceback) or waited on its import lock for ever (a hang
    that a second Ctrl-C only moved into the pool's join): 8 of 30 interrupts (resume review). Only in the main thread
    (signal handlers can be set there only); elsewhere it does nothing."""

    def __init__(self, too_late: bool = False):
        self.pending = False
        self._previous: dict = {}  # signal -> the handler this one replaced
        self.too_late = too_late  # a signal noted in the block is ignored at its end: the work it would stop is done

    def __enter__(self) -> "_DeferredInterrupt":
        import signal
        import threading

        from .. import interrupts

        if threading.current_thread() is threading.main_thread():
            # (Python's own Ctrl-C handler, or the command's, which SIGTERM has too: interrupts.install; it was not
            # recognised, so from the command line every Ctrl-C was taken wherever it came, until 2026-11-28)
            for sig in interrupts.STOP_SIGNALS:
                if interrupts.raises(signal.getsignal(sig)):
                    self._previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum, frame) -> None:
        from .. import interrupts

        self.pending = True
        interrupts.note(signum)
        if not self.too_late:  # a second one: at once; but never in the swap (review: a second one there, between
            self._give_back()  # the two replaces, left no mix and deleted the new one)

    def _give_back(self) -> None:
        import signal

        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._note:
                signal.signal(sig, previous)

    def check(self, pool: ThreadPoolExecutor | None = None) -> None:
        if self.pending:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)  # what runs finishes; nothing queued starts
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        self._give_back()
        if exc[0] is None and not self.too_late:
            self.check()


def _lock_output(target: Path) -> int | None:
    """Hold ``.<name>.lock`` beside the mix folder while this mix writes it (the folder itself is swapped in whole at
    the end, so the lock cannot live inside it). Why: two mixes into one folder at once both wrote the same
    ``<name>.partial``; one ended with files of both, or rows lost, said "licence check passed" and exited 0, the other
    with a traceback (resume review). None where nothing can be locked (a parent that cannot be made is said by the
    mix's own checks)."""
    from ..locks import LockBusy, acquire

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return acquire(target.parent / f".{target.name}.lock", str(target))
    except LockBusy as busy:
        raise MixPlanError(f"another `lucie-data mix build` is writing {target} ({busy.holder}): wait for it to "
                           "finish, or choose another --output") from None
    except OSError as err:  # (review 49: taken for "no lock" without a word, then a traceback at the first write;
        raise _unwritable_output(target, err) from None  # a file system without flock is acquire's warning)


def _unwritable_output(target: Path, err: OSError) -> MixPlanError:
    """The mix cannot be written into ``target``: the path that refused (``err.filename``), why, and the fix."""
    where = Path(err.filename) if err.filename else target.parent
    if not os.path.lexists(where):  # a file or folder it could not create: the folder that refused it
        where = where.parent
    return MixPlanError(f"cannot write the mix into {target}: {unreadable_message(where, err, action='written')}; or "
                        "give another --output (a folder you can write)")


def publish_as_problems(publish_as: dict[str, str], sources: list[str]) -> list[tuple[str, str]]:
    """(key, why) for a source published in the folder of another source that keeps its own name: that source's
    config would hold both (review: `ocr_fr_europeana: eltec_fr` gave the `eltec_fr` config 151 OCR rows beside
    its 90)."""
    out = []
    for key, folder in sorted(publish_as.items()):
        if folder != key and folder in sources and publish_as.get(folder, folder) == folder:
            out.append((key, f"{folder} is the name of another source of the build, published under its own name: "
                             f"the config `{folder}` would hold both. Choose a folder name that is no source's (e.g. "
                             f"`{folder}-all`), or publish {folder} under it too"))
    return out


def _foreign_files(folder: Path) -> list[str]:
    """Files (and linked folders) under an earlier mix folder that its mix_plan.json does not list (nor is it, nor the
    card), sorted. A plan without a readable list of shards is an error: what the earlier mix wrote is unknown."""
    try:
        shards = json.loads((folder / PLAN_FILE).read_text(encoding="utf-8"))["shards"]
        if not isinstance(shards, list):
            raise TypeError("shards is not a list")
        listed = {s["path"] for s in shards}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:  # review: it said every shard was foreign
        raise MixPlanError(f"output {folder}: its {PLAN_FILE} cannot be read ({type(err).__name__}), so which files "
                           "that earlier mix wrote is unknown and replacing the folder could delete others. Check the "
                           "folder, delete it yourself if it holds only a mix, or choose another --output") from None
    listed |= {PLAN_FILE, "README.md"}
    out = []
    for root, dirs, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        for f in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:  # a linked folder: not ours
            p = f if rel == "." else f"{rel}/{f}".replace(os.sep, "/")
            if p not in listed:
                out.append(p)
        dirs.sort()
    return sorted(out)


def _edited_card(folder: Path) -> str | None:
    """Why an earlier mix's README.md must not be replaced: it differs from the card that mix wrote (the sha256 its
    mix_plan.json records; plans older than that record say nothing, so they are not judged). None if it may go."""
    card = folder / "README.md"
    try:
        recorded = json.loads((folder / PLAN_FILE).read_text(encoding="utf-8")).get("card_sha256")
    except (OSError, ValueError, AttributeError):
        return None  # an unreadable plan is _foreign_files' error
    if not isinstance(recorded, str) or not card.is_file() or _sha256(card) == recorded:
        return None
    return (f"output {folder}: its README.md was edited since `lucie-data mix build` wrote it (sha256 "
            f"{recorded[:12]}… then, {_sha256(card)[:12]}… now); building the mix writes a new card, so the edits would "
            "be lost. Copy README.md out of the folder (to merge your edits into the new card), then delete it there "
            "and rerun; or choose another --output")


def _edited_recipes(manifest: dict, sources: dict[str, SourceInfo],
                    pipeline: Path | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(source, where) of the built sources whose recipe is no longer the one built, and (source, file) of those
    that cannot be judged (second).

    Built recipe = the recipe file's sha256 and the resolved recipe's hash the manifest recorded. A recipe file that
    changed is a change. When the build's pipeline file changed (``presets:``, ``defaults:``) or a recipe file is gone
    (renamed: review, ``pud_en.yaml`` moved to ``pud_en_v2.yaml`` with another licence), the build's pipeline is
    resolved again and every source's resolved recipe compared (review: a licence set through a preset and edited
    after the build was published as built). A ``pipeline`` given for the mix settings (``--pipeline``) that resolves
    these sources is compared too (review: a copy with the edited preset passed). A source its pipeline no longer
    has, or whose pipeline is gone, cannot be judged."""
    out, gone = [], []
    want = {s.get("name"): s for s in manifest.get("sources") or [] if isinstance(s, dict)}
    got: dict[str, str | None] = {}  # a recipe file shared by sources (a benchmark's replicas) is hashed once
    missing = []
    for name, s in want.items():
        f, sha = s.get("recipe_file"), s.get("recipe_sha256")
        if name not in sources or not isinstance(f, str) or not isinstance(sha, str):
            continue
        if f not in got:
            got[f] = _sha256(f) if os.path.isfile(f) else None
        if got[f] is None:
            missing.append((name, f))
        elif got[f] != sha:
            out.append((name, f))
    recorded = manifest.get("pipeline") or {}
    rfile = recorded.get("file") if isinstance(recorded.get("file"), str) else None
    to_resolve: list[tuple[Path, bool]] = []  # (pipeline, must load)
    if rfile and os.path.isfile(rfile) and (missing or (isinstance(recorded.get("sha256"), str)
                                                        and _sha256(rfile) != recorded["sha256"])):
        to_resolve.append((Path(rfile), True))
    if pipeline is not None and pipeline.is_file() and (not rfile or os.path.realpath(pipeline) != os.path.realpath(rfile)):
        to_resolve.append((pipeline, False))  # a settings file may not resolve these sources: then not judged by it
    judged: set[str] = set()
    for pfile, must in to_resolve:
        from ..errors import RecipeError
        from ..recipe import load_pipeline

        try:
            loaded = load_pipeline(pfile)
        except RecipeError as err:
            if must:
                raise MixPlanError(f"the build's pipeline {pfile} no longer loads, so what its sources are now cannot "
                                   f"be compared with what was built ({err}); fix it, rerun `lucie-data build`, "
                                   "then mix") from None
            continue
        for src in loaded.sources:
            rec = want.get(src.name) or {}
            if src.name in sources and isinstance(rec.get("resolved_recipe_sha256"), str):
                judged.add(src.name)
                if src.recipe_hash() != rec["resolved_recipe_sha256"] and src.name not in {n for n, _ in out}:
                    out.append((src.name, f"{src.file}, as {pfile.name} resolves it"))
    gone = [(n, f) for n, f in missing if n not in judged]
    return out, gone


def _stale_problem(stale: list[tuple[str, str]]) -> str | None:
    """Why recipes edited since the build stop the mix, or None (review: a recipe's licence changed to CC-BY-NC-4.0
    after the build; the mix published CC-BY-SA-3.0)."""
    if not stale:
        return None
    return ("recipe(s) edited since the build: " + ", ".join(f"{n} ({f})" for n, f in stale[:5])
            + (f" and {len(stale) - 5} more" if len(stale) > 5 else "") + "; the build's documents carry what the "
            "recipe said when they were built (licence, languages, redistributable), so mixing them now could publish "
            "them under what the recipe no longer says. Rerun `lucie-data build` with the same pipeline and --output "
            "(it rebuilds what changed and records the recipes as they are), then mix")


def _unverified_problem(mdata: dict, by_name: dict[str, SourceInfo], config: MixConfig) -> str | None:
    """Why a policy denying unverified licences stops the mix of a build made without it, or None: the shards cannot
    say which documents only got the recipe's licence (their evidence is per row, the mix decides per licence), so
    only the build's gate can remove them. Each source counts under the policy its shards were built under (a later
    `build --only` of others keeps it: third review, a switch to `unverified: deny` then --only published the
    unverified documents of the sources left out)."""
    top_policy = mdata.get("license_policy") or {}
    built_under = [(s.get("license_policy") if "license_policy" in s else top_policy) or {}
                   for s in mdata.get("sources") or [] if isinstance(s, dict) and s.get("name") in by_name]
    built_policy = next((p for p in built_under if p.get("unverified", "allow") != "deny"), top_policy)
    if getattr(config.policy, "unverified", "allow") != "deny" or built_policy.get("unverified", "allow") == "deny":
        return None
    return (f"the licence policy ({config.policy_origin}) says `unverified: deny`, but the build was made without it: "
            "documents whose own licence was missing (license_evidence "
            f"{', '.join(sorted(UNVERIFIED_EVIDENCE))}) are in its shards under the recipe's licence. Rerun "
            "`lucie-data build` with this policy (it rebuilds the sources: the policy is part of the build key), then mix")


def mix_refusals(build: str | Path, config: MixConfig) -> list[str]:
    """What would make `mix build` refuse this build beyond what the manifest lists (lost and failed sources): a
    recipe edited since the build, a policy denying unverified licences the build did not apply, a no-derivatives
    licence allowed only unmodified in a source whose build did not gate modified documents. `mix plan --build`
    says them (rv54, rv55: it showed a normal plan, exit 0, for a build `mix build` refuses)."""
    build = Path(build)
    manifest_file = _ManifestFile.read(build / "manifest.json")
    sources = read_sources(build, manifest=manifest_file)
    by_name = {s.name: s for s in sources}
    mdata = manifest_file.data if manifest_file else {}
    stale, _gone = _edited_recipes(mdata, by_name, config.pipeline_file)
    problems = [p for p in (_stale_problem(stale), _unverified_problem(mdata, by_name, config)) if p]
    if problems:  # (mix build stops at the first of them, before it counts the shards)
        return problems

    keep = PolicyDecisions(config.policy).keep
    _entries, described = _described_shards(build, sources, manifest_file)
    _counts, _excluded, per_shard, _flagged = _count_subsets(
        sources, keep, {p: e[3] for p, e in described.items() if e[3] is not None})
    nd = _no_derivatives_problem(sources, per_shard, keep, config.policy, mdata, config.policy_origin)
    return [nd] if nd else []


def _build_mix(build: str | Path, config: MixConfig, log: Callable[[str], Any], locks: list[int],
               on_written: Callable[[Path], Any] | None = None) -> dict:
    from . import card as card_mod

    build = Path(build)
    from ..locks import holder

    writing = holder(build / ".lock")
    if writing:  # (kill/resume review, for `report`: its shards, ledgers and manifest are still changing)
        raise MixPlanError(f"a lucie-data build is writing {build} right now ({writing}): build the mix when it has "
                           "finished")
    target = Path(config.output).resolve()
    from ..errors import InputError
    from ..recipe import require_utf8_path

    try:
        require_utf8_path(target, "mix folder")
    except InputError as err:
        raise MixPlanError(str(err)) from None
    # a file where a folder of the output path should be: say so, rather than fail creating the folder later
    blocker = next((a for a in target.parents if a.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise MixPlanError(f"output {target}: {blocker} is a file, not a folder, so the mix cannot be written under "
                           "it; choose another --output (or mix.output in the pipeline), or move that file away")
    # a mix written inside another mix folder becomes files that mix does not list: its push and its next build are
    # both refused then (review)
    inside = next((a for a in target.parents if (a / PLAN_FILE).is_file()), None)
    if inside is not None:
        raise MixPlanError(f"output {target} is inside the mix folder {inside}, whose push and rebuild would then "
                           "refuse these files (its mix_plan.json does not list them); choose an --output outside it")
    # rv58: a mix in a build's sources/<source>/ was deleted without a word when that source was rebuilt (a source
    # folder is replaced whole); BUILD/mix, the default, is the build folder's own place for it
    resolved_build = build.resolve()
    from ..buildfiles import is_build_manifest
    from ..runner import PIPELINE_MARKER

    builds = [a for a in target.parents if a.name == "sources" and (
        (a.parent / PIPELINE_MARKER).is_file() or is_build_manifest(a.parent / "manifest.json"))]
    if builds or target == resolved_build / "sources":
        where = builds[0] if builds else target
        raise MixPlanError(f"output {target} is inside {where}, the build's source folders, which a rebuild replaces "
                           f"whole: choose an --output outside it ({resolved_build / 'mix'} is the default)")
    # the output is replaced at the end: only ever replace an earlier mix, never someone's other files
    if target.exists() and not (target.is_dir() and ((target / PLAN_FILE).is_file() or not any(target.iterdir()))):
        raise MixPlanError(f"output {target} exists and is not a mix folder (no {PLAN_FILE}); "
                           "choose another --output or remove it yourself")
    if target.is_dir() and (target / PLAN_FILE).is_file():
        foreign = _foreign_files(target)
        edited = _edited_card(target)
        if edited:  # review: a rebuild overwrote the card a trainer had completed by hand before pushing it
            raise MixPlanError(edited)
        if foreign:  # review: a rerun deleted the .git, notes and eval results a user had put in the mix folder
            raise MixPlanError(
                f"output {target} holds files the earlier mix did not write ({', '.join(foreign[:5])}"
                f"{f' and {len(foreign) - 5} more' if len(foreign) > 5 else ''}); building the mix replaces the whole "
                "folder, so they would be deleted. Move them out of it, or choose another --output")
    root = build.resolve()  # once: each resolve() is an lstat per path component
    if target == root or target.parent == root / "sources":  # (a parent of root/sources has root among its parents)
        raise MixPlanError(f"output {target} would overwrite the build itself; use BUILD/mix (the default)")
    manifest_file = _ManifestFile.read(build / "manifest.json")
    sources = read_sources(build, manifest=manifest_file)
    by_name = {s.name: s for s in sources}
    mdata = manifest_file.data if manifest_file else {}
    stale, gone = _edited_recipes(mdata, by_name, config.pipeline_file)
    lost = [n for n in mdata.get("lost_sources") or [] if isinstance(n, str)]
    pfile = (mdata.get("pipeline") or {}).get("file") or "PIPELINE.yaml"
    if lost:  # review: a source folder deleted, then a `build --only` of another: it left the mix unsaid
        raise MixPlanError(f"source(s) {', '.join(lost)} of the build's pipeline were built once but their build is "
                           "gone (a folder deleted, or a rebuild interrupted; the last build ran with --only): their documents would be "
                           f"left out of the mix. Build them again: `lucie-data build {pfile} --output {build}` "
                           "(without --only), or remove them from the pipeline, then mix")
    failed = [f for f in mdata.get("failed_sources") or [] if isinstance(f, dict) and isinstance(f.get("name"), str)]
    if failed:  # the last build could not build them (it built the others): their documents would be missing
        raise MixPlanError(f"source(s) {', '.join(f['name'] for f in failed)} failed in the last build ("
                           + "; ".join(str(f.get("error"))[:1000] for f in failed) + "): their documents would be left "
                           f"out of the mix. Fix them and build again (`lucie-data build {pfile} --output {build}`), "
                           "or remove them from the pipeline, then mix")
    counters: dict[tuple, list[str]] = {}  # (tokenizer name, its sha256) -> sources whose n_tokens it counted
    for e in mdata.get("sources") or []:
        tc = e.get("token_counter") if isinstance(e, dict) else None
        if isinstance(tc, dict) and e.get("name") in by_name:
            counters.setdefault((tc.get("name"), tc.get("sha256")), []).append(e["name"])
    if len(counters) > 1:  # engineer review: a Hub tokenizer's main moved between a build and a later --only run
        log("warning: the sources' token counts come from different tokenizers ("
            + "; ".join(f"{name}{' sha256 ' + str(sha)[:12] if sha else ''}: {', '.join(srcs)}"
                        for (name, sha), srcs in sorted(counters.items(), key=lambda kv: str(kv[0])))
            + "): the plan adds them up as one count. Rebuild without --only so that one tokenizer counts them all "
              f"(`lucie-data build {pfile} --output {build}`), or pin the tokenizer (`ORG/NAME@REVISION`)")
    unbuilt = [n for n in mdata.get("unbuilt_sources") or [] if isinstance(n, str)]
    if unbuilt:  # a partial build on purpose (--only from the start): said, not refused
        log(f"warning: source(s) {', '.join(unbuilt)} of the build's pipeline were never built (the builds ran with "
            f"--only): the mix holds the other sources only; `lucie-data build {pfile} --output {build}` builds them")
    behind = sorted(s.get("name") for s in mdata.get("sources") or []
                    if isinstance(s, dict) and s.get("out_of_date") and s.get("name") in by_name)
    if behind:
        log(f"warning: {', '.join(behind)}: left out of the last build (--only) though out of date with its pipeline; "
            "mixed as an earlier run built them (rerun `lucie-data build` without --only to rebuild them)")
    if gone:  # review: a recipe deleted since the build was mixed without a word
        log("warning: recipe file(s) not found, so not compared with what was built: "
            + ", ".join(f"{n} ({f})" for n, f in gone[:5]) + (" …" if len(gone) > 5 else "")
            + "; their sources are mixed as they were built")
    refused = _stale_problem(stale) or _unverified_problem(mdata, by_name, config)
    if refused:
        raise MixPlanError(refused)
    policy = config.policy
    decisions = PolicyDecisions(policy)
    decide, keep = decisions.decide, decisions.keep

    # 1. measure and plan on what may enter: from the build manifest's per-shard summaries where the manifest
    # still describes the shard (same size, not modified since), else by scanning the shard's small columns
    entries, described = _described_shards(build, sources, manifest_file)
    counts, excluded, per_shard, flagged_in = _count_subsets(
        sources, keep, {p: e[3] for p, e in described.items() if e[3] is not None})
    _check_no_derivatives_gated(sources, per_shard, keep, policy, mdata, config.policy_origin)
    for note in excluded_notes(excluded):
        log(note)
    stats = [c.to_stats() for c in counts]
    if not stats:
        private = sorted(s.name for s in sources if not s.redistributable)
        why = (f"{', '.join(private)} {'is' if len(private) == 1 else 'are'} marked `redistributable: false` and the "
               "other sources' documents are not allowed by the licence policy" if private else
               "the licence policy allows none of its documents' licences")
        raise MixPlanError(f"no document of {build} may enter the mix: {why} ({config.policy_origin}); nothing to "
                           "build")
    if config.targets is not None:
        weights, plan = solve_factors(stats, config.targets, config.max_epochs, base_weights=config.weights)
    else:
        weights = config.weights
        plan = plan_mix(stats, weights)
    epochs = {sp.subset: sp.epochs for sp in plan.subsets}
    for w in plan.warnings:
        log(f"warning: {w}")
    if plan.targets and not plan.targets["feasible"]:  # review: only mix_plan.json said so
        missed = ", ".join(f"{lang} {row['achieved'] * 100:.2f} % (target {row['target'] * 100:.2f} %)"
                           for lang, row in plan.targets["languages"].items()
                           if abs(row["achieved"] - row["target"]) > 1e-9)
        log(f"warning: the target shares cannot be met with at most {plan.targets['max_epochs']:g} epochs per "
            f"subset; closest plan: {missed}." + ("" if plan.targets.get("reason") else  # (the reason is logged above)
                                                   " Raise `max_epochs`, or lower those targets"))
    for key, why in publish_as_problems(config.publish_as, list(by_name)):
        raise MixPlanError(f"mix.publish_as: {key}: {why}")
    for key in sorted(set(config.publish_as) - set(by_name)):
        log(f"warning: mix.publish_as names {key!r}, which is not a source of {build}: nothing is published under "
            f"{config.publish_as[key]!r} for it")
    dup_ids = {s.name: s.duplicate_ids for s in sources if s.duplicate_ids and s.redistributable}
    if dup_ids:  # third review: a suffix mix claimed unique ids over a build whose ids repeat across input files
        log("warning: ids are not unique in " + ", ".join(f"{k} ({v:,} documents share an id)" for k, v in dup_ids.items())
            + ": the mix's ids are not either (set the recipe's `id_field` to a unique field, or `id_field: null` "
              "for ids made of the input file and record)")
    log(f"planned {len(plan.subsets)} subset(s), {format_tokens(plan.total_tokens)} tokens -> "
        f"{format_tokens(plan.total_tokens_seen)} seen")

    if config.repeat_ids == "suffix":
        clash = _suffix_collisions(sources, described, keep, epochs, config.seed)
        if clash:
            src_name, base, k, other = clash[0]
            raise MixPlanError(
                f"repeat_ids: suffix would give copy {k} of {base!r} the id {other!r}, which is the id of another "
                f"document of {src_name} ({len(clash):,} such clash(es)): the mix's ids would not be unique. Use "
                "`repeat_ids: keep` (--repeat-ids keep), or give the source ids that do not end in #<number> "
                "(its recipe's `id_field`)")

    # 2. write next to the final folder, swap at the end; the output is locked from here (not before its checks:
    # a refused mix left a lock file, and the folders above it, where it was refused; review)
    out = Path(config.output).resolve()
    lock = _lock_output(out)
    if lock is not None:
        locks.append(lock)
    stranded = _set_aside_folder(out)
    if not out.exists() and stranded.is_dir() and (stranded / PLAN_FILE).is_file():
        # a run killed between its two renames left the earlier mix here, and no mix in `out` (rv61: hidden until a
        # later run deleted it): back in its place first, so that a mix failing now leaves it as it was
        os.replace(stranded, out)
        log(f"{out}: the earlier mix, set aside by a mix build stopped while replacing it, is back in its place")
    tmp = partial_folder(out)
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    except OSError as err:
        raise _unwritable_output(out, err) from None
    schema = in_schema = _mix_schema()
    writers: dict[tuple[str, str, str], _BucketWriter] = {}
    # (digest name, hex) by path; every path of the mix is a string here (os.fspath), not a Path (cheaper)
    hashes: dict[str, tuple[str, str]] = {}
    src_of = {shard: src for src in sources if src.redistributable for shard in src.shard_paths}
    shard_paths = list(src_of)

    def whole_copy(shard: str) -> tuple[str, str, str] | None:
        """The output folder a build shard is copied to byte for byte as the first copy of its rows, or None.

        Only when the output rows are exactly its rows: all allowed, one output folder, epochs >= 1, the
        kept schema, at most ``max_rows_per_shard`` rows (decided from the counting pass, no new read).
        """
        rows, groups = per_shard[shard]
        src = src_of[shard]
        if shard in flagged_in:  # some of its documents are left out: re-encoded without them
            return None
        if not rows or rows > config.max_rows_per_shard or any(keep(src, lic) is not None for _, lic, _, _ in groups):
            return None
        where = {folder_of(src.name, lang) for lang, _, _, _ in groups}
        if len(where) != 1:
            return None
        bucket, sub = where.pop()
        return bucket if epochs[sub] >= 1 else None

    folder_memo: dict[tuple[str, str | None], tuple[tuple[str, str, str], str]] = {}

    def folder_of(name: str, lang: str | None) -> tuple[tuple[str, str, str], str]:
        """(output folder, subset) of a source's documents in a language, once per pair."""
        got = folder_memo.get((name, lang))
        if got is None:
            pairs = by_name[name].pairs
            got = folder_memo[(name, lang)] = (_bucket_of(name, lang, pairs),
                                               subset_name(name, mix_language(lang, pairs)))
        return got

    copied = {shard: whole_copy(shard) for shard in shard_paths}
    schema_fp = schema_fingerprint(schema)
    trusted: dict[str, tuple[int, dict]] = {}  # byte copies of described shards: not read back (scan_mix)

    keep_ids = config.repeat_ids == "keep"

    def shard_epochs(shard: str) -> float:
        """Epochs of a shard copied whole (its rows are one subset)."""
        src = src_of[shard]
        return epochs[subset_name(src.name, mix_language(per_shard[shard][1][0][0], src.pairs))]

    def byte_copies_and_rows(shard: str) -> tuple[int, bool]:
        """How many copies of a build shard are made from its bytes: 0 (re-encoded) or every whole epoch (the
        first copy, then its repeats: byte copies with ``repeat_ids: keep``, spliced with ``suffix``); and
        whether any other row comes from this shard (a fraction, filtering), to be read and re-encoded."""
        if copied[shard] is None:
            return 0, True
        e = shard_epochs(shard)
        n = math.floor(e)
        return n, e > n

    plan_of = {shard: byte_copies_and_rows(shard) for shard in shard_paths}  # once per shard
    # Two threads: pyarrow decodes and encodes without the GIL (and byte copies, batched, and the folders they
    # need are made there, off the main thread), so reading the next input shard and
    # encoding finished output shards overlap the Python bookkeeping. Each output file's content is fixed
    # before it is handed over, so bytes do not depend on timing. Both queues are bounded (memory).
    folders = _Folders()
    data_dir = os.fspath(tmp / "data")
    with _DeferredInterrupt() as interrupt, ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        writes: deque = deque()  # (future, bytes of the rows it writes)
        held = [0]  # bytes of the rows the writes in that queue hold
        copy_jobs: list[tuple] = []  # byte copies not yet handed to the pool (batched: _copy_shards)
        copy_bytes = [0]  # bytes those copies will write (a shard the manifest does not describe counts as a batch)

        def wait_oldest() -> None:
            done, n = writes.popleft()
            done.result()
            held[0] -= n

        def submit(fn, *args, nbytes: int = 0) -> None:
            interrupt.check(pool)
            while writes and held[0] + nbytes > MIX_FILE_BYTES:  # (one file of large rows encoded at a time)
                wait_oldest()
            writes.append((pool.submit(fn, *args), nbytes))
            held[0] += nbytes
            while len(writes) > 4:
                wait_oldest()

        def write(table, path: str) -> None:
            submit(_write_shard, table, path, hashes, folders.ensure, nbytes=table.nbytes)

        def flush_copies() -> None:
            if copy_jobs:
                submit(_copy_shards, list(copy_jobs))
                copy_jobs.clear()
                copy_bytes[0] = 0

        def prefetched():
            return _read_ahead(shard_paths, lambda shard: plan_of[shard][1], lambda shard: _file_size(shard, described),
                               lambda shard: pool.submit(_read, shard), lambda: interrupt.check(pool))

        def writer(bucket: tuple[str, str, str]) -> _BucketWriter:
            w = writers.get(bucket)
            if w is None:
                kind, lang_dir, name = bucket
                # = tmp/data/kind/lang_dir/<name, or the name it is published under>; the files keep the source's
                # name (<name>--<lang>--NNN), so sources sharing a folder never share a file and each has a glob
                folder = os.path.join(data_dir, kind, lang_dir, config.publish_as.get(name, name))
                w = writers[bucket] = _BucketWriter(folder, f"{name}--{lang_dir}", config.max_rows_per_shard, schema,
                                                    write)
            return w

        def select(shard: str, src: SourceInfo, table) -> None:
            """Hand a shard's rows to its folders' writers: copies 1..n as byte copies when it is copied whole, and
            the rows of the other copies (a fraction, filtering) re-encoded."""
            first = 1
            n_bytes = plan_of[shard][0]
            if table is not None:  # rows to select and encode here: let the copies batched so far run meanwhile
                flush_copies()
            if n_bytes:  # copy 1 (and, keeping ids, copies 2..n) = the shard's own bytes
                dst = writer(copied[shard]).reserve()
                repeats = [f"{dst[:-len('.parquet')]}_e{k}.parquet" for k in range(2, n_bytes + 1)]
                copy_jobs.append((shard, dst, hashes, schema, schema_fp, entries.get(shard), shard in described,
                                  trusted, repeats, folders.ensure, not keep_ids))
                copy_bytes[0] += n_bytes * (described[shard][0] if shard in described else _COPY_BATCH_BYTES)
                if len(copy_jobs) >= _COPY_BATCH or copy_bytes[0] >= _COPY_BATCH_BYTES:
                    flush_copies()
                if table is None:
                    return
                first = n_bytes + 1
            if table.num_rows == 0:
                return
            # imported here, not on entry: a mix of byte copies only never needs them (~0.2 s of a cold
            # `lucie-data mix build`, more than the whole mix of a small build)
            import numpy as np
            import pyarrow as pa
            import pyarrow.compute as pc

            table = table.select(in_schema.names)
            if not table.schema.equals(in_schema, check_metadata=True):
                table = table.cast(in_schema)
            # decisions per distinct licence / language, spread over rows by index
            lic_values, lic_idx = _codes(table.column("license"))
            allowed = np.array([keep(src, lic) is None for lic in lic_values], dtype=bool)[lic_idx]
            if shard in flagged_in:  # flagged documents never enter (counted as excluded by _count_subsets)
                allowed &= np.array([w is None for w in _flag_reasons(table.column("metadata"))], dtype=bool)
            lang_values, lang_idx = _codes(table.column("language"))
            subset_names = [subset_name(src.name, mix_language(lang, src.pairs)) for lang in lang_values]
            bucket_names = [_bucket_of(src.name, lang, src.pairs) for lang in lang_values]
            copies = np.zeros(table.num_rows, dtype=np.int64)
            ids = None
            for sub in sorted(set(subset_names)):
                codes = [i for i, s_ in enumerate(subset_names) if s_ == sub]
                rows = np.nonzero(np.isin(lang_idx, codes) & allowed)[0]
                if len(rows):
                    e = epochs[sub]
                    if e != math.floor(e):  # only fractional epochs need the ids (hash draw)
                        if ids is None:
                            ids = table.column("id")
                        copies[rows] = _copies(ids.take(pa.array(rows)).to_pylist(), e, config.seed)
                    else:
                        copies[rows] = math.floor(e)
            max_copies = int(copies.max(initial=0))
            for bucket in sorted(set(bucket_names)):
                in_bucket = np.isin(lang_idx, [i for i, b_ in enumerate(bucket_names) if b_ == bucket])
                w = writer(bucket)
                for k in range(first, max_copies + 1):
                    idx = np.nonzero(in_bucket & (copies >= k))[0]
                    if not len(idx):
                        continue
                    for part in _take(table, idx):
                        if k > 1 and not keep_ids:
                            part = part.set_column(0, "id", pc.binary_join_element_wise(
                                part.column("id"), pa.scalar(f"#{k}"), ""))
                        w.add(part)

        done_with = None  # the source whose shards come before: its folders get no more rows
        for shard, table in prefetched():
            src = src_of[shard]
            if done_with is not src:
                # the shards come source by source and a folder holds one source's files: the last, shorter file
                # of each of its folders is written now, not at the end (every source's last rows were held until
                # then: scale review), the same file under the same name
                if done_with is not None:
                    for key in sorted(k for k in writers if k[2] == done_with.name):
                        writers[key].close()
                done_with = src
            select(shard, src, table)
            table = None  # (not held while the next shard is read)
        flush_copies()
        for key in sorted(writers):
            writers[key].close()
        while writes:
            writes.popleft()[0].result()
    # (a folder every row of which was left out, a 0-epoch subset's, is not made: trainer review, an empty
    # data/natural/de/web_cc/ that no config names)

    # 3. verify on the written shards, not from the plan
    lic_of_source: dict[str, dict[str, int]] = {}
    unverified_rows: dict[str, int] = {}
    shards, achieved, lic_docs, violations = scan_mix(tmp, by_name, decide, hashes, trusted, lic_of_source,
                                                      unverified_rows)
    if not any(s["rows"] for s in shards):  # review: factors of 1e-9 wrote an empty "mix" and said it passed
        shutil.rmtree(tmp)
        raise MixPlanError(f"the mix would hold no document: with these epochs ({', '.join(f'{k} {v:g}' for k, v in sorted(epochs.items()))}) "
                           "the fractional draw selected none of the documents that may enter; raise the factors")
    for sub, e in sorted(epochs.items()):
        if not achieved.get(sub, {}).get("docs"):
            log(f"warning: subset {sub} (epochs {e:g}) has no document in the mix: its fraction selected none")

    excluded_sources = {}
    for src in sources:
        if not src.redistributable:
            docs = sum(v["docs"] for v in excluded.get(src.name, {}).values())
            tokens = sum(v["tokens"] for v in excluded.get(src.name, {}).values())
            excluded_sources[src.name] = {"reason": "not_redistributable", "docs": docs, "tokens": tokens}
    excluded_docs = {s: v for s, v in excluded.items() if by_name[s].redistributable}

    subsets_out = {}
    count_of = {c.subset: c for c in counts}
    for sp in plan.subsets:
        a = achieved.get(sp.subset, {"docs": 0, "tokens": 0})
        c = count_of[sp.subset]
        subsets_out[sp.subset] = {
            "source": c.source, "language": sp.language, "category": sp.category, "epochs": sp.epochs,
            "docs": c.docs, "tokens": sp.tokens, "tokens_seen_planned": sp.tokens_seen,
            "docs_achieved": a["docs"], "tokens_achieved": a["tokens"],
            "code_languages": dict(sorted(c.code_languages.items())) if c.code_languages else None,
        }
    mix_plan = {
        "format": 1,
        "name": config.pipeline_name or build.name,
        "seed": config.seed,
        "repeat_ids": config.repeat_ids,
        # what counted the tokens of the plan and the card: a trainer reads "tokens" as their tokenizer's unless told
        # (trainer review); per source, as the manifest records it (a `build --only` after a tokenizer change leaves
        # sources counted by another: code review), one entry when they agree
        **_token_counters(mdata, [s.name for s in sources if s.name in lic_of_source]),
        "id_scheme": ID_SCHEMES[config.repeat_ids],
        # the build's own ids are not unique in these sources (two documents, one id): no mode makes them unique
        **({"duplicate_ids": dup_ids} if dup_ids else {}),
        "build": {"manifest_sha256": manifest_file.sha256 if manifest_file else None},
        "weights": json.loads(weights.model_dump_json()),
        "plan": plan.to_dict(),
        "subsets": subsets_out,
        "totals": {"docs": sum(s["rows"] for s in shards), "tokens": sum(a["tokens"] for a in achieved.values())},
        "licenses": dict(sorted(lic_docs.items())),
        "shards": shards,
        "sources": {s.name: {"category": s.category, "license": s.license, "redistributable": s.redistributable,
                             "provenance": s.provenance, "description": s.description,
                             **({"published_as": config.publish_as[s.name]} if s.name in config.publish_as else {}),
                             **({"modified": {"docs": s.docs_modified, "by_stage": s.modified_by}}
                                if s.modified_by is not None else {}),
                             "licenses": dict(sorted(lic_of_source.get(s.name, {}).items()))} for s in sources},
        "license_check": {
            "passed": not violations,
            "policy": json.loads(policy.model_dump_json()),
            "policy_origin": config.policy_origin,
            "violations": violations,
            "excluded": {"sources": excluded_sources, "documents": excluded_docs},
            # rows whose licence is their recipe's for want of their own, let in by `unverified: allow` (the card
            # says how many: they were in the mix without a word; auditor review)
            **({"unverified_rows": dict(sorted(unverified_rows.items()))} if unverified_rows else {}),
        },
    }
    card = card_mod.render_card(mix_plan).encode("utf-8")
    # recorded so that a rebuild can tell the card it wrote from one a user edited since (see _edited_card)
    mix_plan["card_sha256"] = hashlib.sha256(card).hexdigest()
    (tmp / PLAN_FILE).write_text(plan_json(mix_plan), encoding="utf-8")
    (tmp / "README.md").write_bytes(card)

    # the folder swap: not cut by a Ctrl-C, which would leave the new mix in place while the CLI says it was not
    # written, or no mix at all between the two replaces (review); one arriving now is too late and is ignored
    with _DeferredInterrupt(too_late=True):
        result = _swap_in(tmp, out, violations, shards, mix_plan, log)
        if on_written is not None and not violations:  # (in the block: a signal cannot fall between the two)
            on_written(out)  # the caller learns the new mix is in place (code review: a SIGTERM just after the swap
        return result  # was answered "the mix was not written")


def partial_folder(out: Path) -> Path:
    """Where a mix is written before it takes ``out``'s place. A hidden name of lucie-data's own, which a rerun may
    delete: `<out>.partial` and `<out>.old` were deleted too, and a user's `mv mymix mymix.old` (the previous release
    kept aside) went with the next mix build (rv58)."""
    return out.with_name(f".{out.name}.mix-partial")


def _set_aside_folder(out: Path) -> Path:
    """Where the earlier mix waits while the new one takes ``out``'s place (hidden, lucie-data's own: rv58)."""
    return out.with_name(f".{out.name}.mix-old")


def _swap_in(tmp: Path, out: Path, violations: list, shards: list, mix_plan: dict, log: Callable[[str], Any]) -> dict:
    """Put the written mix ``tmp`` in ``out``'s place (the earlier one deleted after), or aside as ``<out>.rejected``
    when its licence check failed."""
    if violations:  # review: the failed mix took the output's place, its forbidden rows loadable from the folder
        rejected = out.with_name(out.name + ".rejected")
        if rejected.exists():
            if not (rejected / PLAN_FILE).is_file():
                shutil.rmtree(tmp)
                raise MixPlanError(f"the licence check failed ({len(violations)} violation(s)) and the rejected mix "
                                   f"cannot be kept for inspection: {rejected} exists and is not an earlier rejected "
                                   "mix. Move it away and rerun")
            shutil.rmtree(rejected)
        os.replace(tmp, rejected)
        log(f"licence check FAILED: {len(violations)} violation(s); {out} was left as it was, the rejected mix is "
            f"in {rejected} for inspection (its mix_plan.json lists the violations; `lucie-data push` refuses it)")
        return mix_plan
    rejected = out.with_name(out.name + ".rejected")
    if rejected.is_dir() and (rejected / PLAN_FILE).is_file():  # an earlier failed attempt: this one passed
        shutil.rmtree(rejected)
    old = _set_aside_folder(out)
    if out.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old)
    else:
        os.replace(tmp, out)
        if old.is_dir() and (old / PLAN_FILE).is_file():  # left by a run killed between the two replaces
            shutil.rmtree(old)
    log(f"wrote {len(shards)} shard(s), {mix_plan['totals']['docs']:,} rows to {out}; "
        f"licence check {'passed' if not violations else 'FAILED'}")
    return mix_plan
