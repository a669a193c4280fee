"""Code review of the day's language-ID changes (2026-11-28): a declared pair became one language or stayed a pair
depending on how sure the detector was; a confidently German document declared fr,en was `language_low_score`; a
pair with no scores at all made the gate raise. Texts: /work/shared/corpora/de_ud_pud.jsonl and
parallel_fr_en_pud.jsonl (UD PUD, CC-BY-SA-4.0; see the corpora README)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl
from datatrove.data import Document

from .conftest import SHARED
from .test_langid import steps_of


def _rows(name: str, n: int) -> list[dict]:
    return [json.loads(x) for x in (SHARED / name).read_text(encoding="utf-8").splitlines()[:n]]


def _pairs(n: int) -> list[Document]:
    return [Document(text=r["text"] + "\n" + r["text_en"], id=r["id"], metadata={"language": "fr,en"})
            for r in _rows("parallel_fr_en_pud.jsonl", n)]


def test_a_declared_pair_stays_a_pair_whichever_member_comes_first(tmp_path):
    (lid,) = steps_of(tmp_path, [{"type": "language_id"}], ("fr", "en"), category="web")
    out = list(lid.run(iter(_pairs(60))))
    assert Counter(d.metadata["language"] for d in out) == {"fr,en": 60}  # was fr for most, fr,en for the rest
    for d in out:
        s = d.metadata["language_scores"]
        assert d.metadata["language_score"] == round(s.get("fr", 0) + s.get("en", 0), 4)
    # and a gate expecting fr and en keeps such bilingual documents (both members expected)
    (gate,) = steps_of(tmp_path, [{"type": "language_id"}, {"type": "language_gate"}], ("fr", "en"), 1, "web")
    kept = list(gate.run(iter(out)))
    assert len(kept) >= 57, [(d.id, d.metadata["language_scores"]) for d in out if d not in kept]


def test_a_confident_other_language_in_a_declared_pair_is_not_expected_not_low_score(tmp_path):
    german = _rows("de_ud_pud.jsonl", 4)[3]["text"]
    for langs, cat in ((("fr,en",), "aligned"), (("fr", "en"), "web")):
        d = tmp_path / cat
        (lid,) = steps_of(d, [{"type": "language_id"}, {"type": "language_gate"}], langs, 0, cat)
        (gate,) = steps_of(d, [{"type": "language_id"}, {"type": "language_gate"}], langs, 1, cat)
        out = list(lid.run(iter([Document(text=german, id="de", metadata={"language": "fr,en"})])))
        assert out[0].metadata["language_scores"]["de"] > 0.9
        assert list(gate.run(iter(out))) == []
        removed = pl.read_parquet(sorted(Path(d, "removed", "language_gate").glob("*.parquet")))
        assert removed["removal_reason"].to_list() == ["language_not_expected"], langs


def test_a_pair_without_scores_does_not_break_the_gate(tmp_path):
    (gate,) = steps_of(tmp_path, [{"type": "language_id"}, {"type": "language_gate", "min_score": 0}],
                       ("fr,en",), 1, "aligned")
    doc = Document(text="1914 - 1918", id="years",
                   metadata={"language": "fr,en", "language_scores": {}, "language_detector": "langdetect",
                             "language_score": 0.0})
    assert [d.id for d in gate.run(iter([doc]))] == ["years"]  # min_score 0: kept (it raised ValueError)


def test_a_text_without_letters_has_no_language(tmp_path):
    """Language-ID helper's finding: "" was identified as en 0.12 and an ideographic space as ja 0.85, enough to
    relabel a declared French document. Without a letter there is no language: `und`, score 0, the declared
    language kept; real text is unchanged."""
    real = _rows("fr_ud_pud.jsonl", 1)[0]["text"]
    docs = [Document(text=t, id=str(i), metadata={"language": "fr"})
            for i, t in enumerate(["\u3000\u3000", "1914 - 1918 / 1939 - 1945", "", real])]
    (lid,) = steps_of(tmp_path, [{"type": "language_id"}], ("fr",), category="web")
    out = {d.id: d.metadata for d in lid.run(iter(docs))}
    for i in ("0", "1", "2"):
        assert out[i]["language"] == "fr" and out[i]["language_score"] == 0.0 and out[i]["language_scores"] == {}, out[i]
        assert "language_declared" not in out[i]
    assert out["3"]["language"] == "fr" and out["3"]["language_score"] > 0.9
    (und,) = steps_of(tmp_path / "u", [{"type": "language_id"}], ("und",), category="web")
    assert [d.metadata["language"] for d in und.run(iter([Document(text="\u3000", id="s", metadata={})]))] == ["und"]


def test_ocr_quality_reads_a_french_english_pair_with_both_languages_stop_words():
    """Filters review: with `language: auto` a `fr,en` document was judged with French stop words only, so its
    English half counted as noise: 153 of 1,000 clean UD PUD pairs were `ocr_noisy_text`."""
    from lucie_data.steps.quality.ocr import OCRQualityFilter

    docs = [Document(text=r["text"] + "\n" + r["text_en"], id=r["id"], metadata={"language": "fr,en"})
            for r in _rows("parallel_fr_en_pud.jsonl", 300)]
    f = OCRQualityFilter(stage_id="ocr")
    removed = [d.id for d in docs if f.filter(d) is not True]
    # 5 of 300 here, for CamelCase names (LaBrocca) and times (06h30), a rule of their own; judged as French alone,
    # 39 (and 65 as English alone)
    assert len(removed) <= 6, removed
    fr_only = [d.id for d in docs if OCRQualityFilter(language="fr", stage_id="ocr").filter(d) is not True]
    assert len(fr_only) > 30 and set(removed) <= set(fr_only)


def test_the_build_summary_counts_the_parts_a_split_created(tmp_path, capsys):
    """New-user review: after a language_id split the summary said "29 read → 9 kept, 22 removed", which does not
    add up; it now names the parts the split created."""
    import re

    from lucie_data.cli import main

    from .test_langid import multilingual_source

    pipe = multilingual_source(tmp_path, """\
        - {type: language_id, chunk: {mode: paragraph, action: split}}
        """, languages="[en, de, fr]")
    capsys.readouterr()
    assert main(["build", str(pipe), "--output", str(tmp_path / "out")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    m = re.search(r"mixed: ([\d,]+) read \+ ([\d,]+) parts created by a split → ([\d,]+) kept, ([\d,]+) removed", out)
    assert m, out
    read, created, kept, removed = (int(x.replace(",", "")) for x in m.groups())
    assert created >= 2 and read + created == kept + removed


def test_a_pair_relabelled_to_an_expected_language_is_judged_as_that_language(tmp_path):
    """Second code review: a German text declared fr,en in a [fr, en, de] source was relabelled `de` (0.99) and the
    gate, still judging it as the pair, removed it as `language_not_expected` though `de` is expected."""
    german = _rows("de_ud_pud.jsonl", 4)[3]["text"]
    (lid,) = steps_of(tmp_path, [{"type": "language_id"}], ("fr", "en", "de"), category="web")
    (doc,) = lid.run(iter([Document(text=german, id="de", metadata={"language": "fr,en"})]))
    assert doc.metadata["language"] == "de" and doc.metadata["language_declared"] == "fr,en"
    from .test_langid import assert_gate

    assert_gate(tmp_path, doc, True, languages=("fr", "en", "de"), category="web")


def test_a_source_listing_a_pair_among_languages_judges_each_document(tmp_path):
    """Second code review: any pair in a source's `languages` kept every document's declared language: a German text
    declared `fr` in a [fr, en, de, "fr,en"] source stayed `fr`, scored with German's 0.998."""
    german = _rows("de_ud_pud.jsonl", 4)[3]["text"]
    pair = _pairs(1)[0]
    docs = [Document(text=german, id="de", metadata={"language": "fr"}), pair]
    (lid,) = steps_of(tmp_path, [{"type": "language_id"}], ("fr", "en", "de", "fr,en"), category="web")
    out = {d.id: d.metadata for d in lid.run(iter(docs))}
    assert out["de"]["language"] == "de" and out["de"]["language_declared"] == "fr"
    assert out[pair.id]["language"] == "fr,en"  # the pair, one of whose members is on top, stays a pair
