"""Review 10: `kill -9` of the main `lucie-data build` process alone (not its process group) left the multiprocess
forkserver, the resource tracker and datatrove's Manager (a fork of the main process) alive, re-parented to PID 1,
for good; every process the build started must now end soon after it (PR_SET_PDEATHSIG, Linux)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"  # ../shared/corpora (README there)
LANGS = ("fr", "en", "de", "es", "it")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _session(sid: int) -> list[int]:
    """Live processes of session ``sid`` (the build's: ``start_new_session``), zombies left out."""
    out = []
    for p in psutil.process_iter():
        try:
            if os.getsid(p.pid) == sid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            pass
    return out


def _describe(pids) -> str:
    rows = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            rows.append(f"{pid} ppid={p.ppid()} {' '.join(p.cmdline())[:110]}")
        except psutil.NoSuchProcess:
            pass
    return "\n".join(rows)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux-only")
@pytest.mark.parametrize("workers", [2, 1])
def test_kill_9_of_the_main_process_leaves_no_process_behind(tmp_path, workers):
    """A build with 2 workers, killed (SIGKILL, the main PID only) once its workers run tasks: within ~15 s none of
    the processes it started remains (forkserver, its workers, the resource tracker, datatrove's Manager); the
    same command run again then finishes, balanced."""
    import yaml

    # ~10x the five ELTeC novel files (ids made unique per copy), with quality stages: tasks run for several seconds
    inp = tmp_path / "in" / "novels.jsonl"
    inp.parent.mkdir()
    with inp.open("w", encoding="utf-8") as out:
        for copy in range(10):
            for lang in LANGS:
                with (CORPORA / f"{lang}_eltec_novels.jsonl").open(encoding="utf-8") as f:
                    for line in f:
                        if line.strip():
                            rec = json.loads(line)
                            rec["id"] = f"{rec.get('id')}-c{copy}"
                            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    recipe = {"name": "novels", "category": "book", "languages": list(LANGS), "license": "CC-BY-4.0",
              "input": {"type": "jsonl", "paths": [str(inp)], "language_field": "language"},
              "stages": [{"type": "normalize"}, {"type": "gopher_repetition"}, {"type": "gopher_quality"},
                         {"type": "fineweb_quality"}]}
    (tmp_path / "novels.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"name": "p", "sources": ["novels.yaml"], "output_dir": "b",
                                                     "executor": {"type": "local", "workers": workers, "tasks": 4}}))
    cmd = [sys.executable, "-m", "lucie_data.cli", "build", str(tmp_path / "p.yaml"), "--workers", str(workers)]
    log = (tmp_path / "build.err").open("w")  # a file, not a pipe nobody reads while the build runs
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    sid = proc.pid
    try:
        main = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        forked: list = []
        while time.monotonic() < deadline and proc.poll() is None:  # until the forkserver has forked the workers
            try:
                kids = main.children(recursive=True)
                forked = [p for p in kids if p.ppid() != main.pid
                          and any("forkserver" in a for a in p.cmdline())]
            except psutil.NoSuchProcess:
                kids, forked = [], []
            if len(forked) >= workers or workers == 1:  # (one worker: the tasks run in the main process)
                break
            time.sleep(0.1)
        assert proc.poll() is None and (len(forked) >= 2 or workers == 1), "the build ended before its workers ran"
        progress = tmp_path / "b" / "sources" / "novels" / "logs" / "seg0" / "progress"
        while time.monotonic() < deadline and proc.poll() is None:  # until the workers have read documents
            try:
                if sum(int(p.read_text() or 0) for p in progress.glob("*")) >= 100:
                    break
            except (OSError, ValueError):  # a count being written
                pass
            time.sleep(0.05)
        assert proc.poll() is None, "the build ended before it could be killed"
        descendants = [p.pid for p in main.children(recursive=True)]
        started = _describe(descendants)
        if workers > 1:
            assert any("resource_tracker" in line for line in started.splitlines()), started
        assert any(line.split("ppid=")[1].startswith(f"{main.pid} ") and "lucie_data.cli" in line
                   for line in started.splitlines()), "no Manager forked from the main process:\n" + started

        os.kill(proc.pid, signal.SIGKILL)  # the main process only, not its group
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        left = [pid for pid in descendants if _alive(pid)] + _session(sid)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = sorted({pid for pid in descendants if _alive(pid)} | set(_session(sid)))
        assert not left, ("still alive 15 s after `kill -9` of the main process:\n" + _describe(left)
                          + "\nstarted by the build:\n" + started)
    finally:
        try:
            os.killpg(sid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        log.close()

    rerun = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((tmp_path / "b" / "sources" / "novels" / "ledger.json").read_text())["balanced"]
