"""The local executor runs each task in a process of its own (QuietLocalExecutor._run_pool). Why: datatrove's pool
workers share one task queue behind one lock, and a worker killed while idle (the out-of-memory killer between two
tasks) could die holding it: no worker took a task again and the build hung at 0 % CPU. A task process killed at
any moment now fails the source within seconds (TaskDied), the finished tasks stay completed, and a rerun runs only
the others, with every task's stats accounted for once.

Each scenario runs in a subprocess with a timeout (no pytest-timeout here): a hang fails the test instead of
stopping the suite."""
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

from lucie_data.runner import QuietLocalExecutor

ROOT = Path(__file__).resolve().parents[1]
TASKS = 4
RESULT = "RESULT "  # the subprocess's last stdout line: RESULT {json}


class _Work(PipelineStep):
    """A task that leaves a mark when it starts (``marks/<rank>.<pid>``), may wait, may kill its own process, and
    counts ``10 + rank`` units in its stats (to check that every task is accounted for exactly once)."""

    name = "work"

    def __init__(self, base: str, sleep: dict | None = None, die: int | None = None, die_after: int | None = None):
        super().__init__()
        self.base, self.sleep, self.die, self.die_after = base, sleep or {}, die, die_after

    def run(self, data, rank: int = 0, world_size: int = 1):
        Path(self.base, "marks", f"{rank}.{os.getpid()}").touch()
        if rank == self.die:
            if self.die_after is not None:  # once that task has finished: it is kept, this one is lost
                done = Path(self.base, "logs", "completions", f"{self.die_after:05d}")
                deadline = time.monotonic() + 60
                while not done.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.sleep.get(rank, 0))
        self.stat_update("units", value=10 + rank)
        yield from data or []


class _SlowToSend(_Work):
    """A step that takes 1 s to pickle, in the main process: a pool's workers wait that long for their first task,
    idle in the task queue's ``get``, one of them holding the queue's lock (the window the old design had between
    any two tasks); one process per task is started only once its task is pickled."""

    def __getstate__(self):
        time.sleep(1)
        return self.__dict__


class _KilledAtStart(QuietLocalExecutor):
    """Task 2's process is killed the moment it starts, before it reads anything (its rank, its slot, the data):
    what the out-of-memory killer does to an idle pool worker, the closest the one-process-per-task design has."""

    def _process_task(self, rank, *args):
        if rank == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return super()._process_task(rank, *args)


class _CannotBePickled(Exception):
    def __reduce__(self):
        raise TypeError("this exception does not pickle")


def _refuse(*_a):
    raise ImportError("this exception does not unpickle here")


class _CannotBeUnpickled(Exception):
    def __reduce__(self):
        return _refuse, ()


class _Raise(PipelineStep):
    name = "raise"

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def run(self, data, rank: int = 0, world_size: int = 1):
        if rank == 1:
            raise (_CannotBePickled if self.kind == "unpicklable" else _CannotBeUnpickled)(f"task {rank} failed")
        yield from data or []


def _main(kind: str, base: str) -> None:
    """One run of the executor (in a subprocess, see :func:`_run`); prints what it raised and what completed."""
    logs = str(Path(base, "logs"))
    Path(base, "marks").mkdir(parents=True, exist_ok=True)
    kw = dict(tasks=TASKS, workers=2, logging_dir=logs, skip_completed=True)
    killed: list[int] = []
    if kind == "busy":  # task 1 dies while task 2 runs (30 s) and task 3 waits; task 0 has finished
        ex = QuietLocalExecutor([_Work(base, sleep={2: 30}, die=1, die_after=0)], **kw)
    elif kind == "at_start":
        ex = _KilledAtStart([_Work(base, sleep={0: 0.5, 1: 2, 3: 2})], **kw)
    elif kind == "idle":  # the first process the build starts is killed from outside 0.3 s after it appears
        ex = QuietLocalExecutor([_SlowToSend(base, sleep={r: 1 for r in range(TASKS)})], **kw)
        _kill_first_new_worker(killed, after=0.3)
    elif kind == "manager":  # datatrove's progress Manager is killed while tasks 0 and 1 run (2 s each)
        ex = QuietLocalExecutor([_Work(base, sleep={r: 2 for r in range(TASKS)})], **kw)
        _kill_manager(killed, after=0.8)
    elif kind in ("unpicklable", "ununpicklable"):
        ex = QuietLocalExecutor([_Raise(kind)], **kw)
    else:  # "rerun"
        ex = QuietLocalExecutor([_Work(base)], **kw)
    t0 = time.monotonic()
    try:
        ex.run()
        raised = None
    except BaseException as err:  # noqa: BLE001 -- reported to the test
        raised = {"type": type(err).__name__, "message": str(err)}
    print(RESULT + json.dumps({"raised": raised, "seconds": time.monotonic() - t0, "killed": killed,
                               "completed": [r for r in range(TASKS) if ex.is_rank_completed(r)]}), flush=True)


def _kill_first_new_worker(killed: list[int], after: float) -> None:
    """Start the forkserver, then a thread that SIGKILLs the first process it forks ``after`` seconds after it saw
    it (polling every half millisecond): a task process, or with a pool a worker still waiting for its first task."""
    import threading

    import psutil
    from multiprocess import forkserver

    from lucie_data.runner import start_forkserver

    start_forkserver()
    import multiprocess

    warm = multiprocess.get_context("forkserver").Process(target=os.getpid)  # once the server has imported its
    warm.start()  # preload: the preload's own short-lived children (ctypes' find_library, ...) are not the build's
    warm.join()
    server = psutil.Process(forkserver._forkserver._forkserver_pid)
    before = {p.pid for p in server.children()}

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            new = sorted(p.pid for p in server.children() if p.pid not in before)
            if new:
                time.sleep(after)
                os.kill(new[0], signal.SIGKILL)
                killed.append(new[0])
                return
            time.sleep(0.0005)

    threading.Thread(target=watch, daemon=True).start()


def _kill_manager(killed: list[int], after: float) -> None:
    """A thread that SIGKILLs the executor's Manager process (a child of this process) ``after`` seconds after it
    appears."""
    import threading

    import multiprocess

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            managers = [p for p in multiprocess.active_children() if "Manager" in p.name]
            if managers:
                time.sleep(after)
                os.kill(managers[0].pid, signal.SIGKILL)
                killed.append(managers[0].pid)
                return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()


def _run(kind: str, base: Path, timeout: float = 120) -> dict:
    """Run :func:`_main` in its own session; killed (with everything it started) and failed after ``timeout``."""
    code = "import sys; from tests.test_runner_tasks import _main; _main(sys.argv[1], sys.argv[2])"
    proc = subprocess.Popen([sys.executable, "-c", code, kind, str(base)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{kind}: the executor still runs after {timeout:.0f} s (hung)")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever it left (nothing should be left)
        except (ProcessLookupError, PermissionError):
            pass
    lines = [line for line in out.splitlines() if line.startswith(RESULT)]
    assert lines, f"{kind}: no result (exit code {proc.returncode}):\n{err[-3000:]}"
    return json.loads(lines[-1][len(RESULT):])


def _marks(base: Path) -> dict[int, int]:
    counts = {r: 0 for r in range(TASKS)}
    for f in (base / "marks").iterdir():
        counts[int(f.name.split(".")[0])] += 1
    return counts


def _units(stats_file: Path) -> int:
    (work,) = [s for s in json.loads(stats_file.read_text()) if s["name"].endswith("work")]
    return work["stats"]["units"]["total"] if "units" in work["stats"] else 0


def _check_rerun_does_only_the_rest(base: Path, first: dict) -> None:
    """The rerun runs exactly the tasks the first run did not complete; every task's stats are counted once."""
    done, marks = set(first["completed"]), _marks(base)
    second = _run("rerun", base)
    assert second["raised"] is None, second
    assert second["completed"] == list(range(TASKS))
    after = _marks(base)
    assert {r for r in range(TASKS) if after[r] > marks[r]} == set(range(TASKS)) - done  # only the others ran
    assert all(after[r] == 1 for r in done)  # a completed task is never redone
    per_task = [_units(base / "logs" / "stats" / f"{r:05d}.json") for r in range(TASKS)]
    assert per_task == [10 + r for r in range(TASKS)]
    assert _units(base / "logs" / "stats.json") == sum(10 + r for r in range(TASKS) if r not in done)


def test_a_task_killed_while_another_runs_and_others_wait_fails_fast_and_the_rerun_does_the_rest(tmp_path):
    """workers 2, tasks 4: task 0 has finished, task 1 is killed (SIGKILL) while task 2 runs and task 3 waits."""
    first = _run("busy", tmp_path)
    assert first["raised"] and first["raised"]["type"] == "TaskDied", first
    assert "died (signal SIGKILL) while running task 1, e.g. killed by the out-of-memory killer" in \
        first["raised"]["message"]
    assert first["seconds"] < 20, first  # task 2 (30 s) was stopped, not waited for
    assert first["completed"] == [0], first
    _check_rerun_does_only_the_rest(tmp_path, first)


def test_a_task_process_killed_as_it_starts_fails_the_source_without_hanging_or_losing_a_task(tmp_path):
    first = _run("at_start", tmp_path)
    assert first["raised"] and first["raised"]["type"] == "TaskDied", first
    assert "died (signal SIGKILL) while running task 2" in first["raised"]["message"]
    assert 2 not in first["completed"] and {0} <= set(first["completed"]), first
    assert _marks(tmp_path)[2] == 0  # it was killed before it ran anything
    _check_rerun_does_only_the_rest(tmp_path, first)


def test_the_first_process_killed_from_outside_early_fails_its_task_and_the_rerun_does_the_rest(tmp_path):
    """The old scenario itself: the build's first process killed from outside (SIGKILL) 0.3 s after it started,
    while tasks are still being handed out. A pool worker is then idle, waiting for its first task with the task
    queue's lock held: no task could start again (the old code failed all four "while idle" after a 2 s stall
    heuristic, or hung when the pool replaced the worker before the watchdog saw it). A task process is just a task
    that died: that task is lost, the others are kept or rerun. A worker of our own killed idle is replaced."""
    pytest.importorskip("psutil")
    first = _run("idle", tmp_path)
    assert len(first["killed"]) == 1, first
    if first["raised"] is None:  # killed before it was given a task: another worker took its place, nothing lost
        assert first["completed"] == list(range(TASKS)), first
        assert _marks(tmp_path) == {r: 1 for r in range(TASKS)}  # each task ran once
        assert _units(tmp_path / "logs" / "stats.json") == sum(10 + r for r in range(TASKS))
        return
    # killed running its first task: that task is lost, named
    assert first["raised"]["type"] == "TaskDied", first
    message = first["raised"]["message"]
    assert f"worker process {first['killed'][0]} died (signal SIGKILL) while running task " in message, first
    lost = int(message.split("while running task ")[1].split(",")[0])
    assert lost not in first["completed"]
    _check_rerun_does_only_the_rest(tmp_path, first)


@pytest.mark.parametrize("kind", ["unpicklable", "ununpicklable"])
def test_a_task_exception_that_cannot_come_back_is_raised_with_its_repr(tmp_path, kind):
    first = _run(kind, tmp_path)
    assert first["raised"] and first["raised"]["type"] == "RuntimeError", first
    assert "task 1 failed: _Cannot" in first["raised"]["message"] and "task 1 failed')" in first["raised"]["message"]
    assert 1 not in first["completed"]


def test_a_killed_manager_is_named_and_the_rerun_does_the_rest(tmp_path):
    """Left open last session: killing datatrove's progress Manager (it counts completed tasks) failed the source with
    "Connection refused", naming neither the Manager nor the task."""
    first = _run("manager", tmp_path)
    assert len(first["killed"]) == 1, first
    assert first["raised"] and first["raised"]["type"] == "TaskDied", first
    message = first["raised"]["message"]
    assert f"datatrove's progress Manager process (pid {first['killed'][0]}) died (signal SIGKILL)" in message, message
    assert "while task " in message and "the finished tasks are kept" in message
    _check_rerun_does_only_the_rest(tmp_path, first)
