"""Review 48: Ctrl-C or SIGTERM during a build waited for the running tasks to end (exit 20 s after Ctrl-C, 76 s with a
slow document), and straight after "interrupted: rerun the same command to resume" a rerun was refused, the folder
still locked. The executor runs in a thread of its own (runner.run_with_progress) and the KeyboardInterrupt reaches
the main thread only: the executor went on waiting on its workers, which ignore the signals (_worker_signals), and the
program's exit waited for them. Now the interrupt stops the executor: its workers are killed and reaped before the
interrupt goes on, the lock is released before the command says how to resume, and a rerun does the rest.

Each scenario runs in a subprocess with a timeout (no pytest-timeout here): a hang fails the test instead of stopping
the suite; the tasks are held (a file, not a clock) so that the old code's wait would last until the test ends it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datatrove.pipeline.base import PipelineStep

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
RESULT = "RESULT "


class _Held(PipelineStep):
    """Marks its task as started (``marks/<rank>.<pid>``), then holds it while ``hold.<rank>`` exists (up to 5
    minutes: a long task), and passes its documents on unchanged."""

    name = "held"

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def run(self, data, rank: int = 0, world_size: int = 1):
        Path(self.base, "marks", f"{rank}.{os.getpid()}").touch()
        deadline = time.monotonic() + 300
        while Path(self.base, f"hold.{rank}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield from data or []


def _write_pipeline(base: Path, name: str, workers: int = 2) -> Path:
    import yaml

    recipe = {"name": "pud", "category": "web", "languages": ["en"], "license": "CC-BY-SA-4.0",
              "input": {"type": "jsonl", "paths": [str(CORPORA / "en_ud_pud.jsonl")]},
              "stages": [{"type": "normalize"}, {"type": "min_length", "min_chars": 20}]}
    (base / "pud.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    pipe = base / f"{name}.yaml"
    pipe.write_text(yaml.safe_dump({"name": "p", "sources": ["pud.yaml"], "output_dir": name,
                                    "executor": {"type": "local", "workers": workers, "tasks": 4}}), encoding="utf-8")
    return pipe


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # (a zombie has ended)
    except OSError:
        return False


def _main(base: str, signame: str, workers: str = "2") -> None:
    """In a subprocess (:func:`_run`): a build (``workers``, tasks 4) whose tasks 1-3 are held; once task 0 has
    finished and task 1 runs (and task 2, with two workers), this process gets ``signame``. Prints what the
    interrupted command returned and left."""
    import threading

    from lucie_data import cli, interrupts, runner
    from lucie_data.locks import LockBusy, acquire, release

    b = Path(base)
    (b / "marks").mkdir()
    for r in (1, 2, 3):
        (b / f"hold.{r}").touch()
    pipe = _write_pipeline(b, "out", int(workers))
    running = {"1", "2"} if workers == "2" else {"1"}
    completions = b / "out" / "sources" / "pud" / "logs" / "seg0" / "completions"
    plain = runner.build_segment_pipeline

    def held(*a, **k):
        steps = plain(*a, **k)
        return [steps[0], _Held(base), *steps[1:]]

    runner.build_segment_pipeline = held

    def interrupt_when_running() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            started = {f.name.split(".")[0] for f in (b / "marks").iterdir()}
            if running <= started and (completions / "00000").exists():
                os.kill(os.getpid(), getattr(signal, signame))
                return
            time.sleep(0.02)

    interrupts.install()
    threading.Thread(target=interrupt_when_running, daemon=True).start()
    code = cli.main(["build", str(pipe)])
    # straight after the command said how to resume: the folder is free, and nothing of the build runs any more
    try:
        release(acquire(b / "out" / ".lock", "the test"))
        locked = False
    except LockBusy:
        locked = True
    task_pids = {int(f.name.split(".")[1]) for f in (b / "marks").iterdir() if not f.name.startswith("0.")}
    result = {"code": code, "locked": locked, "alive": sorted(p for p in task_pids if _alive(p)),
              "completed": sorted(f.name for f in completions.iterdir())}
    print(RESULT + json.dumps(result), flush=True)
    for r in (1, 2, 3):  # (the old code's exit waited for the held tasks)
        (b / f"hold.{r}").unlink()


def _in_session(args: list[str], timeout: float, holds: Path | None = None) -> tuple[dict, str]:
    """Run ``python -c <args>`` in a session of its own and return the RESULT it printed last, and its stderr; the
    session is killed after (and ``holds``' hold files removed, letting go of what the old code left running)."""
    proc = subprocess.Popen([sys.executable, "-c", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    finally:
        for f in holds.glob("hold.*") if holds else ():
            f.unlink()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    lines = [line for line in out.splitlines() if line.startswith(RESULT)]
    assert lines, f"no result (exit code {proc.returncode}):\n{err[-3000:]}"
    return json.loads(lines[-1][len(RESULT):]), err


def _run(base: Path, signame: str, workers: int = 2, timeout: float = 180) -> tuple[dict, str]:
    code = "import sys; from tests.test_review48_interrupt import _main; _main(*sys.argv[1:])"
    return _in_session([code, str(base), signame, str(workers)], timeout, holds=base)


def _shards(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "sources").glob("*/data/**/*.parquet"))
            + sorted((out / "sources").glob("*/removed/**/*.parquet"))}


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupt_kills_the_running_tasks_frees_the_folder_and_the_rerun_does_the_rest(tmp_path, signame):
    first, err = _run(tmp_path, signame)
    expect = {"SIGINT": (130, "interrupted"), "SIGTERM": (143, "terminated (SIGTERM)")}[signame]
    assert first["code"] == expect[0], (first, err)
    assert f"{expect[1]}: rerun the same command to resume" in err and "Traceback" not in err, err
    assert first["alive"] == [], first  # the task processes were killed and reaped before the command returned
    assert not first["locked"], first  # a rerun started as soon as it said so is not refused
    assert first["completed"] == ["00000"], first  # the finished task is kept, the killed ones are not marked

    # the rerun (no task held) redoes only the killed tasks, and gives the shards of a build never interrupted
    from lucie_data.recipe import load_pipeline
    from lucie_data.runner import build

    task0 = tmp_path / "out" / "sources" / "pud" / "logs" / "seg0" / "stats" / "00000.json"
    finished = task0.stat().st_mtime_ns
    res = build(load_pipeline(tmp_path / "out.yaml"), tmp_path / "out")
    assert res.sources[0].status == "built" and res.sources[0].ledger["balanced"]
    assert task0.stat().st_mtime_ns == finished  # not redone
    clean = build(load_pipeline(_write_pipeline(tmp_path, "clean")), tmp_path / "clean")
    assert clean.sources[0].ledger["docs_kept"] == res.sources[0].ledger["docs_kept"]
    assert _shards(tmp_path / "out") == _shards(tmp_path / "clean")


@pytest.mark.slow
def test_an_interrupted_build_with_one_worker_says_how_to_resume(tmp_path):
    """With one worker the task runs in the command's own process, which points sys.stderr at /dev/null while it runs
    (datatrove's task log stays off the terminal); the interrupt leaves it running (it ends with the process), and
    "terminated (SIGTERM): rerun the same command to resume" went to /dev/null: the command exited 143 saying nothing
    (review 48). The rerun finishes the build."""
    first, err = _run(tmp_path, "SIGTERM", workers=1)
    assert first["code"] == 143, (first, err)
    assert "terminated (SIGTERM): rerun the same command to resume" in err and "Traceback" not in err, err
    assert first["completed"] == ["00000"], first

    from lucie_data.recipe import load_pipeline
    from lucie_data.runner import build

    res = build(load_pipeline(tmp_path / "out.yaml"), tmp_path / "out")
    assert res.sources[0].status == "built" and res.sources[0].ledger["balanced"]


def _ray_main(base: str) -> None:
    """In a subprocess: an executor still running when the interrupt went on (as datatrove's Ray executor, which
    cannot be stopped) calls Ray once the program's exit has shut Ray down. Prints what that call did."""
    import threading

    import ray

    from lucie_data import runner

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    go, seen = threading.Event(), {}

    class LeftRunning:  # (no stop(): left to the exit)
        def run(self):
            go.wait(120)
            try:
                ray.wait([ray.put(1)], timeout=1)  # what datatrove's loop calls every 10 s
                seen["call"] = "went through"
            except Exception as err:  # noqa: BLE001 -- reported
                seen["call"] = type(err).__name__
            seen["initialized"] = ray.is_initialized()

    progress = Path(base, "progress")
    progress.mkdir()
    (progress / "00000").write_text("1")

    def interrupted(_n, _rate):
        raise KeyboardInterrupt

    try:
        runner.run_with_progress(LeftRunning(), progress, interrupted, every=0.05)
    except KeyboardInterrupt:
        pass
    ray.shutdown()  # what Ray's atexit handler does as the program exits
    go.set()
    deadline = time.monotonic() + 120
    while "initialized" not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    print(RESULT + json.dumps(seen), flush=True)
    if ray.is_initialized():
        ray.shutdown()


@pytest.mark.slow
def test_an_interrupted_ray_build_does_not_start_another_ray_as_it_exits(tmp_path):
    """Review 48: Ctrl-C during a Ray build; Ray's executor, still running in its thread, called Ray after the exit had
    shut it down, and Ray's auto-connect started a second local cluster there, whose processes outlived the command
    and whose warnings came after "interrupted". Once interrupted, a Ray call fails instead."""
    pytest.importorskip("ray", reason="the Ray executor needs the `ray` extra")
    code = "import sys; from tests.test_review48_interrupt import _ray_main; _ray_main(sys.argv[1])"
    seen, err = _in_session([code, str(tmp_path)], 240)
    assert seen["initialized"] is False and seen["call"] != "went through", seen
