"""rv60 (code review): mix plan's and report's output files are replaced whole only where a rename may replace them
(F4); a command whose product is its stdout fails when stdout cannot be written (F9)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from .conftest import SHARED, write


@pytest.fixture
def plan(tmp_path, monkeypatch):
    """Run `mix plan --json PATH` (Lucie's bundled composition) in tmp_path; the JSON it writes to a plain file."""
    from lucie_data.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["mix", "plan", "--json", str(tmp_path / "expected.json")]) == 0
    expected = (tmp_path / "expected.json").read_text(encoding="utf-8")
    (tmp_path / "expected.json").unlink()
    assert len(expected.encode()) < 60_000  # (the pipes below hold it whole: no reader thread needed)

    def run(path) -> str:
        assert main(["mix", "plan", "--json", str(path)]) == 0
        return expected
    return run


def test_mix_plan_json_through_a_symlink_writes_its_target(plan, tmp_path):
    """rv60 F4: `--json link.json` (link.json → real.json) replaced the link by a regular file, real.json untouched."""
    (tmp_path / "real.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "link.json").symlink_to("real.json")
    expected = plan(tmp_path / "link.json")
    assert (tmp_path / "link.json").is_symlink() and os.readlink(tmp_path / "link.json") == "real.json"
    assert (tmp_path / "real.json").read_text(encoding="utf-8") == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


def test_mix_plan_json_into_a_fifo_and_dev_fd(plan, tmp_path):
    """rv60 F4: `--json >(jq .)` (a pipe's /dev/fd/N) failed "No such file or directory", and a FIFO was replaced
    by a regular file: both are written in place, as before rv57 F6."""
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # (a reader there: the plan's open of the FIFO goes on)
    try:
        expected = plan(fifo)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert _read_all(reader) == expected.encode()
    finally:
        os.close(reader)
    assert [p.name for p in tmp_path.iterdir()] == ["plan.fifo"]

    r, w = os.pipe()
    try:
        expected = plan(f"/dev/fd/{w}")
        os.close(w)
        w = None
        assert _read_all(r) == expected.encode()
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:  # (nothing written, the writer still open: what there is)
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_mix_plan_json_keeps_the_file_mode_and_takes_over_a_killed_runs_temporary(plan, tmp_path):
    """rv60 F4: the replaced file lost its mode (0600 became 0644), and a run killed mid-write left a hidden
    temporary no later run removed (the pid was in its name)."""
    out = tmp_path / "plan.json"
    out.write_text("an earlier plan\n", encoding="utf-8")
    out.chmod(0o600)
    (tmp_path / ".plan.json.lucie-tmp").write_text('{"half": "a killed run', encoding="utf-8")
    expected = plan(out)
    assert out.read_text(encoding="utf-8") == expected
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def _run(argv, stdout, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lucie_data.cli", *map(str, argv)], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, cwd=cwd, timeout=600)


@pytest.fixture
def traced(tmp_path):
    """A one-source build of two ELTeC chapters (CC-BY-4.0, shared corpora), and the `trace` of its first one."""
    from lucie_data.cli import main

    with open(SHARED / "fr_eltec_novels.jsonl", encoding="utf-8") as f:
        records = [json.loads(next(f)) for _ in range(2)]
    write(tmp_path / "s.jsonl", "".join(json.dumps({"id": f"ch{i}", "text": r["text"]}) + "\n"
                                        for i, r in enumerate(records)))
    write(tmp_path / "s.yaml", "name: s\ncategory: book\nlanguages: [fr]\nlicense: CC-BY-4.0\n"
          "input: {type: jsonl, paths: [s.jsonl]}\n")
    assert main(["build", str(tmp_path / "s.yaml"), "--output", str(tmp_path / "out")]) == 0
    return ["trace", tmp_path / "out", "s/ch0"]


@pytest.mark.parametrize("json_too", [True, False])
def test_a_command_whose_product_is_its_stdout_fails_when_stdout_cannot_be_written(traced, json_too, tmp_path):
    """rv60 F9: `trace --json` and `schema` into /dev/full exited 0 (only the warning for lost messages on stderr),
    so `trace … --json > out.json && use out.json` went on with an empty file; `stages` too: the three print all
    they give, as `mix plan --json -` does (6e70f53). Exit 2 with one error line; a reader gone stays exit 0."""
    commands = [[*traced, "--json"] if json_too else traced, ["schema"], ["stages"]]
    for argv, what in zip(commands, ("the lineage", "the schema", "the stage list")):
        with open("/dev/full", "w") as full:
            p = _run(argv, full, tmp_path)
        assert p.returncode == 2, (argv, p.stderr)
        assert p.stderr == (f"error: cannot write {what} to the standard output (No space left on device): "
                            "redirect it to a writable file\n"), argv

        r, w = os.pipe()
        os.close(r)  # (`| head` done before it began: every write is EPIPE)
        try:
            p = _run(argv, w, tmp_path)
        finally:
            os.close(w)
        assert p.returncode == 0 and p.stderr == "", (argv, p.stderr)


def test_mix_plan_json_dash_into_a_full_stdout_says_one_error(tmp_path):
    """rv60 F9: besides its error, `mix plan --json -` said the warning for lost messages ("the command carries
    on … to keep its messages"), which the plan's loss is not."""
    with open("/dev/full", "w") as full:
        p = _run(["mix", "plan", "--json", "-"], full, tmp_path)
    assert p.returncode == 2
    assert "error: --json -: cannot write the plan to the standard output (No space left on device)" in p.stderr
    assert "warning" not in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_mix_plan_refuses_two_outputs_in_one_file_and_takes_dev_stdout_as_stdout(tmp_path, monkeypatch, capsys):
    """rv61: `--json F --markdown F` wrote F twice (the Markdown last) with exit 0, and `--json /dev/stdout > out.json`
    mixed the tables and "wrote" lines into the JSON (the file opened anew at offset 0)."""
    from lucie_data.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["mix", "plan", "--json", "p.out", "--markdown", "./p.out"]) == 2
    err = capsys.readouterr().err
    assert "--json and --markdown both name p.out, which can hold only one of them" in err
    assert not (tmp_path / "p.out").exists()
    assert main(["mix", "plan", "--json", "/dev/stdout"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out)["total_tokens_seen"] == 3_121_744_220_736 and "Mix plan" in got.err


def test_mix_plan_outputs_naming_one_file_through_a_link_are_refused_and_dev_fd_1_is_stdout(tmp_path, monkeypatch,
                                                                                             capsys):
    """rv62: a dangling link to the other output got past the same-file check (the Markdown overwrote the JSON, exit
    0), and `--json /dev/fd/1 > f` lost the tables."""
    from lucie_data.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "alias.md").symlink_to("plan.json")  # (nothing there yet)
    assert main(["mix", "plan", "--json", "plan.json", "--markdown", "alias.md"]) == 2
    assert "--json and --markdown both name plan.json" in capsys.readouterr().err
    assert main(["mix", "plan", "--json", "/dev/fd/1"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out)["total_tokens_seen"] == 3_121_744_220_736 and "Mix plan" in got.err


def test_an_installers_lucie_data_script_of_another_template_starts_again_in_utf8(tmp_path):
    """rv62: uv's script (another template than pip's) was not taken for lucie-data's own: under a non-UTF-8 locale it
    ran on in the fallback, which refused an output folder named `été`."""
    script = tmp_path / "bin" / "lucie-data"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\n# -*- coding: utf-8 -*-\nimport sys\nfrom lucie_data.cli import main\n"
                      "if __name__ == \"__main__\":\n    if sys.argv[0].endswith(\"-script.pyw\"):\n"
                      "        sys.argv[0] = sys.argv[0][:-11]\n    sys.exit(main())\n", encoding="utf-8")
    script.chmod(0o755)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    env.pop("LUCIE_DATA_NO_UTF8_REEXEC", None)
    recipe = os.path.join(os.path.dirname(__file__), "..", "sources", "demo", "pud_en.yaml")
    run = subprocess.run([str(script), "build", recipe, "--output", str(tmp_path / "été"), "--workers", "1"], env=env,
                         capture_output=True)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    assert (tmp_path / "été" / "manifest.json").is_file()
