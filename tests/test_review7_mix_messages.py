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
    plan = (out / "mix_plan.json").read_text()
    for bad, kind in (("garbage\n", "JSONDecodeError"), ("{}", "KeyError"), ('{"shards": 3}', "TypeError")):
        (out / "mix_plan.json").write_text(bad)
        with pytest.raises(MixPlanError, match=rf"its mix_plan\.json cannot be read \({kind}\), so which files that "
                                               r"earlier mix wrote is unknown"):
            build_mix(built, load_mix_config(built, output=out))
        assert (out / "README.md").is_file()
    # a folder linked into the earlier mix is not the mix's (os.walk lists it as a folder): named, not deleted
    (out / "mix_plan.json").write_text(plan)
    (tmp_path / "elsewhere").mkdir()
    (out / "datalink").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(MixPlanError, match=r"holds files the earlier mix did not write \(datalink\)"):
        build_mix(built, load_mix_config(built, output=out))
    assert (out / "datalink").is_symlink()


def test_a_recipe_gone_since_the_build_is_judged_through_the_pipeline(tmp_path):
    """Review: a recipe deleted (or renamed, with another licence) since the build was mixed as built. The build's
    pipeline is resolved again: a recipe it can no longer find stops the mix, one renamed is compared by its source's
    name; only a build whose pipeline is gone too (moved to another machine) is mixed as built, with a warning."""
    import shutil

    from .test_mix_build import make_build as mk

    b = mk(tmp_path)
    web = tmp_path / "sources" / "demo" / "web_cc.yaml"
    text = web.read_text(encoding="utf-8")
    web.unlink()
    with pytest.raises(MixPlanError, match=r"(?s)the build's pipeline .*mixtest\.yaml no longer loads.*no recipe matches "
                                           r"'\.\./sources/demo/web_cc\.yaml'"):
        build_mix(b, load_mix_config(b, output=tmp_path / "m"))
    # renamed, same name inside, another licence: found by its name, and refused
    pipe = tmp_path / "pipelines" / "mixtest.yaml"
    pipe.write_text(pipe.read_text(encoding="utf-8").replace("web_cc.yaml", "web_cc_v2.yaml"), encoding="utf-8")
    (tmp_path / "sources" / "demo" / "web_cc_v2.yaml").write_text(
        text.replace("license: CC-BY-4.0 ", "license: CC-BY-NC-4.0 "), encoding="utf-8")
    with pytest.raises(MixPlanError, match=r"recipe\(s\) edited since the build: web_cc \(.*web_cc_v2\.yaml, as "
                                           r"mixtest\.yaml resolves it\)"):
        build_mix(b, load_mix_config(b, output=tmp_path / "m"))
    # the build moved to another machine: neither the pipeline nor the recipes are there to compare with
    moved = tmp_path / "moved"
    shutil.copytree(b, moved)
    shutil.rmtree(tmp_path / "sources")
    pipe.unlink()
    w = tmp_path / "w.yaml"
    w.write_text("factors: {}\ndefault_factor: 1\n")
    logs: list[str] = []
    build_mix(moved, load_mix_config(moved, weights=w, output=tmp_path / "m"), log=logs.append)
    assert any(m.startswith("warning: recipe file(s) not found, so not compared with what was built:") for m in logs), logs


def test_a_bad_publish_as_name_in_mix_build_is_said_in_words(built, tmp_path, capsys):
    p = tmp_path / "p.yaml"
    p.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\nmix:\n  factors: {{fr--book: 1}}\n"
                 "  publish_as: {eltec_fr: a/b}\n")
    code, out = _run(capsys, "mix", "build", built, "--pipeline", p, "-o", tmp_path / "m")
    assert code == 2 and "mix.publish_as.eltec_fr: a name must be usable as a folder name" in out, out
    assert "String should match pattern" not in out


@pytest.mark.parametrize("text, match", [
    ("licence_policy: {deny: [CC-BY-SA-3.0]}\n", r"unknown key 'licence_policy' \(did you mean 'license_policy'\?\)"),
    ("license_policy: {denied: [CC-BY-SA-3.0]}\n", r"invalid license_policy \(pipeline p\.yaml\): unknown key 'denied' \(allowed: "),
])
def test_mix_refuses_a_pipeline_key_it_would_ignore(built, tmp_path, capsys, text, match):
    """Review: a misspelt `licence_policy:` in the pipeline given to `mix build` was ignored (the manifest's policy
    applied, and the rows it was meant to deny were published)."""
    p = tmp_path / "p.yaml"
    p.write_text(f"name: p\nsources: [{ROOT / 'sources/demo/eltec_fr.yaml'}]\n{text}mix: {{factors: {{fr--book: 1}}}}\n")
    code, out = _run(capsys, "mix", "build", built, "--pipeline", p, "-o", tmp_path / "m")
    import re

    assert code == 2 and re.search(match, " ".join(out.split())), out


def test_a_shard_the_manifest_does_not_list_stops_the_mix(built, tmp_path):
    import shutil

    b = tmp_path / "b"
    shutil.copytree(built, b, ignore=shutil.ignore_patterns("mix", "reports"))
    shard = sorted((b / "sources" / "eltec_fr" / "data").glob("*/*.parquet"))[0]
    shutil.copy(shard, shard.with_name("00002-0000.parquet"))
    with pytest.raises(MixPlanError, match=r"00002-0000\.parquet is not a shard the build wrote \(manifest\.json does "
                                           r"not list it\).*rebuild source eltec_fr"):
        build_mix(b, load_mix_config(b, output=tmp_path / "m"))


@pytest.mark.parametrize(("edit", "match"), [
    (lambda m: m["shards"][0].update(bytes=None), r"shards\[0\]\.bytes is null, expected the shard's size in bytes"),
    (lambda m: m["shards"][0].update(sha256="0" * 63), r"shards\[0\]\.sha256 is \"0{63}\", expected the shard's SHA-256"),
    (lambda m: m["shards"][1].pop("path"), r"shards\[1\]\.path is null, expected the shard's path"),
    (lambda m: m.pop("shards"), r"manifest\.json: shards is null, expected the list of the build's shards"),
    (lambda m: m["shards"].__setitem__(0, "x"), r"shards\[0\] is \"x\", expected an object"),
], ids=["bytes_null", "short_sha256", "no_path", "no_shards", "not_an_object"])
def test_a_damaged_shard_entry_stops_the_mix_instead_of_its_checks(built, tmp_path, edit, match):
    """Review 49: one entry the mix could not read (`bytes: null`) made it drop every entry, and with them its two
    checks: a copy of a shard dropped beside it (46 rows, ids twice) and a shard rewritten under its old licence
    label were mixed, "licence check passed". The entry is refused, naming its key."""
    import json
    import shutil

    b = tmp_path / "b"
    shutil.copytree(built, b, ignore=shutil.ignore_patterns("mix", "reports"))
    shard = sorted((b / "sources" / "eltec_fr" / "data").glob("*/*.parquet"))[0]
    shutil.copy(shard, shard.with_name("00002-0000.parquet"))
    m = json.loads((b / "manifest.json").read_text())
    edit(m)
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(MixPlanError, match=match + r".*edited or damaged.*rerun `lucie-data build`"):
        build_mix(b, load_mix_config(b, output=tmp_path / "m"))
    assert not (tmp_path / "m").exists()


def test_a_folder_named_like_anothers_language_config_does_not_take_it():
    """Review: `publish_as: {pud_en: web_cc-en}` made the config `web_cc-en` load pud_en's rows, and web_cc's English
    part had no config."""
    from lucie_data.mix.card import card_configs

    shards = [{"path": f"data/natural/{lang}/web_cc/web_cc--{lang}--000.parquet", "source": "web_cc", "kind": "natural",
               "language": lang} for lang in ("de", "en")]
    shards.append({"path": "data/natural/en/web_cc-en/pud_en--en--000.parquet", "source": "pud_en", "kind": "natural",
                   "language": "en"})
    got = {c["config_name"]: c["data_files"][0]["path"] for c in card_configs({"shards": shards})}
    assert got["web_cc-en"] == "data/*/*/web_cc-en/*.parquet"
    assert got["source-web_cc-en"] == "data/natural/en/web_cc/*.parquet" and got["web_cc-de"] == "data/natural/de/web_cc/*.parquet"
