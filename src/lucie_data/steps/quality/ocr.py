"""Noisy-OCR heuristics (share of dictionary-like words, symbol ratio, broken words).

Signals, per document (whitespace tokens):
* ``stop_ratio`` — share of alphabetic tokens that are stop words of the language (spaCy's lists,
  ``assets/quality/stopwords``): OCR noise turns ``de``/``la``/``les`` into ``dc``/``Ia``/``lcs``.
* ``weird_ratio`` — share of tokens mixing letters with digits or stray symbols, or with an upper-case
  letter after a lower-case one (``avrtl``-style garbage such as ``l908``, ``dSfiJ``, ``BÊ>ÀCTION``).
* ``symbol_ratio`` — share of non-space characters that are neither letters, digits nor ordinary
  punctuation.
* ``short_ratio`` — share of alphabetic tokens of one or two letters that are not stop words
  (words broken by the OCR: ``t 2 1 3 m``).
Thresholds were tuned on fr_ocr_europeana_bnf (very noisy) against ELTeC and UD French (clean); removal
rates per corpus and a threshold sweep: benchmarks/ocr_bench.py -> benchmarks/results/ocr.md.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from datatrove.data import Document

from ..base import LucieFilter
from .base import LANGUAGES, code_language, doc_language, pass_code, put_signals

# ordinary punctuation of the languages the stage takes (fr, en, de, es, it), not counted as stray symbols: Spanish
# inverted marks, German low quotes, single guillemets, currency signs, the acute accent ELTeC-ita writes as an
# apostrophe, Unicode hyphens, TeX-style quotes (``…''), the middle dot, @ # _ of web text, typographic signs (× ½ ©
# † ‰ ¶). Without them clean Spanish novels lost 87/114 chapters, German GSD 54/110, and one "20 €" removed clean
# French (engineer and verification reviews). Each was checked not to lower the noisy-OCR removals; • and ™ did
# (Europeana's garbage holds them) and stay noise, as do < > ~ ^ |. benchmarks/results/ocr.md: rates per corpus.
_ORDINARY = set(".,;:!?'\"«»()[]-–—…’‘“”/%&*+=°§¿¡„‚‹›€$£´‐‑`·@#_×½¼¾©®†‡‰¶")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_CAMEL = re.compile(r"[a-zà-ÿ][A-ZÀ-Ý]")
# Tokens of clean text that mix digits or cases by a rule of the language, not by an OCR error (review: they removed
# fr-gsd-00023 for "545e", "29e"): ordinals and decades after a number (545e 1re 31ème, 8th 1990s, 1990er 70ern,
# 31esimo 1º, 6to 2do), an elision before a number (l'11, Nell'833: the number is then judged alone), numéro n°96,
# and Mc/Mac names (McKay). Other CamelCase stays noise: Europeana's OCR has 48 such tokens (SadiCnrnot, BelOtre,
# LeroyBeaulieu); with all of them spared it lost 7 of its 47 removals, with these rules 1 (a 0.0199 page).
_ORDINAL = {
    "fr": r"e|er|re|ère|ème|eme|es|ers|res|ères|èmes|nd|nde|nds|ndes",
    "en": r"st|nd|rd|th|s",
    "de": r"er|ern|ers",
    "it": r"esim[oaie]|[ºª]",
    "es": r"[ºª]|[oa]s?|er|ra|ro|do|to|vo|mo|no",
}
_ORDINAL = {k: re.compile(rf"\d+(?:{v})") for k, v in _ORDINAL.items()}
_ELIDED_NUMBER = re.compile(r"^[^\W\d_]{1,5}['’](?=\d)")  # fr, it: l'11, dell'800, Nell'833, d'1
_NUMERO = re.compile(r"[nN][°º]\d+")
_NAME = re.compile(r"(?:Mc|Mac)[A-ZÀ-Ý][a-zà-ÿ]+")
_STRIP = "".join(sorted(_ORDINARY))


@lru_cache(maxsize=None)
def stop_words(lang: str) -> frozenset:
    path = Path(__file__).resolve().parents[2] / "assets" / "quality" / "stopwords" / f"{lang}.txt"
    if not path.exists():
        return frozenset()
    return frozenset(w for w in path.read_text(encoding="utf-8").split("\n") if w and not w.startswith("#"))


# "ex¬\ncessif": the hyphenation mark OCR transcriptions keep at a line break is layout, not a
# recognition error; joined before counting, or every hyphenated line end counts as a broken word and
# a stray symbol (NewsEye newspapers: 100 % removed before, 39.8 % after; benchmarks/results/ocr.md).
_HYPHEN_BREAK = re.compile(r"¬[ \t]*\r?\n[ \t]*")


@lru_cache(maxsize=None)
def _rules(lang: str) -> tuple[frozenset, "re.Pattern | None", bool]:
    """(stop words, ordinal pattern, elision before numbers) of a language, or of both members of a pair (``fr,en``:
    a bilingual document's English half has no French stop words; filters review: 153 of 1,000 clean PUD pairs were
    ``ocr_noisy_text``)."""
    parts = lang.split(",")
    sw = frozenset().union(*(stop_words(x) for x in parts))
    ords = [_ORDINAL[x].pattern for x in parts if x in _ORDINAL]
    ordinal = re.compile("|".join(f"(?:{o})" for o in ords)) if ords else None
    return sw, ordinal, any(x in ("fr", "it") for x in parts)


def ocr_signals(text: str, lang: str) -> dict:
    sw, ordinal, elides = _rules(lang)
    if "¬" in text:
        text = _HYPHEN_BREAK.sub("", text)
    toks = text.split()
    n = len(toks) or 1
    alpha = stops = short = weird = 0
    for t in toks:
        w = t.strip(_STRIP)
        if not w:
            continue
        if w.isalpha():
            alpha += 1
            lw = w.lower()
            if lw in sw:
                stops += 1
            elif len(w) <= 2:
                short += 1
            elif _CAMEL.search(w) and not _NAME.fullmatch(w):
                weird += 1
            continue
        if elides:
            w = _ELIDED_NUMBER.sub("", w, count=1)
        if ordinal is not None and ordinal.fullmatch(w) or _NUMERO.fullmatch(w):
            continue
        if _LETTER.search(w) and (_DIGIT.search(w) or any(not (c.isalnum() or c in _ORDINARY) for c in w)):
            weird += 1
    nonspace = len(text) - sum(text.count(c) for c in " \n\t")
    sym = sum(1 for c in text if not (c.isalnum() or c.isspace() or c in _ORDINARY))
    a = alpha or 1
    out = {"tokens": len(toks), "stop_ratio": stops / a, "weird_ratio": weird / n,
           "symbol_ratio": sym / (nonspace or 1), "short_ratio": short / a}
    out["noise"] = out["weird_ratio"] + out["short_ratio"] / 3 + 5 * out["symbol_ratio"]
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


class OCRQualityFilter(LucieFilter):
    name = "📰 OCR quality (lucie)"

    def __init__(self, language: str = "auto", default_language: str = "fr", max_noise: float = 0.02,
                 min_stop_ratio: float = 0.2, min_tokens: int = 50, annotate_only: bool = False, **kw):
        super().__init__(**kw)
        self.language, self.default_language = language, default_language
        self.max_noise, self.min_stop_ratio, self.min_tokens = max_noise, min_stop_ratio, min_tokens
        self.annotate_only = annotate_only

    def decide(self, s: dict) -> str | None:
        """noise = weird + short/3 + 5 × symbol (weights and threshold: benchmarks/results/ocr.md)."""
        if s["tokens"] < self.min_tokens:  # too short for the ratios to mean anything
            return None
        if s["noise"] > self.max_noise or s["stop_ratio"] < self.min_stop_ratio:
            return "ocr_noisy_text"
        return None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.language == "auto":
            code = code_language(doc)
            if code is not None:  # stop words and symbols of prose: code is not OCR
                return pass_code(self, doc, code, self.annotate_only, self.stage_id or "ocr_quality")
        lang = doc_language(doc, self.default_language) if self.language == "auto" else self.language
        pair = doc.metadata.get("language") if self.language == "auto" else None
        if isinstance(pair, str) and "," in pair and all(x in LANGUAGES for x in pair.split(",")):
            lang = pair  # both members' stop words and number forms
        s = ocr_signals(doc.text, lang)
        reason = self.decide(s)
        if self.annotate_only:
            put_signals(doc, self.stage_id or "ocr_quality", dict(s, would_remove=reason))
            return True
        if reason:  # the removed row carries the signals behind its reason (engineer review)
            put_signals(doc, self.stage_id or "ocr_quality", dict(s, language=lang))
            return False, reason
        return True
