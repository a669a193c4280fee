"""Review 13: the word tokenizer (steps/quality/words.py and its compiled twin) against spaCy's, on real text.

The table holds real snippets of /work/shared/corpora (the file and document id in each comment; the texts are
the corpora's, under the licence their README gives for each file) and the tokens spaCy 3.8's blank pipeline
of the language gives for them (datatrove's ``split_into_words``, whitespace tokens dropped), as of this
review. The reviewer's probes (rv16 ``tok_probe.py``) that no corpus document holds come after, marked so.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lucie_data.steps.quality import words

CORPORA = Path("/work/shared/corpora")
if not CORPORA.exists():  # a checkout next to ../shared
    CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

SPACY_TOKENS = [
    # OCR line-break mark: spaCy has ¬ in no prefix/suffix/infix rule, it stays in the word
    ("fr", "déjà ex¬\ncessif, de", ["déjà", "ex¬", "cessif", ",", "de"]),  # fr_ocr_newseye.jsonl newseye-fr-dev_fr_1
    ("fr", "M. Poin¬\ncaré, à", ["M.", "Poin¬", "caré", ",", "à"]),  # fr_ocr_newseye.jsonl newseye-fr-dev_fr_1
    # a lone lowercase letter and its period (spaCy's base exceptions)
    ("fr", "à 11 h. 42 du", ["à", "11", "h.", "42", "du"]),  # fr_ocr_europeana_bnf.jsonl europeana-bnf-641047-f2-08
    # underscores: prefix/suffix characters, one token each at the ends
    ("en", "? ______________________ John", ["?"] + ["_"] * 22 + ["John"]),  # en_ud_ewt.jsonl en-ewt-email-enronsent26_02
    ("en", "plus @paulhastings.com. Here", ["plus", "@paulhastings.com", ".", "Here"]),  # en_ud_ewt.jsonl en-ewt-email-enronsent26_02
    # Spanish has no hyphen infix: compounds, number ranges and dialogue dashes stay whole
    ("es", "la temporada 1994-95 de", ["la", "temporada", "1994-95", "de"]),  # es_ud_gsd.jsonl es-gsd-00013
    ("es", "enojo -dijo Millán metiendo", ["enojo", "-dijo", "Millán", "metiendo"]),  # es_eltec_novels.jsonl eltec-spa-SPA1001-ch001
    ("es", "Campo-Real", ["Campo-Real"]),  # es_eltec_novels.jsonl eltec-spa-SPA1010-ch001
    # Italian splits a hyphen only before a lowercase letter, and keeps its listed words (e-mail, nord-est)
    ("it", "Lacarta, San-Donato parla", ["Lacarta", ",", "San-Donato", "parla"]),  # it_eltec_novels.jsonl eltec-ita-IT18620-ch001
    ("it", "dal vice-rettore che", ["dal", "vice", "-", "rettore", "che"]),  # it_eltec_novels.jsonl eltec-ita-IT18530-ch007
    ("it", "di inviare e-mail dall'aereo.", ["di", "inviare", "e-mail", "dall'", "aereo", "."]),  # it_ud_pud.jsonl it-pud-n01017
    ("it", "guardò un´altra volta,", ["guardò", "un´altra", "volta", ","]),  # it_eltec_novels.jsonl eltec-ita-IT19191-ch001
    # French splits hyphens between letters but for its lists, TOKEN_MATCH and final hyphen-pronouns
    ("fr", "? toi, là-bas, tu", ["?", "toi", ",", "là", "-", "bas", ",", "tu"]),  # fr_eltec_novels.jsonl eltec-fra-FRA00101-ch002
    ("fr", "long, c'est-à-dire dans", ["long", ",", "c'", "est", "-", "à", "-", "dire", "dans"]),  # fr_eltec_novels.jsonl eltec-fra-FRA00401-ch017
    ("fr", "Mandine, criait-elle, dépêche-toi", ["Mandine", ",", "criait", "-elle", ",", "dépêche", "-", "toi"]),  # fr_eltec_novels.jsonl eltec-fra-FRA00101-ch001
    ("fr", "n'y a-t-il pas", ["n'", "y", "a", "-t", "-il", "pas"]),  # fr_eltec_novels.jsonl eltec-fra-FRA00101-ch001
    ("fr", "de Saint-Quentin ;", ["de", "Saint-Quentin", ";"]),  # fr_eltec_novels.jsonl eltec-fra-FRA00101-ch001
    # German has no apostrophe infix
    ("de", "verkauft, weil's ihm", ["verkauft", ",", "weil's", "ihm"]),  # de_eltec_novels.jsonl eltec-deu-DEU001-ch001
    # reviewer's probes (rv16 tok_probe.py / its HTML pages), in no corpus document
    ("en", "the exceptions.[1] here", ["the", "exceptions.[1", "]", "here"]),
    ("en", "===== ***** ----- ~~~~~", ["="] * 5 + ["*"] * 5 + ["-----", "~~~~~"]),
    ("en", "#hashtag @user", ["#", "hashtag", "@user"]),
    ("es", "Esta ciudad-estado emergió", ["Esta", "ciudad-estado", "emergió"]),
    ("it", "il nord-est e l'anno", ["il", "nord-est", "e", "l'", "anno"]),
    # review: after the elisions spaCy's French prefix rule splits (l' d' n'), a listed or TOKEN_MATCH word stays whole
    ("fr", "dans l'après-midi du", ["dans", "l'", "après-midi", "du"]),  # reviewer probe (rv19 frcheck.py)
    ("fr", "région d'Île-de-France et", ["région", "d'", "Île-de-France", "et"]),  # reviewer probe
    ("fr", "c'est-à-dire", ["c'", "est", "-", "à", "-", "dire"]),  # reviewer probe: c' is spaCy's infix, not prefix
]


@pytest.mark.parametrize("lang,text,expected", SPACY_TOKENS)
def test_tokens_as_spacy(lang, text, expected):
    assert words.tokenize(text, lang) == expected
    assert words.tokenize_py(text, lang) == expected  # both twins, whatever LUCIE_DATA_PURE_PYTHON says


def test_table_is_spacys():
    """The expected tokens are spaCy's own (skipped where spaCy is not installed)."""
    spacy = pytest.importorskip("spacy")
    nlps: dict = {}
    for lang, text, expected in SPACY_TOKENS:
        nlp = nlps.setdefault(lang, spacy.blank(lang))
        assert [t.text for t in nlp(text) if t.text.strip()] == expected, (lang, text)


def _ocr_docs():
    out = []
    for name in ("fr_ocr_newseye.jsonl", "fr_ocr_europeana_bnf.jsonl"):
        with open(CORPORA / name, encoding="utf-8") as fh:
            out += [json.loads(line) for line in fh]
    return out


@pytest.mark.skipif(not (CORPORA / "fr_ocr_newseye.jsonl").exists(), reason="needs ../shared/corpora")
def test_french_ocr_gopher_quality_decisions():
    """gopher_quality on the 207 French OCR documents, ours against datatrove's (spaCy) with the same preset.

    Before this review 7 documents kept by datatrove were removed here (gopher_below_alpha_threshold: every
    ``con¬`` line-break mark counted as a punctuation token, ``h.`` as two); now 1 is
    (newseye-fr-hidden_test_fr_8, alpha ratio 0.689 here against 0.704: inner punctuation such as
    ``annonce(domicilée`` or ``Rens,2`` that spaCy leaves whole), and none the other way.
    """
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter as DatatroveGopher

    from lucie_data.steps.quality.base import preset_params
    from lucie_data.steps.quality.gopher import GopherQualityFilter

    ours = GopherQualityFilter(language="fr")
    theirs = DatatroveGopher(language="fr", **preset_params("gopher_quality", "fr"))
    docs = _ocr_docs()
    assert len(docs) == 207
    dis = []
    for r in docs:
        a = theirs.filter(Document(text=r["text"], id=r["id"]))
        b = ours.filter(Document(text=r["text"], id=r["id"], metadata={}))
        a, b = ("keep" if a is True else a[1]), ("keep" if b is True else b[1])
        if a != b:
            dis.append((r["id"], a, b))
    assert len(dis) <= 1, dis
    assert all(a == "keep" for _, a, _ in dis) or not dis

