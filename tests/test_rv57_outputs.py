"""rv57 (operations review): a command's outputs on a full volume, or on stdout (`-`)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import fill

ROOT = Path(__file__).resolve().parents[1]
PUD = ROOT / "sources" / "demo" / "pud_en.yaml"


def test_a_build_whose_stdout_cannot_be_written_builds_and_says_so_once(tmp_path):
    """rv57 F4: `build >/dev/full` (a log on a full volume) ended with an ENOSPC traceback before any work. Now the
    build goes on without its stdout, says so once on stderr, and exits with its own status."""
    out = tmp_path / "out"
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "lucie_data.cli", "build", str(PUD), "--output", str(out)],
                           stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    assert p.stderr.count("warning: cannot write the standard output (No space left on device): nothing more is written") == 1, p.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in manifest["sources"]] == ["pud_en"]
    assert json.loads((out / "sources" / "pud_en" / "ledger.json").read_text(encoding="utf-8"))["docs_kept"] > 0


def test_mix_plan_writes_to_stdout_for_dash_and_refuses_two_dashes(tmp_path, monkeypatch, capsys):
    """rv57 F5: `mix plan --json -` wrote a file named `-` (and the table to stdout); with `--markdown -` too, the
    Markdown overwrote the JSON in it. `-` is stdout, holding only the plan; the table goes to stderr."""
    from lucie_data.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["mix", "plan", "--json", "-"]) == 0
    got = capsys.readouterr()
    plan = json.loads(got.out)  # nothing else on stdout
    assert set(plan) >= {"total_tokens", "total_tokens_seen", "subsets", "languages"}
    assert plan["total_tokens_seen"] == 3_121_744_220_736
    assert "Mix plan: " in got.err and "33.189" in got.err
    assert list(tmp_path.iterdir()) == []

    assert main(["mix", "plan", "--markdown", "-", "--json", "plan.json"]) == 0
    got = capsys.readouterr()
    assert got.out.startswith("#") and "| fr |" in got.out and "Mix plan: " not in got.out
    assert "wrote plan.json" in got.err
    assert json.loads((tmp_path / "plan.json").read_text(encoding="utf-8")) == plan
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]

    assert main(["mix", "plan", "--json", "-", "--markdown", "-"]) == 2
    got = capsys.readouterr()
    assert "error: --json and --markdown are each `-` (stdout)" in got.err and "Traceback" not in got.err
    assert got.out == "" and sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def _run_with_file_size_limit(limit: int, *argv, cwd: Path) -> subprocess.CompletedProcess:
    """`lucie-data ARGV` where no file may grow past ``limit`` bytes: a write past it fails with EFBIG, as on a
    full disk, without a mount (Python ignores SIGXFSZ)."""
    import resource

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([sys.executable, "-m", "lucie_data.cli", *map(str, argv)], preexec_fn=limited,
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def test_a_report_that_cannot_be_written_whole_replaces_no_earlier_report(tmp_path):
    """rv57 F6: `report --output DIR` on a full disk replaced provenance.json and .md, then failed on the HTML,
    leaving `provenance.html.tmp` and, beside an earlier report, new JSON and Markdown with the old HTML. Now the
    three are replaced together or not at all: here the HTML, the largest and the last, cannot be written."""
    from lucie_data.cli import main
    from lucie_data.report.aggregate import build_report
    from lucie_data.report.render import to_html, to_json, to_markdown

    build, rep = tmp_path / "build", tmp_path / "rep"
    assert main(["build", str(PUD), "--output", str(build)]) == 0
    report = build_report(build)
    sizes = {ext: len(f(report).encode()) for ext, f in (("json", to_json), ("md", to_markdown), ("html", to_html))}
    assert sizes["html"] > max(sizes["json"], sizes["md"]) + 64, sizes  # (else the limit below fails another file)
    rep.mkdir()
    earlier = {f"provenance.{ext}": f"an earlier {ext} report\n".encode() for ext in sizes}
    for name, data in earlier.items():
        (rep / name).write_bytes(data)
    # (rv61 N4: a report file that is a symlink was written in place through it, and left a fragment)
    (tmp_path / "kept.html").write_bytes(earlier["provenance.html"])
    (rep / "provenance.html").unlink()
    (rep / "provenance.html").symlink_to(tmp_path / "kept.html")

    p = _run_with_file_size_limit((max(sizes["json"], sizes["md"]) + sizes["html"]) // 2, "report", build,
                                  "--output", rep, cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert f"error: cannot write the report into {rep} (File too large; no report file there was replaced)" \
        in p.stderr
    assert {f.name: f.read_bytes() for f in rep.iterdir()} == earlier  # no *.tmp, not one file replaced
    assert (rep / "provenance.html").is_symlink() and not list(tmp_path.glob(".kept.html*"))

    p = _run_with_file_size_limit(sizes["html"] + 4096, "report", build, "--output", rep, cwd=tmp_path)
    assert p.returncode == 0, p.stderr  # with room, the three are replaced
    assert sorted(f.name for f in rep.iterdir()) == sorted(earlier)
    assert (rep / "provenance.json").read_text(encoding="utf-8") == to_json(report)
    assert (rep / "provenance.html").is_symlink()  # the link kept, its file replaced
    assert (tmp_path / "kept.html").read_text(encoding="utf-8") == to_html(report)


def test_mix_plan_files_on_a_full_disk_are_left_as_they_were(tmpfs, tmp_path, capsys):
    """rv57 F6: `mix plan --json F` on a full disk left F empty (0 bytes, written in place), an earlier F too."""
    full_volume = tmpfs("1m")  # (filled to its last byte below)
    from lucie_data.cli import main

    (full_volume / "plan.md").write_text("an earlier plan\n", encoding="utf-8")
    fill(full_volume)
    capsys.readouterr()
    for option, name in (("--json", "p.json"), ("--markdown", "plan.md")):
        assert main(["mix", "plan", option, str(full_volume / name)]) == 2
        err = capsys.readouterr().err
        assert f"error: {option} {full_volume / name}: cannot write it (No space left on device)" in err
    assert sorted(f.name for f in full_volume.iterdir()) == ["filler", "plan.md"]  # no p.json, no *.tmp
    assert (full_volume / "plan.md").read_text(encoding="utf-8") == "an earlier plan\n"


def test_mix_plan_to_a_stdout_that_cannot_be_written_fails(tmp_path):
    """`mix plan --json -` whose stdout cannot be written: the plan is the command's product, not a log (as for
    `build`, test above), so its loss is an error, exit 2, not exit 0 with nothing written."""
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "lucie_data.cli", "mix", "plan", "--json", "-"], stdout=full,
                           stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=600)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert "error: --json -: cannot write the plan to the standard output (No space left on device)" in p.stderr
    assert list(tmp_path.iterdir()) == []
