"""Quality stages: Gopher, C4, FineWeb heuristics with per-language presets, URL, PII, regex,
boilerplate, KenLM perplexity, OCR noise and Lucie's RedPajama-V2 rules.

Heuristic stages take ``language``: ``auto`` (each document's ``language``, falling back to the
source's first language, then English) or one of fr/en/de/es/it. Thresholds not given in YAML come
from ``assets/quality/presets.yaml`` (each value cites its source). ``annotate_only: true`` keeps every
document and writes the signals into ``quality_signals.<stage>`` so thresholds can be tuned later.
"""
from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from .base import BuildContext, StageSpec

Lang = Literal["auto", "fr", "en", "de", "es", "it"]
_SNAKE = r"^[a-z][a-z0-9_]*$"


def _default_lang(ctx: BuildContext) -> str:
    langs = getattr(ctx.source, "languages", None) or []
    first = str(langs[0]).split(",")[0][:2].lower() if langs else "en"
    return first if first in ("fr", "en", "de", "es", "it") else "en"


class _Heuristic(StageSpec):
    language: Lang = Field("auto", description="preset: auto = each document's language")
    annotate_only: bool = Field(False, description="keep every document, write signals to quality_signals.<stage>")

    _step: str = ""

    def overrides(self) -> dict:
        skip = {"type", "name", "language", "annotate_only"}
        return {k: v for k, v in self.model_dump().items() if k not in skip and v is not None}

    def build(self, ctx: BuildContext):
        import importlib

        mod, cls = self._step.rsplit(".", 1)
        step = getattr(importlib.import_module(f"lucie_data.steps.quality.{mod}"), cls)
        return [step(language=self.language, default_language=_default_lang(ctx), annotate_only=self.annotate_only,
                     overrides=self.overrides(), **ctx.filter_kwargs(self.type))]


def _frac():
    return Field(None, ge=0)


class GopherQualitySpec(_Heuristic):
    """Gopher quality rules (arXiv 2112.11446): word count, word length, symbols, bullets, alpha words, stop words."""

    type: Literal["gopher_quality"]
    min_doc_words: int | None = _frac()
    max_doc_words: int | None = _frac()
    min_avg_word_length: float | None = _frac()
    max_avg_word_length: float | None = _frac()
    max_symbol_word_ratio: float | None = _frac()
    max_bullet_lines_ratio: float | None = _frac()
    max_ellipsis_lines_ratio: float | None = _frac()
    max_non_alpha_words_ratio: float | None = Field(None, ge=0, le=1)
    min_stop_words: int | None = _frac()
    stop_words: list[str] | None = None
    _step = "gopher.GopherQualityFilter"


NGramList = list[tuple[Annotated[int, Field(ge=1)], float]]  # n >= 1: datatrove has no 0-gram rule


class GopherRepetitionSpec(_Heuristic):
    """Gopher repetition rules (arXiv 2112.11446 Table A1): duplicate lines/paragraphs, top and duplicate n-grams."""

    type: Literal["gopher_repetition"]
    dup_line_frac: float | None = _frac()
    dup_para_frac: float | None = _frac()
    dup_line_char_frac: float | None = _frac()
    dup_para_char_frac: float | None = _frac()
    top_n_grams: NGramList | None = None
    dup_n_grams: NGramList | None = None
    _step = "gopher.GopherRepetitionFilter"


class C4QualitySpec(_Heuristic):
    """C4 rules (arXiv 1910.10683): keeps lines ending in punctuation; drops lorem ipsum, curly brackets, < 5 sentences."""

    type: Literal["c4_quality"]
    split_paragraph: bool | None = None
    remove_citations: bool | None = None
    filter_no_terminal_punct: bool | None = None
    min_num_sentences: int | None = Field(None, ge=-1)
    min_words_per_line: int | None = Field(None, ge=-1)
    max_word_length: int | None = Field(None, ge=-1)
    filter_lorem_ipsum: bool | None = None
    filter_javascript: bool | None = None
    filter_curly_bracket: bool | None = None
    filter_policy: bool | None = None
    end_punctuation: list[str] | None = None
    _step = "c4.C4QualityFilter"


class FineWebQualitySpec(_Heuristic):
    """FineWeb rules (arXiv 2406.17557): line punctuation, short lines, duplicated chars, list-like docs."""

    type: Literal["fineweb_quality"]
    line_punct_thr: float | None = _frac()
    line_punct_exclude_zero: bool | None = None
    short_line_thr: float | None = _frac()
    short_line_length: int | None = _frac()
    char_duplicates_ratio: float | None = _frac()
    new_line_ratio: float | None = _frac()
    stop_chars: list[str] | None = None
    _step = "fineweb.FineWebQualityFilter"


class URLFilterSpec(StageSpec):
    """URL rules: datatrove's shipped UT1 blocklist, your `domains`, `keywords`, Lucie's source-dedup presets."""

    type: Literal["url_filter"]
    use_blocklist: bool = Field(True, description="datatrove's shipped UT1 blocklist and banned words")
    domains: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list, description="substrings of the URL that drop the page")
    preset: list[Literal["lucie_fr", "lucie_en", "lucie_other"]] | Literal["lucie_fr", "lucie_en", "lucie_other"] | None = None
    missing_url: Literal["keep", "drop"] = "keep"
    annotate_only: bool = False

    def build(self, ctx: BuildContext):
        from ..steps.quality.url import LUCIE_KEYWORDS, URLQualityFilter

        presets = [self.preset] if isinstance(self.preset, str) else (self.preset or [])
        keywords = list(self.keywords) + [k for p in presets for k in LUCIE_KEYWORDS[p]]
        return [URLQualityFilter(self.use_blocklist, list(self.domains), keywords, self.missing_url,
                                 self.annotate_only, **ctx.filter_kwargs(self.type))]


class PIISpec(StageSpec):
    """E-mails and public IPs replaced (datatrove's regexes); `lucie` picks Lucie's values from a hash of (id, seed)."""

    type: Literal["pii"]
    emails: bool = True
    ips: bool = True
    only_public_ips: bool = True
    replacement: Literal["lucie", "placeholder"] = "lucie"
    email_replacements: list[str] | None = Field(None, min_length=1)
    ip_replacements: list[str] | None = Field(None, min_length=1)

    def build(self, ctx: BuildContext):
        from ..steps.quality.pii import PIIFilter

        em, ip = self.email_replacements, self.ip_replacements
        if self.replacement == "placeholder":
            em, ip = em or ["<email>"], ip or ["<ip>"]
        return [PIIFilter(self.emails, self.ips, self.only_public_ips, em, ip, seed=ctx.seed,
                          **ctx.filter_kwargs(self.type))]


class RegexSpec(StageSpec):
    """Drop documents matching `pattern`, or replace the matches (`action: replace`)."""

    type: Literal["regex"]
    pattern: str
    action: Literal["drop", "replace"] = "drop"
    replacement: str = ""
    reason: str = Field("regex_match", pattern=_SNAKE, description="snake_case removal reason")
    ignore_case: bool = False
    multiline: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"`pattern` is not a valid Python regular expression ({e}); escape special characters "
                             "with a backslash") from None
        return v

    def build(self, ctx: BuildContext):
        from ..steps.quality.regex import RegexFilter

        flags = (re.I if self.ignore_case else 0) | (re.M if self.multiline else 0)
        return [RegexFilter(self.pattern, self.action, self.replacement, self.reason, flags,
                            **ctx.filter_kwargs(self.type))]


class BoilerplateSpec(StageSpec):
    """Removes Project Gutenberg header/footer, Wikipedia category lines, lines repeated ≥ 10 times (Lucie's Theses rule)."""

    type: Literal["boilerplate"]
    gutenberg: bool = True
    wikipedia_categories: bool = True
    repeated_lines: bool = True
    min_repeats: int = Field(10, ge=2)
    min_line_chars: int = Field(10, ge=1)

    def build(self, ctx: BuildContext):
        from ..steps.quality.boilerplate import BoilerplateFilter

        return [BoilerplateFilter(self.gutenberg, self.wikipedia_categories, self.repeated_lines, self.min_repeats,
                                  self.min_line_chars, **ctx.filter_kwargs(self.type))]


class PerplexitySpec(StageSpec):
    """KenLM perplexity: Lucie's document rule (mean or median chunk ppl ≤ threshold) or chunk rule (10 ≤ ppl ≤ 1000)."""

    type: Literal["perplexity"]
    path_fields: ClassVar[tuple[str, ...]] = ("model_path", "sp_model_path")  # resolved + checked at load
    model_path: str = Field(description="KenLM model (.arpa or .bin), e.g. CCNet's fr.arpa.bin")
    sp_model_path: str | None = Field(None, description="SentencePiece model applied before KenLM (CCNet's fr.sp.model)")
    mode: Literal["document", "chunk"] = "document"
    threshold: float = Field(1000.0, gt=0, description="document rule; Lucie: HAL 930, Eurovoc 1500, AmericanStories 2310")
    min_ppl: float = Field(10.0, ge=0)
    max_ppl: float = Field(1000.0, gt=0)
    chunk_chars: int = Field(10_000, ge=100)
    annotate_only: bool = False

    @model_validator(mode="after")
    def _range(self):
        if self.min_ppl >= self.max_ppl:
            raise ValueError("perplexity: `min_ppl` must be below `max_ppl`")
        return self

    def build(self, ctx: BuildContext):
        import os

        from ..errors import InputError
        from ..steps.quality.perplexity import PerplexityFilter

        for p in (self.model_path, self.sp_model_path):
            if p and not os.path.exists(p):
                raise InputError(f"perplexity stage: model file {p!r} does not exist (set `model_path`/`sp_model_path`)")
        return [PerplexityFilter(self.model_path, self.sp_model_path, self.mode, self.threshold, self.min_ppl,
                                 self.max_ppl, self.chunk_chars, self.annotate_only, **ctx.filter_kwargs(self.type))]

    def models(self) -> list[dict]:
        return [{"name": "kenlm", "path": self.model_path}] + (
            [{"name": "sentencepiece", "path": self.sp_model_path}] if self.sp_model_path else [])


class OCRQualitySpec(StageSpec):
    """Noisy-OCR heuristics: stop-word share, broken/mixed tokens, stray symbols, short fragments."""

    type: Literal["ocr_quality"]
    language: Lang = "auto"
    max_noise: float = Field(0.02, ge=0, le=10, description="weird + short/3 + 5 × symbol ratio above which a doc is noisy")
    min_stop_ratio: float = Field(0.2, ge=0, le=1, description="share of stop words among alphabetic tokens")
    min_tokens: int = Field(50, ge=0, description="shorter documents are never judged")
    annotate_only: bool = False

    def build(self, ctx: BuildContext):
        from ..steps.quality.ocr import OCRQualityFilter

        return [OCRQualityFilter(self.language, _default_lang(ctx), self.max_noise, self.min_stop_ratio,
                                 self.min_tokens, self.annotate_only,
                                 **ctx.filter_kwargs(self.type))]


class RedPajamaRulesSpec(StageSpec):
    """Lucie's thresholds over RedPajama-V2 quality signals (ccnet_perplexity, rps_doc_*, is_duplicate)."""

    type: Literal["redpajama_rules"]
    field: str = Field("quality_signals", description="metadata field holding the signals (list it in input.metadata_fields)")
    check_duplicates: bool = True
    missing: Literal["drop", "keep"] = "drop"

    def build(self, ctx: BuildContext):
        from ..steps.quality.redpajama import RedPajamaRulesFilter

        return [RedPajamaRulesFilter(self.field, self.check_duplicates, self.missing, **ctx.filter_kwargs(self.type))]


QUALITY_SPECS = (GopherQualitySpec, GopherRepetitionSpec, C4QualitySpec, FineWebQualitySpec, URLFilterSpec, PIISpec,
                 RegexSpec, BoilerplateSpec, PerplexitySpec, OCRQualitySpec, RedPajamaRulesSpec)
