"""Review 8, quality stages: impossible thresholds fail at validation (1), no empty document is kept after a stage
rewrote the text (2), `lucie-data stages` shows the fields of nested specs (3)."""
import json
import re
import textwrap
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from datatrove.data import Document
from pydantic import TypeAdapter, ValidationError

from lucie_data.cli import main
from lucie_data.recipe import load_source
from lucie_data.stages import AnyStage
from lucie_data.stages.base import BuildContext

from .conftest import DATA, ROOT, write

STAGE = TypeAdapter(AnyStage)

# ---------------------------------------------------------------------------------------------------------------
# 1. contradictory or impossible thresholds are refused, with what is wrong and the fix
# ---------------------------------------------------------------------------------------------------------------

# (refused config, what the message must say, a neighbouring config that still means something and stays valid)
INVALID = [
    # min/max pairs, given or against the preset that fills the missing half
    ({"type": "gopher_quality", "min_doc_words": 500, "max_doc_words": 10},
     r"min_doc_words \(500\) is above max_doc_words \(10\): no document can pass; lower min_doc_words or raise",
     {"type": "gopher_quality", "min_doc_words": 10, "max_doc_words": 10}),
    ({"type": "gopher_quality", "min_avg_word_length": 20, "max_avg_word_length": 3},
     r"min_avg_word_length \(20\) is above max_avg_word_length \(3\): no document can pass",
     {"type": "gopher_quality", "language": "de", "max_avg_word_length": 15, "min_avg_word_length": 15}),
    ({"type": "gopher_quality", "language": "fr", "min_avg_word_length": 12},
     r"min_avg_word_length \(12\) is above max_avg_word_length \(11, the `fr` preset\).*set max_avg_word_length too",
     {"type": "gopher_quality", "language": "fr", "min_avg_word_length": 12, "max_avg_word_length": 20}),
    ({"type": "gopher_quality", "min_doc_words": 200000},  # auto: English (the fallback) caps at 100,000 words
     r"min_doc_words \(200000\) is above max_doc_words \(100000, the `en` preset\)",
     {"type": "gopher_quality", "min_doc_words": 200000, "max_doc_words": 0}),  # 0 = no upper bound
    ({"type": "gopher_quality", "min_doc_words": 500, "max_doc_words": 10, "min_avg_word_length": 20,
      "max_avg_word_length": 3}, r"max_doc_words \(10\).*; and min_avg_word_length \(20\)",  # every problem at once
     {"type": "gopher_quality", "min_doc_words": 0, "max_doc_words": 0, "min_stop_words": 0}),  # 0 = rule off
    # stop words: none, blank, or fewer than the rule asks for
    ({"type": "gopher_quality", "stop_words": []}, r"`stop_words` is empty: .*set `min_stop_words: 0`",
     {"type": "gopher_quality", "min_stop_words": 0}),
    ({"type": "gopher_quality", "stop_words": ["le", " "]}, r"`stop_words` holds an empty or blank entry",
     {"type": "gopher_quality", "stop_words": ["le", "l'"]}),
    ({"type": "gopher_quality", "stop_words": ["le", "la"], "min_stop_words": 3},
     r"min_stop_words \(3\) is above the 2 distinct words stop_words holds",
     {"type": "gopher_quality", "stop_words": ["le", "la", "les"], "min_stop_words": 3}),
    ({"type": "gopher_quality", "language": "en", "min_stop_words": 9},
     r"min_stop_words \(9\) is above the 8 distinct words the `en` preset's stop_words hold",
     {"type": "gopher_quality", "language": "en", "min_stop_words": 8}),
    # shares above 1 (or below 0)
    ({"type": "gopher_quality", "max_bullet_lines_ratio": 1.5}, r"`max_bullet_lines_ratio` is a share between 0 and 1",
     {"type": "gopher_quality", "max_non_alpha_words_ratio": 1, "max_bullet_lines_ratio": 0}),
    ({"type": "gopher_quality", "max_ellipsis_lines_ratio": 2}, r"`max_ellipsis_lines_ratio` is a share between 0 and 1",
     {"type": "gopher_quality", "max_ellipsis_lines_ratio": 1, "max_symbol_word_ratio": 2}),  # per word: not a share
    ({"type": "gopher_repetition", "dup_line_frac": 7}, r"`dup_line_frac` is a share between 0 and 1 \(got 7\)",
     {"type": "gopher_repetition", "dup_line_frac": 1}),
    ({"type": "gopher_repetition", "dup_para_frac": 1.01}, r"`dup_para_frac` is a share",
     {"type": "gopher_repetition", "dup_para_frac": 0}),
    ({"type": "gopher_repetition", "dup_line_char_frac": 3}, r"`dup_line_char_frac` is a share",
     {"type": "gopher_repetition", "dup_line_char_frac": 0.5}),
    ({"type": "gopher_repetition", "dup_para_char_frac": -0.5}, r"`dup_para_char_frac` is a share",
     {"type": "gopher_repetition", "dup_para_char_frac": 0.2}),
    ({"type": "gopher_repetition", "top_n_grams": [[2, 1.5]]},
     r"`top_n_grams\[0\]` = \[2, 1.5\]: the second value is a share .* write e.g. \[2, 0.2\]",
     {"type": "gopher_repetition", "top_n_grams": [[1, 1.0]]}),
    ({"type": "gopher_repetition", "top_n_grams": [[2, 0.2], [3, 0]]}, r"`top_n_grams\[1\]`.*0 removes every document",
     {"type": "gopher_repetition", "top_n_grams": [[2, 0.2], [3, 0.01]]}),
    ({"type": "gopher_repetition", "dup_n_grams": [[5, 0.15], [6, 1.2]]}, r"`dup_n_grams\[1\]` = \[6, 1.2\]",
     {"type": "gopher_repetition", "dup_n_grams": [[5, 0.0], [10, 1]]}),  # 0: any repeated 5-gram, strict but real
    ({"type": "fineweb_quality", "line_punct_thr": 1.5}, r"`line_punct_thr` is a share between 0 and 1",
     {"type": "fineweb_quality", "line_punct_thr": 0, "new_line_ratio": 2.5}),  # newlines per word: not a share
    ({"type": "fineweb_quality", "short_line_thr": 999}, r"`short_line_thr` is a share.*1 already turns the rule off",
     {"type": "fineweb_quality", "short_line_thr": 1}),
    ({"type": "fineweb_quality", "char_duplicates_ratio": 4}, r"`char_duplicates_ratio` is a share",
     {"type": "fineweb_quality", "language": "fr", "new_line_ratio": 0.3}),  # sources/examples/web_fr_quality.yaml
    # negative counts
    ({"type": "c4_quality", "min_num_sentences": -1}, r"`min_num_sentences` cannot be negative \(got -1\): 0 turns",
     {"type": "c4_quality", "min_num_sentences": 0}),
    ({"type": "c4_quality", "min_words_per_line": -1}, r"`min_words_per_line` cannot be negative",
     {"type": "c4_quality", "min_words_per_line": 0}),
    ({"type": "c4_quality", "max_word_length": -1}, r"`max_word_length` cannot be negative",
     {"type": "c4_quality", "max_word_length": 0}),
    # empty lists that remove everything or mean nothing
    ({"type": "c4_quality", "end_punctuation": []},
     r"`end_punctuation` is empty: .*every line would be dropped.*`filter_no_terminal_punct: false`",
     {"type": "c4_quality", "filter_no_terminal_punct": False}),
    ({"type": "c4_quality", "end_punctuation": [".", ""]}, r"`end_punctuation` holds an empty or blank entry",
     {"type": "c4_quality", "end_punctuation": [".", "»"]}),
    ({"type": "fineweb_quality", "stop_chars": []}, r"`stop_chars` is empty: remove the key",
     {"type": "fineweb_quality", "stop_chars": [".", "?»"]}),
    ({"type": "url_filter", "keywords": ["spam", ""]}, r"`keywords` holds an empty or blank entry.*every document",
     {"type": "url_filter", "keywords": ["spam"]}),
    ({"type": "url_filter", "domains": [" "]}, r"`domains` holds an empty or blank entry",
     {"type": "url_filter", "domains": ["example.com"]}),
    ({"type": "url_filter", "use_blocklist": False}, r"url_filter checks nothing",
     {"type": "url_filter", "use_blocklist": False, "missing_url": "drop"}),
    ({"type": "regex", "pattern": "a*"}, r"matches every text, even an empty one.*`a\+` rather than `a\*`",
     {"type": "regex", "pattern": "^$"}),  # empty documents only: matching "" is not always matching everything
    ({"type": "regex", "pattern": "x|", "ignore_case": True}, r"matches every text",
     {"type": "regex", "pattern": "\\s+$", "action": "replace", "multiline": True}),
    ({"type": "regex", "pattern": "(\\d+)", "action": "replace", "replacement": "\\2"},
     r"`replacement` .* is not valid for this pattern \(invalid group reference 2",
     {"type": "regex", "pattern": "(?P<w>\\d+)", "action": "replace", "replacement": "<\\g<w>> \\1"}),
    ({"type": "regex", "pattern": "(?i)spam", "action": "replace", "replacement": "\\g<word>"},
     r"`replacement` .* is not valid for this pattern",
     {"type": "regex", "pattern": "(?i)(spam)", "action": "replace", "replacement": "[\\1]"}),
    ({"type": "pii", "emails": False, "ips": False}, r"replaces nothing: enable one, or remove the stage",
     {"type": "pii", "ips": False}),
    ({"type": "boilerplate", "gutenberg": False, "wikipedia_categories": False, "repeated_lines": False},
     r"removes nothing: enable one, or remove the stage",
     {"type": "boilerplate", "gutenberg": False, "wikipedia_categories": False}),
    ({"type": "perplexity", "model_path": "m.arpa", "min_ppl": 2000},
     r"min_ppl \(2000\) is not below max_ppl \(1000\): no chunk can pass; lower min_ppl or raise max_ppl",
     {"type": "perplexity", "model_path": "m.arpa", "mode": "chunk", "min_ppl": 0, "max_ppl": 1e6}),
    ({"type": "redpajama_rules", "field": ""}, r"field\n.*at least 1 character",
     {"type": "redpajama_rules", "field": "signals"}),
]


@pytest.mark.parametrize("cfg,match,neighbour", INVALID, ids=[f"{c['type']}-{i}" for i, (c, _, _) in enumerate(INVALID)])
def test_impossible_thresholds_are_refused(cfg, match, neighbour):
    with pytest.raises(ValidationError, match=match):
        STAGE.validate_python(cfg)
    STAGE.validate_python(neighbour)  # the bound is exact: the meaningful value next to it stays valid


def test_presets_and_shipped_recipes_stay_valid_but_not_the_presets_off_switch(tmp_path):
    """Every language preset passes the new checks, and so do the shipped recipes using quality stages; the presets'
    internal `short_line_thr: 999` (rule off) copied into a recipe is refused with the value to write instead."""
    for t in ("gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality"):
        for lang in ("auto", "fr", "en", "de", "es", "it"):
            STAGE.validate_python({"type": t, "language": lang})
    shipped = ROOT / "sources" / "examples" / "web_fr_quality.yaml"
    for f in [shipped, *sorted((ROOT / "sources" / "demo").glob("*.yaml"))]:
        _, issues = load_source(f)
        assert issues == [], [str(i) for i in issues]
    text = shipped.read_text(encoding="utf-8").replace("../../tests/data", str(DATA))
    copy = write(tmp_path / "web_fr_quality.yaml", text.replace("new_line_ratio: 0.3", "short_line_thr: 999"))
    _, issues = load_source(copy)
    assert [(i.path, i.message) for i in issues] == [
        ("stages[7].short_line_thr", ("`short_line_thr` is a share between 0 and 1 (got 999): write 0.3 for 30 %; "
                                      "1 already turns the rule off"))]


def test_recipe_error_names_file_line_path_and_fix(tmp_path):
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "Bonjour"}\n')
    f = write(tmp_path / "s.yaml", textwrap.dedent("""\
        name: s
        category: web
        languages: [fr]
        license: CC-BY-4.0
        input: {type: jsonl, paths: [data.jsonl]}
        stages:
          - type: gopher_quality
            min_doc_words: 500
            max_doc_words: 10
          - type: gopher_repetition
            dup_line_frac: 7
        """))
    _, issues = load_source(f)
    by_path = {i.path: i for i in issues}
    assert set(by_path) == {"stages[0]", "stages[1].dup_line_frac"}, [str(i) for i in issues]
    assert by_path["stages[0]"].line == 7 and by_path["stages[1].dup_line_frac"].line == 11
    assert "no document can pass; lower min_doc_words or raise max_doc_words" in by_path["stages[0]"].message
    assert str(f) in str(by_path["stages[0]"])


# ---------------------------------------------------------------------------------------------------------------
# 2. a stage that rewrites the text never keeps an empty document
# ---------------------------------------------------------------------------------------------------------------

NEWSEYE = DATA / "quality" / "fr_ocr_newseye.jsonl"


def _docs(path: Path) -> list[Document]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Document(text=r["text"], id=r["id"], metadata={"language": r.get("language", "fr")}) for r in rows]


def _c4(**args):
    ctx = BuildContext(source=SimpleNamespace(languages=["fr"]), stage_id="c4", source_dir="/tmp/x")
    return STAGE.validate_python({"type": "c4_quality", **args}).build(ctx)[0]


def test_c4_removes_a_document_whose_every_line_it_dropped():
    """NewsEye pages keep the newspaper's column breaks: C4 drops each line that does not end a sentence, and with
    the sentence rule off (`min_num_sentences: 0`) two pages had no line left and were kept as ""."""
    f = _c4(language="fr", min_num_sentences=0)
    results = {d.id: (f.filter(d), d) for d in _docs(NEWSEYE)}
    removed = {i: r for i, (r, _) in results.items() if r is not True}
    assert set(removed.values()) == {(False, "c4_empty_after_line_filter")} and len(removed) >= 2
    assert "newseye-fr-dev_fr_3" in removed
    kept = [d for r, d in results.values() if r is True]
    assert kept and all(d.text.strip() for d in kept)


def test_c4_annotate_only_records_the_empty_verdict_and_keeps_the_text():
    f = _c4(language="fr", min_num_sentences=0, annotate_only=True)
    docs = _docs(NEWSEYE)
    before = {d.id: d.text for d in docs}
    for d in docs:
        assert f.filter(d) is True
        assert d.text == before[d.id]
    verdicts = {d.id: d.metadata["quality_signals"]["c4"]["would_remove"] for d in docs}
    assert verdicts["newseye-fr-dev_fr_3"] == "c4_empty_after_line_filter"


def test_c4_build_writes_no_empty_document_and_records_the_reason(tmp_path):
    rec = write(tmp_path / "news.yaml", textwrap.dedent(f"""\
        name: news
        category: newspaper
        languages: [fr]
        license: CC-BY-4.0
        input: {{type: jsonl, paths: ["{NEWSEYE}"]}}
        stages:
          - type: c4_quality
            language: fr
            min_num_sentences: 0
        """))
    out = tmp_path / "out"
    assert main(["build", str(rec), "--output", str(out)]) == 0
    kept = pl.read_parquet(out / "sources" / "news" / "data" / "**" / "*.parquet")
    removed = pl.concat([pl.read_parquet(p) for p in (out / "sources" / "news" / "removed").glob("*/*.parquet")])
    assert kept.height + removed.height == 10
    assert kept.filter(pl.col("text").str.strip_chars() == "").height == 0
    assert set(removed["removal_reason"]) == {"c4_empty_after_line_filter"}


def test_pii_with_an_empty_replacement_never_keeps_an_empty_document():
    ctx = BuildContext(source=SimpleNamespace(languages=["fr"]), stage_id="pii", source_dir="/tmp/x")
    f = STAGE.validate_python({"type": "pii", "email_replacements": [""]}).build(ctx)[0]
    only = Document(text="  contact@example.org \n", id="a", metadata={})
    assert f.filter(only) == (False, "pii_empty_after_replace")
    some = Document(text="Écrire à contact@example.org.", id="b", metadata={})
    assert f.filter(some) is True and some.text == "Écrire à ."


def test_c4_max_word_length_zero_turns_the_rule_off():
    text = "Une phrase entière se termine ici. " * 6
    d = Document(text=text, id="x", metadata={})
    assert _c4(language="fr", max_word_length=0).filter(d) is True and d.text.strip()


# ---------------------------------------------------------------------------------------------------------------
# 3. `lucie-data stages` shows the fields of nested specs
# ---------------------------------------------------------------------------------------------------------------


def _stages_output(capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["stages"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("stage,field,nested", [
    ("language_id", "chunk", ["mode", "size", "action", "min_chars", "min_score", "languages"]),
    ("license_gate", "policy", ["allow_classes", "allow", "deny", "unknown", "unverified"]),
    ("license_rules", "gutenberg", ["death_year_field", "birth_year_field", "usagerights_field", "current_year",
                                    "years_fr", "years_other"]),
])
def test_stages_prints_nested_fields_indented(capsys, monkeypatch, stage, field, nested):
    out = _stages_output(capsys, monkeypatch)
    block = re.search(rf"^{stage}  .*?(?=^\S)", out + "\nEND", re.MULTILINE | re.DOTALL).group(0)
    lines = block.splitlines()
    at = next(i for i, ln in enumerate(lines) if re.match(rf"^    {field}: ", ln))
    under = []
    for ln in lines[at + 1:]:
        m = re.match(r"^        (\w+): (.*) \((?:default|required)", ln)
        if not m:
            break
        under.append(m.group(1))
    assert under == nested, block


def test_nested_fields_use_the_same_style(capsys, monkeypatch):
    out = _stages_output(capsys, monkeypatch)
    assert re.search(r"^        size: int ≥ 100, ≤ 10000000 \(default 2000\) — chunk size", out, re.MULTILINE)
    assert re.search(r"^        min_score: float ≥ 0, ≤ 1 \(default 0.65\) — ", out, re.MULTILINE)
    assert re.search(r"^        current_year: int ≥ 1900, ≤ 2200 \(default 2024\) — year", out, re.MULTILINE)
    assert re.search(r"^        unknown: Literal\['deny', 'allow'\] \(default 'deny'\)", out, re.MULTILINE)
    assert re.search(r"^    dup_line_frac: float \| None ≥ 0, ≤ 1 \(default None\) — share", out, re.MULTILINE)
