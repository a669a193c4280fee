"""New-user review 14: a build whose stdout's reader goes (`build … | head`), a build folder of another pipeline, a
text file cut inside a UTF-8 sequence, a stage that removes every document."""
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from lucie_data.cli import main
from tests.conftest import stand_in_hub

ROOT = Path(__file__).resolve().parents[1]
PUD_EN = ROOT / "data" / "demo" / "en_ud_pud.jsonl"


def _recipe(folder: Path, name: str, stages: str = "  - type: normalize\n") -> Path:
    f = folder / "sources" / f"{name}.yaml"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(f"name: {name}\ncategory: web\nlanguages: [en]\nlicense: CC-BY-SA-3.0\n"
                 f"input: {{type: jsonl, paths: [{PUD_EN}]}}\nstages:\n{stages}", encoding="utf-8")
    return f


def _pipeline(folder: Path, name: str, sources: list[str], output: str = "../build") -> Path:
    f = folder / "pipelines" / f"{name}.yaml"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(f"name: {name}\nsources: [{', '.join(f'../sources/{s}.yaml' for s in sources)}]\n"
                 f"output_dir: {output}\nexecutor: {{type: local, workers: 1, tasks: 1}}\n"
                 "license_policy: {allow_classes: [share-alike]}\nmix: {factors: {en--web: 1}}\n", encoding="utf-8")
    return f


def _run_with_stdout_closed(cwd: Path, *argv, buffered: bool = False, stderr_too: bool = False):
    """The command with a stdout whose reader has already gone (`… | head` once head has read its lines): every
    write to it fails with EPIPE. Unbuffered (PYTHONUNBUFFERED) a print fails at once; buffered, at the flush."""
    r, w = os.pipe()
    os.close(r)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    try:
        return subprocess.run([sys.executable, "-m", "lucie_data.cli", *map(str, argv)], stdout=w,
                              stderr=w if stderr_too else subprocess.PIPE, text=True, cwd=cwd, env=env, timeout=600)
    finally:
        os.close(w)


# ------------------------------------------------------------------------- 1. stdout closed by its reader
@pytest.mark.parametrize("buffered", [False, True])
def test_a_build_whose_stdout_closes_builds_every_source_and_its_manifest(tmp_path, buffered):
    """Review: `lucie-data build p.yaml | head -2` exited 0 with an empty stderr after the first source: the others
    were never built and manifest.json was not written (the BrokenPipeError of a progress line ended the command)."""
    _recipe(tmp_path, "first")
    _recipe(tmp_path, "second")
    pipe = _pipeline(tmp_path, "two", ["first", "second"])
    pipe.write_text(pipe.read_text().replace("workers: 1, tasks: 1", "workers: 2, tasks: 2"))
    p = _run_with_stdout_closed(tmp_path, "build", pipe, buffered=buffered)
    assert p.returncode == 0 and "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    out = tmp_path / "build"
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(s["name"] for s in manifest["sources"]) == ["first", "second"]
    for s in ("first", "second"):
        assert json.loads((out / "sources" / s / "ledger.json").read_text())["docs_kept"] == 397
    # `2>&1 | head`: the error is lost with the pipe, its exit status is not
    p = _run_with_stdout_closed(tmp_path, "build", tmp_path / "nope.yaml", buffered=buffered, stderr_too=True)
    assert p.returncode == 2


@pytest.mark.parametrize("buffered", [False, True])
def test_mix_build_report_and_push_whose_stdout_closes_finish_with_their_own_status(tmp_path, monkeypatch, buffered):
    """The same for the other commands that print as they work: `mix build` stopped at its first line (no mix,
    exit 0), `report` on a build that does not reconcile exited 0 (not 1), `push` stopped before its first commit;
    buffered, they did their work and exited 120 (Python's flush at exit failing)."""
    _recipe(tmp_path, "first")
    pipe = _pipeline(tmp_path, "one", ["first"])
    assert main(["build", str(pipe)]) == 0
    build = tmp_path / "build"
    p = _run_with_stdout_closed(tmp_path, "mix", "build", build, buffered=buffered)
    assert p.returncode == 0 and "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    assert json.loads((build / "mix" / "mix_plan.json").read_text())["license_check"]["passed"]

    r, w = os.pipe()
    os.close(r)  # sys.stdout once `| head` has gone: every write fails (line-buffered: at each line)
    gone = os.fdopen(w, "w", buffering=-1 if buffered else 1)
    token = "hf_review14_s3cr3t_0123456789"
    with stand_in_hub(monkeypatch, tmp_path, token) as hub:
        monkeypatch.setenv("HF_TOKEN", token)
        kept, sys.stdout = sys.stdout, gone
        try:
            code = main(["push", str(build), "--repo-id", "me/mix", "--endpoint", hub.endpoint])
        finally:
            sys.stdout = kept
        gone.close()  # (what it still buffered goes to /dev/null: no BrokenPipeError)
        assert code == 0
        mixed = {f.relative_to(build / "mix").as_posix() for f in (build / "mix").rglob("*") if f.is_file()}
        assert set(hub.files("me/mix")) - {".gitattributes"} == mixed

    shard = next((build / "sources" / "first" / "data").rglob("*.parquet"))
    pl.read_parquet(shard).head(3).write_parquet(shard)  # the report no longer reconciles: exit 1
    p = _run_with_stdout_closed(tmp_path, "report", build, buffered=buffered)
    assert p.returncode == 1 and "does not reconcile" in p.stderr and "Traceback" not in p.stderr, p.stderr


# ------------------------------------------------------------------------- 2. a build folder of another pipeline
def test_building_another_pipeline_into_a_build_folder_is_refused_before_any_work(tmp_path, capsys):
    """Review: `build pipelines/p2.yaml --output <main's build folder>` exited 0; main's sources stayed (the report
    listed them only as `source_not_in_manifest`) and main's mix/ with them, which `push` would publish."""
    from lucie_data.errors import InputError
    from lucie_data.recipe import load_pipeline
    from lucie_data.runner import build

    _recipe(tmp_path, "first")
    _recipe(tmp_path, "second")
    main_pipe = _pipeline(tmp_path, "main", ["first"])
    assert main(["build", str(main_pipe)]) == 0
    out = tmp_path / "build"
    before = (out / "manifest.json").read_bytes()
    other = _pipeline(tmp_path, "p2", ["second"], output="../elsewhere")
    capsys.readouterr()
    assert main(["build", str(other), "--output", str(out)]) == 2
    got = capsys.readouterr()
    err = " ".join(got.err.split())
    assert f"{out} holds the build of pipeline 'main'" in err and "not of 'p2'" in err, err
    assert "--output" in err and "delete" in err and "Traceback" not in err, err
    assert "lucie-data" not in got.out  # refused before the banner, before any work
    assert not (out / "sources" / "second").exists() and (out / "manifest.json").read_bytes() == before
    with pytest.raises(InputError, match="holds the build of pipeline 'main'"):  # the API too
        build(load_pipeline(other), out)
    assert not (out / "sources" / "second").exists()
    # a single recipe is a pipeline named after its source: refused there too
    assert main(["build", str(tmp_path / "sources" / "second.yaml"), "--output", str(out)]) == 2
    assert "not of 'second'" in " ".join(capsys.readouterr().err.split())
    # the same pipeline (by its name) rebuilds its own folder as before
    assert main(["build", str(main_pipe)]) == 0
    # a build of main stopped before its manifest (code review: not refused then): judged by .pipeline
    (out / "manifest.json").unlink()
    assert (out / ".pipeline").read_text(encoding="utf-8") == "main\n"
    assert main(["build", str(other), "--output", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "holds the build of pipeline 'main' (its .pipeline, written when that build started" in err, err
    assert not (out / "sources" / "second").exists()
    assert main(["build", str(main_pipe)]) == 0 and (out / "manifest.json").is_file()


# ------------------------------------------------------------------------- 3. a text file cut inside a UTF-8 sequence
def test_a_text_file_cut_inside_a_utf8_sequence_is_named_in_the_warnings_and_the_summary(tmp_path, capsys):
    """Review: the document was kept with only metadata `read_note: truncated_utf8_sequence_dropped`: no ledger
    warning, nothing at the end of the build, where a truncated .jsonl.gz of the same build was named. The
    document stays kept (the reader drops the cut sequence, README), and the file is named."""
    import shutil

    prob = ROOT / "tests" / "data" / "problematic"
    (tmp_path / "txt").mkdir()
    for f in ("derived_truncated_mid-utf8-sequence.txt", "real_utf8-bom_crlf_gutenberg-44157.txt"):
        shutil.copy(prob / f, tmp_path / "txt" / f)
    recipe = tmp_path / "txt.yaml"
    recipe.write_text("name: txt\ncategory: book\nlanguages: [fr]\nlicense: LicenseRef-PD-US-Project-Gutenberg\n"
                      "input: {type: text, paths: [txt/*.txt]}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["build", str(recipe), "--output", str(tmp_path / "b")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    led = json.loads((tmp_path / "b" / "sources" / "txt" / "ledger.json").read_text())
    assert led["docs_kept"] == 2 and led["quarantined_files"] == []
    assert led["read_checks"]["truncated_utf8_sequence_dropped"] == {
        "files": 1, "of_files": 2, "first": ["txt/derived_truncated_mid-utf8-sequence.txt"]}
    w = [x for x in led["warnings"] if "truncated_utf8_sequence_dropped" in x]
    assert len(w) == 1 and "txt/derived_truncated_mid-utf8-sequence.txt" in w[0], led["warnings"]
    assert f"txt: {' '.join(w[0].split())}" in out, out  # the end-of-build summary


# ------------------------------------------------------------------------- 4. a stage that removes every document
def test_any_stage_that_removes_every_document_is_warned_about(tmp_path, capsys):
    """Review: `min_length` with `min_chars: 1000000` gave "397 read → 0 kept", exit 0 and `warnings: []`, where the
    licence gate has its "removed every document" warning. Now any stage that removes every document it received
    says so, with its id and its top reason; the stages after it (nothing in) do not."""
    _recipe(tmp_path, "all_gone", "  - type: normalize\n  - type: min_length\n    min_chars: 1000000\n"
                                  "  - type: exact_dedup\n")
    pipe = _pipeline(tmp_path, "gone", ["all_gone"])
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    led = json.loads((tmp_path / "build" / "sources" / "all_gone" / "ledger.json").read_text())
    assert led["docs_kept"] == 0 and led["balanced"]
    (w,) = [w for w in led["warnings"] if "removed every document" in w]
    top = max(led["stages"][2]["removed"].items(), key=lambda kv: kv[1]["docs"])[0]
    assert w.startswith(f"stage min_length removed every document it received (397: {top} × "), w
    assert str(tmp_path / "sources" / "all_gone.yaml") in w
    assert f"all_gone: {w}" in out


def test_python_dash_m_lucie_data_runs_the_cli():
    """Bad-input review: `python -m lucie_data` failed (no __main__.py); only `-m lucie_data.cli` worked."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "lucie_data", "stages"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "language_gate" in r.stdout, r.stderr


def test_the_readmes_pipeline_example_is_a_valid_pipeline_with_a_mix_block():
    """New-user review: the README never showed the weights format (`language--category: epochs`); its pipeline
    example now has a `mix:` block, which must stay a valid one."""
    import yaml

    from lucie_data.recipe import PipelineRecipe

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("# pipelines/example.yaml"):]
    pipe = PipelineRecipe.model_validate(yaml.safe_load(block[:block.index("```")]))
    assert pipe.mix is not None and pipe.mix.factors["fr-en--aligned"] == 3
    # newcomer review: it could not be mixed (three factors and no default_factor) and had no licence policy
    assert pipe.mix.default_factor == 1 and pipe.license_policy is not None


def test_a_pipeline_marker_without_any_source_does_not_refuse_another_pipeline(tmp_path, capsys):
    """Second code review: a build of p stopped before its first source left only .lock, .pipeline and build.log, and
    a build of q into that folder was refused for "the sources and mix of p", which do not exist."""
    _recipe(tmp_path, "first")
    _recipe(tmp_path, "second")
    out = tmp_path / "build"
    (out / "sources").mkdir(parents=True)
    (out / ".pipeline").write_text("main\n", encoding="utf-8")
    other = _pipeline(tmp_path, "p2", ["second"], output="../elsewhere")
    assert main(["build", str(other), "--output", str(out)]) == 0, capsys.readouterr().err
    assert (out / ".pipeline").read_text(encoding="utf-8") == "p2\n"


def test_a_source_an_older_version_could_not_read_is_read_again(tmp_path, capsys):
    """Second code review: a folder built before read_unreadable_file recorded a denied file as read_corrupt_file with
    a PermissionError and stayed 'up to date' once the file was readable: its records were never read."""
    _recipe(tmp_path, "first")
    pipe = _pipeline(tmp_path, "main", ["first"])
    assert main(["build", str(pipe)]) == 0
    led_file = tmp_path / "build" / "sources" / "first" / "ledger.json"
    led = json.loads(led_file.read_text(encoding="utf-8"))
    led["quarantined_files"] = [{"file": "x.jsonl", "reason": "read_corrupt_file",
                                 "detail": "PermissionError: [Errno 13] Permission denied: 'x.jsonl' (at the start); "
                                           "file quarantined"}]
    led_file.write_text(json.dumps(led), encoding="utf-8")  # what such a version wrote
    capsys.readouterr()
    assert main(["build", str(pipe)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "up to date" not in out and "first:" in out, out
    assert json.loads(led_file.read_text(encoding="utf-8"))["quarantined_files"] == []
