"""Licence review (adversarial auditor, 2026-11-28), the mix's side: a no-derivatives text a stage modified was
published once a policy allowing no-derivatives came after a build made without any licence gate; a build folder
without manifest.json was mixed on its (edited) resolved recipes; `metadata_fields: [modified_by]` crashed a source.

Texts: the first sentences of /work/shared/corpora/fr_ud_gsd.jsonl (UD French GSD, CC-BY-SA-4.0; see its README);
the no-derivatives labels are the test's."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from lucie_data.cli import main

CORPUS = Path("/work/shared/corpora/fr_ud_gsd.jsonl")
if not CORPUS.exists():  # a checkout next to ../shared
    CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "fr_ud_gsd.jsonl"
ND_POLICY = "license_policy: {allow_classes: [public-domain, permissive, share-alike, no-derivatives]}\n"
GATE = "  - type: license_gate\n    policy: {allow_classes: [public-domain, permissive, share-alike, no-derivatives]}\n"


def _project(tmp_path: Path, policy: str = "", gate: bool = False, gate_first: bool = False,
             license: str = "CC-BY-ND-4.0") -> Path:
    recs = []
    for i, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines()[:4]):
        r = json.loads(line)
        text = r["text"].replace("é", "Ã©") if i == 0 else r["text"]  # mojibake that normalize repairs: modified
        recs.append({"id": r["id"], "text": text})
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        f"name: nd\ncategory: web\nlanguages: [fr]\nlicense: {license}\ninput: {{type: jsonl, paths: [in.jsonl]}}\n"
        "stages:\n" + (GATE if gate_first else "") + "  - type: normalize\n" + (GATE if gate else ""),
        encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: build\n"
                                     "executor: {type: local, workers: 1, tasks: 1}\nmix: {factors: {fr--web: 1}}\n"
                                     + policy, encoding="utf-8")
    return tmp_path / "p.yaml"


def test_a_policy_allowing_no_derivatives_after_an_ungated_build_is_refused(tmp_path, capsys):
    pipe = _project(tmp_path)
    assert main(["build", str(pipe)]) == 0
    kept = pl.read_parquet(sorted((tmp_path / "build/sources/nd/data").glob("*/*.parquet")))
    assert kept.height == 4 and kept["metadata"].str.contains('"modified_by"').sum() == 1  # no gate: kept, modified
    later = tmp_path / "later.yaml"
    later.write_text(pipe.read_text() + ND_POLICY, encoding="utf-8")
    capsys.readouterr()
    code = main(["mix", "build", str(tmp_path / "build"), "--pipeline", str(later), "--output", str(tmp_path / "mix")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "allows these licences only for unmodified documents (no-derivatives)" in err
    assert "nd (CC-BY-ND-4.0)" in err and "Rerun `lucie-data build` with this policy" in err
    assert not (tmp_path / "mix").exists()
    # `mix plan --build` says so (rv55: a plan, exit 0, without a word)
    assert main(["mix", "plan", "--build", str(tmp_path / "build"), "--pipeline", str(later)]) == 0
    err = capsys.readouterr().err
    assert "note: `mix build` refuses this build: the licence policy (" in err and "nd (CC-BY-ND-4.0)" in err

    # the fix the message gives: rebuild under that policy; its gate removes the modified text, the rest is mixed
    assert main(["build", str(later), "--output", str(tmp_path / "build")]) == 0
    assert main(["mix", "build", str(tmp_path / "build"), "--pipeline", str(later),
                 "--output", str(tmp_path / "mix")]) == 0
    mixed = pl.read_parquet(sorted((tmp_path / "mix/data").rglob("*.parquet")))
    assert mixed.height == 3 and not mixed["metadata"].str.contains('"modified_by"').any()


def test_a_recipes_own_gate_is_a_gate(tmp_path):
    pipe = _project(tmp_path, gate=True)
    assert main(["build", str(pipe)]) == 0
    later = tmp_path / "later.yaml"
    later.write_text(pipe.read_text() + ND_POLICY, encoding="utf-8")
    assert main(["mix", "build", str(tmp_path / "build"), "--pipeline", str(later),
                 "--output", str(tmp_path / "mix")]) == 0
    mixed = pl.read_parquet(sorted((tmp_path / "mix/data").rglob("*.parquet")))
    assert mixed.height == 3


def test_a_recipe_gate_before_a_stage_that_changes_the_text_is_not_the_last_word(tmp_path):
    """Code review: a recipe's own gate placed before `normalize` (no pipeline policy) let the normalised CC-BY-ND
    text through, and the mix counted the source as gated. A gate with the recipe's last gate's policy now runs last."""
    pipe = _project(tmp_path, gate_first=True)
    assert main(["build", str(pipe)]) == 0
    kept = pl.read_parquet(sorted((tmp_path / "build/sources/nd/data").glob("*/*.parquet")))
    assert kept.height == 3 and not kept["metadata"].str.contains('"modified_by"').any()
    removed = pl.read_parquet(sorted((tmp_path / "build/sources/nd/removed").glob("*/*.parquet")))
    assert removed["removal_reason"].to_list() == ["license_no_derivatives_modified"]
    manifest = json.loads((tmp_path / "build/manifest.json").read_text())
    gate = manifest["sources"][0]["license_gate"]
    assert gate["policies"][0]["allow_classes"][-1] == "no-derivatives" and gate["no_derivatives_modified"] == "remove"
    later = tmp_path / "later.yaml"
    later.write_text(pipe.read_text() + ND_POLICY, encoding="utf-8")
    assert main(["mix", "build", str(tmp_path / "build"), "--pipeline", str(later),
                 "--output", str(tmp_path / "mix")]) == 0


def test_a_mix_policy_stricter_than_the_builds_gate_on_modified_documents_is_refused(tmp_path, capsys):
    """Code review: `CC-BY-4.0 OR CC-BY-ND-4.0`, normalised, built under a policy allowing CC-BY-4.0 (so modified is
    fine), mixed under one that denies CC-BY-4.0 (usable only as CC-BY-ND-4.0): the modified text was mixed."""
    pipe = _project(tmp_path, policy=ND_POLICY, license="CC-BY-4.0 OR CC-BY-ND-4.0")
    assert main(["build", str(pipe)]) == 0
    kept = pl.read_parquet(sorted((tmp_path / "build/sources/nd/data").glob("*/*.parquet")))
    assert kept.height == 4  # allowed modified by the build's policy (via CC-BY-4.0)
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(pipe.read_text().replace("no-derivatives]}", "no-derivatives], deny: [CC-BY-4.0]}"),
                        encoding="utf-8")
    capsys.readouterr()
    assert main(["mix", "build", str(tmp_path / "build"), "--pipeline", str(stricter),
                 "--output", str(tmp_path / "mix")]) == 2
    err = capsys.readouterr().err
    assert "nd (CC-BY-4.0 OR CC-BY-ND-4.0)" in err and "its policy allowed them modified" in err, err
    assert main(["mix", "build", str(tmp_path / "build"), "--output", str(tmp_path / "mix")]) == 0  # its own policy


def test_a_build_without_its_manifest_is_not_mixed(tmp_path, capsys):
    pipe = _project(tmp_path, policy=ND_POLICY)
    assert main(["build", str(pipe)]) == 0
    (tmp_path / "build/manifest.json").unlink()
    (tmp_path / "w.yaml").write_text("factors: {fr--web: 1}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["mix", "build", str(tmp_path / "build"), "--pipeline", str(pipe), "--output",
                 str(tmp_path / "mix")]) == 2
    err = capsys.readouterr().err
    assert "has no manifest.json" in err and "rerun `lucie-data build`" in err
    assert main(["mix", "plan", "--build", str(tmp_path / "build"), "--weights", str(tmp_path / "w.yaml")]) == 2


def test_modified_by_is_not_a_metadata_field(tmp_path, capsys):
    pipe = _project(tmp_path)
    src = tmp_path / "s.yaml"
    src.write_text(src.read_text().replace("paths: [in.jsonl]}", "paths: [in.jsonl], metadata_fields: [modified_by]}"),
                   encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(pipe)]) == 2
    err = capsys.readouterr()
    out = err.out + err.err
    assert "s.yaml:5: input.metadata_fields[0]: 'modified_by' is written by the stages" in out, out


def test_the_report_counts_documents_the_gate_flagged_no_derivatives_modified(tmp_path, capsys):
    """Code review: `CC-BY-4.0 OR CC-BY-ND-4.0` under `deny: [CC-BY-4.0]`, flagged by the gate (`flag` mode), was not
    among the report's no-derivatives-modified-kept documents (it judged the licence's least restrictive reading)."""
    policy = ("license_policy: {allow_classes: [public-domain, permissive, share-alike, no-derivatives], "
              "deny: [CC-BY-4.0]}\n")
    pipe = _project(tmp_path, policy=policy, license="CC-BY-4.0 OR CC-BY-ND-4.0")
    src = tmp_path / "s.yaml"
    src.write_text(src.read_text() + "  - type: license_gate\n    no_derivatives_modified: flag\n", encoding="utf-8")
    assert main(["build", str(pipe)]) == 0
    assert main(["report", str(tmp_path / "build")]) in (0, 1)
    rep = json.loads((tmp_path / "build/reports/provenance.json").read_text())
    nd = [w for w in rep["warnings"] if w["kind"] == "no_derivatives_modified_kept"]
    assert len(nd) == 1 and nd[0]["count"] == 1, rep["warnings"]


def test_an_empty_mix_output_is_refused(tmp_path, capsys, monkeypatch):
    """Code review: `mix build BUILD --output ''` wrote the mix into the current folder."""
    pipe = _project(tmp_path, policy=ND_POLICY)
    assert main(["build", str(pipe)]) == 0
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    capsys.readouterr()
    assert main(["mix", "build", str(tmp_path / "build"), "--output", ""]) == 2
    assert "--output is empty" in capsys.readouterr().err and not any(here.iterdir())


def test_a_source_left_out_by_only_without_an_earlier_record_is_not_taken_as_gated(tmp_path, capsys):
    """Review: a first run stopped after its sources finished (no manifest), then `build --only ok` under a policy
    allowing no-derivatives recorded that policy's gate for `nd`, which was built without one: its normalised
    CC-BY-ND text was mixed and passed `push --dry-run`."""
    pipe = _project(tmp_path)
    (tmp_path / "ok.yaml").write_text(
        "name: ok\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\ninput: {type: jsonl, paths: [in.jsonl]}\n",
        encoding="utf-8")
    pipe.write_text(pipe.read_text().replace("sources: [s.yaml]", "sources: [s.yaml, ok.yaml]"), encoding="utf-8")
    assert main(["build", str(pipe)]) == 0
    (tmp_path / "build/manifest.json").unlink()  # as a first run stopped before writing it
    pipe.write_text(pipe.read_text() + ND_POLICY, encoding="utf-8")
    assert main(["build", str(pipe), "--only", "ok"]) in (0, 1)
    entries = {e["name"]: e for e in json.loads((tmp_path / "build/manifest.json").read_text())["sources"]}
    assert "license_gate" not in entries["nd"] and entries["ok"]["license_gate"] is not None
    capsys.readouterr()
    assert main(["mix", "build", str(tmp_path / "build"), "--output", str(tmp_path / "mix")]) == 2
    err = capsys.readouterr().err
    assert "source nd was built by a run that stopped before writing" in err and "without --only" in err, err
    assert main(["build", str(pipe)]) == 0  # the fix the message gives
    assert main(["mix", "build", str(tmp_path / "build"), "--output", str(tmp_path / "mix")]) == 0


def test_a_source_left_out_by_only_without_an_earlier_record_has_no_known_policy(tmp_path, capsys):
    """Review: after a first run stopped before its manifest, `build --only ok` under `unverified: deny` recorded that
    policy for `s`, built under `allow`: the mix published `s`'s unverified documents (an empty license_field)."""
    recs = [json.loads(x) for x in CORPUS.read_text(encoding="utf-8").splitlines()[:6]]
    for i, r in enumerate(recs):
        r["rights"] = "CC-BY-SA-4.0" if i % 3 else ""
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    for name, extra in (("s", ", license_field: rights"), ("ok", "")):
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-4.0\n"
                                               f"input: {{type: jsonl, paths: [d.jsonl]{extra}}}\n", encoding="utf-8")
    pipe = tmp_path / "p.yaml"

    def write(unverified: str) -> None:
        pipe.write_text("name: p\nsources: [s.yaml, ok.yaml]\noutput_dir: b\nexecutor: {type: local, workers: 1, "
                        "tasks: 1}\nlicense_policy: {allow_classes: [permissive, share-alike], unverified: "
                        f"{unverified}}}\nmix: {{factors: {{fr--web: 1}}}}\n", encoding="utf-8")

    write("allow")
    assert main(["build", str(pipe)]) == 0
    (tmp_path / "b/manifest.json").unlink()
    write("deny")
    assert main(["build", str(pipe), "--only", "ok"]) in (0, 1)
    entries = {e["name"]: e for e in json.loads((tmp_path / "b/manifest.json").read_text())["sources"]}
    assert entries["s"]["license_policy"] is None and entries["ok"]["license_policy"]["unverified"] == "deny"
    capsys.readouterr()
    assert main(["mix", "build", str(tmp_path / "b"), "--output", str(tmp_path / "m")]) == 2
    assert "source s was built by a run that stopped before writing" in capsys.readouterr().err
