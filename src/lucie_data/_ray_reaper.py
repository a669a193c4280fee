"""Stops what a build's local Ray cluster left behind when the build died without shutting Ray down (`kill -9`, the
out-of-memory killer): ``python -m lucie_data._ray_reaper OWNER_PID TOKEN``, started by runner.ensure_ray.

Why: Ray's GCS, raylet and workers die with the driver, but its DashboardAgent and RuntimeEnvAgent logged "Raylet is
dead! Exiting" and lived on under PID 1, ~210 MB between them, one pair per killed build (Ray 2.60, 2026-11-28).

Every process of the local cluster inherits ``LUCIE_DATA_RAY_OWNER=TOKEN`` from the build (set before ``ray.init``);
this process, in a session of its own (a Ctrl-C to the build's process group does not stop it first), waits until
the build is gone, then ends every process whose environment carries the token: SIGTERM, then SIGKILL for what is
still there a few seconds later. The build's other children carry the token too; they die with the build anyway
(_pdeathsig). Polling the parent rather than PR_SET_PDEATHSIG: that signal follows the thread that started this
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


def reap(token: str, grace: float = 3.0) -> list[int]:
    """End every process carrying ``token``; the pids signalled."""
    pids = carrying(token)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = [p for p in pids if p in carrying(token)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


def main(argv: list[str]) -> int:
    owner, token = int(argv[0]), argv[1]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while os.getppid() == owner:
        time.sleep(0.5)
    reap(token)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
