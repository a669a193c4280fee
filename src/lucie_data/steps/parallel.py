"""Join the two sides of an aligned pair into one training document.

Lucie's aligned subsets (CroissantAligned, EuroparlAligned) are trained on as one text holding both
languages: OpenLLM-France/Lucie-Training ``create_augmented_text`` recombines the two sides with a
separator (randomised there: optional language prefixes, brackets, order swaps; see
../shared/notes/lucie-dataset.md). This step is the deterministic core of that: ``text``, a fixed
separator, then the translation. The translation is removed from the metadata once it is in the
text, so it is not stored twice.
"""
from __future__ import annotations

from datatrove.data import Document

from .base import LucieFilter
from .filters import mark_modified


class ParallelJoinFilter(LucieFilter):
    """``text + separator + metadata[field]``; a record without a translation is removed, with a reason."""

    name = "🔗 Parallel join"

    def __init__(self, field: str, separator: str = "\n", **kw):
        super().__init__(**kw)
        self.field = field
        self.separator = separator

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        other = doc.metadata.get(self.field)
        if not isinstance(other, str) or not other.strip():
            return False, "parallel_missing_translation"
        doc.text = doc.text.rstrip() + self.separator + other.strip()
        del doc.metadata[self.field]
        mark_modified(doc, self.stage_id)
        return True
