"""Deduplication stages (barriers: they see every document of the source before deciding)."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .base import BuildContext, StageSpec


class ExactDedupSpec(StageSpec):
    """Exact duplicates within a source (xxh3-128 of the NFC text; prose: whitespace runs collapsed).

    Of each group, the first copy the licence gates after it keep is kept (the first copy when they keep none or
    all).

    Code keeps its whitespace (``whitespace: keep``, the default of a code source): indentation is syntax, and two
    programs differing in it are two programs (dedup review: a line moved out of its ``if`` block in requests'
    adapters.py was removed as a duplicate); datatrove and dolma hash code exactly."""

    type: Literal["exact_dedup"]
    lowercase: bool = Field(False, description="compare case-insensitively")
    whitespace: Literal["collapse", "keep"] | None = Field(
        None, description="collapse: runs of whitespace compare as one space, ends trimmed; keep: compared as written; "
                          "default: keep for a code source (category programming or languages code*), collapse for "
                          "prose, and in a source of prose and code languages each document by its own language")
    barrier: ClassVar[bool] = True
    # 2: in a source of prose and code languages, prose documents compare with whitespace collapsed (rv52's fix left
    # the whole source compared as code)
    revision: ClassVar[int] = 2

    def revised_for(self, recipe) -> bool:
        return self.whitespace is None and recipe.mixes_code_and_prose

    def collapses(self, source) -> bool | None:
        """Whether whitespace runs compare as one space; None: by each document's language (a mixed source)."""
        if self.whitespace:
            return self.whitespace == "collapse"
        return None if source.mixes_code_and_prose else not source.is_code

    def pre_barrier(self, ctx: BuildContext):
        from ..steps.dedup import ExactSignature

        return [ExactSignature(lowercase=self.lowercase, gates=ctx.later_gates,
                               collapse_whitespace=self.collapses(ctx.source))]

    def plan(self, ctx: BuildContext, work_folder: str) -> None:
        from ..steps.dedup import plan_exact_duplicates

        plan_exact_duplicates(work_folder, ctx.plan_path)

    def build(self, ctx: BuildContext):
        from ..steps.dedup import PlannedRemoval

        return [PlannedRemoval(ctx.plan_path, "exact_duplicate", **ctx.filter_kwargs(self.type))]


class MinhashDedupSpec(StageSpec):
    """Near-duplicates within a source: MinHash LSH, Lucie's 14 buckets x 8 hashes of word 5-grams; one per cluster
    kept.

    Hashing is datatrove's (MinhashDedupSignature); the defaults are Lucie's MinhashConfig (lucie-dataset.md), which
    flag pairs from about 0.75 Jaccard similarity. Documents sharing a bucket are clustered transitively, as
    datatrove's MinhashDedupCluster does; the first of a cluster in input order (file, record) that the licence gates
    after it keep is kept (the first when they keep none or all). Words are split on
    whitespace after datatrove's ``simplify_text``: a document with fewer than ``n_grams`` words has no signature and is
    compared with nothing (counted as the ledger's ``docs_no_signature``); in a text without spaces (Chinese, Japanese,
    Thai) a "word" is a clause between punctuation, so an exact copy is found and an edited one seldom (dedup review)."""

    type: Literal["minhash_dedup"]
    n_grams: int = Field(5, ge=1, le=64, description="words per shingle")
    num_buckets: int = Field(14, ge=1, le=256, description="LSH bands: more finds pairs of lower similarity")
    hashes_per_bucket: int = Field(8, ge=1, le=256, description="hashes per band: more needs higher similarity")
    seed: int = Field(1, ge=0, lt=2**32, description="seed of the hash permutations (datatrove's default: 1)")
    barrier: ClassVar[bool] = True

    @model_validator(mode="after")
    def _bounded(self) -> "MinhashDedupSpec":
        # datatrove's signature holds a shingles x hashes matrix of uint64: 256 x 256 hashes took 2 GiB for one
        # 4,000-word chapter (review); 1,024 hashes is 7x Lucie's 112 and stays under ~0.3 GiB for such a document
        if self.num_buckets * self.hashes_per_bucket > 1024:
            raise ValueError(f"num_buckets x hashes_per_bucket = {self.num_buckets * self.hashes_per_bucket} hashes a "
                             "document: at most 1024 (Lucie uses 14 x 8 = 112); each one costs 8 bytes per word of "
                             "the longest document")
        return self

    def pre_barrier(self, ctx: BuildContext):
        from ..steps.dedup import MinhashSignature

        return [MinhashSignature(self.n_grams, self.num_buckets, self.hashes_per_bucket, self.seed, ctx.later_gates,
                                 ctx.stage_id)]

    def plan(self, ctx: BuildContext, work_folder: str) -> None:
        from ..steps.dedup import plan_minhash_duplicates

        plan_minhash_duplicates(work_folder, ctx.plan_path, self.num_buckets)

    def build(self, ctx: BuildContext):
        from ..steps.dedup import PlannedRemoval

        return [PlannedRemoval(ctx.plan_path, "minhash_duplicate", **ctx.filter_kwargs(self.type))]
