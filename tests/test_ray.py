"""The Ray executor on a real local Ray cluster: same bytes as the local executor."""
import hashlib
import shutil
from pathlib import Path

import pytest

from lucie_data.recipe import load_pipeline
from lucie_data.runner import build

from .conftest import ROOT, write

ray = pytest.importorskip("ray", reason="the Ray executor needs the `ray` extra")


def hashes(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("sources/*/*/**/*.parquet"))}


def test_ray_build_matches_local_build(tmp_path):
    shutil.copytree(ROOT / "sources", tmp_path / "sources")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    write(tmp_path / "pipelines" / "local.yaml", "name: l\nsources: [../sources/demo/pud_en.yaml, ../sources/demo/eltec_fr.yaml]\n"
          "executor: {type: local, workers: 2, tasks: 2}\n")
    write(tmp_path / "pipelines" / "ray.yaml", "name: r\nsources: [../sources/demo/pud_en.yaml, ../sources/demo/eltec_fr.yaml]\n"
          "executor: {type: ray, workers: 2, tasks: 2}\n")
    local = build(load_pipeline(tmp_path / "pipelines" / "local.yaml"), tmp_path / "out_local")
    try:
        remote = build(load_pipeline(tmp_path / "pipelines" / "ray.yaml"), tmp_path / "out_ray")
        assert ray.is_initialized() and ray.cluster_resources().get("CPU") == 2  # a real cluster ran the tasks
    finally:
        ray.shutdown()
    assert hashes(tmp_path / "out_ray") == hashes(tmp_path / "out_local")
    assert [s.ledger["docs_kept"] for s in remote.sources] == [s.ledger["docs_kept"] for s in local.sources]
    assert all(s.ledger["balanced"] for s in remote.sources)
