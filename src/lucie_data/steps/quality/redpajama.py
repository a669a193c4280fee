"""Lucie's thresholds over RedPajama-V2 quality signals (lucie-dataset.md §3.1 steps 5–6:
``RedPajamaQualityFilter`` and ``RedPajamaDuplicatesFilter`` of OpenLLM-France/Lucie-Training
``webdata_processing/base.py`` @d9cccb7).

RPv2 stores every signal as a list of ``[start, end, value]`` spans; document-level signals have one
span covering the document, line-level ones (``rps_lines_*``) one span per line. The record's
``quality_signals`` may be a dict or a JSON string (as in the RPv2 ``default`` config).
"""
from __future__ import annotations

import json

from datatrove.data import Document

from ..base import LucieFilter


def _value(signals: dict, key: str):
    v = signals.get(key)
    if isinstance(v, list):
        if not v:
            return None
        first = v[0]
        return first[2] if isinstance(first, (list, tuple)) and len(first) == 3 else first
    return v


def _sum_spans(signals: dict, key: str) -> float:
    v = signals.get(key) or []
    if isinstance(v, (int, float)):
        return float(v)
    return float(sum((s[2] if isinstance(s, (list, tuple)) else s) or 0 for s in v))


# (reason, signal, test) in the order of Lucie's code
RULES = (
    ("redpajama_ccnet_perplexity", "ccnet_perplexity", lambda x: x < 10 or x > 1000),
    ("redpajama_ccnet_language_score", "ccnet_language_score", lambda x: x < 0.65),
    ("redpajama_c4_num_sentences", "rps_doc_num_sentences", lambda x: x < 3),
    ("redpajama_c4_curly_bracket", "rps_doc_curly_bracket", lambda x: x > 0),
    ("redpajama_c4_lorem_ipsum", "rps_doc_lorem_ipsum", lambda x: x > 0),
    ("redpajama_c4_ldnoobw_words", "rps_doc_ldnoobw_words", lambda x: x > 0),
    ("redpajama_gopher_word_count", "rps_doc_word_count", lambda x: x < 50 or x > 100_000),
    ("redpajama_gopher_mean_word_length", "rps_doc_mean_word_length", lambda x: x < 3 or x > 10),
    ("redpajama_gopher_symbol_to_word_ratio", "rps_doc_symbol_to_word_ratio", lambda x: x > 0.1),
    # bullet rule: computed below from the line spans
    ("redpajama_gopher_lines_end_with_ellipsis", "rps_doc_frac_lines_end_with_ellipsis", lambda x: x > 0.3),
    ("redpajama_gopher_no_alph_words", "rps_doc_frac_no_alph_words", lambda x: x > 0.3),
    ("redpajama_gopher_top_2_gram", "rps_doc_frac_chars_top_2gram", lambda x: x > 0.20),
    ("redpajama_gopher_top_3_gram", "rps_doc_frac_chars_top_3gram", lambda x: x > 0.18),
    ("redpajama_gopher_top_4_gram", "rps_doc_frac_chars_top_4gram", lambda x: x > 0.16),
    ("redpajama_gopher_dupe_5_grams", "rps_doc_frac_chars_dupe_5grams", lambda x: x > 0.15),
    ("redpajama_gopher_dupe_6_grams", "rps_doc_frac_chars_dupe_6grams", lambda x: x > 0.14),
    ("redpajama_gopher_dupe_7_grams", "rps_doc_frac_chars_dupe_7grams", lambda x: x > 0.13),
    ("redpajama_gopher_dupe_8_grams", "rps_doc_frac_chars_dupe_8grams", lambda x: x > 0.12),
    ("redpajama_gopher_dupe_9_grams", "rps_doc_frac_chars_dupe_9grams", lambda x: x > 0.11),
    ("redpajama_gopher_dupe_10_grams", "rps_doc_frac_chars_dupe_10grams", lambda x: x > 0.10),
)


def parse_signals(raw) -> dict | None:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, (str, bytes)):
        try:
            out = json.loads(raw)
        except ValueError:
            return None
        return out if isinstance(out, dict) else None
    return None


def redpajama_reason(signals: dict, check_duplicates: bool = True) -> str | None:
    for reason, key, test in RULES[:9]:
        v = _value(signals, key)
        if v is not None and test(v):
            return reason
    nlines = _value(signals, "ccnet_nlines")
    if nlines:
        if _sum_spans(signals, "rps_lines_start_with_bulletpoint") / nlines > 0.9:
            return "redpajama_gopher_bullet_lines"
    for reason, key, test in RULES[9:]:
        v = _value(signals, key)
        if v is not None and test(v):
            return reason
    if check_duplicates and _value(signals, "is_duplicate"):
        return "redpajama_is_duplicate"
    return None


class RedPajamaRulesFilter(LucieFilter):
    name = "🟥 RedPajama rules (lucie)"

    def __init__(self, field: str = "quality_signals", check_duplicates: bool = True, missing: str = "drop", **kw):
        super().__init__(**kw)
        self.field = field
        self.check_duplicates = check_duplicates
        self.missing = missing

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        signals = parse_signals(doc.metadata.get(self.field))
        if signals is None:
            return (False, "redpajama_missing_signals") if self.missing == "drop" else True
        if self.check_duplicates and "is_duplicate" not in signals and "is_duplicate" in doc.metadata:
            signals = dict(signals, is_duplicate=doc.metadata["is_duplicate"])
        reason = redpajama_reason(signals, self.check_duplicates)
        return (False, reason) if reason else True
