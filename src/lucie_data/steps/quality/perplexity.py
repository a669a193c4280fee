"""KenLM perplexity, CCNet-style (Wenzek et al. 2019, arXiv 1911.00359), with Lucie's two rules.

* document rule (``mode: document``, lucie-dataset.md §3.3 ``filter_by_perplexity``): the text is cut
  into chunks; keep the document if the mean **or** the median chunk perplexity is ≤ ``threshold``;
  a document without any scorable chunk is dropped.
* chunk rule (``mode: chunk``, ``preproc_gallica``): chunks of ``chunk_chars`` (10,000) characters,
  boundaries extended to the next newline; a chunk is kept iff ``min_ppl ≤ ppl ≤ max_ppl`` (10–1000);
  removed spans become ``"\\n\\n[...]\\n\\n"``.
Perplexity of a text = 10 ** (-Σ log10 p / Σ (words + 1)) over its lines, as CCNet's ``pp()``.
A chunk is scored as CCNet's pipeline scores a document (cc_net ``mine.py``: ``MultiSentencePiece(normalize=True)``
then ``DocLM``; Lucie's ``blmrdata/utils/ccnet/perplexity.py``; datatrove's ``KenlmModel.get_perplexity``): CCNet's
``text_normalizer.normalize`` over the whole text (``normalize: true``, the models were trained on normalised text),
then the optional SentencePiece model (CCNet's models expect it), then every line of the result. The normaliser
removes control characters, line breaks included, so a normalised chunk is one line: blank lines add nothing.
"""
from __future__ import annotations

import re
import statistics

from datatrove.data import Document
from datatrove.utils.perplexity import KenlmModel
from datatrove.utils.text import TextNormConfig, simplify_text

from ..base import LucieFilter
from ...errors import InputError
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
_DT = KenlmModel("", "")  # datatrove's port of CCNet's tables; the constructor only stores its two names
_LOWER_NO_ACCENTS = TextNormConfig(lowercase=True, norm_whitespace=False, remove_punctuation=False,
                                   norm_unicode_diacritics=True, norm_numbers=False)


# CCNet's Unicode punctuation table (datatrove's copy, single characters), replaced in one regex pass: datatrove's
# replace_unicode_punct joins a generator over every character (0.16 s of 3 M characters against 0.01 s; code review)
_PUNCT = _DT.unicode_punct
_PUNCT_RE = re.compile("[" + "".join(re.escape(c) for c in _PUNCT) + "]")
assert all(len(c) == 1 for c in _PUNCT)


def ccnet_normalize(text: str) -> str:
    """CCNet's ``text_normalizer.normalize`` (lower case, accents stripped, each digit -> 0, Unicode punctuation
    replaced, control characters removed), built from datatrove's port (``KenlmModel``, ``simplify_text``) except for
    digits: CCNet (and Lucie's copy of it) turns each digit into 0 (``1830`` -> ``0000``), as its models were trained;
    datatrove's ``KenlmModel.normalize`` folds a whole number into one 0 (``simplify_text``'s ``norm_numbers``)."""
    text = simplify_text(text, _LOWER_NO_ACCENTS)
    text = _DT.digit_re.sub("0", text)
    return _DT.remove_non_printing_char(_PUNCT_RE.sub(lambda m: _PUNCT[m.group(0)], text))


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


def _kenlm_reason(e: OSError) -> str:
    """KenLM's own sentence from its exception, without the C++ signature it is wrapped in ("Cannot read model 'x'
    (lm/model.cc:100 in void lm::ngram::…<…> threw FormatLoadException. This ngram implementation assumes at least a
    bigram model. Byte: 18)"; or "… threw ParseNumberException because `…'. Could not parse …")."""
    text = str(e)
    m = re.search(r"threw \w+(?: because `.*?')?\.\s*(.*?)\)?$", text, re.S)
    return (m.group(1) if m else text).strip()


class PerplexityFilter(LucieFilter):
    name = "📉 KenLM perplexity (lucie)"
    _requires_dependencies = ["kenlm"]

    def __init__(self, model_path: str, sp_model_path: str | None = None, mode: str = "document",
                 threshold: float = 1000.0, min_ppl: float = 10.0, max_ppl: float = 1000.0,
                 chunk_chars: int = 10_000, annotate_only: bool = False, normalize: bool = True, **kw):
        super().__init__(**kw)
        self.model_path, self.sp_model_path, self.normalize = model_path, sp_model_path, normalize
        self.mode, self.threshold = mode, threshold
        self.min_ppl, self.max_ppl, self.chunk_chars = min_ppl, max_ppl, chunk_chars
        self.annotate_only = annotate_only
        self._lm = self._sp = None

    def _load(self):
        if self._lm is None:
            import kenlm

            try:
                self._lm = _to_log(lambda: kenlm.Model(self.model_path))
            except OSError as e:  # a file the load-time look passed, but whose body KenLM rejects
                raise InputError(f"perplexity: KenLM cannot read the model {self.model_path!r}: {_kenlm_reason(e)}; "
                                 "give a KenLM model (an ARPA file of order 2 or more, or a binary made from one "
                                 "with KenLM's build_binary), such as CCNet's fr.arpa.bin") from None
            if self.sp_model_path:
                import sentencepiece

                self._sp = sentencepiece.SentencePieceProcessor(model_file=self.sp_model_path)

    def perplexity(self, text: str) -> float | None:
        """CCNet's document perplexity (module docstring); None for a text without a word (nothing to score)."""
        if self.normalize:
            text = ccnet_normalize(text)
        if not text.strip():
            return None
        self._load()
        if self._sp is not None:  # the whole text, as CCNet's SentencePiece.do
            text = " ".join(self._sp.encode(text, out_type=str))
        log, n = 0.0, 0
        for line in text.split("\n"):  # every line, blank ones too, as CCNet's DocLM.do
            log += self._lm.score(line)
            n += len(line.split()) + 1
        return round(10.0 ** (-log / n), 1)

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
