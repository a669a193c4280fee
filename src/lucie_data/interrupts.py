"""How a command stops: Ctrl-C (SIGINT) and SIGTERM (`kill PID`, `timeout`, Slurm's time limit and `scancel`,
`docker stop`, systemd) alike.

The first one raises KeyboardInterrupt in the main thread: the command stops its work, keeps what is finished, says
how to resume and exits 128 + the signal (130, 143), as a shell reports a process those signals ended. A second one,
while that runs or while the program exits (multiprocess's atexit handler joins its processes), ends the program at
once. What is finished is kept either way (a rerun resumes as after a kill) and the workers end with it (_pdeathsig).

Why SIGTERM too: it is what batch schedulers and `timeout` send first, and Python's default for it is to die on the
spot, so a build stopped by its time limit said nothing and a `mix build` left its `<out>.partial` folder (left
alone in an earlier review, 2026-11-28).

Code that must not be interrupted at an arbitrary point (the mix's writing threads: mix.build._DeferredInterrupt)
takes the first signal at a safe point instead; :func:`raises` tells it whether the handler in force is one it may
defer.
"""
from __future__ import annotations

import os
import signal

__all__ = ["install", "raises", "note", "received", "exit_status", "stopped_by"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
received: list[int] = []  # the stopping signals this process got, in order
_handlers: set = set()  # handlers that raise KeyboardInterrupt for a first signal (see install)


def raises(handler) -> bool:
    """Whether ``handler`` (a signal's handler in force) turns a first signal into KeyboardInterrupt."""
    return handler is signal.default_int_handler or handler in _handlers


def note(signum: int) -> None:
    """A stopping signal taken by a deferring handler: counted as if the command's own handler had got it."""
    received.append(signum)


def exit_status() -> int:
    return 128 + int(received[0] if received else signal.SIGINT)


def stopped_by() -> str:
    """How the stop is told: "interrupted" (Ctrl-C) or "terminated (SIGTERM)"."""
    return "terminated (SIGTERM)" if received and received[0] == signal.SIGTERM else "interrupted"


def install() -> None:
    """The command's handlers, for a signal that still has Python's default (not one ignored: `nohup`, `&`)."""
    owner = os.getpid()

    def on_stop(signum, _frame):
        if os.getpid() != owner:  # a process forked from this one (it inherits the handler): what it did before
            signal.signal(signum, signal.SIG_DFL if signum != signal.SIGINT else signal.default_int_handler)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signum)
            return
        received.append(signum)
        if len(received) == 1:
            raise KeyboardInterrupt
        os.write(2, f"{'terminated' if signum == signal.SIGTERM else 'interrupted'} again: stopped at once; "
                    "rerun the same command to resume\n".encode())
        os._exit(exit_status())

    _handlers.add(on_stop)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_stop)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, on_stop)
