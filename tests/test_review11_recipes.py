"""Engineer review, fifth round: a recipe the build refuses passed `validate`, and the build refused it only after
building the sources before it (rule 3: invalid recipes fail before any work starts)."""
from __future__ import annotations

import pytest

from lucie_data.cli import main


def _validate_recipe(tmp_path, capsys, stages: str) -> tuple[int, str]:
    """`validate` of a one-file text recipe with these stages (a YAML list): (exit code, output on one line)."""
    (tmp_path / "a.yaml").write_text(
        "name: a\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-4.0\ninput: {type: text, paths: [a.txt]}\n"
        f"stages:\n  - {stages}\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Le chat dort.\n", encoding="utf-8")
    capsys.readouterr()
    code = main(["validate", str(tmp_path / "a.yaml")])
    return code, " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("languages, stage, ok", [
    ("[fr]", "{type: language_id, backend: lingua}", False),
    ("[und]", "{type: language_id, second_opinion: lingua}", False),
    ("[fr]", "{type: language_id, backend: lingua, candidates: [fr, en]}", True),
    ("[fr, en]", "{type: language_id, backend: lingua}", True),
    ("[fr]", "{type: language_id}", True),
])
def test_lingua_with_fewer_than_two_languages_is_a_validation_error(tmp_path, capsys, languages, stage, ok):
    (tmp_path / "a.yaml").write_text(
        "name: a\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-4.0\ninput: {type: text, paths: [a.txt]}\n",
        encoding="utf-8")
    (tmp_path / "a.txt").write_text("Le chat dort sur le canapé du salon.\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        f"name: b\ncategory: web\nlanguages: {languages}\nlicense: CC-BY-4.0\ninput: {{type: text, paths: [a.txt]}}\n"
        f"stages:\n  - {stage}\n", encoding="utf-8")
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: p\nsources: [a.yaml, b.yaml]\noutput_dir: out\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(pipe)]) == (0 if ok else 2)
    if ok:
        return
    err = " ".join(capsys.readouterr().out.split())
    assert "b.yaml:7: stages[0]:" in err and "lingua needs at least 2 languages to choose from: set `candidates:" in err
    assert main(["build", str(pipe)]) == 2
    assert not (tmp_path / "out" / "sources" / "a").exists()  # nothing built before the refusal


@pytest.mark.parametrize("gate, key, why", [
    ("{allow: [CC-BY-NC-4.0]}", "allow", "CC-BY-NC-4.0 is denied by it"),
    ("{allow_classes: [public-domain, permissive, share-alike, non-commercial]}", "allow_classes",
     "class non-commercial is not among its allow_classes"),
    ("{unknown: allow}", "unknown", "it says `unknown: deny`"),
])
def test_a_source_policy_that_would_loosen_the_pipelines_is_a_validation_error(tmp_path, capsys, gate, key, why):
    """New-user review: a recipe's license_gate policy allowing what the pipeline's policy denies was accepted; both
    apply, so the source's 105 documents were all removed, exit 0, no word."""
    (tmp_path / "a.yaml").write_text(
        "name: a\ncategory: newspaper\nlanguages: [fr]\nlicense: CC-BY-NC-4.0\ninput: {type: text, paths: [a.txt]}\n"
        f"stages:\n  - type: license_gate\n    policy: {gate}\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("Le chat dort sur le canapé du salon.\n", encoding="utf-8")
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: p\nsources: [a.yaml]\noutput_dir: out\n"
                    "license_policy: {allow_classes: [public-domain, permissive, share-alike], unknown: deny}\n",
                    encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(pipe)]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert f"a.yaml:8: stages[0].policy.{key}: this source's policy cannot loosen the pipeline's license_policy" in out
    assert why in out
    # a policy that only restricts is fine
    (tmp_path / "a.yaml").write_text((tmp_path / "a.yaml").read_text().replace(gate, "{deny: [CC-BY-SA-4.0]}"))
    assert main(["validate", str(pipe)]) == 0


@pytest.mark.parametrize("input_, match", [
    ("{type: html, paths: [a.html], streaming: true, limit: 5}",
     r"input.streaming: `streaming` only applies to input.type hf_dataset, not html: remove it .* input.limit: "),
    ("{type: jsonl, paths: [a.jsonl], favor_precision: false}",
     r"input.favor_precision: `favor_precision` only applies to input.type html / warc, not jsonl: remove it"),
    ("{type: html, paths: [a.html], license_field: license}",
     r"input.license_field: `license_field: license` reads a field of each record, and html pages without a sidecar "
     r"have only date, license_detected, sitename, title, url: give a `sidecar:`"),
    ("{type: text, paths: [a.txt], language_field: lang}",
     r"input.language_field: `language_field: lang` names a record field, and a `type: text` file is one document "
     r"with only its text, its path \(id\) and its name \(title\): remove `language_field`"),
    ("{type: text, paths: [a.txt], text_field: body}", r"input.text_field: `text_field: body` names a record field"),
    ("{type: jsonl, paths: [a.jsonl], sidecar_key: file}",
     r"input.sidecar_key: `sidecar_key` names the sidecar's join field, and there is no `sidecar:`"),
])
def test_input_options_that_do_nothing_for_the_type_are_errors(tmp_path, capsys, input_, match):
    """New-user review: `streaming:`/`limit:`/`dataset:` on html, fasttext-only options, were accepted and ignored;
    `license_field` on html pages without a sidecar passed validate, then the build extracted every page and failed."""
    import re

    for f in ("a.html", "a.jsonl", "a.txt"):
        (tmp_path / f).write_text("x\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text(
        f"name: a\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-4.0\ninput: {input_}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "a.yaml")]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert re.search(r"a\.yaml:5: " + match, out), out


@pytest.mark.parametrize("input_", ["{type: html, paths: [a.html], license_field: license_detected}",
                                    "{type: text, paths: [a.txt], text_field: text, id_field: id}",
                                    "{type: html, paths: [a.html], favor_precision: false}",
                                    "{type: jsonl, paths: [a.jsonl]}"])
def test_input_options_that_work_or_come_from_the_pipelines_defaults_pass(tmp_path, capsys, input_):
    """Code review: pipeline `defaults:` are merged under every recipe, so a pipeline-wide `favor_precision` (for its
    html sources) was an error in each jsonl recipe, at a line of the recipe that did not hold it; and html pages have
    `license_detected` (trafilatura's) without a sidecar."""
    for f in ("a.html", "a.jsonl", "a.txt"):
        (tmp_path / f).write_text("x\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text(
        f"name: a\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-4.0\ninput: {input_}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [a.yaml]\noutput_dir: out\n"
                                     "defaults: {input: {favor_precision: false, include_tables: false}}\n",
                                     encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "p.yaml")]) == 0, capsys.readouterr().out


def test_model_license_without_a_model_is_an_error(tmp_path, capsys):
    """New-user review: `model_license:` without `model:` was accepted and ignored (the bundled model's licence is
    recorded instead)."""
    code, out = _validate_recipe(tmp_path, capsys, "{type: language_id, model_license: MIT}")
    assert code == 2 and "a.yaml:7: stages[0]" in out and "`model_license` only applies with `model:`" in out, out


def test_validate_and_build_without_arguments_see_pipelines_in_subfolders(tmp_path, capsys, monkeypatch):
    """Verification review: with pipelines/ holding only subfolders (pipelines/team/mine.yaml), `validate` checked the
    bundled pipelines and said OK, and `build` built the bundled demo."""
    (tmp_path / "pipelines" / "team").mkdir(parents=True)
    (tmp_path / "pipelines" / "team" / "mine.yaml").write_text("name: broken\nsources: [../nothing/*.yaml]\n",
                                                                encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["validate"]) == 2
    assert "mine.yaml" in capsys.readouterr().out
    assert main(["build"]) == 2
    assert "name the one to build" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "build").exists()


def test_lingua_candidates_listed_twice_are_one(tmp_path, capsys):
    code, out = _validate_recipe(tmp_path, capsys, "{type: language_id, backend: lingua, candidates: [fr, fr]}")
    assert code == 2 and "lingua needs at least 2 different `candidates`" in out


def test_a_loosening_gate_policy_from_a_preset_is_placed_in_the_preset(tmp_path, capsys):
    """Verification review: a wider gate policy that a pipeline preset gives was reported in the recipe file, without
    a line; it is placed at the preset's line, naming the recipe using it, as other preset problems are."""
    (tmp_path / "a.yaml").write_text(
        "name: a\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-4.0\npreset: open\ninput: {type: text, paths: [a.txt]}\n",
        encoding="utf-8")
    (tmp_path / "a.txt").write_text("Le chat dort.\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(
        "name: p\nsources: [a.yaml]\noutput_dir: out\n"
        "license_policy: {allow_classes: [public-domain, permissive, share-alike], unknown: deny}\n"
        "presets:\n  open:\n    stages:\n      - type: license_gate\n        policy: {unknown: allow}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "p.yaml")]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert "p.yaml:9: presets.open.stages[0].policy.unknown" in out and "cannot loosen" in out, out
