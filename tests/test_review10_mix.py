"""Review 10 (this session's user review): the mix and push."""
import hashlib
import json
from pathlib import Path

import pytest

from lucie_data.cli import main
from lucie_data.mix.build import build_mix, load_mix_config
from lucie_data.mix.plan import MixPlanError

from .test_mix_build import make_build


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    return make_build(tmp_path_factory.getbasetemp() / "mixbuild")


def test_a_rebuild_keeps_a_card_edited_by_hand(built, tmp_path, capsys):
    """A trainer completed README.md by hand before pushing; a mix rebuild replaced it without a word."""
    out = tmp_path / "m"
    plan = build_mix(built, load_mix_config(built, output=out))
    card = out / "README.md"
    assert plan["card_sha256"] == hashlib.sha256(card.read_bytes()).hexdigest()
    assert json.loads((out / "mix_plan.json").read_text())["card_sha256"] == plan["card_sha256"]
    build_mix(built, load_mix_config(built, output=out))  # untouched card: replaced as before
    edited = card.read_text() + "\n## Intended use\nOur notes.\n"
    card.write_text(edited)
    with pytest.raises(MixPlanError, match=r"README.md was edited since `lucie-data mix build` wrote it .* Copy "
                                           r"README.md out of the folder"):
        build_mix(built, load_mix_config(built, output=out))
    assert card.read_text() == edited
    capsys.readouterr()
    assert main(["mix", "build", str(built), "--output", str(out)]) == 2
    assert "README.md was edited" in capsys.readouterr().err
    card.unlink()  # the documented way on: the card taken out, the mix rebuilt with a new one
    build_mix(built, load_mix_config(built, output=out))
    assert hashlib.sha256(card.read_bytes()).hexdigest() == plan["card_sha256"]


def test_push_refusals_exit_2_and_hub_failures_exit_1(tmp_path, capsys):
    """A refused push exited 1 like a Hub failure, so a script could not tell "fix the input" from "push again"."""
    from lucie_data.hub import PushError, PushFailed

    assert PushError("x").exit_code == 2 and PushFailed("x").exit_code == 1
    capsys.readouterr()
    assert main(["push", str(tmp_path), "--repo-id", "org/name", "--dry-run"]) == 2  # no mix there
    assert "holds no built mix" in capsys.readouterr().err
