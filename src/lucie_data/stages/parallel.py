"""Aligned (parallel) corpora: one document holding a sentence and its translation."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import BuildContext, StageSpec


class ParallelJoinSpec(StageSpec):
    """Append a translation (read into metadata by the reader) to the text, as Lucie's aligned data does."""

    type: Literal["parallel_join"]
    field: str = Field(..., min_length=1, description="metadata key holding the translation (list it in "
                                                     "input.metadata_fields), e.g. text_en")
    separator: str = Field("\n", description="between the text and its translation")

    def build(self, ctx: BuildContext):
        from ..steps.parallel import ParallelJoinFilter

        return [ParallelJoinFilter(self.field, self.separator, **ctx.filter_kwargs(self.type))]
