"""Review 7, licences: statements that deny or limit a licence are not grants; more SPDX ids are known;
`lucie-data stages` shows types without internal object reprs."""

from __future__ import annotations

import re

import pytest
from datatrove.data import Document

from lucie_data.cli import main
from lucie_data.licenses import (
    SPDX_IDS,
    UNKNOWN,
    LicensePolicy,
    is_share_alike,
    license_class,
    license_from_statement,
    mix_license,
    needs_attribution,
    normalize_license,
)
from lucie_data.recipe import load_source
from lucie_data.steps.licence import LicenseGateFilter, LicenseRulesAnnotator

from .test_recipes import BASE, recipe

# ---------------------------------------------------------------------------------------------------------------
# 1. license_from_statement: a statement that denies or limits a licence is not a grant (rule 2)
# ---------------------------------------------------------------------------------------------------------------

# (statement, expected). Per language, grants first (they must keep working), then sentences that mention a
# licence without granting it: "all rights reserved", a negation after the licence name, a restricted scope.
GRANT_TABLE = {
    "en": [
        ("Except where otherwise noted, content on this site is licensed under CC BY-SA 4.0.", "CC-BY-SA-4.0"),
        ("This work is licensed under a Creative Commons Attribution 4.0 International License. "
         "Provided as is, without warranty of any kind.", "CC-BY-4.0"),
        ("Some rights reserved. Text licensed under CC BY 4.0 unless otherwise noted.", "CC-BY-4.0"),
        ("If not explicitly specified otherwise, this work is licensed under CC BY 2.0", "CC-BY-2.0"),
        ("creativecommons.org/publicdomain/zero/1.0 - No Rights Reserved", "CC0-1.0"),
        ("All rights reserved. CC BY-SA 4.0 does not apply to this text.", UNKNOWN),
        ("Only the logo is licensed under CC BY 4.0. Everything else: all rights reserved.", UNKNOWN),
        ("Copyright 2020 ACME, all rights reserved. Licensed under CC BY 4.0.", UNKNOWN),
        ("CC BY 4.0 does not apply to this text.", UNKNOWN),
        ("The CC BY 4.0 licence doesn't apply to this page.", UNKNOWN),
        ("This text is not licensed under CC BY-SA 3.0.", UNKNOWN),
        ("This text is licensed under CC BY 4.0, except the images.", UNKNOWN),
        ("Everything except the text is CC BY 4.0.", UNKNOWN),
        ("Only the images are available under by-sa/4.0.", UNKNOWN),
        ("This work is licensed under CC BY 4.0; the licence does not cover the photographs.", UNKNOWN),
        ("The images are CC BY 4.0, the text isn't.", UNKNOWN),
    ],
    "fr": [
        ("Sauf mention contraire, le contenu de ce site est sous licence CC BY-SA 4.0.", "CC-BY-SA-4.0"),
        ("Cette œuvre est mise à disposition selon les termes de la Licence Creative Commons Attribution - Pas "
         "d’Utilisation Commerciale - Pas de Modification 4.0 International.", "CC-BY-NC-ND-4.0"),
        ("Tous droits réservés. Texte sous licence CC BY 4.0.", UNKNOWN),
        ("La licence CC BY-SA 4.0 n'est pas la licence de ce texte.", UNKNOWN),
        ("La licence CC BY-SA 4.0 ne s'applique pas à ce texte.", UNKNOWN),
        ("Seules les photos sont sous licence CC BY 4.0.", UNKNOWN),
        ("Le site est sous licence CC BY 4.0, sauf les textes.", UNKNOWN),
    ],
    "de": [
        ("Der Inhalt dieser Seite steht unter einer Creative Commons Namensnennung 3.0 Deutschland Lizenz.",
         "CC-BY-3.0-DE"),
        ("Sofern nicht anders ausgewiesen, stehen Inhalte dieser Website unter CC-BY (by/4.0)", "CC-BY-4.0"),
        ("Dieses Werk ist lizenziert unter einer Creative Commons Namensnennung - Nicht kommerziell 4.0 "
         "International Lizenz.", "CC-BY-NC-4.0"),
        ("Alle Rechte vorbehalten. Einzelne Texte: CC BY-SA 4.0", UNKNOWN),
        ("Die Lizenz CC BY 4.0 gilt nicht für diesen Text.", UNKNOWN),
        ("Nur die Bilder stehen unter CC BY 4.0.", UNKNOWN),
        ("Alle Inhalte stehen unter CC BY 4.0, ausgenommen die Fotos.", UNKNOWN),
    ],
    "es": [
        ("Salvo que se indique lo contrario, el contenido está bajo licencia CC BY-SA 4.0.", "CC-BY-SA-4.0"),
        ("Esta obra está bajo una licencia de Creative Commons Reconocimiento-NoComercial-SinObraDerivada 4.0 "
         "Internacional.", "CC-BY-NC-ND-4.0"),
        ("Todos los derechos reservados. CC BY 4.0", UNKNOWN),
        ("La licencia CC BY 4.0 no se aplica a este texto.", UNKNOWN),
        ("Solo las imágenes están bajo licencia CC BY 4.0.", UNKNOWN),
    ],
    "it": [
        ("Salvo diversa indicazione, i contenuti sono rilasciati con licenza CC BY-SA 4.0.", "CC-BY-SA-4.0"),
        ("Ove non diversamente specificato, i contenuti di questo sito sono rilasciati sotto licenza Creative "
         "Commons Attribuzione 4.0 Internazionale.", "CC-BY-4.0"),
        ("Tutti i diritti riservati. CC BY 4.0", UNKNOWN),
        ("Questo testo non è rilasciato con licenza CC BY 4.0.", UNKNOWN),
        ("La licenza CC BY 4.0 non si applica alle fotografie.", UNKNOWN),
        ("Tutto il sito è CC BY 4.0, tranne i testi.", UNKNOWN),
    ],
}


@pytest.mark.parametrize("language", sorted(GRANT_TABLE))
def test_statement_grant_or_not(language):
    """Review: "All rights reserved. CC BY-SA 4.0 does not apply to this text." gave CC-BY-SA-4.0 and the page was
    kept; negation was only looked for in the 4 words before the licence name."""
    got = [(s, license_from_statement(s)) for s, _ in GRANT_TABLE[language]]
    assert got == GRANT_TABLE[language]


def test_denied_statement_does_not_reach_the_mix():
    """End to end through `license_rules` with `statement_field:` and the licence gate: the page is dropped as
    unknown instead of being kept as CC-BY-SA-4.0."""
    ann = LicenseRulesAnnotator("rights", statement_field="license_statement")
    gate = LicenseGateFilter([LicensePolicy().model_dump()])
    for statement in ("All rights reserved. CC BY-SA 4.0 does not apply to this text.",
                      "Only the logo is licensed under CC BY 4.0. Everything else: all rights reserved."):
        doc = Document(text="Un texte.", id="p1", metadata={"license": "CC-BY-4.0", "license_evidence": "recipe",
                                                             "license_statement": statement})
        ann.annotate(doc)
        assert doc.metadata["license"] == UNKNOWN
        assert gate.filter(doc) == (False, "license_unknown")


# ---------------------------------------------------------------------------------------------------------------
# 2. More SPDX ids: OSI-approved / FSF-free licences are known and classified
# ---------------------------------------------------------------------------------------------------------------

# (id, class, attribution needed)
SPDX_TABLE = [
    ("EPL-1.0", "share-alike", True), ("EPL-2.0", "share-alike", True), ("CDDL-1.0", "share-alike", True),
    ("CDDL-1.1", "share-alike", True), ("MS-PL", "share-alike", True), ("OFL-1.1", "share-alike", True),
    ("OSL-3.0", "share-alike", True), ("APSL-2.0", "share-alike", True), ("Vim", "share-alike", True),
    ("Artistic-2.0", "permissive", True), ("LPPL-1.3c", "permissive", True), ("Unicode-3.0", "permissive", True),
    ("Unicode-DFS-2016", "permissive", True), ("BlueOak-1.0.0", "permissive", True),
    ("AFL-3.0", "permissive", True), ("ECL-2.0", "permissive", True), ("EFL-2.0", "permissive", True),
    ("Python-2.0.1", "permissive", True), ("Ruby", "permissive", True), ("curl", "permissive", True),
    ("libpng-2.0", "permissive", True), ("HPND", "permissive", True), ("Beerware", "permissive", True),
]


@pytest.mark.parametrize("spdx, cls, attribution", SPDX_TABLE)
def test_more_spdx_ids_are_known(spdx, cls, attribution):
    assert spdx in SPDX_IDS
    for spelling in (spdx, spdx.lower(), spdx.upper(), f"https://spdx.org/licenses/{spdx}.html"):
        assert normalize_license(spelling) == spdx, spelling
    assert license_class(spdx) == cls
    assert needs_attribution(spdx) is attribution
    assert is_share_alike(spdx) is (cls == "share-alike")
    assert mix_license([spdx, spdx]) == spdx
    assert LicensePolicy().decide(spdx) == (True, None)  # default policy: pd, permissive, share-alike
    assert LicensePolicy(deny=[spdx]).decide(spdx) == (False, "license_not_allowed")


@pytest.mark.parametrize("spdx", ["EPL-2.0", "Artistic-2.0", "OFL-1.1", "MS-PL", "CDDL-1.0"])
def test_recipe_accepts_more_spdx_ids(tmp_path, spdx):
    """Review: `license: EPL-2.0` was rejected ("licence 'EPL-2.0' is not recognised; use an SPDX id")."""
    src, issues = load_source(recipe(tmp_path, BASE.replace("license: CC-BY-4.0", f"license: {spdx}")))
    assert issues == [] and src is not None
    assert src.recipe.license == spdx


@pytest.mark.parametrize("spdx", ["SSPL-1.0", "JSON"])
def test_non_free_ids_stay_unknown(spdx):
    """SSPL-1.0 (§13 reaches the whole service stack; not OSI/FSF-approved) and JSON ("Good, not Evil") are left
    unknown on purpose: denied unless a recipe opts into `unknown: allow`."""
    assert normalize_license(spdx) == UNKNOWN
    assert license_class(spdx) == "unknown"
    assert LicensePolicy().decide(spdx) == (False, "license_unknown")
    # ...while the ids added next to them are known (this test fails without the additions)
    assert license_class("EPL-2.0") == "share-alike" and license_class("Artistic-2.0") == "permissive"


# ---------------------------------------------------------------------------------------------------------------
# 3. `lucie-data stages`: types and defaults without internal object reprs (rule 3)
# ---------------------------------------------------------------------------------------------------------------


def test_stages_output_has_no_internal_reprs(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one line per argument: nothing is cut by wrapping
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    for bad in ("0x", "BeforeValidator", "AfterValidator", "FieldInfo", "function", "PydanticUndefined",
                "Annotated", "typing.", "<class"):
        assert bad not in out, (bad, [line for line in out.splitlines() if bad in line])
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^\s+(\w+): (.*?) \((?:default|required)", out, re.M)}
    assert lines["languages"] == "list[str] | None"  # language_gate: the validators are not shown
    assert lines["top_n_grams"] == "list[tuple[int ≥ 1, float]] | None"  # gopher_repetition: bounds, readable
    assert re.search(r"^\s+keywords: list\[str\] \(default \[\]\)", out, re.M)  # a default_factory's value
