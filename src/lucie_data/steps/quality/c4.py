"""C4 line and page rules (Raffel et al. 2019, arXiv 1910.10683, §2.2; TFDS ``c4_utils.py``).

Same rules, order and defaults as datatrove 0.10.1's ``C4QualityFilter`` (which also rewrites the
text keeping only the retained lines), but for the sentences of ``split_paragraph: false``, split here at
``.`` ``!`` ``?`` followed by a space where datatrove runs spaCy's sentencizer (rv51: 4 of 360 decisions and the
kept text of 141 differ in that mode; the default splits lines as datatrove does); reasons ``c4_lorem_ipsum``, ``c4_curly_bracket``,
``c4_too_few_sentences``, and ``c4_empty_after_line_filter`` when no line is left (datatrove kept an empty document). Sentences are counted with ``words.count_sentences`` (spaCy's sentencizer
rule on our tokens), stopping as soon as the minimum is reached.
"""
from __future__ import annotations

import re
import unicodedata

from datatrove.data import Document

from ..filters import mark_modified
from .base import QualityFilter
from .words import _fast, count_sentences

CITATION_REGEX = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
ELLIPSIS = "..."
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


def lowered_contains_py(text: str, needles: tuple[str, ...]) -> tuple[bool, ...]:
    low = text.lower()
    return tuple(n in low for n in needles)


def _lowered_contains_c(text: str, needles: tuple[str, ...]) -> tuple[bool, ...]:
    return _fast.lowered_contains(text, needles)


# The compiled scan never builds the lowered copy of the document. It relies on how str.lower() maps every
# code point (see _fast.c), which tests/test_quality.py checks against this Unicode version's tables: another
# version uses the twin until checked again.
_LOWER_CHECKED_UNICODE = "14.0.0"
lowered_contains = (_lowered_contains_c if _fast is not None and unicodedata.unidata_version == _LOWER_CHECKED_UNICODE
                    else lowered_contains_py)
_DOC_NEEDLES = ("lorem ipsum", "javascript") + POLICY_SUBSTRINGS


def longest_word(text: str) -> int:
    """``max(map(len, text.split()), default=0)``; compiled when ``lucie_data._fast`` is built."""
    return _fast.longest_run(text) if _fast is not None else max(map(len, text.split()), default=0)


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
        # Whole-document pre-checks, exact: a line's words are pieces of the document's whitespace-separated
        # words (splitlines only cuts at whitespace), and a line holds a substring only if the document
        # does (str.lower maps characters independently, but for Greek final sigma, which is not ASCII),
        # unless removing a citation joined two pieces: such lines are checked in full.
        check_long = max_wl > 0 and longest_word(doc.text) > max_wl  # 0 (datatrove: -1) = rule off
        found = lowered_contains(doc.text, _DOC_NEEDLES)  # each needle in doc.text.lower()
        lorem = p["filter_lorem_ipsum"] and found[0]
        js = p["filter_javascript"] and found[1]
        curly = p["filter_curly_bracket"] and "{" in doc.text
        policy = p["filter_policy"] and any(found[2:])
        min_words = p["min_words_per_line"]
        for line in lines:
            line = line.strip()
            if check_long:
                words = line.split()
                if words and max(map(len, words)) > max_wl:
                    dropped += 1
                    continue
            counted = line  # words are counted before citations are removed, as datatrove does
            cited = p["remove_citations"] and "[" in line
            if cited:
                line = CITATION_REGEX.sub("", line)
            if p["filter_no_terminal_punct"] and (not line.endswith(end_punct) or line.endswith(ELLIPSIS)):
                dropped += 1
                continue
            if min_words > 0 and len(counted.split(maxsplit=min_words - 1)) < min_words:
                dropped += 1
                continue
            low = line.lower() if cited or lorem or js or policy else ""
            if (cited or lorem) and p["filter_lorem_ipsum"] and "lorem ipsum" in low:
                reason = reason or "c4_lorem_ipsum"
                if not full:
                    break
            if (cited or js) and p["filter_javascript"] and "javascript" in low:
                dropped += 1
                continue
            if curly and "{" in line:
                reason = reason or "c4_curly_bracket"
                if not full:
                    break
            if (cited or policy) and p["filter_policy"] and any(s in low for s in POLICY_SUBSTRINGS):
                dropped += 1
                continue
            if min_sent != -1 and (full or n_sent < min_sent):
                n_sent += count_sentences(line, lang, None if full else min_sent - n_sent) if p["split_paragraph"] else 1
            kept.append(line)
        s = {"lines": len(lines), "lines_dropped": dropped, "sentences": n_sent}
        if reason is None and n_sent < min_sent:
            reason = "c4_too_few_sentences"
        if reason is None and not any(ln.strip() for ln in kept):
            # every line was dropped (none ends in punctuation, javascript/policy lines, long words…): never keep
            # the empty text that is left (with min_num_sentences: 0 nothing else removes it)
            reason = "c4_empty_after_line_filter"
        if reason is None and not self.annotate_only:
            text = ("\n" if p["split_paragraph"] else " ").join(kept).strip()
            if text != doc.text:
                doc.text = text
                mark_modified(doc, self.stage_id)
        return s, reason
