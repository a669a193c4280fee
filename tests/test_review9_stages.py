"""Review 9, quality stages: a regex matching any non-empty text is refused (1), url_filter dropping documents that
can never carry a url fails before the build (2), "rule off" settings pass and `null` means off, `language: auto`
is checked against the recipe's language presets (3), a document removed after a rewrite keeps its text (4)."""
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from datatrove.data import Document
from pydantic import TypeAdapter, ValidationError

from lucie_data.errors import RecipeError
from lucie_data.stages import AnyStage
from lucie_data.stages.base import BuildContext
from lucie_data.steps.quality.boilerplate import BoilerplateFilter
from lucie_data.steps.quality.pii import PIIFilter
from lucie_data.steps.quality.regex import RegexFilter

from .conftest import ROOT

STAGE = TypeAdapter(AnyStage)
DEMO = ROOT / "data" / "demo"


def _demo_texts() -> list[str]:
    out = []
    for name in ("fr_eltec_novels.jsonl", "en_ud_pud.jsonl", "fr_ocr_europeana_bnf.jsonl", "code_permissive.jsonl"):
        with open(DEMO / name, encoding="utf-8") as f:
            out += [json.loads(line)["text"] for _, line in zip(range(3), f)]
    return out


TEXTS = _demo_texts()


def _ctx(tmp_path, languages=("fr",), **inp) -> BuildContext:
    spec = SimpleNamespace(**{"type": "jsonl", "url_field": "url", **inp})
    src = SimpleNamespace(name="q", languages=list(languages), input=spec)
    return BuildContext(source=src, stage_id="s", source_dir=str(tmp_path))


# ---------------------------------------------------------------------------------------------------------------
# 1. a drop pattern found in any non-empty text, a replacement emptying any text: refused
# ---------------------------------------------------------------------------------------------------------------

REGEX_REFUSED = [
    ({"pattern": "."}, r"matches every text \(any character"),
    ({"pattern": "[\\s\\S]"}, r"`pattern` '\[\\\\s\\\\S\]' matches every text"),
    ({"pattern": "\\S"}, r"matches every text .*so every document would be removed; match the text"),
    ({"pattern": "(?s).+"}, r"matches every text"),
    ({"pattern": "\\w|\\W"}, r"matches every text"),
    ({"pattern": "\\b"}, r"matches every text"),
    ({"pattern": "a*"}, r"even an empty one"),  # still said the old way
    ({"pattern": "[\\s\\S]+", "action": "replace"}, r"leaves every text empty.*`regex_match_empty_after_replace`"),
    ({"pattern": ".", "action": "replace", "reason": "junk"}, r"leaves every text empty.*`junk_empty_after_replace`"),
    ({"pattern": "(?s).*", "action": "replace", "replacement": " "}, r"leaves every text empty"),
]


@pytest.mark.parametrize("cfg,match", REGEX_REFUSED, ids=[c["pattern"] + c.get("action", "") for c, _ in REGEX_REFUSED])
def test_regex_matching_any_text_is_refused(cfg, match):
    with pytest.raises(ValidationError, match=match):
        STAGE.validate_python({"type": "regex", **cfg})


REGEX_VALID = [
    {"pattern": "lorem ipsum", "ignore_case": True},  # tests/test_stages.py
    {"pattern": "^$"},
    {"pattern": "\\s+$", "action": "replace", "multiline": True},
    {"pattern": "(?P<w>\\d+)", "action": "replace", "replacement": "<\\g<w>> \\1"},
    {"pattern": "https?://\\S+", "action": "replace"},
    {"pattern": "\\n{3,}", "action": "replace", "replacement": "\n\n"},
    {"pattern": "<[^>]+>", "action": "replace"},
    {"pattern": "\\[\\d+\\]"},
    {"pattern": "\\d"},
    {"pattern": "[^\\x00-\\x7F]"},
    {"pattern": "\\w+", "action": "replace"},  # leaves the punctuation of most texts
]


@pytest.mark.parametrize("cfg", REGEX_VALID, ids=[c["pattern"] for c in REGEX_VALID])
def test_legitimate_regexes_stay_valid(cfg):
    STAGE.validate_python({"type": "regex", **cfg})


def test_refused_patterns_do_match_every_demo_text():
    """The probes stand for real documents: what they refuse removes every demo document too."""
    import re

    for cfg, _ in REGEX_REFUSED:
        if cfg.get("action") != "replace":
            assert all(re.search(cfg["pattern"], t) for t in TEXTS), cfg


# ---------------------------------------------------------------------------------------------------------------
# 2. url_filter `missing_url: drop` on an input without urls: a recipe error before anything is read
# ---------------------------------------------------------------------------------------------------------------

URL_REFUSED = [
    ({"type": "text"}, r"`type: text` input: plain text files carry no url.*`missing_url: keep`"),
    ({"type": "jsonl", "url_field": None}, r"`input.url_field` is null: no url is read.*set `url_field:`"),
    ({"type": "parquet", "url_field": None}, r"`input.url_field` is null"),
]


@pytest.mark.parametrize("inp,match", URL_REFUSED, ids=[i["type"] for i, _ in URL_REFUSED])
def test_url_filter_drop_without_urls_fails_at_build(tmp_path, inp, match):
    st = STAGE.validate_python({"type": "url_filter", "missing_url": "drop"})
    with pytest.raises(RecipeError, match=match):
        st.build(_ctx(tmp_path, **inp))
    # keeping url-less documents, or only annotating, stays allowed on the same input
    STAGE.validate_python({"type": "url_filter", "missing_url": "keep"}).build(_ctx(tmp_path, **inp))
    STAGE.validate_python({"type": "url_filter", "missing_url": "drop", "annotate_only": True}).build(
        _ctx(tmp_path, **inp))


def test_url_filter_drop_on_records_with_a_url_field_builds(tmp_path):
    for inp in ({"type": "jsonl"}, {"type": "html"}, {"type": "warc"}, {"type": "jsonl", "url_field": "link"}):
        STAGE.validate_python({"type": "url_filter", "missing_url": "drop"}).build(_ctx(tmp_path, **inp))


# ---------------------------------------------------------------------------------------------------------------
# 3. "rule off" settings pass; `null` turns a rule off; `auto` is checked against the recipe's languages
# ---------------------------------------------------------------------------------------------------------------

RULE_OFF_VALID = [
    {"type": "gopher_quality", "min_doc_words": 0, "max_doc_words": 0, "min_stop_words": 0, "stop_words": []},
    {"type": "c4_quality", "filter_no_terminal_punct": False, "end_punctuation": []},
    {"type": "fineweb_quality", "line_punct_thr": 0, "stop_chars": []},
    {"type": "gopher_quality", "max_avg_word_length": 2.5},  # fine with the fr/de presets: checked at build
    {"type": "gopher_quality", "max_doc_words": None, "min_stop_words": None},
    {"type": "gopher_repetition", "top_n_grams": None, "dup_line_frac": None},
    {"type": "c4_quality", "min_num_sentences": None, "filter_curly_bracket": None},
]


@pytest.mark.parametrize("cfg", RULE_OFF_VALID, ids=[str(i) for i in range(len(RULE_OFF_VALID))])
def test_rule_off_settings_pass(cfg, tmp_path):
    st = STAGE.validate_python(cfg)
    step = st.build(_ctx(tmp_path, ("fr",)))[0]
    for text in TEXTS[:3]:  # the rules left run on real text
        step.filter(Document(text=text, id="x", metadata={"language": "fr"}))


STILL_REFUSED = [
    ({"type": "gopher_quality", "stop_words": []}, r"`stop_words` is empty: .*`min_stop_words: 0`"),
    ({"type": "c4_quality", "end_punctuation": []}, r"`end_punctuation` is empty: .*`filter_no_terminal_punct: false`"),
    ({"type": "gopher_quality", "stop_words": None}, r"`stop_words: null` has no meaning here.*remove the key"),
    ({"type": "c4_quality", "split_paragraph": None}, r"`split_paragraph: null` has no meaning here"),
    ({"type": "gopher_quality", "language": "en", "max_avg_word_length": 2.5},
     r"min_avg_word_length \(3, the `en` preset\) is above max_avg_word_length \(2.5\)"),
    ({"type": "gopher_quality", "min_doc_words": 200000}, r"max_doc_words \(100000, the `en` preset\)"),  # every preset
]


@pytest.mark.parametrize("cfg,match", STILL_REFUSED, ids=[str(i) for i in range(len(STILL_REFUSED))])
def test_meaningless_settings_still_refused(cfg, match):
    with pytest.raises(ValidationError, match=match):
        STAGE.validate_python(cfg)


def test_null_means_rule_off_in_the_step(tmp_path):
    st = STAGE.validate_python({"type": "gopher_quality", "max_doc_words": None, "min_doc_words": None})
    p = st.build(_ctx(tmp_path))[0].params("fr")
    assert p["max_doc_words"] == 0 and p["min_doc_words"] == 0  # not the preset's 100000 / 50
    short = "Le chat de la voisine dort."
    doc = Document(text=short, id="x", metadata={"language": "fr"})
    signals, reason = st.build(_ctx(tmp_path))[0].evaluate(doc, "fr", p, False)
    assert reason != "gopher_short_doc"


def test_auto_language_checked_against_the_recipe_languages(tmp_path):
    st = STAGE.validate_python({"type": "gopher_quality", "max_avg_word_length": 2.5})
    st.build(_ctx(tmp_path, ("fr",)))  # fr preset: min_avg_word_length 2
    with pytest.raises(RecipeError, match=r"`language: auto`: min_avg_word_length \(3, the `en` preset\)"):
        st.build(_ctx(tmp_path, ("en",)))
    with pytest.raises(RecipeError, match=r"the `es` preset"):
        st.build(_ctx(tmp_path, ("fr", "es")))


# ---------------------------------------------------------------------------------------------------------------
# 4. a document removed after its text was rewritten keeps its original text
# ---------------------------------------------------------------------------------------------------------------

def test_regex_removal_keeps_original_text():
    text = TEXTS[0]
    f = RegexFilter("[\\s\\S]+", "replace", "")  # built directly: the spec refuses it
    doc = Document(text=text, id="x", metadata={})
    assert f.filter(doc) == (False, "regex_match_empty_after_replace")
    assert doc.text == text and "modified_by" not in doc.metadata
    kept = Document(text=text + "\nhttps://example.com/x", id="y", metadata={})
    assert RegexFilter("https?://\\S+", "replace", "").filter(kept) is True
    assert kept.text == text + "\n" and kept.metadata["modified_by"]


def test_pii_and_boilerplate_removal_keep_original_text():
    doc = Document(text="jean.dupont@example.com", id="x", metadata={})
    assert PIIFilter(True, True, True, [""], None).filter(doc) == (False, "pii_empty_after_replace")
    assert doc.text == "jean.dupont@example.com"
    page = "\n".join(["Page de titre répétée ici"] * 12)
    doc = Document(text=page, id="y", metadata={})
    assert BoilerplateFilter(False, False, True, 10, 10).filter(doc) == (False, "boilerplate_empty_after_cleaning")
    assert doc.text == page


def test_regex_removal_counts_its_chars_in_the_ledger(tmp_path):
    from lucie_data.cli import main

    rows = [{"id": f"d{i}", "text": t[:1500]} for i, t in enumerate(TEXTS[:3])]
    rows.append({"id": "u", "text": "https://example.com/page\nhttp://example.org/x"})
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                         encoding="utf-8")
    (tmp_path / "rx.yaml").write_text(
        "name: rx\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-4.0\ninput: {type: jsonl, paths: [docs.jsonl]}\n"
        "stages:\n  - type: regex\n    action: replace\n    pattern: 'https?://\\S+'\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "rx.yaml"), "-o", str(tmp_path / "out")]) in (0, None)
    led = json.loads((tmp_path / "out" / "sources" / "rx" / "ledger.json").read_text())
    st = [s for s in led["stages"] if s["stage"] == "regex"][0]
    gone = len(rows[-1]["text"])
    assert st["chars_removed"] == gone and st["chars_kept"] + st["chars_removed"] == st["chars_in"]
    import polars as pl

    removed = pl.concat([pl.read_parquet(p) for p in (tmp_path / "out" / "sources" / "rx" / "removed" / "regex").glob("*.parquet")])
    assert removed["text"].to_list() == [rows[-1]["text"]]


def test_validate_reports_what_only_the_recipe_can_tell(tmp_path):
    """Review 9: a url_filter dropping missing urls on a `type: text` input, and `language: auto` thresholds that
    contradict the recipe's own language preset, were caught only when the build started; `validate` reports them."""
    from lucie_data.recipe import validate_paths

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "t.yaml").write_text("name: t\ncategory: book\nlanguages: [fr]\nlicense: CC0-1.0\n"
                                     f"input: {{type: text, paths: ['{root}/tests/data/problematic/*.txt']}}\n"
                                     "stages:\n  - {type: url_filter, missing_url: drop}\n", encoding="utf-8")
    g = ("name: g\ncategory: book\nlanguages: [LANG]\nlicense: CC0-1.0\n"
         f"input: {{type: jsonl, paths: ['{root}/data/demo/fr_eltec_novels.jsonl']}}\n"
         "stages:\n  - {type: gopher_quality, max_avg_word_length: 2.5}\n")
    (tmp_path / "g_en.yaml").write_text(g.replace("LANG", "en"), encoding="utf-8")
    (tmp_path / "g_fr.yaml").write_text(g.replace("LANG", "fr"), encoding="utf-8")
    issues = validate_paths([tmp_path / "t.yaml", tmp_path / "g_en.yaml", tmp_path / "g_fr.yaml"])
    got = {(Path(i.file).name, i.path, i.line) for i in issues}
    assert got == {("t.yaml", "stages[0]", 7), ("g_en.yaml", "stages[0]", 7)}, issues
    msgs = " ".join(i.message for i in issues)
    assert "plain text files carry no url" in msgs and "the `en` preset" in msgs


def test_a_url_filter_that_removed_everything_for_want_of_a_url_field_is_warned(tmp_path):
    """Review 9: jsonl records whose url is under another name: `missing_url: drop` removed all of them as
    url_missing, accounted for but without a word. The ledger (and so the build's end) now says what happened."""
    from lucie_data.cli import main

    root = Path(__file__).resolve().parents[1]
    recs = [json.loads(line) for line in (root / "data/demo/en_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:5]]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"id": r["id"], "text": r["text"], "link": "https://x.org/a"})
                                              + "\n" for r in recs), encoding="utf-8")
    (tmp_path / "s.yaml").write_text("name: s\ncategory: web\nlanguages: [en]\nlicense: CC-BY-4.0\n"
                                     "input: {type: jsonl, paths: [d.jsonl]}\n"
                                     "stages:\n  - {type: url_filter, missing_url: drop}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: b\n"
                                     "executor: {type: local, workers: 1, tasks: 1}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    led = json.loads((tmp_path / "b/sources/s/ledger.json").read_text())
    assert led["docs_kept"] == 0 and led["balanced"]
    (w,) = [w for w in led["warnings"] if "url_missing" in w]
    assert "removed every document (5) as url_missing: no record has a url in `url`" in w and "link" in w
