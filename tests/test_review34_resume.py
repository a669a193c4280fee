"""Findings of the kill/resume review (rv34): a stopped source whose hand-off files are gone is rebuilt."""
import hashlib
import shutil
from pathlib import Path

import pytest

from lucie_data import runner
from lucie_data.errors import BuildError
from lucie_data.recipe import load_pipeline

from .conftest import ROOT, write


def _hashes(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("sources/*/*/**/*.parquet"))}


def test_a_lost_hand_off_file_is_rebuilt_not_read_as_an_empty_task(tmp_path, monkeypatch):
    """A build stopped after a dedup's first segment, then a finished task's hand-off file deleted: every rerun read it
    as a task without documents and stopped on "stage exact_dedup: in 46 != previous stage's kept 62"."""
    shutil.copytree(ROOT / "sources", tmp_path / "sources")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    pipe = write(tmp_path / "pipelines" / "p.yaml", "name: p\nsources: [../sources/demo/code_permissive.yaml]\n"
                 "executor: {type: local, workers: 1, tasks: 2}\n")
    clean = runner.build(load_pipeline(pipe), tmp_path / "clean")
    assert [s.status for s in clean.sources] == ["built"]

    real = runner.run_with_progress

    def stop_before_segment_1(executor, progress_dir, report, every=0.5):
        if "seg1" in str(progress_dir):
            raise KeyboardInterrupt  # as Ctrl-C between the segments
        real(executor, progress_dir, report, every)

    monkeypatch.setattr(runner, "run_with_progress", stop_before_segment_1)
    out = tmp_path / "out"
    try:
        runner.build(load_pipeline(pipe), out)
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(runner, "run_with_progress", real)
    handoff = out / "sources" / "code_permissive" / "work" / "seg0" / "00001.parquet"
    assert handoff.exists()
    handoff.unlink()
    events = []
    res = runner.build(load_pipeline(pipe), out, on_event=lambda e, d: events.append((e, d)))
    assert [s.status for s in res.sources] == ["built"] and res.sources[0].ledger["balanced"]
    said = [d["message"] for e, d in events if e == "warning"]
    assert any(f"the hand-off file {handoff} of a finished task holds 0 of the " in m and m.endswith(
        "documents its task wrote (deleted or damaged since); rebuilding this source") for m in said), said
    assert _hashes(out) == _hashes(tmp_path / "clean")


def test_an_unbalanced_source_is_rebuilt_from_the_start_by_the_next_build(tmp_path, monkeypatch):
    """Resuming a source whose ledger did not balance found the same state again, build after build; the next build
    now starts it afresh. The imbalance is injected (no real build is known to produce one)."""
    shutil.copytree(ROOT / "sources", tmp_path / "sources")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    pipe = write(tmp_path / "pipelines" / "p.yaml", "name: p\nsources: [../sources/demo/pud_en.yaml]\n"
                 "executor: {type: local, workers: 1, tasks: 2}\n")
    real = runner.compute_ledger

    def unbalanced(*args, **kw):
        led = real(*args, **kw)
        return {**led, "balanced": False, "imbalances": ["stage read: in 1 != kept 0 + removed 0"]}

    monkeypatch.setattr(runner, "compute_ledger", unbalanced)
    out = tmp_path / "out"
    with pytest.raises(BuildError, match=r"source 'pud_en': documents unaccounted for: stage read: in 1 != kept 0 \+ "
                                         r"removed 0; the next `lucie-data build` rebuilds this source from the start"):
        runner.build(load_pipeline(pipe), out)
    assert not (out / "sources" / "pud_en" / ".build_key").exists()
    monkeypatch.setattr(runner, "compute_ledger", real)
    events = []
    res = runner.build(load_pipeline(pipe), out, on_event=lambda e, d: events.append((e, d)))
    assert [s.status for s in res.sources] == ["built"] and res.sources[0].ledger["balanced"]


def test_report_on_a_folder_it_cannot_write_says_so_and_writes_elsewhere(tmp_path_factory, tmp_path, capsys):
    """A read-only build folder gave `OSError: [Errno 30] Read-only file system` with a traceback, and report had no
    way to write elsewhere. (Tests run as root, where permissions do not stop a write: `reports` is made a file.)"""
    import json

    from lucie_data.cli import main

    from .test_mix_build import make_build

    built = make_build(tmp_path_factory.getbasetemp() / "mixbuild")
    b = tmp_path / "b"
    shutil.copytree(built, b, ignore=shutil.ignore_patterns("mix", "reports"))
    (b / "reports").write_text("not a folder")
    capsys.readouterr()
    assert main(["report", str(b)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"cannot write the report into {b / 'reports'} (" in err \
        and "give a folder you can write with --output" in err, err
    assert main(["report", str(b), "--output", str(tmp_path / "audit")]) == 0
    rep = json.loads((tmp_path / "audit" / "provenance.json").read_text(encoding="utf-8"))
    assert rep["reconciliation"]["ok"] and (b / "reports").read_text() == "not a folder"


def test_report_and_mix_wait_for_a_build_writing_the_folder(tmp_path_factory, tmp_path, capsys):
    """`report` during a live build said the build had stopped and to rerun it. A real second process holds the
    build folder's lock, as a running build does."""
    import subprocess
    import sys

    from lucie_data.cli import main

    from .test_mix_build import make_build

    built = make_build(tmp_path_factory.getbasetemp() / "mixbuild")
    b = tmp_path / "b"
    shutil.copytree(built, b, ignore=shutil.ignore_patterns("mix", "reports"))
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from lucie_data.locks import acquire\n"
                               f"acquire(Path({str(b / '.lock')!r}), 'build')\nprint('held', flush=True)\n"
                               "time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        capsys.readouterr()
        assert main(["report", str(b)]) == 2
        err = capsys.readouterr().err
        assert f"a lucie-data build is writing {b} right now (pid {holder.pid}, started " in err \
            and "report when it has finished" in err, err
        assert not (b / "reports").exists()
        assert main(["mix", "build", str(b), "--output", str(tmp_path / "m")]) == 2
        assert "build the mix when it has finished" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert main(["report", str(b)]) == 0  # the lock goes with its process


def test_a_source_whose_ledger_was_deleted_is_rebuilt_and_said_so(tmp_path):
    """A deleted ledger.json made the whole source rebuild without a word (its work/ folder was gone too)."""
    shutil.copytree(ROOT / "sources", tmp_path / "sources")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    pipe = write(tmp_path / "pipelines" / "p.yaml", "name: p\nsources: [../sources/demo/code_permissive.yaml]\n"
                 "executor: {type: local, workers: 1, tasks: 2}\n")
    out = tmp_path / "out"
    runner.build(load_pipeline(pipe), out)
    first = _hashes(out)
    (out / "sources" / "code_permissive" / "ledger.json").unlink()
    events = []
    res = runner.build(load_pipeline(pipe), out, on_event=lambda e, d: events.append((e, d)))
    assert [s.status for s in res.sources] == ["built"] and _hashes(out) == first
    said = [d["message"] for e, d in events if e == "warning"]
    assert any("holds no ledger.json and no work/ folder to resume from; rebuilding this source" in m
               for m in said), said
