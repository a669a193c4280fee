"""Writing a command's own output files whole: never a truncated file, nor a set of files from two runs."""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path


def stdout_is_product() -> None:
    """Say that what the command writes to stdout is its product, not a log: its loss is then the command's error
    (stdout_lost below), not the warning cli._ReaderMayGo gives for lost messages (rv60 F9: one error line)."""
    if hasattr(sys.stdout, "product"):
        sys.stdout.product = True


def stdout_lost() -> OSError | None:
    """The error that lost what was written to stdout (cli._ReaderMayGo, which carries on after it), None when all
    was written or the reader had enough (`| head`, BrokenPipeError: no failure). Flushes stdout first."""
    sys.stdout.flush()
    lost = getattr(sys.stdout, "lost", None)
    return None if lost is None or isinstance(lost, BrokenPipeError) else lost


def check_stdout_written(what: str) -> None:
    """Raise OutputError (exit 2) when ``what``, the command's product on stdout, was lost (ENOSPC, EIO). rv60 F9:
    `trace --json` and `schema` into /dev/full exited 0, as `mix plan --json -` did before 6e70f53, so
    `schema > s.json && use s.json` went on with an empty file."""
    lost = stdout_lost()
    if lost is not None:
        from .errors import OutputError

        raise OutputError(f"cannot write {what} to the standard output ({lost.strerror or lost}): redirect it to a "
                          "writable file")


def replace_files(texts: dict[Path, str]) -> None:
    """Write each text to its file, all of them or none: every text into a temporary file beside its file first,
    then each renamed over its file (a rename in one folder needs no space). On a failure while writing (a full
    disk, a quota) the temporaries are removed and the files are as they were, then the error is raised.

    rv57 F6: `report` on a full disk replaced provenance.json and .md, then failed on the HTML, leaving its truncated
    `.tmp` and an earlier run's HTML beside them; `mix plan --json F` left F empty (written in place).

    Only a regular file, or a path where nothing is yet, is replaced so; anything else (a symlink, a FIFO, a device,
    `/dev/fd/N`, `/dev/stdout`) is written in place through its path, as before rv57 F6. rv60 F4: the rename made
    `--json >(jq .)` fail, replaced a symlinked `--json link.json` by a file, and as root would have replaced the
    `/dev/stdout` link itself. A replaced file keeps its mode (rv60 F4: it lost it)."""
    replaced, in_place = [], []
    for path, text in texts.items():
        target = _link_target(path)
        if target is not None and os.access(target.parent, os.W_OK):  # a symlink to a regular file: that file
            replaced.append((target, text))  # replaced, the link kept (rv61 N4: written in place, a full disk left it
            # a 4 KiB fragment); in a folder this user cannot write, in place as before (rv62)
        elif target is not None:
            in_place.append((path, text))
        elif _replaceable(path):
            replaced.append((path, text))
        else:
            in_place.append((path, text))
    temps: list[tuple[Path, int]] = []  # (temporary, its open descriptor, holding its lock until renamed)
    try:
        for path, text in replaced:
            temps.append((_temp_name(path), _open_temp(path)))
            _write_all(temps[-1][1], text.encode("utf-8"))
            os.fsync(temps[-1][1])  # (an NFS write error may come only now; and the rename must not outrun the data)
        for path, text in in_place:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        for (path, _), (tmp, _) in zip(replaced, temps):
            os.replace(tmp, path)
    except BaseException:  # an OSError, or Ctrl-C / SIGTERM on the way: nothing half-written stays
        for tmp, _ in temps:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        raise
    finally:
        for _, fd in temps:
            os.close(fd)


def _link_target(path: Path) -> Path | None:
    """The regular file a symlink ``path`` leads to, or None (not a link, or one to something else: a FIFO, a device,
    `/dev/stdout`, or nothing yet, which is written in place through the link)."""
    if not os.path.islink(path):
        return None
    real = Path(os.path.realpath(path))
    try:
        return real if stat.S_ISREG(os.lstat(real).st_mode) else None
    except OSError:
        return None


def _replaceable(path: Path) -> bool:
    """Whether ``path`` is a regular file (not a symlink to one) or nothing yet, which a rename may replace."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True


def _temp_name(path: Path) -> Path:
    """The one temporary name of ``path``: hidden, and the same in every run, so a later run takes over the leftover
    of a killed one (rv60 F4: with the pid in the name, `.F.<pid>.tmp` files piled up)."""
    return path.with_name(f".{path.name}.lucie-tmp")


def _open_temp(path: Path) -> int:
    """A descriptor of a new, empty temporary file for ``path``, locked (flock) until closed, with ``path``'s mode
    when it exists. A leftover of a killed run is removed (its lock died with it); a run writing the same file at this
    moment is waited for (two runs writing one temporary would interleave their texts), then its place is taken."""
    tmp = _temp_name(path)
    while True:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)  # (the umask applies)
        except FileExistsError:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # (renamed or removed by its run meanwhile)
                continue
            _lock(fd)  # (its run done or dead)
            if _still_named(fd, tmp):  # not renamed over its file: a leftover, removed
                os.unlink(tmp)
            os.close(fd)
            continue
        _lock(fd)
        if not _still_named(fd, tmp):  # (another run took it for a leftover before the lock: again)
            os.close(fd)
            continue
        try:
            os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
        except FileNotFoundError:
            pass
        except BaseException:
            os.unlink(tmp)
            os.close(fd)
            raise
        return fd


def _lock(fd: int) -> None:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # a file system without locks: on as if no other run wrote the same file at once
        pass


def _still_named(fd: int, name: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(name))
    except FileNotFoundError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
