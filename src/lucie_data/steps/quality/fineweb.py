"""FineWeb's own filters (Penedo et al. 2024, arXiv 2406.17557, §3.5).

Same rules, order and defaults as datatrove 0.10.1's ``FineWebQualityFilter``; reasons
``fineweb_line_punct_ratio``, ``fineweb_short_line_ratio``, ``fineweb_char_dup_ratio``,
``fineweb_list_ratio``. Words come from the shared ``split_words`` cache.
"""
from __future__ import annotations

from datatrove.data import Document
from datatrove.utils.text import TERMINAL_PUNCTUATION

from .base import QualityFilter, Verdict
from .gopher import _dup_counts
from .words import count_chunks, split_words


class FineWebQualityFilter(QualityFilter):
    name = "🍷 FineWeb Quality (lucie)"
    family = "fineweb_quality"

    def prepare(self, params: dict) -> dict:
        stop = params.get("stop_chars")
        params["stop_chars"] = frozenset(stop) if stop else frozenset(TERMINAL_PUNCTUATION)
        params["_single"] = all(len(c) == 1 for c in params["stop_chars"])
        params["_tuple"] = tuple(params["stop_chars"])
        return params

    def evaluate(self, doc: Document, lang: str, p: dict, full: bool):
        text = doc.text
        lines = [ln for ln in text.split("\n") if ln.strip() != ""]
        s: dict = {}
        if not lines:
            return s, "fineweb_empty"
        verdict = Verdict(full)
        fail = verdict.fail  # stops at the first failure when filtering

        n = len(lines)
        stop = p["stop_chars"]
        if p["_single"]:
            punct = sum(1 for ln in lines if ln[-1] in stop) / n
        else:
            punct = sum(1 for ln in lines if ln.endswith(p["_tuple"])) / n
        s["line_punct_ratio"] = round(punct, 4)
        if punct < p["line_punct_thr"] and not (punct == 0 and p["line_punct_exclude_zero"]):
            if fail("fineweb_line_punct_ratio"):
                return s, verdict.reason
        short = sum(1 for ln in lines if len(ln) <= p["short_line_length"]) / n
        s["short_line_ratio"] = round(short, 4)
        if short > p["short_line_thr"] and fail("fineweb_short_line_ratio"):
            return s, verdict.reason
        denom = len(text) - text.count("\n")
        dup = _dup_counts(lines)[1] / denom if denom else 0.0
        s["char_dup_ratio"] = round(dup, 4)
        if dup > p["char_duplicates_ratio"] and fail("fineweb_char_dup_ratio"):
            return s, verdict.reason
        newlines = text.count("\n")
        # tokens ≥ whitespace-separated chunks, so a low bound of the ratio decides most documents
        # without tokenising (C4 may just have rewritten the text, which empties the word cache)
        if not full and newlines / max(1, count_chunks(text)) <= p["new_line_ratio"]:
            return s, verdict.reason
        n_words = len(split_words(text, lang))
        nl = newlines / n_words if n_words else float("inf")
        s["new_line_ratio"] = round(nl, 4) if n_words else None
        if nl > p["new_line_ratio"] and fail("fineweb_list_ratio"):
            return s, verdict.reason
        return s, verdict.reason
