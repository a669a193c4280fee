"""rv52: a source whose `languages` mix prose and code (`[en, fr, code:python]`) read every record's language as a
programming language (`en` -> `code:en`, `French` -> `code:french`): its prose landed in `data/code-en`, was normalised
as code (mojibake and NUL kept) and removed by the gate, and `language_id` kept every declared language. A record's
value is now what it names, natural language first; code documents keep their language, prose is judged."""
import json

import polars as pl
import pytest

from lucie_data.languages import normalize_language
from lucie_data.recipe import InputSpec, LoadedSource, SourceRecipe
from lucie_data.steps.readers import RecordReader

from .conftest import ROOT, SHARED, write
from .test_inputs import make_build

MIXED = ("en", "fr", "code:python")


def _rows(name: str) -> dict[str, dict]:
    with open(SHARED / name, encoding="utf-8") as f:
        return {r["id"]: r for r in map(json.loads, f)}


def _recipe(languages, category="technical", stages=(), language_field="lang") -> SourceRecipe:
    inp = {"type": "jsonl", "paths": ["x.jsonl"], **({"language_field": language_field} if language_field else {})}
    return SourceRecipe.model_validate({"name": "m", "category": category, "languages": list(languages),
                                        "license": "CC-BY-SA-4.0", "input": inp, "stages": list(stages)})


@pytest.mark.parametrize(("value", "expected"), [
    ("en", "en"), ("English", "en"), ("EN", "en"), ("French", "fr"), ("Français", "fr"), ("fr-FR", "fr"),
    ("fra", "fr"), ("fr,en", "fr,en"), ("fr-en", "fr,en"),
    ("python", "code:python"), ("Rust", "code:rust"), ("C++", "code:c++"), ("Objective C", "code:objective c"),
    ("code", "code"), ("code:Python", "code:python"),
    # language-like values naming no one language stay unknown, as in a prose source (not `code:und`)
    ("und", None), ("mul", None), ("fr,fr", None), ("en-en", None), ("fr,en,de", None), ("a/b", None),
    # rv55: a bare three-letter ISO 639-2/3 code the recipe does not list is a programming language's name
    ("lua", "code:lua"), ("CSS", "code:css"), ("XML", "code:xml"), ("Tcl", "code:tcl"), ("Ada", "code:ada"),
    ("pl", "pl"), ("ts", "ts"),  # ISO 639-1 codes stay natural languages (list `code:ts` for TypeScript)
])
def test_a_record_language_in_a_source_of_prose_and_code_is_what_it_names(value, expected):
    assert normalize_language(value, True, MIXED) == expected


def test_an_ambiguous_value_is_code_where_the_recipe_lists_it_as_code_only():
    """`lua` is Lua in `[en, code:lua]` (the recipe names no Luba-Lulua), and Malayalam where both are listed."""
    assert normalize_language("lua", True, ("en", "code:lua")) == "code:lua"
    assert normalize_language("lua", True, ("en", "lua", "code")) == "lua"  # Luba-Lulua, listed
    assert normalize_language("ts", True, ("en", "code:ts")) == "code:ts"
    assert normalize_language("ML", True, ("ml", "code:ml")) == "ml"
    assert normalize_language("python", True, ("en", "code:lua")) == "code:python"


def test_a_code_source_and_recipe_validation_read_values_as_before():
    """A pure code source (category programming, or only code languages) reads every value as a programming
    language; a recipe's own `languages` validate as before (they are read with neither flag)."""
    assert [normalize_language(v, True) for v in ("en", "French", "lua", "code:Python")] == [
        "code:en", "code:french", "code:lua", "code:python"]
    assert not _recipe(["code:python"]).mixes_code_and_prose
    assert not _recipe(["code:python"], category="programming").mixes_code_and_prose
    assert _recipe(MIXED).languages == list(MIXED)
    for bad, hint in ((["en", "French", "code:python"], "did you mean 'fr'"), (["en", "python"], "'python' is not")):
        with pytest.raises(ValueError, match=hint):
            _recipe(bad)


@pytest.mark.parametrize("languages, where", [(["en", "code:python"], r"languages\[0\]: 'en'"),
                                              (["code", "fr"], r"languages\[1\]: 'fr'")])
def test_a_programming_source_listing_a_natural_language_is_invalid(languages, where):
    """A `category: programming` source reads every record's language as a programming language's name, so the `en`
    it lists was never met: its English records became `code:en` and were all removed as language_not_expected.
    The recipe is refused before any work, naming the category of prose as the fix."""
    with pytest.raises(ValueError, match=where + r" is a natural language, and a `category: programming` source "
                                                 r"holds code only .*give the category of its prose"):
        _recipe(languages, category="programming")


def test_a_programming_source_of_unknown_languages_is_valid_and_a_misspelt_code_said_once():
    """rv60: `[und]` (languages unknown: a null language) was refused as a natural language, though such a source
    builds every document into its code folders; `[Code]` got "did you mean 'code'" and "'Code' is a natural
    language" together."""
    assert _recipe(["und"], category="programming").is_code
    for bad in ("Code", "CODE:Python", "python"):
        with pytest.raises(ValueError) as err:
            _recipe([bad], category="programming")
        assert "natural language" not in str(err.value) and "1 validation error" in str(err.value), bad


def test_the_reader_of_a_mixed_source_keeps_the_raw_value_only_when_it_corrected_it():
    """`French` -> fr keeps `language_raw` (as in a prose source); `python` -> code:python is the convention (as in a
    code source); a pure code source's reader still reads `en` as `code:en`."""
    spec = InputSpec(type="jsonl", paths=["x"], language_field="lang").model_dump()
    mixed = RecordReader("s", spec, [], "/", list(MIXED), "CC0-1.0", True, "/", mixes_code_and_prose=True)
    code = RecordReader("s", spec, [], "/", ["code:python"], "CC0-1.0", True, "/")
    got = {}
    for value in ("en", "French", "python", "code:Python"):
        meta = mixed.make_doc({"id": "1", "text": "x = 1", "lang": value}, "f.jsonl", 0).metadata
        got[value] = (meta["language"], meta.get("language_raw"))
    assert got == {"en": ("en", None), "French": ("fr", "French"), "python": ("code:python", None),
                   "code:Python": ("code:python", None)}
    assert code.make_doc({"id": "1", "text": "x", "lang": "en"}, "f.jsonl", 0).metadata["language"] == "code:en"


def test_language_id_judges_the_prose_of_a_mixed_source_and_keeps_its_code():
    """keep_language (every document keeps its language) stays for code and parallel sources; in a mixed source each
    document decides: a `code*` one keeps its language (LanguageID.annotate), prose is relabelled."""
    from datatrove.data import Document

    from lucie_data.stages.base import BuildContext

    def step(rec):
        (s,) = rec.stages[0].build(BuildContext(source=rec, stage_id="language_id", source_dir="/tmp/x"))
        return s

    lid = [{"type": "language_id"}]
    assert step(_recipe(["code:python"], stages=lid)).keep_language
    assert step(_recipe(["code:python"], category="programming", stages=lid)).keep_language
    assert step(_recipe(["fr,en"], stages=lid)).keep_language
    s = step(_recipe(MIXED, stages=lid))
    assert not s.keep_language
    code = _rows("code_permissive.jsonl")["code-requests-src__requests__certs.py"]["text"]  # (fastText: en 0.75)
    german = _rows("de_ud_gsd.jsonl")["de-gsd-00002"]["text"]
    docs = [Document(text=code, id="c", metadata={"language": "code:python"}),
            Document(text=german, id="g", metadata={"language": "en"}),
            Document(text=german, id="n", metadata={"language": None})]
    s._annotate_all(docs)
    assert [(d.metadata["language"], d.metadata.get("language_declared")) for d in docs] == [
        ("code:python", None), ("de", "en"), ("de", None)]


def test_a_mixed_source_with_a_language_field_or_language_id_alone_is_rebuilt():
    """The build key: rv52 changed the record languages of a mixed source with a `language_field`, and language_id in
    a mixed source; a prose or code source with either, and a mixed source with neither, keep their keys."""
    from lucie_data.runner import RunOptions, build_key_payload

    def marks(rec):
        payload = build_key_payload(LoadedSource(rec, ROOT / "t.yaml", {}, []), RunOptions())
        return "mixed_record_languages" in payload, payload.get("stage_revisions")

    # (language_id's revision 4, a document without letters, applies to every source: revisions 2 and 3 were for
    # some sources only, and are in 4)
    lid = [{"type": "language_id", "sample_chars": None}]
    assert marks(_recipe(MIXED)) == (True, None)
    assert marks(_recipe(MIXED, language_field=None)) == (False, None)
    assert marks(_recipe(MIXED, language_field=None, stages=lid)) == (False, [["language_id", 4]])
    assert marks(_recipe(["en", "fr"], stages=lid)) == (False, [["language_id", 4]])
    assert marks(_recipe(["code:python"], category="programming", stages=lid)) == (False, [["language_id", 4]])
    dedup = [{"type": "exact_dedup"}]  # prose by its own whitespace rule in a mixed source
    assert marks(_recipe(MIXED, language_field=None, stages=dedup)) == (False, [["exact_dedup", 2]])
    assert marks(_recipe(MIXED, language_field=None, stages=[{"type": "exact_dedup", "whitespace": "keep"}])) == (
        False, None)
    assert marks(_recipe(["code:python"], stages=dedup)) == (False, None)


def test_a_mixed_source_files_prose_as_prose_and_code_as_code(tmp_path):
    """Real UD French and English prose, German declared `en`, ELTeC with mojibake, PUD with NUL and a terminal
    escape, and real Python and Rust files, in one `languages: [en, fr, code:python]` source."""
    fr, en, de = _rows("fr_ud_gsd.jsonl"), _rows("en_ud_ewt.jsonl"), _rows("de_ud_gsd.jsonl")
    code, prob = _rows("code_permissive.jsonl"), _rows("problematic/problematic_docs.jsonl")
    en_ids = [k for k, r in en.items() if len(r["text"]) >= 600][:3]
    literal = 'assert ftfy.fix_text("La Rose a Ã©tÃ© bien malade.") == "La Rose a été bien malade."\n'
    records = [
        ("fr1", fr["fr-gsd-00001"], "French"), ("fr2", fr["fr-gsd-00002"], "fr-FR"), ("fr3", fr["fr-gsd-00003"], "fr"),
        ("en1", en[en_ids[0]], "en"), ("en2", en[en_ids[1]], "English"),
        ("mul", en[en_ids[2]], "mul"),  # names no one language: unknown, then identified
        ("de", de["de-gsd-00002"], "en"),  # German declared English
        ("nolang", fr["fr-gsd-00004"], None),
        ("moji", prob["problem-021"], "fr"), ("nul", prob["problem-024"], "French"),
        ("py1", code["code-requests-src__requests__certs.py"], "python"),
        ("py2", code["code-requests-src__requests__hooks.py"], "Python"),
        ("pylit", {**code["code-requests-src__requests___internal_utils.py"],
                   "text": code["code-requests-src__requests___internal_utils.py"]["text"] + literal}, "code:python"),
        ("rs", code["code-anyhow-src__backtrace.rs"], "Rust"),
    ]
    with open(tmp_path / "mixed.jsonl", "w", encoding="utf-8") as f:
        for rid, r, lang in records:
            f.write(json.dumps({"id": rid, "text": r["text"], "license": r["license"],
                                **({"lang": lang} if lang else {})}, ensure_ascii=False) + "\n")
    led, kept, removed = make_build(tmp_path, """\
        name: mixed
        category: technical
        languages: [en, fr, code:python]
        license: CC-BY-SA-4.0
        input: {type: jsonl, paths: ["../mixed.jsonl"], language_field: lang, license_field: license}
        stages:
          - type: normalize
          - type: language_id
          - type: language_gate
        """, tasks=1)
    data = tmp_path / "out" / "sources" / "mixed" / "data"
    assert sorted(p.name for p in data.iterdir()) == ["code-python", "en", "fr"]
    folders = {}
    for lang_dir in data.iterdir():
        for f in lang_dir.glob("*.parquet"):
            folders.update(dict.fromkeys(pl.read_parquet(f)["id"].to_list(), lang_dir.name))
    assert folders == {"mixed/fr1": "fr", "mixed/fr2": "fr", "mixed/fr3": "fr", "mixed/nolang": "fr",
                       "mixed/moji": "fr", "mixed/nul": "fr", "mixed/en1": "en", "mixed/en2": "en", "mixed/mul": "en",
                       "mixed/py1": "code-python", "mixed/py2": "code-python", "mixed/pylit": "code-python"}
    gone = {i: (r, lang, meta) for i, r, lang, meta in
            zip(removed["id"], removed["removal_reason"], removed["language"], removed["metadata"])}
    # German declared `en` relabelled `de` (0.99) and removed by the gate, as in a prose source
    assert gone["mixed/de"][:2] == ("language_not_expected", "de")
    assert json.loads(gone["mixed/de"][2])["language_declared"] == "en"
    assert gone["mixed/rs"][:2] == ("language_not_expected", "code:rust")  # a programming language not listed
    assert set(gone) == {"mixed/de", "mixed/rs"}
    text = dict(zip(kept["id"], kept["text"]))
    assert text["mixed/moji"] == prob["problem-025"]["text"][:1500]  # mojibake repaired in prose
    assert text["mixed/nul"] == _rows("fr_ud_pud.jsonl")["fr-pud-n01001"]["text"]  # NUL and terminal escape gone
    assert text["mixed/pylit"].endswith(literal)  # the code document's string literal left alone
    lang_of = dict(zip(kept["id"], kept["language"]))
    assert lang_of["mixed/py1"] == "code:python"  # detected en 0.75, still code
    (w,) = led["warnings"]  # the fix it suggests is the mixed source's reading, not a code source's
    assert "1 record(s) have a `lang` value that names no language" in w and "prose and code languages" in w


@pytest.mark.parametrize("action", ["annotate", "drop_off_language", "split"])
def test_chunk_modes_leave_a_code_document_whole(action):
    """A code file's blank-line paragraphs are not prose: in a mixed source `drop_off_language` cut the docstrings and
    comments it took for English out of a Python file, and `split` made it two documents (rv52, left by its fix)."""
    from datatrove.data import Document

    from lucie_data.stages.base import BuildContext

    chunk = {"action": action, **({"languages": ["fr"]} if action == "drop_off_language" else {})}
    rec = _recipe(MIXED, stages=[{"type": "language_id", "chunk": chunk}])
    (step,) = rec.stages[0].build(BuildContext(source=rec, stage_id="language_id", source_dir="/tmp/x"))
    code = _rows("code_permissive.jsonl")["code-requests-src__requests__hooks.py"]["text"]
    french = _rows("fr_eltec_novels.jsonl")
    prose = "\n\n".join([next(iter(french.values()))["text"][:600], _rows("en_ud_ewt.jsonl")[
        next(k for k, r in _rows("en_ud_ewt.jsonl").items() if len(r["text"]) > 400)]["text"]])
    docs = [Document(text=code, id="c", metadata={"language": "code:python"}),
            Document(text=prose, id="p", metadata={"language": "fr"})]
    removed = []

    class Removed:  # (the exclusion writer: the document a split replaces goes there)
        def write(self, doc, rank=0):
            removed.append(doc.id)

    out = list(step._process(docs, Removed(), 0))
    assert "c" not in removed
    c = next(d for d in out if d.id == "c")
    assert c.text == code and "language_chunks" not in c.metadata and "modified_by" not in c.metadata
    assert len([d for d in out if d.id.startswith("c")]) == 1
    p = [d for d in out if d.id.startswith("p")]  # the prose document is still chunked, as before
    assert p[0].metadata.get("language_chunks") or p[0].metadata.get("split_into")


def test_a_record_declared_in_one_language_in_a_source_of_pairs_is_judged(tmp_path):
    """rv56: a source of pairs (`[fr,en]`) kept every document's language, so German text declared `fr` stayed `fr`
    with German's score, and passed the gate as French. A pair still stays a pair whatever its members score; a
    record declared in one language is judged as in any prose source."""
    from datatrove.data import Document

    from .test_langid import annotate

    german = _rows("de_eltec_novels.jsonl")["eltec-deu-DEU001-ch001"]["text"][:3000]
    french = _rows("fr_eltec_novels.jsonl")["eltec-fra-FRA00101-ch001"]["text"][:3000]
    docs = [Document(text=german, id="de-as-fr", metadata={"language": "fr"}),
            Document(text=french, id="fr", metadata={"language": "fr"}),
            Document(text=german, id="de-as-pair", metadata={"language": "fr,en"})]
    got = {d.id: d.metadata for d in annotate(tmp_path, docs, languages=("fr,en",), category="aligned")}
    assert (got["de-as-fr"]["language"], got["de-as-fr"]["language_declared"]) == ("de", "fr")
    assert got["de-as-fr"]["language_score"] > 0.9  # German's score, now with German's label
    assert got["fr"]["language"] == "fr" and "language_declared" not in got["fr"] and got["fr"]["language_score"] > 0.9
    assert got["de-as-pair"]["language"] == "fr,en" and got["de-as-pair"]["language_score"] < 0.1  # the pair's own


def test_a_document_without_letters_has_a_null_language_kept_or_removed(tmp_path):
    """README: folder `und`, `language` column null. A document language_id found no letter in had "und" (rv52), so
    `language` null missed it; now null, kept (source `[und]`) or removed (by a gate), as the reader writes it."""
    fr = _rows("fr_ud_gsd.jsonl")
    recs = [{"id": "digits", "text": "1 2 3 4 5 6 7 8 9 10 11 12 — 2024 …"},
            {"id": "fr", "text": next(r["text"] for r in fr.values() if len(r["text"]) > 200)}]
    write(tmp_path / "x.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    recipe = ("name: s\ncategory: web\nlanguages: [und]\nlicense: CC0-1.0\ninput: {type: jsonl, paths: [../x.jsonl]}\n"
              "stages:\n  - type: language_id\n")
    _, kept, _ = make_build(tmp_path, recipe, tasks=1)
    assert dict(zip(kept["id"], kept["language"])) == {"s/digits": None, "s/fr": "fr"}
    assert sorted(p.name for p in (tmp_path / "out" / "sources" / "s" / "data").iterdir()) == ["fr", "und"]
    _, kept, removed = make_build(tmp_path, recipe + "  - {type: language_gate, languages: [fr]}\n", tasks=1)
    assert dict(zip(removed["id"], removed["language"])) == {"s/digits": None} and kept["id"].to_list() == ["s/fr"]
    assert removed["removal_reason"].to_list() == ["language_low_score"]
