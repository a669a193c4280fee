"""Seventh review: push publishes only what `mix build` wrote; `mix plan` output paths and `mix build -o` under a file
are clear errors; `mix plan --build` plans with the pipeline's `mix: targets` as `mix build` does; the card's
`license:` is one of the Hub's identifiers and an attribution line never ends in a dangling ": ."."""
import copy
import hashlib
import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lucie_data.cli import main
from lucie_data.hub import PushError
from lucie_data.mix.card import HUB_LICENSES, front_matter, hf_license, render_card
from tests.conftest import stand_in_hub
from tests.test_hub import REPO, TOKEN, do_push, local_files, make_mix
from tests.test_mix_build import PIPELINE, make_build


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    return make_build(tmp_path_factory.getbasetemp() / "mixbuild")


# --------------------------------------------------------------------------------------------- 1. push: only the mix


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The local stand-in Hub, with no ambient credentials or endpoint (as in tests/test_hub.py)."""
    with stand_in_hub(monkeypatch, tmp_path, TOKEN) as stub:
        yield stub


def _add_strays(mix: Path) -> list[str]:
    """Files a user might leave in a mix folder; none went through the licence check."""
    nc = pa.table({"id": ["nc-1"], "text": ["non-commercial text"], "license": ["CC-BY-NC-4.0"]})
    (mix / "extra").mkdir()
    pq.write_table(nc, mix / "extra" / "x.parquet")
    (mix / "extra" / "y.jsonl").write_text('{"id": "a", "text": "b"}\n', encoding="utf-8")
    (mix / "NOTES.md").write_text("todo\n", encoding="utf-8")
    (mix / ".gitattributes").write_text("*.parquet -filter\n", encoding="utf-8")
    return [".gitattributes", "NOTES.md", "extra/x.parquet", "extra/y.jsonl"]


def _hf_bookkeeping(mix: Path) -> None:
    """What huggingface_hub itself writes in a folder it uploads from (upload_large_folder's resume state)."""
    meta = mix / ".cache" / "huggingface" / "upload" / "data" / "fr" / "Src"
    meta.mkdir(parents=True)
    (meta / "part-00000.parquet.metadata").write_text("1700000000.0\nabc\n", encoding="utf-8")
    (mix / ".cache" / "huggingface" / ".gitignore").write_text("*\n", encoding="utf-8")


@pytest.mark.parametrize("dry_run", [False, True], ids=["push", "dry-run"])
def test_push_refuses_files_that_are_not_part_of_the_mix(hub, tmp_path, dry_run):
    """A Parquet file of a non-allowed licence beside data/, notes, a .gitattributes: refused, nothing sent; the
    message names them and says to remove or move them. huggingface_hub's own .cache/huggingface is not a stray."""
    mix = make_mix(tmp_path / "mix")
    strays = _add_strays(mix)
    _hf_bookkeeping(mix)
    with pytest.raises(PushError) as exc:
        do_push(hub, mix, dry_run=dry_run)
    msg = str(exc.value)
    assert "4 file(s) not in mix_plan.json: " + ", ".join(strays) in msg
    assert "remove these files or move them out of the mix folder" in msg and "lucie-data mix build" in msg
    assert ".cache" not in msg and "Nothing was uploaded" in msg
    assert hub.requests == [] and not hub.repo_exists(REPO)

    for p in strays:  # moved out: the push goes through, without huggingface_hub's bookkeeping
        (mix / p).unlink()
    result = do_push(hub, mix, dry_run=dry_run)
    assert not any(p.startswith(".cache") for p in result.uploaded)
    if not dry_run:
        expected = {p: b for p, b in local_files(mix).items() if not p.startswith(".cache/")}
        assert {p: b for p, b in hub.files(REPO).items() if p != ".gitattributes"} == expected


def test_push_lists_at_most_ten_unexpected_files(hub, tmp_path):
    mix = make_mix(tmp_path / "mix")
    for i in range(13):
        (mix / f"stray-{i:02d}.txt").write_text("x", encoding="utf-8")
    with pytest.raises(PushError) as exc:
        do_push(hub, mix, dry_run=True)
    msg = str(exc.value)
    assert "13 file(s) not in mix_plan.json: " + ", ".join(f"stray-{i:02d}.txt" for i in range(10)) + " … and 3 more" in msg
    assert "stray-10.txt" not in msg


def test_push_cli_refuses_an_extra_file_without_traceback(hub, tmp_path, monkeypatch, capsys):
    mix = make_mix(tmp_path / "mix")
    (mix / "NOTES.md").write_text("todo\n", encoding="utf-8")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    for extra in ([], ["--dry-run"]):
        assert main(["push", str(mix), "--repo-id", REPO, "--endpoint", hub.endpoint, *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: Refusing to push") and "NOTES.md" in err and "Traceback" not in err
    assert hub.requests == [] and not hub.repo_exists(REPO)


# --------------------------------------------------------------------------------------------- 2. output paths


@pytest.mark.parametrize("option", ["--json", "--markdown", "--weights-out"])
def test_plan_output_that_is_a_folder_is_a_clear_error(option, tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["mix", "plan", option, str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option} {folder}: is a folder") and "pass a file name" in err
    assert "Traceback" not in err and list(folder.iterdir()) == []


@pytest.mark.parametrize("option", ["--json", "--markdown", "--weights-out"])
def test_plan_output_under_a_file_is_a_clear_error(option, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    assert main(["mix", "plan", option, str(blocker / "sub" / "plan.out")]) == 2
    err = capsys.readouterr().err
    assert f"{blocker} is a file, not a folder" in err and "Traceback" not in err
    assert blocker.read_text() == "x"


def test_mix_build_output_under_a_file_is_a_clear_error(built, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    assert main(["mix", "build", str(built), "-o", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert f"{blocker} is a file, not a folder" in err and "choose another --output" in err
    assert "Traceback" not in err and blocker.read_text() == "x"


# --------------------------------------------------------------------------------------------- 3. plan = build


TARGETS = "  targets: {fr: 0.5, en: 0.2}\n  max_epochs: 4\n"


def _targets_pipeline(path: Path) -> Path:
    text = PIPELINE.replace("  seed: 0\n", "  seed: 0\n" + TARGETS)
    assert TARGETS in text
    path.write_text(text, encoding="utf-8")
    return path


def test_plan_from_build_uses_the_pipelines_targets_like_mix_build(built, tmp_path):
    pipe = _targets_pipeline(tmp_path / "targets.yaml")
    out = tmp_path / "plan.json"
    assert main(["mix", "plan", "--build", str(built), "--pipeline", str(pipe), "--json", str(out)]) == 0
    planned = json.loads(out.read_text())
    assert planned["targets"]["max_epochs"] == 4 and set(planned["targets"]["languages"]) == {"fr", "en"}
    assert main(["mix", "build", str(built), "--pipeline", str(pipe), "-o", str(tmp_path / "mix")]) == 0
    assert json.loads((tmp_path / "mix" / "mix_plan.json").read_text())["plan"] == planned

    # the command line still wins: its targets replace the pipeline's, its --max-epochs the pipeline's cap
    assert main(["mix", "plan", "--build", str(built), "--pipeline", str(pipe), "--target", "fr=0.4",
                 "--max-epochs", "3.5", "--json", str(out)]) == 0
    t = json.loads(out.read_text())["targets"]
    assert set(t["languages"]) == {"fr"} and t["max_epochs"] == 3.5


def test_plan_from_build_finds_the_pipeline_in_the_manifest(built, tmp_path):
    """No --pipeline: the pipeline the build's manifest records, as `mix build` finds it."""
    copy_ = tmp_path / "build"
    shutil.copytree(built, copy_)
    manifest = json.loads((copy_ / "manifest.json").read_text())
    manifest["pipeline"]["file"] = str(_targets_pipeline(tmp_path / "targets.yaml"))
    # as a build of that pipeline records it (a pipeline changed since the build is resolved again by `mix build`)
    manifest["pipeline"]["sha256"] = hashlib.sha256((tmp_path / "targets.yaml").read_bytes()).hexdigest()
    (copy_ / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    out = tmp_path / "plan.json"
    assert main(["mix", "plan", "--build", str(copy_), "--json", str(out)]) == 0
    planned = json.loads(out.read_text())
    assert planned["targets"]["max_epochs"] == 4
    assert main(["mix", "build", str(copy_)]) == 0
    assert json.loads((copy_ / "mix" / "mix_plan.json").read_text())["plan"] == planned


def test_plan_from_stats_uses_a_pipeline_with_targets_only(tmp_path):
    stats = tmp_path / "s.csv"
    stats.write_text("subset,language,category,tokens\nA,fr,web,600\nB,en,web,300\n")
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: p\nsources: []\nmix: {targets: {fr: 0.5}, max_epochs: 3}\n")
    out = tmp_path / "plan.json"
    assert main(["mix", "plan", "--stats", str(stats), "--pipeline", str(pipe), "--json", str(out)]) == 0
    t = json.loads(out.read_text())["targets"]
    assert t["max_epochs"] == 3 and t["feasible"] and abs(t["languages"]["fr"]["achieved"] - 0.5) < 1e-9


@pytest.mark.parametrize("argv", [[], ["--stats", "{stats}", "--weights", "{w}"], ["--build", "{built}"]],
                         ids=["lucie", "stats", "build-without-targets"])
def test_max_epochs_without_targets_is_an_error(argv, built, tmp_path, capsys):
    stats = tmp_path / "s.csv"
    stats.write_text("subset,language,category,tokens\nA,fr,web,600\nB,en,web,300\n")
    w = tmp_path / "w.yaml"
    w.write_text("factors: {fr--web: 1, en--web: 2}\n")
    argv = [a.format(stats=stats, w=w, built=built) for a in argv]
    assert main(["mix", "plan", *argv, "--max-epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "--max-epochs only applies when solving targets" in err and "Traceback" not in err


# --------------------------------------------------------------------------------------------- 4. card


# SPDX id -> the card's `license:` (the Hub's identifier list: https://huggingface.co/docs/hub/repositories-licenses)
HUB_ID = {
    "GPL-3.0-only": "gpl-3.0", "GPL-3.0-or-later": "gpl-3.0", "GPL-2.0-only": "gpl-2.0", "GPL-2.0+": "gpl-2.0",
    "LGPL-3.0-only": "lgpl-3.0", "LGPL-2.1-or-later": "lgpl-2.1", "AGPL-3.0-only": "agpl-3.0",
    "GPL-1.0-or-later": "gpl", "LGPL-2.0-only": "lgpl", "GFDL-1.3-only": "gfdl", "BSD-4-Clause": "bsd",  # families
    "CC-BY-3.0": "cc-by-3.0", "CC-BY-SA-4.0": "cc-by-sa-4.0", "CC0-1.0": "cc0-1.0", "Apache-2.0": "apache-2.0",
    "MIT": "mit", "BSD-3-Clause": "bsd-3-clause", "ODbL-1.0": "odbl", "ODC-By-1.0": "odc-by", "PDDL-1.0": "pddl",
    "etalab-2.0": "etalab-2.0", "EUPL-1.2": "eupl-1.2", "CDLA-Sharing-1.0": "cdla-sharing-1.0",
    # not on the Hub's list: other (the card names the SPDX id in license_details)
    "MIT-0": "other", "CC-BY-SA-2.0": "other", "CC-PDDC": "other", "CECILL-2.1": "other", "AGPL-1.0-only": "other",
    "LicenseRef-unknown": "other", "MIT OR Apache-2.0": "other", "other": "other", "": "other",
}


def test_card_licence_is_a_hub_identifier():
    assert {spdx: hf_license(spdx) for spdx in HUB_ID} == HUB_ID
    assert set(HUB_ID.values()) <= HUB_LICENSES


def test_card_front_matter_of_a_gpl_mix(demo_mix):
    _folder, plan = demo_mix
    plan = copy.deepcopy(plan)
    plan["licenses"] = {"GPL-3.0-only": 10}
    fm = front_matter(plan)
    assert fm["license"] == "gpl-3.0" and "license_name" not in fm
    plan["licenses"] = {"CC-BY-SA-2.0": 10}  # not on the Hub's list: other, named in license_details
    fm = front_matter(plan)
    assert fm["license"] == "other" and fm["license_details"] == "CC-BY-SA-2.0"
    # with its link, as the Hub pairs `license: other` (hub-docs datasetcard.md: license_name and license_link)
    assert fm["license_link"] == "https://spdx.org/licenses/CC-BY-SA-2.0.html" and "license_link" not in front_matter(
        {**plan, "licenses": {"GPL-3.0-only": 10}})
    plan["licenses"] = {"CC-BY-SA-4.0": 10, "GPL-2.0-only": 5}  # no single licence: the card's own Licences section
    fm = front_matter(plan)
    assert fm["license"] == "other" and fm["license_link"] == "README.md"


def test_attribution_line_of_a_source_without_description_or_provenance(demo_mix):
    _folder, plan = demo_mix
    plan = copy.deepcopy(plan)
    bare, url_only, dotted = sorted({s["source"] for s in plan["shards"]})[:3]
    plan["sources"][bare].update(description=None, provenance={})
    plan["sources"][url_only].update(description="", provenance={"url": "https://example.org/x"})
    plan["sources"][dotted].update(description="Some texts.", provenance={})
    lines = {name: next(x for x in render_card(plan).splitlines() if x.startswith(f"- **{name}**"))
             for name in (bare, url_only, dotted)}
    assert re.search(r"attribution[^()]*\)\.", lines[bare]) and "): " not in lines[bare], lines[bare]
    assert ": ." not in lines[bare] and "None" not in lines[bare]
    assert "): <https://example.org/x>." in lines[url_only]
    assert "): Some texts." in lines[dotted] and "texts.." not in lines[dotted]
