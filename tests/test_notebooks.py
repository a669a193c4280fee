"""Every notebook in notebooks/ runs top to bottom against a fresh build of the demo (as CI does)."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lucie_data.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MIX_FILES = ("README.md", "mix_plan.json")

# appended to the trainer notebook: its copies-per-source figure against mix_plan.json (epochs, documents), from
# the plan alone: e epochs give every document of a subset floor(e) copies, and one more to those its fraction
# selected, so the most copies of a subset is floor(e) + 1 exactly when it holds more than floor(e) x its build docs
CHECK_COPIES = """
import math as _m
_expected = {}
for _s in plan["subsets"].values():
    if _s["docs_achieved"]:
        _w = _m.floor(_s["epochs"])
        _k = _w + (_s["docs_achieved"] > _w * _s["docs"])
        _expected[_s["source"]] = max(_expected.get(_s["source"], 0), _k)
_shown = dict(zip(by_source["source"].to_list(), by_source["max copies"].to_list()))
assert _shown == _expected, (_shown, _expected)
print("copies per source:", _shown)
"""


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("nb") / "demo"
    # three sources keep it quick and still cover code, French books and licensed web pages (incl. the ND one)
    assert main(["build", str(ROOT / "pipelines" / "demo.yaml"), "--output", str(out),
                 "--only", "code_permissive", "eltec_fr", "web_cc"]) == 0
    return out


@pytest.fixture(scope="module")
def keep_mix(demo_build, tmp_path_factory):
    """A `repeat_ids: keep` mix written outside its build (`--output`), with epochs below 1 and fractional above."""
    where = tmp_path_factory.mktemp("elsewhere")
    weights = where / "weights.yaml"
    weights.write_text("factors:\n  code--programming: 0.25\n  fr--book: 1.5\n  en--web: 3.7\n  de--web: 0.5\n",
                       encoding="utf-8")
    mix = where / "mixK"
    assert main(["mix", "build", str(demo_build), "--weights", str(weights), "--repeat-ids", "keep",
                 "--output", str(mix)]) == 0
    return mix


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file and folder under ``folder``: (size, mtime) of a file, None for a folder."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns))
            for p in folder.rglob("*")}


def run_notebook(path: Path, workdir: Path, extra: str | None = None) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    # the kernel must be this interpreter (the venv with lucie_data), whatever kernelspecs the machine has
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import sys; assert sys.executable == {sys.executable!r}, sys.executable"))
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    return nb


def test_there_are_notebooks():
    assert any(p.name == "auditor.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, demo_build, monkeypatch, tmp_path):
    monkeypatch.setenv("LUCIE_BUILD", str(demo_build))
    monkeypatch.delenv("LUCIE_MIX", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = snapshot(demo_build)
    run_notebook(path, tmp_path, CHECK_COPIES if path.name == "trainer.ipynb" else None)
    if path.name == "auditor.ipynb":
        assert (demo_build / "reports" / "provenance.json").exists()
        assert (demo_build / "reports" / "composition.png").stat().st_size > 10_000
    if path.name == "trainer.ipynb":
        # the build is left as it was, but for its default mix, written there when it was missing (and the lock file
        # `mix build` holds beside it, README "Build folder")
        after = snapshot(demo_build)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} - {".mix.lock"}
        if "mix" in before:
            assert not changed
        else:
            assert changed and all(k == "mix" or k.startswith("mix/") for k in changed), sorted(changed)
            assert all(k in MIX_FILES or k.startswith("data") for k in (Path(k).relative_to("mix").as_posix()
                                                                     for k in changed if k != "mix")), sorted(changed)
        # its figure is in its working folder
        assert (tmp_path / "mix_composition.png").stat().st_size > 10_000


def test_trainer_keep_mix(demo_build, keep_mix, monkeypatch, tmp_path):
    """A `repeat_ids: keep` mix given by LUCIE_MIX, built elsewhere: copies counted per id, no build needed, and
    nothing written into the build, the mix or the folder holding it."""
    monkeypatch.setenv("LUCIE_MIX", str(keep_mix))
    monkeypatch.delenv("LUCIE_BUILD", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    build_before, where_before = snapshot(demo_build), snapshot(keep_mix.parent)
    nb = run_notebook(ROOT / "notebooks" / "trainer.ipynb", tmp_path, CHECK_COPIES)
    assert snapshot(demo_build) == build_before
    assert snapshot(keep_mix.parent) == where_before
    assert (tmp_path / "mix_composition.png").stat().st_size > 10_000
    # the figure is not 1 everywhere (keep mode has no `#k`): web_cc's English pages at 3.7 epochs have 4 copies
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert "'web_cc': 4" in out and "'code_permissive': 1" in out, out
