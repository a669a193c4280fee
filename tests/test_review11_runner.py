"""Engineer review, sixth round: a pool worker killed on its own (the out-of-memory killer, a segfault) lost its
task, multiprocess.Pool replaced the worker and waited for that task forever: the build hung at 0 % CPU, no source
after it ran, no manifest. The local executor now runs each task in a process of its own and fails the
source when one ends without its result (tests/test_runner_tasks.py: the other kill scenarios)."""
from __future__ import annotations

import os
import signal
import threading
import time
from functools import partial

import pytest

from lucie_data.runner import QuietLocalExecutor, TaskDied


def _die_on_rank_0(data, rank: int = 0, world_size: int = 1, logs: str = ""):
    """A pipeline step: task 0 is killed as the OOM killer would kill it, once task 1 has finished (the executor
    kills the tasks still running when one dies: waiting makes "the finished task is kept" hold every time)."""
    if rank == 0:
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(logs, "completions", "00001")) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGKILL)
    yield from data or []


def test_a_killed_worker_fails_the_segment_instead_of_hanging(tmp_path):
    ex = QuietLocalExecutor([partial(_die_on_rank_0, logs=str(tmp_path / "logs"))], tasks=2, workers=2,
                            logging_dir=str(tmp_path / "logs"), skip_completed=True)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            ex.run()
        except BaseException as err:  # noqa: BLE001 -- checked below
            raised.append(err)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(120)
    assert not t.is_alive(), "the executor still waits for the killed worker's task"
    assert len(raised) == 1 and isinstance(raised[0], TaskDied), raised
    assert "died (signal SIGKILL) while running task 0" in str(raised[0])
    assert ex.is_rank_completed(1) and not ex.is_rank_completed(0)  # the finished task is kept, for the rerun


def test_the_pool_path_still_runs_every_task(tmp_path):
    ex = QuietLocalExecutor([_keep], tasks=3, workers=2, logging_dir=str(tmp_path / "logs"), skip_completed=True)
    ex.run()
    assert all(ex.is_rank_completed(r) for r in range(3))
    assert (tmp_path / "logs" / "stats.json").exists()


def _keep(data, rank: int = 0, world_size: int = 1):
    yield from data or []


def _raise_a_timeout(data, rank: int = 0, world_size: int = 1):
    import multiprocess

    raise multiprocess.TimeoutError("the step's own timeout")
    yield  # unreachable: makes this a generator step


def test_a_tasks_own_timeout_error_is_raised_not_taken_for_the_wait(tmp_path):
    """Code review: a task raising multiprocess.TimeoutError was caught as the wait's timeout and swallowed."""
    import multiprocess

    ex = QuietLocalExecutor([_raise_a_timeout], tasks=2, workers=2, logging_dir=str(tmp_path / "logs"),
                            skip_completed=True)
    with pytest.raises(multiprocess.TimeoutError, match="the step's own timeout"):
        ex.run()
