"""Review 10, licences and the provenance report: invisible characters, Creative Commons names without the
"Creative Commons" prefix, Etalab's Licence Ouverte, why an unversioned name is unknown, deprecated GNU ids in the
share-alike groups, OR expressions in the share-alike obligations, the composition table's caption."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lucie_data.cli import main
from lucie_data.licenses import (
    _CC_SPDX,
    UNKNOWN,
    LicensePolicy,
    is_share_alike,
    license_class,
    mix_license,
    needs_attribution,
    normalize_license,
    share_alike_obligations,
)
from lucie_data.recipe import load_pipeline
from lucie_data.runner import build
from tests.test_licence_stages import POLICY, TEXTS, write_build

# ---------------------------------------------------------------------------------------------------------------
# 1a. characters that show as nothing are not read as junk (a no-break space already was)
# ---------------------------------------------------------------------------------------------------------------
INVISIBLE = ["\u200b", "\ufeff", "\u200c", "\u200d", "\u00ad", "\u2060", "\u200e"]


@pytest.mark.parametrize("ch", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("where", ["after", "before", "inside"])
def test_invisible_characters_do_not_make_a_licence_unknown(ch, where):
    raw = {"after": f"CC-BY-4.0{ch}", "before": f"{ch}CC-BY-4.0", "inside": f"CC-BY{ch}-4.0"}[where]
    assert normalize_license(raw) == "CC-BY-4.0"
    assert normalize_license(f"Creative Commons Attri{ch}bution-ShareAlike 4.0 International{ch}") == "CC-BY-SA-4.0"
    assert normalize_license(f"MIT OR Apache-2.0{ch}") == "MIT OR Apache-2.0"
    assert LicensePolicy(**POLICY).decide(raw) == (True, None)


def test_invisible_characters_alone_or_joining_words_stay_unknown():
    assert normalize_license("\u200b\ufeff") == UNKNOWN
    # what is shown is read: "MIT\u200bOR" shows as "MITOR", not as an OR
    assert normalize_license("MIT\u200bOR\u200bApache-2.0") == UNKNOWN


# ---------------------------------------------------------------------------------------------------------------
# 1b. Creative Commons titles with or without "Creative Commons", every variant and version the module knows
# ---------------------------------------------------------------------------------------------------------------
WORDS = {"BY": "Attribution", "NC": "NonCommercial", "SA": "ShareAlike", "ND": "NoDerivatives"}
SUFFIX = {"4.0": " International", "3.0": " Unported", "2.5": " Generic", "2.0": " Generic", "1.0": ""}
UNPORTED_BY = sorted(i for i in _CC_SPDX if re.fullmatch(r"CC-BY(?:-(?:NC|SA|ND))*-\d\.\d", i))


@pytest.mark.parametrize("spdx", UNPORTED_BY)
@pytest.mark.parametrize("prefix", ["", "Creative Commons ", "CC "])
def test_cc_long_names_with_and_without_the_prefix(spdx, prefix):
    *els, ver = spdx.split("-")[1:]
    name = "-".join(WORDS[e] for e in els) + f" {ver}"
    assert normalize_license(prefix + name + SUFFIX[ver]) == spdx
    assert normalize_license(prefix + name) == spdx
    assert normalize_license(prefix + name + SUFFIX[ver] + " License") == spdx


@pytest.mark.parametrize("raw, spdx", [
    ("Attribution-NonCommercial-ShareAlike 4.0 International", "CC-BY-NC-SA-4.0"),
    ("Attribution-ShareAlike 3.0 Germany", "CC-BY-SA-3.0-DE"),
    ("Attribution-ShareAlike 2.0 France", "LicenseRef-CC-BY-SA-2.0-FR"),
    ("Attribution-NonCommercial-ShareAlike 2.0 France", "CC-BY-NC-SA-2.0-FR"),
    ("Attribution-NonCommercial-NoDerivs 3.0 Unported", "CC-BY-NC-ND-3.0"),
    ("Namensnennung - Weitergabe unter gleichen Bedingungen 3.0 Deutschland", "CC-BY-SA-3.0-DE"),
    ("Paternité - Pas d'Utilisation Commerciale - Partage dans les Mêmes Conditions 4.0 International",
     "CC-BY-NC-SA-4.0"),
])
def test_cc_titles_without_prefix_ports_and_translations(raw, spdx):
    assert normalize_license(raw) == spdx


@pytest.mark.parametrize("raw", ["Attribution", "Attribution-ShareAlike", "ShareAlike 1.0", "BY",
                                 "Attribution 9.0", "Attribution Assurance License", "LicenseRef-BY-4.0"])
def test_what_names_no_cc_licence_for_sure_stays_unknown(raw):
    assert license_class(normalize_license(raw)) == "unknown"


# ---------------------------------------------------------------------------------------------------------------
# 1c. Etalab's Licence Ouverte (French public data, data.gouv.fr)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["LO-FR-2.0", "Licence Ouverte / Open Licence version 2.0", "Licence Ouverte 2.0",
                                 "Open Licence 2.0", "Etalab 2.0", "etalab-2.0", "Licence Ouverte d'Etalab 2.0",
                                 "LO-FR-2.0\u200b"])
def test_licence_ouverte_2_is_etalab_2(raw):
    assert normalize_license(raw) == "etalab-2.0"
    assert license_class(raw) == "permissive" and needs_attribution(raw)


@pytest.mark.parametrize("raw", ["Licence Ouverte 1.0", "Licence Ouverte / Open Licence 1.0", "Etalab 1.0",
                                 "LicenseRef-etalab-1.0", "LicenseRef-Etalab-1.0"])
def test_licence_ouverte_1_has_no_spdx_id_and_gets_a_classed_licenseref(raw):
    assert normalize_license(raw) == "LicenseRef-etalab-1.0"
    assert license_class(raw) == "permissive" and needs_attribution(raw)
    assert LicensePolicy(**POLICY).decide(normalize_license(raw)) == (True, None)


# ---------------------------------------------------------------------------------------------------------------
# 1d. an unversioned name stays unknown, and the message says why
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, words", [
    ("CC-BY", ["without its version", "CC-BY-4.0", "CC-BY-3.0"]),
    ("CC BY-SA", ["without its version", "CC-BY-SA-4.0"]),
    ("BSD", ["clause count", "BSD-2-Clause", "BSD-3-Clause"]),
    ("Licence Ouverte", ["without its version", "etalab-2.0"]),
])
def test_unversioned_names_stay_unknown_and_the_policy_error_says_why(raw, words):
    from lucie_data.licenses import unknown_license_hint

    assert normalize_license(raw) == UNKNOWN
    hint = unknown_license_hint(raw)
    assert hint and all(w in hint for w in words), hint
    with pytest.raises(ValueError) as err:
        LicensePolicy(deny=[raw])
    assert "without its version" in str(err.value) or "clause count" in str(err.value)
    assert unknown_license_hint("asdf") is None and unknown_license_hint("CC-BY-4.0") is None


# ---------------------------------------------------------------------------------------------------------------
# 2. deprecated GNU ids: kept as written (single or in an expression), read as their current id when grouping
# ---------------------------------------------------------------------------------------------------------------
def test_a_deprecated_gnu_id_combines_with_its_current_id():
    # the document keeps the id it was given, in an expression as alone (test_licenses: ..._deprecated_spelling)
    assert normalize_license("GPL-3.0") == "GPL-3.0"
    assert normalize_license("MIT OR GPL-3.0") == "MIT OR GPL-3.0"
    assert LicensePolicy(deny=["GPL-3.0-only"]).decide("MIT AND GPL-3.0") == (False, "license_not_allowed")
    # GPL-3.0 is GPL-3.0-only (SPDX): the same licence, not "copyleft licences that cannot be relicensed together"
    out = share_alike_obligations(["GPL-3.0", "GPL-3.0-only"])
    assert not any("cannot be relicensed" in o for o in out), out
    assert mix_license(["GPL-3.0", "GPL-3.0-only"]) == "GPL-3.0-only"
    assert mix_license(["MIT AND GPL-3.0", "GPL-3.0-only", "CC0-1.0"]) == "GPL-3.0-only"
    assert mix_license(["GPL-2.0", "GPL-2.0-or-later", "GPL-2.0-only"]) == "GPL-2.0-only"
    # a fixed version stays apart from another version
    assert mix_license(["GPL-2.0", "GPL-3.0-only"]) == "other"


# ---------------------------------------------------------------------------------------------------------------
# 3. share-alike obligations name the OR expressions whose class is share-alike, as an option
# ---------------------------------------------------------------------------------------------------------------
EXPR = "CC-BY-SA-4.0 OR CC-BY-NC-4.0"


def test_share_alike_obligations_name_an_or_expression_as_an_option():
    assert license_class(EXPR) == "share-alike" and is_share_alike(EXPR)
    out = share_alike_obligations([EXPR, "CC-BY-4.0"])
    mine = [o for o in out if EXPR in o]
    assert mine and "option" in mine[0] and "whoever redistributes them under CC-BY-SA-4.0" in mine[0], out
    assert mix_license([EXPR, "CC-BY-4.0"]) == "CC-BY-SA-4.0"
    # the "can be combined" line names the expression with the option it is combined by
    out = share_alike_obligations([EXPR, "CC-BY-SA-3.0"])
    combined = [o for o in out if "can be combined" in o]
    assert combined and f"{EXPR} (its CC-BY-SA-4.0 option)" in combined[0] and "CC-BY-SA-3.0" in combined[0], out
    # an AND expression carries its share-alike member (not an option)
    out = share_alike_obligations(["CC-BY-SA-4.0 AND MIT", "CC-BY-SA-4.0"])
    assert any(o.startswith("Documents under CC-BY-SA-4.0 AND MIT carry CC-BY-SA-4.0") for o in out), out
    # plain licences keep their sentence; an OR whose class is not share-alike brings no obligation
    assert share_alike_obligations(["CC-BY-SA-4.0"])[0].startswith("Documents under CC-BY-SA-4.0 must stay")
    assert share_alike_obligations(["MIT OR CC-BY-SA-4.0"]) == []


# ---------------------------------------------------------------------------------------------------------------
# report: a build with those licences
# ---------------------------------------------------------------------------------------------------------------
RECORDS = [
    ("r0", EXPR, "fr"), ("r1", "CC-BY-SA-3.0", "fr"), ("r2", "CC-BY-4.0\u200b", "fr"), ("r3", "CC-BY", "fr"),
    ("r4", "LO-FR-2.0", None), ("r5", "Attribution-ShareAlike 4.0 International", "fr"),
]


@pytest.fixture(scope="module")
def report10(tmp_path_factory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("review10")
    rows = [{"id": rid, "text": TEXTS[i]["text"], "license": lic, "language": lang}
            for i, (rid, lic, lang) in enumerate(RECORDS)]
    (tmp / "r10.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    src = {"category": "web", "languages": ["und"], "license": UNKNOWN,
           "input": {"type": "jsonl", "paths": [str(tmp / "r10.jsonl")], "license_field": "license",
                     "language_field": "language"},
           "stages": [{"type": "normalize"}]}
    policy = {**POLICY, "deny": []}
    pipe = load_pipeline(write_build(tmp, {"r10": src}, policy=policy, name="r10"))
    build(pipe)
    out = pipe.output_dir
    assert main(["report", str(out)]) == 0
    return out, json.loads((out / "reports" / "provenance.json").read_text(encoding="utf-8"))


def test_report_keeps_the_licences_the_normaliser_now_reads(report10):
    _, rep = report10
    kept = {c["license"] for c in rep["composition"] if c["status"] == "kept"}
    assert {"CC-BY-4.0", "etalab-2.0", "CC-BY-SA-4.0", EXPR} <= kept, kept
    removed = [c for c in rep["composition"] if c["status"] == "removed"]
    assert [(c["license"], c["docs"]) for c in removed] == [(UNKNOWN, 1)]  # "CC-BY" alone


def test_report_says_why_an_unversioned_licence_is_unknown(report10):
    _, rep = report10
    msgs = [w["message"] for w in rep["warnings"] if w["kind"] == "unknown_license_removed"]
    assert len(msgs) == 1 and "'CC-BY' names a Creative Commons licence without its version" in msgs[0], msgs


def test_report_share_alike_section_names_the_or_expression(report10):
    out, rep = report10
    sa = rep["share_alike"]
    assert EXPR in sa["licenses"]
    assert any(o.startswith(f"Documents under {EXPR} are counted under its share-alike option CC-BY-SA-4.0")
               for o in sa["obligations"]), sa["obligations"]
    combined = [o for o in sa["obligations"] if "can be combined" in o]
    assert combined and EXPR in combined[0] and "the licence to declare for the mix" in combined[0]
    assert sa["mix_license"] == "CC-BY-SA-4.0"
    md = (out / "reports" / "provenance.md").read_text(encoding="utf-8")
    html = (out / "reports" / "provenance.html").read_text(encoding="utf-8")
    assert f"Documents under {EXPR}" in md and f"Documents under {EXPR}" in html


class _Captions(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: dict[str, str] = {}
        self._cls: str | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._cls = dict(attrs).get("class") or ""
            self.tables[self._cls] = ""
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        if self._in_caption and self._cls is not None:
            self.tables[self._cls] += data


def test_html_composition_table_caption_says_kept_and_removed_and_what_und_is(report10):
    out, rep = report10
    assert any(c["language"] == "und" for c in rep["composition"])  # the null-language document (README: `und`)
    html = (out / "reports" / "provenance.html").read_text(encoding="utf-8")
    p = _Captions()
    p.feed(html)
    cap = p.tables.get("composition", "")
    assert "kept and removed" in cap and "und: unknown" in cap, cap
    # the chart's own caption describes the chart (kept tokens), not the table
    assert "<p>Kept tokens per licence, by language.</p>" not in html
    assert "Chart: kept tokens per licence, by language." in html


def test_the_schema_offers_only_the_classes_that_validate():
    """`lucie-data schema` / `stages` listed 'unknown' as an allowed class, which validation then refused."""
    import json as _json

    import pydantic
    import pytest as _pytest

    from lucie_data.licenses import LicensePolicy

    enum = LicensePolicy.model_json_schema()["properties"]["allow_classes"]["items"]["enum"]
    assert "unknown" not in enum and set(enum) == {"public-domain", "permissive", "share-alike", "non-commercial",
                                                   "no-derivatives"}
    for cls in enum:
        LicensePolicy(allow_classes=[cls])
    with _pytest.raises(pydantic.ValidationError, match="set `unknown: allow` instead"):
        LicensePolicy(allow_classes=["permissive", "unknown"])
    with _pytest.raises(pydantic.ValidationError):
        LicensePolicy(allow_classes="permissive")  # a string is not split into letters
    assert _json.dumps(enum)


def test_unicode_hyphens_read_as_hyphens():
    """Second auditor review: `CC‑BY‑4.0` written with U+2011 no-break hyphens was unknown."""
    from lucie_data.licenses import normalize_license

    for h in ("\u2010", "\u2011", "\u2012", "\u2212"):
        assert normalize_license(f"CC{h}BY{h}SA{h}4.0") == "CC-BY-SA-4.0", repr(h)


@pytest.mark.parametrize("listed, label", [
    ("MIT OR Apache-2.0", "Apache-2.0 OR MIT"),
    ("MIT OR Apache-2.0", "Apache-2.0/MIT"),
    ("Apache-2.0 OR MIT", "MIT/Apache-2.0"),
    ("GPL-2.0-only AND (MIT OR BSD-3-Clause)", "(BSD-3-Clause OR MIT) AND GPL-2.0-only"),
    ("CC-BY-4.0 AND MIT AND GPL-3.0-only", "GPL-3.0-only AND CC-BY-4.0 AND MIT"),
    # AND distributes over OR; a licence named twice is once (verification and code reviews)
    ("(MIT OR Apache-2.0) AND CC-BY-4.0", "(Apache-2.0 AND CC-BY-4.0) OR (MIT AND CC-BY-4.0)"),
    ("GPL-2.0-only OR GPL-2.0", "GPL-2.0-only"),
])
def test_a_listed_expression_matches_in_any_operand_order(listed, label):
    """Auditor review: `deny: [MIT OR Apache-2.0]` denied `MIT OR Apache-2.0` but let `Apache-2.0 OR MIT` (and
    `Apache-2.0/MIT`) through the gate into the mix. AND and OR commute; the policy compares them so."""
    denied = LicensePolicy(deny=[listed], allow_classes=["public-domain", "permissive", "share-alike"])
    assert denied.decide(normalize_license(label)) == (False, "license_not_allowed")
    allowed = LicensePolicy(allow=[listed], allow_classes=[])
    assert allowed.decide(normalize_license(label)) == (True, None)


def test_a_denied_licence_is_denied_with_an_exception_too():
    """`deny: [GPL-2.0-only]` also denies `GPL-2.0-only WITH Classpath-exception-2.0` (an exception adds permissions
    to the licence it names; the entry names the licence). Kept while the comparison changed to normal forms."""
    assert LicensePolicy(deny=["GPL-2.0-only"]).decide(
        normalize_license("GPL-2.0-only WITH Classpath-exception-2.0")) == (False, "license_not_allowed")


def test_an_expression_is_denied_when_every_term_of_its_normal_form_is():
    """Code review: with both distributed terms of `(MIT OR Apache-2.0) AND CC-BY-4.0` denied, the factored form was
    allowed (the tree was judged, not the ways of using it) while the distributed form was denied (rule 2)."""
    p = LicensePolicy(deny=["MIT AND CC-BY-4.0", "Apache-2.0 AND CC-BY-4.0"])
    for label in ("(MIT OR Apache-2.0) AND CC-BY-4.0", "(Apache-2.0 AND CC-BY-4.0) OR (MIT AND CC-BY-4.0)"):
        assert p.decide(normalize_license(label)) == (False, "license_not_allowed"), label
    assert p.decide(normalize_license("(MIT OR GPL-3.0-only) AND CC-BY-4.0")) == (True, None)  # one term is allowed
