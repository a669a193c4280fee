"""Writing a command's own output files whole: never a truncated file, nor a set of files from two runs."""
from __future__ import annotations

import os
from pathlib import Path


def replace_files(texts: dict[Path, str]) -> None:
    """Write each text to its file, all of them or none: every text into a temporary file beside its file first,
    then each renamed over its file (a rename in one folder needs no space). On a failure while writing (a full
    disk, a quota) the temporaries are removed and the files are as they were, then the error is raised.

    rv57 F6: `report` on a full disk replaced provenance.json and .md, then failed on the HTML, leaving its truncated
    `.tmp` and an earlier run's HTML beside them; `mix plan --json F` left F empty (written in place)."""
    tmps: list[Path] = []
    try:
        for path, text in texts.items():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # (hidden, and one per run: two runs at once)
            tmps.append(tmp)
            with open(tmp, "w", encoding="utf-8") as f:  # (the close's flush can fail too: inside the try)
                f.write(text)
        for path, tmp in zip(texts, tmps):
            os.replace(tmp, path)
    except BaseException:  # an OSError, or Ctrl-C / SIGTERM on the way: nothing half-written stays
        for tmp in tmps:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        raise
