"""An exclusive ``flock`` on a lock file, naming its holder: one writer per build folder and per mix folder.

The kernel drops the lock when the process ends, however it ends, so a killed process never leaves a stale lock.
A file system that cannot lock (Lustre without ``-o flock``, NFS without its lock daemon) is warned about and
written unprotected.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


class LockBusy(Exception):
    """Another process holds the lock; ``holder`` is what it wrote in the file (its pid and start time)."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


def acquire(path: Path, what: str) -> int | None:
    """Take ``path``'s lock without waiting: its open descriptor (close it to release), None where the file system
    cannot lock (warned, naming ``what``). Raises :class:`LockBusy` when another process holds it, OSError when the
    file cannot be opened."""
    import datetime
    import errno
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            os.close(fd)
            print(f"warning: {what} cannot be locked ({e.strerror or e}: its file system does not support flock), so "
                  "nothing stops a second process from writing it at the same time", file=sys.stderr)
            return None
        holder = os.read(fd, 300).decode("utf-8", "replace").strip()
        os.close(fd)
        raise LockBusy(holder or "its process is unknown") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}, started {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}".encode())
    return fd


def release(fd: int) -> None:
    """Release a lock :func:`acquire` took (the holder's name is cleared first)."""
    try:
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def holder(path: Path) -> str | None:
    """Who holds ``path``'s lock when another process holds it (what it wrote in the file, or its pid), else None;
    for a reader that must not start on a folder being written (``report`` during a build). Read from
    ``/proc/locks`` rather than by trying the lock, which for that instant would refuse the writer its own; None
    where there is no ``/proc/locks`` (not Linux)."""
    try:
        st = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            table = f.read().splitlines()
    except OSError:
        return None
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in table:
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF" (a blocked waiter's line starts "1: ->")
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == dev and parts[4] != str(os.getpid()):
            try:
                said = Path(path).read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                said = ""
            return said or f"pid {parts[4]}"
    return None
