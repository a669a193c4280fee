"""Small filters and formatters of the foundation stages (datatrove style: a name, typed init, reasons)."""
from __future__ import annotations

from datatrove.data import Document

from .base import LucieFilter

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))  # ZWSP, word joiner, BOM; ZWJ/ZWNJ are kept (scripts need them)


def mark_modified(doc: Document, stage_id: str) -> None:
    """Remember which stages changed the text (a no-derivatives licence must know)."""
    mods = doc.metadata.setdefault("modified_by", [])
    if stage_id not in mods:
        mods.append(stage_id)


class ReadGateFilter(LucieFilter):
    """Sends records the reader could not turn into documents to ``removed/read/`` with the reader's reason."""

    name = "🚪 Read gate"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        reason = doc.metadata.pop("_read_error", None)
        return (False, reason) if reason else True


class NormalizeFilter(LucieFilter):
    """Unicode NFC, mojibake repair (ftfy), control characters, BOMs and zero-width spaces stripped.

    ftfy's cosmetic fixes (curly quotes, full-width characters, ligatures) are off: they change
    legitimate typography, which a pretraining corpus should keep.
    """

    name = "🧽 Normalize"
    _requires_dependencies = ["ftfy"]

    def __init__(self, form: str | None = "NFC", fix_mojibake: bool = True, strip_control: bool = True,
                 strip_zero_width: bool = True, fix_line_breaks: bool = True, **kw):
        super().__init__(**kw)
        self.form = form
        self.fix_mojibake = fix_mojibake
        self.strip_control = strip_control
        self.strip_zero_width = strip_zero_width
        self.fix_line_breaks = fix_line_breaks

    def _config(self):
        import ftfy

        return ftfy.TextFixerConfig(
            unescape_html=False, remove_terminal_escapes=self.strip_control, fix_encoding=self.fix_mojibake,
            restore_byte_a0=self.fix_mojibake, replace_lossy_sequences=self.fix_mojibake,
            decode_inconsistent_utf8=self.fix_mojibake, fix_c1_controls=self.fix_mojibake,
            fix_latin_ligatures=False, fix_character_width=False, uncurl_quotes=False,
            fix_line_breaks=self.fix_line_breaks, fix_surrogates=True, remove_control_chars=self.strip_control,
            normalization=self.form, explain=False,
        )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        import ftfy

        if not hasattr(self, "_cfg"):
            self._cfg = self._config()
        text = ftfy.fix_text(doc.text, self._cfg)
        if self.strip_control:
            text = text.replace("\x00", "")
        if self.strip_zero_width:
            text = text.translate(ZERO_WIDTH)
        if text != doc.text:
            doc.text = text
            mark_modified(doc, self.stage_id)
        if not text.strip():
            return False, "normalize_empty_after_cleaning"
        return True


class MinLengthFilter(LucieFilter):
    """Drops documents shorter than a number of characters or of whitespace-separated words."""

    name = "📏 Min length"

    def __init__(self, min_chars: int = 0, min_words: int = 0, **kw):
        super().__init__(**kw)
        self.min_chars = min_chars
        self.min_words = min_words

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text.strip()
        if len(text) < self.min_chars:
            return False, "min_length_chars"
        if self.min_words and len(text.split()) < self.min_words:
            return False, "min_length_words"
        return True
