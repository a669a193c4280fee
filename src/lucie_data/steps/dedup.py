"""Exact and MinHash deduplication within a source, across all of its tasks.

Two halves around a barrier: a signature step (``ExactSignature``, ``MinhashSignature``) stores the document's
signature in ``_sig`` and how the licence gates after the dedup will treat it in ``_gate`` (:class:`GateRank`); the
plan keeps, of each group of copies, the first in input order (:data:`INPUT_ORDER`) among the best ranked, whatever
the number of tasks; then ``PlannedRemoval`` drops the rows the plan names, recording ``duplicate_of``.
"""
from __future__ import annotations

import os
import unicodedata

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from ..fastpath import compiled
from .base import LucieFilter


def collapse_spaces_py(text: str) -> str:
    return " ".join(text.split())  # = re.sub(r"\s+", " ", …).strip(), 2.5x faster


# the same without the list of words when the compiled module is there (~10x faster; tests compare both)
collapse_spaces = getattr(compiled(), "collapse_spaces", collapse_spaces_py)


def exact_key(text: str, lowercase: bool = False, collapse_whitespace: bool = True) -> str:
    """The text as compared: NFC, whitespace runs collapsed and trimmed unless told not to, lower-cased if asked."""
    t = unicodedata.normalize("NFC", text)
    t = collapse_spaces(t) if collapse_whitespace else t
    return t.lower() if lowercase else t


class ExactSignature(PipelineStep):
    name = "#️⃣ Exact signature"
    type = "🫂 - DEDUP"
    _requires_dependencies = ["xxhash"]

    def __init__(self, lowercase: bool = False, gates: tuple[dict, ...] | list[dict] = (),
                 collapse_whitespace: bool | None = True):
        """``collapse_whitespace`` None: collapsed for prose, kept for a ``code*`` document (a mixed source)."""
        super().__init__()
        self.lowercase = lowercase
        self.gates = list(gates)
        self.collapse_whitespace = collapse_whitespace

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import xxhash

        gate_rank = GateRank(self.gates)
        for doc in data:
            with self.track_time():  # (scale review: the signature steps reported no time in stats.json)
                collapse = self.collapse_whitespace
                if collapse is None:
                    lang = doc.metadata.get("language")
                    collapse = not (isinstance(lang, str) and lang.startswith("code"))
                doc.metadata["_sig"] = xxhash.xxh3_128_hexdigest(exact_key(doc.text, self.lowercase,
                                                                              collapse).encode("utf-8"))
                doc.metadata["_gate"] = gate_rank(doc.metadata)
            yield doc


# The order in which "the first copy" is meant: the input file (its path as lineage records it), the record's position
# in it. Not the task's: with records striped over tasks, or files dealt out to them, which copy survived changed with
# `tasks` (dedup review: an NFD copy 40 lines after the NFC original was kept with tasks 3). (rank, pos) only breaks
# the ties lineage leaves: the parts of one split record, which one task wrote in their order.
INPUT_ORDER = ["in_file", "in_record", "rank", "pos"]


def _handoff_rows(work_folder: str) -> list:
    """One polars frame (id, sig, gate, in_file, in_record, rank, pos) per task's hand-off file of a barrier, in rank
    order: ``pos`` is the row's index in its file, which ``PlannedRemoval`` matches against the ``_pos`` the next
    segment's reader adds; ``gate`` is :class:`GateRank`'s (0 without a gate); ``in_file`` and ``in_record`` where
    the document was read (:data:`INPUT_ORDER`)."""
    import polars as pl

    frames = []
    for rank, path in _handoff_files(work_folder).items():
        # (every hand-off file has these columns: one written by an older version is never resumed, runner.WORK_FORMAT)
        df = pl.read_parquet(path, columns=["id", "sig", "gate", "in_file", "in_record"], glob=False)
        frames.append(df.with_columns(pl.lit(rank, pl.Int64).alias("rank"),
                                      pl.int_range(pl.len(), dtype=pl.Int64).alias("pos"),
                                      pl.col("gate").fill_null(0).cast(pl.Int64)))
    return frames


def _handoff_files(work_folder: str) -> dict[int, str]:
    """rank -> its hand-off file (``WorkWriter``'s ``<rank>.parquet``), in rank order."""
    names = sorted(os.listdir(work_folder)) if os.path.isdir(work_folder) else []
    return {int(fn.split(".")[0]): os.path.join(work_folder, fn) for fn in names if fn.endswith(".parquet")}


class GateRank:
    """How the licence gates that run after the dedup (``gates``: ``stages.licence.gates_after``) will treat a document,
    from its metadata as it is at the dedup: 0 every gate keeps it, 1 one keeps it flagged (never published), 2 one
    removes it. A dedup keeps, of each group of copies, the first copy of the best rank: the allowed copy of a text, not
    its first copy under a licence a gate then removes (auditor review: a CC-BY-NC copy kept, its CC-BY copy removed as
    the duplicate, then the NC one removed by the gate: no copy left). Every later gate counts, not only the last
    (adversary review). A later stage may still change the metadata; the gates decide then.

    Computed by the signature steps in the workers, on the metadata they hold, and carried in the hand-off file's
    ``gate`` column (code review: parsing every copy's JSON in the plan was 4-11x the plan's time on 2M rows); the
    gates are asked once per distinct (licence, evidence, rule verdict, modified)."""

    def __init__(self, gates: list[dict]):
        self.gates = gates
        self._memo: dict[tuple, int] = {}
        self._policies: list | None = None

    def __call__(self, meta: dict) -> int | None:
        if not self.gates:
            return None
        key = (meta.get("license"), meta.get("license_evidence"), meta.get("license_rule_verdict"),
               bool(meta.get("modified_by")))
        rank = self._memo.get(key)
        if rank is None:
            from ..licenses import LicensePolicy
            from .licence import FLAGGED, gate_verdict

            if self._policies is None:
                self._policies = [([LicensePolicy.model_validate(p) for p in g["policies"]],
                                   g.get("no_derivatives_modified", "remove")) for g in self.gates]
            verdicts = [gate_verdict(meta, policies, mode) for policies, mode in self._policies]
            rank = self._memo[key] = max(0 if v is None else 1 if v == FLAGGED else 2 for v in verdicts)
        return rank


def _write_plan(dups, plan_path: str) -> None:
    """Write a dedup plan atomically. Its folder is made here: when no document reached the stage (an empty input,
    an earlier filter or gate removed them all), no task wrote a hand-off file and the work folder does not exist
    (review: the build stopped with FileNotFoundError, the other sources never built)."""
    os.makedirs(os.path.dirname(plan_path) or ".", exist_ok=True)
    tmp = plan_path + ".tmp"
    dups.write_parquet(tmp)
    os.replace(tmp, plan_path)


def plan_exact_duplicates(work_folder: str, plan_path: str) -> int:
    """Write (rank, pos, duplicate_of) for every row whose signature another row has: of each group, the first row in
    input order (:data:`INPUT_ORDER`) among those of the best :class:`GateRank` is kept; returns the count."""
    import polars as pl

    frames = _handoff_rows(work_folder)
    if frames:
        allrows = pl.concat(frames).sort(["rank", "pos"])
        grouped = allrows.filter(pl.col("sig").is_duplicated())
        first = (grouped.sort(["gate", *INPUT_ORDER], nulls_last=True)
                 .group_by("sig", maintain_order=True).agg(pl.col("id").first().alias("duplicate_of"),
                                                           pl.col("rank").first().alias("r0"),
                                                           pl.col("pos").first().alias("p0")))
        dups = (grouped.join(first, on="sig").filter((pl.col("rank") != pl.col("r0")) | (pl.col("pos") != pl.col("p0")))
                .select("rank", "pos", "duplicate_of").sort(["rank", "pos"]))
    else:
        dups = pl.DataFrame({"rank": [], "pos": [], "duplicate_of": []},
                            schema={"rank": pl.Int64, "pos": pl.Int64, "duplicate_of": pl.Utf8})
    _write_plan(dups, plan_path)
    return dups.height


class MinhashSignature(PipelineStep):
    """``_sig`` = the MinHash LSH band hashes of a document (16 hex digits each, one per band), None when it has
    fewer words than a shingle. The minhashes are datatrove's (``MinhashDedupSignature.get_signature``: its hash
    function, permutations and seed); each band's hashes are folded into one xxh64 so that equal bands compare as
    equal strings in the plan.

    Words: datatrove's ``simplify_text`` (lower case, punctuation and accents folded, whitespace collapsed) split on
    whitespace, instead of its spaCy word tokenizer: the same normalisation, ~16x faster (2.08 s vs 0.13 s on 50 ELTeC
    novels, 0.5 MB; the shingles then hash in 0.03 s and sign in 0.06 s)."""

    name = "🎯 MinHash signature"
    type = "🫂 - DEDUP"
    _requires_dependencies = ["xxhash"]

    def __init__(self, n_grams: int = 5, num_buckets: int = 14, hashes_per_bucket: int = 8, seed: int = 1,
                 gates: tuple[dict, ...] | list[dict] = (), stage_id: str = "minhash_dedup"):
        super().__init__()
        self.n_grams, self.num_buckets, self.hashes_per_bucket, self.seed = n_grams, num_buckets, hashes_per_bucket, seed
        self.gates = list(gates)
        self.stage_id = stage_id

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import numpy as np
        import xxhash
        from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
        from datatrove.utils.text import ngrams, simplify_text

        config = MinhashConfig(n_grams=self.n_grams, num_buckets=self.num_buckets,
                               hashes_per_bucket=self.hashes_per_bucket, seed=self.seed)
        signer = MinhashDedupSignature(output_folder=os.path.join(os.getcwd(), ".unused-minhash"), config=config)
        hash_func = signer._hash_func
        gate_rank = GateRank(self.gates)
        for doc in data:
            with self.track_time():  # the slowest stage per byte (scale review: its time was not in stats.json)
                doc.metadata["_gate"] = gate_rank(doc.metadata)
                words = simplify_text(doc.text, config.norm_config).split()
                shingles = np.fromiter((hash_func(" ".join(g)) for g in ngrams(words, self.n_grams)), dtype=np.uint64)
                if not shingles.size:
                    doc.metadata["_sig"] = None  # shorter than a shingle: compared with nothing
                    self.stat_update("no_signature", f"no_signature:{self.stage_id}")  # the second: the ledger's
                else:
                    bands = _signature(signer, shingles, self.num_buckets)
                    doc.metadata["_sig"] = "".join(xxhash.xxh64_hexdigest(np.asarray(b, dtype=np.uint64).tobytes())
                                                   for b in bands)
            yield doc


# shingles signed at once: datatrove's get_signature holds (shingles x hashes) uint64 arrays, three of them at its
# peak, ~2.7 KB per word with Lucie's 112 hashes (dedup review: 2.3 GB for a 7 M-character document, so a 30 MB
# book would need ~10 GB a worker); in blocks, with the minimum carried over, the same signature in ~20 MB
SIGN_BLOCK = 8192


def _signature(signer, shingles, num_buckets: int) -> list:
    """datatrove's ``get_signature`` of ``shingles`` (a uint64 array): per band, the minimum of each hash over all
    shingles, which is the minimum over blocks of the minimum within each."""
    import numpy as np

    if shingles.size <= SIGN_BLOCK:
        return signer.get_signature(shingles.reshape((-1, 1)))
    low = None
    for start in range(0, shingles.size, SIGN_BLOCK):
        part = np.asarray(signer.get_signature(shingles[start:start + SIGN_BLOCK].reshape((-1, 1))),
                          dtype=np.uint64).reshape(-1)
        low = part if low is None else np.minimum(low, part)
    return [b.tolist() for b in np.split(low, num_buckets)]


def plan_minhash_duplicates(work_folder: str, plan_path: str, num_buckets: int) -> int:
    """Write (rank, pos, duplicate_of) for every row in a cluster of rows sharing an LSH band with another; of each
    cluster, the first row in input order (:data:`INPUT_ORDER`) among those of the best :class:`GateRank` is kept (its
    id is ``duplicate_of``); returns the count."""
    import polars as pl

    frames = _handoff_rows(work_folder)
    schema = {"rank": pl.Int64, "pos": pl.Int64, "duplicate_of": pl.Utf8}
    dups = pl.DataFrame({k: [] for k in schema}, schema=schema)
    if frames:
        rows = pl.concat(frames).sort(INPUT_ORDER, nulls_last=True).with_row_index("idx")
        signed = rows.filter(pl.col("sig").is_not_null()).select("idx", "sig")
        # union-find over the rows that share a band with another only (a dict, not a list of every row: the Python
        # work and memory follow the duplicates, not the corpus; 1 M rows with 1 % duplicated: see
        # benchmarks/dedup_plan_bench.py)
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while x != root:  # path compression
                parent[x], x = root, parent[x]
            return root

        for b in range(num_buckets):
            groups = (signed.group_by(pl.col("sig").str.slice(16 * b, 16).alias("band"))
                      .agg(pl.col("idx")).filter(pl.col("idx").list.len() > 1))
            for members in groups["idx"].to_list():
                for m in members:
                    parent.setdefault(m, m)
                root = find(min(members))
                for m in members:
                    r = find(m)
                    if r != root:  # the smaller index roots the cluster: its first row in input order
                        root, r = min(root, r), max(root, r)
                        parent[r] = root
        in_cluster = sorted(parent)  # every row that shares a band with another
        if in_cluster:
            picked = rows.select("id", "gate", "rank", "pos")[in_cluster]
            ids, gates = picked["id"].to_list(), picked["gate"].to_list()
            ranks, poss = picked["rank"].to_list(), picked["pos"].to_list()
            at = {row: j for j, row in enumerate(in_cluster)}
            roots = [find(i) for i in in_cluster]
            keeper: dict[int, int] = {}  # cluster root -> the row kept: best gate rank, then first in input order
            for j, i in enumerate(in_cluster):
                k = keeper.get(roots[j])
                if k is None or (gates[j], i) < (gates[at[k]], k):
                    keeper[roots[j]] = i
            out = [(ranks[j], poss[j], ids[at[keeper[roots[j]]]]) for j, i in enumerate(in_cluster)
                   if keeper[roots[j]] != i]
            if out:
                dups = pl.DataFrame(out, schema=schema, orient="row")
    _write_plan(dups, plan_path)
    return dups.height


class PlannedRemoval(LucieFilter):
    """Drops the rows a barrier plan names for this task, with the plan's reason."""

    name = "🫂 Planned removal"

    def __init__(self, plan_path: str, reason: str, **kw):
        super().__init__(**kw)
        self.plan_path = plan_path
        self.reason = reason

    def run(self, data, rank: int = 0, world_size: int = 1):
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        # pyarrow rather than polars here: workers fork from a forkserver that preloads pyarrow, and
        # polars must not be imported before a fork (its thread pool can deadlock the child).
        # ParquetFile + compute rather than read_table(filters=…), which imports pyarrow.dataset and
        # pandas with it: ~0.2 s in every worker of the segment (measured), for the same rows
        plan = pq.ParquetFile(self.plan_path).read(columns=["rank", "pos", "duplicate_of"])
        plan = plan.filter(pc.equal(plan.column("rank"), rank))
        self._drop = dict(zip(plan.column("pos").to_pylist(), plan.column("duplicate_of").to_pylist()))
        yield from super().run(data, rank, world_size)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        pos = doc.metadata.pop("_pos", None)
        dup_of = self._drop.get(pos)
        if dup_of is None:
            return True
        doc.metadata["duplicate_of"] = dup_of
        return False, self.reason
