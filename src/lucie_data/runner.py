"""Compile a source recipe into datatrove pipelines and run them; the only module that spends compute.

A source's stage list is cut into *segments* at barrier stages (dedup): each segment is one datatrove
executor run whose completions make reruns skip finished tasks; documents cross a barrier through
hand-off Parquet files in ``work/``. After the last segment the ledger is computed and checked
(``in = kept + removed`` per stage) and the scratch space is removed.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import shutil
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import __version__
from datatrove.executor.local import LocalPipelineExecutor

from .buildfiles import is_build_manifest, read_build_key
from .errors import BuildError, InputError, disk_full
from .ledger import LedgerUnreadable, compute_ledger, read_checks, read_checks_problems, read_ledger
from .steps.base import KeptWriter, ProgressMeter, StageEnter, StageExit, WorkReader, WorkWriter
from .steps.filters import ReadGateFilter
from .steps.readers import RecordReader

if TYPE_CHECKING:  # imported where used: every worker imports this module (it defines the executor
    # class datatrove unpickles there), and the recipe/stage models cost ~0.15 s to import
    from .recipe import LoadedPipeline, LoadedSource
    from .stages.base import BuildContext

LAYOUT_VERSION = 1
# The hand-off files between a source's segments (steps.rows.WORK_SCHEMA) and what the dedup plans make of them: 2 adds
# the `gate` column (the licence-aware keeper), 3 `in_file` and `in_record` (the input order the plans keep the first
# copy in), 4 `in_file` as a key comparing numbers as numbers. In the build key, so a build stopped by an older version
# is redone from the start rather than resumed with hand-off files that lack them or order otherwise (review: resumed
# with no preference, 0 kept; second code review: resumed with string-ordered keys, the other copy kept).
WORK_FORMAT = 4
# What the readers make of the same input files: 2 (2026-11-28, review 41) reads upper-case compressed extensions, ends
# a line at a lone CR, removes a UTF-16 line with a lone surrogate alone, reads a Parquet file's used columns only
# (a value elsewhere no longer removes its row) and calls a cut-short compressed text file truncated. In the build
# key, so a source built or half-built by the old readers is rebuilt rather than kept "up to date" or resumed with
# tasks of both (code review: a `.JSONL.GZ` source built as 133 garbage rows stayed so).
READ_FORMAT = 2


@dataclass(frozen=True)
class RunOptions:
    """Pipeline-level settings every source of a build shares."""

    seed: int = 0
    tasks: int = 1
    workers: int = 1
    tokenizer: str | None = None
    license_policy: object | None = None  # licenses.LicensePolicy
    executor: str = "local"  # local | ray (does not change the output)
    ray_address: str | None = None
    mem_per_cpu_gb: float = 2.0
    tokenizer_sha256: str | None = None  # of the tokenizer.json that counts (None: the fallback, or not at hand)
    # what the steps load to count: `tokenizer`, or for a Hub id the commit the main process resolved it to
    # (ORG/NAME@<commit>), so that every worker counts with the tokenizer.json the manifest records
    counting_tokenizer: str | None = None

    @property
    def counts_with(self) -> str | None:
        return self.counting_tokenizer or self.tokenizer

    def key(self) -> dict:
        policy = self.license_policy.model_dump(mode="json") if self.license_policy is not None else None
        key = {"seed": self.seed, "tasks": self.tasks, "tokenizer": self.tokenizer, "license_policy": policy}
        if self.tokenizer_sha256:  # review: a tokenizer.json replaced under the same name left sources "up to date"
            key["tokenizer_sha256"] = self.tokenizer_sha256
        return key


@dataclass
class Segment:
    index: int
    stages: list  # (stage_id, spec)
    barrier: tuple | None  # (stage_id, spec) that starts this segment, if any


def compile_segments(src: LoadedSource, license_policy=None) -> list[Segment]:
    """Cut the stage list at barrier stages. Pure: no I/O."""
    from .recipe import stage_ids

    ids = stage_ids(src.recipe.stages)
    # licence policy gate (issue 5): the pipeline's policy reaches every license_gate, and a recipe
    # without one gets an implicit `license_policy` gate at the end (stages/licence.py)
    from .stages.licence import with_policy_gate

    segments = [Segment(0, [], None)]
    for sid, spec in with_policy_gate(list(zip(ids, src.recipe.stages)), license_policy):
        if spec.barrier:
            segments.append(Segment(len(segments), [(sid, spec)], (sid, spec)))
        else:
            segments[-1].stages.append((sid, spec))
    return segments


def _ctx(src: LoadedSource, sid: str, source_dir: Path, opts: RunOptions) -> BuildContext:
    from .recipe import stage_ids
    from .stages.base import BuildContext
    from .stages.licence import gates_after

    return BuildContext(source=src.recipe, stage_id=sid, source_dir=str(source_dir), seed=opts.seed, tasks=opts.tasks,
                        work_dir=str(source_dir / "work"), tokenizer=opts.counts_with,
                        later_gates=gates_after(list(zip(stage_ids(src.recipe.stages), src.recipe.stages)),
                                                opts.license_policy, sid))


def build_segment_pipeline(src: LoadedSource, seg: Segment, nxt: Segment | None, source_dir: Path,
                           opts: RunOptions, base_dir: Path) -> list:
    tok = opts.counts_with
    steps: list = []
    if seg.index == 0:
        r = src.recipe
        steps.append(RecordReader(
            source=r.name, input_spec=r.input.model_dump(), files=[str(p) for p in src.inputs],
            base_dir=str(base_dir), languages=r.languages, license=r.license, is_code=r.is_code,
            recipe_dir=str(src.file.parent), mixes_code_and_prose=r.mixes_code_and_prose))
        steps += [ProgressMeter(str(source_dir / "logs" / f"seg{seg.index}" / "progress")),
                  StageEnter("read"),
                  ReadGateFilter(removed_dir=str(source_dir / "removed" / "read"), stage_id="read", stage_type="read",
                                 tokenizer=tok),
                  StageExit("read")]
    else:
        steps.append(WorkReader(str(source_dir / "work" / f"seg{seg.index - 1}")))
        steps.append(ProgressMeter(str(source_dir / "logs" / f"seg{seg.index}" / "progress")))
    for sid, spec in seg.stages:
        ctx = _ctx(src, sid, source_dir, opts)
        steps += [StageEnter(sid), *spec.build(ctx), StageExit(sid)]
    if nxt is None:
        steps.append(KeptWriter(str(source_dir / "data"), src.recipe.output.max_rows_per_shard, tok))
    else:
        bid, bspec = nxt.barrier
        steps += bspec.pre_barrier(_ctx(src, bid, source_dir, opts))
        steps.append(WorkWriter(str(source_dir / "work" / f"seg{seg.index}")))
    return steps


# Worker processes are forked by datatrove's forkserver, which lives as long as the build: importing the
# step modules there once, instead of in every worker of every segment, saves ~0.8 CPU-s per worker
# per segment (measured with `python -X importtime`). "__main__" is multiprocess's own default entry.
FORKSERVER_PRELOAD = ["__main__",
                      # first: workers ignore Ctrl-C (the main process stops them), and so does the server while it
                      # imports the rest (code review: Ctrl-C in a build's first ~1.5 s printed its traceback)
                      "lucie_data._worker_signals",
                      "pyarrow.parquet", "datatrove.executor.local", "lucie_data.steps.base",
                      "lucie_data.steps.readers", "lucie_data.steps.filters", "lucie_data.steps.dedup",
                      "lucie_data.steps.langid", "lucie_data.steps.licence", "lucie_data.steps.quality.gopher",
                      "lucie_data.steps.quality.c4", "lucie_data.steps.quality.fineweb", "lucie_data.tokens",
                      "ftfy", "fasttext", "xxhash",  # imported lazily by steps; a missing one is skipped
                      "lucie_data.runner",  # QuietLocalExecutor's module: every task unpickles one
                      # pyarrow imports pandas on the first pa.array(list) of every process, to check whether
                      # the list is a pandas object (~0.2 s, measured): once here rather than in each worker
                      "pandas"]


def start_forkserver() -> None:
    """Start datatrove's forkserver (and its preload) now, so it imports while this process prepares the
    build instead of after; the executor finds it running. Same server, same preload: output unchanged.

    On Linux the processes this one starts die with it, even by `kill -9` of this process alone (review 10: the
    forkserver, the resource tracker and datatrove's Manager lived on, re-parented to PID 1): the server is told
    this pid, and sets PR_SET_PDEATHSIG for itself and for the workers it forks (``_worker_signals``); the processes
    this one forks (datatrove's Manager, which held the server's and the tracker's pipes open) set it after the fork,
    below. The resource tracker then exits by itself once they are gone."""
    import threading

    import multiprocess
    from multiprocess import forkserver

    multiprocess.get_context("forkserver").set_forkserver_preload(FORKSERVER_PRELOAD)
    # The signal follows the thread that forks: only the main thread lives as long as the process (the executor's
    # thread ends with each segment), so a server started from another thread keeps the pipe that stops it.
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        os.environ["LUCIE_FORKSERVER_PARENT"] = str(os.getpid())  # read (and removed) by the server's preload
    # SIGINT blocked while the server is spawned: it inherits the mask through exec, so a Ctrl-C while it imports
    # multiprocess itself, before its preload ignores SIGINT, waits there and is then discarded (it printed that
    # import's traceback: 4 of 24 early interrupts, stress review). This thread gets its own Ctrl-C as soon as the
    # mask is restored, so none is lost. CPython's resource_tracker starts its process the same way, and unblocks
    # SIGINT after it (SIG_UNBLOCK, not the previous mask): it is started first, so the server's start does not.
    from multiprocess import resource_tracker

    resource_tracker.ensure_running()
    try:
        with _sigint_blocked():
            forkserver.ensure_running()
    finally:
        if main_thread:
            os.environ.pop("LUCIE_FORKSERVER_PARENT", None)
    forks_die_with_parent()


@contextlib.contextmanager
def _sigint_blocked():
    """SIGINT and SIGTERM blocked in this thread, then its mask as it was: a process started meanwhile inherits the
    block (through exec too) until it ignores them itself (the forkserver's preload; the Manager keeps SIGTERM
    blocked), and this thread gets a Ctrl-C or SIGTERM that came meanwhile once it is restored."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def forks_die_with_parent() -> None:
    """Linux: every process this one forks from now on (datatrove's Manager) gets PR_SET_PDEATHSIG, so it dies with
    the thread that forked it, even by `kill -9` of this process alone (it held the forkserver's and the resource
    tracker's pipes open and lived on, re-parented to PID 1). Once per process; a no-op elsewhere."""
    from ._pdeathsig import forks_die_with_this_process, libc_prctl

    if getattr(forks_die_with_parent, "_done", False):
        return
    forks_die_with_parent._done = True  # the hooks stay registered
    prctl = libc_prctl()
    if prctl is not None:
        forks_die_with_this_process(prctl)  # (the Manager runs no longer than the executor thread that forked it)


_DEVNULL: list = []
_BUILD_LOG: dict = {}  # {"path": BUILD/build.log, "pid": the building process}, set by build()


def _restore_build_log() -> None:
    """Put the build log back after a task run in this process: datatrove's task logger starts with
    ``logger.remove()``, which dropped it, so everything logged after the first in-process task (workers 1, tasks
    1), warnings included, went nowhere (code review: an empty build.log). Not in task processes (other processes)."""
    if _BUILD_LOG.get("pid") == os.getpid():
        from loguru import logger

        logger.remove()
        logger.add(_BUILD_LOG["path"], level="INFO")


def _devnull():
    """One ``os.devnull`` file for the process, never closed. Why: datatrove's ``close_task_logger`` re-adds its
    default loguru sink on whatever ``sys.stderr`` is at that moment, our devnull; a devnull closed after the task
    made every later log line print "Logging error in Loguru Handler ... I/O operation on closed file" with a
    traceback (builds run in this process: ``workers: 1`` or ``tasks: 1``; second review)."""
    if not _DEVNULL:
        _DEVNULL.append(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    return _DEVNULL[0]


class ExecutorStopped(Exception):
    """The executor was told to stop (:meth:`QuietLocalExecutor.stop`: the command is being interrupted)."""


# An executor's stop request, kept out of the executor's own attributes: datatrove writes those to executor.json and
# pickles them for every task (an Event cannot be pickled)
_STOP_REQUESTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_STOP_REQUESTS_LOCK = threading.Lock()
_STOP_POLL = 0.1  # seconds: how often the executor's thread looks at its stop request while it waits on its workers


def _stop_request(executor) -> threading.Event:
    with _STOP_REQUESTS_LOCK:
        event = _STOP_REQUESTS.get(executor)
        if event is None:
            event = _STOP_REQUESTS[executor] = threading.Event()
        return event


class QuietLocalExecutor(LocalPipelineExecutor):
    """datatrove's task logger also prints to stderr; keep its logs in files so our progress stays readable."""

    def stop(self) -> bool:
        """Ask a run in progress (in another thread: run_with_progress) to stop now: its worker processes are killed
        and reaped, and ``run`` raises :class:`ExecutorStopped` (within ~0.1 s of the request, plus the kill). Their
        running tasks stay incomplete (no completion marker), so a rerun redoes them; finished tasks are kept. True
        when the run can be stopped so, False when its tasks run in this process (one worker): a task cannot be
        killed there; no task starts after this, and the one running ends with the process."""
        _stop_request(self).set()
        return self.workers != 1 and not self.depends

    def run(self):
        if self.workers != 1 and self.start_method == "forkserver":
            start_forkserver()  # with our preload; already running when run_source started it early
        else:
            forks_die_with_parent()  # one worker: datatrove still forks its Manager
        if _stop_request(self).is_set():
            raise ExecutorStopped("stopped before it ran")
        if self.workers == 1 or self.depends:
            return super().run()
        return self._run_pool()

    def _run_pool(self):
        """datatrove's ``LocalPipelineExecutor.run`` for several workers, with worker processes of our own instead
        of a ``multiprocess.Pool`` (``_start_worker``: each has its own pipe, over which it gets one rank at a time and
        sends each result back). Why: pool workers take tasks from one queue behind one lock, and a worker killed
        while idle (the out-of-memory killer between two tasks) could die holding it: no worker ever took a task
        again and the build hung at 0 % CPU (datatrove's own ``run`` too; review). Here no worker shares a queue, lock
        or pipe that a killed process could hold from the main process's view, and this process waits on every pipe
        and every process at once. A worker that dies running a task raises :class:`TaskDied` naming the task (the
        source fails, runner.build goes on with the others); one that dies idle is replaced. On any error the
        workers still running are killed and reaped. Finished ranks stay completed (datatrove marks each one as it
        ends), so a rerun redoes only the others. A task's own exception comes back tagged and is raised here as
        datatrove's pool raises it."""
        from datatrove.utils.logging import logger
        from datatrove.utils.stats import PipelineStats

        import multiprocess
        from multiprocess.connection import wait

        self._launched = True
        stopping = _stop_request(self)
        first, n = self.local_rank_offset, self.local_tasks
        if all(map(self.is_rank_completed, range(first, first + n))):
            logger.info(f"Not doing anything as all {n} tasks have already been completed.")
            return None
        self.save_executor_as_json()
        ctx = multiprocess.get_context(self.start_method)
        # datatrove's progress line ("3/8 tasks completed.") counts through a Manager, as in its own run: a Manager
        # that dies makes the tasks fail with an error, never wait (review 10's orphan checks expect this fork too)
        # forked from this thread with SIGINT blocked, as the forkserver is spawned (start_forkserver): a Ctrl-C in the
        # instant of the fork raised KeyboardInterrupt in the child's at-fork hooks (filelock's), printed as "Exception
        # ignored … Traceback" (CI, 1 run); the Manager ignores SIGINT once it runs, and this thread's mask is restored
        with _sigint_blocked():
            mg = multiprocess.Manager()
        workers: list[_Worker] = []
        try:
            ranks = self.get_incomplete_ranks(range(first, first + n))
            if n - len(ranks):
                logger.info(f"Skipping {n - len(ranks)} already completed tasks")
            completed, lock = mg.Value("i", n - len(ranks)), mg.Lock()
            pending, stats = list(ranks), {}
            for slot in range(min(self.workers, len(pending))):
                _check_stop(stopping)
                workers.append(self._start_worker(ctx, slot, completed, lock))
            while pending or any(w.rank is not None for w in workers):
                _check_stop(stopping)
                for w in workers:
                    if w.rank is None and pending:
                        if not w.give(pending[0]):  # it died idle: its pipe is closed (handled below)
                            continue
                        pending.pop(0)
                waits = {w.proc.sentinel: w for w in workers}
                waits.update({w.conn: w for w in workers})
                # not waiting for good: a stop request (Ctrl-C: run_with_progress) is seen within _STOP_POLL. Why: the
                # executor runs in a thread, and the KeyboardInterrupt only reaches the main thread; this one went on
                # waiting on its workers, which ignore the signals (_worker_signals), and the program's exit waited for
                # the tasks they were running to end (review: exit 20 s after Ctrl-C, 76 s with a slow document; the
                # folder's lock with it)
                ready = wait(list(waits), timeout=_STOP_POLL)
                _check_stop(stopping)
                for w in {id(w): w for w in (waits[o] for o in ready)}.values():
                    got = w.receive() if w.conn.poll() else None  # a result, or None (nothing, or the pipe closed)
                    if got is not None:
                        ok, value = got
                        if not ok:
                            raise _manager_death(mg, w.rank, value) or value
                        stats[w.rank] = value
                        w.rank = None
                        continue
                    if w.proc.is_alive():
                        continue
                    w.close()
                    workers.remove(w)
                    if w.rank is not None:  # it died running a task: that task's work is lost
                        raise w.died()
                    if pending:  # it died idle (nothing lost): another process takes its slot
                        workers.append(self._start_worker(ctx, w.slot, completed, lock))
            # summed in rank order: the merged stats do not depend on which task finished first
            total = sum((stats[r] for r in sorted(stats)), start=PipelineStats())
            for w in workers:  # done: each worker is told to stop, then reaped
                w.give(None)
            for w in workers:
                w.close(_EXIT_GRACE, stopping)
            workers = []
            with self.logging_dir.open("stats.json", "wt") as fh:
                total.save_to_disk(fh)
            logger.success(total.get_repr(f"All {n} tasks"))
            return total
        finally:
            # stopped early (an error, or a stop request): the workers still running are killed (their ranks stay
            # incomplete: no completion marker) and reaped, so none writes after run() ends
            for w in workers:
                w.kill()
            for w in workers:
                w.close()
            mg.shutdown()

    def _start_worker(self, ctx, slot, completed, completed_lock) -> "_Worker":
        """Start a worker process with local rank ``slot`` and a pipe of its own, over which it gets one rank at a
        time and sends each result back. Why not a pool: a pool's workers share one task queue behind one lock,
        and a worker killed while idle could die holding it (review: the build hung); a pipe of its own wedges no
        one. Why not a process per task: each task then paid the process's warm-up (models, tokenizer, imports)
        again, 1.7x the wall time with 8 tasks on 2 workers (review). Ctrl-C or SIGTERM: the executor kills them
        (``stop``, from run_with_progress). Daemonic besides, so an exit stops any left; they die with the main process
        when it is killed (the forkserver's children with the forkserver, ``_worker_signals``; forks with the thread
        that forked them, ``forks_die_with_parent``)."""
        here, there = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=self._worker_loop, args=(slot, completed, completed_lock, there),
                           name=f"lucie-worker-{slot}", daemon=True)
        try:
            proc.start()
        except BaseException:
            here.close()
            raise
        finally:
            there.close()  # the worker holds the only other end: the pipe closes when it ends, whatever ends it
        return _Worker(slot, proc, here)

    def _worker_loop(self, slot, completed, completed_lock, conn):
        """A worker process: runs the ranks it is given, one at a time, until told to stop (None) or the pipe closes.
        Each task runs on a fresh copy of this executor, as a pool's tasks did (each was sent pickled): its steps'
        stats and state start empty (a reused step object summed every task's stats); what the process loaded for
        an earlier task (models, tokenizers, imports: module caches) stays loaded."""
        from multiprocess.reduction import ForkingPickler

        blob = bytes(ForkingPickler.dumps(self))
        try:
            while True:
                try:
                    rank = conn.recv()
                except (EOFError, OSError):
                    return
                if rank is None:
                    return
                ForkingPickler.loads(blob)._process_task(rank, slot, completed, completed_lock, conn)
        finally:
            conn.close()

    def _process_task(self, rank, slot, completed, completed_lock, conn):
        """One task in a worker process: runs ``rank`` and sends back its result tagged (``_tag_result``)."""
        try:
            result = True, self._launch_run_for_rank(rank, _LocalRank(slot), completed, completed_lock)
        except Exception as err:  # noqa: BLE001 -- raised again in the main process, as datatrove's pool raises it
            result = False, err
        try:
            conn.send(_tag_result(*result))
        except (BrokenPipeError, ConnectionResetError):
            # the build's process is gone (killed, as the OOM killer would): no one to tell, and its task's output is
            # redone by the next build (resume review: a worker printed BrokenPipeError to the terminal)
            pass

    def _launch_run_for_rank(self, rank, ranks_q, completed=None, completed_lock=None):
        # runs in a worker process, or in this process when workers == 1: always restore stderr
        event = _STOP_REQUESTS.get(self)  # (in this process, one worker: no task starts once told to stop)
        if event is not None and event.is_set():
            raise ExecutorStopped(f"stopped before task {rank}")
        if os.environ.get("LUCIE_VERBOSE"):
            return super()._launch_run_for_rank(rank, ranks_q, completed, completed_lock)
        saved = sys.stderr
        sys.stderr = _devnull()
        try:
            return super()._launch_run_for_rank(rank, ranks_q, completed, completed_lock)
        finally:
            sys.stderr = saved
            _restore_build_log()


def _check_stop(stopping: threading.Event) -> None:
    if stopping.is_set():
        raise ExecutorStopped("stopped: its worker processes are killed, their tasks left incomplete")


class TaskDied(RuntimeError):
    """A task process of the local executor ended without its result (QuietLocalExecutor._run_pool)."""


_EXIT_GRACE = 30.0  # seconds a worker may take to exit once told to stop (then it is killed)


class _LocalRank:
    """What datatrove's ``_launch_run_for_rank`` takes from its rank queue, for one task: ``get`` gives the local rank
    the main process chose for it (local rank 0 logs at INFO to the console, the others only errors), ``put`` gives
    it back. Why not a queue: one shared between tasks is one more thing a killed process can leave locked."""

    def __init__(self, slot: int):
        self.slot = slot

    def get(self) -> int:
        return self.slot

    def put(self, slot: int) -> None:
        pass  # the slot is the worker's own for its life: nothing to give back


def _tag_result(ok: bool, value) -> tuple:
    """A task's result as its process sends it back: ``(ok, pickled value, repr)``. Pickled apart so that an exception
    that cannot be pickled, or unpickled in the main process, still arrives as its repr (``_Worker.receive``)."""
    from multiprocess.reduction import ForkingPickler

    try:
        return ok, bytes(ForkingPickler.dumps(value)), None if ok else _safe_repr(value)
    except Exception as err:  # noqa: BLE001 -- anything a __reduce__ raises
        return False, None, f"{_safe_repr(value)} (it cannot be pickled to be sent back: {_safe_repr(err)})"


def _safe_repr(value) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 -- a broken __repr__ must not hide the failure
        return f"<{type(value).__name__}>"


class _Worker:
    """A worker process as the main process follows it: its local rank (``slot``), its pipe, and the rank it is
    running (None: idle)."""

    def __init__(self, slot: int, proc, conn):
        self.slot, self.proc, self.conn = slot, proc, conn
        self.pid, self.exitcode, self.rank = proc.pid, None, None

    def give(self, rank) -> bool:
        """Hand it ``rank`` (None: stop); False when its pipe is closed (it died)."""
        try:
            self.conn.send(rank)
        except (OSError, ValueError):  # BrokenPipeError, or a closed connection
            return False
        self.rank = rank
        return True

    def receive(self) -> tuple | None:
        """Its result: ``(True, stats)``, ``(False, exception)``, or None when its pipe closed without one (the
        process was killed before or while sending it)."""
        from multiprocess.reduction import ForkingPickler

        try:
            ok, blob, text = self.conn.recv()
        except (EOFError, OSError):
            return None
        if blob is None:
            return False, RuntimeError(f"task {self.rank} failed: {text}")
        try:
            return ok, ForkingPickler.loads(blob)
        except Exception as err:  # noqa: BLE001 -- a class missing here, a broken __setstate__, ...
            return False, RuntimeError(f"task {self.rank} failed: {text or 'its result'} (it cannot be unpickled in "
                                       f"the main process: {_safe_repr(err)})")

    def kill(self) -> None:
        if self.proc.exitcode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:  # ended meanwhile
                pass

    def close(self, timeout: float | None = None, stopping: threading.Event | None = None) -> None:
        """Reap the process (ended, told to stop, or killed just before; killed if it has not ended after
        ``timeout`` s, or once ``stopping`` is set) and release its pipe. Not ``Process.close()``: at exit (Ctrl-C)
        multiprocess's atexit handler joins every child it started while this thread may still run, and joining a
        closed one printed a traceback (its fds are released when multiprocess forgets the process)."""
        if stopping is None or timeout is None:
            self.proc.join(timeout)
        else:
            deadline = time.monotonic() + timeout
            while self.proc.exitcode is None and not stopping.is_set() and time.monotonic() < deadline:
                self.proc.join(min(_STOP_POLL, max(deadline - time.monotonic(), 0)))
        if self.proc.exitcode is None:
            self.kill()
            self.proc.join()
        self.exitcode = self.proc.exitcode
        self.conn.close()

    def died(self) -> TaskDied:
        code = self.exitcode
        if code is not None and code < 0:
            return TaskDied(f"worker process {self.pid} died ({_signal_name(code)}) while running task {self.rank}, "
                            "e.g. killed by the out-of-memory killer; that task's work is lost, the finished tasks are "
                            "kept")
        return TaskDied(f"worker process {self.pid} ended ({_signal_name(code)}) without finishing task {self.rank}; "
                        "that task's work is lost, the finished tasks are kept")


def _manager_death(mg, rank: int, err: BaseException) -> TaskDied | None:
    """A task's connection error when the Manager it reports to has died, said as such (it was "Connection
    refused", naming neither the Manager nor the task); None otherwise."""
    proc = getattr(mg, "_process", None)
    if not isinstance(err, (ConnectionError, EOFError)) or proc is None:
        return None
    proc.join(0.5)  # (its death may not be reaped yet)
    if proc.is_alive():
        return None
    return TaskDied(f"datatrove's progress Manager process (pid {proc.pid}) died ({_signal_name(proc.exitcode)}) while "
                    f"task {rank} ran, e.g. killed by the out-of-memory killer: the task could not record its "
                    "completion and its work is lost; the finished tasks are kept")


def _signal_name(exitcode: int) -> str:
    import signal

    if exitcode is not None and exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


_RAY_START = threading.Lock()  # ensure_ray: one token set and given back at a time


def ensure_ray(opts: RunOptions) -> None:
    """Connect to the configured Ray cluster, or start a local one sized to ``workers``."""
    try:
        import ray
    except ImportError:
        raise InputError("executor.type ray needs Ray: pip install 'lucie-data[ray]'") from None
    with _RAY_START:  # (two builds starting Ray in one process: one token set and given back at a time; review)
        _ensure_ray(ray, opts)


def _ensure_ray(ray, opts: RunOptions) -> None:
    if not ray.is_initialized():
        if opts.ray_address:
            _check_ray_address(opts.ray_address)
        kw = {"address": opts.ray_address} if opts.ray_address else {"num_cpus": opts.workers, "include_dashboard": False}
        from ._ray_reaper import ENV

        inherited = os.environ.get(ENV)
        if not opts.ray_address:
            _start_ray_reaper()
        try:
            ray.init(log_to_driver=bool(os.environ.get("LUCIE_VERBOSE")), ignore_reinit_error=True, **kw)
        except ConnectionError as err:  # `address: auto` with no cluster running (review: every source failed with
            # this as "an unexpected error, a defect"); the build stops here, before any source's work
            raise InputError(f"executor.address {opts.ray_address!r}: no running Ray cluster found ({err}). Start one "
                             "(`ray start --head`), give its address, or remove `address:` to let the build start a "
                             "local Ray") from None
        finally:
            # only the processes ray.init started carry the token (its raylet's children inherit it from the raylet):
            # left in this process's environment, every later child of a notebook or script that ran a build carried
            # it, and the reaper killed them when that process exited (code review)
            if inherited is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = inherited


def _start_ray_reaper() -> None:
    """The local cluster's processes carry a token in their environment, and a process of ours watches the build:
    when the build dies without stopping Ray (`kill -9`), it ends them (_ray_reaper.py: two of Ray's agents outlived
    their raylet). One per local cluster this process starts; Linux only."""
    import subprocess
    import sys
    import uuid

    from ._ray_reaper import ENV

    if not os.path.isdir("/proc/self"):
        return
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    try:
        subprocess.Popen([sys.executable, "-m", "lucie_data._ray_reaper", str(os.getpid()), token],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
    except OSError:  # (no reaper: the cluster is as Ray leaves it)
        return
    os.environ[ENV] = token


def _check_ray_address(address: str, timeout: float = 5.0) -> None:
    """A ``host:port`` (or ``ray://host:port``) nothing answers on is a clear error within seconds: ``ray.init``
    retries it for minutes, printing only its own GCS warnings (review: still retrying after 120 s). ``auto`` and
    other forms are left to Ray."""
    import re
    import socket

    m = re.fullmatch(r"(?:ray://)?\[?([^\]/]+?)\]?:(\d+)", address.strip())
    if not m:
        return
    host, port = m.group(1), int(m.group(2))
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise InputError(f"executor.address {address!r}: no Ray cluster answers there ({err.strerror or err}). Start "
                         f"one (`ray start --head --port {port}`), fix the address, or remove `address:` to let the "
                         "build start a local Ray") from None


def make_executor(opts: RunOptions, pipeline: list, logging_dir: str):
    if opts.executor == "ray":
        from datatrove.executor.ray import RayPipelineExecutor

        ensure_ray(opts)
        return RayPipelineExecutor(pipeline, tasks=opts.tasks, workers=min(opts.workers, opts.tasks),
                                   logging_dir=logging_dir, skip_completed=True, cpus_per_task=1,
                                   mem_per_cpu_gb=opts.mem_per_cpu_gb)
    return QuietLocalExecutor(pipeline, tasks=opts.tasks, workers=min(opts.workers, opts.tasks),
                              logging_dir=logging_dir, skip_completed=True)


_STOP_WAIT = 30.0  # seconds an interrupted command waits for its executor to have killed and reaped its workers
_EXECUTORS_LEFT: list[threading.Event] = []  # the executors an interrupt left running in this process, each as the
# event its thread sets when it ends (see build)


def _no_ray_reconnect() -> None:
    """Ray's executor, left running in its thread by an interrupt, calls Ray again after the program's exit has shut
    Ray down (Ray's atexit handler), and a Ray call with Ray down starts a new local cluster (Ray's auto-connect):
    review 48, Ctrl-C during a Ray build started a second cluster during the exit, whose processes outlived the
    command by ~10 s, and printed Ray's warnings after "interrupted". Turned off once interrupted: that call fails
    instead, in a thread no one waits for. (A private switch of Ray's; a Ray without it is left as it is.)"""
    if "ray" not in sys.modules:
        return
    with contextlib.suppress(Exception):
        from ray._private import auto_init_hook

        auto_init_hook.enable_auto_connect = False


def _executors_left() -> bool:
    """Whether an executor an interrupt could not stop still runs in this process (its tasks may still write)."""
    _EXECUTORS_LEFT[:] = [e for e in _EXECUTORS_LEFT if not e.is_set()]
    return bool(_EXECUTORS_LEFT)


def run_with_progress(executor, progress_dir: Path, report: Callable[[int, float], None], every: float = 0.5) -> None:
    """Run ``executor`` in a thread and report the documents its tasks have read so far, with the rate.

    Interrupted (KeyboardInterrupt in this thread: Ctrl-C or SIGTERM, interrupts.py), it tells the executor to stop
    (``stop()``: the local executor kills its worker processes) and waits until it has, so that nothing of the run is
    still writing when the interrupt goes on. Why: the KeyboardInterrupt reaches this thread only; the executor's
    thread went on waiting on its workers, which ignore the signals (they are the main process's to stop), and the
    program's exit waited for their running tasks to end (review: exit 20 s after Ctrl-C, 76 s with a slow document,
    the build folder locked meanwhile). An executor that cannot be stopped so (tasks in this process with one worker;
    Ray, whose workers end with the driver) is left to the program's exit, and listed in ``_EXECUTORS_LEFT``."""
    error: list[BaseException] = []
    # Waited on, not the thread: a Thread.join interrupted by Ctrl-C took the running thread for ended (CPython 3.11's
    # bpo-45274 clean-up releases the lock the running thread holds), so every later join returned at once
    ended = threading.Event()

    def target():
        try:
            executor.run()
        except BaseException as e:  # re-raised in the caller's thread
            error.append(e)
        finally:
            ended.set()

    t = threading.Thread(target=target, name="lucie-executor", daemon=True)
    t0 = time.time()
    t.start()
    try:
        while not ended.is_set():
            ended.wait(every)
            n = 0
            for f in progress_dir.glob("[0-9]*[0-9]"):  # a task's count, not the meter's `.tmp` file being renamed
                try:
                    n += int(f.read_text() or 0)
                except (OSError, ValueError):
                    pass
            if n:
                report(n, n / max(time.time() - t0, 1e-6))
    except BaseException:
        stop = getattr(executor, "stop", None)
        if stop is not None and stop():
            ended.wait(_STOP_WAIT)  # (a second Ctrl-C during this ends the program at once: interrupts.py)
        if not ended.is_set():
            _EXECUTORS_LEFT.append(ended)
            _no_ray_reconnect()
        raise
    if error:
        raise error[0]
    # datatrove's Ray executor ends with a warning when a task failed ("Only 0/4 tasks completed") and no exception
    # (kill/resume review: the source's next segments then ran on the missing tasks' empty hand-off files); a segment
    # is finished only when every task wrote its completion marker, whatever the executor said
    missing = executor.get_incomplete_ranks(skip_completed=True)
    if missing:
        raise TaskIncomplete(f"{len(missing)} of {executor.world_size} task(s) did not complete (task(s) "
                             f"{', '.join(map(str, missing[:10]))}{', …' if len(missing) > 10 else ''}); the "
                             "executor ended without saying why")


class TaskIncomplete(RuntimeError):
    """An executor ended without an error but with tasks that did not complete."""


def input_fingerprint(paths: list[Path], base: Path | None = None) -> list[dict]:
    """Path, size and mtime of each file; with ``base``, a path under it relative to it (see build_key_payload)."""
    out = []
    for p in paths:
        st = p.stat()
        shown = str(p)
        if base is not None and Path(p).is_relative_to(base):
            shown = Path(p).relative_to(base).as_posix()
        out.append({"path": shown, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


# recipe keys no document carries (the report and the mix's card read them from recipe.resolved.json, which an
# up-to-date source gets written again): editing them does not rebuild a source (review: a description edit did)
NOT_IN_DOCUMENTS = ("description", "provenance")


def source_build_key(src: LoadedSource, opts: RunOptions, legacy: bool = False) -> str:
    """Changes whenever the output could change: recipe, inputs (and the sidecar, which gives pages their
    licences: an edited sidecar must rebuild, rules 2 and 4), seed, task count, tokenizer, policy, version.
    ``legacy``: the key as versions before 2026-11-28 computed it (absolute paths, the recipe's `paths:` as written),
    which a folder they built still holds: taken as this key, so that upgrading rebuilds nothing by itself."""
    digest = hashlib.sha256(json.dumps(build_key_payload(src, opts, legacy), sort_keys=True).encode()).hexdigest()
    # (today's keys say their form: a key on disk in it was written by this version, which tells a rebuild stopped
    # after an earlier version's manifest from a folder copied without its times; buildfiles.stopped_since_manifest)
    return digest if legacy else KEY_FORM + digest


KEY_FORM = "v2:"


def _key_path(value: str, base: Path | None) -> str:
    """A local file a stage or the pipeline names (a model, a tokenizer), as the build key holds it: by its place from
    ``base`` when they share more than the filesystem root (`../models/lid.bin`: the project moved or copied whole,
    `cp -a`, rebuilds nothing; rv61, rv62), else as given."""
    if base is None or not isinstance(value, str) or not os.path.isabs(value):
        return value
    try:
        shared = os.path.commonpath([value, str(base)])
    except ValueError:
        return value
    return os.path.relpath(value, base) if os.path.dirname(shared) != shared else value


def build_key_payload(src: LoadedSource, opts: RunOptions, legacy: bool = False) -> dict:
    """What :func:`source_build_key` hashes. A change of how one kind of source is read adds a marker to these
    sources' payload alone, so that every other source keeps its key and is not rebuilt.

    Input files are keyed by their path relative to the folder lineage records them from (:func:`_common_base`), and
    the recipe's `paths:` by what they match, not as written: rv59, a project moved or copied (`cp -a`, from scratch to
    project space) rebuilt every source, and a recipe moved into a subfolder with its `paths:` adjusted to the same
    files rebuilt its source, each to the same bytes (the documents record those relative paths, nothing else)."""
    recipe = {k: v for k, v in json.loads(src.recipe.model_dump_json()).items() if k not in NOT_IN_DOCUMENTS}
    base = None if legacy else _common_base(src)
    if base is not None and os.path.dirname(str(base)) == str(base):
        # recipe and inputs share only the filesystem root: lineage records the inputs' absolute paths (readers
        # `_rel`), and so does the key (rv62: data moved from /X/… into the project at X/… kept its key, and its
        # shards the lineage of a file gone)
        base = None
    options = opts.key()
    if not legacy:
        if isinstance(recipe.get("input"), dict):
            recipe["input"] = {**recipe["input"], "paths": None}  # (the files they match are `inputs`)
        # a stage's model and the tokenizer by their place from the project (rv61: a KenLM model made every source
        # using it rebuild after `cp -a`); their content is keyed by `stage_files` / the tokenizer's sha256. Only
        # those fields: rv62, every stage string under the base was rewritten, and with the base "/" a regex `/The`
        # became `The`, the same key as the edited recipe's
        for i, st in enumerate(src.recipe.stages):
            for field, value in st.path_values():
                if isinstance(recipe["stages"][i].get(field), str):
                    recipe["stages"][i][field] = _key_path(value, base)
        if opts.tokenizer and os.path.isfile(str(opts.tokenizer)):
            options["tokenizer"] = _key_path(os.path.abspath(str(opts.tokenizer)), base)
    payload = {"recipe": recipe, "inputs": input_fingerprint(src.inputs, base),
               "options": options, "version": __version__, "layout": LAYOUT_VERSION, "work": WORK_FORMAT,
               "read": READ_FORMAT}
    if src.sidecar is not None:
        payload["sidecar"] = input_fingerprint([src.sidecar], base)
    dataset_files = local_dataset_files(src)
    if dataset_files:  # (review 49: 10 records added to a local dataset folder were never read: "up to date")
        payload["dataset_files"] = input_fingerprint(dataset_files, base)
    inp = src.recipe.input
    if inp.type == "parquet" and any("." in f for f in inp.metadata_fields or ()):
        # 2026-11-28: a dotted `metadata_fields` path into a Parquet struct reads its leaf alone (readers.parquet_columns),
        # so a value elsewhere in the struct no longer removes the row: these sources alone rebuild (READ_FORMAT would
        # rebuild every source)
        payload["read_struct_leaves"] = True
    if inp.type in ("html", "warc"):
        # review 48: a page nested deeper than 255 levels (or with a text node over 10 MB) is parsed whole, or removed
        # when it cannot be (readers.whole_page_parsing), no longer kept cut: these sources alone rebuild
        payload["html_parsed_whole"] = True
    if inp.language_field and src.recipe.mixes_code_and_prose:
        # rv52: in a source of prose and code languages a record's `en` is English, no longer `code:en`
        # (languages.normalize_language, `mixed`): these sources alone rebuild
        payload["mixed_record_languages"] = True
    revisions = [[st.type, r] for st in src.recipe.stages if (r := st.revision_for(src.recipe)) > 1]
    if revisions:  # only when a revised stage's change can apply here, so any other source keeps its key
        payload["stage_revisions"] = revisions
    files = stage_files(src)
    if files:  # (resume review: a model replaced under one path mixed two models in one build, or was "up to date")
        payload["stage_files"] = [{**e, "path": _key_path(str(f), base)}
                                  for f, e in zip(files, input_fingerprint(files))] if not legacy else \
            input_fingerprint(files)
    return payload


def local_dataset_files(src: LoadedSource) -> list[Path]:
    """The files of an `hf_dataset` source's local dataset folder (resolved as its reader resolves it), sorted, but
    hidden ones; []
    for a Hub dataset. Part of the build key as inputs are, by path, size and mtime: a file added, edited or removed
    there rebuilds the source. (A Hub dataset's content is not fingerprinted: pin its `revision:`.)"""
    inp = src.recipe.input
    if inp.type != "hf_dataset" or not inp.dataset:
        return []
    folder = src.file.parent / inp.dataset
    if not folder.is_dir():
        return []
    # not hidden files or folders (`.git/`, `.cache/huggingface/` of a `--local-dir` download), which `datasets` does
    # not read either (rv50: a `git tag` rebuilt the source)
    return sorted(p for p in folder.rglob("*")
                  if not any(part.startswith(".") for part in p.relative_to(folder).parts) and p.is_file())


def stage_files(src: LoadedSource) -> list[Path]:
    """The local files the recipe's stages read (a perplexity model, a fastText model: each spec's ``path_fields``,
    absolute once the recipe is loaded): part of the build key as inputs are, by path, size and mtime."""
    return [Path(v) for st in src.recipe.stages for _f, v in st.path_values() if os.path.isfile(v)]


# A dataset the reader could not open, or a stream that broke (the network, a Hub outage): unlike a corrupt local
# file, which a rerun would read the same way, a retry may succeed. A source with one is written and accounted for
# but left unfinished, so the next build retries it and `mix build` refuses it (review: an unreachable Hub dataset
# became "up to date (0 docs kept)" forever and silently left the mix).
RETRY_REASONS = frozenset({"read_dataset_unavailable", "read_dataset_interrupted", "read_unreadable_file"})


def _denied_input(led: dict) -> str | None:
    """An input the source's build was not allowed to read, recorded by a version before ``read_unreadable_file`` (as
    ``read_corrupt_file`` with a PermissionError), which left the source finished: retried now, as today's builds
    retry it (code review: a folder built before the upgrade never read the file once its permissions were fixed)."""
    for q in led.get("quarantined_files") or []:
        detail = str(q.get("detail") or "") if isinstance(q, dict) else ""
        if detail.startswith("PermissionError") or detail.startswith("[Errno 13]"):  # (the html reader's wording)
            return f"{q.get('file')} could not be read by the build that made this source ({q.get('detail')})"
    return None


def _built_before_todays_reading(src: LoadedSource, source_dir: Path, led: dict) -> str | None:
    """Why a finished source's output is one a version before 2026-11-28 wrote and today's would not, or None; read
    from what it wrote, so that only such sources rebuild (a build-key marker would rebuild every JSONL source, or
    every source, for changes that reach few; rv55):
    - a kept shard of more than one document over ``MAX_SHARD_CHARS`` characters (shards were cut by rows alone);
    - a JSONL record the reader removed that today's reads otherwise: a line holding only a BOM (a blank record, now
      no record) or a raw control character in a string (Python's cut "Invalid control character at", now named)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from .steps.base import MAX_SHARD_CHARS

    langs = led.get("kept_by_language") or {}
    if any(isinstance(v, dict) and (v.get("chars") or 0) > MAX_SHARD_CHARS for v in langs.values()):
        for shard in sorted((source_dir / "data").glob("*/*.parquet")):
            pf = pq.ParquetFile(shard)
            md = pf.metadata
            col = pf.schema_arrow.get_field_index("text")
            if md.num_rows < 2 or col < 0 or sum(md.row_group(g).column(col).total_uncompressed_size
                                                 for g in range(md.num_row_groups)) <= MAX_SHARD_CHARS:
                continue  # (a character takes at least a byte: under the limit in bytes, under it in characters)
            chars = sum(pc.sum(pc.utf8_length(b.column(0))).as_py() or 0
                        for b in pf.iter_batches(columns=["text"], batch_size=1000))
            if chars > MAX_SHARD_CHARS:
                return (f"{shard} holds {md.num_rows:,} documents of {chars:,} characters, more than the "
                        f"{MAX_SHARD_CHARS:,} a shard is now cut at (a mix reads it whole)")
    removed = led.get("read_removed") or {}
    if src.recipe.input.type == "jsonl" and (removed.get("read_invalid_json") or removed.get("read_truncated_record")):
        for shard in sorted((source_dir / "removed" / "read").glob("*.parquet")):
            t = pq.read_table(shard, columns=["text", "metadata", "removal_reason"])
            for text, meta, reason in zip(*(t.column(c).to_pylist() for c in ("text", "metadata", "removal_reason"))):
                if reason not in ("read_invalid_json", "read_truncated_record"):
                    continue
                # (blank as the reader's bytes.strip() tells it, ASCII whitespace only: a line of U+00A0 is a record
                # today too, removed as read_invalid_json with that text, and no reason to rebuild; rv56)
                if not (text or "").strip(" \t\n\r\x0b\x0c") or "Invalid control character at" in (meta or ""):
                    return (f"{shard} holds a record an earlier version read otherwise (a line holding only a byte "
                            "order mark, or a raw control character in a string)")
    return None


@dataclass
class SourceResult:
    name: str
    status: str  # built | up-to-date | incomplete (a dataset could not be read: retried by the next build)
    ledger: dict
    seconds: float = 0.0
    # (tasks kept, of all tasks) when an earlier, stopped run finished some, which were kept: `seconds` is this run's
    # share only; False otherwise
    resumed: tuple[int, int] | bool = False


@dataclass
class BuildResult:
    output_dir: Path
    sources: list[SourceResult] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)  # built sources --only left out that this pipeline would rebuild
    token_counter: dict | None = None  # manifest.token_counter_entry, as the build keys used it
    failed: dict[str, str] = field(default_factory=dict)  # source -> why it failed (BuildError); the others built

    @property
    def incomplete(self) -> list[str]:
        """Sources whose input could not be read whole this run (see RETRY_REASONS)."""
        return [s.name for s in self.sources if s.status == "incomplete"]

    @property
    def problems(self) -> list[str]:
        out = []
        for f in (self.manifest or {}).get("failed_sources") or []:  # failed earlier, left out of this run (--only)
            if f.get("name") not in self.failed:
                out.append(f"{f.get('name')}: failed in an earlier build and not built since ({str(f.get('error'))[:300]}"
                           "); `mix build` refuses this build until it is: fix it and build it")
        if self.stale:  # review: after --only with other options, the manifest and the mix took them as current
            out.append(f"not rebuilt (--only) though out of date with this pipeline (recipe, inputs or options "
                       f"changed): {', '.join(self.stale)}; their shards are as an earlier run built them (`mix build` "
                       "refuses a recipe edited since, and mixes other changes as built): rerun `lucie-data build` "
                       "without --only")
        for s in self.sources:
            for q in s.ledger.get("quarantined_files", []):
                out.append(f"{s.name}: quarantined {q['file']} ({q['reason']}: {q['detail']})")
            if s.ledger.get("duplicate_ids"):
                split = any(st.get("docs_created") for st in s.ledger.get("stages", []))
                out.append(f"{s.name}: {s.ledger['duplicate_ids']} kept documents share an id with another "
                           "(input records with one id: copies of one record, e.g. a file given twice or in two "
                           "formats, or different records" + (", or a language split's part `<id>#<lang>` that "
                           "is also an input id" if split else "") + "); an `exact_dedup` stage removes copies, "
                           "a unique `id_field` tells different records apart")
            if s.ledger.get("removed_sharing_ids"):
                out.append(f"{s.name}: {s.ledger['removed_sharing_ids']} removed document(s) have the id of another "
                           f"document (e.g. {', '.join(s.ledger.get('removed_sharing_ids_examples') or [])}): input records "
                           "sharing an id, at least one of them removed (by dedup, a filter); `trace` shows each. Set "
                           "`id_field` to a unique field")
            bad = {k: v for k, v in s.ledger.get("read_removed", {}).items()}
            if bad:
                out.append(f"{s.name}: unreadable records removed: " + ", ".join(f"{k} × {v}" for k, v in sorted(bad.items())))
            for w in s.ledger.get("warnings", []):  # the reader's checks of the recipe's field mapping
                out.append(f"{s.name}: {w}")
        return out


def _only_descriptive_change(old: str | None, new: str) -> bool:
    """Whether two ``recipe.resolved.json`` texts differ only in keys no document carries (NOT_IN_DOCUMENTS) or in
    the recipe file's path."""
    try:
        a, b = json.loads(old or ""), json.loads(new)
        for d in (a, b):
            home = os.path.dirname(d.pop("recipe_file", None) or "/")  # a project copied or moved elsewhere (third
            for k in NOT_IN_DOCUMENTS:                                 # review: a false "edited")
                d["recipe"].pop(k, None)
            # `paths:` re-spelled to the same files (the build key says they are: rv61, a recipe moved into a subfolder
            # was said "edited or damaged"), and a model file's absolute path, by its place from the recipe
            if isinstance(d["recipe"].get("input"), dict):
                d["recipe"]["input"].pop("paths", None)
            d["recipe"]["stages"] = _paths_from(d["recipe"].get("stages"), home)
        return a == b
    except (ValueError, TypeError, KeyError, AttributeError):
        return False


def _paths_from(value, home: str):
    if isinstance(value, dict):
        return {k: _paths_from(v, home) for k, v in value.items()}
    if isinstance(value, list):
        return [_paths_from(v, home) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return os.path.relpath(value, home)
    return value


def resolved_recipe_text(src: LoadedSource) -> str:
    """``sources/<source>/recipe.resolved.json`` as the build writes it: the recipe after presets and defaults, which
    the mix and the report read (licence, redistributable); the manifest records its sha256."""
    return json.dumps({"layout_version": LAYOUT_VERSION, "recipe_file": str(src.file),
                       "recipe": json.loads(src.recipe.model_dump_json())}, indent=2, sort_keys=True)


def run_source(src: LoadedSource, out: Path, opts: RunOptions,
               on_event: Callable[[str, dict], None] = lambda e, d: None, _retry: bool = False) -> SourceResult:
    source_dir = out / "sources" / src.name
    key = source_build_key(src, opts)
    key_file = source_dir / ".build_key"
    ledger_file = source_dir / "ledger.json"
    recorded = read_build_key(key_file)
    # (the earlier form computed only when today's does not match: it stats every input again)
    same_key = recorded == key or (recorded is not None and recorded == source_build_key(src, opts, legacy=True))
    damaged = False
    if same_key:
        try:
            led = read_ledger(ledger_file)
        except LedgerUnreadable as err:  # finished once, but its account is gone: rebuild it, say so
            on_event("warning", {"source": src.name, "message": f"{err}; rebuilding this source"})
            led, damaged = None, True
        if led is not None:
            problem = (_outputs_problem(source_dir, led) or _changed_since_manifest(out, source_dir)
                       or _denied_input(led) or _built_before_todays_reading(src, source_dir, led))
            if problem is None:
                resolved = source_dir / "recipe.resolved.json"
                text = resolved_recipe_text(src)
                try:
                    old = resolved.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    old = None
                if old != text:  # review: edited by hand, it made a non-redistributable source publishable
                    resolved.write_text(text, encoding="utf-8")  # derived from the recipe alone: no rebuild needed
                    if not _only_descriptive_change(old, text):  # (a new description: said by nobody)
                        on_event("warning", {"source": src.name, "message": f"{resolved} did not hold the recipe "
                                             "as built (edited or damaged since); written again from the recipe"})
                shutil.rmtree(source_dir / "work", ignore_errors=True)  # (a run stopped right after its ledger)
                if recorded != key:  # a key as an earlier version wrote it: today's from now on
                    key_file.write_text(key)
                return SourceResult(src.name, "up-to-date", led)
            on_event("warning", {"source": src.name, "message": f"{problem}; rebuilding this source"})
            damaged = True
    _check_tokenizer(opts.counts_with)  # a source will be built: its token counts need the tokenizer
    if opts.executor == "local" and min(opts.workers, opts.tasks) > 1:
        start_forkserver()  # its imports overlap the preparation below (a no-op once it runs)
        # the dedup plan and the ledger need polars here: importing it (~0.08 s) while the forkserver
        # preloads, instead of between segments, takes it off the critical path. This process already
        # forked (datatrove's Manager) with polars loaded in every segment after a plan; workers come
        # from the forkserver, which never imports it.
        import polars  # noqa: F401
    stale = damaged or (source_dir.exists() and not same_key)
    # a finished run removes work/ only after writing its ledger; without both, hand-off files are gone
    segments = compile_segments(src, opts.license_policy)
    # (rv53: a kill before any task finished a segment left logs/ without work/: nothing to lose, nothing said)
    lost_work = (len(segments) > 1 and not (source_dir / "work").exists()
                 and any(any((source_dir / "logs" / f"seg{i}" / "completions").glob("*")) for i in range(len(segments) - 1)))
    if lost_work and not stale:  # (kill/resume review: a deleted ledger.json rebuilt the source without a word)
        on_event("warning", {"source": src.name, "message": f"{source_dir} holds no ledger.json and no work/ folder "
                             "to resume from; rebuilding this source"})
    handoff = None if stale or lost_work else _handoff_problem(source_dir, len(segments), opts.tasks)
    if handoff:  # (kill/resume review: read as an empty task, every rerun stopped on an unbalanced ledger)
        on_event("warning", {"source": src.name, "message": f"{handoff}; rebuilding this source"})
    if stale or lost_work or handoff:
        shutil.rmtree(source_dir)  # recipe or inputs changed: stale outputs must not mix with new ones
    # tasks a stopped run finished, kept (datatrove's completion markers): this run's time covers the rest only
    kept_tasks = sum(1 for _ in (source_dir / "logs").glob("seg*/completions/*"))
    resumed = (kept_tasks, len(segments) * opts.tasks) if kept_tasks else False
    source_dir.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key)
    (source_dir / "recipe.resolved.json").write_text(resolved_recipe_text(src), encoding="utf-8")

    t0 = time.time()
    for i, seg in enumerate(segments):
        nxt = segments[i + 1] if i + 1 < len(segments) else None
        if seg.barrier is not None:
            bid, bspec = seg.barrier
            ctx = _ctx(src, bid, source_dir, opts)
            if not os.path.exists(ctx.plan_path):
                on_event("plan", {"source": src.name, "stage": bid})
                bspec.plan(ctx, str(source_dir / "work" / f"seg{i - 1}"))
        pipeline = build_segment_pipeline(src, seg, nxt, source_dir, opts, _common_base(src))
        on_event("segment", {"source": src.name, "segment": i, "of": len(segments)})
        ex = make_executor(opts, pipeline, str(source_dir / "logs" / f"seg{i}"))
        try:
            run_with_progress(ex, source_dir / "logs" / f"seg{i}" / "progress",
                              lambda n, rate: on_event("progress", {"source": src.name, "segment": i, "of": len(segments),
                                                                    "docs": n, "rate": rate}))
        except Exception as e:  # a task crashed: keep completed tasks, report clearly
            raise BuildError(f"source {src.name!r}, segment {i}: a task failed ({type(e).__name__}: {e}). "
                             f"Task logs: {source_dir / 'logs' / f'seg{i}' / 'logs'}. Fix the cause, then rerun (finished tasks "
                             "are kept while the recipe, its inputs and model files stay the same).") from e
        if i == 0:  # what the reader found: a licence field no record has stops the source here (rule 2)
            _, errors = read_checks_problems(read_checks(source_dir, src), src)
            if errors:
                raise BuildError(f"source {src.name!r}: " + "; ".join(errors))
    ledger = compute_ledger(source_dir, src, [(sid, spec.type) for seg in segments for sid, spec in seg.stages])
    seconds = time.time() - t0
    if not ledger["balanced"] and resumed and not _retry:
        # (rv53: a shard a finished task wrote, deleted after a kill, failed this run as "documents unaccounted for"
        # after all the remaining work, and the next run rebuilt it): the tasks kept from the stopped run do not add
        # up, so the source is built again at once, from the start
        on_event("warning", {"source": src.name, "message": "the shards written by the tasks a stopped run finished "
                             f"do not add up ({'; '.join(ledger['imbalances'])}): deleted or damaged since; rebuilding "
                             "this source"})
        shutil.rmtree(source_dir)
        return run_source(src, out, opts, on_event, _retry=True)
    if not ledger["balanced"]:
        # resuming from this state would find the same imbalance again: the next build starts the source afresh
        key_file.unlink(missing_ok=True)
        raise BuildError(f"source {src.name!r}: documents unaccounted for: {'; '.join(ledger['imbalances'])}; the "
                         "next `lucie-data build` rebuilds this source from the start")
    if ledger.get("warnings"):
        from loguru import logger

        for w in ledger["warnings"]:
            logger.warning(f"{src.name}: {w}")  # build.log; the CLI lists them at the end (BuildResult.problems)
    unread = [q for q in ledger.get("quarantined_files", []) if q.get("reason") in RETRY_REASONS]
    if unread:  # accounted for, but not finished: the next run must try again, and no mix may use it as whole
        ledger["complete"] = False
        ledger["incomplete"] = unread
    tmp = ledger_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(ledger, indent=2, sort_keys=True, ensure_ascii=False))
    os.replace(tmp, ledger_file)
    # the hand-off files only once the ledger is written (rv53: a kill between the two left a source every task of
    # which had finished without its ledger and its work/, rebuilt from scratch); a finished source's leftover work/
    # is removed by the next run
    shutil.rmtree(source_dir / "work", ignore_errors=True)
    if unread:
        key_file.unlink()  # not "up to date": the next `lucie-data build` rebuilds this source from scratch
        return SourceResult(src.name, "incomplete", ledger, seconds, resumed)
    return SourceResult(src.name, "built", ledger, seconds, resumed)


def _handoff_problem(source_dir: Path, n_segments: int, tasks: int) -> str | None:
    """Why a stopped source's hand-off files cannot be resumed from, or None: a task that finished a segment wrote
    its documents to ``work/seg<i>/<task>.parquet`` for the next segment, and that file is gone or holds another
    number of rows than the task's writer counted (deleted, cut short: the next segment would read it as a task
    with fewer documents). Checked while the next segment is unfinished (it still needs them)."""
    import pyarrow.parquet as pq

    for i in range(n_segments - 1):
        logs, nxt = source_dir / "logs" / f"seg{i}", source_dir / "logs" / f"seg{i + 1}" / "completions"
        if all((nxt / f"{r:05d}").exists() for r in range(tasks)):
            continue
        for r in range(tasks):
            if not (logs / "completions" / f"{r:05d}").exists():
                continue
            try:
                steps = json.loads((logs / "stats" / f"{r:05d}.json").read_text(encoding="utf-8"))
                wrote = next(int(s["stats"].get("total", 0)) for s in steps if s.get("name", "").endswith("📦 Work"))
            except (OSError, ValueError, StopIteration, TypeError, AttributeError):
                return f"task {r} of segment {i} finished, but its stats ({logs / 'stats'}) are unreadable"
            f = source_dir / "work" / f"seg{i}" / f"{r:05d}.parquet"
            try:
                rows = pq.read_metadata(f).num_rows if f.exists() else 0
            except Exception:  # noqa: BLE001 -- any unreadable footer: the file cannot be resumed from
                rows = -1
            if rows != wrote:
                return (f"the hand-off file {f} of a finished task holds {max(rows, 0):,} of the {wrote:,} "
                        "documents its task wrote (deleted or damaged since)")
    return None


def _outputs_problem(source_dir: Path, led: dict) -> str | None:
    """Why a finished source's shards no longer match its ledger, or None: a shard deleted, cut short or
    overwritten since (rules 1 and 4: skipping it would publish a build that cannot account for its documents,
    and the manifest would fail on it). Footers only: every kept and removed shard reads, and their rows are
    the ledger's kept and removed counts (the ledger counted them from these very files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for sub, pattern, key in (("data", "**/*.parquet", "docs_kept"), ("removed", "*/*.parquet", "docs_removed")):
        rows = 0
        for f in sorted((source_dir / sub).glob(pattern)):
            try:
                rows += pq.read_metadata(f).num_rows
            except (pa.ArrowException, OSError) as err:
                return f"{f} does not read as Parquet ({(str(err).strip().splitlines() or [''])[0][:200]})"
        if rows != led[key]:
            return f"its {sub}/ shards hold {rows:,} rows where its ledger counts {led[key]:,}"
    return None


_TOKENIZERS_OK: set = set()


def _check_tokenizer(tokenizer: str | None, flag: str | None = None) -> None:
    """Load the pipeline's tokenizer once, in this process, before a source is built: a Hub id that cannot be
    fetched (offline, a typo) used to fail inside every task as "a task failed (LocalEntryNotFoundError …)", with the
    tokenizer named only in the task logs (third review). InputError (exit 2) naming it and the fix. ``flag``: the
    command-line option it came from (``report --tokenizer``), which the message names instead of the pipeline's
    `tokenizer:` (newcomer review)."""
    if not tokenizer or tokenizer in _TOKENIZERS_OK:
        return
    who = f"the tokenizer {flag} gives" if flag else "the pipeline's tokenizer"
    use_local = (f"Give {flag} a local tokenizer.json" if flag else "Set `tokenizer:` to a local tokenizer.json")
    leave_out = (f"leave {flag} out" if flag else "remove `tokenizer:`")
    from .tokens import TokenCounter

    try:
        TokenCounter(tokenizer)._load()
    except Exception as err:  # tokenizers / huggingface_hub raise many kinds (offline, 404, bad JSON)
        kind = type(err).__name__  # (LocalEntryNotFoundError: offline and not cached, said below)
        if "RepositoryNotFound" in kind:  # review: the Hub said 404 and the advice was to fill the cache
            raise InputError(f"{who} {tokenizer!r}: the Hub has no model repository "
                             f"{tokenizer.partition('@')[0]} (or it is private and the token cannot see it). Check "
                             "the id (e.g. OpenLLM-France/Lucie-7B), or give a local tokenizer.json") from None
        if ("EntryNotFound" in kind and not kind.startswith("Local")) or "RevisionNotFound" in kind:
            repo, rev = tokenizer.partition("@")[::2]
            raise InputError(f"{who} {tokenizer!r}: the Hub repository {repo} has no "
                             f"{'revision ' + rev if 'Revision' in type(err).__name__ else 'tokenizer.json'}"
                             f"{' at revision ' + rev if rev and 'Entry' in type(err).__name__ else ''}. Give a model "
                             "repository (and revision) that has a tokenizer.json, or a local tokenizer.json") from None
        where = "a local file" if os.path.exists(tokenizer) else "a Hub id (this needs the network once, then the HF cache)"
        raise InputError(f"{who} {tokenizer!r} ({where}) cannot be loaded: {type(err).__name__}: "
                         f"{str(err).strip().splitlines()[0][:300] if str(err).strip() else ''}. {use_local}, run once with "
                         f"the network so the HF cache holds it, or {leave_out} to count with the regex fallback "
                         "(lucie_data/tokens.py)") from None
    _TOKENIZERS_OK.add(tokenizer)


def _changed_since_manifest(out: Path, source_dir: Path) -> str | None:
    """Which shard of a finished source no longer holds what the last manifest recorded, or None.

    :func:`_outputs_problem` sees shards that are gone, unreadable or hold other row counts; a shard rewritten
    with as many rows (an edited text) passed, the source stayed "up to date" and the new manifest recorded the
    edited file's hash (second review). Against the previous manifest's entry: the size, the Parquet footer digest
    (offsets, sizes, statistics: any re-encoding changes it) and, when that digest differs or the file was modified
    after that manifest (a ``touch`` or an edit), the sha256 of its bytes. Shards the manifest does not list (a build from another
    version, a source never in a manifest) are not judged here, nor a source whose ledger is newer than that
    manifest (rebuilt by a run that stopped before writing the manifest: its shards are new, not changed)."""
    from .manifest import manifest_damage, previous_entries, sha256_file
    from .mix.build import footer_digest

    entries, since = previous_entries(out)
    if not entries:
        damage = manifest_damage(out)
        if damage is None:
            return None
        try:  # (a source rebuilt after the damaged file was written: its shards are this build's own)
            if (source_dir / "ledger.json").stat().st_mtime_ns > (out / "manifest.json").stat().st_mtime_ns:
                return None
        except OSError:
            pass
        return (f"{out / 'manifest.json'} cannot be read ({damage}), so this source's shards cannot be checked "
                "against what the build recorded")
    try:  # a source finished after that manifest (by a run stopped before writing its own) is not described by it
        if (source_dir / "ledger.json").stat().st_mtime_ns > since:
            return None
    except OSError:
        return None
    for sub, pattern in (("data", "**/*.parquet"), ("removed", "*/*.parquet")):
        for f in sorted((source_dir / sub).glob(pattern)):
            e = entries.get(f.relative_to(out).as_posix())
            if not isinstance(e, dict):
                continue
            st = f.stat()
            recorded = (e.get("summary") or {}).get("footer") if sub == "data" else e.get("footer")
            # a footer that disagrees, or a newer file, is settled by the bytes: a wrong footer in the manifest
            # alone (an edited manifest) leaves a shard whose sha256 is the recorded one untouched
            if st.st_size != e.get("bytes") or (
                    ((recorded and footer_digest(f) != recorded) or st.st_mtime_ns > since)
                    and sha256_file(f) != e.get("sha256")):
                return f"{f} is not the shard manifest.json recorded (sha256 {str(e.get('sha256'))[:12]}…): changed since"
    return None


def _common_base(src: LoadedSource) -> Path:
    """Input paths are recorded relative to the recipe's folder's project root (stable across machines)."""
    if not src.inputs:
        return src.file.parent
    try:
        return Path(os.path.commonpath([str(src.file.parent), *map(str, src.inputs)]))
    except ValueError:
        return src.file.parent


PIPELINE_MARKER = ".pipeline"  # the name of the pipeline whose build the folder holds, written before any source


def check_folder_pipeline(out: Path, pipe: LoadedPipeline) -> None:
    """Refuse a build folder whose ``manifest.json`` names another pipeline (``pipeline.name``). Review: building p2
    into main's folder was accepted; main's sources stayed beside p2's (the report saw them only as
    ``source_not_in_manifest``) and main's ``mix/`` stayed, which ``push`` would publish. A folder without a readable
    manifest is judged by ``.pipeline``, which a build writes before its first source (code review: an interrupted
    build of another pipeline, no manifest yet, was not refused); one naming no pipeline is not judged."""
    where = "its manifest.json"
    try:
        recorded = json.loads((out / "manifest.json").read_bytes())["pipeline"]["name"]
    except PermissionError as e:  # (rv50: taken for a damaged manifest, every finished source was rebuilt)
        from .buildfiles import unreadable_message

        raise InputError(unreadable_message(out / "manifest.json", e)) from None
    except (OSError, ValueError, TypeError, KeyError):
        where = "its .pipeline, written when that build started: it did not finish"
        try:
            recorded = (out / PIPELINE_MARKER).read_text(encoding="utf-8").strip()
            if not any((out / "sources").iterdir()):  # (it stopped before any source: nothing of it to mix up)
                return
        except (OSError, ValueError):
            return
    if not isinstance(recorded, str) or not recorded or recorded == pipe.recipe.name:
        return
    raise InputError(f"{out} holds the build of pipeline {recorded!r} ({where}), not of "
                     f"{pipe.recipe.name!r}: building here would leave the sources and mix of {recorded!r} beside those "
                     f"of {pipe.recipe.name!r}, and `push` could publish them. Build {pipe.recipe.name!r} into another "
                     f"folder (--output, or `output_dir:` in {pipe.file or 'the pipeline'}), or delete {out} first to "
                     "replace that build")


# what a build writes in the build folder, and in each sources/<source>/ folder (README "Build folder")
_BUILD_SCAFFOLD = frozenset({".lock", ".cache", "build.log", PIPELINE_MARKER})
SOURCE_ENTRIES = frozenset({".build_key", "data", "ledger.json", "ledger.tmp", "logs", "recipe.resolved.json",
                            "removed", "work"})


def _disk_full_error(out: Path, source: str | None, err: OSError) -> BuildError:
    """rv57: a full disk (``err``, from :func:`~.errors.disk_full`) failed every later source as "a defect, please
    report it", and the manifest's write then ended the command on a traceback. Nothing later can be written either:
    the build stops, and says how to go on."""
    import errno

    what = "the disk quota is exceeded" if getattr(err, "errno", None) == errno.EDQUOT else "no space is left"
    where = f" ({err.filename})" if getattr(err, "filename", None) else ""
    return BuildError(f"{what} on the file system of {out}{where}" + (f", while building source {source!r}" if source
                      else ", while writing the manifest") + ": free space there (or build into another folder with "
                      "--output), then rerun the same command: finished sources and tasks are kept, and no shard "
                      "written in part is trusted")


def _some(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def check_folder_is_ours(out: Path, sources: list) -> None:
    """Refuse, before any work, a folder a build would delete or overwrite files in that no build wrote. rv58: `build
    --output .` in a project keeping its recipe in `sources/eltec_fr/` deleted that folder, recipe and notes with it
    (a source folder is replaced whole when rebuilt), and an unrelated `manifest.json` was overwritten. An existing
    folder is a build folder when it holds `.pipeline`, a build's manifest.json or a source folder's `.build_key` (or
    nothing but the lock, cache and log a build writes first); a source folder of it may hold only what a build writes
    there."""
    try:
        entries = sorted(os.listdir(out))
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise InputError(f"{out} is a file, not a folder: build into a folder (--output, or `output_dir:` in the "
                         "pipeline)") from None
    except OSError:
        return  # (unreadable: the lock says so with the fix)
    others = [e for e in entries if e not in _BUILD_SCAFFOLD]
    if others and not ((out / PIPELINE_MARKER).is_file() or is_build_manifest(out / "manifest.json")
                       or any((out / "sources").glob("*/.build_key"))):  # (a build stopped before `.pipeline` was)
        raise InputError(f"{out} is not a lucie-data build folder: it holds {_some(others)}, but no .pipeline file and no "
                         "manifest.json written by a build. A build writes manifest.json there and replaces "
                         "sources/<source>/ folders whole, which would delete or overwrite what is there. Build into a "
                         "new or empty folder (--output, or `output_dir:` in the pipeline)")
    foreign = []
    for src in sources:
        try:
            # (hidden files, `.DS_Store`, `._x`, `.nfs…`, are the system's, not a user's work: replaced with the rest; rv60)
            extra = sorted(e for e in set(os.listdir(out / "sources" / src.name)) - SOURCE_ENTRIES
                           if not e.startswith("."))
        except OSError:
            continue
        foreign += [f"sources/{src.name}/{e}" for e in extra]
    if foreign:
        raise InputError(f"{out} holds {_some(foreign)}, which no build wrote: a source folder is replaced whole when its "
                         "source is rebuilt, so these would be deleted. Move them out of the build folder (a mix: "
                         "`mix build --output` outside sources/), then build again")


def build(pipe: LoadedPipeline, output: Path | None = None, workers: int | None = None,
          only: list[str] | None = None, on_event: Callable[[str, dict], None] = lambda e, d: None) -> BuildResult:
    out = Path(output).resolve() if output else pipe.output_dir
    from .recipe import require_utf8_path

    require_utf8_path(out, "build folder")
    check_folder_pipeline(out, pipe)  # before any work
    sources = pipe.sources
    if only:
        names = {s.name for s in sources}
        unknown = [o for o in only if o not in names]
        if unknown:
            raise InputError(f"--only: unknown source(s) {', '.join(unknown)}; available: {', '.join(sorted(names))}")
        sources = [s for s in sources if s.name in only]
    check_folder_is_ours(out, sources)
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock_build_folder(out)
    try:
        (out / PIPELINE_MARKER).write_text(pipe.recipe.name + "\n", encoding="utf-8")
        return _build(pipe, out, sources, workers, only, on_event)
    except KeyboardInterrupt:
        # Released now when nothing of this build runs any more: the local executor's worker processes are killed and
        # reaped before the interrupt gets here (run_with_progress), so a rerun started as soon as the command says
        # "rerun the same command to resume" is not refused (review: refused while the task processes ran on).
        # Kept while an executor could not be stopped so (tasks in this process, Ray; review: released on Ctrl-C while
        # task processes still wrote shards for ~0.3 s): the kernel drops it with the process, or the next build of
        # this folder in this process takes it over once that executor has ended (the API: build() again)
        if lock is not None and _executors_left():
            lock.interrupted = True
            lock = None
        raise
    finally:
        if lock is not None:
            lock.release()


@dataclass
class _FolderLock:
    """A build folder's ``flock`` held by this process: while its build runs, and after a Ctrl-C (``interrupted``)
    until this process exits or builds that folder again. Every one is closed in forked children."""
    folder: str
    fd: int
    interrupted: bool = False

    def release(self) -> None:
        from .locks import release

        _LOCKS.pop(self.folder, None)
        release(self.fd)  # (no holder named once released)


_LOCKS: dict[str, _FolderLock] = {}  # folder -> the lock this process holds on it


def _close_lock_in_child() -> None:
    """In a process forked while a build holds its folder's lock (datatrove's Manager, fork-mode tasks): its copy of
    the descriptor is closed, so the lock lives exactly as long as the build's own process (code review: it also
    lived as long as the Manager; the parent's lock is not released by this close)."""
    for lock in _LOCKS.values():
        try:
            os.close(lock.fd)
        except OSError:
            pass
    _LOCKS.clear()


os.register_at_fork(after_in_child=_close_lock_in_child)


def _lock_build_folder(out: Path) -> _FolderLock | None:
    """Hold ``out/.lock`` (``flock``, exclusive) while this build writes ``out``; the lock, to release after.
    Why: two builds into one folder both ran in full, each deleting and writing the other's shards and manifest
    (review). The kernel drops the lock when the process ends, however it ends, so a killed build never leaves a
    stale lock behind (no child keeps a copy: ``_close_lock_in_child``). The file names the holder for the error.
    A file system that cannot lock (Lustre without ``-o flock``, NFS without its lock daemon) builds unprotected,
    with a warning: None."""
    from .locks import LockBusy, acquire

    kept = _LOCKS.get(str(out))
    if kept is not None and kept.interrupted:  # this process's own interrupted build of this folder: over once the
        # executor it left running has ended (told to stop, it starts no task; the one running may write until it ends)
        for ended in list(_EXECUTORS_LEFT):
            ended.wait()
        kept.release()
    try:
        fd = acquire(out / ".lock", str(out))
    except LockBusy as busy:
        raise InputError(f"another lucie-data build is writing {out} ({busy.holder}): wait for it to finish, or "
                         "build into another folder with --output") from None
    except OSError as e:
        raise InputError(f"cannot write in the build folder {out}: {e.strerror or e}; check its permissions, or "
                         "build into another folder with --output") from None
    if fd is None:
        return None
    lock = _LOCKS[str(out)] = _FolderLock(str(out), fd)
    return lock


def _build(pipe: LoadedPipeline, out: Path, sources: list, workers: int | None, only: list[str] | None,
           on_event: Callable[[str, dict], None]) -> BuildResult:
    from .manifest import write_manifest

    if not os.environ.get("LUCIE_VERBOSE"):
        from loguru import logger

        logger.remove()  # datatrove's summaries go to the build log, not the terminal
        logger.add(str(out / "build.log"), level="INFO")
        _BUILD_LOG.update(path=str(out / "build.log"), pid=os.getpid())
    ex = pipe.recipe.executor
    opts = RunOptions(seed=pipe.recipe.seed, tasks=ex.tasks, workers=workers or ex.workers,
                      tokenizer=pipe.recipe.tokenizer, license_policy=pipe.recipe.license_policy,
                      executor=ex.type, ray_address=ex.address, mem_per_cpu_gb=ex.mem_per_cpu_gb)
    from .manifest import token_counter_entry
    from .tokens import split_hub_id

    # what counts n_tokens, resolved once (an unpinned Hub id asks the Hub, or reads the cache): its content, not only
    # its name, decides whether a source's counts are still right, and the manifest records the same entry
    counter = token_counter_entry(opts.tokenizer)
    if opts.tokenizer and not counter.get("sha256"):
        # never build keys without the tokenizer's sha256: every finished source would look out of date and be
        # deleted and rebuilt (a Hub answer lost once; read-through). Loading it says why it cannot be (InputError),
        # else it is in the cache now and resolves.
        _check_tokenizer(opts.tokenizer)
        counter = token_counter_entry(opts.tokenizer)
        if not counter.get("sha256"):
            raise InputError(f"the pipeline's tokenizer {opts.tokenizer!r} loads but its tokenizer.json cannot be "
                             "located to record its sha256; give a local tokenizer.json path")
    if counter.get("sha256"):
        from dataclasses import replace

        # workers look the tokenizer up again: by name, an unpinned Hub id (or a branch or tag) could resolve to
        # another commit than the one recorded if the repository moved during the build (rule 4; read-through)
        pinned = f"{split_hub_id(opts.tokenizer)[0]}@{counter['commit']}" if counter.get("commit") else None
        opts = replace(opts, tokenizer_sha256=counter["sha256"], counting_tokenizer=pinned)
    result = BuildResult(out, token_counter=counter)
    if only:
        for src in pipe.sources:
            if src.name not in only and (out / "sources" / src.name / "ledger.json").exists():
                recorded = read_build_key(out / "sources" / src.name / ".build_key")
                if recorded != source_build_key(src, opts) and recorded != source_build_key(src, opts, legacy=True):
                    result.stale.append(src.name)
    for src in sources:
        on_event("source_start", {"source": src.name})
        try:
            res = run_source(src, out, opts, on_event)
        except BuildError as err:  # this source only (a field no record has, a failed task): the others are built
            # (new-user review: the first failing source stopped the build, the rest never ran, no manifest)
            if full := disk_full(err.__cause__):
                raise _disk_full_error(out, src.name, full) from None
            result.failed[src.name] = str(err)
            on_event("source_failed", {"source": src.name, "message": str(err)})
            continue
        except InputError:
            raise
        except Exception as err:  # noqa: BLE001 -- a defect (ours or a dependency's) met by this source: the others
            # are built and the manifest written all the same (review: an exception planning a dedup stopped the whole
            # build with a traceback, no manifest); the traceback goes to the build log, not the terminal
            if full := disk_full(err):
                raise _disk_full_error(out, src.name, full) from None
            import traceback

            from loguru import logger

            logger.error(f"source {src.name}: unexpected error\n{traceback.format_exc()}")
            msg = (f"source {src.name!r}: unexpected {type(err).__name__}: {err} (a defect: the traceback is in "
                   f"{out / 'build.log'}; please report it). Rerun the same command to retry this source")
            result.failed[src.name] = msg
            on_event("source_failed", {"source": src.name, "message": msg})
            continue
        result.sources.append(res)
        on_event("source_done", {"source": src.name, "result": res})
    try:
        result.manifest = write_manifest(out, pipe, result)
    except OSError as err:
        if full := disk_full(err):
            raise _disk_full_error(out, None, full) from None
        raise
    if result.failed:
        others = "the others were built" if result.sources else "no source was built"  # (review: said when none was)
        raise BuildError(f"{len(result.failed)} source(s) failed, {others}; fix each and rerun the same "
                         "command (finished sources are skipped): "
                         + "; ".join(result.failed.values()), result=result)
    return result
