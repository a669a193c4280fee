"""rv53, rule 4 under hard kills: ~280 kill -9 / rerun cycles ended byte-identical, but a rerun threw away a finished
source, needed two runs for a shard deleted after a kill, and `trace` called a killed task's shard damaged. The kills
are simulated in process at the exact point (an exception where the process would have died), on the demo's
pud_en source (two segments: an exact_dedup barrier between them, two tasks)."""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from lucie_data.cli import main
from lucie_data.recipe import load_pipeline
from lucie_data.runner import build

from .test_build import shard_hashes

ROOT = Path(__file__).resolve().parents[1]


class Killed(BaseException):
    """The process dies here (not an Exception: nothing catches it on the way out)."""


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("clean") / "out"
    build(load_pipeline(ROOT / "pipelines" / "demo.yaml"), out, only=["pud_en"])
    return shard_hashes(out)


def _die(*a, **k):
    raise Killed


def _killed_at(monkeypatch, name: str, replacement, out: Path):
    """Build the demo's pud_en into ``out`` with ``runner.<name>`` replaced by what dies there; the pipeline."""
    import lucie_data.runner as runner

    monkeypatch.setattr(runner, name, replacement)
    pipe = load_pipeline(ROOT / "pipelines" / "demo.yaml")
    with pytest.raises(Killed):
        build(pipe, out, only=["pud_en"])
    monkeypatch.undo()
    return pipe


def _events():
    seen: list[tuple[str, dict]] = []
    return seen, lambda e, d: seen.append((e, d))


def test_a_kill_after_the_ledger_leaves_a_finished_source(tmp_path, monkeypatch, clean):
    """The hand-off files were removed before the ledger was written: a kill between the two left a source every task
    of which had finished, rebuilt from scratch by the rerun ("holds no ledger.json and no work/ folder")."""
    import lucie_data.runner as runner

    real = shutil.rmtree

    def rmtree(path, *a, **k):
        real(path, *a, **k)
        if Path(path).name == "work":
            raise Killed

    monkeypatch.setattr(runner.shutil, "rmtree", rmtree)
    pipe = load_pipeline(ROOT / "pipelines" / "demo.yaml")
    with pytest.raises(Killed):
        build(pipe, tmp_path / "out", only=["pud_en"])
    monkeypatch.undo()
    seen, on_event = _events()
    res = build(pipe, tmp_path / "out", only=["pud_en"], on_event=on_event)
    assert res.sources[0].status == "up-to-date"
    assert not [d for e, d in seen if e == "warning"]
    assert shard_hashes(tmp_path / "out") == clean


def test_a_kill_before_any_task_finished_is_resumed_without_a_word(tmp_path, monkeypatch, clean):
    """logs/ without work/ and no task finished: nothing was lost (the rerun warned and rebuilt)."""
    def killed(ex, progress, *a, **k):
        Path(progress).parent.mkdir(parents=True, exist_ok=True)  # (the executor made its logs folder)
        raise Killed

    pipe = _killed_at(monkeypatch, "run_with_progress", killed, tmp_path / "out")
    assert (tmp_path / "out" / "sources" / "pud_en" / "logs").is_dir()
    seen, on_event = _events()
    res = build(pipe, tmp_path / "out", only=["pud_en"], on_event=on_event)
    assert res.sources[0].status == "built" and not [d for e, d in seen if e == "warning"]
    assert shard_hashes(tmp_path / "out") == clean


def test_a_shard_deleted_after_a_kill_is_rebuilt_in_one_run(tmp_path, monkeypatch, clean):
    """A kill before the ledger, then a kept shard of a finished task deleted: the rerun did the remaining work and
    failed ("documents unaccounted for"); a second rerun rebuilt the source."""
    pipe = _killed_at(monkeypatch, "compute_ledger", _die, tmp_path / "out")
    src = tmp_path / "out" / "sources" / "pud_en"
    (src / "logs" / "seg1" / "completions" / "00001").unlink()  # task 1 of the last segment is still to run
    (victim,) = sorted((src / "data").glob("**/00000-*.parquet"))[:1]
    victim.unlink()  # a shard task 0 wrote, deleted
    seen, on_event = _events()
    res = build(pipe, tmp_path / "out", only=["pud_en"], on_event=on_event)
    (warn,) = [d["message"] for e, d in seen if e == "warning"]
    assert warn.startswith("the shards written by the tasks a stopped run finished do not add up (")
    assert warn.endswith("deleted or damaged since; rebuilding this source")
    assert res.sources[0].status == "built" and res.sources[0].ledger["balanced"] and not res.sources[0].resumed
    assert shard_hashes(tmp_path / "out") == clean
    kept = pl.read_parquet(src / "data" / "**" / "*.parquet")
    assert kept["id"].n_unique() == kept.height


def test_trace_passes_over_the_shard_a_killed_task_was_writing(tmp_path, monkeypatch, capsys):
    """A 0-byte shard of a source no run finished: `trace` said it was damaged and to delete the source's folder
    (finished tasks and all); `report` and `mix build` say to rerun the build, which resumes."""
    out = tmp_path / "out"
    build(load_pipeline(ROOT / "pipelines" / "demo.yaml"), out, only=["eltec_fr"])  # a source finished before
    _killed_at(monkeypatch, "compute_ledger", _die, out)
    src = out / "sources" / "pud_en"
    kept_id = pl.read_parquet(sorted((src / "data").glob("**/*.parquet"))[0])["id"][0]
    cut = sorted((src / "removed").glob("*/*.parquet"))[-1]
    cut.write_bytes(b"")  # the task writing it was killed
    capsys.readouterr()
    assert main(["trace", str(out), kept_id]) == 1  # (found; exit 1: its source is not in the manifest yet)
    said = capsys.readouterr().out
    assert "status    KEPT" in said and "rerun `lucie-data build`" in said
    assert main(["trace", str(out), "pud_en/no-such-id"]) == 2
    err = capsys.readouterr().err
    assert "is not in build" in err and "damaged" not in err and "delete the folder" not in err
    # rv56: not "did you mean" alone, as for a misspelt id: the source is unfinished, and the rerun finishes it
    assert "its source pud_en is unfinished" in err and "rerun `lucie-data build` to finish it" in err
    assert main(["trace", str(out), "eltec_fr/no-such-id"]) == 2  # a finished source: no such note
    assert "unfinished" not in capsys.readouterr().err
