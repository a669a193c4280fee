"""Lucie's thresholds over RedPajama-V2 quality signals (lucie-dataset.md §3.1 steps 5–6:
``RedPajamaQualityFilter`` and ``RedPajamaDuplicatesFilter`` of OpenLLM-France/Lucie-Training
``webdata_processing/base.py`` @d9cccb7), and the signal half of step 3's ``LucieURLFilter``: a document whose
domain is in the UT1 blocklist (``rps_doc_ut1_blacklist`` not null) is dropped, before the quality rules as in
Lucie's pipeline (its URL-keyword half is ``url_filter``'s Lucie presets).

RPv2 stores every signal as a list of ``[start, end, value]`` spans; document-level signals have one
span covering the document, line-level ones (``rps_lines_*``) one span per line. The record's
``quality_signals`` may be a dict or a JSON string (as in the RPv2 ``default`` config).
"""
from __future__ import annotations

import json

from datatrove.data import Document

from ..base import LucieFilter


class InvalidSignal(ValueError):
    """A signal whose value is present but is no number (``"n/a"``, a dict, a span that is not ``[start, end,
    value]``): the rules cannot judge the document, so :class:`RedPajamaRulesFilter` removes it with reason
    ``redpajama_invalid_signal`` and the signal and value in its metadata (review 49: ``"n/a" < 10`` raised TypeError
    and failed the whole source, naming no record)."""

    def __init__(self, key: str, value, expected: str = "a number"):
        self.key, self.value = key, value
        super().__init__(f"{key}: {_shown(value)} is not {expected}")


def _shown(value) -> str:
    r = repr(value)
    return r if len(r) <= 80 else r[:77] + "..."


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _value(signals: dict, key: str):
    """The document-level value of a signal: the value of its first ``[start, end, value]`` span (or a bare
    number); None when the signal is absent, null or NaN (no value: the rule is skipped, as for an absent signal);
    :class:`InvalidSignal` when it is there but is no number."""
    v = signals.get(key)
    if isinstance(v, list):
        if not v:
            return None
        first = v[0]
        if isinstance(first, (list, tuple)):
            if len(first) != 3:
                raise InvalidSignal(key, first)
            v = first[2]
        else:
            v = first
    if v is None or (isinstance(v, float) and v != v):
        return None
    if not _is_number(v):
        raise InvalidSignal(key, v)
    return v


def _flag(signals: dict, key: str) -> bool:
    """A yes/no signal (``is_duplicate``): a boolean, 0/1 or null (no); :class:`InvalidSignal` otherwise (a string
    "false" was true)."""
    v = signals.get(key)
    if v is None or isinstance(v, bool):
        return bool(v)
    if _is_number(v) and v in (0, 1):
        return bool(v)
    raise InvalidSignal(key, v, "true, false, 0 or 1")


def _sum_spans(signals: dict, key: str) -> float:
    v = signals.get(key)
    if v is None:
        return 0.0
    if _is_number(v):
        return float(v)
    if not isinstance(v, list):
        raise InvalidSignal(key, v)
    total = 0.0
    for span in v:
        x = span
        if isinstance(span, (list, tuple)):
            if len(span) != 3:
                raise InvalidSignal(key, span)
            x = span[2]
        if x is None or (isinstance(x, float) and x != x):
            continue
        if not _is_number(x):
            raise InvalidSignal(key, x)
        total += x
    return float(total)


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


def ut1_categories(signals: dict):
    """The UT1 blocklist categories RedPajama-V2 found for the document's domain (the value of the first span of
    ``rps_doc_ut1_blacklist``, as Lucie reads it), or None when it has none or the signal is absent."""
    v = signals.get("rps_doc_ut1_blacklist")
    if isinstance(v, list) and v and isinstance(v[0], (list, tuple)):
        if len(v[0]) != 3:
            raise InvalidSignal("rps_doc_ut1_blacklist", v[0], "a [start, end, value] span")
        v = v[0][2]
    if v == [] or (isinstance(v, float) and v != v):  # (NaN: no value, as for every other signal; rv55)
        return None
    return v


def redpajama_reason(signals: dict, check_duplicates: bool = True, check_ut1_blacklist: bool = False) -> str | None:
    """The first of Lucie's rules the signals fail, or None; :class:`InvalidSignal` when a signal a rule reads is
    there but is no number (an absent, null or NaN signal skips its rule)."""
    if check_ut1_blacklist and ut1_categories(signals) is not None:  # (Lucie: `is not None`, whatever the value)
        return "redpajama_ut1_blacklist"
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
    if check_duplicates and _flag(signals, "is_duplicate"):
        return "redpajama_is_duplicate"
    return None


class RedPajamaRulesFilter(LucieFilter):
    name = "🟥 RedPajama rules (lucie)"

    def __init__(self, field: str = "quality_signals", check_duplicates: bool = True, missing: str = "drop",
                 check_ut1_blacklist: bool = True, **kw):
        super().__init__(**kw)
        self.field = field
        self.check_duplicates = check_duplicates
        self.check_ut1_blacklist = check_ut1_blacklist
        self.missing = missing

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        signals = parse_signals(doc.metadata.get(self.field))
        if signals is None:
            return (False, "redpajama_missing_signals") if self.missing == "drop" else True
        if self.check_duplicates and "is_duplicate" not in signals and "is_duplicate" in doc.metadata:
            signals = dict(signals, is_duplicate=doc.metadata["is_duplicate"])
        try:
            reason = redpajama_reason(signals, self.check_duplicates, self.check_ut1_blacklist)
        except InvalidSignal as e:  # present but unreadable: no rule can judge it; removed, naming signal and value
            doc.metadata["redpajama_invalid_signal"] = str(e)
            return False, "redpajama_invalid_signal"
        return (False, reason) if reason else True
