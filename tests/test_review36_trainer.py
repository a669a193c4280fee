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
