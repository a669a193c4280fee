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


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("nb") / "demo"
    # three sources keep it quick and still cover code, French books and licensed web pages (incl. the ND one)
    assert main(["build", str(ROOT / "pipelines" / "demo.yaml"), "--output", str(out),
                 "--only", "code_permissive", "eltec_fr", "web_cc"]) == 0
    return out


def test_there_are_notebooks():
    assert any(p.name == "auditor.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, demo_build, monkeypatch, tmp_path):
    monkeypatch.setenv("LUCIE_BUILD", str(demo_build))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    # the kernel must be this interpreter (the venv with lucie_data), whatever kernelspecs the machine has
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import sys; assert sys.executable == {sys.executable!r}, sys.executable"))
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    if path.name == "auditor.ipynb":
        assert (demo_build / "reports" / "provenance.json").exists()
        assert (demo_build / "reports" / "composition.png").stat().st_size > 10_000
