"""Review 8, recipes: issues are placed where the user has to edit them (a pipeline's presets and defaults, a stage's
own line), every problem of a recipe comes in one run, and a stage reading a metadata key the input never carries is
a recipe error instead of a build that removes every document."""
import re
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from lucie_data.errors import RecipeError
from lucie_data.recipe import SourceRecipe, _read_yaml, load_pipeline, load_source

from .conftest import DATA, write

RECIPE = """\
name: {name}
{preset}languages: [fr]
license: CC-BY-4.0
input:
  type: jsonl
  paths: [data.jsonl]
{extra}"""

PIPE_HEAD = "name: p\nsources: [{sources}]\n"


def setup(tmp_path, pipe_body: str, recipes: dict[str, str]):
    """A pipeline (head + ``pipe_body``) listing ``recipes`` (name -> text after the input)."""
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "Bonjour tout le monde"}\n')
    for name, extra in recipes.items():
        preset = "preset: fr_web\n" if "#nopreset" not in extra else "category: web\n"
        write(tmp_path / f"{name}.yaml", RECIPE.format(name=name, preset=preset, extra=extra.replace("#nopreset\n", "")))
    head = PIPE_HEAD.format(sources=", ".join(f"{n}.yaml" for n in recipes))
    return write(tmp_path / "p.yaml", head + textwrap.dedent(pipe_body))


PRESET = """\
presets:
  fr_web:
    category: web
    stages:
      - type: normalize
      - type: gopher_quality
        min_doc_wordz: 3
"""

# (pipeline body after name/sources, recipes, expected file, yaml path, line, message regex)
ORIGINS = [
    # a typo in a preset: the pipeline's file, line and path, and the recipe that uses it
    (PRESET, {"s1": ""}, "p.yaml", "presets.fr_web.stages[1].min_doc_wordz", 9,
     r"unknown key 'min_doc_wordz'; did you mean 'min_doc_words'\?.*\(the pipeline's preset 'fr_web', used by s1.yaml\)"),
    # in defaults
    ("defaults: {outputt: {max_rows_per_shard: 0}}\n", {"s1": "#nopreset\n"}, "p.yaml", "defaults.outputt", 3,
     r"unknown key 'outputt'; did you mean 'output'\?.*\(the pipeline's defaults, merged into s1.yaml\)"),
    ("defaults:\n  output:\n    max_rows_per_shard: 0\n", {"s1": "#nopreset\n"}, "p.yaml",
     "defaults.output.max_rows_per_shard", 5, r"greater than or equal to 1.*merged into s1.yaml"),
    # a mapping merged from defaults and the recipe: the key is the defaults'
    ("defaults:\n  input:\n    metadata_fields: [genre, language]\n", {"s1": "#nopreset\n"}, "p.yaml",
     "defaults.input.metadata_fields[1]", 5, r"'language' is filled by the reader itself"),
    # a required key missing in a preset's stage: the stage in the preset
    ("presets:\n  fr_web:\n    stages:\n      - {type: min_length}\n", {"s1": "category: web\n"}, "p.yaml",
     "presets.fr_web.stages[0]", 6, r"needs `min_chars` or `min_words`.*used by s1.yaml"),
    # a check across stages in a preset
    ("presets:\n  fr_web:\n    stages:\n      - type: language_gate\n", {"s1": "category: web\n"}, "p.yaml",
     "presets.fr_web.stages[0]", 6, r"language_gate needs a `- type: language_id` stage before it"),
    ("presets:\n  fr_web:\n    stages:\n      - {type: min_length, min_chars: 5, name: read}\n",
     {"s1": "category: web\n"}, "p.yaml", "presets.fr_web.stages[0].name", 6, r"'read' is reserved"),
    # a value in defaults that the preset overrides is not blamed on the defaults
    ("defaults: {category: novel}\n" + PRESET.replace("category: web", "category: newspaperz"), {"s1": ""},
     "p.yaml", "presets.fr_web.category", 6, r"Input should be 'web', 'newspaper'"),
]


@pytest.mark.parametrize("pipe_body, recipes, file, path, line, message", ORIGINS)
def test_issue_names_the_file_it_comes_from(tmp_path, pipe_body, recipes, file, path, line, message):
    p = setup(tmp_path, pipe_body, recipes)
    with pytest.raises(RecipeError, match=message) as ei:
        load_pipeline(p)
    matching = [i for i in ei.value.issues if re.search(message, i.message)]
    assert len(matching) == 1, [str(i) for i in ei.value.issues]
    (issue,) = matching
    assert (issue.file, issue.path, issue.line) == (str(tmp_path / file), path, line), str(issue)


def test_a_preset_error_is_reported_once_naming_every_recipe_using_it(tmp_path):
    p = setup(tmp_path, PRESET, {"s1": "", "s2": "", "s3": "#nopreset\n"})
    with pytest.raises(RecipeError, match=r"p.yaml:9: presets.fr_web.stages\[1\].min_doc_wordz: unknown key "
                       r"'min_doc_wordz'.*\(the pipeline's preset 'fr_web', used by s1.yaml, s2.yaml\)") as ei:
        load_pipeline(p)
    assert len(ei.value.issues) == 1, [str(i) for i in ei.value.issues]


def test_the_recipes_own_keys_stay_on_the_recipe(tmp_path):
    """The merge decides: a list the recipe gives replaces the preset's (so the preset's typo is not s1's), a key
    the recipe gives over a preset mapping is the recipe's."""
    body = PRESET + "    output: {max_rows_per_shard: 10}\n"
    p = setup(tmp_path, body, {"s1": "stages:\n  - {type: min_length, min_char: 5}\n",
                               "s2": "output: {max_rows_per_shard: -1}\n"})
    with pytest.raises(RecipeError) as ei:
        load_pipeline(p)
    got = {(i.file, i.path, i.line): i.message for i in ei.value.issues}
    assert set(got) == {(str(tmp_path / "s1.yaml"), "stages[0].min_char", 9),
                        (str(tmp_path / "s2.yaml"), "output.max_rows_per_shard", 8),
                        (str(p), "presets.fr_web.stages[1].min_doc_wordz", 9)}, [str(i) for i in ei.value.issues]
    assert got[(str(p), "presets.fr_web.stages[1].min_doc_wordz", 9)].endswith("used by s2.yaml)")
    assert re.search(r"did you mean 'min_chars'\?", got[(str(tmp_path / "s1.yaml"), "stages[0].min_char", 9)])


def test_load_source_with_the_pipeline_file_names_it(tmp_path):
    """load_source on its own keeps working; given the pipeline's file and line map it places preset issues there."""
    p = setup(tmp_path, PRESET, {"s1": ""})
    data, lines, _ = _read_yaml(p)
    _, issues = load_source(tmp_path / "s1.yaml", data.get("defaults"), data["presets"], p, lines)
    assert [(i.file, i.path, i.line) for i in issues] == [(str(p), "presets.fr_web.stages[1].min_doc_wordz", 9)]
    assert "used by s1.yaml" in issues[0].message
    _, alone = load_source(tmp_path / "s1.yaml")
    assert [i.path for i in alone] == ["preset"] and "unknown preset 'fr_web'" in alone[0].message


# ------------------------------------------------------------------------ metadata keys stages read
MD_BASE = """\
name: s1
category: web
languages: [fr]
license: CC-BY-4.0
input:
  type: jsonl
  paths: [data.jsonl]
"""


def md_recipe(tmp_path, stages: str, fields: str | None = None, base: str = MD_BASE):
    write(tmp_path / "data.jsonl", '{"id": "1", "text": "Bonjour"}\n')
    body = base + (f"  metadata_fields: {fields}\n" if fields else "") + "stages:\n" + stages
    return write(tmp_path / "s1.yaml", body)


MISSING_FIELDS = [
    # (stages, metadata_fields, yaml path, line, message)
    ("  - {type: parallel_join, field: text_en}\n", None, "stages[0].field", 9,
     r"'text_en' is not read from the records; add it to input.metadata_fields.*removed as `parallel_missing_translation`"),
    ("  - {type: parallel_join, field: text_en}\n", "[text_de]", "stages[0].field", 10, r"'text_en' is not read"),
    ("  - type: redpajama_rules\n", None, "stages[0].field", 9,
     r"'quality_signals' is not read from the records; add it to input.metadata_fields.*`redpajama_missing_signals`"),
    ("  - {type: redpajama_rules, missing: keep, field: signals}\n", "[quality_signals]", "stages[0].field", 10,
     r"'signals' is not read.*kept unchecked"),
    ("  - {type: license_rules, license_field: rights}\n", None, "stages[0].license_field", 9,
     r"'rights' is not read from the records; add it to input.metadata_fields"),
    ("  - type: license_rules\n    statement_field: footer\n", "[rights]", "stages[0].statement_field", 11,
     r"'footer' is not read from the records"),
    ("  - {type: license_rules, use_detected: true}\n", None, "stages[0].use_detected", 9,
     r"`use_detected` reads the metadata key `license_detected`, which only `type: html` and `type: warc`"),
    ("  - type: license_rules\n    gutenberg:\n      birth_year_field: born\n",
     "[author_death_year, usagerights]", "stages[0].gutenberg.birth_year_field", 12, r"'born' is not read"),
]


@pytest.mark.parametrize("stages, fields, path, line, message", MISSING_FIELDS)
def test_a_metadata_key_the_input_never_carries_is_a_recipe_error(tmp_path, stages, fields, path, line, message):
    src, issues = load_source(md_recipe(tmp_path, stages, fields))
    assert src is None
    matching = [i for i in issues if re.search(message, i.message)]
    assert len(matching) == 1, [str(i) for i in issues]
    assert (matching[0].path, matching[0].line) == (path, line), str(matching[0])


HTML_BASE = MD_BASE.replace("type: jsonl", "type: html").replace("[data.jsonl]", f'["{DATA}/licences/html/*.html"]')


@pytest.mark.parametrize("good, fields, base, bad", [
    ("  - {type: parallel_join, field: text_en}\n", "[text_en]", MD_BASE, "  - {type: parallel_join, field: text_de}\n"),
    ("  - type: redpajama_rules\n", "[extra, quality_signals]", MD_BASE, "  - {type: redpajama_rules, field: extra.q}\n"),
    ("  - {type: redpajama_rules, field: extra.q}\n", "[extra.q]", MD_BASE, "  - {type: redpajama_rules, field: extra}\n"),
    # keys the reader sets itself are always there
    ("  - {type: license_rules, license_field: license, statement_field: title}\n", None, MD_BASE,
     "  - {type: license_rules, license_field: licence, statement_field: title}\n"),
    # html pages carry trafilatura's detected licence; other inputs only through metadata_fields
    ("  - {type: license_rules, use_detected: true}\n", None, HTML_BASE,
     "  - {type: license_rules, use_detected: true, statement_field: footer}\n"),
])
def test_metadata_keys_the_input_carries_are_fine(tmp_path, good, fields, base, bad):
    src, issues = load_source(md_recipe(tmp_path, good, fields, base))
    assert issues == [] and src is not None
    src, issues = load_source(md_recipe(tmp_path, bad, fields, base))
    assert src is None and len(issues) == 1 and "is not read from the records" in issues[0].message, issues


def test_a_recipe_built_in_code_gets_the_metadata_check():
    with pytest.raises(ValidationError, match=r"stages\[0\].field: 'text_en' is not read from the records"):
        SourceRecipe.model_validate({"name": "t", "category": "web", "languages": ["fr"], "license": "CC-BY-4.0",
                                     "input": {"type": "jsonl", "paths": ["x.jsonl"]},
                                     "stages": [{"type": "parallel_join", "field": "text_en"}]})


def test_a_preset_stage_reading_a_key_one_recipe_lacks_names_that_recipe(tmp_path):
    body = "presets:\n  fr_web:\n    category: web\n    stages:\n      - {type: parallel_join, field: text_en}\n"
    p = setup(tmp_path, body, {"s1": "", "s2": "  metadata_fields: [text_en]\n"})
    with pytest.raises(RecipeError, match=r"p.yaml:7: presets.fr_web.stages\[0\].field: 'text_en' is not read from "
                       r"the records.*used by s1.yaml\)$") as ei:
        load_pipeline(p)
    assert len(ei.value.issues) == 1


# ------------------------------------------------------------------------ every problem in one run
ALL_AT_ONCE = [
    # (stages, expected (path, line, message) of every issue)
    (("  - {type: exact_dedup}\n  - {type: exact_dedup, lowercase: true}\n  - {type: min_length, min_chars: 5}\n"
      "  - {type: exact_dedup}\n  - {type: min_length, min_words: 2}\n"),
     [("stages[1]", 10, r"stage name 'exact_dedup' is used twice \(stages\[0\] and stages\[1\].*`name: exact_dedup_1`"),
      ("stages[3]", 12, r"stage name 'exact_dedup' is used twice \(stages\[0\] and stages\[3\]"),
      ("stages[4]", 13, r"stage name 'min_length' is used twice \(stages\[2\] and stages\[4\]")]),
    ("  - {type: min_length, min_chars: 20, name: read}\n  - {type: min_length, min_chars: 100, name: license_policy}\n",
     [("stages[0].name", 9, r"'read' is reserved for a built-in stage"),
      ("stages[1].name", 10, r"'license_policy' is reserved for a built-in stage")]),
    # field errors of other stages and the checks across stages, together
    (("  - {type: language_gate}\n  - {type: language_id, chunk: {mode: paragraph, size: 500}}\n"
      "  - {type: min_length, min_chars: -1, name: read}\n  - {type: parallel_join, field: text_en}\n"),
     [("stages[1].chunk", 10, r"`size` only applies to `mode: size`"),
      ("stages[2].min_chars", 11, r"greater than or equal to 0"),
      ("stages[2].name", 11, r"'read' is reserved"),
      ("stages[0]", 9, r"language_gate needs a `- type: language_id` stage before it"),
      ("stages[3].field", 12, r"'text_en' is not read from the records")]),
    # every gate out of order, not only the first
    (("  - type: language_gate\n  - {type: language_gate, name: g2}\n  - type: language_id\n"
      "  - {type: language_gate, name: g3}\n"),
     [("stages[0]", 9, r"language_gate needs a `- type: language_id`"),
      ("stages[1]", 10, r"language_gate needs a `- type: language_id`")]),
]


@pytest.mark.parametrize("stages, expected", ALL_AT_ONCE)
def test_every_recipe_problem_in_one_run_at_its_line(tmp_path, stages, expected):
    src, issues = load_source(md_recipe(tmp_path, stages))
    assert src is None and len(issues) == len(expected), [str(i) for i in issues]
    for issue, (path, line, message) in zip(issues, expected):
        assert (issue.path, issue.line) == (path, line) and re.search(message, issue.message), str(issue)
        assert issue.file == str(tmp_path / "s1.yaml")


def test_a_pipelines_problems_across_recipes_come_in_one_run(tmp_path):
    """Review 9: a stage error hid the same recipe's missing input, and a source name used twice surfaced only once
    both recipes loaded: three runs of `validate` for three problems."""
    from lucie_data.errors import RecipeError
    from lucie_data.recipe import load_pipeline

    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "fr_eltec_novels.jsonl"
    (tmp_path / "a.yaml").write_text("name: a\ncategory: book\nlanguages: [fr]\nlicense: CC0-1.0\n"
                                     "input: {type: jsonl, paths: [nonexistent/*.jsonl]}\n"
                                     "stages: [{type: min_length, min_chars: -5}]\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("name: a\ncategory: book\nlanguages: [fr]\nlicense: CC0-1.0\n"
                                     f"input: {{type: jsonl, paths: [{demo}]}}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [a.yaml, c.yaml]\n", encoding="utf-8")
    with pytest.raises(RecipeError) as exc:
        load_pipeline(tmp_path / "p.yaml")
    got = {(Path(i.file).name, i.path, i.line) for i in exc.value.issues}
    assert got == {("a.yaml", "stages[0].min_chars", 6), ("a.yaml", "input.paths[0]", 5), ("c.yaml", "name", 1)}


def test_a_preset_no_recipe_uses_is_checked_too(tmp_path):
    """Review 9: `category: nope` and a misspelt stage type in a preset no recipe used passed `validate`, to fail the
    day a recipe would use it."""
    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "fr_eltec_novels.jsonl"
    (tmp_path / "a.yaml").write_text("name: a\ncategory: book\nlanguages: [fr]\nlicense: CC0-1.0\n"
                                     f"input: {{type: jsonl, paths: [{demo}]}}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [a.yaml]\npresets:\n  unused:\n    category: nope\n"
                                     "    stagez: []\n    stages:\n      - {type: minhash_dedupp}\n"
                                     "      - {type: min_length, min_chars: -1}\n  fine: {stages: [{type: normalize}]}\n",
                                     encoding="utf-8")
    with pytest.raises(RecipeError) as exc:
        load_pipeline(tmp_path / "p.yaml")
    got = {(i.path, i.line) for i in exc.value.issues}
    assert got == {("presets.unused.category", 5), ("presets.unused.stagez", 6), ("presets.unused.stages[0]", 8),
                   ("presets.unused.stages[1].min_chars", 9)}
    assert "Did you mean 'minhash_dedup'?" in " ".join(i.message for i in exc.value.issues)


def test_ray_settings_under_a_local_executor_are_an_error(tmp_path):
    """Review 8: `address:` and `mem_per_cpu_gb:` under `type: local` were accepted and ignored."""
    demo = Path(__file__).resolve().parents[1] / "sources" / "demo" / "eltec_fr.yaml"
    (tmp_path / "p.yaml").write_text(f"name: p\nsources: [{demo}]\n"
                                     "executor: {type: local, address: 'auto', mem_per_cpu_gb: 4}\n", encoding="utf-8")
    with pytest.raises(RecipeError, match=r"executor: `address`, `mem_per_cpu_gb` only applies with `type: ray`"):
        load_pipeline(tmp_path / "p.yaml")
