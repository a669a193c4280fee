"""C4 line and page rules (Raffel et al. 2019, arXiv 1910.10683, §2.2; TFDS ``c4_utils.py``).

Same rules, order and defaults as datatrove 0.10.1's ``C4QualityFilter`` (which also rewrites the
text keeping only the retained lines); reasons ``c4_lorem_ipsum``, ``c4_curly_bracket``,
``c4_too_few_sentences``. Sentences are counted with ``words.count_sentences`` (spaCy's sentencizer
rule on our tokens), stopping as soon as the minimum is reached.
"""
from __future__ import annotations

import re

from datatrove.data import Document

from ..filters import mark_modified
from .base import QualityFilter
from .words import count_sentences

CITATION_REGEX = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
ELLIPSIS = "..."
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


class C4QualityFilter(QualityFilter):
    name = "⛰ C4 Quality (lucie)"
    family = "c4_quality"

    def prepare(self, params: dict) -> dict:
        params["end_punctuation"] = tuple(params["end_punctuation"])
        return params

    def evaluate(self, doc: Document, lang: str, p: dict, full: bool):
        lines = doc.text.splitlines() if p["split_paragraph"] else re.split(r"(?<=[.!?])\s+", doc.text)
        min_sent = p["min_num_sentences"]
        end_punct = p["end_punctuation"]
        max_wl = p["max_word_length"]
        n_sent = 0
        kept = []
        reason = None
        dropped = 0
        for line in lines:
            line = line.strip()
            words = line.split()
            if max_wl != -1 and words and max(map(len, words)) > max_wl:
                dropped += 1
                continue
            if p["remove_citations"] and "[" in line:
                line = CITATION_REGEX.sub("", line)
            if p["filter_no_terminal_punct"] and (not line.endswith(end_punct) or line.endswith(ELLIPSIS)):
                dropped += 1
                continue
            if len(words) < p["min_words_per_line"]:
                dropped += 1
                continue
            low = line.lower()
            if p["filter_lorem_ipsum"] and "lorem ipsum" in low:
                reason = reason or "c4_lorem_ipsum"
                if not full:
                    break
            if p["filter_javascript"] and "javascript" in low:
                dropped += 1
                continue
            if p["filter_curly_bracket"] and "{" in line:
                reason = reason or "c4_curly_bracket"
                if not full:
                    break
            if p["filter_policy"] and any(s in low for s in POLICY_SUBSTRINGS):
                dropped += 1
                continue
            if min_sent != -1 and (full or n_sent < min_sent):
                n_sent += count_sentences(line, lang, None if full else min_sent - n_sent) if p["split_paragraph"] else 1
            kept.append(line)
        s = {"lines": len(lines), "lines_dropped": dropped, "sentences": n_sent}
        if reason is None and n_sent < min_sent:
            reason = "c4_too_few_sentences"
        if reason is None and not self.annotate_only:
            text = ("\n" if p["split_paragraph"] else " ").join(kept).strip()
            if text != doc.text:
                doc.text = text
                mark_modified(doc, self.stage_id)
        return s, reason
