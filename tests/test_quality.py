"""Quality stages on real text: presets keep good prose, junk is removed with the expected reason."""
from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest
from datatrove.data import Document
from pydantic import TypeAdapter, ValidationError

from lucie_data.stages import AnyStage
from lucie_data.steps.quality.boilerplate import BoilerplateFilter
from lucie_data.steps.quality.c4 import C4QualityFilter
from lucie_data.steps.quality.fineweb import FineWebQualityFilter
from lucie_data.steps.quality.gopher import GopherQualityFilter, GopherRepetitionFilter
from lucie_data.steps.quality.ocr import OCRQualityFilter
from lucie_data.steps.quality.pii import LUCIE_EMAILS, LUCIE_IPS, PIIFilter
from lucie_data.steps.quality.redpajama import RedPajamaRulesFilter
from lucie_data.steps.quality.regex import RegexFilter
from lucie_data.steps.quality.url import URLQualityFilter

DATA = Path(__file__).parent / "data" / "quality"
LANGS = ("fr", "en", "de", "es", "it")
HEURISTICS = (GopherRepetitionFilter, GopherQualityFilter, C4QualityFilter, FineWebQualityFilter)


def docs(name: str) -> list[Document]:
    out = []
    for line in open(DATA / name, encoding="utf-8"):
        r = json.loads(line)
        out.append(Document(text=r["text"], id=r["id"], metadata={"language": r["language"], "url": r.get("url")}))
    return out


def run(f, d: Document):
    return f.filter(d)


@pytest.mark.parametrize("lang", LANGS)
def test_language_preset_keeps_good_prose(lang):
    """Every chapter of the ELTeC slice passes the whole chain with its language preset."""
    chain = [cls(language=lang) for cls in HEURISTICS]
    novels = docs(f"{lang}_eltec_novels.jsonl")
    kept = 0
    for d in novels:
        kept += all(f.filter(d) is True for f in chain)
    assert kept / len(novels) >= 0.9, (lang, kept, len(novels))


def test_english_defaults_drop_french_but_fr_preset_keeps_it():
    from datatrove.pipeline.filters import GopherQualityFilter as DTGopher

    novels = docs("fr_eltec_novels.jsonl")
    try:
        dt = DTGopher()
        dt_results = [dt.filter(copy.deepcopy(d)) for d in novels]
        assert all(r is not True for r in dt_results)
        assert sum(r == (False, "gopher_enough_stop_words") for r in dt_results) >= len(novels) // 2
    except ImportError:  # spaCy missing: check our English preset instead
        pass
    en = GopherQualityFilter(language="en")
    assert all(en.filter(copy.deepcopy(d)) == (False, "gopher_enough_stop_words") for d in novels)
    fr = GopherQualityFilter(language="fr")
    assert all(fr.filter(copy.deepcopy(d)) is True for d in novels)
    auto = GopherQualityFilter(language="auto")  # the document's own language
    assert all(auto.filter(copy.deepcopy(d)) is True for d in novels)


def _text(t, lang="fr"):
    return Document(text=t, id="x", metadata={"language": lang})


def test_junk_is_removed_with_reasons():
    prose = docs("fr_eltec_novels.jsonl")[0].text
    para = prose.split("\n")[0]
    cases = [
        (GopherRepetitionFilter, "\n\n".join([para[:200]] * 30), "gopher_rep_dup_line_frac"),  # fr: no para rule
        (GopherRepetitionFilter, "\n".join([para[:200]] * 30), "gopher_rep_dup_line_frac"),
        (GopherQualityFilter, "Bonjour le monde.", "gopher_short_doc"),
        (GopherQualityFilter, " ".join(["#" + w for w in prose.split()[:300]]), "gopher_too_many_hashes"),
        (C4QualityFilter, prose[:3000] + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.", "c4_lorem_ipsum"),
        (C4QualityFilter, prose[:3000] + "\nfunction f() { return la vie est belle; }.", "c4_curly_bracket"),
        (C4QualityFilter, "Menu\nAccueil\nContact\nPlan du site", "c4_too_few_sentences"),
        (FineWebQualityFilter, "\n".join(w for w in prose.split()[:200]), "fineweb_line_punct_ratio"),
    ]
    for cls, text, reason in cases:
        assert cls(language="fr").filter(_text(text)) == (False, reason), reason
    paras = "\n\n".join([para[:200]] * 30)  # the English preset keeps Gopher's paragraph rule
    assert GopherRepetitionFilter(language="en").filter(_text(paras, "en")) == (False, "gopher_rep_dup_para_frac")


def test_fr_de_es_it_repetition_presets_turn_off_the_rules_fineweb2_turns_off():
    """fineweb-2-pipeline.py (7ee60b3) runs GopherRepetitionFilter with dup_para_frac, dup_line_char_frac and
    dup_para_char_frac at 0 (off: "trafilatura pretty much removes paragraph", duplicated line characters are
    FineWebQualityFilter's char_duplicates_ratio); our fr/de/es/it presets, said to follow FineWeb-2, kept
    datatrove's 0.3/0.2/0.2. On real Europarl sentences with one paragraph repeated, datatrove configured as
    FineWeb-2 and our preset must give the same verdict for the same rule."""
    from datatrove.pipeline.filters import GopherRepetitionFilter as DTRep

    from lucie_data.steps.quality.base import preset_params

    europarl = next(d for d in docs("fr_ud_sequoia.jsonl") if "Europar" in d.id).text
    sents = [s.strip() + "." for s in europarl.split(". ") if len(s) > 30]
    para = " ".join(sents[:4])
    text = "\n\n".join(sents[4:10] + [para] + sents[10:16] + [para])
    for lang in ("fr", "de", "es", "it"):
        p = preset_params("gopher_repetition", lang)
        assert (p["dup_para_frac"], p["dup_line_char_frac"], p["dup_para_char_frac"]) == (0, 0, 0), lang
    p = preset_params("gopher_repetition", "fr")
    fw2 = DTRep(language="fr", dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
                dup_line_frac=p["dup_line_frac"], top_n_grams=tuple(map(tuple, p["top_n_grams"])),
                dup_n_grams=tuple(map(tuple, p["dup_n_grams"])))
    theirs = fw2.filter(_text(text))
    ours = GopherRepetitionFilter(language="fr").filter(_text(text))
    assert theirs == (False, "duplicated_5_n_grams") and ours == (False, "gopher_rep_duplicated_5_n_grams"), ours


def test_c4_checks_lines_that_a_removed_citation_joined():
    """The whole-document pre-checks skip per-line substring tests only when the document lacks the substring;
    removing a citation can create one ("terms of[1] use"), so those lines are still tested, as datatrove does."""
    prose = docs("en_eltec_novels.jsonl")[0].text
    d = _text(prose + "\nBy using this site you accept our terms of[1] use and the rest.", "en")
    assert C4QualityFilter(language="en", stage_id="c4").filter(d) is True
    assert "terms of" not in d.text and d.text.strip()
    d = _text(prose + "\nLorem [2]ipsum dolor sit amet, consectetur adipiscing elit.", "en")
    assert C4QualityFilter(language="en", stage_id="c4").filter(d) == (False, "c4_lorem_ipsum")
    d = _text(prose + "\nThe JavaScript[3] engine of the page is needed here.", "en")
    assert C4QualityFilter(language="en", stage_id="c4").filter(d) is True
    assert "engine of the page" not in d.text  # C4's javascript rule drops the line
    d = _text(prose + "\nJava[4]script is required to view this page today.", "en")
    assert C4QualityFilter(language="en", stage_id="c4").filter(d) is True
    assert "required to view" not in d.text


def test_c4_rewrites_lines_and_marks_modified():
    prose = docs("fr_eltec_novels.jsonl")[1].text
    d = _text("Partager sur Facebook\n" + prose)
    d.metadata["_x"] = 1
    f = C4QualityFilter(language="fr", stage_id="c4")
    assert f.filter(d) is True
    assert not d.text.startswith("Partager") and d.metadata["modified_by"] == ["c4"]


def test_c4_presets_are_datatroves_defaults_and_the_docs_say_so_with_published_c4s():
    """The c4_quality presets were cited as "[DT] = [C4] §2.2", but datatrove's C4QualityFilter defaults (which
    FineWeb ran) differ from published C4 (T5 paper §2.2, TFDS c4_utils.py: lines of >= 5 words, pages of >= 3
    sentences, end marks . ? ! "): the presets keep datatrove's values, the docs must say whose they are."""
    import inspect

    from datatrove.pipeline.filters import c4_filters as dt

    from lucie_data.stages.quality import C4QualitySpec
    from lucie_data.steps.quality.base import _asset_path, preset_params

    en = preset_params("c4_quality", "en")
    defaults = inspect.signature(dt.C4QualityFilter).parameters
    for key in ("min_num_sentences", "min_words_per_line", "max_word_length", "split_paragraph"):
        assert en[key] == defaults[key].default, key
    assert tuple(en["end_punctuation"]) == dt.END_PUNCTUATION and "'" in en["end_punctuation"]
    published = {"min_num_sentences": 3, "min_words_per_line": 5}  # TFDS _MIN_NUM_SENTENCES, _MIN_WORDS_PER_LINE
    fields = C4QualitySpec.model_fields
    for key, value in published.items():
        desc = fields[key].description
        assert f"preset {en[key]} (datatrove's default, as FineWeb ran it; published C4: {value})" in desc, desc
    assert """published C4: . ? ! \"""" in fields["end_punctuation"].description
    assert "< 5 sentences" not in (C4QualitySpec.__doc__ or "")
    yaml_text = _asset_path().read_text(encoding="utf-8")
    assert "[DT] = [C4]" not in yaml_text
    assert "≥ 5 words per line, ≥ 3 sentences" in yaml_text
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert ("`c4_quality` keeps datatrove's defaults (FineWeb's, but for the end-mark rule, which FineWeb turned off: "
            "`filter_no_terminal_punct: false`): ≥ 5 sentences a page, ≥ 3 words a line, `'` as an end "
            "mark; published C4 has ≥ 3 sentences, ≥ 5 words, end marks `.` `?` `!` `\"`") in readme


def test_annotate_only_keeps_everything_and_writes_signals():
    pud = docs("fr_ud_pud.jsonl")[:20]  # short news excerpts: Gopher would drop most of them
    f = GopherQualityFilter(language="fr", annotate_only=True, stage_id="gq")
    would = 0
    for d in pud:
        text = d.text
        assert f.filter(d) is True and d.text == text
        s = d.metadata["quality_signals"]["gq"]
        assert {"n_words", "language", "would_remove"} <= set(s)
        would += s["would_remove"] is not None
    assert would >= 10
    # signals of the same record under a RedPajama JSON string survive (both kept in one dict)
    d = _text(docs("fr_eltec_novels.jsonl")[0].text)
    d.metadata["quality_signals"] = json.dumps({"ccnet_perplexity": [[0, 10, 300.0]]})
    C4QualityFilter(language="fr", annotate_only=True, stage_id="c4").filter(d)
    assert d.metadata["quality_signals"]["ccnet_perplexity"] == [[0, 10, 300.0]]
    assert d.metadata["quality_signals"]["c4"]["would_remove"] is None


def test_boilerplate_gutenberg_and_wikipedia_and_repeated_lines():
    raw = (DATA / "real_utf8-bom_crlf_gutenberg-44157.txt").read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    d = _text(raw)
    f = BoilerplateFilter(stage_id="bp")
    assert f.filter(d) is True
    assert "PROJECT GUTENBERG" not in d.text.upper().replace("PROJECT GUTENBERG-TM", "") or "START OF" not in d.text
    assert "*** END OF" not in d.text and "*** START OF" not in d.text and "FULL LICENSE" not in d.text
    assert len(d.text) > 0.7 * len(raw[raw.index("*** START"):raw.index("*** END")])
    seq = [x for x in docs("fr_ud_sequoia.jsonl") if "Catégorie" in x.text]
    assert seq
    for x in seq:
        assert f.filter(x) is True and "Catégorie" not in x.text and x.metadata["modified_by"] == ["bp"]
    # Lucie's Theses rule: a running header repeated 12 times disappears, the body stays
    body = docs("fr_eltec_novels.jsonl")[2].text.split("\n")
    header = "Thèse de doctorat — Université de Lorraine"
    pages = [header] + body[:3] + [header] * 11 + body[3:]
    t = _text("\n".join(pages))
    assert f.filter(t) is True and header not in t.text and body[0] in t.text
    only = _text("\n".join([header] * 12))
    assert f.filter(only) == (False, "boilerplate_empty_after_cleaning")


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_boilerplate_drops_gutenbergs_credit_and_closing_line(newline):
    """Inside the START/END markers, Gutenberg's volunteer credit ("Produced by ... pgdp.net") and its closing
    line ("End of the Project Gutenberg EBook of Entre Nous, by Lucie Vos") go too; the book itself stays, from
    its first words to its last (real file, as read with LF and with its own CRLF)."""
    raw = (DATA / "real_utf8-bom_crlf_gutenberg-44157.txt").read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    body = raw[raw.index("*** START"):raw.index("*** END")].split("\n")
    last = next(line for line in reversed(body) if line.strip() and not line.startswith("End of the Project"))
    d = _text(raw.replace("\n", newline))
    assert BoilerplateFilter(stage_id="bp").filter(d) is True
    assert "Produced by" not in d.text and "pgdp.net" not in d.text and "End of the Project Gutenberg" not in d.text
    assert d.text.lstrip().startswith("Au lecteur.")
    assert d.text.rstrip().endswith(last.rstrip())
    # a reflowed text (no blank line after the credit): only the credit's line goes, the book stays
    book = "\n".join(ln for ln in raw[raw.index("Au lecteur."):raw.index("End of the Project")].split("\n")
                     if ln.strip())
    flat = _text("*** START OF THIS PROJECT GUTENBERG EBOOK ENTRE NOUS ***\nProduced by Branko Collin, Hans Pieterse"
                 "\n" + book + "\n*** END OF THIS PROJECT GUTENBERG EBOOK ENTRE NOUS ***\n")
    assert BoilerplateFilter(stage_id="bp", repeated_lines=False).filter(flat) is True
    assert "Branko" not in flat.text and flat.text.strip() == book.strip()
    # a credit-like sentence inside the book is text, not boilerplate
    inside = _text("*** START OF THIS PROJECT GUTENBERG EBOOK X ***\n\nChapitre I.\n\nProduced by the mill, it was"
                   " sold.\n\n*** END OF THIS PROJECT GUTENBERG EBOOK X ***\n")
    assert BoilerplateFilter(stage_id="bp").filter(inside) is True and "Produced by the mill" in inside.text


def test_ocr_quality_separates_noisy_europeana_from_clean_prose():
    f = OCRQualityFilter(language="fr", stage_id="ocr")
    noisy = docs("fr_ocr_europeana_bnf.jsonl")
    clean = docs("fr_eltec_novels.jsonl") + docs("fr_ud_gsd.jsonl")
    dropped = [f.filter(d) for d in noisy]
    assert sum(r == (False, "ocr_noisy_text") for r in dropped) >= 0.3 * len(noisy)
    # full corpora (benchmarks/ocr_bench.py): 97.7 % of clean French ≥ 50 tokens kept; this slice holds
    # UD-GSD pseudo-documents with brand names and codes (iPhone, CA-14) that count as broken words
    assert sum(f.filter(d) is True for d in clean) >= 0.9 * len(clean)


@pytest.mark.parametrize("name", ["es_eltec_novels.jsonl", "de_ud_pud.jsonl", "de_eltec_novels.jsonl",
                                  "it_eltec_novels.jsonl", "es_ud_pud.jsonl", "de_ud_gsd.jsonl"])
def test_ocr_quality_keeps_clean_prose_of_the_other_languages(name):
    """Engineer review: ¿ ¡ (Spanish), „ ‚ (German) and € $ counted as stray symbols, and a word glued to them as a
    broken word: clean Spanish novels lost 87 of 114 chapters, German PUD 38 of 397. Their ordinary punctuation is
    now ordinary (full corpora: benchmarks/results/ocr.md)."""
    f = OCRQualityFilter(language=name[:2], stage_id="ocr")
    clean = docs(name)
    assert clean and sum(f.filter(d) is True for d in clean) >= 0.95 * len(clean)
    assert f.filter(Document(text=clean[0].text.replace(".", " (prix : 20 € ; ¿Qué? „Wir‚ 5 $).", 1),
                             id="x", metadata={"language": name[:2]})) is True
    # TeX quotes (de GSD), an e-mail, a hashtag, ½, © (verification review)
    assert f.filter(Document(text=clean[0].text.replace(".", " (``so'', a@b.fr, #1, ½, © 2020).", 1),
                             id="x", metadata={"language": name[:2]})) is True


def test_ocr_quality_reads_ordinals_elided_numbers_and_mc_names_as_words():
    """Clean UD documents were removed as ocr_noisy_text for ordinary tokens counted as broken words: fr-gsd-00023 for
    "545e" "29e", Italian PUD for "l'11" "l'80" "l'1" and the articles "i"/"o" (missing from spaCy's stop words),
    English PUD for "28th", Spanish GSD for "McKay". Europeana's OCR garbage still counts."""
    from lucie_data.steps.quality.ocr import ocr_signals

    labelled = {}
    for line in open(DATA.parent / "langid" / "labelled.jsonl", encoding="utf-8"):
        r = json.loads(line)
        labelled[r["id"]] = Document(text=r["text"], id=r["id"], metadata={"language": r["language"]})
    wanted = {"fr_ud_gsd.jsonl": ["fr-gsd-00023"], "es_ud_gsd.jsonl": ["es-gsd-00024"],
              "it_ud_pud.jsonl": ["it-pud-n01042"]}
    clean = [d for name, ids in wanted.items() for d in docs(name) if d.id in ids]
    clean += [labelled[i] for i in ("it-pud-w01030", "it-pud-n01134", "en-pud-n03001")]
    assert len(clean) == 6
    f = OCRQualityFilter(language="auto", stage_id="ocr")
    assert [d.id for d in clean if f.filter(copy.deepcopy(d)) is not True] == []
    for tok, lang in (("545e", "fr"), ("1re", "fr"), ("31ème", "fr"), ("n°96", "fr"), ("l'11", "it"), ("Nell'833", "it"),
                      ("31esimo", "it"), ("1990er", "de"), ("8th", "en"), ("1990s", "en"), ("McKay", "es")):
        assert ocr_signals(tok, lang)["weird_ratio"] == 0, tok
    for tok, lang in (("l908", "fr"), ("dSfiJ", "fr"), ("SadiCnrnot", "fr"), ("27x", "fr"), ("1990s", "fr")):
        assert ocr_signals(tok, lang)["weird_ratio"] == 1, tok


# --- code through the prose filters ------------------------------------------------------------------------------
_PROSE_FILTERS = (GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter, FineWebQualityFilter, OCRQualityFilter)


def _code_docs() -> list[Document]:
    """The 12 real permissive source files of tests/data/read_checks, labelled as a code build labels them."""
    from lucie_data.languages import normalize_language

    out = []
    for line in open(DATA.parent / "read_checks" / "code_permissive.jsonl", encoding="utf-8"):
        r = json.loads(line)
        lang = normalize_language(r["programming_language"], is_code=True)  # code:python, code:go...
        out.append(Document(text=r["text"], id=r["id"], metadata={"language": lang}))
    return out


@pytest.mark.parametrize("cls", _PROSE_FILTERS)
def test_language_auto_passes_code_through_the_prose_filters_and_counts_it(cls):
    """With `language: auto`, a code:* document fell back to the English preset: gopher_quality removed 61 of the 62
    permissive files of the shared corpora (gopher_below_alpha_threshold), c4_quality rewrote the ones it kept. Lucie
    applied no quality filter to The Stack: code passes unchanged, counted as skipped_code:<stage>."""
    code = _code_docs()
    f = cls(language="auto", stage_id="q")
    for d in copy.deepcopy(code):
        text = d.text
        assert f.filter(d) is True and d.text == text, d.id
    assert f.stats.stats["skipped_code:q"].total == len(code)
    ann = cls(language="auto", stage_id="q", annotate_only=True)
    d = copy.deepcopy(code[0])
    assert ann.filter(d) is True
    assert d.metadata["quality_signals"]["q"] == {"language": "code:python", "skipped": "code", "would_remove": None}
    prose = docs("fr_eltec_novels.jsonl")[0]  # prose is still judged
    auto = cls(language="auto", stage_id="q")
    auto.filter(copy.deepcopy(prose))
    assert "skipped_code:q" not in auto.stats.stats


def test_an_explicit_language_still_filters_code():
    code = _code_docs()
    removed = sum(GopherQualityFilter(language="en").filter(copy.deepcopy(d)) is not True for d in code)
    assert removed >= len(code) - 2, removed


def test_a_code_source_built_with_prose_filters_keeps_its_files_and_the_ledger_counts_them(tmp_path):
    from lucie_data.cli import main

    corpus = DATA.parent / "read_checks" / "code_permissive.jsonl"
    (tmp_path / "code.yaml").write_text(
        "name: code\ncategory: programming\nlanguages: [code]\nlicense: MIT\n"
        f"input: {{type: jsonl, paths: [{corpus}], language_field: programming_language, license_field: license}}\n"
        "stages:\n  - type: gopher_quality\n  - type: c4_quality\n  - type: ocr_quality\n"
        "  - type: gopher_quality\n    name: gopher_en\n    language: en\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [code.yaml]\noutput_dir: out\n"
                                     "license_policy: {allow_classes: [permissive]}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    led = json.loads((tmp_path / "out" / "sources" / "code" / "ledger.json").read_text())
    assert led["balanced"] and led["records_read"] == 12
    st = {s["stage"]: s for s in led["stages"]}
    for sid in ("gopher_quality", "c4_quality", "ocr_quality"):
        assert (st[sid]["docs_in"], st[sid]["docs_kept"], st[sid]["docs_skipped_code"]) == (12, 12, 12), st[sid]
    en = st["gopher_en"]  # an explicit language still judges code
    assert en["docs_removed"] >= 10 and "docs_skipped_code" not in en, en
    assert en["docs_in"] == en["docs_kept"] + en["docs_removed"]
    # the report's funnel says it too (code review: only the ledger did)
    main(["report", str(tmp_path / "out")])  # (its exit status is the report's own business here)
    md = (tmp_path / "out" / "reports" / "provenance.md").read_text(encoding="utf-8")
    for sid in ("gopher_quality", "c4_quality", "ocr_quality"):
        assert any(line.startswith(f"| {sid} |") and "code passed unjudged × 12" in line for line in md.splitlines())
    assert "code passed unjudged × 12" in (tmp_path / "out" / "reports" / "provenance.html").read_text(encoding="utf-8")


def test_a_removed_document_carries_the_signals_behind_its_reason():
    """Engineer review: signals were written with `annotate_only` only, so a removed row said `ocr_noisy_text` or
    `gopher_rep_top_3_gram` with nothing to check it against. The removed document now carries them."""
    noisy = docs("fr_ocr_europeana_bnf.jsonl")
    f = OCRQualityFilter(language="fr", stage_id="ocr")
    gone = [d for d in noisy if f.filter(d) != True]  # noqa: E712 -- (False, reason) or True
    assert gone
    for d in gone:
        sig = d.metadata["quality_signals"]["ocr"]
        assert sig["language"] == "fr" and (sig["noise"] > f.max_noise or sig["stop_ratio"] < f.min_stop_ratio)
    text = ("Le chat dort. " * 40).strip()
    d = Document(text=text, id="rep", metadata={"language": "fr"})
    verdict = GopherRepetitionFilter(language="fr", stage_id="rep").filter(d)
    assert verdict[0] is False
    assert d.metadata["quality_signals"]["rep"]["language"] == "fr" and len(d.metadata["quality_signals"]["rep"]) > 1
    kept = docs("fr_eltec_novels.jsonl")[0]
    assert GopherRepetitionFilter(language="fr", stage_id="rep").filter(kept) is True
    assert "quality_signals" not in kept.metadata  # kept documents stay as they were (no annotate_only)


def test_pii_is_deterministic_and_uses_lucie_values():
    text = docs("fr_eltec_novels.jsonl")[0].text[:500] + " Écrire à jean.dupont@orange.fr ou 8.8.8.8, pas 192.168.0.1."
    a, b = _text(text), _text(text)
    PIIFilter(seed=3, stage_id="pii").filter(a)
    PIIFilter(seed=3, stage_id="pii").filter(b)
    assert a.text == b.text and "jean.dupont" not in a.text and "8.8.8.8" not in a.text and "192.168.0.1" in a.text
    assert any(e in a.text for e in LUCIE_EMAILS) and any(ip in a.text for ip in LUCIE_IPS)
    assert a.metadata["modified_by"] == ["pii"]


def test_url_filter_lucie_keywords_and_blocklist():
    f = URLQualityFilter(keywords=["fr.wikipedia", "theses.fr"], domains=["spam-site.fr"])
    def url(u):
        return f.filter(Document(text="x", id="1", metadata={"url": u}))
    assert url("https://fr.wikipedia.org/wiki/Paris") == (False, "url_keyword")
    assert url("https://www.theses.fr/2020LORR0001") == (False, "url_keyword")
    assert url("https://www.spam-site.fr/page") == (False, "url_blocklisted_domain")
    assert url("https://www.pornhub.com/x")[0] is False  # datatrove's shipped UT1 list
    assert url("https://www.lemonde.fr/politique/article.html") is True


def test_regex_drop_and_replace():
    prose = docs("fr_eltec_novels.jsonl")[0].text[:400]
    drop = RegexFilter(r"(?i)cliquez ici", reason="regex_click_here")
    assert drop.filter(_text(prose + " Cliquez ici !")) == (False, "regex_click_here")
    rep = RegexFilter(r"\[\d+\]", action="replace", replacement="", stage_id="rx")
    d = _text(prose + "[12]")
    assert rep.filter(d) is True and d.text == prose and d.metadata["modified_by"] == ["rx"]


def _sig(v):
    return [[0, 100, v]]


def test_redpajama_rules_accept_dict_and_json_string():
    ok = {"ccnet_perplexity": _sig(300.0), "ccnet_language_score": _sig(0.9), "ccnet_nlines": _sig(10),
          "rps_doc_num_sentences": _sig(8), "rps_doc_curly_bracket": _sig(0.0), "rps_doc_lorem_ipsum": _sig(0.0),
          "rps_doc_ldnoobw_words": _sig(0), "rps_doc_word_count": _sig(400), "rps_doc_mean_word_length": _sig(4.8),
          "rps_doc_symbol_to_word_ratio": _sig(0.0), "rps_lines_start_with_bulletpoint": [[0, 9, 0]] * 10,
          "rps_doc_frac_lines_end_with_ellipsis": _sig(0.0), "rps_doc_frac_no_alph_words": _sig(0.1),
          "is_duplicate": False}
    f = RedPajamaRulesFilter()
    def run_(signals, as_json=False):
        return f.filter(Document(text="x", id="1", metadata={"quality_signals": json.dumps(signals) if as_json else signals}))
    assert run_(ok) is True and run_(ok, as_json=True) is True
    table = [
        ("ccnet_perplexity", _sig(5.0), "redpajama_ccnet_perplexity"),
        ("ccnet_perplexity", _sig(1500.0), "redpajama_ccnet_perplexity"),
        ("ccnet_language_score", _sig(0.5), "redpajama_ccnet_language_score"),
        ("rps_doc_num_sentences", _sig(2), "redpajama_c4_num_sentences"),
        ("rps_doc_word_count", _sig(40), "redpajama_gopher_word_count"),
        ("rps_doc_mean_word_length", _sig(11.0), "redpajama_gopher_mean_word_length"),
        ("rps_lines_start_with_bulletpoint", [[0, 9, 1]] * 10, "redpajama_gopher_bullet_lines"),
        ("rps_doc_frac_no_alph_words", _sig(0.4), "redpajama_gopher_no_alph_words"),
        ("rps_doc_frac_chars_top_2gram", _sig(0.25), "redpajama_gopher_top_2_gram"),
        ("is_duplicate", True, "redpajama_is_duplicate"),
        # rv51: Lucie's LucieURLFilter dropped a domain in the UT1 blocklist (RPv2 names its categories), first
        ("rps_doc_ut1_blacklist", _sig([13]), "redpajama_ut1_blacklist"),
    ]
    assert run_(dict(ok, rps_doc_ut1_blacklist=_sig(None))) is True
    assert run_(dict(ok, rps_doc_ut1_blacklist=_sig(float("nan")))) is True  # (no value: skipped, as other signals)
    assert run_(dict(ok, rps_doc_ut1_blacklist=_sig([13]), ccnet_perplexity=_sig(5.0))) == (False, "redpajama_ut1_blacklist")
    off = RedPajamaRulesFilter(check_ut1_blacklist=False)
    assert off.filter(Document(text="x", id="1", metadata={"quality_signals": dict(ok, rps_doc_ut1_blacklist=_sig([13]))}))
    for key, value, reason in table:
        assert run_(dict(ok, **{key: value}), as_json=True) == (False, reason), key
    assert f.filter(Document(text="x", id="1", metadata={})) == (False, "redpajama_missing_signals")


STAGE = TypeAdapter(AnyStage)


@pytest.mark.parametrize("cfg,match", [
    ({"type": "gopher_quality", "language": "pt"}, "language"),
    ({"type": "gopher_quality", "min_doc_words": -1}, "min_doc_words"),
    ({"type": "gopher_quality", "max_doc_wordz": 10}, "max_doc_wordz"),
    ({"type": "regex", "pattern": "([a-z"}, "not a valid Python regular expression"),
    ({"type": "regex", "pattern": "x", "reason": "Bad Reason"}, "reason"),
    ({"type": "regex", "pattern": "x", "action": "delete"}, "action"),
    ({"type": "url_filter", "preset": "lucie_jp"}, "preset"),
    ({"type": "pii", "replacement": "random"}, "replacement"),
    ({"type": "perplexity"}, "model_path"),
    ({"type": "perplexity", "model_path": "m.arpa", "min_ppl": 2000}, "min_ppl"),
    ({"type": "ocr_quality", "min_stop_ratio": 2}, "min_stop_ratio"),
    ({"type": "redpajama_rules", "missing": "ignore"}, "missing"),
    ({"type": "gopher_repetition", "top_n_grams": [[0, 0.2]]}, r"top_n_grams\.0\.0\n.*greater than or equal to 1"),
    ({"type": "gopher_repetition", "dup_n_grams": [[5, 0.15], [-1, 0.1]]}, r"dup_n_grams\.1\.0\n.*greater than or equal to 1"),
])
def test_invalid_config(cfg, match):
    with pytest.raises(ValidationError, match=match):
        STAGE.validate_python(cfg)


def test_valid_configs_build():
    from types import SimpleNamespace

    from lucie_data.stages.base import BuildContext

    ctx = BuildContext(source=SimpleNamespace(languages=["fr"]), stage_id="q", source_dir="/tmp/x")
    for cfg in ({"type": "gopher_quality", "min_doc_words": 20}, {"type": "gopher_repetition", "language": "de"},
                {"type": "c4_quality", "annotate_only": True}, {"type": "fineweb_quality"},
                {"type": "url_filter", "preset": ["lucie_fr", "lucie_other"]}, {"type": "pii"},
                {"type": "boilerplate"}, {"type": "ocr_quality"}, {"type": "redpajama_rules"}):
        steps = STAGE.validate_python(cfg).build(ctx)
        assert steps and steps[0].stage_id == "q"
    gq = STAGE.validate_python({"type": "gopher_quality", "min_doc_words": 20}).build(ctx)[0]
    assert gq.default_language == "fr" and gq.params("fr")["min_doc_words"] == 20
    assert "l'" in gq.params("fr")["stop_words"]


kenlm = pytest.importorskip  # alias for readability below


def test_perplexity_rules_with_a_tiny_arpa_model(tmp_path):
    kenlm_mod = pytest.importorskip("kenlm")
    from lucie_data.steps.quality.perplexity import ELIDED, PerplexityFilter, ccnet_normalize

    # a unigram ARPA model estimated in code on clean French prose (add-one smoothing), normalised as CCNet's models
    from collections import Counter
    import math

    train = " ".join(ccnet_normalize(d.text) for d in docs("fr_eltec_novels.jsonl")[:6]).split()
    uni = Counter(train)
    bi = Counter(zip(train, train[1:]))
    vocab = sorted(uni)
    total = sum(uni.values()) + len(vocab) + 2
    top = [(a, b) for (a, b), c in bi.most_common(3000) if c > 1]
    lines = ["\\data\\", f"ngram 1={len(vocab) + 3}", f"ngram 2={len(top)}", "", "\\1-grams:"]
    lines.append(f"{math.log10(1 / total):.6f}\t<unk>\t0")
    lines.append(f"{math.log10(1 / total):.6f}\t</s>\t0")
    lines.append("-99\t<s>\t0")
    lines += [f"{math.log10((uni[w] + 1) / total):.6f}\t{w}\t-0.3" for w in vocab]
    lines += ["", "\\2-grams:"]
    lines += [f"{math.log10(bi[(a, b)] / (uni[a] + 1)):.6f}\t{a} {b}" for a, b in top]
    lines += ["", "\\end\\", ""]
    arpa = tmp_path / "fr.arpa"
    arpa.write_text("\n".join(lines), encoding="utf-8")
    assert kenlm_mod.Model(str(arpa)).order == 2

    clean = docs("fr_eltec_novels.jsonl")[7].text
    noisy = docs("fr_ocr_europeana_bnf.jsonl")[0].text
    doc_rule = PerplexityFilter(str(arpa), threshold=5000)
    p_clean, p_noisy = doc_rule.perplexity(clean), doc_rule.perplexity(noisy)
    assert p_clean < p_noisy
    thr = (p_clean + p_noisy) / 2
    doc_rule = PerplexityFilter(str(arpa), threshold=thr)
    assert doc_rule.filter(_text(clean)) is True
    assert doc_rule.filter(_text(noisy)) == (False, "perplexity_too_high")
    # chunk rule: the noisy half is elided, the clean half kept
    chunk = PerplexityFilter(str(arpa), mode="chunk", min_ppl=1, max_ppl=thr, chunk_chars=1000, stage_id="ppl")
    d = _text(clean[:3000] + "\n" + noisy[:3000])
    assert chunk.filter(d) is True and ELIDED in d.text and d.text.startswith(clean[:500])
    assert chunk.filter(_text(noisy)) == (False, "perplexity_too_high")


def test_agreement_with_datatrove_on_real_docs():
    pytest.importorskip("spacy")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from quality_agreement import agreement

    sample = []
    for name in ("fr_eltec_novels.jsonl", "en_eltec_novels.jsonl", "de_eltec_novels.jsonl", "es_eltec_novels.jsonl",
                 "it_eltec_novels.jsonl", "fr_ud_pud.jsonl", "en_ud_pud.jsonl", "de_ud_pud.jsonl", "es_ud_pud.jsonl",
                 "it_ud_pud.jsonl", "fr_ud_gsd.jsonl", "es_ud_gsd.jsonl", "de_ud_gsd.jsonl", "en_ud_ewt.jsonl",
                 "fr_ud_sequoia.jsonl"):
        sample += docs(name)
    for d in sample:
        d.metadata.pop("url")
    assert len(sample) >= 300
    res = agreement(sample)
    for fam, r in res.items():
        assert r["rate"] >= 0.99, (fam, r["disagreements"][:5])


# --- the fast tokeniser must give exactly the regex's tokens ------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from lucie_data.steps.quality.words import tokenize, word_pattern  # noqa: E402

_TRICKY = ("l'homme aujourd'hui dit-il a-t-elle don't John's U.S. z.B. M. Dupont 3,5 1.000 ½ Ⅻ "
           "«l’État» d'A. qu'etc. dell'anno, quelqu'une PRESQU'ÎLE prud'homal lorsqu'il jusqu'au l'2 l'é² "
           "https://fr.wikipedia.org/wiki/X. www.theses.fr, a.b@c.fr site.com file.pdf -- ... … "
           "Straße's peut-être «Oui» — (voilà) _x_ Nr. 5\u00a0km\u2009h\tend\x1cx\u3000y")


@pytest.mark.parametrize("lang", LANGS + ("nl",))
def test_tokenize_equals_regex_findall_on_every_slice(lang):
    texts = [_TRICKY]
    for f in sorted(DATA.glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in open(f, encoding="utf-8")]
    pat = word_pattern(lang)
    diffs = [t[:80] for t in texts if tokenize(t, lang) != pat.findall(t)]
    assert not diffs
    assert len(texts) > 100


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("aAéß1 ._-'’@/:,;\n\t\u00a0½!?«»()[]{}\"*¡¿‘“”„‹›–—…#&+") +
                                ["https://", "www.", "www", "n't", "-il", "etc", "Mr", "Mrs", "p", "Sr", "M", "..",
                                 # elisions (fr, it) and the words French keeps whole, in other cases too
                                 "l'", "dell’", "aujourd", "AUJOURD", "hui", "quelqu", "Quelqu", "une", "uns", "prud",
                                 "hom", "presqu", "île", "ÎLE", "ı", "İ", "\u212a", "ſ", "Ⅻ", "²"]),
                max_size=40).map("".join), st.sampled_from(LANGS))
def test_tokenize_equals_regex_findall_fuzzed(text, lang):
    from lucie_data.steps.quality.words import tokenize_py

    rest, rest_py = [], []
    assert tokenize(text, lang, rest) == word_pattern(lang).findall(text) == tokenize_py(text, lang, rest_py)
    assert rest == rest_py


# --- the compiled loops (lucie_data._fast, built by setup.py) equal their pure-Python twins ---------------
def _slice_texts() -> list[str]:
    texts = [_TRICKY]
    for f in sorted(DATA.glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in open(f, encoding="utf-8")]
    return texts


def test_compiled_module_is_built():
    """setup.py builds it on any machine with a C compiler (CI has one): the fast paths are what the suite tests."""
    from lucie_data.steps.quality import words

    assert words._fast is not None


def test_compiled_module_was_built_from_this_source(monkeypatch):
    """An editable install whose _fast.c changed since the build falls back to the twins, with a warning."""
    from lucie_data import _fast, fastpath

    assert not fastpath.stale(_fast)
    monkeypatch.setattr(_fast, "source_sha256", "0" * 64)
    fastpath.compiled.cache_clear()
    try:
        with pytest.warns(UserWarning, match=r"Rebuild it with: pip install -e \."):
            assert fastpath.compiled() is None
    finally:
        monkeypatch.undo()
        fastpath.compiled.cache_clear()
    assert fastpath.compiled() is _fast


@pytest.mark.parametrize("lang", LANGS + ("nl",))
def test_compiled_tokenize_fills_rest_as_the_python_twin(lang):
    from lucie_data.steps.quality.words import tokenize_py

    for t in _slice_texts():
        rest, rest_py = [], []
        assert tokenize(t, lang, rest) == tokenize_py(t, lang, rest_py), t[:80]
        assert rest == rest_py, t[:80]


_SEGMENT_TEXTS = ["", "\n", "\n\n", "a", "a\n", "\na", "a\n\n\nb\n\na", " \n a \n\n a\n\n\n", "x\u3000\n\u3000x\n\u2028",
                  "ligne\nligne\n\nligne\nligne\n", "é\n\né\n\n\U0001f600\n\U0001f600"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "é", "\U0001f600", " ", "\n", "\n\n", "\t", "\u3000", "ab"]),
                max_size=30).map("".join))
def test_compiled_segment_dups_equal_python_fuzzed(text):
    from lucie_data.steps.quality.gopher import segment_dups, segment_dups_py

    assert segment_dups(text) == segment_dups_py(text)


def test_compiled_segment_dups_and_ngrams_equal_python_on_real_text():
    from lucie_data import _fast
    from lucie_data.steps.quality.gopher import _NGrams, segment_dups_py
    from lucie_data.steps.quality.words import tokenize_py

    ns = list(range(1, 13))
    texts = _slice_texts() + _SEGMENT_TEXTS
    for t in texts:
        assert _fast.segment_dups(t) == segment_dups_py(t), t[:80]
        words = tokenize_py(t, "fr")
        grams = _NGrams(words)
        tops, dups = _fast.ngram_stats(words, ns, ns[::-1])
        assert tops == [grams.top_chars(n) if n <= len(words) else None for n in ns], t[:80]
        assert dups == [grams.dup_chars(n) for n in ns[::-1]], t[:80]
    assert sum(1 for t in texts if _fast.ngram_stats(tokenize_py(t, "fr"), [], [5])[1][0] > 0) > 5  # repeats seen
    with pytest.raises(ValueError, match="n-gram size must be >= 1, got 0"):
        _fast.ngram_stats(["a", "b"], [0], [])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab_1½Ⅻ ,.\n\t\u00a0\u3000\x1c\x85é—́") + ["\U0001d400"]), max_size=30))
def test_compiled_pretoken_count_equals_regex(text):
    from lucie_data.tokens import _PRETOKEN, count_pretokens

    assert count_pretokens(text) == len(_PRETOKEN.findall(text))


def test_compiled_pretoken_count_on_real_text():
    from lucie_data.tokens import _PRETOKEN, count_pretokens

    texts = _slice_texts()
    assert all(count_pretokens(t) == len(_PRETOKEN.findall(t)) for t in texts)
    assert sum(map(count_pretokens, texts)) > 10_000


def _sentences_reference(line, lang):
    """The sentencizer rule on the whole line's tokens (what count_sentences computes chunk by chunk)."""
    from lucie_data.steps.quality.words import SENT_PUNCT, _is_punct

    toks = word_pattern(lang).findall(line)
    n, seen = 1, False
    for t in toks:
        if t in SENT_PUNCT:
            seen = True
        elif seen and not _is_punct(t):
            n, seen = n + 1, False
    return n if toks else 0


@pytest.mark.parametrize("lang", LANGS)
def test_count_sentences_matches_the_whole_line_rule_and_stops_early(lang):
    from lucie_data.steps.quality.words import count_sentences

    lines = [_TRICKY, "", "  ", "M. Dupont arrive. Il part ! Pourquoi ? Fin...", "... . !"]
    for f in sorted(DATA.glob("*.jsonl")):
        lines += [ln for line in open(f, encoding="utf-8") for ln in json.loads(line)["text"].splitlines()]
    for ln in lines:
        full = _sentences_reference(ln, lang)
        assert count_sentences(ln, lang) == full, ln[:80]
        assert count_sentences(ln, lang, stop_at=3) == (full if full < 3 else 3), ln[:80]


# --- n-gram signals: exactly datatrove's functions on our tokens, whatever n and order the user configures ----
def _dt_ngram_signals(text, lang, top, dup):
    """datatrove 0.10.1's top / all-duplicate n-gram rules on ``split_words`` (n-grams as tuples: no "".join),
    with RedPajama-V2's 0 for a top n-gram that occurs once."""
    from collections import Counter

    from datatrove.pipeline.filters import gopher_repetition_filter as dt

    from lucie_data.steps.quality.words import split_words

    words, out = split_words(text, lang), {}
    for n, _ in top:
        if len(words) >= n:
            grams = dt.get_n_grams(words, n)
            v = dt.find_top_duplicate(grams) if Counter(grams).most_common(1)[0][1] > 1 else 0
            out[f"top_{n}_gram_frac"] = round(v / len(text), 4)
    for n, _ in sorted(dup):
        seen, total, i = set(), 0, 0
        while i < len(words) - n + 1:
            g = tuple(words[i:i + n])
            if g in seen:
                total += sum(map(len, g))
                i += n
            else:
                seen.add(g)
                i += 1
        out[f"dup_{n}_gram_frac"] = round(total / len(text), 4)
    return out


_NGRAM_CONFIGS = [  # (top_n_grams, dup_n_grams) as a user may write them
    ([[1, 1.0]], [[1, 1.0]]),                             # unigrams: the most frequent word
    ([[4, 1.0], [2, 1.0], [3, 1.0]], [[10, 1.0], [5, 1.0]]),  # not in ascending order
    ([[2, 1.0], [60, 1.0]], [[2, 1.0], [60, 1.0]]),       # n larger than many documents' word count
    ([[1, 1.0], [3, 1.0]], [[3, 1.0], [1, 1.0]]),
]


@pytest.mark.parametrize("top,dup", _NGRAM_CONFIGS)
def test_ngram_signals_equal_datatrove_for_any_configured_n(top, dup):
    texts = [d.text for name in ("fr_eltec_novels.jsonl", "fr_ud_pud.jsonl", "en_ud_pud.jsonl") for d in docs(name)]
    prose = texts[0]
    texts += [" \n\t ", "mot", "le le", "le chat le chat le chat", "\r\n".join([prose[:300]] * 5),
              " ".join(["la", "la", "le", "le", "le"] * 3 + prose.split()[:40])]
    f = GopherRepetitionFilter(language="fr", annotate_only=True, stage_id="rep",
                               overrides={"top_n_grams": top, "dup_n_grams": dup})
    for t in texts:
        d = _text(t)
        assert f.filter(d) is True
        s = d.metadata["quality_signals"]["rep"]
        got = {k: v for k, v in s.items() if k.startswith(("top_", "dup_")) and "gram" in k}
        assert got == _dt_ngram_signals(t, "fr", top, dup), t[:60]


def test_top_ngram_fraction_is_zero_when_no_ngram_repeats():
    """Gopher's "most common n-gram" is one that repeats: a sentence whose n-grams all occur once is not
    repetitive (fr-pud-n01007 was removed as gopher_rep_top_3_gram at 0.197). RedPajama-V2 gives 0 there."""
    from collections import Counter

    from lucie_data.steps.quality.gopher import _NGrams
    from lucie_data.steps.quality.words import split_words

    pud = {d.id: d for lang in LANGS for d in docs(f"{lang}_ud_pud.jsonl")}
    d = pud["fr-pud-n01007"]
    assert GopherRepetitionFilter(language="fr").filter(copy.deepcopy(d)) is True
    unique = repeated = 0
    for d in pud.values():
        lang = d.metadata["language"]
        f = GopherRepetitionFilter(language=lang, annotate_only=True, stage_id="rep")
        f.filter(d)
        s = d.metadata["quality_signals"]["rep"]
        words = split_words(d.text, lang)
        grams = _NGrams(words)  # the pure-Python twin gives the same figures
        for n in (2, 3, 4):
            top = Counter(zip(*(words[k:] for k in range(n)))).most_common(1)
            if not top:
                continue
            if top[0][1] == 1:
                unique += 1
                assert s[f"top_{n}_gram_frac"] == 0 and grams.top_chars(n) == 0, (d.id, n)
            else:
                repeated += 1
                assert s[f"top_{n}_gram_frac"] > 0 and grams.top_chars(n) > 0, (d.id, n)
    assert unique > 100 and repeated > 100  # both cases are common in the slice


def test_ocr_quality_reads_hyphenated_line_breaks_as_layout_not_noise():
    """NewsEye keeps OCR's "ex¬\ncessif" line-break hyphenation: joined before counting, so readable pages stay."""
    from lucie_data.steps.quality.ocr import ocr_signals

    assert ocr_signals("un prix déjà ex¬\ncessif de la vie", "fr") == ocr_signals("un prix déjà excessif de la vie", "fr")
    f = OCRQualityFilter(language="fr", stage_id="ocr")
    news = docs("fr_ocr_newseye.jsonl")
    readable, noisy = news[:6], news[6:]
    assert all("¬" in d.text for d in readable)
    assert [f.filter(d) for d in readable] == [True] * 6
    # newseye-fr-dev_fr_5 was removed for its ordinal "20e" (noise 0.0236 -> 0.0187 once ordinals are words)
    assert [f.filter(d) for d in noisy if d.id != "newseye-fr-dev_fr_5"] == [(False, "ocr_noisy_text")] * 3


_FTFY_EDGES = [chr(c) for c in [0, 8, 9, 10, 11, 0x1f, 0x20, 0x41, 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3,
                                0xe9, 0xf4, 0xf5, 0x2028, 0x2029, 0x200b, 0x200c, 0x2060, 0x2069, 0x206a, 0x206f, 0x2070,
                                0xfeff, 0xfff8, 0xfff9, 0xfffd, 0xfffe, 0xd800, 0xdfff, 0xe000, 0x20ac, 0x201a, 0x0192,
                                0x2026, 0x02c6, 0x0160, 0x0178, 0x2012, 0x2122, 0x1f600]]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_FTFY_EDGES), max_size=6).map("".join))
def test_compiled_ftfy_test_equals_regex_fuzzed(text):
    from lucie_data.steps.filters import _NEEDS_FTFY, needs_ftfy

    assert needs_ftfy(text) == (_NEEDS_FTFY.search(text) is not None)


def test_compiled_ftfy_test_and_longest_word_on_real_text():
    from lucie_data.steps.filters import _NEEDS_FTFY, needs_ftfy
    from lucie_data.steps.quality.c4 import longest_word

    texts = _slice_texts() + ["", " ", "Ã©tÃ©", "a\u00a0b", "\ufeffx", "é\u2019"]
    lines = [ln for t in texts for ln in t.split("\n")]
    assert all(needs_ftfy(t) == (_NEEDS_FTFY.search(t) is not None) for t in texts + lines)
    assert sum(map(needs_ftfy, texts)) >= 3  # the mojibake samples above at least
    assert all(longest_word(t) == max(map(len, t.split()), default=0) for t in texts + lines)



@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("a_1½²Ⅻ.,!?-«»—…'’#$%&*@~^`|\\/é") + ["\U0001d400", "\U0001f600", "\u0301"]),
                        max_size=4), max_size=8))
def test_compiled_gopher_counts_equal_python_fuzzed(tokens):
    from lucie_data.steps.quality.gopher import _gopher_counts_c, gopher_counts_py

    assert _gopher_counts_c(tokens, tokens) == gopher_counts_py(tokens, tokens)


def test_compiled_gopher_counts_on_real_text():
    from lucie_data.steps.quality.gopher import _gopher_counts_c, gopher_counts_py
    from lucie_data.steps.quality.words import split_words_rest

    seen_symbols = 0
    for lang in LANGS:
        for t in _slice_texts():
            words, rest = split_words_rest(t, lang)
            got = _gopher_counts_c(words, rest)
            assert got == gopher_counts_py(words, rest), t[:80]
            seen_symbols += got[1]
    assert seen_symbols > 1000  # punctuation tokens were counted as symbols

def test_lowered_contains_rests_on_how_str_lower_maps_every_code_point():
    """_fast.lowered_contains keeps one byte per character of text.lower(): ASCII lowered, KELVIN SIGN as k, İ
    as i plus a non-ASCII mark, anything else non-ASCII. That holds only if str.lower() maps no other character
    to something holding ASCII: checked on every code point of this Python's Unicode tables."""
    import unicodedata

    from lucie_data.steps.quality import c4

    assert unicodedata.unidata_version == c4._LOWER_CHECKED_UNICODE  # else the twin runs: check again, then bump
    assert c4.lowered_contains is c4._lowered_contains_c
    holding_ascii = {cp for cp in range(128, 0x110000) if any(ord(x) < 128 for x in chr(cp).lower())}
    assert holding_ascii == {0x130, 0x212A}
    assert chr(0x130).lower() == "i\u0307" and chr(0x212A).lower() == "k"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["lorem", " ", "ipsum", "LOREM", "Ipsum", "java", "JAVA", "script", "SCRİPT", "\u212a",
                                 "İ", "i", "k", "cookie", "s", "use", "of", "terms", "Σ", "é", "\n", "\x00", "ǅ"]),
                max_size=10).map("".join))
def test_compiled_lowered_contains_equals_lower_fuzzed(text):
    from lucie_data.steps.quality.c4 import _DOC_NEEDLES, _lowered_contains_c, lowered_contains_py

    needles = _DOC_NEEDLES + ("i", "k", "ik", "", "ki")
    assert _lowered_contains_c(text, needles) == lowered_contains_py(text, needles)


def test_compiled_lowered_contains_on_real_text():
    from lucie_data.steps.quality.c4 import _DOC_NEEDLES, _lowered_contains_c, lowered_contains_py

    texts = _slice_texts() + ["Lorem Ipsum dolor", "JavaScript", "We use cookies.", "TERMS OF USE"]
    assert all(_lowered_contains_c(t, _DOC_NEEDLES) == lowered_contains_py(t, _DOC_NEEDLES) for t in texts)
    assert sum(any(_lowered_contains_c(t, _DOC_NEEDLES)) for t in texts) >= 4
    with pytest.raises(ValueError, match="needles must be ASCII"):
        _lowered_contains_c("x", ("é",))

def _badness_alphabet() -> list[str]:
    """Every non-ASCII character ftfy's BADNESS_RE names (its category ranges expanded)."""
    import re as _re

    from ftfy.badness import BADNESS_RE

    pat = BADNESS_RE.pattern
    chars = {c for c in pat if ord(c) > 127}
    for a, b in _re.findall(r"([^\x00-\x7f])-([^\x00-\x7f])", pat):
        chars.update(map(chr, range(ord(a), ord(b) + 1)))
    return sorted(chars)


def test_mojibake_gate_is_a_necessary_condition_of_ftfys_badness():
    """``maybe_mojibake`` may skip ftfy's ``is_bad`` only where is_bad is False: with the non-ASCII characters
    isolated between ASCII ones (what the gate lets through), no alternative of BADNESS_RE matches. Every
    character BADNESS_RE names is tried alone between ASCII characters of each class the pattern uses, and
    every pair of them separated by one such ASCII character; the gate is on for the pinned ftfy only."""
    from ftfy.badness import is_bad

    from lucie_data.steps.filters import _is_bad, maybe_mojibake, maybe_mojibake_py

    assert _is_bad() is not is_bad  # the ftfy this was checked for: the gate is used
    alphabet = _badness_alphabet()
    assert len(alphabet) > 400
    ascii_ = ["a", "Z", "0", " ", "\n", ".", "!", "_", "(", "#"]
    checked = 0
    for x in alphabet:
        for a in ascii_:
            for b in ascii_:
                t = a + x + b
                assert maybe_mojibake(t) == maybe_mojibake_py(t)
                assert maybe_mojibake(t) or not is_bad(t), repr(t)
                checked += 1
    for x in alphabet:
        for y in alphabet:
            for a in (" ", "a", "."):
                t = x + a + y
                assert maybe_mojibake(t) or not is_bad(t), repr(t)
                checked += 1
    assert checked > 500_000
    assert is_bad("caf\u00c3\u00a9") and maybe_mojibake("caf\u00c3\u00a9")  # the gate lets real mojibake through


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", " ", "\n", ".", "é", "Ã", "©", "\u00a0", "¬", "√", "€", "œ", "\x85", "Ð", "В", "Ђ"]),
                max_size=8).map("".join))
def test_mojibake_gate_fuzzed(text):
    from ftfy.badness import is_bad

    from lucie_data.steps.filters import _is_bad, maybe_mojibake, maybe_mojibake_py

    assert maybe_mojibake(text) == maybe_mojibake_py(text)
    assert _is_bad()(text) == is_bad(text)


def test_mojibake_gate_off_for_another_ftfy_pattern(monkeypatch):
    import ftfy.badness

    from lucie_data.steps.filters import _is_bad

    monkeypatch.setattr(ftfy.badness, "BADNESS_RE", re.compile(ftfy.badness.BADNESS_RE.pattern + "|x", re.VERBOSE))
    assert _is_bad() is ftfy.badness.is_bad

_SPACES = ["", " ", "  ", "a", " a", "a ", "a b", "a  b", "a\nb", "\u3000", "é\u3000", "\u3000é\u3000x",
           "\U0001f600 \n\t x", "\x1c\x1d\x1e\x1fa\x85\xa0b\u2028\u2029", "ÿ\u2003", "a\u200bb"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", "é", "ÿ", "\U0001f600", "\u0100", " ", "  ", "\n", "\t", "\xa0", "\u3000", "\x85",
                                 "\x1f", "\u200b"]), max_size=12).map("".join))
def test_compiled_collapse_spaces_equals_split_join_fuzzed(text):
    from lucie_data.steps.dedup import collapse_spaces, collapse_spaces_py

    out = collapse_spaces(text)
    assert out == collapse_spaces_py(text)
    assert hash(out) == hash(collapse_spaces_py(text))  # a str of the narrowest kind, as Python builds it


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "é", "\U0001f600", " ", "\n", "\t", "\xa0", "\u3000", "\x85", "\x1f", "\u200b"]),
                max_size=12).map("".join))
def test_compiled_chunk_count_equals_split_fuzzed(text):
    from lucie_data.steps.quality.words import count_chunks, count_chunks_py

    assert count_chunks(text) == count_chunks_py(text)


def test_compiled_collapse_spaces_on_real_text():
    from lucie_data import _fast
    from lucie_data.steps.dedup import collapse_spaces_py

    texts = _slice_texts() + _SPACES
    assert all(_fast.collapse_spaces(t) == collapse_spaces_py(t) for t in texts)
    assert sum(_fast.collapse_spaces(t) != t for t in texts) > 10  # most real texts have runs to collapse
    clean = "déjà vu"
    assert _fast.collapse_spaces(clean) is clean  # nothing to collapse: the text itself, no copy
    assert _fast.collapse_spaces("\u3000a") == "a" and _fast.collapse_spaces("\u3000a").isascii()  # narrowest kind
    assert all(_fast.count_runs(t) == len(t.split()) for t in texts)

@pytest.mark.slow
def test_pure_python_twins_build_byte_identical_shards(tmp_path):
    """The whole quality chain built with the compiled loops and with LUCIE_DATA_PURE_PYTHON=1 (every
    Python twin) gives the same kept and removed shards, byte for byte, on real text in five languages."""
    import hashlib
    import os
    import subprocess

    files = sorted(str(p) for p in DATA.glob("*.jsonl"))
    recipe = tmp_path / "q.yaml"
    recipe.write_text(
        "name: q\ndescription: quality chain on the test slices\ncategory: web\nlanguages: [en, fr, de, es, it]\n"
        "license: CC-BY-4.0\nprovenance: {url: 'https://example.org/q', citation: q}\n"
        f"input: {{type: jsonl, paths: {json.dumps(files)}}}\n"
        "stages:\n  - type: normalize\n  - type: language_id\n"
        # every signal recorded first (annotate_only), then the same filters decide
        + "".join(f"  - {{type: {t}, name: {t}_signals, annotate_only: true}}\n  - type: {t}\n" for t in (
            "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"))
        + "  - type: exact_dedup\n")
    digests = {}
    for mode in ("compiled", "pure"):
        out = tmp_path / mode
        pipe = tmp_path / f"{mode}.yaml"
        pipe.write_text(f"name: q\nsources: [{recipe}]\noutput_dir: {out}\nexecutor: {{type: local, workers: 1}}\n")
        env = dict(os.environ, LUCIE_DATA_PURE_PYTHON="1" if mode == "pure" else "0")
        r = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(pipe)], env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        shards = sorted(out.glob("sources/q/**/*.parquet"))
        digests[mode] = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in shards}
    assert any("/removed/gopher_" in k for k in digests["compiled"])  # the filters did remove documents
    assert any("/data/" in k for k in digests["compiled"])
    assert digests["compiled"] == digests["pure"]


def test_kenlm_loading_prints_nothing_on_the_terminal(tmp_path, capfd):
    """New-user review: KenLM's banner and progress bar ("Loading the LM will be faster…", "----5---10…") went to the
    terminal once per task, through the build's otherwise quiet output; they go to the build log now."""
    pytest.importorskip("kenlm")
    from lucie_data.cli import main

    root = Path(__file__).resolve().parents[1]
    lines = (root / "tests" / "data" / "quality" / "fr_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:10]
    (tmp_path / "fr.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    arpa = root / "tests" / "data" / "quality" / "tiny_fr.arpa"
    (tmp_path / "s.yaml").write_text("name: s\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\n"
                                     "input: {type: jsonl, paths: [fr.jsonl]}\n"
                                     f"stages: [{{type: perplexity, model_path: {arpa}, threshold: 100000}}]\n")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: out\nexecutor: {workers: 1, tasks: 1}\n")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    out, err = capfd.readouterr()
    assert "Loading the LM" not in out + err and "----5---10" not in out + err, err[-500:]
    logs = (tmp_path / "out" / "sources" / "s" / "logs" / "seg0" / "logs").glob("task_*.log")
    assert any("Loading the LM will be faster" in p.read_text() for p in logs)  # the task's log (datatrove's)
