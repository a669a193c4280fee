"""Makes the build's worker processes ignore SIGINT. Imported only by datatrove's forkserver, through
``runner.FORKSERVER_PRELOAD``: never import it anywhere else, or that process stops answering Ctrl-C.

Why: Ctrl-C, or ``timeout -s INT``, signals the whole process group. The main process then stops the build
("interrupted: rerun the same command to resume") and its pool terminates the workers; but a worker interrupted
mid-task also raised KeyboardInterrupt and printed its traceback (rule 3: never a traceback). The forkserver
records its signal handlers after importing its preload and restores them in every process it forks
(multiprocess/forkserver.py ``main`` and ``_serve_one``), so SIGINT ignored here is ignored by every worker,
and by nothing else.
"""
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)


# A worker being forked while the main process stops (Ctrl-C) cannot unpickle its pool's semaphore, which the main
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
