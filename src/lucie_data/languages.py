"""Language codes: which ones a recipe may name, and what a record's language value means.

Why a registry: a recipe's ``languages`` decide what ``language_gate`` keeps. Checking only the shape of a
code let ``xx`` (or ``fre``, ISO 639-2 for French, while ``language_id`` writes ``fr``) through validation, and
the gate then removed every document with no hint why. The codes come from pycountry's ISO 639-3 tables,
which also carry each language's ISO 639-1 code and its ISO 639-2 bibliographic one.
"""
from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["language_problem", "to_code", "LID176_EXTRA"]

# labels fastText lid.176 writes that ISO 639-3 retired or never listed (collective codes): Bihari, Emiliano-
# Romagnolo, Nahuatl (checked against the shipped model's 176 labels); a recipe may expect what the model writes
LID176_EXTRA = frozenset({"bh", "eml", "nah"})
_SHAPE = re.compile(r"([a-z]{2,3})(-[a-z]{2,3})?")


@lru_cache(maxsize=1024)
def _entry(code: str):
    """pycountry's language for an ISO 639-1, 639-3 or 639-2/B code, else an English name, or None. Codes
    first, field by field: ``pycountry.languages.lookup("en")`` answers the language *named* "En" (``enc``)."""
    import pycountry

    langs = pycountry.languages
    for key in ("alpha_2", "alpha_3", "bibliographic"):
        found = langs.get(**{key: code})
        if found is not None:
            return found
    try:
        return langs.lookup(code) if len(code) > 3 else None  # a name ("French"), never a short code
    except LookupError:
        return None


def _one(code: str) -> str | None:
    m = _SHAPE.fullmatch(code)
    if not m:
        return f"{code!r} is not a language code"
    base = m.group(1)
    if base in LID176_EXTRA:
        return None
    lang = _entry(base)
    if lang is None:
        return f"{base!r} is not an ISO 639 language code"
    alpha2 = getattr(lang, "alpha_2", None)
    if alpha2 and base != alpha2:  # 639-2/639-3 code of a language that has a 639-1 one: the gate would miss it
        return (f"use the ISO 639-1 code {alpha2!r} ({lang.name}) instead of {base!r}: language_id writes "
                "ISO 639-1 codes where one exists, so the gate would match no document")
    return None


def language_problem(value: str) -> str | None:
    """None if ``value`` names languages in a recipe's forms (``fr``, ``pt-br``, ``yue``, a pair ``fr,en``,
    ``code``, ``code:python``), else what is wrong, with the code to use when the value is a language name."""
    v = value.strip()
    if v == "code" or v.startswith("code:"):
        return None
    parts = v.split(",")
    if len(parts) > 2:
        return f"language {value!r}: a pair has two languages (fr,en)"
    for p in parts:
        problem = _one(p.strip())
        if problem is not None:
            hint = to_code(p)
            if hint is not None and hint != p.strip() and "instead of" not in problem:
                problem += f"; did you mean {hint!r} ({_entry(hint).name})?"
            return f"language {value!r}: {problem}"
    return None


@lru_cache(maxsize=4096)
def to_code(value) -> str | None:
    """The ISO 639-1 code (else 639-3) of a language given as a code in any case (``FR``, ``fra``, ``fre``) or
    an English name (``French``); a region or script after ``-``/``_`` is dropped (``fr-FR``, ``zh-Hant``).
    None when it names no language (``3``, ``klingonese``)."""
    if not isinstance(value, str):
        return None
    v = value.strip()
    if not v:
        return None
    low = v.lower()
    if low in LID176_EXTRA:
        return low
    lang = _entry(low)
    if lang is None and re.fullmatch(r"[a-z]{2,3}[-_][a-z0-9]{2,8}", low):
        lang = _entry(re.split(r"[-_]", low)[0])
    if lang is None:
        return None
    return getattr(lang, "alpha_2", None) or lang.alpha_3
