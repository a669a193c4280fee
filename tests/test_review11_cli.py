"""Review 11: the CLI in a user's own project folder, rich markup in the build's output, a pipeline matched by its own
`sources:` glob, a local tokenizer that does not load, and the wording of pipeline errors."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lucie_data.cli import main
from lucie_data.errors import RecipeError
from lucie_data.recipe import load_pipeline

ROOT = Path(__file__).resolve().parents[1]

RECIPE = """\
name: s
category: web
languages: [en]
license: CC0-1.0
input: {type: jsonl, paths: [d.jsonl]}
"""


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """rich wraps at 80 columns off a terminal, inside long temporary paths: messages are compared unwrapped."""
    monkeypatch.setenv("COLUMNS", "1000")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def project(tmp_path: Path, pipeline: str) -> Path:
    """A pipeline p.yaml beside a folder sources/ holding one valid recipe and its data."""
    write(tmp_path / "sources" / "d.jsonl", '{"id": "a", "text": "A short English text, long enough to keep."}\n')
    write(tmp_path / "sources" / "s.yaml", RECIPE)
    return write(tmp_path / "p.yaml", pipeline)


def said(capsys) -> str:
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return " ".join((out.out + out.err).split())


# ------------------------------------------------------------------------------ 1. the user's own pipelines/ folder
def test_validate_without_arguments_checks_the_projects_own_pipelines(tmp_path, monkeypatch, capsys):
    """A project with pipelines/mine.yaml and no pipelines/demo.yaml: `validate` checked the bundled pipelines and
    said OK (exit 0), though `--help` says "default: pipelines/*.yaml"."""
    write(tmp_path / "pipelines" / "mine.yaml", "name: broken\nsources: [../nothing/*.yaml]\nexecutor: {type: slurm}\n")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["validate"]) == 2
    text = said(capsys)
    assert "pipelines/mine.yaml:2: sources[0]: no recipe matches '../nothing/*.yaml'" in text, text
    assert "pipelines/mine.yaml:3: executor.type" in text, text
    assert "demo.yaml" not in text and "OK" not in text, text


def test_validate_without_own_pipelines_says_nothing_of_the_users_was_checked(tmp_path, monkeypatch, capsys):
    """The fallback (the bundled pipelines) stays, said as such, also for a pipelines/ folder without YAML."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipelines").mkdir()
    capsys.readouterr()
    assert main(["validate"]) == 0
    text = said(capsys)
    assert "pipelines/demo.yaml" in text and "the bundled pipelines: pipelines/ here holds no .yaml file; nothing " \
                                               "of yours was checked" in text, text


def test_build_without_arguments_in_a_project_does_not_build_the_bundled_demo(tmp_path, monkeypatch, capsys):
    """`build` with no argument in a project with its own pipelines/ (no demo.yaml) built the bundled demo into
    ./build/demo without a word; now it asks which pipeline, before any work."""
    write(tmp_path / "pipelines" / "mine.yaml", "name: mine\nsources: [../sources/*.yaml]\n")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["build", "--only", "pud_en"]) == 2  # (--only: the old behaviour built one demo source, not six)
    text = said(capsys)
    assert ("error: no pipeline given, and this folder has its own pipelines/ (pipelines/mine.yaml): name the one to "
            "build, e.g. `lucie-data build pipelines/mine.yaml`") in text, text
    assert not (tmp_path / "build").exists()


# ------------------------------------------------------------------------------ 2. rich markup in the build's output
@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "terminal"])
def test_an_incomplete_source_is_reported_without_literal_markup(tmp_path, terminal):
    """`[red]✗[/red] hub: INCOMPLETE…` and `[red]1 source(s) incomplete[/red]` were printed as written (markup=False
    on strings holding markup). A local dataset folder whose data file is not Parquet reads as a Hub outage does."""
    (tmp_path / "ds" / "data").mkdir(parents=True)
    (tmp_path / "ds" / "data" / "train-00000.parquet").write_bytes(b"PAR1" + b"\0" * 64)
    write(tmp_path / "hub.yaml", "name: hub\ncategory: web\nlanguages: [en]\nlicense: CC0-1.0\n"
                                 "input: {type: hf_dataset, dataset: ./ds, split: train}\n")
    write(tmp_path / "p.yaml", "name: p\nsources: [hub.yaml]\noutput_dir: out\n"
                               "executor: {type: local, workers: 1, tasks: 1}\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    env.pop("FORCE_COLOR", None)
    if terminal:  # rich then writes colours as it does on a terminal
        env["FORCE_COLOR"] = "1"
    run = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", "p.yaml"], capture_output=True,
                         text=True, cwd=tmp_path, check=False, env=env, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "[red]" not in out and "[/red]" not in out and "[/" not in out, out
    assert "Traceback" not in out
    text = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out).split())  # (without the terminal's colours)
    assert "hub: INCOMPLETE, 0 read before the input failed (./ds[train]: read_dataset_unavailable)" in text, text
    assert "1 source(s) incomplete (hub): an input could not be read whole" in text, text
    if terminal:
        assert "\x1b[31m" in out  # the cross and the verdict in red, as meant


# ------------------------------------------------------------------------------ 3. a pipeline among its own recipes
@pytest.mark.parametrize("sources, fix", [
    ("[sources/*.yaml, p.yaml]", "remove 'p.yaml' from `sources:`"),
    ('["*.yaml", sources/*.yaml]', ("keep the recipes in a folder of their own and point at it (`sources: "
                                    "[sources/*.yaml]`)")),
])
def test_a_pipeline_matched_by_its_own_sources_is_one_clear_error(tmp_path, monkeypatch, capsys, sources, fix):
    """It was read as a recipe: 6 or 7 "required key is missing" / "unknown key 'sources'" errors."""
    p = project(tmp_path, f"name: t\nsources: {sources}\noutput_dir: build\n")
    with pytest.raises(RecipeError) as exc:
        load_pipeline(p)
    (issue,) = exc.value.issues
    assert str(issue).startswith(f"{p}:2: sources[") and (
        "p.yaml is a pipeline, not a recipe (it has `sources:`)" in issue.message), str(issue)
    assert "matches this pipeline file itself" in issue.message and fix in issue.message, issue.message
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["validate", "p.yaml"]) == 2
    text = said(capsys)
    assert "1 problem found:" in text and "required key" not in text, text
    assert main(["build", "p.yaml"]) == 2
    assert "error: 1 problem found in the pipeline: - p.yaml:2: sources[" in said(capsys)
    assert not (tmp_path / "build").exists()


def test_another_pipeline_matched_by_the_glob_is_named(tmp_path):
    p = project(tmp_path, "name: t\nsources: ['*.yaml', sources/*.yaml]\n")
    write(tmp_path / "q.yaml", "name: q\nsources: [sources/*.yaml]\n")
    with pytest.raises(RecipeError, match=r"sources\[0\]: q\.yaml is a pipeline, not a recipe \(it has `sources:`\), "
                                          r"and '\*\.yaml' matches it;"):
        load_pipeline(p)


# ------------------------------------------------------------------------------ 4. a local tokenizer that does not load
def test_a_local_tokenizer_that_cannot_be_loaded_is_said_at_its_line_before_any_work(tmp_path, monkeypatch, capsys):
    """A tokenizer.json holding `{}` passed `validate`; the build then failed with "Model missing", naming neither
    the pipeline file nor its line."""
    from tokenizers import Tokenizer, models

    write(tmp_path / "tok" / "tokenizer.json", "{}")
    p = project(tmp_path, "name: t\nsources: [sources/*.yaml]\noutput_dir: build\ntokenizer: tok/tokenizer.json\n")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["validate", "p.yaml"]) == 2
    text = said(capsys)
    assert ("p.yaml:4: tokenizer: tok/tokenizer.json is not a tokenizer.json the tokenizers library can load "
            "(Model missing") in text, text
    assert "give the tokenizer.json saved with the model" in text, text
    assert main(["build", "p.yaml"]) == 2
    text = said(capsys)
    assert "p.yaml:4: tokenizer: tok/tokenizer.json is not a tokenizer.json" in text, text
    assert not (tmp_path / "build").exists()  # before any work

    write(tmp_path / "tok" / "tokenizer.json", "not JSON at all")
    with pytest.raises(RecipeError, match=r"p\.yaml:4: tokenizer: tok/tokenizer\.json is not a tokenizer\.json the "
                                          r"tokenizers library can load \(expected"):
        load_pipeline(p)

    good = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1}, unk_token="[UNK]"))
    good.save(str(tmp_path / "tok" / "tokenizer.json"))
    assert load_pipeline(p).recipe.tokenizer == str((tmp_path / "tok" / "tokenizer.json").resolve())


# ------------------------------------------------------------------------------ 5. wording
def test_errors_are_headed_by_where_they_are(tmp_path, monkeypatch, capsys):
    """A pipeline's own errors were headed "N problems found in recipes"."""
    p = project(tmp_path, "name: t\nsources: [sources/*.yaml]\nexecutor: {type: slurm}\n")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["build", "p.yaml"]) == 2
    assert "error: 1 problem found in the pipeline: - p.yaml:3: executor.type" in said(capsys)

    write(tmp_path / "sources" / "s.yaml", RECIPE.replace("license: CC0-1.0\n", ""))
    assert main(["build", "p.yaml"]) == 2
    text = said(capsys)
    assert "error: 2 problems found in the pipeline and its recipes:" in text, text

    p.write_text("name: t\nsources: [sources/*.yaml]\n")
    assert main(["build", "p.yaml"]) == 2
    assert "error: 1 problem found in recipes: - " in said(capsys)

    p.write_text("name: t\nsources: [sources/*.yaml\n")  # a YAML slip in the pipeline
    assert main(["build", "p.yaml"]) == 2
    assert "error: 1 problem found in the pipeline: - p.yaml:" in said(capsys)


def test_the_relative_path_hint_is_only_given_for_relative_paths(tmp_path, monkeypatch, capsys):
    """"(relative paths are resolved from …)" was said after absolute paths too (and "from ." for a pipeline in the
    current folder)."""
    missing = tmp_path / "nowhere"
    write(tmp_path / "sources" / "d.jsonl", '{"id": "a", "text": "x"}\n')
    write(tmp_path / "sources" / "s.yaml", RECIPE.replace("[d.jsonl]", f"['{missing}/a.jsonl', nope.jsonl]")
          + f"stages:\n  - {{type: language_id, model: '{missing}/lid.bin'}}\n"
          + "  - {type: language_id, model: models/lid.bin}\n")
    write(tmp_path / "p.yaml", f"name: t\nsources: [sources/*.yaml]\ntokenizer: {missing}/tokenizer.json\n")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["validate", "p.yaml"]) == 2
    lines = capsys.readouterr().out
    text = " ".join(lines.split())
    src = tmp_path / "sources"
    assert f"no file matches '{missing}/a.jsonl'; check the path" in text, text
    assert f"no file matches 'nope.jsonl' (relative paths are resolved from {src}); check the path" in text, text
    assert f"file '{missing}/lid.bin' does not exist; fix the path" in text, text
    assert f"file 'models/lid.bin' does not exist (relative paths are resolved from {src});" in text, text
    assert f"tokenizer file '{missing}/tokenizer.json' does not exist; give a tokenizer.json path" in text, text

    write(tmp_path / "p.yaml", "name: t\nsources: [sources/*.yaml]\ntokenizer: tok/tokenizer.json\n")
    assert main(["validate", "p.yaml"]) == 2
    text = " ".join(capsys.readouterr().out.split())
    assert (f"tokenizer file 'tok/tokenizer.json' does not exist (relative paths are resolved from {tmp_path}); "
            in text), text  # (not "from .")
