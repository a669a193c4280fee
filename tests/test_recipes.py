"""Recipe validation: a table of valid and invalid recipes with the message each must produce."""
import re
import textwrap

import pytest

from lucie_data.cli import main
from lucie_data.errors import RecipeError
from lucie_data.recipe import load_pipeline, load_source, validate_paths

from .conftest import DATA, write

BASE = """\
name: s1
category: book
languages: [fr]
license: CC-BY-4.0
input:
  type: jsonl
  paths: [data.jsonl]
"""


def recipe(tmp_path, body: str):
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "Bonjour"}\n')
    return write(tmp_path / "s1.yaml", textwrap.dedent(body))


VALID = [
    BASE,
    BASE + "stages:\n  - type: normalize\n  - {type: min_length, min_chars: 10}\n  - type: exact_dedup\n",
    BASE + "stages:\n  - {type: min_length, min_words: 3}\n  - {type: min_length, min_chars: 50, name: long_enough}\n",
    BASE.replace("license: CC-BY-4.0", "license: cc by-sa 4.0"),
    BASE.replace("languages: [fr]", "languages: [fr, en]"),
    BASE + "output:\n  max_rows_per_shard: 10\n",
    BASE + "  metadata_fields: [author, author.authoryearofdeath, extra.meta.shelf, source_name]\n",
]

# real pages of the corpora's html_pages set and their sidecar rows (tests/data/licences/html)
HTML_BASE = f"""\
name: s1
category: web
languages: [de]
license: CC-BY-4.0
input:
  type: html
  paths: ["{DATA}/licences/html/*.html"]
  sidecar: {DATA}/licences/html/pages.jsonl
"""

INVALID = [
    # (body, expected message regex, expected yaml path, expected line)
    (BASE + "stages:\n  - type: gopher_qualty\n", r"unknown stage type 'gopher_qualty'; available: .*normalize", "stages[0]", 9),
    (BASE + "stages:\n  - {type: min_length, min_chars: -5}\n", r"greater than or equal to 0 \(got -5\)", "stages[0].min_chars", 9),
    (BASE + "stages:\n  - {type: min_length, min_char: 5}\n", r"unknown key 'min_char'; did you mean 'min_chars'\?.*lucie-data stages", "stages[0].min_char", 9),
    (BASE + "licence: MIT\n", r"unknown key 'licence'; did you mean 'license'\?.*allowed here: name, description, category", "licence", 8),
    (BASE.replace("  paths: [data.jsonl]", "  paths: [data.jsonl]\n  text_feild: body"), r"unknown key 'text_feild'; did you mean 'text_field'\?", "input.text_feild", 8),
    (BASE + "stages:\n  - {type: min_length}\n", r"needs `min_chars` or `min_words`", "stages[0]", 9),
    (BASE + "stages:\n  - {min_chars: 5}\n", r"needs a `type:`", "stages[0]", 9),
    (BASE + "colour: blue\n", r"unknown key", "colour", 8),
    (BASE.replace("category: book", "category: novel"), r"Input should be 'web', 'newspaper'", "category", 2),
    (BASE.replace("license: CC-BY-4.0", "license: whatever licence"), r"licence 'whatever licence' is not recognised", "license", 4),
    (BASE.replace("languages: [fr]", "languages: [french]"), r"not an ISO 639-1 code.*did you mean 'fr'", "languages[0]", 3),
    # the shape of a code is not enough: the gate would match no document (ISO 639 tables, pycountry)
    (BASE.replace("languages: [fr]", "languages: [fr, xx]"), r"language 'xx': 'xx' is not an ISO 639 language code", "languages[1]", 3),
    (BASE.replace("languages: [fr]", "languages: [fre]"), r"use the ISO 639-1 code 'fr' \(French\) instead of 'fre'", "languages[0]", 3),
    (BASE.replace("languages: [fr]", "languages: ['fr,qq']"), r"language 'fr,qq': 'qq' is not an ISO 639", "languages[0]", 3),
    (BASE.replace("type: jsonl", "type: csv"), r"Input should be 'jsonl', 'parquet'", "input.type", 6),
    (BASE.replace("paths: [data.jsonl]", "paths: [missing/*.jsonl]"), r"no file matches 'missing/\*.jsonl'", "input.paths[0]", 7),
    (BASE.replace("  paths: [data.jsonl]\n", ""), r"needs `paths:`", "input", 5),
    (BASE.replace("name: s1", "name: 'bad name!'"), r"a name must be usable as a folder name: letters, digits.*\(got 'bad name!'\)", "name", 1),
    (BASE + "stages:\n  - type: normalize\n    form: NFX\n", r"Input should be 'NFC'", "stages[0].form", 10),
    # the stage's own `name:` and line (was the whole file, line 1: review 8)
    (BASE + "stages:\n  - {type: min_length, min_chars: 5, name: x}\n  - {type: normalize, name: x}\n", r"stage name 'x' is used twice", "stages[1].name", 10),
    (BASE + "stages:\n  - {type: perplexity, model_path: models/fr.arpa.bin}\n", r"file 'models/fr.arpa.bin' does not exist", "stages[0].model_path", 9),
    (BASE.replace("  paths: [data.jsonl]", "  paths: [data.jsonl]\n  sidecar: meta.jsonl"), r"sidecar file 'meta.jsonl' does not exist", "input.sidecar", 8),
    (BASE + "stages:\n  - {type: min_length, min_chars: 5, name: read}\n", r"'read' is reserved for a built-in stage", "stages[0].name", 9),
    # metadata_fields: a key the reader fills itself would be skipped without a word; dotted paths need every part
    (BASE + "  metadata_fields: [genre, language]\n", r"'language' is filled by the reader itself.*use `language_field: language`", "input.metadata_fields[1]", 8),
    (BASE + "  metadata_fields:\n    - source\n", r"'source' is filled by the reader itself.*`name:`", "input.metadata_fields[0]", 9),
    (BASE + "  metadata_fields: [license]\n", r"'license' is filled by the reader.*use `license_field: license`", "input.metadata_fields[0]", 8),
    (BASE + "  metadata_fields: [title]\n", r"the record.s `title` field already fills the title column \(`title_field`, default `title`\): remove it", "input.metadata_fields[0]", 8),
    (BASE + "  metadata_fields: [source_record]\n", r"'source_record' is filled by the reader.*lineage", "input.metadata_fields[0]", 8),
    (BASE + "  metadata_fields: [author..authoryearofdeath]\n", r"'author..authoryearofdeath' has an empty part", "input.metadata_fields[0]", 8),
    (BASE + "  metadata_fields: [author.]\n", r"'author.' has an empty part", "input.metadata_fields[0]", 8),
    (BASE + "  metadata_fields: [_internal]\n", r"starting with `_` are internal", "input.metadata_fields[0]", 8),
    # a sidecar is read at load time: a key that joins no input file would give every page the recipe's licence
    (HTML_BASE + "  sidecar_key: id\n", r"no input file has a row in sidecar .*: its 'id' values \('trafilatura-bibliothek2null"
     r".*compared with the input paths .*'trafilatura-bibliothek2null.de.mai.html'.*set `sidecar_key: path`", "input.sidecar_key", 9),
    (HTML_BASE + "  sidecar_key: page\n", r"has no value for sidecar_key 'page' \(its fields: .*set `sidecar_key: path`",
     "input.sidecar_key", 9),
    (BASE + f"  sidecar: {DATA}/licences/html/pages.jsonl\n", r"only read for `type: html` inputs", "input.sidecar", 8),
    (BASE + "  metadata_fields: [language_raw]\n", r"'language_raw' is filled by the reader", "input.metadata_fields[0]", 8),
    # YAML's true/yes/on where a number is expected (pydantic's lax mode read them as 1: fuzz review)
    (BASE + "stages:\n  - {type: min_length, min_chars: true}\n", r"expected a number, got a boolean.*write a number",
     "stages[0].min_chars", 9),
    (BASE + "stages:\n  - type: gopher_repetition\n    top_n_grams: [[2, 0.2], [yes, 0.18]]\n",
     r"\[1\]\[0\]: expected a number, got a boolean", "stages[0].top_n_grams", 10),
    (BASE + "stages:\n  - {type: language_id, chunk: {mode: size, size: on}}\n", r"expected a number, got a boolean",
     "stages[0].chunk.size", 9),
    ("name: [unclosed\n", r"invalid YAML", "", 2),
    ("- just\n- a list\n", r"expected a mapping", "", None),
]


@pytest.mark.parametrize("body", VALID)
def test_valid_recipes(tmp_path, body):
    src, issues = load_source(recipe(tmp_path, body))
    assert issues == [] and src is not None
    assert src.inputs == [(tmp_path / "data.jsonl").resolve()]


@pytest.mark.parametrize("body, message, path, line", INVALID)
def test_invalid_recipes(tmp_path, body, message, path, line):
    import re

    _, issues = load_source(recipe(tmp_path, body))
    assert issues, "expected a validation error"
    matching = [i for i in issues if re.search(message, i.message)]
    assert matching, f"no issue matches {message!r}: {[str(i) for i in issues]}"
    assert matching[0].path == path
    if line is not None:
        assert matching[0].line == line
    assert str(tmp_path / "s1.yaml") in str(matching[0])


def test_licence_normalised_in_recipe(tmp_path):
    src, _ = load_source(recipe(tmp_path, BASE.replace("license: CC-BY-4.0", "license: Creative Commons Attribution-ShareAlike 4.0 International")))
    assert src.recipe.license == "CC-BY-SA-4.0"


def test_all_errors_reported_at_once(tmp_path):
    body = BASE.replace("category: book", "category: novel") + "stages:\n  - type: gopher_qualty\n  - {type: min_length, min_chars: -1}\n"
    _, issues = load_source(recipe(tmp_path, body))
    paths = {i.path for i in issues}
    assert {"category", "stages[0]", "stages[1].min_chars"} <= paths


def test_pipeline_collects_errors_from_every_source(tmp_path):
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "x"}\n')
    write(tmp_path / "sources" / "a.yaml", BASE.replace("name: s1", "name: a").replace("data.jsonl", "../data.jsonl") + "stages:\n  - type: nope\n")
    write(tmp_path / "sources" / "b.yaml", BASE.replace("name: s1", "name: b").replace("category: book", "category: x").replace("data.jsonl", "../data.jsonl"))
    write(tmp_path / "sources" / "c.yaml", BASE.replace("name: s1", "name: b").replace("data.jsonl", "../data.jsonl"))
    p = write(tmp_path / "pipelines" / "p.yaml", "name: p\nsources: [../sources/*.yaml]\nexecutor: {workers: 0}\n")
    with pytest.raises(RecipeError) as ei:
        load_pipeline(p)
    text = str(ei.value)
    assert "executor.workers" in text and "a.yaml" in text and "b.yaml" in text
    p.write_text("name: p\nsources: [../sources/*.yaml]\n")
    (tmp_path / "sources" / "a.yaml").unlink()
    (tmp_path / "sources" / "b.yaml").write_text((tmp_path / "sources" / "c.yaml").read_text())
    with pytest.raises(RecipeError, match="source name 'b' is also used by"):
        load_pipeline(p)


def test_presets_and_defaults(tmp_path):
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "x"}\n')
    write(tmp_path / "sources" / "a.yaml", "name: a\nlanguages: [fr]\nlicense: CC0-1.0\npreset: fr_book\n"
          "input: {type: jsonl, paths: [../data.jsonl]}\n")
    write(tmp_path / "sources" / "b.yaml", "name: b\nlanguages: [en]\nlicense: CC0-1.0\npreset: fr_book\n"
          "input: {type: jsonl, paths: [../data.jsonl]}\nstages: [{type: normalize}]\n")
    p = write(tmp_path / "p.yaml", textwrap.dedent("""\
        name: p
        sources: [sources/*.yaml]
        defaults: {output: {max_rows_per_shard: 7}}
        presets:
          fr_book:
            category: book
            stages: [{type: normalize}, {type: min_length, min_chars: 200}, {type: exact_dedup}]
        """))
    pipe = load_pipeline(p)
    a, b = pipe.sources
    assert [s.type for s in a.recipe.stages] == ["normalize", "min_length", "exact_dedup"]
    assert [s.type for s in b.recipe.stages] == ["normalize"]  # the recipe's own list wins
    assert a.recipe.output.max_rows_per_shard == 7 and a.recipe.category == "book"
    p.write_text(p.read_text().replace("fr_book:", "other:"))
    with pytest.raises(RecipeError, match="unknown preset 'fr_book'; available: other"):
        load_pipeline(p)


def test_cli_validate_reports_without_traceback(tmp_path, capsys):
    f = recipe(tmp_path, BASE + "stages:\n  - type: gopher_qualty\n  - {type: min_length, min_chars: -5}\n")
    code = main(["validate", str(f)])
    out = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out.out + out.err
    assert "stages[0]" in out.out and "stages[1].min_chars" in out.out and f"{f}:9" in out.out


def test_cli_validate_ok_on_bundled_recipes(root, capsys):
    assert main(["validate", str(root / "pipelines"), str(root / "sources")]) == 0
    assert validate_paths(sorted((root / "sources").glob("**/*.yaml"))) == []


def test_pipeline_tokenizer_must_exist_or_be_a_hub_id(tmp_path):
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "x"}\n')
    write(tmp_path / "s.yaml", BASE.replace("name: s1", "name: a"))
    p = write(tmp_path / "p.yaml", "name: p\nsources: [s.yaml]\ntokenizer: tok/tokenizer.json\n")
    with pytest.raises(RecipeError, match=r"p.yaml:3: tokenizer: tokenizer file 'tok/tokenizer.json' does not exist"):
        load_pipeline(p)
    from tokenizers import Tokenizer, models

    (tmp_path / "tok").mkdir()  # a real tokenizer.json: `{}` is refused since review 11 (tests/test_review11_cli.py)
    Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")).save(str(tmp_path / "tok" / "tokenizer.json"))
    assert load_pipeline(p).recipe.tokenizer == str((tmp_path / "tok" / "tokenizer.json").resolve())
    p.write_text("name: p\nsources: [s.yaml]\ntokenizer: OpenLLM-France/Lucie-7B\n")
    assert load_pipeline(p).recipe.tokenizer == "OpenLLM-France/Lucie-7B"  # a Hub id, used only if configured


def test_cli_build_on_a_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["build", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder; pass a pipeline or recipe YAML file" in err and "Traceback" not in err


@pytest.mark.parametrize("extra, path, message", [
    ("licence_policy: {allow_classes: [permissive]}\n", "licence_policy", r"unknown key 'licence_policy'; did you mean 'license_policy'\?"),
    ("executor: {type: local, worker: 2}\n", "executor.worker", r"did you mean 'workers'\?.*allowed here: type, workers, tasks"),
    ("license_policy: {allow_class: [permissive]}\n", "license_policy.allow_class", r"did you mean 'allow_classes'\?"),
    ("executor: {type: local, workers: yes}\n", "executor.workers", r"expected a number, got a boolean"),
    ("mix: {default_factor: 1, seed: true}\n", "mix.seed", r"expected a number, got a boolean"),
    ("mix: {targets: {fr: true}}\n", "mix.targets", r"\.fr: expected a number, got a boolean"),
    # rv47: passed validate and the build, then stopped `mix build` naming neither file nor key
    ("seed: -5\n", "seed", r"greater than or equal to 0"),
    ("seed: 18446744073709551616\n", "seed", r"less than 18446744073709551616"),
])
def test_pipeline_unknown_keys_name_the_likely_key(tmp_path, extra, path, message):
    """An unknown key anywhere names the key it most likely meant and the keys allowed there (a stage's own hint,
    `lucie-data stages`, only for stage arguments); a boolean where a number is expected is named too."""
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "x"}\n')
    write(tmp_path / "s1.yaml", BASE)
    p = write(tmp_path / "p.yaml", "name: p\nsources: [s1.yaml]\n" + extra)
    with pytest.raises(RecipeError) as ei:
        load_pipeline(p)
    issue = next(i for i in ei.value.issues if i.path == path)
    assert re.search(message, issue.message), issue.message
    assert "lucie-data stages" not in issue.message


# ------------------------------------------------------------------------------------------ languages
def test_every_bad_language_is_reported_with_its_path_and_line(tmp_path):
    """Twenty values, one per line: each bad one has its own error (only the first was reported), at its index
    and line; valid values (a pair, code:python, Norwegian quoted) give none."""
    values = ["fr", "fr-FR", "FR", "french", "fre", "xx", "'fr,en'", "fr-en", "code:python", "'en,fr'", "'fr,fr'",
              "mul", "zxx", "iw", "eng", "code:Python", "'fr '", "nb", "'no'", "no"]
    body = BASE.replace("languages: [fr]\n", "languages:\n" + "".join(f"  - {v}\n" for v in values))
    _, issues = load_source(recipe(tmp_path, body))
    bad = {0: False, 1: True, 2: True, 3: True, 4: True, 5: True, 6: False, 7: True, 8: False, 9: False, 10: True,
           11: True, 12: True, 13: True, 14: True, 15: True, 16: True, 17: False, 18: False, 19: True}
    by_path = {i.path: i for i in issues}
    assert set(by_path) == {f"languages[{k}]" for k, b in bad.items() if b}, [str(i) for i in issues]
    for k in (k for k, b in bad.items() if b):
        assert by_path[f"languages[{k}]"].line == 4 + k
    msg = {k: by_path[f"languages[{k}]"].message for k, b in bad.items() if b}
    assert "did you mean 'fr,en'?" in msg[7] and "comma" in msg[7]
    assert "did you mean 'fr'" in msg[1] and "region" in msg[1]
    assert "did you mean 'fr'" in msg[2] and "did you mean 'fr'" in msg[3]
    assert "a build writes ISO 639-1 codes" in msg[4] and "the gate would match" not in msg[4]  # said for a recipe
    assert "two different languages" in msg[10] and "'he'" in msg[13]
    assert "did you mean 'code:python'?" in msg[15]
    assert "quote it" in msg[19] and "Norwegian" in msg[19] and "Input should be a valid string" not in msg[19]


@pytest.mark.parametrize("body, message, path", [
    (BASE.replace("languages: [fr]", "languages: [fr-en]"), r"did you mean 'fr,en'\?", "languages[0]"),
    (BASE.replace("languages: [fr]", "languages: ['fr,fr']"), r"a pair needs two different languages", "languages[0]"),
    (BASE.replace("languages: [fr]", "languages: [fr, und]"), r"`und` \(unknown\) cannot be listed with other", "languages"),
    (BASE.replace("languages: [fr]", "languages: [fr, fr]"), r"'fr' listed more than once", "languages"),
    (BASE.replace("languages: [fr]", "languages: [pt-br]"), r"did you mean 'pt' \(Portuguese\)\?", "languages[0]"),
    (BASE.replace("languages: [fr]", "languages: [und]") + "stages:\n  - type: language_id\n  - type: language_gate\n",
     r"language_gate expects the recipe's languages, and `languages: \[und\]`.*set `languages: \[fr, …\]`", "stages[1]"),
    (BASE + "stages:\n  - type: language_id\n  - {type: language_gate, languages: [und, eng, no]}\n",
     r"'und' \(unknown\) matches no document", "stages[1].languages[0]"),
    (BASE + "stages:\n  - type: language_id\n  - {type: language_gate, languages: [und, eng, no]}\n",
     r"instead of 'eng': language_id writes ISO 639-1 codes where one exists, so the gate would match",
     "stages[1].languages[1]"),
    (BASE + "stages:\n  - type: language_id\n  - {type: language_gate, languages: [und, eng, no]}\n",
     r"quote it: \"no\" is Norwegian", "stages[1].languages[2]"),
])
def test_recipe_language_values(tmp_path, body, message, path):
    _, issues = load_source(recipe(tmp_path, body))
    matching = [i for i in issues if re.search(message, i.message)]
    assert matching and matching[0].path == path, [str(i) for i in issues]


def test_unknown_languages_in_a_recipe_mean_null_and_folder_und(tmp_path):
    """`languages: [und]` wrote `language: "und"` although `und` means unknown (null, folder `und`) everywhere
    else; real ELTeC chapters."""
    import polars as pl

    from lucie_data.recipe import single_source_pipeline
    from lucie_data.runner import build

    novels = (DATA / "quality" / "fr_eltec_novels.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    write(tmp_path / "data.jsonl", "\n".join(novels) + "\n")
    f = write(tmp_path / "s1.yaml", BASE.replace("languages: [fr]", "languages: [und]"))
    src, issues = load_source(f)
    assert issues == []
    build(single_source_pipeline(src, tmp_path / "out"))
    data = tmp_path / "out" / "sources" / "s1" / "data"
    assert [p.name for p in data.iterdir()] == ["und"]
    kept = pl.concat([pl.read_parquet(p) for p in sorted(data.glob("und/*.parquet"))])
    assert kept.height == 3 and kept["language"].null_count() == 3


@pytest.mark.parametrize("value", ["fr,und", "und,fr", "fr,mul", "fr,zxx"])
def test_a_pair_with_an_unknown_part_says_so(value):
    """A pair names two languages: `und`/`mul`/`zxx` in one is explained as such, not as a misspelt code (code
    review: "did you mean 'und'? (codes are written in lower case)")."""
    from lucie_data.languages import language_problem

    msg = language_problem(value)
    assert msg is not None and "a pair names two languages" in msg and "`und` alone" in msg, msg


def _yaml_models():
    """Every model a YAML file fills: the recipe's, the pipeline's, each stage spec and its nested models."""
    from lucie_data.models import YamlModel

    seen, todo = set(), list(YamlModel.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls not in seen:
            seen.add(cls)
            todo.extend(cls.__subclasses__())
    return sorted(seen, key=lambda c: c.__qualname__)


def test_every_number_field_of_every_yaml_model_refuses_a_boolean():
    """The check sits in each model's pydantic schema (models.YamlModel): a pydantic whose schema the hook does not
    recognise would drop it silently, so each number field of each model is tried with `true`."""
    import lucie_data.recipe  # noqa: F401  (imports every stage spec)
    from pydantic import ValidationError

    from lucie_data.models import number_not_bool

    models = _yaml_models()
    assert {"MinLengthSpec", "PipelineRecipe", "ExecutorSpec", "InputSpec", "MixSpec", "ChunkSpec", "GutenbergRule"} <= {
        m.__name__ for m in models}
    tried = 0
    for model in models:
        for name, field in model.model_fields.items():
            if not number_not_bool(field.annotation):
                continue
            with pytest.raises(ValidationError) as ei:
                model.model_validate({name: True})
            errors = [e for e in ei.value.errors() if e["loc"][:1] == (name,)]
            assert errors and "got a boolean" in errors[0]["msg"], (model.__name__, name, ei.value.errors())
            tried += 1
    assert tried > 50


def test_the_boolean_check_wraps_a_field_once_however_often_its_model_is_embedded():
    """Code review: pydantic hands `__get_pydantic_core_schema__` its cached schema, and each schema embedding a model
    (a TypeAdapter(AnyStage) per preset in `validate`) wrapped the check around it once more: 64 layers on min_chars
    after 50 adapters, validation time growing without bound in a long-lived process."""
    from pydantic import TypeAdapter

    from lucie_data.models import _is_check, _model_fields_schema
    from lucie_data.stages import AnyStage
    from lucie_data.stages.text import MinLengthSpec

    def layers() -> int:
        inner = _model_fields_schema(MinLengthSpec.__pydantic_core_schema__)["min_chars"]["schema"]
        s, n = (inner["schema"] if inner["type"] == "default" else inner), 0
        while _is_check(s):
            s, n = s["schema"], n + 1
        return n

    for _ in range(20):
        TypeAdapter(AnyStage)
    assert layers() == 1
    with pytest.raises(Exception, match="got a boolean"):
        TypeAdapter(AnyStage).validate_python({"type": "min_length", "min_chars": True})
