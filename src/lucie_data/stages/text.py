"""Foundation stages: text normalisation and minimum length."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .base import BuildContext, StageSpec


class NormalizeSpec(StageSpec):
    """Unicode NFC, mojibake repair (ftfy), control characters and BOMs stripped (code: BOMs and line breaks only).

    A code source (category `programming` or `code` languages) gets only BOMs, zero-width spaces and line breaks
    fixed by default (``auto``); in a source of prose and code languages, each document by its own language.

    Why not the same for code: its string literals are data. ftfy "repaired" a test's mojibake input
    (``fix_text("Ã©tÃ©")`` became ``fix_text("été")``), stripped terminal escapes from ``puts("\\x1b[1m…")``, NFC
    composed a deliberately decomposed literal (curation review, 2026-11-28); The Stack is not normalised so (Lucie applied none to it), as exact_dedup keeps
    code's whitespace."""

    type: Literal["normalize"]
    # 2 (2026-11-28): `auto` in a source of prose and code languages treats each document by its own language; the
    # first `auto`, the same day, treated the whole source as prose
    revision: ClassVar[int] = 2

    def revised_for(self, recipe) -> bool:
        """Revision 2 changed `auto` in a source of prose and code languages only."""
        return recipe.mixes_code_and_prose and "auto" in (self.form, self.fix_mojibake, self.strip_control)
    form: Literal["NFC", "NFKC", "NFD", "NFKD", "auto"] | None = Field(
        "auto", description="Unicode normal form; null keeps it; auto: NFC, but null in a code source")
    fix_mojibake: bool | Literal["auto"] = Field("auto", description="ftfy's repairs; auto: true, but false in a code "
                                                 "source")
    strip_control: bool | Literal["auto"] = Field("auto", description="control characters and terminal escapes "
                                                  "removed; auto: true, but false in a code source")
    strip_zero_width: bool = Field(True, description="zero-width spaces and BOMs removed (U+200B, U+2060, U+FEFF)")
    fix_line_breaks: bool = Field(True, description="CRLF and CR become LF")

    def settings(self, is_code: bool) -> dict:
        """The options as they apply to a source (``auto`` resolved)."""
        def pick(value, prose):
            return value if value != "auto" else (None if is_code and prose == "NFC" else
                                                  False if is_code else prose)

        return {"form": pick(self.form, "NFC"), "fix_mojibake": pick(self.fix_mojibake, True),
                "strip_control": pick(self.strip_control, True), "strip_zero_width": self.strip_zero_width,
                "fix_line_breaks": self.fix_line_breaks}

    def build(self, ctx: BuildContext):
        from ..steps.filters import NormalizeFilter

        src = ctx.source
        if src.mixes_code_and_prose:  # (prose and code documents: `auto` decided per document, by its language)
            return [NormalizeFilter(**self.settings(False), code_settings=self.settings(True),
                                    **ctx.filter_kwargs(self.type))]
        return [NormalizeFilter(**self.settings(src.is_code), **ctx.filter_kwargs(self.type))]


class MinLengthSpec(StageSpec):
    """Drop documents shorter than ``min_chars`` characters or ``min_words`` words."""

    type: Literal["min_length"]
    min_chars: int = Field(0, ge=0)
    min_words: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _one(self):
        if not self.min_chars and not self.min_words:
            raise ValueError("min_length needs `min_chars` or `min_words` above 0")
        return self

    def build(self, ctx: BuildContext):
        from ..steps.filters import MinLengthFilter

        return [MinLengthFilter(self.min_chars, self.min_words, **ctx.filter_kwargs(self.type))]
