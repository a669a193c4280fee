"""Makes the build's worker processes ignore SIGINT and SIGTERM. Imported only by datatrove's forkserver, through
``runner.FORKSERVER_PRELOAD``: never import it anywhere else, or that process stops answering Ctrl-C.

Why: Ctrl-C, or ``timeout -s INT``, signals the whole process group. The main process then stops the build
("interrupted: rerun the same command to resume") and its executor kills the task processes; but a worker interrupted
mid-task also raised KeyboardInterrupt and printed its traceback (rule 3: never a traceback). The forkserver
records its signal handlers after importing its preload and restores them in every process it forks
(multiprocess/forkserver.py ``main`` and ``_serve_one``), so SIGINT ignored here is ignored by every worker,
and by nothing else.
"""
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
# SIGTERM likewise: `scancel`, `kill -TERM -PGID` or a container's stop signal the whole group too, and the main process
# stops the build as for Ctrl-C (interrupts.py); a worker dying of it first made its task fail while the build stopped.
# The workers still end with the build: the main process kills them (SIGKILL), or they die with it (below).
signal.signal(signal.SIGTERM, signal.SIG_IGN)
# the server starts with both blocked (runner.start_forkserver), so a Ctrl-C during its first imports waited; now
# ignored, it is discarded, and the workers this server forks start with the mask clear
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


# A worker being forked while the main process stops (Ctrl-C) cannot unpickle a semaphore of its executor, which the main
# process has just unlinked: the forkserver's child then printed a FileNotFoundError traceback from
# multiprocess/synchronize.py ``__setstate__`` after "interrupted: rerun …" (review: 2 of ~11 interrupts). That
# error, and only that one, means the build is already stopping: it is not printed. Everything else still is.
import sys  # noqa: E402

_default_hook = sys.excepthook


def _quiet_when_stopping(kind, value, tb):
    frames, t = [], tb
    while t is not None:
        frames.append((t.tb_frame.f_code.co_filename, t.tb_frame.f_code.co_name))
        t = t.tb_next
    if issubclass(kind, FileNotFoundError) and any(f.endswith("synchronize.py") and n == "__setstate__"
                                                   for f, n in frames):
        return
    _default_hook(kind, value, tb)


sys.excepthook = _quiet_when_stopping


# Dying with the build (Linux; review 10). `kill -9` of the main process alone (not its group) left the forkserver,
# the resource tracker and datatrove's Manager alive for good, re-parented to PID 1: nothing in the Manager
# (forked from the main process) watches its parent, and as a fork it holds the write ends of the forkserver's
# "alive" pipe and of the resource tracker's pipe, so neither ever read the EOF that stops them. A worker, for
# its part, ran its task to the end (minutes of CPU, writing output a rerun may be writing too) before a broken
# pipe stopped it with a traceback. Here, in the forkserver: the kernel kills it when the main process dies
# (PR_SET_PDEATHSIG), and every process it forks (the workers) when it dies; runner.start_forkserver does the
# same for the processes the main process forks (the Manager). The resource tracker is left alone: it exits by
# itself, cleaning what the dead processes left, once the last of them has closed its pipe.
import contextlib
import os

from lucie_data._pdeathsig import die_with_parent, forks_die_with_this_process, libc_prctl


def _arm() -> None:
    prctl = libc_prctl()
    if prctl is None:
        return
    # the main process's pid, set by runner.start_forkserver only while it starts this server from its main thread
    # (the signal follows the thread that forked: a thread that ends would take the server with it)
    parent = os.environ.pop("LUCIE_FORKSERVER_PARENT", "")
    if parent.isdigit():
        die_with_parent(prctl, int(parent))
    forks_die_with_this_process(prctl)


with contextlib.suppress(Exception):  # never stop the forkserver from starting over this
    _arm()
