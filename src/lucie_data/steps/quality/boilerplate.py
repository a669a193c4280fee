"""Boilerplate cleaners: Project Gutenberg header/footer, Wikipedia category lines, repeated lines.

The repeated-lines rule is Lucie's ``clean_theses`` (lucie-dataset.md §3.3): lines repeated ≥ 10 times
that are ≥ 10 characters long are removed (running headers and footers of PDFs).
"""
from __future__ import annotations

import re
from collections import Counter

from datatrove.data import Document

from ..base import LucieFilter
from ..filters import mark_modified

GUTENBERG_START = re.compile(r"^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E(?:-)?BOOK[^\n]*\*{3}[^\n]*\n?",
                             re.I | re.M)
GUTENBERG_END = re.compile(r"^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E(?:-)?BOOK", re.I | re.M)
# The same markers inside a line: text extracted from Gutenberg's HTML edition (trafilatura) runs the header into
# one line, "… Character set encoding: UTF-8 *** START OF THIS PROJECT GUTENBERG EBOOK ENTRE NOUS *** Produced by …"
# (new-user review: nothing was stripped, and a 3-window language ID then read the French book as Dutch). Tried
# only where no marker starts a line; the title is bounded (no `*`, no newline), so a book run into one line is not
# taken with it, and the credit after it goes only when its line is short (a credit, not a book on one line).
GUTENBERG_START_INLINE = re.compile(r"\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK[^*\n]{0,300}\*{3}",
                                    re.I)
GUTENBERG_END_INLINE = re.compile(r"\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK", re.I)
# Just inside those markers, the volunteers' credit paragraph ("Produced by ... Distributed Proofreading Team at
# http://www.pgdp.net") and the closing line "End of the Project Gutenberg EBook of <title>, by <author>" are
# Gutenberg's too; the usual strippers drop both (c-w/gutenberg ``strip_headers``: "Produced by" lines after the
# start marker, "End of (the) Project Gutenberg" among its end markers). Paragraph = non-blank lines, CRLF or LF.
# The credit is a short paragraph: at most 6 lines ending at a blank line; with no blank line within them (a
# reflowed text), only the credit's own line goes, never the book after it (code review: an unbounded paragraph ate
# a whole book whose blank lines had been collapsed).
_CREDIT_START = r"\A\s*(?:Produced by|E-?text prepared by|This e-?(?:text|book) was produced by|Transcribed by)[^\n]*"
GUTENBERG_CREDIT = re.compile(_CREDIT_START + r"(?:\n[^\S\n]*\S[^\n]*){0,5}(?=\n[^\S\n]*(?:\n|\Z))", re.I)
GUTENBERG_CREDIT_LINE = re.compile(_CREDIT_START, re.I)
GUTENBERG_CREDIT_INLINE = re.compile(_CREDIT_START.replace("[^\\n]*", "[^\\n]{0,400}") + r"(?=\n|\Z)", re.I)
GUTENBERG_END_LINE = re.compile(
    r"(?:\A|\n)[^\S\n]*End of (?:the )?Project Gutenberg(?:'s|\u2019s)?\b[^\n]*\s*\Z", re.I)
# "Catégories : …", "Category:", "Kategorien:", "Categorías:", "Categorie:" up to the end of the line
WIKI_CATEGORIES = re.compile(
    r"(?:(?<=\n)|(?<=^)|(?<=[.!?] ))(?:Catégories?|Categor(?:y|ies)|Kategorien?|Categor[ií]as?|Categori[ae])\s?:[^\n]*",
    re.M)


class BoilerplateFilter(LucieFilter):
    name = "🧹 Boilerplate (lucie)"

    def __init__(self, gutenberg: bool = True, wikipedia_categories: bool = True, repeated_lines: bool = True,
                 min_repeats: int = 10, min_line_chars: int = 10, drop_if_empty: bool = True, **kw):
        super().__init__(**kw)
        self.gutenberg = gutenberg
        self.wikipedia_categories = wikipedia_categories
        self.repeated_lines = repeated_lines
        self.min_repeats = min_repeats
        self.min_line_chars = min_line_chars
        self.drop_if_empty = drop_if_empty

    def clean(self, text: str) -> tuple[str, list[str]]:
        done = []
        if self.gutenberg and "GUTENBERG" in text.upper():
            start = GUTENBERG_START.search(text)
            if start:
                text = text[start.end():]
                done.append("gutenberg_header")
                text, n = GUTENBERG_CREDIT.subn("", text, count=1)
                if not n:
                    text = GUTENBERG_CREDIT_LINE.sub("", text, count=1)
            elif start := GUTENBERG_START_INLINE.search(text):
                text = GUTENBERG_CREDIT_INLINE.sub("", text[start.end():], count=1)
                done.append("gutenberg_header")
            # inside a line only after a START marker (code review: a text quoting "*** END OF THE PROJECT GUTENBERG
            # EBOOK" in a sentence was cut there, 3,276 -> 925 characters)
            end = GUTENBERG_END.search(text) or (GUTENBERG_END_INLINE.search(text) if start else None)
            if end:
                text = text[:end.start()]
                done.append("gutenberg_footer")
                text = GUTENBERG_END_LINE.sub("", text, count=1)
            text = text.strip("\r\n") + "\n" if (start or end) else text
        if self.wikipedia_categories and ":" in text:
            new = WIKI_CATEGORIES.sub("", text)
            if new != text:
                text = new
                done.append("wikipedia_categories")
        if self.repeated_lines and text.count("\n") >= self.min_repeats:
            lines = text.split("\n")
            counts = Counter(ln.strip() for ln in lines)
            bad = {ln for ln, c in counts.items() if c >= self.min_repeats and len(ln) >= self.min_line_chars}
            if bad:
                text = "\n".join(ln for ln in lines if ln.strip() not in bad)
                done.append("repeated_lines")
        return text, done

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text, done = self.clean(doc.text)
        if text != doc.text:
            for d in done:
                self.stat_update(d)
            if self.drop_if_empty and not text.strip():  # removed with its original text (removed shard, ledger)
                return False, "boilerplate_empty_after_cleaning"
            doc.text = text
            mark_modified(doc, self.stage_id)
        return True
