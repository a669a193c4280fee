"""Language codes: which values a recipe may name, and what a record's language value means.

Why a registry: a recipe's ``languages`` decide what ``language_gate`` keeps. Checking only the shape of a
code let ``xx`` (or ``fre``, ISO 639-2 for French, while ``language_id`` writes ``fr``) through validation, and
the gate then removed every document with no hint why. The codes come from pycountry's ISO 639-3 tables,
which also carry each language's ISO 639-1 code and its ISO 639-2 bibliographic one.

**One meaning for a value, wherever it is written** (:func:`normalize_language`). A record's value is mapped
to the code a build writes; a recipe's value must already *be* that code, and when it is not, the error names
the code the same value would have given in a record ("did you mean 'fr,en'?"). So ``fr-en`` means the pair
French-English in both places: in a record it becomes ``fr,en``, in a recipe it is an error asking for
``fr,en`` (the recipe is the one place written by hand and validated before any work, so it says what the build
will write; ``fr-en`` is only the pair's folder name, where a comma is awkward).

``xx-yy`` (or ``xx_yy``) with two two-or-three-letter parts is read as BCP 47 would read it when that makes
sense: ``yy`` is a *region* of ``xx`` (dropped: ``pt-br`` → ``pt``, ``fr-FR`` → ``fr``, ``en-gb`` → ``en``) when
``yy`` is not a language code at all (``gb``, ``us``), or when it is an ISO 3166 country in which CLDR lists
``xx`` with an official status (``pt-BR``, ``zh-TW``, ``fr-CA``, ``fr-BE``, ``sv-FI``, ``ca-ES``, ``en-IN``;
CLDR's territory data, through babel, which trafilatura already installs). Otherwise, two language codes make a
pair (``fr-en``: EN is no country; ``de-fr``, ``en-fr``: German and English have no official status in France;
``es-en``, ``it-en``): the language pairs Lucie and WMT name this way. The ambiguous rest is documented rather
than guessed: ``fr-it`` is French as used in Italy (official in the Aosta Valley), not a pair; ``en-uk`` is
English-Ukrainian (``UK`` is not an ISO 3166 code; Britain is ``GB``). A three-letter second part after a
macrolanguage is a BCP 47 extended language (``zh-yue`` → ``yue``); a script (``zh-Hant``, four letters) and
variants are dropped (``fr-Latn-FR`` → ``fr``).

``und`` is unknown (null ``language``, folder ``und``) in a record and in a recipe (a recipe may say
``languages: [und]`` alone); ``mul``, ``zxx`` and ``mis`` name no single language: unknown in a record (reported),
an error in a recipe. A pair of one language (``fr,fr``) is no pair: unknown in a record, an error in a recipe.
Withdrawn ISO 639-1 codes map to their successors (``iw`` → ``he``, ``in`` → ``id``, ``ji`` → ``yi``, ``jw`` →
``jv``, ``mo`` → ``ro``), and a language's name in the language itself (``Français``, ``Deutsch``) maps like its
English name: from pycountry's own translations of its ISO 639 names (the name of each language in its own
locale, 79 of them) plus the languages Lucie covers (fr, en, de, es, it) spelled with and without accents.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from functools import lru_cache

__all__ = ["language_problem", "to_code", "normalize_language", "plausible_code_name", "not_a_yaml_boolean", "LID176_EXTRA", "UNKNOWN", "NOT_ONE_LANGUAGE"]

# labels fastText lid.176 writes that ISO 639-3 retired or never listed (collective codes): Bihari, Emiliano-
# Romagnolo, Nahuatl (checked against the shipped model's 176 labels); a recipe may expect what the model writes
LID176_EXTRA = frozenset({"bh", "eml", "nah"})
UNKNOWN = "und"  # ISO 639-2 "undetermined": null `language`, folder `und`
# ISO 639 special codes that name no single language: unknown in a record, an error in a recipe
NOT_ONE_LANGUAGE = {"mul": "multiple languages", "zxx": "no linguistic content", "mis": "an uncoded language"}
# ISO 639-1 codes withdrawn in 1989 (iw, in, ji) and 2001/2008 (jw, mo), still written by old software (Java's
# Locale, Android) and old corpora
LEGACY_CODES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
# the languages Lucie covers, named in themselves (pycountry's translations add the others, see _endonyms)
LUCIE_ENDONYMS = {"français": "fr", "english": "en", "deutsch": "de", "español": "es", "castellano": "es",
                  "italiano": "it"}
# the statuses CLDR gives a language in a territory that make `xx-YY` a region tag rather than a pair
_REGION_STATUSES = {"official", "official_regional", "de_facto_official", "official_minority"}
_CODE = re.compile(r"[a-z]{2,3}")
_SUBTAG = re.compile(r"[a-z]{4}|[a-z]{2}|[0-9]{3}|[a-z0-9]{5,8}|[0-9][a-z0-9]{3}")  # script, region, variant
# a programming language's name as a build may write it after `code:` (it becomes part of a folder name,
# `code-<name>`, and of Parquet metadata): letters and digits (any script), spaces and the punctuation real names use
# (`c++`, `c#`, `objective-c`, `objective c`, `ren'py`, `graphviz (dot)`, `asp.net`, `visual basic 6.0`; not `*`,
# which the card's configs would read as a glob: `code-f*` loaded fortran too, rv50),
# at least one letter or digit, at most CODE_NAME_MAX_BYTES bytes of UTF-8 (review 49: a lone surrogate, a NUL, a
# newline or 300 characters failed the whole source when the folder or the metadata was written)
CODE_NAME_MAX_BYTES = 64
_CODE_NAME_PUNCT = frozenset("#+-_.'() ")


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


def _code_of(lang) -> str:
    return getattr(lang, "alpha_2", None) or lang.alpha_3


def _fold(name: str) -> str:
    """Case and accents folded, for names: ``Français`` = ``francais`` = ``FRANÇAIS``."""
    s = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in s if not unicodedata.combining(c)).strip()


@lru_cache(maxsize=1)
def _endonyms() -> dict[str, str]:
    """A language's name in itself -> its code: pycountry ships each ISO 639 name translated into the locales
    it has, so the name of language X in locale X is its endonym (``Français``, ``Deutsch``, ``Español``,
    ``Nederlands``, ``русский``; "中文; 汉语; 华语" gives three). Built once per process, on the first value no code
    or English name matched (~0.2 s)."""
    import gettext

    import pycountry

    table: dict[str, str] = {}
    for lang in pycountry.languages:
        a2 = getattr(lang, "alpha_2", None)
        if not a2:
            continue
        try:
            tr = gettext.translation("iso639-3", pycountry.LOCALES_DIR, languages=[a2])
        except OSError:
            continue
        name = tr.gettext(lang.name)
        if name == lang.name:
            continue  # untranslated: the English name, which lookup already knows
        for part in name.split(";"):
            if part.strip():
                table.setdefault(_fold(part), a2)
    for name, code in LUCIE_ENDONYMS.items():
        table[_fold(name)] = code
    return table


def _code_only(part: str):
    """The language of a 2-3 letter *code* (ISO 639-1/3/2B, a withdrawn 639-1 code, a lid.176 label), never of
    a name; None otherwise."""
    if part in LID176_EXTRA:
        return part
    if part in LEGACY_CODES:
        return LEGACY_CODES[part]
    lang = _entry(part) if _CODE.fullmatch(part) else None
    return _code_of(lang) if lang is not None else None


@lru_cache(maxsize=4096)
def _is_region_of(lang_code: str, region: str) -> bool:
    """``region`` (two letters) is an ISO 3166 country where CLDR lists ``lang_code`` with an official status."""
    import pycountry

    if pycountry.countries.get(alpha_2=region.upper()) is None:
        return False
    from babel.languages import get_territory_language_info

    info = get_territory_language_info(region.upper())
    return any(k.split("_")[0] == lang_code and v.get("official_status") in _REGION_STATUSES
               for k, v in info.items())


def _hyphen_pair(low: str) -> str | None:
    """``xx-yy``/``xx_yy`` read as a pair: ``"fr,en"``; ``""`` for two codes of one language that is no region
    tag either (``en-en``); None when it is not a pair (a region, an extended language, not two codes)."""
    m = re.fullmatch(r"([a-z]{2,3})[-_]([a-z]{2,3})", low)
    if not m:
        return None
    a, b = m.groups()
    ca, cb = _code_only(a), _code_only(b)
    if ca is None or cb is None:
        return None  # `en-gb`, `es-us`: the second part is no language, so a region
    if len(b) == 2 and _is_region_of(ca, b):
        return None  # `pt-br`, `fr-fr`, `fr-ca`
    if len(b) == 3 and ca not in LID176_EXTRA and getattr(_entry(a), "scope", None) == "M":
        return None  # `zh-yue`: an extended language subtag
    if ca == cb:
        return ""
    return f"{ca},{cb}"


@lru_cache(maxsize=4096)
def to_code(value) -> str | None:
    """The ISO 639-1 code (else 639-3) of *one* language given as a code in any case (``FR``, ``fra``, ``fre``),
    a withdrawn ISO 639-1 code (``iw`` → ``he``), an English name (``French``) or its name in itself
    (``Français``); a BCP 47 region, script or variant is dropped (``fr-FR``, ``zh-Hant``, ``fr-Latn-FR``), an
    extended language kept (``zh-yue`` → ``yue``). None when it names no language (``3``, ``klingonese``).
    ``und``/``mul``/``zxx`` come back as they are: :func:`normalize_language` decides what they mean."""
    if not isinstance(value, str):
        return None
    v = value.strip()
    if not v:
        return None
    low = v.lower()
    code = _code_only(low)
    if code is not None:
        return code
    if not re.fullmatch(r"[a-z]{2,3}([-_][a-z0-9]+)+", low):  # not a BCP 47 tag: a name, in English or itself
        lang = _entry(low) if len(low) > 3 else None
        if lang is not None:
            return _code_of(lang)
        return _endonyms().get(_fold(v)) if len(low) > 1 else None
    tags = re.split(r"[-_]", low)
    base = _code_only(tags[0])
    if base is None:
        return None
    rest = tags[1:]
    if len(rest[0]) == 3 and rest[0].isalpha():  # extended language (zh-yue), valid after a macrolanguage only
        ext = _code_only(rest[0])
        if ext is None or getattr(_entry(tags[0]), "scope", None) != "M":
            return None
        base, rest = ext, rest[1:]
    if not all(_SUBTAG.fullmatch(t) for t in rest):
        return None
    return base


def plausible_code_name(name: str) -> bool:
    """``name`` (lower-cased, stripped) can follow ``code:``: letters and digits of any script, spaces and
    ``# + - _ . ' ( )``, at least one letter or digit, at most :data:`CODE_NAME_MAX_BYTES` bytes of UTF-8. So no
    control character (a newline, a NUL), no path separator, no lone surrogate (which UTF-8 cannot encode)."""
    if not name or len(name) > CODE_NAME_MAX_BYTES:
        return False
    try:
        if len(name.encode("utf-8")) > CODE_NAME_MAX_BYTES:
            return False
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return (all(c.isalnum() or c in _CODE_NAME_PUNCT for c in name)
            and any(c.isalnum() for c in name))


def normalize_language(value, is_code: bool = False, mixed: Collection[str] = ()) -> str | None:
    """A language value as the code a build writes: ``fr``; a pair ``fr,en`` (of two different languages);
    ``code`` or ``code:<lang>`` (lower-cased); None when it names no language (unknown: null ``language``,
    folder ``und``). In a code source (``is_code``) any other string is a programming language (``Python`` →
    ``code:python``) when it is a plausible name (:func:`plausible_code_name`; else None, unknown, like any value
    naming no language). The rules are in the module docstring; the record reader and recipe validation both use
    this function, so a value means the same in both (validation passes neither flag).

    ``mixed``: the ``languages`` of a source of prose and code languages (``SourceRecipe.mixes_code_and_prose``;
    ``is_code`` is then not read): a value read as a natural language is that language (``en``, ``French``,
    ``fr,en``; ``und``, ``mul``, ``fr,fr`` unknown), any other a programming language as in a code source (rv52:
    every value was code there, ``en`` became ``code:en`` and its prose was normalised and gated as code). A value
    that is both is the natural language when the recipe lists it or it is an ISO 639-1 code or a name (``ts``
    Tsonga, ``pl`` Polish, ``sh``), and a programming language when the recipe lists ``code:<value>`` and not that
    language, or when it is a bare three-letter ISO 639-2/3 code the recipe does not list (``lua``, ``tcl``, ``css``,
    ``xml``: Lua, not Luba-Lulua, in ``[en, code]``)."""
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    if v == "code" or v.startswith("code:"):  # the same names with or without the prefix (code review:
        rest = v[len("code:"):].strip() if v != "code" else ""  # "code:objective c" was unknown, "Objective C" not)
        if not rest:
            return "code"
        return f"code:{rest}" if plausible_code_name(rest) else None
    if mixed:
        natural = _natural_language(v)
        if natural is not None or "," in v or _hyphen_pair(v) is not None or to_code(v) is not None:
            if natural not in mixed and (f"code:{v}" in mixed or (natural == v and len(v) == 3)):
                # (a bare three-letter code with no ISO 639-1 equivalent the recipe does not list is a programming
                # language's name: CSS, XML, Lua, Tcl, Ada, Elm, Awk read as ISO 639-3 codes, normalised as prose
                # and removed by the gate; rv55)
                return f"code:{v}" if plausible_code_name(v) else None
            return natural
        return f"code:{v}" if v and plausible_code_name(v) else None
    if is_code:
        return f"code:{v}" if v and plausible_code_name(v) else None
    return _natural_language(v)


def _natural_language(v: str) -> str | None:
    """:func:`normalize_language` of a stripped, lower-cased value read as a natural language (not code)."""
    if "," in v:
        parts = [p.strip() for p in v.split(",")]
        if len(parts) != 2:
            return None
        codes = [to_code(p) for p in parts]
        if any(c is None or c == UNKNOWN or c in NOT_ONE_LANGUAGE for c in codes) or codes[0] == codes[1]:
            return None
        return ",".join(codes)
    pair = _hyphen_pair(v)
    if pair is not None:
        return pair or None
    code = to_code(v)
    if code is None or code == UNKNOWN or code in NOT_ONE_LANGUAGE:
        return None
    return code


_WHERE_EFFECT = {
    "recipe": "a build writes ISO 639-1 codes where one exists (a record's {bad!r} becomes {good!r}, language_id "
              "writes {good!r}), so documents labelled {bad!r} would be counted apart from the others and "
              "language_gate would match none",
    "gate": "language_id writes ISO 639-1 codes where one exists, so the gate would match no document",
    "language_id": "language_id writes ISO 639-1 codes where one exists, so {bad!r} would match no chunk",
}


def not_a_yaml_boolean(v):
    """A pydantic before-validator for a language value: YAML 1.1 reads unquoted ``no`` (Norwegian), ``yes``,
    ``on``, ``off`` as booleans, which would otherwise fail as "not a valid string" with no hint."""
    if isinstance(v, bool):
        hint = ('quote it: "no" is Norwegian (YAML reads an unquoted no as false)' if v is False else
                "quote the value (YAML reads an unquoted yes/on/true as true)")
        raise ValueError(f"language {v!r} is a YAML boolean, not a language code; {hint}")
    return v


def language_problem(value: str, where: str = "recipe") -> str | None:
    """None if ``value`` is written as a build writes it (``fr``, ``yue``, a pair ``fr,en``, ``code``,
    ``code:python``; ``und`` in a recipe's own ``languages``), else what is wrong and the value to write:
    the code :func:`normalize_language` gives the same value in a record, when there is one ("did you mean").
    ``where``: ``recipe`` (a source's ``languages``), ``gate`` (``language_gate.languages``) or ``language_id``
    (chunk languages, lingua candidates): the explanation says what the value would do there."""
    v = value.strip()
    low = v.lower()
    canon = normalize_language(v)
    if canon is not None and canon == value:
        return None
    if v != value and (canon == v or low == UNKNOWN and where == "recipe"):
        return f"language {value!r}: did you mean {v!r}? (no spaces around a code)"
    if low == UNKNOWN:
        if where == "recipe":
            return None if value == UNKNOWN else f"language {value!r}: write 'und' (unknown) in lower case"
        return (f"language {value!r}: 'und' (unknown) matches no document here: language_id always names a "
                "language; list the languages to keep")
    if low in NOT_ONE_LANGUAGE:
        return (f"language {value!r} means {NOT_ONE_LANGUAGE[low]}, not one language; name the languages "
                "(fr, or a pair fr,en), or `und` when they are unknown")
    if low.startswith("code"):
        if canon is not None:
            return f"language {value!r}: did you mean {canon!r}? (code languages are written in lower case)"
        return (f"language {value!r} is not `code` or `code:<language>` (code:python; a language name is letters, "
                f"digits, spaces and # + - _ . ' ( ), at most {CODE_NAME_MAX_BYTES} bytes)")
    if "," in low:
        parts = [p.strip() for p in low.split(",")]
        if len(parts) > 2:
            return f"language {value!r}: a pair has two languages (fr,en)"
        codes = [to_code(p) for p in parts]
        if codes[0] is not None and codes[0] == codes[1]:
            return f"language {value!r}: a pair needs two different languages (fr,en); for one language write {codes[0]!r}"
        for p, c in zip(parts, codes):
            if p in (UNKNOWN, *NOT_ONE_LANGUAGE) or c in (UNKNOWN, *NOT_ONE_LANGUAGE):
                return (f"language {value!r}: a pair names two languages, and {p!r} is not one; write the language "
                        f"you know alone (fr), or `und` alone when it is unknown")
            if c is None:
                return f"language {value!r}: " + _single_problem(p, where)
        return f"language {value!r}: did you mean {canon!r}? (a pair is written as the build writes it)"
    pair = _hyphen_pair(low)
    if pair == "":
        return f"language {value!r}: a pair needs two different languages (fr,en)"
    if pair:
        a, b = pair.split(",")
        return (f"language {value!r}: a pair is written with a comma in a recipe; did you mean {pair!r}? "
                f"({value!r} names two languages, {_entry(a).name} and {_entry(b).name}; `fr-en` is only the "
                "pair's folder name)")
    return f"language {value!r}: " + _single_problem(v, where)


def _single_problem(part: str, where: str) -> str:
    """What is wrong with one language of a recipe value (not a pair, not code)."""
    low = part.strip().lower()
    code = to_code(part)
    shape = re.fullmatch(r"[a-z]{2,3}", low) is not None
    if code is None:
        if shape:
            return f"{low!r} is not an ISO 639 language code"
        return f"{part!r} is not an ISO 639-1 code (fr, en…), a pair (fr,en) or code[:lang]"
    lang = _entry(code) if code not in LID176_EXTRA else None
    name = f" ({lang.name})" if lang is not None else ""
    if low in LEGACY_CODES:
        return (f"{low!r} is the withdrawn ISO 639-1 code of {lang.name if lang else code}; did you mean {code!r}? "
                "(what language_id writes)")
    if shape and low != code and _entry(low) is not None and _code_of(_entry(low)) == code:
        effect = _WHERE_EFFECT.get(where, _WHERE_EFFECT["recipe"]).format(bad=low, good=code)
        return f"use the ISO 639-1 code {code!r}{name} instead of {low!r}: {effect}"
    if low == code:  # the code in another case (FR)
        return f"did you mean {code!r}? (codes are written in lower case, as the build writes them)"
    if re.fullmatch(r"[a-z]{2,3}([-_][a-z0-9]{2,8})+", low):
        return (f"did you mean {code!r}{name}? a build writes languages without region or script (a record's "
                f"{part!r} becomes {code!r}; language_id writes {code!r})")
    return (f"{part!r} is not an ISO 639-1 code (fr, en…), a pair (fr,en) or code[:lang]; did you mean "
            f"{code!r}{name}?")
