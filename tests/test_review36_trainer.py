"""Findings of the trainer and auditor review (rv36): what a mix leaves out, attribution, Markdown names."""
from pathlib import Path

import pytest

from lucie_data.cli import main

from .test_mix_build import make_build

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.mktemp("rv36") / "build")


def _run(capsys, *argv) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def test_mix_build_says_what_its_policy_leaves_out(built, tmp_path, capsys):
    """`mix plan` printed a note per source x licence left out; `mix build` said only "planned 6 subset(s)"."""
    code, out = _run(capsys, "mix", "build", built, "--output", tmp_path / "m")
    assert code == 0, out
    assert "note: ocr_private: " in out and "left out (not_redistributable)" in out, out


def test_report_on_a_mix_asks_for_its_build(built, tmp_path, capsys):
    """It answered `lucie-data build PIPELINE --output <the mix>`, which would write a build into the mix."""
    assert _run(capsys, "mix", "build", built)[0] == 0  # BUILD/mix, the default
    code, out = _run(capsys, "report", built / "mix")
    assert code == 2 and f"is a mix (it holds mix_plan.json), not a build: give the build it was made from " \
                         f"({built.resolve()}, the build holding it)" in out, out
    assert not (built / "mix" / "reports").exists()
    assert _run(capsys, "mix", "build", built, "--output", tmp_path / "m")[0] == 0
    code, out = _run(capsys, "trace", tmp_path / "m", "x")
    assert code == 2 and "is a mix (it holds mix_plan.json), not a build: give the build it was made from (the " \
                         "folder `lucie-data mix build` was given)" in out, out
