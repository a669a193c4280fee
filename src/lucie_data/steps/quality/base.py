"""What every quality filter shares: per-language presets, ``annotate_only`` and signal bookkeeping."""
from __future__ import annotations

import json
from functools import lru_cache

from datatrove.data import Document

from ..base import LucieFilter

LANGUAGES = ("fr", "en", "de", "es", "it")


@lru_cache(maxsize=1)
def presets() -> dict:
    import yaml

    return yaml.safe_load(_asset_path().read_text(encoding="utf-8"))


def _asset_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "assets" / "quality" / "presets.yaml"


def preset_params(family: str, language: str) -> dict:
    """English values (datatrove's defaults) overlaid with the language's own values."""
    table = presets()[family]
    out = dict(table["en"])
    if language != "en":
        out.update(table.get(language, {}))
    return out


def doc_language(doc: Document, default: str) -> str:
    lang = doc.metadata.get("language")
    if not lang or not isinstance(lang, str):
        return default
    lang = lang.split(",")[0].split("-")[0].split("_")[0].strip().lower()
    return lang if lang in LANGUAGES else default


SKIPPED_CODE = "skipped_code"  # stat `skipped_code:<stage>`, the ledger's `docs_skipped_code` of the stage


def code_language(doc: Document) -> str | None:
    """The document's language when it is code (``code``, ``code:python``), else None."""
    lang = doc.metadata.get("language")
    if isinstance(lang, str):
        low = lang.strip().lower()
        if low == "code" or low.startswith(("code:", "code-")):
            return lang
    return None


def pass_code(step, doc: Document, lang: str, annotate_only: bool, key: str) -> bool:
    """Keep a code document that a prose filter met with ``language: auto``: its presets (stop words, letters per
    word, end punctuation) are natural-language ones, and with them gopher_quality removed 61 of 62 permissive
    source files; Lucie applied no quality filter to The Stack (lucie-dataset.md). Counted, never silent."""
    step.stat_update(f"{SKIPPED_CODE}:{step.stage_id}")
    if annotate_only:
        put_signals(doc, key, {"language": lang, "skipped": "code", "would_remove": None})
    return True


def put_signals(doc: Document, key: str, signals: dict) -> None:
    """Write ``signals`` under ``doc.metadata["quality_signals"][key]``.

    RedPajama-V2 records carry ``quality_signals`` as a JSON string; it is parsed so both live in one dict.
    """
    qs = doc.metadata.get("quality_signals")
    if isinstance(qs, str):
        try:
            qs = json.loads(qs)
        except ValueError:
            qs = {"_raw": qs}
    if not isinstance(qs, dict):
        qs = {} if qs is None else {"_raw": qs}
    qs[key] = signals
    doc.metadata["quality_signals"] = qs


class Verdict:
    """The first rule a document fails. ``fail(reason)`` records it and says whether to stop evaluating:
    when filtering the first failure decides; with ``annotate_only`` (``full``) every signal is computed."""

    __slots__ = ("reason", "full")

    def __init__(self, full: bool):
        self.reason: str | None = None
        self.full = full

    def fail(self, reason: str) -> bool:
        if self.reason is None:
            self.reason = reason
        return not self.full


class QualityFilter(LucieFilter):
    """A filter whose rule values come from a per-language preset (``language: auto`` = the document's).

    Subclasses implement ``evaluate(doc, lang, params, full) -> (signals, reason | None)``; with
    ``annotate_only`` the signals and the would-be reason go to ``quality_signals.<stage>`` and the
    document is kept.
    """

    family = ""

    def __init__(self, language: str = "auto", default_language: str = "en", annotate_only: bool = False,
                 overrides: dict | None = None, **kw):
        super().__init__(**kw)
        self.language = language
        self.default_language = default_language
        self.annotate_only = annotate_only
        self.overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        self._params: dict[str, dict] = {}

    def params(self, lang: str) -> dict:
        p = self._params.get(lang)
        if p is None:
            p = preset_params(self.family, lang)
            p.update(self.overrides)
            p = self._params[lang] = self.prepare(p)
        return p

    def prepare(self, params: dict) -> dict:
        return params

    def lang_of(self, doc: Document) -> str:
        return doc_language(doc, self.default_language) if self.language == "auto" else self.language

    def evaluate(self, doc: Document, lang: str, params: dict, full: bool) -> tuple[dict, str | None]:
        raise NotImplementedError

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self.language == "auto":
            code = code_language(doc)
            if code is not None:  # an explicit `language:` still applies its preset to code
                return pass_code(self, doc, code, self.annotate_only, self.stage_id or self.family)
        lang = self.lang_of(doc)
        signals, reason = self.evaluate(doc, lang, self.params(lang), self.annotate_only)
        if self.annotate_only:
            signals = dict(signals, language=lang, would_remove=reason)
            put_signals(doc, self.stage_id or self.family, signals)
            return True
        if reason:  # the removed row carries the signals behind its reason (computed up to the failing rule):
            # an auditor saw `gopher_rep_top_3_gram` and nothing to check it against (engineer review)
            put_signals(doc, self.stage_id or self.family, dict(signals, language=lang))
            self.stat_update(reason)
            return False, reason
        return True
