"""rv59 (incremental rebuilds): what `report` and `mix build` say of a folder a rebuild stopped in.

Texts: UD French GSD and English PUD sentences (/work/shared/corpora, CC-BY-SA-4.0 and CC-BY-SA-3.0; see its README)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from lucie_data.cli import main

from .conftest import SHARED


class Killed(BaseException):
    """The process dies here."""


def _project(tmp_path: Path, min_chars: int) -> Path:
    for name in ("fr_ud_gsd.jsonl", "en_ud_pud.jsonl"):
        lines = (SHARED / name).read_text(encoding="utf-8").splitlines()[:30]
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, lang, lic, data in (("gsd", "fr", "CC-BY-SA-4.0", "fr_ud_gsd.jsonl"),
                                  ("pud", "en", "CC-BY-SA-3.0", "en_ud_pud.jsonl")):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ncategory: web\nlanguages: [{lang}]\nlicense: {lic}\ninput: {{type: jsonl, paths: [{data}]}}\n"
            f"stages:\n  - type: min_length\n    min_chars: {min_chars}\n", encoding="utf-8")
    pipe = tmp_path / "p.yaml"
    pipe.write_text("name: p\nsources: [gsd.yaml, pud.yaml]\noutput_dir: build\nexecutor: {workers: 1, tasks: 1}\n"
                    "license_policy: {allow_classes: [public-domain, permissive, share-alike]}\n"
                    "mix: {factors: {fr--web: 1, en--web: 1}}\n", encoding="utf-8")
    return pipe


def _rebuild_stopped_in_pud(tmp_path: Path, monkeypatch, where: str) -> Path:
    """Built, both recipes edited, then a rebuild stopped when pud reaches ``runner.<where>`` (gsd rebuilt before)."""
    import lucie_data.runner as runner

    pipe = _project(tmp_path, 20)
    assert main(["build", str(pipe)]) == 0
    _project(tmp_path, 60)
    real = getattr(runner, where)

    def stop_at_pud(src, *a, **k):
        if src.name == "pud":
            raise Killed
        return real(src, *a, **k)

    monkeypatch.setattr(runner, where, stop_at_pud)
    with pytest.raises(Killed):
        main(["build", str(pipe)])
    monkeypatch.undo()
    return pipe


def test_a_rebuild_stopped_after_a_source_is_reported_as_unfinished_not_as_tampered_with(tmp_path, capsys,
                                                                                         monkeypatch):
    """Both recipes edited, the rebuild stopped after gsd and before pud finished: `report` said gsd was "edited since
    the build" and pud's ledger "deleted since the build?", each with "delete the folder", and `mix build` "(edited
    since the build?)". Only the rerun was needed: now both say the last build stopped, and to rerun it."""
    pipe = _rebuild_stopped_in_pud(tmp_path, monkeypatch, "run_source")
    build = tmp_path / "build"
    capsys.readouterr()
    assert main(["report", str(build)]) == 1
    err = capsys.readouterr().err
    assert f"{build}'s manifest.json is an earlier build's: the build stopped before its end" in err
    assert "delete the folder" not in err and "edited since" not in err
    import json

    warnings = json.loads((build / "reports" / "provenance.json").read_text(encoding="utf-8"))["warnings"]
    (unfinished,) = [w for w in warnings if w["kind"] == "build_unfinished"]
    assert "the last build, rebuilding gsd, stopped before its end" in unfinished["message"]
    assert main(["mix", "build", str(build)]) == 2
    err = capsys.readouterr().err
    assert f"the last build of {build} stopped before its end: it was rebuilding gsd" in err and "edited" not in err
    assert main(["build", str(pipe)]) == 0  # the rerun finishes it: both are fine again
    assert main(["report", str(build)]) == 0 and main(["mix", "build", str(build)]) == 0


def test_trace_in_a_source_a_stopped_rebuild_was_writing_says_so(tmp_path, monkeypatch, capsys):
    """rv59: `trace` called such a source damaged, and said to delete its folder; the rerun finishes it. (Stopped
    with pud's folder emptied for its rebuild, no shard written yet.)"""
    _rebuild_stopped_in_pud(tmp_path, monkeypatch, "build_segment_pipeline")
    capsys.readouterr()
    assert main(["trace", str(tmp_path / "build"), "pud/no-such-id"]) == 2
    err = capsys.readouterr().err
    assert "its source pud is unfinished" in err and "damaged" not in err and "delete the folder" not in err


def test_a_folder_input_leaves_hidden_files_and_folders_out(tmp_path, capsys):
    """rv59: `paths: [data]` read a git repository's `.git/` (1,008 junk records removed), an editor's swap file
    rebuilt the source when it came and went, and Emacs' lock (`.#a.jsonl`, a link to nowhere) stopped every build.
    Globs leave hidden files out; a folder now does too. A path naming a hidden file still reads it."""
    import os

    data = tmp_path / "data"
    (data / ".git" / "objects").mkdir(parents=True)
    lines = (SHARED / "fr_ud_gsd.jsonl").read_text(encoding="utf-8").splitlines()[:20]
    (data / "a.jsonl").write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")
    (data / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (data / ".git" / "objects" / "pack").write_bytes(bytes(range(256)) * 4)
    (data / ".a.jsonl.swp").write_bytes(b"b0VIM 9.0\x00\x00" + bytes(200))
    os.symlink("user@host.1234:1700000000", data / ".#a.jsonl")
    recipe = ("name: s\ncategory: web\nlanguages: [fr]\nlicense: CC-BY-SA-4.0\ninput: {type: jsonl, paths: [%s]}\n")
    (tmp_path / "s.yaml").write_text(recipe % "data", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", str(tmp_path / "s.yaml"), "--output", str(out)]) == 0
    import json

    led = json.loads((out / "sources" / "s" / "ledger.json").read_text(encoding="utf-8"))
    assert led["records_read"] == 10 and led["docs_removed"] == 0
    (data / ".a.jsonl.swp").unlink()  # the editor closed: nothing to rebuild
    capsys.readouterr()
    assert main(["build", str(tmp_path / "s.yaml"), "--output", str(out)]) == 0
    assert "up to date" in capsys.readouterr().out
    (data / ".b.jsonl").write_text("\n".join(lines[10:]) + "\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text(recipe % "data, data/.b.jsonl", encoding="utf-8")
    assert main(["build", str(tmp_path / "s.yaml"), "--output", str(out)]) == 0
    led = json.loads((out / "sources" / "s" / "ledger.json").read_text(encoding="utf-8"))
    assert led["records_read"] == 20


def test_a_project_moved_or_copied_and_a_recipe_moved_rebuild_nothing(tmp_path, capsys):
    """rv59: a project copied with its times (`cp -a`, scratch to project space) rebuilt every source, and a recipe
    moved into a subfolder with `paths:` adjusted to the same file rebuilt its source, each to the same bytes: the key
    held absolute paths and `paths:` as written. The documents record inputs relative to the project, as the key now
    does; a folder built before keeps its key (the earlier form is taken, then written in today's)."""
    import json
    import shutil

    from .test_build import shard_hashes

    proj = tmp_path / "proj"
    proj.mkdir()
    pipe = _project(proj, 20)
    assert main(["build", str(pipe)]) == 0
    before = shard_hashes(proj / "build")
    copy = tmp_path / "elsewhere" / "proj"
    shutil.copytree(proj, copy, symlinks=True)  # (copy2: times kept, as `cp -a`)
    capsys.readouterr()
    assert main(["build", str(copy / "p.yaml")]) == 0
    said = capsys.readouterr().out
    assert said.count("up to date") == 2, said
    assert shard_hashes(copy / "build") == before
    (copy / "books").mkdir()
    moved = (copy / "gsd.yaml").read_text(encoding="utf-8").replace("paths: [fr_ud_gsd.jsonl]", "paths: [../fr_ud_gsd.jsonl]")
    (copy / "books" / "gsd.yaml").write_text(moved, encoding="utf-8")
    (copy / "gsd.yaml").unlink()
    (copy / "p.yaml").write_text((copy / "p.yaml").read_text(encoding="utf-8").replace("gsd.yaml", "books/gsd.yaml"),
                                 encoding="utf-8")
    assert main(["build", str(copy / "p.yaml")]) == 0
    said = capsys.readouterr()
    assert said.out.count("up to date") == 2 and "edited or damaged" not in said.out + said.err  # (rv61: it said so)
    # a folder an earlier version built holds the key in its earlier form
    import lucie_data.runner as runner

    real = runner.source_build_key
    old = tmp_path / "old"
    old.mkdir()
    old_pipe = _project(old, 20)
    with pytest.MonkeyPatch.context() as mp:  # (the earlier version's key)
        mp.setattr(runner, "source_build_key", lambda src, opts, legacy=False: real(src, opts, legacy=True))
        assert main(["build", str(old_pipe)]) == 0
    key_file = old / "build" / "sources" / "pud" / ".build_key"
    earlier = key_file.read_text()
    capsys.readouterr()
    assert main(["build", str(old_pipe)]) == 0
    assert capsys.readouterr().out.count("up to date") == 2
    assert key_file.read_text() != earlier and key_file.read_text().startswith("v2:")  # today's form, from now on
    # a stage's model file of the project, by its place in it (rv61: a KenLM or fastText model rebuilt every source
    # using it after `cp -a`)
    import lucie_data

    model = Path(lucie_data.__file__).parent / "assets" / "lid.176.ftz"
    shutil.copy2(model, copy / "lid.ftz")
    (copy / "books" / "gsd.yaml").write_text(moved + "  - {type: language_id, model: ../lid.ftz}\n", encoding="utf-8")
    assert main(["build", str(copy / "p.yaml")]) == 0
    capsys.readouterr()
    third = tmp_path / "third" / "proj"
    shutil.copytree(copy, third, symlinks=True)
    assert main(["build", str(third / "p.yaml")]) == 0
    said = capsys.readouterr()
    assert said.out.count("up to date") == 2 and "edited or damaged" not in said.out + said.err
    # and an input's content still rebuilds (its size or time is in the key, wherever the project is)
    (copy / "en_ud_pud.jsonl").write_text((copy / "en_ud_pud.jsonl").read_text(encoding="utf-8")[:-200] + "\n",
                                          encoding="utf-8")
    assert main(["build", str(copy / "p.yaml")]) == 0
    assert capsys.readouterr().out.count("up to date") == 1
    assert json.loads((copy / "build" / "manifest.json").read_text(encoding="utf-8"))["sources"]


def test_a_finished_build_copied_without_its_times_is_not_taken_for_a_stopped_one(tmp_path, capsys):
    """rv60: after `git clone`, `rsync -r` or `cp -r`, every `.build_key` was newer than manifest.json, and `report`
    (exit 1), `mix plan` and `mix build` (exit 2) called the finished build stopped. The manifest now records each
    source's key; an older manifest, without them, is checked against the folder (ledger counts, resolved recipe)."""
    import json
    import os
    import time

    pipe = _project(tmp_path, 20)
    assert main(["build", str(pipe)]) == 0
    build = tmp_path / "build"
    later = time.time_ns() + 10**9
    for key in (build / "sources").glob("*/.build_key"):
        os.utime(key, ns=(later, later))  # (as a copy without times may leave them)
    capsys.readouterr()
    assert main(["report", str(build)]) == 0 and main(["mix", "build", str(build)]) == 0
    manifest = build / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert all(s["build_key"].startswith("v2:") for s in data["sources"])
    for s in data["sources"]:  # an earlier version's manifest, and keys (copied without their times)
        del s["build_key"]
    for key in (build / "sources").glob("*/.build_key"):
        key.write_text(key.read_text().removeprefix("v2:"))
        os.utime(key, ns=(later, later))
    stat = manifest.stat()
    manifest.write_text(json.dumps(data), encoding="utf-8")
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    from lucie_data.buildfiles import stopped_since_manifest

    assert stopped_since_manifest(build) == []
    (build / "sources" / "pud" / "ledger.json").unlink()  # and one a rebuild was writing when it stopped
    assert stopped_since_manifest(build) == ["pud"]
    # rv61: under an earlier version's manifest, a source this version rebuilt (its key in today's form) and stopped
    # after, with the same counts and recipe, is a stop too (it was taken for tampering); an earlier key is not
    legacy = build / "sources" / "gsd" / ".build_key"
    legacy.write_text("0" * 64)
    os.utime(legacy, ns=(later, later))
    assert stopped_since_manifest(build) == ["pud"]
    legacy.write_text("v2:" + "0" * 64)
    os.utime(legacy, ns=(later, later))
    assert stopped_since_manifest(build) == ["gsd", "pud"]


@pytest.fixture
def outside(tmp_path):
    """A folder that shares only the filesystem root with tmp_path (recipes in $HOME, data on /scratch)."""
    import shutil
    import uuid

    if not os.path.isdir("/dev/shm") or os.path.commonpath(["/dev/shm", str(tmp_path)]) != "/":
        pytest.skip("needs /dev/shm beside the temporary folder")
    folder = Path("/dev/shm") / f"lucie-test-{uuid.uuid4().hex}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _one_source(proj: Path, data: str, stages: str = "") -> Path:
    (proj / "pud.yaml").write_text("name: pud\ncategory: web\nlanguages: [en]\nlicense: CC-BY-SA-3.0\n"
                                   f"input: {{type: jsonl, paths: [{data}]}}\nstages:\n  - type: normalize\n{stages}",
                                   encoding="utf-8")
    (proj / "p.yaml").write_text("name: p\nsources: [pud.yaml]\noutput_dir: build\nexecutor: {workers: 1, tasks: 1}\n",
                                 encoding="utf-8")
    return proj / "p.yaml"


def test_a_stage_string_is_keyed_as_written_when_the_inputs_are_outside_the_project(tmp_path, outside, capsys):
    """rv62 HIGH: with inputs outside the recipe's folders (the common folder "/"), every stage string under "/" lost
    its slash in the key: a regex `/The` edited to `The` kept the key, and the build "up to date" kept 30 documents
    where the edited recipe keeps 16. Only a stage's file fields are keyed by their place."""
    lines = (SHARED / "en_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:30]
    (outside / "pud.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pipe = _one_source(tmp_path, str(outside / "pud.jsonl"), '  - {type: regex, pattern: "/The"}\n')
    assert main(["build", str(pipe)]) == 0
    (tmp_path / "pud.yaml").write_text((tmp_path / "pud.yaml").read_text(encoding="utf-8").replace('"/The"', '"The"'),
                                       encoding="utf-8")
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0
    said = capsys.readouterr().out
    assert "up to date" not in said and "30 read → 16 kept, 14 removed" in said, said


def test_data_moved_from_outside_into_the_project_is_rebuilt_with_its_new_lineage(tmp_path, outside, capsys):
    """rv62 HIGH: data moved (times kept) from /X/… outside the project into the project at X/… kept its key, since
    both were keyed as `X/…`; the shards kept `source_file` `/X/…`, a file gone. Outside the project the key holds the
    absolute path, as lineage does."""
    import json
    import shutil

    import polars as pl

    lines = (SHARED / "en_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:30]
    (outside / "pud.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pipe = _one_source(tmp_path, str(outside / "pud.jsonl"))
    assert main(["build", str(pipe)]) == 0
    inside = tmp_path / os.path.relpath(outside, "/")
    inside.parent.mkdir(parents=True)
    shutil.move(outside, inside)
    outside.mkdir()  # (for the fixture's clean-up)
    _one_source(tmp_path, os.path.relpath(inside / "pud.jsonl", tmp_path))
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0
    assert "up to date" not in capsys.readouterr().out
    (shard,) = (tmp_path / "build" / "sources" / "pud" / "data").glob("**/*.parquet")
    lineage = json.loads(pl.read_parquet(shard)["metadata"][0])
    assert lineage["source_file"] == os.path.relpath(inside / "pud.jsonl", tmp_path)


def test_a_model_of_the_project_outside_the_recipes_folder_moves_with_it(tmp_path, capsys):
    """rv62: inputs beside the recipe (`sources/`), the model in `models/`: the model, outside the recipe's and
    inputs' common folder, was keyed by its absolute path, and `cp -a` of the project still rebuilt."""
    import shutil

    import lucie_data

    proj = tmp_path / "proj"
    (proj / "sources").mkdir(parents=True)
    (proj / "models").mkdir()
    shutil.copy2(Path(lucie_data.__file__).parent / "assets" / "lid.176.ftz", proj / "models" / "lid.ftz")
    lines = (SHARED / "en_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:30]
    (proj / "sources" / "pud.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _one_source(proj / "sources", "pud.jsonl", "  - {type: language_id, model: ../models/lid.ftz}\n")
    assert main(["build", str(proj / "sources" / "p.yaml")]) == 0
    shutil.copytree(proj, tmp_path / "copy", symlinks=True)
    capsys.readouterr()
    assert main(["build", str(tmp_path / "copy" / "sources" / "p.yaml")]) == 0
    assert "up to date" in capsys.readouterr().out
    os.utime(tmp_path / "copy" / "models" / "lid.ftz", ns=(10**18, 10**18))  # (the model replaced: rebuilt)
    assert main(["build", str(tmp_path / "copy" / "sources" / "p.yaml")]) == 0
    assert "up to date" not in capsys.readouterr().out
