"""rv57 (operations review): lucie-data run unattended, by exit codes and messages."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lucie_data.cli import main

ROOT = Path(__file__).resolve().parents[1]
PUD = ROOT / "sources" / "demo" / "pud_en.yaml"


def test_trace_while_a_build_writes_the_folder_says_so(tmp_path, capsys):
    """Mid-rebuild, `trace` called the build damaged and said to delete the source folder the build was writing; as
    `report` and `mix build` do, it now refuses while the build's lock is held, naming the holder."""
    out = tmp_path / "out"
    assert main(["build", str(PUD), "--output", str(out)]) == 0
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, time\n"
        f"fd = os.open({str(out / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nos.write(fd, b'pid %d, started now' % os.getpid())\n"
        "print('locked', flush=True)\ntime.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        capsys.readouterr()
        assert main(["trace", str(out), "pud_en/en-pud-n01001"]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"a lucie-data build is writing {out} right now (pid {holder.pid}" in err and "damaged" not in err
    finally:
        holder.kill()
        holder.wait()
    assert main(["trace", str(out), "pud_en/en-pud-n01001"]) == 0
    assert "status    KEPT" in capsys.readouterr().out
