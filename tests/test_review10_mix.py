"""Review 10 (this session's user review): the mix and push."""
import hashlib
import json
from pathlib import Path

import pytest

from lucie_data.cli import main
from lucie_data.mix.build import build_mix, load_mix_config
from lucie_data.mix.plan import MixPlanError

from .test_mix_build import make_build


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.getbasetemp() / "mixbuild")


def test_a_rebuild_keeps_a_card_edited_by_hand(built, tmp_path, capsys):
    """A trainer completed README.md by hand before pushing; a mix rebuild replaced it without a word."""
    out = tmp_path / "m"
    plan = build_mix(built, load_mix_config(built, output=out))
    card = out / "README.md"
    assert plan["card_sha256"] == hashlib.sha256(card.read_bytes()).hexdigest()
    assert json.loads((out / "mix_plan.json").read_text())["card_sha256"] == plan["card_sha256"]
    build_mix(built, load_mix_config(built, output=out))  # untouched card: replaced as before
    edited = card.read_text() + "\n## Intended use\nOur notes.\n"
    card.write_text(edited)
    with pytest.raises(MixPlanError, match=r"README.md was edited since `lucie-data mix build` wrote it .* Copy "
                                           r"README.md out of the folder"):
        build_mix(built, load_mix_config(built, output=out))
    assert card.read_text() == edited
    capsys.readouterr()
    assert main(["mix", "build", str(built), "--output", str(out)]) == 2
    assert "README.md was edited" in capsys.readouterr().err
    card.unlink()  # the documented way on: the card taken out, the mix rebuilt with a new one
    build_mix(built, load_mix_config(built, output=out))
    assert hashlib.sha256(card.read_bytes()).hexdigest() == plan["card_sha256"]


def test_push_refusals_exit_2_and_hub_failures_exit_1(tmp_path, capsys):
    """A refused push exited 1 like a Hub failure, so a script could not tell "fix the input" from "push again"."""
    from lucie_data.hub import PushError, PushFailed

    assert PushError("x").exit_code == 2 and PushFailed("x").exit_code == 1
    capsys.readouterr()
    assert main(["push", str(tmp_path), "--repo-id", "org/name", "--dry-run"]) == 2  # no mix there
    assert "holds no built mix" in capsys.readouterr().err


def _copy(built: Path, tmp_path: Path) -> Path:
    import shutil

    b = tmp_path / "build"
    shutil.copytree(built, b)
    return b


def test_a_shard_whose_text_changed_since_the_build_is_refused(built, tmp_path, capsys):
    """An auditor pasted a removed NC text into a kept row, its CC-BY-SA label kept: the mix read the shard (its summary
    no longer described it), found only allowed licences and published the text, "licence check passed"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    b = _copy(built, tmp_path)
    shard = sorted((b / "sources" / "pud_en" / "data").glob("*/*.parquet"))[0]
    t = pq.read_table(shard)
    text = t.column("text").to_pylist()
    text[0] = "Texte sous licence CC BY-NC-SA, retiré par la porte de licence."
    pq.write_table(t.set_column(t.schema.get_field_index("text"), "text", pa.array(text, pa.string())), shard,
                   compression="zstd")
    out = tmp_path / "m"
    with pytest.raises(MixPlanError, match=r"pud_en/data/en/\S+\.parquet changed since the build \(sha256 not the one "
                                           r"manifest\.json records\).* --only pud_en`; then mix"):
        build_mix(b, load_mix_config(b, output=out))
    assert not out.exists()
    capsys.readouterr()
    assert main(["mix", "build", str(b), "--output", str(out)]) == 2
    assert "changed since the build" in capsys.readouterr().err


@pytest.mark.parametrize("old_manifest", [False, True])
def test_an_edited_resolved_recipe_is_refused(built, tmp_path, old_manifest):
    """`redistributable: false` turned to true in sources/<name>/recipe.resolved.json put a private source in the mix
    (the mix reads the flag there); a build made before the manifest recorded that file's sha256 is judged by the
    resolved recipe's hash."""
    b = _copy(built, tmp_path)
    resolved = b / "sources" / "ocr_private" / "recipe.resolved.json"
    text = resolved.read_text()
    assert '"redistributable": false' in text
    resolved.write_text(text.replace('"redistributable": false', '"redistributable": true'))
    if old_manifest:
        m = json.loads((b / "manifest.json").read_text())
        for s in m["sources"]:
            del s["resolved_recipe_file_sha256"]
        (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(MixPlanError, match=r"ocr_private/recipe\.resolved\.json is not the recipe the build recorded "
                                           r"in \S+manifest\.json .*Rerun `lucie-data build`"):
        build_mix(b, load_mix_config(b, output=tmp_path / "m"))
    resolved.write_text(text)  # put back: mixed as before
    plan = build_mix(b, load_mix_config(b, output=tmp_path / "m"))
    assert plan["license_check"]["excluded"]["sources"]["ocr_private"]["reason"] == "not_redistributable"


def test_a_rebuild_writes_an_edited_resolved_recipe_again(tmp_path, capsys):
    """The fix the mix's message gives: `lucie-data build` (the source up to date) writes the file again from the
    recipe, with a warning, and the mix goes on."""
    from lucie_data.cli import main as cli

    root = Path(__file__).resolve().parents[1]
    recipe = tmp_path / "pud_en.yaml"
    recipe.write_text((root / "sources" / "demo" / "pud_en.yaml").read_text().replace(
        "../../data/", str(root / "data") + "/"))
    out = tmp_path / "b"
    assert cli(["build", str(recipe), "--output", str(out)]) == 0
    resolved = out / "sources" / "pud_en" / "recipe.resolved.json"
    good = resolved.read_text()
    resolved.write_text(good.replace('"redistributable": true', '"redistributable": false'))
    capsys.readouterr()
    assert cli(["build", str(recipe), "--output", str(out)]) == 0
    said = capsys.readouterr()
    assert "did not hold the recipe as built" in said.out + said.err
    assert resolved.read_text() == good
    from lucie_data.mix.stats import read_sources

    assert [s.name for s in read_sources(out)] == ["pud_en"]  # what the mix reads: accepted again


def test_a_source_folder_missing_from_the_build_is_refused(built, tmp_path):
    """`sources/pud_en` renamed away: the mix went on with the other sources, exit 0, its documents gone unsaid."""
    import os

    b = _copy(built, tmp_path)
    os.replace(b / "sources" / "pud_en", b / "sources_pud_en_moved")
    with pytest.raises(MixPlanError, match=r"manifest\.json lists source\(s\) pud_en but \S+/sources has no folder "
                                           r"for it: .* --only pud_en`"):
        build_mix(b, load_mix_config(b, output=tmp_path / "m"))


def test_a_mix_failing_its_licence_check_does_not_take_the_outputs_place(built, tmp_path, capsys):
    """A shard recorded as eltec_fr's holding the private source's rows: the read-back check failed, but the failed mix
    replaced the output anyway, its private rows loadable with `load_dataset(folder)`. Now the output stays as it
    was and the rejected mix is kept beside it for inspection."""
    import shutil

    from .test_mix_build import _as_built

    b = _copy(built, tmp_path)
    out = tmp_path / "m"
    good = build_mix(b, load_mix_config(b, output=out))
    shard = sorted((b / "sources" / "eltec_fr" / "data").glob("*/*.parquet"))[0]
    private = sorted((b / "sources" / "ocr_private" / "data").glob("*/*.parquet"))[0]
    shutil.copyfile(private, shard)
    _as_built(b, shard)
    capsys.readouterr()
    assert main(["mix", "build", str(b), "--output", str(out)]) == 1
    said = capsys.readouterr().out
    assert "licence check FAILED" in said and f"{out} was left as it was" in said and f"{out}.rejected" in said
    assert json.loads((out / "mix_plan.json").read_text())["shards"] == good["shards"]  # the good mix, untouched
    rejected = json.loads((tmp_path / "m.rejected" / "mix_plan.json").read_text())["license_check"]
    assert rejected["passed"] is False and {v["source"] for v in rejected["violations"]} == {"ocr_private"}
    shard.write_bytes((built / shard.relative_to(b)).read_bytes())  # the build's file back: passes, rejected removed
    _as_built(b, shard)
    assert build_mix(b, load_mix_config(b, output=out))["license_check"]["passed"]
    assert not (tmp_path / "m.rejected").exists()


def test_push_refuses_a_card_whose_licence_or_configs_were_edited(built, tmp_path):
    """`license: other` changed to `cc-by-4.0` by hand was published (a dry run passed); prose edits still are."""
    from lucie_data.hub import PushError, push

    out = tmp_path / "m"
    build_mix(built, load_mix_config(built, output=out))
    card = out / "README.md"
    text = card.read_text()
    lic = next(line for line in text.splitlines() if line.startswith("license:"))
    quiet = {"repo_id": "org/name", "dry_run": True, "log": lambda _m: None}
    card.write_text(text + "\n## Intended use\nOur notes.\n")  # prose: fine
    push(out, **quiet)
    card.write_text(text.replace(lic, "license: cc0-1.0", 1))
    with pytest.raises(PushError, match=r"README\.md declares `license` other than the mix's checked shards give "
                                        r"\(license: 'cc0-1\.0' where mix_plan\.json gives") as exc:
        push(out, **quiet)
    assert exc.value.exit_code == 2
    card.write_text(text.replace("config_name: fr\n", "config_name: fr-all\n", 1))
    assert "config_name: fr\n" in text
    with pytest.raises(PushError, match=r"declares `configs`"):
        push(out, **quiet)


def test_an_older_build_with_gopher_quality_is_not_refused(built, tmp_path):
    """The older-build fallback re-validated recipe.resolved.json as a recipe, which a gopher_quality stage's
    `stop_words: null` fails: every such build was refused as edited."""
    b = _copy(built, tmp_path)
    m = json.loads((b / "manifest.json").read_text())
    for s in m["sources"]:
        del s["resolved_recipe_file_sha256"]
    (b / "manifest.json").write_text(json.dumps(m))
    resolved = b / "sources" / "pud_en" / "recipe.resolved.json"
    data = json.loads(resolved.read_text())
    data["recipe"]["stages"].append({"type": "gopher_quality", "stop_words": None})
    resolved.write_text(json.dumps(data, indent=2, sort_keys=True))
    build_mix(b, load_mix_config(b, output=tmp_path / "m"))


def test_the_card_gives_the_shares_the_files_hold_beside_the_plan(built, tmp_path):
    """The card's "% of mix" was the plan's; the files, where fractions draw documents, hold other shares."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = tmp_path / "m"
    plan = build_mix(built, load_mix_config(built, output=out))
    shares: dict[str, int] = {}
    for s in plan["shards"]:  # counted from the files themselves
        lang = "code" if s["kind"] == "code" else s["language"]
        shares[lang] = shares.get(lang, 0) + pc.sum(pq.read_table(out / s["path"], columns=["n_tokens"])[0]).as_py()
    total = sum(shares.values())
    card = (out / "README.md").read_text()
    assert "| language | tokens | tokens seen (planned) | % planned | % in the files |" in card
    for lang, row in plan["plan"]["languages"].items():
        line = next(x for x in card.splitlines() if x.startswith(f"| {lang} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert float(cells[3]) == round(row["share"] * 100, 3)
        assert abs(float(cells[4]) - shares.get(lang, 0) / total * 100) < 0.0011, (lang, cells, shares)
    differ = [lang for lang, row in plan["plan"]["languages"].items()
              if abs(row["share"] - shares.get(lang, 0) / total) > 1e-4]
    assert differ  # the test weights have fractional epochs: plan and files differ somewhere


def test_the_card_says_targets_were_asked_for_and_missed(built, tmp_path):
    """Targets asked for and missed were said only in mix_plan.json and a console warning, not on the card."""
    w = tmp_path / "ones.yaml"
    w.write_text("default_factor: 1\nfactors: {}\n")
    cfg = load_mix_config(built, weights=w, output=tmp_path / "m")
    cfg.targets, cfg.max_epochs = {"de": 0.6}, 1.5
    plan = build_mix(built, cfg)
    card = (tmp_path / "m" / "README.md").read_text()
    assert "| % in the files | target % |" in card
    assert any(x.startswith("| de |") and x.rstrip().endswith("| 60.000 |") for x in card.splitlines())
    assert "The targets could not all be met; this is the closest plan: de reaches at most" in card
    assert plan["plan"]["targets"]["feasible"] is False


def test_trace_names_a_removed_document_found_in_the_mix_folder(built, tmp_path, capsys):
    """A removed shard dropped into the mix folder: `trace` said REMOVED without a word about the mix holding it."""
    import shutil

    import polars as pl

    out = tmp_path / "m"
    build_mix(built, load_mix_config(built, output=out))
    removed = sorted((built / "sources" / "pud_en" / "removed").glob("*/*.parquet"))[0]
    doc = pl.read_parquet(removed)["id"][0]
    dropped = out / "data" / "natural" / "en" / "pud_en" / "extra.parquet"
    shutil.copyfile(removed, dropped)
    capsys.readouterr()
    assert main(["trace", str(built), doc, "--mix", str(out)]) == 1
    said = " ".join(capsys.readouterr().out.split())
    assert "status REMOVED" in said and "though removed: data/natural/en/pud_en/extra.parquet" in said, said
    assert ("WARNING the mix folder holds this document in 1 file(s) its mix_plan.json does not list "
            "(data/natural/en/pud_en/extra.parquet)") in said
    dropped.unlink()
    capsys.readouterr()
    assert main(["trace", str(built), doc, "--mix", str(out)]) == 0
    assert "WARNING" not in capsys.readouterr().out


def _relabel_and_rehash(out: Path, plan: dict, relabel) -> str:
    """An eltec_fr shard of the mix ``out`` with its licence column rewritten by ``relabel`` (a list -> a list), and
    its sha256 and size recomputed in mix_plan.json, as someone covering the edit would; the first row's licence."""
    import hashlib as _h

    import pyarrow as pa
    import pyarrow.parquet as pq

    entry = next(s for s in plan["shards"] if s["source"] == "eltec_fr")
    shard = out / entry["path"]
    t = pq.read_table(shard)
    lic = t.column("license").to_pylist()
    pq.write_table(t.set_column(t.schema.get_field_index("license"), "license", pa.array(relabel(lic), pa.string())),
                   shard)
    data = json.loads((out / "mix_plan.json").read_text())
    e = next(s for s in data["shards"] if s["path"] == entry["path"])
    e["sha256"], e["bytes"] = _h.sha256(shard.read_bytes()).hexdigest(), shard.stat().st_size
    (out / "mix_plan.json").write_text(json.dumps(data))
    return lic[0]


def test_push_reads_the_rows_again_and_refuses_a_relabelled_shard(built, tmp_path):
    """A mix row relabelled CC-BY-NC-4.0, its sha256 and size recomputed in mix_plan.json: push trusted the plan."""


    from lucie_data.hub import PushError, push

    out = tmp_path / "m"
    plan = build_mix(built, load_mix_config(built, output=out))
    quiet = {"repo_id": "org/name", "dry_run": True, "log": lambda _m: None}
    push(out, **quiet)  # as built: passes
    _relabel_and_rehash(out, plan, lambda lic: ["CC-BY-NC-4.0"] + lic[1:])
    with pytest.raises(PushError, match=r"reading its shards finds 1 kind\(s\) of document its own licence policy or "
                                        r"sources forbid \(eltec_fr CC-BY-NC-4\.0 \(license_not_allowed\) in data/"):
        push(out, **quiet)


def test_push_refuses_a_mix_without_its_card_and_names_the_configs_that_differ(built, tmp_path):
    """Second trainer review: without README.md the push went on and the Hub kept the earlier mix's card (its
    licence and configs); a configs mismatch was quoted as the first 300 characters of the list."""
    from lucie_data.hub import PushError, push

    out = tmp_path / "m"
    build_mix(built, load_mix_config(built, output=out))
    quiet = {"repo_id": "org/name", "dry_run": True, "log": lambda _m: None}
    card = out / "README.md"
    text = card.read_text()
    card.unlink()
    with pytest.raises(PushError, match=r"has no README\.md, the dataset card `lucie-data mix build` writes") as exc:
        push(out, **quiet)
    assert exc.value.exit_code == 2
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("- config_name: pud_en"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("- config_name:"))
    card.write_text("".join(lines[:start] + lines[end:]).replace("config_name: fr\n", "config_name: fr-all\n", 1))
    with pytest.raises(PushError, match=r"declares `configs` other than the mix's checked shards give \(missing: fr, "
                                        r"pud_en; not the mix's: fr-all\)"):
        push(out, **quiet)


def _demo_build(demo_copy: Path, out: str = "b") -> Path:
    assert main(["build", str(demo_copy / "pipelines" / "demo.yaml"), "--output", str(demo_copy / out)]) == 0
    return demo_copy / out


def test_a_build_only_of_another_source_does_not_launder_edits(demo_copy, capsys):
    """Second auditor review: after `build --only web_cc`, the manifest recorded pud_en as its files and recipe were
    NOW: an edited recipe.resolved.json, or a recipe turned `redistributable: false`, passed the mix's checks."""
    import shutil

    b = _demo_build(demo_copy)
    shutil.copytree(b, demo_copy / "b1")
    resolved = demo_copy / "b1" / "sources" / "pud_en" / "recipe.resolved.json"
    resolved.write_text(resolved.read_text().replace('"license": "CC-BY-SA-3.0"', '"license": "CC0-1.0"'))
    pipe = str(demo_copy / "pipelines" / "demo.yaml")
    assert main(["build", pipe, "--output", str(demo_copy / "b1"), "--only", "web_cc"]) == 0
    with pytest.raises(MixPlanError, match=r"pud_en/recipe\.resolved\.json is not the recipe the build recorded"):
        build_mix(demo_copy / "b1", load_mix_config(demo_copy / "b1", output=demo_copy / "m1"))
    # the recipe itself turned private, the source left out of the run: refused as a recipe edited since the build
    recipe = demo_copy / "sources" / "demo" / "pud_en.yaml"
    recipe.write_text(recipe.read_text().replace("license: CC-BY-SA-3.0", "license: CC-BY-SA-3.0\nredistributable: false"))
    assert main(["build", pipe, "--output", str(b), "--only", "web_cc"]) == 0
    m = json.loads((b / "manifest.json").read_text())
    pud = next(s for s in m["sources"] if s["name"] == "pud_en")
    assert pud["redistributable"] is True and pud["out_of_date"] is True  # as built, not as the recipe says now
    with pytest.raises(MixPlanError, match=r"recipe\(s\) edited since the build: pud_en"):
        build_mix(b, load_mix_config(b, output=demo_copy / "m"))


def test_a_source_gone_before_a_build_only_of_another_is_not_left_out_unsaid(demo_copy):
    """Second auditor review: sources/pud_en deleted, then `build --only web_cc`: the manifest dropped pud_en and the
    mix went on without it, exit 0."""
    import shutil

    b = _demo_build(demo_copy)
    shutil.rmtree(b / "sources" / "pud_en")
    pipe = str(demo_copy / "pipelines" / "demo.yaml")
    assert main(["build", pipe, "--output", str(b), "--only", "web_cc"]) == 0
    assert json.loads((b / "manifest.json").read_text())["lost_sources"] == ["pud_en"]
    with pytest.raises(MixPlanError, match=r"source\(s\) pud_en of the build's pipeline were built once but their "
                                           r"build is gone .* `lucie-data build \S+demo\.yaml --output \S+` "
                                           r"\(without --only\)"):
        build_mix(b, load_mix_config(b, output=demo_copy / "m"))
    assert main(["build", pipe, "--output", str(b)]) == 0  # the fix: built again, mixed
    assert "lost_sources" not in json.loads((b / "manifest.json").read_text())
    build_mix(b, load_mix_config(b, output=demo_copy / "m"))


def test_a_partial_build_on_purpose_is_mixed_with_a_warning(demo_copy):
    """A build that only ever ran with --only (sources never built, no folder lost) mixes what it has, and says so."""
    pipe = str(demo_copy / "pipelines" / "demo.yaml")
    b = demo_copy / "b"
    assert main(["build", pipe, "--output", str(b), "--only", "web_cc", "eltec_fr"]) == 0
    m = json.loads((b / "manifest.json").read_text())
    assert "lost_sources" not in m and "pud_en" in m["unbuilt_sources"]
    logs: list[str] = []
    plan = build_mix(b, load_mix_config(b, output=demo_copy / "m"), log=logs.append)
    assert set(plan["sources"]) == {"web_cc", "eltec_fr"}
    assert any(line.startswith("warning: source(s) code_permissive, ocr_fr_europeana, parallel_fr_en, pud_en of "
                               "the build's pipeline were never built") for line in logs), logs


def test_push_refuses_rows_relabelled_within_the_policy_under_the_old_card(built, tmp_path):
    """Second auditor review: rows relabelled CC-BY-SA (an allowed class), hashes recomputed in mix_plan.json: the rows
    passed the policy, and the card, derived from the plan's licence counts, kept its old licence."""


    from lucie_data.hub import PushError, push

    out = tmp_path / "m"
    plan = build_mix(built, load_mix_config(built, output=out))
    was = _relabel_and_rehash(out, plan, lambda lic: ["CC-BY-SA-4.0"] * len(lic))
    with pytest.raises(PushError, match=rf"its shards hold other licences than mix_plan\.json counts \({was}: "
                                        rf"[\d,]+ rows read, [\d,]+ in the plan; CC-BY-SA-4\.0: "):
        push(out, repo_id="org/name", dry_run=True, log=lambda _m: None)


def test_a_lost_source_stays_lost_over_later_build_onlys(demo_copy):
    """Third review: lost after one `build --only`, the source became "never built" after a second and the mix went
    on without it (exit 0)."""
    import shutil

    b = _demo_build(demo_copy)
    shutil.rmtree(b / "sources" / "pud_en")
    pipe = str(demo_copy / "pipelines" / "demo.yaml")
    for other in ("web_cc", "eltec_fr"):
        assert main(["build", pipe, "--output", str(b), "--only", other]) == 0
        assert json.loads((b / "manifest.json").read_text())["lost_sources"] == ["pud_en"]
    with pytest.raises(MixPlanError, match=r"source\(s\) pud_en of the build's pipeline were built once"):
        build_mix(b, load_mix_config(b, output=demo_copy / "m"))


def test_an_edited_resolved_recipe_is_caught_after_a_build_only_without_a_manifest(demo_copy):
    """Third review: with manifest.json gone, a `build --only` of another source recorded the edited
    recipe.resolved.json as built; the mix published it."""
    b = _demo_build(demo_copy)
    resolved = b / "sources" / "pud_en" / "recipe.resolved.json"
    resolved.write_text(resolved.read_text().replace('"license": "CC-BY-SA-3.0"', '"license": "CC0-1.0"'))
    (b / "manifest.json").unlink()
    assert main(["build", str(demo_copy / "pipelines" / "demo.yaml"), "--output", str(b), "--only", "web_cc"]) == 0
    # (what the sources left out were built with is not recorded: refused as such, with the rerun that records them)
    with pytest.raises(MixPlanError, match=r"source \S+ was built by a run that stopped before writing .*without "
                                           r"--only \(it records the source"):
        build_mix(b, load_mix_config(b, output=demo_copy / "m"))
    assert main(["build", str(demo_copy / "pipelines" / "demo.yaml"), "--output", str(b)]) == 0  # the fix it gives
    assert '"license": "CC-BY-SA-3.0"' in resolved.read_text()  # the edited file written again from the recipe
    plan = build_mix(b, load_mix_config(b, output=demo_copy / "m"))
    assert plan["sources"]["pud_en"]["license"] == "CC-BY-SA-3.0"


def test_a_copied_projects_edited_recipe_is_refused_after_a_build_only(demo_copy, tmp_path_factory, capsys):
    """Third review: in a copy of the project, a recipe relicensed then `build --only` of another source: the entry
    kept "as built" pointed at the original copy's untouched recipe, so the mix published the old licence. Copying
    the project also no longer makes every up-to-date source warn that its recipe.resolved.json was edited."""
    import shutil

    _demo_build(demo_copy)
    copy = tmp_path_factory.mktemp("copy") / "project"
    shutil.copytree(demo_copy, copy)
    recipe = copy / "sources" / "demo" / "pud_en.yaml"
    recipe.write_text(recipe.read_text().replace("license: CC-BY-SA-3.0", "license: CC-BY-NC-4.0"))
    capsys.readouterr()
    assert main(["build", str(copy / "pipelines" / "demo.yaml"), "--output", str(copy / "b"), "--only", "web_cc"]) == 0
    assert "did not hold the recipe as built" not in capsys.readouterr().out
    with pytest.raises(MixPlanError, match=r"recipe\(s\) edited since the build: pud_en"):
        build_mix(copy / "b", load_mix_config(copy / "b", output=copy / "m"))


def test_a_switch_to_unverified_deny_then_build_only_is_refused(demo_copy):
    """Third review: the manifest's policy was the pipeline's now, so sources left out by --only counted as built
    under `unverified: deny` and their unverified documents were published."""
    pipe = demo_copy / "pipelines" / "demo.yaml"
    b = _demo_build(demo_copy)
    pipe.write_text(pipe.read_text().replace("  unknown: deny\n", "  unknown: deny\n  unverified: deny\n"))
    assert main(["build", str(pipe), "--output", str(b), "--only", "web_cc"]) == 0
    with pytest.raises(MixPlanError, match=r"says `unverified: deny`, but the build was made without it"):
        build_mix(b, load_mix_config(b, output=demo_copy / "m"))
    assert main(["build", str(pipe), "--output", str(b)]) == 0  # every source under the new policy: mixed
    build_mix(b, load_mix_config(b, output=demo_copy / "m"))


def test_the_report_names_lost_and_never_built_sources(demo_copy):
    """Third review: `report` said nothing of pipeline sources without a build (exit 0, "0 warning(s)")."""
    import shutil

    pipe = str(demo_copy / "pipelines" / "demo.yaml")
    b = demo_copy / "b"
    assert main(["build", pipe, "--output", str(b), "--only", "web_cc", "pud_en"]) == 0
    shutil.rmtree(b / "sources" / "pud_en")
    assert main(["build", pipe, "--output", str(b), "--only", "web_cc"]) == 0
    assert main(["report", str(b)]) == 0
    found = [x for x in json.loads((b / "reports" / "provenance.json").read_text())["warnings"]
             if x["kind"] in ("lost_source", "unbuilt_source")]
    lost = [x for x in found if x["kind"] == "lost_source"]
    assert [x["source"] for x in lost] == ["pud_en"] and "was built once but its build is gone" in lost[0]["message"]
    assert sorted(x["source"] for x in found if x["kind"] == "unbuilt_source") == [
        "code_permissive", "eltec_fr", "ocr_fr_europeana", "parallel_fr_en"]


def test_a_renamed_sources_leftover_folder_does_not_fail_the_report(demo_copy, capsys):
    """Third review: after `name: pud_en` became `pud_en2`, the manifest listed the old folder's shards as the
    build's, and `report` said shards were rewritten (exit 1), which no rebuild fixed."""
    b = _demo_build(demo_copy)
    recipe = demo_copy / "sources" / "demo" / "pud_en.yaml"
    recipe.write_text(recipe.read_text().replace("name: pud_en", "name: pud_en2"))
    assert main(["build", str(demo_copy / "pipelines" / "demo.yaml"), "--output", str(b)]) == 0
    m = json.loads((b / "manifest.json").read_text())
    assert not any(e["path"].startswith("sources/pud_en/") for e in m["shards"] + m["removed_shards"])
    capsys.readouterr()
    assert main(["report", str(b)]) == 0
    kinds = {w["kind"] for w in json.loads((b / "reports" / "provenance.json").read_text())["warnings"]}
    assert "source_not_in_manifest" in kinds  # the leftover folder, named as such


def test_small_messages_of_the_third_review(demo_copy, capsys):
    """`--only nope` printed the build banner before its error; `mix plan --build` said nothing of sources without
    a build."""
    pipe = str(demo_copy / "pipelines" / "demo.yaml")
    capsys.readouterr()
    assert main(["build", pipe, "--output", str(demo_copy / "b"), "--only", "nope"]) == 2
    said = capsys.readouterr()
    assert said.out == "" and "--only: unknown source(s) nope; available: code_permissive" in said.err
    assert main(["build", pipe, "--output", str(demo_copy / "b"), "--only", "web_cc", "eltec_fr"]) == 0
    capsys.readouterr()
    assert main(["mix", "plan", "--build", str(demo_copy / "b")]) == 0
    assert "note: pud_en: never built (--only): not in this plan" in capsys.readouterr().err


def test_push_says_a_plan_policy_that_does_not_validate_without_a_traceback(built, tmp_path):
    """Read-through: a policy in mix_plan.json that does not validate raised pydantic's ValidationError (a traceback)."""
    from lucie_data.hub import PushError, push

    out = tmp_path / "m"
    build_mix(built, load_mix_config(built, output=out))
    data = json.loads((out / "mix_plan.json").read_text())
    data["license_check"]["policy"]["unknown"] = "maybe"
    (out / "mix_plan.json").write_text(json.dumps(data))
    with pytest.raises(PushError, match=r"(?s)its license_check\.policy is not a licence policy .*rebuild the mix"):
        push(out, repo_id="org/name", dry_run=True, log=lambda _m: None)
