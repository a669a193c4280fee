"""Licence review (adversarial auditor, 2026-11-28): strings and statements that let a document the policy forbids
into a mix. Each row failed before the fix (the old result is in the comment)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from datatrove.data import Document

from lucie_data.licenses import (UNKNOWN, LicensePolicy, license_class, license_from_statement,
                                 normalize_license)
from lucie_data.steps.licence import LicenseGateFilter

DATA = Path(__file__).resolve().parent / "data" / "licences"
TEXT = json.loads((DATA / "mixed.jsonl").read_text(encoding="utf-8").splitlines()[4])  # a real UD English sentence


@pytest.mark.parametrize(("lic", "cls"), [
    ("LicenseRef-PD-but-NonCommercial", "unknown"),   # was public-domain: any LicenseRef-PD-… was
    ("LicenseRef-PD-CC-BY-NC-4.0", "unknown"),         # was public-domain
    ("LicenseRef-PD", "unknown"),                      # was public-domain
    ("LicenseRef-pd-", "unknown"),                     # was public-domain
    ("LicenseRef-PD-US-Project-Gutenberg", "public-domain"),  # the ids this module writes itself stay
    ("LicenseRef-public-domain", "public-domain"),
])
def test_only_known_public_domain_refs_are_public_domain(lic, cls):
    assert license_class(lic) == cls
    allowed, _ = LicensePolicy().decide(lic)
    assert allowed == (cls == "public-domain")


@pytest.mark.parametrize(("raw", "expected"), [
    ("CC-BY-4.0 WITH NonCommercial-exception", UNKNOWN),    # was itself, classed permissive
    ("MIT WITH no-commercial-use-exception", UNKNOWN),      # was itself, classed permissive
    ("CC-BY-4.0 (LICENSE.NC)", UNKNOWN),                    # was CC-BY-4.0: the parenthesis read as a file name
    ("CC-BY-4.0 (LICENSE-NC)", UNKNOWN),
    # what stays: SPDX's exceptions in any case, and real pointers to licence files
    ("GPL-2.0-only WITH Classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ("GPL-2.0-only with classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
    ("GPL-2.0-only WITH Linux-syscall-note", "GPL-2.0-only WITH Linux-syscall-note"),
    ("dual MIT / Apache-2.0 (LICENSE-MIT, LICENSE-APACHE)", "MIT OR Apache-2.0"),
    ("MIT (see LICENSE.txt)", "MIT"),
    ("Apache License 2.0 (LICENSE)", "Apache-2.0"),
    # code review: real licence-file names (GNU's, Apache's) were made unknown by the rule above
    ("LGPL-3.0-or-later (COPYING.LESSER)", "LGPL-3.0-or-later"),
    ("Apache-2.0 (LICENSE-2.0.txt)", "Apache-2.0"),
    ("BSD-3-Clause (LICENSE.BSD)", "BSD-3-Clause"),
    ("CC-BY-4.0 (LICENSE.commercial)", UNKNOWN),
    # review: a pointer to another family's file is not the licence's (a copyleft pointer was dropped)
    ("MIT (LICENSE.GPL)", UNKNOWN),
    ("MIT (see COPYING.GPL)", UNKNOWN),
    ("CC-BY-4.0 (LICENSE.GFDL)", UNKNOWN),
    ("MIT (COPYING.LESSER)", UNKNOWN),
    ("GPL-3.0-only (COPYING.GPL)", "GPL-3.0-only"),
    # SPDX 3.27's exceptions (packaging.licenses ships that list)
    ("GPL-2.0-or-later WITH Bison-exception-1.24", "GPL-2.0-or-later WITH Bison-exception-1.24"),
    ("MIT WITH fmt-exception", "MIT WITH fmt-exception"),
])
def test_exceptions_are_spdx_ones_and_file_pointers_are_file_names(raw, expected):
    assert normalize_license(raw) == expected


@pytest.mark.parametrize("statement", [
    "This work is licensed under CC BY 4.0. Commercial use is prohibited.",   # each was CC-BY-4.0
    "CC BY 4.0 applies to the images; the text is copyrighted",
    "© Le Monde. Reproduction interdite. Illustration CC BY 4.0",
    "Die Texte stehen unter CC BY 4.0, eine Weiterverbreitung ist untersagt.",
    "Public domain? No. Project Gutenberg license.",                           # was LicenseRef-PD-US-Project-Gutenberg
])
def test_statements_that_forbid_or_ask_grant_nothing(statement):
    assert license_from_statement(statement) == UNKNOWN


@pytest.mark.parametrize(("statement", "expected"), [
    ("This work is licensed under a Creative Commons Attribution 4.0 International License.", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/?ref=chooser-v1", "CC-BY-4.0"),  # a query string is no question
    ("Sauf mention contraire, le contenu est sous licence CC BY-SA 3.0", "CC-BY-SA-3.0"),
    ("Copyright © 2019 Jane Doe. Licensed under CC BY-SA 4.0.", "CC-BY-SA-4.0"),
])
def test_real_grants_still_read(statement, expected):
    assert license_from_statement(statement) == expected


@pytest.mark.parametrize(("statement", "expected"), [
    ("Copyrighted material, licensed under CC BY 4.0.", "CC-BY-4.0"),  # an adjective: a CC work is copyrighted
    # a question that does not name the licence
    ("Want to republish this article? It is licensed under CC BY-ND 4.0.", "CC-BY-ND-4.0"),
    ("¿Quieres reutilizar este contenido? Está bajo licencia CC BY-SA 4.0.", "CC-BY-SA-4.0"),
    ("Vous souhaitez réutiliser ce contenu ? Il est sous licence CC BY 4.0.", "CC-BY-4.0"),
    # any ban is more than a grant says, even one the licence has itself: three review rounds showed no list of
    # exceptions tells "commercial use is prohibited" from bans on AI training, resale or "commercial or not"
    ("CC BY-NC 4.0: commercial use is prohibited", UNKNOWN),
    ("Obra bajo licencia CC BY-NC 4.0 – prohibido su uso comercial.", UNKNOWN),
    ("Contenu sous licence CC BY-SA 4.0. Toute reproduction non conforme à la licence est interdite.", UNKNOWN),
    ("CC BY 4.0 — modifications forbidden", UNKNOWN),
    ("CC BY-NC 4.0. Toute reproduction, commerciale ou non, est interdite.", UNKNOWN),
    ("CC BY-NC 4.0. Commercial use and use for AI training are prohibited.", UNKNOWN),
    ("CC BY-NC 4.0. Any use, commercial or non-commercial, is prohibited.", UNKNOWN),
    ("CC BY-NC 4.0. Redistribution, e.g. commercial use, is prohibited.", UNKNOWN),
    ("Article sous licence CC BY 4.0. Toute reproduction est interdite hors licence commerciale.", UNKNOWN),
    ("This work is licensed under CC BY 4.0. Use outside the EU is prohibited.", UNKNOWN),
    # bans without a forbidding verb, and a ban in a sentence of its own
    ("Texte sous CC BY 4.0. Commercial use is not permitted.", UNKNOWN),
    ("Texte sous CC BY 4.0. No commercial use.", UNKNOWN),
    ("Texte sous CC BY 4.0. Pas d'utilisation commerciale.", UNKNOWN),
    ("Sous CC BY 4.0. Die kommerzielle Nutzung ist nicht gestattet.", UNKNOWN),
    # questions naming the licence, French spacing included
    ("CC BY 4.0? no, this text is not free.", UNKNOWN),
    ("Ce texte est-il sous licence CC BY 4.0 ? non.", UNKNOWN),
    ("Licence : CC BY-SA 4.0 ? voir les conditions", UNKNOWN),
    # licence names that spell their elements stay grants
    ("Creative Commons Attribution - Pas d'Utilisation Commerciale 4.0 International", "CC-BY-NC-4.0"),
    ("Licencia Creative Commons Reconocimiento-NoComercial 4.0 Internacional", "CC-BY-NC-4.0"),
])
def test_statements_with_bans_or_questions(statement, expected):
    assert license_from_statement(statement) == expected


ND_POLICY = {"allow_classes": ["public-domain", "permissive", "share-alike", "no-derivatives"], "deny": ["CC-BY-4.0"]}


@pytest.mark.parametrize(("lic", "expected"), [
    # allowed only through its no-derivatives alternative (CC-BY-4.0 is denied): modified, it must go (was kept)
    ("CC-BY-4.0 OR CC-BY-ND-4.0", (False, "license_no_derivatives_modified")),
    ("CC-BY-ND-4.0", (False, "license_no_derivatives_modified")),
    ("CC-BY-ND-4.0 AND MIT", (False, "license_no_derivatives_modified")),
    ("MIT OR CC-BY-ND-4.0", True),       # the licensee uses it under MIT, which the policy allows
    ("MIT", True),
])
def test_a_modified_document_needs_a_way_of_use_free_of_no_derivatives(lic, expected):
    gate = LicenseGateFilter([ND_POLICY])
    doc = Document(text=TEXT["text"], id=TEXT["id"], metadata={"license": lic, "modified_by": ["normalize"]})
    assert gate.filter(doc) == expected
    unmodified = Document(text=TEXT["text"], id=TEXT["id"], metadata={"license": lic})
    assert gate.filter(unmodified) is True


def test_unknown_allowed_alternative_still_counts_as_a_way_of_use():
    policy = LicensePolicy(**ND_POLICY, unknown="allow")
    assert policy.allows_modified("LicenseRef-somewhere OR CC-BY-ND-4.0")
    assert not LicensePolicy(**ND_POLICY).allows_modified("LicenseRef-somewhere OR CC-BY-ND-4.0")


def test_every_exception_is_spdxs():
    """No invented exception id: each is in SPDX's list as the installed `packaging` ships it (when it does)."""
    spdx = pytest.importorskip("packaging.licenses._spdx")
    from lucie_data.licenses import _SPDX_EXCEPTIONS

    theirs = {k.lower() for k in spdx.EXCEPTIONS}
    assert set(_SPDX_EXCEPTIONS) <= theirs, set(_SPDX_EXCEPTIONS) - theirs
