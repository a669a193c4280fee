"""Engineer review, fifth round: a recipe the build refuses passed `validate`, and the build refused it only after
building the sources before it (rule 3: invalid recipes fail before any work starts)."""
from __future__ import annotations

import pytest

from lucie_data.cli import main


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
