"""rv57 (operations review): a command's outputs on a full volume, or on stdout (`-`)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    assert p.stderr.count("warning: cannot write the standard output (No space left on device)") == 1, p.stderr
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
