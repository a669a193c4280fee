"""One reader for the six input types, built so that no record is lost silently.

A record that cannot become a document (bad JSON, bad UTF-8, empty or non-string text, a truncated or
corrupt file) still comes out as a `Document` flagged with ``_read_error``; the ``read`` gate that
follows sends it to ``removed/read/`` with that reason. Files are split over tasks by file when there
are enough of them, otherwise records are striped (record i goes to task i % tasks), so a single large
file still uses every worker and the split never depends on the number of workers.
"""
from __future__ import annotations

import bz2
import gzip
import io
import json
import logging
import lzma
import contextlib
import os
import re
import zlib
from collections.abc import Collection
from typing import Any, Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from ..languages import UNKNOWN, normalize_language
from ..licenses import normalize_license

try:
    from zstandard import ZstdError
except ImportError:  # pragma: no cover - zstandard is a dependency; without it no .zst file opens anyway
    class ZstdError(Exception):
        pass

# what reading a compressed input can raise on a cut or corrupt file (gzip's and zstandard's errors alike); zlib.error is
# deflate data damaged mid-stream ("invalid distance too far back"; review: it failed the whole source, file unnamed)
DECOMPRESS_ERRORS = (EOFError, OSError, gzip.BadGzipFile, ZstdError, zlib.error, lzma.LZMAError)
# of those, the ones that say the bytes are wrong, not cut short: a CRC or length mismatch, damaged deflate or zstd
# data (review: a CRC mismatch was reported as `read_truncated_file`)
CORRUPT_ERRORS = (gzip.BadGzipFile, zlib.error, ZstdError, lzma.LZMAError)

FILE_LEVEL_REASONS = {"read_truncated_file", "read_corrupt_file", "read_binary_file", "read_dataset_unavailable",
                      "read_dataset_interrupted", "read_unreadable_file"}


_LONE_CR = re.compile(rb"\r(?!\n)")


def _jsonl_lines(f) -> Iterator[bytes]:
    """The lines of a JSONL file as UTF-8 bytes, whatever its line ends or Unicode encoding form (bad-input review: a
    UTF-16 file gave one `read_invalid_utf8` per line, and a file with old Mac line ends, CR alone, was one record
    removed as `read_truncated_record`). A UTF-16 byte order mark at the start switches to a decoding reader; a
    CR not followed by LF ends a line wherever it is, as in Python's universal newlines (review 41: only a "line"
    without a final LF was cut at its CRs, so a CR-ended file ending in one LF was one record; a raw CR cannot be
    inside a JSON string).
    A lone surrogate code unit in UTF-16 passes decoding (``surrogatepass``) and makes its line alone fail the
    reader's UTF-8 step (review 41: the strict decoder failed its whole chunk, and every line after it was lost as
    `read_truncated_file`)."""
    head = f.peek(4)[:2] if hasattr(f, "peek") else b""
    if head in (b"\xff\xfe", b"\xfe\xff"):
        text = io.TextIOWrapper(f, encoding="utf-16", errors="surrogatepass", newline=None)
        yield from (line.encode("utf-8", "surrogatepass") for line in text)
        return
    for bline in f:
        if b"\r" in bline and not (bline.endswith(b"\r\n") and bline.count(b"\r") == 1):  # (CRLF lines as they are)
            *parts, last = _LONE_CR.split(bline)
            yield from (part + b"\n" for part in parts)
            if last:  # (the text after the last lone CR: a line ending in LF, or the file's unended last line)
                yield last
        else:
            yield bline


def _bad_bz2(exc: BaseException) -> bool:
    """bz2's damaged data: a plain OSError (its cut stream is an EOFError, as gzip's and zstd's)."""
    return type(exc) is OSError and "Invalid data stream" in str(exc)


def unreadable(exc: BaseException, reason: str) -> str:
    """``read_unreadable_file`` for a file the build was not allowed to read (PermissionError): not damaged, and
    readable once its permissions are fixed, so its source is retried by the next build (runner.RETRY_REASONS; code
    review: fixed with chmod, the file was never read, the source "up to date"); else ``reason``."""
    return "read_unreadable_file" if isinstance(exc, PermissionError) else reason
_UNPARSABLE = object()  # a JSON-string field that did not parse (metadata_fields dotted paths)
MAX_RAW_CHARS = 20_000  # raw snippet kept for an unreadable record, enough for an auditor to see the problem
# recipe options that name a record field, checked on every record (reader stat ``field_missing:<option>``);
# the ledger decides which ones to warn about (url/title/date only when the recipe sets them)
MAPPED_FIELD_OPTIONS = ("text_field", "id_field", "license_field", "language_field", "url_field", "title_field",
                        "date_field")
def _http_status(record) -> str | None:
    """A WARC response's HTTP status line when it is not a success (2xx), else None (a ``conversion`` record, or
    a response without HTTP headers, has none to check)."""
    headers = getattr(record, "http_headers", None)
    line = getattr(headers, "statusline", None) if headers is not None else None
    if not line or record.rec_type != "response":
        return None
    code = str(line).split(" ", 1)[0]
    return None if code.startswith("2") else str(line).strip()[:80]


FIELD_SAMPLE_RECORDS = 3  # records per task whose field names are recorded (``record_fields:<name>``)


def is_license_field(name: str) -> bool:
    """A record field that by its name states a licence (``license``, ``licence``, ``license_id``, ``spdx``...)."""
    low = name.lower()
    return "licen" in low or low in ("spdx", "spdx_id", "rights")
MAX_NAMED_VALUES = 10  # distinct raw values / file names named in stats per task (the counts are complete)
NO_SIDECAR_EVIDENCE = "recipe:no_sidecar_row"  # the recipe's licence, given to a page the sidecar has no row for
NO_FIELD_EVIDENCE = "recipe:no_license_field"  # the recipe's licence, given to a record whose license_field is empty
# lists/objects within each other a record's field may hold (a value ``[]`` is 1 deep): deeper records are removed as
# ``read_too_deep``. Python's JSON parser and every recursive walk of a value (cleaning it, writing it as JSON) fail
# with RecursionError near 1,000 levels, at a depth that depends on the stack: review 29, one valid line nested 5,000
# deep (or 900 in a `metadata_fields` field) failed the whole source on every rerun. A fixed limit gives the same
# result whatever the stack (rule 4); real metadata nests a few levels.
MAX_NESTING = 100


def sidecar_lines(sidecar_path: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of a sidecar's non-blank lines, decoded as UTF-8 with an optional BOM on the first line
    (a file saved by Windows tools). The one decoding of a sidecar: the load-time check (``recipe.check_sidecar``)
    and the reader both use it, so a file the check accepts is a file the reader can read. Raises
    UnicodeDecodeError (with the line in ``lucie_line``) and OSError."""
    with open(sidecar_path, "rb") as f:
        for n, bline in enumerate(f, start=1):
            if not bline.strip():
                continue
            try:
                yield n, bline.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                e.lucie_line = n
                raise


def sidecar_key_of(path: str, sidecar_path: str) -> str:
    """The key an input file is looked up by in a sidecar: its path relative to the sidecar's folder,
    normalised (``./html/a.html`` = ``html/a.html``). Shared by the load-time check (recipe.py) and the reader.
    Both sides with symlinks resolved: input paths are (recipe.resolve_paths), and a sidecar reached through a
    symlinked folder or ``..`` gave keys like ``../../htmlreal/x.html`` that matched nothing (code review)."""
    return os.path.normpath(os.path.relpath(os.path.realpath(path), os.path.dirname(os.path.realpath(sidecar_path))))


def map_language(value: Any, is_code: bool, mixed: Collection[str] = ()) -> str | None:
    """A record's language value as the code a build writes, or None when it names no language.

    :func:`languages.normalize_language`, the one reading recipe validation uses too: ``code``/``code:<lang>``
    kept (lower-cased); in a code recipe any other string is a programming language (``Python`` ->
    ``code:python``), and in a recipe of prose and code languages (``mixed``: its languages) when it names no
    natural language (rv52); otherwise ``French``, ``Français``, ``FR``, ``fr-FR``, ``fr-Latn-FR``, ``fra``, ``iw``
    (→ ``he``) name one language, ``fr,EN`` and ``fr-en`` a pair (``fr,en``; ``pt-BR``, ``zh-TW`` are regions);
    a value that is not a string, names no language, three languages, a pair of one language (``fr,fr``),
    ``und``, ``mul`` or ``zxx`` gives None (unknown)."""
    return normalize_language(value, is_code, mixed)


def clean_str(s: str) -> str:
    """Make ``s`` encodable as UTF-8 (lone surrogates from JSON escapes become U+FFFD)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _has_value(v: Any) -> bool:
    """A field value the reader uses (as it always has for licences): not null, not NaN (a missing value in a float
    column), not the empty string."""
    return v is not None and v != "" and not (isinstance(v, float) and v != v)


def _too_deep(v: Any, limit: int = MAX_NESTING) -> bool:
    """Whether ``v`` nests lists/objects more than ``limit`` levels deep; walked without recursion (a recursive walk
    is what fails on such a value)."""
    if not isinstance(v, (dict, list, tuple)):
        return False
    stack = [(v, 1)]
    while stack:
        cur, depth = stack.pop()
        if depth > limit:
            return True
        for x in (cur.values() if isinstance(cur, dict) else cur):
            if isinstance(x, (dict, list, tuple)):
                stack.append((x, depth + 1))
    return False


_TOO_DEEP = object()  # a JSON-string field too deep to parse (metadata_fields dotted paths)

# a JSON string (with its escapes) or a bracket: what the depth of a JSON text is counted on
# (a string not closed, in a cut record, runs to the end of the text: tried from each escaped quote instead, the scan
# was quadratic, 140 s on a cut 1.1 MB line; code review)
_JSON_DEPTH_TOKENS = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)|[\[\]{}]')
# lines nested deeper than this are removed under their position without being parsed; those between MAX_NESTING and
# this are parsed (Python's parser then uses at most this many of the ~1,000 recursion levels, whatever the stack
# under the reader: deterministic) and removed with their own id, licence and field names (:meth:`_too_deep_error`)
PARSE_NESTING_LIMIT = 400


def json_too_deep(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` nests lists/objects more than ``limit`` levels (the outermost counts 1), counted on its
    brackets outside strings, before parsing: whether the parser itself fails with RecursionError depends on how
    deep the stack already is (code review: a line nested 960 deep was removed with its own id under one stage and
    as ``<file>:<line>`` under 25), so the verdict is this count's, the same on every machine (rule 4). Cheap when the
    text holds few brackets, which is checked first."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for m in _JSON_DEPTH_TOKENS.finditer(text):
        c = m.group()
        if c == "[" or c == "{":
            depth += 1
            if depth > limit:
                return True
        elif c == "]" or c == "}":
            depth -= 1
    return False


def _clean_value(v: Any) -> Any:
    if isinstance(v, str):
        return clean_str(v)
    if isinstance(v, (int, float, bool)) or v is None:
        return v
    if isinstance(v, dict):
        return {clean_str(str(k)): _clean_value(x) for k, x in v.items()}  # keys too (review 29: a surrogate key)
    if isinstance(v, (list, tuple)):
        return [_clean_value(x) for x in v]
    return clean_str(str(v))


class _ZstdFile(io.RawIOBase):
    """A ``.zst`` file decompressed frame after frame, that fails as gzip does: ``EOFError`` when the file ends
    inside a frame (zstandard's stream_reader stops there quietly: a cut file lost its last records without a
    word, code review), ``zstandard.ZstdError`` on bytes that are not zstd (caught with gzip's errors)."""

    CHUNK = 1 << 17
    # the largest window the format allows (`zstd --long=31`), not zstandard's default 128 MiB: a valid file made
    # with a longer window was quarantined as `read_corrupt_file` (rv58 F7). Only a frame declaring such a window
    # pays for it, up to the smaller of its window and its content (measured: 111 MB RSS for a 50 MB `--long=31`
    # file, 523 MB for 512 MiB of random bytes; an ordinary file's memory is unchanged)
    MAX_WINDOW = 1 << 31

    def __init__(self, path: str):
        import zstandard

        super().__init__()
        self._f = open(path, "rb")
        self._dctx = zstandard.ZstdDecompressor(max_window_size=self.MAX_WINDOW)
        self._obj = None  # the decompressor of the frame being read, None between frames
        self._pending = b""  # compressed bytes after the end of the last frame, not yet fed
        self._out = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        data = self._pending or self._f.read(self.CHUNK)
        self._pending = b""
        if not data:
            self._done = True
            if self._obj is not None:  # a frame begun and never finished: the file was cut
                raise EOFError("Compressed file ended before the end-of-frame marker was reached")
            return
        if self._obj is None:
            self._obj = self._dctx.decompressobj()
        out = self._obj.decompress(data)
        if self._obj.eof:  # the frame is whole; what follows it is the next frame
            self._pending = self._obj.unused_data
            self._obj = None
        self._out = memoryview(out)

    def readinto(self, b) -> int:
        while not len(self._out):
            if self._done:
                return 0
            self._fill()
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


def open_maybe_compressed(path: str) -> io.BufferedIOBase:
    """``path`` opened for reading, decompressed as its extension says, in any case (review 41: a ``.JSONL.GZ`` or
    ``.ZST`` was read as raw bytes, its records lost as garbage "lines"; fsspec's ``infer_compression``, which
    datatrove's readers use, lower-cases the extension)."""
    low = path.lower()
    if low.endswith(".gz"):
        return gzip.open(path, "rb")
    if low.endswith((".zst", ".zstd")):
        # buffered: a bare raw stream cannot be iterated by line (every .jsonl.zst was a corrupt file)
        return io.BufferedReader(_ZstdFile(path))
    # bz2 and xz, as datatrove's readers infer them from the extension (bad-input review: a .jsonl.bz2 was read as
    # plain text, one `read_invalid_utf8` per garbage line)
    if low.endswith(".bz2"):
        return bz2.open(path, "rb")
    if low.endswith((".xz", ".lzma")):
        return lzma.open(path, "rb")
    return open(path, "rb")


# A text file is not text when more than this share of its characters, once decoded, are control characters
# (NUL…) or bytes no encoding could decode (U+FFFD), and there are more than NOT_TEXT_MIN_CHARS of them. Measured:
# the real texts of tests/data and /work/shared/corpora have none (0 %); binary files read as text have 8-60 %
# control characters (random bytes, gzip, PDF, Parquet, ELF, .pyc) and random bytes ~45 % U+FFFD; a real text
# with a few stray bytes of another encoding has a handful (kept, with ``read_note: undecodable_bytes_replaced``).
NOT_TEXT_SHARE = 0.01
NOT_TEXT_MIN_CHARS = 3
# C0 control characters no text uses: all but tab, LF, VT, FF, CR, and backspace (overstrike), ESC (ANSI colours),
# SUB (the DOS end-of-file mark) that real plain-text files do carry
_NOT_TEXT_CONTROLS = frozenset(chr(c) for c in range(32)) - set("\t\n\v\f\r\x08\x1b\x1a")


def control_chars(text: str) -> int:
    """How many characters of ``text`` are control characters that no text uses (NUL and the like)."""
    return sum(text.count(c) for c in _NOT_TEXT_CONTROLS)


def _too_many(n: int, text: str) -> bool:
    return n > NOT_TEXT_MIN_CHARS and n > NOT_TEXT_SHARE * len(text)


# Languages written in Windows-1252 / ISO-8859-1 when not in UTF-8. A non-UTF-8 text of a recipe in these languages
# is tried in cp1252 before charset_normalizer, which guesses wrong on short Western texts (code review: real
# ELTeC French excerpts read as cp775, "é" -> "ķ", or cp1250, "à" -> "ŕ", and kept).
WESTERN_LANGUAGES = frozenset("fr en de es it pt nl ca oc br co eu gl da sv no nb nn is fo fi ga gd lb la af sq wa "
                              "rm fy".split())
# typographic characters of cp1252 / Latin-1 a Western text uses besides its letters
_WESTERN_SIGNS = frozenset("«»‹›‘’‚“”„–—…•·°§¶©®™€£¥¢¤¦¨¬¯±×÷¿¡ªº¹²³µ¼½¾†‡‰´¸\xa0\xad")
_UTF8_SEQ = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _western_languages(languages) -> bool:
    """Whether every language of a recipe is written in Windows-1252 / ISO-8859-1 (pairs ``fr,en`` included)."""
    codes = [c.strip() for lang in (languages or ()) if isinstance(lang, str) for c in lang.split(",")]
    return bool(codes) and all(c in WESTERN_LANGUAGES for c in codes)


def _decode_western(data: bytes) -> tuple[str, str] | None:
    """``data`` (not UTF-8) decoded as ISO-8859-1 (no byte 0x80-0x9F) or Windows-1252 when it reads as a Western
    text in them: no byte cp1252 leaves undefined, no control character, not UTF-8 with a few stray bytes (most of
    its non-ASCII bytes form UTF-8 sequences), and its non-ASCII characters are letters or typographic signs
    (accents, quotes, dashes) making up a modest share of the text. None otherwise (charset_normalizer decides)."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    if control_chars(text):
        return None
    high = sum(1 for b in data if b >= 0x80)
    seqs = _UTF8_SEQ.findall(data)
    if len(seqs) > max(2, 0.05 * high):  # UTF-8 text with stray bytes: its own path (undecodable_bytes_replaced)
        return None
    non_ascii = [c for c in text if ord(c) >= 0x80]
    if len(non_ascii) > 0.3 * len(text):
        return None
    odd = sum(1 for c in non_ascii if not c.isalpha() and c not in _WESTERN_SIGNS)
    if odd > max(2, 0.1 * len(non_ascii)):
        return None
    if any(0x80 <= b < 0xA0 for b in data):
        return text, "decoded_from_cp1252"
    return text, "decoded_from_latin_1"  # the same characters: ISO-8859-1 names it (as charset_normalizer did)


# read_note of a text file cut inside its last UTF-8 sequence (a copy or download stopped short): the partial
# character is dropped and the document kept; the ledger's read_checks count and name such files, and warn
TRUNCATED_UTF8 = "truncated_utf8_sequence_dropped"


def undecodable_bytes(data: bytes) -> int:
    """How many bytes of ``data`` are not UTF-8 (each run of them becomes one U+FFFD when decoded with
    ``errors="replace"``; a U+FFFD the data already holds is not counted)."""
    text = data.decode("utf-8", "replace")
    inserted = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    return len(data) - len(text.encode("utf-8")) + 3 * inserted


def _mostly_utf8(data: bytes) -> bool:
    """Whether ``data``, not valid UTF-8, is UTF-8 with stray bytes: its valid multi-byte UTF-8 sequences outnumber
    the bytes UTF-8 cannot decode. A text in a legacy 8-bit or double-byte charset has next to no valid sequences
    ("é" in Latin-1 is one byte before ASCII); review 29: a UTF-8 book with one stray byte went to the charset
    guesser, which read it all as ISO-8859-10, every "é" as "ÃĐ"."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16/32 byte order marks
        return False
    return len(_UTF8_SEQ.findall(data)) > undecodable_bytes(data)


def decode_text_file(data: bytes, languages=None) -> tuple[str, str | None]:
    """Decode a plain-text file: UTF-8 (BOM stripped); a sequence cut at the very end is dropped; a file that
    starts with a UTF-8 BOM, or is mostly UTF-8 (:func:`_mostly_utf8`), is UTF-8 with its stray bytes replaced by
    U+FFFD (``undecodable_bytes_replaced``); anything else is decoded as Windows-1252 / ISO-8859-1 when the recipe's
    ``languages`` are all Western European and the bytes read as such (:func:`_decode_western`), otherwise with the
    detected charset; valid UTF-8 full of NULs is tried as UTF-16 without a BOM. Returns (text, note);
    :func:`not_text` then says whether the result is text at all."""
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    utf8 = None
    try:
        utf8 = data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start >= len(data) - 3 and e.reason == "unexpected end of data":
            return data[: e.start].decode("utf-8"), TRUNCATED_UTF8
        if bom or _mostly_utf8(data):  # a BOM says UTF-8: the guesser's charset would garble every accent
            return data.decode("utf-8", "replace"), "undecodable_bytes_replaced"
    if utf8 is not None:
        if _too_many(utf8.count("\x00"), utf8):  # ASCII text in UTF-16 without a BOM is valid UTF-8, half NULs
            for enc, high in (("utf_16_le", data[1::2]), ("utf_16_be", data[0::2])):
                if high.count(0) >= 0.95 * len(high):
                    return data.decode(enc, "replace"), f"decoded_from_{enc}"
        return utf8, None  # not_text judges a file full of NULs
    if _western_languages(languages):
        western = _decode_western(data)
        if western:
            return western
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return data.decode("utf-8", "replace"), "undecodable_bytes_replaced"
    return str(best), f"decoded_from_{best.encoding}"


_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]{1,40})""", re.IGNORECASE)
# labels browsers read as another, larger charset (WHATWG Encoding Standard, "encodings" table): a page declaring
# ISO-8859-1 is decoded as windows-1252, Shift_JIS as its Windows superset
_WHATWG_SUPERSET = {"iso8859-1": "cp1252", "ascii": "cp1252", "iso8859-9": "cp1254", "shift_jis": "cp932",
                    "gb2312": "gb18030", "gbk": "gb18030", "euc_kr": "cp949", "iso8859-11": "cp874", "tis-620": "cp874"}
# the legacy charsets of the WHATWG Encoding Standard (as Python names them): a <meta> naming anything else (a codec
# Python has but no browser reads as a page's charset: idna, rot13, base64…) is no declaration (second code review: a
# page declaring `idna` failed its whole source); a `utf-16` label means UTF-8 there, as in browsers
_WHATWG_LEGACY = frozenset({
    "cp1252", "iso8859-1", "ascii", "iso8859-2", "iso8859-3", "iso8859-4", "iso8859-5", "iso8859-6", "iso8859-7",
    "iso8859-8", "iso8859-9", "iso8859-10", "iso8859-11", "iso8859-13", "iso8859-14", "iso8859-15", "iso8859-16",
    "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp866", "cp874", "koi8-r",
    "koi8-u", "mac-roman", "mac-cyrillic", "tis-620", "shift_jis", "cp932", "euc_jp", "iso2022_jp", "gb2312", "gbk",
    "gb18030", "big5", "big5hkscs", "euc_kr", "cp949"})


# "All rights reserved" in the languages of the corpora: a page whose footer says it does not put its text under the
# CC licence a link of it names (an icon's or a photo's credit, a theme's)
_RESERVED = re.compile(r"all rights reserved|alle rechte vorbehalten|tous droits r[ée]serv[ée]s|todos los derechos "
                       r"reservados|tutti i diritti riservati|alle rechten voorbehouden", re.IGNORECASE)
_CC_LINK = re.compile(r"creativecommons\.org/(?:licenses|licences|publicdomain)/([a-z-]+)(?:/(\d\.\d))?", re.IGNORECASE)
# words of an image's, an icon's or a font's credit just before a CC link, in the visible text (en, fr, de, es, it)
_MEDIA_CREDIT = re.compile(r"\b(?:photos?|photograph(?:y|ed)?|images?|icons?|pictures?|graphics?|font awesome|"
                           r"illustrations?|fotos?|fotograf[íi]as?|bild|bilder|beitragsbild|titelbild|grafik|abbildung|"
                           r"symbol|imagen|immagine|cr[ée]dits?|wikimedia commons|flickr|unsplash)\b", re.IGNORECASE)
# words of a statement that the page's own content is under the licence linked next (en, fr, de, es, it)
_OWN_STATEMENT = re.compile(r"licen[cs]ed under|under (?:a|the) (?:creative commons|cc)\b|unter (?:der|einer|den) "
                            r"[^.]{0,60}lizenz|lizenziert|sous (?:la |une )?licence|mis[e]? à disposition selon|bajo "
                            r"(?:una|la) licencia|sotto (?:una|la) licenza|stehen unter", re.IGNORECASE)
_INVISIBLE = re.compile(r"(?is)<head\b.*?</head>|<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->")
_TAG = re.compile(r"(?s)<[^>]*>")
_FOOTER = re.compile(r"(?is)<footer\b.*?</footer>")


def _visible(html: str) -> str:
    return " ".join(_TAG.sub(" ", _INVISIBLE.sub(" ", html)).split())


def _cc_spdx(kind: str, version: str) -> str:
    kind = kind.lower()
    if kind == "zero":
        return "CC0-1.0"
    if kind == "mark":
        return f"CC-PDM-{version or '1.0'}"
    return f"CC-{kind.upper()}-{version}" if version else f"CC-{kind.upper()}"


def license_link_doubt(html: str | bytes, detected: str | None = None) -> str | None:
    """Why a Creative Commons link trafilatura took for the page's licence (``detected``) may not be it, or None.
    trafilatura takes the first ``rel=license`` link anywhere, or a CC link in the footer (web review: a Font Awesome
    icon credit and a photo caption made two "all rights reserved" pages CC-BY-4.0 and CC-BY-SA-2.0, kept under a
    policy denying unverified licences; an image's CC-BY link won over the article's BY-NC-ND one).

    Read on the visible text before each CC link, not the markup (second code review: creativecommons.org's own badge
    classes, a CMS's DC.rights meta and a photo credit beside Wikimedia's footer licence were taken for doubts). A
    link after words of an image's, icon's or font's credit is a credit; one after words saying the page's content
    is under it ("licensed under", "steht unter der Lizenz"…) is the page's own. Doubt: the page's footer (its
    ``<footer>``, else its last 1,500 visible characters) says "all rights reserved"; the page's own links name
    several licences (with no statement picking one); every CC link is a credit; the detected licence is none of the
    page's own links (it came from a credit)."""
    from ..licenses import normalize_license

    page = html.decode("latin-1") if isinstance(html, bytes) else html
    footers = _FOOTER.findall(page)
    tail = " ".join(_visible(f) for f in footers) if footers else _visible(page)[-1500:]
    if _RESERVED.search(tail):
        return "the page's footer says \"all rights reserved\""
    own, stated, credits = set(), set(), 0
    prev = 0
    for m in _CC_LINK.finditer(page):  # the words before a link, back to the previous link at most
        window, prev = page[max(prev, m.start() - 600):m.start()], m.end()
        gt, lt = window.find(">"), window.find("<")
        if gt != -1 and (lt == -1 or gt < lt):  # the window starts inside a tag: from its end
            window = window[gt + 1:]
        window = window[:window.rfind("<")] if "<" in window else window  # (the link's own opening tag)
        before = _visible(window)[-120:]
        key = (m.group(1).lower(), m.group(2) or "")
        if _OWN_STATEMENT.search(before):
            stated.add(key)
        elif _MEDIA_CREDIT.search(before):
            credits += 1
        else:
            own.add(key)
    own = stated if len(stated) == 1 else own | stated
    versioned = {k for k, v in own if v}
    own = {(k, v) for k, v in own if v or k not in versioned}  # an unversioned link beside its versioned one: the same
    if len(own) > 1:
        return ("the page links to several Creative Commons licences ("
                + ", ".join(f"{k}/{v}" if v else k for k, v in sorted(own)) + "): which one covers the text is not clear")
    if credits and not own:
        return "its Creative Commons links credit images, icons or fonts"
    if own and detected:
        spdx = normalize_license(detected)
        mine = {_cc_spdx(k, v) for k, v in own}
        if spdx.startswith("CC") and spdx not in mine and not any(spdx.startswith(f"{m}-") for m in mine):  # (ported)
            return (f"the detected licence ({spdx}) is not the one the page's own link names ({', '.join(sorted(mine))}):"
                    " it came from an image's or another part's credit")
    return None


_TAG_A_OR_LINK = re.compile(r"<(?:a|link)\b[^>]{0,500}>", re.IGNORECASE)
_REL_LICENSE = re.compile(r"""\brel\s*=\s*["']?[^"'>]*\blicen[cs]e\b""", re.IGNORECASE)
_HREF_CC = re.compile(r"""\bhref\s*=\s*["']?((?:https?:)?//(?:www\.)?creativecommons\.org/[^"'\s>]+)""", re.IGNORECASE)


def page_licence_link(html: str | bytes, detected: str | None) -> str | None:
    """The page's own ``rel="license"`` Creative Commons link (``<a>`` or ``<link>``, head included) where it says more
    than trafilatura's ``detected`` text (web review: a licence only in ``<link rel=license>`` in the head was missed;
    `by-nd/3.0/de/` became CC-BY-ND-3.0, its country lost): the link, when trafilatura found nothing and the page's
    rel=license links name one licence, or when that one licence is the detected one's ported version. Else None."""
    from ..licenses import UNKNOWN, normalize_license

    page = html.decode("latin-1") if isinstance(html, bytes) else html
    links: dict[str, str] = {}
    for tag in _TAG_A_OR_LINK.findall(page):
        href = _HREF_CC.search(tag) if _REL_LICENSE.search(tag) else None
        if href:
            url = href.group(1) if not href.group(1).startswith("//") else "https:" + href.group(1)
            spdx = normalize_license(url)
            if spdx != UNKNOWN and not spdx.startswith("LicenseRef-"):
                links.setdefault(spdx, url)
    if len(links) != 1:
        return None
    (spdx, url), = links.items()
    if not detected:
        return url
    said = normalize_license(detected)
    return url if spdx != said and spdx.startswith(f"{said}-") else None


_FILE_MAGIC = ((b"%PDF", "a PDF file"), (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"),
               (b"\xff\xd8\xff", "a JPEG image"), (b"PK\x03\x04", "a ZIP archive (or an office document)"),
               (b"PAR1", "a Parquet file"), (b"\x7fELF", "an executable"))


def not_html(page: str | bytes) -> tuple[str, bool] | None:
    """What a file given as an HTML page is instead, and whether it is binary, or None when it may be HTML: read
    where trafilatura found no document in it, to say so rather than pass on its error."""
    head = page[:2048] if isinstance(page, bytes) else page[:2048].encode("utf-8", "replace")
    for magic, what in _FILE_MAGIC:
        if head.startswith(magic):
            return what, True
    text = head.lstrip().lower()
    if text.startswith((b"{", b"[")):
        return "JSON data", False
    if text.startswith(b"<?xml") and b"<html" not in text:
        return "an XML document (an RSS or Atom feed?)", False
    if b"<" not in head:
        return "plain text without markup", False
    return None


# How deep an html page's elements may nest: libxml2 stops there with XML_PARSE_HUGE (from 2.14 at least; 256
# without it), and the reader checks it itself with an older libxml2, which has no cap (the same pages kept or
# removed whatever libxml2 the build runs with)
MAX_HTML_DEPTH = 2048
_HUGE_ADVICE = re.compile(r",? *(?:use|try) XML_PARSE_HUGE(?: option)?")
_HUGE_PARSER = None


@contextlib.contextmanager
def whole_page_parsing():
    """trafilatura's own HTML parser with ``huge_tree`` (XML_PARSE_HUGE), for the time of one extraction; yields it.

    Without it libxml2 stops at elements nested 256 deep, or at a text node or attribute over 10 MB, and returns
    what it read so far, without raising (scale review: a page of 400 never-closed ``<font>`` tags kept 55,149 of its
    84,471 characters, 300 nested ``<div>`` kept "I"). trafilatura parses with its module's ``HTML_PARSER``, and
    parses again inside the extraction (its readability fallback re-reads its summary), so that parser is the one
    replaced (same options otherwise: the same tree for every page within the old limits). Its ``error_log`` says
    whether the last parse stopped early (:func:`parse_stopped`)."""
    from lxml.html import HTMLParser
    from trafilatura import utils

    global _HUGE_PARSER
    if _HUGE_PARSER is None:
        _HUGE_PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                                  remove_pis=True, huge_tree=True)
    default, utils.HTML_PARSER = utils.HTML_PARSER, _HUGE_PARSER
    try:
        yield _HUGE_PARSER
    finally:
        utils.HTML_PARSER = default


def parse_stopped(parser, tree=None) -> str | None:
    """Why the parser's last parse stopped before the page's end (libxml2's fatal error: a resource limit), or, given
    the ``tree``, why it is cut for the reader (nested deeper than MAX_HTML_DEPTH), else None."""
    from lxml import etree

    for e in parser.error_log:
        if e.level == etree.ErrorLevels.FATAL:
            # (without its advice, "use XML_PARSE_HUGE option": the parse used it)
            return f"{_HUGE_ADVICE.sub('', e.message.strip())} (line {e.line})"
    if tree is not None and etree.LIBXML_VERSION < (2, 14):  # (no cap of libxml2's own to rely on)
        depth = 0
        for event, _ in etree.iterwalk(tree, events=("start", "end")):
            depth += 1 if event == "start" else -1
            if depth > MAX_HTML_DEPTH:
                return f"elements nested more than {MAX_HTML_DEPTH:,} levels deep"
    return None


def cut_page_detail(stopped: str) -> str:
    return (f"the HTML parser (libxml2) stopped before the end of the page: {stopped}; its text would be cut, so the "
            f"page is removed (pages are parsed whole up to {MAX_HTML_DEPTH:,} nested elements)")[:1000]


def decode_html(data: bytes) -> tuple[str | bytes, str | None]:
    """An HTML page's bytes as text for trafilatura, which ignores a page's declared charset when its bytes are not
    valid in it and guesses (web review: a UTF-8 page with one stray byte became "gestoÃen", a page declaring
    ISO-8859-15 showed "¤" for "€"): valid UTF-8 as is; else, mostly UTF-8 (:func:`_mostly_utf8`), UTF-8 with its
    stray bytes replaced (``undecodable_bytes_replaced``), whatever the page declares (second code review: a UTF-8
    page declaring ISO-8859-1 came out as "geschÃ¼tzt"); else the legacy charset its ``<meta>`` declares, as
    browsers read it (:data:`_WHATWG_LEGACY`, :data:`_WHATWG_SUPERSET`); else the bytes, for trafilatura's own
    detection. A byte order mark or gzip bytes are left to it too. Returns (html, note)."""
    import codecs

    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x1f\x8b")):
        return data, None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return data.decode("utf-8", "replace"), "undecodable_bytes_replaced"
    m = _META_CHARSET.search(data[:4096])
    if m:
        try:
            enc = codecs.lookup(m.group(1).decode("ascii")).name
        except (LookupError, UnicodeDecodeError):
            enc = None
        if enc in _WHATWG_LEGACY:
            try:
                return data.decode(_WHATWG_SUPERSET.get(enc, enc), "replace"), f"decoded_from_{enc}"
            except (LookupError, UnicodeError):  # (a codec that cannot replace: left to the guesser)
                pass
    return data, None


def not_text(text: str, note: str | None) -> tuple[str, str] | None:
    """(reason, detail) when a decoded text file is not text: ``read_binary_file`` when more than
    NOT_TEXT_SHARE of its characters are control characters no text uses (a binary file: an image, an archive, an
    executable), ``read_invalid_utf8`` when more than that share are bytes neither UTF-8 nor any detected encoding
    could decode (replaced by U+FFFD; ``note`` says so). None for a text, stray bad bytes included."""
    n = len(text)
    ctrl = control_chars(text)
    bad = text.count("\ufffd") if note == "undecodable_bytes_replaced" else 0
    if _too_many(ctrl, text):
        what = f"{ctrl:,} of its {n:,} characters ({ctrl / n:.0%}) are control characters such as NUL"
        if bad:
            what += f" and {bad:,} ({bad / n:.0%}) are bytes no encoding decodes"
        return "read_binary_file", f"not a text file: {what}; file quarantined (check the recipe's `paths:`)"
    if _too_many(bad, text):
        return "read_invalid_utf8", (f"{bad:,} of its {n:,} characters ({bad / n:.0%}) are bytes neither UTF-8 nor "
                                     "any detected encoding decodes (U+FFFD); convert the file to UTF-8")
    return None


class RecordReader(PipelineStep):
    """Reads a source's inputs into Documents carrying the recipe's defaults (source, licence, language)."""

    name = "📖 Lucie reader"
    type = "📖 - READER"

    def __init__(self, source: str, input_spec: dict, files: list[str], base_dir: str,
                 languages: list[str], license: str, is_code: bool, recipe_dir: str,
                 mixes_code_and_prose: bool = False):
        super().__init__()
        self.source = source
        self.spec = input_spec
        self.files = files
        self.base_dir = base_dir
        self.languages = languages
        self.license = license
        self.is_code = is_code
        # a record's language in a source of prose and code languages (SourceRecipe.mixes_code_and_prose): natural
        # language first, else code (rv52: every value was code there, `en` -> `code:en`)
        self.mixed_languages = tuple(languages) if mixes_code_and_prose else ()
        self.recipe_dir = recipe_dir
        # per-task counts of the reader's checks, written to the task's stats once (_flush_counts); each task
        # starts from a copy of this fresh state (datatrove copies or pickles the step per task)
        self._counts: dict[str, int] = {}
        self._named: dict[str, set] = {}
        self._sampled = 0
        self._all_fields = None  # a Parquet file's column names while it is read (it reads only the columns it uses)
        self._lang_cache: dict = {}
        # (option, field, stat key) of the recipe options naming a record field
        self._mapped = [(o, input_spec[o], f"field_missing:{o}") for o in MAPPED_FIELD_OPTIONS if input_spec.get(o)]
        self._reads_license = bool(input_spec.get("license_field"))
        # the record fields the reader reads (checked for depth): mapped ones, metadata_fields and their dotted bases
        paths = input_spec.get("metadata_fields") or []
        self._field_paths = {input_spec[o] for o in MAPPED_FIELD_OPTIONS if input_spec.get(o)} | set(paths)
        self._read_fields = (self._field_paths
                             | {".".join(p.split(".")[:n]) for p in paths for n in range(1, p.count(".") + 1)})

    # ------------------------------------------------------------------ helpers
    def _rel(self, path: str) -> str:
        """An input file as lineage records it (``source_file``, and the id of a text or html document): relative
        to the folder the recipe and its inputs share (the project: stable across machines), or absolute when they
        share only the filesystem root (inputs outside the project: ``/data/corpus/x.txt`` rather than
        ``data/corpus/x.txt``, which no one could open; datatrove records absolute paths too)."""
        if os.path.dirname(self.base_dir) == self.base_dir:  # "/" (or a drive's root)
            return os.path.abspath(path)
        try:
            return os.path.relpath(path, self.base_dir)
        except ValueError:
            return path

    def _error(self, reason: str, file_rel: str, pos: int | None, detail: str, raw: str = "",
               rec: dict | None = None, no_sidecar_row: bool = False) -> Document:
        """A record (or a file) that cannot become a document, flagged for the ``read`` gate.

        ``rec``: the record, when it parsed as an object (a JSON line, a Parquet or dataset row, an html page's
        sidecar row, a WARC record): the removed document keeps what a kept one would have taken from it (its id,
        language, licence and evidence, url, title, date: :meth:`_record_id`, :meth:`_record_fields`), so
        ``trace`` finds it by its own id and the report counts it under its own licence × language (code review:
        such a record became ``<source>/<file>:<line>``, language null, the recipe's licence). Otherwise (bad JSON
        or UTF-8, not an object, a file-level error) ``<source>/<file>:<position>`` with the recipe's licence, the
        formula of a kept record without an id (``<source>//abs/path:line`` for a file outside the project: one
        formula for every positional id)."""
        meta: dict[str, Any] = {"source": self.source}
        if isinstance(rec, dict):
            doc_id = self._record_id(rec, file_rel, pos)
            meta.update(self._record_fields(rec, no_sidecar_row))
        else:
            doc_id = f"{self.source}/{file_rel}:{pos if pos is not None else 'file'}"  # (as a kept record without id)
            meta.update({"license": self.license, "license_evidence": "recipe"})
        meta.update({"source_file": file_rel, "source_record": pos, "read_error_detail": detail,
                     "_read_error": reason})
        return Document(text=clean_str(raw[:MAX_RAW_CHARS]), id=doc_id, metadata=meta)

    def _too_deep_error(self, rec: dict, deep: list[str], file_rel: str, pos: int | None, raw: str) -> Document:
        """A record with fields nested deeper than MAX_NESTING, removed as ``read_too_deep``; it keeps what its other
        fields say (its id, licence, language)."""
        where = f"line {pos}: " if self.spec["type"] == "jsonl" else ""
        names = ", ".join(repr(clean_str(str(f))) for f in deep[:5])
        what = f"fields {names} nest" if len(deep) > 1 else f"field {names} nests"
        return self._error("read_too_deep", file_rel, pos,
                           f"{where}{what} lists/objects more than {MAX_NESTING} levels deep, the reader's limit: "
                           "flatten the field, or leave it out of the input",
                           raw, rec={k: v for k, v in rec.items() if k not in deep})

    def _record_id(self, rec: dict, file_rel: str, pos: int | None) -> str:
        """The id of a record's document, kept or removed: ``<source>/<id_field value>``, or
        ``<source>/<file>:<position>`` when the record has none (as it always was: kept documents' ids are stable,
        ``//`` after the source for a file outside the project included)."""
        sp = self.spec
        orig = rec.get(sp["id_field"]) if sp.get("id_field") else None
        orig_id = clean_str(str(orig)) if orig not in (None, "") else f"{file_rel}:{pos}"
        return f"{self.source}/{orig_id}"

    def _record_fields(self, rec: dict, no_sidecar_row: bool = False) -> dict[str, Any]:
        """What a record says about itself, as a document's metadata: language (and ``language_raw``), licence
        (``license_evidence``, ``license_raw``), url, title, date. The one mapping of kept and removed records."""
        sp = self.spec
        meta: dict[str, Any] = {}
        # language: per-record field (mapped to a code), else the recipe's single language
        lang = None
        lf = sp.get("language_field")
        raw_lang = rec.get(lf) if lf else None
        if _has_value(raw_lang):
            lang = self._language(raw_lang)
            # kept when unknown, or when mapping did more than lower-case it ("French" -> fr), like license_raw;
            # a code recipe's `python` -> `code:python` is the convention, not a correction (in a recipe of prose
            # and code languages too)
            low = raw_lang.strip().lower() if isinstance(raw_lang, str) else None
            if lang is None or not ((self.is_code and not self.mixed_languages) or low == lang
                                    or (self.mixed_languages and lang == f"code:{low}")):
                meta["language_raw"] = _clean_value(raw_lang)
        elif len(self.languages) == 1 and self.languages[0] != UNKNOWN:  # `languages: [und]`: unknown, null
            lang = self.languages[0]
        meta["language"] = lang
        # licence: per-record field overrides the recipe
        lic_field = sp.get("license_field")
        if lic_field and rec.get(lic_field) not in (None, ""):
            raw_lic = rec[lic_field]
            meta["license"] = normalize_license(raw_lic)
            meta["license_evidence"] = f"record:{lic_field}"
            if meta["license"] != raw_lic:
                meta["license_raw"] = _clean_value(raw_lic)
        else:
            meta["license"] = self.license
            # the recipe's licence: given to every record, or only because this record's own was missing
            meta["license_evidence"] = (NO_SIDECAR_EVIDENCE if no_sidecar_row else
                                        NO_FIELD_EVIDENCE if lic_field else "recipe")
        for key, field in (("url", sp.get("url_field")), ("title", sp.get("title_field")), ("date", sp.get("date_field"))):
            if field and rec.get(field) not in (None, ""):
                meta[key] = _clean_value(rec[field])
        return meta

    def make_doc(self, rec: Any, file_rel: str, pos: int, raw: str = "", no_sidecar_row: bool = False,
                 own_record: bool = True) -> Document:
        """Map one raw record to a Document, or to a flagged error Document.

        A record removed here (no text, text not a string, invalid unicode, empty) keeps its own id, language and
        licence (``_error``'s ``rec``) when it is a record of the input (``own_record``); a text file's record is
        made by the reader (``own_record=False``): removed, it is ``<source>/<file>:0`` as its other errors are.

        ``no_sidecar_row``: an html page the recipe's sidecar has no row for. If it has no licence of its own it
        gets the recipe's with ``license_evidence`` ``recipe:no_sidecar_row`` (not ``recipe``: nothing checked it),
        and the fields its missing row would have given (licence, language, url…) are not counted as missing
        (``no_sidecar_row`` counts the file)."""
        sp = self.spec
        if not isinstance(rec, dict):
            return self._error("read_not_an_object", file_rel, pos, f"record is a {type(rec).__name__}", raw)
        self._check_fields(rec, skip=MAPPED_FIELD_OPTIONS if no_sidecar_row else ())
        deep = [f for f in self._read_fields if f in rec and _too_deep(rec[f])]
        if deep:
            return self._too_deep_error(rec, sorted(deep), file_rel, pos, raw)
        own = {"rec": rec if own_record else None, "no_sidecar_row": no_sidecar_row}
        if sp["text_field"] not in rec:
            return self._error("read_missing_text", file_rel, pos,
                               f"no field {sp['text_field']!r}; fields: {sorted(self._all_fields or rec)[:20]}", raw,
                               **own)
        text = rec[sp["text_field"]]
        if isinstance(text, (bytes, bytearray)):  # a Parquet binary column of UTF-8 text (fuzz review: removed)
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError:
                pass  # not text: removed below, as a bytes value
        if not isinstance(text, str):
            return self._error("read_text_not_string", file_rel, pos, f"text is a {type(text).__name__}",
                               raw or repr(text), **own)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            return self._error("read_invalid_unicode", file_rel, pos, f"unencodable character at {e.start}: {e.reason}",
                               text, **own)
        if not text.strip():
            return self._error("read_empty_text", file_rel, pos, "text is empty or whitespace only", text, **own)

        meta: dict[str, Any] = {"source": self.source, "source_file": file_rel, "source_record": pos}
        meta.update(self._record_fields(rec, no_sidecar_row))
        parsed: dict[str, Any] = {}  # JSON-string fields parsed for this record, once whatever the paths
        for f in sp.get("metadata_fields", []):
            if f in meta:
                continue  # a name the reader fills itself: InputSpec rejects it, this guards direct use
            if f in rec:  # a literal column, even one whose name has a dot
                found, value = True, rec[f]
            else:
                found, value = self._lookup_path(rec, f, parsed)
                if found and (value is _TOO_DEEP or _too_deep(value)):  # from a JSON-string field
                    return self._too_deep_error(rec, [f], file_rel, pos, raw)
            if found:
                meta[f] = _clean_value(value)
            # missing, or null (a Parquet column of nulls; review: not counted), counted: the build's stats say how
            # many records lacked it, and the ledger warns when most did
            if not found or value is None:
                self._count(f"metadata_missing:{f}")
        return Document(text=text, id=self._record_id(rec, file_rel, pos), metadata=meta)

    # ------------------------------------------------------------------ per-record checks (reader stats)
    def _count(self, key: str, n: int = 1) -> None:
        """Counted locally, written to the task's stats once at the end (``_flush_counts``): cheaper than a
        datatrove stat update per record."""
        self._counts[key] = self._counts.get(key, 0) + n

    def _count_named(self, family: str, name: str) -> None:
        """``<family>:<name>`` for the first MAX_NAMED_VALUES distinct names of a task (examples for warnings)."""
        named = self._named.setdefault(family, set())
        name = clean_str(name)[:80]
        if name in named or len(named) < MAX_NAMED_VALUES:
            named.add(name)
            self._count(f"{family}:{name}")

    def _flush_counts(self) -> None:
        for key, n in sorted(self._counts.items()):
            self.stat_update(key, value=n)
        self._counts = {}

    def _check_fields(self, rec: dict, skip: tuple = ()) -> None:
        """Count, per recipe option naming a field, the records without a value there (absent, null or empty:
        the reader then falls back to the recipe's licence/language or a positional id), so a typo in a field
        name shows in the ledger instead of silently giving every document the recipe's values. The field names
        of the first records of each task are recorded too, for the warning to say what the records do have."""
        self._count("records_mapped")
        for opt, field, key in self._mapped:
            if opt in skip:
                continue
            missing = field not in rec if opt == "text_field" else rec.get(field) in (None, "")
            if missing:
                self._count(key)
        if self._sampled < FIELD_SAMPLE_RECORDS:
            self._sampled += 1
            for k in sorted(map(str, self._all_fields or rec))[:60]:  # (a Parquet file's columns, read or not)
                self._count(f"record_fields:{clean_str(k)[:80]}")
                if not self._reads_license and is_license_field(k) and isinstance(rec.get(k), str) and rec[k].strip():
                    # what a licence field the recipe does not read says (the ledger compares it with the recipe's)
                    self._count(f"record_license:{clean_str(k)[:80]}={clean_str(rec[k].strip())[:120]}")

    def _language(self, raw: Any) -> str | None:
        """:func:`map_language`, cached per value; a value naming no language is counted (``language_unmapped``)."""
        cache = self._lang_cache
        key = (type(raw).__name__, raw) if isinstance(raw, (str, int, float, bool)) else None
        if key is not None and key in cache:
            lang = cache[key]
        else:
            lang = map_language(raw, self.is_code, self.mixed_languages)
            if key is not None and len(cache) < 10_000:
                cache[key] = lang
        if lang is None and not (isinstance(raw, str) and raw.strip().lower() == "und"):  # `und` says so itself
            self._count("language_unmapped")
            self._count_named("language_unmapped", json.dumps(_clean_value(raw), ensure_ascii=False))
        return lang

    def _lookup_path(self, rec: dict, path: str, parsed: dict[str, Any]) -> tuple[bool, Any]:
        """Follow a dotted path (``author.authoryearofdeath``) through dicts and JSON-string values.

        The longest dotted prefix that is a field of the record is the base (a literal ``a.b`` field wins over
        ``a``); a JSON string on the way is parsed once per record (cached in ``parsed`` by its prefix).
        Returns (found, value); a missing key or unparsable JSON gives (False, None)."""
        parts = path.split(".")
        for n in range(len(parts) - 1, 0, -1):
            base = ".".join(parts[:n])
            if base in rec:
                cur, rest = rec[base], parts[n:]
                break
        else:
            return False, None
        prefix = base
        for part in rest:
            if isinstance(cur, (str, bytes)):
                if prefix not in parsed:
                    try:
                        if isinstance(cur, str) and json_too_deep(cur, MAX_NESTING):  # (the same on every stack)
                            raise RecursionError
                        parsed[prefix] = json.loads(cur)
                    except ValueError:
                        parsed[prefix] = _UNPARSABLE
                        self._count(f"metadata_unparsable_json:{prefix}")
                    except RecursionError:
                        parsed[prefix] = _TOO_DEEP
                cur = parsed[prefix]
                if cur is _TOO_DEEP:
                    return True, _TOO_DEEP
            if not isinstance(cur, dict) or part not in cur:
                return False, None
            cur = cur[part]
            prefix = f"{prefix}.{part}"
        return True, cur

    # ------------------------------------------------------------------ per type
    def _iter_jsonl(self, path: str, file_rel: str, mine) -> Iterator[Document]:
        n = 0
        line_no = 0
        try:
            with open_maybe_compressed(path) as f:
                for line_no, bline in enumerate(_jsonl_lines(f), start=1):
                    if bline.startswith(b"\xef\xbb\xbf"):  # a file's BOM, or one inside it (files joined by `cat`)
                        bline = bline[3:]
                    if not bline.strip():
                        continue  # blank separator lines are not records (nor a BOM alone: rv52, a record removed
                    n += 1        # as read_truncated_record from a file holding nothing else)
                    if not mine(n - 1):
                        continue
                    try:
                        line = bline.decode("utf-8")
                    except UnicodeDecodeError as e:
                        # (an encoded surrogate: a lone UTF-16 surrogate code unit, from a UTF-16 file's line)
                        lone = re.match(rb"\xed[\xa0-\xbf][\x80-\xbf]", bline[e.start:e.start + 3])
                        what = (f"a lone UTF-16 surrogate code unit at character "
                                f"{len(bline[:e.start].decode('utf-8', 'replace')):,}, which encodes no character"
                                if lone else f"invalid UTF-8 at byte {e.start}")
                        yield self._error("read_invalid_utf8", file_rel, line_no, f"line {line_no}: {what}",
                                          bline.decode("utf-8", "replace"))
                        continue
                    try:
                        if json_too_deep(line, PARSE_NESTING_LIMIT):
                            raise RecursionError
                        rec = json.loads(line)
                    except RecursionError:  # valid or not, nested deeper than the reader's limit
                        yield self._error("read_too_deep", file_rel, line_no,
                                          f"line {line_no}: nests lists/objects more than {PARSE_NESTING_LIMIT} "
                                          f"levels deep, too deep to read its fields (the reader's limit is "
                                          f"{MAX_NESTING}): flatten the record",
                                          line)
                        continue
                    except ValueError as e:  # JSONDecodeError, or a plain ValueError (an integer over 4,300 digits:
                        # read-through, it was caught below as a truncated file and the records after it were lost)
                        truncated = not bline.endswith(b"\n")
                        where = f", column {e.colno}" if isinstance(e, json.JSONDecodeError) else ""
                        msg = getattr(e, "msg", None) or str(e)
                        if msg == "Invalid control character at" and 0 <= e.pos < len(line):  # (Python's words, cut)
                            msg = (f"a raw control character U+{ord(line[e.pos]):04X} inside a string: JSON needs it "
                                   "escaped (\\t, \\n, \\u0000)")  # (rv52: the detail read "Invalid control character at")
                        yield self._error("read_truncated_record" if truncated else "read_invalid_json", file_rel, line_no,
                                          f"line {line_no}{where}: {msg}", line)
                        continue
                    if isinstance(rec, dict) and line.count("[") + line.count("{") > MAX_NESTING:
                        # any field, read or not: the same limit whether the parser or the walk finds it
                        deep = [k for k, v in rec.items() if _too_deep(v)]
                        if deep:
                            yield self._too_deep_error(rec, deep, file_rel, line_no, line)
                            continue
                    yield self.make_doc(rec, file_rel, line_no, line)
        except (*DECOMPRESS_ERRORS, ValueError) as e:
            # at the line after the last one read (records are numbered by line): the id of the cut record, not
            # that of the last good one, which is kept (code review: both were `<file>:2`)
            # EOFError: the compressed stream began well and the file ends inside it (cut), even when no whole line
            # came out of it (a cut .jsonl.zst yields nothing of its cut block: the review's 13 % cut)
            yield from self._file_error(path, file_rel, line_no + 1, e,
                                        "read_corrupt_file" if isinstance(e, CORRUPT_ERRORS) or _bad_bz2(e)
                                        else "read_truncated_file" if line_no or isinstance(e, EOFError)
                                        else "read_corrupt_file",
                                        f"after line {line_no}" if line_no else "at the start")
            return
        if not n:
            self._no_record(path, file_rel)

    def _file_error(self, path, file_rel, pos, exc, reason, where: str):
        """A file that stops being readable, reported once at ``pos``: the position of the record the read stopped
        at (after every record read), so its id never clashes with a record's (``where`` says it in words)."""
        if self._owner_of_file(path):
            yield self._error(unreadable(exc, reason), file_rel, pos,
                              f"{type(exc).__name__}: {exc} ({where}); file quarantined")

    def _no_record(self, path: str, file_rel: str) -> None:
        """An input file read whole that held no record (0 bytes, blank lines only, a Parquet file without rows, a
        WARC without responses): nothing to remove, but counted (``no_record``, the first files named) so the
        ledger warns about it, as an empty text file is reported (``read_empty_text``). Counted by one task."""
        if self._owner_of_file(path):
            self._count("no_record")
            self._count_named("no_record", file_rel)

    def _iter_parquet(self, path: str, file_rel: str, mine) -> Iterator[Document]:
        """Row group after row group: the footer says how many rows each holds, so a row group that cannot be read
        (corrupt pages) has each of its rows it did not give removed as ``read_corrupt_file`` (positional ids; the
        file quarantined once, whatever the number of rows) and the next row groups are read (review 29: the
        reader stopped at the first bad row group, one removed row for it, the rest of the file never counted)."""
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
            groups = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]
            names = pf.schema_arrow.names
        except Exception as e:  # pyarrow raises several types for corrupt files
            yield from self._file_error(path, file_rel, 0, e, "read_corrupt_file", "at the start")
            return
        # only the columns the reader uses become Python objects (review 41: a timestamp past year 9999 in a column
        # nothing read made its batch fail, 100 good rows removed as `read_corrupt_file`): the mapped and
        # metadata_fields ones, and the licence-named text columns whose values the field checks sample when the
        # recipe reads no licence field (text only: what they sample; code review, a `license_checked_at` timestamp
        # past 9999 removed its row); the sampled field names come from the schema
        want = self._field_paths | (set() if self._reads_license else {
            f.name for f in pf.schema_arrow if is_license_field(f.name) and _is_text_type(f.type)})
        cols = parquet_columns(pf.schema_arrow, want)
        self._all_fields = names
        try:
            yield from self._parquet_groups(pf, groups, cols, file_rel, mine)
        finally:
            self._all_fields = None
        if not sum(groups):
            self._no_record(path, file_rel)

    def _parquet_records(self, batch, rows: list[int], file_rel: str, first: int) -> list:
        """(row, record) for the ``rows`` of ``batch``, or (row, removed Document) for a row holding a value Python
        cannot represent (a timestamp past year 9999, a date out of range...): a batch that fails to convert is
        converted row by row and column by column, so only the rows that fail are removed, as
        ``read_unconvertible_value`` naming the column (review 41: the whole row group was `read_corrupt_file`)."""
        import pyarrow as pa

        try:
            sub = batch if len(rows) == batch.num_rows else batch.take(pa.array(rows, pa.int64()))
            return list(zip(rows, sub.to_pylist(), strict=True))
        except Exception:  # noqa: BLE001 -- pyarrow raises OverflowError, ValueError, ArrowInvalid...: row by row
            pass
        out: list = []
        for j in rows:
            row = batch.slice(j, 1)
            try:
                out.append((j, row.to_pylist()[0]))
                continue
            except Exception:  # noqa: BLE001 -- which column: below
                pass
            rec, bad = {}, []
            for name, col in zip(row.schema.names, row.columns):
                try:
                    rec[name] = col.to_pylist()[0]
                except Exception as e:  # noqa: BLE001
                    bad.append(f"column {clean_str(name)!r} ({col.type}) holds a value Python cannot represent "
                               f"({type(e).__name__}: {e})")
            detail = (f"row {first + j:,}: {'; '.join(bad) or 'a value Python cannot represent'}: this row alone is "
                      "removed, the file's other rows are read; fix the value in the file, or leave the column out "
                      "of the recipe's fields")[:1000]
            out.append((j, self._error("read_unconvertible_value", file_rel, first + j, detail, rec=rec)))
        return out

    def _parquet_groups(self, pf, groups: list[int], cols: list[str] | None, file_rel: str, mine):
        """The documents of ``pf``'s row groups (``_iter_parquet``), reading only the columns ``cols``."""
        i = 0
        for g, n in enumerate(groups):
            start, err = i, None
            # whether each row of the batch being read is this task's, asked once per row in order (`mine` counts
            # the rows it is asked about): kept, so the rows a failed batch leaves are judged by the same answers
            # (code review: asked again, a task's share shifted, rows came out twice or never); the batches before
            # it were read whole, so only its own answers are needed (not a row group's: up to millions of rows)
            owned: dict[int, bool] = {}
            try:
                for batch in pf.iter_batches(batch_size=1000, row_groups=[g], columns=cols):
                    owned = {i + j: mine(i + j) for j in range(batch.num_rows)}
                    rows = [j for j in range(batch.num_rows) if owned[i + j]]
                    # only this task's rows become Python objects (scale review: with fewer files than tasks every
                    # task converted every row: 0.54 -> 0.19 CPU-s for 89,900 rows over 8 tasks, /tmp/me/pq.py)
                    for j, rec in (self._parquet_records(batch, rows, file_rel, i) if rows else ()):
                        yield rec if isinstance(rec, Document) else self.make_doc(rec, file_rel, i + j, "")
                    i += batch.num_rows
            except Exception as e:  # noqa: BLE001 -- this row group's problem: the next ones are read
                err = f"{type(e).__name__}: {e}"
            if i - start < n:  # unreadable, or fewer rows than the footer says
                why = err or f"it holds {i - start:,} of them"
                lost = [k for k in range(i, start + n) if (owned[k] if k in owned else mine(k))]
                # the rows this task removes (review 41: it said the row group's count, while with more tasks than
                # files each task removes its own share of them)
                share = "" if len(lost) == start + n - i else f", {len(lost):,} of them here (the others by other tasks)"
                detail = (f"rows {start:,} to {start + n - 1:,} (row group {g + 1} of {len(groups)}) cannot be read "
                          f"({why}): its {start + n - i:,} rows not read are removed{share}, the other row groups are "
                          "read; file quarantined")[:1000]
                for k in lost:
                    yield self._error("read_corrupt_file", file_rel, k, detail)
                i = start + n

    def _iter_text(self, path: str, file_rel: str) -> Iterator[Document]:
        try:
            with open_maybe_compressed(path) as f:
                data = f.read()
        except DECOMPRESS_ERRORS as e:
            # a compressed file cut short (EOFError) is truncated, its bytes wrong are corrupt, as for jsonl (review 41:
            # a cut .txt.gz was `read_corrupt_file`, though the README calls a truncated gzip `read_truncated_file`)
            cut = isinstance(e, EOFError) and not isinstance(e, CORRUPT_ERRORS)
            yield self._error(unreadable(e, "read_truncated_file" if cut else "read_corrupt_file"), file_rel, 0,
                              f"{type(e).__name__}: {e}; file quarantined")
            return
        text, note = decode_text_file(data, self.languages)
        bad = not_text(text, note)
        if bad:
            yield self._error(bad[0], file_rel, 0, bad[1], text)
            return
        stem = os.path.splitext(os.path.basename(path))[0]
        doc = self.make_doc({"text": text, "id": file_rel, "title": stem}, file_rel, 0, own_record=False)
        if note and not doc.metadata.get("_read_error"):
            doc.metadata["read_note"] = note
            if note == TRUNCATED_UTF8:  # a damaged file, kept: named in the ledger's warnings (review: only in
                self._count(note)  # the document's metadata, where a truncated .jsonl.gz was named)
                self._count_named(note, file_rel)
            if note == "undecodable_bytes_replaced":  # how many: one stray byte or thousands
                doc.metadata["read_bytes_replaced"] = undecodable_bytes(data[3:] if data.startswith(
                    b"\xef\xbb\xbf") else data)
        yield doc

    def _extract(self, html: str | bytes, url: str | None = None) -> dict | None:
        import trafilatura
        from trafilatura.utils import load_html

        if not html or not html.strip():  # nothing to extract (trafilatura raised AttributeError on it: review)
            return {"_error": ("read_empty_text", "the page is empty or whitespace only")}
        try:
            # (review 48: libxml2 stopped at depth 256 and the page was kept cut, silently)
            with whole_page_parsing() as parser:
                tree = load_html(html)  # what bare_extraction does first: given the tree, it extracts the same
                stopped = parse_stopped(parser, tree)
                if not stopped:  # (no tree: not a page it parses, the page itself, for what it said of it before)
                    res = trafilatura.bare_extraction(html if tree is None else tree, url=url,
                                                      favor_precision=self.spec.get("favor_precision", True),
                                                      include_tables=self.spec.get("include_tables", True),
                                                      include_comments=False, with_metadata=True)
                    stopped = parse_stopped(parser)  # (a parse inside the extraction: the fallback's)
            if stopped:
                return {"_error": ("read_extraction_failed", cut_page_detail(stopped))}
        except Exception as e:  # noqa: BLE001 -- a page trafilatura cannot parse is that page's problem, not the build's
            what = not_html(html)
            if what:  # web review: a PDF named .html was "trafilatura failed: AttributeError: 'NoneType' …"
                return {"_error": ("read_binary_file" if what[1] else "read_extraction_failed",
                                   f"not an HTML page: {what[0]}; check the recipe's `paths:`")}
            return {"_error": ("read_extraction_failed", f"trafilatura failed: {type(e).__name__}: {e}"[:300])}
        if res is None:
            return None
        res = res if isinstance(res, dict) else res.as_dict()
        link = page_licence_link(html, res.get("license"))
        if link:  # the page's own rel=license link says it more precisely than trafilatura's text, or at all
            res["license"] = link
        if res.get("license"):
            doubt = license_link_doubt(html, str(res["license"]))
            if doubt:  # not the page's licence for sure: kept aside, never adopted (below, _html_record)
                res["_license_doubt"] = doubt
        return res

    def _sidecar(self, path: str) -> dict | None:
        """The sidecar record of an input file (joined on its path relative to the sidecar, ``sidecar_key_of``),
        {} without a sidecar, None when the recipe has one but it has no row for this file (load_source checked
        that every row has the key and that at least one input file matches)."""
        sc = self.spec.get("sidecar")
        if not sc:
            return {}
        if not hasattr(self, "_side"):
            self._side_path = os.path.join(self.recipe_dir, sc)
            self._side = {}
            key = self.spec.get("sidecar_key", "path")
            for _, line in sidecar_lines(self._side_path):  # decoded as the load-time check decoded it
                rec = json.loads(line)
                self._side[os.path.normpath(str(rec.get(key)))] = rec
        row = self._side.get(sidecar_key_of(path, self._side_path))
        return dict(row) if row is not None else None

    def _html_record(self, extracted: dict | None, file_rel: str, pos: int, fallback: dict, side: dict | None,
                     own_record: bool | None = None) -> Document:
        """``side``: the file's sidecar row, {} without a sidecar, None when the sidecar has no row for it.

        ``own_record``: whether the page has a record of its own (default: a sidecar row; a WARC record is one):
        a page removed here (empty, nothing extracted) then keeps the id, licence and language a kept page would
        take from it, as a jsonl record does (``_error``'s ``rec``); a bare html file is ``<source>/<file>:0``."""
        sp = self.spec
        ok = bool(extracted) and "_error" not in extracted
        ex = extracted if ok else {}
        doubt = ex.get("_license_doubt")
        rec = {"url": fallback.get("url") or ex.get("url"), "title": ex.get("title"),
               "date": ex.get("date") or fallback.get("date"), "sitename": ex.get("sitename"),
               "license_detected": ex.get("license"), "license_detected_doubt": doubt}
        rec = {k: v for k, v in rec.items() if v}
        rec.update(side or {})
        if ok:
            rec[sp["text_field"]] = extracted["text"]
        if doubt and sp.get("license_field") == "license_detected" and not (side or {}).get("license_detected"):
            rec.pop("license_detected", None)  # a doubted detection is never a page's licence (recorded below)
        if sp.get("id_field"):
            rec.setdefault(sp["id_field"], fallback.get("id") or file_rel)
        if own_record is None:
            own_record = bool(side)
        own = {"rec": rec if own_record else None, "no_sidecar_row": side is None}
        if extracted and "_error" in extracted:
            reason, detail = extracted["_error"]
            return self._error(reason, file_rel, pos, detail, **own)
        if not extracted or not (extracted.get("text") or "").strip():
            return self._error("read_extraction_failed", file_rel, pos, "trafilatura found no main text", **own)
        doc = self.make_doc(rec, file_rel, pos, no_sidecar_row=side is None, own_record=own_record)
        if not doc.metadata.get("_read_error"):  # (a doubted detection popped above is still recorded)
            for key, value in (("license_detected", rec.get("license_detected") or ex.get("license")),
                               ("license_detected_doubt", doubt)):
                if value:
                    doc.metadata[key] = clean_str(str(value))
            self._check_page_licence(doc.metadata, file_rel)
        return doc

    def _check_page_licence(self, meta: dict, file_rel: str) -> None:
        """Count a page whose own licence statement contradicts the licence it gets (its sidecar's, its recipe's):
        a detected licence of another class (a sidecar's CC-BY on a page saying CC BY-NC-SA), or "all rights reserved"
        on a page given an open licence; the ledger warns with examples (web review: kept under a policy denying
        NC, the build said nothing, only the report listed it)."""
        from ..licenses import UNKNOWN, license_class, normalize_license

        lic = meta.get("license")
        if not lic or license_class(lic) == "unknown":  # (a recipe's placeholder: nothing claimed to contradict)
            return
        said = None
        det = meta.get("license_detected")
        if det:
            spdx = normalize_license(det)
            if spdx != UNKNOWN and license_class(spdx) != license_class(lic):
                said = spdx
        if said is None and str(meta.get("license_detected_doubt", "")).startswith("the page's footer says \"all "
                                                                                 "rights reserved\""):
            said = "all rights reserved"
        if said:
            self._count("license_page_conflict")
            # (the licences first: examples are cut at 80 characters)
            self._count_named("license_page_conflict", f"{lic} given, the page says {said}: "
                                                       f"{file_rel.replace(os.sep, '/').rsplit('/', 1)[-1]}")

    def _iter_html(self, path: str, file_rel: str) -> Iterator[Document]:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            yield self._error(unreadable(e, "read_corrupt_file"), file_rel, 0, f"{e}; file quarantined")
            return
        side = self._sidecar(path)
        if side is None:  # the recipe has a sidecar without a row for this file: counted, and said per document
            self._count("no_sidecar_row")
            self._count_named("no_sidecar_row", file_rel)
        html, note = decode_html(data)
        doc = self._html_record(self._extract(html), file_rel, 0, {"id": file_rel}, side)
        if note and not doc.metadata.get("_read_error"):  # as a text file says it
            doc.metadata["read_note"] = note  # (decoded_from_<charset>: as its <meta> declares)
            bad = undecodable_bytes(data) if note == "undecodable_bytes_replaced" else html.count("\ufffd")
            if bad:  # (second code review: bytes its declared charset has no character for were replaced silently)
                doc.metadata["read_bytes_replaced"] = bad
        yield doc

    @staticmethod
    def _missing_bytes(record) -> int:
        """Read the rest of a WARC record (what warcio does before the next one) and return how many bytes of its
        Content-Length the file lacks: warcio stops quietly at a record cut short (0 for a whole record)."""
        raw = record.raw_stream
        while raw.read(1 << 16):
            pass
        return max(getattr(raw, "limit", 0) or 0, 0)

    @staticmethod
    def _header_cut(record) -> bool:
        """A WARC record whose header lacks a Content-Length (or has an empty one): warcio takes what it read of a
        header cut by the end of the file as a record; every WARC record has a length."""
        if getattr(record, "length", 0) is None:
            return True
        if str(getattr(record, "format", "")).startswith("warc"):
            cl = record.rec_headers.get_header("Content-Length")
            return cl is None or not cl.strip().isdigit()
        return False

    def _iter_warc(self, path: str, file_rel: str, mine) -> Iterator[Document]:
        """Every task reads every record of the file the same way, whether it keeps it or not (``mine``): each
        record is read to its end and checked, so a file cut (quietly or not) is found by every task at the same
        record, reported once by the file's owner (``_file_error``) at that record's position, and the records
        before it are each kept by exactly one task, whatever the number of tasks (code review: a record cut
        quietly was checked only by the task that kept it, and reported only when that task also owned the
        file, so with more tasks than files it was lost without a row)."""
        from datatrove.pipeline.readers.warc import process_record
        from warcio.archiveiterator import ArchiveIterator

        class _Archive(ArchiveIterator):
            """Notes whether the last gzip member was read to its end: warcio stops quietly in a cut member
            (a gzipped WARC cut in a record's header) and on bytes it cannot decompress."""
            unfinished = False

            def close(self):
                dec = getattr(self.reader, "decompressor", None)
                self.unfinished = dec is not None and not getattr(dec, "eof", True)
                super().close()

        n = 0
        pos = 0  # the record being read: the one after the last record read whole
        it = None
        try:
            with open(path, "rb") as f:
                it = _Archive(f)
                for ri, record in enumerate(it):
                    pos = ri
                    reason = "read_truncated_file" if n or ri else "read_corrupt_file"
                    if self._header_cut(record):  # no Content-Length: a file cut in a record's header
                        yield from self._file_error(path, file_rel, ri, EOFError(
                            f"record {ri} has no Content-Length (its header is cut)"), reason,
                            f"after record {ri - 1}" if ri else "at the start")
                        return
                    keep = False
                    if record.rec_type in ("response", "conversion"):  # requests, warcinfo, metadata: no document
                        n += 1
                        keep = mine(n - 1)
                    data = failed = None
                    status = _http_status(record) if keep else None
                    if keep and status is None:
                        try:
                            data = process_record(record)
                        except Exception as e:  # noqa: BLE001 -- the payload's problem, unless the file is (below)
                            failed = e
                    missing = self._missing_bytes(record)  # raises where the file does, in every task
                    if missing:
                        yield from self._file_error(path, file_rel, ri, EOFError(
                            f"record {ri} ends {missing} bytes before its Content-Length"), reason,
                            f"after record {ri - 1}" if ri else "at the start")
                        return
                    pos = ri + 1
                    if not keep:
                        continue
                    if status is not None:  # web review: 404 and 301 pages were kept as documents (FineWeb and
                        # RedPajama keep 200 responses only)
                        yield self._error("read_http_error", file_rel, ri,
                                          f"HTTP status {status}: not a page's content (only 2xx responses are read)")
                    elif failed is not None:  # the file reads on: this record's payload alone is unreadable
                        yield self._error("read_unsupported_record", file_rel, ri,
                                          f"the payload could not be read: {type(failed).__name__}: {failed}"[:300])
                    elif not data:
                        yield self._error("read_unsupported_record", file_rel, ri,
                                          "not an HTML/text payload or undecodable")
                    else:
                        yield self._html_record(self._extract(data["text"], data.get("url")), file_rel, ri, data, {},
                                                own_record=True)
        except Exception as e:  # warcio raises ArchiveLoadFailed, AttributeError and zlib errors on damaged files
            # positions are record indexes in the archive (requests and metadata included): the record being read
            # (cut in its payload), or the one after the last record read whole (cut in a header, garbage)
            yield from self._file_error(path, file_rel, pos, e, "read_truncated_file" if n else "read_corrupt_file",
                                        f"after record {pos - 1}" if pos else "at the start")
            return
        size = os.path.getsize(path)
        if it is not None and size and (it.unfinished or it.offset < size):
            # warcio stopped quietly before the end of the file: in a cut gzip member, or on a record header it
            # could not parse (an uncompressed file cut in a header)
            what = ("its last gzip member is cut (or does not decompress)" if it.unfinished else
                    f"bytes {it.offset:,} to {size:,} hold no whole record")
            yield from self._file_error(path, file_rel, pos, EOFError(f"the file ends early: {what}"),
                                        "read_truncated_file" if n or pos else "read_corrupt_file",
                                        f"after record {pos - 1}" if pos else "at the start")
            return
        if not n:
            self._no_record(path, file_rel)

    def _iter_hf(self) -> Iterator[Document]:
        """Read a Hub or local dataset, each task its own part of it where the dataset allows.

        * streamed (``IterableDataset``) with at least as many data-file shards as tasks: task k streams only its
          contiguous block of files, ``ds.shard(num_shards=tasks, index=k)``; records are labelled
          ``<dataset>[<split>] part k+1/<tasks>`` and numbered from 0 within the part (fixed by the files and
          ``tasks``, which is part of the output);
        * downloaded (``Dataset``): task k iterates its contiguous block of rows, ``ds.shard(tasks, k,
          contiguous=True)``; positions stay the global row index, so they do not depend on ``tasks``;
        * otherwise (fewer files than tasks, or ``limit:``, "the first N records"): every task reads the
          records in order and keeps record i when ``i % tasks == rank`` (striping), as before.
        A dataset that cannot be loaded, and a stream that breaks, are reported by every task they happen to, each
        for its own share (review 49: reported by task 0 only, a break in another task's stream, a network one, lost
        that task's records without a word): a load failure labelled with the task when there are several, a break
        at the task's own next record (the next position it would have kept when striping)."""
        import datasets

        sp = self.spec
        rank, world = self._rank, self._world
        ds_path = sp["dataset"]
        local = os.path.join(self.recipe_dir, ds_path)
        if ds_path.startswith((".", "/")) or os.path.isdir(local):
            ds_path = local
        label = sp["dataset"] + (f":{sp['config']}" if sp.get("config") else "") + f"[{sp.get('split', 'train')}]"
        limit = sp.get("limit")
        is_local = os.path.isdir(ds_path)
        said = _LastError()  # datasets logs the data file it failed on ("Failed to load JSON from file '…'"), and
        logging.getLogger("datasets").addHandler(said)  # its exception does not name it (review 41)
        unreachable = None if is_local else _unreachable_hub()
        try:
            with _hub_offline(unreachable is not None):
                ds = _load_hf(ds_path, sp)
        except Exception as e:  # every task: each one's share is unread (one row per task, apart by the label)
            logged = f" (datasets logged: {' '.join(said.message.split())[:400]})" if said.message else ""
            yield self._error("read_dataset_unavailable", label + (f" task {rank + 1}/{world}" if world > 1 else ""),
                              None, f"{_exc_chain(e)}{logged}. " + (
                                  _local_dataset_hint(ds_path, sp['dataset']) if is_local else
                                  f"{unreachable} cannot be reached (its name does not resolve: no network?) and "
                                  "the HF cache holds no copy of this dataset: build once where the Hub is "
                                  "reachable (the cache keeps it), or point `dataset:` at a local copy"
                                  if unreachable else
                                  "Check the dataset id/config/split (and the network or HF_HUB_OFFLINE for Hub "
                                  "datasets)"))
            return
        finally:
            logging.getLogger("datasets").removeHandler(said)
        offset = 0  # global position of this task's first record
        striped = True
        if world > 1 and limit is None:
            if isinstance(ds, datasets.IterableDataset):
                n_files = ds.num_shards
                if n_files >= world:
                    ds = ds.shard(num_shards=world, index=rank, contiguous=True)
                    label = f"{label} part {rank + 1}/{world}"
                    striped = False
                    self.stat_update("hf_file_shards", value=ds.num_shards)
            else:
                n = len(ds)
                offset = (n // world) * rank + min(rank, n % world)  # datasets' own contiguous split
                ds = ds.shard(num_shards=world, index=rank, contiguous=True)
                striped = False
        i = -1
        try:
            for i, rec in enumerate(ds):
                if limit is not None and i >= limit:
                    break
                if not striped or i % world == rank:
                    yield self.make_doc(rec, label, offset + i)
        except Exception as e:  # a streamed dataset can fail mid-way (network, a bad remote shard)
            at = offset + i + 1
            if striped and world > 1:  # this task's own next record: every task that saw the break says so once
                at += (rank - at) % world
            yield self._error("read_dataset_interrupted", label, at,
                              f"{_exc_chain(e)} (after record {offset + i}); records before it go on"
                              + (f". {_local_dataset_hint(ds_path, sp['dataset'])}" if is_local else ""))

    # ------------------------------------------------------------------ run
    def _owner_of_file(self, path: str) -> bool:
        """With striping every task opens every file: only one of them reports a file-level error."""
        if not self._striped:
            return True
        return self.files.index(path) % self._world == self._rank

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        self._rank, self._world = rank, world_size
        kind = self.spec["type"]
        if kind == "hf_dataset":
            self._striped = True
            for doc in self._iter_hf():
                self.stat_update("records")
                yield doc
            self._flush_counts()
            return
        files = self.files
        self._striped = len(files) < world_size
        if self._striped:
            my_files = files
            counter = {"n": 0}

            def mine_global(_: int) -> bool:  # record-level striping across all files, in file order
                k = counter["n"]
                counter["n"] += 1
                return k % world_size == rank
        else:
            my_files = files[rank::world_size]

            def mine_global(_: int) -> bool:
                return True
        for path in my_files:
            rel = self._rel(path)
            if kind == "jsonl":
                it = self._iter_jsonl(path, rel, mine_global)
            elif kind == "parquet":
                it = self._iter_parquet(path, rel, mine_global)
            elif kind == "warc":
                it = self._iter_warc(path, rel, mine_global)
            else:  # one document per file
                if not mine_global(0):
                    continue
                it = self._iter_text(path, rel) if kind == "text" else self._iter_html(path, rel)
            for doc in it:
                self.stat_update("records")
                yield doc
        self._flush_counts()


class _LastError(logging.Handler):
    """The last error message a logger gave (``datasets`` names the file it failed on only in its log)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.message = ""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.message = record.getMessage()
        except Exception:  # noqa: BLE001 -- a log record that does not format: nothing to add
            pass


def _exc_chain(e: BaseException, limit: int = 4) -> str:
    """``Type: message`` of an exception and of its causes (``__cause__``, else ``__context__``), each cut short:
    datasets' DatasetGenerationError says only "An error occurred while generating the dataset", the bad line is in
    its causes (review 41: ``ArrowInvalid: JSON parse error: … in row 20`` was dropped)."""
    parts, seen = [], set()
    while e is not None and id(e) not in seen and len(parts) < limit:
        seen.add(id(e))
        msg = " ".join(str(e).split())[:300]
        parts.append(f"{type(e).__name__}: {msg}" if msg else type(e).__name__)
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    return " <- ".join(parts)[:1000]


def parquet_columns(schema, paths: set[str]) -> list[str] | None:
    """What to read of a Parquet file for the record fields ``paths`` (``_iter_parquet``), or None for every column
    (a file with two columns of one name). A field that is a column is read whole; a dotted path into a struct
    column (``meta.author``), resolved as ``_lookup_path`` does (the longest dotted prefix that is a column), is read
    as that leaf alone, which pyarrow gives as the struct with only that field: the struct's other fields are neither
    converted nor able to remove the row (a timestamp past 9999 elsewhere in ``meta``). A path leaving the structs (a
    JSON-string column, a list) reads the value it leaves from; a path not in the file reads nothing."""
    import pyarrow as pa

    names = schema.names
    if len(set(names)) != len(names):
        return None
    chosen: set[str] = set()
    for path in paths:
        if path in names:
            chosen.add(path)
            continue
        parts = path.split(".")
        n = next((n for n in range(len(parts) - 1, 0, -1) if ".".join(parts[:n]) in names), 0)
        if not n:
            continue  # not in this file: the field checks count it missing
        base = ".".join(parts[:n])
        kind, leaf = schema.field(base).type, base
        # pyarrow splits a selection at every dot: a dotted column name, a column name that another one's dotted name
        # starts with (`meta` beside a literal `meta.license`), or a struct child name with a dot or twice in its
        # struct, would be ambiguous, so such a column is read whole
        ambiguous = "." in base or any(other.startswith(f"{base}.") for other in names)
        for part in ([] if ambiguous else parts[n:]):
            if not pa.types.is_struct(kind):
                break  # a JSON string (or a list) from here: that value is read, and _lookup_path parses it
            if any("." in f.name for f in kind) or len({f.name for f in kind}) != kind.num_fields:
                leaf = base
                break
            if kind.get_field_index(part) < 0:
                leaf = None  # not in the struct, nothing to read: the field checks count it missing
                break
            kind, leaf = kind.field(part).type, f"{leaf}.{part}"
        if leaf:
            chosen.add(leaf)
    # a column read whole covers its own leaves (not a column of its own whose name has a dot: rv50, a literal
    # `meta.license` was dropped beside `meta`, and the licence came from `meta`); in the file's column order
    column = {c: names.index(c if c in names else c.split(".")[0]) for c in chosen}
    return sorted((c for c in chosen if c in names or not any(c.startswith(f"{w}.") and w in names for w in chosen)),
                  key=lambda c: (column[c], c))


def _local_dataset_hint(folder: str, name: str) -> str:
    """What to do about a local dataset folder ``datasets`` cannot read (not the network: review 41): fix the data file,
    or read the files with the reader of their format, which removes a bad record alone and reads the rest."""
    what = f"{name} is a local dataset folder (the network plays no part): fix what the error describes"
    if _saved_to_disk(folder):  # its data is in .arrow files, no reader of ours; its .json files are metadata (code
        return (f"{what}; it was written by save_to_disk (its data is in .arrow files): write it again with "  # review)
                "save_to_disk, or export it (to_json, to_parquet) and read that with `type: jsonl` or `type: parquet`")
    kinds = set()
    for _, _, files in os.walk(folder):
        for f in files:
            low = f.lower()
            kinds |= {"jsonl"} if ".json" in low else {"parquet"} if low.endswith(".parquet") else set()
    if not kinds:  # (a loading script: no reader of ours for its files)
        return what
    return (f"{what}, or read its data files with {' or '.join(f'`type: {k}`' for k in sorted(kinds))} and `paths:`, "
            "which removes a bad record alone, naming its file and line, and reads the others")


def _saved_to_disk(folder: str) -> bool:
    """A folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (``load_dataset`` refuses it:
    "use load_from_disk instead"; review: reported as a network outage and retried on every build)."""
    return os.path.isfile(os.path.join(folder, "dataset_dict.json")) or (
        os.path.isfile(os.path.join(folder, "state.json")) and os.path.isfile(os.path.join(folder, "dataset_info.json")))


def _is_text_type(t) -> bool:
    """A string column (plain, large, view, or dictionary-encoded strings)."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _t: False)(t)


def _unreachable_hub() -> str | None:
    """The Hub endpoint when its host name does not resolve (no network) and offline mode is not set, else None.

    Why: huggingface_hub and datasets retry a host that cannot resolve for ~48 s per dataset before failing (newcomer
    review: `pipelines/lucie.yaml`'s 42 Hub sources took ~34 min to fail offline); such a host is not coming back
    within the retries, so the dataset is looked for in the cache only, as with HF_HUB_OFFLINE=1 (1.5 s)."""
    from huggingface_hub import constants

    from ..tokens import _resolves

    if constants.HF_HUB_OFFLINE:
        return None
    endpoint = os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
    return None if _resolves(endpoint) else endpoint


@contextlib.contextmanager
def _hub_offline(on: bool):
    """huggingface_hub's and datasets' offline mode while a dataset loads (their flags, read when each call is
    made), then as they were."""
    if not on:
        yield
        return
    import datasets.config
    from huggingface_hub import constants

    saved = constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE
    constants.HF_HUB_OFFLINE = datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE, datasets.config.HF_DATASETS_OFFLINE = saved


def _load_hf(ds_path: str, sp: dict):
    """The dataset an ``hf_dataset`` input names: ``load_from_disk`` for a ``save_to_disk`` folder (its ``split``
    taken from a DatasetDict, a single Dataset whole; ``streaming`` as an iterable over its memory-mapped rows; its
    config and split are checked before any work, ``recipe._saved_dataset_problems``), else ``load_dataset``
    (a Hub id, a folder of data files, a loading script)."""
    import datasets

    split = sp.get("split", "train")
    if not (os.path.isdir(ds_path) and _saved_to_disk(ds_path)):
        return datasets.load_dataset(ds_path, sp.get("config"), split=split, revision=sp.get("revision"),
                                     streaming=bool(sp.get("streaming")))
    if sp.get("config"):
        raise ValueError(f"{ds_path} was written by save_to_disk, which keeps no configs: remove `config:`")
    ds = datasets.load_from_disk(ds_path)
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise ValueError(f"{ds_path} (save_to_disk) has no split {split!r}; its splits: {', '.join(ds)}")
        ds = ds[split]
    # (a single Dataset is read whole, whatever split it was saved from: `split:` names a DatasetDict's part)
    return ds.to_iterable_dataset() if sp.get("streaming") else ds
