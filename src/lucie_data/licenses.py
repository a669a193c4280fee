"""Pure licence core: normalise licence strings to SPDX, classify them, decide policy.

Nothing here does I/O. Every function is total on its documented input (it never
raises on odd strings): corpus metadata is messy and a licence normaliser that
crashes half-way through a build is worse than one that answers "unknown" --
and "unknown" is always denied unless a recipe explicitly says otherwise.

Sources:

* SPDX License List, https://spdx.org/licenses/ (ids, including the Creative
  Commons jurisdiction ports SPDX lists, ``LGPLLR``, ``etalab-2.0``, ``ODC-By-1.0``);
  SPDX expression syntax, https://spdx.github.io/spdx-spec/v2.3/SPDX-license-expressions/
  (``AND`` binds tighter than ``OR``; identifiers are case-insensitive).
* Creative Commons licence list and legal code, https://creativecommons.org/licenses/list.en
  (BY-SA / BY-NC-SA 2.0, 2.5, 3.0 and their ports let adaptations be licensed under
  "a later version of this License with the same License Elements", §4(b)), and
  https://creativecommons.org/share-your-work/licensing-considerations/compatible-licenses/
* OpenLLM-France Lucie-Training, ``data.py`` ``DataIteratorGutenberg``
  (https://github.com/OpenLLM-France/Lucie-Training) for :func:`gutenberg_allowed`.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable
from typing import Literal, Union

import pydantic
from pydantic import field_validator

__all__ = [
    "LicenseClass",
    "UNKNOWN",
    "LICENSE_CLASSES",
    "CLASS_RANK",
    "SPDX_IDS",
    "normalize_license",
    "unknown_license_hint",
    "license_from_statement",
    "license_class",
    "needs_attribution",
    "is_share_alike",
    "is_no_derivatives",
    "is_non_commercial",
    "share_alike_obligations",
    "mix_license",
    "LicensePolicy",
    "gutenberg_allowed",
    "gutenberg_decision",
]

LicenseClass = Literal["public-domain", "permissive", "share-alike", "non-commercial", "no-derivatives", "unknown"]

#: The id returned for anything that cannot be recognised.
UNKNOWN = "LicenseRef-unknown"

#: Classes from least to most restrictive. The most restrictive obligation wins:
#: unknown > non-commercial > no-derivatives > share-alike > permissive > public-domain
#: (so CC-BY-NC-ND-4.0 is "non-commercial", CC-BY-NC-SA-4.0 is "non-commercial").
LICENSE_CLASSES: tuple[LicenseClass, ...] = (
    "public-domain", "permissive", "share-alike", "no-derivatives", "non-commercial", "unknown",
)
CLASS_RANK: dict[str, int] = {c: i for i, c in enumerate(LICENSE_CLASSES)}

# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------

# Creative Commons ids present in the SPDX License List (v3.2x). Ports that are not
# here (e.g. CC BY 2.0 DE, CC BY-SA 2.5 CH, CC BY-SA 3.0 US) become "LicenseRef-CC-…".
_CC_SPDX = frozenset("""
CC-BY-1.0 CC-BY-2.0 CC-BY-2.5 CC-BY-2.5-AU CC-BY-3.0 CC-BY-3.0-AT CC-BY-3.0-AU CC-BY-3.0-DE
CC-BY-3.0-IGO CC-BY-3.0-NL CC-BY-3.0-US CC-BY-4.0
CC-BY-NC-1.0 CC-BY-NC-2.0 CC-BY-NC-2.5 CC-BY-NC-3.0 CC-BY-NC-3.0-DE CC-BY-NC-4.0
CC-BY-NC-ND-1.0 CC-BY-NC-ND-2.0 CC-BY-NC-ND-2.5 CC-BY-NC-ND-3.0 CC-BY-NC-ND-3.0-DE CC-BY-NC-ND-3.0-IGO
CC-BY-NC-ND-4.0
CC-BY-NC-SA-1.0 CC-BY-NC-SA-2.0 CC-BY-NC-SA-2.0-DE CC-BY-NC-SA-2.0-FR CC-BY-NC-SA-2.0-UK CC-BY-NC-SA-2.5
CC-BY-NC-SA-3.0 CC-BY-NC-SA-3.0-DE CC-BY-NC-SA-3.0-IGO CC-BY-NC-SA-4.0
CC-BY-ND-1.0 CC-BY-ND-2.0 CC-BY-ND-2.5 CC-BY-ND-3.0 CC-BY-ND-3.0-DE CC-BY-ND-4.0
CC-BY-SA-1.0 CC-BY-SA-2.0 CC-BY-SA-2.0-UK CC-BY-SA-2.1-JP CC-BY-SA-2.5 CC-BY-SA-3.0 CC-BY-SA-3.0-AT
CC-BY-SA-3.0-DE CC-BY-SA-3.0-IGO CC-BY-SA-4.0
CC-SA-1.0
""".split())

# Non-CC-attribute SPDX ids we know, with (class, needs attribution).
# Deprecated-but-valid ids (GPL-2.0, LGPL-2.1, …) are kept as written: normalising the
# spelling must not change what the source claimed. "GPL-2.0+" style is rewritten to
# the current "-or-later" form.
_PD, _PERM, _SA = "public-domain", "permissive", "share-alike"
_OTHER_SPDX: dict[str, tuple[str, bool]] = {
    # public domain / no conditions
    "CC0-1.0": (_PD, False), "CC-PDDC": (_PD, False), "CC-PDM-1.0": (_PD, False),
    "PDDL-1.0": (_PD, False), "Unlicense": (_PD, False),
    # permissive without attribution
    "0BSD": (_PERM, False), "MIT-0": (_PERM, False), "WTFPL": (_PERM, False),
    # permissive, notices/credit required
    "MIT": (_PERM, True), "X11": (_PERM, True), "ISC": (_PERM, True), "Zlib": (_PERM, True),
    "Apache-1.0": (_PERM, True), "Apache-1.1": (_PERM, True), "Apache-2.0": (_PERM, True),
    "BSD-2-Clause": (_PERM, True), "BSD-3-Clause": (_PERM, True), "BSD-4-Clause": (_PERM, True),
    "BSL-1.0": (_PERM, True), "PSF-2.0": (_PERM, True), "Python-2.0": (_PERM, True),
    "PostgreSQL": (_PERM, True), "NCSA": (_PERM, True), "UPL-1.0": (_PERM, True),
    "ODC-By-1.0": (_PERM, True), "etalab-2.0": (_PERM, True),
    "CDLA-Permissive-1.0": (_PERM, True), "CDLA-Permissive-2.0": (_PERM, True),
    "OGL-UK-1.0": (_PERM, True), "OGL-UK-2.0": (_PERM, True), "OGL-UK-3.0": (_PERM, True),
    "OGL-Canada-2.0": (_PERM, True), "CECILL-B": (_PERM, True),
    # copyleft / share-alike (weak copyleft such as MPL, LGPL, CeCILL-C counts too)
    "ODbL-1.0": (_SA, True), "CDLA-Sharing-1.0": (_SA, True), "LGPLLR": (_SA, True),
    "MPL-1.0": (_SA, True), "MPL-1.1": (_SA, True), "MPL-2.0": (_SA, True),
    "EUPL-1.0": (_SA, True), "EUPL-1.1": (_SA, True), "EUPL-1.2": (_SA, True),
    "CECILL-2.0": (_SA, True), "CECILL-2.1": (_SA, True), "CECILL-C": (_SA, True),
    # More OSI-approved (opensource.org/licenses) or FSF-free (gnu.org/licenses/license-list) licences, ids as in
    # the SPDX License List (review: valid ids such as EPL-2.0 were rejected). Class from the licence's own terms;
    # where a licence sits between the classes, the more restrictive one is taken (nothing is guessed in favour).
    # Permissive, the notice / licence text must be kept:
    "AFL-3.0": (_PERM, True), "ECL-2.0": (_PERM, True), "EFL-2.0": (_PERM, True), "Python-2.0.1": (_PERM, True),
    "Unicode-3.0": (_PERM, True), "Unicode-DFS-2015": (_PERM, True), "Unicode-DFS-2016": (_PERM, True),
    "BlueOak-1.0.0": (_PERM, True), "W3C": (_PERM, True), "ZPL-2.1": (_PERM, True), "MulanPSL-2.0": (_PERM, True),
    "BSD-3-Clause-Clear": (_PERM, True), "curl": (_PERM, True), "libpng-2.0": (_PERM, True), "HPND": (_PERM, True),
    "OpenSSL": (_PERM, True),  # FSF-free; advertising clause: credit required
    # Artistic-2.0, LPPL and Ruby let a modified version be distributed without its source if it is renamed /
    # documented as changed (Artistic-2.0 §4(c), LPPL-1.3c §6, Ruby §2(c); Ruby also offers the GPL or BSDL):
    # conditions on naming, not share-alike.
    "Artistic-2.0": (_PERM, True), "LPPL-1.3a": (_PERM, True), "LPPL-1.3c": (_PERM, True), "Ruby": (_PERM, True),
    # Beerware: not reviewed by OSI or FSF (SPDX lists it; Fedora allows it); its whole text is "do whatever you
    # want with this stuff" as long as the notice is kept: plainly permissive.
    "Beerware": (_PERM, True),
    # Weak or strong copyleft: adaptations (of the covered files) keep the licence.
    "EPL-1.0": (_SA, True), "EPL-2.0": (_SA, True), "CPL-1.0": (_SA, True), "CDDL-1.0": (_SA, True),
    "CDDL-1.1": (_SA, True), "MS-PL": (_SA, True),  # MS-PL §3(D): source copies only under MS-PL (FSF: weak copyleft)
    "APSL-2.0": (_SA, True), "OSL-3.0": (_SA, True), "Sleepycat": (_SA, True),
    "OFL-1.1": (_SA, True), "OFL-1.1-RFN": (_SA, True), "OFL-1.1-no-RFN": (_SA, True),  # OFL §5: stays OFL
    "Vim": (_SA, True),  # Vim §II: a modified Vim must make its changes available (FSF: partly copyleft)
    # Deliberately NOT known (they stay LicenseRef-unknown, denied unless a recipe sets `unknown: allow`):
    # * SSPL-1.0: rejected by OSI, non-free for FSF/Debian/Fedora; its §13 reaches the whole software stack
    #   offering a service, an obligation "share-alike" does not describe, so calling it share-alike (allowed by
    #   the default policy) would guess in its favour.
    # * JSON: "The Software shall be used for Good, not Evil" restricts use (FSF, Debian: non-free).
}
for _fam, _versions in (
    ("GPL", ("1.0", "2.0", "3.0")), ("LGPL", ("2.0", "2.1", "3.0")), ("AGPL", ("1.0", "3.0")),
    ("GFDL", ("1.1", "1.2", "1.3")),
):
    for _v in _versions:
        for _suffix in ("", "-only", "-or-later"):
            _OTHER_SPDX[f"{_fam}-{_v}{_suffix}"] = (_SA, True)

# SPDX's deprecated ids and the current id each is defined as (spdx.org/licenses, "Deprecated License Identifiers"):
# a document keeps the id it was given, but a policy that allows or denies one denies or allows both (review: `deny:
# [GPL-2.0-only]` kept documents labelled GPL-2.0, the same licence).
_SAME_AS: dict[str, str] = {f"{fam}-{v}".casefold(): f"{fam}-{v}-only".casefold()
                            for fam, vs in (("GPL", ("1.0", "2.0", "3.0")), ("LGPL", ("2.0", "2.1", "3.0")),
                                            ("AGPL", ("1.0", "3.0")), ("GFDL", ("1.1", "1.2", "1.3"))) for v in vs}


@functools.lru_cache(maxsize=4096)  # a pure function of a string, called for every allow/deny entry per decision
def _policy_key(spdx: str) -> str:
    """An id or expression as a policy compares it: case-folded, deprecated ids read as their current id."""
    return " ".join(_SAME_AS.get(t, t) for t in re.split(r"(\s+|[()])", spdx.casefold()) if t and not t.isspace())


#: Every SPDX id this module knows. Anything else is UNKNOWN (or a LicenseRef- it was given).
SPDX_IDS: frozenset[str] = frozenset(_CC_SPDX | _OTHER_SPDX.keys())
_SPDX_BY_LOWER: dict[str, str] = {i.lower(): i for i in SPDX_IDS}

# Creative Commons jurisdiction codes (ported licences); "igo" = intergovernmental orgs.
_CC_JURISDICTIONS = frozenset("""
am ar at au az be bg br ca ch cl cn co cr cz de dk ec ee eg es fi fr ge gr gt hk hr hu ie igo il in it
jo jp kr lu mk mt mx my nl no nz pe ph pl pr pt ro rs scotland se sg si sk th tw ug uk us ve vn za
""".split())
_CC_VERSIONS = frozenset({"1.0", "2.0", "2.1", "2.5", "3.0", "4.0"})
_CC_ELEMENTS = ("by", "nc", "sa", "nd")

# ---------------------------------------------------------------------------
# Tokenisation: "CC BY-SA 4.0", "cc_by_sa_4_0", "Creative Commons Attribution-ShareAlike
# 4.0 International" and "CC-BY-SA-4.0" all become the key "cc by sa 4.0".
# ---------------------------------------------------------------------------

_JUR = "zzj"  # prefix of a jurisdiction token that came from an explicit country name

# (phrase, replacement). Phrases are tokenised like the input; noise words map to "".
_PHRASES_SRC: list[tuple[str, str]] = [
    # noise
    *[(w, "") for w in (
        "the", "license", "licence", "licenses", "licences", "lizenz", "licensed", "licencia",
        "licenza", "version", "v", "ver", "international", "unported", "generic", "universal",
        "deed", "legalcode",
    )],
    # Creative Commons, in English, German, French, Spanish and Italian
    ("creative commons zero", "cczero"), ("cc zero", "cczero"), ("creative commons", "cc"),
    ("creativecommons", "cc"),
    *[(w, "by") for w in ("attribution", "namensnennung", "paternite", "reconocimiento",
                          "atribucion", "attribuzione")],
    *[(w, "sa") for w in ("sharealike", "share alike", "weitergabe unter gleichen bedingungen",
                          "partage dans les memes conditions", "partage a l identique",
                          "compartir igual", "compartirigual", "condividi allo stesso modo")],
    *[(w, "nc") for w in ("noncommercial", "non commercial", "nicht kommerziell", "nichtkommerziell",
                          "pas d utilisation commerciale", "no comercial", "nocomercial",
                          "non commerciale")],
    *[(w, "nd") for w in ("noderivatives", "no derivatives", "noderivs", "no derivs",
                          "no derivative works", "keine bearbeitung", "keine bearbeitungen", "keinebearbeitung",
                          "pas de modification", "sin obra derivada", "sin obras derivadas",
                          "sinobraderivada", "non opere derivate")],
    # jurisdictions spelled out
    *[(w, _JUR + "de") for w in ("deutschland", "germany", "allemagne")],
    *[(w, _JUR + "at") for w in ("osterreich", "austria", "autriche")],
    *[(w, _JUR + "ch") for w in ("schweiz", "switzerland", "suisse", "svizzera")],
    *[(w, _JUR + "us") for w in ("united states", "united states of america")],
    *[(w, _JUR + "uk") for w in ("england and wales", "england wales")],
    *[(w, _JUR + "fr") for w in ("france",)],
    *[(w, _JUR + "nl") for w in ("netherlands", "nederland")],
    *[(w, _JUR + "au") for w in ("australia",)],
    *[(w, _JUR + "es") for w in ("spain", "espana")],
    *[(w, _JUR + "it") for w in ("italy", "italia")],
    *[(w, _JUR + "jp") for w in ("japan",)],
    *[(w, _JUR + "be") for w in ("belgium", "belgique")],
    *[(w, _JUR + "ca") for w in ("canada",)],
    *[(w, _JUR + "lu") for w in ("luxembourg",)],
    *[(w, _JUR + "pl") for w in ("poland", "polska")],
    *[(w, _JUR + "br") for w in ("brazil", "brasil")],
    # GNU and other long names
    ("or any later", "or later"),
    ("gnu general public", "gpl"), ("general public", "gpl"), ("gnu gpl", "gpl"),
    ("gnu lesser general public", "lgpl"), ("lesser general public", "lgpl"),
    ("gnu library general public", "lgpl"), ("library general public", "lgpl"), ("gnu lgpl", "lgpl"),
    ("gnu affero general public", "agpl"), ("affero general public", "agpl"), ("gnu agpl", "agpl"),
    ("gnu free documentation", "gfdl"), ("free documentation", "gfdl"), ("gnu fdl", "gfdl"),
    ("fdl", "gfdl"),
    ("mozilla public", "mpl"), ("european union public", "eupl"), ("apache software", "apache"),
    ("open data commons", "odc"), ("open database", "odbl"),
]

_SEPARATORS_OK = re.compile(r"[^a-z0-9\s\-.,:;/()'+&]")
# Characters that show as nothing (review: "CC-BY-4.0" + U+200B was unknown although a no-break space was read):
# soft hyphen, Mongolian vowel separator, zero-width space / non-joiner / joiner, LRM / RLM, bidi embeddings and
# isolates, word joiner and invisible operators, BOM / zero-width no-break space. Removed before anything else is
# read, so a string means what it shows ("CC\u00adBY-4.0" is "CC-BY-4.0"; "MIT\u200bOR" is "MITOR", not an OR).
_INVISIBLE_RE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_TOKEN_RE = re.compile(r"[a-z]+|\d+")


def _fold(s: str) -> str:
    """Casefold and strip accents ("Österreich" -> "osterreich"), "_" becomes a space."""
    s = unicodedata.normalize("NFKD", _INVISIBLE_RE.sub("", s))
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = s.replace("_", " ").replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-")
    s = re.sub(r"(?<=\d)\+", " or later ", s)  # GPL-2.0+ -> gpl 2.0 or later
    s = re.sub(r"\bcc[\s-]?(?:0|zero)\b", " cczero ", s)  # CC0, CC-0, cc zero
    s = re.sub(r"(?<=[a-z])v(?=\d)", " ", s)  # GPLv3, LGPLv2.1
    return s


def _raw_tokens(folded: str) -> list[str]:
    """Split into letter / number tokens; adjacent numbers form a version ("4 0" -> "4.0")."""
    out: list[str] = []
    prev_end = -1
    glued = False  # the previous number was glued to letters (cczero handled before)
    for m in _TOKEN_RE.finditer(folded):
        tok = m.group()
        if tok[0].isdigit() and out and out[-1][0].isdigit():
            sep = folded[prev_end:m.start()]
            last = out[-1]
            if sep == "." or (
                len(sep) == 1 and sep in " -" and not glued and "." not in last
                and len(last) <= 2 and len(tok) <= 2
            ):
                out[-1] = f"{last}.{tok}"
                prev_end = m.end()
                continue
        glued = tok[0].isdigit() and m.start() > 0 and folded[m.start() - 1].isalpha()
        out.append(tok)
        prev_end = m.end()
    return out


def _build_phrases() -> tuple[dict[tuple[str, ...], tuple[str, ...]], int]:
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for src, rep in _PHRASES_SRC:
        key = tuple(_raw_tokens(_fold(src)))
        table[key] = tuple(rep.split())
    return table, max(len(k) for k in table)


_PHRASES, _PHRASE_MAX = _build_phrases()


def _tokens(folded: str) -> list[str]:
    toks = _raw_tokens(folded)
    out: list[str] = []
    i = 0
    while i < len(toks):
        for n in range(min(_PHRASE_MAX, len(toks) - i), 0, -1):
            rep = _PHRASES.get(tuple(toks[i:i + n]))
            if rep is not None:
                out.extend(rep)
                i += n
                break
        else:
            out.append(toks[i])
            i += 1
    return out


def _key(s: str) -> str | None:
    """Whole-string key, or None when the string holds characters no licence name has."""
    folded = _fold(s.strip().strip("\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb"))
    if _SEPARATORS_OK.search(folded):
        return None
    toks = _tokens(folded)
    return " ".join(toks) if toks else None


def _version(tok: str) -> str | None:
    if re.fullmatch(r"\d", tok):
        tok += ".0"
    return tok if tok in _CC_VERSIONS else None


def _cc_id(elements: Iterable[str], version: str, jurisdiction: str | None) -> str | None:
    """Canonical id for a CC licence, or None if CC never published such a licence."""
    els = set(elements)
    if not els or not els <= set(_CC_ELEMENTS) or ("sa" in els and "nd" in els):
        return None
    if "by" not in els and version != "1.0":  # only the 1.0 family had non-BY licences
        return None
    if jurisdiction is not None and (version == "4.0" or jurisdiction not in _CC_JURISDICTIONS):
        return None
    if jurisdiction is None and version == "2.1":  # 2.1 exists only as ports
        return None
    base = "CC-" + "-".join(e.upper() for e in _CC_ELEMENTS if e in els) + "-" + version
    if jurisdiction:
        base += "-" + jurisdiction.upper()
    if base in _CC_SPDX:
        return base
    if jurisdiction or "by" not in els:
        return "LicenseRef-" + base
    return None


def _cc_from_tokens(toks: list[str], bare_by: bool = True) -> str | None:
    """Parse a full token list "cc by sa 3.0 de" (the whole list must be consumed).

    The "Creative Commons" / "CC" prefix may be left out when the name starts with Attribution ("by"): CC's own
    titles do ("Attribution-NonCommercial-ShareAlike 4.0 International", "Namensnennung 3.0 Deutschland"), and no
    other licence is named "Attribution <version>" (review: those were unknown while the prefixed names were read).
    The non-BY 1.0 licences ("ShareAlike 1.0", "NoDerivs 1.0") keep needing the prefix: "SA 1.0" alone names
    nothing for sure. ``bare_by=False``: the prefix is required (after ``LicenseRef-``)."""
    if len(toks) >= 3 and toks[0] == "cc":
        i = 1
    elif bare_by and len(toks) >= 2 and toks[0] == "by":
        i = 0
    else:
        return None
    els: list[str] = []
    while i < len(toks) and toks[i] in _CC_ELEMENTS and toks[i] not in els:
        els.append(toks[i])
        i += 1
    if i >= len(toks) or (version := _version(toks[i])) is None:
        return None
    i += 1
    jur = None
    if i < len(toks):
        t = toks[i]
        jur = t[len(_JUR):] if t.startswith(_JUR) else t
        i += 1
    if i != len(toks):
        return None
    return _cc_id(els, version, jur)


# Aliases: written in natural form, keyed through the same _key() as the input.
_ALIAS_SRC: dict[str, str] = {
    "CC0": "CC0-1.0", "CC0 1.0": "CC0-1.0", "CC Zero": "CC0-1.0",
    "CC0 1.0 Universal Public Domain Dedication": "CC0-1.0",
    "Public Domain Mark 1.0": "CC-PDM-1.0", "PDM 1.0": "CC-PDM-1.0",
    "public domain": "LicenseRef-public-domain", "PD": "LicenseRef-public-domain",
    "domaine public": "LicenseRef-public-domain", "dominio publico": "LicenseRef-public-domain",
    "pubblico dominio": "LicenseRef-public-domain", "gemeinfrei": "LicenseRef-public-domain",
    "Public Domain Dedication and License": "PDDL-1.0", "PDDL": "PDDL-1.0", "ODC-PDDL": "PDDL-1.0",
    "Expat": "MIT", "MIT License": "MIT",
    "ASL 2.0": "Apache-2.0", "Apache 2": "Apache-2.0",
    "3-Clause BSD": "BSD-3-Clause", "BSD 3": "BSD-3-Clause", "New BSD": "BSD-3-Clause",
    "BSD New": "BSD-3-Clause", "Modified BSD": "BSD-3-Clause", "Revised BSD": "BSD-3-Clause",
    "2-Clause BSD": "BSD-2-Clause", "BSD 2": "BSD-2-Clause", "Simplified BSD": "BSD-2-Clause",
    "FreeBSD": "BSD-2-Clause",
    "ODC-BY": "ODC-By-1.0", "Open Data Commons Attribution License": "ODC-By-1.0",
    "ODbL": "ODbL-1.0", "ODC-ODbL": "ODbL-1.0", "Open Database License": "ODbL-1.0",
    "Etalab 2.0": "etalab-2.0", "Licence Ouverte 2.0": "etalab-2.0",
    "Etalab Licence Ouverte 2.0": "etalab-2.0", "Licence Ouverte Etalab 2.0": "etalab-2.0",
    "LO 2.0": "etalab-2.0", "Licence Ouverte / Open Licence 2.0": "etalab-2.0",
    "Etalab Open Licence 2.0": "etalab-2.0", "LO-FR-2.0": "etalab-2.0", "Open Licence 2.0": "etalab-2.0",
    "Licence Ouverte d'Etalab 2.0": "etalab-2.0",
    # Licence Ouverte / Open Licence 1.0 (Etalab, 2011; superseded by 2.0 in 2017, data.gouv.fr still carries it):
    # SPDX has no id for it, so a LicenseRef, classed in _REF_FACTS. "Licence Ouverte" without a version stays
    # unknown, as "CC BY" does (see unknown_license_hint).
    **{name: "LicenseRef-etalab-1.0" for name in (
        "Licence Ouverte 1.0", "Licence Ouverte / Open Licence 1.0", "Open Licence 1.0", "Etalab 1.0", "LO 1.0",
        "LO-FR-1.0", "Etalab Licence Ouverte 1.0", "Licence Ouverte Etalab 1.0", "Etalab Open Licence 1.0",
        "Licence Ouverte d'Etalab 1.0")},
    "LGPL-LR": "LGPLLR", "LGPL LR": "LGPLLR",
    "Lesser General Public License For Linguistic Resources": "LGPLLR",
}

# LicenseRef- ids that have a canonical spelling (so fuzzed spellings converge).
_KNOWN_REFS: dict[str, str] = {
    "public domain": "LicenseRef-public-domain",
    "pd us project gutenberg": "LicenseRef-PD-US-Project-Gutenberg",
    "lgpl lr": "LGPLLR",  # SPDX lists LGPLLR, so the SPDX id is preferred
    "etalab 1.0": "LicenseRef-etalab-1.0",
}

# Classes of the LicenseRef- ids this module writes itself (besides LicenseRef-public-domain / -PD-…), as in
# _OTHER_SPDX: (class, needs attribution). Licence Ouverte 1.0 art. "Réutilisation": free reuse, commercial
# included, with mention of the source ("paternité"): permissive, attribution required, like etalab-2.0.
_REF_FACTS: dict[str, tuple[str, bool]] = {
    "licenseref-etalab-1.0": (_PERM, True),
}


def _build_aliases() -> dict[str, str]:
    table: dict[str, str] = {}

    def add(src: str, target: str) -> None:
        k = _key(src)
        if k is None:
            raise AssertionError(f"alias {src!r} has no key")
        variants = {k, re.sub(r"\b(\d+)\.0\b", r"\1", k)}  # "apache 2.0" and "apache 2"
        for v in variants:
            if table.get(v, target) != target:
                raise AssertionError(f"alias collision on {v!r}: {table[v]} vs {target}")
            table[v] = target

    for spdx in _OTHER_SPDX:
        add(spdx, spdx)
    for src, target in _ALIAS_SRC.items():
        add(src, target)
    return table


_ALIASES = _build_aliases()

# ---------------------------------------------------------------------------
# Single-licence normalisation
# ---------------------------------------------------------------------------

_LICENSEREF_RE = re.compile(r"licenseref-([A-Za-z0-9.\-]+)", re.I)
_CC_URL_RE = re.compile(
    r"(?:https?://)?(?:www\.)?creativecommons\.org/licen[cs]es/(?P<el>[a-z]+(?:-[a-z]+)*)/"
    r"(?P<ver>\d(?:\.\d)?)(?:/(?!deed|legalcode)(?P<jur>[a-z]{2,9}))?"
    r"(?:/(?:deed|legalcode)(?:\.[a-z]{2,3}(?:[-_][a-z]{2,4})?)?(?:\.txt)?)?/?(?:[#?].*)?",
    re.I,
)
_CC_PD_URL_RE = re.compile(
    r"(?:https?://)?(?:www\.)?creativecommons\.org/publicdomain/(?P<kind>zero|mark)/1\.0"
    r"(?:/(?:deed|legalcode)(?:\.[a-z]{2,3}(?:[-_][a-z]{2,4})?)?(?:\.txt)?)?/?(?:[#?].*)?",
    re.I,
)
_OTHER_URL_RES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:https?://)?(?:www\.)?(?:spdx\.org/licenses|opensource\.org/licenses?)/"
                r"([A-Za-z0-9.+\-]+?)(?:\.html?|\.php)?/?", re.I), "{0}"),
    (re.compile(r"(?:https?://)?(?:www\.)?apache\.org/licenses/LICENSE-2\.0(?:\.txt|\.html)?/?", re.I),
     "Apache-2.0"),
    (re.compile(r"(?:https?://)?(?:www\.)?gnu\.org/licenses/(?:old-licenses/)?(gpl|lgpl|agpl|fdl)-"
                r"(\d\.\d)(?:\.en)?(?:\.html|\.txt)?/?", re.I), "{0}-{1}"),
]


def _cc_from_url_parts(elements: str, version: str, jurisdiction: str | None) -> str | None:
    v = _version(version)
    if v is None:
        return None
    return _cc_id(elements.lower().split("-"), v, jurisdiction.lower() if jurisdiction else None)


def _from_url(s: str) -> str | None:
    if m := _CC_URL_RE.fullmatch(s):
        return _cc_from_url_parts(m["el"], m["ver"], m["jur"])
    if m := _CC_PD_URL_RE.fullmatch(s):
        return "CC0-1.0" if m["kind"].lower() == "zero" else "CC-PDM-1.0"
    for rx, template in _OTHER_URL_RES:
        if m := rx.fullmatch(s):
            inner = template.format(*m.groups()).replace("fdl-", "gfdl-")
            return _single_no_url(inner)
    return None


def _single_no_url(s: str) -> str | None:
    s = s.strip()
    if not s:
        return None
    if m := _LICENSEREF_RE.fullmatch(s):
        rest = m.group(1)
        if rest.lower() == "unknown":
            return None
        k = _key(rest)
        if k is not None:
            if k in _KNOWN_REFS:
                return _KNOWN_REFS[k]
            if (cc := _cc_from_tokens(k.split(), bare_by=False)) is not None:
                return cc
        return "LicenseRef-" + rest  # an existing LicenseRef is kept as given
    if (hit := _SPDX_BY_LOWER.get(s.lower())) is not None:
        return hit
    if s.endswith("+") and (hit := _SPDX_BY_LOWER.get(s[:-1].lower() + "-or-later")) is not None:
        return hit
    k = _key(s)
    if k is None:
        return None
    if k in _ALIASES:
        return _ALIASES[k]
    toks = k.split()
    if (cc := _cc_from_tokens(toks)) is not None:
        return cc
    if toks[0] == "licenseref" and len(toks) > 1:
        rest = " ".join(toks[1:])
        if rest in _KNOWN_REFS:
            return _KNOWN_REFS[rest]
        return _cc_from_tokens(toks[1:], bare_by=False)
    return None


def _single(s: str) -> str | None:
    s = s.strip()
    if "/" in s and ("." in s or ":" in s) and (hit := _from_url(s)) is not None:
        return hit
    return _single_no_url(s)


# ---------------------------------------------------------------------------
# Expressions. A node is ("leaf", id, exception|None) or ("or"|"and", (children…)).
# ---------------------------------------------------------------------------

Node = tuple
_MAX_LEN = 1000
_MAX_DEPTH = 16
# "(LICENSE)", "(see LICENSE.txt, COPYING)", "(LICENSE-MIT, LICENSE-APACHE)": pointers to the licence files, dropped
# (:func:`_file_refs_only`). The words after LICENSE / COPYING may only be a text extension, a version, or the start of
# a word of the licence named (`LICENSE.BSD` for BSD-3-Clause, `COPYING.GPL` for GPL-3.0; `LESSER`/`LIBRARY` for an
# LGPL). Reviews: "CC-BY-4.0 (LICENSE.NC)" was read as CC-BY-4.0, and "MIT (LICENSE.GPL)" as MIT.
_FILE_REF_RE = re.compile(r"(?:see\s+)?(?:(?:LICEN[CS]E|COPYING)([\w.\-]*)(?:\s*,\s*)?)", re.I)
_FILE_WORDS = frozenset({"txt", "md", "rst", "markdown"})
_FILE_WORDS_OF = {"lesser": "lgpl", "library": "lgpl"}


def _file_refs_only(inner: str, outer: str) -> bool:
    """Whether ``inner`` is only names of files of the licence ``outer`` states (see _FILE_REF_RE)."""
    pos, names = 0, [w.lower() for w in re.findall(r"[A-Za-z0-9]+", outer)]

    def of_licence(word: str) -> bool:
        family = _FILE_WORDS_OF.get(word, word if len(word) >= 3 else None)
        return family is not None and any(n.startswith(family) for n in names)

    while pos < len(inner):
        m = _FILE_REF_RE.match(inner, pos)
        if m is None or m.end() == pos:
            return False
        for word in re.findall(r"[A-Za-z0-9]+", m.group(1).lower()):
            if not (word.isdigit() or word in _FILE_WORDS or of_licence(word)):
                return False
        pos = m.end()
    return bool(inner)
_DUAL_RE = re.compile(r"dual(?:ly)?(?:[\s\-]*licen[cs]ed)?(?:\s+under)?\s*:?\s+(.+)", re.I | re.S)
_OP_SPLIT_RE = re.compile(r"(\(|\)|(?<![^\s()])(?:and|or|with)(?![^\s()]))", re.I)
# The exceptions of `A WITH <exception>`: SPDX's list (license-list-data json/exceptions.json, release 2023-07-27,
# plus the 23 ids of SPDX 3.27 that `packaging.licenses` ships; code review).
# A closed list, as SPDX's grammar has it: any other word made the expression valid ("CC-BY-4.0 WITH
# NonCommercial-exception" was classed permissive; licence review), so an exception not listed here makes the licence
# unknown. Each only adds permissions to its licence (linking, runtime, fonts), so the licence keeps its class.
_SPDX_EXCEPTIONS: dict[str, str] = {e.lower(): e for e in """
389-exception Asterisk-exception Autoconf-exception-2.0 Autoconf-exception-3.0 Autoconf-exception-generic
Autoconf-exception-macro Bison-exception-2.2 Bootloader-exception Classpath-exception-2.0 CLISP-exception-2.0
cryptsetup-OpenSSL-exception DigiRule-FOSS-exception eCos-exception-2.0 Fawkes-Runtime-exception FLTK-exception
Font-exception-2.0 freertos-exception-2.0 GCC-exception-2.0 GCC-exception-3.1 GNAT-exception gnu-javamail-exception
GPL-3.0-interface-exception GPL-3.0-linking-exception GPL-3.0-linking-source-exception GPL-CC-1.0
GStreamer-exception-2005 GStreamer-exception-2008 i2p-gpl-java-exception KiCad-libraries-exception
LGPL-3.0-linking-exception libpri-OpenH323-exception Libtool-exception Linux-syscall-note LLGPL LLVM-exception
LZMA-exception mif-exception Nokia-Qt-exception-1.1 OCaml-LGPL-linking-exception OCCT-exception-1.0
OpenJDK-assembly-exception-1.0 openvpn-openssl-exception PS-or-PDF-font-exception-20170817
QPL-1.0-INRIA-2004-exception Qt-GPL-exception-1.0 Qt-LGPL-exception-1.1 Qwt-exception-1.0 SHL-2.0 SHL-2.1
SWI-exception Swift-exception u-boot-exception-2.0 Universal-FOSS-exception-1.0 vsftpd-openssl-exception
WxWindows-exception-3.1 x11vnc-openssl-exception
Asterisk-linking-protocols-exception Autoconf-exception-generic-3.0 Bison-exception-1.24 CGAL-linking-exception
Digia-Qt-LGPL-exception-1.1 GCC-exception-2.0-note GNOME-examples-exception GNU-compiler-exception
GPL-3.0-389-ds-base-exception Gmsh-exception Independent-modules-exception PCRE2-exception RRDtool-FLOSS-exception-2.0
SANE-exception Texinfo-exception UBDL-exception erlang-otp-linking-exception fmt-exception harbour-exception
mxml-exception polyparse-exception romic-exception stunnel-exception""".split()}


def _leaf(i: str) -> Node:
    return ("leaf", i, None)


def _make(op: str, children: Iterable[Node]) -> Node:
    flat: list[Node] = []
    for c in children:
        flat.extend(c[1] if c[0] == op else (c,))
    seen: dict[str, Node] = {}
    for c in flat:
        seen.setdefault(_render(c), c)
    uniq = tuple(seen.values())
    return uniq[0] if len(uniq) == 1 else (op, uniq)


def _canon_key(node: Node) -> str:
    """An expression as a policy compares it: its disjunctive normal form over :func:`_policy_key` of each licence,
    terms and licences sorted. AND and OR commute (``deny: [MIT OR Apache-2.0]`` let ``Apache-2.0 OR MIT`` through;
    auditor review) and AND distributes over OR (``(MIT OR Apache-2.0) AND CC-BY-4.0`` is ``(Apache-2.0 AND
    CC-BY-4.0) OR (MIT AND CC-BY-4.0)``; verification review); a licence named twice is once (``GPL-2.0-only OR
    GPL-2.0``). An expression whose normal form would exceed 64 terms keeps its operands' order sorted instead."""
    dnf = _dnf(node)
    if dnf is None:
        return _sorted_key(node)
    terms = sorted(" and ".join(sorted(term)) for term in dnf)
    if len(terms) == 1:  # a single licence is its _policy_key, as the leaf checks of _verdict compare it
        return terms[0]
    return " or ".join(f"({t})" if " and " in t else t for t in terms)


_DNF_MAX = 64


def _dnf(node: Node) -> frozenset | None:
    """The set of AND-terms (each a frozenset of policy keys) whose OR the expression is; None past _DNF_MAX terms.
    :func:`_dnf_leaves` with each licence as its policy key (two spellings of one licence become one)."""
    terms = _dnf_leaves(node)
    return None if terms is None else frozenset(frozenset(_policy_key(_render(leaf)) for leaf in t) for t in terms)


def _leaves(node: Node) -> list:
    """Every licence leaf of an expression tree."""
    if node[0] == "leaf":
        return [node]
    return [leaf for c in node[1] for leaf in _leaves(c)]


def _dnf_leaves(node: Node) -> frozenset | None:
    """:func:`_dnf` over leaf nodes (each term a frozenset of ``("leaf", id, exception)``), for judging each licence
    of a term as :meth:`LicensePolicy._verdict` judges a leaf; None past _DNF_MAX terms."""
    if node[0] == "leaf":
        return frozenset({frozenset({node})})
    parts = [_dnf_leaves(c) for c in node[1]]
    if any(p is None for p in parts):
        return None
    if node[0] == "or":
        out = frozenset().union(*parts)
    else:
        terms = {frozenset()}
        for p in parts:
            terms = {a | b for a in terms for b in p}
            if len(terms) > _DNF_MAX:
                return None
        out = frozenset(terms)
    return out if len(out) <= _DNF_MAX else None


def _stricter(a: str, b: str) -> str:
    """Two verdicts (ok / unknown / denied) as one: a denial stands, then an unknown."""
    return "denied" if "denied" in (a, b) else "unknown" if "unknown" in (a, b) else "ok"


def _sorted_key(node: Node) -> str:
    if node[0] == "leaf":
        return _policy_key(_render(node))
    return "(" + f" {node[0]} ".join(sorted(_sorted_key(c) for c in node[1])) + ")"


def _render(node: Node) -> str:
    if node[0] == "leaf":
        return node[1] if node[2] is None else f"{node[1]} WITH {node[2]}"
    op = node[0].upper()
    parts = [f"({_render(c)})" if c[0] not in ("leaf", node[0]) else _render(c) for c in node[1]]
    return f" {op} ".join(parts)


def _single_or_slash(s: str) -> Node | None:
    hit = _single(s)
    if hit is not None:
        return _leaf(hit)
    if "/" in s and "://" not in s and "creativecommons" not in s.lower():
        parts = [p.strip() for p in s.split("/")]
        if len(parts) >= 2 and all(parts):
            ids = [_single(p) for p in parts]
            if all(ids):
                return _make("or", (_leaf(i) for i in ids))  # "MIT/Apache-2.0"
    return None


def _parse_expression(s: str) -> Node | None:
    s = re.sub(r"[\s\-]+or[\s\-]+(?:any[\s\-]+)?later(?:[\s\-]+version)?\b", "-or-later", s, flags=re.I)
    raw = [p.strip() for p in _OP_SPLIT_RE.split(s)]
    toks: list[tuple[str, str]] = []
    for p in raw:
        if not p:
            continue
        up = p.upper()
        toks.append(("op", up) if up in ("(", ")", "AND", "OR", "WITH") else ("text", p))
    if not any(t[0] == "op" for t in toks):
        return None
    pos = 0

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) else None

    def parse_or(depth: int) -> Node | None:
        nonlocal pos
        first = parse_and(depth)
        if first is None:
            return None
        items = [first]
        while peek() == ("op", "OR"):
            pos += 1
            nxt = parse_and(depth)
            if nxt is None:
                return None
            items.append(nxt)
        return _make("or", items)

    def parse_and(depth: int) -> Node | None:
        nonlocal pos
        first = parse_with(depth)
        if first is None:
            return None
        items = [first]
        while peek() == ("op", "AND"):
            pos += 1
            nxt = parse_with(depth)
            if nxt is None:
                return None
            items.append(nxt)
        return _make("and", items)

    def parse_with(depth: int) -> Node | None:
        nonlocal pos
        atom = parse_atom(depth)
        if atom is None:
            return None
        if peek() == ("op", "WITH"):
            pos += 1
            t = peek()
            if atom[0] != "leaf" or t is None or t[0] != "text" or t[1].lower() not in _SPDX_EXCEPTIONS:
                return None
            pos += 1
            return ("leaf", atom[1], _SPDX_EXCEPTIONS[t[1].lower()])
        return atom

    def parse_atom(depth: int) -> Node | None:
        nonlocal pos
        t = peek()
        if t is None or depth > _MAX_DEPTH:
            return None
        if t == ("op", "("):
            pos += 1
            inner = parse_or(depth + 1)
            if inner is None or peek() != ("op", ")"):
                return None
            pos += 1
            return inner
        if t[0] == "text":
            pos += 1
            return _single_or_slash(t[1])
        return None

    node = parse_or(0)
    return node if node is not None and pos == len(toks) else None


_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-"})  # hyphen, no-break, figure, minus


def _parse(s: str) -> Node | None:
    s = _INVISIBLE_RE.sub("", s).translate(_HYPHENS).strip()
    if not s or len(s) > _MAX_LEN:
        return None
    if (hit := _single(s)) is not None:
        return _leaf(hit)
    # "Apache License 2.0 (LICENSE)", "MIT License (MIT)", "Attribution 4.0 International (CC BY 4.0)"
    if m := re.fullmatch(r"(.*?)\s*\(([^()]*)\)", s, re.S):
        outer, inner = m.group(1).strip(), m.group(2).strip()
        if outer:
            if _file_refs_only(inner, outer):
                return _parse(outer)
            inner_id = _single(inner)
            if inner_id is not None and inner_id in (_single(outer), _single("Creative Commons " + outer)):
                return _leaf(inner_id)
    # "dual MIT / Apache-2.0", "dual-licensed under MIT and Apache-2.0": alternatives
    if m := _DUAL_RE.fullmatch(s):
        body = re.sub(r"\s+and\s+|\s*,\s*|\s*/\s*", " OR ", m.group(1), flags=re.I)
        node = _parse_expression(body) if " OR " in body else None
        if node is not None and node[0] == "or":
            return node
    if (node := _parse_expression(s)) is not None:
        return node
    return _single_or_slash(s)


@functools.lru_cache(maxsize=65536)
def _normalized_ast(s: str) -> Node | None:
    return _parse(s)


def _ast(raw: object) -> Node | None:
    if not isinstance(raw, str) or len(raw) > _MAX_LEN:
        return None
    try:
        return _normalized_ast(raw)
    except Exception:  # pragma: no cover - defensive: a licence must never crash a build
        return None


def normalize_license(raw: object) -> str:
    """Normalise a licence string found in the wild to an SPDX id / expression.

    Returns an SPDX id (``CC-BY-SA-4.0``), an SPDX expression whose members are each
    normalised (``MIT OR Apache-2.0``), a ``LicenseRef-…`` id when SPDX has none (CC ports
    such as ``LicenseRef-CC-BY-2.0-DE``, ``LicenseRef-public-domain``), or :data:`UNKNOWN`.

    Why so strict: the result decides what may be redistributed, so nothing is guessed.
    A CC licence without a version ("CC BY-SA") is UNKNOWN, as is "BSD" or "GPL" alone
    (:func:`unknown_license_hint` says why), a string with characters no licence name has, and
    any expression with an unknown member. Invisible characters (zero-width space, BOM, soft
    hyphen, …) are dropped first. Deprecated SPDX ids (``GPL-3.0``) are kept as written, alone or
    in an expression; policies and share-alike groups read them as their current id (``_SAME_AS``).
    Non-strings (None, numbers, …) are UNKNOWN. An existing ``LicenseRef-xxx`` is kept as
    given, except CC ports and a few known refs that get their canonical spelling (so
    ``LicenseRef-CC-BY-3.0-DE``, which SPDX lists, becomes ``CC-BY-3.0-DE``).
    """
    node = _ast(raw)
    return UNKNOWN if node is None else _render(node)


# A licence family named without the version / variant that decides its terms: normalize_license answers UNKNOWN
# (nothing is guessed), unknown_license_hint says why. Key: the name's tokens (_key), "license" and "version" gone.
_FAMILIES: dict[str, tuple[str, str]] = {
    "bsd": ("a BSD licence without its clause count", "BSD-2-Clause, BSD-3-Clause, BSD-4-Clause (advertising clause)"),
    "gpl": ("the GNU GPL without its version", "GPL-2.0-only, GPL-2.0-or-later, GPL-3.0-only, GPL-3.0-or-later"),
    "lgpl": ("the GNU LGPL without its version", "LGPL-2.1-only, LGPL-2.1-or-later, LGPL-3.0-only, LGPL-3.0-or-later"),
    "agpl": ("the GNU AGPL without its version", "AGPL-3.0-only, AGPL-3.0-or-later"),
    "gfdl": ("the GNU FDL without its version", "GFDL-1.1-only, GFDL-1.2-only, GFDL-1.3-only (or -or-later)"),
    "mpl": ("the Mozilla Public License without its version", "MPL-1.0, MPL-1.1, MPL-2.0"),
    "apache": ("the Apache License without its version", "Apache-1.0, Apache-1.1, Apache-2.0"),
    "eupl": ("the EUPL without its version", "EUPL-1.0, EUPL-1.1, EUPL-1.2"),
    "cecill": ("a CeCILL licence without its version or variant", "CECILL-2.0, CECILL-2.1, CECILL-B, CECILL-C"),
    "odc": ("an Open Data Commons licence without saying which", "PDDL-1.0, ODC-By-1.0, ODbL-1.0"),
    **{k: ("the Licence Ouverte without its version",
           "etalab-2.0 (Licence Ouverte 2.0), LicenseRef-etalab-1.0 (Licence Ouverte 1.0)")
       for k in ("ouverte", "etalab", "ouverte open", "etalab ouverte", "ouverte etalab", "ouverte d etalab",
                 "lo", "lo fr")},
}


def unknown_license_hint(raw: object) -> str | None:
    """Why ``raw`` is :data:`UNKNOWN` when it names a licence family without the version or variant that decides
    its terms ("CC-BY", "CC BY-SA", "Attribution-ShareAlike", "BSD", "GPL", "Licence Ouverte"): one sentence that
    names the ids to choose from. None when ``raw`` is recognised or names no family (plain junk needs no hint).

    Such names stay unknown on purpose: CC BY 1.0 to 4.0 and their national ports, or BSD with 2, 3 or 4 clauses,
    do not grant the same things, and a normaliser that picked one would decide a licence for the source."""
    if not isinstance(raw, str) or _ast(raw) is not None:
        return None
    k = _key(_INVISIBLE_RE.sub("", raw)) if len(raw) <= _MAX_LEN else None
    if not k:
        return None
    toks = [t for t in k.split() if t not in ("only", "later") and not (t == "or" and "later" in k)]
    if toks and toks[0] == "licenseref":
        toks = toks[1:]
    if toks and (toks[0] == "cc" or toks[0] == "by") and all(t in _CC_ELEMENTS for t in toks[toks[0] == "cc":]):
        els = toks[toks[0] == "cc":]
        if not els:
            return (f"{raw!r} names Creative Commons without saying which licence: CC0-1.0 (public domain) to "
                    "CC-BY-NC-ND-4.0 (non-commercial, no derivatives), each in several versions; write the SPDX id, "
                    "e.g. CC-BY-4.0")
        example = _cc_id(els, "4.0", None) or _cc_id(els, "1.0", None)
        if example is None:
            return None
        with_by = _cc_id(["by", *els], "4.0", None) if "by" not in els else None
        if with_by is not None:  # "Creative Commons NC": only the 1.0 licences lacked BY (new-user review: the hint
            # was the 1.0 id LicenseRef-CC-NC-1.0, hardly what was meant)
            return (f"{raw!r} names a Creative Commons licence without its version or its BY element (every licence "
                    f"since 2.0 requires attribution); write the SPDX id, e.g. {with_by}")
        family = example[:-len("-4.0")] if example.endswith("-4.0") else example[:-len("-1.0")]
        versions = [v for v in ("1.0", "2.0", "2.5", "3.0", "4.0") if _cc_id(els, v, None) in _CC_SPDX]
        if len(versions) < 2:
            return f"{raw!r} names a Creative Commons licence without its version; write the version, e.g. {example}"
        return (f"{raw!r} names a Creative Commons licence without its version: "
                f"{', '.join(f'{family}-{v}' for v in versions)} (and the national ports of 2.0-3.0) do not grant "
                f"the same terms, so none is guessed; write the version, e.g. {example}")
    family = _FAMILIES.get(" ".join(toks))
    if family is None:
        return None
    return (f"{raw!r} names {family[0]}: {family[1]} do not grant the same terms, so none is guessed; "
            "write the SPDX id")


# ---------------------------------------------------------------------------
# Free-text licence statements (web pages, READMEs)
# ---------------------------------------------------------------------------

_FRAGMENT_RE = re.compile(
    r"(?:https?://)?(?:www\.)?(?:creativecommons\.org/licen[cs]es/)?"
    r"(?<![a-z\-])(?P<el>by(?:-(?:nc|sa|nd)){0,2})/(?P<ver>\d(?:\.\d)?)"
    r"(?:/(?!deed|legalcode)(?P<jur>[a-z]{2,9})(?![a-z]))?",
    re.I,
)
_PD_FRAGMENT_RE = re.compile(r"creativecommons\.org/publicdomain/(zero|mark)/1\.0", re.I)
_NEGATIONS = frozenset({
    "not", "no", "non", "nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "pas", "ne", "n", "sin",
    "without", "ohne", "sans", "senza", "never", "nie", "niemals", "jamais", "nunca", "neither", "nor", "none",
    "cannot", "aucun", "aucune", "nessun", "nessuna", "nessuno", "ningun", "ninguna", "ni",
})
# "doesn't", "isn't", "can't": "doesn t" once punctuation is gone
_NEG_RE = re.compile(r"\b(?:" + "|".join(sorted(_NEGATIONS, key=len, reverse=True)) + r"|\w+n t)\b")

# Reading a statement as a grant needs every clause around the licence name to grant it. These patterns run on
# the statement folded to lower-case ASCII words separated by single spaces (see _clause_text).
# "All rights reserved" (en, fr, de, es, it) next to a licence name: the statement contradicts itself or keeps
# parts back ("Only the logo is CC BY 4.0. Everything else: all rights reserved."): nothing can be granted from it.
_RESERVED_RE = re.compile(
    r"\ball rights?(?: \w+){0,2}? reserved\b|\btous (?:les )?droits(?: \w+){0,3}? reserves?\b"
    r"|\balle rechte(?: \w+){0,2}? vorbehalten\b|\btodos los derechos(?: \w+){0,2}? reservados\b"
    r"|\breservados todos los derechos\b|\btutti i diritti(?: \w+){0,2}? riservati\b|\briproduzione riservata\b"
)
_APPLY = (r"(?:apply|applies|applied|licensed|licenced|cover|covers|covered|extend|extends|include|includes"
          r"|released|available|valid|granted|gilt|gelten"
          r"|lizenziert|lizensiert|applique|appliquent|couverte?s?|publiee?s?|diffusee?s?|aplica|aplican"
          r"|licenciad[oa]s?|applica|applicano|rilasciat[oaie]|copert[oaie]|concess[oaie])")
# A negation next to "applies / is licensed / gilt …", anywhere in the statement ("CC BY-SA 4.0 does not apply to
# this text", "Die CC-Lizenz gilt nicht für Fotos", "… ne s'applique pas", "no se aplica", "non si applica").
_DENIAL_RE = re.compile(
    rf"{_NEG_RE.pattern}(?: \w+){{0,3}}? {_APPLY}\b|\b{_APPLY}(?: \w+){{0,2}}? {_NEG_RE.pattern}"
)
# Words that limit what the licence covers ("only the logo", "except the text", "sauf les photos", "nur die
# Bilder", "solo le immagini"): the statement grants the licence to part of the page only.
_SCOPE_RE = re.compile(r"\b(?:" + "|".join((
    "only", "solely", "except", "excepting", "excepted", "excluding", "exclude", "excludes", "excluded",
    "exclusion", "apart from", "other than",
    "nur", "lediglich", "ausser", "ausgenommen", "ausnahme", "exklusive",
    "seul", "seule", "seuls", "seules", "seulement", "uniquement", "exclusivement", "sauf", "excepte", "exceptes",
    "exception", "hormis", "exclu", "exclus",
    "solo", "solamente", "unicamente", "excepto", "excepcion", "salvo", "soltanto", "tranne", "eccetto",
    "eccezione", "escluso", "esclusi", "esclusione",
)) + r")\b")
# Words that forbid a use or keep rights back ("Commercial use is prohibited", "© Le Monde. Reproduction interdite",
# "the text is copyrighted", "is not permitted", "no commercial use", "verboten", "prohibido", "vietata"): the statement
# then says more than a licence grants, and is not read as one. Even a ban the named licence has itself ("CC BY-NC 4.0:
# commercial use is prohibited") is unknown: telling such a sentence from one banning more (AI training, resale,
# "commercial or non-commercial", "hors licence commerciale") took a grammar, and each list of exceptions tried let
# some through (reviews 13, three rounds). A document so labelled is removed as license_unknown, with its statement.
_RESTRICT_RE = re.compile(
    r"\b(?:prohibited|prohibits|prohibit|forbidden|forbids|forbid|interdite?s?|defendue?s?|verboten|untersagt"
    r"|prohibid[oa]s?|prohibe|vietat[oaie]|proibit[oaie])\b"
    # "the text is copyrighted" (not "copyrighted material, licensed under …": a CC work is)
    r"|\b(?:is|are|remains?|stays?) (?:\w+ )?copyrighted\b"
    r"|\b(?:not|nicht|non|no|pas|ne) (?:\w+ ){0,2}?(?:permitted|allowed|authori[sz]ed|gestattet|erlaubt|zulaessig"
    r"|autorise\w*|consentit\w*|permess\w*|permitid\w*|autorizad\w*)\b"
    r"|\b(?:no|pas d|keine|kein|nessun\w*|ningun\w*|sin) (?:\w+ )?(?:commerc\w*|kommerz\w*|comercial\w*|modif\w*"
    r"|bearbeit\w*|derivat\w*)"
    # "may not be used for AI training", "must not be redistributed", "do not redistribute" (licence review, 2026-11-28),
    # and in the active voice: "You may not use the material for commercial purposes" (CC's own NonCommercial words),
    # "you may not distribute modified material", "must not redistribute", "not for commercial use" (code review)
    r"|\b(?:(?:may|must|shall|can|could|should) not|cannot|can t|mustn t|shouldn t) (?:be )?"
    r"(?:\w+ ){0,2}?(?:used|redistributed|distributed|reproduced|copied"
    r"|shared|modified|sold|reused|republished|published|mined|use|redistribute|distribute|reproduce|copy|share"
    r"|modify|sell|reuse|republish|publish|mine|adapt|remix|transform|train)\b"
    r"|\b(?:do|does|don t|doesn t) not (?:\w+ )?(?:redistribute|distribute|reproduce|copy|share|modify|reuse|republish"
    r"|sell|use)\b|\bdon t (?:\w+ )?(?:redistribute|distribute|reproduce|copy|share|modify|reuse|republish|sell|use)\b"
    r"|\bnot for (?:\w+ ){0,2}?(?:commercial|resale|sale|redistribution|reuse|reproduction|distribution|training"
    r"|machine learning|ai)\b|\bno (?:ai|machine learning|tdm|text and data mining) (?:training|use|mining)\b"
    r"|\brequires? a (?:\w+ )?licen[cs]e\b"
    # the same bans in fr / de / es / it (code review): "Vous ne pouvez pas utiliser…", "Nicht für kommerzielle
    # Zwecke", "darf nicht verbreitet werden", "No se permite…", "non può essere utilizzato"
    r"|\bne (?:\w+ )?(?:pouvez|peut|peuvent|pourrez|pourra|doit|doivent|devez) pas (?:\w+ ){0,2}?(?:utiliser|reproduire"
    r"|diffuser|redistribuer|distribuer|modifier|vendre|copier|etre)\b"
    r"|\bnicht (?:fur|zur|zu) (?:\w+ )?(?:kommerz\w*|verkauf\w*|weitergabe|vervielfaltigung|ki\b|training)"
    r"|\b(?:darf|durfen|duerfen) (?:\w+ ){0,3}?nicht\b"
    r"|\bno se (?:permite|autoriza|puede|podra)\b|\bno (?:puede|pueden|podra|podran|debe|deben) (?:ser )?(?:\w+ )?"
    r"(?:usa\w*|utiliza\w*|reproduc\w*|distribu\w*|modifica\w*|vend\w*|copia\w*)"
    r"|\bnon (?:\w+ )?(?:puo|possono|deve|devono|e consentit\w*|e permess\w*|e autorizzat\w*)\b"
    # a use that needs leave: "commercial use requires permission", "soumise à accord préalable", "bedarf der
    # Genehmigung", "requiere autorización", "richiede l'autorizzazione" (not "no permission needed": _IDIOM_RES)
    r"|\b(?:requires?|required|subject to|needs?|bedarf|beduerfen|bedurfen|erfordert|soumise?s? a|requiere|richiede"
    r"|soggett[oaie] a)(?: \w+){0,3}? (?:permission|authori[sz]ation|approval|consent|agreement|accord|autorisation"
    r"|genehmigung|zustimmung|erlaubnis|permiso|autorizacion|autorizzazione|permesso|consenso)\b"
    # a licence that no longer holds: "formerly CC BY 4.0, now proprietary" ("formerly", "previously" alone are not:
    # "previously published under CC BY 4.0" is a grant; code review)
    r"|\bproprietary\b")
# Set phrases that contain a negation or a scope word but state the usual default, "unless otherwise noted" and
# "no warranty": removed before the checks above (they are how real grants are written).
_PARTICIPLE = (r"(?:noted|stated|specified|indicated|mentioned|marked|labell?ed|declared|credited|attributed"
               r"|agreed|provided|licensed|licenced|permitted)")
_IDIOM_RES = [re.compile(p) for p in (
    # en: "unless otherwise stated", "except where otherwise noted", "if not explicitly specified otherwise"
    rf"\b(?:unless|except|save|if not|where not|when not)(?: \w+){{0,3}}? otherwise(?: {_PARTICIPLE})?\b",
    # de: "sofern nicht anders ausgewiesen", "wenn nicht anders gekennzeichnet", "soweit nicht anders markiert"
    r"\b(?:sofern|soweit|wenn|falls|so)(?: \w+){0,3}? nicht(?: \w+){0,2}? anders(?: (?!nicht\b)\w+t)?\b",
    # de: "sofern keine andere Lizenz beim Beitrag vermerkt ist"
    (r"\b(?:sofern|soweit|wenn|falls)(?: \w+){0,2}? keine andere[nr]? (?:lizenz|lizenzen|angabe)(?: \w+){0,4}?"
     r" (?:vermerkt|angegeben|genannt|ausgewiesen|gekennzeichnet|angezeigt)(?: ist| sind| wird)?\b"),
    # fr: "sauf mention contraire", "sauf indication contraire", "à moins d'une mention contraire"
    r"\b(?:sauf|a moins)(?: \w+){0,4}? contraires?\b",
    # es: "salvo que se indique lo contrario", "excepto donde se indique lo contrario"
    r"\b(?:salvo|excepto|a menos)(?: \w+){0,5}? contrari[oa]s?\b",
    # it: "salvo diversa indicazione", "ove non diversamente specificato", "se non diversamente indicato"
    (r"\b(?:salvo|ove|dove|laddove|se|tranne|eccetto)(?: \w+){0,2}? (?:diversa|diversamente|altrimenti)"
     r"(?: (?:indicato|indicata|indicati|indicazione|specificato|specificata|specificati|specificazione|previsto"
     r"|stabilito|segnalato|dichiarato|riportato))?\b"),
    # grants that say no leave is needed: "no permission needed", "you do not need to ask permission", "without
    # asking permission" (code review: read as "needs permission")
    (r"\b(?:no|without)(?: \w+){0,2}? (?:permission|authori[sz]ation|consent)(?: \w+){0,2}? (?:needed|required"
     r"|necessary)\b|\b(?:do not|does not|don t|doesn t) need(?: \w+){0,3}? (?:permission|authori[sz]ation|consent)\b"
     r"|\bno need(?: \w+){0,3}? (?:permission|authori[sz]ation|consent)\b"
     r"|\bwithout (?:asking|requesting|seeking|prior)(?: for)? (?:permission|authori[sz]ation|consent)\b"),
    # CC's own deed, quoted under the licence's name on many pages: "No additional restrictions — You may not apply
    # legal terms or technological measures that legally restrict others from doing anything the license permits"
    # (fr: "Vous n'êtes pas autorisé à appliquer des conditions légales ou des mesures techniques qui restreindraient
    # légalement autrui à utiliser l'Oeuvre dans les conditions décrites par la licence"), and "You do not have to
    # comply with the license for elements of the material in the public domain or where your use is permitted by an
    # applicable exception or limitation": they bind the reuser, not the work (read as a denial: removed as unknown)
    # word for word (rv50: gaps of up to 16 words reached past the sentence end and took a real ban with them)
    (r"\b(?:you )?may not apply legal terms or technological measures that legally restrict others from doing"
     r" anything the licen[cs]e permits\b"
     r"|\b(?:vous )?n etes pas autorise a appliquer des conditions legales ou des mesures techniques qui"
     r" restreindraient legalement autrui a utiliser l \w*uvre dans les conditions decrites par la licence\b"
     r"|\byou do not have to comply with the licen[cs]e for elements of the material in the public domain or where"
     r" your use is permitted by an applicable exception or limitation\b"),
    # CC0's "No Rights Reserved", CC's attribution note "no changes were made"
    r"\bno rights? reserved\b|\baucun droit reserve\b|\bno (?:changes|modifications) (?:were |have been )?made\b",
    # warranty disclaimers: "without any warranty", "no warranty", "ohne Gewähr", "sans garantie", "sin garantía"
    (r"\b(?:without|no|ohne|sans|sin|senza)(?: \w+){0,2}? (?:warrant\w*|guarantee\w*|gewahr\w*|garantie\w*"
     r"|garantia\w*|garanzi\w*|liability|haftung)"),
)]
# CC licence elements spelled with a negation ("NonCommercial", "Keine Bearbeitung", "pas d'utilisation
# commerciale", "sin obra derivada"): read as the element before looking for negations.
_ELEMENT_PHRASE_RE = re.compile(r"\b(?:" + "|".join(sorted(
    (" ".join(_raw_tokens(_fold(src))) for src, rep in _PHRASES_SRC if rep in ("nc", "nd", "sa")),
    key=len, reverse=True)) + r")\b")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?;])\s+")
_EOS = "zzeos"  # marks a sentence end in the folded text
_FRAGMENT_MARK, _PD_MARK = "zzfrag", "zzpd"  # where a licence URL / path fragment was


def _clause_text(folded: str) -> str:
    """Lower-case ASCII words, single spaces, CC element names read as elements, set phrases removed."""
    plain = " ".join(re.findall(r"[a-z0-9]+", folded))
    plain = _ELEMENT_PHRASE_RE.sub(" ccelement ", plain)
    for rx in _IDIOM_RES:
        plain = rx.sub(" ", plain)
    return " ".join(plain.split())


def license_from_statement(statement: object) -> str:
    """Find the licence stated in a free-text sentence ("… steht unter einer Creative
    Commons Namensnennung 3.0 Deutschland Lizenz", "rel=license by-sa/3.0/de").

    Separate from :func:`normalize_license` on purpose: free text needs searching, and
    searching a ``license`` metadata field would turn junk into licences (German "mit"
    is not MIT). Only Creative Commons licences (text, URLs, ``by-sa/4.0`` fragments),
    CC0 / Public Domain Mark and Project Gutenberg's "public domain in the USA" are
    recognised. Exactly one versioned licence must be stated, and the statement must grant
    it. :data:`UNKNOWN` (nothing is guessed) for: no version ("Creative Commons
    Attribution-ShareAlike License"); two different licences; a negation in the sentence that
    names the licence ("not licensed under", "CC BY 4.0 does not apply", "n'est pas", "gilt
    nicht") or next to "applies / is licensed" anywhere in it; "all rights reserved" in
    English, French, German, Spanish or Italian; words that limit what is covered ("only the
    logo", "except the text", "sauf", "nur", "solo"); words forbidding a use ("prohibited",
    "reproduction interdite", "not permitted", "no commercial use", "verboten"), even one the licence
    itself forbids; a question that names the licence. Set phrases of real grants ("unless
    otherwise noted", "sofern nicht anders angegeben", "sauf mention contraire", "salvo
    diversa indicazione", "without warranty") are not read as negations or limits.
    """
    if not isinstance(statement, str) or not statement.strip():
        return UNKNOWN
    text = statement[:10_000]
    found: set[str] = set()
    families: set[frozenset[str]] = set()
    bad = False

    for m in _PD_FRAGMENT_RE.finditer(text):
        found.add("CC0-1.0" if m.group(1).lower() == "zero" else "CC-PDM-1.0")
    text = _PD_FRAGMENT_RE.sub(f" {_PD_MARK} ", text)
    for m in _FRAGMENT_RE.finditer(text):
        hit = _cc_from_url_parts(m["el"], m["ver"], m["jur"])
        if hit is None:
            bad = True
        else:
            found.add(hit)
    text = _FRAGMENT_RE.sub(f" {_FRAGMENT_MARK} ", text)
    text = _SENTENCE_END_RE.sub(f" {_EOS} ", text)
    # an upper-case country code right after a version is a jurisdiction ("3.0 DE")
    text = re.sub(r"(?<=\d\.\d)[\s\-]+([A-Z]{2})\b", lambda m: f" {_JUR}{m.group(1).lower()} ", text)
    folded = re.sub(r"[^a-z0-9\s\-.'+]", " ", _fold(text))
    whole = _clause_text(folded.replace(_EOS, " "))
    if _RESERVED_RE.search(whole) or _DENIAL_RE.search(whole) or _SCOPE_RE.search(whole) or _RESTRICT_RE.search(whole):
        bad = True
    raw_sentences = text.split(_EOS)  # (aligned with the folded ones: folding keeps the marks)
    all_toks: list[str] = []
    stray: set[str] = set()  # licence elements a sentence naming a licence states beside the name it parses
    for k, sentence in enumerate(folded.split(_EOS)):
        toks = _tokens(sentence)
        all_toks.extend(toks)
        consumed: set[int] = set()
        mentioned = bool({_FRAGMENT_MARK, _PD_MARK, "cc", "cczero"}.intersection(toks)) or (
            "public domain" in " ".join(toks))
        if mentioned and _NEG_RE.search(_clause_text(sentence)):
            bad = True  # "This work is not licensed under …", "CC BY-SA 4.0 n'est pas la licence de ce texte"
        if not mentioned and {"nc", "nd"}.intersection(toks):
            bad = True  # a ban in a sentence of its own: "Texte sous CC BY 4.0. Pas d'utilisation commerciale."
        if mentioned and k < len(raw_sentences) and raw_sentences[k].rstrip().endswith("?"):
            bad = True  # a question naming the licence grants nothing ("Public domain? No.", "… CC BY 4.0 ? non.")
        for i, t in enumerate(toks):
            if t not in ("cc", "cczero"):
                continue
            negated = bool(_NEGATIONS.intersection(toks[max(0, i - 4):i]))
            if t == "cczero":
                bad |= negated
                found.add("CC0-1.0")
                continue
            j, els = i + 1, []
            while j < len(toks) and toks[j] in _CC_ELEMENTS and toks[j] not in els:
                els.append(toks[j])
                j += 1
            if not els:
                continue
            bad |= negated
            consumed.update(range(i, j + 1))
            version = _version(toks[j]) if j < len(toks) else None
            if version is None:
                families.add(frozenset(els))
                continue
            jur = None
            if j + 1 < len(toks) and toks[j + 1].startswith(_JUR):
                jur = toks[j + 1][len(_JUR):]
            hit = _cc_id(els, version, jur)
            if hit is None:
                bad = True
            else:
                found.add(hit)
        if mentioned:
            # "CC BY 4.0 pour un usage non commercial", "CC BY 4.0 (keine Bearbeitung)", "… (NC)": the terms stated
            # beside the name are part of the statement (licence review: read as plain CC-BY-4.0 and published). A
            # bare "SA" is a company's form as often ("Le Monde SA"): only a ShareAlike phrase counts
            bare_sa = "sa" in _raw_tokens(sentence)
            stray.update(t for x, t in enumerate(toks) if x not in consumed and (t in ("nc", "nd") or (
                t == "sa" and not bare_sa)))
    joined = " ".join(all_toks)
    if "project gutenberg" in joined and "public domain" in joined:
        pos = joined.index("public domain")
        bad |= bool(_NEGATIONS.intersection(joined[:pos].split()[-4:]))
        found.add("LicenseRef-PD-US-Project-Gutenberg")
    if bad or len(found) != 1:
        return UNKNOWN
    (hit,) = found
    info = _cc_info(hit)
    if families and (info is None or any(f != info[0] for f in families)):
        return UNKNOWN  # an unversioned mention of a different CC licence
    if stray - (info[0] if info is not None else frozenset()):
        return UNKNOWN  # terms the licence found does not have ("CC BY 4.0, NonCommercial")
    return hit


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------

_CC_ID_RE = re.compile(r"(?:LicenseRef-)?CC-((?:BY|NC|SA|ND)(?:-(?:BY|NC|SA|ND))*)-(\d\.\d)(?:-([A-Z]+))?", re.I)


def _cc_info(i: str) -> tuple[frozenset[str], str, str | None] | None:
    """(elements, version, jurisdiction) of a canonical CC id, else None."""
    m = _CC_ID_RE.fullmatch(i)
    if not m:
        return None
    els = m.group(1).lower().split("-")
    jur = m.group(3).lower() if m.group(3) else None
    if _cc_id(els, m.group(2), jur) is None:
        return None
    return frozenset(els), m.group(2), jur


# The LicenseRef- ids of the public domain: the ones this module writes. Any other `LicenseRef-PD-…` is unknown:
# SPDX gives a LicenseRef's suffix no meaning ("LicenseRef-PD-but-NonCommercial" was public domain; licence review).
_PD_REFS = frozenset({"licenseref-public-domain", "licenseref-pd-us-project-gutenberg"})

# Leaf facts: (class, attribution, share-alike, no-derivatives, non-commercial)
_Facts = tuple[str, bool, bool, bool, bool]
_UNKNOWN_FACTS: _Facts = ("unknown", True, False, False, False)


@functools.lru_cache(maxsize=4096)
def _leaf_facts(i: str) -> _Facts:
    if i in _OTHER_SPDX:
        cls, attr = _OTHER_SPDX[i]
        return cls, attr, cls == _SA, False, False
    if (cc := _cc_info(i)) is not None:
        els = cc[0]
        cls = ("non-commercial" if "nc" in els else "no-derivatives" if "nd" in els
               else "share-alike" if "sa" in els else "permissive")
        return cls, "by" in els, "sa" in els, "nd" in els, "nc" in els
    low = i.lower()
    if low in _PD_REFS:
        return _PD, False, False, False, False
    if low in _REF_FACTS:
        cls, attr = _REF_FACTS[low]
        return cls, attr, cls == _SA, False, False
    if low == "licenseref-lgpl-lr":
        return _OTHER_SPDX["LGPLLR"][0], True, True, False, False
    return _UNKNOWN_FACTS


def _effective(node: Node) -> tuple[int, tuple[str, ...]]:
    """(class rank, leaves whose obligations apply). OR: the licensee picks the least
    restrictive alternative (fewest obligations on ties); AND: every member applies."""
    if node[0] == "leaf":
        return CLASS_RANK[_leaf_facts(node[1])[0]], (node[1],)
    kids = [_effective(c) for c in node[1]]
    if node[0] == "and":
        return max(k[0] for k in kids), tuple(leaf for k in kids for leaf in k[1])

    def cost(k: tuple[int, tuple[str, ...]]) -> tuple[int, int]:
        return k[0], sum(sum(_leaf_facts(leaf)[1:]) for leaf in k[1])

    return min(kids, key=cost)


def _facts_of(spdx: object) -> tuple[str, tuple[_Facts, ...]]:
    node = _ast(spdx)
    if node is None:
        return "unknown", (_UNKNOWN_FACTS,)
    rank, leaves = _effective(node)
    return LICENSE_CLASSES[rank], tuple(_leaf_facts(leaf) for leaf in leaves)


def license_class(spdx: str) -> LicenseClass:
    """Class of a licence or expression (raw strings are normalised first).

    Precedence, most restrictive wins: unknown > non-commercial > no-derivatives >
    share-alike > permissive > public-domain. ``A OR B``: the least restrictive member
    (the licensee may choose); ``A AND B``: the most restrictive. UNKNOWN and unrecognised
    ``LicenseRef-`` ids are "unknown".
    """
    return _facts_of(spdx)[0]  # type: ignore[return-value]


def needs_attribution(spdx: str) -> bool:
    """True when redistribution must credit the source or keep its notice: CC BY family,
    ODC-By, MIT/Apache/BSD/ISC notices, etalab, copyleft licences. False for CC0 / public
    domain / Unlicense / 0BSD. True for unknown licences: when in doubt, credit."""
    return any(f[1] for f in _facts_of(spdx)[1])


def is_share_alike(spdx: str) -> bool:
    """Adaptations must keep the same licence (CC BY-SA, BY-NC-SA, GPL family, ODbL, …).
    False for unknown licences: check :func:`license_class` for "unknown" first."""
    return any(f[2] for f in _facts_of(spdx)[1])


def is_no_derivatives(spdx: str) -> bool:
    """Only verbatim copies may be shared (CC BY-ND, BY-NC-ND): no cleaned / cut versions."""
    return any(f[3] for f in _facts_of(spdx)[1])


def is_non_commercial(spdx: str) -> bool:
    """Commercial use is not granted (any CC licence with the NC element)."""
    return any(f[4] for f in _facts_of(spdx)[1])


# ---------------------------------------------------------------------------
# Mixing documents
# ---------------------------------------------------------------------------

_GNU_RE = re.compile(r"(GPL|LGPL|AGPL|GFDL)-(\d\.\d)(-only|-or-later)?")


def _sa_groups(ids: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Group share-alike ids that can be distributed together under one licence.

    Known rules only (conservative): CC BY-SA / BY-NC-SA >= 2.0 (ports included) may be
    adapted under a later version with the same elements (legal code §4(b)), so several of
    them unify to the highest unported version, or to 4.0; GNU "-or-later" licences unify
    with a later version of the same licence. Anything else stays on its own.
    Returns [(target licence, sorted members)], sorted by target.
    """
    cc: dict[frozenset[str], list[str]] = {}
    gnu: dict[str, list[tuple[str, str, str]]] = {}
    alone: list[str] = []
    for i in sorted(set(ids)):
        info = _cc_info(i)
        if info is not None and info[1] >= "2.0":
            cc.setdefault(info[0], []).append(i)
        elif (m := _GNU_RE.fullmatch(i)) is not None:
            gnu.setdefault(m.group(1), []).append((i, m.group(2), m.group(3) or ""))
        else:
            alone.append(i)
    groups: list[tuple[str, list[str]]] = [(i, [i]) for i in alone]
    for els, members in cc.items():
        if len(members) == 1:
            groups.append((members[0], members))
            continue
        infos = {m: _cc_info(m) for m in members}
        top = max(v[1] for v in infos.values() if v)
        unported = [m for m, v in infos.items() if v and v[1] == top and v[2] is None]
        others_lower = all(v[1] < top for m, v in infos.items() if v and m not in unported)
        target = unported[0] if unported and others_lower else _cc_id(els, "4.0", None)
        groups.append((target or members[-1], members))
    for members in gnu.values():
        # target: the highest version, preferring a fixed id at that version (the current "-only" id over its
        # deprecated bare spelling, _SAME_AS: review, GPL-3.0 with GPL-3.0-only was "cannot be relicensed together");
        # every other member must be that same fixed licence or an "-or-later" id of a version <= target's.
        top_v = max(v for _, v, _ in members)
        target = min((m for m in members if m[1] == top_v), key=lambda m: (m[2] == "-or-later", m[2] == ""))

        def fixed(m: tuple[str, str, str]) -> bool:
            return m[2] == "-only" or (m[2] == "" and m[0].casefold() in _SAME_AS)

        if all(m == target or (m[2] == "-or-later" and m[1] <= top_v)
               or (fixed(m) and fixed(target) and m[1] == target[1]) for m in members):
            groups.append((target[0], sorted(m[0] for m in members)))
        else:
            groups.extend((m[0], [m[0]]) for m in members)
    return sorted(groups)


# Bounds of the search for the alternatives a mix is declared by (_mix_choice): leaf sets one expression may offer,
# and combinations tried over the mix's distinct licences. Beyond them, the per-document choice (_effective) is kept.
_MAX_OPTIONS = 16
_MAX_CHOICES = 4096


def _options(node: Node) -> list[tuple[str, ...]] | None:
    """Every set of leaves whose obligations may apply to a document under ``node`` (an OR: one alternative, the
    licensee chooses; an AND: every member), in expression order, deduplicated; None beyond ``_MAX_OPTIONS``."""
    if node[0] == "leaf":
        return [(node[1],)]
    kids = [_options(c) for c in node[1]]
    if any(k is None for k in kids):
        return None
    if node[0] == "or":
        out = [o for k in kids for o in k]  # type: ignore[union-attr]
    else:
        size = 1
        for k in kids:
            size *= len(k)  # type: ignore[arg-type]
        if size > _MAX_OPTIONS:
            return None
        combos = itertools.product(*kids)  # type: ignore[arg-type]
        out = [tuple(leaf for part in combo for leaf in part) for combo in combos]
    out = list(dict.fromkeys(tuple(dict.fromkeys(o)) for o in out))
    return out if len(out) <= _MAX_OPTIONS else None


# Permissive licences whose terms a GNU licence (GPL, LGPL, AGPL) can carry, so a mix of them with that licence may be
# declared under it (FSF, "Various Licenses and Comments about Them", gnu.org/licenses/license-list.html).
# Apache-2.0 (and ECL-2.0, built on it) and CC BY 4.0 are compatible with the version-3 licences only; the original
# 4-clause BSD, Apache 1.x, OpenSSL, AFL, LPPL-1.3a and CeCILL-B with none. A licence not listed here is not guessed
# compatible: the mix is declared "other" (trainer review: GPL-2.0-only + Apache-2.0 code was declared GPL-2.0-only).
# Public-domain documents carry no terms and go with any licence.
_GNU_COMPATIBLE = frozenset({
    "MIT", "X11", "ISC", "Zlib", "0BSD", "MIT-0", "WTFPL", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear",
    "BSL-1.0", "PSF-2.0", "Python-2.0.1", "NCSA", "UPL-1.0", "Artistic-2.0", "HPND", "W3C", "Unicode-DFS-2015",
    "Unicode-DFS-2016", "curl", "libpng-2.0", "EFL-2.0",
})
_GNU3_COMPATIBLE = _GNU_COMPATIBLE | {"Apache-2.0", "ECL-2.0", "CC-BY-4.0"}


def _carries(target: str, leaf: str) -> bool:
    """Whether a mix declared under the share-alike ``target`` can carry a document under the permissive or
    public-domain ``leaf``: always, but for a GNU software licence, which carries only what it is compatible with."""
    m = _GNU_RE.fullmatch(target)
    if m is None or m.group(1) == "GFDL" or _leaf_facts(leaf)[0] == _PD:
        return True
    return leaf in (_GNU3_COMPATIBLE if m.group(2).startswith("3") else _GNU_COMPATIBLE)


def _declare(distinct: tuple[str, ...], leaves: Iterable[str], policy: "LicensePolicy | None" = None) -> str:
    """:func:`mix_license` of known documents whose obligations are those of ``leaves`` (the chosen alternatives).
    One distinct licence: that licence, as written -- for ``CC-BY-SA-4.0 AND MIT`` the declaration keeps MIT's
    notice condition, which survives inside a CC-BY-SA-4.0 distribution (the conservative declaration). A licence
    the ``policy`` does not allow is never declared ("other": licence review, CC-BY-SA-3.0-DE with CC-BY-SA-2.5 was
    declared CC-BY-SA-4.0 under `deny: [CC-BY-SA-4.0]`)."""
    if len(distinct) == 1:
        return distinct[0]
    ids = sorted(set(leaves))
    declared = "other"
    if len(ids) == 1:  # every document may be used under this one licence (`MIT OR Apache-2.0` with `MIT`)
        declared = ids[0]
    else:
        sa = [leaf for leaf in ids if _leaf_facts(leaf)[2]]
        rest = [leaf for leaf in ids if not _leaf_facts(leaf)[2]]
        if sa and all(_leaf_facts(leaf)[0] in (_PD, _PERM) for leaf in rest):
            groups = _sa_groups(sa)
            if len(groups) == 1 and all(_carries(groups[0][0], leaf) for leaf in rest):
                declared = groups[0][0]
    if declared != "other" and policy is not None and not policy.decide(declared)[0]:
        return "other"
    return declared


def _policy_of(policy: "LicensePolicy | dict | None") -> "LicensePolicy | None":
    if policy is None or isinstance(policy, LicensePolicy):
        return policy
    return LicensePolicy.model_validate(policy)


@functools.lru_cache(maxsize=64)
def _policy_from_json(text: str) -> "LicensePolicy":
    return LicensePolicy.model_validate_json(text)


def _term_allowed(policy: "LicensePolicy", term: tuple[str, ...]) -> bool:
    """Whether the policy allows using a document under the AND-term ``term`` (leaf ids) of its licence."""
    allow, deny = policy._sets()
    nodes = [_ast(x) for x in term]
    if any(n is None or n[0] != "leaf" for n in nodes):
        return False
    return policy._term_verdict(frozenset(nodes), allow, deny) == "ok"


def _mix_choice(distinct: tuple[str, ...], policy: "LicensePolicy | None" = None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return _mix_choice_cached(distinct, policy.model_dump_json() if policy is not None else None)


@functools.lru_cache(maxsize=1024)
def _mix_choice_cached(distinct: tuple[str, ...], policy_json: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The alternative each distinct licence of a mix is counted under: ((licence, its leaves), ...) for the
    licences that parse, in ``distinct`` order (sorted by the caller: the answer is order-independent).

    An expression's alternative is chosen for the whole mix, not document by document (auditor review:
    ``LGPL-2.1-only OR CC-BY-SA-3.0`` with ``CC-BY-SA-4.0`` was counted under LGPL, so the mix had "no single
    licence" although its CC-BY-SA-3.0 option gives CC-BY-SA-4.0 for all). Every combination of alternatives (one
    per distinct licence; alternatives of class unknown are never picked) is ranked, best first, by: the mix can be
    declared under one licence (:func:`_declare`); its most restrictive class (an alternative with more obligations
    is taken only when it makes the mix declarable under one licence); its number of share-alike groups
    (``_sa_groups``); how many expressions leave their per-document choice (``_effective``); the obligations of the
    chosen leaves; then enumeration order (each expression's per-document choice first, then its alternatives in
    expression order). Beyond ``_MAX_CHOICES`` combinations (or ``_MAX_OPTIONS`` leaf sets in one expression) the
    per-document choice is kept. With a policy, an alternative it does not allow is never chosen, and a mix whose
    declaration it does not allow counts as not declarable (licence review: `MIT OR GPL-2.0-only` with BSD code was
    counted under GPL-2.0-only, and the mix declared GPL-2.0, under a policy denying GPL-2.0-only).
    """
    policy = _policy_from_json(policy_json) if policy_json is not None else None
    names: list[str] = []
    opts: list[list[tuple[str, ...]]] = []
    unknown = False
    for n in distinct:
        node = _ast(n)
        if node is None:
            unknown = True
            continue
        rank, eff = _effective(node)
        default = tuple(dict.fromkeys(eff))
        unknown |= LICENSE_CLASSES[rank] == "unknown"
        every = _options(node) if node[0] != "leaf" else None
        known = [o for o in every or () if o != default and all(_leaf_facts(x)[0] != "unknown" for x in o)]
        options = [default, *known]
        if policy is not None and node[0] != "leaf":
            # (the policy allowed the document: some alternative passes, unless only the expression as a whole is
            # named in `allow`; then its options stay as they are)
            options = [o for o in options if _term_allowed(policy, o)] or options
        names.append(n)
        opts.append(options)
    total = 1
    for o in opts:
        total *= len(o)
    if total > _MAX_CHOICES:
        opts = [o[:1] for o in opts]
    best: tuple | None = None
    for combo in itertools.product(*opts):
        leaves = list(dict.fromkeys(x for part in combo for x in part))
        facts = [_leaf_facts(x) for x in leaves]
        sa = [x for x, f in zip(leaves, facts) if f[2]]
        key = (unknown or _declare(distinct, leaves, policy) == "other",
               max((CLASS_RANK[f[0]] for f in facts), default=0),
               len(_sa_groups(sa)) if sa else 0,
               sum(part != o[0] for part, o in zip(combo, opts)),
               sum(sum(f[1:]) for f in facts))
        if best is None or key < best[0]:
            best = (key, combo)
    return tuple(zip(names, best[1])) if best is not None else ()


def _doc_leaves(
    licenses: Iterable[str], policy: "LicensePolicy | None" = None,
) -> tuple[list[str], list[tuple[str, _Facts]], bool, dict[str, tuple[str, ...]]]:
    """Distinct normalised licences (sorted), the (leaf, facts) pairs of the alternatives the mix is counted under
    (:func:`_mix_choice`), any unknown?, and {licence: its chosen leaves}."""
    distinct = sorted({normalize_license(raw) for raw in licenses})
    unknown = False
    for n in distinct:
        node = _ast(n)
        unknown |= node is None or LICENSE_CLASSES[_effective(node)[0]] == "unknown"
    chosen = dict(_mix_choice(tuple(distinct), policy))
    leaves = {leaf: _leaf_facts(leaf) for eff in chosen.values() for leaf in eff}
    return distinct, sorted(leaves.items()), unknown, chosen


def _has_or(node: Node | None) -> bool:
    return node is not None and node[0] != "leaf" and (node[0] == "or" or any(_has_or(c) for c in node[1]))


def share_alike_obligations(licenses: Iterable[str], policy: "LicensePolicy | dict | None" = None) -> list[str]:
    """Sentences (deterministic order) on what the share-alike licences in a mix imply for
    the licence of the combined dataset; empty when no document is share-alike.

    One sentence per share-alike licence and per document licence that brings it in: the licence itself, an
    expression whose chosen alternative it is (``CC-BY-SA-4.0 OR CC-BY-NC-4.0``, class share-alike: stated as an
    option, whoever redistributes under it takes the obligation; review: such documents were named nowhere), or an
    ``AND`` expression it is part of. Then one per group of licences that can be combined (expressions named with
    the option they are combined by), and one if the copyleft licences present cannot be reconciled (e.g.
    CC-BY-SA-3.0 with GPL-3.0): the mix then keeps per-document licences. The alternative an expression is counted
    under is the one :func:`mix_license` declares the mix by, chosen for the whole mix (:func:`_mix_choice`; it may
    differ from the per-document one :func:`license_class` reads), and the licence the sentences say the mix is to
    be declared under is :func:`mix_license`'s whenever that is not ``other`` (a mix of one licence, ``CC-BY-SA-4.0
    AND MIT``, is declared under it as written: auditor review, the sentence said CC-BY-SA-4.0).
    Pure: the report (``report.aggregate.share_alike``) and the mix's dataset card (``mix.card.render_card``) both
    print this list. ``policy``: the mix's licence policy (see :func:`mix_license`); a licence it does not allow is
    never the one the sentences say to distribute the mix under.
    """
    policy = _policy_of(policy)
    distinct, leaves, unknown, chosen = _doc_leaves(licenses, policy)
    sa = [leaf for leaf, f in leaves if f[2]]
    if not sa:
        return []
    groups = _sa_groups(sa)
    target_of = {m: target for target, members in groups for m in members}
    declared = "other" if unknown else _declare(tuple(distinct), (leaf for leaf, _ in leaves), policy)  # = mix_license
    # the licence the sentences tell to distribute the mix under: mix_license's; with none, what the copyleft
    # licences alone require when they unify (the mix may still be "other" for its NC / ND documents), unless the
    # policy does not allow it
    to_declare = declared if declared != "other" else groups[0][0] if len(groups) == 1 else None
    if to_declare is not None and policy is not None and not policy.decide(to_declare)[0]:
        to_declare = None
    via: dict[str, list[str]] = {}  # share-alike leaf -> the document licences it is the obligation of
    for n in distinct:
        for leaf in chosen.get(n, ()):
            if leaf in target_of:
                via.setdefault(leaf, []).append(n)

    def docs_under(leaf: str) -> list[str]:
        return sorted(via.get(leaf) or [leaf], key=lambda n: (n != leaf, n))

    def label(leaf: str) -> str:
        return ", ".join(n if n == leaf else f"{n} (its {leaf} {'option' if _has_or(_ast(n)) else 'part'})"
                         for n in docs_under(leaf))

    out = []
    for leaf in sorted(sa):
        info = _cc_info(leaf)
        later = (" (or a compatible later version)" if (info and info[1] >= "2.0")
                 or leaf.endswith("-or-later") else "")
        mix = f"; a mix that includes them should be distributed under {to_declare}" if to_declare else ""
        for n in docs_under(leaf):
            if n == leaf:
                out.append(f"Documents under {leaf} must stay under {leaf}{later} in any adaptation{mix}.")
            elif _has_or(_ast(n)):
                out.append(f"Documents under {n} are counted under its share-alike option {leaf}: whoever "
                           f"redistributes them under {leaf} must keep them under {leaf}{later} in any adaptation "
                           f"(under another alternative of the expression, that alternative's terms apply "
                           f"instead){mix}.")
            else:
                out.append(f"Documents under {n} carry {leaf}: they must stay under {leaf}{later} in any "
                           f"adaptation{mix}.")
    for target, members in groups:
        if len(members) > 1 or len(docs_under(members[0])) > 1:
            out.append(
                f"{', '.join(label(m) for m in members)} can be combined: each allows adaptations under {target}"
                + (", the licence to declare for the mix." if target == declared else ".")
            )
    if len(groups) > 1 and declared != "other":  # one distinct licence carrying both (`CC-BY-SA-4.0 AND GPL-3.0`)
        out.append(
            f"The copyleft licences {', '.join(g[0] for g in groups)} cannot be relicensed "
            f"together: every document of the mix carries {declared}, the licence to declare for the mix "
            "(each of its terms applies)."
        )
    elif len(groups) > 1:
        out.append(
            f"The copyleft licences {', '.join(g[0] for g in groups)} cannot be relicensed "
            "together: the mix has no single licence, so per-document licences must be kept "
            "(declare 'other' on the dataset card and ship each document's licence)."
        )
    return out


def mix_license(licenses: Iterable[str], policy: "LicensePolicy | dict | None" = None) -> str:
    """The licence to declare on a dataset card for a mix of these documents (SPDX; the
    caller lower-cases it for the Hugging Face ``license:`` field), or ``"other"``.

    Rule: a single distinct licence -> that licence, as written (an expression included). Otherwise, on the
    alternatives the mix is counted under (for an ``OR`` expression, the one that best lets the whole mix be
    declared under one licence, :func:`_mix_choice`): one licence left -> that licence (``MIT OR Apache-2.0`` with
    ``MIT`` -> MIT); share-alike licences that unify to one (same family, later-version rule, see ``_sa_groups``)
    with every other document public-domain or permissive, and each of those permissive licences one the
    share-alike licence can carry (:func:`_carries`: a GNU licence only the FSF-compatible ones) -> that licence (e.g.
    CC-BY-SA-3.0 + CC-BY-SA-4.0 + CC-BY-4.0 -> CC-BY-SA-4.0; ``LGPL-2.1-only OR CC-BY-SA-3.0`` + CC-BY-SA-4.0 ->
    CC-BY-SA-4.0 by its CC-BY-SA-3.0 option). Everything else -> "other":
    several different permissive licences, incompatible copyleft, any NC/ND licence mixed
    with something else, any unknown licence, or an empty mix. ``policy`` (the mix's licence policy, a model or its
    JSON form as ``mix_plan.json`` records it): an alternative it does not allow is never chosen, and a licence it
    does not allow is never declared ("other" instead).
    """
    policy = _policy_of(policy)
    distinct, leaves, unknown, _ = _doc_leaves(licenses, policy)
    if not distinct or unknown:
        return "other"
    return _declare(tuple(distinct), (leaf for leaf, _ in leaves), policy)


# ---------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------


# license_evidence of a document that got the recipe's licence because its own, expected, was missing: nothing
# checked it (readers.make_doc). A policy with `unverified: deny` removes them (reason `license_unverified`).
# recipe:no_rights_data: a license_rules stage told where a document's rights are (license_field, statement_field)
# found nothing there (auditor review: such documents kept the plain `recipe` evidence, unverified: deny kept them)
UNVERIFIED_EVIDENCE = frozenset({"recipe:no_sidecar_row", "recipe:no_license_field", "recipe:no_rights_data"})


# A kept document a licence stage flagged: `license_warning` set (a modified no-derivatives text) or a licence rule's
# `license_rule_verdict` other than "allowed" (steps/licence.py writes both). Such a document is never published:
# the mix leaves it out, the report does not count it in the mix's licence, trace says why. One definition here;
# the readers that scan metadata JSON text first keep the rows holding FLAG_MARKERS (cheap), then decide with
# flag_reason on the parsed metadata.
FLAG_WARNING, FLAG_VERDICT, VERDICT_ALLOWED = "license_warning", "license_rule_verdict", "allowed"
FLAG_MARKERS = (f'"{FLAG_WARNING}":', f'"{FLAG_VERDICT}":')  # substrings of the JSON text of a flagged row


def flag_reason(meta) -> str | None:
    """Why a licence stage flagged a document (its metadata, a mapping), or None: never published when set."""
    warning = meta.get(FLAG_WARNING)
    if warning:
        return str(warning)
    verdict = meta.get(FLAG_VERDICT)
    return None if verdict in (None, VERDICT_ALLOWED) else str(verdict)


def flagged_expr():
    """:func:`flag_reason` is not None, as a polars expression over the two metadata keys as string columns."""
    import polars as pl

    return (pl.col(FLAG_WARNING).fill_null("").ne("")
            | pl.col(FLAG_VERDICT).fill_null(VERDICT_ALLOWED).ne(VERDICT_ALLOWED))


# why a policy (or a source's `redistributable: false`) leaves a licence out of a mix; any other reason in
# mix_plan.json's excluded documents is a licence stage's flag on the documents themselves
POLICY_REASONS = frozenset({"license_not_allowed", "license_unknown", "not_redistributable"})


class LicensePolicy(pydantic.BaseModel, extra="forbid", frozen=True):
    """Which document licences a recipe accepts.

    ``deny`` beats ``allow``, which beats ``allow_classes``. Unknown licences are never
    silently allowed: with ``unknown: allow`` they pass but the caller must warn.
    For expressions: ``A OR B`` passes if any alternative passes (a denied alternative is
    simply not chosen); ``A AND B`` needs every member to pass, so a denied member denies it.
    """

    # without "unknown" (its own setting, `unknown:`), so `lucie-data schema` and `stages` offer what validates
    allow_classes: list[Literal["public-domain", "permissive", "share-alike", "non-commercial", "no-derivatives"]] = [
        "public-domain", "permissive", "share-alike"]
    allow: list[str] = []
    deny: list[str] = []
    unknown: Literal["deny", "allow"] = "deny"
    unverified: Literal["allow", "deny"] = pydantic.Field(
        "allow", description="deny: remove a document whose licence is the recipe's only because its own was "
        "missing (license_evidence recipe:no_sidecar_row: an html page the sidecar has no row for; "
        "recipe:no_license_field: a record whose license_field is empty; recipe:no_rights_data: license_rules found "
        "nothing in its field or statement), reason license_unverified")

    @field_validator("allow_classes", mode="before")
    @classmethod
    def _no_unknown_class(cls, v):
        if isinstance(v, list) and "unknown" in v:  # (before the type check: its own hint, not pydantic's)
            raise ValueError("'unknown' cannot be an allowed class: set `unknown: allow` instead")
        return v

    @field_validator("allow_classes")
    @classmethod
    def _each_class_once(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))  # after the type check: a mapping in the list is a validation error, not a crash

    @field_validator("allow", "deny")
    @classmethod
    def _normalise_ids(cls, v: list[str], info: pydantic.ValidationInfo) -> list[str]:
        out: list[str] = []
        for raw in v:
            n = normalize_license(raw)
            if n == UNKNOWN:
                raise ValueError(
                    f"unrecognised licence {raw!r} in `{info.field_name}`: use an SPDX id "
                    "(e.g. CC-BY-SA-4.0), an SPDX expression or a LicenseRef-… id"
                    + (" (to accept unknown licences set `unknown: allow`)" if raw == UNKNOWN else "")
                    + (f" ({hint})" if (hint := unknown_license_hint(raw)) else "")
                )
            if n not in out:
                out.append(n)
        return out

    def _sets(self) -> tuple[frozenset[str], frozenset[str]]:
        # computed per call (lists are short; normalisation is cached) so that model_copy(update=…)
        # or model_construct() can never leave a stale deny list behind
        def fold(ids: list[str]) -> frozenset[str]:
            keys = set()
            for i in ids:
                node = _ast(normalize_license(i))
                keys.add(_canon_key(node) if node is not None else _policy_key(normalize_license(i)))
            return frozenset(keys)

        return fold(self.allow), fold(self.deny)

    def _verdict(self, node: Node, allow: frozenset[str], deny: frozenset[str]) -> str:
        key = _canon_key(node)
        if key in deny:
            return "denied"
        if key in allow:
            return "ok"
        if node[0] == "leaf":
            leaf = _policy_key(node[1])
            if leaf in deny:
                return "denied"
            if leaf in allow:
                return "ok"
            cls = _leaf_facts(node[1])[0]
            if cls == "unknown":
                return "unknown"
            return "ok" if cls in self.allow_classes else "denied"
        kids = [self._verdict(c, allow, deny) for c in node[1]]
        if node[0] == "and":
            if all(k == "ok" for k in kids):
                return "ok"
            return "denied" if "denied" in kids else "unknown"
        if "ok" in kids:
            return "ok"
        return "denied" if all(k == "denied" for k in kids) else "unknown"

    def _terms_verdict(self, node: Node, allow: frozenset[str], deny: frozenset[str]) -> str:
        """The verdict over the expression's disjunctive normal form: ok if some AND-term is ok, denied if all are;
        a term is judged by its own key in the lists, then licence by licence (the leaf checks of _verdict)."""
        terms = _dnf_leaves(node)
        if terms is None:
            return "ok"  # too large a normal form: the tree's verdict stands alone
        verdicts = [self._term_verdict(term, allow, deny) for term in terms]
        if "ok" in verdicts:
            return "ok"
        return "denied" if all(v == "denied" for v in verdicts) else "unknown"

    def _term_verdict(self, term: frozenset, allow: frozenset[str], deny: frozenset[str]) -> str:
        """One AND-term of the normal form: by its own key in the lists, then licence by licence."""
        key = " and ".join(sorted(_policy_key(_render(leaf)) for leaf in term))
        if key in deny:
            return "denied"
        if key in allow:
            return "ok"
        kids = [self._verdict(leaf, allow, deny) for leaf in term]
        return "ok" if all(k == "ok" for k in kids) else "denied" if "denied" in kids else "unknown"

    def allows_modified(self, spdx: str) -> bool:
        """Whether a document that a stage changed may still be used under this policy: some way of using its licence
        (an AND-term of the normal form) that the policy allows binds no no-derivatives licence. `CC-BY-4.0 OR
        CC-BY-ND-4.0` under `deny: [CC-BY-4.0]` is usable only as CC-BY-ND-4.0, so not once modified (licence
        review: the least restrictive alternative was judged, whatever the policy said, and the document was kept).
        A licence without a no-derivatives member is not this check's business (True)."""
        node = _ast(spdx)
        if node is None or not any(_leaf_facts(leaf[1])[3] for leaf in _leaves(node)):
            return True
        terms = _dnf_leaves(node)
        if terms is None:  # too large a normal form: a no-derivatives member binds (conservative)
            return False
        allow, deny = self._sets()
        for term in terms:
            if any(_leaf_facts(leaf[1])[3] for leaf in term):
                continue
            verdict = self._term_verdict(term, allow, deny)
            if verdict == "ok" or (verdict == "unknown" and self.unknown == "allow"):
                return True
        return False

    def decide(self, spdx: str) -> tuple[bool, str | None]:
        """(True, None) if allowed; (False, "license_not_allowed") if denied by the lists or
        classes; (False, "license_unknown") for an unknown licence under ``unknown: deny``."""
        node = _ast(spdx)
        allow, deny = self._sets()
        verdict = "unknown" if node is None else self._verdict(node, allow, deny)
        if verdict != "denied" and node is not None and node[0] != "leaf" and _canon_key(node) not in allow:
            # (an allow entry naming this very expression allows it as written)
            # the written tree alone let `(MIT OR Apache-2.0) AND CC-BY-4.0` through a deny list naming both of its
            # distributed terms (code review): every way of using it, its normal form's terms, is judged too, and a
            # denial by either view stands (rule 2)
            verdict = _stricter(verdict, self._terms_verdict(node, allow, deny))
        if verdict == "ok":
            return True, None
        if verdict == "denied":
            return False, "license_not_allowed"
        return (True, None) if self.unknown == "allow" else (False, "license_unknown")


# ---------------------------------------------------------------------------
# Project Gutenberg
# ---------------------------------------------------------------------------


_UNREADABLE = object()  # a year given but not a year: never read as "no date" (rule 2)


def _year(v: Union[int, float, str, None]):
    """A year as an int; None when absent (None, NaN: a missing value in a float column, text without a digit:
    "", "unknown", "?"); an approximate year is its year ("vers 1850", "c. 1880"); ``_UNREADABLE`` when given but
    not one year ("18??", "1850-1900", 1960.5). Integral floats and their strings count (``1960.0``, ``"1960.0"``: pandas writes
    an integer column with nulls as float64)."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if v != v:  # NaN: a missing value
            return None
        return int(v) if v.is_integer() else _UNREADABLE
    text = str(v).strip()
    if not any(c.isdigit() for c in text):  # "", "unknown", "n/a", "?": no year given
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        f = float(text)
        return int(f) if f.is_integer() else (None if f != f else _UNREADABLE)
    except ValueError:
        pass
    if len(text) > 20:  # a sentence or a JSON blob is not a catalogue's year: never fish a number out of it
        return _UNREADABLE
    years = re.findall(r"(?<![\d.])\d{3,4}(?![\d.])", text)  # "vers 1850", "c. 1880": the catalogue's year
    return int(years[0]) if len(years) == 1 else _UNREADABLE  # "18??", "1850-1900": no single year


def gutenberg_allowed(
    language: str | None,
    author_death_year: int | None,
    author_birth_year: int | None,
    usagerights: str | None,
    current_year: int,
    years_fr: int = 80,
    years_other: int = 70,
) -> tuple[bool, str | None]:
    """Lucie's Project Gutenberg rule (Lucie-Training ``DataIteratorGutenberg``).

    Gutenberg books are public domain in the USA, not necessarily in Europe, so Lucie keeps a
    book only if ``usagerights != "copyright"`` and the author is old enough: threshold 80
    years for French (French war-time extensions), 70 otherwise; kept if
    ``death <= current_year - thr``, or, death unknown, ``birth <= current_year - thr - 80``;
    kept when both dates are unknown (as Lucie did). For English only the copyright check
    applies. Reasons: ``license_gutenberg_copyright``, ``license_gutenberg_author_too_recent``,
    ``license_gutenberg_unreadable_year``. Years may be ints, integral floats or strings (``"1850"``,
    ``1850.0``, ``"vers 1850"``); missing ones (None, NaN, text without a digit) are unknown, and a year
    given but not one year (``"18??"``) refuses the book (:func:`_year`).
    :func:`gutenberg_decision` gives the same verdict and what it rested on.
    """
    ok, reason, _ = gutenberg_decision(language, author_death_year, author_birth_year, usagerights,
                                       current_year, years_fr, years_other)
    return ok, reason


# What a Gutenberg verdict rested on (metadata ``license_rule_basis``): a keep on ``no_dates`` or ``no_data``
# is Lucie's default for missing data, not a check that passed.
GUTENBERG_BASES = {
    "usagerights_copyright": "refused: usagerights is \"copyright\"",
    "english_usagerights": "English: usagerights given and not \"copyright\" (the only check for English)",
    "death_year": "the author's death year against the threshold",
    "birth_year": "no usable death year: the author's birth year against the threshold + 80",
    "no_dates": "usagerights given and not \"copyright\", but no usable author year: kept by Lucie's default",
    "no_data": "nothing to check (no usagerights and, except for English, no usable author year): kept by "
               "Lucie's default",
    "unreadable_year": "refused: an author year is given but is not one year (\"18??\", \"1850-1900\", 1960.5): "
                       "the rule cannot be checked, and it is not a missing date Lucie's default would keep",
}


def gutenberg_decision(
    language: str | None,
    author_death_year: int | None,
    author_birth_year: int | None,
    usagerights: str | None,
    current_year: int,
    years_fr: int = 80,
    years_other: int = 70,
) -> tuple[bool, str | None, str]:
    """:func:`gutenberg_allowed` plus its basis, one of :data:`GUTENBERG_BASES`: (ok, reason, basis)."""
    rights = (usagerights or "").strip().lower() if isinstance(usagerights, str) else ""
    if rights == "copyright":
        return False, "license_gutenberg_copyright", "usagerights_copyright"
    # each language of a pair ("fr,en"), without a region ("fr_FR", "en-US")
    parts = {re.split(r"[-_]", p.strip())[0] for p in (language or "").lower().split(",")} - {"", "und", "mul", "zxx"}
    if parts == {"en"}:
        return True, None, ("english_usagerights" if rights else "no_data")
    # French (alone or in a pair) gets French law's 80 years; a language not known gets the stricter of the two
    # (licence review: a French recipe's book whose language was not mapped got 70 and entered the mix)
    thr = years_fr if "fr" in parts else years_other if parts else max(years_fr, years_other)
    death, birth = _year(author_death_year), _year(author_birth_year)
    if death is _UNREADABLE or (death is None and birth is _UNREADABLE):
        return False, "license_gutenberg_unreadable_year", "unreadable_year"
    if death is None and birth is None:
        return True, None, ("no_dates" if rights else "no_data")
    if death is not None:
        ok, basis = death <= current_year - thr, "death_year"
    else:
        ok, basis = birth <= current_year - thr - 80, "birth_year"
    return (True, None, basis) if ok else (False, "license_gutenberg_author_too_recent", basis)
