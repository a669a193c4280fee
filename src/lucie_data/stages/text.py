"""Foundation stages: text normalisation and minimum length."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import BuildContext, StageSpec


class NormalizeSpec(StageSpec):
    """Unicode NFC, mojibake repair (ftfy), control characters and BOMs stripped."""

    type: Literal["normalize"]
    form: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = Field("NFC", description="Unicode normal form; null keeps it")
    fix_mojibake: bool = True
    strip_control: bool = True
    strip_zero_width: bool = True
    fix_line_breaks: bool = Field(True, description="CRLF and CR become LF")

    def build(self, ctx: BuildContext):
        from ..steps.filters import NormalizeFilter

        return [NormalizeFilter(form=self.form, fix_mojibake=self.fix_mojibake, strip_control=self.strip_control,
                                strip_zero_width=self.strip_zero_width, fix_line_breaks=self.fix_line_breaks,
                                **ctx.filter_kwargs(self.type))]


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
