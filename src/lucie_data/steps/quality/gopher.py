"""Gopher quality and repetition rules (Rae et al. 2021, arXiv 2112.11446, §A.1.1 and Table A1).

Same rules, order, thresholds and reasons as datatrove 0.10.1's ``GopherQualityFilter`` and
``GopherRepetitionFilter`` (reasons prefixed ``gopher_`` / ``gopher_rep_``), except that the top n-gram
fraction is 0 when no n-gram occurs twice (Gopher's "most common n-gram" is a repeated one; RedPajama-V2's
signals, on which Lucie filtered, do the same; datatrove counts a text's first n-gram), but words come from
``words.split_words`` (computed once per text and shared) and the n-gram statistics are computed with
C-level ``Counter``/``zip`` instead of one Python ``join`` per position.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from datatrove.data import Document
from datatrove.utils.text import PUNCTUATION_SET

from .base import QualityFilter, Verdict
from .words import _fast, split_words, split_words_rest

_HAS_ALPHA = re.compile(r"[^\W\d_]")


def _is_symbol(w: str) -> bool:
    return not w.isalnum() and all(ch in PUNCTUATION_SET for ch in w)


def gopher_counts_py(words: list[str], rest: list[str]) -> tuple[int, int, int, int]:
    """(characters of ``words``, symbol tokens in ``rest``, their characters, ``rest`` tokens without a letter).

    ``rest``: the tokens that are not whole letter-only chunks (the others are never symbols nor alpha-less).
    Counted per distinct token: the same few punctuation marks make up most of ``rest``.
    """
    n_sym = sym_chars = no_alpha = 0
    for w, k in Counter(rest).items():
        if not w.isalnum() and _is_symbol(w):
            n_sym += k
            sym_chars += k * len(w)
        if not w.isalpha() and not _HAS_ALPHA.search(w):
            no_alpha += k
    return sum(map(len, words)), n_sym, sym_chars, no_alpha


_PUNCT = "".join(sorted(PUNCTUATION_SET))  # the compiled loop's table (sorted by code point: binary search)


def _gopher_counts_c(words: list[str], rest: list[str]) -> tuple[int, int, int, int]:
    return _fast.gopher_counts(words, rest, _PUNCT)


# one pass in C without the Counter when the compiled module is there (tests compare both)
gopher_counts = _gopher_counts_c if _fast is not None else gopher_counts_py


class GopherQualityFilter(QualityFilter):
    name = "🥇 Gopher Quality (lucie)"
    family = "gopher_quality"

    def prepare(self, params: dict) -> dict:
        params["stop_words"] = frozenset(params.get("stop_words") or ())
        return params

    def evaluate(self, doc: Document, lang: str, p: dict, full: bool):
        text = doc.text
        words, rest = split_words_rest(text, lang)  # letter-only chunks are never symbols nor alpha-less
        n_words = len(words)
        word_chars, n_sym, sym_chars, no_alpha = gopher_counts(words, rest)
        n_non_symbol = n_words - n_sym
        s: dict = {"n_words": n_non_symbol}
        verdict = Verdict(full)
        fail = verdict.fail  # stops at the first failure when filtering

        if p["min_doc_words"] and n_non_symbol < p["min_doc_words"]:
            if fail("gopher_short_doc"):
                return s, verdict.reason
        if p["max_doc_words"] and n_non_symbol > p["max_doc_words"]:
            if fail("gopher_long_doc"):
                return s, verdict.reason
        if n_non_symbol == 0:  # datatrove: mean of an empty list is nan and every later comparison is False
            return s, verdict.reason or self._stop_words(words, p, s)
        avg = (word_chars - sym_chars) / n_non_symbol
        s["avg_word_length"] = round(avg, 4)
        if p["min_avg_word_length"] and avg < p["min_avg_word_length"]:
            if fail("gopher_below_avg_threshold"):
                return s, verdict.reason
        if p["max_avg_word_length"] and avg > p["max_avg_word_length"]:
            if fail("gopher_above_avg_threshold"):
                return s, verdict.reason
        hashes = text.count("#") / n_words
        ellipsis = (text.count("...") + text.count("…")) / n_words
        s["hash_word_ratio"], s["ellipsis_word_ratio"] = round(hashes, 4), round(ellipsis, 4)
        if p["max_symbol_word_ratio"] and hashes > p["max_symbol_word_ratio"]:
            if fail("gopher_too_many_hashes"):
                return s, verdict.reason
        if p["max_symbol_word_ratio"] and ellipsis > p["max_symbol_word_ratio"]:
            if fail("gopher_too_many_ellipsis"):
                return s, verdict.reason
        lines = text.splitlines()
        n_lines = len(lines) or 1
        bullets = sum(1 for ln in lines if ln.lstrip().startswith(("•", "-"))) / n_lines
        end_ell = sum(1 for ln in lines if ln.rstrip().endswith(("...", "…"))) / n_lines
        s["bullet_lines_ratio"], s["ellipsis_lines_ratio"] = round(bullets, 4), round(end_ell, 4)
        if p["max_bullet_lines_ratio"] and bullets > p["max_bullet_lines_ratio"]:
            if fail("gopher_too_many_bullets"):
                return s, verdict.reason
        if p["max_ellipsis_lines_ratio"] and end_ell > p["max_ellipsis_lines_ratio"]:
            if fail("gopher_too_many_end_ellipsis"):
                return s, verdict.reason
        alpha = (n_words - no_alpha) / n_words
        s["alpha_words_ratio"] = round(alpha, 4)
        if p["max_non_alpha_words_ratio"] and alpha < p["max_non_alpha_words_ratio"]:
            if fail("gopher_below_alpha_threshold"):
                return s, verdict.reason
        r = self._stop_words(words, p, s)
        return s, verdict.reason or r

    @staticmethod
    def _stop_words(words, p, s):
        n = len(p["stop_words"].intersection(words))
        s["stop_words"] = n
        if p["min_stop_words"] and n < p["min_stop_words"]:
            return "gopher_enough_stop_words"
        return None


def _dup_counts(items: list[str]) -> tuple[int, int]:
    """datatrove's ``find_duplicates``: (duplicate elements, their characters), via one Counter."""
    c = Counter(items)
    if len(c) == len(items):
        return 0, 0
    dup_el = dup_ch = 0
    for k, v in c.items():
        if v > 1:
            dup_el += v - 1
            dup_ch += (v - 1) * len(k)
    return dup_el, dup_ch


_K = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier of the rolling n-gram hash


class _NGrams:
    """Word n-grams of one document as 64-bit rolling hashes (numpy), for n = 2, 3, … in turn.

    Every occurrence of a repeated n-gram starts where an (n-1)-gram repeats, so level n only hashes
    and counts the positions that repeated at level n-1: after the bigrams the arrays are small, and
    once nothing repeats every longer n-gram is known to be unique without looking. Words are hashed
    with Python's own string hash. A 64-bit collision between two different words or n-grams of one
    document is the only way this can differ from datatrove's string n-grams (probability ~ n² / 2⁶⁴).
    """

    def __init__(self, words: list[str]):
        m = self.m = len(words)
        self.ids = np.fromiter(map(hash, words), dtype=np.int64, count=m).view(np.uint64)
        self.cum = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=m), out=self.cum[1:])
        # level n -> (positions whose n-gram occurs more than once, their hashes, (first position, count)
        # of the most frequent n-gram)); level 1 holds every position, to be extended to bigrams
        self.levels: dict[int, tuple] = {1: (np.arange(m), self.ids, (0, 1))}
        self.n = 1

    def level(self, n: int) -> tuple:
        with np.errstate(over="ignore"):
            while self.n < n:
                pos, h, _ = self.levels[self.n]
                self.n += 1
                if len(pos) == 0:  # nothing repeated at a shorter length: every n-gram is unique
                    self.levels[self.n] = (pos, h, (0, 1))
                    continue
                keep = pos <= self.m - self.n
                pos, h = pos[keep], h[keep]
                h = h * _K + self.ids[pos + (self.n - 1)]
                _, first, inv, counts = np.unique(h, return_index=True, return_inverse=True, return_counts=True)
                rep = counts[inv] > 1
                c = int(counts.max()) if len(counts) else 1
                # ties go to the n-gram seen first, as Counter.most_common does in datatrove
                top = (int(pos[first[counts == c].min()]), c) if c > 1 else (0, 1)
                self.levels[self.n] = (pos[rep], h[rep], top)
        return self.levels[n]

    def top_chars(self, n: int) -> int:
        """datatrove's ``find_top_duplicate`` on " "-joined n-grams: characters of the top n-gram × count,
        but 0 when no n-gram occurs twice (datatrove takes the first n-gram of a text where nothing repeats)."""
        if n == 1:  # level 1 keeps every position uncounted: count the words here (top_n_grams: [[1, ...]])
            _, first, counts = np.unique(self.ids, return_index=True, return_counts=True)
            c = int(counts.max())
            p = int(first[counts == c].min())  # ties: the word seen first, as Counter.most_common
        else:
            p, c = self.level(n)[2]
        if c <= 1:  # RedPajama-V2's Base_RPS_Frac_Chars_In_Top_NGram: 0 when the top count is <= 1
            return 0
        return (int(self.cum[p + n] - self.cum[p]) + n - 1) * c

    def dup_chars(self, n: int) -> int:
        """datatrove's ``find_all_duplicate``: greedy left-to-right scan that skips ``n`` words after a repeat.

        Only n-grams occurring more than once can ever be "seen before", so the scan visits just those
        positions; the others are irrelevant to the result whether they are skipped or recorded.
        datatrove compares ``"".join(words)`` (no separator), so two different word sequences spelling
        the same characters (``..`` ``..`` vs ``.`` ``...``, dotted leaders in OCR) repeat there but not
        here: 5 of 1,500 benchmark documents differ in a signal; no decision of the 3,000-document
        agreement sample in ``benchmarks/results/quality.md`` differs for this reason.
        """
        pos, h, _ = self.level(n)
        if self.m < n or len(pos) == 0:
            return 0
        seen = set()
        total = nxt = 0
        cum = self.cum
        for idx, g in zip(pos.tolist(), h.tolist()):
            if idx < nxt:
                continue
            if g in seen:
                total += int(cum[idx + n] - cum[idx])
                nxt = idx + n
            else:
                seen.add(g)
        return total


class _FastNGrams:
    """``_NGrams``' answers from the compiled loop (``_fast.ngram_stats``: same hashes, same tie rule)."""

    def __init__(self, words: list[str], top_ns: list[int], dup_ns: list[int]):
        tops, dups = _fast.ngram_stats(words, top_ns, dup_ns)
        self._top, self._dup = dict(zip(top_ns, tops)), dict(zip(dup_ns, dups))

    def top_chars(self, n: int) -> int:
        return self._top[n]

    def dup_chars(self, n: int) -> int:
        return self._dup[n]


_PARA = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def segment_dups_py(text: str) -> tuple[int, int, int, int, int, int]:
    """(paragraphs, duplicate paragraphs, their characters, lines, duplicate lines, their characters)."""
    paras, lines = _PARA.split(text.strip()), _LINES.split(text)
    return (len(paras), *_dup_counts(paras), len(lines), *_dup_counts(lines))


segment_dups = _fast.segment_dups if _fast is not None else segment_dups_py


class GopherRepetitionFilter(QualityFilter):
    name = "👯 Gopher Repetition (lucie)"
    family = "gopher_repetition"

    def evaluate(self, doc: Document, lang: str, p: dict, full: bool):
        text = doc.text
        s: dict = {}
        if not text:
            return s, "gopher_rep_empty"
        verdict = Verdict(full)
        fail = verdict.fail  # stops at the first failure when filtering

        L = len(text)
        counts = segment_dups(text)
        for i, unit in enumerate(("para", "line")):
            n_parts, d, c = counts[3 * i: 3 * i + 3]
            frac, char_frac = d / n_parts, c / L
            s[f"dup_{unit}_frac"], s[f"dup_{unit}_char_frac"] = round(frac, 4), round(char_frac, 4)
            if p[f"dup_{unit}_frac"] and frac > p[f"dup_{unit}_frac"] and fail(f"gopher_rep_dup_{unit}_frac"):
                return s, verdict.reason
            if (p[f"dup_{unit}_char_frac"] and char_frac > p[f"dup_{unit}_char_frac"]
                    and fail(f"gopher_rep_dup_{unit}_char_frac")):
                return s, verdict.reason
        words = split_words(text, lang)
        if _fast is not None:
            grams = _FastNGrams(words, [n for n, _ in p["top_n_grams"]], [n for n, _ in p["dup_n_grams"]])
        else:
            grams = _NGrams(words)
        for n, frac in p["top_n_grams"]:
            if len(words) < n:
                continue
            v = grams.top_chars(n) / L
            s[f"top_{n}_gram_frac"] = round(v, 4)
            if v > frac and fail(f"gopher_rep_top_{n}_gram"):
                return s, verdict.reason
        for n, frac in p["dup_n_grams"]:  # in the configured order, as datatrove: the first failing rule names the reason
            v = grams.dup_chars(n) / L
            s[f"dup_{n}_gram_frac"] = round(v, 4)
            if v > frac and fail(f"gopher_rep_duplicated_{n}_n_grams"):
                return s, verdict.reason
        return s, verdict.reason
