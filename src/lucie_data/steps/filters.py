"""Small filters and formatters of the foundation stages (datatrove style: a name, typed init, reasons)."""
from __future__ import annotations

import re
import unicodedata

from datatrove.data import Document

from ..fastpath import compiled
from .base import LucieFilter

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))  # ZWSP, word joiner, BOM; ZWJ/ZWNJ are kept (scripts need them)

# Anything ftfy could change besides Unicode normalisation: control characters (C0 but tab/newline,
# DEL, C1, and the other ones ftfy's remove_control_chars strips: U+206A-206F deprecated format characters,
# U+FFF9-FFFC interlinear annotation; ftfy/chardata.py CONTROL_CHARS), CR and Unicode line separators,
# BOM/zero-width, surrogates, U+FFFD, and the two-character
# signature of UTF-8 read as Latin-1/cp1252 (a lead byte À-ô followed by a continuation byte, which
# cp1252 shows as  -¿ or one of €‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ). Text without any of these is left
# alone by ftfy's fixers, so it only needs NFC; the full ftfy pass runs on the rest.
_NEEDS_FTFY = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200b\u2060\u206a-\u206f\ufeff\ufff9-\ufffd\ud800-\udfff]"
    "|[\xc2-\xf4][\x80-\xbf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039"
    "\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178]"
)


def needs_ftfy_py(text: str) -> bool:
    return _NEEDS_FTFY.search(text) is not None


# the same test character by character in C when the compiled module is there (tests compare both)
needs_ftfy = getattr(compiled(), "needs_ftfy", needs_ftfy_py)


# A necessary condition of ftfy's mojibake test (``ftfy.badness.is_bad``, the gate of its encoding fixes): each
# of the ~37 alternatives of its BADNESS_RE (ftfy/badness.py) matches two adjacent non-ASCII characters (every
# character category it uses is non-ASCII), or one of Ã Â Œ œ next to ASCII, or a C1 control. A line of
# French or German with isolated accents has none of these, so the regex need not run on it: 94 % of the
# 52,887 lines of the flagged documents in the quality benchmark, whose is_bad time goes 0.54 -> 0.08 s.
# Checked for one pattern only (its sha256 below; tests/test_quality.py tries every character the pattern
# names between ASCII ones, and fuzzes): another ftfy's pattern runs is_bad on every line, as before.
_MAYBE_BAD = re.compile(r"[^\x00-\x7f]{2}|[\x80-\x9f\xc2\xc3\u0152\u0153]")
BADNESS_SHA256 = "9dcc0f2ac90d9ae3c85eb7b9b2c0b8a8e8126153847c2b30c91a0bb263f3b8c4"  # ftfy 6.3.1


def maybe_mojibake_py(text: str) -> bool:
    return _MAYBE_BAD.search(text) is not None


maybe_mojibake = getattr(compiled(), "maybe_mojibake", maybe_mojibake_py)


def _is_bad():
    """ftfy's ``is_bad``, behind the necessary condition above when ftfy's pattern is the one it was checked for."""
    import hashlib

    from ftfy.badness import BADNESS_RE, is_bad

    if BADNESS_RE.flags & ~(re.VERBOSE | re.UNICODE) or \
            hashlib.sha256(BADNESS_RE.pattern.encode()).hexdigest() != BADNESS_SHA256:
        return is_bad
    return lambda seg: maybe_mojibake(seg) and is_bad(seg)


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
                 strip_zero_width: bool = True, fix_line_breaks: bool = True, code_settings: dict | None = None, **kw):
        super().__init__(**kw)
        self.form = form
        self.fix_mojibake = fix_mojibake
        self.strip_control = strip_control
        self.strip_zero_width = strip_zero_width
        self.fix_line_breaks = fix_line_breaks
        # a source of prose and code (`languages: [en, code:python]`): a document whose language is code gets these
        # settings instead (NormalizeSpec's `auto`, decided per document as the prose filters do; code review)
        self._code = (NormalizeFilter(**code_settings, stage_id=self.stage_id) if code_settings is not None else None)

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

    def _fix_segments(self, text: str, ftfy) -> str:
        """``ftfy.fix_text`` with the same segments (lines, cut at ``max_decode_length``), ftfy run only on
        those that need it: ftfy fixes segments independently, so the result is identical, and OCR text
        flagged for one ``é¬`` no longer goes through ftfy line by line (tested against fix_text).
        A line needs ftfy if it has the signature or if ftfy's own mojibake test (``is_bad``, which gates
        its encoding fixes) fires: MacRoman, cp437, cp1250... mojibake has no Latin-1 signature."""
        cfg, is_bad, out, pos, n = self._cfg, self._is_bad, [], 0, len(text)
        while pos < n:
            end = text.find("\n", pos) + 1 or n
            end = min(end, pos + cfg.max_decode_length)
            seg = text[pos:end]
            if needs_ftfy(seg) or (cfg.fix_encoding and is_bad(seg)):
                seg = ftfy.fix_text(seg, cfg)
            elif self.form and not unicodedata.is_normalized(self.form, seg):
                seg = unicodedata.normalize(self.form, seg)
            out.append(seg)
            pos = end
        return "".join(out)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        import ftfy

        if self._code is not None and str(doc.metadata.get("language") or "").startswith("code"):
            return self._code.filter(doc)
        if not hasattr(self, "_cfg"):
            self._cfg = self._config()
            self._is_bad = _is_bad()
        text = doc.text
        if not needs_ftfy(text):  # fast path: ftfy would only normalise (see _NEEDS_FTFY)
            if self.form and not unicodedata.is_normalized(self.form, text):
                text = unicodedata.normalize(self.form, text)
        else:
            text = self._fix_segments(text, ftfy)
        if self.strip_control:
            text = text.replace("\x00", "")
        if self.strip_zero_width and ("\u200b" in text or "\u2060" in text or "\ufeff" in text):
            text = text.translate(ZERO_WIDTH)  # translate walks every character: only when one is there
        if not text.strip():  # removed with its original text, as the boilerplate, pii and regex filters do
            return False, "normalize_empty_after_cleaning"
        if text != doc.text:
            doc.text = text
            mark_modified(doc, self.stage_id)
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
