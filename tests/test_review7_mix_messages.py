"""Messages a trainer's review found wrong or missing (rule 3): each names what is wrong and the fix."""
from pathlib import Path

import pytest

from lucie_data.cli import main
from lucie_data.mix.build import build_mix, load_mix_config
from lucie_data.mix.plan import MixPlanError, load_weights_yaml
from lucie_data.recipe import validate_paths

from .test_mix_build import make_build

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.getbasetemp() / "mixbuild")


def _run(capsys, *argv) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def test_mix_build_of_a_folder_that_is_no_build_says_so(tmp_path, capsys):
    """It said "no mix weights … pipeline file was not found"."""
    (tmp_path / "data").mkdir()
    code, out = _run(capsys, "mix", "build", tmp_path / "data")
    assert code == 2 and "is not a build folder (no sources/ inside): run `lucie-data build` first" in out, out


def test_a_target_given_twice_is_an_error(built, capsys):
    code, out = _run(capsys, "mix", "plan", "--build", built, "--target", "fr=0.4", "--target", "fr=0.5")
    assert code == 2 and "--target fr is given twice (0.4 and 0.5): give it once" in out, out


def test_keys_given_twice_in_yaml_are_errors(tmp_path):
    """YAML keeps the last of two equal keys without a word: `name:` twice in a recipe, `de--web` twice in factors."""
    w = tmp_path / "w.yaml"
    w.write_text("factors:\n  de--web: 1\n  en--web: 2\n  de--web: 3\n")
    with pytest.raises(MixPlanError, match=r"factors\.de--web is given twice \(lines 2 and 4\)"):
        load_weights_yaml(w)
    r = tmp_path / "r.yaml"
    r.write_text("name: a\ncategory: book\nlanguages: [fr]\nlicense: CC0-1.0\nname: b\n"
                 f"input: {{type: jsonl, paths: [{ROOT / 'data/demo/fr_eltec_novels.jsonl'}]}}\n")
    issues = validate_paths([r])
    assert [(i.path, i.line) for i in issues] == [("name", 5)] and "key given twice (lines 1 and 5)" in issues[0].message
    p = tmp_path / "p.yaml"
    p.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\nmix:\n  factors: {{fr--book: 1}}\n  seed: 1\n  seed: 2\n")
    assert [(i.path, i.line) for i in validate_paths([p])] == [("mix.seed", 6)]


def test_no_document_left_says_which_sources_are_not_redistributable(built, tmp_path):
    """It said "no document … under the licence policy" when the only sources left were `redistributable: false`."""
    cfg = load_mix_config(built, output=tmp_path / "m")
    cfg.policy = cfg.policy.model_copy(update={"allow_classes": ["public-domain"], "allow": [], "unknown": "deny"})
    with pytest.raises(MixPlanError, match=r"no document of .* may enter the mix: ocr_private is marked "
                                           r"`redistributable: false` and the other sources' documents are not allowed"):
        build_mix(built, cfg)


def test_mix_plan_says_what_it_leaves_out_and_which_pipeline_is_missing(built, tmp_path, capsys):
    import json
    import shutil

    code, out = _run(capsys, "mix", "plan", "--build", built)
    assert code == 0 and "note: ocr_private: " in out and "left out (not_redistributable)" in out, out
    b = tmp_path / "b"
    shutil.copytree(built, b, ignore=shutil.ignore_patterns("mix", "reports"))
    m = json.loads((b / "manifest.json").read_text())
    m["pipeline"]["file"] = str(tmp_path / "moved.yaml")
    (b / "manifest.json").write_text(json.dumps(m))
    code, out = _run(capsys, "mix", "plan", "--build", b)
    assert code == 2 and f"the build's pipeline {tmp_path / 'moved.yaml'} (recorded in its manifest.json), which is " \
                         "not there any more (pass --pipeline)" in out, out


def test_a_source_named_like_a_code_config_gets_a_source_config():
    from lucie_data.mix.card import card_configs

    shards = [{"path": "data/natural/fr/code-python/code-python--fr--000.parquet", "source": "code-python",
               "kind": "natural", "language": "fr"}]
    assert [c["config_name"] for c in card_configs({"shards": shards})] == ["default", "fr", "source-code-python"]


def test_mix_refuses_a_pipeline_with_a_key_given_twice(built, tmp_path, capsys):
    """Review: `deny: [CC0-1.0]` then `deny: []` in the pipeline given to `mix build`: the second won silently."""
    p = tmp_path / "p.yaml"
    p.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\nlicense_policy:\n  deny: [CC0-1.0]\n"
                 "  deny: []\nmix: {factors: {fr--book: 1}}\n")
    code, out = _run(capsys, "mix", "build", built, "--pipeline", p, "-o", tmp_path / "m")
    assert code == 2 and "license_policy.deny is given twice (lines 4 and 5)" in out, out
    assert not (tmp_path / "m").exists()


def test_a_folder_named_code_keeps_its_language_configs_apart_from_code():
    """Review: `publish_as: {web_cc: code}` gave natural German and English text the configs `code-de`, `code-en`."""
    from lucie_data.mix.card import card_configs

    shards = [{"path": f"data/natural/{lang}/code/web_cc--{lang}--000.parquet", "source": "web_cc", "kind": "natural",
               "language": lang} for lang in ("de", "en")]
    names = [c["config_name"] for c in card_configs({"shards": shards})]
    # (web_cc has no config of its own: its files are exactly source-code's)
    assert names == ["default", "de", "en", "source-code", "source-code-de", "source-code-en"]


def test_mix_refuses_publishing_into_another_sources_folder(built, tmp_path):
    cfg = load_mix_config(built, output=tmp_path / "m")
    cfg.publish_as = {"ocr_private": "x", "pud_en": "eltec_fr"}
    with pytest.raises(MixPlanError, match=r"mix\.publish_as: pud_en: eltec_fr is the name of another source"):
        build_mix(built, cfg)


def test_an_earlier_mix_with_an_unreadable_plan_is_named(built, tmp_path):
    out = tmp_path / "m"
    build_mix(built, load_mix_config(built, output=out))
    (out / "mix_plan.json").write_text("garbage\n")
    with pytest.raises(MixPlanError, match=r"its mix_plan\.json cannot be read \(JSONDecodeError\), so which files that "
                                           r"earlier mix wrote is unknown"):
        build_mix(built, load_mix_config(built, output=out))
    assert (out / "README.md").is_file()


def test_a_recipe_deleted_since_the_build_is_said(tmp_path):
    from .test_mix_build import make_build as mk

    b = mk(tmp_path)
    (tmp_path / "sources" / "demo" / "web_cc.yaml").unlink()
    logs: list[str] = []
    build_mix(b, load_mix_config(b, output=tmp_path / "m"), log=logs.append)
    assert any(m.startswith("warning: recipe file(s) not found, so not compared with what was built: web_cc (")
               for m in logs), logs


def test_a_bad_publish_as_name_in_mix_build_is_said_in_words(built, tmp_path, capsys):
    p = tmp_path / "p.yaml"
    p.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\nmix:\n  factors: {{fr--book: 1}}\n"
                 "  publish_as: {eltec_fr: a/b}\n")
    code, out = _run(capsys, "mix", "build", built, "--pipeline", p, "-o", tmp_path / "m")
    assert code == 2 and "mix.publish_as.eltec_fr: a name must be usable as a folder name" in out, out
    assert "String should match pattern" not in out
