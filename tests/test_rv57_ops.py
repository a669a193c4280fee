"""rv57 (operations review): lucie-data run unattended, by exit codes and messages."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lucie_data.cli import main

from .conftest import fill

ROOT = Path(__file__).resolve().parents[1]
PUD = ROOT / "sources" / "demo" / "pud_en.yaml"


def test_trace_while_a_build_writes_the_folder_says_so(tmp_path, capsys, hold_lock):
    """Mid-rebuild, `trace` called the build damaged and said to delete the source folder the build was writing; as
    `report` and `mix build` do, it now refuses while the build's lock is held, naming the holder."""
    out = tmp_path / "out"
    assert main(["build", str(PUD), "--output", str(out)]) == 0
    holder = hold_lock(out)
    capsys.readouterr()
    assert main(["trace", str(out), "pud_en/en-pud-n01001"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"a lucie-data build is writing {out} right now (pid {holder.pid}" in err and "damaged" not in err
    holder.kill()
    holder.wait()
    assert main(["trace", str(out), "pud_en/en-pud-n01001"]) == 0
    assert "status    KEPT" in capsys.readouterr().out


WRAPPER = "print('wrapper: start'); import sys; from lucie_data.cli import main; sys.exit(main())"


@pytest.mark.parametrize(("entry", "folder"), [(["-m", "lucie_data"], "déjà vu"), (["lucie-data"], "été"),
                                               (["-W", "ignore", "-c", WRAPPER], "plain")])
def test_a_build_under_a_locale_that_is_not_utf8_runs_in_utf8(tmp_path, entry, folder):
    """Under a non-UTF-8 locale (`LANG=en_US.ISO-8859-1`; here the C locale with Python's coercion and UTF-8 mode
    off, which reads ASCII) `build` stopped on a UnicodeEncodeError traceback at its first line (`→`), and with
    PYTHONIOENCODING=utf-8 every source failed writing datatrove's task logs. lucie-data's own program starts again
    in UTF-8 mode, with its command line as given (rv60), and a non-ASCII output path keeps its bytes; a user's
    program calling main() is not started again, which would run its own code twice (rv61), and runs in UTF-8 as far
    as it can (its output, the files it opens)."""
    import os

    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    env.pop("LUCIE_DATA_NO_UTF8_REEXEC", None)
    probe = subprocess.run([sys.executable, "-c", "import locale; print(locale.getpreferredencoding(False))"],
                           env=env, capture_output=True, text=True)
    assert probe.stdout.strip().lower() not in ("utf-8", "utf8"), probe.stdout  # (the setting does what it says)
    out = tmp_path / folder
    # (`lucie-data`: the script pip installs beside the interpreter)
    command = [str(Path(sys.executable).parent / "lucie-data")] if entry == ["lucie-data"] else [sys.executable, *entry]
    run = subprocess.run([*command, "build", str(PUD), "--output", str(out), "--workers", "1"], env=env,
                         capture_output=True)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in run.stderr and "→".encode() in run.stdout
    assert run.stdout.count(b"wrapper: start") == (1 if "-c" in entry else 0)
    assert (out / "manifest.json").is_file() and (out / "sources" / "pud_en" / "ledger.json").is_file()


def test_a_full_disk_stops_the_build_with_one_clear_line_and_the_rerun_finishes(tmpfs, tmp_path, capsys):
    """rv57: every later source failed as "a defect, please report it", stderr filled with tracebacks, the manifest's
    write ended the command on one, and `.cache/sha256.json` was left empty. Now: one `error:` line, exit 1; freed,
    the rerun builds what the clean build builds."""
    small_disk = tmpfs("3m")
    filler = fill(small_disk, 300)
    out = small_disk / "b"
    assert main(["build", str(ROOT / "pipelines" / "demo.yaml"), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "error: no space is left on the file system of" in err and "then rerun the same command" in err
    assert "Traceback" not in err and "a defect" not in err
    assert not (out / ".cache" / "sha256.json").exists() or (out / ".cache" / "sha256.json").stat().st_size
    filler.unlink()
    assert main(["build", str(ROOT / "pipelines" / "demo.yaml"), "--output", str(out)]) == 0
    clean = tmp_path / "clean"
    assert main(["build", str(ROOT / "pipelines" / "demo.yaml"), "--output", str(clean)]) == 0
    from .test_build import shard_hashes

    assert shard_hashes(out) == shard_hashes(clean)


def test_a_full_disk_during_mix_build_is_one_clear_line_and_leaves_nothing(tmpfs, tmp_path, capsys):
    """rv57: a traceback and exit 1 (the code of a failed licence check), and the half-written mix left on the disk."""
    build_dir = tmp_path / "b"
    assert main(["build", str(ROOT / "pipelines" / "demo.yaml"), "--output", str(build_dir)]) == 0
    small_disk = tmpfs("3m")
    fill(small_disk, 600)
    capsys.readouterr()
    assert main(["mix", "build", str(build_dir), "--output", str(small_disk / "m")]) == 2
    err = capsys.readouterr().err
    assert f"no space is left on the file system of {small_disk / 'm'}: the mix was not written" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in small_disk.iterdir()) == [".m.lock", "filler"]


def test_an_output_folder_whose_name_is_not_utf8_is_refused_before_any_work(tmp_path):
    """rv60: `--output café_out` typed in a Latin-1 terminal (its é the byte 0xE9): every source failed as "a
    defect", then the manifest's write ended on a traceback. Refused now, as an input with such a name is, for the
    build, the report and the mix folders alike; nothing is made."""
    import os

    name = os.path.join(os.fsencode(tmp_path), b"caf\xe9_out")
    build_dir = tmp_path / "b"
    assert main(["build", str(PUD), "--output", str(build_dir)]) == 0
    weights = tmp_path / "w.yaml"
    weights.write_text("factors: {en--web: 1}\n", encoding="utf-8")
    for argv in ([b"build", os.fsencode(PUD), b"--output", name], [b"report", os.fsencode(build_dir), b"--output", name],
                 [b"mix", b"build", os.fsencode(build_dir), b"--weights", os.fsencode(weights), b"--output", name]):
        run = subprocess.run([os.fsencode(sys.executable), b"-m", b"lucie_data", *argv], capture_output=True)
        err = run.stderr.decode("utf-8", "replace")
        assert run.returncode == 2 and "caf\\xe9_out: its name is not UTF-8" in err and "Traceback" not in err, err
        assert not os.path.exists(name)
