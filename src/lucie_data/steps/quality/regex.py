"""A user regular expression that drops documents or rewrites the matches."""
from __future__ import annotations

import re

from datatrove.data import Document

from ..base import LucieFilter
from ..filters import mark_modified


class RegexFilter(LucieFilter):
    name = "🔎 Regex (lucie)"

    def __init__(self, pattern: str, action: str = "drop", replacement: str = "", reason: str = "regex_match",
                 flags: int = 0, drop_if_empty: bool = True, **kw):
        super().__init__(**kw)
        self.pattern = pattern
        self.regex = re.compile(pattern, flags)
        self.action = action
        self.replacement = replacement
        self.reason = reason
        self.drop_if_empty = drop_if_empty

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.action == "drop":
            return (False, self.reason) if self.regex.search(doc.text) else True
        text = self.regex.sub(self.replacement, doc.text)
        if text != doc.text:
            if self.drop_if_empty and not text.strip():
                # removed with its original text: the removed shard keeps what was read, the ledger counts it
                return False, f"{self.reason}_empty_after_replace"
            doc.text = text
            mark_modified(doc, self.stage_id)
        return True
