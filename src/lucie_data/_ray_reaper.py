"""Stops what a build's local Ray cluster left behind when the build died without shutting Ray down (`kill -9`, the
out-of-memory killer): ``python -m lucie_data._ray_reaper OWNER_PID TOKEN``, started by runner.ensure_ray.

Why: Ray's GCS, raylet and workers die with the driver, but its DashboardAgent and RuntimeEnvAgent logged "Raylet is
dead! Exiting" and lived on under PID 1, ~210 MB between them, one pair per killed build (Ray 2.60, 2026-11-28).

The processes ``ray.init`` starts (the GCS, the raylet) inherit ``LUCIE_DATA_RAY_OWNER=TOKEN`` from the build, whose
environment holds it only while ``ray.init`` runs (left there, every later child of a notebook or script that ran a
build carried it, and was killed at that process's exit: code review); this process, in a session of its own (a Ctrl-C to the build's process group does not stop it first), notes every
2 s the processes below those (the agents set a process title, which overwrites their environment, so they are
found as the raylet's children), waits until the build is gone, then ends them all: SIGTERM, then SIGKILL for what
is still there a few seconds later (a noted pid only while it has the same start time: pids are reused). Polling the parent rather than PR_SET_PDEATHSIG: that signal follows the thread that started this
process, and a build run from a thread would have its cluster stopped when that thread ended. Linux only (/proc).
"""
from __future__ import annotations

import os
import signal
import sys
import time

ENV = "LUCIE_DATA_RAY_OWNER"


def carrying(token: str) -> list[int]:
    """Pids of the processes whose environment holds ``ENV=token`` (not this one)."""
    entry = f"{ENV}={token}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                if entry in fh.read().split(b"\0"):
                    found.append(int(name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19])  # ppid, starttime (proc(5): fields 4 and 22)


def descendants(roots: list[int]) -> dict[int, int]:
    """{pid: start time} of every live process below ``roots`` (Ray's agents: their environment cannot be read, the
    title they set overwrote it, so they are found as children of the raylet, which carries the token)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _stat(int(name))) is not None:
            children.setdefault(st[0], []).append(int(name))
            starts[int(name)] = st[1]
    out: dict[int, int] = {}
    todo = list(roots)
    while todo:
        for kid in children.get(todo.pop(), []):
            if kid not in out and kid in starts:
                out[kid] = starts[kid]
                todo.append(kid)
    return out


def reap(token: str, known: dict[int, int] | None = None, grace: float = 3.0) -> list[int]:
    """End every process carrying ``token``, and those of ``known`` ({pid: start time}, seen below them while the
    build lived) still running with the same start time (not another process given a reused pid); the pids
    signalled."""
    def targets() -> list[int]:
        alive = [p for p, start in (known or {}).items() if (st := _stat(p)) is not None and st[1] == start]
        return sorted(set(carrying(token)) | set(alive))

    pids = targets()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        left = set(targets())
        pids = [p for p in pids if p in left]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


def main(argv: list[str]) -> int:
    owner, token = int(argv[0]), argv[1]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    known: dict[int, int] = {}
    seen = False  # the cluster has been seen running
    tick = 0
    while os.getppid() == owner:
        if tick % 4 == 0:  # every 2 s: the cluster's processes and what they started (agents, workers)
            carriers = carrying(token)
            known = {p: t for p, t in known.items() if (st := _stat(p)) is not None and st[1] == t}
            known.update(descendants(carriers))
            if carriers:
                seen = True
            elif seen and not known:  # the cluster stopped (ray.shutdown) and left nothing: nothing to watch
                return 0  # (review: a notebook kept one reaper per build, each scanning /proc every 2 s)
        tick += 1
        time.sleep(0.5)
    reap(token, known)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
