"""Dying with the build (Linux): processes the build starts get PR_SET_PDEATHSIG, so `kill -9` of the main process
alone takes them with it (review 10: the forkserver, the resource tracker and datatrove's Manager lived on under
PID 1). No import side effects: imported by ``_worker_signals`` (the forkserver's preload) and by ``runner``."""
from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def libc_prctl():
    """libc's ``prctl``, or None where there is none (not Linux: macOS keeps the old behaviour)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None


def die_with_parent(prctl, parent: int) -> None:
    """Have the kernel SIGKILL this process when the thread that forked it dies; if its parent ``parent`` already
    has (this process was re-parented before the call: the race the check closes), exit now."""
    if prctl is None or prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return
    if os.getppid() != parent:
        os._exit(1)


def forks_die_with_this_process(prctl) -> None:
    """Every process forked from now on calls :func:`die_with_parent` with this one as its parent."""
    forker = [0]

    def before() -> None:
        forker[0] = os.getpid()

    def after_in_child() -> None:
        die_with_parent(prctl, forker[0])

    os.register_at_fork(before=before, after_in_child=after_in_child)
