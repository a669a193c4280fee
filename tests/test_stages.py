"""The stage table: every YAML `type:` has a row here (minimal config + what it builds), and runs on real text."""
import json

import pytest
from datatrove.data import Document

from lucie_data.recipe import SourceRecipe
from lucie_data.stages import STAGE_SPECS, BuildContext, stage_table

from .conftest import SHARED, ROOT

# type -> minimal valid arguments. Adding a stage means adding a row (test_every_stage_has_a_row enforces it).
TABLE = {
    "normalize": {},
    "min_length": {"min_chars": 10},
    "exact_dedup": {},
    "minhash_dedup": {},
    "license_rules": {"license_field": "rights"},
    "license_gate": {},
    "language_id": {},
    "language_gate": {"min_score": 0.5},
    "parallel_join": {"field": "text_en"},
    "gopher_quality": {},
    "gopher_repetition": {},
    "c4_quality": {},
    "fineweb_quality": {},
    "url_filter": {"preset": "lucie_fr"},
    "pii": {},
    "regex": {"pattern": "lorem ipsum"},
    "boilerplate": {},
    "perplexity": {"model_path": str(ROOT / "tests" / "data" / "quality" / "tiny_fr.arpa")},
    "ocr_quality": {},
    "redpajama_rules": {},
}
# stages that only make sense after another one
PREREQUISITES = {"language_gate": [{"type": "language_id"}]}


def recipe_with(stages):
    return SourceRecipe.model_validate({
        "name": "t", "category": "book", "languages": ["fr"], "license": "CC-BY-4.0",
        # the metadata keys the table's stages read (license_rules, parallel_join, redpajama_rules): a key the input
        # does not copy is a recipe error (review 8)
        "input": {"type": "jsonl", "paths": ["x.jsonl"], "metadata_fields": ["rights", "text_en", "quality_signals"]},
        "stages": stages})


def ctx(tmp_path, rec, sid):
    return BuildContext(source=rec, stage_id=sid, source_dir=str(tmp_path), work_dir=str(tmp_path / "work"))


def test_every_stage_has_a_row():
    assert set(stage_table()) == set(TABLE), "add a row to TABLE for each new stage type"


@pytest.mark.parametrize("stype", sorted(TABLE))
def test_stage_builds_from_minimal_config(tmp_path, stype):
    rec = recipe_with(PREREQUISITES.get(stype, []) + [{"type": stype, **TABLE[stype]}])
    spec = rec.stages[-1]
    assert spec.__doc__ and spec.__doc__.strip(), "a spec's docstring is what `lucie-data stages` prints"
    steps = spec.build(ctx(tmp_path, rec, stype))
    assert steps and all(hasattr(s, "run") for s in steps)


def run_filter(step, docs):
    kept = list(step.run(iter(docs)))
    return kept


def eltec_docs(n=20):
    rows = [json.loads(l) for l in open(ROOT / "data" / "demo" / "fr_eltec_novels.jsonl")][:n]
    return [Document(text=r["text"], id=r["id"], metadata={}) for r in rows]


def test_normalize_keeps_clean_text_and_repairs_mojibake(tmp_path):
    rec = recipe_with([{"type": "normalize"}])
    (step,) = rec.stages[0].build(ctx(tmp_path, rec, "normalize"))
    clean = eltec_docs()
    before = [d.text for d in clean]
    broken = Document(text=before[0].encode("utf-8").decode("cp1252", errors="replace").replace("\ufffd", ""),
                      id="moji", metadata={})
    kept = run_filter(step, clean + [broken])
    assert [d.text for d in kept[:-1]] == before  # clean NFC prose is left alone (no quote uncurling etc.)
    assert "modified_by" not in kept[0].metadata
    assert "é" in kept[-1].text and "Ã©" not in kept[-1].text and kept[-1].metadata["modified_by"] == ["normalize"]


def test_normalize_leaves_code_literals_as_written_by_default(tmp_path):
    """Curation review: on a code source, ftfy "repaired" a test's mojibake input, stripped a terminal escape
    from a string literal and NFC composed a decomposed one: the program then said something else. By default
    (`auto`) a code source gets BOMs, zero-width spaces and line breaks only; each option can still be set."""
    import json as _json

    code = [_json.loads(line) for line in open(SHARED / "code_permissive.jsonl", encoding="utf-8")][0]["text"]
    literals = 'assert fix_text("Ã©tÃ© Ã  Paris") == "été à Paris"\nputs("\x1b[1mbold\x1b[0m")\nNFD = "e\u0301"\n'
    text = "\ufeff" + code + literals + "x = 1\r\n"
    rec = SourceRecipe.model_validate({**recipe_with([{"type": "normalize"}]).model_dump(exclude_none=True),
                                       "category": "programming", "languages": ["code"]})
    (step,) = rec.stages[0].build(ctx(tmp_path, rec, "normalize"))
    (kept,) = run_filter(step, [Document(text=text, id="c", metadata={})])
    assert kept.text == code + literals + "x = 1\n"  # the BOM and the CRLF only
    prose = recipe_with([{"type": "normalize"}])  # the same text in a prose source: repaired as before
    (step,) = prose.stages[0].build(ctx(tmp_path / "p", prose, "normalize"))
    (kept,) = run_filter(step, [Document(text=text, id="c", metadata={})])
    assert "Ã©" not in kept.text and "\x1b" not in kept.text and "e\u0301" not in kept.text
    forced = SourceRecipe.model_validate({**rec.model_dump(exclude_none=True),
                                          "stages": [{"type": "normalize", "fix_mojibake": True, "form": "NFC"}]})
    (step,) = forced.stages[0].build(ctx(tmp_path / "f", forced, "normalize"))
    (kept,) = run_filter(step, [Document(text=text, id="c", metadata={})])
    assert "Ã©" not in kept.text and "e\u0301" not in kept.text and "\x1b" in kept.text  # strip_control stays auto


def test_normalize_in_a_source_of_prose_and_code_decides_per_document(tmp_path):
    """Code review: `auto` was decided per source, so in `languages: [en, code:python]` the English records kept their
    mojibake ("cafÃ©"), which the same record loses in a prose source. Each document by its own language now."""
    literal = 'assert fix_text("Ã©tÃ©") == "été"\n'
    rec = SourceRecipe.model_validate({**recipe_with([{"type": "normalize"}]).model_dump(exclude_none=True),
                                       "category": "web", "languages": ["en", "code:python"]})
    (step,) = rec.stages[0].build(ctx(tmp_path, rec, "normalize"))
    prose = Document(text="Le cafÃ© est fermÃ©.", id="p", metadata={"language": "en"})
    code = Document(text=literal, id="c", metadata={"language": "code:python"})
    unknown = Document(text="Le cafÃ© est fermÃ©.", id="u", metadata={})
    kept = {d.id: d.text for d in run_filter(step, [prose, code, unknown])}
    assert kept == {"p": "Le café est fermé.", "c": literal, "u": "Le café est fermé."}


def test_min_length_reasons(tmp_path):
    rec = recipe_with([{"type": "min_length", "min_chars": 200, "min_words": 60}])
    (step,) = rec.stages[0].build(ctx(tmp_path, rec, "min_length"))
    docs = [Document(text="rug works for me", id="a", metadata={}),  # real 16-char EWT review
            Document(text="mot " * 55, id="b", metadata={}),
            *eltec_docs(3)]
    kept = run_filter(step, docs)
    assert [d.id for d in kept] == [d.id for d in docs[2:]]
    import polars as pl

    removed = pl.read_parquet(tmp_path / "removed" / "min_length" / "*.parquet")
    assert dict(zip(removed["id"], removed["removal_reason"])) == {"a": "min_length_chars", "b": "min_length_words"}


def test_exact_dedup_plan_and_removal(tmp_path):
    from lucie_data.steps.base import WorkReader, WorkWriter

    rec = recipe_with([{"type": "exact_dedup"}])
    spec = rec.stages[0]
    c = ctx(tmp_path, rec, "exact_dedup")
    docs = eltec_docs(5)
    dup = Document(text="  " + docs[1].text.replace(" ", "  ") + "\n", id="dup", metadata={})  # same after whitespace folding
    (sig,) = spec.pre_barrier(c)
    w = WorkWriter(str(tmp_path / "work" / "seg0"))
    list(w.run(sig.run(iter(docs + [dup])), rank=0))
    spec.plan(c, str(tmp_path / "work" / "seg0"))
    (flt,) = spec.build(c)
    kept = list(flt.run(WorkReader(str(tmp_path / "work" / "seg0")).run(None, rank=0), rank=0))
    assert [d.id for d in kept] == [d.id for d in docs]
    import polars as pl

    removed = pl.read_parquet(tmp_path / "removed" / "exact_dedup" / "*.parquet")
    assert removed["id"].to_list() == ["dup"]
    assert json.loads(removed["metadata"][0])["duplicate_of"] == docs[1].id


def test_json_schema_lists_every_stage():
    schema = SourceRecipe.model_json_schema()
    mapping = json.dumps(schema)
    for t in stage_table():
        assert f'"{t}"' in mapping
    assert len(STAGE_SPECS) == len(stage_table())


def test_normalize_fast_path_equals_full_ftfy():
    """The fast path (no mojibake/control signature → NFC only) must give exactly ftfy's result."""
    import ftfy

    from lucie_data.steps.filters import ZERO_WIDTH, NormalizeFilter

    texts = []
    for name in ("fr_ocr_newseye.jsonl", "fr_ocr_europeana_bnf.jsonl", "fr_ud_sequoia.jsonl", "it_eltec_novels.jsonl", "de_ud_gsd.jsonl", "en_ud_ewt.jsonl"):
        path = ROOT.parent / "shared" / "corpora" / name
        if not path.exists():
            path = ROOT / "data" / "demo" / "fr_ocr_europeana_bnf.jsonl"
        texts += [json.loads(l)["text"] for l in open(path)][:150]
    texts += [json.loads(l)["text"] for l in open(ROOT / "tests" / "data" / "problematic" / "problematic_docs.jsonl")
              if "\\ud83d" not in l]
    texts += ["Ã©tÃ©\r\nligne", "caf\u00e9 vs cafe\u0301", "\x1b[31mrouge\x1b[0m", "a\u2028b", "é» ok",
              # ftfy only on the lines that need it: the other lines still get NFC, CR/LF handled per line
              "cafe\u0301\nÃ©tÃ©\npremi\u00e9¬\nre cafe\u0301\r\nfin\u2028x\n\nÃ\xa0 la\n", "\n\nÃ©\n"]
    step = NormalizeFilter()
    cfg = step._config()
    for t in texts:
        doc = Document(text=t, id="x", metadata={})
        kept = step.filter(doc) is True
        expected = ftfy.fix_text(t, cfg).replace("\x00", "").translate(ZERO_WIDTH)
        if not kept:  # emptied by the cleaning: removed with its original text
            assert not expected.strip() and doc.text == t, t[:80]
            continue
        assert doc.text == expected, t[:80]


def _sentences(n):
    path = ROOT / "tests" / "data" / "quality" / "fr_ud_pud.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [json.loads(l)["text"].strip() for l in fh][:n]


_S = _sentences(6)
_LATIN1 = _S[0].encode("utf-8").decode("latin-1")  # the signature _NEEDS_FTFY looks for (Ã©)


@pytest.mark.parametrize("text", [
    # a line with Latin-1 mojibake sends the document to ftfy; the other lines must come out as ftfy leaves them
    f"{_LATIN1}\n{_S[1][:20]}\u206a{_S[1][20:]}\n",                  # deprecated format character (ftfy strips it)
    f"{_LATIN1}\n\ufff9{_S[2]}\ufffa note\ufffb\n",                   # interlinear annotation characters
    f"{_LATIN1}\n{_S[3].encode('utf-8').decode('mac_roman')}\n",    # UTF-8 read as MacRoman (√©)
    f"{_LATIN1}\r\n{_S[4].encode('utf-8').decode('cp1250')}\n{_S[5]}",  # UTF-8 read as Windows-1250 (Ă©)
    f"{_LATIN1}\n{_S[5].encode('utf-8').decode('cp437')}\n",      # UTF-8 read as DOS cp437 (├⌐)
    f"{_S[1][:20]}\u206b{_S[1][20:]}",                               # no Latin-1 signature at all
])
def test_normalize_lines_without_the_latin1_signature_get_what_ftfy_gives(text):
    """ftfy runs per line only where needed: the result must still be ``ftfy.fix_text`` of the whole text."""
    import ftfy

    from lucie_data.steps.filters import ZERO_WIDTH, NormalizeFilter

    step = NormalizeFilter()
    cfg = step._config()
    expected = ftfy.fix_text(text, cfg).replace("\x00", "").translate(ZERO_WIDTH)
    assert expected.splitlines()[-1] != text.splitlines()[-1] or expected.splitlines()[1] != text.splitlines()[1]
    doc = Document(text=text, id="x", metadata={})
    step.filter(doc)
    assert doc.text == expected


@pytest.mark.parametrize("stype, args", sorted(TABLE.items()) + [
    ("language_id", {"backend": "langdetect"}),
    ("language_id", {"model": str(ROOT / "src" / "lucie_data" / "assets" / "lid.176.ftz"), "model_license": "MIT"}),
])
def test_a_stage_read_back_from_a_resolved_recipe_loads_the_same_models(stype, args):
    """The report lists the models of each source's recipe as built (its recipe.resolved.json, every argument written
    with its default); a spec refusing an argument given alone (`model_file` without `model`) made the read fail and
    the model go unlisted (code review). Every stage type, read back, names the models its spec names."""
    from lucie_data.report.aggregate import _built_models

    rec = recipe_with(PREREQUISITES.get(stype, []) + [{"type": stype, **args}])
    resolved = {"t": {"recipe": json.loads(rec.model_dump_json())}}
    want = [m for st in rec.stages for m in getattr(st, "models", lambda: [])()]
    assert _built_models(resolved) == want


@pytest.mark.parametrize(("stage", "revised"), [
    ({"type": "license_rules", "license_field": "lic"}, False),  # a licence field is normalised as before
    ({"type": "license_rules", "statement_field": "rights"}, True),
    ({"type": "license_rules", "use_detected": True}, True),
    ({"type": "redpajama_rules"}, True),  # is_duplicate "false" was a duplicate
    ({"type": "redpajama_rules", "check_duplicates": False}, True),  # (3: the UT1 rule)
    ({"type": "redpajama_rules", "check_duplicates": False, "check_ut1_blacklist": False}, False),
    ({"type": "min_length", "min_chars": 10}, True),  # (never revised: its revision, 1, never enters the key)
    ({"type": "language_id"}, True),  # rv52 (3): a long document's sample in doubt is read whole
    ({"type": "language_id", "sample_chars": None}, True),  # (4: a document without letters has a null language)
])
def test_a_stage_revision_applies_where_its_change_can(stage, revised):
    """rv50: a revision rebuilt every source using the stage, to the same bytes where its change cannot apply."""
    from pydantic import TypeAdapter

    from lucie_data.stages import AnyStage

    spec = TypeAdapter(AnyStage).validate_python(stage)
    assert spec.revised_for(recipe_with([])) is revised  # (a prose source)


MIXED_LANGUAGES = ["en", "fr", "code:python"]


@pytest.mark.parametrize(("input_spec", "markers", "languages", "category"), [
    ({"type": "jsonl", "paths": ["x.jsonl"]}, set(), ["fr"], "web"),
    ({"type": "html", "paths": ["x.html"]}, {"html_parsed_whole"}, ["fr"], "web"),
    ({"type": "warc", "paths": ["x.warc.gz"]}, {"html_parsed_whole"}, ["fr"], "web"),
    ({"type": "parquet", "paths": ["x.parquet"], "metadata_fields": ["meta"]}, set(), ["fr"], "web"),
    ({"type": "parquet", "paths": ["x.parquet"], "metadata_fields": ["meta.license"]}, {"read_struct_leaves"}, ["fr"],
     "web"),
    # rv52: a record's language in a source of prose and code languages
    ({"type": "jsonl", "paths": ["x.jsonl"], "language_field": "lang"}, {"mixed_record_languages"}, MIXED_LANGUAGES,
     "web"),
    ({"type": "jsonl", "paths": ["x.jsonl"]}, set(), MIXED_LANGUAGES, "web"),  # (no record language to read)
    ({"type": "jsonl", "paths": ["x.jsonl"], "language_field": "lang"}, set(), ["en", "fr"], "web"),
    ({"type": "jsonl", "paths": ["x.jsonl"], "language_field": "lang"}, set(), ["code:python"], "web"),
    ({"type": "jsonl", "paths": ["x.jsonl"], "language_field": "lang"}, set(), ["code", "code:python"], "programming"),
])
def test_a_reading_change_rebuilds_only_the_sources_it_applies_to(input_spec, markers, languages, category):
    """Review 48 (html pages parsed whole), rv50 (a dotted Parquet field read as its struct's leaf) and rv52 (a
    record's language in a source of prose and code languages, natural first) changed how some sources read: their
    build keys carry a marker, and every other source keeps its key (it is not rebuilt)."""
    from lucie_data.recipe import LoadedSource
    from lucie_data.runner import RunOptions, build_key_payload

    rec = SourceRecipe.model_validate({"name": "t", "category": category, "languages": languages,
                                       "license": "CC-BY-4.0", "input": input_spec, "stages": []})
    payload = build_key_payload(LoadedSource(rec, ROOT / "t.yaml", {}, []), RunOptions())
    assert {"html_parsed_whole", "read_struct_leaves", "mixed_record_languages"} & set(payload) == markers
