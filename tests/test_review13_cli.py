"""Review (datatrove user): `lucie-data stages` showed `default None` for every Gopher, C4 and FineWeb threshold, so
the values applied per language (some not datatrove's: English max_non_alpha_words_ratio 0.7, FineWeb-2's
short-line rule off for fr/de/es/it) were only in assets/quality/presets.yaml."""
import re
from pathlib import Path

from lucie_data.cli import main
from lucie_data.steps.quality.base import preset_params


def _block(out: str, stage: str) -> str:
    m = re.search(rf"^{stage}  .*?(?=^\S)", out, re.S | re.M)
    assert m, stage
    return m.group(0)


def test_stages_prints_the_presets_each_language_applies(capsys):
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    for stage in ("gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality"):
        block = _block(out, stage)
        assert "presets: what a threshold left unset (None) is" in block, block
        for lang in ("en", "fr", "de", "es", "it"):
            line = next(x for x in block.splitlines() if x.strip().startswith(f"{lang}: "))
            for key, value in preset_params(stage, lang).items():
                if key != "stop_words" and not isinstance(value, list):
                    assert f"{key}={value}" in line, (stage, lang, key, line)
    gq = _block(out, "gopher_quality")
    assert "max_non_alpha_words_ratio=0.7" in gq and "stop_words: 18 words" in gq
    # (newcomer review: it printed 999, FineWeb-2's way of turning the rule off, a value a recipe may not write)
    assert "short_line_thr=1," in _block(out, "fineweb_quality") and "=999" not in _block(out, "fineweb_quality")
    assert "presets:" not in _block(out, "exact_dedup")  # stages without presets print none


def test_boilerplate_repeated_lines_on_code_must_be_chosen(tmp_path, capsys):
    """Review (datatrove user): on /work/shared/corpora/code_permissive.jsonl (MIT/Apache/BSD code), boilerplate's
    default `repeated_lines` deleted `return false;`, `return NULL;`, `goto fail;` from 10 files. In a code source the
    rule must be set explicitly."""
    corpus = Path("/work/shared/corpora/code_permissive.jsonl")
    if not corpus.exists():  # a checkout next to ../shared
        corpus = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "code_permissive.jsonl"
    base = (f"name: code\ncategory: programming\nlanguages: [code:c]\nlicense: MIT\n"
            f"input: {{type: jsonl, paths: [{corpus}]}}\nstages:\n")
    cases = {"default": ("  - type: boilerplate\n", 2), "explicit_on": ("  - type: boilerplate\n    repeated_lines: true\n", 0),
             "off": ("  - type: boilerplate\n    repeated_lines: false\n", 0)}
    for name, (stages, code) in cases.items():
        f = tmp_path / f"{name}.yaml"
        f.write_text(base + stages, encoding="utf-8")
        assert main(["validate", str(f)]) == code, name
        out = capsys.readouterr()
        if code:
            assert f"{name}.yaml:7: stages[0]: boilerplate's `repeated_lines` (on by default)" in out.out + out.err
    prose = tmp_path / "prose.yaml"
    prose.write_text(base.replace("category: programming", "category: web").replace("[code:c]", "[fr]")
                     .replace("license: MIT", "license: CC-BY-4.0") + "  - type: boilerplate\n", encoding="utf-8")
    assert main(["validate", str(prose)]) == 0


def test_a_source_naming_a_class_the_pipeline_allows_by_id_narrows_it(tmp_path, capsys):
    """Left open last session: a pipeline allowing share-alike by id only (`allow: [CC-BY-SA-4.0]`) and a source
    gate with `allow_classes: [share-alike]` (narrowing the source to share-alike) was refused as loosening. It is
    refused only when the pipeline allows no licence of that class at all."""
    text = tmp_path / "a.txt"
    text.write_text("Le chat dort sur le canapé du salon.\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text(
        "name: a\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\ninput: {type: text, paths: [a.txt]}\n"
        "stages:\n  - type: license_gate\n    policy: {allow_classes: [share-alike]}\n", encoding="utf-8")
    pipe = tmp_path / "p.yaml"
    for allow, code in (("[CC-BY-SA-4.0]", 0), ("[MIT]", 2)):
        pipe.write_text("name: p\nsources: [a.yaml]\noutput_dir: out\n"
                        f"license_policy: {{allow_classes: [public-domain, permissive], allow: {allow}}}\n",
                        encoding="utf-8")
        capsys.readouterr()
        assert main(["validate", str(pipe)]) == code, allow
        if code:
            out = " ".join(capsys.readouterr().out.split())
            assert "a.yaml:8: stages[0].policy.allow_classes: this source's policy cannot loosen" in out
            assert "class share-alike is not among its allow_classes, nor any licence of it in its allow" in out
    pipe.write_text(pipe.read_text().replace("[MIT]", "[CC-BY-SA-4.0]"), encoding="utf-8")
    assert main(["build", str(pipe)]) == 0


def test_the_source_schema_accepts_a_recipe_that_takes_its_keys_from_a_preset(capsys):
    """Newcomer review: `schema source` required `category`, `languages` and `license`, so an editor underlined as
    errors recipes that take them from a pipeline's `preset:`/`defaults:`, which `validate` accepts. Only `name` is
    required in a recipe file; every shipped recipe still validates against the schema."""
    import json

    import jsonschema
    import yaml

    from lucie_data.cli import main

    assert main(["schema", "source"]) == 0
    schema = json.loads(capsys.readouterr().out)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({"name": "web_fr_p2", "preset": "web_fr",
                                           "input": {"type": "jsonl", "paths": ["x.jsonl"]}}))
    assert any("'name' is a required property" in e.message for e in validator.iter_errors({"preset": "web_fr"}))
    root = Path(__file__).resolve().parents[1]
    for f in sorted((root / "sources").glob("*/*.yaml")):
        assert not list(validator.iter_errors(yaml.safe_load(f.read_text(encoding="utf-8")))), f
