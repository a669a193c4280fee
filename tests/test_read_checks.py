"""The reader checks the recipe's field mapping against the records it reads.

A sidecar that names no input file, a mapped field no record has, a language value that names no language: each
used to give documents the recipe's licence or language silently (rules 1-3). Real inputs: the corpora's html
pages with their `html_pages.jsonl` rows (tests/data/licences/html + data/demo/html), a licence-mixed slice of
`code_permissive.jsonl` (tests/data/read_checks), ELTeC chapters (tests/data/quality).
"""
import json
import os
import shutil
import textwrap
from pathlib import Path

import polars as pl
import pytest

from lucie_data.cli import main
from lucie_data.errors import BuildError, RecipeError
from lucie_data.recipe import load_pipeline, load_source
from lucie_data.runner import build

from .conftest import DATA, ROOT, write
from .test_inputs import reader_stats

PAGES_DIR = DATA / "licences" / "html"
SIDECAR = PAGES_DIR / "pages.jsonl"  # rows for 4 real pages: 2 here, 2 in data/demo/html (byte-identical copies)
PAGE_FILES = [PAGES_DIR / "trafilatura-bibliothek2null.de.mai.html", PAGES_DIR / "trafilatura-pronats.de.arbeit.html",
              ROOT / "data" / "demo" / "html" / "trafilatura-flowfx.de.tmux.html",
              ROOT / "data" / "demo" / "html" / "trafilatura-mobilsicher.de.icloud.html"]
CODE = DATA / "read_checks" / "code_permissive.jsonl"  # 12 files: 4 Apache-2.0, 3 BSD-3-Clause, 3 dual, 2 MIT
NOVELS = DATA / "quality" / "fr_eltec_novels.jsonl"
POLICY = "license_policy: {allow_classes: [public-domain, permissive, share-alike], unknown: deny}\n"


def run(tmp_path: Path, recipe: str, policy: str = "", tasks: int = 2):
    """Build one recipe; returns (ledger, kept frame, source folder)."""
    write(tmp_path / "sources" / "s.yaml", textwrap.dedent(recipe))
    write(tmp_path / "p.yaml", f"name: t\nsources: [sources/*.yaml]\noutput_dir: out\n"
                               f"executor: {{tasks: {tasks}, workers: 2}}\n{policy}")
    res = build(load_pipeline(tmp_path / "p.yaml"))
    led = res.sources[0].ledger
    src = tmp_path / "out" / "sources" / led["source"]
    files = sorted((src / "data").glob("**/*.parquet"))
    kept = pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()
    assert led["balanced"], led["imbalances"]
    return led, kept, src


def html_recipe(sidecar: Path, key: str) -> str:
    paths = ", ".join(f'"{p}"' for p in PAGE_FILES)
    return f"""\
        name: pages
        category: web
        languages: [en, de]
        license: CC-BY-4.0
        input:
          type: html
          paths: [{paths}]
          sidecar: {sidecar}
          sidecar_key: {key}
          license_field: license
          language_field: language
        """


def _language_build(tmp_path: Path, values: list) -> tuple[dict, "pl.DataFrame", Path]:
    """A build of real ELTeC chapters, chapter i labelled ``values[i]`` (read with ``language_field``)."""
    novels = [json.loads(line) for line in NOVELS.read_text(encoding="utf-8").splitlines()]
    recs = [{"id": f"n{i}", "text": novels[i]["text"], "language": v} for i, v in enumerate(values)]
    write(tmp_path / "in.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    return run(tmp_path, f"""\
        name: langs
        category: book
        languages: [fr]
        license: CC-BY-4.0
        input: {{type: jsonl, paths: ["{tmp_path / 'in.jsonl'}"], language_field: language}}
        """)


# ------------------------------------------------------------------------------------------ 1. sidecar
def test_a_sidecar_that_matches_no_input_file_is_a_recipe_error(tmp_path):
    """`sidecar_key: id` (the rows' ids are not paths): every page got CC-BY-4.0 from the recipe, so the two
    CC-BY-ND pages reached the mix mislabelled. Now validation stops, naming the key, what was compared, the fix."""
    f = write(tmp_path / "s.yaml", textwrap.dedent(html_recipe(SIDECAR, "id")))
    _, issues = load_source(f)
    assert len(issues) == 1, issues
    i = issues[0]
    assert i.path == "input.sidecar_key" and i.line == 9 and str(f) in str(i)
    assert str(SIDECAR) in i.message
    assert "'trafilatura-bibliothek2null.de.mai'" in i.message  # sidecar key values…
    assert "'trafilatura-bibliothek2null.de.mai.html'" in i.message  # …and the input paths they were compared with
    assert "set `sidecar_key: path` (its values match 4 of the 4 input files)" in i.message
    with pytest.raises(RecipeError):  # a pipeline listing it fails before any work
        write(tmp_path / "p.yaml", "name: p\nsources: [s.yaml]\n")
        load_pipeline(tmp_path / "p.yaml")
    assert main(["validate", str(f)]) == 2


def test_with_the_right_key_the_no_derivatives_pages_are_removed_by_the_policy(tmp_path):
    led, kept, src = run(tmp_path, html_recipe(SIDECAR, "path"), POLICY)
    assert not any("-ND-" in lic for lic in kept["license"]) and "CC-BY-4.0" in set(kept["license"])
    assert set(kept["license_evidence"]) == {"record:license"}
    removed = pl.read_parquet(sorted((src / "removed" / "license_policy").glob("*.parquet")))
    assert {"CC-BY-ND-3.0", "CC-BY-ND-3.0-DE"} <= set(removed["license"])
    assert led["warnings"] == [] and "no_sidecar_row" not in led["read_checks"]


def test_files_without_a_sidecar_row_are_kept_flagged_and_warned_about(tmp_path, capsys):
    """The two no-derivatives pages' rows dropped from the sidecar: the pages keep the recipe's licence, but their
    evidence says nothing checked it, the ledger counts them and the build names them."""
    rows = [json.loads(line) for line in SIDECAR.read_text(encoding="utf-8").splitlines()]
    partial = tmp_path / "sidecar" / "pages.jsonl"
    kept_rows = [r for r in rows if "-ND-" not in r["license"]]
    assert len(kept_rows) == 2
    for r in kept_rows:  # the same files, relative to the new sidecar's folder
        r["path"] = os.path.relpath((SIDECAR.parent / r["path"]).resolve(), partial.parent)
    write(partial, "".join(json.dumps(r) + "\n" for r in kept_rows))
    led, kept, src = run(tmp_path, html_recipe(partial, "path"))
    flagged = kept.filter(pl.col("license_evidence") == "recipe:no_sidecar_row")
    assert sorted(Path(json.loads(m)["source_file"]).name for m in flagged["metadata"]) == [
        "trafilatura-mobilsicher.de.icloud.html", "trafilatura-pronats.de.arbeit.html"]
    assert set(flagged["license"]) == {"CC-BY-4.0"}
    assert set(kept.filter(pl.col("license_evidence") != "recipe:no_sidecar_row")["license_evidence"]) == {"record:license"}
    ns = led["read_checks"]["no_sidecar_row"]
    assert ns["files"] == 2 and ns["of_files"] == 4 and len(ns["first"]) == 2
    assert led["read_checks"]["fields_missing"] == {}  # their licence, language… are counted once, as the file
    (w,) = [w for w in led["warnings"] if "no row in sidecar" in w]  # (and the pages' own CC BY-NC-SA, warned apart)
    assert "2 of 4 input files have no row in sidecar" in w and "recipe:no_sidecar_row" in w
    assert "trafilatura-pronats.de.arbeit.html" in w
    assert "trafilatura-pronats.de.arbeit.html" in (tmp_path / "out" / "build.log").read_text()
    # the CLI lists it at the end of the build, also when the source is up to date
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "no row in sidecar" in out and "up to date" in out


@pytest.mark.parametrize("body, message", [
    ('{"path": "a.html", "license": "CC-BY-4.0"}\n{"path": "a.html", "license": "CC-BY-ND-4.0"}\n',
     r"path 'a.html' is on lines 1 and 2; one row per input file"),
    ('{"path": "a.html", "license": "CC-BY-4.0"}\n{"path": "b.html", "license": \n',
     r"line 2: not a JSON object"),
    ('["a.html", "CC-BY-4.0"]\n', r"line 1: a JSON list, expected an object"),
    ('{"file": "a.html", "license": "CC-BY-4.0"}\n',
     r"line 1 has no value for sidecar_key 'path' \(its fields: file, license\).*set `sidecar_key: file`"),
    ("\n", r"has no rows"),
])
def test_sidecar_problems_are_recipe_errors(tmp_path, body, message):
    import re

    shutil.copy(PAGE_FILES[0], tmp_path / "a.html")
    shutil.copy(PAGE_FILES[1], tmp_path / "b.html")
    write(tmp_path / "side.jsonl", body)
    f = write(tmp_path / "s.yaml", "name: s\ncategory: web\nlanguages: [de]\nlicense: CC-BY-4.0\n"
                                   "input: {type: html, paths: ['*.html'], sidecar: side.jsonl}\n")
    _, issues = load_source(f)
    assert len(issues) == 1 and re.search(message, issues[0].message), issues
    assert issues[0].path in ("input.sidecar", "input.sidecar_key") and issues[0].line == 5


# ------------------------------------------------------------------------------------------ 2. mapped fields
CODE_RECIPE = f"""\
    name: code
    category: programming
    languages: [code]
    license: MIT
    input:
      type: jsonl
      paths: ["{CODE}"]
      license_field: license
      language_field: programming_language
    """


def test_a_licence_field_no_record_has_fails_the_source(tmp_path, capsys):
    """`license_field: licence` (the records say `license`): every file would be labelled MIT, the recipe's
    licence, as if each record had said so. A licence that is never read is never right: the source fails after
    reading, before any later segment, with the fields the records have and no ledger (the source is unfinished)."""
    recipe = CODE_RECIPE.replace("license_field: license", "license_field: licence")
    with pytest.raises(BuildError) as ei:
        run(tmp_path, recipe)
    msg = str(ei.value)
    assert "`license_field: licence` names a field that none of the 12 records has" in msg
    assert "(did you mean 'license'?)" in msg and "programming_language" in msg and "(MIT)" in msg
    assert not (tmp_path / "out" / "sources" / "code" / "ledger.json").exists()
    assert main(["build", str(tmp_path / "p.yaml")]) == 1  # the CLI: the message, no traceback
    err = capsys.readouterr().err
    assert "did you mean 'license'?" in err and "Traceback" not in err


def test_a_language_field_no_record_has_is_counted_and_warned(tmp_path, capsys):
    recipe = CODE_RECIPE.replace("language_field: programming_language", "language_field: programing_language")
    led, kept, src = run(tmp_path, recipe)
    assert led["read_checks"]["records"] == 12
    assert led["read_checks"]["fields_missing"] == {"language_field": {"field": "programing_language", "records": 12}}
    assert "programming_language" in led["read_checks"]["record_fields"]
    (w,) = led["warnings"]
    assert "`language_field: programing_language` has no value in 12 of 12 records" in w
    assert "(did you mean 'programming_language'?)" in w
    assert set(kept["language"]) == {"code"}  # the fallback, now visible
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    assert "programing_language" in capsys.readouterr().out


def test_the_right_mapping_reads_every_licence_and_warns_nothing(tmp_path):
    led, kept, _ = run(tmp_path, CODE_RECIPE)
    assert dict(zip(*kept.group_by("license").len().sort("license").to_dict(as_series=False).values())) == {
        "Apache-2.0": 4, "BSD-3-Clause": 3, "MIT": 2, "MIT OR Apache-2.0": 3}
    assert set(kept["license_evidence"]) == {"record:license"}
    assert led["warnings"] == [] and led["read_checks"]["fields_missing"] == {}
    assert {"code:python", "code:rust", "code:go", "code:javascript"} == set(kept["language"])


def test_records_without_their_own_licence_are_warned_about_and_text_field_names_the_fields(tmp_path):
    """`license_field` is read on most records but not all (real records, `license` dropped from three): any
    such record is reported, since each took the recipe's licence. A wrong `text_field` removes every record at
    read: when no record has it the source fails, else a warning says which fields the records have. Defaults (`url`, `title`, `date`)
    are not reported when the records lack them; a `date_field` the recipe sets is."""
    recs = [json.loads(line) for line in CODE.read_text(encoding="utf-8").splitlines()]
    for r in recs[:3]:
        del r["license"]
    write(tmp_path / "in.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    recipe = CODE_RECIPE.replace(str(CODE), str(tmp_path / "in.jsonl")) + "  date_field: committed\n"
    led, kept, _ = run(tmp_path, recipe)
    # the recipe's licence for want of their own: recorded as such (a policy with `unverified: deny` removes them)
    assert kept.filter(pl.col("license_evidence") == "recipe:no_license_field").height == 3
    fm = led["read_checks"]["fields_missing"]
    assert fm == {"license_field": {"field": "license", "records": 3}, "date_field": {"field": "committed", "records": 12}}
    assert [w.split(" has no value")[0] for w in led["warnings"]] == ["`license_field: license`", "`date_field: committed`"]

    shutil.rmtree(tmp_path / "out")
    # a text_field no record has fails the source (new-user review: it "finished" with 0 documents, exit 0)
    with pytest.raises(BuildError, match=r"`text_field: content` names a field that none of the 12 records has, so "
                                         r"every record would be removed at `read` .*the records have: .*\btext\b"):
        run(tmp_path, CODE_RECIPE + "  text_field: content\n")
    # one that most records lack is a warning, as before
    recs[0]["content"] = recs[0]["text"]
    write(tmp_path / "in.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    shutil.rmtree(tmp_path / "out")
    led, kept, _ = run(tmp_path, CODE_RECIPE.replace(str(CODE), str(tmp_path / "in.jsonl")) + "  text_field: content\n")
    assert kept.height == 1 and led["read_removed"] == {"read_missing_text": 11}
    (w,) = [w for w in led["warnings"] if w.startswith("`text_field")]
    assert "no value in 11 of 12 records" in w and "removed at `read`" in w and "text" in w.split("the records have:")[1]


# ------------------------------------------------------------------------------------------ 3. language values
LANG_VALUES = ["French", "FR", "fr-FR", "fra", "fr,EN", "zh-Hant", 3, "xx", "Klingonese", "code:python", "und", "fr,en,de"]
EXPECTED = ["fr", "fr", "fr", "fr", "fr,en", "zh", None, None, None, "code:python", None, None]


def test_map_language_table():
    from lucie_data.steps.readers import map_language

    assert [map_language(v, is_code=False) for v in LANG_VALUES] == EXPECTED
    assert map_language("Python", is_code=True) == "code:python" and map_language("code", is_code=True) == "code"
    assert map_language(None, is_code=False) is None and map_language(["fr"], is_code=False) is None
    # a programming language means the same with or without the prefix (code review)
    assert map_language("code:Objective C", is_code=True) == map_language("Objective C", is_code=True) == \
        "code:objective c"


def test_a_nan_language_is_a_missing_value_not_an_unknown_language():
    """NaN (a missing value in a float column) is absent, as null is: the recipe's language, counted as missing,
    not "a value that names no language" (code review)."""
    from lucie_data.recipe import InputSpec
    from lucie_data.steps.readers import RecordReader

    spec = InputSpec(type="jsonl", paths=["x"], language_field="lang").model_dump()
    r = RecordReader("s", spec, [], "/", ["fr"], "CC0-1.0", False, "/")
    doc = r.make_doc({"id": "1", "text": "Bonjour à tous, voici un texte.", "lang": float("nan")}, "f.jsonl", 0)
    assert doc.metadata["language"] == "fr" and "language_raw" not in doc.metadata


def test_record_language_values_are_mapped_to_codes(tmp_path):
    """Real ELTeC chapters with the language values seen in the wild: `French` used to become `data/french/` and
    a mix config `french`, `3` a config `3`. Now every value is a code, or unknown (`und`, `language` null) with
    the raw value kept in metadata, counted and reported."""
    led, kept, src = _language_build(tmp_path, LANG_VALUES)
    assert sorted(p.name for p in (src / "data").iterdir()) == ["code-python", "fr", "fr-en", "und", "zh"]
    got = dict(zip(kept["id"], kept["language"]))
    assert [got[f"langs/n{i}"] for i in range(len(LANG_VALUES))] == EXPECTED
    meta = {i: json.loads(m) for i, m in zip(kept["id"], kept["metadata"])}
    assert meta["langs/n0"]["language_raw"] == "French" and meta["langs/n6"]["language_raw"] == 3
    assert "language_raw" not in meta["langs/n1"]  # `FR` is `fr` in another case, like before
    und = pl.read_parquet(sorted((src / "data" / "und").glob("*.parquet")))
    assert und["language"].null_count() == und.height == 5  # the folder is `und`, the column null (README)
    lu = led["read_checks"]["language_unmapped"]
    assert lu["records"] == 4  # 3, xx, Klingonese, a triple; `und` says "unknown" itself
    assert set(lu["values"]) == {"3", '"xx"', '"Klingonese"', '"fr,en,de"'}
    assert reader_stats(tmp_path, "langs")["language_unmapped"] == 4
    (w,) = led["warnings"]
    assert "4 record(s) have a `language` value that names no language" in w and '"xx" × 1' in w


def test_an_edited_sidecar_rebuilds_its_source_and_the_manifest_records_it(tmp_path):
    """The sidecar gives pages their licences: a rerun after editing it must not keep the old labels as "up to
    date" (rules 2 and 4). The manifest lists it with its sha256, like an input file."""
    import hashlib

    sidecar = tmp_path / "pages.jsonl"
    rows = [json.loads(line) for line in SIDECAR.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:  # the sidecar moves next to the recipe: its paths stay right relative to it
        r["path"] = os.path.relpath((PAGES_DIR / r["path"]).resolve(), tmp_path)
    sidecar.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    led, kept, _ = run(tmp_path, html_recipe(sidecar, "path"), POLICY)
    assert led["docs_kept"] == 2
    res = build(load_pipeline(tmp_path / "p.yaml"))
    assert res.sources[0].status == "up-to-date"
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["sources"][0]["sidecar"]["sha256"] == hashlib.sha256(sidecar.read_bytes()).hexdigest()
    # a kept page's row now says CC-BY-ND-4.0: the source is rebuilt and the policy removes it
    flowfx = next(r for r in rows if r["id"] == "trafilatura-flowfx.de.tmux")
    assert flowfx["license"] != "CC-BY-ND-4.0"
    flowfx["license"] = "CC-BY-ND-4.0"
    sidecar.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = build(load_pipeline(tmp_path / "p.yaml"))
    assert res.sources[0].status == "built" and res.sources[0].ledger["docs_kept"] == 1
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["sources"][0]["sidecar"]["sha256"] == hashlib.sha256(sidecar.read_bytes()).hexdigest()


def test_a_rule_field_no_record_has_is_warned_about(tmp_path):
    """A misspelt dotted path, consistent between metadata_fields and the Gutenberg rule, validates; the rule then
    finds no year in any record and keeps every book on Lucie's "no data" default. The ledger warns, naming the
    rule and the fields the records have (second review)."""
    novels = [json.loads(line) for line in NOVELS.read_text(encoding="utf-8").splitlines()[:6]]
    rows = [{"id": n["id"], "text": n["text"], "author": json.dumps({"name": n.get("author"), "authoryearofdeath": 1885})}
            for n in novels]
    write(tmp_path / "books.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    led, kept, _ = run(tmp_path, f"""\
        name: books
        category: book
        languages: [fr]
        license: LicenseRef-PD-US-Project-Gutenberg
        input:
          type: jsonl
          paths: [{tmp_path / "books.jsonl"}]
          metadata_fields: [author, author.authoryearofdaeth, author.authoryearofbirth, author.rights]
        stages:
          - type: license_rules
            gutenberg:
              death_year_field: author.authoryearofdaeth
              birth_year_field: author.authoryearofbirth
              usagerights_field: author.rights
        """, POLICY)
    assert kept.height == 6  # kept on the rule's default: nothing to check
    warned = [w for w in led["warnings"] if "author.authoryearofdaeth" in w]
    assert len(warned) == 1 and "read by the Gutenberg rule's death_year_field" in warned[0], led["warnings"]
    assert "has a value in none of 6 records" in warned[0] and "the records have: author, id, text" in warned[0]
    assert led["read_checks"]["metadata_missing"] == {"author.authoryearofdaeth": 6, "author.authoryearofbirth": 6,
                                                      "author.rights": 6}


def test_a_licence_field_null_in_every_record_says_so(tmp_path):
    """The field is there but null in every record: the error says that, not "no record has it" (second review)."""
    rows = [dict(json.loads(line), license=None) for line in CODE.read_text(encoding="utf-8").splitlines()]
    nulls = tmp_path / "nulls.jsonl"
    nulls.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(BuildError) as ei:
        run(tmp_path, CODE_RECIPE.replace(str(CODE), str(nulls)))
    msg = str(ei.value)
    assert "`license_field: license` is null or empty in every one of the 12 records" in msg, msg
    assert "Fill it in the input, point `license_field` at the field that holds the licences" in msg


def test_a_sidecar_saved_with_a_bom_is_read_as_the_load_time_check_reads_it(tmp_path):
    """The real sidecar rows saved with a UTF-8 BOM (Windows tools do): validation accepted it (utf-8-sig) and
    every build then crashed in the reader (`JSONDecodeError: Unexpected UTF-8 BOM`, a task failure, on every
    rerun). Both now decode it through one function; the licences of the rows are read, the policy applies."""
    rows = [json.loads(line) for line in SIDECAR.read_text(encoding="utf-8").splitlines() if line.strip()]
    bom = tmp_path / "pages.jsonl"
    for r in rows:  # the same files, relative to the new sidecar's folder
        r["path"] = os.path.relpath((PAGES_DIR / r["path"]).resolve(), tmp_path)
    bom.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    f = write(tmp_path / "sources" / "s.yaml", textwrap.dedent(html_recipe(bom, "path")))
    assert load_source(f)[1] == []
    led, kept, src = run(tmp_path, html_recipe(bom, "path"), POLICY)
    assert set(kept["license_evidence"]) == {"record:license"} and led["docs_kept"] == 2
    removed = pl.read_parquet(sorted((src / "removed" / "license_policy").glob("*.parquet")))
    assert {"CC-BY-ND-3.0", "CC-BY-ND-3.0-DE"} <= set(removed["license"])
    assert "no_sidecar_row" not in led["read_checks"]


def test_a_sidecar_that_is_not_utf8_is_a_recipe_error(tmp_path):
    rows = SIDECAR.read_text(encoding="utf-8")
    shutil.copy(PAGE_FILES[0], tmp_path / PAGE_FILES[0].name)
    (tmp_path / "side.jsonl").write_bytes(rows.encode("utf-16"))
    f = write(tmp_path / "s.yaml", "name: s\ncategory: web\nlanguages: [de]\nlicense: CC-BY-4.0\n"
                                   "input: {type: html, paths: ['*.html'], sidecar: side.jsonl}\n")
    (issue,) = load_source(f)[1]
    assert issue.path == "input.sidecar" and issue.line == 5 and "line 1" in issue.message, issue
    assert "UTF-8" in issue.message


# ------------------------------------------------------------------------------------------ 4. one meaning per value
# (record value, code a build writes): the reviewer's odd values; `xx-yy` is a pair unless yy is a region of xx
# (not a language, or a country where CLDR gives xx an official status); see languages.py
MORE_LANG_VALUES = [
    ("fr-en", "fr,en"), ("FR-EN", "fr,en"), ("de-fr", "de,fr"), ("en-fr", "en,fr"), ("es-en", "es,en"),
    ("it-en", "it,en"), ("fr_en", "fr,en"),
    ("pt-br", "pt"), ("pt-BR", "pt"), ("zh-tw", "zh"), ("en-gb", "en"), ("fr-ca", "fr"), ("FR-fr", "fr"),
    ("fr_FR", "fr"), ("fr-Latn-FR", "fr"), ("sr-Cyrl", "sr"), ("zh-yue", "yue"),
    ("fr,fr", None), ("fr,FR", None), ("en-en", None), ("mul", None), ("zxx", None), ("fr;en", None),
    ("Français", "fr"), ("FRANCAIS", "fr"), ("Deutsch", "de"), ("Español", "es"), ("Italiano", "it"),
    ("English", "en"), ("Nederlands", "nl"), ("русский", "ru"),
    ("iw", "he"), ("in", "id"), ("ji", "yi"), ("fr, en", "fr,en"), ("code:Python", "code:python"),
]


@pytest.mark.parametrize("value, code", MORE_LANG_VALUES)
def test_record_language_values_have_one_meaning(value, code):
    from lucie_data.languages import language_problem
    from lucie_data.steps.readers import map_language

    assert map_language(value, is_code=False) == code
    if code is not None:  # the same value in a recipe: valid only as the code, else an error naming the code
        assert language_problem(code) is None
        if value != code:
            assert f"did you mean {code!r}" in language_problem(value) or f"code {code!r}" in language_problem(value)


def test_odd_record_language_values_on_a_real_build(tmp_path):
    """ELTeC chapters labelled the way real corpora label them: the pair `fr-en` used to become `fr` (pair lost),
    `fr-Latn-FR`, `Français`, `iw` went to `und`, and `fr,fr` made a folder `fr-fr`."""
    values = ["fr-en", "fr-Latn-FR", "Français", "Deutsch", "iw", "fr,fr", "pt-BR", "de-fr"]
    led, kept, src = _language_build(tmp_path, values)
    got = dict(zip(kept["id"], kept["language"]))
    assert [got[f"langs/n{i}"] for i in range(len(values))] == ["fr,en", "fr", "fr", "de", "he", None, "pt", "de,fr"]
    assert sorted(p.name for p in (src / "data").iterdir()) == ["de", "de-fr", "fr", "fr-en", "he", "pt", "und"]
    meta = {i: json.loads(m) for i, m in zip(kept["id"], kept["metadata"])}
    assert meta["langs/n0"]["language_raw"] == "fr-en" and meta["langs/n5"]["language_raw"] == "fr,fr"
    assert led["read_checks"]["language_unmapped"]["values"] == {'"fr,fr"': 1}


def test_a_sidecar_reached_through_a_symlinked_folder_matches_its_files(tmp_path):
    """Inputs are resolved (symlinks followed); the sidecar was only joined, so through a symlinked folder its keys
    never matched and a correct recipe was refused (code review). The manifest records it resolved."""
    real = tmp_path / "htmlreal"
    real.mkdir()
    for f in PAGE_FILES[:2]:
        (real / f.name).write_bytes(f.read_bytes())
    rows = [json.loads(line) for line in SIDECAR.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [dict(r, path=Path(r["path"]).name) for r in rows if Path(r["path"]).name in {f.name for f in PAGE_FILES[:2]}]
    (real / "pages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "html").symlink_to(real, target_is_directory=True)
    recipe = f"""\
        name: pages
        category: web
        languages: [en, de]
        license: CC-BY-4.0
        input:
          type: html
          paths: ["{tmp_path}/html/*.html"]
          sidecar: {tmp_path}/html/pages.jsonl
          license_field: license
          language_field: language
        """
    f = write(tmp_path / "s.yaml", textwrap.dedent(recipe))
    src, issues = load_source(f)
    assert issues == [] and src.sidecar == real / "pages.jsonl"
    led, kept, _ = run(tmp_path, recipe, POLICY)
    assert led["docs_kept"] + led["docs_removed"] == 2 and "no_sidecar_row" not in led["read_checks"]
    assert set(kept["license_evidence"]) <= {"record:license"}
