"""KenLM perplexity, CCNet-style (Wenzek et al. 2019, arXiv 1911.00359), with Lucie's two rules.

* document rule (``mode: document``, lucie-dataset.md §3.3 ``filter_by_perplexity``): the text is cut
  into chunks; keep the document if the mean **or** the median chunk perplexity is ≤ ``threshold``;
  a document without any scorable chunk is dropped.
* chunk rule (``mode: chunk``, ``preproc_gallica``): chunks of ``chunk_chars`` (10,000) characters,
  boundaries extended to the next newline; a chunk is kept iff ``min_ppl ≤ ppl ≤ max_ppl`` (10–1000);
  removed spans become ``"\\n\\n[...]\\n\\n"``.
Perplexity of a text = 10 ** (-Σ log10 p / Σ (words + 1)) over its lines, as CCNet's ``pp()``.
An optional SentencePiece model tokenises lines first (CCNet's models expect it).
"""
from __future__ import annotations

import statistics

from datatrove.data import Document

from ..base import LucieFilter
from ..filters import mark_modified
from .base import put_signals


def _to_log(load):
    """``load()`` with what C code writes to the process's stderr meanwhile sent to the task's log, not the terminal:
    KenLM prints a banner and a progress bar on stderr for each .arpa model it reads, once per task, through a build's
    otherwise quiet output (new-user review)."""
    import os
    import sys
    import tempfile

    from loguru import logger

    sys.stderr.flush() if sys.stderr is not None else None
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep off it
        return load()
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            return load()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            said = tmp.read().decode("utf-8", "replace").strip()
            if said:
                logger.info(f"kenlm: {said}")

ELIDED = "\n\n[...]\n\n"


def chunk_text(text: str, size: int) -> list[str]:
    """Chunks of ``size`` characters whose ends are pushed to the next newline (Lucie's chunker)."""
    out, i = [], 0
    while i < len(text):
        j = min(len(text), i + size)
        if j < len(text):
            nl = text.find("\n", j)
            j = len(text) if nl == -1 else nl + 1
        out.append(text[i:j])
        i = j
    return out


class PerplexityFilter(LucieFilter):
    name = "📉 KenLM perplexity (lucie)"
    _requires_dependencies = ["kenlm"]

    def __init__(self, model_path: str, sp_model_path: str | None = None, mode: str = "document",
                 threshold: float = 1000.0, min_ppl: float = 10.0, max_ppl: float = 1000.0,
                 chunk_chars: int = 10_000, annotate_only: bool = False, **kw):
        super().__init__(**kw)
        self.model_path, self.sp_model_path = model_path, sp_model_path
        self.mode, self.threshold = mode, threshold
        self.min_ppl, self.max_ppl, self.chunk_chars = min_ppl, max_ppl, chunk_chars
        self.annotate_only = annotate_only
        self._lm = self._sp = None

    def _load(self):
        if self._lm is None:
            import kenlm

            self._lm = _to_log(lambda: kenlm.Model(self.model_path))
            if self.sp_model_path:
                import sentencepiece

                self._sp = sentencepiece.SentencePieceProcessor(model_file=self.sp_model_path)

    def perplexity(self, text: str) -> float | None:
        self._load()
        log, n = 0.0, 0
        for line in text.split("\n"):
            line = line.strip()
            if not line:
                continue
            if self._sp is not None:
                line = " ".join(self._sp.encode(line, out_type=str))
            log += self._lm.score(line)
            n += len(line.split()) + 1
        return round(10.0 ** (-log / n), 1) if n else None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        chunks = chunk_text(doc.text, self.chunk_chars)
        ppls = [self.perplexity(c) for c in chunks]
        if self.mode == "document":
            scored = [p for p in ppls if p is not None]
            reason = None
            if not scored:
                reason = "perplexity_no_text"
            elif statistics.mean(scored) > self.threshold and statistics.median(scored) > self.threshold:
                reason = "perplexity_too_high"
            if self.annotate_only:
                put_signals(doc, self.stage_id or "perplexity", {"chunk_perplexity": ppls, "would_remove": reason})
                return True
            return (False, reason) if reason else True
        keep = [p is not None and self.min_ppl <= p <= self.max_ppl for p in ppls]
        if self.annotate_only:
            put_signals(doc, self.stage_id or "perplexity", {"chunk_perplexity": ppls, "chunks_kept": keep})
            return True
        if not any(keep):
            low = all(p is not None and p < self.min_ppl for p in ppls)
            return False, "perplexity_too_low" if low else "perplexity_too_high"
        if all(keep):
            return True
        parts, prev_elided = [], False
        for c, k in zip(chunks, keep):
            if k:
                parts.append(c)
                prev_elided = False
            elif not prev_elided:
                parts.append(ELIDED)
                prev_elided = True
        doc.text = "".join(parts)
        mark_modified(doc, self.stage_id)
        self.stat_update("chunks_removed", value=keep.count(False))
        return True
