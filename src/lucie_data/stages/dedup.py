"""Deduplication stages (barriers: they see every document of the source before deciding)."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import BuildContext, StageSpec


class ExactDedupSpec(StageSpec):
    """Exact duplicates within a source: xxh3-128 of the NFC, whitespace-collapsed text; first one kept."""

    type: Literal["exact_dedup"]
    lowercase: bool = Field(False, description="compare case-insensitively")
    barrier: ClassVar[bool] = True

    def pre_barrier(self, ctx: BuildContext):
        from ..steps.dedup import ExactSignature

        return [ExactSignature(lowercase=self.lowercase)]

    def plan(self, ctx: BuildContext, work_folder: str) -> None:
        from ..steps.dedup import plan_exact_duplicates

        plan_exact_duplicates(work_folder, ctx.plan_path)

    def build(self, ctx: BuildContext):
        from ..steps.dedup import PlannedRemoval

        return [PlannedRemoval(ctx.plan_path, "exact_duplicate", **ctx.filter_kwargs(self.type))]
